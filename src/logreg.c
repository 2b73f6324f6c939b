/*
 * logreg.c: logistic regression fitted by Newton's method (IRLS) as an aggregate, and its
 * prediction function.
 *
 * The Newton step needs X'WX with weights p(1-p) that depend on the current coefficients, so a
 * single pass cannot accumulate it: the state keeps every row (d features and the label, 8·(d+1)
 * bytes per row) and the final function iterates over them. Partial states combine by
 * concatenation, which makes the aggregate parallel safe. Since 0.2 that state is the real type
 * crm.logreg_rows (below), which Citus can ship; the functions of 0.1's internal state come first
 * and stay for databases whose catalog is still 0.1 (until ALTER EXTENSION crm UPDATE).
 *
 * For distributed data, crm.logreg_step computes one Newton step's sums at given coefficients
 * (O(d²) numbers, whatever the rows), and the driver crm.logreg_fit_table (src/logreg.sql) runs
 * logreg_solve's iteration with one such aggregate query per step.
 */
#include "clv.h"				/* crm_states_context */

#include <ctype.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/memutils.h"

#define LOGREG_STATE_VERSION 1
#define LOGREG_MAX_ITERATIONS 100
/*
 * The most features a fit takes. Newton's method builds a (d+1) x (d+1) Hessian (8 MB at 1000
 * features, where 12,000 would need 1.15 GB, past palloc's limit) and costs rows x d^2 / 2
 * multiply-adds and a d^3 / 3 factorisation per iteration; a CRM model with more features wants
 * feature selection, a sample or a tool built for wide data.
 */
#define LOGREG_MAX_FEATURES 1000
/*
 * A direction v separates the rows when s_i x_i'v >= -LOGREG_SEPARATION_TOLERANCE |v| |(1, x_i)|
 * for every row (s_i = +1 for a true label, -1 for a false one) and exceeds that bound for some.
 */
#define LOGREG_SEPARATION_TOLERANCE 1e-7

typedef struct LogregState
{
	int			dimension;		/* features per row, -1 until the first row */
	int64		rows;
	int64		capacity;		/* rows the buffer can hold */
	double		l2;
	double	   *values;			/* per row: dimension features, then the label as 0 or 1 */
} LogregState;

static LogregState *
logreg_state_new(MemoryContext context)
{
	LogregState *state = MemoryContextAllocZero(context, sizeof(LogregState));

	state->dimension = -1;
	return state;
}

/* Room for at least extra more rows, growing geometrically; allocations may exceed 1 GB. */
static void
logreg_reserve(LogregState *state, int64 extra, MemoryContext context)
{
	int64		needed = state->rows + extra;
	int64		capacity;
	Size		bytes;

	if (needed <= state->capacity)
		return;
	capacity = Max(needed, Max(state->capacity * 2, 64));
	bytes = (Size) capacity * (state->dimension + 1) * sizeof(double);
	if (state->values == NULL)
		state->values = MemoryContextAllocHuge(context, bytes);
	else
		state->values = repalloc_huge(state->values, bytes);
	state->capacity = capacity;
}

static void
logreg_set_shape(LogregState *state, int dimension, double l2)
{
	if (dimension > LOGREG_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("logreg_fit takes at most %d features", LOGREG_MAX_FEATURES),
				 errdetail("A row has %d features.", dimension),
				 errhint("Select or combine features (for example with crm.kmeans or a principal component analysis) before fitting.")));
	if (state->dimension < 0)
	{
		state->dimension = dimension;
		state->l2 = l2;
		return;
	}
	if (state->dimension != dimension)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature arrays must all have the same length"),
				 errdetail("A row has %d features where earlier rows had %d.",
						   dimension, state->dimension)));
	if (state->l2 != l2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 must be the same for every row"),
				 errdetail("A row has l2 = %g where earlier rows had %g.", l2, state->l2)));
}

static Datum
logreg_transition(FunctionCallInfo fcinfo, double l2)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "logreg_fit_transition");
	LogregState *state = PG_ARGISNULL(0) ? logreg_state_new(context) : (LogregState *) PG_GETARG_POINTER(0);
	double	   *features;
	double	   *row;
	int			dimension;

	/* rows without a label or without features carry no information: skipped, like NULLs in sum */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);

	features = crm_float8_array(PG_GETARG_ARRAYTYPE_P(1), "features", true, &dimension);
	logreg_set_shape(state, dimension, l2);
	logreg_reserve(state, 1, context);
	row = state->values + state->rows * (dimension + 1);
	memcpy(row, features, sizeof(double) * dimension);
	row[dimension] = PG_GETARG_BOOL(2) ? 1.0 : 0.0;
	state->rows++;
	pfree(features);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_logreg_fit_transition);
/* Adds one (features, label) row to the state of logreg_fit(features, label). */
Datum
crm_logreg_fit_transition(PG_FUNCTION_ARGS)
{
	return logreg_transition(fcinfo, 0.0);
}

PG_FUNCTION_INFO_V1(crm_logreg_fit_l2_transition);
/* Adds one (features, label) row to the state of logreg_fit(features, label, l2). */
Datum
crm_logreg_fit_l2_transition(PG_FUNCTION_ARGS)
{
	double		l2;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("l2 must not be NULL"),
				 errhint("Use 0 for no penalty.")));
	l2 = PG_GETARG_FLOAT8(3);
	crm_require_finite(l2, "l2");
	if (l2 < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 must not be negative"),
				 errdetail("The l2 given was %g.", l2)));
	return logreg_transition(fcinfo, l2);
}

PG_FUNCTION_INFO_V1(crm_logreg_fit_combine);
/* Concatenates two partial logreg_fit states. */
Datum
crm_logreg_fit_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "logreg_fit_combine");
	LogregState *left = PG_ARGISNULL(0) ? NULL : (LogregState *) PG_GETARG_POINTER(0);
	LogregState *right = PG_ARGISNULL(1) ? NULL : (LogregState *) PG_GETARG_POINTER(1);

	if (right == NULL || right->dimension < 0)
	{
		if (left == NULL)
			PG_RETURN_POINTER(logreg_state_new(context));
		PG_RETURN_POINTER(left);
	}
	if (left == NULL)
		left = logreg_state_new(context);
	logreg_set_shape(left, right->dimension, right->l2);
	logreg_reserve(left, right->rows, context);
	memcpy(left->values + left->rows * (left->dimension + 1), right->values,
		   sizeof(double) * right->rows * (right->dimension + 1));
	left->rows += right->rows;
	PG_RETURN_POINTER(left);
}

/*
 * Serialized state: version, dimension, rows, l2, then rows·(dimension+1) doubles. A bytea is
 * limited to 1 GB, so a parallel worker's share is too; the serial path has no such limit.
 */
