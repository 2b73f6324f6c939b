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
#include "miscadmin.h"
#include "utils/builtins.h"

void
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
	double		penalizer = customer_summaries_penalizer(fcinfo, 4);
	CustomerSummaries *state;
	int32		x;
	double		t_x,
				big_t;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	x = PG_GETARG_INT32(1);
	t_x = PG_GETARG_FLOAT8(2);
	big_t = PG_GETARG_FLOAT8(3);
	bgnbd_validate(x, t_x, big_t);
	state = customer_summaries_state(fcinfo, CLV_KIND_BGNBD, penalizer);
	customer_summaries_add(state, x, t_x, big_t);
	PG_RETURN_DATUM(CustomerSummariesGetDatum(state));
}

/* Fits over more than four times this many distinct summaries start from a sample's fit. */
#define BGNBD_SAMPLE_SIZE 50000

/*
 * The summaries laid out for the likelihood. Rows are grouped by x (the compacted state is sorted
 * by x); each row refers to its t_x and T through indices into one table of the distinct times, so
 * the logarithms and reciprocals of alpha + time are computed once per distinct time and
 * evaluation rather than once per row. The term -(r + x) ln(alpha + T) every customer has is summed
 * per distinct T through the weights kept here, so only customers with x > 0 cost a pass per
 * evaluation: one exponential and one logarithm each.
 */
typedef struct BgnbdRepeatRow
{
	int32		t_x_index;
	int32		big_t_index;
	double		weight;
} BgnbdRepeatRow;

typedef struct BgnbdXGroup
{
	int32		x;
	double		weight;			/* customers with this x */
	int64		first;			/* their rows in repeat_rows (x > 0 only) */
	int64		end;
} BgnbdXGroup;

typedef struct BgnbdData
{
	double		penalizer;
	double		customers;
	int			group_count;
	BgnbdXGroup *groups;
	BgnbdRepeatRow *repeat_rows;
	int64		time_count;
	double	   *times;			/* the distinct t_x and T values */
	double	   *big_t_weight;	/* per time: the weight of the customers whose T it is */
	double	   *big_t_weight_x; /* per time: the same weighted by x */
	double	   *log_alpha_time; /* per evaluation: ln(alpha + time) */
	double	   *inverse_alpha_time; /* per evaluation: 1 / (alpha + time) */
} BgnbdData;

/*
 * An open-addressing table from a time (its bits) to its index in BgnbdData.times, growing as
 * distinct times arrive.
 */
typedef struct TimeIndex
{
	uint64		mask;
	uint64	   *keys;
	int32	   *slots;			/* -1 when empty */
} TimeIndex;

static void
time_index_init(TimeIndex *index, uint64 size)
{
	index->mask = size - 1;
	index->keys = palloc_extended(sizeof(uint64) * size, MCXT_ALLOC_HUGE);
	index->slots = palloc_extended(sizeof(int32) * size, MCXT_ALLOC_HUGE);
	memset(index->slots, -1, sizeof(int32) * size);
}

static inline uint64
time_index_slot(const TimeIndex *index, uint64 key)
{
	uint64		slot = (key * UINT64CONST(0x9E3779B97F4A7C15)) >> 32;

	while (index->slots[slot & index->mask] >= 0 && index->keys[slot & index->mask] != key)
		slot++;
	return slot & index->mask;
}

/* The index of time in data->times, appending it if new. */
static int32
time_index_lookup(TimeIndex *index, BgnbdData *data, double time)
{
	uint64		key;
	uint64		slot;

	time += 0.0;				/* -0 and 0 are one time */
	memcpy(&key, &time, sizeof(key));
	slot = time_index_slot(index, key);
	if (index->slots[slot] < 0)
	{
		if ((uint64) data->time_count * 2 >= index->mask)
		{
			TimeIndex	larger;

			time_index_init(&larger, (index->mask + 1) * 2);
			for (int64 j = 0; j < data->time_count; j++)
			{
				uint64		old_key;
				uint64		new_slot;

				memcpy(&old_key, &data->times[j], sizeof(old_key));
				new_slot = time_index_slot(&larger, old_key);
				larger.keys[new_slot] = old_key;
				larger.slots[new_slot] = (int32) j;
			}
			pfree(index->keys);
			pfree(index->slots);
			*index = larger;
			slot = time_index_slot(index, key);
		}
		index->keys[slot] = key;
		index->slots[slot] = (int32) data->time_count;
		data->times[data->time_count++] = time;
	}
	return index->slots[slot];
}

