/*
 * clv_summary.c: crm.clv_summary, the aggregate that turns one customer's transactions (from any
 * table, grouped by customer) into the (x, t_x, T, m) the CLV models take.
 *
 * Transactions on one calendar day (in the session's time zone) are one purchase, valued at their
 * sum; x counts the purchase days after the first, t_x and T run from the first purchase day to
 * the last and to the observation end, in time units of time_unit_days; m is the mean value of
 * the repeat purchase days. Transactions after the observation end are ignored.
 */
#include "clv.h"

#include <ctype.h>

#include "common/int.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/expandeddatum.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* One transaction; also the layout of one in crm.clv_summary_state as stored (reserved is 0). */
typedef struct Purchase
{
	DateADT		day;
	int32		reserved;
	double		amount;
} Purchase;

/*
 * The state: the customer's transactions up to the observation end, with the aggregate's
 * arguments. Of type crm.clv_summary_state, kept during aggregation as an expanded object in its
 * own memory context under the aggregate's (transactions added in place), flattened when it
 * travels (to a parallel leader, to a Citus coordinator as text).
 */
typedef struct ClvSummaryState
{
	ExpandedObjectHeader header;
	DateADT		end_day;
	double		time_unit_days;
	int64		count;
	int64		capacity;
	Purchase   *purchases;
	/* the observation_end argument end_day came from (DT_NOBEGIN: not known), not stored */
	TimestampTz end_timestamp;
} ClvSummaryState;

/* crm.clv_summary_state as stored. The header word: the format version (1) in the low byte. */
typedef struct FlatClvSummaryState
{
	int32		vl_len_;
	uint32		header;
	DateADT		end_day;
	int32		reserved;
	double		time_unit_days;
	int64		count;
	Purchase	purchases[FLEXIBLE_ARRAY_MEMBER];
} FlatClvSummaryState;

#define CLV_SUMMARY_STATE_VERSION 1
#define FLAT_HEADER_SIZE offsetof(FlatClvSummaryState, purchases)
#define CLV_SUMMARY_STATE_MAX ((int64) ((MaxAllocSize - FLAT_HEADER_SIZE) / sizeof(Purchase)))
#define SEND_HEADER_SIZE (2 * sizeof(int32) + sizeof(double) + sizeof(int64))

/* 0.1's serialize and deserialize functions' format */
#define CLV_SUMMARY_SERIAL_HEADER (sizeof(int32) + sizeof(double) + sizeof(int64))
#define CLV_SUMMARY_SERIAL_PURCHASE (sizeof(int32) + sizeof(double))

static Size clv_summary_get_flat_size(ExpandedObjectHeader *eohptr);
static void clv_summary_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods clv_summary_methods = {
	clv_summary_get_flat_size,
	clv_summary_flatten_into
};

static ClvSummaryState *
clv_summary_state_new(MemoryContext parent, DateADT end_day, double time_unit_days, int64 capacity)
{
	MemoryContext memory;
	MemoryContext context = crm_states_context(parent, &memory);
	ClvSummaryState *state = MemoryContextAlloc(memory, sizeof(ClvSummaryState));

	EOH_init_header(&state->header, &clv_summary_methods, context);
	state->end_day = end_day;
	state->time_unit_days = time_unit_days;
	state->count = 0;
	state->capacity = Max(capacity, 8);
	state->purchases = MemoryContextAllocHuge(memory, sizeof(Purchase) * state->capacity);
	TIMESTAMP_NOBEGIN(state->end_timestamp);
	return state;
}

/* DatumGetEOHP, inlined for the per-row path: the object a read-write expanded datum points to. */
static inline ClvSummaryState *
own_state_object(Datum datum)
{
	varatt_expanded pointer;

	memcpy(&pointer, VARDATA_EXTERNAL(DatumGetPointer(datum)), sizeof(pointer));
	if (unlikely(pointer.eohptr->eoh_methods != &clv_summary_methods))
		elog(ERROR, "expected an expanded crm.clv_summary_state");
	return (ClvSummaryState *) pointer.eohptr;
}

