/*
 * lead_scoring_rules.c: the test a lead scoring rule makes on one field value, and the scoring
 * model (the rules, groups and settings in force), read once and kept per backend. See
 * lead_scoring.h for how the lead scoring files divide the work.
 *
 * Rules are data: an operator and a value, both text, compared as the field's type. Scoring a
 * million leads tests millions of (rule, lead) pairs, so the test is C rather than PL/pgSQL; it
 * reads the values with the types' own input functions and compares with their own comparison
 * functions, as the SQL casts and operators would.
 */
#include "lead_scoring.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "crm_names.h"
#include "trigger_guard.h"

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

/*
 * Whether field_value operator value holds, the values read as value_type (see
 * crm.lead_scoring_test); NULL pointers stand for SQL NULLs.
 */
bool
lead_scoring_rule_holds(text *field_value, const char *operator, text *value, const char *value_type)
{
	if (operator == NULL)
		return false;
	if (strcmp(operator, "is null") == 0)
		return field_value == NULL;
	if (strcmp(operator, "is not null") == 0)
		return field_value != NULL;
	/* a NULL field matches nothing else, and without a value there is nothing to compare */
	if (field_value == NULL || value == NULL || value_type == NULL)
		return false;

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
				return true;
		return false;
	}
	if (strcmp(operator, "ends_with") == 0)
	{
		Datum		lower_field = DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, PointerGetDatum(field_value));
		Datum		lower_value = DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, PointerGetDatum(value));
		Datum		suffix = DirectFunctionCall2(text_right, lower_field,
												 DirectFunctionCall1(textlen, PointerGetDatum(value)));

		return DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, suffix, lower_value));
	}
	if (strcmp(operator, "matches") == 0)
		return DatumGetBool(DirectFunctionCall2Coll(texticregexeq, DEFAULT_COLLATION_OID,
													PointerGetDatum(field_value), PointerGetDatum(value)));
	if (strcmp(operator, "like") == 0)
		return DatumGetBool(DirectFunctionCall2Coll(textlike, DEFAULT_COLLATION_OID,
													PointerGetDatum(field_value), PointerGetDatum(value)));
	{
		int			order = rule_compare(field_value, value, value_type);

		if (strcmp(operator, "=") == 0)
			return order == 0;
		if (strcmp(operator, "<>") == 0)
			return order != 0;
		if (strcmp(operator, "<") == 0)
			return order < 0;
		if (strcmp(operator, "<=") == 0)
			return order <= 0;
		if (strcmp(operator, ">") == 0)
			return order > 0;
		if (strcmp(operator, ">=") == 0)
			return order >= 0;
	}
	/* rules are validated when written: an operator not listed there matches nothing */
	return false;
}

PG_FUNCTION_INFO_V1(crm_lead_scoring_test);
/* Whether field_value operator value holds, the values read as value_type; never NULL. */
Datum
crm_lead_scoring_test(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lead_scoring_rule_holds(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0),
										   PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)),
										   PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2),
										   PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3))));
}

/* Column values of a row by name, NULL pointers for SQL NULLs. */
static Datum
column_value(TupleTableSlot *slot, Relation relation, const char *name, bool *isnull)
{
	return slot_getattr(slot, lead_scoring_column_number(relation, name, false), isnull);
}

static char *
column_cstring(TupleTableSlot *slot, Relation relation, const char *name)
{
	bool		isnull;
	Datum		value = column_value(slot, relation, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(value);
}

static text *
column_text(TupleTableSlot *slot, Relation relation, const char *name)
{
	bool		isnull;
	Datum		value = column_value(slot, relation, name, &isnull);

	return isnull ? NULL : DatumGetTextPCopy(value);
}

static Numeric
column_numeric(TupleTableSlot *slot, Relation relation, const char *name)
{
	bool		isnull;
	Datum		value = column_value(slot, relation, name, &isnull);

	return isnull ? NULL : DatumGetNumericCopy(value);
}

static Interval *
column_interval(TupleTableSlot *slot, Relation relation, const char *name)
{
	bool		isnull;
	Datum		value = column_value(slot, relation, name, &isnull);

	return isnull ? NULL : DatumGetIntervalP(datumCopy(value, false, sizeof(Interval)));
}

/*
 * Fills rule->attribute and the field's type for a fit rule: the column of the entity's table, as
 * crm.lead_scores reads it through to_jsonb(row) ->> field. A column whose type to_jsonb renders as
 * JSON (arrays, composites, json) cannot be read that way; rules are checked against the field's
 * type when written, so only a later change of the column's type gets here.
 */
static void
resolve_fit_field(ScoringRule *rule, const char *field, Relation entity_table, int32 rule_id, const char *rule_name)
{
	Oid			type;
	bool		varlena;

	rule->attribute = field == NULL ? InvalidAttrNumber
		: lead_scoring_column_number(entity_table, field, true);
	if (rule->attribute == InvalidAttrNumber)
		return;
	type = TupleDescAttr(RelationGetDescr(entity_table), rule->attribute - 1)->atttypid;
	rule->field_base_type = getBaseType(type);
	if (type_is_array_domain(rule->field_base_type) || type_is_rowtype(rule->field_base_type) ||
		rule->field_base_type == JSONOID || rule->field_base_type == JSONBOID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lead scoring rule %d (%s): field \"%s\" has type %s, which fit rules cannot compare",
						rule_id, rule_name, field, format_type_be(type))));
	getTypeOutputInfo(type, &rule->field_output_function, &varlena);
}