PG_FUNCTION_INFO_V1(crm_logreg_fit_serialize);
/* Serializes a logreg_fit state for parallel aggregation. */
Datum
crm_logreg_fit_serialize(PG_FUNCTION_ARGS)
{
	LogregState *state = (LogregState *) PG_GETARG_POINTER(0);
	StringInfoData buffer;
	double		payload;
	int64		count;

	crm_aggregate_context(fcinfo, "logreg_fit_serialize");
	count = state->dimension < 0 ? 0 : state->rows * (state->dimension + 1);
	payload = (double) count * sizeof(double);
	if (payload > (double) (MaxAllocSize - VARHDRSZ - 64))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("logreg_fit partial state is too large to pass between parallel workers"),
				 errhint("Disable parallel aggregation (max_parallel_workers_per_gather = 0).")));
	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, LOGREG_STATE_VERSION);
	pq_sendint32(&buffer, state->dimension);
	pq_sendint64(&buffer, state->dimension < 0 ? 0 : state->rows);
	pq_sendfloat8(&buffer, state->l2);
	for (int64 i = 0; i < count; i++)
		pq_sendfloat8(&buffer, state->values[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_logreg_fit_deserialize);
/* Restores a logreg_fit state serialized by logreg_fit_serialize, validating it. */
Datum
crm_logreg_fit_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "logreg_fit_deserialize");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buffer;
	LogregState *state = logreg_state_new(context);
	int			version;
	int			dimension;
	int64		rows;
	double		l2;

	buffer.data = VARDATA_ANY(bytes);
	buffer.len = VARSIZE_ANY_EXHDR(bytes);
	buffer.maxlen = buffer.len;
	buffer.cursor = 0;
	if (buffer.len < 24)
		elog(ERROR, "logreg_fit state: truncated header");
	version = pq_getmsgint(&buffer, 4);
	dimension = pq_getmsgint(&buffer, 4);
	rows = pq_getmsgint64(&buffer);
	l2 = pq_getmsgfloat8(&buffer);
	if (version != LOGREG_STATE_VERSION)
		elog(ERROR, "logreg_fit state: unknown version %d", version);
	if (dimension < -1 || dimension > LOGREG_MAX_FEATURES || rows < 0 ||
		(dimension < 0 && rows != 0) || !(l2 >= 0 && l2 < INFINITY))
		elog(ERROR, "logreg_fit state: invalid header");
	if (dimension >= 0 &&
		(int64) (buffer.len - buffer.cursor) != rows * (dimension + 1) * (int64) sizeof(double))
		elog(ERROR, "logreg_fit state: length does not match %lld rows of %d features",
			 (long long) rows, dimension);
	if (dimension < 0)
	{
		if (buffer.cursor != buffer.len)
			elog(ERROR, "logreg_fit state: trailing bytes");
		PG_RETURN_POINTER(state);
	}
	state->dimension = dimension;
	state->l2 = l2;
	logreg_reserve(state, rows, context);
	for (int64 i = 0; i < rows * (dimension + 1); i++)
	{
		double		value = pq_getmsgfloat8(&buffer);

		if (!isfinite(value) ||
			(i % (dimension + 1) == dimension && value != 0.0 && value != 1.0))
			elog(ERROR, "logreg_fit state: invalid value");
		state->values[i] = value;
	}
	state->rows = rows;
	pq_getmsgend(&buffer);
	PG_RETURN_POINTER(state);
}

/* log(1 + exp(x)) without overflow */
static inline double
log1p_exp(double x)
{
	return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* 1 / (1 + exp(-x)) without overflow */
static inline double
stable_sigmoid(double x)
{
	if (x >= 0)
		return 1.0 / (1.0 + exp(-x));
	else
	{
		double		e = exp(x);

		return e / (1.0 + e);
	}
}

static inline double
linear_predictor(const double *beta, const double *row, int dimension)
{
	double		eta = beta[0];

	for (int j = 0; j < dimension; j++)
		eta += beta[j + 1] * row[j];
	return eta;
}

/* Penalised negative log-likelihood; the intercept beta[0] is not penalised. */
static double
logreg_objective(const LogregState *state, const double *beta)
{
	int			d = state->dimension;
	double		total = 0;

	for (int64 i = 0; i < state->rows; i++)
	{
		const double *row = state->values + i * (d + 1);
		double		eta = linear_predictor(beta, row, d);

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		total += log1p_exp(eta) - row[d] * eta;
	}
	for (int j = 1; j <= d; j++)
		total += 0.5 * state->l2 * beta[j] * beta[j];
	return total;
}

/*
 * In-place Cholesky factorisation of the p×p symmetric matrix a (lower triangle used). False
 * when a pivot is not clearly positive relative to the diagonal's scale: the matrix is singular
 * to working precision.
 */
static bool
cholesky(double *a, int p)
{
	double		scale = 0;

	for (int j = 0; j < p; j++)
		scale = Max(scale, fabs(a[j * p + j]));
	for (int j = 0; j < p; j++)
	{
		double		pivot = a[j * p + j];

		CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < j; k++)
			pivot -= a[j * p + k] * a[j * p + k];
		if (!(pivot > 1e-12 * scale))
			return false;
		pivot = sqrt(pivot);
		a[j * p + j] = pivot;
		for (int i = j + 1; i < p; i++)
		{
			double		sum = a[i * p + j];

			for (int k = 0; k < j; k++)
				sum -= a[i * p + k] * a[j * p + k];
			a[i * p + j] = sum / pivot;
		}
	}
	return true;
}

/* Solves L L' x = b in place in b, with L from cholesky(). */
static void
cholesky_solve(const double *l, int p, double *b)
{
	for (int i = 0; i < p; i++)
	{
		for (int k = 0; k < i; k++)
			b[i] -= l[i * p + k] * b[k];
		b[i] /= l[i * p + i];
	}
	for (int i = p - 1; i >= 0; i--)
	{
		for (int k = i + 1; k < p; k++)
			b[i] -= l[k * p + i] * b[k];
		b[i] /= l[i * p + i];
	}
}

static void
raise_separation(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("logistic regression does not converge: the classes are separable"),
			 errdetail("Some combination of the features predicts the label perfectly, so the maximum-likelihood coefficients are infinite."),
			 errhint("Pass a positive l2 penalty as the third argument, e.g. logreg_fit(features, label, 1.0).")));
}

/*
 * Whether the coefficient direction v (intercept first) separates the data: every row lies on
 * its label's side of the hyperplane x'v = 0 or on it (within rounding), and some row strictly
 * on its side. Such a v is a certificate that the likelihood keeps increasing along v for ever,
 * so no finite maximum exists (complete or quasi-complete separation, Albert and Anderson
 * 1984). Conversely, data with a finite maximum admit no such v (up to the tolerance). One pass
 * over the rows.
 */
static bool
logreg_separates(const LogregState *state, const double *v)
{
	int			d = state->dimension;
	double		norm = 0;
	bool		strict = false;

	for (int j = 0; j <= d; j++)
		norm += v[j] * v[j];
	norm = sqrt(norm);
	if (!(norm > 0) || !isfinite(norm))
		return false;
	for (int64 i = 0; i < state->rows; i++)
	{
		const double *row = state->values + i * (d + 1);
		double		length = 1;
		double		margin = linear_predictor(v, row, d);
		double		tolerance;

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < d; j++)
			length += row[j] * row[j];
		tolerance = LOGREG_SEPARATION_TOLERANCE * norm * sqrt(length);
		if (row[d] == 0)
			margin = -margin;
		if (margin < -tolerance)
			return false;
		if (margin > tolerance)
			strict = true;
	}
	return strict;
}

/*
 * Newton's method on the penalised log-likelihood, halving the step until the objective does not
 * increase. Converged when the full Newton step moves no coefficient by more than
 * 1e-9·(1 + |coefficient|).
 *
 * Without a penalty the maximum may not exist (separable classes). That is decided from the
 * data, not from the size of the fitted scores (a finite maximum may well put some rows at
 * |x'beta| of 70 or more, where their probability rounds to 0 or 1): once Newton's method stalls
 * (the Hessian turns singular as rows saturate, or the iterations run out), the coefficients and
 * the last step, the directions in which they ran away, are checked as separating directions of
 * the rows (logreg_separates); so is the converged answer, which cannot separate the rows if the
 * maximum is finite.
 */
