/*
 * survival.c: Kaplan–Meier survival curves.
 *
 * crm.km_fit(duration, observed) collects (duration, observed) pairs, in parallel if need be,
 * and builds a crm.survival_curve: for every distinct time, how many were at risk just before
 * it, how many events (observed ends) and censorings (still alive when last seen) happened then.
 * Those counts are the whole curve: the survival estimate, Greenwood's variance and the
 * confidence bounds are computed from them on demand, so the text and binary forms (which carry
 * only counts and times) round-trip exactly and can be checked for consistency on input.
 *
 * Ties follow the standard convention: at one time, events count before censorings, so whoever
 * is censored at t is still at risk at t.
 */
#include "crm.h"

#include <float.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#if PG_VERSION_NUM < 150000
#include "miscadmin.h"
#include "utils/tuplestore.h"

/* PostgreSQL 13 and 14 lack InitMaterializedSRF: set up the same materialised result. */
static void
InitMaterializedSRF(FunctionCallInfo fcinfo, bits32 flags)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old_context;
	TupleDesc	descriptor;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	old_context = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(descriptor);
	MemoryContextSwitchTo(old_context);
}
#endif

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

typedef struct Observation
{
	double		time;
	bool		event;
} Observation;

/* The aggregate's state: the observations so far, in the aggregate's memory context. */
typedef struct KmState
{
	int64		count;
	int64		capacity;
	Observation *observations;
} KmState;

/* Serialised state: the count, then (time, event) pairs of 9 bytes. */
#define KM_SERIAL_PAIR_SIZE (sizeof(double) + 1)

static KmState *
km_state_new(MemoryContext context, int64 capacity)
{
	KmState    *state = MemoryContextAlloc(context, sizeof(KmState));

	state->count = 0;
	state->capacity = Max(capacity, 64);
	state->observations = MemoryContextAllocHuge(context, sizeof(Observation) * state->capacity);
	return state;
}

static void
km_state_reserve(KmState *state, int64 needed)
{
	if (needed <= state->capacity)
		return;
	while (state->capacity < needed)
		state->capacity *= 2;
	state->observations = repalloc_huge(state->observations, sizeof(Observation) * state->capacity);
}

PG_FUNCTION_INFO_V1(crm_km_trans);
/* km_fit transition: adds one (duration, observed) pair; NULLs are skipped. */
Datum
crm_km_trans(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_km_trans");
	KmState    *state = PG_ARGISNULL(0) ? NULL : (KmState *) PG_GETARG_POINTER(0);
	double		duration;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	duration = PG_GETARG_FLOAT8(1);
	if (isnan(duration) || isinf(duration) || duration < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("duration must be a finite, non-negative number"),
				 errdetail("The duration given was %g.", duration)));
	if (state == NULL)
		state = km_state_new(context, 64);
	km_state_reserve(state, state->count + 1);
	state->observations[state->count].time = duration;
	state->observations[state->count].event = PG_GETARG_BOOL(2);
	state->count++;
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_km_combine);
/* km_fit combine: appends one partial state's observations to the other's. */
Datum
crm_km_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_km_combine");
	KmState    *left = PG_ARGISNULL(0) ? NULL : (KmState *) PG_GETARG_POINTER(0);
	KmState    *right = PG_ARGISNULL(1) ? NULL : (KmState *) PG_GETARG_POINTER(1);

	if (right == NULL)
	{
		if (left == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(left);
	}
	if (left == NULL)
		left = km_state_new(context, right->count);
	km_state_reserve(left, left->count + right->count);
	memcpy(left->observations + left->count, right->observations, sizeof(Observation) * right->count);
	left->count += right->count;
	PG_RETURN_POINTER(left);
}

