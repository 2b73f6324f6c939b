/*
 * forecast.c: the distribution of a period's bookings, crm.bookings_distribution(amount, probability).
 *
 * Each open deal i closes (B_i = 1, probability p_i) or not, independently; the period's bookings are
 * X = sum_i B_i a_i. The aggregate's state, the base type crm.bookings_distribution, keeps
 *   - the exact count, mean sum_i a_i p_i and variance sum_i a_i^2 p_i (1 - p_i) (Kahan sums);
 *   - a probability mass function over a grid of amounts k * r, k = offset .. offset + length - 1,
 *     at resolution r. The first deal with a nonzero amount and probability sets r: its amount
 *     scaled by a power of two into [1/2, 1) (the amount itself when below 1/2); after that r only
 *     doubles. So equal amounts a stay on the grid (a is r times a power of two) until r would
 *     exceed a: the pmf is then the exact Poisson-binomial distribution of the number of wins.
 * Adding a deal convolves the pmf in place with {0: 1 - p, round(a / r): p}: O(length) per deal.
 * The pmf never exceeds BOOKINGS_MAX_CELLS cells: before a deal would make it longer, r doubles and
 * the pmf is re-binned (cell k of the old grid goes to k / 2 when k is even, half to each of its two
 * neighbours (k - 1) / 2 and (k + 1) / 2 when odd, which keeps the pmf's mean). After each step the
 * tails are trimmed: leading and trailing cells holding, together, at most BOOKINGS_TRIM_MASS are
 * dropped, their mass counted in "missing". So the grid covers the bulk of the distribution (a few
 * dozen standard deviations), not the whole range 0 .. sum a_i, and r stays small next to the spread.
 *
 * The error of the grid is tracked exactly, as a coupling: with Y the grid's random variable,
 * X - Y lies in [error_below, error_above] for every outcome. A deal rounded at resolution r moves
 * one bound by a - k r (|a - k r| <= r / 2), a re-binning moves each bound by r; and the pmf misses
 * "missing" probability mass (trimmed, placed nowhere). The readers use Y + s, s = the exact mean
 * minus the grid's mean (bookings_shift: the roundings' systematic part), so with
 * bound = max(s - error_below, error_above - s) (docs/forecast.md):
 *   quantile:  Q_X(q) lies in [Q^(q - missing) - bound, Q^(q) + bound];
 *   P(X >= x)  lies in [P^(x + bound), P^(x - bound) + missing],
 * where Q^ and P^ are what bookings_quantile and bookings_probability_at_least read. Amounts that
 * are whole multiples of the final resolution (for example whole currency units while the pmf stays
 * within the cell limit) give bound 0: the result is exact up to floating point and the trimmed
 * mass.
 *
 * Combining two states (parallel workers, Citus shards) re-grids the finer to the coarser resolution
 * (bookings_regrid: mean-keeping, its moves added to the error bounds), doubles both while the
 * product would exceed the cell limit, then convolves them directly
 * (O(length_1 length_2) <= BOOKINGS_MAX_CELLS^2 / 4).
 *
 * crm.bookings_simulate draws the outcomes (Monte Carlo) for checking.
 */
#include "crm.h"

#include <float.h>

#include "common/pg_prng.h"
#include "funcapi.h"
#include "access/htup_details.h"
#include "common/int.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define BOOKINGS_VERSION 1
#define BOOKINGS_MAX_CELLS 8192
#define BOOKINGS_TRIM_MASS 1e-15
#define BOOKINGS_MAX_TRIALS 10000000
#define BOOKINGS_INITIAL_CAPACITY 64
/* Offsets stay exact integers in a double and far from int64 overflow. */
#define BOOKINGS_MAX_OFFSET (INT64CONST(1) << 53)

typedef struct BookingsDistribution
{
	int32		vl_len_;
	int32		capacity;		/* cells allocated after the header */
	int64		count;			/* deals added */
	int64		offset;			/* grid index of cells[0] */
	int32		length;			/* cells in use, >= 1 */
	int32		padding;
	double		resolution;		/* r, the grid step */
	double		mean;			/* sum a p, Kahan sum */
	double		mean_compensation;
	double		variance;		/* sum a^2 p (1 - p), Kahan sum */
	double		variance_compensation;
	double		error_below;	/* X - Y >= error_below (<= 0) */
	double		error_above;	/* X - Y <= error_above (>= 0) */
	double		missing;		/* probability mass trimmed away */
	double		cells[FLEXIBLE_ARRAY_MEMBER];
} BookingsDistribution;

#define BOOKINGS_HEADER offsetof(BookingsDistribution, cells)
#define PG_GETARG_BOOKINGS(n) ((BookingsDistribution *) PG_DETOAST_DATUM(PG_GETARG_DATUM(n)))

static BookingsDistribution *
bookings_allocate(int32 capacity, MemoryContext context)
{
	BookingsDistribution *state;

	capacity = Max(capacity, 2);	/* re-binning one cell can make two */
	state = MemoryContextAllocZero(context, BOOKINGS_HEADER + sizeof(double) * capacity);
	SET_VARSIZE(state, BOOKINGS_HEADER + sizeof(double) * capacity);
	state->capacity = capacity;
	return state;
}

