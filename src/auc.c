/*
 * auc.c: the area under the ROC curve as an aggregate, auc(score, label).
 *
 * AUC is the Mann–Whitney statistic: the probability that a random positive scores higher than a
 * random negative, ties counting half. The state keeps the positive and the negative scores
 * (8 bytes per row); the final function sorts both (radix sort, 8 more bytes per score while it
 * runs) and counts in one merge pass.
 */
#include "crm.h"

#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#define AUC_STATE_VERSION 1

typedef struct ScoreList
{
	int64		count;
	int64		capacity;
	double	   *scores;
} ScoreList;

typedef struct AucState
{
	ScoreList	positives;
	ScoreList	negatives;
} AucState;

static void
score_list_reserve(ScoreList *list, int64 extra, MemoryContext context)
{
	int64		needed = list->count + extra;
	int64		capacity;

	if (needed <= list->capacity)
		return;
	capacity = Max(needed, Max(list->capacity * 2, 64));
	if (list->scores == NULL)
		list->scores = MemoryContextAllocHuge(context, sizeof(double) * capacity);
	else
		list->scores = repalloc_huge(list->scores, sizeof(double) * capacity);
	list->capacity = capacity;
}

static void
score_list_append(ScoreList *list, const double *scores, int64 count, MemoryContext context)
{
	score_list_reserve(list, count, context);
	memcpy(list->scores + list->count, scores, sizeof(double) * count);
	list->count += count;
}

PG_FUNCTION_INFO_V1(crm_auc_transition);
/* Adds one (score, label) row to the auc state; rows with a NULL score or label are skipped. */
Datum
crm_auc_transition(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "auc_transition");
	AucState   *state = PG_ARGISNULL(0) ? MemoryContextAllocZero(context, sizeof(AucState))
		: (AucState *) PG_GETARG_POINTER(0);
	double		score;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);
	score = PG_GETARG_FLOAT8(1);
	crm_require_finite(score, "score");
	score_list_append(PG_GETARG_BOOL(2) ? &state->positives : &state->negatives, &score, 1, context);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_auc_combine);
/* Concatenates two partial auc states. */
Datum
crm_auc_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "auc_combine");
	AucState   *left = PG_ARGISNULL(0) ? NULL : (AucState *) PG_GETARG_POINTER(0);
	AucState   *right = PG_ARGISNULL(1) ? NULL : (AucState *) PG_GETARG_POINTER(1);

	if (left == NULL)
		left = MemoryContextAllocZero(context, sizeof(AucState));
	if (right != NULL)
	{
		score_list_append(&left->positives, right->positives.scores, right->positives.count, context);
		score_list_append(&left->negatives, right->negatives.scores, right->negatives.count, context);
	}
	PG_RETURN_POINTER(left);
}

PG_FUNCTION_INFO_V1(crm_auc_serialize);
/* Serializes an auc state: version, both counts, then the positive and the negative scores. */
Datum
crm_auc_serialize(PG_FUNCTION_ARGS)
{
	AucState   *state = (AucState *) PG_GETARG_POINTER(0);
	StringInfoData buffer;

	crm_aggregate_context(fcinfo, "auc_serialize");
	if ((double) (state->positives.count + state->negatives.count) * sizeof(double) >
		(double) (MaxAllocSize - VARHDRSZ - 64))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("auc partial state is too large to pass between parallel workers"),
				 errhint("Disable parallel aggregation (max_parallel_workers_per_gather = 0).")));
	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, AUC_STATE_VERSION);
	pq_sendint64(&buffer, state->positives.count);
	pq_sendint64(&buffer, state->negatives.count);
	for (int64 i = 0; i < state->positives.count; i++)
		pq_sendfloat8(&buffer, state->positives.scores[i]);
	for (int64 i = 0; i < state->negatives.count; i++)
		pq_sendfloat8(&buffer, state->negatives.scores[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

static void
read_scores(StringInfo buffer, ScoreList *list, int64 count, MemoryContext context)
{
	score_list_reserve(list, count, context);
	for (int64 i = 0; i < count; i++)
	{
		double		score = pq_getmsgfloat8(buffer);

		if (!isfinite(score))
			elog(ERROR, "auc state: non-finite score");
		list->scores[i] = score;
	}
	list->count = count;
}

PG_FUNCTION_INFO_V1(crm_auc_deserialize);
/* Restores an auc state serialized by auc_serialize, validating it. */
Datum
crm_auc_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "auc_deserialize");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	AucState   *state = MemoryContextAllocZero(context, sizeof(AucState));
	StringInfoData buffer;
	int64		positives;
	int64		negatives;

	buffer.data = VARDATA_ANY(bytes);
	buffer.len = VARSIZE_ANY_EXHDR(bytes);
	buffer.maxlen = buffer.len;
	buffer.cursor = 0;
	if (buffer.len < 20)
		elog(ERROR, "auc state: truncated header");
	if (pq_getmsgint(&buffer, 4) != AUC_STATE_VERSION)
		elog(ERROR, "auc state: unknown version");
	positives = pq_getmsgint64(&buffer);
	negatives = pq_getmsgint64(&buffer);
	if (positives < 0 || negatives < 0 ||
		(int64) (buffer.len - buffer.cursor) != (positives + negatives) * (int64) sizeof(double))
		elog(ERROR, "auc state: length does not match the counts");
	read_scores(&buffer, &state->positives, positives, context);
	read_scores(&buffer, &state->negatives, negatives, context);
	pq_getmsgend(&buffer);
	PG_RETURN_POINTER(state);
}