/*
 * Lay the compacted state out for the likelihood (see BgnbdData): every stride-th distinct
 * summary, so 1 for all of them; the state is sorted, so a larger stride gives a sample
 * stratified by x, t_x and T.
 */
static void
bgnbd_data_build(const CustomerSummaries *state, int64 stride, BgnbdData *data)
{
	TimeIndex	index;
	int64		repeat_count = 0;

	memset(data, 0, sizeof(*data));
	data->penalizer = state->penalizer;
	data->groups = palloc(sizeof(BgnbdXGroup));
	data->repeat_rows = palloc_extended(sizeof(BgnbdRepeatRow) * Max(state->count, 1), MCXT_ALLOC_HUGE);
	/* at most two distinct times per row; those arrays are indexed by int32 */
	if (state->count > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct customer summaries for a BG/NBD fit"),
				 errdetail("The fit holds at most %d distinct (x, t_x, T); it got %lld.",
						   PG_INT32_MAX / 2, (long long) state->count)));
	data->times = palloc_extended(sizeof(double) * Max(2 * state->count, 1), MCXT_ALLOC_HUGE);
	time_index_init(&index, 1024);
	for (int64 i = 0; i < state->count; i += stride)
	{
		const CustomerSummary *row = &state->rows[i];
		BgnbdXGroup *group;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (data->group_count == 0 || data->groups[data->group_count - 1].x != row->x)
		{
			data->groups = repalloc(data->groups, sizeof(BgnbdXGroup) * (data->group_count + 1));
			group = &data->groups[data->group_count++];
			group->x = row->x;
			group->weight = 0;
			group->first = group->end = repeat_count;
		}
		group = &data->groups[data->group_count - 1];
		group->weight += row->weight;
		data->customers += row->weight;
		if (row->x > 0)
		{
			BgnbdRepeatRow *repeat_row = &data->repeat_rows[repeat_count++];

			repeat_row->t_x_index = time_index_lookup(&index, data, row->u);
			repeat_row->big_t_index = time_index_lookup(&index, data, row->v);
			repeat_row->weight = row->weight;
			group->end = repeat_count;
		}
		else
			time_index_lookup(&index, data, row->v);
	}
	data->big_t_weight = palloc_extended(sizeof(double) * Max(data->time_count, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	data->big_t_weight_x = palloc_extended(sizeof(double) * Max(data->time_count, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 i = 0; i < state->count; i += stride)
	{
		const CustomerSummary *row = &state->rows[i];
		int32		j = time_index_lookup(&index, data, row->v);

		data->big_t_weight[j] += row->weight;
		data->big_t_weight_x[j] += row->weight * row->x;
	}
	data->log_alpha_time = palloc_extended(sizeof(double) * Max(data->time_count, 1), MCXT_ALLOC_HUGE);
	data->inverse_alpha_time = palloc_extended(sizeof(double) * Max(data->time_count, 1), MCXT_ALLOC_HUGE);
	pfree(index.keys);
	pfree(index.slots);
}

/*
 * The mean log-likelihood per customer at (r, alpha, a, b) = exp(theta), and its gradient with
 * respect to theta. A customer's likelihood is A1 A2 (A3 + A4) in the paper's notation, with
 * ln A3 = -(r + x) ln(alpha + T) and, for x > 0, ln A4 = ln a - ln(b + x - 1) - (r + x) ln(alpha + t_x);
 * ln(A3 + A4) = ln A3 + softplus(u), u = ln A4 - ln A3, whose derivatives carry sigmoid(u).
 */
static double
bgnbd_log_likelihood(const BgnbdData *data, const double theta[4], double gradient[4])
{
	double		r = exp(theta[0]),
				alpha = exp(theta[1]),
				a = exp(theta[2]),
				b = exp(theta[3]);
	double		log_alpha = log(alpha),
				log_a = log(a);
	double		lgamma_r = lgamma(r),
				lgamma_b = lgamma(b),
				lgamma_ab = lgamma(a + b),
				digamma_r = crm_digamma(r),
				digamma_b = crm_digamma(b),
				digamma_ab = crm_digamma(a + b);
	double		sum = 0,
				g_r = 0,
				g_alpha = 0,
				g_a = 0,
				g_b = 0;
	const double *log_alpha_time = data->log_alpha_time;
	const double *inverse_alpha_time = data->inverse_alpha_time;

	for (int64 j = 0; j < data->time_count; j++)
	{
		double		log_time = log(alpha + data->times[j]);
		double		inverse_time = 1 / (alpha + data->times[j]);
		double		weight_rx = r * data->big_t_weight[j] + data->big_t_weight_x[j];

		data->log_alpha_time[j] = log_time;
		data->inverse_alpha_time[j] = inverse_time;
		/* ln A3 and its derivatives, for every customer */
		sum -= weight_rx * log_time;
		g_r -= data->big_t_weight[j] * log_time;
		g_alpha -= weight_rx * inverse_time;
	}
	for (int g = 0; g < data->group_count; g++)
	{
		const BgnbdXGroup *group = &data->groups[g];
		int32		x = group->x;
		double		rx = r + x;

		CHECK_FOR_INTERRUPTS();
		/* ln A1 + ln A2, which depend on x only */
		sum += group->weight * (lgamma(rx) - lgamma_r + r * log_alpha +
								lgamma_ab + lgamma(b + x) - lgamma_b - lgamma(a + b + x));
		g_r += group->weight * (crm_digamma(rx) - digamma_r + log_alpha);
		g_alpha += group->weight * r / alpha;
		g_a += group->weight * (digamma_ab - crm_digamma(a + b + x));
		g_b += group->weight * (digamma_ab + crm_digamma(b + x) - digamma_b - crm_digamma(a + b + x));
		if (x == 0)
			continue;

		{
			double		log_odds_constant = log_a - log(b + x - 1);
			double		softplus_sum = 0,
						sigmoid_sum = 0,
						sigmoid_log_ratio_sum = 0,
						sigmoid_inverse_difference_sum = 0;

			for (int64 i = group->first; i < group->end; i++)
			{
				const BgnbdRepeatRow *row = &data->repeat_rows[i];
				double		log_ratio = log_alpha_time[row->big_t_index] - log_alpha_time[row->t_x_index];
				double		u = log_odds_constant + rx * log_ratio;
				double		e = exp(-fabs(u));
				double		sigmoid = (u > 0 ? 1 : e) / (1 + e);

				softplus_sum += row->weight * (Max(u, 0) + log1p(e));
				sigmoid_sum += row->weight * sigmoid;
				sigmoid_log_ratio_sum += row->weight * sigmoid * log_ratio;
				sigmoid_inverse_difference_sum += row->weight * sigmoid *
					(inverse_alpha_time[row->big_t_index] - inverse_alpha_time[row->t_x_index]);
			}
			sum += softplus_sum;
			g_r += sigmoid_log_ratio_sum;
			g_alpha += rx * sigmoid_inverse_difference_sum;
			g_a += sigmoid_sum / a;
			g_b -= sigmoid_sum / (b + x - 1);
		}
	}
	/* d/dtheta = p * d/dp, per customer */
	gradient[0] = r * g_r / data->customers;
	gradient[1] = alpha * g_alpha / data->customers;
	gradient[2] = a * g_a / data->customers;
	gradient[3] = b * g_b / data->customers;
	return sum / data->customers;
}

/* The objective BFGS minimises: lifetimes' -LL / N + penalizer * sum(params^2). */
static double
bgnbd_objective(const void *arg, const double *theta, double *gradient, double *log_likelihood)
{
	const BgnbdData *data = arg;
	double		mean_ll = bgnbd_log_likelihood(data, theta, gradient);
	double		penalty = 0;

	*log_likelihood = mean_ll * data->customers;
	for (int k = 0; k < 4; k++)
	{
		double		p = exp(theta[k]);

		penalty += data->penalizer * p * p;
		gradient[k] = -gradient[k] + 2 * data->penalizer * p * p;
	}
	return -mean_ll + penalty;
}

PG_FUNCTION_INFO_V1(crm_bgnbd_final);
/* bgnbd_fit final: fits the model and returns a crm.bgnbd_model. */
Datum
crm_bgnbd_final(PG_FUNCTION_ARGS)
{
	CustomerSummaries *state;
	BgnbdData	data;
	const double *start_inverse_hessian = NULL;
	double		inverse_hessian[4 * 4];
	double		theta[4] = {0, 0, 0, 0};
	double		log_likelihood = 0;
	int			iterations = 0;
	bool		converged;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = customer_summaries_arg(fcinfo, 0, CLV_KIND_BGNBD);
	customer_summaries_compact(state);
	bgnbd_data_build(state, 1, &data);
	if (data.customers < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too few customers to fit a BG/NBD model"),
				 errdetail("The fit needs at least 2 customers; it got %.0f.", data.customers)));
	if (data.groups[data.group_count - 1].x == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no customer made a repeat purchase"),
				 errdetail("A BG/NBD model cannot be fitted when every x is 0.")));

	/*
	 * With many distinct summaries, most of the iterations are spent far from the optimum, where a
	 * sample leads as well as the whole: fit a stratified sample first, then start the full fit
	 * from its parameters and its estimate of the inverse Hessian, which needs a few iterations.
	 */
	if (state->count >= 4 * BGNBD_SAMPLE_SIZE)
	{
		BgnbdData	sample;
		int			sample_iterations;
		double		sample_log_likelihood;

		bgnbd_data_build(state, state->count / BGNBD_SAMPLE_SIZE, &sample);
		if (sample.groups[sample.group_count - 1].x > 0 &&
			crm_minimise_bfgs(bgnbd_objective, &sample, 4, theta, 1e-6, 1000, &sample_iterations,
							  &sample_log_likelihood, NULL, inverse_hessian))
			start_inverse_hessian = inverse_hessian;
		else
			memset(theta, 0, sizeof(theta));
	}
	converged = crm_minimise_bfgs(bgnbd_objective, &data, 4, theta, 1e-9, 1000, &iterations, &log_likelihood,
								  start_inverse_hessian, NULL);
	PG_RETURN_DATUM(customer_model_datum(fcinfo, theta, 4, log_likelihood, data.customers, iterations, converged));
}

