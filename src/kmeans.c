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

#include <limits.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
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

	/* the common small dimensions unrolled: the loop's overhead is most of their cost */
	switch (dims)
	{
		case 1:
			return (a[0] - b[0]) * (a[0] - b[0]);
		case 2:
			return (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]);
		case 3:
			return (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
				(a[2] - b[2]) * (a[2] - b[2]);
		case 4:
			return (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
				(a[2] - b[2]) * (a[2] - b[2]) + (a[3] - b[3]) * (a[3] - b[3]);
		default:
			for (int j = 0; j < dims; j++)
			{
				double		diff = a[j] - b[j];

				sum += diff * diff;
			}
			return sum;
	}
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
 * Greedy k-means++ seeding (Arthur and Vassilvitskii 2007, and the greedy variant their paper
 * mentions): the first centroid uniformly at random; for each next one, trials candidate points
 * drawn with probability proportional to their squared distance to the nearest centroid chosen
 * so far, keeping the candidate that leaves the smallest total of those distances (the
 * distances of the best trial are kept, so the winner costs no further pass). nearest,
 * trial_distances and best_distances are scratch space for n distances each.
 */
static void
kmeans_plus_plus(const double *points, int64 n, int dims, int k, int trials, uint64 *rng,
				 double *centroids, double *nearest, double *trial_distances, double *best_distances)
{
	int64		first = (int64) (random_unit(rng) * n);
	double		total = 0;

	memcpy(centroids, points + first * dims, dims * sizeof(double));
	for (int64 i = 0; i < n; i++)
	{
		if ((i & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		nearest[i] = squared_distance(points + i * dims, centroids, dims);
		total += nearest[i];
	}
	for (int c = 1; c < k; c++)
	{
		double	   *centroid = centroids + c * dims;
		double		best_total = -1;

		CHECK_FOR_INTERRUPTS();
		for (int trial = 0; trial < trials; trial++)
		{
			int64		chosen = n - 1;
			double		trial_total = 0;
			const double *candidate;

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
				/* rounding can leave target >= 0 at the end: take the last point with weight */
				while (chosen > 0 && nearest[chosen] == 0)
					chosen--;
			}
			else
				/* every point sits on a centroid already: fewer distinct points than k */
				chosen = (int64) (random_unit(rng) * n);
			candidate = points + chosen * dims;
			for (int64 i = 0; i < n; i++)
			{
				double		d = squared_distance(points + i * dims, candidate, dims);

				if ((i & 0x3FF) == 0)
					CHECK_FOR_INTERRUPTS();
				trial_distances[i] = d < nearest[i] ? d : nearest[i];
				trial_total += trial_distances[i];
			}
			if (best_total < 0 || trial_total < best_total)
			{
				double	   *swap = best_distances;

				/* keep this trial's distances: the best so far become scratch */
				best_distances = trial_distances;
				trial_distances = swap;
				best_total = trial_total;
				memcpy(centroid, candidate, dims * sizeof(double));
			}
		}
		/* the winner's distances become those to the nearest chosen centroid */
		{
			double	   *swap = nearest;

			nearest = best_distances;
			best_distances = swap;
		}
		total = best_total;
	}
}

/*
 * Hartigan's refinement after Lloyd's iterations: moves single points between clusters while a
 * move lowers the inertia. Taking x out of its cluster a (of na points, centroid ca) saves
 * na/(na-1)·|x-ca|^2; adding it to b costs nb/(nb+1)·|x-cb|^2 >= |x-cb|^2 / 2; the centroids
 * follow each move. Lloyd's fixed points are not always Hartigan's, so this reaches a lower
 * inertia from the same start more often than not, and never a higher one. A point is checked
 * against every centroid only when its lower bound on the distance to any other centroid
 * (lower, from Lloyd's last pass, less how far centroids have moved since: each move shifts two
 * of them by |x-c|/(n±1)) allows a gain; most points cost one distance per pass. Leaves the
 * centroids as the exact means of the final clusters. Returns the number of moves. stamp is
 * scratch space for n numbers.
 */
static int64
kmeans_hartigan(const double *points, int64 n, int dims, int k, double *centroids, int *assignment,
				double *lower, double *stamp)
{
	int64	   *sizes = palloc0(sizeof(int64) * k);
	double	   *sums = palloc0(sizeof(double) * k * dims);
	double	   *to = palloc(sizeof(double) * k);
	double		drift = 0;		/* an upper bound on any centroid's movement so far */
	int64		moves = 0;

	if (k < 2)
		return 0;
	for (int64 i = 0; i < n; i++)
	{
		sizes[assignment[i]]++;
		stamp[i] = 0;
	}
	for (int pass = 0; pass < KMEANS_MAX_ITERATIONS; pass++)
	{
		int64		moved = 0;

		CHECK_FOR_INTERRUPTS();
		for (int64 i = 0; i < n; i++)
		{
			const double *x = points + i * dims;
			int			a = assignment[i];
			double		remove,
						own,
						bound,
						best_add = DBL_MAX,
						nearest_other = DBL_MAX;
			int			best = -1;

			if ((i & 0xFF) == 0)
				CHECK_FOR_INTERRUPTS();
			if (sizes[a] <= 1)
				continue;
			own = squared_distance(x, centroids + a * dims, dims);
			remove = (double) sizes[a] / (sizes[a] - 1) * own;
			bound = lower[i] - (drift - stamp[i]);
			if (bound > 0 && 0.5 * bound * bound >= remove)
				continue;
			for (int b = 0; b < k; b++)
			{
				double		add;

				if (b == a)
					continue;
				to[b] = squared_distance(x, centroids + b * dims, dims);
				nearest_other = Min(nearest_other, to[b]);
				add = (double) sizes[b] / (sizes[b] + 1) * to[b];
				if (add < best_add)
				{
					best_add = add;
					best = b;
				}
			}
			stamp[i] = drift;
			lower[i] = sqrt(nearest_other);
			/* a clear gain only: rounding must not make points cycle */
			if (best >= 0 && best_add < remove * (1 - 1e-12))
			{
				double	   *ca = centroids + a * dims;
				double	   *cb = centroids + best * dims;
				double		second = own;

				drift += Max(sqrt(own) / (sizes[a] - 1), sqrt(to[best]) / (sizes[best] + 1));
				for (int j = 0; j < dims; j++)
				{
					ca[j] -= (x[j] - ca[j]) / (sizes[a] - 1);
					cb[j] += (x[j] - cb[j]) / (sizes[best] + 1);
				}
				sizes[a]--;
				sizes[best]++;
				assignment[i] = best;
				/* the point's other centroids are now a and all but best */
				for (int b = 0; b < k; b++)
					if (b != a && b != best)
						second = Min(second, to[b]);
				lower[i] = sqrt(second);
				stamp[i] = drift;
				moved++;
			}
		}
		moves += moved;
		if (moved == 0)
			break;
	}
	if (moves > 0)
	{
		/* the incremental updates carry rounding: recompute the means */
		for (int64 i = 0; i < n; i++)
		{
			double	   *sum = sums + assignment[i] * dims;

			for (int j = 0; j < dims; j++)
				sum[j] += points[i * dims + j];
		}
		for (int c = 0; c < k; c++)
			for (int j = 0; j < dims; j++)
				centroids[c * dims + j] = sums[c * dims + j] / sizes[c];
	}
	pfree(sizes);
	pfree(sums);
	pfree(to);
	return moves;
}

/*
 * The nearest and second-nearest centroid of a point: the nearest's index (the lowest on ties)
 * and both squared distances (the second DBL_MAX for k = 1).
 */
static inline int
two_nearest(const double *point, const double *centroids, int k, int dims, double *first, double *second)
{
	int			best = 0;
	double		best_distance = squared_distance(point, centroids, dims);
	double		runner_up = DBL_MAX;

	for (int c = 1; c < k; c++)
	{
		double		d = squared_distance(point, centroids + c * dims, dims);

		if (d < best_distance)
		{
			runner_up = best_distance;
			best_distance = d;
			best = c;
		}
		else if (d < runner_up)
			runner_up = d;
	}
	*first = best_distance;
	*second = runner_up;
	return best;
}

/* The means of the clusters into centroids; false when a cluster is empty (its centroid kept). */
static bool
kmeans_means(const double *points, int64 n, int dims, int k, const int *assignment,
			 double *centroids, double *sums, int64 *sizes)
{
	bool		all_filled = true;

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
			for (int j = 0; j < dims; j++)
				centroids[c * dims + j] = sums[c * dims + j] / sizes[c];
		else
			all_filled = false;
	}
	return all_filled;
}

/*
 * Emptied clusters each take the point farthest from its centroid (old_centroids, those the
 * points were assigned under), as in 0.1. distance is scratch space for n distances.
 */
static void
kmeans_refill(const double *points, int64 n, int dims, int k, const int *assignment,
			  const double *old_centroids, double *centroids, const int64 *sizes, double *distance)
{
	for (int64 i = 0; i < n; i++)
	{
		if ((i & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		distance[i] = squared_distance(points + i * dims, old_centroids + assignment[i] * dims, dims);
	}
	for (int c = 0; c < k; c++)
	{
		int64		farthest = 0;

		if (sizes[c] > 0)
			continue;
		for (int64 i = 1; i < n; i++)
			if (distance[i] > distance[farthest])
				farthest = i;
		memcpy(centroids + c * dims, points + farthest * dims, dims * sizeof(double));
		distance[farthest] = 0;
	}
}

/*
 * Lloyd's iterations from the given centroids until no point changes cluster (or the iteration
 * limit), with Hamerly's bounds (Hamerly 2010): per point an upper bound on the distance to its
 * centroid and a lower bound on the distance to any other, both moved by how far the centroids
 * moved; a point whose upper bound is below the larger of its lower bound and half the gap from
 * its centroid to the nearest other cannot change cluster, and costs no distance at all. Late
 * iterations, where few points move, then cost a small fraction of a full pass. The bounds work
 * in Euclidean (not squared) distances, where rounding could in principle misjudge a near tie,
 * so a final exact pass assigns every point to its nearest centroid by the very computation
 * kmeans_assign uses (and Lloyd's plain iterations continue in the rare case it moves a point):
 * the returned centroids are the means of their clusters and every point is nearest its own.
 * The sums behind the means follow the points that change cluster (one subtraction and one
 * addition each) instead of a pass over all points per iteration; the exact pass starts from
 * means recomputed from scratch. Returns the inertia; assignment receives the clusters, distance
 * each point's squared distance to its centroid, lower the distance to its second-nearest
 * centroid (DBL_MAX for k = 1); upper is scratch space for n numbers. refining: the centroids
 * are the means of the clusters in assignment already (after Hartigan's refinement), which are
 * almost surely Lloyd's fixed point too; only the exact pass runs, and plain iterations if it
 * moves a point.
 */
static double
kmeans_lloyd(const double *points, int64 n, int dims, int k, double *centroids,
			 int *assignment, double *distance, double *upper, double *lower, bool refining,
			 bool *converged)
{
	double	   *sums = palloc(sizeof(double) * k * dims);
	int64	   *sizes = palloc(sizeof(int64) * k);
	double	   *old = palloc(sizeof(double) * k * dims);
	double	   *moved = palloc(sizeof(double) * k);
	double	   *half_gap = palloc(sizeof(double) * k);
	bool		bounds_valid = false;
	bool		sums_valid = false;
	double		inertia = 0;
	int			iteration;

	*converged = refining;
	if (!refining)
		for (int64 i = 0; i < n; i++)
			assignment[i] = -1;
	for (iteration = 0; iteration < KMEANS_MAX_ITERATIONS && !refining; iteration++)
	{
		int64		changed = 0;

		CHECK_FOR_INTERRUPTS();
		if (!bounds_valid)
		{
			for (int64 i = 0; i < n; i++)
			{
				double		first,
							second;
				int			c;

				if ((i & 0xFF) == 0)
					CHECK_FOR_INTERRUPTS();
				c = two_nearest(points + i * dims, centroids, k, dims, &first, &second);
				if (c != assignment[i])
				{
					assignment[i] = c;
					changed++;
				}
				upper[i] = sqrt(first);
				lower[i] = second == DBL_MAX ? DBL_MAX : sqrt(second);
			}
			bounds_valid = true;
			/* the running sums did not follow this pass's changes */
			sums_valid = false;
		}
		else
		{
			for (int c = 0; c < k; c++)
			{
				double		gap = DBL_MAX;

				for (int other = 0; other < k; other++)
					if (other != c)
						gap = Min(gap, squared_distance(centroids + c * dims, centroids + other * dims, dims));
				half_gap[c] = gap == DBL_MAX ? DBL_MAX : 0.5 * sqrt(gap);
			}
			for (int64 i = 0; i < n; i++)
			{
				const double *x = points + i * dims;
				int			a = assignment[i];
				double		bound = Max(half_gap[a], lower[i]);
				double		first,
							second;
				int			c;

				if (upper[i] <= bound)
					continue;
				if ((i & 0xFF) == 0)
					CHECK_FOR_INTERRUPTS();
				upper[i] = sqrt(squared_distance(x, centroids + a * dims, dims));
				if (upper[i] <= bound)
					continue;
				c = two_nearest(x, centroids, k, dims, &first, &second);
				if (c != a)
				{
					double	   *from = sums + a * dims;
					double	   *into = sums + c * dims;

					for (int j = 0; j < dims; j++)
					{
						from[j] -= x[j];
						into[j] += x[j];
					}
					sizes[a]--;
					sizes[c]++;
					assignment[i] = c;
					changed++;
				}
				upper[i] = sqrt(first);
				lower[i] = second == DBL_MAX ? DBL_MAX : sqrt(second);
			}
		}
		if (changed == 0)
		{
			*converged = true;
			break;
		}

		/* the means of the new clusters, and how far each centroid moved */
		memcpy(old, centroids, sizeof(double) * k * dims);
		if (!sums_valid)
			sums_valid = kmeans_means(points, n, dims, k, assignment, centroids, sums, sizes);
		else
		{
			for (int c = 0; c < k && sums_valid; c++)
			{
				if (sizes[c] == 0)
					sums_valid = false;
				for (int j = 0; j < dims; j++)
					centroids[c * dims + j] = sums[c * dims + j] / sizes[c];
			}
			if (!sums_valid)
				memcpy(centroids, old, sizeof(double) * k * dims);
		}
		if (!sums_valid)
		{
			/* an emptied cluster: the means again from scratch, then the refill */
			kmeans_means(points, n, dims, k, assignment, centroids, sums, sizes);
			kmeans_refill(points, n, dims, k, assignment, old, centroids, sizes, distance);
			bounds_valid = false;
			/* the refilled centroid must be used: the next pass counts every point as changed */
			for (int64 i = 0; i < n; i++)
				assignment[i] = -1;
			continue;
		}
		{
			double		largest = 0,
						second_largest = 0;
			int			largest_at = -1;

			for (int c = 0; c < k; c++)
			{
				moved[c] = sqrt(squared_distance(old + c * dims, centroids + c * dims, dims));
				if (moved[c] > largest)
				{
					second_largest = largest;
					largest = moved[c];
					largest_at = c;
				}
				else if (moved[c] > second_largest)
					second_largest = moved[c];
			}
			for (int64 i = 0; i < n; i++)
			{
				upper[i] += moved[assignment[i]];
				if (lower[i] != DBL_MAX)
					lower[i] -= assignment[i] == largest_at ? second_largest : largest;
			}
		}
	}

	/* the exact means of the clusters found (the running sums carry rounding) */
	if (*converged && !refining)
		kmeans_means(points, n, dims, k, assignment, centroids, sums, sizes);

	/* the exact pass, and plain Lloyd iterations for as long as it moves points */
	for (; iteration <= KMEANS_MAX_ITERATIONS; iteration++)
	{
		int64		changed = 0;

		CHECK_FOR_INTERRUPTS();
		inertia = 0;
		for (int64 i = 0; i < n; i++)
		{
			double		second;
			int			c;

			if ((i & 0xFF) == 0)
				CHECK_FOR_INTERRUPTS();
			/* the same comparisons as nearest_centroid: the same cluster on ties */
			c = two_nearest(points + i * dims, centroids, k, dims, &distance[i], &second);
			if (c != assignment[i])
			{
				assignment[i] = c;
				changed++;
			}
			lower[i] = second == DBL_MAX ? DBL_MAX : sqrt(second);
			inertia += distance[i];
		}
		if (changed == 0 || iteration == KMEANS_MAX_ITERATIONS)
		{
			if (changed != 0)
				*converged = false;
			break;
		}
		memcpy(old, centroids, sizeof(double) * k * dims);
		if (!kmeans_means(points, n, dims, k, assignment, centroids, sums, sizes))
		{
			kmeans_refill(points, n, dims, k, assignment, old, centroids, sizes, distance);
			for (int64 i = 0; i < n; i++)
				assignment[i] = -1;
		}
	}
	pfree(sums);
	pfree(sizes);
	pfree(old);
	pfree(moved);
	pfree(half_gap);
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

/*
 * The fit: validates the points, standardizes them if asked (mean and scale out, else mean 0 and
 * scale 1), runs the starts and returns the best centroids in the units clustered
 * (standardized or raw), rows in ascending order. The standardized coordinates are computed as
 * (x - mean) / scale, the same expression kmeans_model_assign applies, so a model assigns every
 * point to the cluster the fit put it in.
 */
static double *
kmeans_fit(KmeansState *state, double **mean_out, double **scale_out)
{
	int64		n = state->count;
	int			dims = state->dims;
	int			k = state->k;
	int			starts;
	int			trials;
	double	   *points,
			   *mean,
			   *scale,
			   *centroids,
			   *best,
			   *distance,
			   *upper,
			   *lower;
	int		   *assignment;
	double		best_inertia = DBL_MAX;
	uint64		rng;

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
	mean = palloc0(sizeof(double) * dims);
	scale = palloc(sizeof(double) * dims);
	for (int j = 0; j < dims; j++)
		scale[j] = 1;
	if (state->standardize)
	{
		for (int j = 0; j < dims; j++)
			scale[j] = 0;
		points = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n * dims);
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
	upper = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n);
	lower = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * n);
	assignment = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * n);
	rng = (uint64) state->seed;
	starts = kmeans_starts(n, k);
	trials = 2 + (int) log((double) k);
	for (int start = 0; start < starts; start++)
	{
		bool		converged;
		double		inertia;

		CHECK_FOR_INTERRUPTS();
		kmeans_plus_plus(points, n, dims, k, trials, &rng, centroids, distance, upper, lower);
		inertia = kmeans_lloyd(points, n, dims, k, centroids, assignment, distance, upper, lower, false, &converged);
		if (!converged)
			elog(DEBUG1, "crm.kmeans: start %d stopped after %d iterations without converging",
				 start + 1, KMEANS_MAX_ITERATIONS);
		else if (kmeans_hartigan(points, n, dims, k, centroids, assignment, lower, upper) > 0)
			/* from the refined means, until the nearest centroids are the clusters again */
			inertia = kmeans_lloyd(points, n, dims, k, centroids, assignment, distance, upper, lower, true, &converged);
		if (inertia < best_inertia)
		{
			best_inertia = inertia;
			memcpy(best, centroids, sizeof(double) * k * dims);
		}
	}
	qsort_arg(best, k, sizeof(double) * dims, compare_rows, &dims);
	if (points != state->points)
		pfree(points);
	pfree(centroids);
	pfree(distance);
	pfree(upper);
	pfree(lower);
	pfree(assignment);
	*mean_out = mean;
	*scale_out = scale;
	return best;
}

static ArrayType *
centroid_array(const double *centroids, int k, int dims)
{
	Datum	   *elements = palloc(sizeof(Datum) * k * dims);
	int			array_dims[2] = {k, dims};
	int			array_lower[2] = {1, 1};

	for (int i = 0; i < k * dims; i++)
		elements[i] = Float8GetDatum(centroids[i]);
	return construct_md_array(elements, NULL, 2, array_dims, array_lower, FLOAT8OID,
							  sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

PG_FUNCTION_INFO_V1(crm_kmeans_final);
/* Aggregate final: the k centroids (k x d array, rows in ascending order), NULL for no points. */
Datum
crm_kmeans_final(PG_FUNCTION_ARGS)
{
	KmeansState *state;
	double	   *mean,
			   *scale,
			   *best;

	crm_aggregate_context(fcinfo, "crm_kmeans_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (KmeansState *) PG_GETARG_POINTER(0);
	if (state->count == 0)
		PG_RETURN_NULL();
	best = kmeans_fit(state, &mean, &scale);
	/* only the forms without standardize use this final function: the centroids are raw */
	Assert(!state->standardize);
	PG_RETURN_ARRAYTYPE_P(centroid_array(best, state->k, state->dims));
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

/*
 * crm.kmeans_model: what crm.kmeans(features, k, seed, standardize) fits, and all that assigning
 * a point needs. A varlena: a version word, k, d, a reserved word (0), then d means, d scales
 * (positive) and the k x d centroids in standardized units, rows in strictly ascending order.
 * Unstandardized models have mean 0 and scale 1, so one assignment rule serves both:
 * z = (x - mean) / scale, then the nearest centroid, exactly as the fit computed it.
 */
#define KMEANS_MODEL_VERSION 1

typedef struct KmeansModel
{
	int32		vl_len_;
	uint32		version;
	int32		k;
	int32		dims;
	int32		reserved;
	double		values[FLEXIBLE_ARRAY_MEMBER];	/* mean[d], scale[d], centroids[k * d] */
} KmeansModel;

#define KMEANS_MODEL_SIZE(k, d) (offsetof(KmeansModel, values) + sizeof(double) * ((int64) (d) * 2 + (int64) (k) * (d)))
#define KMEANS_MODEL_MEAN(m) ((m)->values)
#define KMEANS_MODEL_SCALE(m) ((m)->values + (m)->dims)
#define KMEANS_MODEL_CENTROIDS(m) ((m)->values + 2 * (m)->dims)
#define PG_GETARG_KMEANS_MODEL_P(n) ((KmeansModel *) PG_DETOAST_DATUM(PG_GETARG_DATUM(n)))

/* Whether k and d fit one model of at most 1 GB. */
static bool
kmeans_model_shape_ok(int64 k, int64 dims)
{
	return k >= 1 && dims >= 1 && k <= INT_MAX && dims <= INT_MAX &&
		(double) offsetof(KmeansModel, values) + 8.0 * ((double) dims * 2 + (double) k * dims) <= (double) MaxAllocSize;
}

/* NULL when the contents are a valid model, else what is wrong. */
static const char *
kmeans_model_problem(int k, int dims, const double *values)
{
	const double *mean = values;
	const double *scale = values + dims;
	const double *centroids = values + 2 * dims;

	for (int j = 0; j < dims; j++)
	{
		if (!isfinite(mean[j]) || fabs(mean[j]) > KMEANS_MAX_COORDINATE)
			return "A mean is not a finite number of magnitude up to 1e100.";
		if (!isfinite(scale[j]) || !(scale[j] > 0))
			return "A scale is not a positive finite number.";
	}
	for (int64 i = 0; i < (int64) k * dims; i++)
		if (!isfinite(centroids[i]))
			return "A centroid coordinate is not a finite number.";
	for (int c = 1; c < k; c++)
	{
		int			d = dims;

		if (compare_rows(centroids + (c - 1) * dims, centroids + c * dims, &d) >= 0)
			return "The centroids are not in strictly ascending order.";
	}
	return NULL;
}

static KmeansModel *
kmeans_model_make(int k, int dims, const double *mean, const double *scale, const double *centroids)
{
	KmeansModel *model = palloc0(KMEANS_MODEL_SIZE(k, dims));

	SET_VARSIZE(model, KMEANS_MODEL_SIZE(k, dims));
	model->version = KMEANS_MODEL_VERSION;
	model->k = k;
	model->dims = dims;
	memcpy(KMEANS_MODEL_MEAN(model), mean, sizeof(double) * dims);
	memcpy(KMEANS_MODEL_SCALE(model), scale, sizeof(double) * dims);
	memcpy(KMEANS_MODEL_CENTROIDS(model), centroids, sizeof(double) * k * dims);
	/* -0 is 0: one model, one binary form */
	for (int64 i = 0; i < (int64) dims * 2 + (int64) k * dims; i++)
		if (model->values[i] == 0)
			model->values[i] = 0.0;
	return model;
}

/* A stored model is checked before use: a corrupt one is an internal error, never a crash. */
static void
kmeans_model_check(const KmeansModel *model)
{
	if (model->version != KMEANS_MODEL_VERSION || model->reserved != 0 ||
		!kmeans_model_shape_ok(model->k, model->dims) ||
		VARSIZE(model) != KMEANS_MODEL_SIZE(model->k, model->dims))
		elog(ERROR, "corrupt crm.kmeans_model (version %u, k %d, d %d, %u bytes)",
			 model->version, model->k, model->dims, (unsigned) VARSIZE(model));
}

PG_FUNCTION_INFO_V1(crm_kmeans_model_final);
/* Aggregate final of crm.kmeans(features, k, seed, standardize): the model, NULL for no points. */
Datum
crm_kmeans_model_final(PG_FUNCTION_ARGS)
{
	KmeansState *state;
	double	   *mean,
			   *scale,
			   *best;

	crm_aggregate_context(fcinfo, "crm_kmeans_model_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (KmeansState *) PG_GETARG_POINTER(0);
	if (state->count == 0)
		PG_RETURN_NULL();
	best = kmeans_fit(state, &mean, &scale);
	PG_RETURN_POINTER(kmeans_model_make(state->k, state->dims, mean, scale, best));
}

static void
model_text_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.kmeans_model: \"%s\"", input),
			 errdetail("%s", detail)));
}

static void
model_skip_spaces(const char **cursor)
{
	while (**cursor == ' ' || **cursor == '\t' || **cursor == '\n' || **cursor == '\r')
		(*cursor)++;
}

static void
model_expect(const char *input, const char **cursor, const char *token)
{
	size_t		length = strlen(token);

	model_skip_spaces(cursor);
	if (strncmp(*cursor, token, length) != 0)
		model_text_error(input, psprintf("Expected \"%s\" at character %d.", token, (int) (*cursor - input) + 1));
	*cursor += length;
}

/* {v1,...,vn}: appends the numbers to *values (growing it), returns n. */
static int
model_parse_vector(const char *input, const char **cursor, double **values, int64 *count, int64 *capacity)
{
	int			n = 0;

	model_expect(input, cursor, "{");
	do
	{
		double		value;
		const char *end;

		if (*count == *capacity)
		{
			if (*capacity >= (int64) (MaxAllocSize / sizeof(double) / 2))
				model_text_error(input, "The model is too large.");
			*capacity *= 2;
			*values = repalloc(*values, sizeof(double) * *capacity);
		}
		if (!crm_parse_float8(*cursor, &end, &value, "crm.kmeans_model", input))
			model_text_error(input, psprintf("Expected a number at character %d.", (int) (*cursor - input) + 1));
		*cursor = end;
		(*values)[(*count)++] = value;
		n++;
		model_skip_spaces(cursor);
	} while (**cursor == ',' && (*cursor)++);
	model_expect(input, cursor, "}");
	return n;
}

PG_FUNCTION_INFO_V1(crm_kmeans_model_in);
/* Text input: v1 mean {m...} scale {s...} centroids {{c...},...}, every value validated. */
Datum
crm_kmeans_model_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *cursor = input;
	int64		count = 0,
				capacity = 64;
	double	   *values = palloc(sizeof(double) * capacity);
	int			dims,
				k = 0;
	const char *problem;

	model_expect(input, &cursor, "v1");
	if (*cursor != ' ' && *cursor != '\t' && *cursor != '\n' && *cursor != '\r')
		model_text_error(input, "Unknown version: this build reads version 1, written \"v1\".");
	model_expect(input, &cursor, "mean");
	dims = model_parse_vector(input, &cursor, &values, &count, &capacity);
	model_expect(input, &cursor, "scale");
	if (model_parse_vector(input, &cursor, &values, &count, &capacity) != dims)
		model_text_error(input, "The scale has another number of dimensions than the mean.");
	model_expect(input, &cursor, "centroids");
	model_expect(input, &cursor, "{");
	do
	{
		if (model_parse_vector(input, &cursor, &values, &count, &capacity) != dims)
			model_text_error(input, psprintf("Centroid %d has another number of dimensions than the mean.", k + 1));
		k++;
		model_skip_spaces(&cursor);
	} while (*cursor == ',' && cursor++);
	model_expect(input, &cursor, "}");
	model_skip_spaces(&cursor);
	if (*cursor != '\0')
		model_text_error(input, psprintf("Unexpected text at character %d.", (int) (cursor - input) + 1));
	if (!kmeans_model_shape_ok(k, dims))
		model_text_error(input, "The model is too large.");
	problem = kmeans_model_problem(k, dims, values);
	if (problem != NULL)
		model_text_error(input, problem);
	PG_RETURN_POINTER(kmeans_model_make(k, dims, values, values + dims, values + 2 * dims));
}

static void
append_vector(StringInfo text, const double *values, int count)
{
	appendStringInfoChar(text, '{');
	for (int j = 0; j < count; j++)
		appendStringInfo(text, "%s%.17g", j > 0 ? "," : "", values[j]);
	appendStringInfoChar(text, '}');
}

PG_FUNCTION_INFO_V1(crm_kmeans_model_out);
/* Text output, the form crm_kmeans_model_in reads; 17 significant digits, so it round-trips. */
Datum
crm_kmeans_model_out(PG_FUNCTION_ARGS)
{
	KmeansModel *model = PG_GETARG_KMEANS_MODEL_P(0);
	StringInfoData text;

	kmeans_model_check(model);
	initStringInfo(&text);
	appendStringInfoString(&text, "v1 mean ");
	append_vector(&text, KMEANS_MODEL_MEAN(model), model->dims);
	appendStringInfoString(&text, " scale ");
	append_vector(&text, KMEANS_MODEL_SCALE(model), model->dims);
	appendStringInfoString(&text, " centroids {");
	for (int c = 0; c < model->k; c++)
	{
		if (c > 0)
			appendStringInfoChar(&text, ',');
		append_vector(&text, KMEANS_MODEL_CENTROIDS(model) + (int64) c * model->dims, model->dims);
	}
	appendStringInfoChar(&text, '}');
	PG_RETURN_CSTRING(text.data);
}

static void
model_binary_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary crm.kmeans_model"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_kmeans_model_recv);
/* Binary input: version word (1), k, d, then d means, d scales, k x d centroids as float8. */
Datum
crm_kmeans_model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	uint32		version;
	int32		k,
				dims;
	int64		count;
	double	   *values;
	const char *problem;

	if (buffer->len - buffer->cursor < 12)
		model_binary_error("It is shorter than its header.");
	version = pq_getmsgint(buffer, sizeof(uint32));
	if (version != KMEANS_MODEL_VERSION)
		model_binary_error(psprintf("Unknown version word %u; this build reads version %d.", version, KMEANS_MODEL_VERSION));
	k = (int32) pq_getmsgint(buffer, sizeof(int32));
	dims = (int32) pq_getmsgint(buffer, sizeof(int32));
	if (!kmeans_model_shape_ok(k, dims))
		model_binary_error(psprintf("k = %d and d = %d are not a valid shape.", k, dims));
	count = (int64) dims * 2 + (int64) k * dims;
	if (count * (int64) sizeof(double) != (int64) (buffer->len - buffer->cursor))
		model_binary_error(psprintf("k = %d and d = %d need %lld bytes of values, not %d.", k, dims,
									(long long) (count * sizeof(double)), buffer->len - buffer->cursor));
	values = palloc(sizeof(double) * count);
	for (int64 i = 0; i < count; i++)
		values[i] = pq_getmsgfloat8(buffer);
	problem = kmeans_model_problem(k, dims, values);
	if (problem != NULL)
		model_binary_error(problem);
	PG_RETURN_POINTER(kmeans_model_make(k, dims, values, values + dims, values + 2 * dims));
}