static double *
logreg_solve(const LogregState *state)
{
	int			d = state->dimension;
	int			p = d + 1;
	double	   *beta = palloc0(sizeof(double) * p);
	double	   *candidate = palloc(sizeof(double) * p);
	double	   *hessian = palloc(sizeof(double) * p * p);
	double	   *gradient = palloc(sizeof(double) * p);
	double	   *last_step = palloc0(sizeof(double) * p);
	double	   *x = palloc(sizeof(double) * p);
	double		objective = logreg_objective(state, beta);
	bool		converged = false;
	bool		stalled = false;
	int			iteration;

	for (iteration = 0; iteration < LOGREG_MAX_ITERATIONS && !converged; iteration++)
	{
		double		step = 1.0;
		double		full_move = 0;

		CHECK_FOR_INTERRUPTS();
		memset(hessian, 0, sizeof(double) * p * p);
		memset(gradient, 0, sizeof(double) * p);
		for (int64 i = 0; i < state->rows; i++)
		{
			const double *row = state->values + i * (d + 1);
			double		probability = stable_sigmoid(linear_predictor(beta, row, d));
			double		weight = probability * (1 - probability);
			double		residual = row[d] - probability;

			/* a row costs p^2 / 2: the check is free against it, and rows are the caller's */
			CHECK_FOR_INTERRUPTS();
			x[0] = 1.0;
			memcpy(x + 1, row, sizeof(double) * d);
			for (int a = 0; a < p; a++)
			{
				double		wa = weight * x[a];

				gradient[a] += residual * x[a];
				for (int b = 0; b <= a; b++)
					hessian[a * p + b] += wa * x[b];
			}
		}
		for (int j = 1; j < p; j++)
		{
			gradient[j] -= state->l2 * beta[j];
			hessian[j * p + j] += state->l2;
		}
		if (!cholesky(hessian, p))
		{
			/* at the start all weights are 1/4: only a redundant design is singular there */
			if (state->l2 == 0 && iteration > 0)
			{
				stalled = true;
				break;
			}
			if (state->l2 == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("logistic regression design matrix is singular"),
						 errdetail("Some feature is constant or a linear combination of other features."),
						 errhint("Remove the redundant features, or pass a positive l2 penalty as the third argument.")));
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("logistic regression Hessian is singular despite the l2 penalty"),
					 errhint("Use a larger l2 penalty or rescale the features.")));
		}
		cholesky_solve(hessian, p, gradient);

		/* gradient now holds the Newton direction */
		for (int j = 0; j < p; j++)
			full_move = Max(full_move, fabs(gradient[j]) / (1 + fabs(beta[j])));
		for (;;)
		{
			double		next;

			for (int j = 0; j < p; j++)
				candidate[j] = beta[j] + step * gradient[j];
			next = logreg_objective(state, candidate);
			if (next <= objective || step < 1e-10)
			{
				objective = Min(next, objective);
				break;
			}
			step /= 2;
		}
		for (int j = 0; j < p; j++)
		{
			last_step[j] = candidate[j] - beta[j];
			beta[j] = candidate[j];
		}
		converged = full_move < 1e-9;
	}

	if (state->l2 == 0)
	{
		/* a separating direction among the coefficients or their last move: no finite maximum */
		if (logreg_separates(state, beta) || (!converged && logreg_separates(state, last_step)))
			raise_separation();
		if (stalled)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("logistic regression does not converge: the Hessian became singular after %d iterations", iteration),
					 errdetail("Rows whose fitted probability rounds to 0 or 1 leave some direction of the coefficients undetermined, though no separating direction was found."),
					 errhint("Rescale the features, or pass a positive l2 penalty as the third argument.")));
	}
	if (!converged)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("logistic regression did not converge in %d iterations", LOGREG_MAX_ITERATIONS),
				 errhint("Use a larger l2 penalty or rescale the features.")));
	for (int j = 0; j < p; j++)
		if (!isfinite(beta[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("logistic regression coefficients are out of range"),
					 errdetail("Coefficient %d is not a finite number.", j + 1),
					 errhint("Rescale the features.")));
	pfree(candidate);
	pfree(hessian);
	pfree(gradient);
	pfree(last_step);
	pfree(x);
	return beta;
}

PG_FUNCTION_INFO_V1(crm_logreg_fit_final);
/* Fits the logistic regression: coefficients, intercept first; NULL without rows. */
Datum
crm_logreg_fit_final(PG_FUNCTION_ARGS)
{
	LogregState *state;
	int64		positives = 0;
	double	   *beta;
	Datum	   *elements;
	int			d;

	crm_aggregate_context(fcinfo, "logreg_fit_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (LogregState *) PG_GETARG_POINTER(0);
	if (state->dimension < 0 || state->rows == 0)
		PG_RETURN_NULL();
	d = state->dimension;
	for (int64 i = 0; i < state->rows; i++)
		positives += state->values[i * (d + 1) + d] != 0;
	if (positives == 0 || positives == state->rows)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("logistic regression needs rows of both labels"),
				 errdetail("All %lld rows have label %s.", (long long) state->rows,
						   positives == 0 ? "false" : "true")));

	beta = logreg_solve(state);
	elements = palloc(sizeof(Datum) * (d + 1));
	for (int j = 0; j <= d; j++)
		elements[j] = Float8GetDatum(beta[j]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elements, d + 1, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(crm_logreg_predict);
/* The probability of a true label: sigmoid(intercept + coefficients · features). */
Datum
crm_logreg_predict(PG_FUNCTION_ARGS)
{
	int			p;
	int			d;
	double	   *beta = crm_float8_array(PG_GETARG_ARRAYTYPE_P(0), "coefficients", true, &p);
	double	   *features = crm_float8_array(PG_GETARG_ARRAYTYPE_P(1), "features", true, &d);
	double		eta;

	if (p != d + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("coefficients must have one more element than features"),
				 errdetail("There are %d coefficients (intercept first) and %d features.", p, d)));
	eta = linear_predictor(beta, features, d);
	if (!isfinite(eta))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("linear predictor overflows")));
	PG_RETURN_FLOAT8(stable_sigmoid(eta));
}

/* ---------------------------------------------------------------------------------------------
 * crm.logreg_rows: the state of crm.logreg_fit (0.2)
 *
 * The rows themselves (Newton's method passes over them once per iteration), as a real type so
 * that parallel query and Citus can ship partial states (a Citus shard's state is its rows: this
 * aggregate moves the table; crm.logreg_fit_table moves O(model) bytes per pass instead). During
 * aggregation the state is an expanded object (utils/expandeddatum.h) under the aggregate's memory,
 * so rows are appended in place with amortised growth, as 0.1's internal state was; it is flattened
 * only when it travels (to a parallel leader, a Citus coordinator) or is stored.
 *
 * Stored form: version word, dimension, reserved (0), rows, l2, then per row the d features and
 * the label as 0 or 1 (8·(d+1) bytes a row). Binary form: version, dimension (int32), l2, rows
 * (int64), then the same doubles. Text: 1;<d>;<l2>;<rows>, then ;x1,...,xd,label per row.
 */
#define LOGREG_ROWS_VERSION 1

typedef struct FlatLogregRows
{
	int32		vl_len_;
	uint32		header;			/* LOGREG_ROWS_VERSION */
	int32		dimension;
	int32		reserved;
	int64		rows;
	double		l2;
	double		values[FLEXIBLE_ARRAY_MEMBER];
} FlatLogregRows;

#define ROWS_FLAT_HEADER offsetof(FlatLogregRows, values)
#define ROWS_SEND_HEADER (sizeof(uint32) + sizeof(int32) + sizeof(double) + sizeof(int64))

typedef struct LogregRows
{
	ExpandedObjectHeader header;
	MemoryContext memory;		/* where the rows are allocated (see crm_states_context) */
	LogregState data;
} LogregRows;

static Size rows_get_flat_size(ExpandedObjectHeader *eohptr);
static void rows_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods rows_methods = {
	rows_get_flat_size,
	rows_flatten_into
};

static LogregRows *
rows_new(MemoryContext parent)
{
	MemoryContext memory;
	MemoryContext context = crm_states_context(parent, &memory);
	LogregRows *state = MemoryContextAllocZero(memory, sizeof(LogregRows));

	EOH_init_header(&state->header, &rows_methods, context);
	state->memory = memory;
	state->data.dimension = -1;
	return state;
}

static pg_noinline void
rows_too_large(int64 rows, int dimension)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("logreg_fit state of %lld rows of %d features is too large to store or ship", (long long) rows, dimension),
			 errdetail("A crm.logreg_rows value is at most 1 GB."),
			 errhint("Disable parallel aggregation (max_parallel_workers_per_gather = 0), or fit distributed data with crm.logreg_fit_table, which moves O(model) bytes per pass.")));
}

static Size
rows_flat_size(int64 rows, int dimension)
{
	double		bytes = (double) ROWS_FLAT_HEADER + (double) rows * (dimension + 1) * sizeof(double);

	if (bytes > (double) MaxAllocSize)
		rows_too_large(rows, dimension);
	return (Size) bytes;
}

static Size
rows_get_flat_size(ExpandedObjectHeader *eohptr)
{
	LogregRows *state = (LogregRows *) eohptr;

	return rows_flat_size(state->data.rows, Max(state->data.dimension, 0));
}

static void
rows_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	LogregRows *state = (LogregRows *) eohptr;
	FlatLogregRows *flat = (FlatLogregRows *) result;

	memset(flat, 0, ROWS_FLAT_HEADER);
	SET_VARSIZE(flat, allocated_size);
	flat->header = LOGREG_ROWS_VERSION;
	flat->dimension = Max(state->data.dimension, 0);
	flat->rows = state->data.rows;
	flat->l2 = state->data.l2;
	if (state->data.rows > 0)
		memcpy(flat->values, state->data.values, allocated_size - ROWS_FLAT_HEADER);
}

