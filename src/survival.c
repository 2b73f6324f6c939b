/*
 * survival.c: Kaplan–Meier survival curves.
 *
 * crm.km_fit(duration, observed) counts, per distinct duration, the events and censorings (state
 * crm.km_state, mergeable: in parallel or per Citus shard if need be) and builds a
 * crm.survival_curve: for every distinct time, how many were at risk just before it, how many
 * events (observed ends) and censorings (still alive when last seen) happened then.
 * Those counts are the whole curve: the survival estimate, Greenwood's variance and the
 * confidence bounds are computed from them on demand, so the text and binary forms (which carry
 * only counts and times) round-trip exactly and can be checked for consistency on input.
 *
 * Ties follow the standard convention: at one time, events count before censorings, so whoever
 * is censored at t is still at risk at t.
 */
#include "value_counts.h"

#include <float.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#define SURVIVAL_CURVE_VERSION 1

typedef struct SurvivalRow
{
	double		time;
	int64		at_risk;
	int64		events;
	int64		censored;
} SurvivalRow;

/* The on-disk type: a version word, the row count, then the rows in increasing time. */
typedef struct SurvivalCurve
{
	int32		vl_len_;
	uint32		version;
	int32		row_count;
	int32		reserved;
	SurvivalRow rows[FLEXIBLE_ARRAY_MEMBER];
} SurvivalCurve;

#define SURVIVAL_CURVE_SIZE(n) (offsetof(SurvivalCurve, rows) + sizeof(SurvivalRow) * (n))
#define SURVIVAL_CURVE_MAX_ROWS ((int) ((MaxAllocSize - offsetof(SurvivalCurve, rows)) / sizeof(SurvivalRow)))
#define DatumGetSurvivalCurveP(d) ((SurvivalCurve *) PG_DETOAST_DATUM(d))
#define PG_GETARG_SURVIVAL_CURVE_P(n) DatumGetSurvivalCurveP(PG_GETARG_DATUM(n))

/*
 * The aggregate's state, of type crm.km_state: per distinct time, the events and the censorings
 * (value_counts.c). Mergeable and O(distinct times), so parallel workers and Citus shards each
 * count their rows and ship only the counts; during aggregation the times are appended to two
 * arrays (no allocation per row) and sorted and merged only when the state is read.
 */
static void
km_check_duration(double duration)
{
	if (isnan(duration) || isinf(duration) || duration < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("duration must be a finite, non-negative number"),
				 errdetail("The duration given was %g.", duration)));
}

static const ValueCountsKind km_kind = {
	.type_name = "crm.km_state",
	.value_name = "time",
	.first_name = "events",
	.second_name = "censored",
	.non_negative = true,
	.check_value = km_check_duration,
};

PG_FUNCTION_INFO_V1(crm_km_trans);
/* km_fit transition: adds one (duration, observed) pair; NULLs are skipped. */
Datum
crm_km_trans(PG_FUNCTION_ARGS)
{
	return value_counts_transition(&km_kind, fcinfo);
}

PG_FUNCTION_INFO_V1(crm_km_combine);
/* km_fit combine: merges two partial states' counts. */
Datum
crm_km_combine(PG_FUNCTION_ARGS)
{
	return value_counts_combine(&km_kind, fcinfo);
}

PG_FUNCTION_INFO_V1(crm_km_serialize);
/* 0.1's serialize function (state internal): the state's binary form. */
Datum
crm_km_serialize(PG_FUNCTION_ARGS)
{
	return value_counts_serialize(&km_kind, fcinfo);
}

PG_FUNCTION_INFO_V1(crm_km_deserialize);
/* 0.1's deserialize function (state internal): the state from its binary form, checked. */
Datum
crm_km_deserialize(PG_FUNCTION_ARGS)
{
	return value_counts_deserialize(&km_kind, fcinfo);
}

