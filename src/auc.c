/*
 * auc.c: the area under the ROC curve as an aggregate, auc(score, label).
 *
 * AUC is the Mann–Whitney statistic: the probability that a random positive scores higher than a
 * random negative, ties counting half. The state, of type crm.auc_state, is the list of distinct
 * scores with how many positives and negatives have each (value_counts.c): mergeable, so parallel
 * workers and Citus shards each count their rows and ship O(distinct scores) bytes. During
 * aggregation the scores are appended to two arrays (no allocation per row), radix-sorted and
 * merged only when the state is read; the final function walks the sorted distinct scores once.
 */
#include "value_counts.h"

#include "libpq/pqformat.h"

static void
auc_check_score(double score)
{
	crm_require_finite(score, "score");
}

static const ValueCountsKind auc_kind = {
	.type_name = "crm.auc_state",
	.value_name = "score",
	.first_name = "positives",
	.second_name = "negatives",
	.non_negative = false,
	.check_value = auc_check_score,
};

PG_FUNCTION_INFO_V1(crm_auc_transition);
/* Adds one (score, label) row to the auc state; rows with a NULL score or label are skipped. */
Datum
crm_auc_transition(PG_FUNCTION_ARGS)
{
	return value_counts_transition(&auc_kind, fcinfo);
}

PG_FUNCTION_INFO_V1(crm_auc_combine);
/* Merges two partial auc states. */
Datum
crm_auc_combine(PG_FUNCTION_ARGS)
{
	return value_counts_combine(&auc_kind, fcinfo);
}

PG_FUNCTION_INFO_V1(crm_auc_serialize);
/* 0.1's serialize function (state internal): the state's binary form. */
Datum
crm_auc_serialize(PG_FUNCTION_ARGS)
{
	return value_counts_serialize(&auc_kind, fcinfo);
}

PG_FUNCTION_INFO_V1(crm_auc_deserialize);
/* 0.1's deserialize function (state internal): the state from its binary form, checked. */
Datum
crm_auc_deserialize(PG_FUNCTION_ARGS)
{
	return value_counts_deserialize(&auc_kind, fcinfo);
}

PG_FUNCTION_INFO_V1(crm_auc_final);
/*
 * ROC AUC with ties counted half; NULL unless both labels occur. Walking the distinct scores up:
 * the positives at a score win against the negatives below it and tie with those at it.
 */
Datum
crm_auc_final(PG_FUNCTION_ARGS)
{
	ValueCountsCursor cursor;
	ValueCount	row;
	int64		positives = 0;
	int64		below = 0;		/* negatives scoring strictly less than the current score */
	double		wins = 0;		/* pairs won, ties counted half, times two */

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value_counts_cursor_from_datum(&auc_kind, PG_GETARG_DATUM(0), &cursor);
	while (value_counts_next(&cursor, &row))
	{
		if (row.first > 0)
		{
			wins += (double) row.first * (2.0 * below + row.second);
			positives = value_counts_add(positives, row.first);
		}
		below = value_counts_add(below, row.second);
	}
	if (positives == 0 || below == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(wins / 2.0 / ((double) positives * (double) below));
}

PG_FUNCTION_INFO_V1(crm_auc_state_in);
/* Text input of crm.auc_state: 1;count;score,positives,negatives;... (scores increasing). */
Datum
crm_auc_state_in(PG_FUNCTION_ARGS)
{
	return value_counts_in(&auc_kind, PG_GETARG_CSTRING(0));
}

PG_FUNCTION_INFO_V1(crm_auc_state_out);
/* Text output of crm.auc_state, which the input reads back exactly. */
Datum
crm_auc_state_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(value_counts_out(&auc_kind, PG_GETARG_DATUM(0)));
}

PG_FUNCTION_INFO_V1(crm_auc_state_recv);
/* Binary input: int32 version (1), int64 count, then (float8 score, int64 positives, int64 negatives). */
Datum
crm_auc_state_recv(PG_FUNCTION_ARGS)
{
	return value_counts_recv(&auc_kind, (StringInfo) PG_GETARG_POINTER(0));
}

PG_FUNCTION_INFO_V1(crm_auc_state_send);
/* Binary output, the form crm_auc_state_recv reads: 12 + 24 bytes per distinct score. */
Datum
crm_auc_state_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(value_counts_send(&auc_kind, PG_GETARG_DATUM(0)));
}
