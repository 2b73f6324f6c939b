/*
 * attribution.c: multi-touch attribution of a conversion's value over its touch path.
 *
 * crm.attribute splits one conversion's value over the touches of its path by a heuristic model
 * (first touch, last touch, linear, time decay, position-based, W-shaped). Credits are numeric at
 * the value's scale and sum to the value exactly: the value is taken as an integer count of its
 * smallest unit (100.01 is 10001 hundredths), each touch gets the floor of its exact share of
 * units, and the units left over go one each to the touches with the largest remainders (ties:
 * the earlier position), the largest-remainder method.
 *
 * crm.markov_attribution is an aggregate over journeys (path, converted[, value]) whose state,
 * crm.markov_model, holds the first-order transition counts between the states (start), the
 * channels, (conversion) and (null). The model's conversion probability and each channel's
 * removal effect come from the absorbing chain exactly: with Q the channel-to-channel transition
 * probabilities, R the channel-to-conversion ones and s the start distribution, the probabilities
 * of converting from each channel solve (I - Q) x = R (Gaussian elimination with partial
 * pivoting), P = s.x. Removing channel c (every transition into c goes to (null) instead) gives
 * P_c = P - h_c x_c, where h_c, the probability of ever reaching c, is z_c / u_c with
 * z = (I - Q)^-T s (expected visits to c) and u_c = ((I - Q)^-1)_cc (visits to c from c): one
 * factorisation and one solve per channel, O(C^3) in all.
 */
#include "crm.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/tuplestore.h"

/* ============================================================================================
 * Splitting an integer number of units by weights, exactly (largest remainder)
 * ============================================================================================ */

typedef struct Share
{
	int			index;
	long double key;			/* the fractional part of the exact quota (or its numerator) */
} Share;

static int
share_by_key_desc(const void *a, const void *b)
{
	const Share *x = a;
	const Share *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->index - y->index;
}

/*
 * Sets out[i] (i < n) to integers summing to units, each the floor of units * w_i / W or one
 * more. Integer weights (iweights, not NULL) are exact: quotas and remainders in 128-bit
 * integers. Otherwise dweights (finite, >= 0, W > 0) in long double; the floors are then nudged
 * so their sum is exactly units. Ties in the remainder go to the lower index.
 */
static void
split_units(int64 units, int n, const int64 *iweights, const double *dweights, int64 *out)
{
	bool		negative = units < 0;
	uint64		total = negative ? (uint64) 0 - (uint64) units : (uint64) units;
	Share	   *shares = palloc(sizeof(Share) * n);
	int128		assigned = 0;
	int128		left;

	if (iweights != NULL)
	{
		int128		weight_sum = 0;

		for (int i = 0; i < n; i++)
			weight_sum += iweights[i];
		for (int i = 0; i < n; i++)
		{
			int128		numerator = (int128) total * iweights[i];

			out[i] = (int64) (numerator / weight_sum);
			shares[i].index = i;
			shares[i].key = (long double) (numerator % weight_sum);
			assigned += out[i];
		}
	}
	else
	{
		long double weight_sum = 0;

		for (int i = 0; i < n; i++)
			weight_sum += dweights[i];
		for (int i = 0; i < n; i++)
		{
			long double quota = (long double) total * (dweights[i] / weight_sum);
			long double whole = floorl(quota);

			if (whole < 0)
				whole = 0;
			if (whole > (long double) total)
				whole = (long double) total;
			out[i] = (int64) whole;
			shares[i].index = i;
			shares[i].key = quota - whole;
			assigned += out[i];
		}
	}
	qsort(shares, n, sizeof(Share), share_by_key_desc);
	left = (int128) total - assigned;
	/* one unit each to the largest remainders; rounding in long double may need more rounds */
	while (left > 0)
		for (int i = 0; i < n && left > 0; i++, left--)
			out[shares[i].index]++;
	while (left < 0)
		for (int i = n - 1; i >= 0 && left < 0; i--)
			if (out[shares[i].index] > 0)
			{
				out[shares[i].index]--;
				left++;
			}
	if (negative)
		for (int i = 0; i < n; i++)
			out[i] = -out[i];
	pfree(shares);
}

/*
 * A numeric value as an integer number of its smallest unit and its scale (100.01: 10001, 2).
 * NaN and infinity raise 22023; more than 18 significant digits raise 54000.
 */
static bool
numeric_negative(Numeric value)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(value),
											 NumericGetDatum(int64_to_numeric(0)))) < 0;
}

static bool
numeric_zero(Numeric value)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(value),
											 NumericGetDatum(int64_to_numeric(0)))) == 0;
}

static int64
numeric_units(Numeric value, int *scale, const char *what)
{
	char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(value)));
	char		digits[64];
	int			length = 0;
	const char *dot;
	int64		units;

	if (numeric_is_nan(value) || numeric_is_inf(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", what)));
	dot = strchr(text, '.');
	*scale = dot ? (int) strlen(dot + 1) : 0;
	for (const char *p = text; *p; p++)
	{
		if (*p == '.')
			continue;
		if (length >= (int) sizeof(digits) - 1)
			break;
		digits[length++] = *p;
	}
	digits[length] = '\0';
	/* strip leading zeros so the digit count is the significant digits */
	{
		const char *p = digits;
		int			significant;

		if (*p == '-')
			p++;
		while (*p == '0' && p[1] != '\0')
			p++;
		significant = (int) strlen(p);
		if (significant > 18 || length >= (int) sizeof(digits) - 1)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s has too many digits to attribute: %s", what, text),
					 errdetail("Attribution works in units of the value's last decimal place and allows at most 18 significant digits.")));
	}
	units = strtoi64(digits, NULL, 10);
	pfree(text);
	return units;
}

/* units / 10^scale as numeric, at that scale. */
static Datum
units_numeric(int64 units, int scale)
{
	return NumericGetDatum(int64_div_fast_to_numeric(units, scale));
}

/* ============================================================================================
 * crm.attribute: heuristic models over one path
 * ============================================================================================ */

typedef enum AttributionModel
{
	MODEL_FIRST_TOUCH,
	MODEL_LAST_TOUCH,
	MODEL_LINEAR,
	MODEL_TIME_DECAY,
	MODEL_POSITION_BASED,
	MODEL_W_SHAPED
} AttributionModel;

typedef struct Touch
{
	int			index;			/* 0-based position in the arrays */
	TimestampTz at;
} Touch;

static int
touch_by_time(const void *a, const void *b)
{
	const Touch *x = a;
	const Touch *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->index - y->index;
}

/* An interval in microseconds (a month counts 30 days); raises 22008 on overflow. */
static int64
interval_usecs(const Interval *span, const char *what)
{
	int64		days_usecs;
	int64		result;

	if (pg_mul_s64_overflow((int64) span->month * DAYS_PER_MONTH + span->day, USECS_PER_DAY, &days_usecs) ||
		pg_add_s64_overflow(days_usecs, span->time, &result))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what)));
	return result;
}

static void
require_vector(ArrayType *array, const char *what)
{
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", what)));
}

/*
 * InitMaterializedSRF for crm.attribute, which is called once per conversion: the result's tuple
 * descriptor is built from the catalog once per call site and kept in fn_extra (looking it up
 * on every call was a third of the function's time), and each call gets a copy (the executor
 * frees the setDesc it is handed) and a new tuplestore.
 */
static void
attribute_materialize(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	cached = (TupleDesc) fcinfo->flinfo->fn_extra;
	MemoryContext old;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || rsinfo->econtext == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed in this context")));
	if (cached == NULL)
	{
		TupleDesc	desc;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cached = CreateTupleDescCopy(desc);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cached;
	}
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
											  false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(cached);
	MemoryContextSwitchTo(old);
}

/*
 * What crm.attribute needs besides the touches: the model and its options, and the value as
 * units of its last decimal place. Both forms (arrays, crm.touch_path) parse them alike.
 */
typedef struct AttributeOptions
{
	AttributionModel model;
	bool		have_end;
	TimestampTz end;
	bool		have_lookback;
	int64		lookback;
	int64		half_life;
	int64		units;
	int			scale;
} AttributeOptions;

/*
 * Parses value, model, converted_at, lookback and half_life from the arguments value_arg to
 * value_arg + 4 (the value and the model are not NULL here).
 */
static void
attribute_options(FunctionCallInfo fcinfo, int value_arg, AttributeOptions *o)
{
	char	   *model_name = text_to_cstring(PG_GETARG_TEXT_PP(value_arg + 1));

	memset(o, 0, sizeof(*o));
	if (strcmp(model_name, "first_touch") == 0)
		o->model = MODEL_FIRST_TOUCH;
	else if (strcmp(model_name, "last_touch") == 0)
		o->model = MODEL_LAST_TOUCH;
	else if (strcmp(model_name, "linear") == 0)
		o->model = MODEL_LINEAR;
	else if (strcmp(model_name, "time_decay") == 0)
		o->model = MODEL_TIME_DECAY;
	else if (strcmp(model_name, "position_based") == 0)
		o->model = MODEL_POSITION_BASED;
	else if (strcmp(model_name, "w_shaped") == 0)
		o->model = MODEL_W_SHAPED;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown attribution model \"%s\"", model_name),
				 errhint("The models are first_touch, last_touch, linear, time_decay, position_based and w_shaped.")));

	o->units = numeric_units(PG_GETARG_NUMERIC(value_arg), &o->scale, "value");
	if (PG_NARGS() <= value_arg + 4)
	{
		/* a form without the options (the short aggregate): no window, the default half-life */
		o->half_life = (int64) 7 * USECS_PER_DAY;
		return;
	}
	if (!PG_ARGISNULL(value_arg + 2))
	{
		o->end = PG_GETARG_TIMESTAMPTZ(value_arg + 2);
		if (TIMESTAMP_NOT_FINITE(o->end))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("converted_at must be a finite timestamp")));
		o->have_end = true;
	}
	if (!PG_ARGISNULL(value_arg + 3))
	{
		o->lookback = interval_usecs(PG_GETARG_INTERVAL_P(value_arg + 3), "lookback");
		if (o->lookback < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lookback must not be negative")));
		o->have_lookback = true;
	}
	if (o->model == MODEL_TIME_DECAY)
	{
		if (PG_ARGISNULL(value_arg + 4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the time_decay model needs a half_life")));
		o->half_life = interval_usecs(PG_GETARG_INTERVAL_P(value_arg + 4), "half_life");
		if (o->half_life <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("half_life must be positive")));
	}
}

/*
 * Splits the value over n touches (times NULL: no times, every touch in the window, in array
 * order): returns each touch's credit in units of the value's last decimal place (0 outside the
 * window). milestone[] holds the 0-based positions of the W-shaped model's lead-creation and
 * opportunity touches.
 */
static int64 *
attribute_units(const AttributeOptions *o, int n, const TimestampTz *times, const int *milestone)
{
	TimestampTz end = o->end;
	Touch	   *eligible;
	int			m = 0;
	int64	   *credit_units;
	int64	   *eligible_units;
	int64	   *iweights = NULL;
	double	   *dweights = NULL;

	if (n == 0)
		return NULL;

	/* the touches in the window, in time order (ties: array order) */
	if (times != NULL && !o->have_end)
	{
		end = times[0];
		for (int i = 1; i < n; i++)
			end = Max(end, times[i]);
	}
	eligible = palloc(sizeof(Touch) * n);
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (times != NULL)
		{
			if (times[i] > end)
				continue;
			if (o->have_lookback && (int128) end - (int128) times[i] > (int128) o->lookback)
				continue;
		}
		eligible[m].index = i;
		eligible[m].at = times != NULL ? times[i] : 0;
		m++;
	}
	if (times != NULL)
		qsort(eligible, m, sizeof(Touch), touch_by_time);

	credit_units = palloc0(sizeof(int64) * n);
	eligible_units = palloc0(sizeof(int64) * Max(m, 1));
	if (m > 0)
	{
		iweights = palloc0(sizeof(int64) * m);
		switch (o->model)
		{
			case MODEL_FIRST_TOUCH:
				iweights[0] = 1;
				break;
			case MODEL_LAST_TOUCH:
				iweights[m - 1] = 1;
				break;
			case MODEL_LINEAR:
				for (int k = 0; k < m; k++)
					iweights[k] = 1;
				break;
			case MODEL_POSITION_BASED:
				if (m <= 2)
					for (int k = 0; k < m; k++)
						iweights[k] = 1;
				else
				{
					/* 40% first, 40% last, 20% spread: in units of 1 / (100 (m - 2)) */
					for (int k = 1; k < m - 1; k++)
						iweights[k] = 20;
					iweights[0] = iweights[m - 1] = 40 * (int64) (m - 2);
				}
				break;
			case MODEL_W_SHAPED:
				{
					int			role[3] = {0, -1, -1};	/* eligible indexes of the three roles */
					int			others = 0;

					for (int k = 0; k < m; k++)
						for (int r = 0; r < 2; r++)
							if (eligible[k].index == milestone[r])
								role[r + 1] = k;
					for (int r = 1; r < 3; r++)
						if (role[r] < 0)
							ereport(ERROR,
									(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
									 errmsg("milestone position %d is outside the lookback window", milestone[r - 1] + 1),
									 errdetail("A W-shaped milestone must be a touch that gets credit.")));
					for (int k = 0; k < m; k++)
						if (k != role[0] && k != role[1] && k != role[2])
							others++;
					/*
					 * 30% to each role, 10% spread over the touches holding none: in units of
					 * 1 / (100 others). Without such touches, a third to each role.
					 */
					for (int k = 0; k < m; k++)
						if (k != role[0] && k != role[1] && k != role[2])
							iweights[k] = 10;
					for (int r = 0; r < 3; r++)
						iweights[role[r]] += others > 0 ? 30 * (int64) others : 1;
				}
				break;
			case MODEL_TIME_DECAY:
				dweights = palloc(sizeof(double) * m);
				/*
				 * 2^(-age / half_life) with the age to the end of the window; the shares only depend
				 * on the ratios, so each weight is taken relative to the newest touch (weight 2^0)
				 * and none underflows to 0 for all touches at once.
				 */
				for (int k = 0; k < m; k++)
					dweights[k] = exp2(-(((double) eligible[m - 1].at - (double) eligible[k].at) / (double) o->half_life));
				pfree(iweights);
				iweights = NULL;
				break;
		}
		split_units(o->units, m, iweights, dweights, eligible_units);
		for (int k = 0; k < m; k++)
			credit_units[eligible[k].index] = eligible_units[k];
	}
	return credit_units;
}

