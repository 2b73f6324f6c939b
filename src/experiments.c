/*
 * experiments.c: A/B(/n) test statistics (docs/experiments.md).
 *
 * Over counts: the two-proportion comparison (Wald interval for the difference, pooled z test),
 * Welch's t test from sufficient statistics, the sample-ratio-mismatch chi-square test, Holm's
 * adjustment and the per-arm sample size of a two-proportion test. Over raw outcomes: the
 * aggregate crm.experiment_stats(variant, converted, revenue) into a crm.experiment_state (per
 * variant: users, conversions, revenue sum, and a Welford mean and M2 combined by Chan et al.'s
 * formula), read by crm.experiment_arms, crm.experiment_comparison and crm.experiment_srm.
 *
 * The distributions are computed here: Student's t tail from the regularized incomplete beta
 * function (continued fraction, modified Lentz, with an accurate log Beta), the chi-square tail
 * from the regularized incomplete gamma function (series or continued fraction), the normal tail
 * from erfc and its quantile from crm_normal_quantile (crm.c).
 */
#include "crm.h"

#include <float.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

#define EXPERIMENT_VERSION 1
#define EXPERIMENT_MAX_VARIANTS 1000
#define EXPERIMENT_MAX_NAME 1000
#define DIST_TINY 1e-300
#define DIST_EPSILON 1e-16
#define DIST_MAX_ITERATIONS 100000

/* ============================================================================================
 * Distributions
 * ============================================================================================ */

/* lgamma(x) - ((x - 1/2) log x - x + log sqrt(2 pi)) for x >= 10: Stirling's series. */
static double
stirling_error(double x)
{
	double		r = 1 / x,
				r2 = r * r;

	return r * (1.0 / 12 + r2 * (-1.0 / 360 + r2 * (1.0 / 1260 + r2 * (-1.0 / 1680 + r2 * (1.0 / 1188 +
				r2 * (-691.0 / 360360 + r2 * (1.0 / 156 + r2 * (-3617.0 / 122400))))))));
}

/*
 * log B(a, b) without the cancellation of lgamma(a) + lgamma(b) - lgamma(a + b) when an argument
 * is large: Stirling's formula written out for the large arguments.
 */
static double
log_beta(double a, double b)
{
	double		p = Min(a, b),
				q = Max(a, b);

	if (q < 10)
		return lgamma(p) + lgamma(q) - lgamma(p + q);
	if (p < 10)
		return lgamma(p) + stirling_error(q) - stirling_error(p + q) + p - p * log(p + q) +
			(q - 0.5) * log1p(-p / (p + q));
	return -0.5 * log(q) + 0.5 * log(2 * M_PI) + stirling_error(p) + stirling_error(q) -
		stirling_error(p + q) + (p - 0.5) * log(p / (p + q)) + q * log1p(-p / (p + q));
}

static double
lentz_guard(double v)
{
	return fabs(v) < DIST_TINY ? DIST_TINY : v;
}

/* The continued fraction of I_x(a, b) (x below the mean (a + 1) / (a + b + 2)), modified Lentz. */
static double
beta_fraction(double a, double b, double x)
{
	double		c = 1,
				d = 1 / lentz_guard(1 - (a + b) * x / (a + 1)),
				h = d;

	for (int m = 1; m <= DIST_MAX_ITERATIONS; m++)
	{
		double		coefficient,
					delta;

		coefficient = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
		d = 1 / lentz_guard(1 + coefficient * d);
		c = lentz_guard(1 + coefficient / c);
		h *= d * c;
		coefficient = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
		d = 1 / lentz_guard(1 + coefficient * d);
		c = lentz_guard(1 + coefficient / c);
		delta = d * c;
		h *= delta;
		if (fabs(delta - 1) < DIST_EPSILON)
			break;
	}
	return h;
}

/*
 * The regularized incomplete beta function I_x(a, b) (*lower) and 1 - I_x(a, b) (*upper), with
 * y = 1 - x passed exactly by the caller: the tail that is small is computed directly.
 */
static void
beta_regularized(double a, double b, double x, double y, double *lower, double *upper)
{
	double		log_x,
				log_y,
				front;

	if (x <= 0)
	{
		*lower = 0;
		*upper = 1;
		return;
	}
	if (y <= 0)
	{
		*lower = 1;
		*upper = 0;
		return;
	}
	log_x = x <= 0.5 ? log(x) : log1p(-y);
	log_y = y <= 0.5 ? log(y) : log1p(-x);
	front = exp(a * log_x + b * log_y - log_beta(a, b));
	if (x < (a + 1) / (a + b + 2))
	{
		*lower = front * beta_fraction(a, b, x) / a;
		*upper = 1 - *lower;
	}
	else
	{
		*upper = front * beta_fraction(b, a, y) / b;
		*lower = 1 - *upper;
	}
}

/* P(|T| >= |t|) for Student's t with df > 0 degrees of freedom: I_{df/(df+t^2)}(df/2, 1/2). */
static double
t_two_sided(double t, double df)
{
	double		lower,
				upper,
				ratio;

	if (t == 0)
		return 1;
	if (isinf(t))
		return 0;
	ratio = t * t / df;
	if (isinf(ratio))
		return 0;
	beta_regularized(df / 2, 0.5, 1 / (1 + ratio), ratio / (1 + ratio), &lower, &upper);
	return lower;
}

/* The density of Student's t. */
static double
t_density(double t, double df)
{
	return exp(-log_beta(df / 2, 0.5) - 0.5 * log(df) - (df + 1) / 2 * log1p(t * t / df));
}

