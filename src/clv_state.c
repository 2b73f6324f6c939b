/*
 * clv_state.c: the compressed, mergeable state of the CLV fit aggregates (see clv.h), and its type
 * crm.clv_fit_state.
 */
#include "clv.h"

#include <ctype.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/float.h"
#include "utils/memutils.h"

#define SUMMARIES_INITIAL_CAPACITY 1024
#define SUMMARY_SERIAL_SIZE (sizeof(int32) + 3 * sizeof(double))

/*
 * crm.clv_fit_state as stored: a varlena holding the compacted summaries (sorted, each
 * once, with its weight). The header word: the format version in the low byte, the kind (which
 * fit) in the next.
 */
typedef struct FlatCustomerSummaries
{
	int32		vl_len_;
	uint32		header;
	double		penalizer;
	int64		count;
	CustomerSummary rows[FLEXIBLE_ARRAY_MEMBER];
} FlatCustomerSummaries;

#define CUSTOMER_SUMMARIES_VERSION 1
#define FLAT_HEADER_SIZE offsetof(FlatCustomerSummaries, rows)
/* The most summaries a stored (or shipped) state holds: a varlena is at most 1 GB. */
#define CUSTOMER_SUMMARIES_MAX ((int64) ((MaxAllocSize - FLAT_HEADER_SIZE) / sizeof(CustomerSummary)))
/* The binary form: header word, penalizer, count, then x, u, v, weight per summary. */
#define SEND_HEADER_SIZE (sizeof(uint32) + sizeof(double) + sizeof(int64))

static inline int
summary_compare(const CustomerSummary *p, const CustomerSummary *q)
{
	if (p->x != q->x)
		return p->x < q->x ? -1 : 1;
	if (p->u != q->u)
		return p->u < q->u ? -1 : 1;
	if (p->v != q->v)
		return p->v < q->v ? -1 : 1;
	return 0;
}

/* The sort's comparison: a sort of millions of summaries must stay cancellable (one load). */
static inline int
summary_compare_interruptible(const CustomerSummary *p, const CustomerSummary *q)
{
	CHECK_FOR_INTERRUPTS();
	return summary_compare(p, q);
}

/* summaries_sort(rows, count): a sort specialised to summary_compare, inlined */
#define ST_SORT summaries_sort
#define ST_ELEMENT_TYPE CustomerSummary
#define ST_COMPARE(a, b) summary_compare_interruptible(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Only states given by hand can get there: 1e308 customers are never counted. */
static pg_noinline void
weight_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("customer summary weight out of range"),
			 errdetail("A merged weight exceeds the largest double precision number.")));
}

/* Sort the summaries (by x first, which the fits rely on) and merge equal ones, adding weights. */
void
customer_summaries_compact(CustomerSummaries *state)
{
	int64		distinct = 0;

	if (state->compacted || state->count == 0)
	{
		state->compacted = true;
		return;
	}
	summaries_sort(state->rows, state->count);
	for (int64 i = 1; i < state->count; i++)
	{
		if (summary_compare(&state->rows[distinct], &state->rows[i]) == 0)
		{
			state->rows[distinct].weight += state->rows[i].weight;
			if (unlikely(isinf(state->rows[distinct].weight)))
				weight_out_of_range();
		}
		else
			state->rows[++distinct] = state->rows[i];
	}
	state->compaction_pays = distinct + 1 <= state->count / 4 * 3;
	state->count = distinct + 1;
	state->compacted = true;
}

/* ---------------------------------------------------------------------------------------------
 * The expanded object
 */

static Size summaries_get_flat_size(ExpandedObjectHeader *eohptr);
static void summaries_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods summaries_methods = {
	summaries_get_flat_size,
	summaries_flatten_into
};

/*
 * The memory context for a new expanded state whose executor-owned memory is parent.
 *
 * An expanded object lives in a context of its own, a child of the aggregate's memory, so that the
 * executor adopts it without copying. One context per group would make hash aggregation quadratic
 * (PostgreSQL walks every child context each time a group is added, to check its memory limit)
 * and cost 1 KB or more per group; so the states of all groups share one child context per
 * aggregate memory context, found again through a small cache that a reset callback clears when
 * the context goes (with its parent's reset, or at the end of the query). The states are never
 * deleted one by one: an aggregate's state lives until its aggregate memory is reset, as before.
 * Their memory itself (*memory) is taken from the aggregate's context, beside the executor's own
 * data for the group, as 0.1's internal states were: the shared child context only marks them as
 * the aggregate's (measured: 10% faster over 100,000 groups than allocating in the child).
 * Outside an aggregate (parent is the current context: a direct call, a final function's copy)
 * each object gets a small context of its own, which whoever holds the value may delete.
 */
#define STATES_CONTEXT_CACHE 8
typedef struct StatesContext
{
	MemoryContext parent;
	MemoryContext states;
} StatesContext;