PG_FUNCTION_INFO_V1(crm_km_final);
/* km_fit final: per distinct time, the risk set, events and censorings; NULL for no rows. */
Datum
crm_km_final(PG_FUNCTION_ARGS)
{
	ValueCountsCursor start,
				cursor;
	ValueCount	count;
	SurvivalCurve *curve;
	int64		rows = 0,
				remaining = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value_counts_cursor_from_datum(&km_kind, PG_GETARG_DATUM(0), &start);

	/* First pass: the distinct times and the subjects. */
	cursor = start;
	while (value_counts_next(&cursor, &count))
	{
		rows++;
		remaining = value_counts_add(remaining, value_counts_add(count.first, count.second));
	}
	if (rows == 0)
		PG_RETURN_NULL();
	if (rows > SURVIVAL_CURVE_MAX_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("survival curve would have too many distinct times"),
				 errdetail("It would have %lld; a curve holds at most %d.", (long long) rows, SURVIVAL_CURVE_MAX_ROWS)));

	curve = palloc0(SURVIVAL_CURVE_SIZE(rows));
	SET_VARSIZE(curve, SURVIVAL_CURVE_SIZE(rows));
	curve->version = SURVIVAL_CURVE_VERSION;
	curve->row_count = (int32) rows;
	cursor = start;
	for (int64 row = 0; row < rows && value_counts_next(&cursor, &count); row++)
	{
		SurvivalRow *out = &curve->rows[row];

		out->time = count.value;
		out->at_risk = remaining;
		out->events = count.first;
		out->censored = count.second;
		remaining -= count.first + count.second;
	}
	PG_RETURN_POINTER(curve);
}

PG_FUNCTION_INFO_V1(crm_km_state_in);
/* Text input of crm.km_state: 1;count;time,events,censored;... (times increasing, >= 0). */
Datum
crm_km_state_in(PG_FUNCTION_ARGS)
{
	return value_counts_in(&km_kind, PG_GETARG_CSTRING(0));
}

PG_FUNCTION_INFO_V1(crm_km_state_out);
/* Text output of crm.km_state, which the input reads back exactly. */
Datum
crm_km_state_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(value_counts_out(&km_kind, PG_GETARG_DATUM(0)));
}

PG_FUNCTION_INFO_V1(crm_km_state_recv);
/* Binary input: int32 version (1), int64 count, then (float8 time, int64 events, int64 censored). */
Datum
crm_km_state_recv(PG_FUNCTION_ARGS)
{
	return value_counts_recv(&km_kind, (StringInfo) PG_GETARG_POINTER(0));
}

PG_FUNCTION_INFO_V1(crm_km_state_send);
/* Binary output, the form crm_km_state_recv reads: 12 + 24 bytes per distinct time. */
Datum
crm_km_state_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(value_counts_send(&km_kind, PG_GETARG_DATUM(0)));
}

/*
 * Checks that rows describe a real Kaplan–Meier table: times finite, non-negative and strictly
 * increasing; every row has an event or a censoring; each risk set is the previous one less its
 * events and censorings; the last row empties the risk set.
 */
static void
survival_rows_validate(const SurvivalRow *rows, int count, int error_code)
{
	if (count < 1)
		ereport(ERROR,
				(errcode(error_code),
				 errmsg("invalid survival curve"),
				 errdetail("A survival curve has at least one row.")));
	for (int i = 0; i < count; i++)
	{
		const SurvivalRow *row = &rows[i];
		const char *problem = NULL;

		if (isnan(row->time) || isinf(row->time) || row->time < 0)
			problem = "its time is not a finite, non-negative number";
		else if (i > 0 && row->time <= rows[i - 1].time)
			problem = "its time is not after the previous row's";
		else if (row->events < 0 || row->censored < 0 || row->events + row->censored < 1)
			problem = "it needs a non-negative number of events and censorings, at least one in all";
		else if (row->at_risk < row->events + row->censored)
			problem = "more subjects leave than are at risk";
		else if (i > 0 && row->at_risk != rows[i - 1].at_risk - rows[i - 1].events - rows[i - 1].censored)
			problem = "its number at risk is not the previous row's less those who left";
		else if (i == count - 1 && row->at_risk != row->events + row->censored)
			problem = "subjects are still at risk after the last row";
		if (problem != NULL)
			ereport(ERROR,
					(errcode(error_code),
					 errmsg("invalid survival curve"),
					 errdetail("Row %d is inconsistent: %s.", i + 1, problem)));
	}
}

static SurvivalCurve *
survival_curve_from_rows(const SurvivalRow *rows, int count)
{
	SurvivalCurve *curve = palloc0(SURVIVAL_CURVE_SIZE(count));

	SET_VARSIZE(curve, SURVIVAL_CURVE_SIZE(count));
	curve->version = SURVIVAL_CURVE_VERSION;
	curve->row_count = count;
	memcpy(curve->rows, rows, sizeof(SurvivalRow) * count);
	return curve;
}

/* A stored curve is trusted only once its header agrees with its length. */
static void
survival_curve_check(const SurvivalCurve *curve)
{
	if (curve->version != SURVIVAL_CURVE_VERSION || curve->row_count < 1 ||
		VARSIZE(curve) != SURVIVAL_CURVE_SIZE(curve->row_count))
		elog(ERROR, "corrupt survival curve (version %u, %d rows, %u bytes)",
			 curve->version, curve->row_count, (unsigned) VARSIZE(curve));
}

