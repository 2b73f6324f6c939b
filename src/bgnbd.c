/*
 * bgnbd.c: the BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting Your
 * Customers the Easy Way"): fit by maximum likelihood, and its predictions.
 *
 * A customer is summarised by x (repeat purchases), t_x (time of the last purchase since the
 * first) and T (time since the first purchase), kept in the compressed state of clv_state.c.
 *
 * The fit maximises the log-likelihood over the logs of the four positive parameters with BFGS
 * and analytic gradients; all terms are computed in logs, so no product overflows.
 */
#include "clv.h"

#include <float.h>

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

static void
bgnbd_validate(int32 x, double t_x, double big_t)
{
	const char *problem = NULL;

	if (x < 0)
		problem = "x (repeat purchases) must not be negative";
	else if (isnan(t_x) || isinf(t_x) || isnan(big_t) || isinf(big_t))
		problem = "t_x and T must be finite";
	else if (t_x < 0 || big_t < 0)
		problem = "t_x and T must not be negative";
	else if (t_x > big_t)
		problem = "t_x (time of the last purchase) must not exceed T (the customer's age)";
	else if (x > 0 && t_x == 0)
		problem = "a customer with repeat purchases (x > 0) must have t_x > 0";
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid BG/NBD customer summary"),
				 errdetail("%s; got x = %d, t_x = %g, T = %g.", problem, x, t_x, big_t)));
}

PG_FUNCTION_INFO_V1(crm_bgnbd_trans);
/* bgnbd_fit transition: adds one customer's (x, t_x, T); rows with a NULL are skipped. */
Datum
crm_bgnbd_trans(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_bgnbd_trans");
	CustomerSummaries *state = PG_ARGISNULL(0) ? NULL : (CustomerSummaries *) PG_GETARG_POINTER(0);
	double		penalizer = customer_summaries_penalizer(fcinfo, 4);
	int32		x;
	double		t_x,
				big_t;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	x = PG_GETARG_INT32(1);
	t_x = PG_GETARG_FLOAT8(2);
	big_t = PG_GETARG_FLOAT8(3);
	bgnbd_validate(x, t_x, big_t);
	if (state == NULL)
		state = customer_summaries_new(context, 0, penalizer);
	customer_summaries_add(state, x, t_x, big_t);
	PG_RETURN_POINTER(state);
}

/*
 * The mean log-likelihood per customer at (r, alpha, a, b) = exp(theta), and its gradient with
 * respect to theta. Summaries are sorted by x, so the terms that depend only on x are computed once
 * per distinct x.
 */