static StatesContext states_contexts[STATES_CONTEXT_CACHE];

static void
states_context_forget(void *arg)
{
	StatesContext *entry = (StatesContext *) arg;

	entry->parent = NULL;
	entry->states = NULL;
}

MemoryContext
crm_states_context(MemoryContext parent, MemoryContext *memory)
{
	StatesContext *entry = NULL;
	MemoryContextCallback *callback;

	if (parent == CurrentMemoryContext)
		return *memory = AllocSetContextCreate(parent, "crm aggregate state", ALLOCSET_SMALL_SIZES);
	*memory = parent;
	for (int i = 0; i < STATES_CONTEXT_CACHE; i++)
	{
		if (states_contexts[i].states != NULL && states_contexts[i].parent == parent)
			return states_contexts[i].states;
		if (states_contexts[i].states == NULL && entry == NULL)
			entry = &states_contexts[i];
	}
	if (entry == NULL)
		/* more aggregate contexts at once than cached (many grouping sets): not shared */
		return *memory = AllocSetContextCreate(parent, "crm aggregate state", ALLOCSET_SMALL_SIZES);
	entry->states = AllocSetContextCreate(parent, "crm aggregate states", ALLOCSET_SMALL_SIZES);
	entry->parent = parent;
	callback = MemoryContextAlloc(entry->states, sizeof(MemoryContextCallback));
	callback->func = states_context_forget;
	callback->arg = entry;
	MemoryContextRegisterResetCallback(entry->states, callback);
	return entry->states;
}

/* A new, empty state; see crm_states_context for its memory. */
static CustomerSummaries *
summaries_new(MemoryContext parent, int kind, int64 capacity, double penalizer)
{
	MemoryContext memory;
	MemoryContext context = crm_states_context(parent, &memory);
	CustomerSummaries *state = MemoryContextAllocZero(memory, sizeof(CustomerSummaries));

	EOH_init_header(&state->header, &summaries_methods, context);
	state->capacity = Max(capacity, SUMMARIES_INITIAL_CAPACITY);
	state->memory = memory;
	state->rows = MemoryContextAllocHuge(memory, sizeof(CustomerSummary) * state->capacity);
	state->penalizer = penalizer;
	state->kind = kind;
	state->compacted = true;
	state->compaction_pays = true;
	return state;
}

static Size
summaries_get_flat_size(ExpandedObjectHeader *eohptr)
{
	CustomerSummaries *state = (CustomerSummaries *) eohptr;

	customer_summaries_compact(state);
	if (state->count > CUSTOMER_SUMMARIES_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct customer summaries to store or ship a CLV fit's state"),
				 errdetail("A crm.clv_fit_state holds at most %lld distinct summaries; this one has %lld.",
						   (long long) CUSTOMER_SUMMARIES_MAX, (long long) state->count),
				 errhint("Fit without parallel workers or Citus, or round t_x and T (or m) to fewer distinct values.")));
	return FLAT_HEADER_SIZE + sizeof(CustomerSummary) * state->count;
}

static void
summaries_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	CustomerSummaries *state = (CustomerSummaries *) eohptr;
	FlatCustomerSummaries *flat = (FlatCustomerSummaries *) result;

	Assert(state->compacted && allocated_size == FLAT_HEADER_SIZE + sizeof(CustomerSummary) * state->count);
	SET_VARSIZE(flat, allocated_size);
	flat->header = CUSTOMER_SUMMARIES_VERSION | (uint32) state->kind << 8;
	flat->penalizer = state->penalizer;
	flat->count = state->count;
	memcpy(flat->rows, state->rows, sizeof(CustomerSummary) * state->count);
}

/* A stored value; its length and header were checked on input, re-checked here cheaply. */
static FlatCustomerSummaries *
flat_from_datum(Datum datum)
{
	FlatCustomerSummaries *flat = (FlatCustomerSummaries *) PG_DETOAST_DATUM(datum);
	uint32		kind;

	if (VARSIZE(flat) < FLAT_HEADER_SIZE)
		elog(ERROR, "corrupt crm.clv_fit_state: length %u", (unsigned) VARSIZE(flat));
	kind = flat->header >> 8;
	if ((flat->header & 0xFF) != CUSTOMER_SUMMARIES_VERSION ||
		(kind != CLV_KIND_BGNBD && kind != CLV_KIND_GAMMAGAMMA) ||
		flat->count < 0 || flat->count > CUSTOMER_SUMMARIES_MAX ||
		VARSIZE(flat) != FLAT_HEADER_SIZE + sizeof(CustomerSummary) * flat->count)
		elog(ERROR, "corrupt crm.clv_fit_state: length %u, header %u", (unsigned) VARSIZE(flat), flat->header);
	return flat;
}