/* The t with P(|T| >= t) = p, 0 < p < 1: bracketed Newton steps on the tail. */
static double
t_quantile_two_sided(double p, double df)
{
	double		low = 0,
				high = 1,
				t;

	while (t_two_sided(high, df) > p)
	{
		CHECK_FOR_INTERRUPTS();
		low = high;
		high *= 2;
		if (high > 1e300)
			return high;
	}
	t = -crm_normal_quantile(p / 2);
	if (!(t > low && t < high))
		t = (low + high) / 2;
	for (int i = 0; i < 200; i++)
	{
		double		f = t_two_sided(t, df) - p,
					next;

		CHECK_FOR_INTERRUPTS();
		if (f > 0)
			low = t;
		else
			high = t;
		next = t + f / (2 * t_density(t, df));
		if (!(next > low && next < high))
			next = (low + high) / 2;
		if (fabs(next - t) <= 4 * DBL_EPSILON * t || high - low <= 4 * DBL_EPSILON * high)
			return next;
		t = next;
	}
	return t;
}

/* Q(a, x) = 1 - P(a, x), the regularized upper incomplete gamma function, a > 0. */
static double
gamma_upper(double a, double x)
{
	double		front;

	if (x <= 0)
		return 1;
	if (isinf(x))
		return 0;
	front = exp(-x + a * log(x) - lgamma(a));
	if (x < a + 1)
	{
		double		sum = 1 / a,
					term = sum;

		for (int n = 1; n <= DIST_MAX_ITERATIONS; n++)
		{
			term *= x / (a + n);
			sum += term;
			if (term < sum * DIST_EPSILON)
				break;
		}
		return 1 - front * sum;
	}
	else
	{
		double		b = x + 1 - a,
					c = 1 / DIST_TINY,
					d = 1 / b,
					h = d;

		for (int i = 1; i <= DIST_MAX_ITERATIONS; i++)
		{
			double		an = -i * (i - a),
						delta;

			b += 2;
			d = 1 / lentz_guard(an * d + b);
			c = lentz_guard(b + an / c);
			delta = d * c;
			h *= delta;
			if (fabs(delta - 1) < DIST_EPSILON)
				break;
		}
		return front * h;
	}
}

/* P(|Z| >= |z|) for the standard normal. */
static double
normal_two_sided(double z)
{
	return erfc(fabs(z) / M_SQRT2);
}

/* A computed probability, clamped to [0, 1]; 22003 if the computation broke down (NaN). */
static double
probability(double p)
{
	crm_finite_result(p, "the probability");
	return Max(0.0, Min(1.0, p));
}

/* ============================================================================================
 * Argument checks
 * ============================================================================================ */

static void
check_alpha(double alpha)
{
	if (!(alpha > 0 && alpha < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alpha must be between 0 and 1, exclusive"),
				 errdetail("The alpha given was %g.", alpha)));
}

static void
check_counts(int64 n, int64 conversions, const char *arm)
{
	if (n <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s_n must be positive", arm),
				 errdetail("The %s arm has " INT64_FORMAT " users.", arm, n)));
	if (conversions < 0 || conversions > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s_conversions must be between 0 and %s_n", arm, arm),
				 errdetail("The %s arm has " INT64_FORMAT " conversions among " INT64_FORMAT " users.",
						   arm, conversions, n)));
}

/* ============================================================================================
 * Two proportions
 * ============================================================================================ */

#define PROPORTION_COLUMNS 10

/*
 * control_rate, variant_rate, absolute_lift, relative_lift, ci_lower, ci_upper,
 * relative_ci_lower, relative_ci_upper, z, p_value.
 */
static void
two_proportions(int64 n1, int64 x1, int64 n2, int64 x2, double alpha, double *v, bool *null)
{
	double		p1 = (double) x1 / n1,
				p2 = (double) x2 / n2,
				diff = p2 - p1,
				z_crit = -crm_normal_quantile(alpha / 2),
				se_wald = sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2),
				pooled = ((double) x1 + (double) x2) / ((double) n1 + (double) n2),
				se_pooled = sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));

	for (int i = 0; i < PROPORTION_COLUMNS; i++)
		null[i] = false;
	v[0] = p1;
	v[1] = p2;
	v[2] = diff;
	null[3] = x1 == 0;
	v[3] = x1 == 0 ? 0 : diff / p1;
	null[4] = null[5] = se_wald == 0;
	v[4] = diff - z_crit * se_wald;
	v[5] = diff + z_crit * se_wald;
	/* Katz: log(p2 / p1) +- z sqrt((1 - p1) / x1 + (1 - p2) / x2) */
	null[6] = null[7] = x1 == 0 || x2 == 0;
	if (!null[6])
	{
		double		log_ratio = log(p2 / p1),
					se_log = sqrt((1 - p1) / x1 + (1 - p2) / x2);

		v[6] = expm1(log_ratio - z_crit * se_log);
		v[7] = expm1(log_ratio + z_crit * se_log);
	}
	null[8] = null[9] = se_pooled == 0;
	v[8] = se_pooled == 0 ? 0 : diff / se_pooled;
	v[9] = se_pooled == 0 ? 0 : normal_two_sided(v[8]);
}

static Datum
result_tuple(FunctionCallInfo fcinfo, const double *v, const bool *null, int columns)
{
	TupleDesc	descriptor;
	Datum		values[PROPORTION_COLUMNS + 2];
	bool		nulls[PROPORTION_COLUMNS + 2];

	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	descriptor = BlessTupleDesc(descriptor);
	for (int i = 0; i < columns; i++)
	{
		values[i] = Float8GetDatum(null[i] ? 0 : v[i]);
		nulls[i] = null[i];
	}
	return HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls));
}

PG_FUNCTION_INFO_V1(crm_two_proportion_test);
Datum
crm_two_proportion_test(PG_FUNCTION_ARGS)
{
	int64		n1 = PG_GETARG_INT64(0),
				x1 = PG_GETARG_INT64(1),
				n2 = PG_GETARG_INT64(2),
				x2 = PG_GETARG_INT64(3);
	double		alpha = PG_GETARG_FLOAT8(4),
				v[PROPORTION_COLUMNS];
	bool		null[PROPORTION_COLUMNS];

	check_counts(n1, x1, "control");
	check_counts(n2, x2, "variant");
	check_alpha(alpha);
	two_proportions(n1, x1, n2, x2, alpha, v, null);
	PG_RETURN_DATUM(result_tuple(fcinfo, v, null, PROPORTION_COLUMNS));
}

