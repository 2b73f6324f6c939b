/*
 * clv.h: what the customer lifetime value models share (src/clv_state.c).
 *
 * Both fits see a customer as a few numbers, and customers with identical numbers contribute
 * identical terms to the likelihood. Their aggregates therefore keep each distinct summary once,
 * with a weight: sorted runs, merged whenever the buffer fills, which bounds the memory by the
 * number of distinct summaries and makes the pass over millions of rows cheap. The same state,
 * with the same combine, serialize and deserialize functions, serves both aggregates.
 */
#ifndef CRM_CLV_H
#define CRM_CLV_H

#include "crm.h"

/* One customer summary: BG/NBD's (x, t_x, T), or Gamma-Gamma's (x, m, 0). */
typedef struct CustomerSummary
{
	int32		x;
	double		u;
	double		v;
	double		weight;
} CustomerSummary;

typedef struct CustomerSummaries
{
	int64		count;
	int64		capacity;
	double		penalizer;
	CustomerSummary *rows;
} CustomerSummaries;

extern CustomerSummaries *customer_summaries_new(MemoryContext context, int64 capacity, double penalizer);
extern void customer_summaries_add(CustomerSummaries *state, int32 x, double u, double v);
extern void customer_summaries_compact(CustomerSummaries *state);
extern double customer_summaries_penalizer(FunctionCallInfo fcinfo, int argument);
extern double crm_digamma(double value);
extern Datum customer_model_datum(FunctionCallInfo fcinfo, const double *theta, int parameter_count,
								  double log_likelihood, double customers, int iterations, bool converged);

#endif							/* CRM_CLV_H */