/* attribute_units, then one row (position, channel, credit) per touch into the result. */
static void
attribute_emit(ReturnSetInfo *rsinfo, const AttributeOptions *o, int n, const TimestampTz *times,
			   const Datum *channel_values, const bool *channel_nulls, const int *milestone)
{
	int64	   *credit_units = attribute_units(o, n, times, milestone);

	for (int i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum(i + 1);
		if (channel_nulls[i])
			nulls[1] = true;
		else
			values[1] = channel_values[i];
		values[2] = units_numeric(credit_units[i], o->scale);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

PG_FUNCTION_INFO_V1(crm_attribute);
/*
 * crm.attribute(channels, touched_at, value, model, converted_at, lookback, half_life,
 * milestones): one row (position, channel, credit) per touch.
 */
Datum
crm_attribute(PG_FUNCTION_ARGS)
{
	ArrayType  *channels;
	Datum	   *channel_values;
	bool	   *channel_nulls;
	int			n;
	TimestampTz *times = NULL;
	AttributeOptions o;
	int			milestone[2] = {-1, -1};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		attribute_materialize(fcinfo);
		return (Datum) 0;
	}
	channels = PG_GETARG_ARRAYTYPE_P(0);
	require_vector(channels, "channels");
	deconstruct_array(channels, TEXTOID, -1, false, TYPALIGN_INT, &channel_values, &channel_nulls, &n);

	if (!PG_ARGISNULL(1))
	{
		ArrayType  *touched = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *time_values;
		bool	   *time_nulls;
		int			time_count;

		require_vector(touched, "touched_at");
		deconstruct_array(touched, TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &time_values, &time_nulls, &time_count);
		if (time_count != n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("channels and touched_at must have the same length"),
					 errdetail("channels has %d elements, touched_at %d.", n, time_count)));
		times = palloc(sizeof(TimestampTz) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			if (time_nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("touched_at must not contain NULL elements")));
			times[i] = DatumGetTimestampTz(time_values[i]);
			if (TIMESTAMP_NOT_FINITE(times[i]))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("touched_at must hold finite timestamps")));
		}
	}
	attribute_options(fcinfo, 2, &o);
	if (times == NULL && (o.have_end || o.have_lookback || o.model == MODEL_TIME_DECAY))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("touched_at must not be NULL with converted_at, lookback or the time_decay model")));
	if (o.model == MODEL_W_SHAPED)
	{
		ArrayType  *positions;
		Datum	   *position_values;
		bool	   *position_nulls;
		int			position_count;

		if (PG_NARGS() < 8 || PG_ARGISNULL(7))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the w_shaped model needs milestones"),
					 errhint("Pass milestones => ARRAY[lead creation position, opportunity position].")));
		positions = PG_GETARG_ARRAYTYPE_P(7);
		require_vector(positions, "milestones");
		deconstruct_array(positions, INT4OID, sizeof(int32), true, TYPALIGN_INT,
						  &position_values, &position_nulls, &position_count);
		if (position_count != 2 || position_nulls[0] || position_nulls[1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("milestones must hold two positions: the lead-creation touch and the opportunity touch")));
		for (int k = 0; k < 2; k++)
		{
			int32		p = DatumGetInt32(position_values[k]);

			if (n > 0 && (p < 1 || p > n))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("milestone position %d is not a position of the path (1 to %d)", p, n)));
			milestone[k] = p - 1;
		}
	}

	attribute_materialize(fcinfo);
	attribute_emit((ReturnSetInfo *) fcinfo->resultinfo, &o, n, times, channel_values, channel_nulls, milestone);
	return (Datum) 0;
}

/* ============================================================================================
 * crm.touch_path: a conversion's touches gathered by an aggregate
 * ============================================================================================ */

#define TOUCH_PATH_VERSION 1
/* the largest path: its entries within MaxAllocSize with room for the header */
#define TOUCH_PATH_MAX_BYTES ((Size) 256 * 1024 * 1024)
#define TOUCH_MILESTONE_LEAD 1
#define TOUCH_MILESTONE_OPPORTUNITY 2

/*
 * The in-memory and stored form: a header, then the touches one after another, each a
 * TouchEntry followed by its channel's bytes padded to 8. The varlena's size is the allocated
 * size; used says how much of it holds touches, so the aggregate appends in place and grows by
 * doubling (no allocation per row).
 */
typedef struct TouchPath
{
	int32		vl_len_;
	int32		version;
	int32		count;			/* touches */
	int32		used;			/* bytes of data[] holding touches */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} TouchPath;

typedef struct TouchEntry
{
	int64		at;				/* touched_at, finite */
	int32		length;			/* the channel's bytes; -1 for a NULL channel */
	int32		milestones;		/* TOUCH_MILESTONE_* bits */
} TouchEntry;

#define TOUCH_PATH_HEADER offsetof(TouchPath, data)
#define TOUCH_ENTRY_BYTES(length) (sizeof(TouchEntry) + MAXALIGN((length) < 0 ? 0 : (length)))
#define TOUCH_NAME(entry) ((char *) (entry) + sizeof(TouchEntry))

static Size
touch_path_capacity(const TouchPath *path)
{
	return VARSIZE(path) - TOUCH_PATH_HEADER;
}

/* A path of no touches with room for capacity bytes of them, in the current context. */
static TouchPath *
touch_path_new(Size capacity)
{
	TouchPath  *path = palloc0(TOUCH_PATH_HEADER + capacity);

	SET_VARSIZE(path, TOUCH_PATH_HEADER + capacity);
	path->version = TOUCH_PATH_VERSION;
	return path;
}

static void
touch_path_check(const TouchPath *path)
{
	if (path->version != TOUCH_PATH_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("touch_path version %d is not supported", path->version)));
}

/*
 * Room for bytes more: the same path when they fit, else a copy twice as large (or as large as
 * needed) in the current context; the executor copies a new state into the aggregate context.
 */
static TouchPath *
touch_path_reserve(TouchPath *path, Size bytes)
{
	Size		needed = (Size) path->used + bytes;
	Size		capacity;
	TouchPath  *grown;

	if (needed <= touch_path_capacity(path))
		return path;
	if (needed > TOUCH_PATH_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a touch path cannot hold more than %d MB", (int) (TOUCH_PATH_MAX_BYTES / (1024 * 1024))),
				 errdetail("The touches of one conversion, with their channel names, need %zu bytes.", needed)));
	capacity = Max(needed, Min(2 * touch_path_capacity(path), TOUCH_PATH_MAX_BYTES));
	/* 2 x 0 is 0: a path read from text or binary grows by doubling from its first touch on */
	grown = touch_path_new(capacity);
	grown->count = path->count;
	grown->used = path->used;
	memcpy(grown->data, path->data, path->used);
	return grown;
}

static void
touch_path_append(TouchPath *path, int64 at, const char *name, int32 length, int32 milestones)
{
	TouchEntry *entry = (TouchEntry *) (path->data + path->used);

	entry->at = at;
	entry->length = length;
	entry->milestones = milestones;
	if (length > 0)
		memcpy(TOUCH_NAME(entry), name, length);
	path->used += TOUCH_ENTRY_BYTES(length);
	path->count++;
}

/*
 * The state to change in place (as markov_state): the aggregate's own copy, a copy when called
 * outside an aggregate or handed a compressed or short-header value, or NULL for none yet.
 */
static TouchPath *
touch_path_state(FunctionCallInfo fcinfo, int arg)
{
	Datum		datum;
	TouchPath  *path;

	if (PG_ARGISNULL(arg))
		return NULL;
	datum = PG_GETARG_DATUM(arg);
	if (VARATT_IS_EXTENDED(DatumGetPointer(datum)) || !AggCheckCallContext(fcinfo, NULL))
		path = (TouchPath *) PG_DETOAST_DATUM_COPY(datum);
	else
		path = (TouchPath *) DatumGetPointer(datum);
	touch_path_check(path);
	return path;
}

/* A path argument to read only. */
static const TouchPath *
touch_path_arg(FunctionCallInfo fcinfo, int arg)
{
	const TouchPath *path = (const TouchPath *) PG_DETOAST_DATUM(PG_GETARG_DATUM(arg));

	touch_path_check(path);
	return path;
}

/* A touch from the aggregate's arguments: false when touched_at is NULL (no touch: skipped). */
static bool
touch_from_args(FunctionCallInfo fcinfo, int64 *at, const char **name, int32 *length, int32 *milestones)
{
	if (PG_ARGISNULL(2))
		return false;
	*at = PG_GETARG_TIMESTAMPTZ(2);
	if (TIMESTAMP_NOT_FINITE(*at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("touched_at must be a finite timestamp")));
	if (PG_ARGISNULL(1))
	{
		*name = NULL;
		*length = -1;
	}
	else
	{
		text	   *channel = PG_GETARG_TEXT_PP(1);

		*name = VARDATA_ANY(channel);
		*length = VARSIZE_ANY_EXHDR(channel);
	}
	*milestones = 0;
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
	{
		int32		flags = PG_GETARG_INT32(3);

		if (flags < 0 || flags > (TOUCH_MILESTONE_LEAD | TOUCH_MILESTONE_OPPORTUNITY))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("milestone must be 0 (none), 1 (lead creation), 2 (opportunity) or 3 (both), not %d", flags)));
		*milestones = flags;
	}
	return true;
}

/*
 * The order of touches: by time, then channel bytes (NULL channels last), then milestones. Every
 * function reading a path uses it, so ties never depend on the order rows reached the aggregate.
 */
static int
touch_entry_cmp(int64 at_a, const char *name_a, int32 length_a, int32 milestones_a,
				int64 at_b, const char *name_b, int32 length_b, int32 milestones_b)
{
	if (at_a != at_b)
		return at_a < at_b ? -1 : 1;
	if (length_a < 0 || length_b < 0)
	{
		if (length_a >= 0 || length_b >= 0)
			return length_a < 0 ? 1 : -1;
	}
	else
	{
		int			c = memcmp(name_a, name_b, Min(length_a, length_b));

		if (c != 0)
			return c < 0 ? -1 : 1;
		if (length_a != length_b)
			return length_a < length_b ? -1 : 1;
	}
	if (milestones_a != milestones_b)
		return milestones_a < milestones_b ? -1 : 1;
	return 0;
}

static int
touch_entries_cmp(const TouchEntry *x, const TouchEntry *y)
{
	return touch_entry_cmp(x->at, TOUCH_NAME(x), x->length, x->milestones,
						   y->at, TOUCH_NAME(y), y->length, y->milestones);
}

static int
touch_entry_ptr_cmp(const void *a, const void *b)
{
	return touch_entries_cmp(*(TouchEntry *const *) a, *(TouchEntry *const *) b);
}

/* The path's first (sign -1) or last (+1) touch in path order, in one pass; NULL without touches. */
static const TouchEntry *
touch_path_end(const TouchPath *path, int sign)
{
	const TouchEntry *end = NULL;
	Size		offset = 0;

	for (int i = 0; i < path->count; i++)
	{
		const TouchEntry *entry = (const TouchEntry *) (path->data + offset);

		CHECK_FOR_INTERRUPTS();
		if (end == NULL || touch_entries_cmp(entry, end) * sign > 0)
			end = entry;
		offset += TOUCH_ENTRY_BYTES(entry->length);
	}
	return end;
}