/* The four parameters (r, alpha, a, b) of the crm.bgnbd_model in argument, checked. */
void
clv_bgnbd_model_parameters(FunctionCallInfo fcinfo, int argument, double parameters[4])
{
	static const char *const names[4] = {"r", "alpha", "a", "b"};

	clv_model_parameters(fcinfo, argument, "BG/NBD", 4, names, parameters);
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
		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
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
			 errdetail("2F1(%g, %g; %g; %g) needs more than 10000000 terms.", a, b, c, z),
			 errhint("Use a shorter horizon: t is large against alpha + T.")));
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

/*
 * P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)),
 * with two logarithms and one exponential: the log odds of having dropped out are
 * ln(a / (b + x - 1)) + (r + x) ln(1 + (T - t_x) / (alpha + t_x)) (log1p keeps full precision
 * when T is close to t_x), and the logistic function of them is taken on the side where the
 * exponential cannot overflow; for x below 64 the first logarithm comes from a table kept for the
 * last model's (a, b). 0.1 took four logarithms, a log1p and two exponentials per customer; this
 * takes a log1p and an exponential (lifetimes' NumPy code: two logarithms and an exponential).
 */
#define P_ALIVE_CACHED_X 64

/* ln(a / (b + x - 1)) for x = 1 .. P_ALIVE_CACHED_X - 1 of the last (a, b) seen in this backend */
static double p_alive_cache_a = -1,
			p_alive_cache_b = -1;
