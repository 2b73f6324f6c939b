/*
 * nps.c: Net Promoter Score, CSAT and CES aggregates, and crm.nps_summary, an exact and mergeable
 * 0-10 answer histogram.
 *
 * The NPS aggregates keep the whole histogram (11 int64 counts) as their state, and that state is
 * a crm.nps_summary itself: the per-row work is one range comparison and one increment of the
 * summary, updated in place in the aggregate's memory (the transition function returns the state
 * it was given, so the executor neither copies nor frees it). crm.nps, crm.nps_agg and
 * crm.nps_union share one state and one combine function. CSAT and CES need only two counters
 * each: their state is a crm.counter_pair, updated in place the same way. Real types as states
 * (not internal) let Citus run the aggregates on every shard and ship the partial states to the
 * coordinator in their text form; no serialize or deserialize function is needed any more.
 *
 * The install script of 0.1 declared the states as internal, with serialize and deserialize
 * functions. Its C symbols stay defined and work on the same in-memory states, so a 0.1 database
 * keeps working with this library until ALTER EXTENSION crm UPDATE.
 */
#include "crm.h"

#include <ctype.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"

#define NPS_BUCKETS 11

/* crm.nps_summary's first word: the format version in the low byte, flags (none yet) above. */
#define NPS_SUMMARY_VERSION 1
#define NPS_SUMMARY_VERSION_MASK 0xFF

/*
 * crm.nps_summary, also the NPS aggregates' transition state: a varlena of fixed length, so every
 * value is exactly sizeof(NpsSummary).
 */
typedef struct NpsSummary
{
	int32		vl_len_;
	uint32		header;
	int64		counts[NPS_BUCKETS];
} NpsSummary;

/*
 * crm.counter_pair, the CSAT and CES transition state: for CSAT, positive answers and all answers;
 * for CES, the sum of the scores and the number of answers. A varlena of fixed length, versioned
 * like crm.nps_summary.
 */
typedef struct CounterPair
{
	int32		vl_len_;
	uint32		header;
	int64		part;
	int64		total;
} CounterPair;

/* crm.counter_pair's first word: the format version in the low byte, flags (none yet) above. */
#define COUNTER_PAIR_VERSION 1
#define COUNTER_PAIR_VERSION_MASK 0xFF
#define COUNTER_PAIR_SEND_SIZE (sizeof(uint32) + 2 * sizeof(int64))

#define NPS_COUNTS_SIZE (NPS_BUCKETS * sizeof(int64))
#define NPS_SERIALIZED_SIZE NPS_COUNTS_SIZE
#define PAIR_SERIALIZED_SIZE (2 * sizeof(int64))
#define NPS_SUMMARY_SEND_SIZE (sizeof(uint32) + NPS_BUCKETS * sizeof(int64))

#define CSAT_DEFAULT_THRESHOLD 4

pg_noreturn static pg_noinline void
score_out_of_range(const char *scale, int low, int high, int32 score);

static void
score_out_of_range(const char *scale, int low, int high, int32 score)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("%s score must be between %d and %d", scale, low, high),
			 errdetail("The score given was %d.", score)));
}

/* ---------------------------------------------------------------------------------------------
 * The NPS histogram state: a crm.nps_summary
 */

/* A new summary holding these counts, palloc'd in the current memory context. */
static NpsSummary *
summary_new(const int64 *counts)
{
	NpsSummary *summary = palloc(sizeof(NpsSummary));

	SET_VARSIZE(summary, sizeof(NpsSummary));
	summary->header = NPS_SUMMARY_VERSION;
	memcpy(summary->counts, counts, sizeof(summary->counts));
	return summary;
}

/* A stored summary; its length and version were checked on input, re-checked here cheaply. */
static inline NpsSummary *
summary_from_datum(Datum datum)
{
	/* stored plain, a summary is never toasted: skip the call to pg_detoast_datum */
	NpsSummary *summary = VARATT_IS_EXTENDED(DatumGetPointer(datum)) ?
		(NpsSummary *) PG_DETOAST_DATUM(datum) : (NpsSummary *) DatumGetPointer(datum);

	if (unlikely(VARSIZE(summary) != sizeof(NpsSummary) ||
				 (summary->header & NPS_SUMMARY_VERSION_MASK) != NPS_SUMMARY_VERSION))
		elog(ERROR, "corrupt crm.nps_summary: length %u, header %u",
			 (unsigned) VARSIZE(summary), summary->header);
	return summary;
}

#define PG_GETARG_NPS_SUMMARY(n) summary_from_datum(PG_GETARG_DATUM(n))

/*
 * Whether this call is an aggregate's (or window aggregate's) transition or combine step, whose
 * first argument is the state the executor keeps in the aggregate's memory: then the function may
 * update it in place and return it. Any other call (crm.nps_trans(summary, 7) in a query) must
 * leave its arguments alone. What AggCheckCallContext tests, inlined for the per-row path.
 */
static inline bool
called_as_aggregate(FunctionCallInfo fcinfo)
{
	return fcinfo->context != NULL &&
		(IsA(fcinfo->context, AggState) || IsA(fcinfo->context, WindowAggState));
}

