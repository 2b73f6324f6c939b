/*
 * calendars.c: business calendars (docs/calendars.md).
 *
 * crm.business_add(calendar, start, interval) and crm.business_time(calendar, from, to) walk the
 * opening hours of a calendar: weekly intervals of local wall-clock time per ISO weekday, closed on
 * holidays, in the calendar's time zone, or open 24/7.
 *
 * The open instants. On local date d (not a holiday), the opening interval [opens, closes) of d's
 * weekday is the span of instants [utc(d, opens), utc(d, closes)), where utc() converts a local
 * timestamp of the calendar's zone to an instant exactly as PostgreSQL converts a timestamp without
 * time zone in that zone (DetermineTimeZoneOffset: a time in a spring-forward gap is read with the
 * offset before the transition, an ambiguous time with the offset after it; `(d + opens) AT TIME
 * ZONE zone` in SQL). A span whose end is not after its start is empty. The calendar is open at
 * the instants of the union of these spans; the walks visit local dates in order, each date's spans
 * sorted by start and merged, and a span is clipped to start at the end of the spans before it
 * (forward; backward symmetric). That is the union unless a clock change's gap straddles local
 * midnight and an interval of the earlier date inside the gap maps past one of the next date (the
 * zones tested, and those whose changes are at or after midnight, have no such gap).
 *
 * The calendar (zone, hours, holidays) is read through SPI with the caller's rights and cached in
 * fn_extra for the call site, keyed by the calendar id and by what the caller's snapshot can see:
 * the top-level transaction, the snapshot's command id, xmin, xmax and transaction completion
 * count. A new statement that may see other data (a new snapshot after a commit elsewhere, or after
 * a write of its own) reloads; calls within one statement read the calendar once.
 */
#include "crm.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "common/int.h"
#include "crm_names.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(crm_business_add);
PG_FUNCTION_INFO_V1(crm_business_time);

/* The longest walk: local dates visited (100 years); beyond it 54000. */
#define BUSINESS_MAX_DAYS 36525

typedef struct LocalSpan
{
	int64		opens;			/* microseconds since local midnight */
	int64		closes;			/* up to USECS_PER_DAY (24:00) */
} LocalSpan;

typedef struct BusinessCalendar
{
	int64		calendar_id;
	/* what the data was read under (see the file comment) */
	LocalTransactionId lxid;
	CommandId	curcid;
	TransactionId xmin;
	TransactionId xmax;
	uint64		completion_count;
	bool		valid;

	MemoryContext context;		/* holds the arrays below; reset on reload */
	bool		always_open;
	pg_tz	   *tz;
	int			nspans[7];		/* by j2day(): 0 Sunday ... 6 Saturday */
	LocalSpan  *spans[7];		/* sorted, merged */
	int			max_spans;
	int			nholidays;
	DateADT    *holidays;		/* sorted */
	bool		recurring[13][32];	/* [month][day] */
	TimestampTz *starts;		/* scratch for one day's instants, max_spans each */
	TimestampTz *ends;
} BusinessCalendar;

static LocalTransactionId
current_lxid(void)
{
#if PG_VERSION_NUM >= 170000
	return MyProc->vxid.lxid;
#else
	return MyProc->lxid;
#endif
}

static int
compare_local_spans(const void *a, const void *b)
{
	const LocalSpan *x = a;
	const LocalSpan *y = b;

	return x->opens < y->opens ? -1 : x->opens > y->opens ? 1 : 0;
}

static int
compare_dates(const void *a, const void *b)
{
	DateADT		x = *(const DateADT *) a;
	DateADT		y = *(const DateADT *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

pg_noreturn static void
unknown_calendar(int64 calendar_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("business calendar %lld does not exist", (long long) calendar_id),
			 errhint("The calendars are the rows of crm.business_calendars.")));
}