/* The distribution of no deals: bookings 0 with probability 1, resolution 1. */
static BookingsDistribution *
bookings_empty(MemoryContext context)
{
	BookingsDistribution *state = bookings_allocate(BOOKINGS_INITIAL_CAPACITY, context);

	state->length = 1;
	state->cells[0] = 1.0;
	state->resolution = 1.0;
	return state;
}

/* A copy with room for capacity cells (at least the cells in use). */
static BookingsDistribution *
bookings_copy(const BookingsDistribution *state, int32 capacity, MemoryContext context)
{
	BookingsDistribution *copy = bookings_allocate(Max(capacity, state->length), context);
	int32		keep = copy->capacity;

	memcpy(copy, state, BOOKINGS_HEADER + sizeof(double) * state->length);
	copy->capacity = keep;
	SET_VARSIZE(copy, BOOKINGS_HEADER + sizeof(double) * keep);
	return copy;
}

static inline void
kahan_add(double *sum, double *compensation, double value)
{
	double		y = value - *compensation;
	double		t = *sum + y;

	*compensation = (t - *sum) - y;
	*sum = t;
}

/*
 * Moves the pmf to the coarser grid of step target (>= the current resolution), in place: the mass
 * at amount v goes to the two grid amounts around v, split so that the mean is kept (all of it to
 * one when v is on the new grid). The largest move down and up widen the error bounds; a move
 * to a grid amount v lies on changes nothing. From r to 2 r, a cell k goes to k / 2 when k is even,
 * half to (k - 1) / 2 and half to (k + 1) / 2 when odd (each half moves by r).
 */
static void
bookings_regrid(BookingsDistribution *state, double target)
{
	double		ratio = state->resolution / target;
	int64		new_first = (int64) floor((double) state->offset * ratio);
	int64		new_last = (int64) ceil((double) (state->offset + state->length - 1) * ratio);
	int32		new_length = (int32) (new_last - new_first + 1);
	double	   *scratch = palloc0(sizeof(double) * new_length);
	double		down = 0,
				up = 0;

	Assert(ratio <= 1 && new_length <= state->length + 1);
	for (int32 j = 0; j < state->length; j++)
	{
		double		position = (double) (state->offset + j) * ratio;
		double		low = floor(position);
		double		fraction = position - low;
		double		mass = state->cells[j];
		int64		cell = (int64) low - new_first;

		if (mass == 0)
			continue;
		if (fraction == 0)
			scratch[cell] += mass;
		else
		{
			scratch[cell] += mass * (1 - fraction);
			scratch[cell + 1] += mass * fraction;
			down = Max(down, fraction * target);
			up = Max(up, (1 - fraction) * target);
		}
	}
	state->error_below -= down;
	state->error_above += up;
	memcpy(state->cells, scratch, sizeof(double) * new_length);
	pfree(scratch);
	state->offset = new_first;
	state->length = new_length;
	state->resolution = target;
}

static void
bookings_rebin(BookingsDistribution *state)
{
	bookings_regrid(state, state->resolution * 2);
}

/* Whether the pmf is bookings 0 with certainty, exact on any grid. */
static inline bool
bookings_point_at_zero(const BookingsDistribution *state)
{
	return state->offset == 0 && state->length == 1 && state->error_below == 0 && state->error_above == 0;
}

/*
 * Drops the tails holding at most BOOKINGS_TRIM_MASS each (and zero cells) from the ends. Unless
 * eager, the low end is only cut once 64 cells (or a sixteenth of the pmf) would go: cutting it
 * moves the whole pmf, which a deal at a time would cost as much as the convolution.
 */
static void
bookings_trim(BookingsDistribution *state, bool eager)
{
	int32		low = 0;
	int32		high = state->length - 1;
	double		dropped = 0;

	while (low < high && dropped + state->cells[low] <= BOOKINGS_TRIM_MASS)
		dropped += state->cells[low++];
	if (eager || low >= 64 || low >= state->length / 16)
		state->missing += dropped;
	else
		low = 0;
	dropped = 0;
	while (high > low && dropped + state->cells[high] <= BOOKINGS_TRIM_MASS)
		dropped += state->cells[high--];
	state->missing += dropped;
	if (low > 0)
		memmove(state->cells, state->cells + low, sizeof(double) * (high - low + 1));
	state->offset += low;
	state->length = high - low + 1;
}

/* A copy of the cells while a deal is added (one backend adds one deal at a time). */
static double bookings_scratch[BOOKINGS_MAX_CELLS];

/*
 * out[i] = q keep[i] + p moved[i] for i < n (keep NULL: q = 0; moved NULL: p = 0), two doubles at a
 * time: adding a deal spends its time here.
 */
