/*
 * lead_scoring.c: the test a lead scoring rule makes on one field value, and the scoring the
 * triggers do to keep crm.leads.score current (src/lead_scoring.sql).
 *
 * Rules are data: an operator and a value, both text, compared as the field's type. Scoring a
 * million leads tests millions of (rule, lead) pairs, so the test is C rather than PL/pgSQL; it
 * reads the values with the types' own input functions and compares with their own comparison
 * functions, as the SQL casts and operators would.
 */
#include "crm.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

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
static bool
rule_holds(text *field_value, const char *operator, text *value, const char *value_type)
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
	PG_RETURN_BOOL(rule_holds(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0),
							  PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)),
							  PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2),
							  PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3))));
}

/*
 * Keeping stored scores current.
 *
 * crm.lead_scores (SQL) is the definition of a score and what crm.lead_score recomputes. The
 * triggers store scores through the code below instead: it reads the rules, the lead, its contact
 * and account and the lead's activities straight from their tables and indexes and does the same
 * arithmetic with the same functions (numeric sums, the decay rounded to 15 decimals, the caps,
 * rounding to 6), so the stored score equals the recomputation exactly, at a small fraction of the
 * cost of running the SQL for every activity insert. test/lead_scoring_engine.sql checks the two
 * agree.
 */

typedef enum RuleEntity
{
	ENTITY_LEAD,
	ENTITY_CONTACT,
	ENTITY_ACCOUNT
} RuleEntity;

typedef struct ScoringRule
{
	int			group;			/* index into ScoringModel.groups */
	Numeric		points;
	bool		fit;
	/* fit rules: the field of the entity's row, as to_jsonb(row) ->> field reads it */
	RuleEntity	entity;
	AttrNumber	attribute;		/* InvalidAttrNumber: no such column, the field reads as NULL */
	Oid			field_base_type;
	Oid			field_output_function;
	char	   *operator;
	text	   *value;
	char	   *value_type;
	/* engagement rules */
	Oid			activity_kind;
	Oid			channel;		/* InvalidOid: any channel */
	text	   *detail_key;		/* NULL: no condition on the activity's details */
	char	   *detail_operator;
	text	   *detail_value;
	bool		decays;			/* a half-life, the rule's or else its group's, is set */
	double		half_life_seconds;	/* date_part('epoch', half_life), read once */
} ScoringRule;

typedef struct ScoringGroup
{
	int32		group_id;
	Numeric		cap;			/* NULL: no cap */
	Interval   *half_life;
} ScoringGroup;

typedef struct ScoringModel
{
	ScoringRule *rules;
	int			rule_count;
	ScoringGroup *groups;
	int			group_count;
	bool		has_settings;
	Numeric		total_cap;		/* NULL: no cap */
	Numeric		hot_threshold;
	Numeric		warm_threshold;
	bool		has_engagement_rules;
	Oid			schema;
	Oid			read_from[6];	/* the tables whose changes invalidate it */
} ScoringModel;

/* The extension's tables and indexes a scoring pass reads, open for its duration. */
typedef struct ScoringTables
{
	Oid			schema;
	Relation	leads;
	Relation	leads_key;
	Relation	contacts;
	Relation	contacts_key;
	Relation	accounts;
	Relation	accounts_key;
	Relation	activities;
	Relation	activities_by_lead;
	/* the columns read for every lead */
	AttrNumber	lead_contact_column;
	AttrNumber	contact_account_column;
	AttrNumber	activity_kind_column;
	AttrNumber	activity_channel_column;
	AttrNumber	activity_occurred_column;
	AttrNumber	activity_details_column;
} ScoringTables;

/* The attribute number of a column of one of the extension's own tables. */
static AttrNumber
column_number(Relation relation, const char *name, bool missing_ok)
{
	TupleDesc	descriptor = RelationGetDescr(relation);

	for (int i = 0; i < descriptor->natts; i++)
	{
		Form_pg_attribute attribute = TupleDescAttr(descriptor, i);

		if (!attribute->attisdropped && strcmp(NameStr(attribute->attname), name) == 0)
			return attribute->attnum;
	}
	if (!missing_ok)
		elog(ERROR, "column \"%s\" of \"%s\" not found", name, RelationGetRelationName(relation));
	return InvalidAttrNumber;
}

