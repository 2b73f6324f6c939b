/*
 * crm.c: the module's magic block and the helpers every capability shares (declared in crm.h).
 */
#include "crm.h"

#include <float.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"

PG_MODULE_MAGIC;

/*
 * The one definition of reading a double from a crm type's text form. Like float8in, strtod's
 * ERANGE is an error only when the result is zero or infinite: a subnormal such as 5e-324 (which
 * %.17g prints, and which glibc's strtod flags with ERANGE) reads back as itself, while 1e400 and
 * 1e-400 raise numeric_value_out_of_range. NaN and infinities parse (callers decide); -0 is read
 * as 0, so equal values have one binary form.
 */
bool
crm_parse_float8(const char *start, const char **end, double *value, const char *type_name,
				 const char *input)
{
	const char *cursor = start;
	char	   *stop;
	double		result;

	while (*cursor == ' ' || *cursor == '\t' || *cursor == '\n' || *cursor == '\r')
		cursor++;
	errno = 0;
	result = strtod(cursor, &stop);
	if (stop == cursor)
		return false;
	if (errno == ERANGE && (result == 0.0 || isinf(result)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("\"%.*s\" is out of range for type double precision", (int) (stop - cursor), cursor),
				 errdetail("In the %s \"%s\".", type_name, input)));
	*value = result == 0.0 ? 0.0 : result;
	*end = stop;
	return true;
}

double *
crm_float8_array(ArrayType *array, const char *what, bool require_finite, int *count)
{
	Datum	   *elements;
	bool	   *nulls;
	double	   *values;
	int			n;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", what)));
	if (ARR_ELEMTYPE(array) != FLOAT8OID)
		elog(ERROR, "%s: expected a double precision array", what);

	deconstruct_array(array, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elements, &nulls, &n);
	values = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", what),
					 errdetail("Element %d is NULL.", i + 1)));
		values[i] = DatumGetFloat8(elements[i]);
		if (require_finite && (isnan(values[i]) || isinf(values[i])))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must contain only finite numbers", what),
					 errdetail("Element %d is %g.", i + 1, values[i])));
	}
	pfree(elements);
	pfree(nulls);
	*count = n;
	return values;
}

/*
 * Acklam's rational approximation of the standard normal quantile, refined by one Halley step
 * against erfc, which brings it to full double precision.
 */