static void
mix(double *restrict out, const double *restrict keep, const double *restrict moved, int32 n,
	double q, double p)
{
	int32		i = 0;

	if (keep == NULL || moved == NULL)
	{
		const double *from = keep ? keep : moved;
		double		factor = keep ? q : p;

		for (; i < n; i++)
			out[i] = factor * from[i];
		return;
	}
#if defined(__GNUC__)
	{
		typedef double pair __attribute__((vector_size(16)));
		pair		vq = {q, q},
					vp = {p, p};

		for (; i + 4 <= n; i += 4)
		{
			pair		k0,
						k1,
						m0,
						m1;

			memcpy(&k0, keep + i, sizeof(pair));
			memcpy(&k1, keep + i + 2, sizeof(pair));
			memcpy(&m0, moved + i, sizeof(pair));
			memcpy(&m1, moved + i + 2, sizeof(pair));
			k0 = vq * k0 + vp * m0;
			k1 = vq * k1 + vp * m1;
			memcpy(out + i, &k0, sizeof(pair));
			memcpy(out + i + 2, &k1, sizeof(pair));
		}
	}
#endif
	for (; i < n; i++)
		out[i] = q * keep[i] + p * moved[i];
}

/*
 * c[j] = q c[j] + p c[j - hop] for j in [from, to), from the top down (so c[j - hop] is still the old
 * value), two cells at a time: needs hop >= 2. keep false: q c[j] is left out (the cells beyond the
 * old length).
 */
static void
mix_down(double *c, int32 from, int32 to, int32 hop, double q, double p, bool keep)
{
	int32		j = to;

#if defined(__GNUC__)
	typedef double pair __attribute__((vector_size(16)));
	pair		vq = {q, q},
				vp = {p, p};

	for (; j - 2 >= from; j -= 2)
	{
		pair		moved,
					kept;

		memcpy(&moved, c + j - 2 - hop, sizeof(pair));
		moved = vp * moved;
		if (keep)
		{
			memcpy(&kept, c + j - 2, sizeof(pair));
			moved = vq * kept + moved;
		}
		memcpy(c + j - 2, &moved, sizeof(pair));
	}
#endif
	for (j--; j >= from; j--)
		c[j] = (keep ? q * c[j] : 0) + p * c[j - hop];
}

/* The cells of the old pmf (old of them) convolved in place with {0: q, hop: p}, hop >= 2. */
static void
convolve_in_place(double *c, int32 old, int32 hop, double q, double p)
{
	int32		length = old + hop;

	mix_down(c, Max(old, hop), length, hop, q, p, false);
	if (hop < old)
		mix_down(c, hop, old, hop, q, p, true);
	else
		memset(c + old, 0, sizeof(double) * (hop - old));
	for (int32 j = 0; j < Min(hop, old); j++)
		c[j] *= q;
}

static void
bookings_check_deal(double amount, double probability)
{
	if (!isfinite(amount) || amount < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a deal's amount must be a finite number, zero or more"),
				 errdetail("The amount given was %g.", amount)));
	if (!(probability >= 0 && probability <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a deal's win probability must be between 0 and 1"),
				 errdetail("The probability given was %g.", probability)));
}

/*
 * Adds one deal to state, in place when it has room; returns the state, or a new, larger one
 * allocated in context when it had not (the aggregate machinery copies that into the aggregate's
 * context and frees the old state).
 */
static BookingsDistribution *
bookings_add(BookingsDistribution *state, double amount, double probability, MemoryContext context)
{
	double		q = 1 - probability;
	double		shift;
	int64		k;
	int32		length;
	double	   *c;

	bookings_check_deal(amount, probability);
	kahan_add(&state->mean, &state->mean_compensation, amount * probability);
	if (probability > 0 && q > 0)
		kahan_add(&state->variance, &state->variance_compensation, amount * amount * probability * q);
	if (!isfinite(state->mean - state->mean_compensation))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the bookings' mean is out of range"),
				 errdetail("The amounts are too large for a double precision sum.")));
	if (!isfinite(state->variance - state->variance_compensation))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the bookings' variance is out of range"),
				 errdetail("The amounts are too large for double precision sums of their squares.")));
	state->count++;
	if (probability == 0 || amount == 0)
		return state;

	/*
	 * The first deal that moves anything sets the grid: its amount scaled by a power of two into
	 * [1/2, 1), or the amount itself when smaller. Equal amounts then stay on the grid while the
	 * resolution does not exceed them: the exact Poisson-binomial distribution.
	 */
	if (bookings_point_at_zero(state))
	{
		int			exponent;
		double		mantissa = frexp(amount, &exponent);

		state->resolution = amount < 0.5 ? amount : mantissa;
	}
	shift = rint(amount / state->resolution);
	while (state->length + shift > BOOKINGS_MAX_CELLS)
	{
		bookings_rebin(state);
		shift = rint(amount / state->resolution);
	}
	k = (int64) shift;
	if (state->offset + k >= BOOKINGS_MAX_OFFSET)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the bookings' grid is out of range")));
	if (amount - shift * state->resolution > 0)
		state->error_above += amount - shift * state->resolution;
	else
		state->error_below += amount - shift * state->resolution;
	if (k == 0)
		return state;
	if (probability == 1)
	{
		state->offset += k;
		return state;
	}

	length = state->length + (int32) k;
	if (length > state->capacity)
	{
		state = bookings_copy(state, Min(Max(length, state->capacity * 2), BOOKINGS_MAX_CELLS), context);
	}
	c = state->cells;
	if (k == 1)
	{
		/* new[j] = q old[j] + p old[j - 1], from a copy of old */
		int32		old = state->length;
		double	   *copy = bookings_scratch;

		memcpy(copy, c, sizeof(double) * old);
		c[0] = q * copy[0];
		mix(c + 1, copy + 1, copy, old - 1, q, probability);
		c[old] = probability * copy[old - 1];
	}
	else
		convolve_in_place(c, state->length, (int32) k, q, probability);
	state->length = length;
	bookings_trim(state, false);
	return state;
}

