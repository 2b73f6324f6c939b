/*
 * lead_scoring.c: keeping crm.leads.score current (src/lead_scoring.sql). The trigger entry points
 * and crm.lead_scoring_refresh collect the leads to rescore; refresh_leads locks them, scores them
 * (lead_scoring_engine.c, with the model of lead_scoring_rules.c) and stores the scores, one UPDATE
 * per lead or set-based for bulk loads. Also crm.lead_score_of_visible. See lead_scoring.h.
 */
#include "lead_scoring.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "crm_names.h"
#include "trigger_guard.h"

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
	lead_scoring_open_tables(&tables, schema);
	lead_slot = table_slot_create(tables.leads, NULL);
	for (int i = 0; i < distinct; i++)
	{
		if (lead_scoring_lock_lead(&tables, lead_ids[i], lead_slot))
			lead_ids[locked++] = lead_ids[i];
		ExecClearTuple(lead_slot);
	}

	scoring_time = GetCurrentTimestamp();
	snapshot = RegisterSnapshot(IsolationUsesXactSnapshot() ? GetTransactionSnapshot() : GetLatestSnapshot());
	model = lead_scoring_model(&tables, snapshot);
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

			if (lead_scoring_fetch_by_key(tables.leads, tables.leads_key, lead_ids[i], snapshot,
										  lead_slot))
			{
				score = lead_scoring_score_lead(model, &tables, lead_ids[i], lead_slot, scoring_time,
												snapshot, contact_slot, account_slot, activity_slot);
				store_score(&tables, lead_ids[i], score, lead_scoring_grade_of(model, score),
							scoring_time);
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
	lead_scoring_close_tables(&tables);
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
	lead_column = lead_scoring_column_number(trigger_data->tg_relation, CRM_COLUMN_ACTIVITIES_LEAD_ID,
											 false);
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
		lead_ids = lead_scoring_with_room_for_one_more(lead_ids, count, &capacity, sizeof(int64));
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
														 lead_scoring_column_number(trigger_data->tg_relation, CRM_COLUMN_LEADS_LEAD_ID, false),
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
		Relation	leads = lead_scoring_open_extension_relation(schema, CRM_TABLE_LEADS,
																 AccessShareLock, false);
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
