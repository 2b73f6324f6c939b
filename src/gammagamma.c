/*
 * gammagamma.c: the Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM
 * and CLV: Using Iso-Value Curves for Customer Base Analysis"), and CLV from it and BG/NBD.
 *
 * A repeat customer is summarised by x (repeat transactions) and m (their mean value). Spend per
 * transaction ~ Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers. Fitted by maximum
 * likelihood over the logs of (p, q, gamma) with BFGS and analytic gradients, on the compressed
 * state shared with BG/NBD (clv_state.c; a summary is (x, m, 0)).
 */
#include "clv.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(crm_gammagamma_trans);
/* gammagamma_fit transition: adds a repeat customer's (x, m); x = 0 and rows with a NULL are skipped. */
Datum
crm_gammagamma_trans(PG_FUNCTION_ARGS)
{
	double		penalizer = customer_summaries_penalizer(fcinfo, 3);
	CustomerSummaries *state;
	int32		x;
	double		m;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_GETARG_INT32(1) == 0)
	{
		if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) >= 0)
		{
			if (PG_ARGISNULL(0))
				PG_RETURN_NULL();
			PG_RETURN_DATUM(PG_GETARG_DATUM(0));
		}
	}
	x = PG_GETARG_INT32(1);
	m = PG_GETARG_FLOAT8(2);
	if (x < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x (repeat purchases) must not be negative"),
				 errdetail("The x given was %d.", x)));
	if (!(m > 0) || isinf(m))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean spend must be a positive, finite number"),
				 errdetail("A repeat customer (x = %d) has m = %g.", x, m),
				 errhint("Gamma-Gamma models positive spend; leave out refunds and free orders.")));
	state = customer_summaries_state(fcinfo, CLV_KIND_GAMMAGAMMA, penalizer);
	customer_summaries_add(state, x, m, 0);
	PG_RETURN_DATUM(CustomerSummariesGetDatum(state));
}

/*
 * The compacted state laid out for the likelihood: its rows are sorted by x, so the terms that
 * depend on x alone (the gamma functions) are computed once per distinct x, and the sums of the
 * weighted ln m, which do not depend on the parameters, once per fit.
 */
typedef struct GammagammaXGroup
{
	int32		x;
	double		weight;
	double		weighted_log_m; /* sum of weight * ln m */
	int64		first;
	int64		end;
} GammagammaXGroup;

typedef struct GammagammaData
{
	const CustomerSummaries *state;
	double		customers;
	int			group_count;
	GammagammaXGroup *groups;
} GammagammaData;

static void
gammagamma_data_build(const CustomerSummaries *state, GammagammaData *data)
{
	data->state = state;
	data->customers = 0;
	data->group_count = 0;
	data->groups = palloc(sizeof(GammagammaXGroup));
	for (int64 i = 0; i < state->count; i++)
	{
		const CustomerSummary *row = &state->rows[i];
		GammagammaXGroup *group;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (data->group_count == 0 || data->groups[data->group_count - 1].x != row->x)
		{
			data->groups = repalloc(data->groups, sizeof(GammagammaXGroup) * (data->group_count + 1));
			group = &data->groups[data->group_count++];
			group->x = row->x;
			group->weight = group->weighted_log_m = 0;
			group->first = i;
		}
		group = &data->groups[data->group_count - 1];
		group->weight += row->weight;
		group->weighted_log_m += row->weight * log(row->u);
		group->end = i + 1;
		data->customers += row->weight;
	}
}

/*
 * -LL / n + penalizer * (p^2 + q^2 + gamma^2) and its gradient in theta = log(p, q, gamma); the
 * per-customer log-likelihood is
 *   lgamma(px + q) - lgamma(px) - lgamma(q) + q ln gamma + (px - 1) ln m + px ln x - (px + q) ln(xm + gamma).
 */