/*
 * The model is read once and kept in the backend until a change to the rules, groups or settings
 * (their row trigger, crm_lead_scoring_model_changed, sends a relcache invalidation of the rules
 * table: to this backend at its next command, to the others at commit) or to the tables the fit
 * rules read. A
 * change to the rules rescores every lead at commit under an EXCLUSIVE lock on crm.leads, which
 * waits for every transaction scoring leads: none of them can run on a model gone stale.
 */
static ScoringModel *cached_model = NULL;
static MemoryContext model_memory = NULL;

static void
model_invalidated(Datum argument, Oid relation_id)
{
	if (cached_model == NULL)
		return;
	for (int i = 0; i < (int) lengthof(cached_model->read_from); i++)
		if (!OidIsValid(relation_id) || cached_model->read_from[i] == relation_id)
		{
			cached_model = NULL;
			return;
		}
}

/* The rules, groups and settings in force, read with snapshot. */
static ScoringModel *
load_scoring_model(ScoringTables *tables, Snapshot snapshot)
{
	ScoringModel *model = palloc0(sizeof(ScoringModel));
	Relation	groups = lead_scoring_open_extension_relation(tables->schema, CRM_TABLE_LEAD_SCORING_GROUPS,
															  AccessShareLock, false);
	Relation	rules = lead_scoring_open_extension_relation(tables->schema, CRM_TABLE_LEAD_SCORING_RULES,
															 AccessShareLock, false);
	Relation	settings = lead_scoring_open_extension_relation(tables->schema, CRM_TABLE_LEAD_SCORING_SETTINGS,
																AccessShareLock, false);
	TupleTableSlot *slot;
	TableScanDesc scan;
	int			capacity;

	model->schema = tables->schema;
	model->read_from[0] = RelationGetRelid(rules);
	model->read_from[1] = RelationGetRelid(groups);
	model->read_from[2] = RelationGetRelid(settings);
	model->read_from[3] = RelationGetRelid(tables->leads);
	model->read_from[4] = RelationGetRelid(tables->contacts);
	model->read_from[5] = RelationGetRelid(tables->accounts);

	slot = table_slot_create(settings, NULL);
	scan = table_beginscan(settings, snapshot, 0, NULL);
	if (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		model->has_settings = true;
		model->total_cap = column_numeric(slot, settings, CRM_COLUMN_SETTINGS_TOTAL_CAP);
		model->hot_threshold = column_numeric(slot, settings, CRM_COLUMN_SETTINGS_HOT_THRESHOLD);
		model->warm_threshold = column_numeric(slot, settings, CRM_COLUMN_SETTINGS_WARM_THRESHOLD);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);

	capacity = 8;
	model->groups = palloc(sizeof(ScoringGroup) * capacity);
	slot = table_slot_create(groups, NULL);
	scan = table_beginscan(groups, snapshot, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		ScoringGroup *group;
		bool		isnull;

		model->groups = lead_scoring_with_room_for_one_more(model->groups, model->group_count, &capacity,
															sizeof(ScoringGroup));
		group = &model->groups[model->group_count++];
		group->group_id = DatumGetInt32(column_value(slot, groups, CRM_COLUMN_GROUPS_GROUP_ID, &isnull));
		group->cap = column_numeric(slot, groups, CRM_COLUMN_GROUPS_CAP);
		group->half_life = column_interval(slot, groups, CRM_COLUMN_GROUPS_HALF_LIFE);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);

	capacity = 16;
	model->rules = palloc(sizeof(ScoringRule) * capacity);
	slot = table_slot_create(rules, NULL);
	scan = table_beginscan(rules, snapshot, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		ScoringRule *rule;
		bool		isnull;
		Datum		value;
		int32		group_id;
		int32		rule_id;
		char	   *kind;
		char	   *rule_name;
		Interval   *half_life;

		value = column_value(slot, rules, CRM_COLUMN_RULES_ACTIVE, &isnull);
		if (isnull || !DatumGetBool(value))
			continue;
		kind = column_cstring(slot, rules, CRM_COLUMN_RULES_KIND);
		if (kind == NULL || (strcmp(kind, "fit") != 0 && strcmp(kind, "engagement") != 0))
			continue;
		model->rules = lead_scoring_with_room_for_one_more(model->rules, model->rule_count, &capacity,
														   sizeof(ScoringRule));
		rule = &model->rules[model->rule_count];
		memset(rule, 0, sizeof(ScoringRule));
		rule_id = DatumGetInt32(column_value(slot, rules, CRM_COLUMN_RULES_RULE_ID, &isnull));
		rule_name = column_cstring(slot, rules, CRM_COLUMN_RULES_NAME);
		group_id = DatumGetInt32(column_value(slot, rules, CRM_COLUMN_RULES_GROUP_ID, &isnull));
		rule->group = -1;
		for (int g = 0; g < model->group_count; g++)
			if (model->groups[g].group_id == group_id)
				rule->group = g;
		/* the foreign key makes this impossible; a rule without its group scores nothing in SQL */
		if (rule->group < 0)
			continue;
		rule->points = column_numeric(slot, rules, CRM_COLUMN_RULES_POINTS);
		rule->fit = strcmp(kind, "fit") == 0;
		if (rule->fit)
		{
			char	   *entity = column_cstring(slot, rules, CRM_COLUMN_RULES_ENTITY);
			Relation	entity_table;

			/* as crm.lead_scores' CASE: any entity but lead and contact reads the account */
			if (entity != NULL && strcmp(entity, "lead") == 0)
				rule->entity = ENTITY_LEAD, entity_table = tables->leads;
			else if (entity != NULL && strcmp(entity, "contact") == 0)
				rule->entity = ENTITY_CONTACT, entity_table = tables->contacts;
			else
				rule->entity = ENTITY_ACCOUNT, entity_table = tables->accounts;
			resolve_fit_field(rule, column_cstring(slot, rules, CRM_COLUMN_RULES_FIELD), entity_table, rule_id, rule_name);
			rule->operator = column_cstring(slot, rules, CRM_COLUMN_RULES_OPERATOR);
			rule->value = column_text(slot, rules, CRM_COLUMN_RULES_VALUE);
			rule->value_type = column_cstring(slot, rules, CRM_COLUMN_RULES_VALUE_TYPE);
		}
		else
		{
			value = column_value(slot, rules, CRM_COLUMN_RULES_ACTIVITY_KIND, &isnull);
			if (isnull)
				continue;		/* matches no activity */
			rule->activity_kind = DatumGetObjectId(value);
			value = column_value(slot, rules, CRM_COLUMN_RULES_CHANNEL, &isnull);
			rule->channel = isnull ? InvalidOid : DatumGetObjectId(value);
			rule->detail_key = column_text(slot, rules, CRM_COLUMN_RULES_DETAIL_KEY);
			rule->detail_operator = column_cstring(slot, rules, CRM_COLUMN_RULES_DETAIL_OPERATOR);
			rule->detail_value = column_text(slot, rules, CRM_COLUMN_RULES_DETAIL_VALUE);
			half_life = column_interval(slot, rules, CRM_COLUMN_RULES_HALF_LIFE);
			if (half_life == NULL)
				half_life = model->groups[rule->group].half_life;
			rule->decays = half_life != NULL;
			if (rule->decays)
				rule->half_life_seconds = lead_scoring_epoch_seconds(IntervalPGetDatum(half_life));
			model->has_engagement_rules = true;
		}
		model->rule_count++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);

	table_close(settings, NoLock);
	table_close(rules, NoLock);
	table_close(groups, NoLock);
	return model;
}

