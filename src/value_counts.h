/*
 * value_counts.h: a mergeable state of two counts per distinct value, shared by crm.auc (scores:
 * positives, negatives; type crm.auc_state) and crm.km_fit (times: events, censorings; type
 * crm.km_state). See value_counts.c.
 */
#ifndef CRM_VALUE_COUNTS_H
#define CRM_VALUE_COUNTS_H

#include "crm.h"

#include "lib/stringinfo.h"
#include "utils/expandeddatum.h"

/* One distinct value with its two counts; also its layout in the stored form (24 bytes). */
typedef struct ValueCount
{
	double		value;
	int64		first;			/* rows labelled true: positives, events */
	int64		second;			/* rows labelled false: negatives, censorings */
} ValueCount;

/* What differs between the two types. */
typedef struct ValueCountsKind
{
	const char *type_name;		/* "crm.auc_state" */
	const char *value_name;		/* "score", "time" */
	const char *first_name;		/* "positives", "events" */
	const char *second_name;	/* "negatives", "censored" */
	bool		non_negative;	/* values must be >= 0 */
	/* raises the aggregate's error for a value it refuses (called per row) */
	void		(*check_value) (double value);
} ValueCountsKind;

/* Values not yet counted: appended per row, sorted when the state is read. */
typedef struct RawValues
{
	int64		count;
	int64		capacity;
	double	   *values;
} RawValues;

/*
 * The state during aggregation: an expanded object under the aggregate's memory. rows holds the
 * distinct values counted so far (strictly increasing); raw[0] and raw[1] the values of rows
 * labelled true and false since, not yet merged into rows. The stored and shipped form is rows
 * and raw merged: sorted distinct (value, first, second).
 */
typedef struct ValueCounts
{
	ExpandedObjectHeader header;
	const ValueCountsKind *kind;
	MemoryContext memory;
	bool		sorted;			/* raw[0] and raw[1] are sorted */
	int64		total;			/* all counts and pending values: at most PG_INT64_MAX */
	int64		count;
	int64		capacity;
	ValueCount *rows;
	RawValues	raw[2];
} ValueCounts;

/* The stored form: a 16-byte header, then 24 bytes per distinct value. */
typedef struct FlatValueCounts
{
	int32		vl_len_;
	uint32		version;
	int64		count;
	ValueCount	rows[FLEXIBLE_ARRAY_MEMBER];
} FlatValueCounts;

#define VALUE_COUNTS_VERSION 1

/*
 * A walk over a state's distinct values in increasing order, rows and sorted raw values merged:
 * up to two lists of distinct counts and the two sorted raw lists.
 */
typedef struct ValueCountsCursor
{
	const ValueCount *lists[2];
	int64		list_counts[2];
	int64		list_positions[2];
	const double *raw[2];
	int64		raw_counts[2];
	int64		raw_positions[2];
	int64		steps;
} ValueCountsCursor;

/* The state a datum holds, for reading: sorted in place if expanded; rows of a flat value. */
extern void value_counts_cursor_from_datum(const ValueCountsKind *kind, Datum datum, ValueCountsCursor *cursor);
extern bool value_counts_next(ValueCountsCursor *cursor, ValueCount *out);
extern int64 value_counts_add(int64 a, int64 b);

/* The aggregate's transition (arguments state, value, label) and combine functions. */
extern Datum value_counts_transition(const ValueCountsKind *kind, FunctionCallInfo fcinfo);
extern Datum value_counts_combine(const ValueCountsKind *kind, FunctionCallInfo fcinfo);

/*
 * 0.1's serialize and deserialize functions (its install script declared the states internal):
 * the same in-memory states, shipped in the binary form, so a 0.1 database keeps working with
 * this library until ALTER EXTENSION crm UPDATE.
 */
extern Datum value_counts_serialize(const ValueCountsKind *kind, FunctionCallInfo fcinfo);
extern Datum value_counts_deserialize(const ValueCountsKind *kind, FunctionCallInfo fcinfo);

/* The type's I/O functions. */
extern Datum value_counts_in(const ValueCountsKind *kind, const char *input);
extern char *value_counts_out(const ValueCountsKind *kind, Datum datum);
extern Datum value_counts_recv(const ValueCountsKind *kind, StringInfo buffer);
extern bytea *value_counts_send(const ValueCountsKind *kind, Datum datum);

#endif							/* CRM_VALUE_COUNTS_H */