/* A stored value; its contents were checked on input, its header re-checked here cheaply. */
static FlatLogregRows *
rows_flat_from_datum(Datum datum)
{
	FlatLogregRows *flat = (FlatLogregRows *) PG_DETOAST_DATUM(datum);

	if (VARSIZE(flat) < ROWS_FLAT_HEADER || flat->header != LOGREG_ROWS_VERSION ||
		flat->dimension < 0 || flat->dimension > LOGREG_MAX_FEATURES || flat->rows < 1 ||
		(double) VARSIZE(flat) != (double) ROWS_FLAT_HEADER + (double) flat->rows * (flat->dimension + 1) * sizeof(double))
		elog(ERROR, "corrupt crm.logreg_rows: length %u, header %u", (unsigned) VARSIZE(flat), flat->header);
	return flat;
}

/* A read-only view of a datum's rows: an expanded object's, or a stored value's in place. */
static void
rows_view(Datum datum, LogregState *view)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(datum)))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(datum);

		if (eoh->eoh_methods != &rows_methods)
			elog(ERROR, "expected an expanded crm.logreg_rows");
		*view = ((LogregRows *) eoh)->data;
	}
	else
	{
		FlatLogregRows *flat = rows_flat_from_datum(datum);

		memset(view, 0, sizeof(LogregState));
		view->dimension = flat->dimension;
		view->rows = flat->rows;
		view->capacity = flat->rows;
		view->l2 = flat->l2;
		view->values = flat->values;
	}
}

/* Appends rows (rows·(dimension+1) doubles of the given shape) to state. */
static void
rows_append(LogregRows *state, const LogregState *from)
{
	if (from->dimension < 0 || from->rows == 0)
		return;
	logreg_set_shape(&state->data, from->dimension, from->l2);
	logreg_reserve(&state->data, from->rows, state->memory);
	memcpy(state->data.values + state->data.rows * (state->data.dimension + 1), from->values,
		   sizeof(double) * from->rows * (from->dimension + 1));
	state->data.rows += from->rows;
}

/*
 * The state a transition or combine call adds to: argument 0 in place when it is the aggregate's
 * own expanded object (every row after a group's first: no copy, no allocation but the rows'
 * amortised growth); else a new expanded object holding argument 0's rows, if any.
 */
static LogregRows *
rows_state(FunctionCallInfo fcinfo)
{
	MemoryContext aggregate_context;
	LogregRows *state;
	LogregState given;

	switch (AggCheckCallContext(fcinfo, &aggregate_context))
	{
		case AGG_CONTEXT_AGGREGATE:
			if (!PG_ARGISNULL(0) && VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(0))))
			{
				state = (LogregRows *) DatumGetEOHP(PG_GETARG_DATUM(0));
				if (likely(state->header.eoh_methods == &rows_methods))
					return state;
			}
			break;
		default:

			/*
			 * Not an aggregate, or a window aggregate: WindowAgg copies (flattens) every new
			 * state it is given into its own memory, so the object made here lives in the
			 * per-row memory and goes with it. (Each row then copies the rows so far: a
			 * window with a moving end costs time quadratic in the frame, not memory.)
			 */
			aggregate_context = CurrentMemoryContext;
			break;
	}
	state = rows_new(aggregate_context);
	if (!PG_ARGISNULL(0))
	{
		rows_view(PG_GETARG_DATUM(0), &given);
		rows_append(state, &given);
	}
	return state;
}

static Datum
rows_transition(FunctionCallInfo fcinfo, double l2)
{
	LogregRows *state;
	double	   *features;
	double	   *row;
	int			dimension;

	/* rows without a label or without features carry no information: skipped, like NULLs in sum */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	features = crm_float8_array(PG_GETARG_ARRAYTYPE_P(1), "features", true, &dimension);
	state = rows_state(fcinfo);
	logreg_set_shape(&state->data, dimension, l2);
	logreg_reserve(&state->data, 1, state->memory);
	row = state->data.values + state->data.rows * (dimension + 1);
	/* -0 kept as 0 (no difference to the fit), so that equal states have one text and binary form */
	for (int j = 0; j < dimension; j++)
		row[j] = features[j] + 0.0;
	row[dimension] = PG_GETARG_BOOL(2) ? 1.0 : 0.0;
	state->data.rows++;
	pfree(features);
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
}

PG_FUNCTION_INFO_V1(crm_logreg_rows_trans);
/* Transition of crm.logreg_fit(features, label): adds the row to the crm.logreg_rows state. */
Datum
crm_logreg_rows_trans(PG_FUNCTION_ARGS)
{
	return rows_transition(fcinfo, 0.0);
}

PG_FUNCTION_INFO_V1(crm_logreg_rows_l2_trans);
/* Transition of crm.logreg_fit(features, label, l2). */
Datum
crm_logreg_rows_l2_trans(PG_FUNCTION_ARGS)
{
	double		l2;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("l2 must not be NULL"),
				 errhint("Use 0 for no penalty.")));
	l2 = PG_GETARG_FLOAT8(3) + 0.0;	/* -0 kept as 0: one text form per state */
	crm_require_finite(l2, "l2");
	if (l2 < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 must not be negative"),
				 errdetail("The l2 given was %g.", l2)));
	return rows_transition(fcinfo, l2);
}

PG_FUNCTION_INFO_V1(crm_logreg_rows_combine);
/* Combine of crm.logreg_fit (strict): appends the second state's rows to the first's. */
Datum
crm_logreg_rows_combine(PG_FUNCTION_ARGS)
{
	LogregRows *state = rows_state(fcinfo);
	LogregState right;

	rows_view(PG_GETARG_DATUM(1), &right);
	rows_append(state, &right);
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
}

PG_FUNCTION_INFO_V1(crm_logreg_rows_final);
/* Final function of crm.logreg_fit: Newton's method over the rows; NULL without rows. */
Datum
crm_logreg_rows_final(PG_FUNCTION_ARGS)
{
	LogregState state;
	int64		positives = 0;
	double	   *beta;
	Datum	   *elements;
	int			d;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	rows_view(PG_GETARG_DATUM(0), &state);
	if (state.dimension < 0 || state.rows == 0)
		PG_RETURN_NULL();
	d = state.dimension;
	for (int64 i = 0; i < state.rows; i++)
		positives += state.values[i * (d + 1) + d] != 0;
	if (positives == 0 || positives == state.rows)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("logistic regression needs rows of both labels"),
				 errdetail("All %lld rows have label %s.", (long long) state.rows,
						   positives == 0 ? "false" : "true")));
	beta = logreg_solve(&state);
	elements = palloc(sizeof(Datum) * (d + 1));
	for (int j = 0; j <= d; j++)
		elements[j] = Float8GetDatum(beta[j]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elements, d + 1, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* --- text and binary forms ------------------------------------------------------------------ */

static pg_noinline void
text_error(const char *type_name, const char *input, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%.100s%s\"", type_name, input,
					strlen(input) > 100 ? "..." : ""),
			 errdetail("%s", detail),
			 errhint("%s", hint)));
}

static pg_noinline void
binary_error(const char *type_name, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary representation of %s", type_name),
			 errdetail("%s", detail)));
}

/* A text form's reader: the input, the cursor, the type's name and syntax hint. */
typedef struct TextReader
{
	const char *input;
	const char *p;
	const char *type_name;
	const char *hint;
} TextReader;

/* A decimal integer in [low, high] (digits, an optional leading minus). */
static int64
read_integer(TextReader *r, int64 low, int64 high, const char *what)
{
	const char *start = r->p;
	bool		negative = *r->p == '-';
	int64		value = 0;

	if (negative)
		r->p++;
	if (!isdigit((unsigned char) *r->p))
		text_error(r->type_name, r->input, psprintf("Expected %s at offset %d.", what, (int) (start - r->input)), r->hint);
	for (; isdigit((unsigned char) *r->p); r->p++)
		if (pg_mul_s64_overflow(value, 10, &value) || pg_sub_s64_overflow(value, *r->p - '0', &value))
			text_error(r->type_name, r->input, psprintf("%s is out of range.", what), r->hint);
	if (!negative)
	{
		if (value == PG_INT64_MIN)
			text_error(r->type_name, r->input, psprintf("%s is out of range.", what), r->hint);
		value = -value;
	}
	if (value < low || value > high)
		text_error(r->type_name, r->input, psprintf("%s is out of range.", what), r->hint);
	return value;
}