static Relation
open_extension_relation(Oid schema, const char *name, LOCKMODE lock, bool is_index)
{
	Oid			relation_id = get_relname_relid(name, schema);

	if (!OidIsValid(relation_id))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lead scoring needs %s.%s, which does not exist", get_namespace_name(schema), name)));
	return is_index ? index_open(relation_id, lock) : table_open(relation_id, lock);
}

static void
open_scoring_tables(ScoringTables *tables, Oid schema)
{
	tables->schema = schema;
	tables->leads = open_extension_relation(schema, CRM_TABLE_LEADS, RowExclusiveLock, false);
	tables->leads_key = open_extension_relation(schema, CRM_INDEX_LEADS_PKEY, RowExclusiveLock, true);
	tables->contacts = open_extension_relation(schema, CRM_TABLE_CONTACTS, AccessShareLock, false);
	tables->contacts_key = open_extension_relation(schema, CRM_INDEX_CONTACTS_PKEY, AccessShareLock, true);
	tables->accounts = open_extension_relation(schema, CRM_TABLE_ACCOUNTS, AccessShareLock, false);
	tables->accounts_key = open_extension_relation(schema, CRM_INDEX_ACCOUNTS_PKEY, AccessShareLock, true);
	tables->activities = open_extension_relation(schema, CRM_TABLE_ACTIVITIES, AccessShareLock, false);
	tables->activities_by_lead = open_extension_relation(schema, CRM_INDEX_ACTIVITIES_BY_LEAD, AccessShareLock, true);
	tables->lead_contact_column = column_number(tables->leads, CRM_COLUMN_LEADS_CONTACT_ID, false);
	tables->contact_account_column = column_number(tables->contacts, CRM_COLUMN_CONTACTS_ACCOUNT_ID, false);
	tables->activity_kind_column = column_number(tables->activities, CRM_COLUMN_ACTIVITIES_KIND, false);
	tables->activity_channel_column = column_number(tables->activities, CRM_COLUMN_ACTIVITIES_CHANNEL, false);
	tables->activity_occurred_column = column_number(tables->activities, CRM_COLUMN_ACTIVITIES_OCCURRED_AT, false);
	tables->activity_details_column = column_number(tables->activities, CRM_COLUMN_ACTIVITIES_DETAILS, false);
}

static void
close_scoring_tables(ScoringTables *tables)
{
	index_close(tables->activities_by_lead, NoLock);
	table_close(tables->activities, NoLock);
	index_close(tables->accounts_key, NoLock);
	table_close(tables->accounts, NoLock);
	index_close(tables->contacts_key, NoLock);
	table_close(tables->contacts, NoLock);
	index_close(tables->leads_key, NoLock);
	table_close(tables->leads, NoLock);
}