PG_FUNCTION_INFO_V1(crm_bookings_transition);
/*
 * Adds one (amount, probability) row; rows with a NULL amount or probability are skipped. In an
 * aggregate the state is changed in place (it belongs to the aggregate); called directly, on a copy.
 */
Datum
crm_bookings_transition(PG_FUNCTION_ARGS)
{
	bool		in_aggregate = AggCheckCallContext(fcinfo, NULL) != 0;
	BookingsDistribution *state;

	if (PG_ARGISNULL(0))
	{
		if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
			PG_RETURN_NULL();
		state = bookings_empty(CurrentMemoryContext);
	}
	else
	{
		Datum		raw = PG_GETARG_DATUM(0);

		state = (BookingsDistribution *) PG_DETOAST_DATUM(raw);
		if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
			PG_RETURN_POINTER(state);
		if (!in_aggregate || (Pointer) state != DatumGetPointer(raw))
			state = bookings_copy(state, state->length, CurrentMemoryContext);
	}
	/* new states go to the per-row context: the aggregate machinery copies them into its own */
	PG_RETURN_POINTER(bookings_add(state, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), CurrentMemoryContext));
}

/* Convolution of two states at the same resolution whose lengths add up to at most the cell limit. */
static BookingsDistribution *
bookings_convolve(const BookingsDistribution *left, const BookingsDistribution *right)
{
	const BookingsDistribution *outer = left->length >= right->length ? right : left;
	const BookingsDistribution *inner = outer == left ? right : left;
	int32		length = left->length + right->length - 1;
	BookingsDistribution *result = bookings_allocate(length, CurrentMemoryContext);

	for (int32 i = 0; i < outer->length; i++)
	{
		double		mass = outer->cells[i];
		double	   *target = result->cells + i;

		CHECK_FOR_INTERRUPTS();
		if (mass == 0)
			continue;
		for (int32 j = 0; j < inner->length; j++)
			target[j] += mass * inner->cells[j];
	}
	result->length = length;
	if (pg_add_s64_overflow(left->count, right->count, &result->count))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the bookings' count is out of range")));
	result->offset = left->offset + right->offset;
	result->resolution = left->resolution;
	result->mean = left->mean;
	result->mean_compensation = left->mean_compensation;
	kahan_add(&result->mean, &result->mean_compensation, right->mean - right->mean_compensation);
	result->variance = left->variance;
	result->variance_compensation = left->variance_compensation;
	kahan_add(&result->variance, &result->variance_compensation, right->variance - right->variance_compensation);
	result->error_below = left->error_below + right->error_below;
	result->error_above = left->error_above + right->error_above;
	result->missing = left->missing + right->missing - left->missing * right->missing;
	if (result->offset >= BOOKINGS_MAX_OFFSET)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the bookings' grid is out of range")));
	bookings_trim(result, true);
	return result;
}

/* The distribution of the sum of both states' bookings (their deals together), newly allocated. */
static BookingsDistribution *
bookings_combine(const BookingsDistribution *left, const BookingsDistribution *right)
{
	/* one spare cell: re-gridding may need it */
	BookingsDistribution *a = bookings_copy(left, left->length + 1, CurrentMemoryContext);
	BookingsDistribution *b = bookings_copy(right, right->length + 1, CurrentMemoryContext);

	if (bookings_point_at_zero(a))
		a->resolution = b->resolution;
	if (bookings_point_at_zero(b))
		b->resolution = a->resolution;
	if (a->resolution < b->resolution)
		bookings_regrid(a, b->resolution);
	else if (b->resolution < a->resolution)
		bookings_regrid(b, a->resolution);
	while (a->length + b->length - 1 > BOOKINGS_MAX_CELLS)
	{
		bookings_rebin(a);
		bookings_rebin(b);
	}
	return bookings_convolve(a, b);
}

