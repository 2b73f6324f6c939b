/*
 * kmeans.c: the crm.kmeans aggregate (k-means clustering of feature vectors) and
 * crm.kmeans_assign (the nearest centroid).
 *
 * The transition state holds every point, d doubles each, in one array in the aggregate context;
 * parallel partial states are concatenated. The final function sorts the points (so the result
 * does not depend on the order rows arrive in, serial or parallel), then runs k-means++ seeding
 * and Lloyd iterations from several starts, keeping the clustering with the lowest inertia (the
 * sum of squared distances of points to their centroid).
 */
#include "crm.h"

#include <float.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

/* Lloyd iterations per start; stopping earlier once no point changes cluster. */
#define KMEANS_MAX_ITERATIONS 300
/* Starts for small inputs; fewer for large ones (see kmeans_starts). */
#define KMEANS_MAX_STARTS 10
/* Distance evaluations (points x clusters) the starts share before we cut their number. */
#define KMEANS_START_BUDGET 20000000.0
#define KMEANS_DEFAULT_SEED 42
#define KMEANS_STATE_VERSION 1
/*
 * The largest coordinate magnitude clustered: squared distances summed over every dimension and
 * point, and the sums behind the means, then stay far inside double precision's range.
 */
#define KMEANS_MAX_COORDINATE 1e100

typedef struct KmeansState
{
	int			dims;			/* 0 until the first non-NULL features */
	int			k;
	int64		seed;
	bool		standardize;
	int64		count;			/* points held */
	int64		capacity;		/* points the array has room for */
	double	   *points;			/* count x dims, row-major */
} KmeansState;

/* The serialized state: this header, then count x dims doubles. */
typedef struct KmeansStateHeader
{
	int32		version;
	int32		dims;
	int32		k;
	int32		standardize;
	int64		seed;
	int64		count;
} KmeansStateHeader;

/* The largest number of points of dims dimensions one state can hold (one palloc, 1 GB). */
static int64
kmeans_max_points(int dims)
{
	return (int64) ((MaxAllocSize - sizeof(KmeansStateHeader) - VARHDRSZ) / (sizeof(double) * dims));
}

static void
kmeans_reserve(KmeansState *state, int64 needed)
{
	int64		capacity;

	if (needed <= state->capacity)
		return;
	if (needed > kmeans_max_points(state->dims))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many points for crm.kmeans"),
				 errdetail("crm.kmeans holds at most %lld points of %d dimensions (1 GB).",
						   (long long) kmeans_max_points(state->dims), state->dims),
				 errhint("Cluster a sample, e.g. with TABLESAMPLE.")));
	capacity = Max(state->capacity * 2, 1024);
	capacity = Min(Max(capacity, needed), kmeans_max_points(state->dims));
	if (state->points == NULL)
		state->points = palloc(capacity * state->dims * sizeof(double));
	else
		state->points = repalloc(state->points, capacity * state->dims * sizeof(double));
	state->capacity = capacity;
}

static void
kmeans_require_same(KmeansState *state, int k, int64 seed, bool standardize)
{
	if (k != state->k || seed != state->seed || standardize != state->standardize)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k, seed and standardize must be the same for every row of crm.kmeans")));
}

static void
kmeans_set_dims(KmeansState *state, int dims)
{
	if (state->dims == 0)
		state->dims = dims;
	else if (dims != state->dims)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must all have the same number of dimensions"),
				 errdetail("Earlier features had %d dimensions, these have %d.", state->dims, dims)));
}

