/*
 * ets.c: exponential smoothing state-space models (ETS, Hyndman et al. 2008), as in R's
 * forecast::ets: crm.ets_fit(period, value, season_length [, model [, fixed]]) and
 * crm.ets_forecast(model, horizon, levels).
 *
 * The aggregate's state is the base type crm.ets_model holding the (period, value) points as they
 * arrive (unsorted; combine concatenates two states, so parallel plans and Citus split the rows);
 * the final function sorts them, checks that the periods are regular (every step the same number of
 * months, or of days), fits the candidate models and returns the same type with the chosen model
 * filled in. See docs/ets.md.
 *
 * A model ETS(E,T,S): error A (additive) or M (multiplicative), trend N, A or Ad (damped), season
 * N, A or M. With l the level, b the slope, s the seasonal states (s[m-1] the oldest), q = l + phi b
 * (q = l without trend) and f = q (+ or x) s[m-1] the one-step forecast, an observation y gives the
 * error e = y - f (A) or (y - f) / f (M) and updates (error-correction form, beta = alpha beta*):
 *   l' = q + alpha (p - q),  p = y (- or /) s[m-1]
 *   b' = phi b + (beta / alpha) (l' - l - phi b)
 *   s' = s[m-1] + gamma (t - s[m-1]),  t = y (- or /) q
 * The objective is R's: n log(sum e^2) (+ 2 sum log|f| for multiplicative errors), minimised by
 * Nelder-Mead over the free smoothing parameters and the initial states (l0, b0 and m - 1 seasonal
 * states; the last is set so that they sum to 0, or to m when multiplicative) from R's starting
 * values; loglik = -objective / 2, AIC = objective + 2 k, k = the free values + 1.
 */
#include "crm.h"

#include <float.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#define ETS_VERSION 1
#define ETS_MAX_SEASON 24
#define ETS_MAX_POINTS 100000
#define ETS_MAX_HORIZON 1000
/* prediction levels per forecast: each is a pair of columns per step (80 and 95 are the usual two) */
#define ETS_MAX_LEVELS 100
#define ETS_MAX_STATES (2 + ETS_MAX_SEASON)
#define ETS_MAX_DIMENSIONS (4 + 1 + 1 + ETS_MAX_SEASON - 1)
#define ETS_MAX_ITERATIONS 2000
#define ETS_TOLERANCE 1e-8
#define ETS_PATHS 5000
#define ETS_SEED UINT64CONST(20081)

/* R's default bounds (forecast::ets lower and upper): alpha, beta, gamma, phi. */
static const double ets_lower[4] = {1e-4, 1e-4, 1e-4, 0.8};
static const double ets_upper[4] = {0.9999, 0.9999, 0.9999, 0.98};
static const char *const ets_parameter_names[4] = {"alpha", "beta", "gamma", "phi"};

typedef struct EtsPoint
{
	double		value;
	int32		period;			/* DateADT */
	int32		padding;
} EtsPoint;

typedef struct EtsModel
{
	int32		vl_len_;
	int32		capacity;		/* points allocated */
	int32		count;			/* points in use */
	int32		season_length;	/* m, 1 .. ETS_MAX_SEASON */
	char		request[4];		/* error, trend, season ('Z': choose), damped ('Z', 'Y', 'N') */
	int32		fixed_mask;		/* bit i: parameter i (alpha, beta, gamma, phi) fixed */
	int32		fitted;			/* 1 when the fields below hold a fitted model */
	char		method[4];		/* the fitted model: error, trend, season, damped ('Y'/'N') */
	int32		converged;
	double		fixed[4];
	double		par[4];			/* alpha, beta, gamma, phi (0, 0, 0, 1 when not in the model) */
	double		initial[ETS_MAX_STATES];	/* l0, b0, s0 .. s(m-1): s0 the most recent */
	double		final[ETS_MAX_STATES];	/* the states after the last point, same layout */
	double		loglik;
	double		aic;
	double		aicc;
	double		bic;
	double		sigma2;
	double		mse;
	EtsPoint	points[FLEXIBLE_ARRAY_MEMBER];
} EtsModel;

#define ETS_HEADER offsetof(EtsModel, points)
#define PG_GETARG_ETS(n) ((EtsModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(n)))

static EtsModel *
ets_allocate(int32 capacity, MemoryContext context)
{
	EtsModel   *model;

	capacity = Max(capacity, 1);
	model = MemoryContextAllocZero(context, ETS_HEADER + sizeof(EtsPoint) * capacity);
	SET_VARSIZE(model, ETS_HEADER + sizeof(EtsPoint) * capacity);
	model->capacity = capacity;
	return model;
}

static EtsModel *
ets_copy(const EtsModel *model, int32 capacity, MemoryContext context)
{
	EtsModel   *copy = ets_allocate(Max(capacity, model->count), context);
	int32		keep = copy->capacity;

	memcpy(copy, model, ETS_HEADER + sizeof(EtsPoint) * model->count);
	copy->capacity = keep;
	SET_VARSIZE(copy, ETS_HEADER + sizeof(EtsPoint) * keep);
	return copy;
}

static inline int
ets_state_count(char trend, char season, int m)
{
	return 1 + (trend != 'N') + (season != 'N' ? m : 0);
}

/* Periods are dates from 0001-01-01 (AD) to the last date PostgreSQL holds. */
static inline bool
ets_period_valid(DateADT day)
{
	return day >= (DateADT) (date2j(1, 1, 1) - POSTGRES_EPOCH_JDATE) && IS_VALID_DATE(day);
}

/* ---- the model string and the fixed parameters --------------------------------------------- */

/* Parses 'ZZZ', 'AAdM', ... into request; returns an error detail or NULL. */
static const char *
ets_parse_request(const char *text, int m, char *request)
{
	size_t		length = strlen(text);
	char		e,
				t,
				s,
				d = 'Z';

	if (length == 3)
	{
		e = text[0];
		t = text[1];
		s = text[2];
		if (t == 'A')
			d = 'N';
		else if (t == 'N')
			d = 'N';
	}
	else if (length == 4 && text[2] == 'd')
	{
		e = text[0];
		t = text[1];
		s = text[3];
		d = 'Y';
		if (t != 'A' && t != 'Z')
			return "A damped trend is written Ad or Zd.";
	}
	else
		return "The model is three letters (error, trend, season), the trend optionally followed by d (damped): 'ZZZ', 'ANN', 'AAdM'.";
	if (e != 'A' && e != 'M' && e != 'Z')
		return "The error is A, M or Z.";
	if (t == 'M')
		return "A multiplicative trend is not supported (forecast::ets excludes it by default); use A, Ad, N or Z.";
	if (t != 'N' && t != 'A' && t != 'Z')
		return "The trend is N, A, Ad or Z.";
	if (s != 'N' && s != 'A' && s != 'M' && s != 'Z')
		return "The season is N, A, M or Z.";
	if (m == 1 && (s == 'A' || s == 'M'))
		return "A seasonal model needs a season length of 2 or more.";
	if (e == 'A' && s == 'M')
		return "Additive errors with multiplicative seasonality are excluded, as in forecast::ets (restrict = TRUE).";
	request[0] = e;
	request[1] = t;
	request[2] = (m == 1 && s == 'Z') ? 'N' : s;
	request[3] = d;
	return NULL;
}

static void
ets_request_text(const char *request, StringInfo out)
{
	appendStringInfoChar(out, request[0]);
	appendStringInfoChar(out, request[1]);
	if (request[3] == 'Y')
		appendStringInfoChar(out, 'd');
	appendStringInfoChar(out, request[2]);
}

static void
ets_method_text(const EtsModel *model, StringInfo out)
{
	appendStringInfo(out, "ETS(%c,%c%s,%c)", model->method[0], model->method[1],
					 model->method[3] == 'Y' ? "d" : "", model->method[2]);
}

/* Reads {"alpha": 0.3, ...} into the model's fixed parameters. */
static void
ets_read_fixed(EtsModel *model, Jsonb *fixed)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;
	char	   *key = NULL;

	if (!JB_ROOT_IS_OBJECT(fixed))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the fixed parameters must be a JSON object"),
				 errhint("For example '{\"alpha\": 0.5}'; the keys are alpha, beta, gamma and phi.")));
	it = JsonbIteratorInit(&fixed->root);
	while ((token = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (token == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (token == WJB_VALUE)
		{
			int			i;
			double		x;

			for (i = 0; i < 4; i++)
				if (strcmp(key, ets_parameter_names[i]) == 0)
					break;
			if (i == 4)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown fixed parameter \"%s\"", key),
						 errhint("The keys are alpha, beta, gamma and phi.")));
			if (v.type != jbvNumeric)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the fixed parameter %s must be a number", key)));
			x = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
			if (!(x >= ets_lower[i] && x <= (i == 3 ? 1.0 : ets_upper[i])))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the fixed parameter %s must be between %g and %g", key, ets_lower[i],
								i == 3 ? 1.0 : ets_upper[i]),
						 errdetail("The value given was %g.", x)));
			model->fixed_mask |= 1 << i;
			model->fixed[i] = x;
		}
	}
	if ((model->fixed_mask & 1) && (model->fixed_mask & 2) && model->fixed[1] > model->fixed[0])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the fixed beta must not exceed the fixed alpha")));
}

/* ---- the aggregate ------------------------------------------------------------------------- */

