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
#include <sys/mman.h>
#include <unistd.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "optimizer/cost.h"
#include "port/atomics.h"
#include "storage/shm_toc.h"
#include "utils/syscache.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "nodes/execnodes.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "port/pg_bitutils.h"
#include "portability/instr_time.h"

/* Lloyd iterations per start; stopping earlier once no point changes cluster. */
#define KMEANS_MAX_ITERATIONS 300
/* Starts for small inputs; fewer for large ones (see kmeans_starts). */
#define KMEANS_MAX_STARTS 10
/*
 * Distance evaluations (points x clusters) the starts share before we cut their number. A build
 * may set another (test/bench/kmeans.sh times 10 starts on 1M points with -D).
 */
#ifndef KMEANS_START_BUDGET
#define KMEANS_START_BUDGET 20000000.0
#endif
#define KMEANS_DEFAULT_SEED 42
#define KMEANS_STATE_VERSION 1
/*
 * The largest coordinate magnitude clustered: squared distances summed over every dimension and
 * point, and the sums behind the means, then stay far inside double precision's range.
 */
#define KMEANS_MAX_COORDINATE 1e100

typedef struct KmeansState
{
	ExpandedObjectHeader header;	/* a crm.kmeans_state's expanded form (unused for internal) */
	int			dims;			/* 0 until the first non-NULL features */
	int			k;
	int64		seed;
	bool		standardize;
	int64		count;			/* points held */
	int64		capacity;		/* points the array has room for */
	double	   *points;			/* count x dims, row-major */
	/* a large crm.kmeans_state's points: a reserved region (kmeans_region_grow) */
	char	   *region;			/* its start, or NULL */
	Size		reserved;		/* bytes of address space reserved */
	Size		usable;			/* bytes of it readable and writable */
	MemoryContextCallback release;	/* unmaps it with the state's context */
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

/*
 * crm.kmeans_state as stored or shipped: a varlena, version word first, then the parameters and
 * count x dims doubles (row-major). 40 bytes of header.
 */
typedef struct FlatKmeansState
{
	int32		vl_len_;
	uint32		version;
	int32		k;
	int32		dims;
	int32		standardize;
	int32		reserved;
	int64		seed;
	int64		count;
	double		points[FLEXIBLE_ARRAY_MEMBER];
} FlatKmeansState;

#define FLAT_KMEANS_HEADER offsetof(FlatKmeansState, points)

/*
 * A large scratch array of the fit (n numbers or more). Each fit touches some ten arrays of n
 * numbers that the allocator maps afresh, and filling them page by page cost about a tenth of
 * a fit of a million points here (a page fault per 4 kB, slow in a virtual machine); where the
 * kernel offers transparent huge pages on request, the array's whole 2 MB pages are asked for
 * them (a hint: nothing changes where it is not taken).
 */
#define KMEANS_HUGE_PAGE ((uintptr_t) 2 * 1024 * 1024)

static void *
kmeans_alloc_big(Size size)
{
	char	   *p = MemoryContextAllocHuge(CurrentMemoryContext, size);

#ifdef MADV_HUGEPAGE
	if (size >= KMEANS_HUGE_PAGE)
	{
		uintptr_t	start = ((uintptr_t) p + KMEANS_HUGE_PAGE - 1) & ~(KMEANS_HUGE_PAGE - 1);
		uintptr_t	end = ((uintptr_t) p + size) & ~(KMEANS_HUGE_PAGE - 1);

		if (end > start)
			(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
	}
#endif
	return p;
}

/* The largest number of points of dims dimensions one state can hold (one palloc, 1 GB). */
/*
 * Maps the pages of a fresh region of shared memory in one call where the kernel can
 * (MADV_POPULATE_WRITE, Linux 5.14), instead of a page fault per 4 kB page on first touch: a
 * million points' copy took 80 ms here page by page. A hint: nothing changes where it fails.
 */
static void
kmeans_prefault(void *p, Size size)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t	page = (uintptr_t) sysconf(_SC_PAGESIZE);
	uintptr_t	start = ((uintptr_t) p + page - 1) & ~(page - 1);
	uintptr_t	end = ((uintptr_t) p + size) & ~(page - 1);

	if (page > 0 && end > start)
		(void) madvise((void *) start, end - start, MADV_POPULATE_WRITE);
#endif
}

static int64
kmeans_max_points(int dims)
{
	return (int64) ((MaxAllocSize - Max(FLAT_KMEANS_HEADER, sizeof(KmeansStateHeader) + VARHDRSZ)) / (sizeof(double) * dims));
}

/*
 * A crm.kmeans_state's points, once they pass KMEANS_HUGE_PAGE bytes, grow in a region of
 * address space reserved for the largest state (1 GB; PROT_NONE: no memory behind it, no commit
 * charge even under strict overcommit) and made usable 2 MB at a time (mprotect), asked for
 * transparent huge pages: no copy as the state doubles, and a page fault per 2 MB instead of per
 * 4 kB (in this virtual machine a fresh backend collecting 1M points of 3 features spent about
 * 80 ms more page by page). Unmapped when the state's memory context goes (a reset callback), on
 * error too. Smaller states (many groups of a GROUP BY) stay in palloc'd memory, and so does a
 * state whose region cannot be had (the address space or the map count exhausted).
 */
static void
kmeans_region_release(void *arg)
{
	KmeansState *state = (KmeansState *) arg;

	if (state->region != NULL)
		(void) munmap(state->region, state->reserved);
	state->region = NULL;
	state->points = NULL;
}

/* Room for bytes of points in the state's region, set up (and the points moved in) on first use; false if none. */
static bool
kmeans_region_grow(KmeansState *state, Size bytes)
{
	Size		step = KMEANS_HUGE_PAGE;

	if (state->region == NULL)
	{
		Size		reserve = (MaxAllocSize + step - 1) & ~(step - 1);
		char	   *base = mmap(NULL, reserve + step, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		char	   *aligned;

		if (base == MAP_FAILED)
			return false;
		/* 2 MB aligned (huge pages need it), the ends given back */
		aligned = (char *) (((uintptr_t) base + step - 1) & ~(step - 1));
		if (aligned > base)
			(void) munmap(base, aligned - base);
		(void) munmap(aligned + reserve, (base + reserve + step) - (aligned + reserve));
#ifdef MADV_HUGEPAGE
		(void) madvise(aligned, reserve, MADV_HUGEPAGE);
#endif
		if (mprotect(aligned, (bytes + step - 1) & ~(step - 1), PROT_READ | PROT_WRITE) != 0)
		{
			(void) munmap(aligned, reserve);
			return false;
		}
		if (state->count > 0)
			memcpy(aligned, state->points, sizeof(double) * state->count * state->dims);
		if (state->points != NULL)
			pfree(state->points);
		state->region = aligned;
		state->reserved = reserve;
		state->usable = (bytes + step - 1) & ~(step - 1);
		state->points = (double *) aligned;
		state->release.func = kmeans_region_release;
		state->release.arg = state;
		MemoryContextRegisterResetCallback(state->header.eoh_context, &state->release);
		return true;
	}
	if (bytes > state->usable)
	{
		Size		usable = (bytes + step - 1) & ~(step - 1);

		if (usable > state->reserved ||
			mprotect(state->region + state->usable, usable - state->usable, PROT_READ | PROT_WRITE) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("crm.kmeans could not hold %zu bytes of points.", bytes)));
		state->usable = usable;
	}
	return true;
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
	if (state->header.eoh_context != NULL)
	{
		/* a crm.kmeans_state: its points live in its own memory (a region once large) */
		Size		bytes = capacity * state->dims * sizeof(double);

		if ((state->region == NULL && bytes < KMEANS_HUGE_PAGE) || !kmeans_region_grow(state, bytes))
		{
			if (state->points == NULL)
				state->points = MemoryContextAlloc(state->header.eoh_context, bytes);
			else
				state->points = repalloc(state->points, bytes);
		}
	}
	else if (state->points == NULL)
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

/*
 * Distances to many centroids at once. The centroids are held transposed ("lanes"): coordinate j
 * of centroid c at ct[j * lanes + c], lanes being k rounded up to a multiple of 4 (the padding
 * columns hold zeros, and their distances are never read). For one point the squared distances
 * to every centroid then come from one pass over its coordinates, the inner loop running over a
 * fixed block of 8 (or 4) centroids: independent sums the compiler keeps in vector registers at
 * -O2, where squared_distance's single running sum waits on each addition in turn. Each sum
 * still adds the squared differences in the order j = 0, 1, ..., d - 1 starting from 0, exactly
 * as squared_distance does, so every distance is bit for bit the one squared_distance returns.
 */
static inline int
kmeans_lanes(int k)
{
	return (k + 3) & ~3;
}

/* The transposed copy of k centroids (row-major, dims each) into ct (dims x lanes). */
static void
kmeans_transpose(const double *centroids, int k, int dims, double *ct)
{
	int			lanes = kmeans_lanes(k);

	for (int j = 0; j < dims; j++)
		for (int c = 0; c < lanes; c++)
			ct[j * lanes + c] = c < k ? centroids[c * dims + j] : 0;
}

/* One centroid's column of the transposed copy, after that centroid moved. */
static inline void
kmeans_transpose_one(const double *centroid, int c, int k, int dims, double *ct)
{
	int			lanes = kmeans_lanes(k);

	for (int j = 0; j < dims; j++)
		ct[j * lanes + c] = centroid[j];
}

/* out[c] = squared_distance(point, centroid c) for every c < lanes (see above). */
static inline void
distances_to_all(const double *point, const double *ct, int lanes, int dims, double *out)
{
	int			c0 = 0;

	for (; c0 + 8 <= lanes; c0 += 8)
	{
		double		sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
		const double *column = ct + c0;

		for (int j = 0; j < dims; j++, column += lanes)
		{
			double		x = point[j];

			for (int l = 0; l < 8; l++)
			{
				double		diff = x - column[l];

				sum[l] += diff * diff;
			}
		}
		for (int l = 0; l < 8; l++)
			out[c0 + l] = sum[l];
	}
	if (c0 < lanes)
	{
		double		sum[4] = {0, 0, 0, 0};
		const double *column = ct + c0;

		for (int j = 0; j < dims; j++, column += lanes)
		{
			double		x = point[j];

			for (int l = 0; l < 4; l++)
			{
				double		diff = x - column[l];

				sum[l] += diff * diff;
			}
		}
		for (int l = 0; l < 4; l++)
			out[c0 + l] = sum[l];
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
 * A squared distance g between two centres, and a point whose squared distance to the first is
 * near: when g >= 4 near, the triangle inequality puts the point at least sqrt(near) from the
 * second centre, so the second cannot be nearer. The factor 1 + 1e-6 covers the rounding of
 * both computed distances (relative errors of about (d + 2) x 1.1e-16 each, sums of squares
 * being sums of non-negative terms), so that a point passed over would also have been computed
 * no nearer the second centre.
 */
/* From this many coordinates on, the seeding measures its candidates together and skips far points. */
#define KMEANS_BLOCK_DIMS 8

#define KMEANS_FAR(g, near) ((g) >= 4.0 * (1.0 + 1e-6) * (near))

/*
 * Greedy k-means++ seeding (Arthur and Vassilvitskii 2007, and the greedy variant their paper
 * mentions): the first centroid uniformly at random; for each next one, trials candidate points
 * drawn with probability proportional to their squared distance to the nearest centroid chosen
 * so far, keeping the candidate that leaves the smallest total of those distances (the first on
 * ties). The draws of one step all read the same distances, so they are made first, and one
 * pass over the points then measures every candidate at once (distances_to_all), each total
 * summed in point order as one candidate at a time would; a second pass moves the winner's
 * distances into nearest. owner[i] is the chosen centroid nearest point i: a point far from
 * every candidate by KMEANS_FAR (measured from its owner) adds its own distance to every total
 * without being read, and likewise in the winner's pass; the totals and distances are exactly
 * those of measuring every point. Below KMEANS_BLOCK_DIMS coordinates, where a distance costs
 * less than the branch that would skip it, every point is measured (the two passes still read
 * the points twice per step instead of once per candidate). nearest and owner are scratch space
 * for n numbers each (trial_distances and best_distances are not used).
 */
static void
kmeans_plus_plus(const double *points, int64 n, int dims, int k, int trials, uint64 *rng,
				 double *centroids, double *nearest, double *trial_distances, double *best_distances,
				 int *owner)
{
	int64		first = (int64) (random_unit(rng) * n);
	double		total = 0;
	int			lanes = kmeans_lanes(trials);
	int64	   *chosen = palloc(sizeof(int64) * trials);
	double	   *candidates = palloc(sizeof(double) * trials * dims);
	double	   *ct = palloc(sizeof(double) * lanes * dims);
	double	   *totals = palloc(sizeof(double) * lanes);
	double	   *d = palloc(sizeof(double) * lanes);
	/* gap[m * trials + t]: squared distance from chosen centroid m to candidate t */
	double	   *gap = palloc(sizeof(double) * k * trials);
	/* the smallest of a chosen centroid's gaps to the candidates */
	double	   *closest = palloc(sizeof(double) * k);
	/* below KMEANS_BLOCK_DIMS coordinates a distance costs less than the test that skips it */
	bool		prune = dims >= KMEANS_BLOCK_DIMS;

	memcpy(centroids, points + first * dims, dims * sizeof(double));
	for (int64 i = 0; i < n; i++)
	{
		if ((i & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		nearest[i] = squared_distance(points + i * dims, centroids, dims);
		owner[i] = 0;
		total += nearest[i];
	}
	for (int c = 1; c < k; c++)
	{
		double	   *centroid = centroids + c * dims;
		const double *winner;
		double		best_total = -1;
		int			best = 0;

		CHECK_FOR_INTERRUPTS();
		for (int trial = 0; trial < trials; trial++)
		{
			chosen[trial] = n - 1;
			if (total > 0)
			{
				double		target = random_unit(rng) * total;

				for (int64 i = 0; i < n; i++)
				{
					if ((i & 0xFFFF) == 0)
						CHECK_FOR_INTERRUPTS();
					target -= nearest[i];
					if (target < 0)
					{
						chosen[trial] = i;
						break;
					}
				}
				/* rounding can leave target >= 0 at the end: take the last point with weight */
				while (chosen[trial] > 0 && nearest[chosen[trial]] == 0)
					chosen[trial]--;
			}
			else
				/* every point sits on a centroid already: fewer distinct points than k */
				chosen[trial] = (int64) (random_unit(rng) * n);
			memcpy(candidates + trial * dims, points + chosen[trial] * dims, dims * sizeof(double));
			totals[trial] = 0;
		}
		kmeans_transpose(candidates, trials, dims, ct);
		for (int m = 0; m < c && prune; m++)
		{
			closest[m] = DBL_MAX;
			for (int trial = 0; trial < trials; trial++)
			{
				gap[m * trials + trial] = squared_distance(centroids + m * dims, candidates + trial * dims, dims);
				closest[m] = Min(closest[m], gap[m * trials + trial]);
			}
		}
		if (!prune && lanes == 4)
		{
			/*
			 * The common case (up to 4 candidates, k <= 20, few coordinates): the four totals
			 * in registers, each still summed in point order from 0.
			 */
			double		t0 = 0,
						t1 = 0,
						t2 = 0,
						t3 = 0;

			for (int64 block = 0; block < n; block += 4096)
			{
				int64		end = Min(n, block + 4096);

				CHECK_FOR_INTERRUPTS();
				for (int64 i = block; i < end; i++)
				{
					double		near = nearest[i];
					double		e[4];

					distances_to_all(points + i * dims, ct, 4, dims, e);
					t0 += e[0] < near ? e[0] : near;
					t1 += e[1] < near ? e[1] : near;
					t2 += e[2] < near ? e[2] : near;
					t3 += e[3] < near ? e[3] : near;
				}
			}
			totals[0] = t0;
			totals[1] = t1;
			totals[2] = t2;
			totals[3] = t3;
		}
		else
		{
			for (int64 i = 0; i < n; i++)
			{
				double		near = nearest[i];

				if ((i & 0x3FF) == 0)
					CHECK_FOR_INTERRUPTS();
				if (prune && KMEANS_FAR(closest[owner[i]], near))
				{
					/* no candidate is nearer than the owner */
					for (int trial = 0; trial < trials; trial++)
						totals[trial] += near;
					continue;
				}
				distances_to_all(points + i * dims, ct, lanes, dims, d);
				for (int trial = 0; trial < trials; trial++)
					totals[trial] += d[trial] < near ? d[trial] : near;
			}
		}
		for (int trial = 0; trial < trials; trial++)
			if (best_total < 0 || totals[trial] < best_total)
			{
				best_total = totals[trial];
				best = trial;
			}
		winner = candidates + best * dims;
		memcpy(centroid, winner, dims * sizeof(double));
		/* the winner's distances become those to the nearest chosen centroid */
		for (int64 i = 0; i < n; i++)
		{
			double		e;

			if ((i & 0x3FF) == 0)
				CHECK_FOR_INTERRUPTS();
			if (prune && KMEANS_FAR(gap[owner[i] * trials + best], nearest[i]))
				continue;
			e = squared_distance(points + i * dims, winner, dims);
			if (e < nearest[i])
			{
				nearest[i] = e;
				owner[i] = c;
			}
		}
		total = best_total;
	}
	pfree(chosen);
	pfree(candidates);
	pfree(ct);
	pfree(totals);
	pfree(d);
	pfree(gap);
	pfree(closest);
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
/*
 * The smallest factor nb / (nb + 1) of a cluster's size, less a margin for rounding: adding a
 * point at squared distance at least L to every other centroid costs at least this times L, so
 * a point whose lower bound gives no gain against that cannot move (the factor is 1/2 or more
 * and near 1 for large clusters, where the bound with 1/2 would let most points through).
 */
static double
kmeans_least_add(const int64 *sizes, int k)
{
	double		least = 1;

	for (int c = 0; c < k; c++)
		least = Min(least, (double) sizes[c] / (sizes[c] + 1));
	return least * (1 - 1e-9);
}

static inline void
kmeans_size_factors(int64 size, double *remove, double *add)
{
	*remove = size > 1 ? (double) size / (size - 1) : 0;
	*add = (double) size / (size + 1);
}

static int64
kmeans_hartigan(const double *points, int64 n, int dims, int k, double *centroids, int *assignment,
				double *lower, double *stamp, double *own_ref)
{
	int64	   *sizes = palloc0(sizeof(int64) * k);
	/* how far each centroid has moved so far, step by step (measured from its coordinates) */
	double	   *travel = palloc0(sizeof(double) * k);
	double	   *before = palloc(sizeof(double) * dims);
	double	   *sums = palloc0(sizeof(double) * k * dims);
	int			lanes = kmeans_lanes(k);
	double	   *to = palloc(sizeof(double) * lanes);
	double	   *ct = palloc(sizeof(double) * lanes * dims);
	double		drift = 0;		/* an upper bound on any centroid's movement so far */
	/* per cluster: n / (n - 1) and n / (n + 1), n its size (as each test would divide them) */
	double	   *remove_factor = palloc(sizeof(double) * k);
	double	   *add_factor = palloc(sizeof(double) * k);
	int64		moves = 0;
	int			passes = 0;
	double		least_add;

	if (k < 2)
		return 0;
	kmeans_transpose(centroids, k, dims, ct);
	for (int64 i = 0; i < n; i++)
	{
		sizes[assignment[i]]++;
		stamp[i] = 0;
		own_ref[i] = sqrt(own_ref[i]);
	}
	least_add = kmeans_least_add(sizes, k);
	for (int c = 0; c < k; c++)
		kmeans_size_factors(sizes[c], &remove_factor[c], &add_factor[c]);
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
			bound = lower[i] - (drift - stamp[i]);
			if (bound > 0)
			{
				/*
				 * An upper bound on the distance to the own centroid: the distance last
				 * measured plus how far the centroid travelled since, with a margin for the
				 * rounding of both. When even it cannot gain, the exact test below would not
				 * either: the point is passed over without being read.
				 */
				double		up = (own_ref[i] + travel[a] + 1e-12 * travel[a]) * (1 + 1e-9);

				if (least_add * bound * bound >= remove_factor[a] * (up * up))
					continue;
			}
			own = squared_distance(x, centroids + a * dims, dims);
			own_ref[i] = sqrt(own) - travel[a];
			remove = remove_factor[a] * own;
			if (bound > 0 && least_add * bound * bound >= remove)
				continue;
			distances_to_all(x, ct, lanes, dims, to);
			for (int b = 0; b < k; b++)
			{
				double		add;

				if (b == a)
					continue;
				nearest_other = Min(nearest_other, to[b]);
				add = add_factor[b] * to[b];
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
				/* the point's distance to its new centroid, before that moves */
				own_ref[i] = sqrt(to[best]) - travel[best];
				memcpy(before, ca, sizeof(double) * dims);
				for (int j = 0; j < dims; j++)
					ca[j] -= (x[j] - ca[j]) / (sizes[a] - 1);
				travel[a] += sqrt(squared_distance(before, ca, dims)) * (1 + 1e-9);
				memcpy(before, cb, sizeof(double) * dims);
				for (int j = 0; j < dims; j++)
					cb[j] += (x[j] - cb[j]) / (sizes[best] + 1);
				travel[best] += sqrt(squared_distance(before, cb, dims)) * (1 + 1e-9);
				kmeans_transpose_one(ca, a, k, dims, ct);
				kmeans_transpose_one(cb, best, k, dims, ct);
				sizes[a]--;
				sizes[best]++;
				kmeans_size_factors(sizes[a], &remove_factor[a], &add_factor[a]);
				kmeans_size_factors(sizes[best], &remove_factor[best], &add_factor[best]);
				assignment[i] = best;
				least_add = kmeans_least_add(sizes, k);
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
		passes++;
		if (moved == 0)
			break;
	}
	elog(DEBUG2, "crm.kmeans: Hartigan's refinement: %d passes, %lld moves", passes, (long long) moves);
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
	pfree(remove_factor);
	pfree(add_factor);
	pfree(travel);
	pfree(before);
	pfree(sums);
	pfree(to);
	pfree(ct);
	return moves;
}

/*
 * The nearest and second-nearest centroid of a point: the nearest's index (the lowest on ties)
 * and both squared distances (the second DBL_MAX for k = 1). ct: the centroids transposed
 * (kmeans_transpose); buf: scratch space for lanes distances. The same distances and the same
 * comparisons, in the same order, as nearest_centroid.
 */
static inline int
two_nearest(const double *point, const double *ct, int k, int lanes, int dims, double *buf,
			double *first, double *second)
{
	int			best = 0;
	double		best_distance;
	double		runner_up = DBL_MAX;

	distances_to_all(point, ct, lanes, dims, buf);
	best_distance = buf[0];
	for (int c = 1; c < k; c++)
	{
		double		d = buf[c];

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
 * A least significant digit radix sort of n keys and the numbers carried with them (three passes
 * of 11 bits, counted in one pass; passes where every key has the same digit skipped); stable, so
 * equal keys keep their numbers' order. *keys and *index are replaced by the sorted arrays (the
 * given ones, or fresh ones, the others freed).
 */
static void
kmeans_radix_sort(uint32 **keys_inout, uint32 **index_inout, int64 n)
{
	uint32	   *keys = *keys_inout,
			   *index = *index_inout;
	uint32	   *keys_out = kmeans_alloc_big(sizeof(uint32) * n);
	uint32	   *index_out = kmeans_alloc_big(sizeof(uint32) * n);
	int64	   *count = palloc0(sizeof(int64) * 3 * 2048);

	for (int64 i = 0; i < n; i++)
	{
		uint32		key = keys[i];

		count[key & 0x7FF]++;
		count[2048 + ((key >> 11) & 0x7FF)]++;
		count[4096 + (key >> 22)]++;
	}
	for (int digit = 0; digit < 3; digit++)
	{
		int			shift = 11 * digit;
		int64	   *at = count + 2048 * digit;
		int64		position = 0;

		CHECK_FOR_INTERRUPTS();
		if (at[(keys[0] >> shift) & 0x7FF] == n)
			continue;			/* one digit value: the pass would change nothing */
		for (int b = 0; b < 2048; b++)
		{
			int64		c = at[b];

			at[b] = position;
			position += c;
		}
		for (int64 i = 0; i < n; i++)
		{
			int64		to = at[(keys[i] >> shift) & 0x7FF]++;

			keys_out[to] = keys[i];
			index_out[to] = index[i];
		}
		{
			uint32	   *swap_keys = keys;
			uint32	   *swap_index = index;

			keys = keys_out;
			keys_out = swap_keys;
			index = index_out;
			index_out = swap_index;
		}
	}
	pfree(count);
	pfree(keys_out);
	pfree(index_out);
	*keys_inout = keys;
	*index_inout = index;
}

/*
 * A kd-tree over the points, built once per fit in low dimensions and shared by every start
 * (Kanungo et al. 2002, "An efficient k-means clustering algorithm: analysis and
 * implementation"). The points are copied in the tree's order (each node a contiguous range of
 * the copy), which is then the fit's order of the points: every start's per-point arrays follow
 * it, so its passes read and write them in sequence; every node keeps its
 * bounding box and the sum of its points' coordinates. Nodes split along a grid's cells
 * (kmeans_tree_build: halves of cells in a Morton order; points of one cell at medians); a node
 * of at most KMEANS_TREE_LEAF points is a leaf.
 */
/* Up to this many coordinates Lloyd's iterations filter centroids down the tree. */
#define KMEANS_TREE_DIMS 6
/* From this many points on (fewer: plain passes cost less than building the tree). */
#define KMEANS_TREE_MIN_POINTS 256
/* Up to this many centroids (the filtering tests every surviving centroid at every node). */
#define KMEANS_TREE_MAX_K 256
/*
 * Points of a leaf, at most. The grid's splits leave leaves of 1 to this many points (about a
 * third of it on average); on the benchmark's 1M points 64 to 96 was the fastest, 32 and 128
 * slower (the seeding visits more nodes with small leaves, Lloyd's iterations measure more
 * points with large ones). With splits at medians, 32 had been the fastest of 8 to 128.
 */
#define KMEANS_TREE_LEAF 64

static int	compare_rows(const void *a, const void *b, void *arg);

typedef struct KmeansTree
{
	int			dims;
	int64		n;
	int			nodes;			/* nodes used */
	int64		capacity;		/* nodes the arrays hold */
	double	   *points;			/* n x dims: the points in the tree's order (the fit's order) */
	int64		distinct;		/* distinct points, counted up to k */
	int64	   *begin;			/* per node: its points, rows begin[i] to end[i] - 1 */
	int64	   *end;
	int		   *left;			/* per node: its first child (the second follows it); -1 leaf */
	double	   *lo;				/* per node: the bounding box, dims numbers each */
	double	   *hi;
	double	   *sum;			/* per node: the sum of its points, dims numbers */
	/* Lloyd's iterations: what each node was at the iteration it was last visited */
	int		   *stamp;			/* that iteration's number */
	int		   *label;			/* the centroid all its points went to, or -1 (split) */
	int		   *cluster;		/* per point of a leaf last split: its centroid */
	/* the seeding: per node the largest squared distance of its points to the nearest centre */
	double	   *farthest;
	double	   *closest;		/* per node: the smallest of those */
	double	   *weight;			/* per node: their sum */
	int		   *owner;			/* per node: the centre nearest all its points, or -1 */
	/* per node, from the build: its points' mean m (sum / count, as computed), dims numbers */
	double	   *mean;
	double	   *resid;			/* per node: the sum of y - m over its points y (rounding), dims numbers */
	double	   *spread;			/* per node: the sum of |y - m|^2 over its points y */
	int			iteration;		/* the last iteration's number (grows over the starts) */
	int		   *scratch;		/* the candidates surviving at each depth */
	int			depth;			/* the tree's depth */
	int			k;				/* centroids (the scratch space's width) */
} KmeansTree;

/* Swaps two rows of the tree's copy. */
static inline void
kmeans_tree_swap(KmeansTree *tree, int64 a, int64 b)
{
	int			dims = tree->dims;
	double	   *x = tree->points + a * dims;
	double	   *y = tree->points + b * dims;

	for (int j = 0; j < dims; j++)
	{
		double		v = x[j];

		x[j] = y[j];
		y[j] = v;
	}
}

/*
 * Hoare's partition of rows from..to - 1 by coordinate j: those below pivot first (or, with
 * or_equal, those not above it); returns where the others begin.
 */
static int64
kmeans_tree_partition(KmeansTree *tree, int64 from, int64 to, int j, double pivot, bool or_equal)
{
	int			dims = tree->dims;
	const double *p = tree->points;
	int64		i = from,
				k = to - 1;

#define KMEANS_LEFT(x) ((x) < pivot || (or_equal && (x) == pivot))
	for (;;)
	{
		while (i <= k && KMEANS_LEFT(p[i * dims + j]))
			i++;
		while (i <= k && !KMEANS_LEFT(p[k * dims + j]))
			k--;
		if (i >= k)
			break;
		kmeans_tree_swap(tree, i, k);
		i++;
		k--;
	}
#undef KMEANS_LEFT
	return i;
}

/*
 * Moves the rows of the tree's copy between from and to - 1 so that rows before mid have
 * coordinate j no greater than row mid's, and rows after it no smaller (quickselect around the
 * median of three; when no row is below the pivot, the rows equal to it, never none, split off
 * next: every round shrinks the range). Rows already in order (the points of one cell arrive
 * sorted by their first coordinate) are not moved.
 */
static void
kmeans_tree_select(KmeansTree *tree, int64 from, int64 to, int64 mid, int j)
{
	int			dims = tree->dims;
	const double *p = tree->points;

	while (to - from > 1)
	{
		double		a = p[from * dims + j],
					b = p[((from + to) / 2) * dims + j],
					c = p[(to - 1) * dims + j];
		double		pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		int64		split;

		CHECK_FOR_INTERRUPTS();
		split = kmeans_tree_partition(tree, from, to, j, pivot, false);
		if (split == from)
		{
			/* the pivot is the least: the rows equal to it first */
			split = kmeans_tree_partition(tree, from, to, j, pivot, true);
			if (mid < split)
				return;
			from = split;
		}
		else if (mid < split)
			to = split;
		else
			from = split;
	}
}

/*
 * Splits rows from..to - 1 along coordinate j into two runs (returns where the second begins,
 * and a cut between them into *cut: the first run's coordinates no greater, the second's no
 * smaller). Any split gives the same results (the filtering is exact whatever the tree's shape);
 * balanced ones keep it shallow. Large ranges are partitioned once around the median of a sample
 * of SPLIT_SAMPLE evenly spaced rows, kept when each side has at least a quarter of the rows
 * (about 6% from the middle is typical); otherwise, and for ranges up to SPLIT_SAMPLED rows
 * (which fit in the cache), quickselect finds the exact median. Either way both sides hold at
 * least KMEANS_TREE_LEAF / 2 rows, the bound the tree's node count relies on.
 */
#define KMEANS_TREE_SPLIT_SAMPLE 63
#define KMEANS_TREE_SPLIT_SAMPLED 8192

static int64
kmeans_tree_split(KmeansTree *tree, int64 from, int64 to, int j, double *cut)
{
	int			dims = tree->dims;
	int64		mid = from + (to - from) / 2;

	if (to - from > KMEANS_TREE_SPLIT_SAMPLED)
	{
		double		sample[KMEANS_TREE_SPLIT_SAMPLE];
		int64		step = (to - from) / KMEANS_TREE_SPLIT_SAMPLE;
		int64		split;

		/* the sample in ascending order, by insertion */
		for (int t = 0; t < KMEANS_TREE_SPLIT_SAMPLE; t++)
		{
			double		x = tree->points[(from + t * step) * dims + j];
			int			at = t;

			for (; at > 0 && sample[at - 1] > x; at--)
				sample[at] = sample[at - 1];
			sample[at] = x;
		}
		split = kmeans_tree_partition(tree, from, to, j, sample[KMEANS_TREE_SPLIT_SAMPLE / 2], false);
		if (split - from >= (to - from) / 4 && to - split >= (to - from) / 4)
		{
			*cut = sample[KMEANS_TREE_SPLIT_SAMPLE / 2];
			return split;
		}
	}
	kmeans_tree_select(tree, from, to, mid, j);
	*cut = tree->points[mid * dims + j];
	return mid;
}

/* Room for two more nodes: the node arrays grow by half when full. */
static void
kmeans_tree_room(KmeansTree *tree)
{
	int			dims = tree->dims;
	int64		capacity;

	if (tree->nodes + 2 <= tree->capacity)
		return;
	capacity = tree->capacity + tree->capacity / 2 + 2;
	if (capacity > INT_MAX)
		elog(ERROR, "crm.kmeans: too many nodes in the k-d tree");	/* cannot happen: nodes < 2n < 2^29 */
	tree->begin = repalloc_huge(tree->begin, sizeof(int64) * capacity);
	tree->end = repalloc_huge(tree->end, sizeof(int64) * capacity);
	tree->left = repalloc_huge(tree->left, sizeof(int) * capacity);
	tree->stamp = repalloc_huge(tree->stamp, sizeof(int) * capacity);
	tree->label = repalloc_huge(tree->label, sizeof(int) * capacity);
	tree->lo = repalloc_huge(tree->lo, sizeof(double) * capacity * dims);
	tree->hi = repalloc_huge(tree->hi, sizeof(double) * capacity * dims);
	tree->sum = repalloc_huge(tree->sum, sizeof(double) * capacity * dims);
	tree->farthest = repalloc_huge(tree->farthest, sizeof(double) * capacity);
	tree->closest = repalloc_huge(tree->closest, sizeof(double) * capacity);
	tree->weight = repalloc_huge(tree->weight, sizeof(double) * capacity);
	tree->owner = repalloc_huge(tree->owner, sizeof(int) * capacity);
	tree->mean = repalloc_huge(tree->mean, sizeof(double) * capacity * dims);
	tree->resid = repalloc_huge(tree->resid, sizeof(double) * capacity * dims);
	tree->spread = repalloc_huge(tree->spread, sizeof(double) * capacity);
	tree->capacity = capacity;
}

/* Node `node` over rows from..to - 1, a leaf for now; returns its first child's number if split. */
static int
kmeans_tree_node(KmeansTree *tree, int node, int64 from, int64 to, int depth, bool split)
{
	tree->begin[node] = from;
	tree->end[node] = to;
	tree->left[node] = -1;
	tree->stamp[node] = INT_MIN;
	tree->label[node] = -1;
	tree->depth = Max(tree->depth, depth + 1);
	if (!split)
		return -1;
	kmeans_tree_room(tree);
	tree->left[node] = tree->nodes;
	tree->nodes += 2;
	return tree->left[node];
}

/*
 * The seeding's moments of a node (kmeans_tree_gain): m, the node's mean as computed (sum /
 * count), the sum of |y - m|^2 over its points (spread) and the sum of y - m (resid: zero but for
 * rounding, kept so that the identity below holds for the m computed). For any x,
 *   sum over the points of |y - x|^2 = spread + 2 (m - x).resid + count |m - x|^2.
 * A leaf sums them over its points; a split node from its children's (child c of mean m_c, d =
 * m_c - m: its points' part of the spread is spread_c + 2 d.resid_c + count_c |d|^2, of the
 * residual resid_c + count_c d), so the build makes one pass over the points for them. Every
 * difference is of two numbers within the node's box: the rounding is relative to the spread
 * and to the node's size, never to the coordinates' magnitude (points far from the origin).
 */
/* A node's mean as computed (sum / count), its residual sum zeroed for the caller to fill. */
static void
kmeans_tree_moments_mean(KmeansTree *tree, int node)
{
	int			dims = tree->dims;
	int64		count = tree->end[node] - tree->begin[node];
	const double *sum = tree->sum + (int64) node * dims;
	double	   *mean = tree->mean + (int64) node * dims;
	double	   *resid = tree->resid + (int64) node * dims;

	for (int j = 0; j < dims; j++)
	{
		mean[j] = sum[j] / (double) count;
		resid[j] = 0;
	}
}

static void
kmeans_tree_moments_leaf(KmeansTree *tree, int node)
{
	int			dims = tree->dims;
	const double *mean = tree->mean + (int64) node * dims;
	double	   *resid = tree->resid + (int64) node * dims;
	double		spread = 0;

	kmeans_tree_moments_mean(tree, node);
	for (int64 i = tree->begin[node]; i < tree->end[node]; i++)
		for (int j = 0; j < dims; j++)
		{
			double		diff = tree->points[i * dims + j] - mean[j];

			spread += diff * diff;
			resid[j] += diff;
		}
	tree->spread[node] = spread;
}

static void
kmeans_tree_moments_join(KmeansTree *tree, int node)
{
	int			dims = tree->dims;
	const double *mean = tree->mean + (int64) node * dims;
	double	   *resid = tree->resid + (int64) node * dims;
	double		spread = 0;

	kmeans_tree_moments_mean(tree, node);
	for (int c = tree->left[node]; c <= tree->left[node] + 1; c++)
	{
		double		cc = (double) (tree->end[c] - tree->begin[c]);
		const double *cm = tree->mean + (int64) c * dims;
		const double *cr = tree->resid + (int64) c * dims;
		double		part = tree->spread[c];

		for (int j = 0; j < dims; j++)
		{
			double		d = cm[j] - mean[j];

			part += 2 * d * cr[j] + cc * d * d;
			resid[j] += cr[j] + cc * d;
		}
		spread += part;
	}
	tree->spread[node] = spread;
}

/* A leaf's box and sum, from its points. */
static void
kmeans_tree_leaf(KmeansTree *tree, int node)
{
	int			dims = tree->dims;
	double	   *lo = tree->lo + (int64) node * dims;
	double	   *hi = tree->hi + (int64) node * dims;
	double	   *sum = tree->sum + (int64) node * dims;

	for (int j = 0; j < dims; j++)
	{
		lo[j] = hi[j] = tree->points[tree->begin[node] * dims + j];
		sum[j] = 0;
	}
	for (int64 i = tree->begin[node]; i < tree->end[node]; i++)
		for (int j = 0; j < dims; j++)
		{
			double		x = tree->points[i * dims + j];

			lo[j] = Min(lo[j], x);
			hi[j] = Max(hi[j], x);
			sum[j] += x;
		}
	kmeans_tree_moments_leaf(tree, node);
}

/* A split node's box and sum, from its children's. */
static void
kmeans_tree_join(KmeansTree *tree, int node)
{
	int			dims = tree->dims;
	int			child = tree->left[node];
	double	   *lo = tree->lo + (int64) node * dims;
	double	   *hi = tree->hi + (int64) node * dims;
	double	   *sum = tree->sum + (int64) node * dims;
	const double *l,
			   *r;

	l = tree->lo + (int64) child * dims;
	r = tree->lo + (int64) (child + 1) * dims;
	for (int j = 0; j < dims; j++)
		lo[j] = Min(l[j], r[j]);
	l = tree->hi + (int64) child * dims;
	r = tree->hi + (int64) (child + 1) * dims;
	for (int j = 0; j < dims; j++)
		hi[j] = Max(l[j], r[j]);
	l = tree->sum + (int64) child * dims;
	r = tree->sum + (int64) (child + 1) * dims;
	for (int j = 0; j < dims; j++)
		sum[j] = l[j] + r[j];
	kmeans_tree_moments_join(tree, node);
}

/*
 * Builds node `node` over rows from..to - 1 (its children, if any, at the next free slots),
 * splitting at the median of the widest side of its cell (cell_lo..cell_hi: its box cut by the
 * ancestors' splits, which needs no pass over the points); its own box, the tight one the
 * filtering tests, and its sum come from its leaves upwards. (For the points of one cell of
 * kmeans_tree_codes's grid.)
 */
static void
kmeans_tree_build_node(KmeansTree *tree, int node, int64 from, int64 to, int depth,
					   const double *cell_lo, const double *cell_hi)
{
	int			dims = tree->dims;
	int			child;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	child = kmeans_tree_node(tree, node, from, to, depth, to - from > KMEANS_TREE_LEAF);
	if (child >= 0)
	{
		int64		mid;
		int			widest = 0;
		double		cut;
		double		child_lo[KMEANS_TREE_DIMS],
					child_hi[KMEANS_TREE_DIMS];

		for (int j = 1; j < dims; j++)
			if (cell_hi[j] - cell_lo[j] > cell_hi[widest] - cell_lo[widest])
				widest = j;
		mid = kmeans_tree_split(tree, from, to, widest, &cut);
		memcpy(child_lo, cell_lo, sizeof(double) * dims);
		memcpy(child_hi, cell_hi, sizeof(double) * dims);
		child_hi[widest] = cut;
		kmeans_tree_build_node(tree, child, from, mid, depth + 1, child_lo, child_hi);
		child_hi[widest] = cell_hi[widest];
		child_lo[widest] = cut;
		kmeans_tree_build_node(tree, child + 1, mid, to, depth + 1, child_lo, child_hi);
		kmeans_tree_join(tree, node);
	}
	else
		kmeans_tree_leaf(tree, node);
}

/*
 * Builds node `node` over rows from..to - 1 of the points ordered by their codes (a grid of
 * 2^(32 / dims) cells along each coordinate over the root's box, the cells' numbers' bits
 * interleaved: a Morton order, in which every node is a run of rows). A node of more than
 * KMEANS_TREE_LEAF points splits where the first bit in which its first and last codes differ
 * turns to 1 (a binary search): each side a half of a cell along one coordinate, no side empty.
 * A node whose points share one code (one cell of the grid) splits at medians as above.
 */
static void
kmeans_tree_build_trie(KmeansTree *tree, const uint32 *code, int node, int64 from, int64 to, int depth)
{
	int			dims = tree->dims;
	uint32		differ = code[from] ^ code[to - 1];

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (to - from > KMEANS_TREE_LEAF && differ == 0)
	{
		double		cell_lo[KMEANS_TREE_DIMS],
					cell_hi[KMEANS_TREE_DIMS];

		for (int j = 0; j < dims; j++)
			cell_lo[j] = cell_hi[j] = tree->points[from * dims + j];
		for (int64 i = from; i < to; i++)
			for (int j = 0; j < dims; j++)
			{
				cell_lo[j] = Min(cell_lo[j], tree->points[i * dims + j]);
				cell_hi[j] = Max(cell_hi[j], tree->points[i * dims + j]);
			}
		kmeans_tree_build_node(tree, node, from, to, depth, cell_lo, cell_hi);
		return;
	}
	if (to - from > KMEANS_TREE_LEAF)
	{
		uint32		bit = (uint32) 1 << pg_leftmost_one_pos32(differ);
		int64		low = from,
					high = to - 1;	/* the last row has the bit, the first has not */
		int			child;

		while (low < high)
		{
			int64		mid = low + (high - low) / 2;

			if (code[mid] & bit)
				high = mid;
			else
				low = mid + 1;
		}
		child = kmeans_tree_node(tree, node, from, to, depth, true);
		kmeans_tree_build_trie(tree, code, child, from, low, depth + 1);
		kmeans_tree_build_trie(tree, code, child + 1, low, to, depth + 1);
		kmeans_tree_join(tree, node);
		return;
	}
	kmeans_tree_node(tree, node, from, to, depth, false);
	kmeans_tree_leaf(tree, node);
}

/*
 * Each point's cell of a grid over the box lo..hi (2^(32 / dims) cells along each coordinate,
 * the last cell closed), its coordinates' cell numbers' bits interleaved, the most significant
 * first: ordering points by code orders them along a Morton curve, each run of equal leading
 * bits a box of the grid.
 */
static void
kmeans_tree_codes(const double *points, int64 n, int dims, const double *lo, const double *hi,
				  uint32 *code)
{
	int			bits = 32 / dims;
	double		cells = (double) ((uint64) 1 << bits);
	double		scale[KMEANS_TREE_DIMS];
	uint64		spread[256];

	for (int j = 0; j < dims; j++)
	{
		scale[j] = cells / (hi[j] - lo[j]);
		if (!(hi[j] > lo[j]) || !isfinite(scale[j]))
			scale[j] = 0;		/* one value (or a span too narrow to divide): one cell */
	}
	/* spread[v]: the bits of the byte v, bit b moved to bit b x dims */
	for (int v = 0; v < 256; v++)
	{
		spread[v] = 0;
		for (int b = 0; b < 8; b++)
			spread[v] |= (uint64) ((v >> b) & 1) << (b * dims);
	}
	for (int64 i = 0; i < n; i++)
	{
		uint64		c = 0;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < dims; j++)
		{
			double		t = (points[i * dims + j] - lo[j]) * scale[j];
			uint32		cell = t < cells ? (uint32) t : (uint32) (cells - 1);

			/* bit b of coordinate j's cell to bit b x dims + dims - 1 - j of the code */
			for (int byte = 0; cell != 0; byte++, cell >>= 8)
				c |= spread[cell & 0xFF] << (byte * 8 * dims + dims - 1 - j);
		}
		code[i] = (uint32) c;
	}
}

/*
 * The tree over n points in any order (n >= 1): the points ordered by their codes
 * (kmeans_tree_codes, kmeans_radix_sort: the build's passes over the points are the sort's, not
 * one per level) and, within a code, by every coordinate (compare_rows), so that the copy's
 * order is the points' own whatever order they came in; its distinct points counted (up to k);
 * then the nodes (kmeans_tree_build_trie). The tree's shape changes no result (the filtering is
 * exact whatever it is); this one is cheap to build and adapts to the points through the cells
 * they leave empty. Memory: the copy of the points, 4 bytes of cluster per point (and for the
 * build 16 bytes of codes and rows per point), and per node 64 + 40·dims bytes
 * (the seeding's 28 + 16·dims of them; every split node holds more than KMEANS_TREE_LEAF
 * points and the nodes of one depth are disjoint, so there are about
 * 2n / KMEANS_TREE_LEAF nodes per level of the tree on spread points, never 2n); the node
 * arrays grow by half when full. All sizes are 64-bit products bounded through the points' own
 * limit (1 GB of state: under 2^28 points, so node numbers fit an int and rows a uint32); the
 * scratch space is k x depth ints, k <= KMEANS_TREE_MAX_K.
 */
static KmeansTree *
kmeans_tree_build(const double *points, int64 n, int dims, int k)
{
	KmeansTree *tree = palloc0(sizeof(KmeansTree));
	int64		capacity = 4 * (n / KMEANS_TREE_LEAF) + 3;
	double		lo[KMEANS_TREE_DIMS],
				hi[KMEANS_TREE_DIMS];
	uint32	   *code,
			   *index;

	tree->dims = dims;
	tree->n = n;
	tree->capacity = capacity;
	tree->begin = kmeans_alloc_big(sizeof(int64) * capacity);
	tree->end = kmeans_alloc_big(sizeof(int64) * capacity);
	tree->left = kmeans_alloc_big(sizeof(int) * capacity);
	tree->stamp = kmeans_alloc_big(sizeof(int) * capacity);
	tree->label = kmeans_alloc_big(sizeof(int) * capacity);
	tree->lo = kmeans_alloc_big(sizeof(double) * capacity * dims);
	tree->hi = kmeans_alloc_big(sizeof(double) * capacity * dims);
	tree->sum = kmeans_alloc_big(sizeof(double) * capacity * dims);
	tree->farthest = kmeans_alloc_big(sizeof(double) * capacity);
	tree->closest = kmeans_alloc_big(sizeof(double) * capacity);
	tree->weight = kmeans_alloc_big(sizeof(double) * capacity);
	tree->owner = kmeans_alloc_big(sizeof(int) * capacity);
	tree->mean = kmeans_alloc_big(sizeof(double) * capacity * dims);
	tree->resid = kmeans_alloc_big(sizeof(double) * capacity * dims);
	tree->spread = kmeans_alloc_big(sizeof(double) * capacity);
	tree->cluster = kmeans_alloc_big(sizeof(int) * n);
	/* no cluster yet (a start's first iteration counts every point as changed anyway) */
	memset(tree->cluster, 0xFF, sizeof(int) * n);
	for (int j = 0; j < dims; j++)
		lo[j] = hi[j] = points[j];
	for (int64 i = 0; i < n; i++)
		for (int j = 0; j < dims; j++)
		{
			lo[j] = Min(lo[j], points[i * dims + j]);
			hi[j] = Max(hi[j], points[i * dims + j]);
		}
	code = kmeans_alloc_big(sizeof(uint32) * n);
	index = kmeans_alloc_big(sizeof(uint32) * n);
	kmeans_tree_codes(points, n, dims, lo, hi, code);
	for (int64 i = 0; i < n; i++)
		index[i] = (uint32) i;
	kmeans_radix_sort(&code, &index, n);
	tree->points = kmeans_alloc_big(sizeof(double) * n * dims);
	for (int64 i = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		memcpy(tree->points + i * dims, points + (int64) index[i] * dims, sizeof(double) * dims);
	}
	pfree(index);
	/*
	 * Points of one code (one cell of the grid) by every coordinate: the order is then the
	 * points' own, whatever order they came in (equal points have equal codes, so they are
	 * neighbours, and any order among them gives the same rows but for the sign of a zero).
	 */
	for (int64 i = 0; i < n;)
	{
		int64		end = i + 1;

		while (end < n && code[end] == code[i])
			end++;
		if (end - i > 1)
			qsort_arg(tree->points + i * dims, end - i, sizeof(double) * dims, compare_rows, &dims);
		i = end;
	}
	tree->distinct = n > 0 ? 1 : 0;
	for (int64 i = 1; i < n && tree->distinct < k; i++)
		if (compare_rows(tree->points + (i - 1) * dims, tree->points + i * dims, &dims) != 0)
			tree->distinct++;
	tree->nodes = 1;
	kmeans_tree_build_trie(tree, code, 0, 0, n, 0);
	pfree(code);
	tree->scratch = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * (int64) k * (tree->depth + 1));
	tree->iteration = 0;
	tree->k = k;
	return tree;
}

static void
kmeans_tree_free(KmeansTree *tree)
{
	pfree(tree->points);
	pfree(tree->begin);
	pfree(tree->end);
	pfree(tree->left);
	pfree(tree->stamp);
	pfree(tree->label);
	pfree(tree->lo);
	pfree(tree->hi);
	pfree(tree->sum);
	pfree(tree->cluster);
	pfree(tree->farthest);
	pfree(tree->closest);
	pfree(tree->weight);
	pfree(tree->owner);
	pfree(tree->mean);
	pfree(tree->resid);
	pfree(tree->spread);
	pfree(tree->scratch);
	pfree(tree);
}

/*
 * Near ties. The tree's iterations sum the means from the nodes' sums, in another order than the
 * iterations over the points (which keep running sums): the centroids can differ in the last
 * bits, which decides the cluster of a point only when it lies within rounding of equal distance
 * to two centroids (exact ties: points on a grid, duplicated points). A point whose two nearest
 * centroids' squared distances differ by at most KMEANS_TREE_TIE of their sum is a near tie:
 * the start then leaves the tree and runs Lloyd's iterations over the points from its seeds, so
 * its result is theirs. KMEANS_TREE_TIE is far above a distance's own rounding (about 1e-16
 * relative): exact ties are caught. A point farther from a tie can still be sent the other way
 * if the means' rounding moves its distances by more than that (points far from the origin
 * compared with the clusters' width); not seen in the cases checked. (1e-9 caught two starts in ten on the benchmark's million uniform points,
 * late in their iterations, each then costing a start of the slower iterations.)
 */
#define KMEANS_TREE_TIE 1e-12

/*
 * Whether every point of the node's box is nearer centroid z than centroid y, by a margin: the
 * box's corner most favourable to y (the vertex farthest along y - z) is nearer z by more than
 * KMEANS_TREE_TIE of (twice both squared distances plus four times the box's squared diagonal),
 * which bounds every point's squared distances to both (|x - y|^2 <= 2|v - y|^2 + 2|x - v|^2),
 * and the difference grows from that corner to every other point of the box. So no point of such
 * a box is a near tie between z and y: pruning y changes no assignment, and hides no near tie.
 */
static inline bool
kmeans_tree_dominates(const double *z, const double *y, const double *lo, const double *hi, int dims)
{
	double		to_z = 0,
				to_y = 0,
				diagonal = 0;

	for (int j = 0; j < dims; j++)
	{
		double		v = y[j] > z[j] ? hi[j] : lo[j];
		double		dz = v - z[j];
		double		dy = v - y[j];
		double		width = hi[j] - lo[j];

		to_z += dz * dz;
		to_y += dy * dy;
		diagonal += width * width;
	}
	return to_y - to_z > KMEANS_TREE_TIE * (2 * to_z + 2 * to_y + 4 * diagonal);
}

/* Whether any point under a node split at iteration `iteration` then went elsewhere than c. */
static bool
kmeans_tree_differs(const KmeansTree *tree, int node, int c, int iteration)
{
	int			child = tree->left[node];

	if (tree->stamp[node] != iteration)
		return true;			/* not known: count it as a change */
	if (tree->label[node] >= 0)
		return tree->label[node] != c;
	if (child < 0)
	{
		for (int64 i = tree->begin[node]; i < tree->end[node]; i++)
			if (tree->cluster[i] != c)
				return true;
		return false;
	}
	return kmeans_tree_differs(tree, child, c, iteration) ||
		kmeans_tree_differs(tree, child + 1, c, iteration);
}

/*
 * The candidates (ascending) that may be nearest a point of the node, into kept (ascending too);
 * returns how many. The candidate nearest the box's centre is kept, and every other candidate
 * it does not dominate over the box (kmeans_tree_dominates: by a margin, so no pruned candidate
 * is a near tie of any point of the box).
 */
static int
kmeans_tree_prune(const KmeansTree *tree, int node, const int *candidates, int count,
				  const double *centroids, int *kept)
{
	int			dims = tree->dims;
	const double *lo = tree->lo + (int64) node * dims;
	const double *hi = tree->hi + (int64) node * dims;
	int			z = candidates[0];
	double		z_distance = DBL_MAX;
	const double *zc;
	int			nkept = 0;

	if (count == 1)
	{
		kept[0] = candidates[0];
		return 1;
	}
	/* the candidate nearest the box's centre dominates the most */
	for (int t = 0; t < count; t++)
	{
		const double *c = centroids + (int64) candidates[t] * dims;
		double		e = 0;

		for (int j = 0; j < dims; j++)
		{
			double		diff = 0.5 * (lo[j] + hi[j]) - c[j];

			e += diff * diff;
		}
		if (e < z_distance)
		{
			z_distance = e;
			z = candidates[t];
		}
	}
	zc = centroids + (int64) z * dims;
	for (int t = 0; t < count; t++)
		if (candidates[t] == z ||
			!kmeans_tree_dominates(zc, centroids + (int64) candidates[t] * dims, lo, hi, dims))
			kept[nkept++] = candidates[t];
	return nkept;
}

/*
 * One Lloyd assignment down the tree (the filtering algorithm): each node keeps the candidate
 * centroids that may be nearest one of its points; a node left with one is assigned whole, its
 * precomputed sum and count added to that centroid's; a leaf left with several measures each of
 * its points against them, in ascending order (the lowest on ties: the assignment two_nearest
 * makes, the pruned ones being strictly farther). previous: the centroid all the node's points
 * had at the last iteration when an ancestor was assigned whole then, else -1. *changed counts
 * points whose centroid changed (a node assigned whole after being split is checked only while
 * no change is counted yet: it counts as one). Returns false at a near tie (the iteration is
 * then abandoned).
 */
static bool
kmeans_tree_filter(KmeansTree *tree, int node, const int *candidates, int count, int previous,
				   int depth, const double *centroids, double *sums, int64 *sizes, int64 *changed)
{
	int			dims = tree->dims;
	int			iteration = tree->iteration;
	int			child = tree->left[node];
	int		   *kept = tree->scratch + (int64) depth * tree->k;
	int			nkept;

	if (tree->stamp[node] == iteration - 1)
		previous = tree->label[node];
	nkept = kmeans_tree_prune(tree, node, candidates, count, centroids, kept);

	if (nkept == 1)
	{
		int			c = kept[0];
		const double *sum = tree->sum + (int64) node * dims;

		for (int j = 0; j < dims; j++)
			sums[(int64) c * dims + j] += sum[j];
		sizes[c] += tree->end[node] - tree->begin[node];
		if (previous != c && *changed == 0 &&
			(previous >= 0 || tree->stamp[node] != iteration - 1 ||
			 kmeans_tree_differs(tree, node, c, iteration - 1)))
			*changed += 1;
		tree->stamp[node] = iteration;
		tree->label[node] = c;
		return true;
	}
	tree->stamp[node] = iteration;
	tree->label[node] = -1;
	if (child >= 0)
	{
		if ((node & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
		return kmeans_tree_filter(tree, child, kept, nkept, previous, depth + 1, centroids, sums, sizes, changed) &&
			kmeans_tree_filter(tree, child + 1, kept, nkept, previous, depth + 1, centroids, sums, sizes, changed);
	}
	for (int64 i = tree->begin[node]; i < tree->end[node]; i++)
	{
		const double *x = tree->points + i * dims;
		int			best = kept[0];
		double		best_distance = squared_distance(x, centroids + (int64) best * dims, dims);
		double		second = DBL_MAX;
		double	   *sum;

		for (int t = 1; t < nkept; t++)
		{
			double		e = squared_distance(x, centroids + (int64) kept[t] * dims, dims);

			if (e < best_distance)
			{
				second = best_distance;
				best_distance = e;
				best = kept[t];
			}
			else if (e < second)
				second = e;
		}
		if (second - best_distance <= KMEANS_TREE_TIE * (second + best_distance))
			return false;		/* a near tie */
		if (best != (previous >= 0 ? previous : tree->cluster[i]))
			*changed += 1;
		tree->cluster[i] = best;
		sum = sums + (int64) best * dims;
		for (int j = 0; j < dims; j++)
			sum[j] += x[j];
		sizes[best]++;
	}
	return true;
}

/* The clusters of the last iteration into assignment (indexed by the tree's rows). */
static void
kmeans_tree_assignment(const KmeansTree *tree, int node, int *assignment)
{
	int			child = tree->left[node];

	if (tree->stamp[node] == tree->iteration && tree->label[node] >= 0)
	{
		for (int64 i = tree->begin[node]; i < tree->end[node]; i++)
			assignment[i] = tree->label[node];
		return;
	}
	if (child >= 0)
	{
		CHECK_FOR_INTERRUPTS();
		kmeans_tree_assignment(tree, child, assignment);
		kmeans_tree_assignment(tree, child + 1, assignment);
		return;
	}
	for (int64 i = tree->begin[node]; i < tree->end[node]; i++)
		assignment[i] = tree->cluster[i];
}

/*
 * The seeding down the tree (low dimensions): the same draws, candidates, totals and chosen
 * centres as kmeans_plus_plus, with less work per step.
 *
 * - near holds each point's squared distance to the nearest chosen centre, in the points' order
 *   (the tree's, which the draws and the totals follow); the tree keeps per node the largest of its points' (farthest), the smallest
 *   (closest), their sum (weight), and the centre nearest all of them if one is (owner).
 * - A candidate's total: the previous total less what the candidate gains, summed over the
 *   nodes whose box may hold a point nearer the candidate than its nearest centre
 *   (kmeans_tree_reach: with margins for rounding, a node gains nothing when every point of it
 *   is computed no nearer the candidate; a node all of whose points are nearer gains its weight
 *   less their squared distances to the candidate, from its moments in O(dims):
 *   kmeans_tree_gain). Summed in another order than the points', these totals can differ from
 *   kmeans_plus_plus's in the last bits: when two distinct candidates' totals come within a
 *   bound of that rounding (kmeans_plus_plus_tree's margin), the step measures every point in
 *   the points' order as kmeans_plus_plus does, so the winner is always its winner (the first
 *   on exact ties).
 * - The winner's distances: only the nodes it may be nearer to; each new distance is the very
 *   min(e, near) kmeans_plus_plus keeps (every point is compared: no margin decides a change).
 * - The draws: the same random numbers u; sums of blocks of KMEANS_DRAW_BLOCK points in the
 *   points' order (KmeansDraws: kept up to date by each change, with a bound on their
 *   rounding) skip to the block where the running difference from u x their sum turns
 *   negative. That difference is rounded otherwise than kmeans_plus_plus's point by point
 *   (whose total is summed in order), by at most a bound kmeans_tree_draw computes: a draw
 *   whose running difference comes within twice that of zero at the chosen point computes the
 *   total in order and draws again point by point as kmeans_plus_plus does. So every draw is
 *   kmeans_plus_plus's.
 */
#define KMEANS_DRAW_BLOCK 1024

/* The smallest squared distance from a point to a node's box. */
static inline double
kmeans_tree_box_distance(const KmeansTree *tree, int node, const double *x)
{
	const double *lo = tree->lo + (int64) node * tree->dims;
	const double *hi = tree->hi + (int64) node * tree->dims;
	double		sum = 0;

	for (int j = 0; j < tree->dims; j++)
	{
		double		out = x[j] < lo[j] ? lo[j] - x[j] : (x[j] > hi[j] ? x[j] - hi[j] : 0);

		sum += out * out;
	}
	return sum;
}

/*
 * The exact pass of kmeans_lloyd down the tree: every point's nearest centroid (the lowest on
 * ties), its squared distance to it and a lower bound on its distance to every other, as that
 * pass computes them point by point. A node left with one candidate c (kmeans_tree_prune: every
 * other centroid farther from each of its points by a margin, so two_nearest would choose c) has
 * each point's squared distance to c computed alone, by the same operations as
 * distances_to_all, and as the lower bound the distance from the box to the nearest other
 * centroid (computed no larger than any of its points' distances: every step of the computation
 * is monotonic; Hartigan's refinement only skips points by it, so a lower bound changes no
 * move); a leaf left with several has each point measured against every centroid as the pass
 * over the points does. *changed counts the points whose centroid differs from assignment's.
 */
static void
kmeans_tree_exact(const KmeansTree *tree, int node, const int *candidates, int count, int depth,
				  const double *centroids, const double *ct, int k, double *buf,
				  int *assignment, double *distance, double *lower, int64 *changed)
{
	int			dims = tree->dims;
	int			child = tree->left[node];
	int		   *kept = tree->scratch + (int64) depth * tree->k;
	int			nkept = kmeans_tree_prune(tree, node, candidates, count, centroids, kept);

	if (nkept == 1)
	{
		int			c = kept[0];
		const double *cc = centroids + (int64) c * dims;
		double		other = DBL_MAX;

		for (int b = 0; b < k; b++)
			if (b != c)
				other = Min(other, kmeans_tree_box_distance(tree, node, centroids + (int64) b * dims));
		other = other == DBL_MAX ? DBL_MAX : sqrt(other);
		for (int64 t = tree->begin[node]; t < tree->end[node]; t++)
		{
			int64		i = t;

			distance[i] = squared_distance(tree->points + t * dims, cc, dims);
			if (assignment[i] != c)
			{
				assignment[i] = c;
				(*changed)++;
			}
			lower[i] = other;
		}
		return;
	}
	if (child >= 0)
	{
		if ((node & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
		kmeans_tree_exact(tree, child, kept, nkept, depth + 1, centroids, ct, k, buf, assignment, distance, lower, changed);
		kmeans_tree_exact(tree, child + 1, kept, nkept, depth + 1, centroids, ct, k, buf, assignment, distance, lower, changed);
		return;
	}
	for (int64 t = tree->begin[node]; t < tree->end[node]; t++)
	{
		int64		i = t;
		double		second;
		int			c = two_nearest(tree->points + t * dims, ct, k, kmeans_lanes(k), dims, buf, &distance[i], &second);

		if (c != assignment[i])
		{
			assignment[i] = c;
			(*changed)++;
		}
		lower[i] = second == DBL_MAX ? DBL_MAX : sqrt(second);
	}
}

/*
 * Where candidate x stands to a node: KMEANS_REACH_NONE if no point of the node can be computed
 * nearer x than its nearest centre so far, KMEANS_REACH_ALL if every point of it is computed
 * nearer x, else KMEANS_REACH_SOME. Two tests, each with a relative margin of 1e-9, far above
 * the few DBL_EPSILON by which a computed squared distance (and the tests' own sums) can err,
 * so that what they say of the true distances holds of the computed ones:
 * - a node whose points all have one nearest centre c (owner >= 0: every near is the computed
 *   squared distance to c): |y - x|^2 - |y - c|^2 is, along each coordinate, linear in y's
 *   (the difference of two squares of the same slope), so its least and largest over the box
 *   are sums over the coordinates of the least and largest at the box's two ends; every point
 *   is nearer c (NONE) when the least is at least 1e-9 of bound, nearer x (ALL) when the largest
 *   is below -1e-9 of bound, bound the sum over the coordinates of the largest (y - x)^2 plus
 *   the largest (y - c)^2 at the ends (at least |y - x|^2 + |y - c|^2 for every y of the box).
 *   Every difference is of two coordinates: no rounding relative to their magnitude.
 * - any node: NONE when the box is at least farthest away from x, ALL when the box's farthest
 *   corner from x is nearer than closest.
 */
#define KMEANS_REACH_NONE 0
#define KMEANS_REACH_ALL 1
#define KMEANS_REACH_SOME 2

static inline int
kmeans_tree_reach(const KmeansTree *tree, int node, const double *x, const double *centroids)
{
	int			dims = tree->dims;
	const double *lo = tree->lo + (int64) node * dims;
	const double *hi = tree->hi + (int64) node * dims;
	int			owner = tree->owner[node];

	if (owner >= 0)
	{
		const double *c = centroids + (int64) owner * dims;
		double		least = 0,
					largest = 0,
					bound = 0;

		for (int j = 0; j < dims; j++)
		{
			double		lx = lo[j] - x[j],
						lc = lo[j] - c[j],
						hx = hi[j] - x[j],
						hc = hi[j] - c[j];
			double		l = lx * lx - lc * lc,
						h = hx * hx - hc * hc;

			least += Min(l, h);
			largest += Max(l, h);
			bound += Max(lx * lx, hx * hx) + Max(lc * lc, hc * hc);
		}
		if (least >= 1e-9 * bound)
			return KMEANS_REACH_NONE;
		if (largest < -1e-9 * bound)
			return KMEANS_REACH_ALL;
		return KMEANS_REACH_SOME;
	}
	else
	{
		double		inside = 0,
					outside = 0;

		for (int j = 0; j < dims; j++)
		{
			double		below = x[j] - lo[j];
			double		above = hi[j] - x[j];
			double		out = below < 0 ? -below : (above < 0 ? -above : 0);
			double		far = Max(fabs(below), fabs(above));

			inside += out * out;
			outside += far * far;
		}
		if (inside >= tree->farthest[node] * (1 + 1e-9))
			return KMEANS_REACH_NONE;
		if (outside < tree->closest[node] * (1 - 1e-9))
			return KMEANS_REACH_ALL;
		return KMEANS_REACH_SOME;
	}
}

/* A node's farthest, closest and weight from its children's. */
static inline void
kmeans_tree_near_join(KmeansTree *tree, int node)
{
	int			child = tree->left[node];

	tree->farthest[node] = Max(tree->farthest[child], tree->farthest[child + 1]);
	tree->closest[node] = Min(tree->closest[child], tree->closest[child + 1]);
	tree->weight[node] = tree->weight[child] + tree->weight[child + 1];
	tree->owner[node] = tree->owner[child] == tree->owner[child + 1] ? tree->owner[child] : -1;
}

/* A leaf's farthest, closest and weight from its points' near. */
static inline void
kmeans_tree_near_leaf(KmeansTree *tree, int node, const double *near)
{
	double		m = 0,
				c = DBL_MAX,
				w = 0;

	for (int64 i = tree->begin[node]; i < tree->end[node]; i++)
	{
		m = Max(m, near[i]);
		c = Min(c, near[i]);
		w += near[i];
	}
	tree->farthest[node] = m;
	tree->closest[node] = c;
	tree->weight[node] = w;
	tree->owner[node] = 0;
}

/* Every node's farthest, closest and weight, from the leaves up (near: to the first centre). */
static void
kmeans_tree_near(KmeansTree *tree, int node, const double *near)
{
	int			child = tree->left[node];

	if (child >= 0)
	{
		if ((node & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
		kmeans_tree_near(tree, child, near);
		kmeans_tree_near(tree, child + 1, near);
		kmeans_tree_near_join(tree, node);
	}
	else
		kmeans_tree_near_leaf(tree, node, near);
}

/*
 * What candidate x gains: the sum over the points nearer it of how much nearer. A node all of
 * whose points are nearer x (KMEANS_REACH_ALL) gains its weight less the sum of its points'
 * squared distances to x, from its moments (kmeans_tree_moments_leaf) in O(dims). Its rounding,
 * against the sum of the points' own computed distances: the moments are sums of nonnegative
 * terms (and of the residuals, of the node's size times the rounding), combined down at most
 * depth levels, each term with a relative error of a few DBL_EPSILON per level and per point of
 * a leaf summed; every term is at most the sum of |y - x|^2 (the cross term through
 * Cauchy-Schwarz: |m - x| sum |y - m| <= (count |m - x|^2 + spread) / 2), which is below the
 * node's weight. So the error is below c (depth + KMEANS_TREE_LEAF + dims) DBL_EPSILON of the
 * node's weight, c a small constant, and over the disjoint nodes of one candidate's gain below
 * that much of the total: kmeans_plus_plus_tree's margin holds 16 times it besides the sums'
 * own rounding.
 */
static double
kmeans_tree_gain(const KmeansTree *tree, int node, const double *x, const double *near,
				 const double *centroids)
{
	int			child = tree->left[node];
	int			dims = tree->dims;
	double		gain = 0;

	switch (kmeans_tree_reach(tree, node, x, centroids))
	{
		case KMEANS_REACH_NONE:
			return 0;
		case KMEANS_REACH_ALL:
			{
				const double *mean = tree->mean + (int64) node * dims;
				const double *resid = tree->resid + (int64) node * dims;
				double		count = (double) (tree->end[node] - tree->begin[node]);
				double		cross = 0,
							square = 0;

				for (int j = 0; j < dims; j++)
				{
					double		d = mean[j] - x[j];

					cross += d * resid[j];
					square += d * d;
				}
				return tree->weight[node] - (tree->spread[node] + 2 * cross + count * square);
			}
		default:
			break;
	}
	if (child >= 0)
	{
		if ((node & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
		return kmeans_tree_gain(tree, child, x, near, centroids) +
			kmeans_tree_gain(tree, child + 1, x, near, centroids);
	}
	{
		/*
		 * near - e > 0 exactly when e < near (a difference of two distinct doubles is never
		 * zero); two running sums, in another order than one: the gain's rounding is bounded
		 * whatever the order of its sums.
		 */
		int64		i = tree->begin[node];
		int64		end = tree->end[node];
		double		other = 0;

		for (; i + 2 <= end; i += 2)
		{
			double		a = near[i] - squared_distance(tree->points + i * dims, x, dims);
			double		b = near[i + 1] - squared_distance(tree->points + (i + 1) * dims, x, dims);

			gain += a > 0 ? a : 0;
			other += b > 0 ? b : 0;
		}
		if (i < end)
		{
			double		a = near[i] - squared_distance(tree->points + i * dims, x, dims);

			gain += a > 0 ? a : 0;
		}
		return gain + other;
	}
}

/*
 * The draws' sums: blocks[b] is the sum of near over the points of rows b x KMEANS_DRAW_BLOCK
 * on in the points' order (the order of kmeans_plus_plus's draws and totals), kept up to
 * date by each change (kmeans_tree_take adds e - near). Their rounding, against the exact sums, u = DBL_EPSILON / 2: each block
 * sum starts within (KMEANS_DRAW_BLOCK - 1) u of its exact sum; each change adds at most u of
 * (the old near + |the new block sum|) (the difference's rounding and the sum's). drift bounds
 * the sum of those over the blocks divided by u: KMEANS_DRAW_BLOCK x the total to start with;
 * then per step, the old nears of the points changed sum to at most the exact total, within
 * 2 |sum| + drift DBL_EPSILON, and no block sum exceeds the largest before the step (largest:
 * each change lowers it, exactly or by rounding, monotonic) by more than it can fall below zero
 * (drift u after the step), so it suffices that drift' (1 - changed u) >= drift + 2 |sum| +
 * drift DBL_EPSILON + changed x largest (kmeans_plus_plus_tree divides by 1 - changed x
 * DBL_EPSILON), its own rounding a few DBL_EPSILON of it, which the margins cover by counting
 * drift x DBL_EPSILON, twice the bound. positive counts the points of near > 0:
 * kmeans_plus_plus's total is > 0 exactly when it is.
 */
typedef struct KmeansDraws
{
	double	   *blocks;
	int64		nblocks;
	double		drift;
	int64		positive;
	int64		changed;		/* points changed by the step */
	double		largest;		/* the largest |block sum| at the last kmeans_draws_sum */
} KmeansDraws;

/*
 * The winner's distances where nearer (near, and the draws' block sums), and the nodes'
 * farthest, closest, weight and owner.
 */
static void
kmeans_tree_take(KmeansTree *tree, int node, const double *x, int centre, double *near,
				 KmeansDraws *draws, const double *centroids)
{
	int			child = tree->left[node];
	int			dims = tree->dims;
	double		m = 0,
				c = DBL_MAX,
				w = 0;
	int64		changed = 0;

	if (kmeans_tree_reach(tree, node, x, centroids) == KMEANS_REACH_NONE)
		return;
	if (child >= 0)
	{
		if ((node & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
		kmeans_tree_take(tree, child, x, centre, near, draws, centroids);
		kmeans_tree_take(tree, child + 1, x, centre, near, draws, centroids);
		kmeans_tree_near_join(tree, node);
		return;
	}
	for (int64 i = tree->begin[node]; i < tree->end[node]; i++)
	{
		double		e = squared_distance(tree->points + i * dims, x, dims);
		double		v = near[i];

		if (e < v)
		{
			double	   *block = draws->blocks + i / KMEANS_DRAW_BLOCK;

			*block += e - v;
			if (e == 0)
				draws->positive--;
			v = e;
			near[i] = e;
			changed++;
		}
		m = Max(m, v);
		c = Min(c, v);
		w += v;
	}
	/* as kmeans_tree_near_leaf sums them */
	tree->farthest[node] = m;
	tree->closest[node] = c;
	tree->weight[node] = w;
	/* one owner still if every point or none moved to the centre */
	draws->changed += changed;
	if (changed == tree->end[node] - tree->begin[node])
		tree->owner[node] = centre;
	else if (changed > 0)
		tree->owner[node] = -1;
}

/* The sum of the blocks (in their order), and the largest. */
static double
kmeans_draws_sum(KmeansDraws *draws)
{
	double		sum = 0;
	double		largest = 0;

	for (int64 block = 0; block < draws->nblocks; block++)
	{
		sum += draws->blocks[block];
		largest = Max(largest, fabs(draws->blocks[block]));
	}
	draws->largest = largest;
	return sum;
}

/*
 * kmeans_plus_plus's draw for the uniform number u (draws->positive > 0; sum: the blocks' sum):
 * the first point (in the points' order) where u x total - the running sum < 0, total
 * kmeans_plus_plus's (summed point by point in order). The
 * target here is u x sum, the running difference skips whole blocks, then goes point by point;
 * against kmeans_plus_plus's running difference it errs by at most slack: the blocks' drift
 * (twice: in sum and in the blocks skipped), the rounding of the sums of n numbers (the total,
 * and the subtractions of both: n + blocks + KMEANS_DRAW_BLOCK, DBL_EPSILON / 2 of the total
 * each) and of the products. A point where the running difference is more than twice that away
 * from zero on either side is kmeans_plus_plus's; else the draw computes the total and draws
 * again point by point as it does.
 */
static int64
kmeans_tree_draw(const KmeansTree *tree, const double *near, const KmeansDraws *draws, double sum,
				 double u)
{
	int64		n = tree->n;
	double		slack = draws->drift * DBL_EPSILON +
		(double) (n + draws->nblocks + KMEANS_DRAW_BLOCK + 8) * DBL_EPSILON * fabs(sum);
	double		margin = 2 * slack;
	double		left = u * sum;
	double		total;
	int64		chosen = -1;

	for (int64 block = 0; block < draws->nblocks && chosen < 0; block++)
	{
		int64		end;

		if (left - draws->blocks[block] >= 0)
		{
			left -= draws->blocks[block];
			continue;
		}
		end = Min(n, (block + 1) * KMEANS_DRAW_BLOCK);
		for (int64 i = block * KMEANS_DRAW_BLOCK; i < end; i++)
		{
			double		after = left - near[i];

			if (after < 0)
			{
				if (left > margin && after < -margin)
					chosen = i;
				break;
			}
			left = after;
		}
		break;
	}
	if (chosen >= 0)
		return chosen;
	/* near a boundary (or past the end): point by point, as kmeans_plus_plus draws */
	total = 0;
	for (int64 i = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		total += near[i];
	}
	chosen = n - 1;
	left = u * total;
	for (int64 i = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		left -= near[i];
		if (left < 0)
		{
			chosen = i;
			break;
		}
	}
	while (chosen > 0 && near[chosen] == 0)
		chosen--;
	return chosen;
}

/* (near: scratch space for n numbers, each point's squared distance to its nearest centre) */
static void
kmeans_plus_plus_tree(KmeansTree *tree, const double *points, int64 n, int dims, int k, int trials,
					  uint64 *rng, double *centroids, double *near)
{
	int64		first = (int64) (random_unit(rng) * n);
	double		total;
	int			lanes = kmeans_lanes(trials);
	double	   *candidates = palloc(sizeof(double) * trials * dims);
	double	   *ct = palloc(sizeof(double) * lanes * dims);
	double	   *totals = palloc(sizeof(double) * lanes);
	double	   *d = palloc(sizeof(double) * lanes);
	KmeansDraws draws;
	double		margin;

	draws.nblocks = (n + KMEANS_DRAW_BLOCK - 1) / KMEANS_DRAW_BLOCK;
	draws.blocks = palloc(sizeof(double) * draws.nblocks);
	draws.positive = 0;
	Assert(points == tree->points);
	memcpy(centroids, points + first * dims, dims * sizeof(double));
	/* each point's squared distance to the first centre, and their sums by blocks */
	for (int64 block = 0; block < draws.nblocks; block++)
	{
		int64		end = Min(n, (block + 1) * KMEANS_DRAW_BLOCK);
		double		sum = 0;

		if ((block & 0x3F) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 i = block * KMEANS_DRAW_BLOCK; i < end; i++)
		{
			near[i] = squared_distance(points + i * dims, centroids, dims);
			draws.positive += near[i] > 0;
			sum += near[i];
		}
		draws.blocks[block] = sum;
	}
	total = kmeans_draws_sum(&draws);
	draws.drift = KMEANS_DRAW_BLOCK * total;
	kmeans_tree_near(tree, 0, near);
	for (int c = 1; c < k; c++)
	{
		double		best_total = 0;
		int			best = 0;
		bool		exact = false;

		CHECK_FOR_INTERRUPTS();
		for (int trial = 0; trial < trials; trial++)
		{
			int64		chosen;

			if (draws.positive > 0)
				chosen = kmeans_tree_draw(tree, near, &draws, total, random_unit(rng));
			else
				/* every point sits on a centroid already: fewer distinct points than k */
				chosen = (int64) (random_unit(rng) * n);
			memcpy(candidates + trial * dims, points + chosen * dims, dims * sizeof(double));
			totals[trial] = total - kmeans_tree_gain(tree, 0, candidates + trial * dims, near, centroids);
		}
		for (int trial = 0; trial < trials; trial++)
			if (trial == 0 || totals[trial] < best_total)
			{
				best_total = totals[trial];
				best = trial;
			}

		/*
		 * Totals within rounding of the best's, of another point: measure them in the points'
		 * order. Each total here is within drift x DBL_EPSILON / 2 + (blocks + 1) DBL_EPSILON
		 * / 2 of the total (total's rounding, see KmeansDraws), (n / 2 + depth + 2)
		 * DBL_EPSILON (the gain's sums and the subtraction) and the gain's moments' rounding
		 * (kmeans_tree_gain: a small multiple of depth + KMEANS_TREE_LEAF + dims) DBL_EPSILON
		 * of the total, and kmeans_plus_plus's within n DBL_EPSILON / 2 of the exact one: the
		 * margin holds twice those many times.
		 */
		margin = 4 * draws.drift * DBL_EPSILON +
			16.0 * (double) (2 * n + 16 * (tree->depth + KMEANS_TREE_LEAF + dims)) * DBL_EPSILON * fabs(total);
		for (int trial = 0; trial < trials; trial++)
			if (trial != best && totals[trial] - best_total <= margin &&
				memcmp(candidates + trial * dims, candidates + best * dims, sizeof(double) * dims) != 0)
				exact = true;
		if (exact)
		{
			kmeans_transpose(candidates, trials, dims, ct);
			for (int trial = 0; trial < trials; trial++)
				totals[trial] = 0;
			for (int64 i = 0; i < n; i++)
			{
				double		v = near[i];

				if ((i & 0x3FF) == 0)
					CHECK_FOR_INTERRUPTS();
				distances_to_all(points + i * dims, ct, lanes, dims, d);
				for (int trial = 0; trial < trials; trial++)
					totals[trial] += d[trial] < v ? d[trial] : v;
			}
			for (int trial = 0; trial < trials; trial++)
				if (trial == 0 || totals[trial] < best_total)
				{
					best_total = totals[trial];
					best = trial;
				}
		}
		memcpy(centroids + c * dims, candidates + best * dims, dims * sizeof(double));
		draws.changed = 0;
		kmeans_tree_take(tree, 0, centroids + c * dims, c, near, &draws, centroids);
		draws.drift = (draws.drift * (1 + DBL_EPSILON) + 2 * fabs(total) +
					   (double) draws.changed * draws.largest) /
			(1 - (double) draws.changed * DBL_EPSILON);
		total = kmeans_draws_sum(&draws);
	}
	pfree(candidates);
	pfree(ct);
	pfree(totals);
	pfree(d);
	pfree(draws.blocks);
}

/*
 * Lloyd's iterations down the tree, from the given centroids: each assigns every point as a
 * plain iteration would (kmeans_tree_filter) and moves the centroids to the means, computed from
 * the nodes' sums, until no point changes cluster or the iteration limit. Leaves the clusters
 * in assignment and returns KMEANS_TREE_DONE; or, when a cluster empties, refills it as the
 * iterations over the points do (kmeans_refill, every assignment -1) and returns
 * KMEANS_TREE_REFILLED for them to continue; or, at a near tie, puts the given centroids back
 * and returns KMEANS_TREE_LEFT (for them to start over). sums, sizes and old: scratch space for
 * k x dims, k and k x dims numbers.
 */
typedef enum
{
	KMEANS_TREE_DONE,
	KMEANS_TREE_REFILLED,
	KMEANS_TREE_LEFT
} KmeansTreeOutcome;

static KmeansTreeOutcome
kmeans_lloyd_tree(KmeansTree *tree, const double *points, int64 n, int dims, int k,
				  double *centroids, int *assignment, double *distance, double *sums,
				  int64 *sizes, double *old, int *iteration, bool *converged)
{
	int		   *all = palloc(sizeof(int) * k);
	double	   *seeds = palloc(sizeof(double) * k * dims);
	bool		first = true;

	memcpy(seeds, centroids, sizeof(double) * k * dims);
	for (int c = 0; c < k; c++)
		all[c] = c;
	/* no node carries the previous iteration's number: the first iteration knows nothing */
	tree->iteration++;
	for (; *iteration < KMEANS_MAX_ITERATIONS; (*iteration)++)
	{
		int64		changed = 0;
		bool		emptied = false;

		CHECK_FOR_INTERRUPTS();
		tree->iteration++;
		memset(sums, 0, sizeof(double) * k * dims);
		memset(sizes, 0, sizeof(int64) * k);
		if (!kmeans_tree_filter(tree, 0, all, k, -1, 0, centroids, sums, sizes, &changed))
		{
			elog(DEBUG2, "crm.kmeans: a near tie at iteration %d: Lloyd's iterations over the points instead", *iteration);
			memcpy(centroids, seeds, sizeof(double) * k * dims);
			*iteration = 0;
			pfree(all);
			pfree(seeds);
			return KMEANS_TREE_LEFT;
		}
		if (first)
			changed = Max(changed, 1);
		first = false;
		if (changed == 0)
		{
			*converged = true;
			break;
		}
		memcpy(old, centroids, sizeof(double) * k * dims);
		for (int c = 0; c < k; c++)
			if (sizes[c] == 0)
				emptied = true;
		if (emptied)
		{
			/* as the iterations over the points do it: exact means, then the refill */
			kmeans_tree_assignment(tree, 0, assignment);
			kmeans_means(points, n, dims, k, assignment, centroids, sums, sizes);
			kmeans_refill(points, n, dims, k, assignment, old, centroids, sizes, distance);
			for (int64 i = 0; i < n; i++)
				assignment[i] = -1;
			(*iteration)++;
			pfree(all);
			pfree(seeds);
			return KMEANS_TREE_REFILLED;
		}
		for (int c = 0; c < k; c++)
			for (int j = 0; j < dims; j++)
				centroids[c * dims + j] = sums[c * dims + j] / sizes[c];
	}
	kmeans_tree_assignment(tree, 0, assignment);
	pfree(all);
	pfree(seeds);
	return KMEANS_TREE_DONE;
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
 * centroid or a lower bound of it (DBL_MAX for k = 1); upper is scratch space for n numbers. refining: the centroids
 * are the means of the clusters in assignment already (after Hartigan's refinement), which are
 * almost surely Lloyd's fixed point too; only the exact pass runs, and plain iterations if it
 * moves a point. tree (low dimensions, else NULL): the iterations run down the k-d tree instead
 * (kmeans_lloyd_tree: the same assignments, so the same iterations), and so does the exact pass
 * (kmeans_tree_exact: the same assignments and distances; lower then holds a lower bound, which
 * is all Hartigan's refinement reads it for).
 */
static double
kmeans_lloyd(const double *points, int64 n, int dims, int k, double *centroids,
			 int *assignment, double *distance, double *upper, double *lower, bool refining,
			 bool *converged, int *iterations, KmeansTree *tree)
{
	double	   *sums = palloc(sizeof(double) * k * dims);
	int64	   *sizes = palloc(sizeof(int64) * k);
	double	   *old = palloc(sizeof(double) * k * dims);
	double	   *moved = palloc(sizeof(double) * k);
	double	   *half_gap = palloc(sizeof(double) * k);
	/*
	 * The bounds are kept relative to how far the centroids travelled since they were measured:
	 * upper[i] + travel_up[a] bounds the distance of point i to its centroid a from above,
	 * lower[i] - travel_down[a] its distance to any other from below, travel_up[c] summing the
	 * moves of centroid c and travel_down[c] the largest move of another centroid, iteration by
	 * iteration. A point passed over costs three loads and no store.
	 */
	double	   *travel_up = palloc0(sizeof(double) * k);
	double	   *travel_down = palloc0(sizeof(double) * k);
	double		largest,
				second_largest;
	int			largest_at;
	int			lanes = kmeans_lanes(k);
	double	   *ct = palloc(sizeof(double) * lanes * dims);
	double	   *buf = palloc(sizeof(double) * lanes);
	bool		bounds_valid = false;
	bool		sums_valid = false;
	double		inertia = 0;
	int			iteration;
	bool		tree_done = false;

	*converged = refining;
	iteration = 0;
	if (!refining)
		for (int64 i = 0; i < n; i++)
			assignment[i] = -1;
	/* in low dimensions down the tree; on the points after a cluster emptied */
	if (tree != NULL && !refining &&
		kmeans_lloyd_tree(tree, points, n, dims, k, centroids, assignment, distance, sums, sizes,
						  old, &iteration, converged) == KMEANS_TREE_DONE)
		tree_done = true;
	for (; iteration < KMEANS_MAX_ITERATIONS && !refining && !tree_done; iteration++)
	{
		int64		changed = 0;

		CHECK_FOR_INTERRUPTS();
		kmeans_transpose(centroids, k, dims, ct);
		if (!bounds_valid)
		{
			for (int64 i = 0; i < n; i++)
			{
				double		first,
							second;
				int			c;

				if ((i & 0xFF) == 0)
					CHECK_FOR_INTERRUPTS();
				c = two_nearest(points + i * dims, ct, k, lanes, dims, buf, &first, &second);
				if (c != assignment[i])
				{
					assignment[i] = c;
					changed++;
				}
				upper[i] = sqrt(first);
				lower[i] = second == DBL_MAX ? DBL_MAX : sqrt(second);
			}
			/* the bounds as measured: no travel yet */
			memset(travel_up, 0, sizeof(double) * k);
			memset(travel_down, 0, sizeof(double) * k);
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
			for (int64 block = 0; block < n; block += 1024)
			{
				int64		end = Min(n, block + 1024);

				CHECK_FOR_INTERRUPTS();
				for (int64 i = block; i < end; i++)
				{
					const double *x = points + i * dims;
					int			a = assignment[i];
					double		up = upper[i] + travel_up[a];
					double		bound = Max(half_gap[a], lower[i] - travel_down[a]);
					double		first,
								second;
					int			c;

					if (up <= bound)
						continue;
					up = sqrt(squared_distance(x, centroids + a * dims, dims));
					if (up <= bound)
					{
						upper[i] = up - travel_up[a];
						continue;
					}
					c = two_nearest(x, ct, k, lanes, dims, buf, &first, &second);
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
					upper[i] = sqrt(first) - travel_up[c];
					lower[i] = second == DBL_MAX ? DBL_MAX : sqrt(second) + travel_down[c];
				}
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
		/*
		 * How far each centroid moved: added to the travels, which move every point's bounds
		 * (upper up by its own centroid's move, lower down by the largest move of another)
		 * without a pass over the bounds, nor a store for a point the bounds pass over.
		 */
		largest = 0;
		second_largest = 0;
		largest_at = -1;
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
		for (int c = 0; c < k; c++)
		{
			travel_up[c] += moved[c];
			travel_down[c] += c == largest_at ? second_largest : largest;
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
		kmeans_transpose(centroids, k, dims, ct);
		inertia = 0;
		if (tree != NULL)
		{
			/* the same assignments and distances, down the tree; summed in the points' order */
			int		   *all = palloc(sizeof(int) * k);

			for (int c = 0; c < k; c++)
				all[c] = c;
			kmeans_tree_exact(tree, 0, all, k, 0, centroids, ct, k, buf, assignment, distance, lower, &changed);
			pfree(all);
			for (int64 i = 0; i < n; i++)
				inertia += distance[i];
		}
		else
			for (int64 i = 0; i < n; i++)
			{
				double		second;
				int			c;

				if ((i & 0xFF) == 0)
					CHECK_FOR_INTERRUPTS();
				/* the same comparisons as nearest_centroid: the same cluster on ties */
				c = two_nearest(points + i * dims, ct, k, lanes, dims, buf, &distance[i], &second);
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
	if (iterations != NULL)
		*iterations = iteration;
	pfree(sums);
	pfree(sizes);
	pfree(old);
	pfree(moved);
	pfree(half_gap);
	pfree(travel_up);
	pfree(travel_down);
	pfree(ct);
	pfree(buf);
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

/* An unsigned key ordered as the double is (-0 as 0; the points are finite). */
static inline uint64
kmeans_sort_key(double x)
{
	uint64		bits;

	if (x == 0)
		x = 0;
	memcpy(&bits, &x, sizeof(bits));
	return (bits & UINT64CONST(0x8000000000000000)) ? ~bits : bits | UINT64CONST(0x8000000000000000);
}

/*
 * Sorts the n points (dims each, row-major) lexicographically by coordinate, in place: the order
 * compare_rows defines, as qsort_arg gives it, only faster on large inputs. A radix sort
 * (kmeans_radix_sort) orders point numbers by the upper 32 bits of an order-preserving key of the
 * first coordinate; runs of points with equal such keys (equal or close first coordinates) are
 * then sorted by compare_rows; the rows are moved once. Points that compare equal are equal (but
 * for the sign of a zero), so any order among them gives the same sorted array.
 */
static void
kmeans_sort_points(double *points, int64 n, int dims)
{
	uint32	   *keys;
	uint32	   *index;
	double	   *sorted;

	if (n < 4096)
	{
		qsort_arg(points, n, sizeof(double) * dims, compare_rows, &dims);
		return;
	}
	keys = kmeans_alloc_big(sizeof(uint32) * n);
	index = kmeans_alloc_big(sizeof(uint32) * n);
	for (int64 i = 0; i < n; i++)
	{
		keys[i] = (uint32) (kmeans_sort_key(points[i * dims]) >> 32);
		index[i] = (uint32) i;
	}
	kmeans_radix_sort(&keys, &index, n);
	sorted = kmeans_alloc_big(sizeof(double) * n * dims);
	for (int64 i = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		memcpy(sorted + i * dims, points + (int64) index[i] * dims, sizeof(double) * dims);
	}
	/* runs of equal keys: by every coordinate */
	for (int64 i = 0; i < n;)
	{
		int64		end = i + 1;

		while (end < n && keys[end] == keys[i])
			end++;
		if (end - i > 1)
			qsort_arg(sorted + i * dims, end - i, sizeof(double) * dims, compare_rows, &dims);
		i = end;
	}
	memcpy(points, sorted, sizeof(double) * n * dims);
	pfree(sorted);
	pfree(keys);
	pfree(index);
}

/*
 * The fit: validates the points, standardizes them if asked (mean and scale out, else mean 0 and
 * scale 1), runs the starts and returns the best centroids in the units clustered
 * (standardized or raw), rows in ascending order. The standardized coordinates are computed as
 * (x - mean) / scale, the same expression kmeans_model_assign applies, so a model assigns every
 * point to the cluster the fit put it in.
 */
/* The error for fewer distinct points than k (distinct: counted up to k). */
static void
kmeans_require_distinct(int k, int64 distinct)
{
	if (distinct < k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must not exceed the number of distinct points"),
				 errdetail("k is %d but there are only %lld distinct points.", k, (long long) distinct)));
}

/* Milliseconds between two instants (the phase timings reported at DEBUG1). */
static double
kmeans_ms(instr_time from, instr_time to)
{
	INSTR_TIME_SUBTRACT(to, from);
	return INSTR_TIME_GET_MILLISEC(to);
}

/*
 * The starts. Each start is a function of the points, k, the seed and its number alone: its
 * random numbers are the stretch of the seed's splitmix64 stream that one process running the
 * starts in order would give it (a seeding draws exactly 1 + (k - 1) x trials numbers, and
 * splitmix64 advances its state by a constant per number, so start s begins at the seed plus s
 * times that many steps). So starts can run in any order, in any process, with the same
 * results; the best is then picked in start order (the lowest inertia, the first of equal ones).
 */
typedef struct KmeansStartResult
{
	double		inertia;
	bool		converged;
	int			iterations;		/* Lloyd's, from the seeds */
	int			refine_iterations;	/* Lloyd's, after Hartigan's refinement */
	int64		moves;			/* Hartigan's */
	double		seeding_ms;
	double		lloyd_ms;
	double		hartigan_ms;
	int			process;		/* 0 the leader, w + 1 parallel worker w */
} KmeansStartResult;

/* What a process running starts needs: the points and scratch space of its own. */
typedef struct KmeansRun
{
	const double *points;		/* n x dims (standardized if asked): the tree's copy, or sorted */
	int64		n;
	int			dims;
	int			k;
	int			trials;			/* k-means++ candidates per centre */
	uint64		seed;
	KmeansTree *tree;			/* NULL: the starts run over the points */
	double	   *centroids;
	double	   *distance;
	double	   *upper;
	double	   *lower;
	int		   *assignment;
} KmeansRun;

#define KMEANS_SPLITMIX_STEP UINT64CONST(0x9E3779B97F4A7C15)

static void
kmeans_run_prepare(KmeansRun *run, bool use_tree)
{
	int64		n = run->n;

	run->tree = use_tree ? kmeans_tree_build(run->points, n, run->dims, run->k) : NULL;
	/* down the tree, the starts run over its copy: the points in its order */
	if (run->tree != NULL)
		run->points = run->tree->points;
	run->centroids = palloc(sizeof(double) * run->k * run->dims);
	run->distance = kmeans_alloc_big(sizeof(double) * n);
	run->upper = kmeans_alloc_big(sizeof(double) * n);
	run->lower = kmeans_alloc_big(sizeof(double) * n);
	run->assignment = kmeans_alloc_big(sizeof(int) * n);
}

static void
kmeans_run_free(KmeansRun *run)
{
	if (run->tree != NULL)
		kmeans_tree_free(run->tree);
	pfree(run->centroids);
	pfree(run->distance);
	pfree(run->upper);
	pfree(run->lower);
	pfree(run->assignment);
}

/* One start (0-based): seeding, Lloyd's iterations, Hartigan's refinement; its centroids to end. */
static void
kmeans_run_start(KmeansRun *run, int start, KmeansStartResult *result, double *end)
{
	const double *points = run->points;
	int64		n = run->n;
	int			dims = run->dims;
	int			k = run->k;
	uint64		rng = run->seed + (uint64) start * (uint64) (1 + (k - 1) * run->trials) * KMEANS_SPLITMIX_STEP;
	bool		converged;
	double		inertia;
	int			iterations = 0,
				refine_iterations = 0;
	int64		moves = 0;
	instr_time	s0,
				s1,
				s2,
				s3;

	CHECK_FOR_INTERRUPTS();
	INSTR_TIME_SET_CURRENT(s0);
	if (run->tree != NULL)
		kmeans_plus_plus_tree(run->tree, points, n, dims, k, run->trials, &rng, run->centroids, run->upper);
	else
		kmeans_plus_plus(points, n, dims, k, run->trials, &rng, run->centroids, run->distance, run->upper, run->lower, run->assignment);
	INSTR_TIME_SET_CURRENT(s1);
	inertia = kmeans_lloyd(points, n, dims, k, run->centroids, run->assignment, run->distance, run->upper, run->lower,
						   false, &converged, &iterations, run->tree);
	INSTR_TIME_SET_CURRENT(s2);
	if (converged &&
		(moves = kmeans_hartigan(points, n, dims, k, run->centroids, run->assignment, run->lower, run->upper, run->distance)) > 0)
		/* from the refined means, until the nearest centroids are the clusters again */
		inertia = kmeans_lloyd(points, n, dims, k, run->centroids, run->assignment, run->distance, run->upper, run->lower,
							   true, &converged, &refine_iterations, run->tree);
	INSTR_TIME_SET_CURRENT(s3);
	result->inertia = inertia;
	result->converged = converged;
	result->iterations = iterations;
	result->refine_iterations = refine_iterations;
	result->moves = moves;
	result->seeding_ms = kmeans_ms(s0, s1);
	result->lloyd_ms = kmeans_ms(s1, s2);
	result->hartigan_ms = kmeans_ms(s2, s3);
	memcpy(end, run->centroids, sizeof(double) * k * dims);
}

/* Runs starts, taking the next one not taken (by any process) from next, until none is left. */
static void
kmeans_run_starts(KmeansRun *run, int starts, pg_atomic_uint32 *next, KmeansStartResult *results,
				  double *ends, int process)
{
	for (;;)
	{
		uint32		start = pg_atomic_fetch_add_u32(next, 1);

		if (start >= (uint32) starts)
			break;
		kmeans_run_start(run, (int) start, &results[start], ends + (int64) start * run->k * run->dims);
		results[start].process = process;
	}
}

/*
 * Parallel starts. When a fit runs several starts on enough points, the final function starts
 * parallel workers (as a parallel query or index build does: a dynamic shared memory segment,
 * workers of max_worker_processes) that take starts as the leader does, each over the same
 * points with a k-d tree of its own; the results are those of one process, bit for bit. Also
 * under a parallel plan's Finalize Aggregate (the leader may run several parallel contexts, as
 * a plan's Gather nodes do; its partial-aggregate workers are done by then, their slots freed
 * as they exit); never from within a parallel worker, nor for a single-user backend.
 */
#define KMEANS_KEY_SHARED	UINT64CONST(0xC4A3000000000001)
#define KMEANS_KEY_POINTS	UINT64CONST(0xC4A3000000000002)
#define KMEANS_KEY_RESULTS	UINT64CONST(0xC4A3000000000003)
#define KMEANS_KEY_ENDS		UINT64CONST(0xC4A3000000000004)

/* Work (points x k x features) below which a worker's start-up (a few ms) is not worth it. */
#define KMEANS_PARALLEL_MIN_WORK 1000000.0
/* Points (bytes) above which they are not copied into shared memory (a host's /dev/shm may be small). */
#define KMEANS_PARALLEL_MAX_BYTES ((double) 1024 * 1024 * 1024)

typedef struct KmeansShared
{
	int64		n;
	int			dims;
	int			k;
	int			trials;
	int			starts;
	uint64		seed;
	bool		use_tree;
	pg_atomic_uint32 next;		/* the next start not taken */
} KmeansShared;

/*
 * Workers for a fit's starts: none for a single start, for two down the k-d tree, for less work
 * than KMEANS_PARALLEL_MIN_WORK or more points than KMEANS_PARALLEL_MAX_BYTES, in a parallel
 * worker or outside a postmaster; else up to max_parallel_workers_per_gather, one less than the
 * starts and one less than the host's processors (the leader takes starts too; the work is all
 * computation, so more processes than processors only add each one's k-d tree). Two starts down
 * the tree take about as long as the points' copy and the worker's own tree: the default fit of
 * 1M points of 3 features (2 starts), fresh sessions paired by hand, took a median 641 ms with a
 * worker against 531 in the backend alone on clustered points, 824 against 723 on uniform ones.
 */
static int
kmeans_parallel_workers(int64 n, int k, int dims, int starts, bool use_tree)
{
	long		processors;
	int			workers;

	if (starts < (use_tree ? 3 : 2) || (double) n * k * dims < KMEANS_PARALLEL_MIN_WORK ||
		(double) n * dims * sizeof(double) > KMEANS_PARALLEL_MAX_BYTES ||
		!IsUnderPostmaster || IsParallelWorker())
		return 0;
	workers = Min(max_parallel_workers_per_gather, starts - 1);
	processors = sysconf(_SC_NPROCESSORS_ONLN);
	if (processors > 0)
		workers = (int) Min((long) workers, processors - 1);
	return Max(workers, 0);
}

/* The library the calling function came from (its pg_proc.probin), for the workers to load; NULL if none. */
static char *
kmeans_library(Oid fn_oid)
{
	HeapTuple	tuple;
	Datum		probin;
	bool		isnull;
	char	   *library = NULL;

	if (!OidIsValid(fn_oid))
		return NULL;
	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(tuple))
		return NULL;
	probin = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_probin, &isnull);
	if (!isnull)
		library = TextDatumGetCString(probin);
	ReleaseSysCache(tuple);
	return library;
}

/*
 * Enters parallel mode and launches up to workers workers over a copy of the run's points in
 * shared memory; returns the context (whose toc holds the results), or NULL (and out of parallel
 * mode) when no segment could be had, the library is unknown or no worker started.
 */
static ParallelContext *
kmeans_parallel_begin(Oid fn_oid, KmeansRun *run, int starts, bool use_tree, int workers,
					  KmeansShared **shared_out)
{
	char	   *library = kmeans_library(fn_oid);
	ParallelContext *pcxt;
	KmeansShared *shared;
	Size		points_size = sizeof(double) * run->n * run->dims;
	Size		results_size = sizeof(KmeansStartResult) * starts;
	Size		ends_size = sizeof(double) * starts * run->k * run->dims;
	double	   *points;

	if (library == NULL)
		return NULL;
	EnterParallelMode();
	pcxt = CreateParallelContext(library, "crm_kmeans_parallel_main", workers);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(KmeansShared));
	shm_toc_estimate_chunk(&pcxt->estimator, points_size);
	shm_toc_estimate_chunk(&pcxt->estimator, results_size);
	shm_toc_estimate_chunk(&pcxt->estimator, ends_size);
	shm_toc_estimate_keys(&pcxt->estimator, 4);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* no segment (too many in use): the leader alone */
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}
	shared = shm_toc_allocate(pcxt->toc, sizeof(KmeansShared));
	shared->n = run->n;
	shared->dims = run->dims;
	shared->k = run->k;
	shared->trials = run->trials;
	shared->starts = starts;
	shared->seed = run->seed;
	shared->use_tree = use_tree;
	pg_atomic_init_u32(&shared->next, 0);
	shm_toc_insert(pcxt->toc, KMEANS_KEY_SHARED, shared);
	points = shm_toc_allocate(pcxt->toc, points_size);
	kmeans_prefault(points, points_size);
	memcpy(points, run->points, points_size);
	shm_toc_insert(pcxt->toc, KMEANS_KEY_POINTS, points);
	shm_toc_insert(pcxt->toc, KMEANS_KEY_RESULTS, shm_toc_allocate(pcxt->toc, results_size));
	shm_toc_insert(pcxt->toc, KMEANS_KEY_ENDS, shm_toc_allocate(pcxt->toc, ends_size));
	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		/* no worker slot free: the leader alone, without the copy */
		WaitForParallelWorkersToFinish(pcxt);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}
	*shared_out = shared;
	return pcxt;
}

/* A parallel worker's entry: starts taken as the leader takes them, over the points in shared memory. */
PGDLLEXPORT void crm_kmeans_parallel_main(dsm_segment *seg, shm_toc *toc);

void
crm_kmeans_parallel_main(dsm_segment *seg, shm_toc *toc)
{
	KmeansShared *shared = shm_toc_lookup(toc, KMEANS_KEY_SHARED, false);
	KmeansRun	run;

	/* every start taken already (the leader ran them all while this worker started up) */
	if (pg_atomic_read_u32(&shared->next) >= (uint32) shared->starts)
		return;
	memset(&run, 0, sizeof(run));
	run.points = shm_toc_lookup(toc, KMEANS_KEY_POINTS, false);
	run.n = shared->n;
	run.dims = shared->dims;
	run.k = shared->k;
	run.trials = shared->trials;
	run.seed = shared->seed;
	kmeans_run_prepare(&run, shared->use_tree);
	/* fewer distinct points than k: the leader reports it */
	if (run.tree == NULL || run.tree->distinct >= run.k)
		kmeans_run_starts(&run, shared->starts, &shared->next,
					  shm_toc_lookup(toc, KMEANS_KEY_RESULTS, false),
					  shm_toc_lookup(toc, KMEANS_KEY_ENDS, false), ParallelWorkerNumber + 1);
	kmeans_run_free(&run);
}

static double *
kmeans_fit(KmeansState *state, Oid fn_oid, double **mean_out, double **scale_out)
{
	int64		n = state->count;
	int			dims = state->dims;
	int			k = state->k;
	int			starts;
	double	   *points,
			   *mean,
			   *scale,
			   *best,
			   *ends;
	double		best_inertia = DBL_MAX;
	bool		use_tree,
				tree_order;
	int			workers,
				launched = 0;
	KmeansRun	run;
	KmeansStartResult *results;
	ParallelContext *pcxt = NULL;
	KmeansShared *shared = NULL;
	instr_time	t0,
				t1,
				t2,
				t3,
				t4;

	INSTR_TIME_SET_CURRENT(t0);
	if (k > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must not exceed the number of points"),
				 errdetail("k is %d but there are %lld points.", k, (long long) n)));

	/*
	 * The points in an order of their own, whatever order the rows arrived in, so that the
	 * result does not depend on it: down the k-d tree (low dimensions, raw features) the tree's
	 * order (kmeans_tree_build: by grid cell along a Morton curve, then by every coordinate), in
	 * which every pass of a start then reads and writes its per-point arrays in sequence;
	 * otherwise, and before standardizing (whose means are sums over the points in order), by
	 * every coordinate. Sorting only reorders the points the state holds, which changes no later
	 * result: the state stays valid for further transitions and final calls. Either order counts
	 * the distinct points: with fewer than k, some clusters would have to be empty or duplicates.
	 */
	use_tree = dims <= KMEANS_TREE_DIMS && n >= KMEANS_TREE_MIN_POINTS && k <= KMEANS_TREE_MAX_K;
	tree_order = use_tree && !state->standardize;
	if (!tree_order)
	{
		int64		distinct = 1;

		kmeans_sort_points(state->points, n, dims);
		for (int64 i = 1; i < n && distinct < k; i++)
			if (compare_rows(state->points + (i - 1) * dims, state->points + i * dims, &dims) != 0)
				distinct++;
		kmeans_require_distinct(k, distinct);
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
		points = kmeans_alloc_big(sizeof(double) * n * dims);
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

	best = palloc(sizeof(double) * k * dims);
	memset(&run, 0, sizeof(run));
	run.points = points;
	run.n = n;
	run.dims = dims;
	run.k = k;
	run.trials = 2 + (int) log((double) k);
	run.seed = (uint64) state->seed;
	starts = kmeans_starts(n, k);
	results = palloc0(sizeof(KmeansStartResult) * starts);
	ends = palloc(sizeof(double) * starts * k * dims);
	INSTR_TIME_SET_CURRENT(t1);
	workers = kmeans_parallel_workers(n, k, dims, starts, use_tree);
	if (workers > 0)
		pcxt = kmeans_parallel_begin(fn_oid, &run, starts, use_tree, workers, &shared);
	INSTR_TIME_SET_CURRENT(t2);
	kmeans_run_prepare(&run, use_tree);
	if (tree_order)
		kmeans_require_distinct(k, run.tree->distinct);
	INSTR_TIME_SET_CURRENT(t3);
	elog(DEBUG1, "crm.kmeans: %lld points, %d dimensions, k = %d, %d starts; sort and checks %.1f ms; tree %.1f ms",
		 (long long) n, dims, k, starts, kmeans_ms(t0, t1), kmeans_ms(t2, t3));
	if (pcxt != NULL)
	{
		KmeansStartResult *shared_results = shm_toc_lookup(pcxt->toc, KMEANS_KEY_RESULTS, false);
		double	   *shared_ends = shm_toc_lookup(pcxt->toc, KMEANS_KEY_ENDS, false);

		kmeans_run_starts(&run, starts, &shared->next, shared_results, shared_ends, 0);
		WaitForParallelWorkersToFinish(pcxt);
		memcpy(results, shared_results, sizeof(KmeansStartResult) * starts);
		memcpy(ends, shared_ends, sizeof(double) * starts * k * dims);
		launched = pcxt->nworkers_launched;
		DestroyParallelContext(pcxt);
		ExitParallelMode();
	}
	else
	{
		pg_atomic_uint32 next;

		pg_atomic_init_u32(&next, 0);
		kmeans_run_starts(&run, starts, &next, results, ends, 0);
	}
	INSTR_TIME_SET_CURRENT(t4);
	for (int start = 0; start < starts; start++)
	{
		KmeansStartResult *r = &results[start];

		if (!r->converged)
			elog(DEBUG1, "crm.kmeans: start %d stopped after %d iterations without converging",
				 start + 1, KMEANS_MAX_ITERATIONS);
		elog(DEBUG1, "crm.kmeans: start %d: seeding %.1f ms, Lloyd %d iterations %.1f ms, Hartigan %lld moves and %d exact passes %.1f ms, inertia %.17g (process %d)",
			 start + 1, r->seeding_ms, r->iterations, r->lloyd_ms, (long long) r->moves,
			 r->refine_iterations + 1, r->hartigan_ms, r->inertia, r->process);
		/* the lowest inertia, the first start of equal ones: as one process running them in order */
		if (r->inertia < best_inertia)
		{
			best_inertia = r->inertia;
			memcpy(best, ends + (int64) start * k * dims, sizeof(double) * k * dims);
		}
	}
	elog(DEBUG1, "crm.kmeans: starts %.1f ms; processes %d (parallel workers: %d launched of %d planned; setup %.1f ms)",
		 kmeans_ms(t3, t4), launched + 1, launched, workers, kmeans_ms(t1, t2));
	qsort_arg(best, k, sizeof(double) * dims, compare_rows, &dims);
	kmeans_run_free(&run);
	if (points != state->points)
		pfree(points);
	pfree(results);
	pfree(ends);
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
	best = kmeans_fit(state, fcinfo->flinfo->fn_oid, &mean, &scale);
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
	best = kmeans_fit(state, fcinfo->flinfo->fn_oid, &mean, &scale);
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

/* ---------------------------------------------------------------------------------------------
 * crm.kmeans_state: the aggregates' partial state as a real type, so that Citus can aggregate
 * per shard and ship the states (as text) and parallel query can pass them between processes.
 * During aggregation it is an expanded object (the KmeansState above, in its own memory context
 * under the aggregate's) that the transition function appends to in place: no copy and no
 * allocation per row beyond the points array's amortised doubling. Stored or shipped it is
 * FlatKmeansState. The final function sorts the points before seeding, so the answer does not
 * depend on the order rows or partial states arrive in.
 */

static Size kmeans_state_flat_size(ExpandedObjectHeader *eohptr);
static void kmeans_state_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods kmeans_state_methods = {
	kmeans_state_flat_size,
	kmeans_state_flatten
};

static Size
kmeans_state_flat_size(ExpandedObjectHeader *eohptr)
{
	KmeansState *state = (KmeansState *) eohptr;

	return FLAT_KMEANS_HEADER + sizeof(double) * state->count * state->dims;
}

static void
kmeans_state_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	KmeansState *state = (KmeansState *) eohptr;
	FlatKmeansState *flat = (FlatKmeansState *) result;

	Assert(allocated_size == kmeans_state_flat_size(eohptr));
	memset(flat, 0, FLAT_KMEANS_HEADER);
	SET_VARSIZE(flat, allocated_size);
	flat->version = KMEANS_STATE_VERSION;
	flat->k = state->k;
	flat->dims = state->dims;
	flat->standardize = state->standardize;
	flat->seed = state->seed;
	flat->count = state->count;
	if (state->count > 0)
		memcpy(flat->points, state->points, sizeof(double) * state->count * state->dims);
}

/* A new, empty crm.kmeans_state in its own context under parent. */
static KmeansState *
kmeans_state_new(MemoryContext parent, int k, int64 seed, bool standardize)
{
	MemoryContext context = AllocSetContextCreate(parent, "crm.kmeans state", ALLOCSET_SMALL_SIZES);
	KmeansState *state = MemoryContextAllocZero(context, sizeof(KmeansState));

	EOH_init_header(&state->header, &kmeans_state_methods, context);
	state->k = k;
	state->seed = seed;
	state->standardize = standardize;
	return state;
}

/* A stored state: its length and header were checked on input; re-checked here cheaply. */
static FlatKmeansState *
kmeans_flat_from_datum(Datum datum)
{
	FlatKmeansState *flat = (FlatKmeansState *) PG_DETOAST_DATUM(datum);

	if (VARSIZE(flat) < FLAT_KMEANS_HEADER || flat->version != KMEANS_STATE_VERSION ||
		flat->k < 1 || flat->dims < 0 || flat->count < 0 || (flat->dims == 0) != (flat->count == 0) ||
		(flat->dims > 0 && flat->count > kmeans_max_points(flat->dims)) ||
		VARSIZE(flat) != FLAT_KMEANS_HEADER + sizeof(double) * flat->count * flat->dims)
		elog(ERROR, "corrupt crm.kmeans_state (%u bytes)", (unsigned) VARSIZE(flat));
	return flat;
}

/*
 * The state a datum holds, read only: the expanded object itself, or a KmeansState (in view)
 * whose points are the stored value's.
 */
static KmeansState *
kmeans_state_view(Datum datum, KmeansState *view)
{
	FlatKmeansState *flat;

	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(datum)))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(datum);

		if (eoh->eoh_methods != &kmeans_state_methods)
			elog(ERROR, "expected an expanded crm.kmeans_state");
		return (KmeansState *) eoh;
	}
	flat = kmeans_flat_from_datum(datum);
	memset(view, 0, sizeof(KmeansState));
	view->k = flat->k;
	view->dims = flat->dims;
	view->seed = flat->seed;
	view->standardize = flat->standardize != 0;
	view->count = flat->count;
	view->capacity = flat->count;
	view->points = flat->points;
	return view;
}

/* Appends the points of other to state (same parameters, same dimensions). */
static void
kmeans_state_append(KmeansState *state, const KmeansState *other)
{
	kmeans_require_same(state, other->k, other->seed, other->standardize);
	if (other->count == 0)
		return;
	kmeans_set_dims(state, other->dims);
	kmeans_reserve(state, state->count + other->count);
	memcpy(state->points + state->count * state->dims, other->points,
		   sizeof(double) * other->count * other->dims);
	state->count += other->count;
}

/*
 * The state a transition or combine function updates: argument 0 in place when it is the
 * aggregate's own expanded object (every row after a group's first); else a new expanded object
 * in the aggregate's memory (or the current one outside an aggregate) holding argument 0's points.
 * NULL when argument 0 is NULL.
 */
static KmeansState *
kmeans_state_for_update(FunctionCallInfo fcinfo)
{
	MemoryContext aggregate_context;
	KmeansState view;
	KmeansState *source,
			   *state;

	if (PG_ARGISNULL(0))
		return NULL;
	if (!AggCheckCallContext(fcinfo, &aggregate_context))
		aggregate_context = CurrentMemoryContext;
	else if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(0))))
	{
		state = (KmeansState *) DatumGetEOHP(PG_GETARG_DATUM(0));
		if (likely(state->header.eoh_methods == &kmeans_state_methods))
			return state;
	}
	source = kmeans_state_view(PG_GETARG_DATUM(0), &view);
	state = kmeans_state_new(aggregate_context, source->k, source->seed, source->standardize);
	kmeans_state_append(state, source);
	return state;
}

/* The memory a group's first state goes in. */
static MemoryContext
kmeans_new_state_context(FunctionCallInfo fcinfo)
{
	MemoryContext aggregate_context;

	if (!AggCheckCallContext(fcinfo, &aggregate_context))
		aggregate_context = CurrentMemoryContext;
	return aggregate_context;
}

/*
 * The coordinates of a features array, without copying when it can (one-dimensional, no NULLs):
 * then a pointer into the array. Every coordinate must be finite.
 */
static const double *
kmeans_features(ArrayType *array, int *dims)
{
	const double *values;
	int			n;

	if (ARR_NDIM(array) != 1 || ARR_HASNULL(array) || ARR_ELEMTYPE(array) != FLOAT8OID)
		return crm_float8_array(array, "features", true, dims);
	n = ARR_DIMS(array)[0];
	values = (const double *) ((const char *) array + ARR_OVERHEAD_NONULLS(1));
	for (int j = 0; j < n; j++)
		if (unlikely(!isfinite(values[j])))
			return crm_float8_array(array, "features", true, dims);
	*dims = n;
	return values;
}

/*
 * The coordinates of a features array stored in the short form (a 1-byte length word: arrays of
 * up to 13 numbers, as a few features are stored in a row), read where they lie instead of
 * copied into a 4-byte-header array first (which detoasting does, once per row); into buffer.
 * NULL unless the array is one-dimensional, without NULLs, of float8 and all finite (the general
 * path then reads it, and reports what is wrong).
 */
#define KMEANS_PACKED_MAX 13

static const double *
kmeans_features_packed(Datum datum, double *buffer, int *dims)
{
	const char *raw = DatumGetPointer(datum);
	const char *body;
	Size		length;
	int32		ndim,
				dataoffset,
				n;
	Oid			elemtype;

	if (!VARATT_IS_SHORT(raw))
		return NULL;
	body = VARDATA_SHORT(raw);
	length = VARSIZE_SHORT(raw) - VARHDRSZ_SHORT;
	/* the array's header less its length word: ndim, dataoffset, elemtype, dims[1], lbound[1] */
	if (length < 5 * sizeof(int32))
		return NULL;
	memcpy(&ndim, body, sizeof(int32));
	memcpy(&dataoffset, body + sizeof(int32), sizeof(int32));
	memcpy(&elemtype, body + 2 * sizeof(int32), sizeof(Oid));
	memcpy(&n, body + 3 * sizeof(int32), sizeof(int32));
	if (ndim != 1 || dataoffset != 0 || elemtype != FLOAT8OID || n < 1 || n > KMEANS_PACKED_MAX ||
		ARR_OVERHEAD_NONULLS(1) - VARHDRSZ + sizeof(double) * n != length)
		return NULL;
	memcpy(buffer, body + ARR_OVERHEAD_NONULLS(1) - VARHDRSZ, sizeof(double) * n);
	for (int j = 0; j < n; j++)
		if (unlikely(!isfinite(buffer[j])))
			return NULL;
	*dims = n;
	return buffer;
}

PG_FUNCTION_INFO_V1(crm_kmeans_state_transition);
/* Transition of crm.kmeans on crm.kmeans_state: appends one feature vector (NULL rows skipped). */
Datum
crm_kmeans_state_transition(PG_FUNCTION_ARGS)
{
	KmeansState *state;
	int			k;
	int64		seed = KMEANS_DEFAULT_SEED;
	bool		standardize = false;
	const double *features;
	double		packed[KMEANS_PACKED_MAX];
	int			dims;

	if (PG_ARGISNULL(2) || (PG_NARGS() > 3 && PG_ARGISNULL(3)) || (PG_NARGS() > 4 && PG_ARGISNULL(4)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k, seed and standardize of crm.kmeans must not be NULL")));
	k = PG_GETARG_INT32(2);
	if (PG_NARGS() > 3)
		seed = PG_GETARG_INT32(3);
	if (PG_NARGS() > 4)
		standardize = PG_GETARG_BOOL(4);

	state = kmeans_state_for_update(fcinfo);
	if (state == NULL)
	{
		if (k < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("k must be at least 1"),
					 errdetail("The k given was %d.", k)));
		state = kmeans_state_new(kmeans_new_state_context(fcinfo), k, seed, standardize);
	}
	else if (unlikely(k != state->k || seed != state->seed || standardize != state->standardize))
		kmeans_require_same(state, k, seed, standardize);

	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
	features = kmeans_features_packed(PG_GETARG_DATUM(1), packed, &dims);
	if (features == NULL)
		features = kmeans_features(PG_GETARG_ARRAYTYPE_P(1), &dims);
	if (dims == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must not be empty")));
	if (unlikely(dims != state->dims))
		kmeans_set_dims(state, dims);
	if (unlikely(state->count >= state->capacity))
		kmeans_reserve(state, state->count + 1);
	{
		double	   *into = state->points + state->count * dims;

		/* -0 is stored as 0: one state, one text and one binary form */
		for (int j = 0; j < dims; j++)
			into[j] = features[j] + 0.0;
	}
	state->count++;
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
}

PG_FUNCTION_INFO_V1(crm_kmeans_state_combine);
/* Combine of crm.kmeans on crm.kmeans_state: the points of both (into the first in place). */
Datum
crm_kmeans_state_combine(PG_FUNCTION_ARGS)
{
	KmeansState *state;
	KmeansState view;
	KmeansState *other;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		state = kmeans_state_for_update(fcinfo);
		PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
	}
	other = kmeans_state_view(PG_GETARG_DATUM(1), &view);
	state = kmeans_state_for_update(fcinfo);
	if (state == NULL)
		state = kmeans_state_new(kmeans_new_state_context(fcinfo), other->k, other->seed, other->standardize);
	kmeans_state_append(state, other);
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
}

/*
 * The points a final function fits: the aggregate's own state (sorted in place by the fit, which
 * changes no later result), or a copy of a state given by hand.
 */
static KmeansState *
kmeans_state_for_fit(FunctionCallInfo fcinfo, KmeansState *copy)
{
	KmeansState view;
	KmeansState *state = kmeans_state_view(PG_GETARG_DATUM(0), &view);

	if (AggCheckCallContext(fcinfo, NULL) && VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(0))))
		return state;
	*copy = *state;
	memset(&copy->header, 0, sizeof(copy->header));
	if (state->count > 0)
	{
		copy->points = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * state->count * state->dims);
		memcpy(copy->points, state->points, sizeof(double) * state->count * state->dims);
	}
	return copy;
}

PG_FUNCTION_INFO_V1(crm_kmeans_state_final);
/* Final of crm.kmeans(features, k[, seed]): the centroids (k x d, rows ascending); NULL for no points. */
Datum
crm_kmeans_state_final(PG_FUNCTION_ARGS)
{
	KmeansState copy;
	KmeansState *state;
	double	   *mean,
			   *scale,
			   *best;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = kmeans_state_for_fit(fcinfo, &copy);
	if (state->count == 0)
		PG_RETURN_NULL();
	best = kmeans_fit(state, fcinfo->flinfo->fn_oid, &mean, &scale);
	if (state->standardize)
	{
		/* a state of the four-argument form given by hand: the centroids in the original units */
		for (int64 i = 0; i < (int64) state->k * state->dims; i++)
			best[i] = best[i] * scale[i % state->dims] + mean[i % state->dims];
	}
	PG_RETURN_ARRAYTYPE_P(centroid_array(best, state->k, state->dims));
}

PG_FUNCTION_INFO_V1(crm_kmeans_state_model_final);
/* Final of crm.kmeans(features, k, seed, standardize): the crm.kmeans_model; NULL for no points. */
Datum
crm_kmeans_state_model_final(PG_FUNCTION_ARGS)
{
	KmeansState copy;
	KmeansState *state;
	double	   *mean,
			   *scale,
			   *best;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = kmeans_state_for_fit(fcinfo, &copy);
	if (state->count == 0)
		PG_RETURN_NULL();
	best = kmeans_fit(state, fcinfo->flinfo->fn_oid, &mean, &scale);
	PG_RETURN_POINTER(kmeans_model_make(state->k, state->dims, mean, scale, best));
}

/* A stored crm.kmeans_state; points (count x dims) copied when given, else left zero. */
static FlatKmeansState *
kmeans_flat_make(int k, int dims, int64 seed, bool standardize, int64 count, const double *points)
{
	Size		size = FLAT_KMEANS_HEADER + sizeof(double) * count * dims;
	FlatKmeansState *flat = palloc0(size);

	SET_VARSIZE(flat, size);
	flat->version = KMEANS_STATE_VERSION;
	flat->k = k;
	flat->dims = dims;
	flat->standardize = standardize ? 1 : 0;
	flat->seed = seed;
	flat->count = count;
	if (points != NULL && count > 0)
		memcpy(flat->points, points, sizeof(double) * count * dims);
	return flat;
}

static void
state_text_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.kmeans_state: \"%s\"", input),
			 errdetail("%s", detail)));
}

/* A decimal integer in [low, high] after optional spaces. */
static int64
text_integer(const char *input, const char **cursor, int64 low, int64 high,
			 void (*fail) (const char *, const char *), const char *what)
{
	char	   *end;
	long long	value;

	model_skip_spaces(cursor);
	if (!((**cursor >= '0' && **cursor <= '9') || **cursor == '-'))
		fail(input, psprintf("Expected %s at character %d.", what, (int) (*cursor - input) + 1));
	errno = 0;
	value = strtoll(*cursor, &end, 10);
	if (end == *cursor || errno != 0 || value < low || value > high)
		fail(input, psprintf("%s must be an integer from %lld to %lld.", what, (long long) low, (long long) high));
	*cursor = end;
	return value;
}

/* A keyword: the token, then a space or the end. */
static void
text_keyword(const char *input, const char **cursor, const char *token,
			 void (*fail) (const char *, const char *))
{
	size_t		length = strlen(token);

	model_skip_spaces(cursor);
	if (strncmp(*cursor, token, length) != 0 ||
		((*cursor)[length] != ' ' && (*cursor)[length] != '\t' && (*cursor)[length] != '\n' &&
		 (*cursor)[length] != '\r' && (*cursor)[length] != '{' && (*cursor)[length] != '\0'))
		fail(input, psprintf("Expected \"%s\" at character %d.", token, (int) (*cursor - input) + 1));
	*cursor += length;
}

PG_FUNCTION_INFO_V1(crm_kmeans_state_in);
/* Text input: v1 k <k> seed <seed> standardize <true|false> points {{x,...},...} (or {}). */
Datum
crm_kmeans_state_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *cursor = input;
	int64		count = 0,
				capacity = 64;
	double	   *values = palloc(sizeof(double) * capacity);
	int			k,
				dims = 0;
	int64		seed,
				points = 0;
	bool		standardize;

	text_keyword(input, &cursor, "v1", state_text_error);
	text_keyword(input, &cursor, "k", state_text_error);
	k = (int) text_integer(input, &cursor, 1, PG_INT32_MAX, state_text_error, "k");
	text_keyword(input, &cursor, "seed", state_text_error);
	seed = text_integer(input, &cursor, PG_INT32_MIN, PG_INT32_MAX, state_text_error, "seed");
	text_keyword(input, &cursor, "standardize", state_text_error);
	model_skip_spaces(&cursor);
	if (strncmp(cursor, "true", 4) == 0)
		standardize = true, cursor += 4;
	else if (strncmp(cursor, "false", 5) == 0)
		standardize = false, cursor += 5;
	else
		state_text_error(input, "standardize must be true or false.");
	text_keyword(input, &cursor, "points", state_text_error);
	model_expect(input, &cursor, "{");
	model_skip_spaces(&cursor);
	if (*cursor != '}')
	{
		do
		{
			int			n;

			if ((points & 0xFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			n = model_parse_vector(input, &cursor, &values, &count, &capacity);
			if (points == 0)
				dims = n;
			else if (n != dims)
				state_text_error(input, psprintf("Point %lld has another number of coordinates than the first.", (long long) points + 1));
			points++;
			model_skip_spaces(&cursor);
		} while (*cursor == ',' && cursor++);
	}
	model_expect(input, &cursor, "}");
	model_skip_spaces(&cursor);
	if (*cursor != '\0')
		state_text_error(input, psprintf("Unexpected text at character %d.", (int) (cursor - input) + 1));
	if (dims > 0 && points > kmeans_max_points(dims))
		state_text_error(input, "The state is too large.");
	for (int64 i = 0; i < count; i++)
		if (!isfinite(values[i]))
			state_text_error(input, "A coordinate is not a finite number.");
	PG_RETURN_POINTER(kmeans_flat_make(k, dims, seed, standardize, points, values));
}

/* The shortest decimal that reads back as the same double (independent of extra_float_digits). */
static void
append_double(StringInfo text, double value)
{
	char		buffer[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(value, buffer);
	appendStringInfoString(text, buffer);
}

PG_FUNCTION_INFO_V1(crm_kmeans_state_out);
/* Text output, the form crm_kmeans_state_in reads; shortest exact decimals, so it round-trips. */
Datum
crm_kmeans_state_out(PG_FUNCTION_ARGS)
{
	KmeansState view;
	KmeansState *state = kmeans_state_view(PG_GETARG_DATUM(0), &view);
	StringInfoData text;

	initStringInfo(&text);
	appendStringInfo(&text, "v1 k %d seed %lld standardize %s points {", state->k,
					 (long long) state->seed, state->standardize ? "true" : "false");
	for (int64 i = 0; i < state->count; i++)
	{
		if ((i & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		appendStringInfoString(&text, i > 0 ? ",{" : "{");
		for (int j = 0; j < state->dims; j++)
		{
			if (j > 0)
				appendStringInfoChar(&text, ',');
			append_double(&text, state->points[i * state->dims + j]);
		}
		appendStringInfoChar(&text, '}');
	}
	appendStringInfoChar(&text, '}');
	PG_RETURN_CSTRING(text.data);
}

static void
state_binary_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary crm.kmeans_state"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_kmeans_state_recv);
/*
 * Binary input: version word (1), k, d, standardize (0 or 1) as int4, seed and the number of
 * points as int8, then points x d coordinates as float8; every value validated (22P03).
 */
Datum
crm_kmeans_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	uint32		version;
	int32		k,
				dims,
				standardize;
	int64		seed,
				count;
	FlatKmeansState *flat;

	if (buffer->len - buffer->cursor < 32)
		state_binary_error("It is shorter than its header (32 bytes).");
	version = pq_getmsgint(buffer, sizeof(uint32));
	if (version != KMEANS_STATE_VERSION)
		state_binary_error(psprintf("Unknown version word %u; this build reads version %d.", version, KMEANS_STATE_VERSION));
	k = (int32) pq_getmsgint(buffer, sizeof(int32));
	dims = (int32) pq_getmsgint(buffer, sizeof(int32));
	standardize = (int32) pq_getmsgint(buffer, sizeof(int32));
	seed = pq_getmsgint64(buffer);
	count = pq_getmsgint64(buffer);
	if (k < 1 || dims < 0 || (standardize != 0 && standardize != 1) ||
		seed < PG_INT32_MIN || seed > PG_INT32_MAX || count < 0 || (dims == 0) != (count == 0) ||
		(dims > 0 && count > kmeans_max_points(dims)))
		state_binary_error(psprintf("k = %d, d = %d, standardize = %d, seed = %lld and %lld points are not a valid state.",
									k, dims, standardize, (long long) seed, (long long) count));
	if (count * dims * (int64) sizeof(double) != (int64) (buffer->len - buffer->cursor))
		state_binary_error(psprintf("%lld points of %d coordinates need %lld bytes, not %d.", (long long) count, dims,
									(long long) (count * dims * sizeof(double)), buffer->len - buffer->cursor));
	flat = kmeans_flat_make(k, dims, seed, standardize == 1, count, NULL);
	for (int64 i = 0; i < count * dims; i++)
	{
		double		value = pq_getmsgfloat8(buffer);

		if (!isfinite(value))
			state_binary_error("A coordinate is not a finite number.");
		flat->points[i] = value + 0.0;
	}
	PG_RETURN_POINTER(flat);
}

PG_FUNCTION_INFO_V1(crm_kmeans_state_send);
/* Binary output, the form crm_kmeans_state_recv reads. */
Datum
crm_kmeans_state_send(PG_FUNCTION_ARGS)
{
	KmeansState view;
	KmeansState *state = kmeans_state_view(PG_GETARG_DATUM(0), &view);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, KMEANS_STATE_VERSION);
	pq_sendint32(&buffer, state->k);
	pq_sendint32(&buffer, state->dims);
	pq_sendint32(&buffer, state->standardize ? 1 : 0);
	pq_sendint64(&buffer, state->seed);
	pq_sendint64(&buffer, state->count);
	for (int64 i = 0; i < state->count * state->dims; i++)
		pq_sendfloat8(&buffer, state->points[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

/* ---------------------------------------------------------------------------------------------
 * Distributed fitting (crm.kmeans_table): pushed-down passes that move O(model) bytes.
 *
 * crm.kmeans_step(features, model) → crm.kmeans_step_state: for the model's k centroids, the
 * number of points nearest each, the sum of those points (in the model's standardized units) and
 * the inertia (the sum of squared distances to the nearest centroid). A fixed size once k and d
 * are known: 32 + 8k(d + 1) bytes, updated in place, combined by adding. One Lloyd step is one
 * such pass; so is the cost φ of k-means‖ seeding, and the candidates' weights.
 */
#define KMEANS_STEP_VERSION 1

typedef struct KmeansStep
{
	int32		vl_len_;
	uint32		version;
	int32		k;
	int32		dims;
	int32		reserved;
	double		inertia;
	double		values[FLEXIBLE_ARRAY_MEMBER];	/* counts[k] (as int64), sums[k * d] */
} KmeansStep;

#define KMEANS_STEP_SIZE(k, d) (offsetof(KmeansStep, values) + sizeof(double) * ((int64) (k) + (int64) (k) * (d)))
#define KMEANS_STEP_COUNTS(s) ((int64 *) (s)->values)
#define KMEANS_STEP_SUMS(s) ((s)->values + (s)->k)

StaticAssertDecl(offsetof(KmeansStep, values) == 32, "the step state's header is 32 bytes");
StaticAssertDecl(sizeof(int64) == sizeof(double), "counts share the values array");

/* Counts beyond int64 or sums beyond double's range: only states given by hand get there. */
static pg_noinline void
kmeans_step_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("crm.kmeans_step state out of range"),
			 errdetail("A count exceeds the bigint range, or a sum or the inertia the double precision range.")));
}

static KmeansStep *
kmeans_step_new(int k, int dims)
{
	KmeansStep *state = palloc0(KMEANS_STEP_SIZE(k, dims));

	SET_VARSIZE(state, KMEANS_STEP_SIZE(k, dims));
	state->version = KMEANS_STEP_VERSION;
	state->k = k;
	state->dims = dims;
	return state;
}

static bool
kmeans_step_shape_ok(int64 k, int64 dims)
{
	return k >= 1 && dims >= 1 && k <= INT_MAX && dims <= INT_MAX &&
		(double) offsetof(KmeansStep, values) + 8.0 * ((double) k + (double) k * dims) <= (double) MaxAllocSize;
}

/* NULL when counts, sums and inertia are a valid state, else what is wrong. */
static const char *
kmeans_step_problem(const KmeansStep *state)
{
	const int64 *counts = KMEANS_STEP_COUNTS(state);
	const double *sums = KMEANS_STEP_SUMS(state);

	if (!isfinite(state->inertia) || state->inertia < 0)
		return "The inertia is not a finite, non-negative number.";
	for (int c = 0; c < state->k; c++)
	{
		if (counts[c] < 0)
			return "A count is negative.";
		for (int j = 0; j < state->dims; j++)
		{
			double		sum = sums[(int64) c * state->dims + j];

			if (!isfinite(sum))
				return "A sum is not a finite number.";
			if (counts[c] == 0 && sum != 0)
				return "A cluster without points has a sum other than 0.";
		}
	}
	return NULL;
}

static KmeansStep *
kmeans_step_from_datum(Datum datum)
{
	KmeansStep *state = (KmeansStep *) PG_DETOAST_DATUM(datum);

	if (VARSIZE(state) < offsetof(KmeansStep, values) || state->version != KMEANS_STEP_VERSION ||
		state->reserved != 0 || !kmeans_step_shape_ok(state->k, state->dims) ||
		VARSIZE(state) != KMEANS_STEP_SIZE(state->k, state->dims))
		elog(ERROR, "corrupt crm.kmeans_step_state (%u bytes)", (unsigned) VARSIZE(state));
	return state;
}

/* A copy a direct call may change (its argument must stay as it is). */
static KmeansStep *
kmeans_step_copy(const KmeansStep *state)
{
	KmeansStep *copy = palloc(VARSIZE(state));

	memcpy(copy, state, VARSIZE(state));
	return copy;
}

/*
 * The state argument 0 holds, to update: in place when the executor owns it (an aggregate's
 * transition or combine, a plain 4-byte-header value), else a copy. NULL for NULL.
 */
static KmeansStep *
kmeans_step_for_update(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		return NULL;
	if (AggCheckCallContext(fcinfo, NULL) && VARATT_IS_4B_U(DatumGetPointer(PG_GETARG_DATUM(0))))
		return (KmeansStep *) DatumGetPointer(PG_GETARG_DATUM(0));
	return kmeans_step_copy(kmeans_step_from_datum(PG_GETARG_DATUM(0)));
}

static void
kmeans_step_require_shape(const KmeansStep *state, int k, int dims)
{
	if (state->k != k || state->dims != dims)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("crm.kmeans_step states of different shapes cannot be combined"),
				 errdetail("One has k = %d and d = %d, the other k = %d and d = %d.", state->k, state->dims, k, dims),
				 errhint("Use the same model for every row of crm.kmeans_step.")));
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_transition);
/* crm.kmeans_step transition: the point (standardized by the model) to its nearest centroid's sums. */
Datum
crm_kmeans_step_transition(PG_FUNCTION_ARGS)
{
	KmeansStep *state;
	KmeansModel *model;
	const double *features;
	const double *mean,
			   *scale;
	double		local[16];
	double	   *z;
	double		distance;
	int			dims,
				c;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the model of crm.kmeans_step must not be NULL")));
	state = kmeans_step_for_update(fcinfo);
	if (PG_ARGISNULL(1))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	model = PG_GETARG_KMEANS_MODEL_P(2);
	if (unlikely(state == NULL))
	{
		kmeans_model_check(model);
		state = kmeans_step_new(model->k, model->dims);
	}
	else if (unlikely(state->k != model->k || state->dims != model->dims))
		kmeans_step_require_shape(state, model->k, model->dims);
	features = kmeans_features(PG_GETARG_ARRAYTYPE_P(1), &dims);
	if (dims != model->dims)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features and model must have the same number of dimensions"),
				 errdetail("The features have %d dimensions, the model %d.", dims, model->dims)));
	z = dims <= (int) lengthof(local) ? local : palloc(sizeof(double) * dims);
	mean = KMEANS_MODEL_MEAN(model);
	scale = KMEANS_MODEL_SCALE(model);
	/* the expression kmeans_fit and kmeans_assign standardize with */
	for (int j = 0; j < dims; j++)
		z[j] = (features[j] - mean[j]) / scale[j];
	c = nearest_centroid(z, KMEANS_MODEL_CENTROIDS(model), model->k, dims, &distance);
	KMEANS_STEP_COUNTS(state)[c]++;
	{
		double	   *sum = KMEANS_STEP_SUMS(state) + (int64) c * dims;

		bool		finite = true;

		for (int j = 0; j < dims; j++)
		{
			sum[j] += z[j];
			finite &= isfinite(sum[j]);
		}
		state->inertia += distance;
		if (unlikely(!finite || !isfinite(state->inertia)))
			kmeans_step_out_of_range();
	}
	if (z != local)
		pfree(z);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_combine);
/* crm.kmeans_step combine: adds counts, sums and inertia (into the first in place). */
Datum
crm_kmeans_step_combine(PG_FUNCTION_ARGS)
{
	KmeansStep *state;
	KmeansStep *other;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(kmeans_step_for_update(fcinfo));
	}
	other = kmeans_step_from_datum(PG_GETARG_DATUM(1));
	state = kmeans_step_for_update(fcinfo);
	if (state == NULL)
		PG_RETURN_POINTER(kmeans_step_copy(other));
	kmeans_step_require_shape(state, other->k, other->dims);
	for (int c = 0; c < state->k; c++)
		if (pg_add_s64_overflow(KMEANS_STEP_COUNTS(state)[c], KMEANS_STEP_COUNTS(other)[c], &KMEANS_STEP_COUNTS(state)[c]))
			kmeans_step_out_of_range();
	for (int64 i = 0; i < (int64) state->k * state->dims; i++)
	{
		KMEANS_STEP_SUMS(state)[i] += KMEANS_STEP_SUMS(other)[i];
		if (!isfinite(KMEANS_STEP_SUMS(state)[i]))
			kmeans_step_out_of_range();
	}
	state->inertia += other->inertia;
	if (!isfinite(state->inertia))
		kmeans_step_out_of_range();
	PG_RETURN_POINTER(state);
}

static void
step_text_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.kmeans_step_state: \"%s\"", input),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_in);
/* Text input: v1 inertia <x> counts {n,...} sums {{s,...},...}; every value validated (22P02). */
Datum
crm_kmeans_step_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *cursor = input;
	int64		count = 0,
				capacity = 64;
	double	   *values = palloc(sizeof(double) * capacity);
	int64	   *counts;
	int			k = 0,
				dims = 0,
				rows = 0;
	double		inertia;
	const char *end;
	const char *problem;
	KmeansStep *state;

	text_keyword(input, &cursor, "v1", step_text_error);
	text_keyword(input, &cursor, "inertia", step_text_error);
	if (!crm_parse_float8(cursor, &end, &inertia, "crm.kmeans_step_state", input))
		step_text_error(input, "Expected the inertia, a number.");
	cursor = end;
	text_keyword(input, &cursor, "counts", step_text_error);
	model_expect(input, &cursor, "{");
	counts = palloc(sizeof(int64) * 64);
	do
	{
		if (k > 0 && (k & (k - 1)) == 0 && k >= 64)
			counts = repalloc(counts, sizeof(int64) * k * 2);
		if (k >= INT_MAX / 2)
			step_text_error(input, "The state is too large.");
		counts[k++] = text_integer(input, &cursor, 0, PG_INT64_MAX, step_text_error, "a count");
		model_skip_spaces(&cursor);
	} while (*cursor == ',' && cursor++);
	model_expect(input, &cursor, "}");
	text_keyword(input, &cursor, "sums", step_text_error);
	model_expect(input, &cursor, "{");
	do
	{
		int			n = model_parse_vector(input, &cursor, &values, &count, &capacity);

		if (rows == 0)
			dims = n;
		else if (n != dims)
			step_text_error(input, psprintf("Row %d of the sums has another number of coordinates than the first.", rows + 1));
		rows++;
		model_skip_spaces(&cursor);
	} while (*cursor == ',' && cursor++);
	model_expect(input, &cursor, "}");
	model_skip_spaces(&cursor);
	if (*cursor != '\0')
		step_text_error(input, psprintf("Unexpected text at character %d.", (int) (cursor - input) + 1));
	if (rows != k)
		step_text_error(input, "There must be one row of sums per count.");
	if (!kmeans_step_shape_ok(k, dims))
		step_text_error(input, "The state is too large.");
	state = kmeans_step_new(k, dims);
	state->inertia = inertia;
	memcpy(KMEANS_STEP_COUNTS(state), counts, sizeof(int64) * k);
	memcpy(KMEANS_STEP_SUMS(state), values, sizeof(double) * k * dims);
	problem = kmeans_step_problem(state);
	if (problem != NULL)
		step_text_error(input, problem);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_out);
/* Text output, the form crm_kmeans_step_in reads (shortest exact decimals). */
Datum
crm_kmeans_step_out(PG_FUNCTION_ARGS)
{
	KmeansStep *state = kmeans_step_from_datum(PG_GETARG_DATUM(0));
	StringInfoData text;

	initStringInfo(&text);
	appendStringInfoString(&text, "v1 inertia ");
	append_double(&text, state->inertia);
	appendStringInfoString(&text, " counts {");
	for (int c = 0; c < state->k; c++)
		appendStringInfo(&text, "%s%lld", c > 0 ? "," : "", (long long) KMEANS_STEP_COUNTS(state)[c]);
	appendStringInfoString(&text, "} sums {");
	for (int c = 0; c < state->k; c++)
	{
		appendStringInfoString(&text, c > 0 ? ",{" : "{");
		for (int j = 0; j < state->dims; j++)
		{
			if (j > 0)
				appendStringInfoChar(&text, ',');
			append_double(&text, KMEANS_STEP_SUMS(state)[(int64) c * state->dims + j]);
		}
		appendStringInfoChar(&text, '}');
	}
	appendStringInfoChar(&text, '}');
	PG_RETURN_CSTRING(text.data);
}

static void
step_binary_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary crm.kmeans_step_state"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_recv);
/* Binary input: version word (1), k, d as int4, the inertia (float8), k counts (int8), k x d sums (float8). */
Datum
crm_kmeans_step_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	uint32		version;
	int32		k,
				dims;
	KmeansStep *state;
	const char *problem;

	if (buffer->len - buffer->cursor < 20)
		step_binary_error("It is shorter than its header (20 bytes).");
	version = pq_getmsgint(buffer, sizeof(uint32));
	if (version != KMEANS_STEP_VERSION)
		step_binary_error(psprintf("Unknown version word %u; this build reads version %d.", version, KMEANS_STEP_VERSION));
	k = (int32) pq_getmsgint(buffer, sizeof(int32));
	dims = (int32) pq_getmsgint(buffer, sizeof(int32));
	if (!kmeans_step_shape_ok(k, dims))
		step_binary_error(psprintf("k = %d and d = %d are not a valid shape.", k, dims));
	if ((int64) (buffer->len - buffer->cursor) != 8 + 8 * ((int64) k + (int64) k * dims))
		step_binary_error(psprintf("k = %d and d = %d need %lld bytes after the header, not %d.", k, dims,
								   (long long) (8 + 8 * ((int64) k + (int64) k * dims)), buffer->len - buffer->cursor));
	state = kmeans_step_new(k, dims);
	state->inertia = pq_getmsgfloat8(buffer) + 0.0;
	for (int c = 0; c < k; c++)
		KMEANS_STEP_COUNTS(state)[c] = pq_getmsgint64(buffer);
	for (int64 i = 0; i < (int64) k * dims; i++)
		KMEANS_STEP_SUMS(state)[i] = pq_getmsgfloat8(buffer) + 0.0;
	problem = kmeans_step_problem(state);
	if (problem != NULL)
		step_binary_error(problem);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_send);