/* Column values of a row by name, NULL pointers for SQL NULLs. */
static Datum
column_value(TupleTableSlot *slot, Relation relation, const char *name, bool *isnull)
{
	return slot_getattr(slot, column_number(relation, name, false), isnull);
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

/* date_part('epoch', interval), as crm.lead_scoring_decay computes it. */
static double
epoch_seconds(Datum interval)
{
	return DatumGetFloat8(DirectFunctionCall2(interval_part, CStringGetTextDatum("epoch"), interval));
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

	rule->attribute = field == NULL ? InvalidAttrNumber : column_number(entity_table, field, true);
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

/* array (palloc'd, room for *capacity elements) with room for count + 1: doubled when full. */
static void *
with_room_for_one_more(void *array, int count, int *capacity, Size element_size)
{
	if (count < *capacity)
		return array;
	*capacity *= 2;
	return repalloc(array, element_size * *capacity);
}

/* The rules, groups and settings in force, read with snapshot. */
static ScoringModel *
load_scoring_model(ScoringTables *tables, Snapshot snapshot)
{
	ScoringModel *model = palloc0(sizeof(ScoringModel));
	Relation	groups = open_extension_relation(tables->schema, CRM_TABLE_LEAD_SCORING_GROUPS, AccessShareLock, false);
	Relation	rules = open_extension_relation(tables->schema, CRM_TABLE_LEAD_SCORING_RULES, AccessShareLock, false);
	Relation	settings = open_extension_relation(tables->schema, CRM_TABLE_LEAD_SCORING_SETTINGS, AccessShareLock, false);
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

		model->groups = with_room_for_one_more(model->groups, model->group_count, &capacity, sizeof(ScoringGroup));
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
		model->rules = with_room_for_one_more(model->rules, model->rule_count, &capacity, sizeof(ScoringRule));
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
				rule->half_life_seconds = epoch_seconds(IntervalPGetDatum(half_life));
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

static ScoringModel *
scoring_model(ScoringTables *tables, Snapshot snapshot)
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

/* The row of relation whose single-column key (an int8 primary key) is key, into slot. */
static bool
fetch_by_key(Relation relation, Relation index, int64 key, Snapshot snapshot, TupleTableSlot *slot)
{
	ScanKeyData scan_key;
	IndexScanDesc scan;
	bool		found;

	ScanKeyInit(&scan_key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(key));
	scan = crm_index_beginscan(relation, index, snapshot, 1, 0);
	index_rescan(scan, &scan_key, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	return found;
}

/*
 * Locks the lead's row FOR NO KEY UPDATE, as the rescoring UPDATE will, and leaves its latest
 * version in slot. Returns false when there is no such lead. Under READ COMMITTED a row updated
 * while we waited is looked up again; under REPEATABLE READ or SERIALIZABLE that is a
 * serialization failure, as for SELECT ... FOR NO KEY UPDATE.
 */
static bool
lock_lead(ScoringTables *tables, int64 lead_id, TupleTableSlot *slot)
{
	for (;;)
	{
		Snapshot	snapshot = RegisterSnapshot(IsolationUsesXactSnapshot() ? GetTransactionSnapshot()
												: GetLatestSnapshot());
		TM_FailureData failure;
		TM_Result	result;

		if (!fetch_by_key(tables->leads, tables->leads_key, lead_id, snapshot, slot))
		{
			UnregisterSnapshot(snapshot);
			return false;
		}
		result = table_tuple_lock(tables->leads, &slot->tts_tid, snapshot, slot, GetCurrentCommandId(false),
								  LockTupleNoKeyExclusive, LockWaitBlock, 0, &failure);
		UnregisterSnapshot(snapshot);
		switch (result)
		{
			case TM_Ok:
				return true;
			case TM_Updated:
			case TM_Deleted:
				if (IsolationUsesXactSnapshot())
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not serialize access due to concurrent update")));
				continue;
			case TM_SelfModified:
				/* this command changed the lead already: the version we found is the latest */
				return true;
			default:
				elog(ERROR, "unexpected result %d locking lead " INT64_FORMAT, (int) result, lead_id);
		}
	}
}

/* The text to_jsonb(row) ->> field gives for a column value of the given (base) type. */
static text *
field_json_text(Datum value, Oid base_type, Oid output_function)
{
	char	   *output;

	switch (base_type)
	{
		case BOOLOID:
			return cstring_to_text(DatumGetBool(value) ? "true" : "false");
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return cstring_to_text(JsonEncodeDateTime(NULL, value, base_type, NULL));
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			output = OidOutputFunctionCall(output_function, value);
			/* jsonb keeps a number as numeric, and NaN or infinity as the string it printed as */
			if (strpbrk(output, "Nn") != NULL)
				return cstring_to_text(output);
			return cstring_to_text(DatumGetCString(DirectFunctionCall1(numeric_out,
																	   DirectFunctionCall3(numeric_in, CStringGetDatum(output),
																						   ObjectIdGetDatum(InvalidOid),
																						   Int32GetDatum(-1)))));
		default:
			return cstring_to_text(OidOutputFunctionCall(output_function, value));
	}
}

/* details ->> key, NULL pointer for SQL NULL. */
static text *
details_field(Datum details, text *key)
{
	static FmgrInfo field_text_function;
	LOCAL_FCINFO(call, 2);
	Datum		result;

	if (field_text_function.fn_oid == InvalidOid)
		fmgr_info_cxt(F_JSONB_OBJECT_FIELD_TEXT, &field_text_function, TopMemoryContext);
	InitFunctionCallInfoData(*call, &field_text_function, 2, InvalidOid, NULL, NULL);
	call->args[0].value = details;
	call->args[0].isnull = false;
	call->args[1].value = PointerGetDatum(key);
	call->args[1].isnull = false;
	result = FunctionCallInvoke(call);
	return call->isnull ? NULL : DatumGetTextPP(result);
}

/* crm.lead_scoring_decay: 0.5^(age/half_life) rounded to 15 decimals, 0 beyond 1000 half-lives. */
static Numeric
decay_weight(TimestampTz as_of, TimestampTz occurred_at, const ScoringRule *rule)
{
	double		ratio;

	if (!rule->decays)
		return int64_to_numeric(1);
	/*
	 * activities_occurred_at_finite keeps infinities out of crm.activities; were one there, it
	 * would be infinitely old (the caller skips anything later than as_of): its limit, no weight,
	 * rather than timestamp_mi's 22008.
	 */
	if (TIMESTAMP_NOT_FINITE(occurred_at))
		return int64_to_numeric(0);
	ratio = DatumGetFloat8(DirectFunctionCall2(float8div,
											   Float8GetDatum(epoch_seconds(DirectFunctionCall2(timestamp_mi,
																								TimestampTzGetDatum(as_of),
																								TimestampTzGetDatum(occurred_at)))),
											   Float8GetDatum(rule->half_life_seconds)));
	if (ratio > 1000)
		return int64_to_numeric(0);
	return DatumGetNumeric(DirectFunctionCall2(numeric_round,
											   DirectFunctionCall1(float8_numeric,
																   DirectFunctionCall2(dpow, Float8GetDatum(0.5),
																					   Float8GetDatum(ratio))),
											   Int32GetDatum(15)));
}

static void
add_points(Numeric *sums, bool *seen, int group, Numeric points)
{
	sums[group] = seen[group] ? numeric_add_opt_error(sums[group], points, NULL) : points;
	seen[group] = true;
}

/* LEAST(a, b) as SQL has it: NULLs are ignored. */
static Numeric
numeric_least(Numeric a, Numeric b)
{
	if (a == NULL)
		return b;
	if (b == NULL)
		return a;
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(b), NumericGetDatum(a))) < 0 ? b : a;
}

/*
 * The score of the lead in lead_slot at as_of: crm.lead_scores' arithmetic, reading the contact,
 * account and activities with snapshot.
 */
static Numeric
score_lead(ScoringModel *model, ScoringTables *tables, int64 lead_id, TupleTableSlot *lead_slot,
		   TimestampTz as_of, Snapshot snapshot, TupleTableSlot *contact_slot, TupleTableSlot *account_slot,
		   TupleTableSlot *activity_slot)
{
	Numeric    *sums = palloc0(sizeof(Numeric) * Max(model->group_count, 1));
	bool	   *seen = palloc0(sizeof(bool) * Max(model->group_count, 1));
	Numeric		total = NULL;
	bool		isnull;
	Datum		value;

	/* fit: the lead's row joined to its contact (inner) and the contact's account (outer) */
	value = slot_getattr(lead_slot, tables->lead_contact_column, &isnull);
	if (!isnull && fetch_by_key(tables->contacts, tables->contacts_key, DatumGetInt64(value), snapshot, contact_slot))
	{
		bool		has_account = false;

		value = slot_getattr(contact_slot, tables->contact_account_column, &isnull);
		if (!isnull)
			has_account = fetch_by_key(tables->accounts, tables->accounts_key, DatumGetInt64(value), snapshot,
									   account_slot);
		for (int r = 0; r < model->rule_count; r++)
		{
			ScoringRule *rule = &model->rules[r];
			TupleTableSlot *row;
			text	   *field = NULL;

			if (!rule->fit)
				continue;
			row = rule->entity == ENTITY_LEAD ? lead_slot : rule->entity == ENTITY_CONTACT ? contact_slot
				: has_account ? account_slot : NULL;
			if (row != NULL && rule->attribute != InvalidAttrNumber)
			{
				value = slot_getattr(row, rule->attribute, &isnull);
				if (!isnull)
					field = field_json_text(value, rule->field_base_type, rule->field_output_function);
			}
			if (rule_holds(field, rule->operator, rule->value, rule->value_type))
				add_points(sums, seen, rule->group, rule->points);
		}
	}

	/* engagement: the lead's activities that occurred by as_of */
	if (model->has_engagement_rules)
	{
		ScanKeyData scan_key;
		IndexScanDesc scan;

		ScanKeyInit(&scan_key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(lead_id));
		scan = crm_index_beginscan(tables->activities, tables->activities_by_lead, snapshot, 1, 0);
		index_rescan(scan, &scan_key, 1, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, activity_slot))
		{
			TimestampTz occurred_at;
			Oid			kind;
			Oid			channel;
			bool		channel_null;
			Datum		details;
			bool		details_null;

			value = slot_getattr(activity_slot, tables->activity_occurred_column, &isnull);
			if (isnull || DatumGetTimestampTz(value) > as_of)
				continue;
			occurred_at = DatumGetTimestampTz(value);
			value = slot_getattr(activity_slot, tables->activity_kind_column, &isnull);
			if (isnull)
				continue;
			kind = DatumGetObjectId(value);
			channel = DatumGetObjectId(slot_getattr(activity_slot, tables->activity_channel_column, &channel_null));
			details = slot_getattr(activity_slot, tables->activity_details_column, &details_null);
			for (int r = 0; r < model->rule_count; r++)
			{
				ScoringRule *rule = &model->rules[r];

				if (rule->fit || rule->activity_kind != kind ||
					(OidIsValid(rule->channel) && (channel_null || rule->channel != channel)))
					continue;
				if (rule->detail_key != NULL &&
					!rule_holds(details_null ? NULL : details_field(details, rule->detail_key),
								rule->detail_operator, rule->detail_value, "text"))
					continue;
				add_points(sums, seen, rule->group,
						   numeric_mul_opt_error(rule->points, decay_weight(as_of, occurred_at, rule), NULL));
			}
		}
		index_endscan(scan);
	}

	for (int g = 0; g < model->group_count; g++)
		if (seen[g])
		{
			Numeric		group_points = numeric_least(sums[g], model->groups[g].cap);

			total = total == NULL ? group_points : numeric_add_opt_error(total, group_points, NULL);
		}
	if (total == NULL)
		total = int64_to_numeric(0);
	return DatumGetNumeric(DirectFunctionCall2(numeric_round,
											   NumericGetDatum(numeric_least(total, model->total_cap)),
											   Int32GetDatum(6)));
}

static const char *
grade_of(ScoringModel *model, Numeric score)
{
	if (model->hot_threshold != NULL &&
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(score), NumericGetDatum(model->hot_threshold))) >= 0)
		return "hot";
	if (model->warm_threshold != NULL &&
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(score), NumericGetDatum(model->warm_threshold))) >= 0)
		return "warm";
	return "cold";
}