static void
text_form_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.survival_curve: \"%s\"", input),
			 errdetail("%s", detail)));
}

static void
skip_spaces(const char **cursor)
{
	while (**cursor == ' ' || **cursor == '\t' || **cursor == '\n' || **cursor == '\r')
		(*cursor)++;
}

static void
expect_char(const char *input, const char **cursor, char wanted)
{
	skip_spaces(cursor);
	if (**cursor != wanted)
		text_form_error(input, psprintf("Expected \"%c\" at character %d.", wanted, (int) (*cursor - input) + 1));
	(*cursor)++;
}

static int64
parse_count(const char *input, const char **cursor)
{
	char	   *end;
	long long	value;

	skip_spaces(cursor);
	if (!isdigit((unsigned char) **cursor))
		text_form_error(input, psprintf("Expected a non-negative whole number at character %d.",
										(int) (*cursor - input) + 1));
	errno = 0;
	value = strtoll(*cursor, &end, 10);
	if (errno == ERANGE)
		text_form_error(input, "A count is out of range.");
	*cursor = end;
	return (int64) value;
}

static double
parse_time(const char *input, const char **cursor)
{
	const char *start;
	double		value;

	skip_spaces(cursor);
	start = *cursor;
	if (!crm_parse_float8(start, cursor, &value, "crm.survival_curve", input) ||
		isnan(value) || isinf(value))
		text_form_error(input, psprintf("Expected a finite time at character %d.", (int) (start - input) + 1));
	return value;
}

PG_FUNCTION_INFO_V1(crm_survival_curve_in);
/* Text input: {(time,at_risk,events,censored),...}, checked for consistency. */
Datum
crm_survival_curve_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *cursor = input;
	int			capacity = 16;
	int			count = 0;
	SurvivalRow *rows = palloc(sizeof(SurvivalRow) * capacity);

	expect_char(input, &cursor, '{');
	do
	{
		if (count == capacity)
		{
			if (capacity >= SURVIVAL_CURVE_MAX_ROWS / 2)
				text_form_error(input, "Too many rows.");
			capacity *= 2;
			rows = repalloc(rows, sizeof(SurvivalRow) * capacity);
		}
		expect_char(input, &cursor, '(');
		rows[count].time = parse_time(input, &cursor);
		expect_char(input, &cursor, ',');
		rows[count].at_risk = parse_count(input, &cursor);
		expect_char(input, &cursor, ',');
		rows[count].events = parse_count(input, &cursor);
		expect_char(input, &cursor, ',');
		rows[count].censored = parse_count(input, &cursor);
		expect_char(input, &cursor, ')');
		count++;
		skip_spaces(&cursor);
	} while (*cursor == ',' && cursor++);
	expect_char(input, &cursor, '}');
	skip_spaces(&cursor);
	if (*cursor != '\0')
		text_form_error(input, psprintf("Unexpected text at character %d.", (int) (cursor - input) + 1));

	survival_rows_validate(rows, count, ERRCODE_INVALID_TEXT_REPRESENTATION);
	PG_RETURN_POINTER(survival_curve_from_rows(rows, count));
}

PG_FUNCTION_INFO_V1(crm_survival_curve_out);
/* Text output: {(time,at_risk,events,censored),...}, times with enough digits to round-trip. */
Datum
crm_survival_curve_out(PG_FUNCTION_ARGS)
{
	SurvivalCurve *curve = PG_GETARG_SURVIVAL_CURVE_P(0);
	StringInfoData text;

	survival_curve_check(curve);
	initStringInfo(&text);
	appendStringInfoChar(&text, '{');
	for (int i = 0; i < curve->row_count; i++)
	{
		const SurvivalRow *row = &curve->rows[i];

		appendStringInfo(&text, "%s(%.17g,%lld,%lld,%lld)", i > 0 ? "," : "", row->time,
						 (long long) row->at_risk, (long long) row->events, (long long) row->censored);
	}
	appendStringInfoChar(&text, '}');
	PG_RETURN_CSTRING(text.data);
}