PG_FUNCTION_INFO_V1(crm_km_serialize);
/* km_fit serialize: the count, then each observation's time and event flag. */
Datum
crm_km_serialize(PG_FUNCTION_ARGS)
{
	KmState    *state = (KmState *) PG_GETARG_POINTER(0);
	StringInfoData buffer;

	crm_aggregate_context(fcinfo, "crm_km_serialize");
	pq_begintypsend(&buffer);
	pq_sendint64(&buffer, state->count);
	for (int64 i = 0; i < state->count; i++)
	{
		pq_sendfloat8(&buffer, state->observations[i].time);
		pq_sendbyte(&buffer, state->observations[i].event ? 1 : 0);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_km_deserialize);
/* km_fit deserialize: the inverse of crm_km_serialize, checking every length. */
Datum
crm_km_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_km_deserialize");
	bytea	   *serial = PG_GETARG_BYTEA_PP(0);
	StringInfoData buffer;
	KmState    *state;
	int64		count;

	buffer.data = VARDATA_ANY(serial);
	buffer.len = VARSIZE_ANY_EXHDR(serial);
	buffer.maxlen = buffer.len;
	buffer.cursor = 0;
	if (buffer.len < (int) sizeof(int64))
		elog(ERROR, "crm_km_deserialize: state of %d bytes is too short", buffer.len);
	count = pq_getmsgint64(&buffer);
	if (count < 0 || (uint64) count * KM_SERIAL_PAIR_SIZE != (uint64) (buffer.len - buffer.cursor))
		elog(ERROR, "crm_km_deserialize: state of %d bytes does not hold %lld observations",
			 buffer.len, (long long) count);
	state = km_state_new(context, count);
	for (int64 i = 0; i < count; i++)
	{
		state->observations[i].time = pq_getmsgfloat8(&buffer);
		state->observations[i].event = pq_getmsgbyte(&buffer) != 0;
	}
	state->count = count;
	PG_RETURN_POINTER(state);
}

static int
observation_compare(const void *a, const void *b)
{
	const Observation *x = a;
	const Observation *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (int) y->event - (int) x->event;
}

PG_FUNCTION_INFO_V1(crm_km_final);
/* km_fit final: sorts the observations and counts, per distinct time, risk set, events and censorings. */
Datum
crm_km_final(PG_FUNCTION_ARGS)
{
	KmState    *state;
	SurvivalCurve *curve;
	int64		remaining;
	int			rows = 0;

	crm_aggregate_context(fcinfo, "crm_km_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (KmState *) PG_GETARG_POINTER(0);
	if (state->count == 0)
		PG_RETURN_NULL();

	/* Sorting in place is safe: the final function runs once, after the last transition. */
	qsort(state->observations, state->count, sizeof(Observation), observation_compare);
	for (int64 i = 0; i < state->count; i++)
		if (i == 0 || state->observations[i].time != state->observations[i - 1].time)
			rows++;
	if (rows > SURVIVAL_CURVE_MAX_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("survival curve would have too many distinct times"),
				 errdetail("It would have %d; a curve holds at most %d.", rows, SURVIVAL_CURVE_MAX_ROWS)));

	curve = palloc0(SURVIVAL_CURVE_SIZE(rows));
	SET_VARSIZE(curve, SURVIVAL_CURVE_SIZE(rows));
	curve->version = SURVIVAL_CURVE_VERSION;
	curve->row_count = rows;
	remaining = state->count;
	rows = -1;
	for (int64 i = 0; i < state->count; i++)
	{
		const Observation *o = &state->observations[i];

		if (i == 0 || o->time != state->observations[i - 1].time)
		{
			rows++;
			curve->rows[rows].time = o->time;
			curve->rows[rows].at_risk = remaining;
		}
		if (o->event)
			curve->rows[rows].events++;
		else
			curve->rows[rows].censored++;
		remaining--;
	}
	PG_RETURN_POINTER(curve);
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
	char	   *end;
	double		value;

	skip_spaces(cursor);
	errno = 0;
	value = strtod(*cursor, &end);
	if (end == *cursor || errno == ERANGE || isnan(value) || isinf(value))
		text_form_error(input, psprintf("Expected a finite time at character %d.", (int) (*cursor - input) + 1));
	*cursor = end;
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
		survival_step(&curve->rows[i], &survival, &greenwood);
	PG_RETURN_FLOAT8(survival);
}

PG_FUNCTION_INFO_V1(crm_km_median);
/* The median survival time: the first time S(t) <= 0.5; NULL when the curve stays above. */
Datum
crm_km_median(PG_FUNCTION_ARGS)
{
	SurvivalCurve *curve = PG_GETARG_SURVIVAL_CURVE_P(0);
	double		survival = 1.0;
	double		greenwood = 0.0;

	survival_curve_check(curve);
	for (int i = 0; i < curve->row_count; i++)
	{
		survival_step(&curve->rows[i], &survival, &greenwood);
		/* Products of (1 - d/n) carry rounding error: S = 0.5 exactly must count as reached. */
		if (survival <= 0.5 + 8 * DBL_EPSILON)
			PG_RETURN_FLOAT8(curve->rows[i].time);
	}
	PG_RETURN_NULL();
}