/* A state holding a stored value's summaries, in a new context under parent. */
static CustomerSummaries *
summaries_from_flat(MemoryContext parent, const FlatCustomerSummaries *flat)
{
	CustomerSummaries *state = summaries_new(parent, flat->header >> 8, flat->count, flat->penalizer);

	memcpy(state->rows, flat->rows, sizeof(CustomerSummary) * flat->count);
	state->count = flat->count;
	return state;
}

/* The state a datum holds: its expanded object, or a new one in parent from a stored value. */
static CustomerSummaries *
summaries_from_datum(MemoryContext parent, Datum datum)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(datum)))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(datum);

		if (eoh->eoh_methods != &summaries_methods)
			elog(ERROR, "expected an expanded crm.clv_fit_state");
		return (CustomerSummaries *) eoh;
	}
	return summaries_from_flat(parent, flat_from_datum(datum));
}

/* See nps.c: an aggregate's own transition or combine call, whose state argument it may update. */
static inline bool
called_as_aggregate(FunctionCallInfo fcinfo, MemoryContext *aggregate_context)
{
	return AggCheckCallContext(fcinfo, aggregate_context) != 0;
}

static const char *
kind_name(int kind)
{
	return kind == CLV_KIND_BGNBD ? "BG/NBD" : "Gamma-Gamma";
}

/* The state's kind must be this one; 0.1's deserialized states (kind 0) take it. */
static void
require_kind(CustomerSummaries *state, int kind)
{
	if (state->kind == 0 || kind == 0)
	{
		if (state->kind == 0)
			state->kind = kind;
		return;
	}
	if (state->kind != kind)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %s state cannot be used by a %s fit", kind_name(state->kind), kind_name(kind)),
				 errdetail("crm.clv_fit_state values are made by crm.bgnbd_fit or crm.gammagamma_fit and serve that fit only.")));
}

/*
 * The state a transition function adds to: argument 0 updated in place when it is the aggregate's
 * own expanded object (every row after a group's first: no copy, no allocation but the rows'
 * amortised growth); else a new expanded object (under the aggregate's memory, where the executor
 * adopts it without copying) holding argument 0's summaries, if any.
 */
CustomerSummaries *
customer_summaries_state(FunctionCallInfo fcinfo, int kind, double penalizer)
{
	MemoryContext aggregate_context;
	CustomerSummaries *state;

	if (!called_as_aggregate(fcinfo, &aggregate_context))
		aggregate_context = CurrentMemoryContext;
	else if (!PG_ARGISNULL(0) && VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(0))))
	{
		state = (CustomerSummaries *) DatumGetEOHP(PG_GETARG_DATUM(0));
		if (likely(state->header.eoh_methods == &summaries_methods && state->kind == kind))
			return state;
	}
	if (PG_ARGISNULL(0))
		return summaries_new(aggregate_context, kind, 0, penalizer);
	state = summaries_from_datum(aggregate_context, PG_GETARG_DATUM(0));
	require_kind(state, kind);
	if (!VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(0))))
		return state;
	/* someone else's expanded object (read-only): copy it */
	{
		CustomerSummaries *copy = summaries_new(aggregate_context, kind, state->count, state->penalizer);

		memcpy(copy->rows, state->rows, sizeof(CustomerSummary) * state->count);
		copy->count = state->count;
		copy->compacted = state->compacted;
		return copy;
	}
}

/* The state a final function reads (its own copy when argument is a stored value). */
CustomerSummaries *
customer_summaries_arg(FunctionCallInfo fcinfo, int argument, int kind)
{
	CustomerSummaries *state = summaries_from_datum(CurrentMemoryContext, PG_GETARG_DATUM(argument));

	require_kind(state, kind);
	return state;
}

/* Room for "needed" more rows: compact first, grow only if that did not free enough. */
static void
customer_summaries_reserve(CustomerSummaries *state, int64 needed)
{
	if (state->count + needed <= state->capacity)
		return;
	if (state->compaction_pays)
	{
		customer_summaries_compact(state);
		if (state->count + needed <= state->capacity / 2)
			return;
	}
	while (state->count + needed > state->capacity / 2)
		state->capacity *= 2;
	state->rows = repalloc_huge(state->rows, sizeof(CustomerSummary) * state->capacity);
}

void
customer_summaries_add(CustomerSummaries *state, int32 x, double u, double v)
{
	customer_summaries_reserve(state, 1);
	state->rows[state->count].x = x;
	state->rows[state->count].reserved = 0;
	state->rows[state->count].u = u;
	state->rows[state->count].v = v;
	state->rows[state->count].weight = 1;
	state->count++;
	state->compacted = false;
}

/* The optional penalizer argument of a fit aggregate: finite and non-negative. */
double
customer_summaries_penalizer(FunctionCallInfo fcinfo, int argument)
{
	double		penalizer;

	if (PG_NARGS() <= argument)
		return 0;
	if (PG_ARGISNULL(argument))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("penalizer must not be NULL")));
	penalizer = PG_GETARG_FLOAT8(argument);
	if (!(penalizer >= 0) || isinf(penalizer))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("penalizer must be a finite, non-negative number"),
				 errdetail("The penalizer given was %g.", penalizer)));
	return penalizer;
}

