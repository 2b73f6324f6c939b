/*
 * sla.c: the SLA clock recounted from the status history (docs/sla.md).
 *
 * crm.sla_recount(ticket, calendar, pause_statuses, from, until, current_status) and
 * crm.sla_recompute(at) fold a ticket's status changes, in order (changed_at, history_id), into
 * the business time of the calendar it spent running and paused in [from, until): the status at
 * an instant is the to_status of the last change at or before it (before the first change, its
 * from_status, or the current status when that is NULL or there is no history); each change's
 * instant is clamped into [from, until]; a spell in a pause status counts as paused, one in
 * resolved or closed not at all, any other as running. One fold, sla_fold_*, serves both: the
 * trigger (through crm.sla_recount, when a ticket gets its first policy) and the bulk recount
 * (crm.sla_recompute: one ordered pass over the tickets with a policy joined to their history).
 * crm.sla_recompute_targets is the same pass with the first-response and resolution targets
 * followed along the fold (SlaTarget: the running spell in which the time consumed crossed each
 * target, and the time consumed and the status where each is measured); their due times are
 * crm.business_add's, called through fmgr as business_time is (docs/sla.md gives the rule).
 *
 * Business time is crm.business_time itself (src/calendars.c), called through fmgr with one
 * FmgrInfo per calendar, so that each keeps its calendar cached for the whole pass. Everything is
 * read through SPI with the caller's rights (row-level security applies), as the SQL versions did.
 */
#include "crm.h"

#include "access/htup_details.h"
#include "catalog/pg_proc_d.h"
#include "catalog/pg_type_d.h"
#include "common/int.h"
#include "crm_names.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(crm_sla_recount);
PG_FUNCTION_INFO_V1(crm_sla_recompute);
PG_FUNCTION_INFO_V1(crm_sla_recompute_targets);

typedef enum SlaStatus
{
	SLA_STATUS_NULL,			/* no status: the spell counts nowhere */
	SLA_STATUS_RUNNING,
	SLA_STATUS_PAUSED,
	SLA_STATUS_STOPPED			/* resolved or closed */
} SlaStatus;

typedef struct SlaCalendarCall
{
	int64		calendar_id;
	FmgrInfo	flinfo;			/* crm.business_time; fn_extra caches this calendar */
	bool		add_ready;
	FmgrInfo	add_flinfo;		/* crm.business_add (the targets' due times), likewise */
} SlaCalendarCall;

/* What the folds share across tickets: the business_time calls and the pause statuses. */
typedef struct SlaClock
{
	MemoryContext context;		/* lives as long as the clock */
	Oid			business_time;
	Oid			business_add;	/* InvalidOid unless due times are computed */
	int			ncalls;
	int			maxcalls;
	SlaCalendarCall *calls;
	MemoryContext pause_context;	/* holds pause[]; reset when they change */
	int			npause;
	text	  **pause;
} SlaClock;

/* An interval sum (crm.business_time returns hours only; all fields are added anyway). */
typedef struct SlaSum
{
	Interval	value;
	bool		isnull;
} SlaSum;

/*
 * A target recounted along the fold (crm.sla_recompute_targets): where the time consumed first
 * reached it (the running spell it was crossed in), and the time consumed and the clock's state at
 * the instant it is measured (its mark).
 */
typedef struct SlaTarget
{
	bool		active;			/* the policy sets this target */
	Interval	target;
	bool		crossed;
	TimestampTz cross_start;	/* start of the running spell in which consumed reached target */
	Interval	cross_base;		/* consumed at that spell's start */
	bool		mark_pending;	/* the first response: its instant is known before the fold */
	TimestampTz mark_at;
	bool		marked;
	TimestampTz marked_at;
	Interval	marked_consumed;
	SlaStatus	marked_status;	/* the status of the spell the mark falls in */
} SlaTarget;

typedef struct SlaFold
{
	bool		calendar_null;
	int64		calendar_id;
	bool		from_null;
	bool		until_null;
	TimestampTz from;
	TimestampTz until;
	TimestampTz at;				/* counted up to here (valid unless from_null) */
	bool		started;		/* the first change was seen */
	SlaStatus	status;
	SlaSum		running;
	SlaSum		paused;
	/* the targets (crm.sla_recompute_targets only) */
	bool		targets;
	TimestampTz spell_start;	/* the current spell's start (clamped) */
	Interval	spell_base;		/* running at spell_start */
	bool		has_prev;		/* a change was folded: prev_changed_at is its own instant */
	TimestampTz prev_changed_at;
	bool		resolved_null;
	TimestampTz resolved_at;
	TimestampTz stop_limit;		/* a target is stopped only by an instant at or before this (at) */
	bool		until_marked;	/* the status at until is known */
	SlaStatus	until_status;
	SlaTarget	first_response;
	SlaTarget	resolution;
} SlaFold;