PG_FUNCTION_INFO_V1(crm_kmeans_model_send);
/* Binary output, the form crm_kmeans_model_recv reads. */
Datum
crm_kmeans_model_send(PG_FUNCTION_ARGS)
{
	KmeansModel *model = PG_GETARG_KMEANS_MODEL_P(0);
	StringInfoData buffer;
	int64		count;

	kmeans_model_check(model);
	count = (int64) model->dims * 2 + (int64) model->k * model->dims;
	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, KMEANS_MODEL_VERSION);
	pq_sendint32(&buffer, model->k);
	pq_sendint32(&buffer, model->dims);
	for (int64 i = 0; i < count; i++)
		pq_sendfloat8(&buffer, model->values[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_kmeans_model_assign);
/* The 1-based cluster of the features under a model: standardized as in the fit, then nearest. */
Datum
crm_kmeans_model_assign(PG_FUNCTION_ARGS)
{
	KmeansModel *model = PG_GETARG_KMEANS_MODEL_P(1);
	const double *mean,
			   *scale;
	double	   *features;
	double		distance;
	int			dims;

	kmeans_model_check(model);
	features = crm_float8_array(PG_GETARG_ARRAYTYPE_P(0), "features", true, &dims);
	if (dims != model->dims)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features and model must have the same number of dimensions"),
				 errdetail("The features have %d dimensions, the model %d.", dims, model->dims)));
	mean = KMEANS_MODEL_MEAN(model);
	scale = KMEANS_MODEL_SCALE(model);
	for (int j = 0; j < dims; j++)
		features[j] = (features[j] - mean[j]) / scale[j];
	PG_RETURN_INT32(nearest_centroid(features, KMEANS_MODEL_CENTROIDS(model), model->k, dims, &distance) + 1);
}

PG_FUNCTION_INFO_V1(crm_kmeans_model_centroids);
/* The model's centroids in the features' original units (k x d array): centroid x scale + mean. */
Datum
crm_kmeans_model_centroids(PG_FUNCTION_ARGS)
{
	KmeansModel *model = PG_GETARG_KMEANS_MODEL_P(0);
	int64		count;
	double	   *raw;

	kmeans_model_check(model);
	count = (int64) model->k * model->dims;
	raw = palloc(sizeof(double) * count);
	for (int64 i = 0; i < count; i++)
	{
		int			j = (int) (i % model->dims);

		raw[i] = KMEANS_MODEL_CENTROIDS(model)[i] * KMEANS_MODEL_SCALE(model)[j] + KMEANS_MODEL_MEAN(model)[j];
	}
	PG_RETURN_ARRAYTYPE_P(centroid_array(raw, model->k, model->dims));
}
