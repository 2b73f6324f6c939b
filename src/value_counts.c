/*
 * value_counts.c: the mergeable state of crm.auc and crm.km_fit, two counts per distinct value.
 *
 * AUC needs, per distinct score, how many positives and negatives have it; Kaplan–Meier, per
 * distinct time, how many events and censorings. Both states are that list, sorted by value:
 * O(distinct values), exact, and merged by one sorted merge, so Citus can run the aggregate on
 * each shard and ship one state per group (types crm.auc_state and crm.km_state, text and binary
 * forms both versioned and checked).
 *
 * Single-node speed: the transition does not insert into the sorted list per row (that would be
 * O(log D) and a branchy insert). During aggregation the state is an expanded object under the
 * aggregate's memory (see crm_states_context in clv_state.c): each row appends its value to one of
 * two plain arrays (labelled true, labelled false), amortised growth, no allocation per row. The
 * arrays are sorted (radix sort) and merged with the list only when the state is read: by the
 * final function (walking the merge without building it), by the combine function, and when the
 * state is flattened to be stored or shipped (to a parallel leader, to a Citus coordinator).
 *
 * Stored form: a 16-byte header (varlena length, version word 1, count D) and D rows of 24 bytes
 * (float8 value, int64 first, int64 second), values strictly increasing. Binary form: int32
 * version, int64 D, then D x (float8, int64, int64): 12 + 24 D bytes. Text form:
 * "1;D;value,first,second;..." with values printed shortest-exact.
 */
#include "value_counts.h"

#include <ctype.h>

#include "common/int.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/memutils.h"

/* defined in clv_state.c: where aggregate states expanded objects live */
extern MemoryContext crm_states_context(MemoryContext parent, MemoryContext *memory);

#define FLAT_HEADER_SIZE offsetof(FlatValueCounts, rows)
#define VALUE_COUNTS_MAX ((int64) ((MaxAllocSize - FLAT_HEADER_SIZE) / sizeof(ValueCount)))
#define SEND_HEADER_SIZE (sizeof(int32) + sizeof(int64))
#define SEND_ROW_SIZE (sizeof(double) + 2 * sizeof(int64))
#define RAW_INITIAL_CAPACITY 64

StaticAssertDecl(sizeof(ValueCount) == 24, "ValueCount is 24 bytes");
StaticAssertDecl(offsetof(FlatValueCounts, rows) == 16, "the stored header is 16 bytes");

/* ---- sorting ----------------------------------------------------------------------------------- */

/*
 * Sorting values: a least-significant-digit radix sort on 11-bit digits of order-preserving keys,
 * 6 passes at most, in place but for one scratch array. A finite double's IEEE bits read as an
 * unsigned integer order like the number once the sign is handled: negative numbers have every bit
 * flipped, others the sign bit set. -0 is made 0 first, so equal values have equal keys. The key
 * histograms of all digits come from one pass; a digit every key shares (the high ones, for values
 * in a narrow range) moves nothing.
 */
#define RADIX_BITS 11
#define RADIX_DIGITS ((64 + RADIX_BITS - 1) / RADIX_BITS)
#define RADIX_SIZE (1 << RADIX_BITS)
#define RADIX_MASK (RADIX_SIZE - 1)
#define SIGN_BIT UINT64CONST(0x8000000000000000)