/* The path's touches in the order above. */
static TouchEntry **
touch_path_sorted(const TouchPath *path)
{
	TouchEntry **entries = palloc(sizeof(TouchEntry *) * Max(path->count, 1));
	Size		offset = 0;

	for (int i = 0; i < path->count; i++)
	{
		CHECK_FOR_INTERRUPTS();
		entries[i] = (TouchEntry *) (path->data + offset);
		offset += TOUCH_ENTRY_BYTES(entries[i]->length);
	}
	qsort(entries, path->count, sizeof(TouchEntry *), touch_entry_ptr_cmp);
	return entries;
}

PG_FUNCTION_INFO_V1(crm_touch_path_add);
/* crm.touch_path(channel, touched_at [, milestone]): appends one touch. */
Datum
crm_touch_path_add(PG_FUNCTION_ARGS)
{
	TouchPath  *path = touch_path_state(fcinfo, 0);
	int64		at;
	const char *name;
	int32		length,
				milestones;

	if (!touch_from_args(fcinfo, &at, &name, &length, &milestones))
	{
		if (path == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(path);
	}
	if (path == NULL)
		path = touch_path_new(4 * TOUCH_ENTRY_BYTES(Max(length, 8)));
	path = touch_path_reserve(path, TOUCH_ENTRY_BYTES(length));
	touch_path_append(path, at, name, length, milestones);
	PG_RETURN_POINTER(path);
}

PG_FUNCTION_INFO_V1(crm_touch_path_combine);
/* Appends the second path's touches to the first. */
Datum
crm_touch_path_combine(PG_FUNCTION_ARGS)
{
	TouchPath  *left;
	const TouchPath *right;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	right = touch_path_arg(fcinfo, 1);
	left = touch_path_state(fcinfo, 0);
	if (left == NULL)
	{
		left = touch_path_new(right->used);
		left->count = right->count;
		left->used = right->used;
		memcpy(left->data, right->data, right->used);
		PG_RETURN_POINTER(left);
	}
	left = touch_path_reserve(left, right->used);
	memcpy(left->data + left->used, right->data, right->used);
	left->used += right->used;
	left->count += right->count;
	PG_RETURN_POINTER(left);
}

/* first_touch and last_touch keep one touch: the first (sign -1) or last (+1) in path order. */
static Datum
touch_keep(FunctionCallInfo fcinfo, int sign)
{
	TouchPath  *path = touch_path_state(fcinfo, 0);
	int64		at;
	const char *name;
	int32		length,
				milestones;

	if (!touch_from_args(fcinfo, &at, &name, &length, &milestones))
	{
		if (path == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(path);
	}
	if (path == NULL)
		path = touch_path_new(TOUCH_ENTRY_BYTES(Max(length, 16)));
	else
	{
		const TouchEntry *kept;

		if (path->count != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the state of first_touch and last_touch holds one touch, not %d", path->count)));
		kept = (TouchEntry *) path->data;
		if (touch_entry_cmp(at, name, length, milestones,
							kept->at, TOUCH_NAME(kept), kept->length, kept->milestones) * sign <= 0)
			PG_RETURN_POINTER(path);
		/* replace the kept touch, in place when its name fits */
		path->count = 0;
		path->used = 0;
		path = touch_path_reserve(path, TOUCH_ENTRY_BYTES(length));
	}
	touch_path_append(path, at, name, length, milestones);
	PG_RETURN_POINTER(path);
}

PG_FUNCTION_INFO_V1(crm_first_touch_add);
Datum
crm_first_touch_add(PG_FUNCTION_ARGS)
{
	return touch_keep(fcinfo, -1);
}

PG_FUNCTION_INFO_V1(crm_last_touch_add);
Datum
crm_last_touch_add(PG_FUNCTION_ARGS)
{
	return touch_keep(fcinfo, 1);
}

/* The combine of first_touch and last_touch: the first (sign -1) or last (+1) touch of both. */
static Datum
touch_keep_combine(FunctionCallInfo fcinfo, int sign)
{
	const TouchEntry *best;
	TouchPath  *result;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	best = touch_path_end(touch_path_arg(fcinfo, 1), sign);
	if (best == NULL)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (!PG_ARGISNULL(0))
	{
		const TouchEntry *left = touch_path_end(touch_path_arg(fcinfo, 0), sign);

		if (left != NULL && touch_entries_cmp(left, best) * sign >= 0)
			best = left;
	}
	result = touch_path_new(TOUCH_ENTRY_BYTES(best->length));
	touch_path_append(result, best->at, TOUCH_NAME(best), best->length, best->milestones);
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(crm_first_touch_combine);
Datum
crm_first_touch_combine(PG_FUNCTION_ARGS)
{
	return touch_keep_combine(fcinfo, -1);
}

PG_FUNCTION_INFO_V1(crm_last_touch_combine);
Datum
crm_last_touch_combine(PG_FUNCTION_ARGS)
{
	return touch_keep_combine(fcinfo, 1);
}

/* The channel of a path's first (sign -1) or last (+1) touch; NULL without touches. */
static Datum
touch_path_end_channel(FunctionCallInfo fcinfo, int sign)
{
	const TouchEntry *end = touch_path_end(touch_path_arg(fcinfo, 0), sign);

	if (end == NULL || end->length < 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(TOUCH_NAME(end), end->length));
}

PG_FUNCTION_INFO_V1(crm_touch_path_first_channel);
Datum
crm_touch_path_first_channel(PG_FUNCTION_ARGS)
{
	return touch_path_end_channel(fcinfo, -1);
}

PG_FUNCTION_INFO_V1(crm_touch_path_last_channel);
Datum
crm_touch_path_last_channel(PG_FUNCTION_ARGS)
{
	return touch_path_end_channel(fcinfo, 1);
}

/*
 * A path's touches in path order, their instants and the W-shaped milestones (their positions
 * in that order; for that model exactly one touch per role, 22023 otherwise).
 */
static TouchEntry **
path_touches(const TouchPath *path, AttributionModel model, TimestampTz **times, int *milestone)
{
	TouchEntry **entries = touch_path_sorted(path);
	int			n = path->count;

	*times = palloc(sizeof(TimestampTz) * Max(n, 1));
	milestone[0] = milestone[1] = -1;
	for (int i = 0; i < n; i++)
	{
		(*times)[i] = entries[i]->at;
		for (int r = 0; r < 2; r++)
			if (entries[i]->milestones & (r == 0 ? TOUCH_MILESTONE_LEAD : TOUCH_MILESTONE_OPPORTUNITY))
			{
				if (milestone[r] >= 0 && model == MODEL_W_SHAPED)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("more than one touch of the path is marked as the %s milestone",
									r == 0 ? "lead-creation" : "opportunity")));
				milestone[r] = i;
			}
	}
	if (model == MODEL_W_SHAPED && n > 0 && (milestone[0] < 0 || milestone[1] < 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the w_shaped model needs one touch marked as the %s milestone",
						milestone[0] < 0 ? "lead-creation" : "opportunity"),
				 errhint("Gather the path with crm.touch_path(channel, touched_at, milestone): 1 marks the lead-creation touch, 2 the opportunity touch, 3 both.")));
	return entries;
}

PG_FUNCTION_INFO_V1(crm_attribute_path);
/*
 * crm.attribute(path, value, model, converted_at, lookback, half_life): one row (position,
 * channel, credit) per touch of the path, in path order (time, then channel); the W-shaped
 * model's milestones are the touches marked as such.
 */
Datum
crm_attribute_path(PG_FUNCTION_ARGS)
{
	const TouchPath *path;
	TouchEntry **entries;
	AttributeOptions o;
	int			n;
	TimestampTz *times;
	Datum	   *channel_values;
	bool	   *channel_nulls;
	int			milestone[2];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		attribute_materialize(fcinfo);
		return (Datum) 0;
	}
	path = touch_path_arg(fcinfo, 0);
	attribute_options(fcinfo, 1, &o);
	entries = path_touches(path, o.model, &times, milestone);
	n = path->count;
	channel_values = palloc(sizeof(Datum) * Max(n, 1));
	channel_nulls = palloc(sizeof(bool) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		channel_nulls[i] = entries[i]->length < 0;
		channel_values[i] = channel_nulls[i] ? (Datum) 0 :
			PointerGetDatum(cstring_to_text_with_len(TOUCH_NAME(entries[i]), entries[i]->length));
	}
	attribute_materialize(fcinfo);
	attribute_emit((ReturnSetInfo *) fcinfo->resultinfo, &o, n, times, channel_values, channel_nulls, milestone);
	return (Datum) 0;
}

/* ---- text and binary forms ------------------------------------------------------------------ */

static pg_noreturn void
touch_path_syntax(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type touch_path: \"%s\"", input),
			 errdetail("%s", detail)));
}

/* A decimal integer in [low, high] at *p (a sign allowed), moving *p past it. */
static int64
touch_path_integer(const char **p, const char *input, int64 low, int64 high, const char *what)
{
	const char *start = *p;
	bool		negative = false;
	uint64		magnitude = 0;

	if (**p == '-')
	{
		negative = true;
		(*p)++;
	}
	if (!isdigit((unsigned char) **p))
		touch_path_syntax(input, psprintf("Expected %s at \"%.20s\".", what, start));
	while (isdigit((unsigned char) **p))
	{
		if (magnitude > (PG_UINT64_MAX - 9) / 10)
			touch_path_syntax(input, psprintf("%s is out of range.", what));
		magnitude = magnitude * 10 + (uint64) (**p - '0');
		(*p)++;
	}
	if (negative ? magnitude > (uint64) PG_INT64_MAX + 1 : magnitude > (uint64) PG_INT64_MAX)
		touch_path_syntax(input, psprintf("%s is out of range.", what));
	{
		int64		value = negative ? (int64) (0 - magnitude) : (int64) magnitude;

		if (value < low || value > high)
			touch_path_syntax(input, psprintf("%s is out of range.", what));
		return value;
	}
}

static void
touch_path_expect(const char **p, const char *input, char c)
{
	if (**p != c)
		touch_path_syntax(input, psprintf("Expected \"%c\" at \"%.20s\".", c, *p));
	(*p)++;
}

/* A touch's instant as microseconds since 2000-01-01 UTC must be a finite, valid timestamp. */
static bool
touch_at_valid(int64 at)
{
	return !TIMESTAMP_NOT_FINITE(at) && IS_VALID_TIMESTAMP(at);
}

PG_FUNCTION_INFO_V1(crm_touch_path_in);
/*
 * Text input: version;count then, per touch, ;at,milestones,length:channel with at in
 * microseconds since 2000-01-01 00:00 UTC and length -1 (no bytes) for a NULL channel.
 */
Datum
crm_touch_path_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int64		count;
	TouchPath  *path;

	if (touch_path_integer(&p, input, 0, PG_INT32_MAX, "the version") != TOUCH_PATH_VERSION)
		touch_path_syntax(input, psprintf("Unknown version; this version reads version %d.", TOUCH_PATH_VERSION));
	touch_path_expect(&p, input, ';');
	count = touch_path_integer(&p, input, 0, PG_INT32_MAX, "the touch count");
	path = touch_path_new(0);
	for (int64 i = 0; i < count; i++)
	{
		int64		at,
					milestones,
					length;

		CHECK_FOR_INTERRUPTS();
		touch_path_expect(&p, input, ';');
		at = touch_path_integer(&p, input, PG_INT64_MIN, PG_INT64_MAX, "a touch's instant");
		if (!touch_at_valid(at))
			touch_path_syntax(input, "A touch's instant is not a finite timestamp.");
		touch_path_expect(&p, input, ',');
		milestones = touch_path_integer(&p, input, 0, TOUCH_MILESTONE_LEAD | TOUCH_MILESTONE_OPPORTUNITY, "a touch's milestones");
		touch_path_expect(&p, input, ',');
		length = touch_path_integer(&p, input, -1, (int64) TOUCH_PATH_MAX_BYTES, "a channel's length");
		touch_path_expect(&p, input, ':');
		if (length > 0 && (int64) strnlen(p, length) < length)
			touch_path_syntax(input, "A channel is shorter than its length.");
		if (length > 0)
			pg_verifymbstr(p, (int) length, false);
		path = touch_path_reserve(path, TOUCH_ENTRY_BYTES(length));
		touch_path_append(path, at, p, (int32) length, (int32) milestones);
		if (length > 0)
			p += length;
	}
	if (*p != '\0')
		touch_path_syntax(input, psprintf("Unexpected text after the touches at \"%.20s\".", p));
	/* the stored form holds no spare room */
	SET_VARSIZE(path, TOUCH_PATH_HEADER + path->used);
	PG_RETURN_POINTER(path);
}

