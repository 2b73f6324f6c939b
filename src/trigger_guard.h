/*
 * trigger_guard.h: what the extension's C trigger functions and the functions working past
 * row-level security share (src/lead_scoring.c, src/stage_history.c).
 *
 * A trigger function runs for whatever table a trigger attaches it to. Nobody but the extension's
 * owner may attach one (EXECUTE on every trigger function is revoked from PUBLIC, and CREATE TRIGGER
 * checks it), and each one also refuses to run for any table but its own: a function that writes
 * with the owner's rights must never take its input from somebody's temporary table.
 */
#ifndef CRM_TRIGGER_GUARD_H
#define CRM_TRIGGER_GUARD_H

#include "postgres.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#define CRM_TRIGGER_GUARD_MAX_TABLES 3

/* The OIDs of a trigger function's own tables, looked up once per FmgrInfo (once a statement). */
typedef struct CrmTriggerTables
{
	int			count;
	Oid			tables[CRM_TRIGGER_GUARD_MAX_TABLES];
} CrmTriggerTables;

/*
 * Raises 42501 unless fcinfo is a trigger call on one of the tables named (in the function's own
 * schema, which is the extension's). The OIDs are kept in fn_extra: rows after the first cost one
 * comparison each.
 */
static inline void
crm_require_trigger_table(FunctionCallInfo fcinfo, const char *function_name, int count, const char *const *names)
{
	CrmTriggerTables *expected = (CrmTriggerTables *) fcinfo->flinfo->fn_extra;
	Oid			relation_id;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() can only be called as a trigger", function_name)));
	if (expected == NULL)
	{
		Oid			schema = get_func_namespace(fcinfo->flinfo->fn_oid);

		Assert(count <= CRM_TRIGGER_GUARD_MAX_TABLES);
		expected = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CrmTriggerTables));
		for (int i = 0; i < count; i++)
			expected->tables[expected->count++] = get_relname_relid(names[i], schema);
		fcinfo->flinfo->fn_extra = expected;
	}
	relation_id = RelationGetRelid(((TriggerData *) fcinfo->context)->tg_relation);
	for (int i = 0; i < expected->count; i++)
		if (OidIsValid(expected->tables[i]) && expected->tables[i] == relation_id)
			return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("trigger function %s() fires only on the extension's own table%s, not on \"%s\"",
					function_name, count > 1 ? "s" : "",
					RelationGetRelationName(((TriggerData *) fcinfo->context)->tg_relation)),
			 errdetail("It writes with the rights of the extension's owner, reading its input from the table it fires on."),
			 errhint("Only the triggers the extension creates may use it.")));
}

/* The user and settings to go back to after crm_become_owner. */
typedef struct CrmSavedUser
{
	Oid			user;
	int			security_context;
	int			guc_level;
} CrmSavedUser;

/*
 * Runs what follows as owner (the owner of the extension's tables), past row-level security, with
 * search_path = pg_catalog, pg_temp as a SECURITY DEFINER function with a pinned search_path would:
 * no object of the caller's schemas can be picked up. SET ROLE is refused meanwhile. An error
 * restores the user (transaction or subtransaction abort does) and the settings.
 */
static inline void
crm_become_owner(Oid owner, CrmSavedUser *saved)
{
	GetUserIdAndSecContext(&saved->user, &saved->security_context);
	saved->guc_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	SetUserIdAndSecContext(owner, saved->security_context | SECURITY_LOCAL_USERID_CHANGE);
}

static inline void
crm_restore_user(const CrmSavedUser *saved)
{
	SetUserIdAndSecContext(saved->user, saved->security_context);
	AtEOXact_GUC(true, saved->guc_level);
}

#endif							/* CRM_TRIGGER_GUARD_H */