static Size
clv_summary_get_flat_size(ExpandedObjectHeader *eohptr)
{
	ClvSummaryState *state = (ClvSummaryState *) eohptr;

	if (state->count > CLV_SUMMARY_STATE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many transactions to store or ship a crm.clv_summary state"),
				 errdetail("A crm.clv_summary_state holds at most %lld transactions; this one has %lld.",
						   (long long) CLV_SUMMARY_STATE_MAX, (long long) state->count)));
	return FLAT_HEADER_SIZE + sizeof(Purchase) * state->count;
}

static void
clv_summary_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ClvSummaryState *state = (ClvSummaryState *) eohptr;
	FlatClvSummaryState *flat = (FlatClvSummaryState *) result;

	Assert(allocated_size == FLAT_HEADER_SIZE + sizeof(Purchase) * state->count);
	SET_VARSIZE(flat, allocated_size);
	flat->header = CLV_SUMMARY_STATE_VERSION;
	flat->end_day = state->end_day;
	flat->reserved = 0;
	flat->time_unit_days = state->time_unit_days;
	flat->count = state->count;
	memcpy(flat->purchases, state->purchases, sizeof(Purchase) * state->count);
}

static FlatClvSummaryState *
flat_from_datum(Datum datum)
{
	FlatClvSummaryState *flat = (FlatClvSummaryState *) PG_DETOAST_DATUM(datum);

	if (VARSIZE(flat) < FLAT_HEADER_SIZE || flat->header != CLV_SUMMARY_STATE_VERSION ||
		flat->count < 0 || flat->count > CLV_SUMMARY_STATE_MAX ||
		VARSIZE(flat) != FLAT_HEADER_SIZE + sizeof(Purchase) * flat->count)
		elog(ERROR, "corrupt crm.clv_summary_state: length %u", (unsigned) VARSIZE(flat));
	return flat;
}

/*
 * The state a datum holds: the expanded object itself when writable says it may be changed (the
 * aggregate's own read-write object) or when only reading; else a new object in parent, a copy.
 */
static ClvSummaryState *
clv_summary_from_datum(MemoryContext parent, Datum datum, bool writable)
{
	ClvSummaryState *state;

	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(datum)))
	{
		ClvSummaryState *given = (ClvSummaryState *) DatumGetEOHP(datum);

		if (given->header.eoh_methods != &clv_summary_methods)
			elog(ERROR, "expected an expanded crm.clv_summary_state");
		if (writable)
			return given;
		state = clv_summary_state_new(parent, given->end_day, given->time_unit_days, given->count);
		memcpy(state->purchases, given->purchases, sizeof(Purchase) * given->count);
		state->count = given->count;
		return state;
	}
	else
	{
		FlatClvSummaryState *flat = flat_from_datum(datum);

		state = clv_summary_state_new(parent, flat->end_day, flat->time_unit_days, flat->count);
		memcpy(state->purchases, flat->purchases, sizeof(Purchase) * flat->count);
		state->count = flat->count;
		return state;
	}
}

/* Whether argument is the aggregate's own read-write state, which this call may update. */
static inline bool
own_state(FunctionCallInfo fcinfo, int argument, MemoryContext *aggregate_context)
{
	if (!AggCheckCallContext(fcinfo, aggregate_context))
	{
		*aggregate_context = CurrentMemoryContext;
		return false;
	}
	return VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(argument)));
}

static void
clv_summary_reserve(ClvSummaryState *state, int64 needed)
{
	if (needed <= state->capacity)
		return;
	while (state->capacity < needed)
		state->capacity *= 2;
	state->purchases = repalloc_huge(state->purchases, sizeof(Purchase) * state->capacity);
}

static void
clv_summary_same_arguments(const ClvSummaryState *state, DateADT end_day, double time_unit_days)
{
	if (state->end_day != end_day || state->time_unit_days != time_unit_days)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("observation_end and time_unit_days must be the same for every row of a customer")));
}