/*
 * Memory for a group's first state. Declared with a real type (0.2), the state is returned to the
 * executor, which copies it into the aggregate's memory once (it is not the state it passed in):
 * allocated there itself, the first copy would stay behind until the end of the query. Declared
 * internal (the install script of 0.1), the executor keeps the pointer as it is: the state must be
 * in the aggregate's memory. Once per group, never per row.
 */
static pg_noinline void *
state_alloc(FunctionCallInfo fcinfo, Size size)
{
	MemoryContext aggregate_context;

	if (AggCheckCallContext(fcinfo, &aggregate_context) &&
		get_fn_expr_argtype(fcinfo->flinfo, 0) == INTERNALOID)
		return MemoryContextAllocZero(aggregate_context, size);
	return palloc0(size);
}

/*
 * A group's first histogram. Not inlined: it runs once per group, and inlined it would put a stack
 * protector (its caller's address-taken local) on the per-row path of the transition functions.
 */
static pg_noinline NpsSummary *
histogram_new(FunctionCallInfo fcinfo)
{
	NpsSummary *state = state_alloc(fcinfo, sizeof(NpsSummary));

	SET_VARSIZE(state, sizeof(NpsSummary));
	state->header = NPS_SUMMARY_VERSION;
	return state;
}

/*
 * The state to update for argument 0: in place when the executor owns it, else a copy (a direct
 * call must not change its argument). NULL for a NULL argument.
 */
static pg_attribute_always_inline NpsSummary *
histogram_state(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		return NULL;
	if (likely(called_as_aggregate(fcinfo)))
		return (NpsSummary *) PG_GETARG_POINTER(0);
	return summary_new(PG_GETARG_NPS_SUMMARY(0)->counts);
}

/*
 * Adds from's counts to into's; a sum beyond int64 is 22003. Every count is non-negative (input,
 * receive and deserialize reject negative ones), so a sum overflows exactly when its sign bit is
 * set: one test after the loop, which the compiler can then vectorize, instead of one per count.
 */
static void
histogram_add(int64 *into, const int64 *from)
{
	uint64		sign_bits = 0;

	for (int i = 0; i < NPS_BUCKETS; i++)
	{
		uint64		sum = (uint64) into[i] + (uint64) from[i];

		sign_bits |= sum;
		into[i] = (int64) sum;
	}
	if (unlikely(sign_bits >> 63))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("nps_summary count out of range"),
				 errdetail("A merged count exceeds %lld.", (long long) PG_INT64_MAX)));
}

static pg_noinline void
count_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("nps_summary count out of range"),
			 errdetail("A count would exceed %lld.", (long long) PG_INT64_MAX)));
}

/*
 * NPS in points from a histogram; false when it holds no answers. Sums in double precision: the
 * counts may each be up to 2^63 - 1, so their int64 sum could overflow.
 */
static bool
histogram_nps(const int64 *counts, double *nps)
{
	double		detractors = 0;
	double		responses;

	for (int i = 0; i <= 6; i++)
		detractors += (double) counts[i];
	responses = detractors + (double) counts[7] + (double) counts[8] + (double) counts[9] + (double) counts[10];
	if (responses == 0)
		return false;
	*nps = 100.0 * ((double) counts[9] + (double) counts[10] - detractors) / responses;
	return true;
}

/*
 * The per-row step for an int32 score. The state is created on the first non-NULL score only, so
 * NULL-only input ends with a NULL state (and a NULL result), like input with no rows at all.
 */
static pg_attribute_always_inline Datum
nps_step(FunctionCallInfo fcinfo, int32 score)
{
	NpsSummary *state;

	if (unlikely((uint32) score > 10))
		score_out_of_range("NPS", 0, 10, score);
	if (likely(!PG_ARGISNULL(0) && called_as_aggregate(fcinfo)))
		/*
		 * The aggregate's own state (the per-row path): it began at zero counts and grows by one
		 * per row, so it never nears 2^63 - 1: no check on this path (test/bench/release_pairs.sh
		 * compares crm.nps over 10M answers with 0.1's).
		 */
		state = (NpsSummary *) PG_GETARG_POINTER(0);
	else
	{
		state = PG_ARGISNULL(0) ? histogram_new(fcinfo) : summary_new(PG_GETARG_NPS_SUMMARY(0)->counts);
		/* a state given by hand (crm.nps_trans(summary, score) in a query) may be full */
		if (unlikely(state->counts[score] == PG_INT64_MAX))
			count_out_of_range();
	}
	state->counts[score]++;
	PG_RETURN_POINTER(state);
}

#define RETURN_STATE_ON_NULL_SCORE() \
	do { \
		if (PG_ARGISNULL(1)) \
		{ \
			if (PG_ARGISNULL(0)) \
				PG_RETURN_NULL(); \
			PG_RETURN_DATUM(PG_GETARG_DATUM(0)); \
		} \
	} while (0)

PG_FUNCTION_INFO_V1(crm_nps_trans_int2);
/* Transition of crm.nps(smallint) and crm.nps_agg(smallint): counts one answer. */
Datum
crm_nps_trans_int2(PG_FUNCTION_ARGS)
{
	RETURN_STATE_ON_NULL_SCORE();
	return nps_step(fcinfo, PG_GETARG_INT16(1));
}