PG_FUNCTION_INFO_V1(crm_touch_path_out);
/* Text output: the touches in path order (time, then channel), so equal paths print alike. */
Datum
crm_touch_path_out(PG_FUNCTION_ARGS)
{
	const TouchPath *path = touch_path_arg(fcinfo, 0);
	TouchEntry **entries = touch_path_sorted(path);
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfo(&out, "%d;%d", TOUCH_PATH_VERSION, path->count);
	for (int i = 0; i < path->count; i++)
	{
		CHECK_FOR_INTERRUPTS();
		appendStringInfo(&out, ";" INT64_FORMAT ",%d,%d:", entries[i]->at, entries[i]->milestones, entries[i]->length);
		if (entries[i]->length > 0)
			appendBinaryStringInfo(&out, TOUCH_NAME(entries[i]), entries[i]->length);
	}
	PG_RETURN_CSTRING(out.data);
}

PG_FUNCTION_INFO_V1(crm_touch_path_send);
/*
 * Binary output: int32 version, int32 count, then per touch (path order) int64 at, int32
 * milestones, int32 length (-1: NULL) and the channel's bytes.
 */
Datum
crm_touch_path_send(PG_FUNCTION_ARGS)
{
	const TouchPath *path = touch_path_arg(fcinfo, 0);
	TouchEntry **entries = touch_path_sorted(path);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, TOUCH_PATH_VERSION);
	pq_sendint32(&buffer, path->count);
	for (int i = 0; i < path->count; i++)
	{
		CHECK_FOR_INTERRUPTS();
		pq_sendint64(&buffer, entries[i]->at);
		pq_sendint32(&buffer, entries[i]->milestones);
		pq_sendint32(&buffer, entries[i]->length);
		if (entries[i]->length > 0)
			pq_sendbytes(&buffer, TOUCH_NAME(entries[i]), entries[i]->length);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

static pg_noreturn void
touch_path_binary(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary data for type touch_path"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_touch_path_recv);
/* Binary input: the form touch_path_send writes, validated like the text form. */
Datum
crm_touch_path_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int32		count;
	TouchPath  *path;

	if (buffer->len - buffer->cursor < 8)
		touch_path_binary("The header is cut short.");
	if (pq_getmsgint(buffer, 4) != TOUCH_PATH_VERSION)
		touch_path_binary(psprintf("Unknown version; this version reads version %d.", TOUCH_PATH_VERSION));
	count = (int32) pq_getmsgint(buffer, 4);
	if (count < 0)
		touch_path_binary("The touch count is negative.");
	path = touch_path_new(0);
	for (int32 i = 0; i < count; i++)
	{
		int64		at;
		int32		milestones,
					length;
		const char *name = NULL;

		CHECK_FOR_INTERRUPTS();
		if (buffer->len - buffer->cursor < 16)
			touch_path_binary("A touch is cut short.");
		at = pq_getmsgint64(buffer);
		milestones = (int32) pq_getmsgint(buffer, 4);
		length = (int32) pq_getmsgint(buffer, 4);
		if (!touch_at_valid(at))
			touch_path_binary("A touch's instant is not a finite timestamp.");
		if (milestones < 0 || milestones > (TOUCH_MILESTONE_LEAD | TOUCH_MILESTONE_OPPORTUNITY))
			touch_path_binary("A touch's milestones are out of range.");
		if (length < -1 || (length > 0 && length > buffer->len - buffer->cursor))
			touch_path_binary("A channel's length is out of range.");
		if (length > 0)
		{
			name = pq_getmsgbytes(buffer, length);
			pg_verifymbstr(name, length, false);
		}
		path = touch_path_reserve(path, TOUCH_ENTRY_BYTES(length));
		touch_path_append(path, at, name, length, milestones);
	}
	if (buffer->cursor != buffer->len)
		touch_path_binary("There are bytes after the touches.");
	SET_VARSIZE(path, TOUCH_PATH_HEADER + path->used);
	PG_RETURN_POINTER(path);
}

/* ============================================================================================
 * crm.channel_credits: the credit per channel over many conversions, in one aggregate
 * ============================================================================================ */

#define CREDIT_TOTALS_VERSION 1
#define CREDIT_TOTALS_MAX_CHANNELS 100000
#define CT_INT128_MAX ((int128) ((((uint128) 1) << 127) - 1))
#define CT_INT128_MIN (-CT_INT128_MAX - 1)

/*
 * The state (crm.credit_totals): the model and half-life every row must share, the scale of the
 * totals (the largest scale of a value seen), the conversions counted, and per channel its total
 * credit in units of 10^-scale as a 128-bit integer. Channels sit in slots sorted by name (a NULL
 * channel last), their names after the slots; capacity and names_capacity are the room allocated,
 * so new channels are added in place.
 */
typedef struct CreditSlot
{
	int64		hi;				/* the total: hi * 2^64 + lo */
	uint64		lo;
	int32		name_offset;	/* into the names */
	int32		name_length;	/* -1: the NULL channel */
} CreditSlot;

typedef struct CreditTotals
{
	int32		vl_len_;
	int32		version;
	int32		model;
	int32		scale;
	int64		half_life;
	int64		conversions;
	int32		channels;
	int32		capacity;
	int32		names_used;
	int32		names_capacity;
	CreditSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} CreditTotals;

#define CT_NAMES(t) ((char *) &(t)->slots[(t)->capacity])

static int128
slot_total(const CreditSlot *slot)
{
	return ((int128) slot->hi << 64) | (int128) slot->lo;
}

static void
slot_set(CreditSlot *slot, int128 total)
{
	slot->hi = (int64) (total >> 64);
	slot->lo = (uint64) total;
}

static CreditTotals *
credit_totals_new(int capacity, int names_capacity)
{
	Size		size = offsetof(CreditTotals, slots) + sizeof(CreditSlot) * capacity + names_capacity;
	CreditTotals *t = palloc0(size);

	SET_VARSIZE(t, size);
	t->version = CREDIT_TOTALS_VERSION;
	t->capacity = capacity;
	t->names_capacity = names_capacity;
	return t;
}

static CreditTotals *
credit_totals_regrow(const CreditTotals *old, int capacity, int names_capacity)
{
	CreditTotals *t = credit_totals_new(capacity, names_capacity);

	t->model = old->model;
	t->scale = old->scale;
	t->half_life = old->half_life;
	t->conversions = old->conversions;
	t->channels = old->channels;
	t->names_used = old->names_used;
	memcpy(t->slots, old->slots, sizeof(CreditSlot) * old->channels);
	memcpy(CT_NAMES(t), CT_NAMES(old), old->names_used);
	return t;
}

static int
credit_slot_cmp(const CreditTotals *t, const CreditSlot *slot, const char *name, int32 length)
{
	if (slot->name_length < 0 || length < 0)
		return (slot->name_length < 0) - (length < 0);
	{
		int			c = memcmp(CT_NAMES(t) + slot->name_offset, name, Min(slot->name_length, length));

		if (c != 0)
			return c;
		return (slot->name_length > length) - (slot->name_length < length);
	}
}

/* The slot of a channel, added (in place when there is room) if new; *totals may move. */
static CreditSlot *
credit_totals_slot(CreditTotals **totals, const char *name, int32 length)
{
	CreditTotals *t = *totals;
	int			low = 0,
				high = t->channels;

	while (low < high)
	{
		int			mid = (low + high) / 2;
		int			c = credit_slot_cmp(t, &t->slots[mid], name, length);

		if (c == 0)
			return &t->slots[mid];
		if (c < 0)
			low = mid + 1;
		else
			high = mid;
	}
	if (t->channels >= CREDIT_TOTALS_MAX_CHANNELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("crm.channel_credits counts at most %d channels", CREDIT_TOTALS_MAX_CHANNELS)));
	if (t->channels == t->capacity || t->names_used + Max(length, 0) > t->names_capacity)
	{
		int			names = Max(2 * t->names_capacity, t->names_used + Max(length, 0) + 64);

		if ((Size) names > MaxAllocSize / 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the channel names of crm.channel_credits exceed %d MB", (int) (MaxAllocSize / 2 / (1024 * 1024)))));
		t = credit_totals_regrow(t, t->channels == t->capacity ? 2 * t->capacity : t->capacity, names);
		*totals = t;
	}
	memmove(&t->slots[low + 1], &t->slots[low], sizeof(CreditSlot) * (t->channels - low));
	t->channels++;
	t->slots[low].hi = 0;
	t->slots[low].lo = 0;
	t->slots[low].name_offset = t->names_used;
	t->slots[low].name_length = length;
	if (length > 0)
		memcpy(CT_NAMES(t) + t->names_used, name, length);
	t->names_used += Max(length, 0);
	return &t->slots[low];
}

static pg_noreturn void
credit_totals_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("a channel's total credit is out of range"),
			 errdetail("The totals are kept as 128-bit integers in units of the values' smallest decimal place.")));
}

static int128
int128_mul_pow10(int128 x, int exponent)
{
	for (int i = 0; i < exponent; i++)
	{
		if (x > CT_INT128_MAX / 10 || x < CT_INT128_MIN / 10)
			credit_totals_overflow();
		x *= 10;
	}
	return x;
}

/* Brings the totals to scale (>= their scale). */
static void
credit_totals_rescale(CreditTotals *t, int scale)
{
	for (int c = 0; c < t->channels; c++)
		slot_set(&t->slots[c], int128_mul_pow10(slot_total(&t->slots[c]), scale - t->scale));
	t->scale = scale;
}

static void
credit_slot_add(CreditSlot *slot, int128 units)
{
	int128		total = slot_total(slot);

	if ((units > 0 && total > CT_INT128_MAX - units) || (units < 0 && total < CT_INT128_MIN - units))
		credit_totals_overflow();
	slot_set(slot, total + units);
}

static CreditTotals *
credit_totals_state(FunctionCallInfo fcinfo)
{
	Datum		datum;
	CreditTotals *t;

	if (PG_ARGISNULL(0))
		return NULL;
	datum = PG_GETARG_DATUM(0);
	if (VARATT_IS_EXTENDED(DatumGetPointer(datum)) || !AggCheckCallContext(fcinfo, NULL))
		t = (CreditTotals *) PG_DETOAST_DATUM_COPY(datum);
	else
		t = (CreditTotals *) DatumGetPointer(datum);
	if (t->version != CREDIT_TOTALS_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit_totals version %d is not supported", t->version)));
	return t;
}

static const char *const model_names[] = {"first_touch", "last_touch", "linear", "time_decay", "position_based", "w_shaped"};

static void
credit_totals_same_model(const CreditTotals *t, int model, int64 half_life)
{
	if (t->model != model || (model == MODEL_TIME_DECAY && t->half_life != half_life))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("crm.channel_credits needs one model for all rows"),
				 errdetail("Rows ask for %s and %s%s.", model_names[t->model], model_names[model],
						   model == t->model ? " with different half-lives" : "")));
}

PG_FUNCTION_INFO_V1(crm_channel_credits_add);
/*
 * crm.channel_credits(path, value, model [, converted_at, lookback, half_life]): splits one
 * conversion's value over its path as crm.attribute(path, ...) does and adds each touch's credit
 * to its channel's total.
 */
Datum
crm_channel_credits_add(PG_FUNCTION_ARGS)
{
	CreditTotals *t = credit_totals_state(fcinfo);
	const TouchPath *path;
	AttributeOptions o;
	TouchEntry **entries;
	TimestampTz *times;
	int			milestone[2];
	int64	   *units;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (t == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(t);
	}
	path = touch_path_arg(fcinfo, 1);
	attribute_options(fcinfo, 2, &o);
	if (t == NULL)
	{
		t = credit_totals_new(16, 256);
		t->model = o.model;
		t->half_life = o.model == MODEL_TIME_DECAY ? o.half_life : 0;
		t->scale = o.scale;
	}
	else
		credit_totals_same_model(t, o.model, o.half_life);
	entries = path_touches(path, o.model, &times, milestone);
	units = attribute_units(&o, path->count, times, milestone);
	if (o.scale > t->scale)
		credit_totals_rescale(t, o.scale);
	for (int i = 0; i < path->count; i++)
	{
		CreditSlot *slot;

		CHECK_FOR_INTERRUPTS();
		if (units[i] == 0)
			continue;
		slot = credit_totals_slot(&t, TOUCH_NAME(entries[i]), entries[i]->length);
		credit_slot_add(slot, int128_mul_pow10((int128) units[i], t->scale - o.scale));
	}
	t->conversions++;
	PG_RETURN_POINTER(t);
}