PG_FUNCTION_INFO_V1(crm_bookings_combine);
/* Combines two partial states (strict: a NULL state is the other one). */
Datum
crm_bookings_combine(PG_FUNCTION_ARGS)
{
	BookingsDistribution *left = PG_GETARG_BOOKINGS(0);
	BookingsDistribution *right = PG_GETARG_BOOKINGS(1);

	/* never in place: also callable outside an aggregate, on values it must not change */
	if (right->count == 0)
		PG_RETURN_POINTER(bookings_copy(left, left->length, CurrentMemoryContext));
	if (left->count == 0)
		PG_RETURN_POINTER(bookings_copy(right, right->length, CurrentMemoryContext));
	PG_RETURN_POINTER(bookings_combine(left, right));
}

PG_FUNCTION_INFO_V1(crm_bookings_final);
/* The aggregate's result: the state without its spare capacity, its tails trimmed. */
Datum
crm_bookings_final(PG_FUNCTION_ARGS)
{
	BookingsDistribution *state;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = bookings_copy(PG_GETARG_BOOKINGS(0), 0, CurrentMemoryContext);
	bookings_trim(state, true);
	PG_RETURN_POINTER(state);
}

/* ---- validation and I/O ---------------------------------------------------------------------- */

/* Why a state read from outside is inconsistent, or NULL when it is fine. */
static const char *
bookings_invalid(const BookingsDistribution *s)
{
	double		total = 0;

	if (s->count < 0)
		return "The count is negative.";
	if (!(isfinite(s->resolution) && s->resolution > 0))
		return "The resolution is not a positive number.";
	if (!(isfinite(s->mean) && s->mean >= 0))
		return "The mean is not a finite number, zero or more.";
	if (!(isfinite(s->variance) && s->variance >= 0))
		return "The variance is not a finite number, zero or more.";
	if (!(isfinite(s->error_below) && s->error_below <= 0))
		return "The error below is not a finite number, zero or less.";
	if (!(isfinite(s->error_above) && s->error_above >= 0))
		return "The error above is not a finite number, zero or more.";
	if (!(s->missing >= 0 && s->missing <= 1))
		return "The missing mass is not between 0 and 1.";
	if (s->offset < 0 || s->offset >= BOOKINGS_MAX_OFFSET)
		return "The offset is out of range.";
	if (s->length < 1 || s->length > BOOKINGS_MAX_CELLS)
		return psprintf("The number of cells is not between 1 and %d.", BOOKINGS_MAX_CELLS);
	for (int32 i = 0; i < s->length; i++)
	{
		if (!(s->cells[i] >= 0 && s->cells[i] <= 1))
			return psprintf("Cell %d is not a probability.", i + 1);
		total += s->cells[i];
	}
	if (fabs(total + s->missing - 1) > 1e-9)
		return "The cells and the missing mass do not add up to 1.";
	return NULL;
}

static pg_noinline void
bookings_syntax_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.bookings_distribution: \"%s\"", input),
			 errdetail("%s", detail),
			 errhint("The form is version;count;resolution;mean;variance;error_below;error_above;missing;offset;cells, the cells separated by spaces, as the type's output prints it.")));
}

static const char *
skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Reads a non-negative int64 (a version, count or offset) and the ';' after it. */
static const char *
read_integer(const char *p, const char *input, const char *what, int64 *value)
{
	int64		result = 0;

	p = skip_spaces(p);
	if (!isdigit((unsigned char) *p))
		bookings_syntax_error(input, psprintf("The %s is not a non-negative integer.", what));
	for (; isdigit((unsigned char) *p); p++)
		if (pg_mul_s64_overflow(result, 10, &result) || pg_add_s64_overflow(result, *p - '0', &result))
			bookings_syntax_error(input, psprintf("The %s is out of range.", what));
	p = skip_spaces(p);
	if (*p != ';')
		bookings_syntax_error(input, psprintf("Expected \";\" after the %s.", what));
	*value = result;
	return p + 1;
}

static const char *
read_number(const char *p, const char *input, const char *what, double *value)
{
	const char *end;

	if (!crm_parse_float8(p, &end, value, "crm.bookings_distribution", input))
		bookings_syntax_error(input, psprintf("The %s is not a number.", what));
	end = skip_spaces(end);
	if (*end != ';')
		bookings_syntax_error(input, psprintf("Expected \";\" after the %s.", what));
	return end + 1;
}