/* ============================================================================================
 * Welch's t test
 * ============================================================================================ */

#define WELCH_COLUMNS 9

/*
 * control_mean, variant_mean, absolute_lift, relative_lift, ci_lower, ci_upper, t, df, p_value.
 * v1 and v2 are sample variances (denominator n - 1); n1, n2 >= 2.
 */
static void
welch(double n1, double m1, double v1, double n2, double m2, double v2, double alpha,
	  double *v, bool *null)
{
	double		a = v1 / n1,
				b = v2 / n2,
				se = sqrt(a + b),
				diff = m2 - m1;

	for (int i = 0; i < WELCH_COLUMNS; i++)
		null[i] = false;
	v[0] = m1;
	v[1] = m2;
	v[2] = diff;
	null[3] = m1 == 0;
	v[3] = m1 == 0 ? 0 : diff / m1;
	if (se == 0 || !isfinite(se))
	{
		null[4] = null[5] = null[6] = null[7] = null[8] = true;
		return;
	}
	/* Welch-Satterthwaite, written to avoid overflow: (a + b)^2 / (a^2 / (n1-1) + b^2 / (n2-1)) */
	{
		double		ra = a / (a + b),
					rb = b / (a + b),
					df = 1 / (ra * ra / (n1 - 1) + rb * rb / (n2 - 1)),
					t_crit = t_quantile_two_sided(alpha, df);

		v[4] = diff - t_crit * se;
		v[5] = diff + t_crit * se;
		v[6] = diff / se;
		v[7] = df;
		v[8] = probability(t_two_sided(v[6], df));
	}
}

static void
check_sample(int64 n, double mean, double variance, const char *arm)
{
	if (n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s_n must be at least 2", arm),
				 errdetail("The %s arm has " INT64_FORMAT " users; a sample variance needs two.", arm, n)));
	crm_require_finite(mean, arm[0] == 'c' ? "control_mean" : "variant_mean");
	crm_require_finite(variance, arm[0] == 'c' ? "control_variance" : "variant_variance");
	if (variance < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s_variance must not be negative", arm),
				 errdetail("The %s variance given was %g.", arm, variance)));
}

PG_FUNCTION_INFO_V1(crm_welch_test);
Datum
crm_welch_test(PG_FUNCTION_ARGS)
{
	int64		n1 = PG_GETARG_INT64(0),
				n2 = PG_GETARG_INT64(3);
	double		m1 = PG_GETARG_FLOAT8(1),
				s1 = PG_GETARG_FLOAT8(2),
				m2 = PG_GETARG_FLOAT8(4),
				s2 = PG_GETARG_FLOAT8(5),
				alpha = PG_GETARG_FLOAT8(6),
				v[WELCH_COLUMNS];
	bool		null[WELCH_COLUMNS];

	check_sample(n1, m1, s1, "control");
	check_sample(n2, m2, s2, "variant");
	check_alpha(alpha);
	welch((double) n1, m1, s1, (double) n2, m2, s2, alpha, v, null);
	for (int i = 0; i < WELCH_COLUMNS; i++)
		if (!null[i])
			crm_finite_result(v[i], "the Welch test");
	PG_RETURN_DATUM(result_tuple(fcinfo, v, null, WELCH_COLUMNS));
}

/* ============================================================================================
 * Distribution functions, Holm, sample size, sample ratio mismatch
 * ============================================================================================ */

PG_FUNCTION_INFO_V1(crm_normal_quantile_sql);
Datum
crm_normal_quantile_sql(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(0);

	if (!(p > 0 && p < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("p must be between 0 and 1, exclusive"),
				 errdetail("The p given was %g.", p)));
	PG_RETURN_FLOAT8(p > 0.5 ? -crm_normal_quantile(1 - p) : crm_normal_quantile(p));
}

static void
check_df(double df)
{
	if (!(df > 0) || isinf(df))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("df must be a positive finite number"),
				 errdetail("The df given was %g.", df)));
}

PG_FUNCTION_INFO_V1(crm_student_t_p_value);
Datum
crm_student_t_p_value(PG_FUNCTION_ARGS)
{
	double		t = PG_GETARG_FLOAT8(0),
				df = PG_GETARG_FLOAT8(1);

	if (isnan(t))
		crm_require_finite(t, "t");
	check_df(df);
	PG_RETURN_FLOAT8(probability(t_two_sided(t, df)));
}

PG_FUNCTION_INFO_V1(crm_chi_square_p_value);
Datum
crm_chi_square_p_value(PG_FUNCTION_ARGS)
{
	double		x = PG_GETARG_FLOAT8(0),
				df = PG_GETARG_FLOAT8(1);

	if (isnan(x) || x < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("chi_square must not be negative"),
				 errdetail("The chi_square given was %g.", x)));
	check_df(df);
	PG_RETURN_FLOAT8(probability(gamma_upper(df / 2, x / 2)));
}

typedef struct RankedP
{
	double		p;
	int			index;
} RankedP;