static void
ets_check_season_length(int32 m)
{
	if (m < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the season length must be 1 or more"),
				 errdetail("The season length given was %d; 1 means no seasonality.", m)));
	if (m > ETS_MAX_SEASON)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the season length must not exceed %d", ETS_MAX_SEASON),
				 errdetail("The season length given was %d.", m),
				 errhint("forecast::ets has the same limit; use 1 for a non-seasonal model of such data.")));
}

PG_FUNCTION_INFO_V1(crm_ets_transition);
/*
 * (state, period, value, season_length [, model [, fixed]]): adds one point. Rows with a NULL period
 * or value are skipped; the season length, model and fixed parameters are read from the first row
 * and must not be NULL.
 */
Datum
crm_ets_transition(PG_FUNCTION_ARGS)
{
	bool		in_aggregate = AggCheckCallContext(fcinfo, NULL) != 0;
	EtsModel   *state;
	double		value;
	int32		m;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the season length must not be NULL")));
	m = PG_GETARG_INT32(3);
	if (PG_NARGS() > 4 && PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the model must not be NULL"),
				 errhint("'ZZZ' chooses every component.")));
	if (PG_NARGS() > 5 && PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the fixed parameters must not be NULL"),
				 errhint("'{}' fixes none.")));
	if (PG_ARGISNULL(0))
	{
		const char *model_text = "ZZZ";
		const char *problem;

		if (PG_NARGS() > 4)
			model_text = text_to_cstring(PG_GETARG_TEXT_PP(4));

		if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
			PG_RETURN_NULL();
		ets_check_season_length(m);
		state = ets_allocate(64, CurrentMemoryContext);
		state->season_length = m;
		state->par[3] = 1;
		if ((problem = ets_parse_request(model_text, m, state->request)) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid ETS model \"%s\"", model_text),
					 errdetail("%s", problem)));
		if (PG_NARGS() > 5)
			ets_read_fixed(state, PG_GETARG_JSONB_P(5));
	}
	else
	{
		Datum		raw = PG_GETARG_DATUM(0);

		state = (EtsModel *) PG_DETOAST_DATUM(raw);
		if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
			PG_RETURN_POINTER(state);
		if (!in_aggregate || (Pointer) state != DatumGetPointer(raw))
			state = ets_copy(state, state->count + 1, CurrentMemoryContext);
		if (state->fitted)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("points cannot be added to a fitted ETS model")));
		if (m != state->season_length)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the season length must be the same in every row")));
	}
	value = PG_GETARG_FLOAT8(2);
	if (!isfinite(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a value must be a finite number"),
				 errdetail("The value given was %g.", value)));
	if (DATE_NOT_FINITE(PG_GETARG_DATEADT(1)) || !ets_period_valid(PG_GETARG_DATEADT(1)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a period must be a finite date from 0001-01-01 on")));
	if (state->count >= ETS_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an ETS fit takes at most %d points", ETS_MAX_POINTS)));
	if (state->count == state->capacity)
		state = ets_copy(state, Min(state->capacity * 2, ETS_MAX_POINTS), CurrentMemoryContext);
	state->points[state->count].period = PG_GETARG_DATEADT(1);
	state->points[state->count].value = value;
	state->count++;
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_ets_combine);
/* Both states' points together (strict: a NULL state is the other one). */
Datum
crm_ets_combine(PG_FUNCTION_ARGS)
{
	EtsModel   *left = PG_GETARG_ETS(0);
	EtsModel   *right = PG_GETARG_ETS(1);
	EtsModel   *result;

	if (left->fitted || right->fitted)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fitted ETS models cannot be combined")));
	if (left->season_length != right->season_length || memcmp(left->request, right->request, 4) != 0 ||
		left->fixed_mask != right->fixed_mask || memcmp(left->fixed, right->fixed, sizeof(left->fixed)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ETS states with different season lengths, models or fixed parameters cannot be combined")));
	if (left->count + right->count > ETS_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an ETS fit takes at most %d points", ETS_MAX_POINTS)));
	result = ets_copy(left, left->count + right->count, CurrentMemoryContext);
	memcpy(result->points + left->count, right->points, sizeof(EtsPoint) * right->count);
	result->count = left->count + right->count;
	PG_RETURN_POINTER(result);
}

static int
ets_point_compare(const void *a, const void *b)
{
	const EtsPoint *x = a;
	const EtsPoint *y = b;

	return (x->period > y->period) - (x->period < y->period);
}

/* A date as YYYY-MM-DD, whatever the DateStyle. */
static char *
ets_date_text(DateADT day)
{
	int			y,
				m,
				d;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	return psprintf("%04d-%02d-%02d", y, m, d);
}

static int32
ets_months(DateADT day, int *mday)
{
	int			y,
				m,
				d;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	*mday = d;
	return y * 12 + (m - 1);
}

/*
 * Why sorted points are not a regular series (NULL when they are): *months > 0 when every step is
 * that many months (same day of the month), else *days the step in days.
 */
static const char *
ets_regularity(const EtsModel *model, int32 *months, int32 *days)
{
	int32		step_months = 0,
				step_days = 0;
	bool		by_month = true,
				by_day = true;
	int			first_mday;

	*months = 0;
	*days = 1;
	if (model->count < 2)
		return NULL;
	(void) ets_months(model->points[0].period, &first_mday);
	for (int32 i = 1; i < model->count; i++)
	{
		int			mday;
		int32		a = ets_months(model->points[i - 1].period, &mday);
		int32		b = ets_months(model->points[i].period, &mday);
		int32		dd = model->points[i].period - model->points[i - 1].period;

		if (dd == 0)
			return psprintf("The period %s occurs twice.",
							ets_date_text(model->points[i].period));
		if (mday != first_mday)
			by_month = false;
		if (i == 1)
		{
			step_months = b - a;
			step_days = dd;
		}
		if (b - a != step_months || step_months <= 0)
			by_month = false;
		if (dd != step_days)
			by_day = false;
		if (!by_month && !by_day)
			return psprintf("The step from %s to %s differs from the first step; a gap or an irregular period.",
							ets_date_text(model->points[i - 1].period),
							ets_date_text(model->points[i].period));
	}
	if (by_month)
		*months = step_months;
	else
	{
		*months = 0;
		*days = step_days;
	}
	return NULL;
}

/* ---- the model: one pass over the data -------------------------------------------------------- */

typedef struct EtsProblem
{
	const double *y;
	int			n;
	int			m;				/* season length of the model (1 without season) */
	char		error;
	char		trend;
	char		season;
	bool		damped;
	int			index[4];		/* position of alpha, beta, gamma, phi in theta, or -1 when fixed/absent */
	double		value[4];		/* their values when fixed or absent */
	int			states_at;		/* position of l0 in theta */
	int			dimensions;
} EtsProblem;

typedef struct EtsRun
{
	double		objective;
	double		sse;
	double		final[ETS_MAX_STATES];
	double		initial[ETS_MAX_STATES];
} EtsRun;

static inline void
ets_parameters(const EtsProblem *p, const double *theta, double *par)
{
	for (int i = 0; i < 4; i++)
		par[i] = p->index[i] >= 0 ? theta[p->index[i]] : p->value[i];
}

/*
 * Whether every root of forecast::ets's characteristic polynomial of a seasonal model,
 * phi (1 - alpha - gamma) + (alpha + beta - alpha phi + gamma - 1) z + (alpha + beta - alpha phi)
 * (z^2 + ... + z^(m-1)) + (alpha + beta - phi) z^m + z^(m+1), lies inside the unit circle: the
 * Schur-Cohn test (R finds the roots with polyroot and compares their moduli with 1 + 1e-10).
 */
static bool
ets_roots_inside(double alpha, double beta, double gamma, double phi, int m, bool unit_root)
{
	double		buffers[2][ETS_MAX_SEASON + 2];
	double	   *a = buffers[0];
	int			d = m + 1;

	a[0] = phi * (1 - alpha - gamma);
	a[1] = alpha + beta - alpha * phi + gamma - 1;
	for (int i = 2; i < m; i++)
		a[i] = alpha + beta - alpha * phi;
	a[m] = alpha + beta - phi;
	a[m + 1] = 1;
	if (unit_root)
	{
		/*
		 * Without trend (beta 0, phi 1) the polynomial is (z - 1) times z^m + alpha (z^(m-1) +
		 * ... + z) + alpha + gamma - 1: R accepts the root 1 (it rejects moduli above 1 + 1e-10),
		 * the strict test below would reject it or not by rounding. Test the quotient.
		 */
		double	   *c = buffers[1];

		c[m] = a[m + 1];
		for (int k = m; k >= 1; k--)
			c[k - 1] = a[k] + c[k];
		a = c;
		d = m;
	}
	for (; d > 0; d--)
	{
		const double lead = a[d],
					constant = a[0];
		double	   *b = a == buffers[0] ? buffers[1] : buffers[0];
		double		scale;
		uint64		bits;
		int			exponent;

		if (!(fabs(constant) < fabs(lead)))
			return false;

		/*
		 * The next polynomial, scaled so that its leading coefficient is about 1 (the coefficients
		 * shrink about as the square of the leading one at each step). The scale is a power of
		 * two, so the scaling is exact and the comparisons are those of the unscaled recursion.
		 */
		scale = fabs(lead * a[d] - constant * a[0]);
		if (!(scale > 0) || !isfinite(scale))
			return false;
		memcpy(&bits, &scale, sizeof(bits));
		exponent = (int) ((bits >> 52) & 0x7ff) - 1023;
		if (exponent > 1000 || exponent < -1000)
			return false;
		bits = (uint64) (1023 - exponent) << 52;
		memcpy(&scale, &bits, sizeof(scale));
		for (int i = 0; i < d; i++)
			b[i] = (lead * a[i + 1] - constant * a[d - 1 - i]) * scale;
		a = b;
	}
	return true;
}

/* forecast::ets's usual bounds and its admissibility conditions. */
static bool
ets_admissible(const EtsProblem *p, const double *par)
{
	double		alpha = par[0],
				beta = par[1],
				gamma = par[2],
				phi = par[3];

	if (p->index[0] >= 0 && (alpha < ets_lower[0] || alpha > ets_upper[0]))
		return false;
	if (p->index[1] >= 0 && (beta < ets_lower[1] || beta > alpha || beta > ets_upper[1]))
		return false;
	if (p->index[3] >= 0 && (phi < ets_lower[3] || phi > ets_upper[3]))
		return false;
	if (p->index[2] >= 0 && (gamma < ets_lower[2] || gamma > 1 - alpha || gamma > ets_upper[2]))
		return false;
	if (phi < 0 || phi > 1 + 1e-8)
		return false;
	if (p->season == 'N')
	{
		if (alpha < 1 - 1 / phi || alpha > 1 + 1 / phi)
			return false;
		if (p->trend != 'N' && (beta < alpha * (phi - 1) || beta > (1 + phi) * (2 - alpha)))
			return false;
	}
	else
	{
		int			m = p->m;

		if (gamma < Max(1 - 1 / phi - alpha, 0.0) || gamma > 1 + 1 / phi - alpha)
			return false;
		if (alpha < 1 - 1 / phi - gamma * (1 - m + phi + phi * m) / (2 * phi * m))
			return false;
		if (beta < -(1 - phi) * (gamma / m + alpha))
			return false;
		if (!ets_roots_inside(alpha, beta, gamma, phi, m, p->trend == 'N'))
			return false;
	}
	return true;
}

/*
 * One pass of the model over the data from the initial states x (l0, b0, s0 .. s(m-2)): R's
 * objective, +infinity when a forecast of a multiplicative model is not positive. Inlined once per
 * model form (error, trend, season constants), so the loop has no test of the form.
 */
static pg_attribute_always_inline double
ets_pass(const EtsProblem *p, const double *par, const double *x, EtsRun *run,
		 const char error, const char trend, const char season)
{
	const double alpha = par[0],
				beta = par[1],
				gamma = par[2],
				phi = par[3],
				step = alpha + phi * beta;
	double		l,
				b = 0,
				q;
	double		ring[ETS_MAX_SEASON];
	const int	m = p->m;
	const int	n = p->n;
	const double *y = p->y;
	int			oldest = 0;
	double		sse = 0,
				sumlog = 0,
				product = 1,
				objective;

	l = x[0];
	if (trend != 'N')
		b = x[1];
	if (season != 'N')
	{
		const double *s = x + 1 + (trend != 'N');
		double		sum = 0;

		/* ring[0] the oldest (s(m-1)), ring[m-1] the most recent (s0) */
		for (int j = 0; j < m - 1; j++)
		{
			ring[m - 1 - j] = s[j];
			sum += s[j];
		}
		ring[0] = (season == 'M' ? m : 0) - sum;
		if (season == 'M')
			for (int j = 0; j < m; j++)
				if (!(ring[j] > 0))
					return INFINITY;
	}
	if (run)
	{
		run->initial[0] = l;
		if (trend != 'N')
			run->initial[1] = b;
		if (season != 'N')
			for (int j = 0; j < m; j++)
				run->initial[1 + (trend != 'N') + j] = ring[m - 1 - j];
	}
	q = trend != 'N' ? l + phi * b : l;
	for (int t = 0; t < n; t++)
	{
		const double yt = y[t];
		const double phib = trend != 'N' ? phi * b : 0;
		const double so = season != 'N' ? ring[oldest] : 0;
		double		f,
					e,
					level;

		f = season == 'A' ? q + so : season == 'M' ? q * so : q;
		if (error == 'M')
		{
			if (unlikely(!(f > 1e-10)))
				return INFINITY;
			e = (yt - f) / f;
			/* sum log f as the log of products, one logarithm per many points */
			product *= f;
			if (unlikely(product > 1e150 || product < 1e-150))
			{
				sumlog += log(product);
				product = 1;
			}
		}
		else
			e = yt - f;
		sse += e * e;
		{
			/*
			 * With d = y' - q, y' the observation without its season (y - s, y / s or y):
			 * l' = q + alpha d, b' = phi b + (beta / alpha) (l' - l - phi b) = phi b + beta d, and
			 * the next q = l' + phi b' = (q + phi phi b) + (alpha + phi beta) d:
			 * three dependent operations from one q to the next instead of nine. The rounding
			 * differs from the textbook form's by an ulp; every comparison of the optimiser, so
			 * every fit, comes out the same on the test and benchmark series
			 * (test/pgtap/ets.sql).
			 */
			const double d = (season == 'A' ? yt - so : season == 'M' ? yt / so : yt) - q;

			level = q + alpha * d;
			if (trend != 'N')
				b = phib + beta * d;
			if (season != 'N')
			{
				if (season == 'M' && unlikely(!(q > 1e-10)))
					return INFINITY;
				ring[oldest] = so + gamma * ((season == 'A' ? yt - q : yt / q) - so);
				oldest = oldest + 1 == m ? 0 : oldest + 1;
			}
			l = level;
			q = trend != 'N' ? (q + phi * phib) + step * d : level;
		}
	}
	sumlog += log(product);
	objective = n * log(sse) + 2 * sumlog;
	if (isnan(objective))
		return INFINITY;
	if (objective < -1e10)
		objective = -1e10;
	if (run)
	{
		run->objective = objective;
		run->sse = sse;
		run->final[0] = l;
		if (trend != 'N')
			run->final[1] = b;
		if (season != 'N')
			for (int j = 0; j < m; j++)	/* s0 the most recent: the slot before the oldest */
				run->final[1 + (trend != 'N') + j] = ring[(oldest - 1 - j + 2 * m) % m];
	}
	return objective;
}

#define ETS_FORM(error, trend, season) (((error) == 'M') * 9 + ((trend) != 'N') * 3 + ((season) == 'A' ? 1 : (season) == 'M' ? 2 : 0))

/*
 * Runs the model over the data from theta's initial states; returns R's objective, +infinity when
 * the parameters are out of bounds or a forecast of a multiplicative model is not positive. run,
 * when given, receives the sums and the final states.
 */
static double
ets_objective(const EtsProblem *p, const double *theta, EtsRun *run)
{
	double		par[4];
	const double *x = theta + p->states_at;

	ets_parameters(p, theta, par);
	if (!ets_admissible(p, par))
		return INFINITY;
	/* a damped trend is phi b with phi < 1, an undamped one the same with phi = 1 (exact) */
	switch (ETS_FORM(p->error, p->trend, p->season))
	{
		case ETS_FORM('A', 'N', 'N'):
			return ets_pass(p, par, x, run, 'A', 'N', 'N');
		case ETS_FORM('A', 'N', 'A'):
			return ets_pass(p, par, x, run, 'A', 'N', 'A');
		case ETS_FORM('A', 'N', 'M'):
			return ets_pass(p, par, x, run, 'A', 'N', 'M');
		case ETS_FORM('A', 'A', 'N'):
			return ets_pass(p, par, x, run, 'A', 'A', 'N');
		case ETS_FORM('A', 'A', 'A'):
			return ets_pass(p, par, x, run, 'A', 'A', 'A');
		case ETS_FORM('A', 'A', 'M'):
			return ets_pass(p, par, x, run, 'A', 'A', 'M');
		case ETS_FORM('M', 'N', 'N'):
			return ets_pass(p, par, x, run, 'M', 'N', 'N');
		case ETS_FORM('M', 'N', 'A'):
			return ets_pass(p, par, x, run, 'M', 'N', 'A');
		case ETS_FORM('M', 'N', 'M'):
			return ets_pass(p, par, x, run, 'M', 'N', 'M');
		case ETS_FORM('M', 'A', 'N'):
			return ets_pass(p, par, x, run, 'M', 'A', 'N');
		case ETS_FORM('M', 'A', 'A'):
			return ets_pass(p, par, x, run, 'M', 'A', 'A');
		default:
			return ets_pass(p, par, x, run, 'M', 'A', 'M');
	}
}

/* ---- Nelder-Mead -------------------------------------------------------------------------------- */

/*
 * Minimises the objective from theta as R's optim(method = "Nelder-Mead") does: a start simplex of
 * steps 0.1 max|theta_i|, reflection 1, contraction 0.5, expansion 2, stopping when the simplex's
 * values lie within tolerance (|f(start)| + tolerance) or after max_evaluations evaluations.
 * Returns whether it stopped by the tolerance; theta receives the best point.
 */
static bool
nelder_mead(const EtsProblem *problem, double *theta, int n, double tolerance, int max_evaluations,
			double *best)
{
	double		simplex[ETS_MAX_DIMENSIONS + 1][ETS_MAX_DIMENSIONS];
	double		values[ETS_MAX_DIMENSIONS + 1];
	double		centroid[ETS_MAX_DIMENSIONS];
	double		trial[ETS_MAX_DIMENSIONS];
	double		step = 0,
				size = 0,
				old_size,
				convergence,
				f;
	const double big = 1e35;
	int			evaluations,
				low = 0,
				high;
	bool		recompute = true,
				converged = false;

	f = ets_objective(problem, theta, NULL);
	if (!isfinite(f))
	{
		*best = INFINITY;
		return false;
	}
	evaluations = 1;
	convergence = tolerance * (fabs(f) + tolerance);
	memcpy(simplex[0], theta, sizeof(double) * n);
	values[0] = f;
	for (int i = 0; i < n; i++)
		step = Max(step, 0.1 * fabs(theta[i]));
	if (step == 0)
		step = 0.1;
	for (int j = 1; j <= n; j++)
	{
		double		tried = step;

		memcpy(simplex[j], theta, sizeof(double) * n);
		while (simplex[j][j - 1] == theta[j - 1])
		{
			simplex[j][j - 1] = theta[j - 1] + tried;
			tried *= 10;
		}
		size += tried;
	}
	old_size = size;
	for (;;)
	{
		double		vl,
					vh,
					vr;

		CHECK_FOR_INTERRUPTS();
		if (recompute)
		{
			for (int j = 0; j <= n; j++)
				if (j != low)
				{
					f = ets_objective(problem, simplex[j], NULL);
					values[j] = isfinite(f) ? f : big;
					evaluations++;
				}
			recompute = false;
		}
		vl = values[low];
		vh = vl;
		high = low;
		for (int j = 0; j <= n; j++)
			if (j != low)
			{
				if (values[j] < vl)
				{
					low = j;
					vl = values[j];
				}
				if (values[j] > vh)
				{
					high = j;
					vh = values[j];
				}
			}
		if (vh <= vl + convergence)
		{
			converged = true;
			break;
		}
		if (evaluations > max_evaluations)
			break;
		for (int i = 0; i < n; i++)
		{
			double		sum = -simplex[high][i];

			for (int j = 0; j <= n; j++)
				sum += simplex[j][i];
			centroid[i] = sum / n;
			trial[i] = 2 * centroid[i] - simplex[high][i];
		}
		f = ets_objective(problem, trial, NULL);
		vr = isfinite(f) ? f : big;
		evaluations++;
		if (vr < vl)
		{
			double		expanded[ETS_MAX_DIMENSIONS];

			for (int i = 0; i < n; i++)
				expanded[i] = 2 * trial[i] - centroid[i];
			f = ets_objective(problem, expanded, NULL);
			f = isfinite(f) ? f : big;
			evaluations++;
			if (f < vr)
			{
				memcpy(simplex[high], expanded, sizeof(double) * n);
				values[high] = f;
			}
			else
			{
				memcpy(simplex[high], trial, sizeof(double) * n);
				values[high] = vr;
			}
		}
		else
		{
			if (vr < vh)
			{
				memcpy(simplex[high], trial, sizeof(double) * n);
				values[high] = vr;
			}
			for (int i = 0; i < n; i++)
				trial[i] = 0.5 * simplex[high][i] + 0.5 * centroid[i];
			f = ets_objective(problem, trial, NULL);
			f = isfinite(f) ? f : big;
			evaluations++;
			if (f < values[high])
			{
				memcpy(simplex[high], trial, sizeof(double) * n);
				values[high] = f;
			}
			else if (vr >= vh)
			{
				/* shrink towards the lowest vertex */
				recompute = true;
				size = 0;
				for (int j = 0; j <= n; j++)
					if (j != low)
						for (int i = 0; i < n; i++)
						{
							simplex[j][i] = 0.5 * (simplex[j][i] - simplex[low][i]) + simplex[low][i];
							size += fabs(simplex[j][i] - simplex[low][i]);
						}
				if (size < old_size)
					old_size = size;
				else
				{
					converged = true;	/* the simplex no longer shrinks: as small as it gets */
					break;
				}
			}
		}
	}
	memcpy(theta, simplex[low], sizeof(double) * n);
	*best = values[low];
	return converged;
}

/* ---- starting values (forecast's initstate and initparam) ------------------------------------- */

/*
 * Classical decomposition's seasonal figure (R's decompose): a centred moving average of order m
 * (2 x m when m is even) as the trend, the mean detrended value per position in the season,
 * normalised to sum 0 (additive) or mean 1 (multiplicative). figure[i] is for positions i, i + m...
 */
static void
ets_decompose(const double *y, int n, int m, bool multiplicative, double *figure)
{
	int			half = m / 2;
	double		mean = 0;

	for (int i = 0; i < m; i++)
	{
		double		sum = 0;
		int			count = 0;

		for (int t = i; t < n; t += m)
		{
			double		trend = 0;

			if (t - half < 0 || t + half >= n)
				continue;
			if (m % 2 == 0)
			{
				trend = 0.5 * (y[t - half] + y[t + half]);
				for (int k = t - half + 1; k < t + half; k++)
					trend += y[k];
			}
			else
				for (int k = t - half; k <= t + half; k++)
					trend += y[k];
			trend /= m;
			sum += multiplicative ? y[t] / trend : y[t] - trend;
			count++;
		}
		figure[i] = count > 0 ? sum / count : (multiplicative ? 1 : 0);
		mean += figure[i] / m;
	}
	for (int i = 0; i < m; i++)
		figure[i] = multiplicative ? figure[i] / mean : figure[i] - mean;
}

/* The starting theta of a model: R's initparam and initstate. Returns the dimension. */
static int
ets_start(const EtsModel *model, EtsProblem *p, double *theta)
{
	int			m = p->m;
	int			k = 0;
	double		alpha,
				upper;
	double	   *adjusted = palloc(sizeof(double) * p->n);
	double		figure[ETS_MAX_SEASON];
	double		seasonal_states[ETS_MAX_SEASON];
	int			maxn;

	alpha = (model->fixed_mask & 1) ? model->fixed[0] : ets_lower[0] + 0.2 * (ets_upper[0] - ets_lower[0]) / m;
	if (alpha > 1 || alpha < 0)
		alpha = ets_lower[0] + 2e-3;
	for (int i = 0; i < 4; i++)
		p->index[i] = -1;
	p->value[0] = alpha;
	p->value[1] = 0;
	p->value[2] = 0;
	p->value[3] = 1;
	if (!(model->fixed_mask & 1))
	{
		p->index[0] = k;
		theta[k++] = alpha;
	}
	if (p->trend != 'N')
	{
		if (model->fixed_mask & 2)
			p->value[1] = model->fixed[1];
		else
		{
			double		beta;

			upper = Min(ets_upper[1], alpha);
			beta = ets_lower[1] + 0.1 * (upper - ets_lower[1]);
			if (beta < 0 || beta > alpha)
				beta = alpha - 1e-3;
			p->index[1] = k;
			theta[k++] = beta;
		}
	}
	if (p->season != 'N')
	{
		if (model->fixed_mask & 4)
			p->value[2] = model->fixed[2];
		else
		{
			double		gamma;

			upper = Min(ets_upper[2], 1 - alpha);
			gamma = ets_lower[2] + 0.05 * (upper - ets_lower[2]);
			if (gamma < 0 || gamma > 1 - alpha)
				gamma = 1 - alpha - 1e-3;
			p->index[2] = k;
			theta[k++] = gamma;
		}
	}
	if (p->damped)
	{
		if (model->fixed_mask & 8)
			p->value[3] = model->fixed[3];
		else
		{
			double		phi = ets_lower[3] + 0.99 * (ets_upper[3] - ets_lower[3]);

			p->index[3] = k;
			theta[k++] = phi;
		}
	}
	p->states_at = k;

	/* initial states */
	if (p->season != 'N')
	{
		bool		mult = p->season == 'M';

		ets_decompose(p->y, p->n, m, mult, figure);
		/* R: init.seas <- rev(seasonal[2:m]): s0 = figure of position m - 1, ... */
		for (int j = 0; j < m - 1; j++)
			seasonal_states[j] = figure[m - 1 - j];
		if (mult)
		{
			double		sum = 0;

			for (int j = 0; j < m - 1; j++)
			{
				seasonal_states[j] = Max(seasonal_states[j], 1e-2);
				sum += seasonal_states[j];
			}
			if (sum > m)
				for (int j = 0; j < m - 1; j++)
					seasonal_states[j] /= sum + 1e-2 * (m - 1);
		}
		for (int t = 0; t < p->n; t++)
			adjusted[t] = mult ? p->y[t] / Max(figure[t % m], 1e-2) : p->y[t] - figure[t % m];
	}
	else
		memcpy(adjusted, p->y, sizeof(double) * p->n);
	maxn = Min(Max(10, 2 * m), p->n);
	if (p->trend == 'N')
	{
		double		sum = 0;

		for (int t = 0; t < maxn; t++)
			sum += adjusted[t];
		theta[k++] = sum / maxn;
	}
	else
	{
		double		mx = (maxn + 1) / 2.0,
					my = 0,
					sxy = 0,
					sxx = 0,
					l0,
					b0;

		for (int t = 0; t < maxn; t++)
			my += adjusted[t] / maxn;
		for (int t = 0; t < maxn; t++)
		{
			sxy += (t + 1 - mx) * (adjusted[t] - my);
			sxx += (t + 1 - mx) * (t + 1 - mx);
		}
		b0 = sxy / sxx;
		l0 = my - b0 * mx;
		if (fabs(l0 + b0) < 1e-8)
		{
			l0 *= 1 + 1e-3;
			b0 *= 1 - 1e-3;
		}
		theta[k++] = l0;
		theta[k++] = b0;
	}
	if (p->season != 'N')
		for (int j = 0; j < m - 1; j++)
			theta[k++] = seasonal_states[j];
	pfree(adjusted);
	p->dimensions = k;
	return k;
}

/* ---- the fit ------------------------------------------------------------------------------------- */

typedef struct EtsCandidate
{
	char		error;
	char		trend;
	char		season;
	bool		damped;
} EtsCandidate;

/* Fits one model; returns false when it cannot be fitted (no finite objective, too few points). */
static bool
ets_fit_one(const EtsModel *model, const double *y, int n, EtsCandidate c, EtsModel *out)
{
	EtsProblem	p;
	double		theta[ETS_MAX_DIMENSIONS];
	double		best;
	bool		converged;
	EtsRun		run;
	int			k;
	double		objective;

	memset(&p, 0, sizeof(p));
	p.y = y;
	p.n = n;
	p.m = c.season != 'N' ? model->season_length : 1;
	p.error = c.error;
	p.trend = c.trend;
	p.season = c.season;
	p.damped = c.damped;
	if (c.season != 'N' && n < 2 * p.m)
		return false;
	ets_start(model, &p, theta);
	k = p.dimensions + 1;
	if (n - k - 1 <= 0)
		return false;
	converged = nelder_mead(&p, theta, p.dimensions, ETS_TOLERANCE, ETS_MAX_ITERATIONS, &best);
	if (!isfinite(best) || best >= 1e35)
		return false;
	memset(&run, 0, sizeof(run));
	objective = ets_objective(&p, theta, &run);
	if (!isfinite(objective))
		return false;
	out->method[0] = c.error;
	out->method[1] = c.trend;
	out->method[2] = c.season;
	out->method[3] = c.damped ? 'Y' : 'N';
	out->converged = converged;
	ets_parameters(&p, theta, out->par);
	if (c.trend == 'N')
		out->par[1] = 0;
	if (c.season == 'N')
		out->par[2] = 0;
	if (!c.damped)
		out->par[3] = 1;
	memset(out->initial, 0, sizeof(out->initial));
	memset(out->final, 0, sizeof(out->final));
	memcpy(out->initial, run.initial, sizeof(double) * ets_state_count(c.trend, c.season, p.m));
	memcpy(out->final, run.final, sizeof(double) * ets_state_count(c.trend, c.season, p.m));
	out->loglik = -0.5 * objective;
	out->aic = objective + 2 * k;
	out->bic = objective + log((double) n) * k;
	out->aicc = out->aic + 2.0 * k * (k + 1) / (n - k - 1);
	out->sigma2 = run.sse / (n - p.dimensions);
	out->mse = run.sse / n;
	return isfinite(out->aicc) && isfinite(out->sigma2) && isfinite(out->bic);
}

PG_FUNCTION_INFO_V1(crm_ets_final);
/* The aggregate's result: the points sorted, the model chosen by AICc among the candidates. */
Datum
crm_ets_final(PG_FUNCTION_ARGS)
{
	EtsModel   *model;
	EtsModel   *trial;
	double	   *y;
	int32		months,
				days;
	const char *problem;
	bool		positive = true;
	bool		any = false;
	static const char errors[] = {'A', 'M'};
	static const char trends[] = {'N', 'A', 'A'};
	static const char seasons[] = {'N', 'A', 'M'};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	model = ets_copy(PG_GETARG_ETS(0), 0, CurrentMemoryContext);
	if (model->fitted)
		PG_RETURN_POINTER(model);
	qsort(model->points, model->count, sizeof(EtsPoint), ets_point_compare);
	if ((problem = ets_regularity(model, &months, &days)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the periods of an ETS fit must be regular"),
				 errdetail("%s", problem),
				 errhint("Give one row per period, every period from the first to the last (0 for a period without revenue), each the same number of months or of days after the one before; dates of months as their first day.")));
	y = palloc(sizeof(double) * model->count);
	for (int32 i = 0; i < model->count; i++)
	{
		y[i] = model->points[i].value;
		if (!(y[i] > 0))
			positive = false;
	}
	if (!positive && (model->request[0] == 'M' || model->request[2] == 'M'))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("multiplicative error or seasonality needs positive values"),
				 errdetail("A value is zero or negative.")));
	trial = ets_copy(model, 0, CurrentMemoryContext);
	for (int e = 0; e < 2; e++)
		for (int t = 0; t < 3; t++)
			for (int s = 0; s < 3; s++)
			{
				EtsCandidate c = {errors[e], trends[t], seasons[s], t == 2};

				CHECK_FOR_INTERRUPTS();
				if (model->request[0] != 'Z' && model->request[0] != c.error)
					continue;
				if (model->request[1] != 'Z' && model->request[1] != c.trend)
					continue;
				if (model->request[3] != 'Z' && (model->request[3] == 'Y') != c.damped)
					continue;
				if (model->request[2] != 'Z' && model->request[2] != c.season)
					continue;
				if (c.season != 'N' && model->season_length == 1)
					continue;
				if (c.error == 'A' && c.season == 'M')
					continue;
				if (!positive && (c.error == 'M' || c.season == 'M'))
					continue;
				if (ets_fit_one(model, y, model->count, c, trial) &&
					(!any || trial->aicc < model->aicc))
				{
					memcpy(model->method, trial->method, 4);
					model->converged = trial->converged;
					memcpy(model->par, trial->par, sizeof(model->par));
					memcpy(model->initial, trial->initial, sizeof(model->initial));
					memcpy(model->final, trial->final, sizeof(model->final));
					model->loglik = trial->loglik;
					model->aic = trial->aic;
					model->aicc = trial->aicc;
					model->bic = trial->bic;
					model->sigma2 = trial->sigma2;
					model->mse = trial->mse;
					any = true;
				}
			}
	if (!any)
	{
		StringInfoData request;

		initStringInfo(&request);
		ets_request_text(model->request, &request);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no ETS model %s could be fitted to these %d points", request.data, model->count),
				 errdetail("A model needs more points than its parameters and initial states plus two (and two full seasons for a seasonal model), and its likelihood must be finite."),
				 errhint("Give more periods, or a simpler model such as 'ANN'.")));
	}
	model->fitted = 1;
	PG_RETURN_POINTER(model);
}

/* ---- validation and I/O -------------------------------------------------------------------------- */

static bool
ets_component_valid(const char *method, int m)
{
	if (method[0] != 'A' && method[0] != 'M')
		return false;
	if (method[1] != 'N' && method[1] != 'A')
		return false;
	if (method[2] != 'N' && method[2] != 'A' && method[2] != 'M')
		return false;
	if (method[3] != 'Y' && method[3] != 'N')
		return false;
	if (method[3] == 'Y' && method[1] != 'A')
		return false;
	if (method[2] != 'N' && m == 1)
		return false;
	return true;
}

/* Why a value read from outside is inconsistent, or NULL when it is fine. */
static const char *
ets_invalid(const EtsModel *model)
{
	char		request[4];
	StringInfoData text;
	int			states;

	if (model->season_length < 1 || model->season_length > ETS_MAX_SEASON)
		return psprintf("The season length is not between 1 and %d.", ETS_MAX_SEASON);
	if (model->count < 1 || model->count > ETS_MAX_POINTS)
		return psprintf("The number of points is not between 1 and %d.", ETS_MAX_POINTS);
	initStringInfo(&text);
	ets_request_text(model->request, &text);
	if (ets_parse_request(text.data, model->season_length, request) != NULL ||
		memcmp(request, model->request, 4) != 0)
		return "The requested model is not valid.";
	for (int i = 0; i < 4; i++)
		if (model->fixed_mask & (1 << i))
		{
			if (!(model->fixed[i] >= ets_lower[i] && model->fixed[i] <= (i == 3 ? 1.0 : ets_upper[i])))
				return psprintf("The fixed %s is out of range.", ets_parameter_names[i]);
		}
	for (int32 i = 0; i < model->count; i++)
	{
		if (!isfinite(model->points[i].value) || DATE_NOT_FINITE(model->points[i].period))
			return psprintf("Point %d is not finite.", i + 1);
		if (!ets_period_valid(model->points[i].period))
			return psprintf("The period of point %d is not a date from 0001-01-01 on.", i + 1);
	}
	if (!model->fitted)
		return NULL;
	{
		int32		months,
					days;
		const char *problem;

		for (int32 i = 1; i < model->count; i++)
			if (model->points[i].period <= model->points[i - 1].period)
				return "The points of a fitted model are not in order of period.";
		if ((problem = ets_regularity(model, &months, &days)) != NULL)
			return problem;
	}
	if (!ets_component_valid(model->method, model->season_length))
		return "The fitted model is not valid.";
	if (!(model->par[0] > 0 && model->par[0] < 1))
		return "alpha is not between 0 and 1.";
	if (!(model->par[1] >= 0 && model->par[1] <= model->par[0]))
		return "beta is not between 0 and alpha.";
	if (!(model->par[2] >= 0 && model->par[2] <= 1 - model->par[0]))
		return "gamma is not between 0 and 1 - alpha.";
	if (!(model->par[3] > 0 && model->par[3] <= 1))
		return "phi is not in (0, 1].";
	if (model->method[1] == 'N' && model->par[1] != 0)
		return "beta must be 0 without trend.";
	if (model->method[2] == 'N' && model->par[2] != 0)
		return "gamma must be 0 without season.";
	if (model->method[3] == 'N' && model->par[3] != 1)
		return "phi must be 1 without damping.";
	if (!(isfinite(model->loglik) && isfinite(model->aic) && isfinite(model->aicc) && isfinite(model->bic)))
		return "An information criterion is not finite.";
	if (!(isfinite(model->sigma2) && model->sigma2 >= 0 && isfinite(model->mse) && model->mse >= 0))
		return "sigma2 or the mean squared error is not a finite number, zero or more.";
	states = ets_state_count(model->method[1], model->method[2], model->season_length);
	for (int i = 0; i < ETS_MAX_STATES; i++)
	{
		if (i < states && !(isfinite(model->initial[i]) && isfinite(model->final[i])))
			return "A state is not finite.";
		if (i >= states && (model->initial[i] != 0 || model->final[i] != 0))
			return "Too many states.";
	}
	return NULL;
}

static pg_noinline void
ets_syntax_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.ets_model: \"%s\"", input),
			 errdetail("%s", detail),
			 errhint("The form is version;season_length;model;fixed alpha beta gamma phi;points;fit, as the type's output prints it.")));
}