PG_FUNCTION_INFO_V1(crm_clv_summary_trans);
/*
 * clv_summary transition: adds one transaction; rows with a NULL time or amount are skipped. The
 * aggregate's own state is updated in place; any other is copied first.
 */
Datum
crm_clv_summary_trans(PG_FUNCTION_ARGS)
{
	MemoryContext context;
	bool		own = !PG_ARGISNULL(0) && own_state(fcinfo, 0, &context);
	ClvSummaryState *state = NULL;
	DateADT		end_day,
				day;
	double		time_unit_days,
				amount;

	if (PG_ARGISNULL(0) && !AggCheckCallContext(fcinfo, &context))
		context = CurrentMemoryContext;
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("observation_end and time_unit_days must not be NULL")));
	time_unit_days = PG_GETARG_FLOAT8(4);
	if (!(time_unit_days > 0) || isinf(time_unit_days))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_unit_days must be a positive, finite number"),
				 errdetail("The time unit given was %g days.", time_unit_days)));
	if (TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(3)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("observation_end must be finite")));
	if (own)
	{
		state = own_state_object(PG_GETARG_DATUM(0));
		/* the same observation_end as the previous row's (the usual case): the same day */
		if (likely(state->end_timestamp == PG_GETARG_TIMESTAMPTZ(3) && state->time_unit_days == time_unit_days))
			end_day = state->end_day;
		else
		{
			end_day = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, PG_GETARG_DATUM(3)));
			clv_summary_same_arguments(state, end_day, time_unit_days);
			state->end_timestamp = PG_GETARG_TIMESTAMPTZ(3);
		}
	}
	else
	{
		end_day = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, PG_GETARG_DATUM(3)));
		if (!PG_ARGISNULL(0))
		{
			/* read where it lies for the check; copied below only if it is to change */
			state = clv_summary_from_datum(context, PG_GETARG_DATUM(0), false);
			clv_summary_same_arguments(state, end_day, time_unit_days);
		}
	}
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(1)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("transaction times must be finite")));
	amount = PG_GETARG_FLOAT8(2);
	if (isnan(amount) || isinf(amount))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("transaction amounts must be finite numbers")));
	day = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, PG_GETARG_DATUM(1)));
	if (state == NULL)
	{
		state = clv_summary_state_new(context, end_day, time_unit_days, 8);
		state->end_timestamp = PG_GETARG_TIMESTAMPTZ(3);
	}
	if (day > end_day)
		PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
	clv_summary_reserve(state, state->count + 1);
	state->purchases[state->count].day = day;
	state->purchases[state->count].reserved = 0;
	state->purchases[state->count].amount = amount;
	state->count++;
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
}

PG_FUNCTION_INFO_V1(crm_clv_summary_combine);
/*
 * clv_summary combine: appends one partial state's transactions to the other's, in place when the
 * first is the aggregate's own state.
 */
Datum
crm_clv_summary_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context;
	ClvSummaryState *left;
	const Purchase *purchases;
	int64		count;
	DateADT		end_day;
	double		time_unit_days;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (!AggCheckCallContext(fcinfo, &context))
		context = CurrentMemoryContext;
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(1))))
	{
		ClvSummaryState *right = clv_summary_from_datum(context, PG_GETARG_DATUM(1), true);

		purchases = right->purchases;
		count = right->count;
		end_day = right->end_day;
		time_unit_days = right->time_unit_days;
	}
	else
	{
		FlatClvSummaryState *flat = flat_from_datum(PG_GETARG_DATUM(1));

		purchases = flat->purchases;
		count = flat->count;
		end_day = flat->end_day;
		time_unit_days = flat->time_unit_days;
	}
	if (PG_ARGISNULL(0))
		left = clv_summary_state_new(context, end_day, time_unit_days, count);
	else
	{
		left = clv_summary_from_datum(context, PG_GETARG_DATUM(0), own_state(fcinfo, 0, &context));
		clv_summary_same_arguments(left, end_day, time_unit_days);
	}
	clv_summary_reserve(left, left->count + count);
	memcpy(left->purchases + left->count, purchases, sizeof(Purchase) * count);
	left->count += count;
	PG_RETURN_DATUM(EOHPGetRWDatum(&left->header));
}

