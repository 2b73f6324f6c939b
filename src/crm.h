/*
 * crm.h: what the crm extension's C files share.
 *
 * Each capability lives in its own src/<name>.c with its SQL declarations in src/<name>.sql, or
 * in several C files behind its own header (src/clv.h, src/lead_scoring.h).
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
 * Raise numeric_value_out_of_range (22003) unless a computed result is a finite number: no NaN or
 * infinity leaves a crm function for finite arguments. what names the result in the message.
 */
static inline double
crm_finite_result(double value, const char *what)
{
	if (isnan(value) || isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what),
				 errdetail("The result is not a finite number for these arguments.")));
	return value;
}

/*
 * Parse a double at start the way float8in does (see crm.c): returns false when no number starts
 * there (leading spaces skipped), else sets *value and *end past the number. A value out of range
 * raises 22003; subnormal values are accepted and -0 becomes 0. type_name and input name the value
 * in the message.
 */
extern bool crm_parse_float8(const char *start, const char **end, double *value,
							 const char *type_name, const char *input);

/*
 * A one-dimensional float8 array without NULLs, as a C array. Raises 22023 (naming what) for a
 * multi-dimensional array, NULL elements or, when require_finite, NaN or infinite elements.
 * Returns the element count through count.
 */
extern double *crm_float8_array(ArrayType *array, const char *what, bool require_finite, int *count);

/* The standard normal quantile for p in (0, 1), to full double precision (the lower tail is exact). */
extern double crm_normal_quantile(double p);

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


/* PostgreSQL 18 gave index_beginscan an instrumentation argument (NULL: none). */
#if PG_VERSION_NUM >= 180000
#define crm_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys)
#else
#define crm_index_beginscan index_beginscan
#endif

#endif							/* CRM_H */