static const char *
skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *
expect_semicolon(const char *p, const char *input, const char *what)
{
	p = skip_spaces(p);
	if (*p != ';')
		ets_syntax_error(input, psprintf("Expected \";\" after the %s.", what));
	return p + 1;
}

static const char *
read_int(const char *p, const char *input, const char *what, int64 max, int64 *value)
{
	int64		result = 0;

	p = skip_spaces(p);
	if (!isdigit((unsigned char) *p))
		ets_syntax_error(input, psprintf("The %s is not a non-negative integer.", what));
	for (; isdigit((unsigned char) *p); p++)
	{
		result = result * 10 + (*p - '0');
		if (result > max)
			ets_syntax_error(input, psprintf("The %s is out of range.", what));
	}
	*value = result;
	return p;
}

static const char *
read_float(const char *p, const char *input, const char *what, double *value)
{
	const char *end;

	if (!crm_parse_float8(p, &end, value, "crm.ets_model", input))
		ets_syntax_error(input, psprintf("The %s is not a number.", what));
	return end;
}

/* YYYY-MM-DD, a valid date. */
static const char *
read_date(const char *p, const char *input, int32 *period)
{
	int			y = 0,
				mo = 0,
				d = 0,
				yy,
				mm,
				dd;
	int			digits = 0;

	p = skip_spaces(p);
	for (; isdigit((unsigned char) *p) && digits < 7; p++, digits++)
		y = y * 10 + (*p - '0');
	if (digits < 4 || *p != '-' || !isdigit((unsigned char) p[1]) || !isdigit((unsigned char) p[2]) || p[3] != '-' ||
		!isdigit((unsigned char) p[4]) || !isdigit((unsigned char) p[5]))
		ets_syntax_error(input, "A period is not a date YYYY-MM-DD.");
	mo = (p[1] - '0') * 10 + (p[2] - '0');
	d = (p[4] - '0') * 10 + (p[5] - '0');
	p += 6;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || !IS_VALID_DATE(date2j(y, mo, d) - POSTGRES_EPOCH_JDATE))
		ets_syntax_error(input, "A period is not a valid date.");
	j2date(date2j(y, mo, d), &yy, &mm, &dd);
	if (yy != y || mm != mo || dd != d)
		ets_syntax_error(input, "A period is not a valid date.");
	*period = date2j(y, mo, d) - POSTGRES_EPOCH_JDATE;
	return p;
}

