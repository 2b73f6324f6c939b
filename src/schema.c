/*
 * schema.c: the two functions every table's triggers call (src/schema.sql).
 *
 * They run on every UPDATE of every table and in the WHEN clause of every trigger that derives
 * state, so they are C: a PL/pgSQL trigger costs a function-manager round trip through the
 * interpreter, and an SQL function in a trigger's WHEN clause is parsed again for every statement.
 */
#include "crm.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(crm_restoring_dump);
/* True in a session that looks like a pg_dump script being restored. */
Datum
crm_restoring_dump(PG_FUNCTION_ARGS)
{
	const char *row_security = GetConfigOption("row_security", false, false);
	const char *search_path = GetConfigOption("search_path", false, false);

	PG_RETURN_BOOL(strcmp(row_security, "off") == 0 && search_path[0] == '\0');
}

PG_FUNCTION_INFO_V1(crm_touch_updated_at);
/* BEFORE UPDATE row trigger: updated_at := now() unless the UPDATE set updated_at itself. */
Datum
crm_touch_updated_at(PG_FUNCTION_ARGS)
{
	TriggerData *trigger_data = (TriggerData *) fcinfo->context;
	Relation	relation;
	TupleDesc	descriptor;
	HeapTuple	old_row;
	HeapTuple	new_row;
	int			column;
	bool		old_null;
	bool		new_null;
	Datum		old_value;
	Datum		new_value;
	Datum		now;
	bool		now_null = false;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigger_data->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigger_data->tg_event) || !TRIGGER_FIRED_BY_UPDATE(trigger_data->tg_event))
		elog(ERROR, "crm_touch_updated_at: must be fired BEFORE UPDATE FOR EACH ROW");

	relation = trigger_data->tg_relation;
	descriptor = RelationGetDescr(relation);
	old_row = trigger_data->tg_trigtuple;
	new_row = trigger_data->tg_newtuple;
	for (column = 0; column < descriptor->natts; column++)
	{
		Form_pg_attribute attribute = TupleDescAttr(descriptor, column);

		if (!attribute->attisdropped && strcmp(NameStr(attribute->attname), "updated_at") == 0)
			break;
	}
	if (column == descriptor->natts)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table \"%s\" has no column \"updated_at\"", RelationGetRelationName(relation)),
				 errhint("Fire crm.touch_updated_at() only on tables with an updated_at timestamptz column.")));
	if (TupleDescAttr(descriptor, column)->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"updated_at\" of table \"%s\" is not a timestamptz",
						RelationGetRelationName(relation))));

	old_value = heap_getattr(old_row, column + 1, descriptor, &old_null);
	new_value = heap_getattr(new_row, column + 1, descriptor, &new_null);
	if (old_null != new_null || (!old_null && DatumGetTimestampTz(old_value) != DatumGetTimestampTz(new_value)))
		return PointerGetDatum(new_row);

	now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	column++;
	return PointerGetDatum(heap_modify_tuple_by_cols(new_row, descriptor, 1, &column, &now, &now_null));
}