/* Reads the calendar into cal (its context reset first). */
static void
load_calendar(BusinessCalendar *cal, FunctionCallInfo fcinfo, int64 calendar_id)
{
	const char *schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(calendar_id)};
	int			result;
	bool		isnull;
	char	   *zone;
	int			count[7] = {0};
	LocalSpan  *all;
	int			nall;
	MemoryContext old;

	cal->valid = false;
	MemoryContextReset(cal->context);
	memset(cal->recurring, 0, sizeof(cal->recurring));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	result = SPI_execute_with_args(psprintf("SELECT c." CRM_COLUMN_CALENDARS_TIME_ZONE ", c." CRM_COLUMN_CALENDARS_ALWAYS_OPEN
											" FROM %s." CRM_TABLE_BUSINESS_CALENDARS " c WHERE c." CRM_COLUMN_CALENDARS_CALENDAR_ID
											" OPERATOR(pg_catalog.=) $1", schema),
								   1, types, values, NULL, true, 1);
	if (result != SPI_OK_SELECT)
		elog(ERROR, "reading business calendar %lld failed: %s", (long long) calendar_id, SPI_result_code_string(result));
	if (SPI_processed == 0)
		unknown_calendar(calendar_id);
	zone = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	cal->always_open = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	cal->tz = zone ? pg_tzset(zone) : NULL;
	if (cal->tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("business calendar %lld has an unknown time zone \"%s\"", (long long) calendar_id,
						zone ? zone : "")));

	result = SPI_execute_with_args(psprintf("SELECT h." CRM_COLUMN_HOURS_WEEKDAY ", h." CRM_COLUMN_HOURS_OPENS ", h." CRM_COLUMN_HOURS_CLOSES
											" FROM %s." CRM_TABLE_BUSINESS_HOURS " h WHERE h." CRM_COLUMN_HOURS_CALENDAR_ID
											" OPERATOR(pg_catalog.=) $1", schema),
								   1, types, values, NULL, true, 0);
	if (result != SPI_OK_SELECT)
		elog(ERROR, "reading the hours of business calendar %lld failed: %s", (long long) calendar_id,
			 SPI_result_code_string(result));
	nall = (int) SPI_processed;
	all = MemoryContextAlloc(cal->context, sizeof(LocalSpan) * Max(nall, 1));
	/* bucket by weekday: all[] is reordered so that each weekday's spans are contiguous */
	{
		LocalSpan  *raw = palloc(sizeof(LocalSpan) * Max(nall, 1));
		int		   *day = palloc(sizeof(int) * Max(nall, 1));
		int			offset[7];
		int			i;

		for (i = 0; i < nall; i++)
		{
			HeapTuple	row = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			int			iso = DatumGetInt16(SPI_getbinval(row, desc, 1, &isnull));

			day[i] = iso % 7;	/* ISO 7 (Sunday) is j2day's 0 */
			raw[i].opens = DatumGetTimeADT(SPI_getbinval(row, desc, 2, &isnull));
			raw[i].closes = DatumGetTimeADT(SPI_getbinval(row, desc, 3, &isnull));
			count[day[i]]++;
		}
		offset[0] = 0;
		for (i = 1; i < 7; i++)
			offset[i] = offset[i - 1] + count[i - 1];
		for (i = 0; i < 7; i++)
		{
			cal->spans[i] = all + offset[i];
			cal->nspans[i] = 0;
		}
		for (i = 0; i < nall; i++)
			cal->spans[day[i]][cal->nspans[day[i]]++] = raw[i];
	}
	cal->max_spans = 1;
	for (int d = 0; d < 7; d++)
	{
		LocalSpan  *s = cal->spans[d];
		int			n = 0;

		qsort(s, cal->nspans[d], sizeof(LocalSpan), compare_local_spans);
		/* merge overlapping or touching intervals (the trigger refuses overlaps; be safe anyway) */
		for (int i = 0; i < cal->nspans[d]; i++)
		{
			if (s[i].closes <= s[i].opens)
				continue;
			if (n > 0 && s[i].opens <= s[n - 1].closes)
				s[n - 1].closes = Max(s[n - 1].closes, s[i].closes);
			else
				s[n++] = s[i];
		}
		cal->nspans[d] = n;
		cal->max_spans = Max(cal->max_spans, n);
	}

	result = SPI_execute_with_args(psprintf("SELECT h." CRM_COLUMN_HOLIDAYS_DAY ", h." CRM_COLUMN_HOLIDAYS_RECURRING_YEARLY
											" FROM %s." CRM_TABLE_BUSINESS_HOLIDAYS " h WHERE h." CRM_COLUMN_HOLIDAYS_CALENDAR_ID
											" OPERATOR(pg_catalog.=) $1", schema),
								   1, types, values, NULL, true, 0);
	if (result != SPI_OK_SELECT)
		elog(ERROR, "reading the holidays of business calendar %lld failed: %s", (long long) calendar_id,
			 SPI_result_code_string(result));
	cal->holidays = MemoryContextAlloc(cal->context, sizeof(DateADT) * Max(SPI_processed, 1));
	cal->nholidays = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		DateADT		day = DatumGetDateADT(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
		bool		recurring = DatumGetBool(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));

		if (DATE_NOT_FINITE(day))
			continue;
		if (recurring)
		{
			int			y,
						m,
						d;

			j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
			cal->recurring[m][d] = true;
		}
		else
			cal->holidays[cal->nholidays++] = day;
	}
	qsort(cal->holidays, cal->nholidays, sizeof(DateADT), compare_dates);
	SPI_finish();

	old = MemoryContextSwitchTo(cal->context);
	cal->starts = palloc(sizeof(TimestampTz) * cal->max_spans);
	cal->ends = palloc(sizeof(TimestampTz) * cal->max_spans);
	MemoryContextSwitchTo(old);
	cal->calendar_id = calendar_id;
}