/* The UPDATE that stores a score; prepared once per backend (per leads table). */
static SPIPlanPtr store_plan = NULL;
static Oid	store_plan_table = InvalidOid;

static void
store_score(ScoringTables *tables, int64 lead_id, Numeric score, const char *grade, TimestampTz scoring_time)
{
	Datum		values[4];
	int			result;

	if (store_plan == NULL || store_plan_table != RelationGetRelid(tables->leads))
	{
		Oid			types[4] = {INT8OID, NUMERICOID, TEXTOID, TIMESTAMPTZOID};
		char	   *query = psprintf("UPDATE %s." CRM_TABLE_LEADS " SET " CRM_COLUMN_LEADS_SCORE " = $2, "
									 CRM_COLUMN_LEADS_GRADE " = $3, " CRM_COLUMN_LEADS_SCORED_AT " = $4 "
									 "WHERE " CRM_COLUMN_LEADS_LEAD_ID " OPERATOR(pg_catalog.=) $1",
									 quote_identifier(get_namespace_name(tables->schema)));
		SPIPlanPtr	plan = SPI_prepare(query, 4, types);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		if (store_plan != NULL)
			SPI_freeplan(store_plan);
		store_plan = plan;
		store_plan_table = RelationGetRelid(tables->leads);
	}
	values[0] = Int64GetDatum(lead_id);
	values[1] = NumericGetDatum(score);
	values[2] = CStringGetTextDatum(grade);
	values[3] = TimestampTzGetDatum(scoring_time);
	result = SPI_execute_plan(store_plan, values, NULL, false, 0);
	if (result != SPI_OK_UPDATE)
		elog(ERROR, "storing the score of lead " INT64_FORMAT " failed: %s", lead_id,
			 SPI_result_code_string(result));
}