/* Binary output, the form crm_kmeans_step_recv reads: 20 + 8k(d + 1) bytes. */
Datum
crm_kmeans_step_send(PG_FUNCTION_ARGS)
{
	KmeansStep *state = kmeans_step_from_datum(PG_GETARG_DATUM(0));
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, KMEANS_STEP_VERSION);
	pq_sendint32(&buffer, state->k);
	pq_sendint32(&buffer, state->dims);
	pq_sendfloat8(&buffer, state->inertia);
	for (int c = 0; c < state->k; c++)
		pq_sendint64(&buffer, KMEANS_STEP_COUNTS(state)[c]);
	for (int64 i = 0; i < (int64) state->k * state->dims; i++)
		pq_sendfloat8(&buffer, KMEANS_STEP_SUMS(state)[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_inertia);
/* The inertia a step state holds: the sum of squared distances to the nearest centroid. */
Datum
crm_kmeans_step_inertia(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(kmeans_step_from_datum(PG_GETARG_DATUM(0))->inertia);
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_counts);
/* The number of points nearest each centroid (bigint[k]). */
Datum
crm_kmeans_step_counts(PG_FUNCTION_ARGS)
{
	KmeansStep *state = kmeans_step_from_datum(PG_GETARG_DATUM(0));
	Datum	   *elements = palloc(sizeof(Datum) * state->k);

	for (int c = 0; c < state->k; c++)
		elements[c] = Int64GetDatum(KMEANS_STEP_COUNTS(state)[c]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elements, state->k, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_sums);
/* The sums of the points nearest each centroid, in the model's standardized units (k x d). */
Datum
crm_kmeans_step_sums(PG_FUNCTION_ARGS)
{
	KmeansStep *state = kmeans_step_from_datum(PG_GETARG_DATUM(0));

	PG_RETURN_ARRAYTYPE_P(centroid_array(KMEANS_STEP_SUMS(state), state->k, state->dims));
}

/* Sorts k centroids ascending and tells whether they are all distinct. */
static bool
kmeans_sort_centroids(double *centroids, int k, int dims)
{
	qsort_arg(centroids, k, sizeof(double) * dims, compare_rows, &dims);
	for (int c = 1; c < k; c++)
		if (compare_rows(centroids + (int64) (c - 1) * dims, centroids + (int64) c * dims, &dims) == 0)
			return false;
	return true;
}

PG_FUNCTION_INFO_V1(crm_kmeans_step_model);
/*
 * One Lloyd update: the model whose centroids are the means of the clusters the step state
 * counted (a centroid nearest no point stays where it was), rows in ascending order; the model's
 * means and scales unchanged.
 */
Datum
crm_kmeans_step_model(PG_FUNCTION_ARGS)
{
	KmeansStep *state = kmeans_step_from_datum(PG_GETARG_DATUM(0));
	KmeansModel *model = PG_GETARG_KMEANS_MODEL_P(1);
	double	   *centroids;
	int			k,
				dims;

	kmeans_model_check(model);
	k = model->k;
	dims = model->dims;
	kmeans_step_require_shape(state, k, dims);
	centroids = palloc(sizeof(double) * k * dims);
	for (int c = 0; c < k; c++)
		for (int j = 0; j < dims; j++)
		{
			int64		i = (int64) c * dims + j;
			int64		n = KMEANS_STEP_COUNTS(state)[c];

			centroids[i] = n > 0 ? KMEANS_STEP_SUMS(state)[i] / n : KMEANS_MODEL_CENTROIDS(model)[i];
		}
	if (!kmeans_sort_centroids(centroids, k, dims))
		/* two clusters with the same mean (only by symmetry): keep the model, a fixed point */
		PG_RETURN_POINTER(model);
	PG_RETURN_POINTER(kmeans_model_make(k, dims, KMEANS_MODEL_MEAN(model), KMEANS_MODEL_SCALE(model), centroids));
}

/* A hash of a point's coordinates (-0 as 0), the seed and the round: 64 well-mixed bits. */
static uint64
kmeans_point_hash(const double *x, int dims, int64 seed, int64 round)
{
	uint64		h = (uint64) seed * UINT64CONST(0x9E3779B97F4A7C15) ^ (uint64) round * UINT64CONST(0xD1B54A32D192ED03);
	uint64		mixed = splitmix64_next(&h);

	for (int j = 0; j < dims; j++)
	{
		double		value = x[j] + 0.0;
		uint64		bits;

		memcpy(&bits, &value, sizeof(bits));
		h ^= bits + mixed;
		mixed = splitmix64_next(&h);
	}
	return mixed;
}

PG_FUNCTION_INFO_V1(crm_kmeans_point_hash);
/* crm.kmeans_point_hash(features, seed): the deterministic order in which k-means‖ picks its first centre. */
Datum
crm_kmeans_point_hash(PG_FUNCTION_ARGS)
{
	int			dims;
	const double *x = kmeans_features(PG_GETARG_ARRAYTYPE_P(0), &dims);

	PG_RETURN_INT64((int64) kmeans_point_hash(x, dims, PG_GETARG_INT32(1), 0));
}

PG_FUNCTION_INFO_V1(crm_kmeans_sample);
/*
 * crm.kmeans_sample(features, candidates, seed, round, oversampling, cost): whether k-means‖
 * takes this point in this round, with probability min(1, oversampling · d²(x, C) / cost),
 * decided by a hash of the point, the seed and the round, so that the sample depends on neither
 * the order of the rows nor how they are spread over shards.
 */
Datum
crm_kmeans_sample(PG_FUNCTION_ARGS)
{
	KmeansModel *model = PG_GETARG_KMEANS_MODEL_P(1);
	int32		seed = PG_GETARG_INT32(2);
	int32		round = PG_GETARG_INT32(3);
	double		oversampling = PG_GETARG_FLOAT8(4);
	double		cost = PG_GETARG_FLOAT8(5);
	const double *features;
	double		local[16];
	double	   *z;
	double		distance,
				u;
	int			dims;

	kmeans_model_check(model);
	if (!(oversampling > 0) || !isfinite(oversampling) || !(cost >= 0) || !isfinite(cost))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("oversampling must be a positive and cost a non-negative finite number")));
	features = kmeans_features(PG_GETARG_ARRAYTYPE_P(0), &dims);
	if (dims != model->dims)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features and model must have the same number of dimensions"),
				 errdetail("The features have %d dimensions, the model %d.", dims, model->dims)));
	if (cost == 0)
		PG_RETURN_BOOL(false);
	z = dims <= (int) lengthof(local) ? local : palloc(sizeof(double) * dims);
	for (int j = 0; j < dims; j++)
		z[j] = (features[j] - KMEANS_MODEL_MEAN(model)[j]) / KMEANS_MODEL_SCALE(model)[j];
	nearest_centroid(z, KMEANS_MODEL_CENTROIDS(model), model->k, dims, &distance);
	u = (kmeans_point_hash(features, dims, seed, round) >> 11) * (1.0 / 9007199254740992.0);
	PG_RETURN_BOOL(u < oversampling * distance / cost);
}