ScoringModel *
lead_scoring_model(ScoringTables *tables, Snapshot snapshot)
{
	MemoryContext caller_memory;

	if (cached_model != NULL && cached_model->schema == tables->schema)
		return cached_model;
	if (model_memory == NULL)
	{
		model_memory = AllocSetContextCreate(CacheMemoryContext, "crm lead scoring model", ALLOCSET_SMALL_SIZES);
		CacheRegisterRelcacheCallback(model_invalidated, (Datum) 0);
	}
	cached_model = NULL;
	MemoryContextReset(model_memory);
	caller_memory = MemoryContextSwitchTo(model_memory);
	cached_model = load_scoring_model(tables, snapshot);
	MemoryContextSwitchTo(caller_memory);
	return cached_model;
}

PG_FUNCTION_INFO_V1(crm_lead_scoring_model_changed);
/* AFTER row trigger on the rules, groups and settings: backends read the model again. */
Datum
crm_lead_scoring_model_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigger_data = (TriggerData *) fcinfo->context;
	Oid			rules;

	static const char *const own_tables[] = {CRM_TABLE_LEAD_SCORING_RULES, CRM_TABLE_LEAD_SCORING_GROUPS,
		CRM_TABLE_LEAD_SCORING_SETTINGS};

	crm_require_trigger_table(fcinfo, "lead_scoring_model_changed", 3, own_tables);
	rules = get_relname_relid(CRM_TABLE_LEAD_SCORING_RULES, RelationGetNamespace(trigger_data->tg_relation));
	if (OidIsValid(rules))
		CacheInvalidateRelcacheByRelid(rules);
	return PointerGetDatum(NULL);
}