static double
normal_quantile(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
	1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
	6.680131188771972e+01, -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
	-2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
	3.754408661907416e+00};
	double		q,
				r,
				x,
				e,
				u;

	if (p < 0.02425)
	{
		q = sqrt(-2 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	else if (p <= 1 - 0.02425)
	{
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
			(((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	}
	else
	{
		q = sqrt(-2 * log(1 - p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	e = 0.5 * erfc(-x / M_SQRT2) - p;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	return x - u / (1 + x * u / 2);
}

double
crm_normal_quantile(double p)
{
	return normal_quantile(p);
}

double
crm_normal_quantile_two_sided(double confidence)
{
	if (!(confidence > 0 && confidence < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("confidence must be between 0 and 1, exclusive"),
				 errdetail("The confidence given was %g.", confidence)));
	return normal_quantile(0.5 + confidence / 2);
}

/* The iterations of crm_minimise_bfgs, from value and gradient at theta. */
static bool
bfgs_iterate(CrmObjective objective, const void *arg, int n, double *theta, double tolerance,
			 int max_iterations, int *iterations, double *extra,
			 double inverse_hessian[CRM_BFGS_MAX_DIMENSIONS][CRM_BFGS_MAX_DIMENSIONS],
			 bool scale_first_step, double value, double *gradient)
{
	for (int iteration = 1; iteration <= max_iterations; iteration++)
	{
		double		direction[CRM_BFGS_MAX_DIMENSIONS],
					candidate[CRM_BFGS_MAX_DIMENSIONS],
					new_gradient[CRM_BFGS_MAX_DIMENSIONS],
					s[CRM_BFGS_MAX_DIMENSIONS],
					y[CRM_BFGS_MAX_DIMENSIONS];
		double		slope = 0,
					step = 1,
					new_value = 0,
					new_extra = 0,
					sy = 0,
					largest = 0;
		bool		improved = false;

		CHECK_FOR_INTERRUPTS();
		*iterations = iteration - 1;
		for (int i = 0; i < n; i++)
			largest = Max(largest, fabs(gradient[i]));
		if (largest < tolerance)
			return true;
		for (int i = 0; i < n; i++)
		{
			direction[i] = 0;
			for (int j = 0; j < n; j++)
				direction[i] -= inverse_hessian[i][j] * gradient[j];
			slope += direction[i] * gradient[i];
		}
		if (slope >= 0)
		{
			/* not a descent direction: restart from steepest descent */
			slope = 0;
			for (int i = 0; i < n; i++)
			{
				for (int j = 0; j < n; j++)
					inverse_hessian[i][j] = i == j;
				direction[i] = -gradient[i];
				slope -= gradient[i] * gradient[i];
			}
		}
		for (int i = 0; i < n; i++)
			if (fabs(direction[i]) * step > 5)
				step = 5 / fabs(direction[i]);
		for (int tries = 0; tries < 60; tries++, step /= 2)
		{
			CHECK_FOR_INTERRUPTS();
			for (int i = 0; i < n; i++)
				candidate[i] = theta[i] + step * direction[i];
			new_value = objective(arg, candidate, new_gradient, &new_extra);
			if (isfinite(new_value) && new_value <= value + 1e-4 * step * slope)
			{
				improved = true;
				break;
			}
		}
		if (!improved)
			return largest < 1000 * tolerance;
		for (int i = 0; i < n; i++)
		{
			s[i] = candidate[i] - theta[i];
			y[i] = new_gradient[i] - gradient[i];
			sy += s[i] * y[i];
		}
		if (sy > 1e-12 && iteration == 1 && scale_first_step)
		{
			/* scale the first guess of the inverse Hessian to the curvature just seen */
			double		yy = 0;

			for (int i = 0; i < n; i++)
				yy += y[i] * y[i];
			for (int i = 0; i < n; i++)
				inverse_hessian[i][i] = sy / yy;
		}
		if (sy > 1e-12)
		{
			double		hy[CRM_BFGS_MAX_DIMENSIONS],
						yhy = 0;

			for (int i = 0; i < n; i++)
			{
				hy[i] = 0;
				for (int j = 0; j < n; j++)
					hy[i] += inverse_hessian[i][j] * y[j];
				yhy += y[i] * hy[i];
			}
			for (int i = 0; i < n; i++)
				for (int j = 0; j < n; j++)
					inverse_hessian[i][j] += ((sy + yhy) * s[i] * s[j]) / (sy * sy) - (hy[i] * s[j] + s[i] * hy[j]) / sy;
		}
		memcpy(theta, candidate, sizeof(double) * n);
		memcpy(gradient, new_gradient, sizeof(double) * n);
		/*
		 * Along a flat ridge the objective can stop changing at machine precision while the
		 * gradient creeps down: converged, once the gradient is small by any practical standard.
		 */
		if (value - new_value <= 4 * DBL_EPSILON * fabs(value) && largest < 1000 * tolerance)
		{
			*extra = new_extra;
			*iterations = iteration;
			return true;
		}
		value = new_value;
		*extra = new_extra;
	}
	*iterations = max_iterations;
	return false;
}

/*
 * BFGS with a backtracking (Armijo) line search. objective(arg, theta, gradient, extra) returns
 * the value to minimise at theta and fills its gradient (and whatever "extra" the caller wants
 * alongside, kept for the accepted point). Each step changes no coordinate by more than 5, which
 * suits parameters kept in logs. Stops when the gradient's largest component is below tolerance
 * (true), or when no step improves the objective or max_iterations passed (false, unless the
 * gradient is already below 1000 * tolerance when progress stalls at machine precision).
 *
 * The inverse Hessian starts as start_inverse_hessian (dimensions x dimensions, row-major), say
 * from a fit to a sample, or when that is NULL as the identity scaled to the curvature the first
 * step meets. Unless final_inverse_hessian is NULL, the last estimate is copied there.
 */
bool
crm_minimise_bfgs(CrmObjective objective, const void *arg, int dimensions, double *theta,
				  double tolerance, int max_iterations, int *iterations, double *extra,
				  const double *start_inverse_hessian, double *final_inverse_hessian)
{
	double		inverse_hessian[CRM_BFGS_MAX_DIMENSIONS][CRM_BFGS_MAX_DIMENSIONS];
	double		gradient[CRM_BFGS_MAX_DIMENSIONS],
				value;
	int			n = dimensions;
	bool		converged = false;

	Assert(n <= CRM_BFGS_MAX_DIMENSIONS);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			inverse_hessian[i][j] = start_inverse_hessian ? start_inverse_hessian[i * n + j] : i == j;
	value = objective(arg, theta, gradient, extra);
	*iterations = 0;
	if (isfinite(value))
		converged = bfgs_iterate(objective, arg, n, theta, tolerance, max_iterations, iterations, extra,
								 inverse_hessian, start_inverse_hessian == NULL, value, gradient);
	if (final_inverse_hessian != NULL)
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				final_inverse_hessian[i * n + j] = inverse_hessian[i][j];
	return converged;
}