static int
ranked_compare(const void *a, const void *b)
{
	const RankedP *x = a,
			   *y = b;

	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* Holm's step-down adjustment of p[0..m-1] in place (m >= 1). */
static void
holm(double *p, int m)
{
	RankedP    *ranked = palloc(sizeof(RankedP) * m);
	double		running = 0;

	for (int i = 0; i < m; i++)
	{
		ranked[i].p = p[i];
		ranked[i].index = i;
	}
	qsort(ranked, m, sizeof(RankedP), ranked_compare);
	for (int k = 0; k < m; k++)
	{
		double		value = Min(1.0, (double) (m - k) * ranked[k].p);

		CHECK_FOR_INTERRUPTS();
		running = Max(running, value);
		p[ranked[k].index] = running + 0.0;
	}
	pfree(ranked);
}

PG_FUNCTION_INFO_V1(crm_holm_adjust);
Datum
crm_holm_adjust(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elements;
	bool	   *nulls;
	int			n,
				m = 0;
	double	   *p;
	int		   *position;
	int			dims[1],
				lbs[1] = {1};

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("p_values must be a one-dimensional array")));
	deconstruct_array(array, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elements, &nulls, &n);
	p = palloc(sizeof(double) * Max(n, 1));
	position = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		double		value;

		if (nulls[i])
			continue;
		value = DatumGetFloat8(elements[i]);
		if (!(value >= 0 && value <= 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("p-values must be between 0 and 1"),
					 errdetail("Element %d is %g.", i + 1, value)));
		position[m] = i;
		p[m++] = value + 0.0;
	}
	if (m > 0)
		holm(p, m);
	for (int k = 0; k < m; k++)
		elements[position[k]] = Float8GetDatum(p[k]);
	if (n == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(FLOAT8OID));
	dims[0] = n;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elements, nulls, 1, dims, lbs, FLOAT8OID, sizeof(float8),
											 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(crm_sample_size_two_proportions);
/*
 * n per arm = (z_{1-alpha/2} sqrt(2 pbar (1 - pbar)) + z_power sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2,
 * rounded up; p2 = p1 + mde, or p1 (1 + mde) when relative.
 */
Datum
crm_sample_size_two_proportions(PG_FUNCTION_ARGS)
{
	double		p1 = PG_GETARG_FLOAT8(0),
				mde = PG_GETARG_FLOAT8(1),
				alpha = PG_GETARG_FLOAT8(2),
				power = PG_GETARG_FLOAT8(3);
	bool		relative = PG_GETARG_BOOL(4);
	double		p2,
				pbar,
				z_alpha,
				z_power,
				root,
				n;

	if (!(p1 > 0 && p1 < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("baseline_rate must be between 0 and 1, exclusive"),
				 errdetail("The baseline_rate given was %g.", p1)));
	crm_require_finite(mde, "minimum_detectable_effect");
	check_alpha(alpha);
	if (!(power > 0 && power < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("power must be between 0 and 1, exclusive"),
				 errdetail("The power given was %g.", power)));
	p2 = relative ? p1 * (1 + mde) : p1 + mde;
	if (mde == 0 || !(p2 > 0 && p2 < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("minimum_detectable_effect must be non-zero and give a variant rate between 0 and 1, exclusive"),
				 errdetail("The variant rate would be %g.", p2)));
	pbar = (p1 + p2) / 2;
	z_alpha = -crm_normal_quantile(alpha / 2);
	z_power = power > 0.5 ? -crm_normal_quantile(1 - power) : crm_normal_quantile(power);
	root = z_alpha * sqrt(2 * pbar * (1 - pbar)) + z_power * sqrt(p1 * (1 - p1) + p2 * (1 - p2));
	n = ceil(root * root / ((p2 - p1) * (p2 - p1)));
	if (!(n < 9.2e18))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the sample size exceeds the bigint range"),
				 errdetail("The minimum detectable effect %g is too small to detect.", mde)));
	PG_RETURN_INT64(Max((int64) n, 1));
}

/*
 * Chi-square goodness of fit of observed[0..k-1] to the split weights[0..k-1] (NULL: equal):
 * chi_square, df, p_value.
 */
static void
srm(const int64 *observed, const double *weights, int k, double *v)
{
	double		total = 0,
				weight_total = 0,
				chi = 0;

	for (int i = 0; i < k; i++)
	{
		total += (double) observed[i];
		weight_total += weights ? weights[i] : 1;
	}
	for (int i = 0; i < k; i++)
	{
		double		expected = total * (weights ? weights[i] : 1) / weight_total,
					d = (double) observed[i] - expected;

		CHECK_FOR_INTERRUPTS();
		chi += d * d / expected;
	}
	v[0] = chi;
	v[1] = k - 1;
	v[2] = probability(gamma_upper((k - 1) / 2.0, chi / 2));
}

static double *
srm_weights(FunctionCallInfo fcinfo, int argument, int k)
{
	double	   *weights;
	int			count;

	if (PG_ARGISNULL(argument))
		return NULL;
	weights = crm_float8_array(PG_GETARG_ARRAYTYPE_P(argument), "expected_split", true, &count);
	if (count != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected_split must have one weight per group"),
				 errdetail("There are %d groups and %d weights.", k, count)));
	for (int i = 0; i < k; i++)
		if (!(weights[i] > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expected_split weights must be positive"),
					 errdetail("Weight %d is %g.", i + 1, weights[i])));
	return weights;
}

static Datum
srm_result(FunctionCallInfo fcinfo, const int64 *observed, const double *weights, int k)
{
	double		v[3];
	bool		null[3] = {false, false, false};
	int64		total = 0;

	if (k < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a sample ratio mismatch check needs at least two groups"),
				 errdetail("There are %d groups.", k)));
	for (int i = 0; i < k; i++)
	{
		if (observed[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("observed counts must not be negative"),
					 errdetail("Count %d is " INT64_FORMAT ".", i + 1, observed[i])));
		total += observed[i] > PG_INT64_MAX - total ? 0 : observed[i];
	}
	if (total == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("observed counts must not all be zero")));
	srm(observed, weights, k, v);
	crm_finite_result(v[0], "the chi-square statistic");
	return result_tuple(fcinfo, v, null, 3);
}

PG_FUNCTION_INFO_V1(crm_sample_ratio_mismatch);
Datum
crm_sample_ratio_mismatch(PG_FUNCTION_ARGS)
{
	ArrayType  *array;
	Datum	   *elements;
	bool	   *nulls;
	int			k;
	int64	   *observed;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	array = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("observed must be a one-dimensional array")));
	deconstruct_array(array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elements, &nulls, &k);
	observed = palloc(sizeof(int64) * Max(k, 1));
	for (int i = 0; i < k; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("observed must not contain NULL"),
					 errdetail("Element %d is NULL.", i + 1)));
		observed[i] = DatumGetInt64(elements[i]);
	}
	PG_RETURN_DATUM(srm_result(fcinfo, observed, srm_weights(fcinfo, 1, k), k));
}