/* The calendar for this call: the cached one when nothing it was read under has changed. */
static BusinessCalendar *
get_calendar(FunctionCallInfo fcinfo, int64 calendar_id)
{
	BusinessCalendar *cal = fcinfo->flinfo->fn_extra;
	Snapshot	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : NULL;

	if (cal == NULL)
	{
		cal = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(BusinessCalendar));
		cal->context = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "business calendar", ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = cal;
	}
	if (cal->valid && snapshot != NULL && cal->calendar_id == calendar_id &&
		cal->lxid == current_lxid() && cal->curcid == snapshot->curcid &&
		cal->xmin == snapshot->xmin && cal->xmax == snapshot->xmax &&
		cal->completion_count == snapshot->snapXactCompletionCount)
		return cal;
	load_calendar(cal, fcinfo, calendar_id);
	if (snapshot != NULL)
	{
		cal->lxid = current_lxid();
		cal->curcid = snapshot->curcid;
		cal->xmin = snapshot->xmin;
		cal->xmax = snapshot->xmax;
		cal->completion_count = snapshot->snapXactCompletionCount;
		cal->valid = true;
	}
	return cal;
}

/* The instant of local time usec (0 .. 24:00) on Julian day jd, as PostgreSQL converts it. */
static TimestampTz
local_to_instant(const BusinessCalendar *cal, int jd, int64 usec)
{
	struct pg_tm tm;
	int64		secs;
	int			offset;

	if (usec >= USECS_PER_DAY)
	{
		jd += 1;
		usec -= USECS_PER_DAY;
	}
	memset(&tm, 0, sizeof(tm));
	j2date(jd, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	secs = usec / USECS_PER_SEC;
	tm.tm_hour = (int) (secs / SECS_PER_HOUR);
	tm.tm_min = (int) ((secs / SECS_PER_MINUTE) % MINS_PER_HOUR);
	tm.tm_sec = (int) (secs % SECS_PER_MINUTE);
	offset = DetermineTimeZoneOffset(&tm, cal->tz);
	return (int64) (jd - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + usec + (int64) offset * USECS_PER_SEC;
}

/* The local date (Julian day) of an instant in the calendar's zone. */
static int
instant_to_local_day(const BusinessCalendar *cal, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (timestamp2tm(t, &tz, &tm, &fsec, NULL, cal->tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
}

static bool
is_holiday(const BusinessCalendar *cal, int jd)
{
	DateADT		day = jd - POSTGRES_EPOCH_JDATE;
	int			y,
				m,
				d;

	if (cal->nholidays > 0 &&
		bsearch(&day, cal->holidays, cal->nholidays, sizeof(DateADT), compare_dates) != NULL)
		return true;
	j2date(jd, &y, &m, &d);
	return cal->recurring[m][d];
}

/* Local dates whose instants all fit a timestamptz (a margin of two days on each side). */
static bool
day_in_range(int jd)
{
	return jd > DATETIME_MIN_JULIAN + 2 && jd < TIMESTAMP_END_JULIAN - 2;
}

/*
 * The open spans of local date jd as instants, sorted by start and merged, into cal->starts and
 * cal->ends. Returns their number.
 */
static int
day_spans(BusinessCalendar *cal, int jd)
{
	int			weekday;
	int			n = 0;
	const LocalSpan *s;

	if (!day_in_range(jd) || is_holiday(cal, jd))
		return 0;
	weekday = j2day(jd);
	s = cal->spans[weekday];
	for (int i = 0; i < cal->nspans[weekday]; i++)
	{
		TimestampTz start = local_to_instant(cal, jd, s[i].opens);
		TimestampTz end = local_to_instant(cal, jd, s[i].closes);
		int			j;

		if (end <= start)
			continue;			/* inside a spring-forward gap */
		/* insertion by start: in order except near a gap */
		for (j = n; j > 0 && cal->starts[j - 1] > start; j--)
		{
			cal->starts[j] = cal->starts[j - 1];
			cal->ends[j] = cal->ends[j - 1];
		}
		cal->starts[j] = start;
		cal->ends[j] = end;
		n++;
	}
	if (n > 1)
	{
		int			m = 0;

		for (int i = 1; i < n; i++)
		{
			if (cal->starts[i] <= cal->ends[m])
				cal->ends[m] = Max(cal->ends[m], cal->ends[i]);
			else
			{
				m++;
				cal->starts[m] = cal->starts[i];
				cal->ends[m] = cal->ends[i];
			}
		}
		n = m + 1;
	}
	return n;
}

static void
check_finite(TimestampTz t, const char *argument)
{
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", argument)));
}

pg_noreturn static void
walk_too_long(int64 calendar_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("business time walk over more than %d days", BUSINESS_MAX_DAYS),
			 errdetail("Business calendar %lld would be walked over more than 100 years of local dates.",
					   (long long) calendar_id)));
}

static Interval *
make_business_interval(int64 usec)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = usec;
	return result;
}

/* Business time in [from, to), from <= to, in microseconds. */
static int64
business_time_forward(BusinessCalendar *cal, TimestampTz from, TimestampTz to)
{
	int			first,
				last;
	int64		total = 0;
	TimestampTz floor = DT_NOBEGIN;

	if (cal->always_open)
	{
		if ((to - from) / USECS_PER_DAY > BUSINESS_MAX_DAYS)
			walk_too_long(cal->calendar_id);
		return to - from;
	}
	first = instant_to_local_day(cal, from) - 1;
	last = instant_to_local_day(cal, to) + 1;
	if (last - first > BUSINESS_MAX_DAYS + 2)
		walk_too_long(cal->calendar_id);
	for (int jd = first; jd <= last; jd++)
	{
		int			n;

		CHECK_FOR_INTERRUPTS();
		n = day_spans(cal, jd);
		for (int i = 0; i < n; i++)
		{
			TimestampTz start = Max(cal->starts[i], floor);
			TimestampTz end = cal->ends[i];

			if (end <= start)
				continue;
			floor = end;
			start = Max(start, from);
			end = Min(end, to);
			if (end > start)
				total += end - start;
		}
	}
	return total;
}

Datum
crm_business_time(PG_FUNCTION_ARGS)
{
	int64		calendar_id = PG_GETARG_INT64(0);
	TimestampTz from = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz to = PG_GETARG_TIMESTAMPTZ(2);
	BusinessCalendar *cal;

	check_finite(from, "from_time");
	check_finite(to, "to_time");
	cal = get_calendar(fcinfo, calendar_id);
	if (from <= to)
		PG_RETURN_INTERVAL_P(make_business_interval(business_time_forward(cal, from, to)));
	PG_RETURN_INTERVAL_P(make_business_interval(-business_time_forward(cal, to, from)));
}

pg_noreturn static void
result_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("timestamp out of range")));
}