/* A finite number (no spaces, infinities or NaN). */
static double
read_number(TextReader *r, const char *what)
{
	double		value;
	const char *end;

	if (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r' ||
		!crm_parse_float8(r->p, &end, &value, r->type_name, r->input) || !isfinite(value))
		text_error(r->type_name, r->input, psprintf("Expected %s, a finite number, at offset %d.", what, (int) (r->p - r->input)), r->hint);
	r->p = end;
	return value;
}

static void
read_char(TextReader *r, char c)
{
	if (*r->p != c)
		text_error(r->type_name, r->input, psprintf("Expected \"%c\" at offset %d.", c, (int) (r->p - r->input)), r->hint);
	r->p++;
}

/* Why these flat rows cannot be a crm.logreg_rows, or NULL. */
static const char *
rows_problem(const FlatLogregRows *flat)
{
	int			d = flat->dimension;

	if (!(flat->l2 >= 0) || isinf(flat->l2))
		return "l2 is not a finite, non-negative number.";
	for (int64 i = 0; i < flat->rows; i++)
	{
		const double *row = flat->values + i * (d + 1);

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < d; j++)
			if (!isfinite(row[j]))
				return psprintf("Row %lld has a feature that is not finite.", (long long) i + 1);
		if (row[d] != 0.0 && row[d] != 1.0)
			return psprintf("Row %lld has a label other than 0 or 1.", (long long) i + 1);
	}
	return NULL;
}

static FlatLogregRows *
rows_flat_new(int dimension, int64 rows, double l2)
{
	Size		size = rows_flat_size(rows, dimension);
	FlatLogregRows *flat = palloc0(size);

	SET_VARSIZE(flat, size);
	flat->header = LOGREG_ROWS_VERSION;
	flat->dimension = dimension;
	flat->rows = rows;
	flat->l2 = l2;
	return flat;
}

#define ROWS_HINT "The text form is 1;<features per row>;<l2>;<rows>, then ;x1,...,xd,label (0 or 1) for each row."

PG_FUNCTION_INFO_V1(crm_logreg_rows_in);
/* Text input of crm.logreg_rows. */
Datum
crm_logreg_rows_in(PG_FUNCTION_ARGS)
{
	TextReader	r = {PG_GETARG_CSTRING(0), NULL, "crm.logreg_rows", ROWS_HINT};
	int			d;
	double		l2;
	int64		rows;
	FlatLogregRows *flat;
	const char *problem;

	r.p = r.input;
	if (read_integer(&r, 0, PG_INT32_MAX, "the version") != LOGREG_ROWS_VERSION)
		text_error(r.type_name, r.input, psprintf("Unknown version; this build reads version %d.", LOGREG_ROWS_VERSION), r.hint);
	read_char(&r, ';');
	d = (int) read_integer(&r, 0, LOGREG_MAX_FEATURES, "the number of features");
	read_char(&r, ';');
	l2 = read_number(&r, "l2");
	read_char(&r, ';');
	rows = read_integer(&r, 1, PG_INT64_MAX, "the number of rows");
	/* every row takes at least 2·(d+1) characters (";0" per value): a larger count cannot match */
	if (rows > (int64) strlen(r.p) / (2 * (d + 1)))
		text_error(r.type_name, r.input, psprintf("The input is too short for %lld rows.", (long long) rows), r.hint);
	flat = rows_flat_new(d, rows, l2);
	for (int64 i = 0; i < rows * (d + 1); i++)
	{
		read_char(&r, i % (d + 1) == 0 ? ';' : ',');
		flat->values[i] = read_number(&r, i % (d + 1) == d ? "a label" : "a feature");
	}
	if (*r.p != '\0')
		text_error(r.type_name, r.input, psprintf("Unexpected characters after %lld rows.", (long long) rows), r.hint);
	if ((problem = rows_problem(flat)) != NULL)
		text_error(r.type_name, r.input, problem, r.hint);
	PG_RETURN_POINTER(flat);
}

PG_FUNCTION_INFO_V1(crm_logreg_rows_out);
/* Text output of crm.logreg_rows: exact numbers. */
Datum
crm_logreg_rows_out(PG_FUNCTION_ARGS)
{
	LogregState state;
	StringInfoData text;
	int			d;

	rows_view(PG_GETARG_DATUM(0), &state);
	d = Max(state.dimension, 0);
	initStringInfo(&text);
	appendStringInfo(&text, "%d;%d;%s;%lld", LOGREG_ROWS_VERSION, d, float8out_internal(state.l2),
					 (long long) state.rows);
	for (int64 i = 0; i < state.rows * (d + 1); i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		appendStringInfoChar(&text, i % (d + 1) == 0 ? ';' : ',');
		if (i % (d + 1) == d)
			appendStringInfoChar(&text, state.values[i] != 0 ? '1' : '0');
		else
			appendStringInfoString(&text, float8out_internal(state.values[i]));
	}
	PG_RETURN_CSTRING(text.data);
}

PG_FUNCTION_INFO_V1(crm_logreg_rows_recv);
/* Binary input of crm.logreg_rows. */
Datum
crm_logreg_rows_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int			length = buffer->len - buffer->cursor;
	uint32		header;
	int			d;
	double		l2;
	int64		rows;
	FlatLogregRows *flat;
	const char *problem;

	if (length < (int) ROWS_SEND_HEADER)
		binary_error("crm.logreg_rows", psprintf("A value is at least %d bytes long, not %d.", (int) ROWS_SEND_HEADER, length));
	header = pq_getmsgint(buffer, sizeof(uint32));
	if (header != LOGREG_ROWS_VERSION)
		binary_error("crm.logreg_rows", psprintf("Unknown version %u; this build reads version %d.", header, LOGREG_ROWS_VERSION));
	d = (int32) pq_getmsgint(buffer, sizeof(int32));
	l2 = pq_getmsgfloat8(buffer) + 0.0;	/* -0 read as 0, as the text form does */
	rows = pq_getmsgint64(buffer);
	if (d < 0 || d > LOGREG_MAX_FEATURES)
		binary_error("crm.logreg_rows", psprintf("%d features is outside 0 to %d.", d, LOGREG_MAX_FEATURES));
	if (rows < 1 || rows > (length - (int64) ROWS_SEND_HEADER) / (int64) (sizeof(double) * (d + 1)) ||
		(int64) ROWS_SEND_HEADER + rows * (int64) (sizeof(double) * (d + 1)) != length)
		binary_error("crm.logreg_rows", psprintf("%d bytes do not hold %lld rows of %d features.", length, (long long) rows, d));
	flat = rows_flat_new(d, rows, l2);
	for (int64 i = 0; i < rows * (d + 1); i++)
		flat->values[i] = pq_getmsgfloat8(buffer) + 0.0;	/* -0 read as 0, as the text form does */
	if ((problem = rows_problem(flat)) != NULL)
		binary_error("crm.logreg_rows", problem);
	PG_RETURN_POINTER(flat);
}