/* ============================================================================================
 * The type crm.experiment_state
 * ============================================================================================ */

typedef struct ExperimentArm
{
	int64		users;
	int64		conversions;
	double		revenue;		/* sum */
	double		mean;			/* Welford mean of revenue per user */
	double		m2;				/* sum of squared deviations from the mean */
	int32		name_offset;	/* from the start of the state */
	int32		name_length;
} ExperimentArm;

typedef struct ExperimentState
{
	int32		vl_len_;
	int32		version;
	int32		arms;
	int32		padding;
	ExperimentArm arm[FLEXIBLE_ARRAY_MEMBER];	/* by name, byte order; then the names */
} ExperimentState;

#define ES_NAME(s, i) ((const char *) (s) + (s)->arm[i].name_offset)

typedef struct ArmInput
{
	const char *name;
	int			length;
	int64		users;
	int64		conversions;
	double		revenue;
	double		mean;
	double		m2;
} ArmInput;

static int
name_compare(const char *a, int la, const char *b, int lb)
{
	int			c = memcmp(a, b, Min(la, lb));

	return c != 0 ? c : (la > lb) - (la < lb);
}

static ExperimentState *
state_build(const ArmInput *in, int arms)
{
	Size		names = 0,
				size;
	ExperimentState *s;
	char	   *cursor;

	for (int i = 0; i < arms; i++)
		names += in[i].length;
	size = offsetof(ExperimentState, arm) + sizeof(ExperimentArm) * arms + names;
	s = palloc0(size);
	SET_VARSIZE(s, size);
	s->version = EXPERIMENT_VERSION;
	s->arms = arms;
	cursor = (char *) &s->arm[arms];
	for (int i = 0; i < arms; i++)
	{
		s->arm[i].users = in[i].users;
		s->arm[i].conversions = in[i].conversions;
		s->arm[i].revenue = in[i].revenue + 0.0;
		s->arm[i].mean = in[i].mean + 0.0;
		s->arm[i].m2 = in[i].m2 + 0.0;
		s->arm[i].name_offset = (int32) (cursor - (char *) s);
		s->arm[i].name_length = in[i].length;
		memcpy(cursor, in[i].name, in[i].length);
		cursor += in[i].length;
	}
	return s;
}

static ArmInput
arm_of(const ExperimentState *s, int i)
{
	ArmInput	a;

	a.name = ES_NAME(s, i);
	a.length = s->arm[i].name_length;
	a.users = s->arm[i].users;
	a.conversions = s->arm[i].conversions;
	a.revenue = s->arm[i].revenue;
	a.mean = s->arm[i].mean;
	a.m2 = s->arm[i].m2;
	return a;
}

/* Validates arms read from the text or binary form (errcode: 22P02 or 22P03). */
static ExperimentState *
state_validated(const ArmInput *in, int arms, int errcode_value, const char *form)
{
	if (arms < 0 || arms > EXPERIMENT_MAX_VARIANTS)
		ereport(ERROR,
				(errcode(errcode_value),
				 errmsg("invalid %s experiment_state: %d variants", form, arms),
				 errdetail("A state holds 0 to %d variants.", EXPERIMENT_MAX_VARIANTS)));
	for (int i = 0; i < arms; i++)
	{
		const ArmInput *a = &in[i];
		const char *problem = NULL;

		if (a->length > EXPERIMENT_MAX_NAME)
			problem = "a variant name is longer than 1000 bytes";
		else if (i > 0 && name_compare(in[i - 1].name, in[i - 1].length, a->name, a->length) >= 0)
			problem = "the variants are not distinct and sorted by name (byte order)";
		else if (a->users < 1)
			problem = "a variant has no users";
		else if (a->conversions < 0 || a->conversions > a->users)
			problem = "a variant's conversions are not between 0 and its users";
		else if (!isfinite(a->revenue) || !isfinite(a->mean) || !isfinite(a->m2))
			problem = "a revenue figure is not finite";
		else if (a->m2 < 0 || (a->users == 1 && a->m2 != 0))
			problem = "a variant's sum of squared deviations is negative, or non-zero for one user";
		if (problem)
			ereport(ERROR,
					(errcode(errcode_value),
					 errmsg("invalid %s experiment_state", form),
					 errdetail("Variant %d: %s.", i + 1, problem)));
	}
	return state_build(in, arms);
}

static ExperimentState *
state_arg(FunctionCallInfo fcinfo, int argument)
{
	ExperimentState *s = (ExperimentState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(argument));

	if (s->version != EXPERIMENT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("experiment_state version %d is not supported", s->version)));
	return s;
}

pg_noreturn static void
syntax_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type experiment_state: \"%s\"", input),
			 errdetail("%s", detail)));
}

static int64
parse_int64(const char **p, const char *input)
{
	int64		value = 0;
	const char *start = *p;

	while (**p >= '0' && **p <= '9')
	{
		if (pg_mul_s64_overflow(value, 10, &value) || pg_add_s64_overflow(value, **p - '0', &value))
			syntax_error(input, "A count is out of range for bigint.");
		(*p)++;
	}
	if (*p == start)
		syntax_error(input, "Expected a count.");
	return value;
}

static double
parse_double(const char **p, const char *input)
{
	double		value;
	const char *end;

	if (isspace((unsigned char) **p) || !crm_parse_float8(*p, &end, &value, "experiment_state", input))
		syntax_error(input, "Expected a number.");
	*p = end;
	return value;
}

static void
expect(const char **p, char c, const char *input)
{
	if (**p != c)
	{
		char		detail[64];

		snprintf(detail, sizeof(detail), "Expected \"%c\".", c);
		syntax_error(input, detail);
	}
	(*p)++;
}