static double p_alive_log_ratio[P_ALIVE_CACHED_X];

static inline double
bgnbd_p_alive_given(double r, double alpha, double a, double b, int32 x, double t_x, double big_t)
{
	double		log_odds;
	double		log_ratio;

	if (x == 0)
		return 1.0;
	/* most customers buy a few times: the first factor's logarithm comes from a table */
	if (x < P_ALIVE_CACHED_X)
	{
		if (a != p_alive_cache_a || b != p_alive_cache_b)
		{
			for (int k = 1; k < P_ALIVE_CACHED_X; k++)
				p_alive_log_ratio[k] = log(a / (b + k - 1));
			p_alive_cache_a = a;
			p_alive_cache_b = b;
		}
		log_ratio = p_alive_log_ratio[x];
	}
	else
		log_ratio = log(a / (b + x - 1));
	log_odds = log_ratio + (r + x) * log1p((big_t - t_x) / (alpha + t_x));
	if (log_odds > 0)
	{
		double		e = exp(-log_odds);

		return e / (1 + e);
	}
	return 1 / (1 + exp(log_odds));
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

	clv_bgnbd_model_parameters(fcinfo, 0, p);
	bgnbd_validate(x, t_x, big_t);
	PG_RETURN_FLOAT8(crm_finite_result(bgnbd_p_alive_given(p[0], p[1], p[2], p[3], x, t_x, big_t),
									   "P(alive)"));
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

/* E[Y(t) | x, t_x, T] for a model's (r, alpha, a, b) and a validated customer and t. */
double
bgnbd_expected_purchases_given(const double p[4], double t, int32 x, double t_x, double big_t)
{
	double		result = bgnbd_conditional_numerator(p[0], p[1], p[2], p[3], x, big_t, t) *
		exp(-log_alive_denominator(p[0], p[1], p[2], p[3], x, t_x, big_t));

	if (!isfinite(result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("expected purchases out of range"),
				 errdetail("E[Y(%g) | x = %d, t_x = %g, T = %g] is not finite for this model.", t, x, t_x, big_t)));
	return result;
}

/*
 * E[Y(t_i) | x, t_x, T] for each of count increasing horizons t_i (a customer's value over the
 * months ahead). The hypergeometric series' coefficients do not depend on t, so they are computed
 * once and shared; a horizon whose series would need more of them than are kept, or whose
 * coefficients grow out of range (x in the thousands), takes the scaled series of log_hyp2f1.
 */
void
bgnbd_expected_purchases_over(const double p[4], int32 x, double t_x, double big_t,
							  int count, const double *t, double *expected)
{
#define SHARED_COEFFICIENTS 512
	double		r = p[0],
				alpha = p[1],
				a = p[2],
				b = p[3];
	double		coefficients[SHARED_COEFFICIENTS];
	int			computed = 1;
	double		alive = exp(-log_alive_denominator(r, alpha, a, b, x, t_x, big_t));
	double		rx = r + x,
				bx = b + x,
				cx = a + b + x - 1;

	coefficients[0] = 1;
	for (int i = 0; i < count; i++)
	{
		double		z = t[i] / (alpha + big_t + t[i]);
		double		zk = 1,
					sum = 1;
		bool		summed = false;

		CHECK_FOR_INTERRUPTS();
		if (t[i] == 0 || fabs(a - 1) < 1e-9)
		{
			expected[i] = bgnbd_expected_purchases_given(p, t[i], x, t_x, big_t);
			continue;
		}
		for (int k = 1; k < SHARED_COEFFICIENTS; k++)
		{
			double		term;

			if (k == computed)
			{
				coefficients[k] = coefficients[k - 1] * (rx + k - 1) * (bx + k - 1) / ((cx + k - 1) * k);
				if (coefficients[k] > 1e280)
					break;
				computed++;
			}
			zk *= z;
			term = coefficients[k] * zk;
			sum += term;
			/* past the largest term, the remainder is below term * z / (1 - z) */
			if (term < sum * 1e-17 && (rx + k) * (bx + k) < (cx + k) * (k + 1) / z)
			{
				summed = true;
				break;
			}
		}
		if (!summed)
		{
			expected[i] = bgnbd_expected_purchases_given(p, t[i], x, t_x, big_t);
			continue;
		}
		expected[i] = (a + b + x - 1) / (a - 1) *
			-expm1(rx * (log(alpha + big_t) - log(alpha + big_t + t[i])) + log(sum)) * alive;
		if (!isfinite(expected[i]))
			expected[i] = bgnbd_expected_purchases_given(p, t[i], x, t_x, big_t);
	}
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

	clv_bgnbd_model_parameters(fcinfo, 0, p);
	bgnbd_validate_prediction(t, x, t_x, big_t);
	PG_RETURN_FLOAT8(bgnbd_expected_purchases_given(p, t, x, t_x, big_t));
}

PG_FUNCTION_INFO_V1(crm_bgnbd_expected_purchases);
/* E[X(t)]: expected purchases of a new customer in their first t time units. */
Datum
crm_bgnbd_expected_purchases(PG_FUNCTION_ARGS)
{
	double		p[4];
	double		t = PG_GETARG_FLOAT8(1);

	clv_bgnbd_model_parameters(fcinfo, 0, p);
	bgnbd_validate_prediction(t, 0, 0, 0);
	/* E[X(t)] is the conditional formula for a customer just acquired: x = 0, T = 0 */
	PG_RETURN_FLOAT8(crm_finite_result(bgnbd_conditional_numerator(p[0], p[1], p[2], p[3], 0, 0, t),
									   "expected purchases"));
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
				log_alpha_t,
				first,
				second = 0;

	clv_bgnbd_model_parameters(fcinfo, 0, p);
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

	/* Fader, Hardie & Lee's P(X(t) = x), every product in logs; alpha + t may exceed DBL_MAX */
	log_beta_ab = lgamma(a) + lgamma(b) - lgamma(a + b);
	log_alpha_t = log(Max(alpha, t)) + log1p(Min(alpha, t) / Max(alpha, t));
	log_q = log(alpha) - log_alpha_t;	/* ln(alpha / (alpha + t)) */
	log_z = log(t) - log_alpha_t;	/* ln(t / (alpha + t)) */
	first = exp(lgamma(a) + lgamma(b + n) - lgamma(a + b + n) - log_beta_ab +
				lgamma(r + n) - lgamma(r) - lgamma(n + 1.0) + r * log_q + n * log_z);
	if (n > 0)
	{
		/* 1 - q^r sum_{j<n} Gamma(r+j) / (Gamma(r) j!) z^j: the chance of n or more if never dropping out */
		double		z = exp(log_z),
					term = 1,
					sum = 1,
					log_scale = 0;

		for (int j = 1; j < n; j++)
		{
			double		bound;

			/* n is the caller's: up to 2^31 terms when z is 1 to double precision */
			if ((j & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			term *= (r + j - 1) / j * z;
			sum += term;
			if (sum > 1e280)
			{
				/* a running scale, as in log_hyp2f1: the terms may grow past DBL_MAX */
				log_scale += log(sum);
				term /= sum;
				sum = 1;
			}
			/*
			 * Every later ratio of terms is at most bound (they fall towards z for r >= 1 and
			 * rise towards it for r < 1), so once it is below 1 the rest is below
			 * term * bound / (1 - bound): stop when that no longer changes the sum.
			 */
			bound = Max(z, (r + j) / (j + 1) * z);
			if (term == 0 || (bound < 1 && term * bound / (1 - bound) < sum * 1e-17))
				break;
		}
		second = exp(lgamma(a + 1) + lgamma(b + n - 1) - lgamma(a + b + n) - log_beta_ab) *
			-expm1(r * log_q + log_scale + log(sum));
	}
	PG_RETURN_FLOAT8(Max(0.0, Min(1.0, crm_finite_result(first + second, "P(X(t) = n)"))));
}