PG_FUNCTION_INFO_V1(crm_logreg_rows_send);
/* Binary output of crm.logreg_rows. */
Datum
crm_logreg_rows_send(PG_FUNCTION_ARGS)
{
	LogregState state;
	StringInfoData buffer;
	int			d;

	rows_view(PG_GETARG_DATUM(0), &state);
	d = Max(state.dimension, 0);
	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, LOGREG_ROWS_VERSION);
	pq_sendint32(&buffer, d);
	pq_sendfloat8(&buffer, state.l2);
	pq_sendint64(&buffer, state.rows);
	for (int64 i = 0; i < state.rows * (d + 1); i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		pq_sendfloat8(&buffer, state.values[i]);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

/* ---------------------------------------------------------------------------------------------
 * crm.logreg_step(features, label, beta): one Newton step's sums (the MADlib pattern)
 *
 * For coefficients beta constant across the rows, the sums a Newton step of logistic regression
 * needs: the rows, the true labels, the log-likelihood sum(y·eta - log(1 + exp(eta))), the gradient
 * sum((y - p)·x) (d+1 numbers) and the Hessian sum(p(1-p)·x x') (its lower triangle, (d+1)(d+2)/2
 * numbers), x = (1, features), eta = x'beta, p = sigmoid(eta). Also how the rows lie against the
 * hyperplane x'beta = 0 (the test logreg_separates makes, with the same tolerance): the rows on the
 * wrong side of it for their label, and the rows strictly on their side. The sums add over rows,
 * so the state combines by addition: Citus computes it per shard and ships O(d²) bytes per pass.
 * crm.logreg_fit_table runs one such aggregate per Newton step (or line-search trial) and solves
 * the step with crm.logreg_step_newton, the arithmetic logreg_solve does in one process.
 *
 * Stored form (fixed size once d is known, updated in place): version word, dimension, reserved,
 * rows, positives, opposed, strict, log-likelihood, then the gradient and the Hessian's lower
 * triangle row by row. Binary: version, dimension (int32), rows, positives, opposed, strict (int64),
 * log-likelihood, the same sums (float8): 48 + 8·(p + p(p+1)/2) bytes, p = d+1.
 */
#define LOGREG_STEP_VERSION 1

typedef struct LogregStep
{
	int32		vl_len_;
	uint32		header;			/* LOGREG_STEP_VERSION */
	int32		dimension;		/* features per row, d */
	int32		reserved;
	int64		rows;
	int64		positives;		/* rows with a true label */
	int64		opposed;		/* rows on the wrong side of x'beta = 0 (beyond the tolerance) */
	int64		strict;			/* rows strictly on their label's side */
	double		log_likelihood;
	double		sums[FLEXIBLE_ARRAY_MEMBER];	/* gradient (p), Hessian lower triangle */
} LogregStep;

#define STEP_HEADER_SIZE offsetof(LogregStep, sums)
#define STEP_SEND_HEADER (2 * sizeof(int32) + 4 * sizeof(int64) + sizeof(double))
#define STEP_SUM_COUNT(p) ((int64) (p) + (int64) (p) * ((p) + 1) / 2)
#define STEP_SIZE(d) (STEP_HEADER_SIZE + sizeof(double) * STEP_SUM_COUNT((d) + 1))

/* What the transition keeps between rows of a call site: the coefficients and a scratch row. */
typedef struct StepCache
{
	char	   *beta_bytes;		/* the last beta datum's payload (NULL: beta NULL) */
	int			beta_length;
	int			p;				/* coefficients in beta, 0 when NULL or empty (all zero) */
	double		norm;
	double	   *beta;			/* LOGREG_MAX_FEATURES + 1 coefficients */
	double	   *x;				/* 1, then the row's features */
	char	   *features;		/* a copy of a short-header features array, 4-byte header */
	Size		features_size;
} StepCache;

static StepCache *
step_cache(FunctionCallInfo fcinfo)
{
	StepCache  *cache = (StepCache *) fcinfo->flinfo->fn_extra;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(StepCache));
		cache->beta = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(double) * (LOGREG_MAX_FEATURES + 1));
		cache->x = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(double) * (LOGREG_MAX_FEATURES + 1));
		cache->beta_length = -1;
		fcinfo->flinfo->fn_extra = cache;
	}
	return cache;
}

/* The coefficients of argument 3 into the cache, read again only when they change. */
static void
step_read_beta(FunctionCallInfo fcinfo, StepCache *cache)
{
	struct varlena *raw;
	int			length;
	double	   *values;
	int			count;

	if (PG_ARGISNULL(3))
	{
		if (cache->beta_length != -2)
		{
			cache->beta_length = -2;
			cache->p = 0;
			cache->norm = 0;
		}
		return;
	}
	raw = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(3));
	if (!VARATT_IS_EXTENDED(raw) || (VARATT_IS_SHORT(raw) && !VARATT_IS_EXTERNAL(raw)))
	{
		length = VARSIZE_ANY_EXHDR(raw);
		if (length == cache->beta_length && memcmp(VARDATA_ANY(raw), cache->beta_bytes, length) == 0)
			return;
	}
	raw = PG_DETOAST_DATUM(PG_GETARG_DATUM(3));
	length = VARSIZE_ANY_EXHDR(raw);
	values = crm_float8_array((ArrayType *) raw, "beta", true, &count);
	if (count > LOGREG_MAX_FEATURES + 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("logreg_step takes at most %d coefficients", LOGREG_MAX_FEATURES + 1),
				 errdetail("beta has %d elements.", count)));
	cache->p = count;
	cache->norm = 0;
	for (int j = 0; j < count; j++)
	{
		cache->beta[j] = values[j];
		cache->norm += values[j] * values[j];
	}
	cache->norm = sqrt(cache->norm);
	if (!isfinite(cache->norm))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the norm of beta overflows"),
				 errhint("Rescale the features.")));
	if (cache->beta_bytes != NULL)
		pfree(cache->beta_bytes);
	cache->beta_bytes = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, Max(length, 1));
	memcpy(cache->beta_bytes, VARDATA_ANY(raw), length);
	cache->beta_length = length;
	pfree(values);
}

/*
 * The features of argument 1, without allocating per row: a short-header array is copied into
 * the cache's buffer (aligned, 4-byte header); a plain one is read in place. Anything irregular
 * (NULL elements, several dimensions, a non-finite element) gets crm_float8_array's error.
 */
static const double *
step_read_features(FunctionCallInfo fcinfo, StepCache *cache, int *dimension)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(1));
	ArrayType  *array;
	const double *values;
	int			count;

	/* a short header, not a TOAST pointer (whose header is one byte too): copied aligned */
	if (VARATT_IS_SHORT(raw) && !VARATT_IS_EXTERNAL(raw))
	{
		Size		size = VARSIZE_SHORT(raw) - VARHDRSZ_SHORT + VARHDRSZ;

		if (size > cache->features_size)
		{
			if (cache->features != NULL)
				pfree(cache->features);
			cache->features = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, Max(size, 256));
			cache->features_size = Max(size, 256);
		}
		SET_VARSIZE(cache->features, size);
		memcpy(VARDATA(cache->features), VARDATA_SHORT(raw), size - VARHDRSZ);
		array = (ArrayType *) cache->features;
	}
	else
		array = (ArrayType *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	if (ARR_NDIM(array) > 1 || ARR_HASNULL(array) || ARR_ELEMTYPE(array) != FLOAT8OID)
		(void) crm_float8_array(array, "features", true, &count);
	count = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
	/* no NULLs (checked above): the data follows the fixed overhead */
	values = (const double *) ((const char *) array + ARR_OVERHEAD_NONULLS(ARR_NDIM(array)));
	for (int j = 0; j < count; j++)
		if (unlikely(!isfinite(values[j])))
			(void) crm_float8_array(array, "features", true, &count);
	*dimension = count;
	return values;
}

/* The state to add to: argument 0 in place when the executor owns it, else a copy. */
static LogregStep *
step_from_datum(Datum datum)
{
	LogregStep *state = (LogregStep *) PG_DETOAST_DATUM(datum);

	if (VARSIZE(state) < STEP_HEADER_SIZE || state->header != LOGREG_STEP_VERSION ||
		state->dimension < 0 || state->dimension > LOGREG_MAX_FEATURES ||
		VARSIZE(state) != STEP_SIZE(state->dimension))
		elog(ERROR, "corrupt crm.logreg_step_state: length %u, header %u", (unsigned) VARSIZE(state), state->header);
	return state;
}

static LogregStep *
step_new(int dimension)
{
	LogregStep *state = palloc0(STEP_SIZE(dimension));

	SET_VARSIZE(state, STEP_SIZE(dimension));
	state->header = LOGREG_STEP_VERSION;
	state->dimension = dimension;
	return state;
}

static LogregStep *
step_copy(const LogregStep *from)
{
	LogregStep *state = palloc(VARSIZE(from));

	memcpy(state, from, VARSIZE(from));
	return state;
}

static inline bool
called_as_aggregate(FunctionCallInfo fcinfo)
{
	return fcinfo->context != NULL &&
		(IsA(fcinfo->context, AggState) || IsA(fcinfo->context, WindowAggState));
}