PG_FUNCTION_INFO_V1(crm_experiment_state_in);
/* Text input: 1;(users,conversions,revenue,mean,m2),...;{name,...} */
Datum
crm_experiment_state_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int			capacity = 8,
				arms = 0,
				names;
	ArmInput   *in = palloc(sizeof(ArmInput) * capacity);
	ArrayType  *array;
	Datum	   *elements;
	bool	   *nulls;

	if (parse_int64(&p, input) != EXPERIMENT_VERSION)
		syntax_error(input, "Unknown version; this version reads version 1.");
	expect(&p, ';', input);
	while (*p == '(')
	{
		CHECK_FOR_INTERRUPTS();
		if (arms == EXPERIMENT_MAX_VARIANTS)
			syntax_error(input, "A state holds at most 1000 variants.");
		if (arms == capacity)
		{
			capacity *= 2;
			in = repalloc(in, sizeof(ArmInput) * capacity);
		}
		p++;
		in[arms].users = parse_int64(&p, input);
		expect(&p, ',', input);
		in[arms].conversions = parse_int64(&p, input);
		expect(&p, ',', input);
		in[arms].revenue = parse_double(&p, input);
		expect(&p, ',', input);
		in[arms].mean = parse_double(&p, input);
		expect(&p, ',', input);
		in[arms].m2 = parse_double(&p, input);
		expect(&p, ')', input);
		arms++;
		if (*p == ',')
		{
			p++;
			if (*p != '(')
				syntax_error(input, "Expected \"(\".");
		}
	}
	expect(&p, ';', input);
	if (*p != '{')
		syntax_error(input, "Expected the variant names as an array.");
	array = DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, (char *) p, TEXTOID, -1));
	if (ARR_NDIM(array) > 1 || (ARR_NDIM(array) == 1 && ARR_LBOUND(array)[0] != 1))
		syntax_error(input, "The variant names must be a one-dimensional array.");
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &names);
	if (names != arms)
		syntax_error(input, "There must be one name per variant.");
	for (int i = 0; i < arms; i++)
	{
		text	   *name;

		if (nulls[i])
			syntax_error(input, "A variant name is NULL.");
		name = DatumGetTextPP(elements[i]);
		in[i].name = VARDATA_ANY(name);
		in[i].length = VARSIZE_ANY_EXHDR(name);
	}
	PG_RETURN_POINTER(state_validated(in, arms, ERRCODE_INVALID_TEXT_REPRESENTATION, "text"));
}

PG_FUNCTION_INFO_V1(crm_experiment_state_out);
Datum
crm_experiment_state_out(PG_FUNCTION_ARGS)
{
	ExperimentState *s = state_arg(fcinfo, 0);
	StringInfoData out;
	Datum	   *elements = palloc(sizeof(Datum) * Max(s->arms, 1));

	initStringInfo(&out);
	appendStringInfo(&out, "%d;", EXPERIMENT_VERSION);
	for (int i = 0; i < s->arms; i++)
	{
		const ExperimentArm *a = &s->arm[i];

		appendStringInfo(&out, "%s(" INT64_FORMAT "," INT64_FORMAT ",%.17g,%.17g,%.17g)", i > 0 ? "," : "",
						 a->users, a->conversions, a->revenue + 0.0, a->mean + 0.0, a->m2 + 0.0);
		elements[i] = PointerGetDatum(cstring_to_text_with_len(ES_NAME(s, i), a->name_length));
	}
	appendStringInfoChar(&out, ';');
	appendStringInfoString(&out, OidOutputFunctionCall(F_ARRAY_OUT, PointerGetDatum(
		construct_array(elements, s->arms, TEXTOID, -1, false, TYPALIGN_INT))));
	PG_RETURN_CSTRING(out.data);
}

PG_FUNCTION_INFO_V1(crm_experiment_state_send);
/* int32 version, int32 variants, then per variant: int32 name length, the name's bytes, int64
 * users, int64 conversions, float8 revenue, mean, m2. */
Datum
crm_experiment_state_send(PG_FUNCTION_ARGS)
{
	ExperimentState *s = state_arg(fcinfo, 0);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, EXPERIMENT_VERSION);
	pq_sendint32(&buffer, s->arms);
	for (int i = 0; i < s->arms; i++)
	{
		const ExperimentArm *a = &s->arm[i];

		pq_sendint32(&buffer, a->name_length);
		pq_sendbytes(&buffer, ES_NAME(s, i), a->name_length);
		pq_sendint64(&buffer, a->users);
		pq_sendint64(&buffer, a->conversions);
		pq_sendfloat8(&buffer, a->revenue + 0.0);
		pq_sendfloat8(&buffer, a->mean + 0.0);
		pq_sendfloat8(&buffer, a->m2 + 0.0);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

static void
need(StringInfo buffer, int64 bytes)
{
	if (bytes < 0 || bytes > buffer->len - buffer->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary experiment_state: truncated")));
}

PG_FUNCTION_INFO_V1(crm_experiment_state_recv);
Datum
crm_experiment_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int32		arms;
	ArmInput   *in;

	need(buffer, 8);
	if (pq_getmsgint(buffer, 4) != EXPERIMENT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary experiment_state: unknown version")));
	arms = pq_getmsgint(buffer, 4);
	if (arms < 0 || arms > EXPERIMENT_MAX_VARIANTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary experiment_state: %d variants", arms),
				 errdetail("A state holds 0 to %d variants.", EXPERIMENT_MAX_VARIANTS)));
	in = palloc(sizeof(ArmInput) * Max(arms, 1));
	for (int i = 0; i < arms; i++)
	{
		int32		length;
		const char *bytes;

		need(buffer, 4);
		length = pq_getmsgint(buffer, 4);
		if (length < 0 || length > EXPERIMENT_MAX_NAME)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary experiment_state: a name length of %d bytes", length),
					 errdetail("Variant names are 0 to %d bytes long.", EXPERIMENT_MAX_NAME)));
		need(buffer, (int64) length + 40);
		bytes = pq_getmsgbytes(buffer, length);
		if (memchr(bytes, '\0', length) != NULL || !pg_verify_mbstr(GetDatabaseEncoding(), bytes, length, true))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary experiment_state: a name is not valid in the database encoding")));
		in[i].name = bytes;
		in[i].length = length;
		in[i].users = pq_getmsgint64(buffer);
		in[i].conversions = pq_getmsgint64(buffer);
		in[i].revenue = pq_getmsgfloat8(buffer);
		in[i].mean = pq_getmsgfloat8(buffer);
		in[i].m2 = pq_getmsgfloat8(buffer);
	}
	if (buffer->cursor != buffer->len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary experiment_state: trailing bytes")));
	PG_RETURN_POINTER(state_validated(in, arms, ERRCODE_INVALID_BINARY_REPRESENTATION, "binary"));
}