static void
sort_values(double *values, int64 count)
{
	uint64	   *keys = (uint64 *) values;
	uint64	   *scratch,
			   *from,
			   *to;
	int64	   *histograms;

	if (count < 2)
		return;
	histograms = palloc0(sizeof(int64) * RADIX_DIGITS * RADIX_SIZE);
	for (int64 i = 0; i < count; i++)
	{
		double		value = values[i] + 0.0;	/* -0 becomes 0 */
		uint64		bits;

		memcpy(&bits, &value, sizeof(bits));
		bits = (bits & SIGN_BIT) ? ~bits : (bits | SIGN_BIT);
		keys[i] = bits;
		for (int digit = 0; digit < RADIX_DIGITS; digit++)
			histograms[digit * RADIX_SIZE + ((bits >> (digit * RADIX_BITS)) & RADIX_MASK)]++;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	scratch = palloc_extended(sizeof(uint64) * count, MCXT_ALLOC_HUGE);
	from = keys;
	to = scratch;
	for (int digit = 0; digit < RADIX_DIGITS; digit++)
	{
		int64	   *offsets = histograms + digit * RADIX_SIZE;
		int			shift = digit * RADIX_BITS;
		int64		position = 0;
		uint64	   *swap;

		CHECK_FOR_INTERRUPTS();
		if (offsets[(from[0] >> shift) & RADIX_MASK] == count)
			continue;
		for (int bucket = 0; bucket < RADIX_SIZE; bucket++)
		{
			int64		size = offsets[bucket];

			offsets[bucket] = position;
			position += size;
		}
		for (int64 i = 0; i < count; i++)
		{
			uint64		key = from[i];

			to[offsets[(key >> shift) & RADIX_MASK]++] = key;
		}
		swap = from;
		from = to;
		to = swap;
	}
	/* back to doubles, into the caller's array */
	for (int64 i = 0; i < count; i++)
	{
		uint64		bits = from[i];
		double		value;

		bits = (bits & SIGN_BIT) ? (bits & ~SIGN_BIT) : ~bits;
		memcpy(&value, &bits, sizeof(value));
		values[i] = value;
	}
	pfree(scratch);
	pfree(histograms);
}

/* ---- the merge walk ---------------------------------------------------------------------------- */

int64
value_counts_add(int64 a, int64 b)
{
	int64		sum;

	if (unlikely(pg_add_s64_overflow(a, b, &sum)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("row count out of range"),
				 errdetail("The counts of the states combined add up to more than 9223372036854775807.")));
	return sum;
}

/* The next distinct value of the walk and its counts; false at the end. */
bool
value_counts_next(ValueCountsCursor *cursor, ValueCount *out)
{
	bool		found = false;
	double		value = 0;
	int64		first = 0,
				second = 0;

	for (int i = 0; i < 2; i++)
	{
		if (cursor->list_positions[i] < cursor->list_counts[i])
		{
			double		v = cursor->lists[i][cursor->list_positions[i]].value;

			if (!found || v < value)
				value = v;
			found = true;
		}
		if (cursor->raw_positions[i] < cursor->raw_counts[i])
		{
			double		v = cursor->raw[i][cursor->raw_positions[i]];

			if (!found || v < value)
				value = v;
			found = true;
		}
	}
	if (!found)
		return false;
	for (int i = 0; i < 2; i++)
	{
		int64		position = cursor->list_positions[i];
		int64		start;

		if (position < cursor->list_counts[i] && cursor->lists[i][position].value == value)
		{
			first = value_counts_add(first, cursor->lists[i][position].first);
			second = value_counts_add(second, cursor->lists[i][position].second);
			cursor->list_positions[i]++;
		}
		start = position = cursor->raw_positions[i];
		while (position < cursor->raw_counts[i] && cursor->raw[i][position] == value)
			position++;
		cursor->raw_positions[i] = position;
		if (i == 0)
			first = value_counts_add(first, position - start);
		else
			second = value_counts_add(second, position - start);
	}
	out->value = value;
	out->first = first;
	out->second = second;
	if ((++cursor->steps & 0xFFFF) == 0)
		CHECK_FOR_INTERRUPTS();
	return true;
}

/* ---- the expanded object ----------------------------------------------------------------------- */

static Size value_counts_get_flat_size(ExpandedObjectHeader *eohptr);
static void value_counts_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods value_counts_methods = {
	value_counts_get_flat_size,
	value_counts_flatten_into
};

static ValueCounts *
value_counts_new(const ValueCountsKind *kind, MemoryContext parent, int64 capacity)
{
	MemoryContext memory;
	MemoryContext context = crm_states_context(parent, &memory);
	ValueCounts *state = MemoryContextAllocZero(memory, sizeof(ValueCounts));

	EOH_init_header(&state->header, &value_counts_methods, context);
	state->kind = kind;
	state->memory = memory;
	state->sorted = true;
	state->capacity = Max(capacity, 1);
	state->rows = MemoryContextAllocHuge(memory, sizeof(ValueCount) * state->capacity);
	return state;
}

static ValueCounts *
expanded_object(const ValueCountsKind *kind, Datum datum)
{
	ValueCounts *state = (ValueCounts *) DatumGetEOHP(datum);

	if (state->header.eoh_methods != &value_counts_methods || state->kind != kind)
		elog(ERROR, "expected an expanded %s", kind->type_name);
	return state;
}

/* A stored value, its header checked (the values themselves were checked on input). */
static FlatValueCounts *
flat_from_datum(const ValueCountsKind *kind, Datum datum)
{
	FlatValueCounts *flat = (FlatValueCounts *) PG_DETOAST_DATUM(datum);

	if (VARSIZE(flat) < FLAT_HEADER_SIZE || flat->version != VALUE_COUNTS_VERSION ||
		flat->count < 0 || flat->count > VALUE_COUNTS_MAX ||
		VARSIZE(flat) != FLAT_HEADER_SIZE + sizeof(ValueCount) * flat->count)
		elog(ERROR, "corrupt %s (version %u, %u bytes)", kind->type_name, flat->version, (unsigned) VARSIZE(flat));
	return flat;
}

static void
cursor_from_object(ValueCounts *state, ValueCountsCursor *cursor)
{
	if (!state->sorted)
	{
		/* sorting the pending values changes nothing the state means */
		sort_values(state->raw[0].values, state->raw[0].count);
		sort_values(state->raw[1].values, state->raw[1].count);
		state->sorted = true;
	}
	memset(cursor, 0, sizeof(*cursor));
	cursor->lists[0] = state->rows;
	cursor->list_counts[0] = state->count;
	for (int i = 0; i < 2; i++)
	{
		cursor->raw[i] = state->raw[i].values;
		cursor->raw_counts[i] = state->raw[i].count;
	}
}

void
value_counts_cursor_from_datum(const ValueCountsKind *kind, Datum datum, ValueCountsCursor *cursor)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(datum)))
		cursor_from_object(expanded_object(kind, datum), cursor);
	else
	{
		FlatValueCounts *flat = flat_from_datum(kind, datum);

		memset(cursor, 0, sizeof(*cursor));
		cursor->lists[0] = flat->rows;
		cursor->list_counts[0] = flat->count;
	}
}