/* The digamma function: recurrence up to 6, then the asymptotic series. */
double
crm_digamma(double value)
{
	double		result = 0;
	double		inverse,
				inverse_squared;

	while (value < 6)
	{
		result -= 1 / value;
		value += 1;
	}
	inverse = 1 / value;
	inverse_squared = inverse * inverse;
	return result + log(value) - 0.5 * inverse -
		inverse_squared * (1.0 / 12 - inverse_squared * (1.0 / 120 - inverse_squared * (1.0 / 252 -
																						 inverse_squared * (1.0 / 240 - inverse_squared / 132))));
}

/* Merge the compacted right into the compacted left, in one pass: the result is compacted. */
static void
customer_summaries_merge(CustomerSummaries *left, const CustomerSummary *right_rows, int64 right_count)
{
	int64		capacity = Max(left->count + right_count, SUMMARIES_INITIAL_CAPACITY);
	CustomerSummary *merged = MemoryContextAllocHuge(left->memory, sizeof(CustomerSummary) * capacity);
	int64		i = 0,
				j = 0,
				count = 0;

	while (i < left->count || j < right_count)
	{
		int			order;

		if ((count & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		order = i == left->count ? 1 : j == right_count ? -1 :
			summary_compare(&left->rows[i], &right_rows[j]);

		if (order < 0)
			merged[count++] = left->rows[i++];
		else if (order > 0)
			merged[count++] = right_rows[j++];
		else
		{
			merged[count] = left->rows[i++];
			merged[count].weight += right_rows[j++].weight;
			if (unlikely(isinf(merged[count++].weight)))
				weight_out_of_range();
		}
	}
	pfree(left->rows);
	left->rows = merged;
	left->count = count;
	left->capacity = capacity;
}

/* Adds right's summaries to left's (both of one kind). */
static void
customer_summaries_absorb(CustomerSummaries *left, const CustomerSummary *rows, int64 count, bool compacted)
{
	if (left->compacted && compacted)
		customer_summaries_merge(left, rows, count);
	else
	{
		customer_summaries_reserve(left, count);
		memcpy(left->rows + left->count, rows, sizeof(CustomerSummary) * count);
		left->count += count;
		left->compacted = false;
	}
}

PG_FUNCTION_INFO_V1(crm_customer_summaries_combine);
/*
 * CLV fit combine: merges two partial states, into the first in place when it is the aggregate's
 * own expanded object. Also the combine of 0.1's internal states (the same expanded objects).
 */
Datum
crm_customer_summaries_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggregate_context;
	CustomerSummaries *left = NULL;
	const CustomerSummary *rows;
	int64		count;
	bool		compacted;
	int			kind;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (!called_as_aggregate(fcinfo, &aggregate_context))
		aggregate_context = CurrentMemoryContext;

	/* the right state, read where it lies */
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(1))))
	{
		CustomerSummaries *right = summaries_from_datum(aggregate_context, PG_GETARG_DATUM(1));

		rows = right->rows;
		count = right->count;
		compacted = right->compacted;
		kind = right->kind;
	}
	else
	{
		FlatCustomerSummaries *flat = flat_from_datum(PG_GETARG_DATUM(1));

		rows = flat->rows;
		count = flat->count;
		compacted = true;
		kind = flat->header >> 8;
	}

	if (!PG_ARGISNULL(0))
	{
		if (aggregate_context != CurrentMemoryContext &&
			VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(0))))
			left = summaries_from_datum(aggregate_context, PG_GETARG_DATUM(0));
		else
		{
			/* a stored value or a read-only object: merge into a copy */
			CustomerSummaries *given = summaries_from_datum(aggregate_context, PG_GETARG_DATUM(0));

			if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(0))))
			{
				left = summaries_new(aggregate_context, given->kind, given->count, given->penalizer);
				memcpy(left->rows, given->rows, sizeof(CustomerSummary) * given->count);
				left->count = given->count;
				left->compacted = given->compacted;
			}
			else
				left = given;
		}
		require_kind(left, kind);
	}
	else
	{
		double		penalizer;

		if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(1))))
			penalizer = ((CustomerSummaries *) DatumGetEOHP(PG_GETARG_DATUM(1)))->penalizer;
		else
			penalizer = ((FlatCustomerSummaries *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1)))->penalizer;
		left = summaries_new(aggregate_context, kind, count, penalizer);
	}
	customer_summaries_absorb(left, rows, count, compacted);
	PG_RETURN_DATUM(CustomerSummariesGetDatum(left));
}