/* The function schema.name(argtypes) of the extension, which the caller must have the right to execute. */
static Oid
sla_lookup_function(const char *schema, const char *function, Oid *argtypes)
{
	List	   *name = list_make2(makeString(pstrdup(schema)), makeString(pstrdup(function)));
	Oid			oid = LookupFuncName(name, 3, argtypes, false);
	AclResult	acl;

	/* as a call from SQL would: the caller needs the right to execute it */
#if PG_VERSION_NUM >= 160000
	acl = object_aclcheck(ProcedureRelationId, oid, GetUserId(), ACL_EXECUTE);
#else
	acl = pg_proc_aclcheck(oid, GetUserId(), ACL_EXECUTE);
#endif
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_FUNCTION, get_func_name(oid));
	return oid;
}

static SlaClock *
sla_clock_create(FunctionCallInfo fcinfo, MemoryContext context, bool due_times)
{
	SlaClock   *clock = MemoryContextAllocZero(context, sizeof(SlaClock));
	const char *schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
	Oid			time_args[3] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Oid			add_args[3] = {INT8OID, TIMESTAMPTZOID, INTERVALOID};

	clock->context = context;
	clock->pause_context = AllocSetContextCreate(context, "sla pause statuses", ALLOCSET_SMALL_SIZES);
	clock->business_time = sla_lookup_function(schema, CRM_FUNCTION_BUSINESS_TIME, time_args);
	clock->business_add = due_times ? sla_lookup_function(schema, CRM_FUNCTION_BUSINESS_ADD, add_args) : InvalidOid;
	return clock;
}

/* The pause statuses: the non-NULL elements of the array (NULL array: none), copied into context. */
static void
sla_read_pause(MemoryContext context, Datum array, bool isnull, int *npause, text ***pause)
{
	MemoryContext old;
	Datum	   *elements;
	bool	   *nulls;
	int			n;

	*npause = 0;
	*pause = NULL;
	if (isnull)
		return;
	old = MemoryContextSwitchTo(context);
	deconstruct_array(DatumGetArrayTypePCopy(array), TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &n);
	*pause = palloc(sizeof(text *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			(*pause)[(*npause)++] = DatumGetTextPP(elements[i]);
	MemoryContextSwitchTo(old);
}

static void
sla_clock_set_pause(SlaClock *clock, Datum array, bool isnull)
{
	MemoryContextReset(clock->pause_context);
	sla_read_pause(clock->pause_context, array, isnull, &clock->npause, &clock->pause);
}

static bool
text_equals(text *value, const char *data, int length)
{
	return (int) VARSIZE_ANY_EXHDR(value) == length && memcmp(VARDATA_ANY(value), data, length) == 0;
}

/* As the SQL rule: status = ANY (pause_statuses), else status NOT IN ('resolved', 'closed'). */
static SlaStatus
sla_classify(const SlaClock *clock, Datum status, bool isnull)
{
	text	   *value;
	const char *data;
	int			length;

	if (isnull)
		return SLA_STATUS_NULL;
	value = DatumGetTextPP(status);
	data = VARDATA_ANY(value);
	length = VARSIZE_ANY_EXHDR(value);
	for (int i = 0; i < clock->npause; i++)
		if (text_equals(clock->pause[i], data, length))
			return SLA_STATUS_PAUSED;
	if ((length == 8 && memcmp(data, "resolved", 8) == 0) || (length == 6 && memcmp(data, "closed", 6) == 0))
		return SLA_STATUS_STOPPED;
	return SLA_STATUS_RUNNING;
}

pg_noreturn static void
interval_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("interval out of range")));
}

/* The calls of this calendar (made on first use). */
static SlaCalendarCall *
sla_calendar_call(SlaClock *clock, int64 calendar_id)
{
	SlaCalendarCall *call;

	for (int i = 0; i < clock->ncalls; i++)
		if (clock->calls[i].calendar_id == calendar_id)
			return &clock->calls[i];
	if (clock->ncalls == clock->maxcalls)
	{
		/* FmgrInfos move with the array: none has cached anything it points to itself */
		int			grown = Max(8, clock->maxcalls * 2);

		clock->calls = clock->calls == NULL
			? MemoryContextAllocZero(clock->context, sizeof(SlaCalendarCall) * grown)
			: repalloc(clock->calls, sizeof(SlaCalendarCall) * grown);
		clock->maxcalls = grown;
	}
	call = &clock->calls[clock->ncalls++];
	memset(call, 0, sizeof(SlaCalendarCall));
	call->calendar_id = calendar_id;
	fmgr_info_cxt(clock->business_time, &call->flinfo, clock->context);
	return call;
}