PG_FUNCTION_INFO_V1(crm_channel_credits_combine);
/* Adds the second state's totals to the first's (the same model). */
Datum
crm_channel_credits_combine(PG_FUNCTION_ARGS)
{
	CreditTotals *left;
	const CreditTotals *right;
	int			scale;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	right = (const CreditTotals *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	if (right->version != CREDIT_TOTALS_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit_totals version %d is not supported", right->version)));
	left = credit_totals_state(fcinfo);
	if (left == NULL)
		PG_RETURN_POINTER(credit_totals_regrow(right, Max(right->channels, 1), Max(right->names_used, 1)));
	credit_totals_same_model(left, right->model, right->half_life);
	if (right->scale > left->scale)
		credit_totals_rescale(left, right->scale);
	scale = left->scale;
	for (int c = 0; c < right->channels; c++)
	{
		const CreditSlot *from = &right->slots[c];
		CreditSlot *slot;

		CHECK_FOR_INTERRUPTS();
		slot = credit_totals_slot(&left, CT_NAMES(right) + from->name_offset, from->name_length);
		credit_slot_add(slot, int128_mul_pow10(slot_total(from), scale - right->scale));
	}
	left->conversions += right->conversions;
	PG_RETURN_POINTER(left);
}

/* A 128-bit integer as decimal digits (a sign first if negative). */
static char *
int128_string(int128 x)
{
	char		buffer[48];
	char	   *p = buffer + sizeof(buffer) - 1;
	bool		negative = x < 0;
	uint128		u = negative ? (uint128) 0 - (uint128) x : (uint128) x;

	*p = '\0';
	do
	{
		*--p = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u != 0);
	if (negative)
		*--p = '-';
	return pstrdup(p);
}

/* units * 10^-scale as numeric at that scale. */
static Datum
int128_numeric(int128 units, int scale)
{
	char	   *digits = int128_string(units);
	bool		negative = digits[0] == '-';
	char	   *magnitude = digits + negative;
	int			length = (int) strlen(magnitude);
	StringInfoData text;

	initStringInfo(&text);
	if (negative)
		appendStringInfoChar(&text, '-');
	if (scale == 0)
		appendStringInfoString(&text, magnitude);
	else
	{
		if (length <= scale)
		{
			appendStringInfoString(&text, "0.");
			for (int i = length; i < scale; i++)
				appendStringInfoChar(&text, '0');
			appendStringInfoString(&text, magnitude);
		}
		else
		{
			appendBinaryStringInfo(&text, magnitude, length - scale);
			appendStringInfoChar(&text, '.');
			appendStringInfoString(&text, magnitude + length - scale);
		}
	}
	return DirectFunctionCall3(numeric_in, CStringGetDatum(text.data), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

PG_FUNCTION_INFO_V1(crm_channel_credits_final);
/* The totals as crm.channel_credit[] (channel, credit), by channel (byte order, NULL last). */
Datum
crm_channel_credits_final(PG_FUNCTION_ARGS)
{
	const CreditTotals *t;
	Oid			namespace = get_func_namespace(fcinfo->flinfo->fn_oid);
	Oid			element;
	TupleDesc	desc;
	Datum	   *rows;
	int16		length;
	bool		byval;
	char		align;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	t = (const CreditTotals *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	element = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("channel_credit"),
							  ObjectIdGetDatum(namespace));
	if (!OidIsValid(element))
		elog(ERROR, "type channel_credit is missing from schema %u", namespace);
	desc = BlessTupleDesc(lookup_rowtype_tupdesc_copy(element, -1));
	rows = palloc(sizeof(Datum) * Max(t->channels, 1));
	for (int c = 0; c < t->channels; c++)
	{
		const CreditSlot *slot = &t->slots[c];
		Datum		values[2];
		bool		nulls[2] = {slot->name_length < 0, false};

		CHECK_FOR_INTERRUPTS();
		values[0] = nulls[0] ? (Datum) 0 :
			PointerGetDatum(cstring_to_text_with_len(CT_NAMES(t) + slot->name_offset, slot->name_length));
		values[1] = int128_numeric(slot_total(slot), t->scale);
		rows[c] = HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
	}
	get_typlenbyvalalign(element, &length, &byval, &align);
	PG_RETURN_ARRAYTYPE_P(construct_array(rows, t->channels, element, length, byval, align));
}

/* ---- text and binary forms of crm.credit_totals ------------------------------------------- */

static pg_noreturn void
credit_totals_syntax(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type credit_totals: \"%s\"", input),
			 errdetail("%s", detail)));
}

/* A decimal 128-bit integer at *p. */
static int128
credit_totals_int128(const char **p, const char *input)
{
	bool		negative = **p == '-';
	uint128		u = 0;
	uint128		limit;
	const char *start;

	if (negative)
		(*p)++;
	limit = (uint128) CT_INT128_MAX + (negative ? 1 : 0);
	start = *p;
	while (isdigit((unsigned char) **p))
	{
		int			digit = **p - '0';

		if (u > (limit - (uint128) digit) / 10)
			credit_totals_syntax(input, "A total is out of range.");
		u = u * 10 + (uint128) digit;
		(*p)++;
	}
	if (*p == start)
		credit_totals_syntax(input, psprintf("Expected a total at \"%.20s\".", start));
	return negative ? (int128) ((uint128) 0 - u) : (int128) u;
}

static CreditTotals *
credit_totals_build(int model, int scale, int64 half_life, int64 conversions)
{
	CreditTotals *t = credit_totals_new(16, 256);

	t->model = model;
	t->scale = scale;
	t->half_life = half_life;
	t->conversions = conversions;
	return t;
}

/* Adds a parsed channel: the names must come in the stored order, each once. */
static void
credit_totals_append(CreditTotals **t, const char *name, int32 length, int128 total, bool text_form, const char *input)
{
	CreditTotals *before = *t;
	int			channels = before->channels;
	CreditSlot *slot;

	if (channels > 0 && credit_slot_cmp(before, &before->slots[channels - 1], name, length) >= 0)
	{
		if (text_form)
			credit_totals_syntax(input, "The channels are not in order or one is repeated.");
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type credit_totals"),
				 errdetail("The channels are not in order or one is repeated.")));
	}
	slot = credit_totals_slot(t, name, length);
	slot_set(slot, total);
}

PG_FUNCTION_INFO_V1(crm_credit_totals_in);
/*
 * Text input: 1;model;scale;half_life;conversions;count then ;total,length:channel per channel in
 * byte order (NULL last; length -1), totals in units of 10^-scale.
 */
Datum
crm_credit_totals_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int64		model,
				scale,
				half_life,
				conversions,
				count;
	CreditTotals *t;

	if (touch_path_integer(&p, input, 0, PG_INT32_MAX, "the version") != CREDIT_TOTALS_VERSION)
		credit_totals_syntax(input, psprintf("Unknown version; this version reads version %d.", CREDIT_TOTALS_VERSION));
	touch_path_expect(&p, input, ';');
	model = touch_path_integer(&p, input, MODEL_FIRST_TOUCH, MODEL_W_SHAPED, "the model");
	touch_path_expect(&p, input, ';');
	scale = touch_path_integer(&p, input, 0, NUMERIC_MAX_DISPLAY_SCALE, "the scale");
	touch_path_expect(&p, input, ';');
	half_life = touch_path_integer(&p, input, 0, PG_INT64_MAX, "the half-life");
	if ((model == MODEL_TIME_DECAY) != (half_life > 0))
		credit_totals_syntax(input, "Only the time_decay model has a half-life, and it is positive.");
	touch_path_expect(&p, input, ';');
	conversions = touch_path_integer(&p, input, 0, PG_INT64_MAX, "the conversion count");
	touch_path_expect(&p, input, ';');
	count = touch_path_integer(&p, input, 0, CREDIT_TOTALS_MAX_CHANNELS, "the channel count");
	t = credit_totals_build((int) model, (int) scale, half_life, conversions);
	for (int64 i = 0; i < count; i++)
	{
		int128		total;
		int64		length;

		CHECK_FOR_INTERRUPTS();
		touch_path_expect(&p, input, ';');
		total = credit_totals_int128(&p, input);
		touch_path_expect(&p, input, ',');
		length = touch_path_integer(&p, input, -1, MaxAllocSize / 4, "a channel's length");
		touch_path_expect(&p, input, ':');
		if (length > 0 && (int64) strnlen(p, length) < length)
			credit_totals_syntax(input, "A channel is shorter than its length.");
		if (length > 0)
			pg_verifymbstr(p, (int) length, false);
		credit_totals_append(&t, p, (int32) length, total, true, input);
		if (length > 0)
			p += length;
	}
	if (*p != '\0')
		credit_totals_syntax(input, psprintf("Unexpected text after the channels at \"%.20s\".", p));
	PG_RETURN_POINTER(t);
}