static double
bgnbd_log_likelihood(const CustomerSummaries *state, const double theta[4], double gradient[4], double *total_weight)
{
	double		r = exp(theta[0]),
				alpha = exp(theta[1]),
				a = exp(theta[2]),
				b = exp(theta[3]);
	double		log_alpha = log(alpha);
	double		sum = 0,
				weights = 0;
	double		g_r = 0,
				g_alpha = 0,
				g_a = 0,
				g_b = 0;
	int32		cached_x = -1;
	double		ln_a1_a2 = 0,
				d_r_common = 0,
				d_a_common = 0,
				d_b_common = 0,
				ln_a4_constant = 0;
	double		lgamma_r = lgamma(r),
				lgamma_b = lgamma(b),
				lgamma_ab = lgamma(a + b),
				digamma_r = crm_digamma(r),
				digamma_b = crm_digamma(b),
				digamma_ab = crm_digamma(a + b);

	for (int64 i = 0; i < state->count; i++)
	{
		const CustomerSummary *t = &state->rows[i];
		double		rx = r + t->x;
		double		ln_a3,
					ln_alpha_t = log(alpha + t->v),
					log_sum;

		if (t->x != cached_x)
		{
			cached_x = t->x;
			ln_a1_a2 = lgamma(rx) - lgamma_r + r * log_alpha +
				lgamma_ab + lgamma(b + t->x) - lgamma_b - lgamma(a + b + t->x);
			d_r_common = crm_digamma(rx) - digamma_r + log_alpha;
			d_a_common = digamma_ab - crm_digamma(a + b + t->x);
			d_b_common = digamma_ab + crm_digamma(b + t->x) - digamma_b - crm_digamma(a + b + t->x);
			ln_a4_constant = t->x > 0 ? log(a) - log(b + t->x - 1) : 0;
		}
		ln_a3 = -rx * ln_alpha_t;
		if (t->x > 0)
		{
			double		ln_alpha_tx = log(alpha + t->u);
			double		ln_a4 = ln_a4_constant - rx * ln_alpha_tx;
			double		top = Max(ln_a3, ln_a4);

			double		w3,
						w4;

			log_sum = top + log(exp(ln_a3 - top) + exp(ln_a4 - top));
			w3 = exp(ln_a3 - log_sum);
			w4 = exp(ln_a4 - log_sum);
			g_r += t->weight * (d_r_common - w3 * ln_alpha_t - w4 * ln_alpha_tx);
			g_alpha += t->weight * (r / alpha - w3 * rx / (alpha + t->v) - w4 * rx / (alpha + t->u));
			g_a += t->weight * (d_a_common + w4 / a);
			g_b += t->weight * (d_b_common - w4 / (b + t->x - 1));
		}
		else
		{
			log_sum = ln_a3;
			g_r += t->weight * (d_r_common - ln_alpha_t);
			g_alpha += t->weight * (r / alpha - rx / (alpha + t->v));
			g_a += t->weight * d_a_common;
			g_b += t->weight * d_b_common;
		}
		sum += t->weight * (ln_a1_a2 + log_sum);
		weights += t->weight;
	}
	/* d/dtheta = p * d/dp, per customer */
	gradient[0] = r * g_r / weights;
	gradient[1] = alpha * g_alpha / weights;
	gradient[2] = a * g_a / weights;
	gradient[3] = b * g_b / weights;
	*total_weight = weights;
	return sum / weights;
}

/* The objective BFGS minimises: lifetimes' -LL / N + penalizer * sum(params^2). */
static double
bgnbd_objective(const void *arg, const double *theta, double *gradient, double *log_likelihood)
{
	const CustomerSummaries *state = arg;
	double		weights;
	double		mean_ll = bgnbd_log_likelihood(state, theta, gradient, &weights);
	double		penalty = 0;

	*log_likelihood = mean_ll * weights;
	for (int k = 0; k < 4; k++)
	{
		double		p = exp(theta[k]);

		penalty += state->penalizer * p * p;
		gradient[k] = -gradient[k] + 2 * state->penalizer * p * p;
	}
	return -mean_ll + penalty;
}

PG_FUNCTION_INFO_V1(crm_bgnbd_final);
/* bgnbd_fit final: fits the model and returns a crm.bgnbd_model. */
Datum
crm_bgnbd_final(PG_FUNCTION_ARGS)
{
	CustomerSummaries *state;
	double		theta[4] = {0, 0, 0, 0};
	double		log_likelihood = 0,
				customers = 0;
	bool		any_repeat = false;
	int			iterations = 0;
	bool		converged;

	crm_aggregate_context(fcinfo, "crm_bgnbd_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (CustomerSummaries *) PG_GETARG_POINTER(0);
	customer_summaries_compact(state);
	for (int64 i = 0; i < state->count; i++)
	{
		customers += state->rows[i].weight;
		any_repeat |= state->rows[i].x > 0;
	}
	if (customers < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too few customers to fit a BG/NBD model"),
				 errdetail("The fit needs at least 2 customers; it got %.0f.", customers)));
	if (!any_repeat)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no customer made a repeat purchase"),
				 errdetail("A BG/NBD model cannot be fitted when every x is 0.")));

	converged = crm_minimise_bfgs(bgnbd_objective, state, 4, theta, 1e-9, 1000, &iterations, &log_likelihood);
	PG_RETURN_DATUM(customer_model_datum(fcinfo, theta, 4, log_likelihood, customers, iterations, converged));
}