PG_FUNCTION_INFO_V1(crm_customer_summaries_serialize);
/* CLV fit serialize (0.1's internal states): the penalizer, the count, then the compacted summaries. */
Datum
crm_customer_summaries_serialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggregate_context = crm_aggregate_context(fcinfo, "crm_customer_summaries_serialize");
	CustomerSummaries *state = summaries_from_datum(aggregate_context, PG_GETARG_DATUM(0));
	StringInfoData buffer;

	customer_summaries_compact(state);
	pq_begintypsend(&buffer);
	pq_sendfloat8(&buffer, state->penalizer);
	pq_sendint64(&buffer, state->count);
	for (int64 i = 0; i < state->count; i++)
	{
		pq_sendint32(&buffer, state->rows[i].x);
		pq_sendfloat8(&buffer, state->rows[i].u);
		pq_sendfloat8(&buffer, state->rows[i].v);
		pq_sendfloat8(&buffer, state->rows[i].weight);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_customer_summaries_deserialize);
/*
 * CLV fit deserialize (0.1's internal states): the inverse of crm_customer_summaries_serialize,
 * checking every length. 0.1's states carry no kind: BG/NBD's rules are the looser (v = 0 passes).
 */
Datum
crm_customer_summaries_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_customer_summaries_deserialize");
	bytea	   *serial = PG_GETARG_BYTEA_PP(0);
	StringInfoData buffer;
	CustomerSummaries *state;
	double		penalizer;
	int64		count;

	buffer.data = VARDATA_ANY(serial);
	buffer.len = VARSIZE_ANY_EXHDR(serial);
	buffer.maxlen = buffer.len;
	buffer.cursor = 0;
	if (buffer.len < (int) (sizeof(double) + sizeof(int64)))
		elog(ERROR, "crm_customer_summaries_deserialize: state of %d bytes is too short", buffer.len);
	penalizer = pq_getmsgfloat8(&buffer);
	count = pq_getmsgint64(&buffer);
	if (count < 0 || (uint64) count * SUMMARY_SERIAL_SIZE != (uint64) (buffer.len - buffer.cursor))
		elog(ERROR, "crm_customer_summaries_deserialize: state of %d bytes does not hold %lld summaries",
			 buffer.len, (long long) count);
	/* 0.1's functions: the kind of the first transition is not known here; see require_kind */
	state = summaries_new(context, 0, count, penalizer);
	for (int64 i = 0; i < count; i++)
	{
		state->rows[i].x = pq_getmsgint(&buffer, sizeof(int32));
		state->rows[i].reserved = 0;
		state->rows[i].u = pq_getmsgfloat8(&buffer);
		state->rows[i].v = pq_getmsgfloat8(&buffer);
		state->rows[i].weight = pq_getmsgfloat8(&buffer);
		if (i > 0 && summary_compare(&state->rows[i - 1], &state->rows[i]) >= 0)
			elog(ERROR, "crm_customer_summaries_deserialize: summaries out of order");
	}
	state->count = count;
	PG_RETURN_DATUM(CustomerSummariesGetDatum(state));
}

/* ---------------------------------------------------------------------------------------------
 * crm.clv_fit_state: text and binary forms
 *
 * Text: "1;bgnbd;<penalizer>;<count>" then ";x,u,v,weight" for each summary in order, e.g.
 * 1;bgnbd;0;2;0,0,38,3;2,30.5,38,1 (BG/NBD: u = t_x, v = T; Gamma-Gamma: u = m, v = 0). Numbers
 * are written exactly (shortest round-trip form). Binary: the header word (version 1 in the low
 * byte, the kind in the next: 1 BG/NBD, 2 Gamma-Gamma), the penalizer, the count, then x (int32),
 * u, v and weight (float8) per summary, network byte order. On input every summary must obey its
 * model's rules, with a whole weight of at least 1, in strictly increasing (x, u, v) order: a
 * value reads only as what the aggregates themselves write.
 */

/* Why this summary cannot be in a state of this kind, or NULL when it can. */
static const char *
summary_problem(int kind, const CustomerSummary *row)
{
	if (!(row->weight >= 1) || isinf(row->weight) || row->weight != floor(row->weight))
		return "A weight is not a whole, finite number of customers, at least 1.";
	if (!isfinite(row->u) || !isfinite(row->v))
		return "A summary holds a number that is not finite.";
	if (kind == CLV_KIND_BGNBD)
	{
		if (row->x < 0 || row->u < 0 || row->u > row->v || (row->x > 0 && row->u == 0))
			return "A BG/NBD summary (x, t_x, T) needs x >= 0, 0 <= t_x <= T, and t_x > 0 when x > 0.";
	}
	else if (row->x <= 0 || !(row->u > 0) || row->v != 0)
		return "A Gamma-Gamma summary (x, m, 0) needs x > 0 and m > 0.";
	return NULL;
}

