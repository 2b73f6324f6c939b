/*
 * crm.h: what the crm extension's C files share.
 *
 * Each capability lives in its own src/<name>.c with its SQL declarations in src/<name>.sql.
 */
#ifndef CRM_H
#define CRM_H

#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/array.h"

/* PostgreSQL 18 replaced pg_attribute_noreturn() with pg_noreturn, written first. */
#if PG_VERSION_NUM < 180000
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * Aggregate support functions must only run inside an aggregate: their state is allocated in the
 * aggregate's memory context, which outlives the per-row call. Returns that context.
 */
static inline MemoryContext
crm_aggregate_context(FunctionCallInfo fcinfo, const char *function_name)
{
	MemoryContext aggregate_context;

	if (!AggCheckCallContext(fcinfo, &aggregate_context))
		elog(ERROR, "%s called in non-aggregate context", function_name);
	return aggregate_context;
}

/*
 * Raise invalid_parameter_value (22023) unless value is a finite number.
 * Every C entry point taking double precision arguments uses this, so no NaN or infinity gets in.
 */
static inline void
crm_require_finite(double value, const char *argument_name)
{
	if (isnan(value) || isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", argument_name)));
}

/*
 * A one-dimensional float8 array without NULLs, as a C array. Raises 22023 (naming what) for a
 * multi-dimensional array, NULL elements or, when require_finite, NaN or infinite elements.
 * Returns the element count through count.
 */
extern double *crm_float8_array(ArrayType *array, const char *what, bool require_finite, int *count);

/* The two-sided standard normal quantile for a confidence level in (0, 1): 1.96 for 0.95. */
extern double crm_normal_quantile_two_sided(double confidence);

/*
 * Minimise objective over theta (dimensions <= CRM_BFGS_MAX_DIMENSIONS) by BFGS; see crm.c.
 * Returns whether it converged; theta holds the best point found either way.
 */
#define CRM_BFGS_MAX_DIMENSIONS 8
typedef double (*CrmObjective) (const void *arg, const double *theta, double *gradient, double *extra);
extern bool crm_minimise_bfgs(CrmObjective objective, const void *arg, int dimensions, double *theta,
							  double tolerance, int max_iterations, int *iterations, double *extra,
							  const double *start_inverse_hessian, double *final_inverse_hessian);

#endif							/* CRM_H */