static double
gammagamma_objective(const void *arg, const double *theta, double *gradient, double *log_likelihood)
{
	const GammagammaData *data = arg;
	const CustomerSummary *rows = data->state->rows;
	double		penalizer = data->state->penalizer;
	double		p = exp(theta[0]),
				q = exp(theta[1]),
				gamma = exp(theta[2]);
	double		sum = 0,
				g_p = 0,
				g_q = 0,
				g_gamma = 0,
				penalty;
	double		lgamma_q = lgamma(q),
				digamma_q = crm_digamma(q),
				log_gamma = log(gamma);

	for (int g = 0; g < data->group_count; g++)
	{
		const GammagammaXGroup *group = &data->groups[g];
		double		x = group->x,
					w = group->weight;
		double		px = p * x;
		double		digamma_pxq = crm_digamma(px + q);
		double		log_xm_gamma_sum = 0,
					inverse_xm_gamma_sum = 0;

		CHECK_FOR_INTERRUPTS();
		for (int64 i = group->first; i < group->end; i++)
		{
			double		xm_gamma = x * rows[i].u + gamma;

			log_xm_gamma_sum += rows[i].weight * log(xm_gamma);
			inverse_xm_gamma_sum += rows[i].weight / xm_gamma;
		}
		sum += w * (lgamma(px + q) - lgamma(px) - lgamma_q + q * log_gamma + px * log(x)) +
			(px - 1) * group->weighted_log_m - (px + q) * log_xm_gamma_sum;
		g_p += x * (w * (digamma_pxq - crm_digamma(px) + log(x)) + group->weighted_log_m - log_xm_gamma_sum);
		g_q += w * (digamma_pxq - digamma_q + log_gamma) - log_xm_gamma_sum;
		g_gamma += w * q / gamma - (px + q) * inverse_xm_gamma_sum;
	}
	*log_likelihood = sum;
	penalty = penalizer * (p * p + q * q + gamma * gamma);
	gradient[0] = -p * g_p / data->customers + 2 * penalizer * p * p;
	gradient[1] = -q * g_q / data->customers + 2 * penalizer * q * q;
	gradient[2] = -gamma * g_gamma / data->customers + 2 * penalizer * gamma * gamma;
	return -sum / data->customers + penalty;
}

PG_FUNCTION_INFO_V1(crm_gammagamma_final);
/* gammagamma_fit final: fits the model and returns a crm.gammagamma_model. */
Datum
crm_gammagamma_final(PG_FUNCTION_ARGS)
{
	CustomerSummaries *state;
	GammagammaData data;
	double		theta[3] = {0, 0, 0};
	double		log_likelihood = 0;
	int			iterations = 0;
	bool		converged;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = customer_summaries_arg(fcinfo, 0, CLV_KIND_GAMMAGAMMA);
	customer_summaries_compact(state);
	gammagamma_data_build(state, &data);
	if (data.customers < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too few repeat customers to fit a Gamma-Gamma model"),
				 errdetail("The fit needs at least 2 customers with x > 0; it got %.0f.", data.customers)));

	converged = crm_minimise_bfgs(gammagamma_objective, &data, 3, theta, 1e-9, 1000, &iterations, &log_likelihood, NULL, NULL);
	PG_RETURN_DATUM(customer_model_datum(fcinfo, theta, 3, log_likelihood, data.customers, iterations, converged));
}

/* The three parameters (p, q, gamma) of the crm.gammagamma_model in argument, checked. */
void
gammagamma_model_parameters(FunctionCallInfo fcinfo, int argument, double parameters[3])
{
	static const char *const names[3] = {"p", "q", "gamma"};

	clv_model_parameters(fcinfo, argument, "Gamma-Gamma", 3, names, parameters);
	if (parameters[1] <= 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected spend is infinite for q <= 1"),
				 errdetail("The model has q = %g; the mean spend p * gamma / (q - 1) needs q > 1.", parameters[1])));
}

/*
 * E[M | x, m] for a model's (p, q, gamma): the population mean p gamma / (q - 1) for x = 0 (m is not
 * read), else its weighted mean with the customer's m, the weight px / (px + q - 1).
 */
double
gammagamma_expected_spend_given(const double parameters[3], int32 x, double m)
{
	double		p = parameters[0],
				q = parameters[1],
				gamma = parameters[2];
	double		population_mean = p * gamma / (q - 1);
	double		weight;

	if (x < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x (repeat purchases) must not be negative"),
				 errdetail("The x given was %d.", x)));
	if (x == 0)
		return population_mean;
	if (!(m > 0) || isinf(m))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean spend must be a positive, finite number"),
				 errdetail("A repeat customer (x = %d) has m = %g.", x, m)));
	weight = p * x / (p * x + q - 1);
	return (1 - weight) * population_mean + weight * m;
}

PG_FUNCTION_INFO_V1(crm_gammagamma_expected_spend);
/* E[M | x, m]: a customer's expected spend per transaction; the population mean for x = 0. */
Datum
crm_gammagamma_expected_spend(PG_FUNCTION_ARGS)
{
	double		parameters[3];
	int32		x;

	/* not strict: m may be NULL when x = 0 */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	x = PG_GETARG_INT32(1);
	if (x != 0 && PG_ARGISNULL(2))
		PG_RETURN_NULL();
	gammagamma_model_parameters(fcinfo, 0, parameters);
	PG_RETURN_FLOAT8(crm_finite_result(gammagamma_expected_spend_given(parameters, x, x == 0 ? 0 : PG_GETARG_FLOAT8(2)),
									   "expected spend"));
}