PG_FUNCTION_INFO_V1(crm_bookings_in);
/* Text input: "1;count;resolution;mean;variance;error_below;error_above;missing;offset;c0 c1 ...". */
Datum
crm_bookings_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	int64		version,
				count,
				offset;
	double		resolution,
				mean,
				variance,
				below,
				above,
				missing;
	BookingsDistribution *state;
	const char *invalid;
	int32		length = 0;

	p = read_integer(p, input, "version", &version);
	if (version != BOOKINGS_VERSION)
		bookings_syntax_error(input, psprintf("Version %lld is unknown; this build reads version %d.",
											  (long long) version, BOOKINGS_VERSION));
	p = read_integer(p, input, "count", &count);
	p = read_number(p, input, "resolution", &resolution);
	p = read_number(p, input, "mean", &mean);
	p = read_number(p, input, "variance", &variance);
	p = read_number(p, input, "error below", &below);
	p = read_number(p, input, "error above", &above);
	p = read_number(p, input, "missing mass", &missing);
	p = read_integer(p, input, "offset", &offset);
	state = bookings_allocate(BOOKINGS_INITIAL_CAPACITY, CurrentMemoryContext);
	for (;;)
	{
		const char *end;
		double		cell;

		p = skip_spaces(p);
		if (*p == '\0')
			break;
		if (length == BOOKINGS_MAX_CELLS)
			bookings_syntax_error(input, psprintf("More than %d cells.", BOOKINGS_MAX_CELLS));
		if (!crm_parse_float8(p, &end, &cell, "crm.bookings_distribution", input))
			bookings_syntax_error(input, psprintf("Cell %d is not a number.", length + 1));
		if (*end != '\0' && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
			bookings_syntax_error(input, psprintf("Unexpected character after cell %d.", length + 1));
		if (length == state->capacity)
		{
			state->length = length;
			state = bookings_copy(state, state->capacity * 2, CurrentMemoryContext);
		}
		state->cells[length++] = cell;
		p = end;
	}
	state->count = count;
	state->offset = offset;
	state->length = length;
	state->resolution = resolution;
	state->mean = mean;
	state->variance = variance;
	state->error_below = below;
	state->error_above = above;
	state->missing = missing;
	if ((invalid = bookings_invalid(state)) != NULL)
		bookings_syntax_error(input, invalid);
	PG_RETURN_POINTER(bookings_copy(state, length, CurrentMemoryContext));
}

PG_FUNCTION_INFO_V1(crm_bookings_out);
/* Text output, which the input reads back exactly (%.17g). */
Datum
crm_bookings_out(PG_FUNCTION_ARGS)
{
	BookingsDistribution *s = PG_GETARG_BOOKINGS(0);
	StringInfoData text;

	initStringInfo(&text);
	appendStringInfo(&text, "%d;" INT64_FORMAT ";%.17g;%.17g;%.17g;%.17g;%.17g;%.17g;" INT64_FORMAT ";",
					 BOOKINGS_VERSION, s->count, s->resolution,
					 s->mean - s->mean_compensation + 0.0, s->variance - s->variance_compensation + 0.0,
					 s->error_below + 0.0, s->error_above + 0.0, s->missing + 0.0, s->offset);
	for (int32 i = 0; i < s->length; i++)
		appendStringInfo(&text, i == 0 ? "%.17g" : " %.17g", s->cells[i] + 0.0);
	PG_RETURN_CSTRING(text.data);
}

PG_FUNCTION_INFO_V1(crm_bookings_send);
/*
 * Binary output: int32 version, int64 count, float8 resolution, mean, variance, error below, error
 * above, missing mass, int64 offset, int32 cell count, float8 cells.
 */
Datum
crm_bookings_send(PG_FUNCTION_ARGS)
{
	BookingsDistribution *s = PG_GETARG_BOOKINGS(0);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, BOOKINGS_VERSION);
	pq_sendint64(&buffer, s->count);
	pq_sendfloat8(&buffer, s->resolution);
	pq_sendfloat8(&buffer, s->mean - s->mean_compensation + 0.0);
	pq_sendfloat8(&buffer, s->variance - s->variance_compensation + 0.0);
	pq_sendfloat8(&buffer, s->error_below + 0.0);
	pq_sendfloat8(&buffer, s->error_above + 0.0);
	pq_sendfloat8(&buffer, s->missing + 0.0);
	pq_sendint64(&buffer, s->offset);
	pq_sendint32(&buffer, s->length);
	for (int32 i = 0; i < s->length; i++)
		pq_sendfloat8(&buffer, s->cells[i] + 0.0);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

static pg_noinline void
bookings_binary_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary crm.bookings_distribution"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_bookings_recv);
/* Binary input: the layout crm_bookings_send writes, validated like the text input. */
Datum
crm_bookings_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	BookingsDistribution header;
	BookingsDistribution *state;
	const char *invalid;
	int32		length;

	if (buffer->len - buffer->cursor < 4 + 8 + 8 * 6 + 8 + 4)
		bookings_binary_error("The value is shorter than its header.");
	if (pq_getmsgint(buffer, 4) != BOOKINGS_VERSION)
		bookings_binary_error("The version word is unknown.");
	memset(&header, 0, sizeof(header));
	header.count = pq_getmsgint64(buffer);
	header.resolution = pq_getmsgfloat8(buffer);
	header.mean = pq_getmsgfloat8(buffer);
	header.variance = pq_getmsgfloat8(buffer);
	header.error_below = pq_getmsgfloat8(buffer);
	header.error_above = pq_getmsgfloat8(buffer);
	header.missing = pq_getmsgfloat8(buffer);
	header.offset = pq_getmsgint64(buffer);
	length = (int32) pq_getmsgint(buffer, 4);
	if (length < 1 || length > BOOKINGS_MAX_CELLS)
		bookings_binary_error(psprintf("The number of cells is not between 1 and %d.", BOOKINGS_MAX_CELLS));
	if (buffer->len - buffer->cursor != (int) sizeof(double) * length)
		bookings_binary_error("The length does not match the number of cells.");
	state = bookings_allocate(length, CurrentMemoryContext);
	memcpy(state, &header, BOOKINGS_HEADER);
	SET_VARSIZE(state, BOOKINGS_HEADER + sizeof(double) * length);
	state->capacity = length;
	state->length = length;
	for (int32 i = 0; i < length; i++)
		state->cells[i] = pq_getmsgfloat8(buffer) + 0.0;
	state->mean += 0.0;
	state->variance += 0.0;
	state->error_below += 0.0;
	state->error_above += 0.0;
	state->missing += 0.0;
	if ((invalid = bookings_invalid(state)) != NULL)
		bookings_binary_error(invalid);
	PG_RETURN_POINTER(state);
}