/*
 * Sorting the scores: a least-significant-digit radix sort on 11-bit digits of order-preserving
 * keys, 6 passes at most, in place but for one scratch array. A finite double's IEEE bits read as
 * an unsigned integer order like the number once the sign is handled: negative numbers have every
 * bit flipped, others the sign bit set. -0 is made 0 first, so equal scores have equal keys. The
 * key histograms of all digits come from one pass; a digit every key shares (the high ones, for
 * scores in a narrow range) moves nothing. Replaces qsort with a comparison function, which spent
 * most of crm.auc's time.
 */
#define AUC_RADIX_BITS 11
#define AUC_RADIX_DIGITS ((64 + AUC_RADIX_BITS - 1) / AUC_RADIX_BITS)
#define AUC_RADIX_SIZE (1 << AUC_RADIX_BITS)
#define AUC_RADIX_MASK (AUC_RADIX_SIZE - 1)
#define AUC_SIGN_BIT UINT64CONST(0x8000000000000000)

static void
sort_scores(double *scores, int64 count)
{
	uint64	   *keys = (uint64 *) scores;
	uint64	   *scratch,
			   *from,
			   *to;
	int64	   *histograms;

	if (count < 2)
		return;
	histograms = palloc0(sizeof(int64) * AUC_RADIX_DIGITS * AUC_RADIX_SIZE);
	for (int64 i = 0; i < count; i++)
	{
		double		score = scores[i] + 0.0;	/* -0 becomes 0 */
		uint64		bits;

		memcpy(&bits, &score, sizeof(bits));
		bits = (bits & AUC_SIGN_BIT) ? ~bits : (bits | AUC_SIGN_BIT);
		keys[i] = bits;
		for (int digit = 0; digit < AUC_RADIX_DIGITS; digit++)
			histograms[digit * AUC_RADIX_SIZE + ((bits >> (digit * AUC_RADIX_BITS)) & AUC_RADIX_MASK)]++;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	scratch = palloc_extended(sizeof(uint64) * count, MCXT_ALLOC_HUGE);
	from = keys;
	to = scratch;
	for (int digit = 0; digit < AUC_RADIX_DIGITS; digit++)
	{
		int64	   *offsets = histograms + digit * AUC_RADIX_SIZE;
		int			shift = digit * AUC_RADIX_BITS;
		int64		position = 0;
		uint64	   *swap;

		CHECK_FOR_INTERRUPTS();
		if (offsets[(from[0] >> shift) & AUC_RADIX_MASK] == count)
			continue;
		for (int bucket = 0; bucket < AUC_RADIX_SIZE; bucket++)
		{
			int64		size = offsets[bucket];

			offsets[bucket] = position;
			position += size;
		}
		for (int64 i = 0; i < count; i++)
		{
			uint64		key = from[i];

			to[offsets[(key >> shift) & AUC_RADIX_MASK]++] = key;
		}
		swap = from;
		from = to;
		to = swap;
	}
	/* back to doubles, into the caller's array */
	for (int64 i = 0; i < count; i++)
	{
		uint64		bits = from[i];
		double		score;

		bits = (bits & AUC_SIGN_BIT) ? (bits & ~AUC_SIGN_BIT) : ~bits;
		memcpy(&score, &bits, sizeof(score));
		scores[i] = score;
	}
	pfree(scratch);
	pfree(histograms);
}

PG_FUNCTION_INFO_V1(crm_auc_final);
/* ROC AUC with ties counted half; NULL unless both labels occur. */
Datum
crm_auc_final(PG_FUNCTION_ARGS)
{
	AucState   *state;
	const double *negative;
	int64		negatives;
	int64		below = 0;		/* negatives scoring strictly less than the current positive */
	int64		equal;
	double		wins = 0;		/* pairs won, ties counted half, times two */
	int64		i = 0;

	crm_aggregate_context(fcinfo, "auc_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (AucState *) PG_GETARG_POINTER(0);
	negatives = state->negatives.count;
	if (state->positives.count == 0 || negatives == 0)
		PG_RETURN_NULL();
	sort_scores(state->positives.scores, state->positives.count);
	sort_scores(state->negatives.scores, negatives);
	negative = state->negatives.scores;

	while (i < state->positives.count)
	{
		double		score = state->positives.scores[i];
		int64		run = 0;

		CHECK_FOR_INTERRUPTS();
		while (below < negatives && negative[below] < score)
			below++;
		equal = 0;
		while (below + equal < negatives && negative[below + equal] == score)
			equal++;
		while (i < state->positives.count && state->positives.scores[i] == score)
		{
			run++;
			i++;
		}
		wins += (double) run * (2.0 * below + equal);
	}
	PG_RETURN_FLOAT8(wins / 2.0 / ((double) state->positives.count * (double) negatives));
}