PG_FUNCTION_INFO_V1(crm_nps_trans_int4);
/* Transition of crm.nps(integer) and crm.nps_agg(integer): counts one answer. */
Datum
crm_nps_trans_int4(PG_FUNCTION_ARGS)
{
	RETURN_STATE_ON_NULL_SCORE();
	return nps_step(fcinfo, PG_GETARG_INT32(1));
}

PG_FUNCTION_INFO_V1(crm_nps_summary_combine);
/*
 * Combine function of the NPS aggregates (strict): adds the second summary to the first, in place
 * when the executor owns the first. Also what Citus's coordinator calls on the shards' states.
 */
Datum
crm_nps_summary_combine(PG_FUNCTION_ARGS)
{
	NpsSummary *state = PG_GETARG_NPS_SUMMARY(0);

	if (!called_as_aggregate(fcinfo) || !VARATT_IS_4B_U(DatumGetPointer(PG_GETARG_DATUM(0))))
		state = summary_new(state->counts);
	histogram_add(state->counts, PG_GETARG_NPS_SUMMARY(1)->counts);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_nps_combine);
/* Combine function of the NPS aggregates of 0.1 (state internal): adds two partial histograms. */
Datum
crm_nps_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggregate_context = crm_aggregate_context(fcinfo, "crm_nps_combine");
	NpsSummary *state;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	if (PG_ARGISNULL(0))
	{
		state = MemoryContextAllocZero(aggregate_context, sizeof(NpsSummary));
		SET_VARSIZE(state, sizeof(NpsSummary));
		state->header = NPS_SUMMARY_VERSION;
	}
	else
		state = (NpsSummary *) PG_GETARG_POINTER(0);
	histogram_add(state->counts, ((NpsSummary *) PG_GETARG_POINTER(1))->counts);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_nps_serialize);
/* Serialize function of the NPS aggregates of 0.1: the 11 counts as a bytea. */
Datum
crm_nps_serialize(PG_FUNCTION_ARGS)
{
	NpsSummary *state;
	bytea	   *result;

	crm_aggregate_context(fcinfo, "crm_nps_serialize");
	state = (NpsSummary *) PG_GETARG_POINTER(0);
	result = palloc(VARHDRSZ + NPS_SERIALIZED_SIZE);
	SET_VARSIZE(result, VARHDRSZ + NPS_SERIALIZED_SIZE);
	memcpy(VARDATA(result), state->counts, NPS_SERIALIZED_SIZE);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(crm_nps_deserialize);
/* Deserialize function of the NPS aggregates of 0.1: checks the length and the counts' signs. */
Datum
crm_nps_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggregate_context = crm_aggregate_context(fcinfo, "crm_nps_deserialize");
	bytea	   *serialized = PG_GETARG_BYTEA_PP(0);
	NpsSummary *state;

	if (VARSIZE_ANY_EXHDR(serialized) != NPS_SERIALIZED_SIZE)
		elog(ERROR, "crm_nps_deserialize: expected %zu bytes, got %zu",
			 NPS_SERIALIZED_SIZE, (size_t) VARSIZE_ANY_EXHDR(serialized));
	state = MemoryContextAlloc(aggregate_context, sizeof(NpsSummary));
	SET_VARSIZE(state, sizeof(NpsSummary));
	state->header = NPS_SUMMARY_VERSION;
	memcpy(state->counts, VARDATA_ANY(serialized), NPS_SERIALIZED_SIZE);
	for (int i = 0; i < NPS_BUCKETS; i++)
		if (state->counts[i] < 0)
			elog(ERROR, "crm_nps_deserialize: negative count for score %d", i);
	PG_RETURN_POINTER(state);
}

/*
 * The state a final function reads: the executor's own (never toasted), or under the 0.1 install
 * script an internal pointer to the same struct.
 */
#define PG_GETARG_NPS_STATE(n) ((const NpsSummary *) PG_GETARG_POINTER(n))

PG_FUNCTION_INFO_V1(crm_nps_final);
/* Final function of crm.nps(score): %promoters - %detractors, NULL without answers. */
Datum
crm_nps_final(PG_FUNCTION_ARGS)
{
	double		nps;

	if (!histogram_nps(PG_GETARG_NPS_STATE(0)->counts, &nps))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(nps);
}

PG_FUNCTION_INFO_V1(crm_nps_agg_final);
/*
 * Final function of crm.nps_agg(score) and crm.nps_union(summary): a copy of the histogram, so
 * the result never aliases a state that goes on changing (a running window aggregate).
 */
Datum
crm_nps_agg_final(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(summary_new(PG_GETARG_NPS_STATE(0)->counts));
}

PG_FUNCTION_INFO_V1(crm_nps_union_trans);
/* Transition of crm.nps_union(summary): adds one summary; NULL summaries are skipped. */
Datum
crm_nps_union_trans(PG_FUNCTION_ARGS)
{
	NpsSummary *state;

	RETURN_STATE_ON_NULL_SCORE();
	state = histogram_state(fcinfo);
	if (state == NULL)
		state = histogram_new(fcinfo);
	histogram_add(state->counts, PG_GETARG_NPS_SUMMARY(1)->counts);
	PG_RETURN_POINTER(state);
}

