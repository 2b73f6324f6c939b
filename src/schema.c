/*
 * schema.c: the functions every table's triggers and policies call (src/schema.sql,
 * src/security.sql).
 *
 * restoring_dump and touch_updated_at run on every UPDATE of every table and in the WHEN clause of
 * every trigger that derives state, so they are C: a PL/pgSQL trigger costs a function-manager
 * round trip through the interpreter, and an SQL function in a trigger's WHEN clause is parsed
 * again for every statement. owns_contact is C because it must read a contact past row-level
 * security while still knowing who asks, which a SECURITY DEFINER function cannot.
 */
#include "crm.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "crm_names.h"

/* The owner of the schema holding the function being called: the extension's owner. */
static Oid
extension_owner(FunctionCallInfo fcinfo)
{
	Oid			schema = get_func_namespace(fcinfo->flinfo->fn_oid);
	HeapTuple	tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(schema));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for namespace %u", schema);
	owner = ((Form_pg_namespace) GETSTRUCT(tuple))->nspowner;
	ReleaseSysCache(tuple);
	return owner;
}

PG_FUNCTION_INFO_V1(crm_restoring_dump);
/*
 * True in a session restoring a pg_dump script: row_security off and an empty search_path (the
 * settings every pg_dump script begins with, which ordinary sessions never combine), set by a
 * role that could restore the extension's tables at all: a superuser or a member of the
 * extension's owner. Anyone else gets false, so no ordinary session can switch off the triggers
 * that keep derived state by imitating a restore.
 */
Datum
crm_restoring_dump(PG_FUNCTION_ARGS)
{
	const char *row_security = GetConfigOption("row_security", false, false);
	const char *search_path = GetConfigOption("search_path", false, false);

	if (strcmp(row_security, "off") != 0 || search_path[0] != '\0')
		PG_RETURN_BOOL(false);
	/* Only in a session that looks like a restore: the settings come first, they are cheap. */
	PG_RETURN_BOOL(superuser() || has_privs_of_role(GetUserId(), extension_owner(fcinfo)));
}

/* The tuple's int8 column attribute_number, or false when it is NULL. */
static bool
int8_column(TupleTableSlot *slot, AttrNumber attribute_number, int64 *value)
{
	bool		is_null;
	Datum		datum = slot_getattr(slot, attribute_number, &is_null);

	if (is_null)
		return false;
	*value = DatumGetInt64(datum);
	return true;
}

/* Looks up the one row of schema.table_name whose index index_name matches key; false if none. */
static bool
lookup_row(Oid schema, const char *table_name, const char *index_name, RegProcedure equality,
		   Datum key, const char *column_name, int64 *value)
{
	Oid			table_id = get_relname_relid(table_name, schema);
	Oid			index_id = get_relname_relid(index_name, schema);
	Relation	table;
	Relation	index;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData scan_key;
	AttrNumber	column;
	bool		found = false;

	if (!OidIsValid(table_id) || !OidIsValid(index_id))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("crm.owns_contact needs %s.%s and its index %s, which do not exist",
						get_namespace_name(schema), table_name, index_name)));
	column = get_attnum(table_id, column_name);
	if (column == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("crm.owns_contact needs column %s of %s.%s, which does not exist",
						column_name, get_namespace_name(schema), table_name)));
	table = table_open(table_id, AccessShareLock);
	index = index_open(index_id, AccessShareLock);
	slot = table_slot_create(table, NULL);
	ScanKeyInit(&scan_key, 1, BTEqualStrategyNumber, equality, key);
	scan = crm_index_beginscan(table, index, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &scan_key, 1, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
		found = int8_column(slot, column, value);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(table, AccessShareLock);
	return found;
}

PG_FUNCTION_INFO_V1(crm_owns_contact);
/*
 * True when the current user (the role now in use, as crm.current_user_id() maps it) owns the
 * contact. Reads crm.users and crm.contacts through their unique indexes, past row-level
 * security, and answers only this yes or no, so it tells nobody who owns a contact.
 */
/* The caller's staff id, kept per call site: in a policy the function runs once per row. */
typedef struct OwnsContactCache
{
	Oid			role;			/* the role the id was looked up for */
	Oid			schema;
	bool		is_staff;
	int64		user_id;
} OwnsContactCache;

Datum
crm_owns_contact(PG_FUNCTION_ARGS)
{
	OwnsContactCache *cache = (OwnsContactCache *) fcinfo->flinfo->fn_extra;
	Oid			role = GetUserId();
	int64		owner_id;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(OwnsContactCache));
		cache->schema = get_func_namespace(fcinfo->flinfo->fn_oid);
		fcinfo->flinfo->fn_extra = cache;
	}
	/* Looked up again whenever the role differs (SET ROLE between calls of one call site). */
	if (cache->role != role)
	{
		NameData	login;

		namestrcpy(&login, GetUserNameFromId(role, false));
		cache->is_staff = lookup_row(cache->schema, CRM_TABLE_USERS, CRM_INDEX_USERS_LOGIN_ROLE, F_NAMEEQ,
									 NameGetDatum(&login), CRM_COLUMN_USERS_USER_ID, &cache->user_id);
		cache->role = role;
	}
	if (!cache->is_staff)
		PG_RETURN_BOOL(false);
	if (!lookup_row(cache->schema, CRM_TABLE_CONTACTS, CRM_INDEX_CONTACTS_PKEY, F_INT8EQ, PG_GETARG_DATUM(0),
					CRM_COLUMN_CONTACTS_OWNER_ID, &owner_id))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(owner_id == cache->user_id);
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

		if (!attribute->attisdropped && strcmp(NameStr(attribute->attname), CRM_COLUMN_UPDATED_AT) == 0)
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
