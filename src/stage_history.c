/*
 * stage_history.c: the trigger recording every stage change of an opportunity in
 * crm.opportunity_stage_history (src/schema.sql).
 *
 * Nobody writes the history but this trigger: no staff role has INSERT on the table (crm_admin
 * aside). The trigger writes with the rights of the table's owner, and names who moved the deal
 * with the identity in force for the UPDATE itself: current_user (a role switched to with SET ROLE
 * counts) and its crm.users row. A SECURITY DEFINER function could not: inside one, current_user is
 * the function's owner. It refuses to run for any table but crm.opportunities, and EXECUTE on it is
 * revoked from PUBLIC, so nobody attaches it to a table of their own.
 */
#include "crm.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "crm_names.h"
#include "trigger_guard.h"

/* The INSERT, prepared once per backend (per history table). */
static SPIPlanPtr history_plan = NULL;
static Oid	history_plan_table = InvalidOid;

static Oid
relation_owner(Oid relation_id)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relation_id));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relation_id);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

PG_FUNCTION_INFO_V1(crm_record_stage_change);
/* AFTER INSERT OR UPDATE OF stage_id row trigger on crm.opportunities. */
Datum
crm_record_stage_change(PG_FUNCTION_ARGS)
{
	static const char *const own_tables[] = {CRM_TABLE_OPPORTUNITIES};
	TriggerData *trigger_data = (TriggerData *) fcinfo->context;
	TupleDesc	descriptor;
	HeapTuple	new_row;
	int			stage_column;
	int			id_column;
	bool		new_null;
	bool		old_null = true;
	bool		id_null;
	Datum		new_stage;
	Datum		old_stage = (Datum) 0;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	NameData	role;
	Oid			schema;
	Oid			history;
	CrmSavedUser saved;
	int			result;

	crm_require_trigger_table(fcinfo, "record_stage_change", 1, own_tables);
	if (!TRIGGER_FIRED_AFTER(trigger_data->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigger_data->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigger_data->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigger_data->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("record_stage_change() must be fired AFTER INSERT OR UPDATE FOR EACH ROW")));

	descriptor = RelationGetDescr(trigger_data->tg_relation);
	stage_column = SPI_fnumber(descriptor, CRM_COLUMN_OPPORTUNITIES_STAGE_ID);
	id_column = SPI_fnumber(descriptor, CRM_COLUMN_OPPORTUNITIES_ID);
	if (stage_column <= 0 || id_column <= 0)
		elog(ERROR, "record_stage_change: crm.opportunities lacks stage_id or opportunity_id");
	new_row = TRIGGER_FIRED_BY_UPDATE(trigger_data->tg_event) ? trigger_data->tg_newtuple : trigger_data->tg_trigtuple;
	new_stage = heap_getattr(new_row, stage_column, descriptor, &new_null);
	if (TRIGGER_FIRED_BY_UPDATE(trigger_data->tg_event))
	{
		old_stage = heap_getattr(trigger_data->tg_trigtuple, stage_column, descriptor, &old_null);
		/* NEW.stage_id IS NOT DISTINCT FROM OLD.stage_id: nothing to record */
		if (old_null == new_null && (new_null || DatumGetInt32(old_stage) == DatumGetInt32(new_stage)))
			return PointerGetDatum(NULL);
	}

	/* who moved the deal: the user in force for the UPDATE, before we switch to the owner */
	namestrcpy(&role, GetUserNameFromId(GetUserId(), false));
	values[0] = heap_getattr(new_row, id_column, descriptor, &id_null);
	values[1] = old_stage;
	nulls[1] = old_null ? 'n' : ' ';
	values[2] = new_stage;
	nulls[2] = new_null ? 'n' : ' ';
	values[3] = NameGetDatum(&role);

	schema = RelationGetNamespace(trigger_data->tg_relation);
	history = get_relname_relid(CRM_TABLE_STAGE_HISTORY, schema);
	if (!OidIsValid(history))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("record_stage_change() needs %s.opportunity_stage_history, which does not exist",
						get_namespace_name(schema))));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	crm_become_owner(relation_owner(history), &saved);
	if (history_plan == NULL || history_plan_table != history)
	{
		Oid			types[4] = {INT8OID, INT4OID, INT4OID, NAMEOID};
		const char *schema_name = quote_identifier(get_namespace_name(schema));
		/* changed_at: the moment of the change, so concurrent changes of one deal chain in order */
		SPIPlanPtr	plan = SPI_prepare(psprintf("INSERT INTO %s." CRM_TABLE_STAGE_HISTORY " ("
												CRM_COLUMN_STAGE_HISTORY_OPPORTUNITY_ID ", " CRM_COLUMN_STAGE_HISTORY_FROM_STAGE_ID ", "
												CRM_COLUMN_STAGE_HISTORY_TO_STAGE_ID ", " CRM_COLUMN_STAGE_HISTORY_CHANGED_AT ", "
												CRM_COLUMN_STAGE_HISTORY_CHANGED_BY ", " CRM_COLUMN_STAGE_HISTORY_CHANGED_BY_ROLE ") "
												"SELECT $1, $2, $3, pg_catalog.clock_timestamp(), "
												"(SELECT u." CRM_COLUMN_USERS_USER_ID " FROM %s." CRM_TABLE_USERS " u "
												"WHERE u." CRM_COLUMN_USERS_LOGIN_ROLE " OPERATOR(pg_catalog.=) $4), $4",
												schema_name, schema_name),
									   4, types);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		if (history_plan != NULL)
			SPI_freeplan(history_plan);
		history_plan = plan;
		history_plan_table = history;
	}
	result = SPI_execute_plan(history_plan, values, nulls, false, 0);
	if (result != SPI_OK_INSERT)
		elog(ERROR, "recording a stage change failed: %s", SPI_result_code_string(result));
	crm_restore_user(&saved);
	SPI_finish();
	return PointerGetDatum(NULL);
}