PG_FUNCTION_INFO_V1(crm_survival_curve_recv);
/* Binary input: version word, row count, then (time, at_risk, events, censored) per row. */
Datum
crm_survival_curve_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	uint32		version;
	int32		count;
	SurvivalRow *rows;
	const int	row_size = sizeof(double) + 3 * sizeof(int64);

	if (buffer->len - buffer->cursor < 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary survival curve"),
				 errdetail("It is shorter than its header.")));
	version = pq_getmsgint(buffer, sizeof(uint32));
	if (version != SURVIVAL_CURVE_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary survival curve"),
				 errdetail("Unknown version word %u; this build reads version %d.", version, SURVIVAL_CURVE_VERSION)));
	count = (int32) pq_getmsgint(buffer, sizeof(int32));
	if (count < 1 || count > SURVIVAL_CURVE_MAX_ROWS ||
		(int64) count * row_size != (int64) (buffer->len - buffer->cursor))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary survival curve"),
				 errdetail("It announces %d rows but holds %d bytes of rows.", count, buffer->len - buffer->cursor)));
	rows = palloc(sizeof(SurvivalRow) * count);
	for (int i = 0; i < count; i++)
	{
		rows[i].time = pq_getmsgfloat8(buffer);
		/* -0 is 0: one time, one binary form, so equal curves compare equal */
		if (rows[i].time == 0)
			rows[i].time = 0.0;
		rows[i].at_risk = pq_getmsgint64(buffer);
		rows[i].events = pq_getmsgint64(buffer);
		rows[i].censored = pq_getmsgint64(buffer);
	}
	survival_rows_validate(rows, count, ERRCODE_INVALID_BINARY_REPRESENTATION);
	PG_RETURN_POINTER(survival_curve_from_rows(rows, count));
}

PG_FUNCTION_INFO_V1(crm_survival_curve_send);
/* Binary output, the form crm_survival_curve_recv reads. */
Datum
crm_survival_curve_send(PG_FUNCTION_ARGS)
{
	SurvivalCurve *curve = PG_GETARG_SURVIVAL_CURVE_P(0);
	StringInfoData buffer;

	survival_curve_check(curve);
	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, SURVIVAL_CURVE_VERSION);
	pq_sendint32(&buffer, curve->row_count);
	for (int i = 0; i < curve->row_count; i++)
	{
		pq_sendfloat8(&buffer, curve->rows[i].time);
		pq_sendint64(&buffer, curve->rows[i].at_risk);
		pq_sendint64(&buffer, curve->rows[i].events);
		pq_sendint64(&buffer, curve->rows[i].censored);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_survival_curve_eq);
/* Equality: the same rows. */
Datum
crm_survival_curve_eq(PG_FUNCTION_ARGS)
{
	SurvivalCurve *a = PG_GETARG_SURVIVAL_CURVE_P(0);
	SurvivalCurve *b = PG_GETARG_SURVIVAL_CURVE_P(1);

	PG_RETURN_BOOL(a->row_count == b->row_count &&
				   memcmp(a->rows, b->rows, sizeof(SurvivalRow) * a->row_count) == 0);
}

/* One step of the estimate: S and Greenwood's sum Σ d / (n (n − d)) after a row. */
static void
survival_step(const SurvivalRow *row, double *survival, double *greenwood)
{
	if (row->events == 0)
		return;
	*survival *= 1.0 - (double) row->events / (double) row->at_risk;
	if (row->at_risk > row->events)
		*greenwood += (double) row->events / ((double) row->at_risk * (double) (row->at_risk - row->events));
	else
		*greenwood = INFINITY;
}