PG_FUNCTION_INFO_V1(crm_credit_totals_out);
/* Text output: the form credit_totals_in reads. */
Datum
crm_credit_totals_out(PG_FUNCTION_ARGS)
{
	const CreditTotals *t = (const CreditTotals *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfo(&out, "%d;%d;%d;" INT64_FORMAT ";" INT64_FORMAT ";%d", CREDIT_TOTALS_VERSION, t->model, t->scale,
					 t->half_life, t->conversions, t->channels);
	for (int c = 0; c < t->channels; c++)
	{
		const CreditSlot *slot = &t->slots[c];

		CHECK_FOR_INTERRUPTS();
		appendStringInfo(&out, ";%s,%d:", int128_string(slot_total(slot)), slot->name_length);
		if (slot->name_length > 0)
			appendBinaryStringInfo(&out, CT_NAMES(t) + slot->name_offset, slot->name_length);
	}
	PG_RETURN_CSTRING(out.data);
}

PG_FUNCTION_INFO_V1(crm_credit_totals_send);
/*
 * Binary output: int32 version, model, scale, int64 half-life, conversions, int32 channel count,
 * then per channel int64 high and low halves of the total, int32 length (-1: NULL) and the bytes.
 */
Datum
crm_credit_totals_send(PG_FUNCTION_ARGS)
{
	const CreditTotals *t = (const CreditTotals *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, CREDIT_TOTALS_VERSION);
	pq_sendint32(&buffer, t->model);
	pq_sendint32(&buffer, t->scale);
	pq_sendint64(&buffer, t->half_life);
	pq_sendint64(&buffer, t->conversions);
	pq_sendint32(&buffer, t->channels);
	for (int c = 0; c < t->channels; c++)
	{
		const CreditSlot *slot = &t->slots[c];

		CHECK_FOR_INTERRUPTS();
		pq_sendint64(&buffer, slot->hi);
		pq_sendint64(&buffer, (int64) slot->lo);
		pq_sendint32(&buffer, slot->name_length);
		if (slot->name_length > 0)
			pq_sendbytes(&buffer, CT_NAMES(t) + slot->name_offset, slot->name_length);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

static pg_noreturn void
credit_totals_binary(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary data for type credit_totals"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_credit_totals_recv);
/* Binary input: the form credit_totals_send writes, validated like the text form. */
Datum
crm_credit_totals_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int32		model,
				scale,
				count;
	int64		half_life,
				conversions;
	CreditTotals *t;

	if (buffer->len - buffer->cursor < 32)
		credit_totals_binary("The header is cut short.");
	if (pq_getmsgint(buffer, 4) != CREDIT_TOTALS_VERSION)
		credit_totals_binary(psprintf("Unknown version; this version reads version %d.", CREDIT_TOTALS_VERSION));
	model = (int32) pq_getmsgint(buffer, 4);
	scale = (int32) pq_getmsgint(buffer, 4);
	half_life = pq_getmsgint64(buffer);
	conversions = pq_getmsgint64(buffer);
	count = (int32) pq_getmsgint(buffer, 4);
	if (model < MODEL_FIRST_TOUCH || model > MODEL_W_SHAPED)
		credit_totals_binary("The model is out of range.");
	if (scale < 0 || scale > NUMERIC_MAX_DISPLAY_SCALE)
		credit_totals_binary("The scale is out of range.");
	if ((model == MODEL_TIME_DECAY) != (half_life > 0) || half_life < 0)
		credit_totals_binary("Only the time_decay model has a half-life, and it is positive.");
	if (conversions < 0)
		credit_totals_binary("The conversion count is negative.");
	if (count < 0 || count > CREDIT_TOTALS_MAX_CHANNELS)
		credit_totals_binary("The channel count is out of range.");
	t = credit_totals_build(model, scale, half_life, conversions);
	for (int32 c = 0; c < count; c++)
	{
		int64		hi;
		uint64		lo;
		int32		length;
		const char *name = NULL;

		CHECK_FOR_INTERRUPTS();
		if (buffer->len - buffer->cursor < 20)
			credit_totals_binary("A channel is cut short.");
		hi = pq_getmsgint64(buffer);
		lo = (uint64) pq_getmsgint64(buffer);
		length = (int32) pq_getmsgint(buffer, 4);
		if (length < -1 || (length > 0 && length > buffer->len - buffer->cursor))
			credit_totals_binary("A channel's length is out of range.");
		if (length > 0)
		{
			name = pq_getmsgbytes(buffer, length);
			pg_verifymbstr(name, length, false);
		}
		credit_totals_append(&t, name, length, ((int128) hi << 64) | (int128) lo, false, NULL);
	}
	if (buffer->cursor != buffer->len)
		credit_totals_binary("There are bytes after the channels.");
	PG_RETURN_POINTER(t);
}

/* ============================================================================================
 * crm.markov_model: first-order transition counts
 * ============================================================================================ */

#define MARKOV_VERSION 1
#define MARKOV_MAX_CHANNELS 1000

/*
 * The in-memory form, also what a table stores: a header, the count matrix, the total value
 * (a numeric) and the channel names (NUL-terminated, in order of first appearance). capacity >=
 * channels is the matrix's allocated size, so the aggregate adds channels in place. Rows: 0 is
 * (start), c (1..capacity) channel c; columns: 0 (conversion), 1 (null), 1 + c channel c.
 */
typedef struct MarkovModel
{
	int32		vl_len_;
	int32		version;
	int32		channels;
	int32		capacity;
	int64		journeys;
	int64		conversions;
	int32		value_offset;
	int32		value_capacity;
	int32		names_offset;
	int32		names_used;
	int32		names_capacity;
	int32		reserved;
} MarkovModel;

#define MM_COUNTS(m) ((int64 *) ((char *) (m) + MAXALIGN(sizeof(MarkovModel))))
#define MM_WIDTH(m) ((m)->capacity + 2)
#define MM_CELL(m, row, col) (MM_COUNTS(m)[(int64) (row) * MM_WIDTH(m) + (col)])
#define MM_VALUE(m) ((Numeric) ((char *) (m) + (m)->value_offset))
#define MM_NAMES(m) ((char *) (m) + (m)->names_offset)
#define COL_CONVERSION 0
#define COL_NULL 1
#define COL_CHANNEL(c) (1 + (c))

static MarkovModel *
markov_allocate(int capacity, int value_capacity, int names_capacity)
{
	Size		counts = (Size) (capacity + 1) * (capacity + 2) * sizeof(int64);
	Size		value_offset = MAXALIGN(sizeof(MarkovModel)) + counts;
	Size		names_offset = value_offset + MAXALIGN(value_capacity);
	Size		size = names_offset + names_capacity;
	MarkovModel *m;

	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("markov_model is too large"),
				 errdetail("The channel names take more than 1 GB.")));
	m = palloc0(size);
	SET_VARSIZE(m, size);
	m->version = MARKOV_VERSION;
	m->capacity = capacity;
	m->value_offset = (int32) value_offset;
	m->value_capacity = (int32) MAXALIGN(value_capacity);
	m->names_offset = (int32) names_offset;
	m->names_capacity = names_capacity;
	return m;
}

static void
markov_set_value(MarkovModel **model, Numeric value);

/* An empty model with room for capacity channels, total value 0. */
static MarkovModel *
markov_new(int capacity, int names_capacity)
{
	MarkovModel *m = markov_allocate(capacity, 32, names_capacity);

	markov_set_value(&m, int64_to_numeric(0));
	return m;
}

/* A copy with at least the given room (each never less than the model's). */
static MarkovModel *
markov_regrow(const MarkovModel *old, int capacity, int value_capacity, int names_capacity)
{
	MarkovModel *m = markov_allocate(Max(capacity, old->capacity), Max(value_capacity, old->value_capacity),
									 Max(names_capacity, old->names_capacity));

	m->channels = old->channels;
	m->journeys = old->journeys;
	m->conversions = old->conversions;
	m->names_used = old->names_used;
	for (int row = 0; row <= old->channels; row++)
	{
		MM_CELL(m, row, COL_CONVERSION) = MM_CELL(old, row, COL_CONVERSION);
		MM_CELL(m, row, COL_NULL) = MM_CELL(old, row, COL_NULL);
		for (int c = 1; c <= old->channels; c++)
			MM_CELL(m, row, COL_CHANNEL(c)) = MM_CELL(old, row, COL_CHANNEL(c));
	}
	memcpy(MM_VALUE(m), MM_VALUE(old), VARSIZE(MM_VALUE(old)));
	memcpy(MM_NAMES(m), MM_NAMES(old), old->names_used);
	return m;
}

static void
markov_set_value(MarkovModel **model, Numeric value)
{
	Size		size = VARSIZE_ANY(value);

	if (size > (Size) (*model)->value_capacity)
		*model = markov_regrow(*model, 0, (int) size * 2, 0);
	memcpy(MM_VALUE(*model), value, size);
}

static bool
reserved_name(const char *name, int length)
{
	static const char *const reserved[] = {"(start)", "(conversion)", "(null)"};

	for (int i = 0; i < 3; i++)
		if ((int) strlen(reserved[i]) == length && memcmp(reserved[i], name, length) == 0)
			return true;
	return false;
}

/* The 1-based index of a channel, 0 when absent. */
static int
markov_lookup(const MarkovModel *m, const char *name, int length)
{
	const char *p = MM_NAMES(m);

	for (int c = 1; c <= m->channels; c++)
	{
		int			l = (int) strlen(p);

		if (l == length && memcmp(p, name, length) == 0)
			return c;
		p += l + 1;
	}
	return 0;
}

/* The 1-based index of a channel, added when absent (may reallocate *model). */
static int
markov_channel(MarkovModel **model, const char *name, int length)
{
	MarkovModel *m = *model;
	int			c = markov_lookup(m, name, length);

	if (c > 0)
		return c;
	if (reserved_name(name, length))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%.*s\" is reserved for a state of the Markov chain and cannot name a channel", length, name)));
	if (memchr(name, '\0', length) != NULL)
		elog(ERROR, "markov_model: channel name holds a NUL byte");
	if (m->channels >= MARKOV_MAX_CHANNELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a markov_model holds at most %d channels", MARKOV_MAX_CHANNELS)));
	if (m->channels == m->capacity || m->names_used + length + 1 > m->names_capacity)
	{
		int			capacity = m->capacity;
		int			names = m->names_capacity;

		if (m->channels == m->capacity)
			capacity = Min(Max(8, capacity * 2), MARKOV_MAX_CHANNELS);
		if (m->names_used + length + 1 > names)
			names = Max(names * 2, m->names_used + length + 1 + 64);
		m = markov_regrow(m, capacity, 0, names);
		*model = m;
	}
	memcpy(MM_NAMES(m) + m->names_used, name, length);
	MM_NAMES(m)[m->names_used + length] = '\0';
	m->names_used += length + 1;
	m->channels++;
	return m->channels;
}

static void
count_add(int64 *cell, int64 count)
{
	if (pg_add_s64_overflow(*cell, count, cell))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("markov_model transition count is out of range")));
}

static const char **
markov_names(const MarkovModel *m)
{
	const char **names = palloc(sizeof(char *) * (m->channels + 1));
	const char *p = MM_NAMES(m);

	names[0] = "(start)";
	for (int c = 1; c <= m->channels; c++)
	{
		names[c] = p;
		p += strlen(p) + 1;
	}
	return names;
}

static const char **sort_names;

static int
channel_by_name(const void *a, const void *b)
{
	return strcmp(sort_names[*(const int *) a], sort_names[*(const int *) b]);
}

/* order[k] (k = 1..C): the channel whose name sorts k-th (byte order); order[0] = 0. */
static int *
markov_order(const MarkovModel *m, const char **names)
{
	int		   *order = palloc(sizeof(int) * (m->channels + 1));

	for (int c = 0; c <= m->channels; c++)
		order[c] = c;
	sort_names = names;
	qsort(order + 1, m->channels, sizeof(int), channel_by_name);
	return order;
}

/* A model whose storage came through a table or a parallel worker, as a plain 4-byte varlena. */
static MarkovModel *
markov_arg(FunctionCallInfo fcinfo, int n)
{
	MarkovModel *m = (MarkovModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(n));

	if (m->version != MARKOV_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("markov_model version %d is not supported", m->version)));
	return m;
}

/*
 * Builds a model from parsed input, validating it: channel names distinct and not reserved,
 * (from, to) strictly ascending, from 0..C, to 1..C+2 (C+1: conversion, C+2: null), (start)
 * only to channels, counts > 0, journeys = the counts out of (start), conversions = the counts
 * into (conversion), each channel entered as often as it is left and entered at least once, the
 * total value >= 0, and 0 without conversions. Errors raise code (22P02 text, 22P03 binary).
 */
static MarkovModel *
markov_build(int errcode_, int64 journeys, int64 conversions, Numeric value, int channels, char **names,
			 int entries, const int32 *from, const int32 *to, const int64 *counts)
{
	MarkovModel *m;
	int			names_size = 0;
	int64		out_of_start = 0;
	int64		into_conversion = 0;
	int64	   *in_flow;
	int64	   *out_flow;

	if (channels < 0 || channels > MARKOV_MAX_CHANNELS)
		ereport(ERROR,
				(errcode(channels > MARKOV_MAX_CHANNELS ? ERRCODE_PROGRAM_LIMIT_EXCEEDED : errcode_),
				 errmsg("a markov_model holds at most %d channels", MARKOV_MAX_CHANNELS)));
	for (int c = 0; c < channels; c++)
	{
		int			length = (int) strlen(names[c]);

		if (reserved_name(names[c], length))
			ereport(ERROR, (errcode(errcode_), errmsg("invalid markov_model: \"%s\" cannot name a channel", names[c])));
		names_size += length + 1;
	}
	m = markov_new(channels, Max(names_size, 1));
	for (int c = 0; c < channels; c++)
	{
		int			length = (int) strlen(names[c]);

		CHECK_FOR_INTERRUPTS();
		if (markov_lookup(m, names[c], length) > 0)
			ereport(ERROR, (errcode(errcode_), errmsg("invalid markov_model: channel \"%s\" appears twice", names[c])));
		memcpy(MM_NAMES(m) + m->names_used, names[c], length + 1);
		m->names_used += length + 1;
		m->channels++;
	}
	in_flow = palloc0(sizeof(int64) * (channels + 1));
	out_flow = palloc0(sizeof(int64) * (channels + 1));
	for (int e = 0; e < entries; e++)
	{
		int			col;

		CHECK_FOR_INTERRUPTS();
		if (from[e] < 0 || from[e] > channels || to[e] < 1 || to[e] > channels + 2 || counts[e] <= 0 ||
			(from[e] == 0 && to[e] > channels))
			ereport(ERROR, (errcode(errcode_), errmsg("invalid markov_model: bad transition %d>%d:" INT64_FORMAT,
													  from[e], to[e], counts[e])));
		if (e > 0 && (from[e] < from[e - 1] || (from[e] == from[e - 1] && to[e] <= to[e - 1])))
			ereport(ERROR, (errcode(errcode_), errmsg("invalid markov_model: transitions must be listed once each, in ascending order")));
		col = to[e] == channels + 1 ? COL_CONVERSION : to[e] == channels + 2 ? COL_NULL : COL_CHANNEL(to[e]);
		MM_CELL(m, from[e], col) = counts[e];
		if (from[e] == 0)
		{
			if (pg_add_s64_overflow(out_of_start, counts[e], &out_of_start))
				ereport(ERROR, (errcode(errcode_), errmsg("invalid markov_model: counts out of range")));
		}
		else if (pg_add_s64_overflow(out_flow[from[e]], counts[e], &out_flow[from[e]]))
			ereport(ERROR, (errcode(errcode_), errmsg("invalid markov_model: counts out of range")));
		if (to[e] <= channels)
		{
			if (pg_add_s64_overflow(in_flow[to[e]], counts[e], &in_flow[to[e]]))
				ereport(ERROR, (errcode(errcode_), errmsg("invalid markov_model: counts out of range")));
		}
		else if (to[e] == channels + 1 && pg_add_s64_overflow(into_conversion, counts[e], &into_conversion))
			ereport(ERROR, (errcode(errcode_), errmsg("invalid markov_model: counts out of range")));
	}
	if (out_of_start != journeys || into_conversion != conversions || journeys < 0)
		ereport(ERROR,
				(errcode(errcode_),
				 errmsg("invalid markov_model: journeys and conversions must equal the transitions out of (start) and into (conversion)")));
	for (int c = 1; c <= channels; c++)
		if (in_flow[c] != out_flow[c] || in_flow[c] == 0)
			ereport(ERROR,
					(errcode(errcode_),
					 errmsg("invalid markov_model: channel \"%s\" must be entered as often as it is left, and at least once", names[c - 1])));
	if (numeric_is_nan(value) || numeric_is_inf(value) ||
		numeric_negative(value) || (conversions == 0 && !numeric_zero(value)))
		ereport(ERROR,
				(errcode(errcode_),
				 errmsg("invalid markov_model: the total value must be finite, not negative, and 0 without conversions")));
	m->journeys = journeys;
	m->conversions = conversions;
	markov_set_value(&m, value);
	return m;
}