/* ---------------------------------------------------------------------------------------------
 * crm.nps_summary's I/O, operators and readers
 */

static pg_noinline void
summary_syntax_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.nps_summary: \"%s\"", input),
			 errdetail("%s", detail),
			 errhint("Write the 11 answer counts for scores 0 to 10 in parentheses, e.g. (0,0,0,0,0,0,2,1,2,2,3).")));
}

PG_FUNCTION_INFO_V1(crm_nps_summary_in);
/* Text input of crm.nps_summary: "(c0,c1,...,c10)", 11 non-negative integers within int64. */
Datum
crm_nps_summary_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int64		counts[NPS_BUCKETS];

	while (isspace((unsigned char) *p))
		p++;
	if (*p++ != '(')
		summary_syntax_error(input, "A summary starts with \"(\".");
	for (int i = 0; i < NPS_BUCKETS; i++)
	{
		int64		count = 0;

		while (isspace((unsigned char) *p))
			p++;
		if (!isdigit((unsigned char) *p))
			summary_syntax_error(input, psprintf("Count %d is not a non-negative integer.", i));
		for (; isdigit((unsigned char) *p); p++)
			if (pg_mul_s64_overflow(count, 10, &count) ||
				pg_add_s64_overflow(count, *p - '0', &count))
				summary_syntax_error(input, psprintf("Count %d exceeds %lld.", i, (long long) PG_INT64_MAX));
		counts[i] = count;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != (i < NPS_BUCKETS - 1 ? ',' : ')'))
			summary_syntax_error(input, i < NPS_BUCKETS - 1 && *p == ')' ?
								 psprintf("Found %d counts; a summary has exactly 11.", i + 1) :
								 i == NPS_BUCKETS - 1 && *p == ',' ?
								 "Found more than 11 counts; a summary has exactly 11." :
								 psprintf("Unexpected character after count %d.", i));
		p++;
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		summary_syntax_error(input, "Unexpected characters after \")\".");
	PG_RETURN_POINTER(summary_new(counts));
}

PG_FUNCTION_INFO_V1(crm_nps_summary_out);
/* Text output of crm.nps_summary: "(c0,c1,...,c10)". */
Datum
crm_nps_summary_out(PG_FUNCTION_ARGS)
{
	NpsSummary *summary = PG_GETARG_NPS_SUMMARY(0);
	StringInfoData text;

	initStringInfo(&text);
	for (int i = 0; i < NPS_BUCKETS; i++)
		appendStringInfo(&text, "%c" INT64_FORMAT, i == 0 ? '(' : ',', summary->counts[i]);
	appendStringInfoChar(&text, ')');
	PG_RETURN_CSTRING(text.data);
}

static pg_noinline void
summary_binary_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary representation of crm.nps_summary"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_nps_summary_recv);
/* Binary input of crm.nps_summary: a uint32 version word (1), then 11 int64 counts >= 0. */
Datum
crm_nps_summary_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int64		counts[NPS_BUCKETS];
	uint32		header;
	int			length = buffer->len - buffer->cursor;

	if (length != (int) NPS_SUMMARY_SEND_SIZE)
		summary_binary_error(psprintf("A summary is %d bytes long, not %d.",
									  (int) NPS_SUMMARY_SEND_SIZE, length));
	header = pq_getmsgint(buffer, sizeof(uint32));
	if (header != NPS_SUMMARY_VERSION)
		summary_binary_error(psprintf("Unknown version word %u; this build reads version %d.",
									  header, NPS_SUMMARY_VERSION));
	for (int i = 0; i < NPS_BUCKETS; i++)
	{
		counts[i] = pq_getmsgint64(buffer);
		if (counts[i] < 0)
			summary_binary_error(psprintf("Count %d is negative.", i));
	}
	PG_RETURN_POINTER(summary_new(counts));
}

PG_FUNCTION_INFO_V1(crm_nps_summary_send);
/* Binary output of crm.nps_summary: the version word, then the 11 counts, in network order. */
Datum
crm_nps_summary_send(PG_FUNCTION_ARGS)
{
	NpsSummary *summary = PG_GETARG_NPS_SUMMARY(0);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, NPS_SUMMARY_VERSION);
	for (int i = 0; i < NPS_BUCKETS; i++)
		pq_sendint64(&buffer, summary->counts[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_nps_summary_eq);
/* crm.nps_summary = crm.nps_summary: the same count for every score. */
Datum
crm_nps_summary_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(memcmp(PG_GETARG_NPS_SUMMARY(0)->counts, PG_GETARG_NPS_SUMMARY(1)->counts,
						  NPS_COUNTS_SIZE) == 0);
}

PG_FUNCTION_INFO_V1(crm_nps_summary_ne);
/* crm.nps_summary <> crm.nps_summary: some score's count differs. */
Datum
crm_nps_summary_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(memcmp(PG_GETARG_NPS_SUMMARY(0)->counts, PG_GETARG_NPS_SUMMARY(1)->counts,
						  NPS_COUNTS_SIZE) != 0);
}