/* The checks every input form shares; the problem, or NULL. */
static const char *
flat_problem(const FlatCustomerSummaries *flat)
{
	int			kind = flat->header >> 8;

	if (!isfinite(flat->penalizer) || flat->penalizer < 0)
		return "The penalizer is not a finite, non-negative number.";
	for (int64 i = 0; i < flat->count; i++)
	{
		const char *problem = summary_problem(kind, &flat->rows[i]);

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (problem != NULL)
			return psprintf("Summary %lld: %s", (long long) i + 1, problem);
		if (i > 0 && summary_compare(&flat->rows[i - 1], &flat->rows[i]) >= 0)
			return psprintf("Summary %lld is not after summary %lld in (x, u, v) order.", (long long) i + 1, (long long) i);
	}
	return NULL;
}

static FlatCustomerSummaries *
flat_new(int kind, double penalizer, int64 count)
{
	FlatCustomerSummaries *flat;

	if (count > CUSTOMER_SUMMARIES_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many customer summaries for a crm.clv_fit_state"),
				 errdetail("A crm.clv_fit_state holds at most %lld distinct summaries; the input has %lld.",
						   (long long) CUSTOMER_SUMMARIES_MAX, (long long) count)));
	flat = palloc0(FLAT_HEADER_SIZE + sizeof(CustomerSummary) * count);
	SET_VARSIZE(flat, FLAT_HEADER_SIZE + sizeof(CustomerSummary) * count);
	flat->header = CUSTOMER_SUMMARIES_VERSION | (uint32) kind << 8;
	flat->penalizer = penalizer;
	flat->count = count;
	return flat;
}

static pg_noinline void
summaries_syntax_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.clv_fit_state: \"%.100s%s\"", input,
					strlen(input) > 100 ? "..." : ""),
			 errdetail("%s", detail),
			 errhint("The text form is 1;<bgnbd or gammagamma>;<penalizer>;<count>, then ;x,u,v,weight for each summary.")));
}

/* An integer at *p (digits, an optional leading minus), within [low, high]. */
static int64
parse_integer(const char *input, const char **p, int64 low, int64 high, const char *what)
{
	const char *start = *p;
	bool		negative = **p == '-';
	int64		value = 0;

	if (negative)
		(*p)++;
	if (!isdigit((unsigned char) **p))
		summaries_syntax_error(input, psprintf("Expected %s at offset %d.", what, (int) (start - input)));
	for (; isdigit((unsigned char) **p); (*p)++)
		if (pg_mul_s64_overflow(value, 10, &value) || pg_sub_s64_overflow(value, **p - '0', &value))
			summaries_syntax_error(input, psprintf("%s is out of range.", what));
	if (!negative)
	{
		if (value == PG_INT64_MIN)
			summaries_syntax_error(input, psprintf("%s is out of range.", what));
		value = -value;
	}
	if (value < low || value > high)
		summaries_syntax_error(input, psprintf("%s is out of range.", what));
	return value;
}

/* A finite number at *p, in decimal (no infinity, NaN, hexadecimal or spaces). */
static double
parse_number(const char *input, const char **p, const char *what)
{
	const char *end = *p;
	char	   *stop;
	double		value;

	while (isdigit((unsigned char) *end) || *end == '.' || *end == 'e' || *end == 'E' || *end == '-' || *end == '+')
		end++;
	if (end == *p || !(isdigit((unsigned char) **p) || **p == '-' || **p == '.'))
		summaries_syntax_error(input, psprintf("Expected %s at offset %d.", what, (int) (*p - input)));
	/* underflow (ERANGE) is no error: subnormal numbers are written and read back exactly */
	value = strtod(*p, &stop);
	if (stop != end || !isfinite(value))
		summaries_syntax_error(input, psprintf("%s is not a finite number.", what));
	*p = end;
	return value;
}

static void
expect_char(const char *input, const char **p, char c)
{
	if (**p != c)
		summaries_syntax_error(input, psprintf("Expected \"%c\" at offset %d.", c, (int) (*p - input)));
	(*p)++;
}

