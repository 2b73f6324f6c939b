/*
 * lead_scoring.c: the test a lead scoring rule makes on one field value (src/lead_scoring.sql).
 *
 * Rules are data: an operator and a value, both text, compared as the field's type. Scoring a
 * million leads tests millions of (rule, lead) pairs, so the test is C rather than PL/pgSQL; it
 * reads the values with the types' own input functions and compares with their own comparison
 * functions, as the SQL casts and operators would.
 */
#include "crm.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"

/* -1, 0 or 1 as field_value compares to value, both read as value_type. */
static int
rule_compare(text *field_value, text *value, const char *value_type)
{
	char	   *field_string = text_to_cstring(field_value);
	char	   *value_string = text_to_cstring(value);

	if (strcmp(value_type, "numeric") == 0)
		return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
												 DirectFunctionCall3(numeric_in, CStringGetDatum(field_string),
																	 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)),
												 DirectFunctionCall3(numeric_in, CStringGetDatum(value_string),
																	 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1))));
	if (strcmp(value_type, "date") == 0)
		return DatumGetInt32(DirectFunctionCall2(date_cmp,
												 DirectFunctionCall1(date_in, CStringGetDatum(field_string)),
												 DirectFunctionCall1(date_in, CStringGetDatum(value_string))));
	if (strcmp(value_type, "timestamptz") == 0)
		return DatumGetInt32(DirectFunctionCall2(timestamp_cmp,
												 DirectFunctionCall3(timestamptz_in, CStringGetDatum(field_string),
																	 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)),
												 DirectFunctionCall3(timestamptz_in, CStringGetDatum(value_string),
																	 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1))));
	if (strcmp(value_type, "boolean") == 0)
	{
		bool		field_bool = DatumGetBool(DirectFunctionCall1(boolin, CStringGetDatum(field_string)));
		bool		value_bool = DatumGetBool(DirectFunctionCall1(boolin, CStringGetDatum(value_string)));

		return (int) field_bool - (int) value_bool;
	}
	{
		int			order = DatumGetInt32(DirectFunctionCall2Coll(bttextcmp, DEFAULT_COLLATION_OID,
																  PointerGetDatum(field_value),
																  PointerGetDatum(value)));

		return (order > 0) - (order < 0);
	}
}

PG_FUNCTION_INFO_V1(crm_lead_scoring_test);
/* Whether field_value operator value holds, the values read as value_type; never NULL. */
Datum
crm_lead_scoring_test(PG_FUNCTION_ARGS)
{
	text	   *field_value;
	text	   *value;
	char	   *operator;
	char	   *value_type;

	if (PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	operator = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(operator, "is null") == 0)
		PG_RETURN_BOOL(PG_ARGISNULL(0));
	if (strcmp(operator, "is not null") == 0)
		PG_RETURN_BOOL(!PG_ARGISNULL(0));
	/* a NULL field matches nothing else, and without a value there is nothing to compare */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_BOOL(false);
	field_value = PG_GETARG_TEXT_PP(0);
	value = PG_GETARG_TEXT_PP(2);
	value_type = text_to_cstring(PG_GETARG_TEXT_PP(3));

	if (strcmp(operator, "in") == 0)
	{
		/* array_in keeps a cache in its FmgrInfo: it needs a real call, not DirectFunctionCall */
		ArrayType  *elements = DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, text_to_cstring(value),
																	   TEXTOID, -1));
		Datum	   *element_values;
		bool	   *element_nulls;
		int			count;

		deconstruct_array(elements, TEXTOID, -1, false, TYPALIGN_INT, &element_values, &element_nulls, &count);
		for (int i = 0; i < count; i++)
			if (!element_nulls[i] && rule_compare(field_value, DatumGetTextPP(element_values[i]), value_type) == 0)
				PG_RETURN_BOOL(true);
		PG_RETURN_BOOL(false);
	}
	if (strcmp(operator, "ends_with") == 0)
	{
		Datum		lower_field = DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, PointerGetDatum(field_value));
		Datum		lower_value = DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, PointerGetDatum(value));
		Datum		suffix = DirectFunctionCall2(text_right, lower_field,
												 DirectFunctionCall1(textlen, PointerGetDatum(value)));

		PG_RETURN_DATUM(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, suffix, lower_value));
	}
	if (strcmp(operator, "matches") == 0)
		PG_RETURN_DATUM(DirectFunctionCall2Coll(texticregexeq, DEFAULT_COLLATION_OID,
												PointerGetDatum(field_value), PointerGetDatum(value)));
	if (strcmp(operator, "like") == 0)
		PG_RETURN_DATUM(DirectFunctionCall2Coll(textlike, DEFAULT_COLLATION_OID,
												PointerGetDatum(field_value), PointerGetDatum(value)));
	{
		int			order = rule_compare(field_value, value, value_type);

		if (strcmp(operator, "=") == 0)
			PG_RETURN_BOOL(order == 0);
		if (strcmp(operator, "<>") == 0)
			PG_RETURN_BOOL(order != 0);
		if (strcmp(operator, "<") == 0)
			PG_RETURN_BOOL(order < 0);
		if (strcmp(operator, "<=") == 0)
			PG_RETURN_BOOL(order <= 0);
		if (strcmp(operator, ">") == 0)
			PG_RETURN_BOOL(order > 0);
		if (strcmp(operator, ">=") == 0)
			PG_RETURN_BOOL(order >= 0);
	}
	/* rules are validated when written: an operator not listed there matches nothing */
	PG_RETURN_BOOL(false);
}