PG_FUNCTION_INFO_V1(crm_ets_in);
/* Text input: what crm_ets_out prints. */
Datum
crm_ets_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int64		number;
	EtsModel   *model;
	char		request_text[8];
	int			length = 0;
	const char *invalid;

	p = read_int(p, input, "version", 1000, &number);
	if (number != ETS_VERSION)
		ets_syntax_error(input, psprintf("Version %lld is unknown; this build reads version %d.",
										 (long long) number, ETS_VERSION));
	p = expect_semicolon(p, input, "version");
	p = read_int(p, input, "season length", ETS_MAX_SEASON, &number);
	p = expect_semicolon(p, input, "season length");
	model = ets_allocate(64, CurrentMemoryContext);
	model->season_length = (int32) number;
	if (number < 1)
		ets_syntax_error(input, "The season length is not between 1 and 24.");
	p = skip_spaces(p);
	while (isalpha((unsigned char) *p) && length < 5)
		request_text[length++] = *p++;
	request_text[length] = '\0';
	if (ets_parse_request(request_text, model->season_length, model->request) != NULL)
		ets_syntax_error(input, "The model is not valid.");
	p = expect_semicolon(p, input, "model");
	for (int i = 0; i < 4; i++)
	{
		p = skip_spaces(p);
		if (*p == '-' && !isdigit((unsigned char) p[1]) && p[1] != '.')
			p++;
		else
		{
			p = read_float(p, input, "fixed parameter", &model->fixed[i]);
			model->fixed_mask |= 1 << i;
		}
	}
	p = expect_semicolon(p, input, "fixed parameters");
	for (;;)
	{
		int32		period;
		double		value;

		p = skip_spaces(p);
		if (*p == ';')
			break;
		if (model->count == ETS_MAX_POINTS)
			ets_syntax_error(input, psprintf("More than %d points.", ETS_MAX_POINTS));
		p = read_date(p, input, &period);
		if (*p != ':')
			ets_syntax_error(input, "Expected \":\" after a period.");
		p = read_float(p + 1, input, "value", &value);
		if (*p != ' ' && *p != ';')
			ets_syntax_error(input, "Unexpected character after a value.");
		if (model->count == model->capacity)
			model = ets_copy(model, model->capacity * 2, CurrentMemoryContext);
		model->points[model->count].period = period;
		model->points[model->count].value = value;
		model->count++;
	}
	p = skip_spaces(p + 1);
	model->par[3] = 1;
	if (*p == '-')
		p++;
	else
	{
		double	   *numbers[] = {&model->par[0], &model->par[1], &model->par[2], &model->par[3],
			&model->loglik, &model->aic, &model->aicc, &model->bic, &model->sigma2, &model->mse};
		int			states;

		if (strncmp(p, "ETS(", 4) != 0 || (p[4] != 'A' && p[4] != 'M') || p[5] != ',')
			ets_syntax_error(input, "The fitted model is not \"-\" or ETS(E,T,S).");
		model->method[0] = p[4];
		model->method[1] = p[6];
		p += 7;
		model->method[3] = 'N';
		if (*p == 'd')
		{
			model->method[3] = 'Y';
			p++;
		}
		if (*p != ',' || !isalpha((unsigned char) p[1]) || p[2] != ')')
			ets_syntax_error(input, "The fitted model is not ETS(E,T,S).");
		model->method[2] = p[1];
		p += 3;
		if (!ets_component_valid(model->method, model->season_length))
			ets_syntax_error(input, "The fitted model is not valid.");
		p = expect_semicolon(p, input, "method");
		p = skip_spaces(p);
		if (*p == 't')
			model->converged = 1;
		else if (*p != 'f')
			ets_syntax_error(input, "The converged flag is not t or f.");
		p = expect_semicolon(p + 1, input, "converged flag");
		for (int i = 0; i < 10; i++)
		{
			p = read_float(p, input, "number", numbers[i]);
			p = expect_semicolon(p, input, "number");
		}
		states = ets_state_count(model->method[1], model->method[2], model->season_length);
		for (int i = 0; i < states; i++)
			p = read_float(p, input, "initial state", &model->initial[i]);
		p = expect_semicolon(p, input, "initial states");
		for (int i = 0; i < states; i++)
			p = read_float(p, input, "final state", &model->final[i]);
		model->fitted = 1;
	}
	p = skip_spaces(p);
	if (*p != '\0')
		ets_syntax_error(input, "Unexpected characters at the end.");
	if ((invalid = ets_invalid(model)) != NULL)
		ets_syntax_error(input, invalid);
	PG_RETURN_POINTER(ets_copy(model, 0, CurrentMemoryContext));
}