/*
 * The number of distinct values a walk yields (the walk itself is left untouched), and in *total
 * (unless NULL) the sum of their counts, which must fit an int64 (else 22003).
 */
static int64
cursor_distinct_total(const ValueCountsCursor *cursor, int64 *total)
{
	ValueCountsCursor walk = *cursor;
	ValueCount	row;
	int64		count = 0,
				sum = 0;

	while (value_counts_next(&walk, &row))
	{
		count++;
		sum = value_counts_add(sum, value_counts_add(row.first, row.second));
	}
	if (total != NULL)
		*total = sum;
	return count;
}

#define cursor_distinct(cursor) cursor_distinct_total(cursor, NULL)

static Size
value_counts_get_flat_size(ExpandedObjectHeader *eohptr)
{
	ValueCounts *state = (ValueCounts *) eohptr;
	ValueCountsCursor cursor;
	int64		count;

	cursor_from_object(state, &cursor);
	count = cursor_distinct(&cursor);
	if (count > VALUE_COUNTS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct %ss to store or ship a %s", state->kind->value_name, state->kind->type_name),
				 errdetail("A %s holds at most %lld distinct %ss; this one has %lld.", state->kind->type_name,
						   (long long) VALUE_COUNTS_MAX, state->kind->value_name, (long long) count),
				 errhint("Aggregate without parallel workers or Citus, or round the %ss to fewer distinct values.",
						 state->kind->value_name)));
	return FLAT_HEADER_SIZE + sizeof(ValueCount) * count;
}

static void
value_counts_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ValueCounts *state = (ValueCounts *) eohptr;
	FlatValueCounts *flat = (FlatValueCounts *) result;
	ValueCountsCursor cursor;
	int64		count = 0;

	cursor_from_object(state, &cursor);
	memset(flat, 0, allocated_size);
	SET_VARSIZE(flat, allocated_size);
	flat->version = VALUE_COUNTS_VERSION;
	while (FLAT_HEADER_SIZE + sizeof(ValueCount) * (count + 1) <= allocated_size &&
		   value_counts_next(&cursor, &flat->rows[count]))
		count++;
	if (FLAT_HEADER_SIZE + sizeof(ValueCount) * count != allocated_size)
		elog(ERROR, "%s: flat size changed while flattening", state->kind->type_name);
	flat->count = count;
}

/* A new object (in parent's memory, see crm_states_context) holding what a walk yields. */
static ValueCounts *
object_from_cursor(const ValueCountsKind *kind, MemoryContext parent, const ValueCountsCursor *cursor)
{
	int64		total;
	int64		count = cursor_distinct_total(cursor, &total);
	ValueCountsCursor walk = *cursor;
	ValueCounts *state = value_counts_new(kind, parent, count);

	state->total = total;

	while (state->count < count && value_counts_next(&walk, &state->rows[state->count]))
		state->count++;
	return state;
}