PG_FUNCTION_INFO_V1(crm_km_table);
/* The Kaplan–Meier table: one row per distinct time with S(t), its standard error and a 95% CI. */
Datum
crm_km_table(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SurvivalCurve *curve = PG_GETARG_SURVIVAL_CURVE_P(0);
	double		z = crm_normal_quantile_two_sided(0.95);
	double		survival = 1.0;
	double		greenwood = 0.0;

	survival_curve_check(curve);
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < curve->row_count; i++)
	{
		const SurvivalRow *row = &curve->rows[i];
		Datum		values[8];
		bool		nulls[8] = {false};

		CHECK_FOR_INTERRUPTS();
		survival_step(row, &survival, &greenwood);
		values[0] = Float8GetDatum(row->time);
		values[1] = Int64GetDatum(row->at_risk);
		values[2] = Int64GetDatum(row->events);
		values[3] = Int64GetDatum(row->censored);
		values[4] = Float8GetDatum(survival);
		/* Greenwood's standard error, undefined once nobody is left (S = 0). */
		if (isinf(greenwood) || survival <= 0)
			nulls[5] = nulls[6] = nulls[7] = true;
		else
		{
			values[5] = Float8GetDatum(survival * sqrt(greenwood));
			/*
			 * The log-log interval: S^exp(±z·σ) with σ = sqrt(greenwood) / |log S|. It is undefined
			 * while S = 1 (no event yet), as in R's survival package.
			 */
			if (survival >= 1.0)
				nulls[6] = nulls[7] = true;
			else
			{
				double		sigma = sqrt(greenwood) / fabs(log(survival));

				values[6] = Float8GetDatum(pow(survival, exp(z * sigma)));
				values[7] = Float8GetDatum(pow(survival, exp(-z * sigma)));
			}
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(crm_km_survival_at);
/* S(t): the estimated probability of surviving past t (1 before the first event). */
Datum
crm_km_survival_at(PG_FUNCTION_ARGS)
{
	SurvivalCurve *curve = PG_GETARG_SURVIVAL_CURVE_P(0);
	double		t = PG_GETARG_FLOAT8(1);
	double		survival = 1.0;
	double		greenwood = 0.0;

	survival_curve_check(curve);
	if (isnan(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time must be a number")));
	for (int i = 0; i < curve->row_count && curve->rows[i].time <= t; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		survival_step(&curve->rows[i], &survival, &greenwood);
	}
	PG_RETURN_FLOAT8(survival);
}

/*
 * Where S(t) reaches 0.5 exactly (within R's tolerance, sqrt of the machine epsilon, since
 * products of (1 - d/n) carry rounding error) and stays there over an interval, the median is the
 * interval's midpoint, as in R's survival package (quantile.survfit): the time S drops to 0.5 and
 * the next time it drops further, or, when it never drops further, the last time of the curve.
 */
#define KM_QUANTILE_TOLERANCE 1.4901161193847656e-08

PG_FUNCTION_INFO_V1(crm_km_median);
/*
 * The median survival time: the first time S(t) < 0.5, or the midpoint of the interval where S(t)
 * is 0.5; NULL when the curve stays above.
 */
Datum
crm_km_median(PG_FUNCTION_ARGS)
{
	SurvivalCurve *curve = PG_GETARG_SURVIVAL_CURVE_P(0);
	double		survival = 1.0;
	double		greenwood = 0.0;

	survival_curve_check(curve);
	for (int i = 0; i < curve->row_count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		survival_step(&curve->rows[i], &survival, &greenwood);
		if (survival <= 0.5 - KM_QUANTILE_TOLERANCE)
			PG_RETURN_FLOAT8(curve->rows[i].time);
		if (survival <= 0.5 + KM_QUANTILE_TOLERANCE)
		{
			/* flat at 0.5 from here: up to the next event time, else to the curve's last time */
			double		start = curve->rows[i].time;

			for (int j = i + 1; j < curve->row_count; j++)
			{
				if ((j & 0xFFFF) == 0)
					CHECK_FOR_INTERRUPTS();
				if (curve->rows[j].events > 0)
					PG_RETURN_FLOAT8(start + (curve->rows[j].time - start) / 2);
			}
			PG_RETURN_FLOAT8(start + (curve->rows[curve->row_count - 1].time - start) / 2);
		}
	}
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(crm_km_quantile);
/*
 * The p-quantile of the survival time (0 < p < 1), by the rule km_median uses for p = 0.5 (R's
 * quantile.survfit): the first time S(t) < 1 - p; where S(t) = 1 - p over an interval (within
 * the tolerance), that interval's midpoint: the time S drops to 1 - p and the next event time,
 * else the curve's last time. NULL when the curve stays above 1 - p. p outside (0, 1) raises
 * 22023.
 */
Datum
crm_km_quantile(PG_FUNCTION_ARGS)
{
	SurvivalCurve *curve = PG_GETARG_SURVIVAL_CURVE_P(0);
	double		p = PG_GETARG_FLOAT8(1);
	double		target;
	double		survival = 1.0;
	double		greenwood = 0.0;

	if (isnan(p) || p <= 0.0 || p >= 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("km_quantile probability must be between 0 and 1, exclusive"),
				 errdetail("The probability given is %g.", p)));
	target = 1.0 - p;
	survival_curve_check(curve);
	for (int i = 0; i < curve->row_count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		survival_step(&curve->rows[i], &survival, &greenwood);
		if (survival <= target - KM_QUANTILE_TOLERANCE)
			PG_RETURN_FLOAT8(curve->rows[i].time);
		if (survival <= target + KM_QUANTILE_TOLERANCE)
		{
			double		start = curve->rows[i].time;

			for (int j = i + 1; j < curve->row_count; j++)
			{
				if ((j & 0xFFFF) == 0)
					CHECK_FOR_INTERRUPTS();
				if (curve->rows[j].events > 0)
					PG_RETURN_FLOAT8(start + (curve->rows[j].time - start) / 2);
			}
			PG_RETURN_FLOAT8(start + (curve->rows[curve->row_count - 1].time - start) / 2);
		}
	}
	PG_RETURN_NULL();
}