PG_FUNCTION_INFO_V1(crm_nps_summary_hash);
/* Hash of a crm.nps_summary (its counts), for hash joins, GROUP BY and DISTINCT. */
Datum
crm_nps_summary_hash(PG_FUNCTION_ARGS)
{
	return hash_any((const unsigned char *) PG_GETARG_NPS_SUMMARY(0)->counts, NPS_COUNTS_SIZE);
}

PG_FUNCTION_INFO_V1(crm_nps_summary_add);
/* crm.nps_summary + crm.nps_summary: the summary of both sets of answers. */
Datum
crm_nps_summary_add(PG_FUNCTION_ARGS)
{
	NpsSummary *sum = summary_new(PG_GETARG_NPS_SUMMARY(0)->counts);

	histogram_add(sum->counts, PG_GETARG_NPS_SUMMARY(1)->counts);
	PG_RETURN_POINTER(sum);
}

PG_FUNCTION_INFO_V1(crm_nps_summary_nps);
/* crm.nps(summary): the NPS of the answers summarized, NULL when there are none. */
Datum
crm_nps_summary_nps(PG_FUNCTION_ARGS)
{
	double		nps;

	if (!histogram_nps(PG_GETARG_NPS_SUMMARY(0)->counts, &nps))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(nps);
}

static int64
count_between(const NpsSummary *summary, int low, int high)
{
	int64		count = 0;

	for (int i = low; i <= high; i++)
		if (pg_add_s64_overflow(count, summary->counts[i], &count))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("number of answers out of range"),
					 errdetail("The answers with scores %d to %d number more than %lld.", low, high,
							   (long long) PG_INT64_MAX)));
	return count;
}

PG_FUNCTION_INFO_V1(crm_nps_summary_promoters);
/* crm.promoters(summary): answers scoring 9 or 10. */
Datum
crm_nps_summary_promoters(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(count_between(PG_GETARG_NPS_SUMMARY(0), 9, 10));
}

PG_FUNCTION_INFO_V1(crm_nps_summary_passives);
/* crm.passives(summary): answers scoring 7 or 8. */
Datum
crm_nps_summary_passives(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(count_between(PG_GETARG_NPS_SUMMARY(0), 7, 8));
}

PG_FUNCTION_INFO_V1(crm_nps_summary_detractors);
/* crm.detractors(summary): answers scoring 0 to 6. */
Datum
crm_nps_summary_detractors(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(count_between(PG_GETARG_NPS_SUMMARY(0), 0, 6));
}

PG_FUNCTION_INFO_V1(crm_nps_summary_responses);
/* crm.responses(summary): all answers. */
Datum
crm_nps_summary_responses(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(count_between(PG_GETARG_NPS_SUMMARY(0), 0, 10));
}

/*
 * The margin of error of the NPS in points, z * SE * 100 with SE = sqrt((pP + pD - NPS^2) / n),
 * NPS as a fraction; false for an empty summary. Sets *nps to the NPS in points.
 */
static bool
summary_margin(const NpsSummary *summary, double z, double *nps, double *margin)
{
	double		n = 0,
				promoters,
				detractors = 0,
				fraction;

	for (int i = 0; i < NPS_BUCKETS; i++)
		n += (double) summary->counts[i];
	if (n == 0)
		return false;
	for (int i = 0; i <= 6; i++)
		detractors += (double) summary->counts[i];
	promoters = (double) summary->counts[9] + (double) summary->counts[10];
	fraction = (promoters - detractors) / n;
	*nps = 100.0 * fraction;
	/* rounding can leave a tiny negative variance when every answer is in one group */
	*margin = z * sqrt(Max(promoters / n + detractors / n - fraction * fraction, 0.0) / n) * 100.0;
	return true;
}

PG_FUNCTION_INFO_V1(crm_nps_summary_moe);
/* crm.nps_moe(summary, confidence): the margin of error in NPS points, NULL for no answers. */
Datum
crm_nps_summary_moe(PG_FUNCTION_ARGS)
{
	double		z = crm_normal_quantile_two_sided(PG_GETARG_FLOAT8(1));
	double		nps,
				margin;

	if (!summary_margin(PG_GETARG_NPS_SUMMARY(0), z, &nps, &margin))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(margin);
}

PG_FUNCTION_INFO_V1(crm_nps_summary_ci);
/* crm.nps_ci(summary, confidence): NPS -/+ margin clamped to [-100, 100]; NULLs for no answers. */
Datum
crm_nps_summary_ci(PG_FUNCTION_ARGS)
{
	double		z = crm_normal_quantile_two_sided(PG_GETARG_FLOAT8(1));
	TupleDesc	descriptor;
	Datum		bounds[2] = {0, 0};
	bool		nulls[2] = {true, true};
	double		nps,
				margin;

	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "crm.nps_ci must return a record");
	if (summary_margin(PG_GETARG_NPS_SUMMARY(0), z, &nps, &margin))
	{
		bounds[0] = Float8GetDatum(Max(nps - margin, -100.0));
		bounds[1] = Float8GetDatum(Min(nps + margin, 100.0));
		nulls[0] = nulls[1] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(descriptor), bounds, nulls)));
}