PG_FUNCTION_INFO_V1(crm_ets_out);
/* Text output, which the input reads back exactly (%.17g). */
Datum
crm_ets_out(PG_FUNCTION_ARGS)
{
	EtsModel   *model = PG_GETARG_ETS(0);
	StringInfoData text;

	initStringInfo(&text);
	appendStringInfo(&text, "%d;%d;", ETS_VERSION, model->season_length);
	ets_request_text(model->request, &text);
	appendStringInfoChar(&text, ';');
	for (int i = 0; i < 4; i++)
	{
		if (i > 0)
			appendStringInfoChar(&text, ' ');
		if (model->fixed_mask & (1 << i))
			appendStringInfo(&text, "%.17g", model->fixed[i] + 0.0);
		else
			appendStringInfoChar(&text, '-');
	}
	appendStringInfoChar(&text, ';');
	for (int32 i = 0; i < model->count; i++)
	{
		int			y,
					m,
					d;

		j2date(model->points[i].period + POSTGRES_EPOCH_JDATE, &y, &m, &d);
		appendStringInfo(&text, "%s%04d-%02d-%02d:%.17g", i > 0 ? " " : "", y, m, d, model->points[i].value + 0.0);
	}
	appendStringInfoChar(&text, ';');
	if (!model->fitted)
		appendStringInfoChar(&text, '-');
	else
	{
		int			states = ets_state_count(model->method[1], model->method[2], model->season_length);
		double		numbers[] = {model->par[0], model->par[1], model->par[2], model->par[3],
			model->loglik, model->aic, model->aicc, model->bic, model->sigma2, model->mse};

		ets_method_text(model, &text);
		appendStringInfo(&text, ";%c", model->converged ? 't' : 'f');
		for (int i = 0; i < 10; i++)
			appendStringInfo(&text, ";%.17g", numbers[i] + 0.0);
		appendStringInfoChar(&text, ';');
		for (int i = 0; i < states; i++)
			appendStringInfo(&text, i > 0 ? " %.17g" : "%.17g", model->initial[i] + 0.0);
		appendStringInfoChar(&text, ';');
		for (int i = 0; i < states; i++)
			appendStringInfo(&text, i > 0 ? " %.17g" : "%.17g", model->final[i] + 0.0);
	}
	PG_RETURN_CSTRING(text.data);
}