PG_FUNCTION_INFO_V1(crm_clv_fit_state_in);
/* Text input of crm.clv_fit_state. */
Datum
crm_clv_fit_state_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int			kind;
	double		penalizer;
	int64		count;
	FlatCustomerSummaries *flat;
	const char *problem;

	if (parse_integer(input, &p, 0, PG_INT32_MAX, "the version") != CUSTOMER_SUMMARIES_VERSION)
		summaries_syntax_error(input, psprintf("Unknown version; this build reads version %d.", CUSTOMER_SUMMARIES_VERSION));
	expect_char(input, &p, ';');
	if (strncmp(p, "bgnbd;", 6) == 0)
		kind = CLV_KIND_BGNBD, p += 5;
	else if (strncmp(p, "gammagamma;", 11) == 0)
		kind = CLV_KIND_GAMMAGAMMA, p += 10;
	else
		summaries_syntax_error(input, "The model is neither bgnbd nor gammagamma.");
	expect_char(input, &p, ';');
	penalizer = parse_number(input, &p, "the penalizer");
	expect_char(input, &p, ';');
	count = parse_integer(input, &p, 0, PG_INT64_MAX, "the count");
	/* every summary takes at least 8 characters (";0,0,0,1"): a larger count cannot match */
	if (count > (int64) strlen(p) / 8)
		summaries_syntax_error(input, psprintf("The input is too short for %lld summaries.", (long long) count));
	flat = flat_new(kind, penalizer, count);
	for (int64 i = 0; i < count; i++)
	{
		CustomerSummary *row = &flat->rows[i];

		expect_char(input, &p, ';');
		row->x = (int32) parse_integer(input, &p, PG_INT32_MIN, PG_INT32_MAX, "x");
		expect_char(input, &p, ',');
		row->u = parse_number(input, &p, "u");
		expect_char(input, &p, ',');
		row->v = parse_number(input, &p, "v");
		expect_char(input, &p, ',');
		row->weight = parse_number(input, &p, "the weight");
	}
	if (*p != '\0')
		summaries_syntax_error(input, psprintf("Unexpected characters after %lld summaries.", (long long) count));
	if ((problem = flat_problem(flat)) != NULL)
		summaries_syntax_error(input, problem);
	PG_RETURN_POINTER(flat);
}

/* The summaries to write: an expanded object's (compacted first), or a stored value's. */
static void
summaries_to_write(Datum datum, int *kind, double *penalizer, int64 *count, const CustomerSummary **rows)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(datum)))
	{
		CustomerSummaries *state = summaries_from_datum(CurrentMemoryContext, datum);

		customer_summaries_compact(state);
		*kind = state->kind;
		*penalizer = state->penalizer;
		*count = state->count;
		*rows = state->rows;
	}
	else
	{
		FlatCustomerSummaries *flat = flat_from_datum(datum);

		*kind = flat->header >> 8;
		*penalizer = flat->penalizer;
		*count = flat->count;
		*rows = flat->rows;
	}
}

PG_FUNCTION_INFO_V1(crm_clv_fit_state_out);
/* Text output of crm.clv_fit_state: exact numbers. */
Datum
crm_clv_fit_state_out(PG_FUNCTION_ARGS)
{
	StringInfoData text;
	int			kind;
	double		penalizer;
	int64		count;
	const CustomerSummary *rows;

	summaries_to_write(PG_GETARG_DATUM(0), &kind, &penalizer, &count, &rows);
	initStringInfo(&text);
	appendStringInfo(&text, "%d;%s;%s;%lld", CUSTOMER_SUMMARIES_VERSION,
					 kind == CLV_KIND_GAMMAGAMMA ? "gammagamma" : "bgnbd",
					 float8out_internal(penalizer), (long long) count);
	for (int64 i = 0; i < count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		appendStringInfo(&text, ";%d,%s,%s,%s", rows[i].x, float8out_internal(rows[i].u),
						 float8out_internal(rows[i].v), float8out_internal(rows[i].weight));
	}
	PG_RETURN_CSTRING(text.data);
}

static pg_noinline void
summaries_binary_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary representation of crm.clv_fit_state"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_clv_fit_state_recv);
/* Binary input of crm.clv_fit_state. */
Datum
crm_clv_fit_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int			length = buffer->len - buffer->cursor;
	uint32		header;
	int			kind;
	double		penalizer;
	int64		count;
	FlatCustomerSummaries *flat;
	const char *problem;

	if (length < (int) SEND_HEADER_SIZE)
		summaries_binary_error(psprintf("A value is at least %d bytes long, not %d.", (int) SEND_HEADER_SIZE, length));
	header = pq_getmsgint(buffer, sizeof(uint32));
	kind = header >> 8;
	if ((header & 0xFF) != CUSTOMER_SUMMARIES_VERSION || (kind != CLV_KIND_BGNBD && kind != CLV_KIND_GAMMAGAMMA))
		summaries_binary_error(psprintf("Unknown header word %u; this build reads version %d of kinds 1 and 2.",
										header, CUSTOMER_SUMMARIES_VERSION));
	penalizer = pq_getmsgfloat8(buffer);
	count = pq_getmsgint64(buffer);
	if (count < 0 || count > (length - (int64) SEND_HEADER_SIZE) / (int64) SUMMARY_SERIAL_SIZE ||
		(int64) SEND_HEADER_SIZE + count * (int64) SUMMARY_SERIAL_SIZE != length)
		summaries_binary_error(psprintf("%d bytes do not hold %lld summaries.", length, (long long) count));
	flat = flat_new(kind, penalizer, count);
	for (int64 i = 0; i < count; i++)
	{
		flat->rows[i].x = pq_getmsgint(buffer, sizeof(int32));
		flat->rows[i].u = pq_getmsgfloat8(buffer);
		flat->rows[i].v = pq_getmsgfloat8(buffer);
		flat->rows[i].weight = pq_getmsgfloat8(buffer);
	}
	if ((problem = flat_problem(flat)) != NULL)
		summaries_binary_error(problem);
	PG_RETURN_POINTER(flat);
}