/* ---------------------------------------------------------------------------------------------
 * CSAT and CES: crm.counter_pair
 */

static CounterPair *
pair_make(int64 part, int64 total)
{
	CounterPair *pair = palloc(sizeof(CounterPair));

	SET_VARSIZE(pair, sizeof(CounterPair));
	pair->header = COUNTER_PAIR_VERSION;
	pair->part = part;
	pair->total = total;
	return pair;
}

/* A stored counter pair; its length and version were checked on input, re-checked here cheaply. */
static inline CounterPair *
pair_from_datum(Datum datum)
{
	CounterPair *pair = VARATT_IS_EXTENDED(DatumGetPointer(datum)) ?
		(CounterPair *) PG_DETOAST_DATUM(datum) : (CounterPair *) DatumGetPointer(datum);

	if (unlikely(VARSIZE(pair) != sizeof(CounterPair) ||
				 (pair->header & COUNTER_PAIR_VERSION_MASK) != COUNTER_PAIR_VERSION))
		elog(ERROR, "corrupt crm.counter_pair: length %u, header %u",
			 (unsigned) VARSIZE(pair), pair->header);
	return pair;
}

#define PG_GETARG_COUNTER_PAIR(n) pair_from_datum(PG_GETARG_DATUM(n))

/* Not inlined, like histogram_new: no stack protector on the per-row path. */
static pg_noinline CounterPair *
pair_new(FunctionCallInfo fcinfo)
{
	CounterPair *pair = state_alloc(fcinfo, sizeof(CounterPair));

	SET_VARSIZE(pair, sizeof(CounterPair));
	pair->header = COUNTER_PAIR_VERSION;
	return pair;
}

static pg_noinline void
pair_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("number of answers out of range"),
			 errdetail("A counter would exceed %lld.", (long long) PG_INT64_MAX)));
}

/* part is 0 or 1 (CSAT) or a score 1 to 7 (CES). */
static pg_attribute_always_inline Datum
pair_step(FunctionCallInfo fcinfo, int64 part)
{
	CounterPair *state;

	if (unlikely(PG_ARGISNULL(0)))
		state = pair_new(fcinfo);
	else if (likely(called_as_aggregate(fcinfo)))
		state = (CounterPair *) PG_GETARG_POINTER(0);
	else
	{
		CounterPair *given = PG_GETARG_COUNTER_PAIR(0);

		state = pair_make(given->part, given->total);
	}
	/* reachable only from a state given by hand: 2^63 - 8 answers are never counted */
	if (unlikely(state->part > PG_INT64_MAX - 7 || state->total == PG_INT64_MAX))
		pair_out_of_range();
	state->part += part;
	state->total++;
	PG_RETURN_POINTER(state);
}

static pg_attribute_always_inline Datum
csat_step(FunctionCallInfo fcinfo, int32 score, int32 threshold)
{
	if (unlikely(score < 1 || score > 5))
		score_out_of_range("CSAT", 1, 5, score);
	if (unlikely(threshold < 1 || threshold > 5))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("CSAT positive threshold must be between 1 and 5"),
				 errdetail("The threshold given was %d.", threshold)));
	return pair_step(fcinfo, score >= threshold);
}

PG_FUNCTION_INFO_V1(crm_csat_trans_int2);
/* Transition of crm.csat(smallint): counts one answer, positive when 4 or 5. */
Datum
crm_csat_trans_int2(PG_FUNCTION_ARGS)
{
	RETURN_STATE_ON_NULL_SCORE();
	return csat_step(fcinfo, PG_GETARG_INT16(1), CSAT_DEFAULT_THRESHOLD);
}

PG_FUNCTION_INFO_V1(crm_csat_trans_int4);
/* Transition of crm.csat(integer): counts one answer, positive when 4 or 5. */
Datum
crm_csat_trans_int4(PG_FUNCTION_ARGS)
{
	RETURN_STATE_ON_NULL_SCORE();
	return csat_step(fcinfo, PG_GETARG_INT32(1), CSAT_DEFAULT_THRESHOLD);
}

/* A row whose score or threshold is NULL is skipped, as a strict aggregate would. */
#define RETURN_STATE_ON_NULL_THRESHOLD() \
	do { \
		if (PG_ARGISNULL(2)) \
		{ \
			if (PG_ARGISNULL(0)) \
				PG_RETURN_NULL(); \
			PG_RETURN_DATUM(PG_GETARG_DATUM(0)); \
		} \
	} while (0)

PG_FUNCTION_INFO_V1(crm_csat_threshold_trans_int2);
/* Transition of crm.csat(smallint, threshold): counts one answer, positive when >= threshold. */
Datum
crm_csat_threshold_trans_int2(PG_FUNCTION_ARGS)
{
	RETURN_STATE_ON_NULL_SCORE();
	RETURN_STATE_ON_NULL_THRESHOLD();
	return csat_step(fcinfo, PG_GETARG_INT16(1), PG_GETARG_INT32(2));
}