Datum
crm_business_add(PG_FUNCTION_ARGS)
{
	int64		calendar_id = PG_GETARG_INT64(0);
	TimestampTz start = PG_GETARG_TIMESTAMPTZ(1);
	Interval   *span = PG_GETARG_INTERVAL_P(2);
	BusinessCalendar *cal;
	int64		remaining;
	int			jd,
				limit;

	check_finite(start, "start");
	if (span->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("business time must not contain months or years: \"%s\"",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(span)))),
				 errhint("Give business time in days (24 hours each), hours, minutes and seconds.")));
	if (pg_mul_s64_overflow((int64) span->day, USECS_PER_DAY, &remaining) ||
		pg_add_s64_overflow(remaining, span->time, &remaining))
		walk_too_long(calendar_id);
	if (remaining == PG_INT64_MIN)
		walk_too_long(calendar_id);
	cal = get_calendar(fcinfo, calendar_id);
	if (remaining == 0)
		PG_RETURN_TIMESTAMPTZ(start);
	if (!cal->always_open)
	{
		int			hours = 0;

		for (int d = 0; d < 7; d++)
			hours += cal->nspans[d];
		if (hours == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("business calendar %lld has no opening hours", (long long) calendar_id),
					 errdetail("No business time can elapse in a calendar that is never open."),
					 errhint("Add rows to crm.business_hours, or set always_open.")));
	}

	if (cal->always_open)
	{
		TimestampTz result;

		if ((remaining < 0 ? -(remaining / USECS_PER_DAY) : remaining / USECS_PER_DAY) > BUSINESS_MAX_DAYS)
			walk_too_long(calendar_id);
		if (pg_add_s64_overflow(start, remaining, &result) || !IS_VALID_TIMESTAMP(result))
			result_out_of_range();
		PG_RETURN_TIMESTAMPTZ(result);
	}

	if (remaining > 0)
	{
		TimestampTz floor = DT_NOBEGIN;

		jd = instant_to_local_day(cal, start) - 1;
		limit = jd + BUSINESS_MAX_DAYS + 2;
		for (;; jd++)
		{
			int			n;

			CHECK_FOR_INTERRUPTS();
			if (jd > limit)
				walk_too_long(calendar_id);
			if (jd >= TIMESTAMP_END_JULIAN - 2)
				result_out_of_range();
			n = day_spans(cal, jd);
			for (int i = 0; i < n; i++)
			{
				TimestampTz s = Max(cal->starts[i], floor);
				TimestampTz e = cal->ends[i];

				if (e <= s)
					continue;
				floor = e;
				if (e <= start)
					continue;
				s = Max(s, start);
				if (remaining <= e - s)
					PG_RETURN_TIMESTAMPTZ(s + remaining);
				remaining -= e - s;
			}
		}
	}
	else
	{
		TimestampTz ceiling = DT_NOEND;

		remaining = -remaining; /* an int64 from days and time: never the minimum */
		jd = instant_to_local_day(cal, start) + 1;
		limit = jd - BUSINESS_MAX_DAYS - 2;
		for (;; jd--)
		{
			int			n;

			CHECK_FOR_INTERRUPTS();
			if (jd < limit)
				walk_too_long(calendar_id);
			if (jd <= DATETIME_MIN_JULIAN + 2)
				result_out_of_range();
			n = day_spans(cal, jd);
			for (int i = n - 1; i >= 0; i--)
			{
				TimestampTz s = cal->starts[i];
				TimestampTz e = Min(cal->ends[i], ceiling);

				if (e <= s)
					continue;
				ceiling = s;
				if (s >= start)
					continue;
				e = Min(e, start);
				if (remaining <= e - s)
					PG_RETURN_TIMESTAMPTZ(e - remaining);
				remaining -= e - s;
			}
		}
	}
}