static pg_noinline void
step_shape_error(int dimension, int expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("feature arrays must all have the same length"),
			 errdetail("A row has %d features where earlier rows had %d.", dimension, expected)));
}

PG_FUNCTION_INFO_V1(crm_logreg_step_trans);
/* Transition of crm.logreg_step: adds one row's terms at beta, in place. */
Datum
crm_logreg_step_trans(PG_FUNCTION_ARGS)
{
	StepCache  *cache;
	LogregStep *state;
	const double *features;
	double	   *x;
	double	   *gradient;
	double	   *hessian;
	int			d;
	int			p;
	double		eta,
				probability,
				weight,
				residual,
				label,
				length,
				margin,
				tolerance;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	cache = step_cache(fcinfo);
	step_read_beta(fcinfo, cache);
	features = step_read_features(fcinfo, cache, &d);
	if (d > LOGREG_MAX_FEATURES)
		logreg_set_shape(&(LogregState) {.dimension = -1}, d, 0);	/* its 54000 */
	p = d + 1;
	if (cache->p != 0 && cache->p != p)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("beta must have one more element than features"),
				 errdetail("beta has %d elements (intercept first) and a row has %d features.", cache->p, d)));
	if (cache->p == 0)
		memset(cache->beta, 0, sizeof(double) * p);

	if (PG_ARGISNULL(0))
		state = step_new(d);
	else
	{
		state = called_as_aggregate(fcinfo) && VARATT_IS_4B_U(DatumGetPointer(PG_GETARG_DATUM(0))) ?
			(LogregStep *) DatumGetPointer(PG_GETARG_DATUM(0)) : step_from_datum(PG_GETARG_DATUM(0));
		if (unlikely(state->header != LOGREG_STEP_VERSION))
			elog(ERROR, "corrupt crm.logreg_step_state: header %u", state->header);
		if (state->dimension != d)
			step_shape_error(d, state->dimension);
		if (!called_as_aggregate(fcinfo))
			state = step_copy(state);
	}

	/* a row costs p^2 / 2: the check is free against it, and rows are the caller's */
	CHECK_FOR_INTERRUPTS();
	x = cache->x;
	x[0] = 1.0;
	memcpy(x + 1, features, sizeof(double) * d);
	label = PG_GETARG_BOOL(2) ? 1.0 : 0.0;
	eta = linear_predictor(cache->beta, features, d);
	probability = stable_sigmoid(eta);
	weight = probability * (1 - probability);
	residual = label - probability;
	state->log_likelihood += -(log1p_exp(eta) - label * eta);
	gradient = state->sums;
	hessian = state->sums + p;
	for (int a = 0; a < p; a++)
	{
		double		wa = weight * x[a];

		gradient[a] += residual * x[a];
		for (int b = 0; b <= a; b++)
			*hessian++ += wa * x[b];

		/*
		 * Overflow shows on the diagonal (|H_ab| <= sqrt(H_aa H_bb)) or in the gradient: a state
		 * holding infinities could not be stored, shipped or read back.
		 */
		if (unlikely(!isfinite(hessian[-1]) || !isfinite(gradient[a])))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("crm.logreg_step sums are out of range"),
					 errdetail("The gradient or Hessian sums exceed the range of double precision."),
					 errhint("Scale the features (for example to standard units) before fitting.")));
	}
	if (unlikely(!isfinite(state->log_likelihood)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("crm.logreg_step sums are out of range"),
				 errdetail("The log-likelihood exceeds the range of double precision.")));
	/* the side of x'beta = 0 the row lies on, as logreg_separates decides it */
	length = 1;
	for (int j = 0; j < d; j++)
		length += features[j] * features[j];
	tolerance = LOGREG_SEPARATION_TOLERANCE * cache->norm * sqrt(length);
	margin = label == 0 ? -eta : eta;
	if (margin < -tolerance)
		state->opposed++;
	else if (margin > tolerance)
		state->strict++;
	state->positives += label != 0;
	state->rows++;
	PG_RETURN_POINTER(state);
}

static pg_noinline void
step_count_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("logreg_step_state count out of range"),
			 errdetail("A merged count exceeds %lld.", (long long) PG_INT64_MAX)));
}

PG_FUNCTION_INFO_V1(crm_logreg_step_combine);
/* Combine of crm.logreg_step (strict): adds the second state's sums to the first's. */
Datum
crm_logreg_step_combine(PG_FUNCTION_ARGS)
{
	LogregStep *state = step_from_datum(PG_GETARG_DATUM(0));
	LogregStep *right = step_from_datum(PG_GETARG_DATUM(1));
	int64		count = STEP_SUM_COUNT(state->dimension + 1);

	if (state->dimension != right->dimension)
		step_shape_error(right->dimension, state->dimension);
	if (!called_as_aggregate(fcinfo) || !VARATT_IS_4B_U(DatumGetPointer(PG_GETARG_DATUM(0))) ||
		(Pointer) state != DatumGetPointer(PG_GETARG_DATUM(0)))
		state = step_copy(state);
	if (pg_add_s64_overflow(state->rows, right->rows, &state->rows) ||
		pg_add_s64_overflow(state->positives, right->positives, &state->positives) ||
		pg_add_s64_overflow(state->opposed, right->opposed, &state->opposed) ||
		pg_add_s64_overflow(state->strict, right->strict, &state->strict))
		step_count_out_of_range();
	state->log_likelihood += right->log_likelihood;
	for (int64 i = 0; i < count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		state->sums[i] += right->sums[i];
		if (unlikely(!isfinite(state->sums[i])))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("crm.logreg_step sums are out of range"),
					 errdetail("The gradient or Hessian sums exceed the range of double precision.")));
	}
	if (unlikely(!isfinite(state->log_likelihood)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("crm.logreg_step sums are out of range"),
				 errdetail("The log-likelihood exceeds the range of double precision.")));
	PG_RETURN_POINTER(state);
}

/* Why a state cannot be a crm.logreg_step_state, or NULL. */
static const char *
step_problem(const LogregStep *state)
{
	int64		count = STEP_SUM_COUNT(state->dimension + 1);
	int			p = state->dimension + 1;

	if (state->rows < 1 || state->positives < 0 || state->positives > state->rows ||
		state->opposed < 0 || state->strict < 0 || state->opposed > state->rows - state->strict)
		return "The counts are not 0 <= positives <= rows, 0 <= opposed + strict <= rows with rows >= 1.";
	if (!isfinite(state->log_likelihood) || state->log_likelihood > 0)
		return "The log-likelihood is not a finite number at most 0.";
	for (int64 i = 0; i < count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!isfinite(state->sums[i]))
			return psprintf("Sum %lld is not finite.", (long long) i + 1);
	}
	/* the Hessian's diagonal: sums of p(1-p)·x_a², never negative */
	for (int a = 0; a < p; a++)
		if (state->sums[p + (int64) a * (a + 1) / 2 + a] < 0)
			return psprintf("Hessian diagonal element %d is negative.", a + 1);
	return NULL;
}

#define STEP_HINT "The text form is 1;<features per row>;<rows>;<positives>;<opposed>;<strict>;<log-likelihood>;<gradient, comma-separated>;<Hessian lower triangle by rows, comma-separated>."

PG_FUNCTION_INFO_V1(crm_logreg_step_state_in);
/* Text input of crm.logreg_step_state. */
Datum
crm_logreg_step_state_in(PG_FUNCTION_ARGS)
{
	TextReader	r = {PG_GETARG_CSTRING(0), NULL, "crm.logreg_step_state", STEP_HINT};
	LogregStep *state;
	int			d;
	int			p;
	const char *problem;

	r.p = r.input;
	if (read_integer(&r, 0, PG_INT32_MAX, "the version") != LOGREG_STEP_VERSION)
		text_error(r.type_name, r.input, psprintf("Unknown version; this build reads version %d.", LOGREG_STEP_VERSION), r.hint);
	read_char(&r, ';');
	d = (int) read_integer(&r, 0, LOGREG_MAX_FEATURES, "the number of features");
	p = d + 1;
	/* every sum takes at least 2 characters: a larger state cannot match */
	if (STEP_SUM_COUNT(p) > (int64) strlen(r.p) / 2)
		text_error(r.type_name, r.input, psprintf("The input is too short for %d features.", d), r.hint);
	state = step_new(d);
	read_char(&r, ';');
	state->rows = read_integer(&r, 0, PG_INT64_MAX, "the rows");
	read_char(&r, ';');
	state->positives = read_integer(&r, 0, PG_INT64_MAX, "the positives");
	read_char(&r, ';');
	state->opposed = read_integer(&r, 0, PG_INT64_MAX, "the opposed rows");
	read_char(&r, ';');
	state->strict = read_integer(&r, 0, PG_INT64_MAX, "the strict rows");
	read_char(&r, ';');
	state->log_likelihood = read_number(&r, "the log-likelihood");
	for (int64 i = 0; i < STEP_SUM_COUNT(p); i++)
	{
		read_char(&r, i == 0 || i == p ? ';' : ',');
		state->sums[i] = read_number(&r, i < p ? "a gradient sum" : "a Hessian sum");
	}
	if (*r.p != '\0')
		text_error(r.type_name, r.input, "Unexpected characters after the Hessian.", r.hint);
	if ((problem = step_problem(state)) != NULL)
		text_error(r.type_name, r.input, problem, r.hint);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_logreg_step_state_out);