PG_FUNCTION_INFO_V1(crm_csat_threshold_trans_int4);
/* Transition of crm.csat(integer, threshold): counts one answer, positive when >= threshold. */
Datum
crm_csat_threshold_trans_int4(PG_FUNCTION_ARGS)
{
	RETURN_STATE_ON_NULL_SCORE();
	RETURN_STATE_ON_NULL_THRESHOLD();
	return csat_step(fcinfo, PG_GETARG_INT32(1), PG_GETARG_INT32(2));
}

static pg_attribute_always_inline Datum
ces_step(FunctionCallInfo fcinfo, int32 score)
{
	if (unlikely(score < 1 || score > 7))
		score_out_of_range("CES", 1, 7, score);
	return pair_step(fcinfo, score);
}

PG_FUNCTION_INFO_V1(crm_ces_trans_int2);
/* Transition of crm.ces(smallint): adds one effort score. */
Datum
crm_ces_trans_int2(PG_FUNCTION_ARGS)
{
	RETURN_STATE_ON_NULL_SCORE();
	return ces_step(fcinfo, PG_GETARG_INT16(1));
}

PG_FUNCTION_INFO_V1(crm_ces_trans_int4);
/* Transition of crm.ces(integer): adds one effort score. */
Datum
crm_ces_trans_int4(PG_FUNCTION_ARGS)
{
	RETURN_STATE_ON_NULL_SCORE();
	return ces_step(fcinfo, PG_GETARG_INT32(1));
}

/* Adds other's counters to state's; beyond int64 is 22003. */
static void
pair_add(CounterPair *state, const CounterPair *other)
{
	if (pg_add_s64_overflow(state->part, other->part, &state->part) ||
		pg_add_s64_overflow(state->total, other->total, &state->total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("number of answers out of range")));
}

PG_FUNCTION_INFO_V1(crm_counter_pair_add);
/*
 * Combine function of crm.csat and crm.ces (strict): adds the second pair to the first, in place
 * when the executor owns the first. Also what Citus's coordinator calls on the shards' states.
 */
Datum
crm_counter_pair_add(PG_FUNCTION_ARGS)
{
	CounterPair *state = PG_GETARG_COUNTER_PAIR(0);

	if (!called_as_aggregate(fcinfo) || !VARATT_IS_4B_U(DatumGetPointer(PG_GETARG_DATUM(0))))
		state = pair_make(state->part, state->total);
	pair_add(state, PG_GETARG_COUNTER_PAIR(1));
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_counter_pair_combine);
/* Combine function of crm.csat and crm.ces of 0.1 (state internal): adds two partial pairs. */
Datum
crm_counter_pair_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggregate_context = crm_aggregate_context(fcinfo, "crm_counter_pair_combine");
	CounterPair *state;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	if (PG_ARGISNULL(0))
	{
		state = MemoryContextAllocZero(aggregate_context, sizeof(CounterPair));
		SET_VARSIZE(state, sizeof(CounterPair));
		state->header = COUNTER_PAIR_VERSION;
	}
	else
		state = (CounterPair *) PG_GETARG_POINTER(0);
	pair_add(state, (CounterPair *) PG_GETARG_POINTER(1));
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_counter_pair_serialize);
/* Serialize function of crm.csat and crm.ces of 0.1: the two counters as a bytea. */
Datum
crm_counter_pair_serialize(PG_FUNCTION_ARGS)
{
	CounterPair *state;
	bytea	   *result;

	crm_aggregate_context(fcinfo, "crm_counter_pair_serialize");
	state = (CounterPair *) PG_GETARG_POINTER(0);
	result = palloc(VARHDRSZ + PAIR_SERIALIZED_SIZE);
	SET_VARSIZE(result, VARHDRSZ + PAIR_SERIALIZED_SIZE);
	memcpy(VARDATA(result), &state->part, sizeof(int64));
	memcpy(VARDATA(result) + sizeof(int64), &state->total, sizeof(int64));
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(crm_counter_pair_deserialize);
/* Deserialize function of crm.csat and crm.ces of 0.1: checks the length and the counters' signs. */
Datum
crm_counter_pair_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggregate_context = crm_aggregate_context(fcinfo, "crm_counter_pair_deserialize");
	bytea	   *serialized = PG_GETARG_BYTEA_PP(0);
	CounterPair *state;

	if (VARSIZE_ANY_EXHDR(serialized) != PAIR_SERIALIZED_SIZE)
		elog(ERROR, "crm_counter_pair_deserialize: expected %zu bytes, got %zu",
			 PAIR_SERIALIZED_SIZE, (size_t) VARSIZE_ANY_EXHDR(serialized));
	state = MemoryContextAlloc(aggregate_context, sizeof(CounterPair));
	SET_VARSIZE(state, sizeof(CounterPair));
	state->header = COUNTER_PAIR_VERSION;
	memcpy(&state->part, VARDATA_ANY(serialized), sizeof(int64));
	memcpy(&state->total, VARDATA_ANY(serialized) + sizeof(int64), sizeof(int64));
	if (state->part < 0 || state->total < 0)
		elog(ERROR, "crm_counter_pair_deserialize: negative counter");
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_csat_final);
/* Final function of crm.csat: positive answers as a percentage of all answers (NULL for none). */
Datum
crm_csat_final(PG_FUNCTION_ARGS)
{
	const CounterPair *state = (const CounterPair *) PG_GETARG_POINTER(0);

	if (state->total == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(100.0 * (double) state->part / (double) state->total);
}

PG_FUNCTION_INFO_V1(crm_ces_final);
/* Final function of crm.ces: the mean effort score (NULL for no answers). */
Datum
crm_ces_final(PG_FUNCTION_ARGS)
{
	const CounterPair *state = (const CounterPair *) PG_GETARG_POINTER(0);

	if (state->total == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((double) state->part / (double) state->total);
}

/*
 * crm.counter_pair's text form "(part,total)": two integers, 0 <= part, 0 <= total, and part 0
 * when total is. The binary form: a version word (1), then part and total as int64, network order.
 */
static pg_noinline void
pair_syntax_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.counter_pair: \"%s\"", input),
			 errdetail("%s", detail),
			 errhint("Write the two counters in parentheses, e.g. (3,5): for CSAT the positive answers and all answers, for CES the sum of the scores and the number of answers.")));
}

