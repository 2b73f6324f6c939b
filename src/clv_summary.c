/*
 * clv_summary.c: crm.clv_summary, the aggregate that turns one customer's transactions (from any
 * table, grouped by customer) into the (x, t_x, T, m) the CLV models take.
 *
 * Transactions on one calendar day (in the session's time zone) are one purchase, valued at their
 * sum; x counts the purchase days after the first, t_x and T run from the first purchase day to
 * the last and to the observation end, in time units of time_unit_days; m is the mean value of
 * the repeat purchase days. Transactions after the observation end are ignored.
 */
#include "crm.h"

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/timestamp.h"

typedef struct Purchase
{
	DateADT		day;
	double		amount;
} Purchase;

typedef struct ClvSummaryState
{
	DateADT		end_day;
	double		time_unit_days;
	int64		count;
	int64		capacity;
	Purchase   *purchases;
} ClvSummaryState;

#define CLV_SUMMARY_SERIAL_HEADER (sizeof(int32) + sizeof(double) + sizeof(int64))
#define CLV_SUMMARY_SERIAL_PURCHASE (sizeof(int32) + sizeof(double))

static ClvSummaryState *
clv_summary_state_new(MemoryContext context, DateADT end_day, double time_unit_days, int64 capacity)
{
	ClvSummaryState *state = MemoryContextAlloc(context, sizeof(ClvSummaryState));

	state->end_day = end_day;
	state->time_unit_days = time_unit_days;
	state->count = 0;
	state->capacity = Max(capacity, 8);
	state->purchases = MemoryContextAllocHuge(context, sizeof(Purchase) * state->capacity);
	return state;
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
/* clv_summary transition: adds one transaction; rows with a NULL time or amount are skipped. */
Datum
crm_clv_summary_trans(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_clv_summary_trans");
	ClvSummaryState *state = PG_ARGISNULL(0) ? NULL : (ClvSummaryState *) PG_GETARG_POINTER(0);
	DateADT		end_day,
				day;
	double		time_unit_days,
				amount;

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
	end_day = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, PG_GETARG_DATUM(3)));
	if (state != NULL)
		clv_summary_same_arguments(state, end_day, time_unit_days);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
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
		state = clv_summary_state_new(context, end_day, time_unit_days, 8);
	if (day > end_day)
		PG_RETURN_POINTER(state);
	clv_summary_reserve(state, state->count + 1);
	state->purchases[state->count].day = day;
	state->purchases[state->count].amount = amount;
	state->count++;
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(crm_clv_summary_combine);
/* clv_summary combine: appends one partial state's transactions to the other's. */
Datum
crm_clv_summary_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_clv_summary_combine");
	ClvSummaryState *left = PG_ARGISNULL(0) ? NULL : (ClvSummaryState *) PG_GETARG_POINTER(0);
	ClvSummaryState *right = PG_ARGISNULL(1) ? NULL : (ClvSummaryState *) PG_GETARG_POINTER(1);

	if (right == NULL)
	{
		if (left == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(left);
	}
	if (left == NULL)
		left = clv_summary_state_new(context, right->end_day, right->time_unit_days, right->count);
	else
		clv_summary_same_arguments(left, right->end_day, right->time_unit_days);
	clv_summary_reserve(left, left->count + right->count);
	memcpy(left->purchases + left->count, right->purchases, sizeof(Purchase) * right->count);
	left->count += right->count;
	PG_RETURN_POINTER(left);
}

PG_FUNCTION_INFO_V1(crm_clv_summary_serialize);
/* clv_summary serialize: end day, time unit, count, then (day, amount) pairs. */
Datum
crm_clv_summary_serialize(PG_FUNCTION_ARGS)
{
	ClvSummaryState *state = (ClvSummaryState *) PG_GETARG_POINTER(0);
	StringInfoData buffer;

	crm_aggregate_context(fcinfo, "crm_clv_summary_serialize");
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
/* clv_summary deserialize: the inverse of crm_clv_summary_serialize, checking every length. */
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
		state->purchases[i].amount = pq_getmsgfloat8(&buffer);
	}
	state->count = count;
	PG_RETURN_POINTER(state);
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

	crm_aggregate_context(fcinfo, "crm_clv_summary_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (ClvSummaryState *) PG_GETARG_POINTER(0);
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