/* ============================================================================================
 * The aggregate crm.experiment_stats(variant, converted, revenue)
 * ============================================================================================ */

/* Binary search: the index of name, or -(insertion point) - 1. */
static int
find_arm(const ExperimentState *s, const char *name, int length)
{
	int			low = 0,
				high = s->arms - 1;

	while (low <= high)
	{
		int			middle = (low + high) / 2,
					c = name_compare(ES_NAME(s, middle), s->arm[middle].name_length, name, length);

		if (c == 0)
			return middle;
		if (c < 0)
			low = middle + 1;
		else
			high = middle - 1;
	}
	return -low - 1;
}

PG_FUNCTION_INFO_V1(crm_experiment_stats_trans);
Datum
crm_experiment_stats_trans(PG_FUNCTION_ARGS)
{
	ExperimentState *s;
	text	   *variant;
	const char *name;
	int			length,
				index;
	double		revenue = PG_ARGISNULL(3) ? 0 : PG_GETARG_FLOAT8(3);
	ExperimentArm *a;
	double		delta;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	crm_require_finite(revenue, "revenue");
	variant = PG_GETARG_TEXT_PP(1);
	name = VARDATA_ANY(variant);
	length = VARSIZE_ANY_EXHDR(variant);
	if (length > EXPERIMENT_MAX_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a variant name is longer than %d bytes", EXPERIMENT_MAX_NAME),
				 errdetail("The name has %d bytes.", length)));
	if (PG_ARGISNULL(0))
		s = state_build(NULL, 0);
	else if (VARATT_IS_EXTENDED(DatumGetPointer(PG_GETARG_DATUM(0))) || !AggCheckCallContext(fcinfo, NULL))
		s = (ExperimentState *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0));
	else
		s = (ExperimentState *) DatumGetPointer(PG_GETARG_DATUM(0));
	if (s->version != EXPERIMENT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("experiment_state version %d is not supported", s->version)));
	index = find_arm(s, name, length);
	if (index < 0)
	{
		/* a new variant: the only reallocation, once per variant */
		int			at = -index - 1;
		ArmInput   *in;

		if (s->arms == EXPERIMENT_MAX_VARIANTS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("an experiment has more than %d variants", EXPERIMENT_MAX_VARIANTS)));
		in = palloc(sizeof(ArmInput) * (s->arms + 1));
		for (int i = 0, j = 0; i <= s->arms; i++)
		{
			if (i == at)
			{
				memset(&in[i], 0, sizeof(ArmInput));
				in[i].name = name;
				in[i].length = length;
			}
			else
				in[i] = arm_of(s, j++);
		}
		s = state_build(in, s->arms + 1);
		index = at;
	}
	a = &s->arm[index];
	if (a->users == PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a variant has more users than bigint counts")));
	a->users++;
	if (PG_GETARG_BOOL(2))
		a->conversions++;
	a->revenue += revenue;
	delta = revenue - a->mean;
	a->mean += delta / (double) a->users;
	a->m2 += delta * (revenue - a->mean);
	if (!isfinite(a->revenue) || !isfinite(a->m2))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a variant's revenue sums are out of range")));
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(crm_experiment_stats_combine);
/* Merges two states by name; arms in both are combined by Chan et al.'s formula. */
Datum
crm_experiment_stats_combine(PG_FUNCTION_ARGS)
{
	ExperimentState *x,
			   *y;
	ArmInput   *in;
	int			i = 0,
				j = 0,
				k = 0;

	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(1)));
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0)));
	x = state_arg(fcinfo, 0);
	y = state_arg(fcinfo, 1);
	in = palloc(sizeof(ArmInput) * Max(x->arms + y->arms, 1));
	while (i < x->arms || j < y->arms)
	{
		int			c;

		CHECK_FOR_INTERRUPTS();
		if (i == x->arms)
			c = 1;
		else if (j == y->arms)
			c = -1;
		else
			c = name_compare(ES_NAME(x, i), x->arm[i].name_length, ES_NAME(y, j), y->arm[j].name_length);
		if (c < 0)
			in[k++] = arm_of(x, i++);
		else if (c > 0)
			in[k++] = arm_of(y, j++);
		else
		{
			ArmInput	a = arm_of(x, i++),
						b = arm_of(y, j++);
			double		n = (double) a.users + (double) b.users,
						delta = b.mean - a.mean;

			if (pg_add_s64_overflow(a.users, b.users, &in[k].users))
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("a variant has more users than bigint counts")));
			in[k].name = a.name;
			in[k].length = a.length;
			in[k].conversions = a.conversions + b.conversions;
			in[k].revenue = a.revenue + b.revenue;
			in[k].mean = a.mean + delta * ((double) b.users / n);
			in[k].m2 = a.m2 + b.m2 + delta * delta * ((double) a.users * ((double) b.users / n));
			k++;
		}
	}
	if (k > EXPERIMENT_MAX_VARIANTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an experiment has more than %d variants", EXPERIMENT_MAX_VARIANTS)));
	PG_RETURN_POINTER(state_build(in, k));
}

/* ============================================================================================
 * Reading a state
 * ============================================================================================ */

