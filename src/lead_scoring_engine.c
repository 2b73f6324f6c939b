/*
 * lead_scoring_engine.c: reading a lead and computing its score. Opens the tables and indexes a
 * scoring pass reads, locks a lead's row as the rescoring UPDATE will, and scores the lead with
 * crm.lead_scores' arithmetic from its row, its contact's and account's and its activities, read
 * straight from their tables through their indexes. See lead_scoring.h.
 */
#include "lead_scoring.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "crm_names.h"

/* The attribute number of a column of one of the extension's own tables. */
AttrNumber
lead_scoring_column_number(Relation relation, const char *name, bool missing_ok)
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

Relation
lead_scoring_open_extension_relation(Oid schema, const char *name, LOCKMODE lock, bool is_index)
{
	Oid			relation_id = get_relname_relid(name, schema);

	if (!OidIsValid(relation_id))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lead scoring needs %s.%s, which does not exist", get_namespace_name(schema), name)));
	return is_index ? index_open(relation_id, lock) : table_open(relation_id, lock);
}

void
lead_scoring_open_tables(ScoringTables *tables, Oid schema)
{
	tables->schema = schema;
	tables->leads = lead_scoring_open_extension_relation(schema, CRM_TABLE_LEADS,
														 RowExclusiveLock, false);
	tables->leads_key = lead_scoring_open_extension_relation(schema, CRM_INDEX_LEADS_PKEY,
															 RowExclusiveLock, true);
	tables->contacts = lead_scoring_open_extension_relation(schema, CRM_TABLE_CONTACTS,
															AccessShareLock, false);
	tables->contacts_key = lead_scoring_open_extension_relation(schema, CRM_INDEX_CONTACTS_PKEY,
																AccessShareLock, true);
	tables->accounts = lead_scoring_open_extension_relation(schema, CRM_TABLE_ACCOUNTS,
															AccessShareLock, false);
	tables->accounts_key = lead_scoring_open_extension_relation(schema, CRM_INDEX_ACCOUNTS_PKEY,
																AccessShareLock, true);
	tables->activities = lead_scoring_open_extension_relation(schema, CRM_TABLE_ACTIVITIES,
															  AccessShareLock, false);
	tables->activities_by_lead = lead_scoring_open_extension_relation(schema, CRM_INDEX_ACTIVITIES_BY_LEAD,
																	  AccessShareLock, true);
	tables->lead_contact_column = lead_scoring_column_number(tables->leads,
															 CRM_COLUMN_LEADS_CONTACT_ID, false);
	tables->contact_account_column = lead_scoring_column_number(tables->contacts,
																CRM_COLUMN_CONTACTS_ACCOUNT_ID, false);
	tables->activity_kind_column = lead_scoring_column_number(tables->activities,
															  CRM_COLUMN_ACTIVITIES_KIND, false);
	tables->activity_channel_column = lead_scoring_column_number(tables->activities,
																 CRM_COLUMN_ACTIVITIES_CHANNEL, false);
	tables->activity_occurred_column = lead_scoring_column_number(tables->activities,
																  CRM_COLUMN_ACTIVITIES_OCCURRED_AT, false);
	tables->activity_details_column = lead_scoring_column_number(tables->activities,
																 CRM_COLUMN_ACTIVITIES_DETAILS, false);
}

void
lead_scoring_close_tables(ScoringTables *tables)
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

/* The row of relation whose single-column key (an int8 primary key) is key, into slot. */
bool
lead_scoring_fetch_by_key(Relation relation, Relation index, int64 key, Snapshot snapshot,
						  TupleTableSlot *slot)
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
bool
lead_scoring_lock_lead(ScoringTables *tables, int64 lead_id, TupleTableSlot *slot)
{
	for (;;)
	{
		Snapshot	snapshot = RegisterSnapshot(IsolationUsesXactSnapshot() ? GetTransactionSnapshot()
												: GetLatestSnapshot());
		TM_FailureData failure;
		TM_Result	result;

		if (!lead_scoring_fetch_by_key(tables->leads, tables->leads_key, lead_id, snapshot, slot))
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
											   Float8GetDatum(lead_scoring_epoch_seconds(DirectFunctionCall2(timestamp_mi,
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
Numeric
lead_scoring_score_lead(ScoringModel *model, ScoringTables *tables, int64 lead_id, TupleTableSlot *lead_slot,
						TimestampTz as_of, Snapshot snapshot, TupleTableSlot *contact_slot,
						TupleTableSlot *account_slot, TupleTableSlot *activity_slot)
{
	Numeric    *sums = palloc0(sizeof(Numeric) * Max(model->group_count, 1));
	bool	   *seen = palloc0(sizeof(bool) * Max(model->group_count, 1));
	Numeric		total = NULL;
	bool		isnull;
	Datum		value;

	/* fit: the lead's row joined to its contact (inner) and the contact's account (outer) */
	value = slot_getattr(lead_slot, tables->lead_contact_column, &isnull);
	if (!isnull && lead_scoring_fetch_by_key(tables->contacts, tables->contacts_key,
											 DatumGetInt64(value), snapshot, contact_slot))
	{
		bool		has_account = false;

		value = slot_getattr(contact_slot, tables->contact_account_column, &isnull);
		if (!isnull)
			has_account = lead_scoring_fetch_by_key(tables->accounts, tables->accounts_key,
													DatumGetInt64(value), snapshot, account_slot);
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
			if (lead_scoring_rule_holds(field, rule->operator, rule->value, rule->value_type))
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
					!lead_scoring_rule_holds(details_null ? NULL : details_field(details, rule->detail_key),
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

const char *
lead_scoring_grade_of(ScoringModel *model, Numeric score)
{
	if (model->hot_threshold != NULL &&
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(score), NumericGetDatum(model->hot_threshold))) >= 0)
		return "hot";
	if (model->warm_threshold != NULL &&
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(score), NumericGetDatum(model->warm_threshold))) >= 0)
		return "warm";
	return "cold";
}