PG_FUNCTION_INFO_V1(crm_clv_summary_serialize);
/* clv_summary serialize (0.1's internal states): end day, time unit, count, then (day, amount) pairs. */
Datum
crm_clv_summary_serialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_clv_summary_serialize");
	ClvSummaryState *state = clv_summary_from_datum(context, PG_GETARG_DATUM(0), true);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, state->end_day);
	pq_sendfloat8(&buffer, state->time_unit_days);
	pq_sendint64(&buffer, state->count);
	for (int64 i = 0; i < state->count; i++)
	{
		pq_sendint32(&buffer, state->purchases[i].day);
		pq_sendfloat8(&buffer, state->purchases[i].amount);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_clv_summary_deserialize);
/* clv_summary deserialize (0.1's internal states): the inverse of crm_clv_summary_serialize. */
Datum
crm_clv_summary_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_clv_summary_deserialize");
	bytea	   *serial = PG_GETARG_BYTEA_PP(0);
	StringInfoData buffer;
	ClvSummaryState *state;
	DateADT		end_day;
	double		time_unit_days;
	int64		count;

	buffer.data = VARDATA_ANY(serial);
	buffer.len = VARSIZE_ANY_EXHDR(serial);
	buffer.maxlen = buffer.len;
	buffer.cursor = 0;
	if (buffer.len < (int) CLV_SUMMARY_SERIAL_HEADER)
		elog(ERROR, "crm_clv_summary_deserialize: state of %d bytes is too short", buffer.len);
	end_day = pq_getmsgint(&buffer, sizeof(int32));
	time_unit_days = pq_getmsgfloat8(&buffer);
	count = pq_getmsgint64(&buffer);
	if (count < 0 || (uint64) count * CLV_SUMMARY_SERIAL_PURCHASE != (uint64) (buffer.len - buffer.cursor))
		elog(ERROR, "crm_clv_summary_deserialize: state of %d bytes does not hold %lld transactions",
			 buffer.len, (long long) count);
	state = clv_summary_state_new(context, end_day, time_unit_days, count);
	for (int64 i = 0; i < count; i++)
	{
		state->purchases[i].day = pq_getmsgint(&buffer, sizeof(int32));
		state->purchases[i].reserved = 0;
		state->purchases[i].amount = pq_getmsgfloat8(&buffer);
	}
	state->count = count;
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->header));
}

static int
purchase_compare(const void *a, const void *b)
{
	DateADT		x = ((const Purchase *) a)->day;
	DateADT		y = ((const Purchase *) b)->day;

	/* one customer's transactions are the caller's: the sort stays cancellable (one load) */
	CHECK_FOR_INTERRUPTS();
	return x < y ? -1 : x > y;
}