static inline void
raw_append(ValueCounts *state, RawValues *raw, double value)
{
	if (unlikely(raw->count == raw->capacity))
	{
		if (raw->values == NULL)
		{
			raw->capacity = RAW_INITIAL_CAPACITY;
			raw->values = MemoryContextAllocHuge(state->memory, sizeof(double) * raw->capacity);
		}
		else
		{
			raw->capacity *= 2;
			raw->values = repalloc_huge(raw->values, sizeof(double) * raw->capacity);
		}
	}
	raw->values[raw->count++] = value;
}

/*
 * Transition (state, value, label): rows with a NULL value or label are skipped. The aggregate's
 * own state (a read-write expanded object) is updated in place; any other is copied first.
 */
Datum
value_counts_transition(const ValueCountsKind *kind, FunctionCallInfo fcinfo)
{
	MemoryContext context;
	bool		in_aggregate = AggCheckCallContext(fcinfo, &context) != 0;
	ValueCounts *state;
	double		value;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	value = PG_GETARG_FLOAT8(1);
	kind->check_value(value);
	if (!in_aggregate)
		context = CurrentMemoryContext;
	if (likely(!PG_ARGISNULL(0) && in_aggregate &&
			   VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(0)))))
		state = expanded_object(kind, PG_GETARG_DATUM(0));
	else if (PG_ARGISNULL(0))
		state = value_counts_new(kind, context, 1);
	else
	{
		ValueCountsCursor cursor;

		value_counts_cursor_from_datum(kind, PG_GETARG_DATUM(0), &cursor);
		state = object_from_cursor(kind, context, &cursor);
	}
	state->total = value_counts_add(state->total, 1);
	/* -0 is 0: one value, one key */
	raw_append(state, &state->raw[PG_GETARG_BOOL(2) ? 0 : 1], value + 0.0);
	state->sorted = false;
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
}

/*
 * Combine: the counts of both states, merged into the first in place when it is the aggregate's
 * own state (else into a copy). The second state's values are merged into the sorted list.
 */
Datum
value_counts_combine(const ValueCountsKind *kind, FunctionCallInfo fcinfo)
{
	MemoryContext context;
	bool		in_aggregate = AggCheckCallContext(fcinfo, &context) != 0;
	ValueCountsCursor right;
	ValueCountsCursor merged;
	ValueCounts *state;
	ValueCount *rows;
	int64		count,
				total;

	if (!in_aggregate)
		context = CurrentMemoryContext;
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	value_counts_cursor_from_datum(kind, PG_GETARG_DATUM(1), &right);
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(EOHPGetRWDatum(&object_from_cursor(kind, context, &right)->header));
	if (in_aggregate && VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(0))))
		state = expanded_object(kind, PG_GETARG_DATUM(0));
	else
	{
		ValueCountsCursor left;

		value_counts_cursor_from_datum(kind, PG_GETARG_DATUM(0), &left);
		state = object_from_cursor(kind, context, &left);
	}
	/* the state's sorted list and everything of the other state; the state's pending values stay */
	merged = right;
	merged.lists[1] = state->rows;
	merged.list_counts[1] = state->count;
	merged.list_positions[1] = 0;
	count = cursor_distinct_total(&merged, &total);
	total = value_counts_add(total, value_counts_add(state->raw[0].count, state->raw[1].count));
	rows = MemoryContextAllocHuge(state->memory, sizeof(ValueCount) * Max(count, 1));
	for (int64 i = 0; i < count; i++)
		value_counts_next(&merged, &rows[i]);
	pfree(state->rows);
	state->rows = rows;
	state->count = count;
	state->capacity = Max(count, 1);
	state->total = total;
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
}

/* ---- input and output -------------------------------------------------------------------------- */