PG_FUNCTION_INFO_V1(crm_kmeans_candidates);
/*
 * crm.kmeans_candidates(mean, scale, previous, points): a model (the given means and scales)
 * whose centroids are previous's together with the points (raw units, an m x d array, standardized
 * here as the fit does), each distinct point once, rows ascending. previous and points may be NULL.
 */
Datum
crm_kmeans_candidates(PG_FUNCTION_ARGS)
{
	double	   *mean,
			   *scale,
			   *centroids;
	int			dims,
				scale_dims;
	int64		k = 0,
				previous_k = 0,
				m = 0,
				distinct;
	KmeansModel *previous = NULL;
	ArrayType  *points = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("mean and scale must not be NULL")));
	mean = crm_float8_array(PG_GETARG_ARRAYTYPE_P(0), "mean", true, &dims);
	scale = crm_float8_array(PG_GETARG_ARRAYTYPE_P(1), "scale", true, &scale_dims);
	if (dims < 1 || scale_dims != dims)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean and scale must have the same, positive number of elements")));
	for (int j = 0; j < dims; j++)
		if (!(scale[j] > 0) || fabs(mean[j]) > KMEANS_MAX_COORDINATE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("every scale must be positive and every mean of magnitude up to 1e100")));
	if (!PG_ARGISNULL(2))
	{
		previous = PG_GETARG_KMEANS_MODEL_P(2);
		kmeans_model_check(previous);
		if (previous->dims != dims)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the previous candidates must have as many dimensions as mean")));
		previous_k = previous->k;
	}
	if (!PG_ARGISNULL(3))
	{
		points = PG_GETARG_ARRAYTYPE_P(3);
		if (ARR_ELEMTYPE(points) != FLOAT8OID)
			elog(ERROR, "points: expected a double precision array");
		if (ARR_NDIM(points) != 0)
		{
			if (ARR_NDIM(points) != 2 || ARR_DIMS(points)[1] != dims)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("points must be a two-dimensional array of rows of %d coordinates", dims)));
			m = ARR_DIMS(points)[0];
		}
	}
	if (!kmeans_model_shape_ok(previous_k + m, dims))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many k-means candidates")));
	centroids = palloc(sizeof(double) * Max(previous_k + m, 1) * dims);
	if (previous != NULL)
		memcpy(centroids, KMEANS_MODEL_CENTROIDS(previous), sizeof(double) * previous_k * dims);
	k = previous_k;
	if (m > 0)
	{
		Datum	   *elements;
		bool	   *nulls;
		int			n;

		deconstruct_array(points, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elements, &nulls, &n);
		for (int64 i = 0; i < m; i++)
		{
			for (int j = 0; j < dims; j++)
			{
				double		value;

				if (nulls[i * dims + j])
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("points must not contain NULL")));
				value = DatumGetFloat8(elements[i * dims + j]);
				crm_require_finite(value, "every point coordinate");
				centroids[k * dims + j] = (value - mean[j]) / scale[j] + 0.0;
			}
			k++;
		}
	}
	if (k == 0)
		PG_RETURN_NULL();
	qsort_arg(centroids, k, sizeof(double) * dims, compare_rows, &dims);
	distinct = 1;
	for (int64 i = 1; i < k; i++)
		if (compare_rows(centroids + (distinct - 1) * dims, centroids + i * dims, &dims) != 0)
			memmove(centroids + distinct++ * dims, centroids + i * dims, sizeof(double) * dims);
	PG_RETURN_POINTER(kmeans_model_make((int) distinct, dims, mean, scale, centroids));
}