PG_FUNCTION_INFO_V1(crm_ets_send);
/*
 * Binary output: int32 version, int32 season length, 4 bytes requested model, int32 fixed mask,
 * 4 float8 fixed, int32 count, per point int32 period (days from 2000-01-01) and float8 value,
 * int32 fitted; when fitted: 4 bytes method, int32 converged, 10 float8 (alpha, beta, gamma, phi,
 * loglik, aic, aicc, bic, sigma2, mse), the initial and the final states (float8 each).
 */
Datum
crm_ets_send(PG_FUNCTION_ARGS)
{
	EtsModel   *model = PG_GETARG_ETS(0);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, ETS_VERSION);
	pq_sendint32(&buffer, model->season_length);
	pq_sendbytes(&buffer, model->request, 4);
	pq_sendint32(&buffer, model->fixed_mask);
	for (int i = 0; i < 4; i++)
		pq_sendfloat8(&buffer, model->fixed[i] + 0.0);
	pq_sendint32(&buffer, model->count);
	for (int32 i = 0; i < model->count; i++)
	{
		pq_sendint32(&buffer, model->points[i].period);
		pq_sendfloat8(&buffer, model->points[i].value + 0.0);
	}
	pq_sendint32(&buffer, model->fitted);
	if (model->fitted)
	{
		int			states = ets_state_count(model->method[1], model->method[2], model->season_length);
		double		numbers[] = {model->par[0], model->par[1], model->par[2], model->par[3],
			model->loglik, model->aic, model->aicc, model->bic, model->sigma2, model->mse};

		pq_sendbytes(&buffer, model->method, 4);
		pq_sendint32(&buffer, model->converged);
		for (int i = 0; i < 10; i++)
			pq_sendfloat8(&buffer, numbers[i] + 0.0);
		for (int i = 0; i < states; i++)
			pq_sendfloat8(&buffer, model->initial[i] + 0.0);
		for (int i = 0; i < states; i++)
			pq_sendfloat8(&buffer, model->final[i] + 0.0);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

static pg_noinline void
ets_binary_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary crm.ets_model"),
			 errdetail("%s", detail)));
}