/*
 * Stores the scores of many leads at once through crm.lead_scoring_store: the SQL definition in one
 * set-based UPDATE. Among the benchmark's million leads, 100 random ones cost about the same either
 * way (9.5 ms one by one, 8.3 ms set-based) and 1,000 cost 290 ms against 110 ms, so statements
 * touching LEAD_SCORING_SET_BASED_FROM leads or more (bulk loads) take the set-based path.
 */
#define LEAD_SCORING_SET_BASED_FROM 500

static void
store_scores_set_based(ScoringTables *tables, int64 *lead_ids, int count, TimestampTz scoring_time)
{
	Datum	   *elements = palloc(sizeof(Datum) * count);
	Oid			types[2] = {INT8ARRAYOID, TIMESTAMPTZOID};
	Datum		values[2];
	int			result;

	for (int i = 0; i < count; i++)
		elements[i] = Int64GetDatum(lead_ids[i]);
	values[0] = PointerGetDatum(construct_array(elements, count, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	values[1] = TimestampTzGetDatum(scoring_time);
	result = SPI_execute_with_args(psprintf("SELECT %s." CRM_FUNCTION_LEAD_SCORING_STORE "($1, $2)",
											quote_identifier(get_namespace_name(tables->schema))),
								   2, types, values, NULL, false, 0);
	if (result != SPI_OK_SELECT)
		elog(ERROR, "storing the scores of %d leads failed: %s", count, SPI_result_code_string(result));
}

static int
compare_lead_ids(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * Rescores the given leads: locks them in lead_id order (sessions scoring overlapping sets of
 * leads queue rather than deadlock), then scores them as of the moment the locks are held, with a
 * snapshot taken then, so every activity committed by an earlier holder of a lock counts. The
 * UPDATE runs as the owner of crm.leads, past row-level security: a score counts every activity
 * of the lead, also those the session cannot see. Memory stays bounded whatever the number of
 * leads: one slot of each kind, and what one lead's scoring allocates is freed before the next.
 */
static void
refresh_leads(Oid schema, int64 *lead_ids, int count)
{
	ScoringTables tables;
	TupleTableSlot *lead_slot;
	TupleTableSlot *contact_slot;
	TupleTableSlot *account_slot;
	TupleTableSlot *activity_slot;
	MemoryContext per_lead_memory;
	ScoringModel *model;
	Snapshot	snapshot;
	TimestampTz scoring_time;
	int			distinct = 0;
	int			locked = 0;
	Oid			saved_user;
	int			saved_security_context;

	if (count == 0)
		return;
	qsort(lead_ids, count, sizeof(int64), compare_lead_ids);
	for (int i = 0; i < count; i++)
		if (i == 0 || lead_ids[i] != lead_ids[i - 1])
			lead_ids[distinct++] = lead_ids[i];

	/* the rows of the statement that fired us become visible to our scans */
	CommandCounterIncrement();
	open_scoring_tables(&tables, schema);
	lead_slot = table_slot_create(tables.leads, NULL);
	for (int i = 0; i < distinct; i++)
	{
		if (lock_lead(&tables, lead_ids[i], lead_slot))
			lead_ids[locked++] = lead_ids[i];
		ExecClearTuple(lead_slot);
	}

	scoring_time = GetCurrentTimestamp();
	snapshot = RegisterSnapshot(IsolationUsesXactSnapshot() ? GetTransactionSnapshot() : GetLatestSnapshot());
	model = scoring_model(&tables, snapshot);
	contact_slot = table_slot_create(tables.contacts, NULL);
	account_slot = table_slot_create(tables.accounts, NULL);
	activity_slot = table_slot_create(tables.activities, NULL);
	per_lead_memory = AllocSetContextCreate(CurrentMemoryContext, "crm lead scoring: one lead", ALLOCSET_DEFAULT_SIZES);

	GetUserIdAndSecContext(&saved_user, &saved_security_context);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SetUserIdAndSecContext(tables.leads->rd_rel->relowner,
						   saved_security_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	if (locked >= LEAD_SCORING_SET_BASED_FROM)
		store_scores_set_based(&tables, lead_ids, locked, scoring_time);
	else
		for (int i = 0; i < locked && model->has_settings; i++)
		{
			MemoryContext caller_memory = MemoryContextSwitchTo(per_lead_memory);
			Numeric		score;

			if (fetch_by_key(tables.leads, tables.leads_key, lead_ids[i], snapshot, lead_slot))
			{
				score = score_lead(model, &tables, lead_ids[i], lead_slot, scoring_time, snapshot,
								   contact_slot, account_slot, activity_slot);
				store_score(&tables, lead_ids[i], score, grade_of(model, score), scoring_time);
			}
			MemoryContextSwitchTo(caller_memory);
			MemoryContextReset(per_lead_memory);
		}
	SetUserIdAndSecContext(saved_user, saved_security_context);
	SPI_finish();

	MemoryContextDelete(per_lead_memory);
	ExecDropSingleTupleTableSlot(activity_slot);
	ExecDropSingleTupleTableSlot(account_slot);
	ExecDropSingleTupleTableSlot(contact_slot);
	ExecDropSingleTupleTableSlot(lead_slot);
	UnregisterSnapshot(snapshot);
	close_scoring_tables(&tables);
}

PG_FUNCTION_INFO_V1(crm_lead_scoring_refresh);
/* Rescores the given leads now (crm.lead_scoring_refresh). */
Datum
crm_lead_scoring_refresh(PG_FUNCTION_ARGS)
{
	ArrayType  *ids = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elements;
	bool	   *nulls;
	int			count;
	int64	   *lead_ids;
	int			kept = 0;

	deconstruct_array(ids, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elements, &nulls, &count);
	lead_ids = palloc(sizeof(int64) * Max(count, 1));
	for (int i = 0; i < count; i++)
		if (!nulls[i])
			lead_ids[kept++] = DatumGetInt64(elements[i]);
	refresh_leads(get_func_namespace(fcinfo->flinfo->fn_oid), lead_ids, kept);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(crm_lead_scoring_activities_inserted);
/* AFTER INSERT statement trigger on crm.activities (NEW TABLE): rescores the activities' leads. */
Datum
crm_lead_scoring_activities_inserted(PG_FUNCTION_ARGS)
{
	TriggerData *trigger_data = (TriggerData *) fcinfo->context;
	Tuplestorestate *inserted;
	TupleTableSlot *slot;
	AttrNumber	lead_column;
	int64	   *lead_ids;
	int			capacity = 16;
	int			count = 0;
	int			read_pointer;
	static const char *const own_tables[] = {CRM_TABLE_ACTIVITIES};

	crm_require_trigger_table(fcinfo, "lead_scoring_activities_inserted", 1, own_tables);
	if ( !TRIGGER_FIRED_AFTER(trigger_data->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigger_data->tg_event) || trigger_data->tg_newtable == NULL)
		elog(ERROR, "crm_lead_scoring_activities_inserted: must be fired AFTER INSERT with a NEW TABLE");

	inserted = trigger_data->tg_newtable;
	lead_column = column_number(trigger_data->tg_relation, CRM_COLUMN_ACTIVITIES_LEAD_ID, false);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(trigger_data->tg_relation), &TTSOpsMinimalTuple);
	lead_ids = palloc(sizeof(int64) * capacity);
	read_pointer = tuplestore_alloc_read_pointer(inserted, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(inserted, read_pointer);
	tuplestore_rescan(inserted);
	while (tuplestore_gettupleslot(inserted, true, false, slot))
	{
		bool		isnull;
		Datum		lead_id = slot_getattr(slot, lead_column, &isnull);

		if (isnull)
			continue;
		lead_ids = with_room_for_one_more(lead_ids, count, &capacity, sizeof(int64));
		lead_ids[count++] = DatumGetInt64(lead_id);
	}
	ExecDropSingleTupleTableSlot(slot);
	refresh_leads(RelationGetNamespace(trigger_data->tg_relation), lead_ids, count);
	return PointerGetDatum(NULL);
}

/* Columns of crm.leads that lead scoring itself writes: changing them changes no score. */
static bool
is_scoring_output_column(const char *name)
{
	return strcmp(name, CRM_COLUMN_LEADS_SCORE) == 0 || strcmp(name, CRM_COLUMN_LEADS_GRADE) == 0 ||
		strcmp(name, CRM_COLUMN_LEADS_SCORED_AT) == 0 || strcmp(name, CRM_COLUMN_UPDATED_AT) == 0;
}

PG_FUNCTION_INFO_V1(crm_lead_scoring_lead_updated);
/* AFTER UPDATE row trigger on crm.leads: rescores a lead when any column but the score's changed. */
Datum
crm_lead_scoring_lead_updated(PG_FUNCTION_ARGS)
{
	TriggerData *trigger_data = (TriggerData *) fcinfo->context;
	TupleDesc	descriptor;
	bool		changed = false;
	static const char *const own_tables[] = {CRM_TABLE_LEADS};

	crm_require_trigger_table(fcinfo, "lead_scoring_lead_updated", 1, own_tables);
	if ( !TRIGGER_FIRED_AFTER(trigger_data->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigger_data->tg_event) || !TRIGGER_FIRED_BY_UPDATE(trigger_data->tg_event))
		elog(ERROR, "crm_lead_scoring_lead_updated: must be fired AFTER UPDATE FOR EACH ROW");

	descriptor = RelationGetDescr(trigger_data->tg_relation);
	for (int i = 0; i < descriptor->natts && !changed; i++)
	{
		Form_pg_attribute attribute = TupleDescAttr(descriptor, i);
		bool		old_null;
		bool		new_null;
		Datum		old_value;
		Datum		new_value;

		if (attribute->attisdropped || is_scoring_output_column(NameStr(attribute->attname)))
			continue;
		old_value = heap_getattr(trigger_data->tg_trigtuple, i + 1, descriptor, &old_null);
		new_value = heap_getattr(trigger_data->tg_newtuple, i + 1, descriptor, &new_null);
		/* binary comparison: equal values stored differently only cost a rescoring */
		changed = old_null != new_null ||
			(!old_null && !datumIsEqual(old_value, new_value, attribute->attbyval, attribute->attlen));
	}
	if (changed)
	{
		bool		isnull;
		int64		lead_id = DatumGetInt64(heap_getattr(trigger_data->tg_newtuple,
														 column_number(trigger_data->tg_relation, CRM_COLUMN_LEADS_LEAD_ID, false),
														 descriptor, &isnull));

		refresh_leads(RelationGetNamespace(trigger_data->tg_relation), &lead_id, 1);
	}
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(crm_lead_score_of_visible);
/*
 * crm.lead_score_of_visible(lead_id, as_of): the lead's score at as_of, recomputed by crm.lead_scores,
 * or NULL unless the caller can see the lead. Not SECURITY DEFINER, so that the visibility check runs
 * with the caller's rights and row-level security; only then is the score computed as the owner of
 * crm.leads (it counts every activity of the lead, also those the caller cannot see), with
 * search_path pinned to pg_catalog, pg_temp.
 */
Datum
crm_lead_score_of_visible(PG_FUNCTION_ARGS)
{
	Oid			schema = get_func_namespace(fcinfo->flinfo->fn_oid);
	const char *schema_name = quote_identifier(get_namespace_name(schema));
	Oid			types[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		values[2];
	Datum		score = (Datum) 0;
	bool		isnull = true;
	int			result;
	char		nulls[2] = {' ', ' '};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	values[0] = PG_GETARG_DATUM(0);
	/* as crm.lead_scores takes it: a NULL as_of counts no activity */
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	nulls[1] = PG_ARGISNULL(1) ? 'n' : ' ';
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	result = SPI_execute_with_args(psprintf("SELECT FROM %s." CRM_TABLE_LEADS " l WHERE l." CRM_COLUMN_LEADS_LEAD_ID " OPERATOR(pg_catalog.=) $1",
											schema_name),
								   1, types, values, NULL, true, 1);
	if (result != SPI_OK_SELECT)
		elog(ERROR, "checking the visibility of a lead failed: %s", SPI_result_code_string(result));
	if (SPI_processed > 0)
	{
		Relation	leads = open_extension_relation(schema, CRM_TABLE_LEADS, AccessShareLock, false);
		Oid			owner = leads->rd_rel->relowner;
		CrmSavedUser saved;

		table_close(leads, NoLock);
		crm_become_owner(owner, &saved);
		result = SPI_execute_with_args(psprintf("SELECT s.score FROM %s." CRM_FUNCTION_LEAD_SCORES "($2, ARRAY[$1]) s", schema_name),
									   2, types, values, nulls, true, 1);
		crm_restore_user(&saved);
		if (result != SPI_OK_SELECT)
			elog(ERROR, "scoring a lead failed: %s", SPI_result_code_string(result));
		if (SPI_processed > 0)
		{
			score = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			if (!isnull)
				score = SPI_datumTransfer(score, false, -1);
		}
	}
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(score);
}