/* crm.business_add(calendar, start, amount) */
static TimestampTz
sla_business_add(SlaClock *clock, int64 calendar_id, TimestampTz start, Interval *amount)
{
	SlaCalendarCall *call = sla_calendar_call(clock, calendar_id);

	Assert(OidIsValid(clock->business_add));
	if (!call->add_ready)
	{
		fmgr_info_cxt(clock->business_add, &call->add_flinfo, clock->context);
		call->add_ready = true;
	}
	return DatumGetTimestampTz(FunctionCall3(&call->add_flinfo, Int64GetDatum(calendar_id),
											 TimestampTzGetDatum(start), IntervalPGetDatum(amount)));
}

static int
sla_interval_cmp(Interval *a, Interval *b)
{
	return DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(a), IntervalPGetDatum(b)));
}

/* a - b, as the SQL operator computes it */
static Interval
sla_interval_minus(Interval *a, Interval *b)
{
	Interval   *difference = DatumGetIntervalP(DirectFunctionCall2(interval_mi, IntervalPGetDatum(a),
																   IntervalPGetDatum(b)));
	Interval	result = *difference;

	pfree(difference);
	return result;
}

/* sum += crm.business_time(calendar, from, to), from < to */
static void
sla_add_business_time(SlaClock *clock, SlaFold *fold, SlaSum *sum, TimestampTz from, TimestampTz to)
{
	SlaCalendarCall *call;
	Interval   *step;

	if (fold->calendar_null)
	{
		sum->isnull = true;		/* business_time is strict: NULL + x is NULL */
		return;
	}
	call = sla_calendar_call(clock, fold->calendar_id);
	step = DatumGetIntervalP(FunctionCall3(&call->flinfo, Int64GetDatum(fold->calendar_id),
										   TimestampTzGetDatum(from), TimestampTzGetDatum(to)));
	if (!sum->isnull &&
		(pg_add_s32_overflow(sum->value.month, step->month, &sum->value.month) ||
		 pg_add_s32_overflow(sum->value.day, step->day, &sum->value.day) ||
		 pg_add_s64_overflow(sum->value.time, step->time, &sum->value.time)))
		interval_out_of_range();
	pfree(step);
}

static void
sla_fold_start(SlaFold *fold, Datum calendar, bool calendar_null, Datum from, bool from_null,
			   Datum until, bool until_null)
{
	memset(fold, 0, sizeof(SlaFold));
	fold->calendar_null = calendar_null;
	fold->calendar_id = calendar_null ? 0 : DatumGetInt64(calendar);
	fold->from_null = from_null;
	fold->from = from_null ? 0 : DatumGetTimestampTz(from);
	fold->until_null = until_null;
	fold->until = until_null ? 0 : DatumGetTimestampTz(until);
	fold->at = fold->from;
	fold->spell_start = fold->from;
}

/* A target reached? Called after running time was added in the current spell. */
static void
sla_target_check_crossed(SlaFold *fold, SlaTarget *target)
{
	if (target->active && !target->crossed && !fold->running.isnull &&
		sla_interval_cmp(&fold->running.value, &target->target) >= 0)
	{
		target->crossed = true;
		target->cross_start = fold->spell_start;
		target->cross_base = fold->spell_base;
	}
}

/* The spell up to instant t under the current status, then on from t (if t is later). */
static void
sla_fold_advance(SlaClock *clock, SlaFold *fold, TimestampTz t)
{
	if (fold->from_null || t <= fold->at)
		return;
	if (fold->status == SLA_STATUS_PAUSED)
		sla_add_business_time(clock, fold, &fold->paused, fold->at, t);
	else if (fold->status == SLA_STATUS_RUNNING)
	{
		sla_add_business_time(clock, fold, &fold->running, fold->at, t);
		if (fold->targets)
		{
			sla_target_check_crossed(fold, &fold->first_response);
			sla_target_check_crossed(fold, &fold->resolution);
		}
	}
	fold->at = t;
}

/*
 * A target's mark at instant t (>= the fold's position: the fold moves on to t), in a spell of
 * the given status.
 */
static void
sla_target_mark(SlaClock *clock, SlaFold *fold, SlaTarget *target, TimestampTz t, SlaStatus status)
{
	sla_fold_advance(clock, fold, t);
	target->mark_pending = false;
	target->marked = true;
	target->marked_at = t;
	target->marked_consumed = fold->running.value;
	target->marked_status = status;
}

/* Clamped into [from, until], as a change's instant is. */
static TimestampTz
sla_fold_clamp(SlaFold *fold, TimestampTz t)
{
	if (!fold->until_null)
		t = Min(t, fold->until);
	if (!fold->from_null)
		t = Max(t, fold->from);
	return t;
}