static void
ets_need(StringInfo buffer, int bytes)
{
	if (buffer->len - buffer->cursor < bytes)
		ets_binary_error("The value is shorter than its content.");
}

PG_FUNCTION_INFO_V1(crm_ets_recv);
/* Binary input: the layout crm_ets_send writes, validated like the text input. */
Datum
crm_ets_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	EtsModel   *model;
	int32		season_length,
				count,
				mask;
	char		request[4];
	double		fixed[4];
	const char *invalid;

	ets_need(buffer, 4 + 4 + 4 + 4 + 32 + 4);
	if (pq_getmsgint(buffer, 4) != ETS_VERSION)
		ets_binary_error("The version word is unknown.");
	season_length = (int32) pq_getmsgint(buffer, 4);
	pq_copymsgbytes(buffer, request, 4);
	mask = (int32) pq_getmsgint(buffer, 4);
	if (mask < 0 || mask > 15)
		ets_binary_error("The fixed mask is not valid.");
	for (int i = 0; i < 4; i++)
	{
		fixed[i] = pq_getmsgfloat8(buffer) + 0.0;
		if (!(mask & (1 << i)))
			fixed[i] = 0;		/* only the fixed ones have a value (the text form has none) */
	}
	count = (int32) pq_getmsgint(buffer, 4);
	if (count < 1 || count > ETS_MAX_POINTS)
		ets_binary_error(psprintf("The number of points is not between 1 and %d.", ETS_MAX_POINTS));
	ets_need(buffer, 12 * count + 4);
	model = ets_allocate(count, CurrentMemoryContext);
	model->season_length = season_length;
	memcpy(model->request, request, 4);
	model->fixed_mask = mask;
	memcpy(model->fixed, fixed, sizeof(fixed));
	model->count = count;
	model->par[3] = 1;
	for (int32 i = 0; i < count; i++)
	{
		model->points[i].period = (int32) pq_getmsgint(buffer, 4);
		model->points[i].value = pq_getmsgfloat8(buffer) + 0.0;
	}
	model->fitted = (int32) pq_getmsgint(buffer, 4);
	if (model->fitted != 0 && model->fitted != 1)
		ets_binary_error("The fitted flag is not 0 or 1.");
	if (model->fitted)
	{
		double	   *numbers[] = {&model->par[0], &model->par[1], &model->par[2], &model->par[3],
			&model->loglik, &model->aic, &model->aicc, &model->bic, &model->sigma2, &model->mse};
		int			states;

		ets_need(buffer, 4 + 4 + 80);
		pq_copymsgbytes(buffer, model->method, 4);
		model->converged = (int32) pq_getmsgint(buffer, 4);
		if (model->converged != 0 && model->converged != 1)
			ets_binary_error("The converged flag is not 0 or 1.");
		if (!ets_component_valid(model->method, season_length < 1 || season_length > ETS_MAX_SEASON ? 1 : season_length))
			ets_binary_error("The fitted model is not valid.");
		for (int i = 0; i < 10; i++)
			*numbers[i] = pq_getmsgfloat8(buffer) + 0.0;
		states = ets_state_count(model->method[1], model->method[2], season_length);
		if (states > ETS_MAX_STATES)
			ets_binary_error("Too many states.");
		ets_need(buffer, 16 * states);
		for (int i = 0; i < states; i++)
			model->initial[i] = pq_getmsgfloat8(buffer) + 0.0;
		for (int i = 0; i < states; i++)
			model->final[i] = pq_getmsgfloat8(buffer) + 0.0;
	}
	if (buffer->cursor != buffer->len)
		ets_binary_error("The value is longer than its content.");
	if ((invalid = ets_invalid(model)) != NULL)
		ets_binary_error(invalid);
	PG_RETURN_POINTER(model);
}

/* ---- accessors ------------------------------------------------------------------------------------- */

static EtsModel *
ets_fitted_argument(FunctionCallInfo fcinfo)
{
	EtsModel   *model = PG_GETARG_ETS(0);

	if (!model->fitted)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the crm.ets_model is not fitted"),
				 errdetail("It holds the points of an unfinished aggregate.")));
	return model;
}

PG_FUNCTION_INFO_V1(crm_ets_method);
Datum
crm_ets_method(PG_FUNCTION_ARGS)
{
	EtsModel   *model = ets_fitted_argument(fcinfo);
	StringInfoData text;

	initStringInfo(&text);
	ets_method_text(model, &text);
	PG_RETURN_TEXT_P(cstring_to_text(text.data));
}

#define ETS_STATISTIC(name, field) \
PG_FUNCTION_INFO_V1(crm_ets_##name); \
Datum \
crm_ets_##name(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_FLOAT8(ets_fitted_argument(fcinfo)->field); \
}

ETS_STATISTIC(loglik, loglik)
ETS_STATISTIC(aic, aic)
ETS_STATISTIC(aicc, aicc)
ETS_STATISTIC(bic, bic)
ETS_STATISTIC(sigma2, sigma2)

PG_FUNCTION_INFO_V1(crm_ets_converged);
Datum
crm_ets_converged(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ets_fitted_argument(fcinfo)->converged != 0);
}

PG_FUNCTION_INFO_V1(crm_ets_points);
Datum
crm_ets_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_ETS(0)->count);
}