/* The counters' rule: both non-negative, and nothing counted without answers. */
static const char *
pair_check(int64 part, int64 total)
{
	if (part < 0 || total < 0)
		return "A counter is negative.";
	if (total == 0 && part != 0)
		return "The first counter is not 0 although the second (the answers) is.";
	return NULL;
}

PG_FUNCTION_INFO_V1(crm_counter_pair_in);
/* Text input of crm.counter_pair: "(part,total)". */
Datum
crm_counter_pair_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int64		counters[2];
	const char *problem;

	while (isspace((unsigned char) *p))
		p++;
	if (*p++ != '(')
		pair_syntax_error(input, "A counter pair starts with \"(\".");
	for (int i = 0; i < 2; i++)
	{
		int64		count = 0;

		while (isspace((unsigned char) *p))
			p++;
		if (!isdigit((unsigned char) *p))
			pair_syntax_error(input, psprintf("Counter %d is not a non-negative integer.", i + 1));
		for (; isdigit((unsigned char) *p); p++)
			if (pg_mul_s64_overflow(count, 10, &count) ||
				pg_add_s64_overflow(count, *p - '0', &count))
				pair_syntax_error(input, psprintf("Counter %d exceeds %lld.", i + 1, (long long) PG_INT64_MAX));
		counters[i] = count;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != (i == 0 ? ',' : ')'))
			pair_syntax_error(input, i == 0 && *p == ')' ? "Found 1 counter; a pair has exactly 2." :
							  i == 1 && *p == ',' ? "Found more than 2 counters; a pair has exactly 2." :
							  psprintf("Unexpected character after counter %d.", i + 1));
		p++;
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		pair_syntax_error(input, "Unexpected characters after \")\".");
	if ((problem = pair_check(counters[0], counters[1])) != NULL)
		pair_syntax_error(input, problem);
	PG_RETURN_POINTER(pair_make(counters[0], counters[1]));
}

PG_FUNCTION_INFO_V1(crm_counter_pair_out);
/* Text output of crm.counter_pair: "(part,total)". */
Datum
crm_counter_pair_out(PG_FUNCTION_ARGS)
{
	CounterPair *pair = PG_GETARG_COUNTER_PAIR(0);

	PG_RETURN_CSTRING(psprintf("(" INT64_FORMAT "," INT64_FORMAT ")", pair->part, pair->total));
}

static pg_noinline void
pair_binary_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary representation of crm.counter_pair"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_counter_pair_recv);
/* Binary input of crm.counter_pair: a uint32 version word (1), then part and total as int64. */
Datum
crm_counter_pair_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int			length = buffer->len - buffer->cursor;
	uint32		header;
	int64		part,
				total;
	const char *problem;

	if (length != (int) COUNTER_PAIR_SEND_SIZE)
		pair_binary_error(psprintf("A counter pair is %d bytes long, not %d.",
								   (int) COUNTER_PAIR_SEND_SIZE, length));
	header = pq_getmsgint(buffer, sizeof(uint32));
	if (header != COUNTER_PAIR_VERSION)
		pair_binary_error(psprintf("Unknown version word %u; this build reads version %d.",
								   header, COUNTER_PAIR_VERSION));
	part = pq_getmsgint64(buffer);
	total = pq_getmsgint64(buffer);
	if ((problem = pair_check(part, total)) != NULL)
		pair_binary_error(problem);
	PG_RETURN_POINTER(pair_make(part, total));
}

PG_FUNCTION_INFO_V1(crm_counter_pair_send);
/* Binary output of crm.counter_pair: the version word, then part and total, in network order. */
Datum
crm_counter_pair_send(PG_FUNCTION_ARGS)
{
	CounterPair *pair = PG_GETARG_COUNTER_PAIR(0);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, COUNTER_PAIR_VERSION);
	pq_sendint64(&buffer, pair->part);
	pq_sendint64(&buffer, pair->total);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}