/* Weighted Lloyd iterations on m points from the given centroids; returns the weighted inertia. */
static double
kmeans_weighted_lloyd(const double *points, const double *weights, int64 m, int dims, int k,
					  double *centroids, int *assignment, double *sums, double *totals)
{
	double		inertia = 0;

	for (int64 i = 0; i < m; i++)
		assignment[i] = -1;
	for (int iteration = 0; iteration <= KMEANS_MAX_ITERATIONS; iteration++)
	{
		int64		changed = 0;

		CHECK_FOR_INTERRUPTS();
		inertia = 0;
		for (int64 i = 0; i < m; i++)
		{
			double		distance;
			int			c = nearest_centroid(points + i * dims, centroids, k, dims, &distance);

			if (c != assignment[i])
			{
				assignment[i] = c;
				changed++;
			}
			inertia += weights[i] * distance;
		}
		if (changed == 0 || iteration == KMEANS_MAX_ITERATIONS)
			break;
		memset(sums, 0, sizeof(double) * k * dims);
		memset(totals, 0, sizeof(double) * k);
		for (int64 i = 0; i < m; i++)
		{
			double	   *sum = sums + (int64) assignment[i] * dims;

			for (int j = 0; j < dims; j++)
				sum[j] += weights[i] * points[i * dims + j];
			totals[assignment[i]] += weights[i];
		}
		for (int c = 0; c < k; c++)
			if (totals[c] > 0)
				for (int j = 0; j < dims; j++)
					centroids[(int64) c * dims + j] = sums[(int64) c * dims + j] / totals[c];
	}
	return inertia;
}