PG_FUNCTION_INFO_V1(crm_kmeans_transition);
/* Aggregate transition: adds one feature vector (NULL rows are skipped). */
Datum
crm_kmeans_transition(PG_FUNCTION_ARGS)
{
	MemoryContext aggregate_context = crm_aggregate_context(fcinfo, "crm_kmeans_transition");
	KmeansState *state = PG_ARGISNULL(0) ? NULL : (KmeansState *) PG_GETARG_POINTER(0);
	int			k;
	int64		seed = KMEANS_DEFAULT_SEED;
	bool		standardize = false;
	double	   *features;
	int			dims;
	MemoryContext old_context;

	if (PG_ARGISNULL(2) || (PG_NARGS() > 3 && PG_ARGISNULL(3)) || (PG_NARGS() > 4 && PG_ARGISNULL(4)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k, seed and standardize of crm.kmeans must not be NULL")));
	k = PG_GETARG_INT32(2);
	if (PG_NARGS() > 3)
		seed = PG_GETARG_INT32(3);
	if (PG_NARGS() > 4)
		standardize = PG_GETARG_BOOL(4);

	if (state == NULL)
	{
		if (k < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("k must be at least 1"),
					 errdetail("The k given was %d.", k)));
		state = MemoryContextAllocZero(aggregate_context, sizeof(KmeansState));
		state->k = k;
		state->seed = seed;
		state->standardize = standardize;
	}
	else
		kmeans_require_same(state, k, seed, standardize);

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(state);

	features = crm_float8_array(PG_GETARG_ARRAYTYPE_P(1), "features", true, &dims);
	if (dims == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must not be empty")));
	kmeans_set_dims(state, dims);

	old_context = MemoryContextSwitchTo(aggregate_context);
	kmeans_reserve(state, state->count + 1);
	MemoryContextSwitchTo(old_context);
	memcpy(state->points + state->count * dims, features, dims * sizeof(double));
	state->count++;
	pfree(features);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_kmeans_combine);
/* Aggregate combine: concatenates the points of two partial states. */
Datum
crm_kmeans_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggregate_context = crm_aggregate_context(fcinfo, "crm_kmeans_combine");
	KmeansState *state = PG_ARGISNULL(0) ? NULL : (KmeansState *) PG_GETARG_POINTER(0);
	KmeansState *other = PG_ARGISNULL(1) ? NULL : (KmeansState *) PG_GETARG_POINTER(1);
	MemoryContext old_context;

	if (other == NULL)
		PG_RETURN_POINTER(state);
	if (state == NULL)
	{
		state = MemoryContextAllocZero(aggregate_context, sizeof(KmeansState));
		state->k = other->k;
		state->seed = other->seed;
		state->standardize = other->standardize;
	}
	else
		kmeans_require_same(state, other->k, other->seed, other->standardize);
	if (other->count == 0)
		PG_RETURN_POINTER(state);

	kmeans_set_dims(state, other->dims);
	old_context = MemoryContextSwitchTo(aggregate_context);
	kmeans_reserve(state, state->count + other->count);
	MemoryContextSwitchTo(old_context);
	memcpy(state->points + state->count * state->dims, other->points,
		   other->count * other->dims * sizeof(double));
	state->count += other->count;
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_kmeans_serialize);
/* Aggregate serialize: the header, then the points. */
Datum
crm_kmeans_serialize(PG_FUNCTION_ARGS)
{
	KmeansState *state = (KmeansState *) PG_GETARG_POINTER(0);
	KmeansStateHeader header;
	Size		points_size = state->count * state->dims * sizeof(double);
	bytea	   *result;

	crm_aggregate_context(fcinfo, "crm_kmeans_serialize");
	header.version = KMEANS_STATE_VERSION;
	header.dims = state->dims;
	header.k = state->k;
	header.standardize = state->standardize;
	header.seed = state->seed;
	header.count = state->count;
	result = palloc(VARHDRSZ + sizeof(header) + points_size);
	SET_VARSIZE(result, VARHDRSZ + sizeof(header) + points_size);
	memcpy(VARDATA(result), &header, sizeof(header));
	if (points_size > 0)
		memcpy(VARDATA(result) + sizeof(header), state->points, points_size);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(crm_kmeans_deserialize);
/* Aggregate deserialize: validates the header against the length, and every point. */
Datum
crm_kmeans_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *serialized = PG_GETARG_BYTEA_PP(0);
	Size		length = VARSIZE_ANY_EXHDR(serialized);
	KmeansStateHeader header;
	KmeansState *state;

	crm_aggregate_context(fcinfo, "crm_kmeans_deserialize");
	if (length < sizeof(header))
		elog(ERROR, "crm.kmeans: serialized state too short (%zu bytes)", length);
	memcpy(&header, VARDATA_ANY(serialized), sizeof(header));
	if (header.version != KMEANS_STATE_VERSION || header.dims < 0 || header.k < 1 ||
		header.count < 0 || (header.dims == 0) != (header.count == 0) ||
		(header.standardize != 0 && header.standardize != 1) ||
		(header.dims > 0 && header.count > kmeans_max_points(header.dims)) ||
		length != sizeof(header) + header.count * header.dims * sizeof(double))
		elog(ERROR, "crm.kmeans: invalid serialized state");

	state = palloc0(sizeof(KmeansState));
	state->dims = header.dims;
	state->k = header.k;
	state->seed = header.seed;
	state->standardize = header.standardize;
	state->count = header.count;
	state->capacity = header.count;
	if (header.count > 0)
	{
		state->points = palloc(length - sizeof(header));
		memcpy(state->points, VARDATA_ANY(serialized) + sizeof(header), length - sizeof(header));
		for (int64 i = 0; i < header.count * header.dims; i++)
			if (!isfinite(state->points[i]))
				elog(ERROR, "crm.kmeans: invalid serialized state (non-finite coordinate)");
	}
	PG_RETURN_POINTER(state);
}

/* splitmix64: a small, well-mixed generator; the same seed gives the same stream everywhere. */
static uint64
splitmix64_next(uint64 *state)
{
	uint64		z = (*state += UINT64CONST(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double
random_unit(uint64 *rng)
{
	return (splitmix64_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double
squared_distance(const double *a, const double *b, int dims)
{
	double		sum = 0;

	for (int j = 0; j < dims; j++)
	{
		double		diff = a[j] - b[j];

		sum += diff * diff;
	}
	return sum;
}

/* The nearest centroid of a point (the lowest index on ties), and its squared distance. */
static inline int
nearest_centroid(const double *point, const double *centroids, int k, int dims, double *distance)
{
	int			best = 0;
	double		best_distance = squared_distance(point, centroids, dims);

	for (int c = 1; c < k; c++)
	{
		double		d = squared_distance(point, centroids + c * dims, dims);

		if (d < best_distance)
		{
			best_distance = d;
			best = c;
		}
	}
	*distance = best_distance;
	return best;
}

/*
 * k-means++ seeding: the first centroid uniformly at random, each next one a point drawn with
 * probability proportional to its squared distance to the nearest centroid chosen so far.
 * nearest is scratch space for n distances.
 */
static void
kmeans_plus_plus(const double *points, int64 n, int dims, int k, uint64 *rng,
				 double *centroids, double *nearest)
{
	int64		first = (int64) (random_unit(rng) * n);
	double		total = 0;

	memcpy(centroids, points + first * dims, dims * sizeof(double));
	for (int64 i = 0; i < n; i++)
	{
		nearest[i] = squared_distance(points + i * dims, centroids, dims);
		total += nearest[i];
	}
	for (int c = 1; c < k; c++)
	{
		int64		chosen = n - 1;
		double	   *centroid = centroids + c * dims;

		CHECK_FOR_INTERRUPTS();
		if (total > 0)
		{
			double		target = random_unit(rng) * total;

			for (int64 i = 0; i < n; i++)
			{
				target -= nearest[i];
				if (target < 0)
				{
					chosen = i;
					break;
				}
			}
		}
		else
			/* every point sits on a centroid already: fewer distinct points than k */
			chosen = (int64) (random_unit(rng) * n);
		memcpy(centroid, points + chosen * dims, dims * sizeof(double));
		total = 0;
		for (int64 i = 0; i < n; i++)
		{
			double		d = squared_distance(points + i * dims, centroid, dims);

			if ((i & 0x3FF) == 0)
				CHECK_FOR_INTERRUPTS();
			if (d < nearest[i])
				nearest[i] = d;
			total += nearest[i];
		}
	}
}

/*
 * Lloyd's iterations from the given centroids until no point changes cluster (or the iteration
 * limit). An emptied cluster takes the point farthest from its centroid. Returns the inertia;
 * distance is scratch space for n distances, assignment for n cluster numbers.
 */
static double
kmeans_lloyd(const double *points, int64 n, int dims, int k, double *centroids,
			 int *assignment, double *distance, bool *converged)
{
	double	   *sums = palloc(sizeof(double) * k * dims);
	int64	   *sizes = palloc(sizeof(int64) * k);
	double		inertia = 0;

	*converged = false;
	for (int64 i = 0; i < n; i++)
		assignment[i] = -1;
	for (int iteration = 0; iteration < KMEANS_MAX_ITERATIONS; iteration++)
	{
		int64		changed = 0;

		CHECK_FOR_INTERRUPTS();
		inertia = 0;
		for (int64 i = 0; i < n; i++)
		{
			int			c;

			/* one point costs k x dims: checking every point is cheap against that */
			CHECK_FOR_INTERRUPTS();
			c = nearest_centroid(points + i * dims, centroids, k, dims, &distance[i]);

			if (c != assignment[i])
			{
				assignment[i] = c;
				changed++;
			}
			inertia += distance[i];
		}
		if (changed == 0)
		{
			*converged = true;
			break;
		}

		memset(sums, 0, sizeof(double) * k * dims);
		memset(sizes, 0, sizeof(int64) * k);
		for (int64 i = 0; i < n; i++)
		{
			double	   *sum = sums + assignment[i] * dims;

			for (int j = 0; j < dims; j++)
				sum[j] += points[i * dims + j];
			sizes[assignment[i]]++;
		}
		for (int c = 0; c < k; c++)
		{
			if (sizes[c] > 0)
			{
				for (int j = 0; j < dims; j++)
					centroids[c * dims + j] = sums[c * dims + j] / sizes[c];
			}
			else
			{
				int64		farthest = 0;

				CHECK_FOR_INTERRUPTS();
				for (int64 i = 1; i < n; i++)
					if (distance[i] > distance[farthest])
						farthest = i;
				memcpy(centroids + c * dims, points + farthest * dims, dims * sizeof(double));
				distance[farthest] = 0;
				/* force the next pass to count a change, so the moved centroid is used */
				assignment[farthest] = -1;
			}
		}
	}
	pfree(sums);
	pfree(sizes);
	return inertia;
}

/*
 * Starts: 10 for small inputs; for large ones as many as fit in the distance budget (at least
 * one), since each start costs n x k distances per iteration.
 */
static int
kmeans_starts(int64 n, int k)
{
	double		affordable = KMEANS_START_BUDGET / ((double) n * k);

	if (affordable >= KMEANS_MAX_STARTS)
		return KMEANS_MAX_STARTS;
	return affordable < 1 ? 1 : (int) affordable;
}

static int
compare_rows(const void *a, const void *b, void *arg)
{
	int			dims = *(const int *) arg;
	const double *x = a;
	const double *y = b;

	/* qsort_arg over millions of points must stay cancellable; the check is one load */
	CHECK_FOR_INTERRUPTS();
	for (int j = 0; j < dims; j++)
	{
		if (x[j] < y[j])
			return -1;
		if (x[j] > y[j])
			return 1;
	}
	return 0;
}

PG_FUNCTION_INFO_V1(crm_kmeans_final);
/* Aggregate final: the k centroids (k x d array, rows in ascending order), NULL for no points. */
Datum
crm_kmeans_final(PG_FUNCTION_ARGS)
{
	KmeansState *state;
	int64		n;
	int			dims,
				k,
				starts;
	double	   *points,
			   *mean = NULL,
			   *scale = NULL,
			   *centroids,
			   *best,
			   *distance;
	int		   *assignment;
	double		best_inertia = DBL_MAX;
	uint64		rng;
	Datum	   *elements;
	int			array_dims[2],
				array_lower[2] = {1, 1};

	crm_aggregate_context(fcinfo, "crm_kmeans_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (KmeansState *) PG_GETARG_POINTER(0);
	n = state->count;
	dims = state->dims;
	k = state->k;
	if (n == 0)
		PG_RETURN_NULL();
	if (k > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must not exceed the number of points"),
				 errdetail("k is %d but there are %lld points.", k, (long long) n)));

	/*
	 * Sorting only reorders the points the state holds, which changes no later result: the
	 * state stays valid for further transitions and final calls. It also makes the result
	 * independent of the order the rows arrived in, and lets us count the distinct points: with
	 * fewer than k, some clusters would have to be empty or duplicates.
	 */
	qsort_arg(state->points, n, sizeof(double) * dims, compare_rows, &dims);
	{
		int64		distinct = 1;

		for (int64 i = 1; i < n && distinct < k; i++)
			if (compare_rows(state->points + (i - 1) * dims, state->points + i * dims, &dims) != 0)
				distinct++;
		if (distinct < k)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("k must not exceed the number of distinct points"),
					 errdetail("k is %d but there are only %lld distinct points.", k, (long long) distinct)));
	}
	for (int64 i = 0; i < n * dims; i++)
		if (fabs(state->points[i]) > KMEANS_MAX_COORDINATE)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("features too large for crm.kmeans"),
					 errdetail("A coordinate is %g; crm.kmeans takes coordinates of magnitude up to %g.",
							   state->points[i], KMEANS_MAX_COORDINATE),
					 errhint("Rescale the features, e.g. to other units or by their logarithm.")));
	points = state->points;
	if (state->standardize)
	{
		mean = palloc0(sizeof(double) * dims);
		scale = palloc0(sizeof(double) * dims);
		points = palloc(sizeof(double) * n * dims);
		for (int64 i = 0; i < n; i++)
			for (int j = 0; j < dims; j++)
				mean[j] += state->points[i * dims + j];
		for (int j = 0; j < dims; j++)
			mean[j] /= n;
		for (int64 i = 0; i < n; i++)
			for (int j = 0; j < dims; j++)
			{
				double		diff = state->points[i * dims + j] - mean[j];

				scale[j] += diff * diff;
			}
		for (int j = 0; j < dims; j++)
		{
			scale[j] = sqrt(scale[j] / n);
			/* a constant feature carries no distance: leave it unscaled */
			if (!(scale[j] > 0))
				scale[j] = 1;
		}
		for (int64 i = 0; i < n; i++)
			for (int j = 0; j < dims; j++)
				points[i * dims + j] = (state->points[i * dims + j] - mean[j]) / scale[j];
	}

	centroids = palloc(sizeof(double) * k * dims);
	best = palloc(sizeof(double) * k * dims);
	distance = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n);
	assignment = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * n);
	rng = (uint64) state->seed;
	starts = kmeans_starts(n, k);
	for (int start = 0; start < starts; start++)
	{
		bool		converged;
		double		inertia;

		CHECK_FOR_INTERRUPTS();
		kmeans_plus_plus(points, n, dims, k, &rng, centroids, distance);
		inertia = kmeans_lloyd(points, n, dims, k, centroids, assignment, distance, &converged);
		if (!converged)
			elog(DEBUG1, "crm.kmeans: start %d stopped after %d iterations without converging",
				 start + 1, KMEANS_MAX_ITERATIONS);
		if (inertia < best_inertia)
		{
			best_inertia = inertia;
			memcpy(best, centroids, sizeof(double) * k * dims);
		}
	}

	if (state->standardize)
		for (int c = 0; c < k; c++)
			for (int j = 0; j < dims; j++)
				best[c * dims + j] = best[c * dims + j] * scale[j] + mean[j];
	qsort_arg(best, k, sizeof(double) * dims, compare_rows, &dims);

	elements = palloc(sizeof(Datum) * k * dims);
	for (int i = 0; i < k * dims; i++)
		elements[i] = Float8GetDatum(best[i]);
	array_dims[0] = k;
	array_dims[1] = dims;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elements, NULL, 2, array_dims, array_lower, FLOAT8OID,
											 sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(crm_kmeans_assign);
/* The 1-based index of the centroid (a row of a k x d array) nearest to the features. */
Datum
crm_kmeans_assign(PG_FUNCTION_ARGS)
{
	ArrayType  *centroid_array = PG_GETARG_ARRAYTYPE_P(1);
	double	   *features,
			   *centroids;
	Datum	   *elements;
	bool	   *nulls;
	int			dims,
				count,
				k;
	double		distance;

	features = crm_float8_array(PG_GETARG_ARRAYTYPE_P(0), "features", true, &dims);
	if (dims == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must not be empty")));
	if (ARR_NDIM(centroid_array) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("centroids must be a two-dimensional array"),
				 errdetail("Centroids are k rows of d coordinates, as crm.kmeans returns them.")));
	if (ARR_ELEMTYPE(centroid_array) != FLOAT8OID)
		elog(ERROR, "centroids: expected a double precision array");
	k = ARR_DIMS(centroid_array)[0];
	if (ARR_DIMS(centroid_array)[1] != dims)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features and centroids must have the same number of dimensions"),
				 errdetail("The features have %d dimensions, the centroids %d.",
						   dims, ARR_DIMS(centroid_array)[1])));

	deconstruct_array(centroid_array, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elements, &nulls, &count);
	centroids = palloc(sizeof(double) * count);
	for (int i = 0; i < count; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("centroids must not contain NULL")));
		centroids[i] = DatumGetFloat8(elements[i]);
		crm_require_finite(centroids[i], "every centroid coordinate");
	}
	PG_RETURN_INT32(nearest_centroid(features, centroids, k, dims, &distance) + 1);
}