/* ---- reading a distribution ------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(crm_bookings_mean);
/* The exact expected bookings, sum a p. */
Datum
crm_bookings_mean(PG_FUNCTION_ARGS)
{
	BookingsDistribution *s = PG_GETARG_BOOKINGS(0);

	PG_RETURN_FLOAT8(s->mean - s->mean_compensation);
}

PG_FUNCTION_INFO_V1(crm_bookings_variance);
/* The exact variance of the bookings, sum a^2 p (1 - p). */
Datum
crm_bookings_variance(PG_FUNCTION_ARGS)
{
	BookingsDistribution *s = PG_GETARG_BOOKINGS(0);

	PG_RETURN_FLOAT8(s->variance - s->variance_compensation);
}

PG_FUNCTION_INFO_V1(crm_bookings_count);
/* The number of deals. */
Datum
crm_bookings_count(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_BOOKINGS(0)->count);
}

PG_FUNCTION_INFO_V1(crm_bookings_resolution);
/* The grid step r. */
Datum
crm_bookings_resolution(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(PG_GETARG_BOOKINGS(0)->resolution);
}

/*
 * The shift that puts the grid's mean on the exact mean: s = mean - E[Y], which is the sum of
 * p_i (a_i - k_i r) over the deals (re-binning and re-gridding keep the mean), up to the trimmed
 * mass. Quantiles and tail probabilities are read from Y + s: the roundings' systematic part, about
 * r / 4 times the square root of the number of deals, cancels, and what remains is their random
 * part. s lies within [error_below, error_above] (clamped there against rounding and trimming); 0
 * when the bounds are (every amount on the grid).
 */
static double
bookings_shift(const BookingsDistribution *s)
{
	double		total = 0,
				moment = 0,
				shift;

	if (s->error_below == 0 && s->error_above == 0)
		return 0;
	for (int32 i = 0; i < s->length; i++)
	{
		total += s->cells[i];
		moment += s->cells[i] * i;
	}
	shift = (s->mean - s->mean_compensation) - s->resolution * ((double) s->offset + moment / total);
	return Min(Max(shift, s->error_below), s->error_above);
}

PG_FUNCTION_INFO_V1(crm_bookings_error_bound);
/*
 * The largest |X - (Y + s)| over all outcomes: every quantile read is within this of the true
 * quantile (for levels away from the trimmed tails, see docs/forecast.md).
 */
Datum
crm_bookings_error_bound(PG_FUNCTION_ARGS)
{
	BookingsDistribution *s = PG_GETARG_BOOKINGS(0);
	double		shift = bookings_shift(s);

	PG_RETURN_FLOAT8(Max(shift - s->error_below, s->error_above - shift) + 0.0);
}

PG_FUNCTION_INFO_V1(crm_bookings_missing_mass);
/* The probability mass trimmed from the tails. */
Datum
crm_bookings_missing_mass(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(PG_GETARG_BOOKINGS(0)->missing);
}

/* Tolerance when a cumulative sum meets a quantile level: sums of up to 8192 cells. */
#define BOOKINGS_CDF_SLACK 1e-12

PG_FUNCTION_INFO_V1(crm_bookings_quantile);
/*
 * The q-quantile of the grid's distribution: the least grid amount k r with P(Y <= k r) >= q
 * (cumulative sums within 1e-12 of q count as reaching it), plus the shift s. q in [0, 1], else
 * 22023.
 */
Datum
crm_bookings_quantile(PG_FUNCTION_ARGS)
{
	BookingsDistribution *s = PG_GETARG_BOOKINGS(0);
	double		q = PG_GETARG_FLOAT8(1);
	double		cumulative = 0;
	int32		i;

	if (!(q >= 0 && q <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the quantile level must be between 0 and 1"),
				 errdetail("The level given was %g.", q)));
	for (i = 0; i < s->length - 1; i++)
	{
		cumulative += s->cells[i];
		if (s->cells[i] > 0 && cumulative >= q - BOOKINGS_CDF_SLACK)
			break;
	}
	PG_RETURN_FLOAT8(((double) (s->offset + i)) * s->resolution + bookings_shift(s));
}