PG_FUNCTION_INFO_V1(crm_clv_summary_final);
/* clv_summary final: x, t_x, T and m of the customer (NULL without a transaction by the end). */
Datum
crm_clv_summary_final(PG_FUNCTION_ARGS)
{
	ClvSummaryState *state;
	TupleDesc	descriptor;
	Datum		values[4];
	bool		nulls[4] = {false};
	DateADT		first_day,
				last_day;
	int32		repeat_days = 0;
	double		repeat_total = 0,
				day_total,
				largest = 0,
				t_x,
				big_t;
	int			exponent = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	/* sorted in place: the same transactions, in another order */
	state = clv_summary_from_datum(CurrentMemoryContext, PG_GETARG_DATUM(0), true);
	if (state->count == 0)
		PG_RETURN_NULL();
	qsort(state->purchases, state->count, sizeof(Purchase), purchase_compare);

	/*
	 * The amounts are summed scaled by a power of two that brings the largest below 1 in
	 * magnitude: a sum of finite amounts then cannot overflow (1e308 twice is 2e308, but its mean
	 * is 1e308), and the scaling is exact, so ordinary amounts sum exactly as unscaled.
	 */
	for (int64 i = 0; i < state->count; i++)
		largest = Max(largest, fabs(state->purchases[i].amount));
	if (largest > 0)
		(void) frexp(largest, &exponent);

	first_day = last_day = state->purchases[0].day;
	day_total = 0;
	for (int64 i = 0; i < state->count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (state->purchases[i].day != last_day)
		{
			if (last_day != first_day)
				repeat_total += day_total;
			repeat_days++;
			last_day = state->purchases[i].day;
			day_total = 0;
		}
		day_total += ldexp(state->purchases[i].amount, -exponent);
	}
	if (last_day != first_day)
		repeat_total += day_total;

	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "crm_clv_summary_final must return a composite type");
	descriptor = BlessTupleDesc(descriptor);
	t_x = (last_day - first_day) / state->time_unit_days;
	big_t = (state->end_day - first_day) / state->time_unit_days;
	if (isinf(big_t))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("T is out of range for time_unit_days = %g", state->time_unit_days),
				 errdetail("%d days are more than the largest double precision number of time units.",
						   (int) (state->end_day - first_day)),
				 errhint("Use a larger time unit, such as 1 for days or 7 for weeks.")));
	values[0] = Int32GetDatum(repeat_days);
	values[1] = Float8GetDatum(t_x);
	values[2] = Float8GetDatum(big_t);
	if (repeat_days > 0)
		values[3] = Float8GetDatum(crm_finite_result(ldexp(repeat_total / repeat_days, exponent),
													 "the mean repeat purchase value m"));
	else
		nulls[3] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls)));
}

/* ---------------------------------------------------------------------------------------------
 * crm.clv_summary_state: text and binary forms
 *
 * Text: "1;<observation end day>;<time_unit_days>;<count>", then ";day,amount" per transaction,
 * days as PostgreSQL's date numbers (days since 2000-01-01, so independent of DateStyle), numbers
 * exact, e.g. 1;9861;7;2;9500,19.99;9501,5. Binary: the version word (1), the end day (int32),
 * time_unit_days (float8), the count (int64), then day (int32) and amount (float8) per
 * transaction, network byte order. On input: a finite end day and transaction days no later than
 * it, a positive finite time unit and finite amounts, as the aggregate itself keeps them.
 */

static const char *
flat_problem(const FlatClvSummaryState *flat)
{
	if (DATE_NOT_FINITE(flat->end_day) || !IS_VALID_DATE(flat->end_day))
		return "The observation end is not a valid, finite date.";
	if (!(flat->time_unit_days > 0) || isinf(flat->time_unit_days))
		return "time_unit_days is not a positive, finite number.";
	for (int64 i = 0; i < flat->count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (DATE_NOT_FINITE(flat->purchases[i].day) || !IS_VALID_DATE(flat->purchases[i].day) ||
			flat->purchases[i].day > flat->end_day)
			return psprintf("Transaction %lld is not on a valid date by the observation end.", (long long) i + 1);
		if (!isfinite(flat->purchases[i].amount))
			return psprintf("Transaction %lld has an amount that is not finite.", (long long) i + 1);
	}
	return NULL;
}

static FlatClvSummaryState *
flat_new(DateADT end_day, double time_unit_days, int64 count)
{
	FlatClvSummaryState *flat;

	if (count > CLV_SUMMARY_STATE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many transactions for a crm.clv_summary_state"),
				 errdetail("A crm.clv_summary_state holds at most %lld transactions; the input has %lld.",
						   (long long) CLV_SUMMARY_STATE_MAX, (long long) count)));
	flat = palloc0(FLAT_HEADER_SIZE + sizeof(Purchase) * count);
	SET_VARSIZE(flat, FLAT_HEADER_SIZE + sizeof(Purchase) * count);
	flat->header = CLV_SUMMARY_STATE_VERSION;
	flat->end_day = end_day;
	flat->time_unit_days = time_unit_days;
	flat->count = count;
	return flat;
}

