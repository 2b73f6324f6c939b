/*
 * clv_value.c: a customer's discounted lifetime value from a BG/NBD model of their purchases and
 * a Gamma-Gamma model of their spend.
 */
#include "clv.h"

#define CLV_MAX_MONTHS 1200

PG_FUNCTION_INFO_V1(crm_clv);
/* Discounted CLV over the next months: sum of E[M] (E[Y(i f)] - E[Y((i-1) f)]) / (1 + d)^i. */
Datum
crm_clv(PG_FUNCTION_ARGS)
{
	double		bgnbd[4],
				gammagamma[3];
	int32		x,
				months;
	double		t_x,
				big_t,
				monthly_discount_rate,
				units_per_month,
				spend,
				discount = 1,
				previous = 0,
				value = 0;
	double		horizons[CLV_MAX_MONTHS],
				expected[CLV_MAX_MONTHS];

	/* NULL in, NULL out; m alone may be NULL, for a customer without repeat purchases */
	for (int argument = 0; argument < PG_NARGS(); argument++)
		if (PG_ARGISNULL(argument) && argument != 5)
			PG_RETURN_NULL();
	x = PG_GETARG_INT32(2);
	t_x = PG_GETARG_FLOAT8(3);
	big_t = PG_GETARG_FLOAT8(4);
	months = PG_GETARG_INT32(6);
	monthly_discount_rate = PG_GETARG_FLOAT8(7);
	units_per_month = PG_GETARG_FLOAT8(8);
	if (x != 0 && PG_ARGISNULL(5))
		PG_RETURN_NULL();
	if (months < 0 || months > CLV_MAX_MONTHS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("months must be between 0 and %d", CLV_MAX_MONTHS),
				 errdetail("The months given were %d.", months)));
	if (!(monthly_discount_rate > -1) || isinf(monthly_discount_rate))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("monthly_discount_rate must be greater than -1 and finite"),
				 errdetail("The rate given was %g.", monthly_discount_rate)));
	if (!(units_per_month > 0) || isinf(units_per_month))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("units_per_month must be a positive, finite number"),
				 errdetail("The value given was %g.", units_per_month),
				 errhint("With weeks as the time unit it is 4.345; with days, 30.44.")));
	bgnbd_validate(x, t_x, big_t);
	clv_bgnbd_model_parameters(fcinfo, 0, bgnbd);
	gammagamma_model_parameters(fcinfo, 1, gammagamma);
	spend = gammagamma_expected_spend_given(gammagamma, x, x == 0 ? 0 : PG_GETARG_FLOAT8(5));
	for (int month = 1; month <= months; month++)
		horizons[month - 1] = month * units_per_month;
	bgnbd_expected_purchases_over(bgnbd, x, t_x, big_t, months, horizons, expected);
	for (int month = 1; month <= months; month++)
	{
		discount /= 1 + monthly_discount_rate;
		value += spend * (expected[month - 1] - previous) * discount;
		previous = expected[month - 1];
	}
	if (!isfinite(value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("customer lifetime value out of range"),
				 errdetail("The discounted value over %d months is not finite.", months)));
	PG_RETURN_FLOAT8(value);
}