static Datum
ets_float8_array(const double *values, int count)
{
	Datum	   *datums = palloc(sizeof(Datum) * Max(count, 1));

	for (int i = 0; i < count; i++)
		datums[i] = Float8GetDatum(values[i] + 0.0);
	return PointerGetDatum(construct_array(datums, count, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(crm_ets_parameters);
/* (alpha, beta, gamma, phi, initial_level, initial_slope, initial_seasonal, level, slope, seasonal) */
Datum
crm_ets_parameters(PG_FUNCTION_ARGS)
{
	EtsModel   *model = ets_fitted_argument(fcinfo);
	TupleDesc	descriptor;
	Datum		values[10];
	bool		nulls[10];
	bool		trend = model->method[1] != 'N';
	bool		season = model->method[2] != 'N';
	int			at = 1 + trend;

	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "crm_ets_parameters: the result type is not composite");
	descriptor = BlessTupleDesc(descriptor);
	memset(nulls, 0, sizeof(nulls));
	values[0] = Float8GetDatum(model->par[0]);
	values[1] = Float8GetDatum(model->par[1]);
	nulls[1] = !trend;
	values[2] = Float8GetDatum(model->par[2]);
	nulls[2] = !season;
	values[3] = Float8GetDatum(model->par[3]);
	nulls[3] = model->method[3] != 'Y';
	values[4] = Float8GetDatum(model->initial[0]);
	values[5] = Float8GetDatum(model->initial[1]);
	nulls[5] = !trend;
	values[6] = season ? ets_float8_array(model->initial + at, model->season_length) : (Datum) 0;
	nulls[6] = !season;
	values[7] = Float8GetDatum(model->final[0]);
	values[8] = Float8GetDatum(model->final[1]);
	nulls[8] = !trend;
	values[9] = season ? ets_float8_array(model->final + at, model->season_length) : (Datum) 0;
	nulls[9] = !season;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls)));
}

/* ---- forecasts ------------------------------------------------------------------------------------- */

/* The point forecasts of steps 1 .. h from the states (R's pegelsfcast). */
static void
ets_point_forecasts(const EtsModel *model, int h, double *mu)
{
	int			m = model->season_length;
	bool		trend = model->method[1] != 'N';
	double		l = model->final[0],
				b = trend ? model->final[1] : 0,
				phi = model->par[3],
				phistar = phi;
	const double *s = model->final + 1 + trend;

	for (int i = 0; i < h; i++)
	{
		double		f = trend ? l + phistar * b : l;

		if (model->method[2] != 'N')
		{
			int			j = m - 1 - (i % m);

			f = model->method[2] == 'A' ? f + s[j] : f * s[j];
		}
		mu[i] = f;
		phistar += pow(phi, i + 2);
	}
}

static inline double
standard_normal(pg_prng_state *state)
{
	double		u = pg_prng_double(state);
	double		v = pg_prng_double(state);

	if (u <= 0)
		u = DBL_MIN;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static int
double_compare(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* R's quantile type 7 of sorted values. */
static double
quantile7(const double *sorted, int n, double p)
{
	double		h = (n - 1) * p;
	int			lo = (int) floor(h);

	if (lo >= n - 1)
		return sorted[n - 1];
	return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

PG_FUNCTION_INFO_V1(crm_ets_forecast);
/*
 * crm.ets_forecast(model, horizon, level): per step, the period, the point forecast and the lower
 * and upper bounds of the prediction intervals, one per level (percent). Intervals: analytic for
 * additive seasonality or none (Hyndman et al. 2008, classes 1 and 2, as forecast::forecast.ets);
 * multiplicative seasonality (class 3): quantiles of 5,000 simulated paths from a fixed seed.
 */
Datum
crm_ets_forecast(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EtsModel   *model = ets_fitted_argument(fcinfo);
	int32		h = PG_GETARG_INT32(1);
	int			levels_count;
	double	   *levels = crm_float8_array(PG_GETARG_ARRAYTYPE_P(2), "the levels", true, &levels_count);
	double	   *mu,
			   *lower,
			   *upper;
	double		sigma2 = model->sigma2,
				alpha = model->par[0],
				beta = model->par[1],
				gamma = model->par[2],
				phi = model->par[3];
	int			m = model->season_length;
	int32		months,
				days;
	const char *problem;

	if (h < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the horizon must be 1 or more")));
	if (h > ETS_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the horizon must not exceed %d steps", ETS_MAX_HORIZON)));
	if (levels_count > ETS_MAX_LEVELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most %d prediction levels can be asked for", ETS_MAX_LEVELS),
				 errdetail("%d levels were given.", levels_count)));
	for (int i = 0; i < levels_count; i++)
		if (!(levels[i] > 0 && levels[i] < 100))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a prediction interval's level must be between 0 and 100 (percent), exclusive"),
					 errdetail("The level given was %g.", levels[i])));
	if ((problem = ets_regularity(model, &months, &days)) != NULL)
		elog(ERROR, "crm_ets_forecast: irregular fitted model: %s", problem);
	mu = palloc(sizeof(double) * h);
	lower = palloc(sizeof(double) * h * Max(levels_count, 1));
	upper = palloc(sizeof(double) * h * Max(levels_count, 1));
	ets_point_forecasts(model, h, mu);
	if (model->method[2] != 'M')
	{
		/* c_j = alpha + beta (phi + ... + phi^j) + gamma [j divisible by m] */
		double	   *c2 = palloc(sizeof(double) * h);
		double	   *theta = palloc(sizeof(double) * h);
		double		phisum = 0,
					cumulative = 0;

		for (int j = 1; j < h; j++)
		{
			double		c;

			phisum += pow(phi, j);
			c = alpha + beta * phisum + (model->method[2] == 'A' && j % m == 0 ? gamma : 0);
			c2[j] = c * c;
		}
		for (int i = 0; i < h; i++)
		{
			double		variance;

			CHECK_FOR_INTERRUPTS();
			if (model->method[0] == 'A')
			{
				if (i > 0)
					cumulative += c2[i];
				variance = sigma2 * (1 + cumulative);
			}
			else
			{
				double		sum = 0;

				for (int j = 1; j <= i; j++)
					sum += c2[j] * theta[i - j];
				theta[i] = mu[i] * mu[i] + sigma2 * sum;
				variance = (1 + sigma2) * theta[i] - mu[i] * mu[i];
			}
			for (int k = 0; k < levels_count; k++)
			{
				double		z = crm_normal_quantile_two_sided(levels[k] / 100);
				double		half = z * sqrt(Max(variance, 0));

				lower[i * levels_count + k] = mu[i] - half;
				upper[i * levels_count + k] = mu[i] + half;
			}
		}
	}
	else
	{
		/* class 3: simulated paths */
		double	   *paths = palloc(sizeof(double) * (Size) h * ETS_PATHS);
		double	   *column = palloc(sizeof(double) * ETS_PATHS);
		pg_prng_state random;
		double		sigma = sqrt(sigma2);
		bool		trend = model->method[1] != 'N';

		pg_prng_seed(&random, ETS_SEED);
		for (int path = 0; path < ETS_PATHS; path++)
		{
			double		l = model->final[0],
						b = trend ? model->final[1] : 0;
			double		ring[ETS_MAX_SEASON];
			int			oldest = 0;

			CHECK_FOR_INTERRUPTS();
			for (int j = 0; j < m; j++)
				ring[m - 1 - j] = model->final[1 + trend + j];
			for (int i = 0; i < h; i++)
			{
				double		phib = trend ? phi * b : 0;
				double		q = l + phib;
				double		so = ring[oldest];
				double		f = q * so;
				double		e = sigma * standard_normal(&random);
				double		y = model->method[0] == 'A' ? f + e : f * (1 + e);
				double		level = q + alpha * (y / so - q);

				paths[(Size) i * ETS_PATHS + path] = y;
				if (trend)
					b = phib + (beta / alpha) * (level - l - phib);
				ring[oldest] = so + gamma * (y / q - so);
				oldest = oldest + 1 == m ? 0 : oldest + 1;
				l = level;
			}
		}
		for (int i = 0; i < h; i++)
		{
			memcpy(column, paths + (Size) i * ETS_PATHS, sizeof(double) * ETS_PATHS);
			qsort(column, ETS_PATHS, sizeof(double), double_compare);
			for (int k = 0; k < levels_count; k++)
			{
				double		tail = (1 - levels[k] / 100) / 2;

				lower[i * levels_count + k] = quantile7(column, ETS_PATHS, tail);
				upper[i * levels_count + k] = quantile7(column, ETS_PATHS, 1 - tail);
			}
		}
	}

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < h; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		DateADT		period;
		DateADT		last = model->points[model->count - 1].period;

		for (int k = 0; k < levels_count; k++)
			if (!isfinite(lower[i * levels_count + k]) || !isfinite(upper[i * levels_count + k]))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("the prediction interval of step %d is out of range", i + 1)));
		if (!isfinite(mu[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the forecast of step %d is out of range", i + 1)));
		if (months > 0)
		{
			int			y,
						mo,
						d;
			int64		total;

			j2date(last + POSTGRES_EPOCH_JDATE, &y, &mo, &d);
			total = (int64) y * 12 + (mo - 1) + (int64) months * (i + 1);
			y = (int) (total / 12);
			mo = (int) (total % 12) + 1;
			period = date2j(y, mo, d) - POSTGRES_EPOCH_JDATE;
		}
		else
			period = last + days * (i + 1);
		if (!IS_VALID_DATE(period))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("the period of step %d is out of range", i + 1)));
		values[0] = Int32GetDatum(i + 1);
		values[1] = DateADTGetDatum(period);
		values[2] = Float8GetDatum(mu[i] + 0.0);
		values[3] = ets_float8_array(lower + i * levels_count, levels_count);
		values[4] = ets_float8_array(upper + i * levels_count, levels_count);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}