static pg_noinline void
state_syntax_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type crm.clv_summary_state: \"%.100s%s\"", input,
					strlen(input) > 100 ? "..." : ""),
			 errdetail("%s", detail),
			 errhint("The text form is 1;<end day>;<time_unit_days>;<count>, then ;day,amount for each transaction (days since 2000-01-01).")));
}

static int64
parse_integer(const char *input, const char **p, int64 low, int64 high, const char *what)
{
	const char *start = *p;
	bool		negative = **p == '-';
	int64		value = 0;

	if (negative)
		(*p)++;
	if (!isdigit((unsigned char) **p))
		state_syntax_error(input, psprintf("Expected %s at offset %d.", what, (int) (start - input)));
	for (; isdigit((unsigned char) **p); (*p)++)
		if (pg_mul_s64_overflow(value, 10, &value) || pg_sub_s64_overflow(value, **p - '0', &value))
			state_syntax_error(input, psprintf("%s is out of range.", what));
	if (!negative)
	{
		if (value == PG_INT64_MIN)
			state_syntax_error(input, psprintf("%s is out of range.", what));
		value = -value;
	}
	if (value < low || value > high)
		state_syntax_error(input, psprintf("%s is out of range.", what));
	return value;
}

static double
parse_number(const char *input, const char **p, const char *what)
{
	const char *end = *p;
	char	   *stop;
	double		value;

	while (isdigit((unsigned char) *end) || *end == '.' || *end == 'e' || *end == 'E' || *end == '-' || *end == '+')
		end++;
	if (end == *p || !(isdigit((unsigned char) **p) || **p == '-' || **p == '.'))
		state_syntax_error(input, psprintf("Expected %s at offset %d.", what, (int) (*p - input)));
	/* underflow (ERANGE) is no error: subnormal numbers are written and read back exactly */
	value = strtod(*p, &stop);
	if (stop != end || !isfinite(value))
		state_syntax_error(input, psprintf("%s is not a finite number.", what));
	*p = end;
	return value;
}

static void
expect_char(const char *input, const char **p, char c)
{
	if (**p != c)
		state_syntax_error(input, psprintf("Expected \"%c\" at offset %d.", c, (int) (*p - input)));
	(*p)++;
}

PG_FUNCTION_INFO_V1(crm_clv_summary_state_in);
/* Text input of crm.clv_summary_state. */
Datum
crm_clv_summary_state_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	DateADT		end_day;
	double		time_unit_days;
	int64		count;
	FlatClvSummaryState *flat;
	const char *problem;

	if (parse_integer(input, &p, 0, PG_INT32_MAX, "the version") != CLV_SUMMARY_STATE_VERSION)
		state_syntax_error(input, psprintf("Unknown version; this build reads version %d.", CLV_SUMMARY_STATE_VERSION));
	expect_char(input, &p, ';');
	end_day = (DateADT) parse_integer(input, &p, PG_INT32_MIN, PG_INT32_MAX, "the end day");
	expect_char(input, &p, ';');
	time_unit_days = parse_number(input, &p, "time_unit_days");
	expect_char(input, &p, ';');
	count = parse_integer(input, &p, 0, PG_INT64_MAX, "the count");
	/* every transaction takes at least 4 characters (";0,0"): a larger count cannot match */
	if (count > (int64) strlen(p) / 4)
		state_syntax_error(input, psprintf("The input is too short for %lld transactions.", (long long) count));
	flat = flat_new(end_day, time_unit_days, count);
	for (int64 i = 0; i < count; i++)
	{
		expect_char(input, &p, ';');
		flat->purchases[i].day = (DateADT) parse_integer(input, &p, PG_INT32_MIN, PG_INT32_MAX, "a day");
		expect_char(input, &p, ',');
		flat->purchases[i].amount = parse_number(input, &p, "an amount");
	}
	if (*p != '\0')
		state_syntax_error(input, psprintf("Unexpected characters after %lld transactions.", (long long) count));
	if ((problem = flat_problem(flat)) != NULL)
		state_syntax_error(input, problem);
	PG_RETURN_POINTER(flat);
}