/* The four parameters (r, alpha, a, b) of a crm.bgnbd_model argument, checked. */
static void
bgnbd_model_parameters(HeapTupleHeader model, double parameters[4])
{
	const char *names[4] = {"r", "alpha", "a", "b"};

	for (int k = 0; k < 4; k++)
	{
		bool		is_null;
		Datum		value = GetAttributeByNum(model, k + 1, &is_null);

		if (is_null)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("BG/NBD model parameter %s is NULL", names[k]),
					 errhint("Use a model whose fit converged.")));
		parameters[k] = DatumGetFloat8(value);
		if (!(parameters[k] > 0) || isinf(parameters[k]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("BG/NBD model parameter %s must be a positive number", names[k]),
					 errdetail("It is %g.", parameters[k])));
	}
}

/*
 * ln 2F1(a, b; c; z) for a, b, c > 0 and 0 <= z < 1 by its power series, summed with a running
 * scale so that large terms (x in the thousands) cannot overflow. The terms are positive here.
 */
static double
log_hyp2f1(double a, double b, double c, double z)
{
	double		log_scale = 0,
				term = 1,
				sum = 1;

	if (z == 0)
		return 0;
	for (int64 k = 0; k < 10000000; k++)
	{
		term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
		sum += term;
		if (sum > 1e280)
		{
			log_scale += log(sum);
			term /= sum;
			sum = 1;
		}
		/* past the largest term, the remainder is below term * z / (1 - z) */
		if (term < sum * 1e-17 && (a + k) * (b + k) < (c + k) * (k + 1) / z)
			return log_scale + log(sum);
	}
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("hypergeometric series did not converge"),
			 errdetail("2F1(%g, %g; %g; %g) needs more than 10000000 terms.", a, b, c, z)));
	return 0;
}

static void
bgnbd_validate_prediction(double t, int32 x, double t_x, double big_t)
{
	bgnbd_validate(x, t_x, big_t);
	if (!(t >= 0) || isinf(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t must be a finite, non-negative number"),
				 errdetail("The t given was %g.", t)));
}

/* ln of the denominator 1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x). */
static double
log_alive_denominator(double r, double alpha, double a, double b, int32 x, double t_x, double big_t)
{
	double		ln_odds;

	if (x == 0)
		return 0;
	ln_odds = log(a) - log(b + x - 1) + (r + x) * (log(alpha + big_t) - log(alpha + t_x));
	return ln_odds > 0 ? ln_odds + log1p(exp(-ln_odds)) : log1p(exp(ln_odds));
}

PG_FUNCTION_INFO_V1(crm_bgnbd_p_alive);
/* P(alive | x, t_x, T): the probability the customer has not dropped out. */
Datum
crm_bgnbd_p_alive(PG_FUNCTION_ARGS)
{
	double		p[4];
	int32		x = PG_GETARG_INT32(1);
	double		t_x = PG_GETARG_FLOAT8(2);
	double		big_t = PG_GETARG_FLOAT8(3);

	bgnbd_model_parameters(PG_GETARG_HEAPTUPLEHEADER(0), p);
	bgnbd_validate(x, t_x, big_t);
	PG_RETURN_FLOAT8(exp(-log_alive_denominator(p[0], p[1], p[2], p[3], x, t_x, big_t)));
}

/*
 * (a + b + x - 1) / (a - 1) * (1 - q^(r+x) 2F1(r+x, b+x; a+b+x-1; z)), the expected purchases in
 * t of a customer alive at T, with q = (alpha + T) / (alpha + T + t) and z = t / (alpha + T + t).
 * For a = 1 the limit is taken by the neighbouring values' mean.
 */
static double
bgnbd_conditional_numerator(double r, double alpha, double a, double b, int32 x, double big_t, double t)
{
	double		z = t / (alpha + big_t + t);
	double		log_q = log(alpha + big_t) - log(alpha + big_t + t);
	double		log_term;

	if (t == 0)
		return 0;
	if (fabs(a - 1) < 1e-9)
		return (bgnbd_conditional_numerator(r, alpha, 1 + 1e-6, b, x, big_t, t) +
				bgnbd_conditional_numerator(r, alpha, 1 - 1e-6, b, x, big_t, t)) / 2;
	log_term = (r + x) * log_q + log_hyp2f1(r + x, b + x, a + b + x - 1, z);
	return (a + b + x - 1) / (a - 1) * -expm1(log_term);
}