/* The transitions in canonical form: channels by name, (from, to) ascending. Returns the count. */
static int
markov_entries(const MarkovModel *m, const int *order, int32 **from, int32 **to, int64 **counts)
{
	int			C = m->channels;
	int			capacity = 16;
	int			n = 0;
	int		   *rank = palloc(sizeof(int) * (C + 1));

	for (int k = 0; k <= C; k++)
		rank[order[k]] = k;
	*from = palloc(sizeof(int32) * capacity);
	*to = palloc(sizeof(int32) * capacity);
	*counts = palloc(sizeof(int64) * capacity);
	for (int k = 0; k <= C; k++)
	{
		int			row = order[k];

		CHECK_FOR_INTERRUPTS();
		for (int t = 1; t <= C + 2; t++)
		{
			int			col = t == C + 1 ? COL_CONVERSION : t == C + 2 ? COL_NULL : COL_CHANNEL(order[t]);
			int64		count = MM_CELL(m, row, col);

			if (count == 0)
				continue;
			if (n == capacity)
			{
				capacity *= 2;
				*from = repalloc(*from, sizeof(int32) * capacity);
				*to = repalloc(*to, sizeof(int32) * capacity);
				*counts = repalloc(*counts, sizeof(int64) * capacity);
			}
			(*from)[n] = k;
			(*to)[n] = t;
			(*counts)[n] = count;
			n++;
		}
	}
	pfree(rank);
	return n;
}

static int64
parse_count(const char **p, const char *input)
{
	const char *start = *p;
	int64		value = 0;

	if (!isdigit((unsigned char) **p))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type markov_model: \"%s\"", input)));
	while (isdigit((unsigned char) **p))
	{
		if (pg_mul_s64_overflow(value, 10, &value) || pg_add_s64_overflow(value, **p - '0', &value))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type markov_model: \"%s\"", input),
					 errdetail("The number at \"%.20s\" is out of range.", start)));
		(*p)++;
	}
	return value;
}

static void
expect_char(const char **p, char c, const char *input)
{
	if (**p != c)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type markov_model: \"%s\"", input),
				 errdetail("Expected \"%c\" at \"%.20s\".", c, *p)));
	(*p)++;
}

PG_FUNCTION_INFO_V1(crm_markov_model_in);
/* Text input: 1;journeys;conversions;value;from>to:count,...;{channel,...} */
Datum
crm_markov_model_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int64		journeys,
				conversions,
				version;
	const char *semicolon;
	char	   *value_text;
	Numeric		value;
	int			capacity = 16,
				entries = 0;
	int32	   *from = palloc(sizeof(int32) * capacity);
	int32	   *to = palloc(sizeof(int32) * capacity);
	int64	   *counts = palloc(sizeof(int64) * capacity);
	ArrayType  *channel_array;
	Datum	   *channel_values;
	bool	   *channel_nulls;
	int			channels;
	char	  **names;

	version = parse_count(&p, input);
	if (version != MARKOV_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type markov_model: \"%s\"", input),
				 errdetail("Unknown version " INT64_FORMAT "; this version reads version %d.", version, MARKOV_VERSION)));
	expect_char(&p, ';', input);
	journeys = parse_count(&p, input);
	expect_char(&p, ';', input);
	conversions = parse_count(&p, input);
	expect_char(&p, ';', input);
	semicolon = strchr(p, ';');
	if (semicolon == NULL || semicolon == p)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type markov_model: \"%s\"", input),
				 errdetail("Expected the total value at \"%.20s\".", p)));
	value_text = pnstrdup(p, semicolon - p);
	for (const char *q = value_text; *q; q++)
		if (!(isdigit((unsigned char) *q) || *q == '.'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type markov_model: \"%s\"", input),
					 errdetail("The total value must be written as a plain decimal number.")));
	value = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(value_text),
												ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	p = semicolon + 1;
	while (*p != ';')
	{
		int64		f,
					t;

		CHECK_FOR_INTERRUPTS();
		if (entries > 0)
			expect_char(&p, ',', input);
		f = parse_count(&p, input);
		expect_char(&p, '>', input);
		t = parse_count(&p, input);
		expect_char(&p, ':', input);
		if (entries == capacity)
		{
			capacity *= 2;
			from = repalloc_huge(from, sizeof(int32) * capacity);
			to = repalloc_huge(to, sizeof(int32) * capacity);
			counts = repalloc_huge(counts, sizeof(int64) * capacity);
		}
		if (f > MARKOV_MAX_CHANNELS || t > MARKOV_MAX_CHANNELS + 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type markov_model: \"%s\"", input),
					 errdetail("A state index is out of range.")));
		from[entries] = (int32) f;
		to[entries] = (int32) t;
		counts[entries] = parse_count(&p, input);
		entries++;
		if (*p == '\0')
			expect_char(&p, ';', input);
	}
	p++;
	channel_array = DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, (char *) p, TEXTOID, -1));
	if (ARR_NDIM(channel_array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type markov_model: \"%s\"", input),
				 errdetail("The channels must be a one-dimensional array.")));
	deconstruct_array(channel_array, TEXTOID, -1, false, TYPALIGN_INT, &channel_values, &channel_nulls, &channels);
	names = palloc(sizeof(char *) * Max(channels, 1));
	for (int c = 0; c < channels; c++)
	{
		if (channel_nulls[c])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type markov_model: \"%s\"", input),
					 errdetail("A channel name is NULL.")));
		names[c] = TextDatumGetCString(channel_values[c]);
	}
	PG_RETURN_POINTER(markov_build(ERRCODE_INVALID_TEXT_REPRESENTATION, journeys, conversions, value,
								   channels, names, entries, from, to, counts));
}

static char *
value_string(const MarkovModel *m)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(MM_VALUE(m))));
}

PG_FUNCTION_INFO_V1(crm_markov_model_out);
/* Text output, canonical: channels by name (byte order), transitions ascending. */
Datum
crm_markov_model_out(PG_FUNCTION_ARGS)
{
	MarkovModel *m = markov_arg(fcinfo, 0);
	const char **names = markov_names(m);
	int		   *order = markov_order(m, names);
	int32	   *from,
			   *to;
	int64	   *counts;
	int			entries = markov_entries(m, order, &from, &to, &counts);
	StringInfoData out;
	Datum	   *elements = palloc(sizeof(Datum) * Max(m->channels, 1));

	initStringInfo(&out);
	appendStringInfo(&out, "%d;" INT64_FORMAT ";" INT64_FORMAT ";%s;", MARKOV_VERSION, m->journeys,
					 m->conversions, value_string(m));
	for (int e = 0; e < entries; e++)
		appendStringInfo(&out, "%s%d>%d:" INT64_FORMAT, e > 0 ? "," : "", from[e], to[e], counts[e]);
	appendStringInfoChar(&out, ';');
	for (int k = 1; k <= m->channels; k++)
		elements[k - 1] = CStringGetTextDatum(names[order[k]]);
	appendStringInfoString(&out, OidOutputFunctionCall(F_ARRAY_OUT, PointerGetDatum(
		construct_array(elements, m->channels, TEXTOID, -1, false, TYPALIGN_INT))));
	PG_RETURN_CSTRING(out.data);
}

PG_FUNCTION_INFO_V1(crm_markov_model_send);
/*
 * Binary output: int32 version, int64 journeys, int64 conversions, the total value as text,
 * int32 C, C channel names, int32 E, E transitions (int32 from, int32 to, int64 count); each text
 * as an int32 byte length and the bytes (database encoding). Canonical order as the text form.
 */