/* Why rows read from outside do not make a state, or NULL when they do. */
static const char *
rows_invalid(const ValueCountsKind *kind, const ValueCount *rows, int64 count)
{
	int64		total = 0;

	for (int64 i = 0; i < count; i++)
	{
		const ValueCount *row = &rows[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!isfinite(row->value))
			return psprintf("Row %lld: the %s is not a finite number.", (long long) i + 1, kind->value_name);
		if (kind->non_negative && row->value < 0)
			return psprintf("Row %lld: the %s is negative.", (long long) i + 1, kind->value_name);
		if (i > 0 && !(row->value > rows[i - 1].value))
			return psprintf("Row %lld: the %s is not greater than the previous row's.", (long long) i + 1, kind->value_name);
		if (row->first < 0 || row->second < 0)
			return psprintf("Row %lld: a count is negative.", (long long) i + 1);
		if (row->first == 0 && row->second == 0)
			return psprintf("Row %lld: both counts are 0.", (long long) i + 1);
		if (pg_add_s64_overflow(total, row->first, &total) || pg_add_s64_overflow(total, row->second, &total))
			return psprintf("The counts add up to more than %lld.", (long long) PG_INT64_MAX);
	}
	return NULL;
}

static Datum
flat_from_rows(const ValueCount *rows, int64 count)
{
	Size		size = FLAT_HEADER_SIZE + sizeof(ValueCount) * count;
	FlatValueCounts *flat = palloc0(size);

	SET_VARSIZE(flat, size);
	flat->version = VALUE_COUNTS_VERSION;
	flat->count = count;
	for (int64 i = 0; i < count; i++)
	{
		flat->rows[i] = rows[i];
		flat->rows[i].value = rows[i].value + 0.0;	/* -0 is 0 */
	}
	return PointerGetDatum(flat);
}

pg_noreturn static pg_noinline void
syntax_error(const ValueCountsKind *kind, const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", kind->type_name, input),
			 errdetail("%s", detail),
			 errhint("The form is 1;count;%s,%s,%s;... with the %ss increasing, as the type's output prints it.",
					 kind->value_name, kind->first_name, kind->second_name, kind->value_name)));
}

static const char *
skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* A non-negative int64 at p (spaces around it skipped), then the character after it. */
static const char *
read_count(const ValueCountsKind *kind, const char *p, const char *input, const char *what, int64 *value)
{
	int64		result = 0;

	p = skip_spaces(p);
	if (!isdigit((unsigned char) *p))
		syntax_error(kind, input, psprintf("The %s is not a non-negative integer.", what));
	for (; isdigit((unsigned char) *p); p++)
		if (pg_mul_s64_overflow(result, 10, &result) || pg_add_s64_overflow(result, *p - '0', &result))
			syntax_error(kind, input, psprintf("The %s is out of range.", what));
	*value = result;
	return skip_spaces(p);
}

Datum
value_counts_in(const ValueCountsKind *kind, const char *input)
{
	const char *p = input;
	int64		version,
				announced,
				count = 0,
				capacity = 16;
	ValueCount *rows;
	const char *invalid;

	p = read_count(kind, p, input, "version", &version);
	if (version != VALUE_COUNTS_VERSION)
		syntax_error(kind, input, psprintf("Version %lld is unknown; this build reads version %d.",
										   (long long) version, VALUE_COUNTS_VERSION));
	if (*p != ';')
		syntax_error(kind, input, "Expected \";\" after the version.");
	p = read_count(kind, p + 1, input, "count", &announced);
	if (announced > VALUE_COUNTS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct %ss for a %s", kind->value_name, kind->type_name),
				 errdetail("It announces %lld; a %s holds at most %lld.", (long long) announced,
						   kind->type_name, (long long) VALUE_COUNTS_MAX)));
	rows = palloc(sizeof(ValueCount) * capacity);
	while (*p == ';')
	{
		const char *end;
		ValueCount *row;

		if (count == announced)
			syntax_error(kind, input, psprintf("More rows than the count, %lld.", (long long) announced));
		if (count == capacity)
		{
			capacity *= 2;
			rows = repalloc_huge(rows, sizeof(ValueCount) * capacity);
		}
		row = &rows[count];
		if (!crm_parse_float8(p + 1, &end, &row->value, kind->type_name, input))
			syntax_error(kind, input, psprintf("Row %lld: the %s is not a number.", (long long) count + 1, kind->value_name));
		p = skip_spaces(end);
		if (*p != ',')
			syntax_error(kind, input, psprintf("Row %lld: expected \",\" after the %s.", (long long) count + 1, kind->value_name));
		p = read_count(kind, p + 1, input, kind->first_name, &row->first);
		if (*p != ',')
			syntax_error(kind, input, psprintf("Row %lld: expected \",\" after the %s.", (long long) count + 1, kind->first_name));
		p = read_count(kind, p + 1, input, kind->second_name, &row->second);
		count++;
	}
	if (*p != '\0')
		syntax_error(kind, input, psprintf("Unexpected text at character %d.", (int) (p - input) + 1));
	if (count != announced)
		syntax_error(kind, input, psprintf("It announces %lld rows but holds %lld.", (long long) announced, (long long) count));
	if ((invalid = rows_invalid(kind, rows, count)) != NULL)
		syntax_error(kind, input, invalid);
	return flat_from_rows(rows, count);
}