PG_FUNCTION_INFO_V1(crm_bgnbd_conditional_expected_purchases);
/* E[Y(t) | x, t_x, T]: expected purchases in the next t time units. */
Datum
crm_bgnbd_conditional_expected_purchases(PG_FUNCTION_ARGS)
{
	double		p[4];
	double		t = PG_GETARG_FLOAT8(1);
	int32		x = PG_GETARG_INT32(2);
	double		t_x = PG_GETARG_FLOAT8(3);
	double		big_t = PG_GETARG_FLOAT8(4);
	double		result;

	bgnbd_model_parameters(PG_GETARG_HEAPTUPLEHEADER(0), p);
	bgnbd_validate_prediction(t, x, t_x, big_t);
	result = bgnbd_conditional_numerator(p[0], p[1], p[2], p[3], x, big_t, t) *
		exp(-log_alive_denominator(p[0], p[1], p[2], p[3], x, t_x, big_t));
	if (!isfinite(result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("expected purchases out of range"),
				 errdetail("E[Y(%g) | x = %d, t_x = %g, T = %g] is not finite for this model.", t, x, t_x, big_t)));
	PG_RETURN_FLOAT8(result);
}

PG_FUNCTION_INFO_V1(crm_bgnbd_expected_purchases);
/* E[X(t)]: expected purchases of a new customer in their first t time units. */
Datum
crm_bgnbd_expected_purchases(PG_FUNCTION_ARGS)
{
	double		p[4];
	double		t = PG_GETARG_FLOAT8(1);

	bgnbd_model_parameters(PG_GETARG_HEAPTUPLEHEADER(0), p);
	bgnbd_validate_prediction(t, 0, 0, 0);
	/* E[X(t)] is the conditional formula for a customer just acquired: x = 0, T = 0 */
	PG_RETURN_FLOAT8(bgnbd_conditional_numerator(p[0], p[1], p[2], p[3], 0, 0, t));
}

PG_FUNCTION_INFO_V1(crm_bgnbd_p_purchases);
/* P(X(t) = n): the probability that a new customer makes exactly n repeat purchases in t. */
Datum
crm_bgnbd_p_purchases(PG_FUNCTION_ARGS)
{
	double		p[4];
	int32		n = PG_GETARG_INT32(1);
	double		t = PG_GETARG_FLOAT8(2);
	double		r,
				alpha,
				a,
				b,
				log_beta_ab,
				log_q,
				log_z,
				first,
				second = 0;

	bgnbd_model_parameters(PG_GETARG_HEAPTUPLEHEADER(0), p);
	r = p[0];
	alpha = p[1];
	a = p[2];
	b = p[3];
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n (purchases) must not be negative"),
				 errdetail("The n given was %d.", n)));
	bgnbd_validate_prediction(t, 0, 0, 0);
	if (t == 0)
		PG_RETURN_FLOAT8(n == 0 ? 1.0 : 0.0);

	/* Fader, Hardie & Lee's P(X(t) = x), every product in logs */
	log_beta_ab = lgamma(a) + lgamma(b) - lgamma(a + b);
	log_q = log(alpha) - log(alpha + t);	/* ln(alpha / (alpha + t)) */
	log_z = log(t) - log(alpha + t);	/* ln(t / (alpha + t)) */
	first = exp(lgamma(a) + lgamma(b + n) - lgamma(a + b + n) - log_beta_ab +
				lgamma(r + n) - lgamma(r) - lgamma(n + 1.0) + r * log_q + n * log_z);
	if (n > 0)
	{
		/* 1 - q^r sum_{j<n} Gamma(r+j) / (Gamma(r) j!) z^j: the chance of n or more if never dropping out */
		double		term = 1,
					sum = 1;

		for (int j = 1; j < n; j++)
		{
			term *= (r + j - 1) / j * exp(log_z);
			sum += term;
		}
		second = exp(lgamma(a + 1) + lgamma(b + n - 1) - lgamma(a + b + n) - log_beta_ab) *
			-expm1(r * log_q + log(sum));
	}
	PG_RETURN_FLOAT8(Max(0.0, Min(1.0, first + second)));
}