/*
 * Before the change at changed_at is folded (the status is still the one before it): the marks
 * that fall before it, in order of instant. The first response's mark, when its instant is
 * earlier than the change's; the resolution's, when the change goes into resolved or closed
 * (measured at s = greatest(least(resolved_at, changed_at), the previous change's changed_at), in
 * the spell that ends with this change; if s is after at, the resolution is not stopped: the mark
 * is dropped); and the status at until, when the change is later.
 */
static void
sla_fold_marks(SlaClock *clock, SlaFold *fold, SlaStatus next, TimestampTz changed_at, bool creation)
{
	SlaTarget  *first = &fold->first_response;
	bool		first_due = first->mark_pending && first->mark_at < changed_at;
	bool		resolution_due = next == SLA_STATUS_STOPPED && (creation || fold->status != SLA_STATUS_STOPPED);
	TimestampTz resolution_at = 0;

	if (!fold->until_marked && !fold->until_null && changed_at > fold->until)
	{
		fold->until_marked = true;
		fold->until_status = fold->status;
	}
	if (fold->from_null)
		return;					/* nothing is counted */
	if (resolution_due)
	{
		resolution_at = fold->resolved_null ? changed_at : Min(fold->resolved_at, changed_at);
		if (fold->has_prev)
			resolution_at = Max(resolution_at, fold->prev_changed_at);
		if (resolution_at > fold->stop_limit)
		{
			/* the last change into resolved or closed so far stops nothing by at */
			fold->resolution.marked = false;
			resolution_due = false;
		}
		else
		{
			resolution_at = sla_fold_clamp(fold, resolution_at);
			/* at or after the fold's position: it is past the previous change's (clamped) instant */
			resolution_at = Max(resolution_at, fold->at);
		}
	}
	if (first_due && (!resolution_due || first->mark_at <= resolution_at))
	{
		sla_target_mark(clock, fold, first, first->mark_at, fold->status);
		first_due = false;
	}
	if (resolution_due)
		sla_target_mark(clock, fold, &fold->resolution, resolution_at, fold->status);
	if (first_due)
		sla_target_mark(clock, fold, first, first->mark_at, fold->status);
}

/*
 * One status change, in order. Before the first, the status is its from_status, or the current
 * status when that is NULL.
 */
static void
sla_fold_change(SlaClock *clock, SlaFold *fold, Datum from_status, bool from_status_null,
				Datum to_status, bool to_status_null, TimestampTz changed_at, SlaStatus current)
{
	TimestampTz t;
	SlaStatus	next;
	bool		creation = false;

	if (!fold->started)
	{
		fold->status = from_status_null ? current : sla_classify(clock, from_status, false);
		fold->started = true;
		creation = from_status_null;
	}
	next = sla_classify(clock, to_status, to_status_null);
	if (fold->targets)
		sla_fold_marks(clock, fold, next, changed_at, creation);
	/* greatest(least(changed_at, until), from): NULL bounds are ignored */
	t = sla_fold_clamp(fold, changed_at);
	sla_fold_advance(clock, fold, t);
	fold->status = next;
	if (fold->targets)
	{
		fold->spell_start = Max(t, fold->at);
		fold->spell_base = fold->running.value;
		fold->has_prev = true;
		fold->prev_changed_at = changed_at;
	}
}

/* The last spell, up to until. */
static void
sla_fold_finish(SlaClock *clock, SlaFold *fold, SlaStatus current)
{
	if (!fold->started)
		fold->status = current;
	if (fold->targets)
	{
		if (fold->first_response.mark_pending && !fold->from_null)
			sla_target_mark(clock, fold, &fold->first_response, fold->first_response.mark_at, fold->status);
		if (!fold->until_marked)
		{
			fold->until_marked = true;
			fold->until_status = fold->status;
		}
	}
	if (!fold->until_null)
		sla_fold_advance(clock, fold, fold->until);
}

static Datum
sla_sum_datum(SlaSum *sum, bool *isnull)
{
	*isnull = sum->isnull;
	return IntervalPGetDatum(&sum->value);
}