Datum
crm_markov_model_send(PG_FUNCTION_ARGS)
{
	MarkovModel *m = markov_arg(fcinfo, 0);
	const char **names = markov_names(m);
	int		   *order = markov_order(m, names);
	int32	   *from,
			   *to;
	int64	   *counts;
	int			entries = markov_entries(m, order, &from, &to, &counts);
	char	   *value = value_string(m);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, MARKOV_VERSION);
	pq_sendint64(&buffer, m->journeys);
	pq_sendint64(&buffer, m->conversions);
	pq_sendint32(&buffer, (int32) strlen(value));
	pq_sendbytes(&buffer, value, strlen(value));
	pq_sendint32(&buffer, m->channels);
	for (int k = 1; k <= m->channels; k++)
	{
		const char *name = names[order[k]];

		pq_sendint32(&buffer, (int32) strlen(name));
		pq_sendbytes(&buffer, name, strlen(name));
	}
	pq_sendint32(&buffer, entries);
	for (int e = 0; e < entries; e++)
	{
		pq_sendint32(&buffer, from[e]);
		pq_sendint32(&buffer, to[e]);
		pq_sendint64(&buffer, counts[e]);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

static void
need_bytes(StringInfo buffer, int64 bytes)
{
	if (bytes < 0 || bytes > buffer->len - buffer->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary markov_model: truncated")));
}

static char *
recv_text(StringInfo buffer)
{
	int32		length;
	const char *bytes;

	need_bytes(buffer, 4);
	length = pq_getmsgint(buffer, 4);
	need_bytes(buffer, length);
	bytes = pq_getmsgbytes(buffer, length);
	if (memchr(bytes, '\0', length) != NULL || !pg_verify_mbstr(GetDatabaseEncoding(), bytes, length, true))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary markov_model: a text is not valid in the database encoding")));
	return pnstrdup(bytes, length);
}

PG_FUNCTION_INFO_V1(crm_markov_model_recv);
/* Binary input: the form markov_model_send writes, validated like the text form. */
Datum
crm_markov_model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int64		journeys,
				conversions;
	char	   *value_text;
	int32		channels,
				entries;
	char	  **names;
	int32	   *from,
			   *to;
	int64	   *counts;
	Numeric		value;

	need_bytes(buffer, 20);
	if (pq_getmsgint(buffer, 4) != MARKOV_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary markov_model: unknown version")));
	journeys = pq_getmsgint64(buffer);
	conversions = pq_getmsgint64(buffer);
	value_text = recv_text(buffer);
	if (value_text[0] == '\0' || strspn(value_text, "0123456789.") != strlen(value_text) ||
		strchr(value_text, '.') != strrchr(value_text, '.') || value_text[0] == '.' ||
		value_text[strlen(value_text) - 1] == '.')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary markov_model: bad total value")));
	value = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(value_text),
												ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	need_bytes(buffer, 4);
	channels = pq_getmsgint(buffer, 4);
	if (channels < 0 || channels > MARKOV_MAX_CHANNELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary markov_model: bad channel count")));
	names = palloc(sizeof(char *) * Max(channels, 1));
	for (int c = 0; c < channels; c++)
		names[c] = recv_text(buffer);
	need_bytes(buffer, 4);
	entries = pq_getmsgint(buffer, 4);
	if (entries < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary markov_model: bad transition count")));
	need_bytes(buffer, (int64) entries * 16);
	from = palloc(sizeof(int32) * Max(entries, 1));
	to = palloc(sizeof(int32) * Max(entries, 1));
	counts = palloc(sizeof(int64) * Max(entries, 1));
	for (int e = 0; e < entries; e++)
	{
		from[e] = pq_getmsgint(buffer, 4);
		to[e] = pq_getmsgint(buffer, 4);
		counts[e] = pq_getmsgint64(buffer);
	}
	if (buffer->cursor != buffer->len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary markov_model: trailing bytes")));
	PG_RETURN_POINTER(markov_build(ERRCODE_INVALID_BINARY_REPRESENTATION, journeys, conversions, value,
								   channels, names, entries, from, to, counts));
}

/* ============================================================================================
 * The aggregate crm.markov_attribution(path, converted[, value])
 * ============================================================================================ */

/*
 * The state to update in place: the aggregate's own copy (a plain 4-byte varlena the executor
 * keeps in the aggregate context), or a new one when there is none yet. A new or reallocated
 * state lives in the current context; the executor copies it into the aggregate context and
 * frees the old one, so the old one is never freed here.
 */
static MarkovModel *
markov_state(FunctionCallInfo fcinfo)
{
	Datum		datum;
	MarkovModel *m;

	if (PG_ARGISNULL(0))
		return markov_new(8, 256);
	datum = PG_GETARG_DATUM(0);
	/* called directly (not by an aggregate), the argument is not ours to change: copy it */
	if (VARATT_IS_EXTENDED(DatumGetPointer(datum)) || !AggCheckCallContext(fcinfo, NULL))
		m = (MarkovModel *) PG_DETOAST_DATUM_COPY(datum);
	else
		m = (MarkovModel *) DatumGetPointer(datum);
	if (m->version != MARKOV_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("markov_model version %d is not supported", m->version)));
	return m;
}

static void
markov_add_value(MarkovModel **model, Numeric value)
{
	Numeric		sum = DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(MM_VALUE(*model)),
														  NumericGetDatum(value)));

	markov_set_value(model, sum);
}

static Datum
markov_transition(FunctionCallInfo fcinfo, bool with_value)
{
	MarkovModel *m;
	ArrayType  *path;
	Datum	   *elements;
	bool	   *nulls;
	int			n;
	bool		converted;
	int			previous = 0;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	path = PG_GETARG_ARRAYTYPE_P(1);
	require_vector(path, "path");
	converted = PG_GETARG_BOOL(2);
	deconstruct_array(path, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &n);
	if (n == 0)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	for (int i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("path must not contain NULL channels")));
	if (with_value && converted && !PG_ARGISNULL(3))
	{
		Numeric		value = PG_GETARG_NUMERIC(3);

		if (numeric_is_nan(value) || numeric_is_inf(value) || numeric_negative(value))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value must be a finite number not below 0")));
	}

	m = markov_state(fcinfo);
	for (int i = 0; i < n; i++)
	{
		text	   *name = DatumGetTextPP(elements[i]);
		int			c;

		CHECK_FOR_INTERRUPTS();
		c = markov_channel(&m, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
		count_add(&MM_CELL(m, previous, COL_CHANNEL(c)), 1);
		previous = c;
	}
	count_add(&MM_CELL(m, previous, converted ? COL_CONVERSION : COL_NULL), 1);
	count_add(&m->journeys, 1);
	if (converted)
	{
		count_add(&m->conversions, 1);
		if (with_value && !PG_ARGISNULL(3))
			markov_add_value(&m, PG_GETARG_NUMERIC(3));
	}
	PG_RETURN_POINTER(m);
}

PG_FUNCTION_INFO_V1(crm_markov_attribution_trans);
/* Adds one journey (path, converted) to the transition counts. */
Datum
crm_markov_attribution_trans(PG_FUNCTION_ARGS)
{
	return markov_transition(fcinfo, false);
}

PG_FUNCTION_INFO_V1(crm_markov_attribution_value_trans);
/* Adds one journey (path, converted, value) to the transition counts and the total value. */
Datum
crm_markov_attribution_value_trans(PG_FUNCTION_ARGS)
{
	return markov_transition(fcinfo, true);
}

PG_FUNCTION_INFO_V1(crm_markov_attribution_combine);
/* Adds the counts of the second model to the first (channels matched by name). */
Datum
crm_markov_attribution_combine(PG_FUNCTION_ARGS)
{
	MarkovModel *left;
	MarkovModel *right;
	int		   *map;
	const char **names;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	right = markov_arg(fcinfo, 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(markov_regrow(right, 0, 0, 0));
	left = markov_state(fcinfo);
	names = markov_names(right);
	map = palloc(sizeof(int) * (right->channels + 1));
	map[0] = 0;
	for (int c = 1; c <= right->channels; c++)
	{
		CHECK_FOR_INTERRUPTS();
		map[c] = markov_channel(&left, names[c], (int) strlen(names[c]));
	}
	for (int row = 0; row <= right->channels; row++)
	{
		CHECK_FOR_INTERRUPTS();
		count_add(&MM_CELL(left, map[row], COL_CONVERSION), MM_CELL(right, row, COL_CONVERSION));
		count_add(&MM_CELL(left, map[row], COL_NULL), MM_CELL(right, row, COL_NULL));
		for (int c = 1; c <= right->channels; c++)
			count_add(&MM_CELL(left, map[row], COL_CHANNEL(map[c])), MM_CELL(right, row, COL_CHANNEL(c)));
	}
	count_add(&left->journeys, right->journeys);
	count_add(&left->conversions, right->conversions);
	markov_add_value(&left, MM_VALUE(right));
	PG_RETURN_POINTER(left);
}

/* ============================================================================================
 * Reading a model: transition matrix, conversion probability, removal effects
 * ============================================================================================ */

static int64
row_total(const MarkovModel *m, int row)
{
	int64		total = MM_CELL(m, row, COL_CONVERSION) + MM_CELL(m, row, COL_NULL);

	for (int c = 1; c <= m->channels; c++)
		total += MM_CELL(m, row, COL_CHANNEL(c));
	return total;
}

PG_FUNCTION_INFO_V1(crm_markov_transition_matrix);
/* Rows (from_state, to_state, transitions, probability) for every transition observed. */
Datum
crm_markov_transition_matrix(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MarkovModel *m = markov_arg(fcinfo, 0);
	const char **names = markov_names(m);
	int		   *order = markov_order(m, names);
	int32	   *from,
			   *to;
	int64	   *counts;
	int			entries = markov_entries(m, order, &from, &to, &counts);
	int			C = m->channels;
	int			current = -1;
	double		total = 0;

	InitMaterializedSRF(fcinfo, 0);
	for (int e = 0; e < entries; e++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		const char *target = to[e] == C + 1 ? "(conversion)" : to[e] == C + 2 ? "(null)" : names[order[to[e]]];

		CHECK_FOR_INTERRUPTS();
		if (from[e] != current)
		{
			current = from[e];
			total = (double) row_total(m, order[current]);
		}
		values[0] = CStringGetTextDatum(names[order[from[e]]]);
		values[1] = CStringGetTextDatum(target);
		values[2] = Int64GetDatum(counts[e]);
		values[3] = Float8GetDatum((double) counts[e] / total);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * The absorbing chain over the C channels (C >= 1): A = I - Q (row-major, C x C), b = R, s.
 * LU-factorises A in place with partial pivoting (pivot[k]: the row swapped into k).
 */
typedef struct Chain
{
	int			C;
	double	   *A;
	double	   *b;
	double	   *s;
	int		   *pivot;
} Chain;

static Chain
chain_of(const MarkovModel *m, const int *order)
{
	Chain		chain;
	int			C = m->channels;

	chain.C = C;
	chain.A = palloc0(sizeof(double) * C * C);
	chain.b = palloc0(sizeof(double) * C);
	chain.s = palloc0(sizeof(double) * C);
	chain.pivot = palloc(sizeof(int) * C);
	for (int i = 0; i < C; i++)
	{
		int			row = order[i + 1];
		double		total = (double) row_total(m, row);

		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < C; j++)
			chain.A[(Size) i * C + j] = (i == j ? 1.0 : 0.0) - (double) MM_CELL(m, row, COL_CHANNEL(order[j + 1])) / total;
		chain.b[i] = (double) MM_CELL(m, row, COL_CONVERSION) / total;
		chain.s[i] = (double) MM_CELL(m, 0, COL_CHANNEL(row)) / (double) m->journeys;
	}
	return chain;
}

static void
chain_factorise(Chain *chain)
{
	int			C = chain->C;
	double	   *A = chain->A;

	for (int k = 0; k < C; k++)
	{
		int			p = k;
		double		best = fabs(A[(Size) k * C + k]);

		CHECK_FOR_INTERRUPTS();
		for (int i = k + 1; i < C; i++)
			if (fabs(A[(Size) i * C + k]) > best)
			{
				best = fabs(A[(Size) i * C + k]);
				p = i;
			}
		/* I - Q is nonsingular for an absorbing chain: every channel observed leads to absorption */
		if (best < 1e-300)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the Markov chain of this model is not absorbing")));
		chain->pivot[k] = p;
		if (p != k)
			for (int j = 0; j < C; j++)
			{
				double		t = A[(Size) k * C + j];

				A[(Size) k * C + j] = A[(Size) p * C + j];
				A[(Size) p * C + j] = t;
			}
		for (int i = k + 1; i < C; i++)
		{
			double		factor = A[(Size) i * C + k] / A[(Size) k * C + k];

			A[(Size) i * C + k] = factor;
			if (factor != 0)
				for (int j = k + 1; j < C; j++)
					A[(Size) i * C + j] -= factor * A[(Size) k * C + j];
		}
	}
}

/* Solves A x = rhs in place (rhs becomes x). */
static void
chain_solve(const Chain *chain, double *x)
{
	int			C = chain->C;
	const double *A = chain->A;

	for (int k = 0; k < C; k++)
		if (chain->pivot[k] != k)
		{
			double		t = x[k];

			x[k] = x[chain->pivot[k]];
			x[chain->pivot[k]] = t;
		}
	for (int i = 0; i < C; i++)
		for (int j = 0; j < i; j++)
			x[i] -= A[(Size) i * C + j] * x[j];
	for (int i = C - 1; i >= 0; i--)
	{
		for (int j = i + 1; j < C; j++)
			x[i] -= A[(Size) i * C + j] * x[j];
		x[i] /= A[(Size) i * C + i];
	}
}

/* Solves A^T z = rhs in place: with PA = LU, U^T w = rhs, L^T v = w, z = P^T v. */
static void
chain_solve_transposed(const Chain *chain, double *z)
{
	int			C = chain->C;
	const double *A = chain->A;

	for (int i = 0; i < C; i++)
	{
		for (int j = 0; j < i; j++)
			z[i] -= A[(Size) j * C + i] * z[j];
		z[i] /= A[(Size) i * C + i];
	}
	for (int i = C - 1; i >= 0; i--)
		for (int j = i + 1; j < C; j++)
			z[i] -= A[(Size) j * C + i] * z[j];
	for (int k = C - 1; k >= 0; k--)
		if (chain->pivot[k] != k)
		{
			double		t = z[k];

			z[k] = z[chain->pivot[k]];
			z[chain->pivot[k]] = t;
		}
}

/* x: conversion probability from each channel (sorted order); returns P(conversion). */
static double
chain_conversion(const Chain *chain, double *x)
{
	double		p = 0;

	memcpy(x, chain->b, sizeof(double) * chain->C);
	chain_solve(chain, x);
	for (int i = 0; i < chain->C; i++)
		p += chain->s[i] * x[i];
	return Min(Max(p, 0.0), 1.0);
}

PG_FUNCTION_INFO_V1(crm_markov_conversion_probability);
/* The probability that a journey from (start) ends in (conversion); NULL for an empty model. */
Datum
crm_markov_conversion_probability(PG_FUNCTION_ARGS)
{
	MarkovModel *m = markov_arg(fcinfo, 0);
	const char **names;
	int		   *order;
	Chain		chain;
	double	   *x;

	if (m->journeys == 0 || m->channels == 0)
		PG_RETURN_NULL();
	names = markov_names(m);
	order = markov_order(m, names);
	chain = chain_of(m, order);
	chain_factorise(&chain);
	x = palloc(sizeof(double) * chain.C);
	PG_RETURN_FLOAT8(chain_conversion(&chain, x));
}

PG_FUNCTION_INFO_V1(crm_markov_removal_effects);
/*
 * Rows (channel, conversion_probability_without, removal_effect, share, credit) per channel, by
 * name. Without conversions the removal effect, share and credit are NULL.
 */
Datum
crm_markov_removal_effects(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MarkovModel *m = markov_arg(fcinfo, 0);
	const char **names;
	int		   *order;
	Chain		chain;
	int			C = m->channels;
	double	   *x,
			   *z,
			   *u,
			   *without,
			   *effect;
	double		p,
				effect_sum = 0;
	int64	   *credit_units = NULL;
	int			scale = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (m->journeys == 0 || C == 0)
		return (Datum) 0;
	names = markov_names(m);
	order = markov_order(m, names);
	chain = chain_of(m, order);
	chain_factorise(&chain);
	x = palloc(sizeof(double) * C);
	z = palloc(sizeof(double) * C);
	u = palloc(sizeof(double) * C);
	without = palloc(sizeof(double) * C);
	effect = palloc(sizeof(double) * C);
	p = chain_conversion(&chain, x);
	memcpy(z, chain.s, sizeof(double) * C);
	chain_solve_transposed(&chain, z);	/* z_c: expected visits to c from (start) */
	for (int c = 0; c < C; c++)
	{
		double		reach;

		CHECK_FOR_INTERRUPTS();
		memset(u, 0, sizeof(double) * C);
		u[c] = 1;
		chain_solve(&chain, u); /* u[c]: expected visits to c from c, >= 1 */
		reach = Min(Max(z[c] / u[c], 0.0), 1.0);
		without[c] = Min(Max(p - reach * x[c], 0.0), p);
		effect[c] = p > 0 ? 1.0 - without[c] / p : 0;
		effect_sum += effect[c];
	}
	if (p > 0 && effect_sum > 0)
	{
		int64		units = numeric_units(MM_VALUE(m), &scale, "total value");

		credit_units = palloc(sizeof(int64) * C);
		split_units(units, C, NULL, effect, credit_units);
	}
	for (int c = 0; c < C; c++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(names[order[c + 1]]);
		values[1] = Float8GetDatum(without[c]);
		if (credit_units == NULL)
			nulls[2] = nulls[3] = nulls[4] = true;
		else
		{
			values[2] = Float8GetDatum(effect[c]);
			values[3] = Float8GetDatum(effect[c] / effect_sum);
			values[4] = units_numeric(credit_units[c], scale);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