/* Text output of crm.logreg_step_state: exact numbers. */
Datum
crm_logreg_step_state_out(PG_FUNCTION_ARGS)
{
	LogregStep *state = step_from_datum(PG_GETARG_DATUM(0));
	int			p = state->dimension + 1;
	StringInfoData text;

	initStringInfo(&text);
	appendStringInfo(&text, "%d;%d;%lld;%lld;%lld;%lld;%s", LOGREG_STEP_VERSION, state->dimension,
					 (long long) state->rows, (long long) state->positives, (long long) state->opposed,
					 (long long) state->strict, float8out_internal(state->log_likelihood));
	for (int64 i = 0; i < STEP_SUM_COUNT(p); i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		appendStringInfoChar(&text, i == 0 || i == p ? ';' : ',');
		appendStringInfoString(&text, float8out_internal(state->sums[i]));
	}
	PG_RETURN_CSTRING(text.data);
}

PG_FUNCTION_INFO_V1(crm_logreg_step_state_recv);
/* Binary input of crm.logreg_step_state. */
Datum
crm_logreg_step_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int			length = buffer->len - buffer->cursor;
	uint32		header;
	int			d;
	LogregStep *state;
	const char *problem;

	if (length < (int) STEP_SEND_HEADER)
		binary_error("crm.logreg_step_state", psprintf("A value is at least %d bytes long, not %d.", (int) STEP_SEND_HEADER, length));
	header = pq_getmsgint(buffer, sizeof(uint32));
	if (header != LOGREG_STEP_VERSION)
		binary_error("crm.logreg_step_state", psprintf("Unknown version %u; this build reads version %d.", header, LOGREG_STEP_VERSION));
	d = (int32) pq_getmsgint(buffer, sizeof(int32));
	if (d < 0 || d > LOGREG_MAX_FEATURES)
		binary_error("crm.logreg_step_state", psprintf("%d features is outside 0 to %d.", d, LOGREG_MAX_FEATURES));
	if ((int64) length != (int64) STEP_SEND_HEADER + (int64) sizeof(double) * STEP_SUM_COUNT(d + 1))
		binary_error("crm.logreg_step_state", psprintf("%d bytes do not hold the sums of %d features (%lld bytes).", length, d,
													   (long long) (STEP_SEND_HEADER + sizeof(double) * STEP_SUM_COUNT(d + 1))));
	state = step_new(d);
	state->rows = pq_getmsgint64(buffer);
	state->positives = pq_getmsgint64(buffer);
	state->opposed = pq_getmsgint64(buffer);
	state->strict = pq_getmsgint64(buffer);
	state->log_likelihood = pq_getmsgfloat8(buffer) + 0.0;	/* -0 read as 0, as the text form does */
	for (int64 i = 0; i < STEP_SUM_COUNT(d + 1); i++)
		state->sums[i] = pq_getmsgfloat8(buffer) + 0.0;
	if ((problem = step_problem(state)) != NULL)
		binary_error("crm.logreg_step_state", problem);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_logreg_step_state_send);
/* Binary output of crm.logreg_step_state: 48 + 8·(p + p(p+1)/2) bytes, p = d+1. */
Datum
crm_logreg_step_state_send(PG_FUNCTION_ARGS)
{
	LogregStep *state = step_from_datum(PG_GETARG_DATUM(0));
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, LOGREG_STEP_VERSION);
	pq_sendint32(&buffer, state->dimension);
	pq_sendint64(&buffer, state->rows);
	pq_sendint64(&buffer, state->positives);
	pq_sendint64(&buffer, state->opposed);
	pq_sendint64(&buffer, state->strict);
	pq_sendfloat8(&buffer, state->log_likelihood);
	for (int64 i = 0; i < STEP_SUM_COUNT(state->dimension + 1); i++)
		pq_sendfloat8(&buffer, state->sums[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_logreg_step_newton);
/*
 * crm.logreg_step_newton(state, beta, l2): what logreg_solve computes from one pass, for the
 * driver: the rows, the true labels, the penalised objective -LL + l2/2·|beta[2:]|², whether beta
 * separates the rows (no row on the wrong side, some strictly on its side), and the Newton
 * direction solving (H + l2·I') v = g - l2·beta' (NULL when that matrix is singular to working
 * precision) with its largest relative move max |v_j| / (1 + |beta_j|). beta NULL or empty: zeros.
 */
Datum
crm_logreg_step_newton(PG_FUNCTION_ARGS)
{
	LogregStep *state;
	double	   *beta;
	double		l2;
	int			d,
				p,
				count = 0;
	double		objective;
	double	   *hessian;
	double	   *direction;
	const double *packed;
	bool		solved;
	TupleDesc	descriptor;
	Datum		values[7];
	bool		nulls[7] = {false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	state = step_from_datum(PG_GETARG_DATUM(0));
	d = state->dimension;
	p = d + 1;
	l2 = PG_GETARG_FLOAT8(2);
	if (!(l2 >= 0) || isinf(l2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 must be a finite, non-negative number"),
				 errdetail("The l2 given was %g.", l2)));
	beta = PG_ARGISNULL(1) ? NULL : crm_float8_array(PG_GETARG_ARRAYTYPE_P(1), "beta", true, &count);
	if (count == 0)
		beta = palloc0(sizeof(double) * p);
	else if (count != p)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("beta must have one more element than features"),
				 errdetail("beta has %d elements (intercept first) and the state has %d features.", count, d)));

	/* as logreg_objective: the rows' sum, then the penalty coefficient by coefficient */
	objective = -state->log_likelihood;
	for (int j = 1; j <= d; j++)
		objective += 0.5 * l2 * beta[j] * beta[j];

	/* as logreg_solve: the penalised gradient and Hessian, Cholesky, the direction */
	hessian = palloc0(sizeof(double) * p * p);
	direction = palloc(sizeof(double) * p);
	memcpy(direction, state->sums, sizeof(double) * p);
	packed = state->sums + p;
	for (int a = 0; a < p; a++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int b = 0; b <= a; b++)
			hessian[a * p + b] = *packed++;
	}
	for (int j = 1; j < p; j++)
	{
		direction[j] -= l2 * beta[j];
		hessian[j * p + j] += l2;
	}
	solved = cholesky(hessian, p);

	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "crm.logreg_step_newton must return a composite");
	descriptor = BlessTupleDesc(descriptor);
	values[0] = Int32GetDatum(d);
	values[1] = Int64GetDatum(state->rows);
	values[2] = Int64GetDatum(state->positives);
	values[3] = Float8GetDatum(objective);
	values[4] = BoolGetDatum(state->opposed == 0 && state->strict > 0);
	if (solved)
	{
		Datum	   *elements = palloc(sizeof(Datum) * p);
		double		full_move = 0;

		cholesky_solve(hessian, p, direction);
		for (int j = 0; j < p; j++)
		{
			full_move = Max(full_move, fabs(direction[j]) / (1 + fabs(beta[j])));
			elements[j] = Float8GetDatum(direction[j]);
		}
		values[5] = PointerGetDatum(construct_array(elements, p, FLOAT8OID, sizeof(float8),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[6] = Float8GetDatum(full_move);
	}
	else
		nulls[5] = nulls[6] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls)));
}