PG_FUNCTION_INFO_V1(crm_clv_fit_state_send);
/* Binary output of crm.clv_fit_state. */
Datum
crm_clv_fit_state_send(PG_FUNCTION_ARGS)
{
	StringInfoData buffer;
	int			kind;
	double		penalizer;
	int64		count;
	const CustomerSummary *rows;

	summaries_to_write(PG_GETARG_DATUM(0), &kind, &penalizer, &count, &rows);
	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, CUSTOMER_SUMMARIES_VERSION | (uint32) kind << 8);
	pq_sendfloat8(&buffer, penalizer);
	pq_sendint64(&buffer, count);
	for (int64 i = 0; i < count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		pq_sendint32(&buffer, rows[i].x);
		pq_sendfloat8(&buffer, rows[i].u);
		pq_sendfloat8(&buffer, rows[i].v);
		pq_sendfloat8(&buffer, rows[i].weight);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

/*
 * The positive parameters (the first count fields) of the model composite in argument, checked.
 * Prediction functions run once per customer with the same model, so the parameters read are
 * cached in fn_extra with a copy of the composite they came from, and read again only when the
 * model differs. A function may take models in its first two arguments (crm.clv takes two).
 */
#define MODEL_CACHE_ARGUMENTS 2
typedef struct ModelParameterCache
{
	uint32		length;
	char	   *tuple;
	double		parameters[CRM_BFGS_MAX_DIMENSIONS];
} ModelParameterCache;

void
clv_model_parameters(FunctionCallInfo fcinfo, int argument, const char *model_name,
					 int count, const char *const *names, double *parameters)
{
	HeapTupleHeader model = PG_GETARG_HEAPTUPLEHEADER(argument);
	uint32		length = HeapTupleHeaderGetDatumLength(model);
	ModelParameterCache *cache;

	Assert(count <= CRM_BFGS_MAX_DIMENSIONS && argument < MODEL_CACHE_ARGUMENTS);
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(ModelParameterCache) * MODEL_CACHE_ARGUMENTS);
	cache = (ModelParameterCache *) fcinfo->flinfo->fn_extra + argument;
	if (cache->tuple == NULL || cache->length != length || memcmp(cache->tuple, model, length) != 0)
	{
		for (int k = 0; k < count; k++)
		{
			bool		is_null;
			Datum		value = GetAttributeByNum(model, k + 1, &is_null);

			if (is_null)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s model parameter %s is NULL", model_name, names[k]),
						 errhint("Use a model whose fit converged.")));
			parameters[k] = DatumGetFloat8(value);
			if (!(parameters[k] > 0) || isinf(parameters[k]))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s model parameter %s must be a positive number", model_name, names[k]),
						 errdetail("It is %g.", parameters[k]),
						 errhint("Use a model whose fit converged.")));
		}
		if (cache->tuple != NULL)
			pfree(cache->tuple);
		memcpy(cache->parameters, parameters, sizeof(double) * count);
		cache->tuple = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, length);
		memcpy(cache->tuple, model, length);
		cache->length = length;
		return;
	}
	memcpy(parameters, cache->parameters, sizeof(double) * count);
}

/*
 * A fit's result as the model composite the calling aggregate returns: the parameters exp(theta),
 * then log_likelihood, n, iterations, converged. A parameter driven out of range by a diverging
 * fit becomes NULL and the fit not converged, so no NaN or infinity gets out.
 */
Datum
customer_model_datum(FunctionCallInfo fcinfo, const double *theta, int parameter_count,
					 double log_likelihood, double customers, int iterations, bool converged)
{
	TupleDesc	descriptor;
	Datum		values[CRM_BFGS_MAX_DIMENSIONS + 4];
	bool		nulls[CRM_BFGS_MAX_DIMENSIONS + 4] = {false};

	Assert(parameter_count <= CRM_BFGS_MAX_DIMENSIONS);
	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE ||
		descriptor->natts != parameter_count + 4)
		elog(ERROR, "a CLV fit must return its model composite");
	descriptor = BlessTupleDesc(descriptor);
	for (int k = 0; k < parameter_count; k++)
	{
		double		parameter = exp(theta[k]);

		if (!isfinite(parameter) || parameter <= 0)
		{
			nulls[k] = true;
			converged = false;
		}
		else
			values[k] = Float8GetDatum(parameter);
	}
	if (isfinite(log_likelihood))
		values[parameter_count] = Float8GetDatum(log_likelihood);
	else
		nulls[parameter_count] = true;
	values[parameter_count + 1] = Int64GetDatum((int64) customers);
	values[parameter_count + 2] = Int32GetDatum(iterations);
	values[parameter_count + 3] = BoolGetDatum(converged);
	return HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls));
}