/* crm.sla_recount(ticket_id, calendar, pause_statuses, from_time, until, current_status) */
Datum
crm_sla_recount(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static Oid	plan_function = InvalidOid;
	SlaClock   *clock = fcinfo->flinfo->fn_extra;
	SlaFold		fold;
	SlaStatus	current;
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "sla_recount must return a record");
	desc = BlessTupleDesc(desc);
	if (clock == NULL)
		fcinfo->flinfo->fn_extra = clock = sla_clock_create(fcinfo, fcinfo->flinfo->fn_mcxt, false);
	sla_clock_set_pause(clock, PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2));
	current = sla_classify(clock, PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5), PG_ARGISNULL(5));
	sla_fold_start(&fold, PG_GETARG_DATUM(1), PG_ARGISNULL(1), PG_GETARG_DATUM(3), PG_ARGISNULL(3),
				   PG_GETARG_DATUM(4), PG_ARGISNULL(4));

	if (!PG_ARGISNULL(0))
	{
		Datum		args[1] = {PG_GETARG_DATUM(0)};
		int			result;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (plan == NULL || plan_function != fcinfo->flinfo->fn_oid)
		{
			const char *schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
			Oid			types[1] = {INT8OID};
			SPIPlanPtr	prepared;

			prepared = SPI_prepare(psprintf("SELECT h." CRM_COLUMN_HISTORY_FROM_STATUS ", h." CRM_COLUMN_HISTORY_TO_STATUS
											", h." CRM_COLUMN_HISTORY_CHANGED_AT
											" FROM %s." CRM_TABLE_TICKET_STATUS_HISTORY " h"
											" WHERE h." CRM_COLUMN_HISTORY_TICKET_ID " OPERATOR(pg_catalog.=) $1"
											" ORDER BY h." CRM_COLUMN_HISTORY_CHANGED_AT ", h." CRM_COLUMN_HISTORY_HISTORY_ID,
											schema),
								   1, types);
			if (prepared == NULL)
				elog(ERROR, "preparing the status history query failed: %s", SPI_result_code_string(SPI_result));
			if (SPI_keepplan(prepared) != 0)
				elog(ERROR, "SPI_keepplan failed");
			if (plan != NULL)
				SPI_freeplan(plan);
			plan = prepared;
			plan_function = fcinfo->flinfo->fn_oid;
		}
		result = SPI_execute_plan(plan, args, NULL, true, 0);
		if (result != SPI_OK_SELECT)
			elog(ERROR, "reading the status history failed: %s", SPI_result_code_string(result));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	row = SPI_tuptable->vals[i];
			TupleDesc	rowdesc = SPI_tuptable->tupdesc;
			bool		from_null,
						to_null,
						at_null;
			Datum		from_status = SPI_getbinval(row, rowdesc, 1, &from_null);
			Datum		to_status = SPI_getbinval(row, rowdesc, 2, &to_null);
			Datum		changed_at = SPI_getbinval(row, rowdesc, 3, &at_null);

			CHECK_FOR_INTERRUPTS();
			if (at_null)
				continue;		/* NOT NULL in the table */
			sla_fold_change(clock, &fold, from_status, from_null, to_status, to_null,
							DatumGetTimestampTz(changed_at), current);
		}
		sla_fold_finish(clock, &fold, current);
		/* the sums are in fold, on this stack: nothing to copy out of SPI's memory */
		SPI_finish();
	}
	else
		sla_fold_finish(clock, &fold, current);

	values[0] = sla_sum_datum(&fold.running, &nulls[0]);
	values[1] = sla_sum_datum(&fold.paused, &nulls[1]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * crm.sla_recompute(at): every visible ticket with a policy, from its status history up to
 * greatest(at, opened_at). Two ordered reads under one snapshot, merged here by ticket_id: the
 * tickets with a policy (read first, kept in an array: 56 bytes a ticket), then the whole status
 * history in (ticket_id, changed_at, history_id) order, the order of its index, streamed from the
 * executor into the fold (a DestReceiver: no copies, no sort, no join of the history to tickets).
 * History rows of tickets not in the array (no policy, or not visible) are passed over; the history
 * read is bounded by the first and last ticket_id of the array.
 */
typedef struct SlaTicket
{
	int64		ticket_id;
	int64		calendar_id;
	TimestampTz opened_at;
	TimestampTz first_response_at;	/* read for the targets only */
	TimestampTz resolved_at;	/* likewise */
	int32		policy;			/* index into policies */
	bool		calendar_null;
	bool		opened_null;
	bool		first_response_null;
	bool		resolved_null;
	uint8		current;		/* SlaStatus of the ticket's status under its policy */
} SlaTicket;

typedef struct SlaPolicy
{
	int64		policy_id;
	int			npause;
	text	  **pause;
	bool		first_response_null;
	bool		resolution_null;
	Interval	first_response_target;
	Interval	resolution_target;
} SlaPolicy;

typedef struct SlaRecompute
{
	DestReceiver pub;
	ReturnSetInfo *rsinfo;
	SlaClock   *clock;
	MemoryContext context;
	TimestampTz at;
	bool		targets;		/* crm.sla_recompute_targets: the targets too */
	bool		reading_history;	/* which of the two reads the receiver gets */
	/* the tickets, by ticket_id */
	SlaTicket  *tickets;
	int64		ntickets;
	int64		maxtickets;
	/* their policies (configuration rows: few) */
	SlaPolicy  *policies;
	int			npolicies;
	int			maxpolicies;
	int			last_policy;
	/* the merge: tickets[next] is the first not yet stored; folding: its fold has started */
	int64		next;
	bool		folding;
	SlaFold		fold;
} SlaRecompute;

static int
sla_recompute_policy(SlaRecompute *state, int64 policy_id, Datum pause, bool pause_null,
					 Datum *targets, bool *targets_null)
{
	SlaPolicy  *policy;

	if (state->npolicies > 0 && state->policies[state->last_policy].policy_id == policy_id)
		return state->last_policy;
	for (int i = 0; i < state->npolicies; i++)
		if (state->policies[i].policy_id == policy_id)
			return state->last_policy = i;
	if (state->npolicies == state->maxpolicies)
	{
		state->maxpolicies = Max(16, state->maxpolicies * 2);
		state->policies = state->policies == NULL
			? MemoryContextAlloc(state->context, sizeof(SlaPolicy) * state->maxpolicies)
			: repalloc(state->policies, sizeof(SlaPolicy) * state->maxpolicies);
	}
	policy = &state->policies[state->npolicies];
	policy->policy_id = policy_id;
	sla_read_pause(state->context, pause, pause_null, &policy->npause, &policy->pause);
	policy->first_response_null = targets_null[0];
	policy->resolution_null = targets_null[1];
	if (!targets_null[0])
		policy->first_response_target = *DatumGetIntervalP(targets[0]);
	if (!targets_null[1])
		policy->resolution_target = *DatumGetIntervalP(targets[1]);
	return state->last_policy = state->npolicies++;
}

/* Starts the fold of tickets[next] (under its policy's pause statuses). */
static void
sla_recompute_start(SlaRecompute *state)
{
	SlaTicket  *ticket = &state->tickets[state->next];
	SlaPolicy  *policy = &state->policies[ticket->policy];

	state->clock->npause = policy->npause;
	state->clock->pause = policy->pause;
	/* until: greatest(at, opened_at) (opened_at is NOT NULL) */
	sla_fold_start(&state->fold, Int64GetDatum(ticket->calendar_id), ticket->calendar_null,
				   TimestampTzGetDatum(ticket->opened_at), ticket->opened_null,
				   TimestampTzGetDatum(ticket->opened_null ? state->at : Max(state->at, ticket->opened_at)), false);
	if (state->targets)
	{
		SlaFold    *fold = &state->fold;

		fold->targets = true;
		fold->resolved_null = ticket->resolved_null;
		fold->resolved_at = ticket->resolved_at;
		fold->stop_limit = state->at;
		fold->first_response.active = !policy->first_response_null;
		fold->first_response.target = policy->first_response_target;
		fold->resolution.active = !policy->resolution_null;
		fold->resolution.target = policy->resolution_target;
		/* the first response stops its clock if given by at */
		if (!ticket->first_response_null && ticket->first_response_at <= state->at)
		{
			fold->first_response.mark_pending = true;
			fold->first_response.mark_at = sla_fold_clamp(fold, ticket->first_response_at);
		}
	}
	state->folding = true;
}

/*
 * A target's columns: due, state, consumed (out[0..2]). Stopped: its mark is the instant it was
 * measured at; else it is measured at until, in the spell until falls in.
 */
static void
sla_recompute_target(SlaRecompute *state, SlaTarget *target, bool stopped, Datum *out, bool *out_null)
{
	SlaFold    *fold = &state->fold;
	Interval   *consumed;
	TimestampTz measured_at;
	SlaStatus	status;
	int			cmp;
	const char *result_state;

	out_null[0] = out_null[1] = out_null[2] = true;
	if (!target->active || fold->running.isnull || fold->from_null)
		return;
	if (stopped)
	{
		consumed = &target->marked_consumed;
		measured_at = target->marked_at;
		status = target->marked_status;
	}
	else
	{
		consumed = &fold->running.value;
		measured_at = fold->until;
		status = fold->until_status;
	}
	cmp = sla_interval_cmp(consumed, &target->target);
	result_state = cmp > 0 ? "breached" : stopped ? "met" : "pending";
	if (cmp >= 0)
	{
		Interval	remaining;

		/* reached at or before the measured instant: in the spell where it was crossed */
		if (!target->crossed)
			elog(ERROR, "sla_recompute_targets: a target reached but not crossed");
		remaining = sla_interval_minus(&target->target, &target->cross_base);
		out[0] = TimestampTzGetDatum(sla_business_add(state->clock, fold->calendar_id, target->cross_start, &remaining));
		out_null[0] = false;
	}
	else if (status == SLA_STATUS_RUNNING)
	{
		Interval	remaining = sla_interval_minus(&target->target, consumed);

		out[0] = TimestampTzGetDatum(sla_business_add(state->clock, fold->calendar_id, measured_at, &remaining));
		out_null[0] = false;
	}
	out[1] = CStringGetTextDatum(result_state);
	out_null[1] = false;
	out[2] = IntervalPGetDatum(consumed);
	out_null[2] = false;
}

/* Finishes and stores tickets[next] (folded, or without history), and moves on. */
static void
sla_recompute_emit(SlaRecompute *state)
{
	SlaTicket  *ticket = &state->tickets[state->next];
	Datum		out[11];
	bool		out_null[11] = {false};

	CHECK_FOR_INTERRUPTS();
	if (!state->folding)
		sla_recompute_start(state);
	sla_fold_finish(state->clock, &state->fold, (SlaStatus) ticket->current);
	out[0] = Int64GetDatum(ticket->ticket_id);
	out[1] = Int64GetDatum(state->policies[ticket->policy].policy_id);
	out[2] = Int64GetDatum(ticket->calendar_id);
	out[3] = sla_sum_datum(&state->fold.running, &out_null[3]);
	out[4] = sla_sum_datum(&state->fold.paused, &out_null[4]);
	out_null[2] = ticket->calendar_null;
	if (state->targets)
	{
		SlaFold    *fold = &state->fold;

		sla_recompute_target(state, &fold->first_response, fold->first_response.marked, &out[5], &out_null[5]);
		/* resolved or closed now, through a change into it */
		sla_recompute_target(state, &fold->resolution,
							 ticket->current == SLA_STATUS_STOPPED && fold->resolution.marked, &out[8], &out_null[8]);
	}
	tuplestore_putvalues(state->rsinfo->setResult, state->rsinfo->setDesc, out, out_null);
	for (int i = 5; i < 11; i += 3)
		if (state->targets && !out_null[i + 1])
			pfree(DatumGetPointer(out[i + 1]));
	state->folding = false;
	state->next++;
}

/*
 * The first read: ticket_id, policy_id, calendar_id, pause_statuses, opened_at, status, by
 * ticket_id. The second: ticket_id, from_status, to_status, changed_at, in the history's order.
 */
static bool
sla_recompute_receive(TupleTableSlot *slot, DestReceiver *self)
{
	SlaRecompute *state = (SlaRecompute *) self;
	Datum	   *v;
	bool	   *n;
	int64		id;

	CHECK_FOR_INTERRUPTS();
	slot_getallattrs(slot);
	v = slot->tts_values;
	n = slot->tts_isnull;
	id = DatumGetInt64(v[0]);
	if (!state->reading_history)
	{
		SlaTicket  *ticket;
		SlaPolicy  *policy;

		if (state->ntickets > 0 && id <= state->tickets[state->ntickets - 1].ticket_id)
			elog(ERROR, "sla_recompute: tickets out of order");
		if (state->ntickets == state->maxtickets)
		{
			state->maxtickets = Max(1024, state->maxtickets * 2);
			state->tickets = state->tickets == NULL
				? MemoryContextAllocHuge(state->context, sizeof(SlaTicket) * state->maxtickets)
				: repalloc_huge(state->tickets, sizeof(SlaTicket) * state->maxtickets);
		}
		ticket = &state->tickets[state->ntickets++];
		ticket->ticket_id = id;
		ticket->policy = sla_recompute_policy(state, DatumGetInt64(v[1]), v[3], n[3], &v[8], &n[8]);
		ticket->calendar_null = n[2];
		ticket->calendar_id = n[2] ? 0 : DatumGetInt64(v[2]);	/* NOT NULL in the table */
		ticket->opened_null = n[4];
		ticket->opened_at = n[4] ? 0 : DatumGetTimestampTz(v[4]);
		ticket->first_response_null = n[6];
		ticket->first_response_at = n[6] ? 0 : DatumGetTimestampTz(v[6]);
		ticket->resolved_null = n[7];
		ticket->resolved_at = n[7] ? 0 : DatumGetTimestampTz(v[7]);
		policy = &state->policies[ticket->policy];
		state->clock->npause = policy->npause;
		state->clock->pause = policy->pause;
		ticket->current = (uint8) sla_classify(state->clock, v[5], n[5]);
		return true;
	}

	/* the tickets before this row's are complete */
	while (state->next < state->ntickets && state->tickets[state->next].ticket_id < id)
		sla_recompute_emit(state);
	if (state->next < state->ntickets && state->tickets[state->next].ticket_id == id && !n[3])
	{
		if (!state->folding)
			sla_recompute_start(state);
		sla_fold_change(state->clock, &state->fold, v[1], n[1], v[2], n[2], DatumGetTimestampTz(v[3]),
						(SlaStatus) state->tickets[state->next].current);
	}
	return true;
}

static void
sla_recompute_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
sla_recompute_shutdown(DestReceiver *self)
{
}

static void
sla_recompute_destroy(DestReceiver *self)
{
}

static void
sla_recompute_read(SlaRecompute *state, const char *query)
{
	SPIExecuteOptions options;
	int			result;

	memset(&options, 0, sizeof(options));
	options.read_only = true;	/* both reads under the same snapshot */
	options.dest = &state->pub;
	result = SPI_execute_extended(query, &options);
	/* a SELECT into a receiver tagged DestNone reports SPI_OK_UTILITY (the rows went to it) */
	if (result != SPI_OK_UTILITY && result != SPI_OK_SELECT)
		elog(ERROR, "sla_recompute: reading failed: %s", SPI_result_code_string(result));
}

static Datum
sla_recompute_run(FunctionCallInfo fcinfo, bool targets)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *schema;
	SlaRecompute state;

	InitMaterializedSRF(fcinfo, 0);
	memset(&state, 0, sizeof(state));
	state.pub.receiveSlot = sla_recompute_receive;
	state.pub.rStartup = sla_recompute_startup;
	state.pub.rShutdown = sla_recompute_shutdown;
	state.pub.rDestroy = sla_recompute_destroy;
	state.pub.mydest = DestNone;
	state.rsinfo = rsinfo;
	state.context = CurrentMemoryContext;
	state.at = PG_GETARG_TIMESTAMPTZ(0);
	state.targets = targets;
	state.clock = sla_clock_create(fcinfo, CurrentMemoryContext, targets);
	schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sla_recompute_read(&state,
					   psprintf("SELECT t." CRM_COLUMN_TICKETS_TICKET_ID ", s." CRM_COLUMN_TICKET_SLAS_POLICY_ID
								", p." CRM_COLUMN_SLA_POLICIES_CALENDAR_ID ", p." CRM_COLUMN_SLA_POLICIES_PAUSE_STATUSES
								", t." CRM_COLUMN_TICKETS_OPENED_AT ", t." CRM_COLUMN_TICKETS_STATUS
								", t." CRM_COLUMN_TICKETS_FIRST_RESPONSE_AT ", t." CRM_COLUMN_TICKETS_RESOLVED_AT
								", p." CRM_COLUMN_SLA_POLICIES_FIRST_RESPONSE_TARGET ", p." CRM_COLUMN_SLA_POLICIES_RESOLUTION_TARGET
								" FROM %s." CRM_TABLE_TICKETS " t"
								" JOIN %s." CRM_TABLE_TICKET_SLAS " s ON s." CRM_COLUMN_TICKET_SLAS_TICKET_ID
								" OPERATOR(pg_catalog.=) t." CRM_COLUMN_TICKETS_TICKET_ID
								" JOIN %s." CRM_TABLE_SLA_POLICIES " p ON p." CRM_COLUMN_SLA_POLICIES_POLICY_ID
								" OPERATOR(pg_catalog.=) s." CRM_COLUMN_TICKET_SLAS_POLICY_ID
								" ORDER BY t." CRM_COLUMN_TICKETS_TICKET_ID,
								schema, schema, schema));
	state.reading_history = true;
	if (state.ntickets > 0)
		sla_recompute_read(&state,
						   psprintf("SELECT h." CRM_COLUMN_HISTORY_TICKET_ID ", h." CRM_COLUMN_HISTORY_FROM_STATUS
									", h." CRM_COLUMN_HISTORY_TO_STATUS ", h." CRM_COLUMN_HISTORY_CHANGED_AT
									" FROM %s." CRM_TABLE_TICKET_STATUS_HISTORY " h"
									" WHERE h." CRM_COLUMN_HISTORY_TICKET_ID " OPERATOR(pg_catalog.>=) '" INT64_FORMAT "'::pg_catalog.int8"
									" AND h." CRM_COLUMN_HISTORY_TICKET_ID " OPERATOR(pg_catalog.<=) '" INT64_FORMAT "'::pg_catalog.int8"
									" ORDER BY h." CRM_COLUMN_HISTORY_TICKET_ID ", h." CRM_COLUMN_HISTORY_CHANGED_AT
									", h." CRM_COLUMN_HISTORY_HISTORY_ID,
									schema, state.tickets[0].ticket_id, state.tickets[state.ntickets - 1].ticket_id));
	while (state.next < state.ntickets)
		sla_recompute_emit(&state);
	SPI_finish();
	return (Datum) 0;
}

Datum
crm_sla_recompute(PG_FUNCTION_ARGS)
{
	return sla_recompute_run(fcinfo, false);
}

/* crm.sla_recompute_targets(at): the clock and the first-response and resolution targets. */
Datum
crm_sla_recompute_targets(PG_FUNCTION_ARGS)
{
	return sla_recompute_run(fcinfo, true);
}
