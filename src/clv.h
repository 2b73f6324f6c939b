/*
 * clv.h: what the customer lifetime value models share (src/clv_state.c).
 *
 * Both fits see a customer as a few numbers, and customers with identical numbers contribute
 * identical terms to the likelihood. Their aggregates therefore keep each distinct summary once,
 * with a weight: the rows are sorted and equal ones merged whenever the buffer fills, which bounds
 * the memory by the number of distinct summaries and makes the pass over millions of rows cheap.
 * Where nearly every summary is distinct, compacting stops paying: the buffer then just grows
 * (holding at most every row, as without compression) and is compacted once, at the end. Partial
 * states arrive compacted from parallel workers and are merged in one linear pass. The same state,
 * with the same combine, serialize and deserialize functions, serves both aggregates.
 */
#ifndef CRM_CLV_H
#define CRM_CLV_H

#include "crm.h"

#include "utils/expandeddatum.h"

/*
 * One customer summary: BG/NBD's (x, t_x, T), or Gamma-Gamma's (x, m, 0). Also the layout of a
 * row of crm.clv_fit_state as stored (reserved is 0).
 */
typedef struct CustomerSummary
{
	int32		x;
	int32		reserved;
	double		u;
	double		v;
	double		weight;
} CustomerSummary;

/* Which fit a state is for: its rows obey that model's rules. */
#define CLV_KIND_BGNBD 1
#define CLV_KIND_GAMMAGAMMA 2

/*
 * The state of the CLV fits: the type crm.clv_fit_state, kept during aggregation as an
 * expanded object (PostgreSQL's utils/expandeddatum.h) in its own memory context under the
 * aggregate's, so rows are added in place; flattened (compacted) when it travels: to a parallel
 * leader, to a Citus coordinator as text, or to disk.
 */
typedef struct CustomerSummaries
{
	ExpandedObjectHeader header;
	int64		count;
	int64		capacity;
	double		penalizer;
	int			kind;
	bool		compacted;		/* rows are sorted, each summary once */
	bool		compaction_pays;	/* the last compaction freed a quarter of the rows or more */
	CustomerSummary *rows;
	MemoryContext memory;		/* where rows are allocated (see crm_states_context) */
} CustomerSummaries;

extern MemoryContext crm_states_context(MemoryContext parent, MemoryContext *memory);
extern CustomerSummaries *customer_summaries_state(FunctionCallInfo fcinfo, int kind, double penalizer);
extern CustomerSummaries *customer_summaries_arg(FunctionCallInfo fcinfo, int argument, int kind);
#define CustomerSummariesGetDatum(state) EOHPGetRWDatum(&(state)->header)
extern void customer_summaries_add(CustomerSummaries *state, int32 x, double u, double v);
extern void customer_summaries_compact(CustomerSummaries *state);
extern double customer_summaries_penalizer(FunctionCallInfo fcinfo, int argument);
extern double crm_digamma(double value);
extern void clv_model_parameters(FunctionCallInfo fcinfo, int argument, const char *model_name,
								 int count, const char *const *names, double *parameters);
extern void clv_bgnbd_model_parameters(FunctionCallInfo fcinfo, int argument, double parameters[4]);
extern void bgnbd_validate(int32 x, double t_x, double big_t);
extern double bgnbd_expected_purchases_given(const double p[4], double t, int32 x, double t_x, double big_t);
extern void bgnbd_expected_purchases_over(const double p[4], int32 x, double t_x, double big_t,
										  int count, const double *t, double *expected);
extern void gammagamma_model_parameters(FunctionCallInfo fcinfo, int argument, double parameters[3]);
extern double gammagamma_expected_spend_given(const double parameters[3], int32 x, double m);
extern Datum customer_model_datum(FunctionCallInfo fcinfo, const double *theta, int parameter_count,
								  double log_likelihood, double customers, int iterations, bool converged);

#endif							/* CRM_CLV_H */