PG_FUNCTION_INFO_V1(crm_bookings_probability_at_least);
/* P(Y + s >= x) read from the grid: the mass of the cells at amounts x - s or more. */
Datum
crm_bookings_probability_at_least(PG_FUNCTION_ARGS)
{
	BookingsDistribution *s = PG_GETARG_BOOKINGS(0);
	double		x = PG_GETARG_FLOAT8(1);
	double		total = 0;
	double		first;
	int32		start;

	if (isnan(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the bookings threshold must not be NaN")));
	first = ceil((x - bookings_shift(s)) / s->resolution) - (double) s->offset;
	if (first <= 0)
		start = 0;
	else if (first >= s->length)
		PG_RETURN_FLOAT8(0);
	else
		start = (int32) first;
	for (int32 i = s->length - 1; i >= start; i--)
		total += s->cells[i];
	PG_RETURN_FLOAT8(Min(total, 1.0));
}

/* ---- Monte Carlo ----------------------------------------------------------------------------- */

static int
compare_doubles(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y;
}

PG_FUNCTION_INFO_V1(crm_bookings_simulate);
/*
 * Monte Carlo: trials draws of the deals' outcomes (pg_prng seeded with seed); returns the sample
 * mean, variance (n - 1), the P10, P50 and P90 (least sampled total with an empirical CDF >= q) and,
 * for each threshold, the share of draws with bookings >= the threshold.
 */
Datum
crm_bookings_simulate(PG_FUNCTION_ARGS)
{
	ArrayType  *amount_array = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *probability_array = PG_GETARG_ARRAYTYPE_P(1);
	int32		trials = PG_GETARG_INT32(2);
	int32		seed = PG_GETARG_INT32(3);
	ArrayType  *threshold_array = PG_GETARG_ARRAYTYPE_P(4);
	double	   *amounts,
			   *probabilities,
			   *thresholds,
			   *totals;
	int			deals,
				probability_count,
				threshold_count;
	double		sum = 0,
				compensation = 0,
				mean,
				squares = 0;
	pg_prng_state prng;
	TupleDesc	descriptor;
	Datum		values[6];
	bool		nulls[6] = {false};
	Datum	   *shares;
	static const double levels[3] = {0.1, 0.5, 0.9};

	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "bookings_simulate: return type must be a row type");
	descriptor = BlessTupleDesc(descriptor);
	amounts = crm_float8_array(amount_array, "amounts", true, &deals);
	probabilities = crm_float8_array(probability_array, "probabilities", false, &probability_count);
	thresholds = crm_float8_array(threshold_array, "thresholds", false, &threshold_count);
	if (deals != probability_count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amounts and probabilities must have the same number of elements"),
				 errdetail("There are %d amounts and %d probabilities.", deals, probability_count)));
	for (int i = 0; i < deals; i++)
		bookings_check_deal(amounts[i], probabilities[i]);
	for (int i = 0; i < threshold_count; i++)
		if (isnan(thresholds[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the bookings thresholds must not be NaN")));
	if (trials < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the number of trials must be at least 1"),
				 errdetail("The number given was %d.", trials)));
	if (trials > BOOKINGS_MAX_TRIALS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the number of trials must be at most %d", BOOKINGS_MAX_TRIALS),
				 errdetail("The number given was %d.", trials)));

	pg_prng_seed(&prng, (uint64) (uint32) seed);
	totals = palloc_extended(sizeof(double) * trials, MCXT_ALLOC_HUGE);
	for (int32 t = 0; t < trials; t++)
	{
		double		total = 0;

		if ((t & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < deals; i++)
			if (pg_prng_double(&prng) < probabilities[i])
				total += amounts[i];
		if (deals > 1024)
			CHECK_FOR_INTERRUPTS();
		totals[t] = total;
		kahan_add(&sum, &compensation, total);
	}
	mean = (sum - compensation) / trials;
	for (int32 t = 0; t < trials; t++)
		squares += (totals[t] - mean) * (totals[t] - mean);
	qsort(totals, trials, sizeof(double), compare_doubles);

	values[0] = Float8GetDatum(mean);
	if (trials > 1)
		values[1] = Float8GetDatum(squares / (trials - 1));
	else
		nulls[1] = true;
	for (int l = 0; l < 3; l++)
	{
		/* least t with (t + 1) / trials >= level */
		int64		index = (int64) ceil(levels[l] * trials - 1e-9) - 1;

		values[2 + l] = Float8GetDatum(totals[Max(index, 0)]);
	}
	shares = palloc(sizeof(Datum) * Max(threshold_count, 1));
	for (int i = 0; i < threshold_count; i++)
	{
		/* the first sorted total >= threshold, by bisection */
		int32		low = 0,
					high = trials;

		while (low < high)
		{
			int32		middle = low + (high - low) / 2;

			if (totals[middle] >= thresholds[i])
				high = middle;
			else
				low = middle + 1;
		}
		shares[i] = Float8GetDatum((double) (trials - low) / trials);
	}
	values[5] = PointerGetDatum(construct_array(shares, threshold_count, FLOAT8OID, sizeof(float8),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls)));
}