/* An index drawn with probability proportional to mass[i] (total > 0). */
static int64
kmeans_draw(const double *mass, int64 m, double total, uint64 *rng)
{
	double		target = random_unit(rng) * total;
	int64		chosen = m - 1;

	for (int64 i = 0; i < m; i++)
	{
		target -= mass[i];
		if (target < 0)
		{
			chosen = i;
			break;
		}
	}
	/* rounding can leave target >= 0 at the end: the last point with mass */
	while (chosen > 0 && mass[chosen] == 0)
		chosen--;
	return chosen;
}

PG_FUNCTION_INFO_V1(crm_kmeans_reduce);
/*
 * crm.kmeans_reduce(candidates, weights, k, seed): the last step of k-means‖ seeding, on the
 * coordinator: the candidates (a model's centroids, in its standardized units), each weighted by
 * the number of points nearest it, reduced to k centres by weighted k-means++ and weighted Lloyd
 * iterations, the best of 10 starts by weighted inertia. A model with the candidates' means and
 * scales and the k centres, rows ascending.
 */
Datum
crm_kmeans_reduce(PG_FUNCTION_ARGS)
{
	KmeansModel *candidates = PG_GETARG_KMEANS_MODEL_P(0);
	ArrayType  *weight_array = PG_GETARG_ARRAYTYPE_P(1);
	int			k = PG_GETARG_INT32(2);
	uint64		rng = (uint64) (int64) PG_GETARG_INT32(3);
	const double *points;
	double	   *weights,
			   *nearest,
			   *mass,
			   *centroids,
			   *best,
			   *sums,
			   *totals;
	int		   *assignment;
	Datum	   *elements;
	bool	   *nulls;
	int			m,
				dims,
				positive = 0;
	double		best_inertia = DBL_MAX,
				total_weight = 0;

	kmeans_model_check(candidates);
	dims = candidates->dims;
	points = KMEANS_MODEL_CENTROIDS(candidates);
	if (ARR_ELEMTYPE(weight_array) != INT8OID)
		elog(ERROR, "weights: expected a bigint array");
	deconstruct_array(weight_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elements, &nulls, &m);
	if (ARR_NDIM(weight_array) > 1 || m != candidates->k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("there must be one weight per candidate"),
				 errdetail("There are %d candidates and %d weights.", candidates->k, m)));
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1"),
				 errdetail("The k given was %d.", k)));
	weights = palloc(sizeof(double) * m);
	for (int i = 0; i < m; i++)
	{
		if (nulls[i] || DatumGetInt64(elements[i]) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weights must be non-negative and not NULL")));
		weights[i] = (double) DatumGetInt64(elements[i]);
		total_weight += weights[i];
		positive += weights[i] > 0;
	}
	if (positive < k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must not exceed the number of distinct points"),
				 errdetail("k is %d but there are only %d distinct candidates with points.", k, positive)));
	nearest = palloc(sizeof(double) * m);
	mass = palloc(sizeof(double) * m);
	centroids = palloc(sizeof(double) * k * dims);
	best = palloc(sizeof(double) * k * dims);
	sums = palloc(sizeof(double) * k * dims);
	totals = palloc(sizeof(double) * k);
	assignment = palloc(sizeof(int) * m);
	for (int start = 0; start < KMEANS_MAX_STARTS; start++)
	{
		int64		first = kmeans_draw(weights, m, total_weight, &rng);
		double		inertia;

		memcpy(centroids, points + first * dims, sizeof(double) * dims);
		for (int i = 0; i < m; i++)
			nearest[i] = squared_distance(points + (int64) i * dims, centroids, dims);
		for (int c = 1; c < k; c++)
		{
			double		total = 0;
			int64		chosen;

			CHECK_FOR_INTERRUPTS();
			for (int i = 0; i < m; i++)
			{
				mass[i] = weights[i] * nearest[i];
				total += mass[i];
			}
			/* positive >= k: a point with weight and distance remains */
			chosen = kmeans_draw(mass, m, total, &rng);
			memcpy(centroids + (int64) c * dims, points + chosen * dims, sizeof(double) * dims);
			for (int i = 0; i < m; i++)
				nearest[i] = Min(nearest[i], squared_distance(points + (int64) i * dims, centroids + (int64) c * dims, dims));
		}
		inertia = kmeans_weighted_lloyd(points, weights, m, dims, k, centroids, assignment, sums, totals);
		if (inertia < best_inertia)
		{
			best_inertia = inertia;
			memcpy(best, centroids, sizeof(double) * k * dims);
		}
	}
	if (!kmeans_sort_centroids(best, k, dims))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k-means seeding found fewer than k distinct centres"),
				 errhint("Use a smaller k.")));
	PG_RETURN_POINTER(kmeans_model_make(k, dims, KMEANS_MODEL_MEAN(candidates), KMEANS_MODEL_SCALE(candidates), best));
}