/* The transactions to write: an expanded object's, or a stored value's (as a flat image). */
static FlatClvSummaryState *
state_to_write(Datum datum)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(datum)))
	{
		ClvSummaryState *state = clv_summary_from_datum(CurrentMemoryContext, datum, true);
		FlatClvSummaryState *flat = palloc(clv_summary_get_flat_size(&state->header));

		clv_summary_flatten_into(&state->header, flat, FLAT_HEADER_SIZE + sizeof(Purchase) * state->count);
		return flat;
	}
	return flat_from_datum(datum);
}

PG_FUNCTION_INFO_V1(crm_clv_summary_state_out);
/* Text output of crm.clv_summary_state: exact numbers. */
Datum
crm_clv_summary_state_out(PG_FUNCTION_ARGS)
{
	FlatClvSummaryState *flat = state_to_write(PG_GETARG_DATUM(0));
	StringInfoData text;

	initStringInfo(&text);
	appendStringInfo(&text, "%d;%d;%s;%lld", CLV_SUMMARY_STATE_VERSION, flat->end_day,
					 float8out_internal(flat->time_unit_days), (long long) flat->count);
	for (int64 i = 0; i < flat->count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		appendStringInfo(&text, ";%d,%s", flat->purchases[i].day, float8out_internal(flat->purchases[i].amount));
	}
	PG_RETURN_CSTRING(text.data);
}

static pg_noinline void
state_binary_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary representation of crm.clv_summary_state"),
			 errdetail("%s", detail)));
}

PG_FUNCTION_INFO_V1(crm_clv_summary_state_recv);
/* Binary input of crm.clv_summary_state. */
Datum
crm_clv_summary_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int			length = buffer->len - buffer->cursor;
	uint32		header;
	DateADT		end_day;
	double		time_unit_days;
	int64		count;
	FlatClvSummaryState *flat;
	const char *problem;

	if (length < (int) SEND_HEADER_SIZE)
		state_binary_error(psprintf("A value is at least %d bytes long, not %d.", (int) SEND_HEADER_SIZE, length));
	header = pq_getmsgint(buffer, sizeof(uint32));
	if (header != CLV_SUMMARY_STATE_VERSION)
		state_binary_error(psprintf("Unknown version word %u; this build reads version %d.",
									header, CLV_SUMMARY_STATE_VERSION));
	end_day = (DateADT) pq_getmsgint(buffer, sizeof(int32));
	time_unit_days = pq_getmsgfloat8(buffer);
	count = pq_getmsgint64(buffer);
	if (count < 0 || count > (length - (int64) SEND_HEADER_SIZE) / (int64) CLV_SUMMARY_SERIAL_PURCHASE ||
		(int64) SEND_HEADER_SIZE + count * (int64) CLV_SUMMARY_SERIAL_PURCHASE != length)
		state_binary_error(psprintf("%d bytes do not hold %lld transactions.", length, (long long) count));
	flat = flat_new(end_day, time_unit_days, count);
	for (int64 i = 0; i < count; i++)
	{
		flat->purchases[i].day = (DateADT) pq_getmsgint(buffer, sizeof(int32));
		flat->purchases[i].amount = pq_getmsgfloat8(buffer);
	}
	if ((problem = flat_problem(flat)) != NULL)
		state_binary_error(problem);
	PG_RETURN_POINTER(flat);
}

PG_FUNCTION_INFO_V1(crm_clv_summary_state_send);
/* Binary output of crm.clv_summary_state. */
Datum
crm_clv_summary_state_send(PG_FUNCTION_ARGS)
{
	FlatClvSummaryState *flat = state_to_write(PG_GETARG_DATUM(0));
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendint32(&buffer, CLV_SUMMARY_STATE_VERSION);
	pq_sendint32(&buffer, flat->end_day);
	pq_sendfloat8(&buffer, flat->time_unit_days);
	pq_sendint64(&buffer, flat->count);
	for (int64 i = 0; i < flat->count; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		pq_sendint32(&buffer, flat->purchases[i].day);
		pq_sendfloat8(&buffer, flat->purchases[i].amount);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}
