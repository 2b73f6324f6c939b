#!/usr/bin/env bash
# Benchmark: microseconds per call of crm.business_add and crm.business_time over $calls rows,
# beside a trivial SQL-callable function of the same arity (pg_catalog.timestamptz_pl_interval,
# the + operator of timestamptz and interval) and a scan that calls nothing, in the same run.
# The calendar: Monday to Friday 09:00-12:00 and 13:00-17:00, Europe/Berlin, ten holidays a year,
# two yearly; starts at random minutes of 2026-2027 (clock changes included), amounts of 1 minute
# to 3 business days (business_add) and spans of up to a week (business_time). Each call walks
# from the start's local date; the calendar is read once per statement.
# Medians of $runs interleaved runs, one process (no parallel workers).
# Run with: scripts/bench test/bench/calendars.sh
set -euo pipefail

runs=${RUNS:-5}
calls=${CALENDAR_CALLS:-200000}
source "$(dirname "$0")/lib.bash"
bench_record calendars CALENDAR_CALLS RUNS

echo "== setup: one calendar, $calls (start, amount, end) rows"
psql_bench <<SQL
SELECT setseed(0.7) \g /dev/null
DELETE FROM crm.business_calendars WHERE name = 'bench office';
INSERT INTO crm.business_calendars (name, time_zone) VALUES ('bench office', 'Europe/Berlin');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes)
SELECT c.calendar_id, d, o, cl FROM crm.business_calendars c, generate_series(1, 5) d,
       (VALUES ('09:00'::time, '12:00'::time), ('13:00', '17:00')) h(o, cl)
WHERE c.name = 'bench office';
INSERT INTO crm.business_holidays (calendar_id, day, recurring_yearly)
SELECT c.calendar_id, DATE '2026-01-01' + 73 * i, false FROM crm.business_calendars c, generate_series(0, 19) i
WHERE c.name = 'bench office'
UNION ALL SELECT c.calendar_id, d, true FROM crm.business_calendars c, (VALUES (DATE '2001-12-25'), (DATE '2001-01-01')) v(d)
WHERE c.name = 'bench office';
DROP TABLE IF EXISTS bench_calendar;
CREATE TABLE bench_calendar WITH (parallel_workers = 0) AS
SELECT (SELECT calendar_id FROM crm.business_calendars WHERE name = 'bench office') AS calendar_id,
       t, t + floor(random() * 10080)::int * interval '1 minute' AS t_end,
       (1 + floor(random() * 1260)::int) * interval '1 minute' AS amount
FROM (SELECT TIMESTAMPTZ '2026-01-01 00:00+00' + floor(random() * 1048000)::int * interval '1 minute' AS t
      FROM generate_series(1, $calls)) s;
VACUUM (FREEZE, ANALYZE) bench_calendar;
SQL

echo "== check: business_time(c, t, business_add(c, t, d)) = d on every row"
psql_bench -At -c "SELECT 'rows where the inverse fails: ' || count(*) FILTER (WHERE crm.business_time(calendar_id, t, crm.business_add(calendar_id, t, amount)) <> amount) FROM bench_calendar"

read -r scan_ms plus_ms add_ms time_ms < <(time_queries "SET max_parallel_workers_per_gather = 0;" \
	"SELECT count(*) FROM bench_calendar WHERE t IS NOT NULL" \
	"SELECT count(*) FROM bench_calendar WHERE pg_catalog.timestamptz_pl_interval(t, amount) IS NOT NULL" \
	"SELECT count(*) FROM bench_calendar WHERE crm.business_add(calendar_id, t, amount) IS NOT NULL" \
	"SELECT count(*) FROM bench_calendar WHERE crm.business_time(calendar_id, t, t_end) IS NOT NULL")
echo "== $calls calls, one process (median of $runs): ms; µs per call above the scan; µs per call above the trivial call"
per_call() { echo "($1 - $2) * 1000 / $calls" | bc -l; }
printf '  scan, no call                          %8.1f\n' "$scan_ms"
printf '  timestamptz + interval (trivial call)  %8.1f   %6.3f\n' "$plus_ms" "$(per_call "$plus_ms" "$scan_ms")"
printf '  crm.business_add                       %8.1f   %6.3f   %6.3f\n' "$add_ms" "$(per_call "$add_ms" "$scan_ms")" "$(per_call "$add_ms" "$plus_ms")"
printf '  crm.business_time                      %8.1f   %6.3f   %6.3f\n' "$time_ms" "$(per_call "$time_ms" "$scan_ms")" "$(per_call "$time_ms" "$plus_ms")"
psql_bench -c "DROP TABLE bench_calendar" -c "DELETE FROM crm.business_calendars WHERE name = 'bench office'"