char *
value_counts_out(const ValueCountsKind *kind, Datum datum)
{
	ValueCountsCursor cursor;
	ValueCount	row;
	StringInfoData text;

	value_counts_cursor_from_datum(kind, datum, &cursor);
	initStringInfo(&text);
	appendStringInfo(&text, "%d;%lld", VALUE_COUNTS_VERSION, (long long) cursor_distinct(&cursor));
	while (value_counts_next(&cursor, &row))
	{
		char		number[DOUBLE_SHORTEST_DECIMAL_LEN];

		double_to_shortest_decimal_buf(row.value + 0.0, number);
		appendStringInfo(&text, ";%s,%lld,%lld", number, (long long) row.first, (long long) row.second);
	}
	return text.data;
}

pg_noreturn static pg_noinline void
binary_error(const ValueCountsKind *kind, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary representation of %s", kind->type_name),
			 errdetail("%s", detail)));
}

Datum
value_counts_recv(const ValueCountsKind *kind, StringInfo buffer)
{
	uint32		version;
	int64		count;
	ValueCount *rows;
	const char *invalid;

	if (buffer->len - buffer->cursor < (int) SEND_HEADER_SIZE)
		binary_error(kind, "It is shorter than its header.");
	version = (uint32) pq_getmsgint(buffer, sizeof(uint32));
	if (version != VALUE_COUNTS_VERSION)
		binary_error(kind, psprintf("Unknown version word %u; this build reads version %d.", version, VALUE_COUNTS_VERSION));
	count = pq_getmsgint64(buffer);
	if (count < 0 || count > VALUE_COUNTS_MAX ||
		count * (int64) SEND_ROW_SIZE != (int64) (buffer->len - buffer->cursor))
		binary_error(kind, psprintf("It announces %lld rows but holds %d bytes of rows.",
									(long long) count, buffer->len - buffer->cursor));
	rows = palloc_extended(sizeof(ValueCount) * Max(count, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < count; i++)
	{
		rows[i].value = pq_getmsgfloat8(buffer);
		rows[i].first = pq_getmsgint64(buffer);
		rows[i].second = pq_getmsgint64(buffer);
	}
	if ((invalid = rows_invalid(kind, rows, count)) != NULL)
		binary_error(kind, invalid);
	return flat_from_rows(rows, count);
}

bytea *
value_counts_send(const ValueCountsKind *kind, Datum datum)
{
	ValueCountsCursor cursor;
	ValueCount	row;
	StringInfoData buffer;

	value_counts_cursor_from_datum(kind, datum, &cursor);
	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, VALUE_COUNTS_VERSION);
	pq_sendint64(&buffer, cursor_distinct(&cursor));
	while (value_counts_next(&cursor, &row))
	{
		pq_sendfloat8(&buffer, row.value + 0.0);
		pq_sendint64(&buffer, row.first);
		pq_sendint64(&buffer, row.second);
	}
	return pq_endtypsend(&buffer);
}

/* ---- 0.1's internal states ----------------------------------------------------------------------- */

Datum
value_counts_serialize(const ValueCountsKind *kind, FunctionCallInfo fcinfo)
{
	crm_aggregate_context(fcinfo, "value_counts_serialize");
	PG_RETURN_BYTEA_P(value_counts_send(kind, PG_GETARG_DATUM(0)));
}

Datum
value_counts_deserialize(const ValueCountsKind *kind, FunctionCallInfo fcinfo)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "value_counts_deserialize");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buffer;
	ValueCountsCursor cursor;

	buffer.data = VARDATA_ANY(bytes);
	buffer.len = VARSIZE_ANY_EXHDR(bytes);
	buffer.maxlen = buffer.len;
	buffer.cursor = 0;
	value_counts_cursor_from_datum(kind, value_counts_recv(kind, &buffer), &cursor);
	PG_RETURN_DATUM(EOHPGetRWDatum(&object_from_cursor(kind, context, &cursor)->header));
}