PG_FUNCTION_INFO_V1(crm_experiment_arms);
/* variant, users, conversions, conversion_rate, revenue, revenue_per_user, revenue_variance */
Datum
crm_experiment_arms(PG_FUNCTION_ARGS)
{
	ExperimentState *s = state_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < s->arms; i++)
	{
		const ExperimentArm *a = &s->arm[i];
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, a->users < 2};

		values[0] = PointerGetDatum(cstring_to_text_with_len(ES_NAME(s, i), a->name_length));
		values[1] = Int64GetDatum(a->users);
		values[2] = Int64GetDatum(a->conversions);
		values[3] = Float8GetDatum((double) a->conversions / (double) a->users);
		values[4] = Float8GetDatum(a->revenue);
		values[5] = Float8GetDatum(a->mean);
		values[6] = Float8GetDatum(a->users < 2 ? 0 : a->m2 / ((double) a->users - 1));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

#define COMPARISON_COLUMNS 24

PG_FUNCTION_INFO_V1(crm_experiment_comparison);
/*
 * One row per variant other than the control: users, conversions, then the two-proportion
 * comparison (10 columns) and its Holm-adjusted p-value, then Welch's test on revenue per user
 * (9 columns) and its Holm-adjusted p-value. Holm runs over the variants, separately for the
 * conversion and the revenue p-values.
 */
Datum
crm_experiment_comparison(PG_FUNCTION_ARGS)
{
	ExperimentState *s;
	text	   *control_text;
	double		alpha;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			control,
				rows = 0;
	double	   *conversion_p,
			   *revenue_p;
	int		   *conversion_at,
			   *revenue_at;
	int			conversion_m = 0,
				revenue_m = 0;
	Datum	  (*values)[COMPARISON_COLUMNS];
	bool		(*nulls)[COMPARISON_COLUMNS];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		InitMaterializedSRF(fcinfo, 0);
		return (Datum) 0;
	}
	s = state_arg(fcinfo, 0);
	control_text = PG_GETARG_TEXT_PP(1);
	alpha = PG_GETARG_FLOAT8(2);
	check_alpha(alpha);
	control = find_arm(s, VARDATA_ANY(control_text), VARSIZE_ANY_EXHDR(control_text));
	if (control < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the control variant \"%s\" is not in the experiment", text_to_cstring(control_text)),
				 errdetail("The state has %d variants.", s->arms)));
	InitMaterializedSRF(fcinfo, 0);
	values = palloc(sizeof(*values) * Max(s->arms, 1));
	nulls = palloc(sizeof(*nulls) * Max(s->arms, 1));
	conversion_p = palloc(sizeof(double) * Max(s->arms, 1));
	revenue_p = palloc(sizeof(double) * Max(s->arms, 1));
	conversion_at = palloc(sizeof(int) * Max(s->arms, 1));
	revenue_at = palloc(sizeof(int) * Max(s->arms, 1));
	for (int i = 0; i < s->arms; i++)
	{
		const ExperimentArm *c = &s->arm[control],
				   *a = &s->arm[i];
		double		v[PROPORTION_COLUMNS];
		bool		null[PROPORTION_COLUMNS];
		Datum	   *row = values[rows];
		bool	   *row_null = nulls[rows];

		CHECK_FOR_INTERRUPTS();
		if (i == control)
			continue;
		row[0] = PointerGetDatum(cstring_to_text_with_len(ES_NAME(s, i), a->name_length));
		row[1] = Int64GetDatum(a->users);
		row[2] = Int64GetDatum(a->conversions);
		for (int k = 0; k < COMPARISON_COLUMNS; k++)
			row_null[k] = false;
		two_proportions(c->users, c->conversions, a->users, a->conversions, alpha, v, null);
		for (int k = 0; k < PROPORTION_COLUMNS; k++)
		{
			row[3 + k] = Float8GetDatum(null[k] ? 0 : v[k]);
			row_null[3 + k] = null[k];
		}
		row_null[13] = null[9];
		if (!null[9])
		{
			conversion_at[conversion_m] = rows;
			conversion_p[conversion_m++] = v[9];
		}
		if (c->users >= 2 && a->users >= 2)
		{
			welch((double) c->users, c->mean, c->m2 / ((double) c->users - 1),
				  (double) a->users, a->mean, a->m2 / ((double) a->users - 1), alpha, v, null);
			for (int k = 0; k < WELCH_COLUMNS; k++)
			{
				if (!null[k] && !isfinite(v[k]))
					null[k] = true;
				row[14 + k] = Float8GetDatum(null[k] ? 0 : v[k]);
				row_null[14 + k] = null[k];
			}
			row_null[23] = null[8];
			if (!null[8])
			{
				revenue_at[revenue_m] = rows;
				revenue_p[revenue_m++] = v[8];
			}
		}
		else
			for (int k = 14; k < COMPARISON_COLUMNS; k++)
				row_null[k] = true;
		rows++;
	}
	if (conversion_m > 0)
		holm(conversion_p, conversion_m);
	for (int k = 0; k < conversion_m; k++)
		values[conversion_at[k]][13] = Float8GetDatum(conversion_p[k]);
	if (revenue_m > 0)
		holm(revenue_p, revenue_m);
	for (int k = 0; k < revenue_m; k++)
		values[revenue_at[k]][23] = Float8GetDatum(revenue_p[k]);
	for (int r = 0; r < rows; r++)
	{
		for (int k = 3; k < COMPARISON_COLUMNS; k++)
			if (nulls[r][k])
				values[r][k] = Float8GetDatum(0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values[r], nulls[r]);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(crm_experiment_srm);
/* The sample ratio mismatch check on a state's users per variant (variants in name order). */
Datum
crm_experiment_srm(PG_FUNCTION_ARGS)
{
	ExperimentState *s;
	int64	   *observed;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = state_arg(fcinfo, 0);
	observed = palloc(sizeof(int64) * Max(s->arms, 1));
	for (int i = 0; i < s->arms; i++)
		observed[i] = s->arm[i].users;
	PG_RETURN_DATUM(srm_result(fcinfo, observed, srm_weights(fcinfo, 1, s->arms), s->arms));
}
