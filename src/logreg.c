/*
 * logreg.c: logistic regression fitted by Newton's method (IRLS) as an aggregate, and its
 * prediction function.
 *
 * The Newton step needs X'WX with weights p(1-p) that depend on the current coefficients, so a
 * single pass cannot accumulate it: the state keeps every row (d features and the label, 8·(d+1)
 * bytes per row) and the final function iterates over them. Partial states combine by
 * concatenation, which makes the aggregate parallel safe.
 */
#include "crm.h"

#include "catalog/pg_type.h"
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
