#!/usr/bin/env bash
# Benchmark (issue 17): the SLA clock recomputed in bulk from the status history: for $tickets
# tickets with $changes status changes each (after the creation row), the business time each ran
# and stood paused up to an instant, by crm.sla_recompute (crm.sla_recount's rule, the one the SLA
# trigger uses when a ticket gets its first policy, applied to every ticket: one fold in C over the
# tickets and their history in index order) beside a hand-written set-based SQL version of the
# same rule (each status spell from the history by lead(), its business time by crm.business_time,
# summed per ticket), in the same run; the results are checked equal (every ticket's running and
# paused time), and the script fails if one differs.
# The calendar: Monday to Friday 09:00-12:00 and 13:00-17:00, Europe/Berlin, 20 holidays and two
# yearly ones; pause status 'pending'. Each ticket opens at a random minute of 2026 and goes
# new -> open -> pending -> open -> ... -> resolved -> closed over up to 20 days.
# Medians of $runs interleaved runs, one process.
# Run with: scripts/bench test/bench/sla.sh   (SLA_TICKETS, SLA_CHANGES)
set -euo pipefail

runs=${RUNS:-5}
tickets=${SLA_TICKETS:-1000000}
changes=${SLA_CHANGES:-5}
source "$(dirname "$0")/lib.bash"
bench_record sla SLA_TICKETS SLA_CHANGES RUNS

echo "== setup: $tickets tickets, $((tickets * changes)) status changes (plus $tickets creation rows)"
psql_bench <<SQL
SELECT setseed(0.17) \g /dev/null
SET session_replication_role = replica;  -- no triggers: the history is written here
DELETE FROM crm.ticket_status_history WHERE ticket_id IN (SELECT ticket_id FROM crm.tickets WHERE subject = 'bench sla');
DELETE FROM crm.tickets WHERE subject = 'bench sla';
DELETE FROM crm.contacts WHERE email = 'bench-sla@example.com';
DELETE FROM crm.sla_policies WHERE name = 'bench sla policy';
DELETE FROM crm.business_calendars WHERE name = 'bench sla office';
INSERT INTO crm.contacts (first_name, email) VALUES ('Bench', 'bench-sla@example.com');
INSERT INTO crm.business_calendars (name, time_zone) VALUES ('bench sla office', 'Europe/Berlin');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes)
SELECT c.calendar_id, d, o, cl FROM crm.business_calendars c, generate_series(1, 5) d,
       (VALUES ('09:00'::time, '12:00'::time), ('13:00', '17:00')) h(o, cl)
WHERE c.name = 'bench sla office';
INSERT INTO crm.business_holidays (calendar_id, day, recurring_yearly)
SELECT c.calendar_id, DATE '2026-01-01' + 17 * i, false FROM crm.business_calendars c, generate_series(0, 19) i
WHERE c.name = 'bench sla office'
UNION ALL SELECT c.calendar_id, d, true FROM crm.business_calendars c, (VALUES (DATE '2001-12-25'), (DATE '2001-05-01')) v(d)
WHERE c.name = 'bench sla office';
DROP TABLE IF EXISTS bench_sla_changes;
-- the statuses in order: new, then open / pending alternating, the last two resolved and closed
CREATE TABLE bench_sla_changes AS
SELECT n.ticket_id, k, n.opened_at + sum(gap) OVER (PARTITION BY n.ticket_id ORDER BY k) AS changed_at,
       CASE WHEN k = $changes THEN 'closed' WHEN k = $changes - 1 THEN 'resolved'
            WHEN k % 2 = 1 THEN 'open' ELSE 'pending' END AS to_status
FROM (SELECT i AS ticket_id, TIMESTAMPTZ '2026-01-01 00:00+00' + floor(random() * 500000)::int * interval '1 minute' AS opened_at
      FROM generate_series(1, $tickets) i) n
CROSS JOIN LATERAL (SELECT k, floor(random() * 5760)::int * interval '1 minute' AS gap FROM generate_series(1, $changes) k) g;
INSERT INTO crm.tickets (ticket_id, contact_id, subject, status, channel, opened_at, resolved_at, created_at, updated_at)
SELECT t.ticket_id + 1000000000, (SELECT contact_id FROM crm.contacts WHERE email = 'bench-sla@example.com'), 'bench sla',
       t.last_status, 'email', t.opened_at,
       CASE WHEN t.last_status IN ('resolved', 'closed') THEN t.last_at END, t.opened_at, t.last_at
FROM (SELECT ticket_id, min(changed_at) - interval '1 minute' AS opened_at, max(changed_at) AS last_at,
             (array_agg(to_status ORDER BY k DESC))[1] AS last_status
      FROM bench_sla_changes GROUP BY ticket_id) t;
INSERT INTO crm.ticket_status_history (ticket_id, from_status, to_status, changed_at, changed_by_role)
SELECT t.ticket_id, NULL, 'new', t.opened_at, 'postgres' FROM crm.tickets t WHERE t.subject = 'bench sla'
UNION ALL
SELECT c.ticket_id + 1000000000, coalesce(lag(c.to_status) OVER (PARTITION BY c.ticket_id ORDER BY c.k), 'new'), c.to_status,
       c.changed_at, 'postgres'
FROM bench_sla_changes c;
DROP TABLE bench_sla_changes;
-- the tickets' SLA state names an (inactive) policy on the calendar, pausing in 'pending'
INSERT INTO crm.sla_policies (name, active, calendar_id, resolution_target)
SELECT 'bench sla policy', false, calendar_id, '40 hours' FROM crm.business_calendars WHERE name = 'bench sla office';
INSERT INTO crm.ticket_slas (ticket_id, policy_id, calendar_id, clock_at)
SELECT t.ticket_id, p.policy_id, p.calendar_id, t.updated_at
FROM crm.tickets t, crm.sla_policies p WHERE t.subject = 'bench sla' AND p.name = 'bench sla policy';
RESET session_replication_role;
VACUUM (FREEZE, ANALYZE) crm.tickets, crm.ticket_status_history, crm.ticket_slas;
SQL
at="TIMESTAMPTZ '2026-12-31 00:00+00'"

crm_query="SELECT ticket_id, running, paused FROM crm.sla_recompute($at)"
# The hand-written version: the best set-based SQL found for the same rule on this data (of the
# shapes tried, the fastest): one window over the history joined to the tickets with a policy
# (each status spell from its change to the next, by lead()), crm.business_time of the spells
# that count only (FILTER: a resolved or closed spell is not measured), summed per ticket. It
# leaves out what this data never needs (so it can only be faster for it): the spell before a
# ticket's first change (empty here: the first change is the creation, at opened_at) and tickets
# without history (none here); the check below compares every ticket all the same.
hand_query="SELECT s.ticket_id,
       coalesce(sum(crm.business_time(s.calendar_id, s.from_at, s.to_at))
                FILTER (WHERE s.status NOT IN ('pending', 'resolved', 'closed') AND s.to_at > s.from_at), '0') AS running,
       coalesce(sum(crm.business_time(s.calendar_id, s.from_at, s.to_at))
                FILTER (WHERE s.status = 'pending' AND s.to_at > s.from_at), '0') AS paused
FROM (SELECT t.ticket_id, p.calendar_id, h.to_status AS status,
             greatest(least(h.changed_at, $at), t.opened_at) AS from_at,
             greatest(least(coalesce(lead(h.changed_at) OVER w, $at), $at), t.opened_at) AS to_at
      FROM crm.tickets t
      JOIN crm.ticket_slas x ON x.ticket_id = t.ticket_id
      JOIN crm.sla_policies p ON p.policy_id = x.policy_id
      JOIN crm.ticket_status_history h ON h.ticket_id = t.ticket_id
      WINDOW w AS (PARTITION BY h.ticket_id ORDER BY h.changed_at, h.history_id)) s
GROUP BY s.ticket_id"

echo "== check: crm.sla_recompute and the hand-written query give every ticket the same running and paused time"
checked=$(psql_bench -At -c "SELECT 'tickets: ' || count(*) || ', differing: ' || count(*) FILTER (WHERE a.running IS DISTINCT FROM b.running OR a.paused IS DISTINCT FROM b.paused) || ', total running: ' || sum(a.running) || ', total paused: ' || sum(a.paused)
FROM ($crm_query) a FULL JOIN ($hand_query) b USING (ticket_id)")
echo "  $checked"
grep -q 'differing: 0,' <<<"$checked" || { echo "the results differ" >&2; exit 1; }

read -r crm_ms hand_ms < <(time_queries "SET max_parallel_workers_per_gather = 0;" \
	"SELECT count(*), sum(running), sum(paused) FROM ($crm_query) x" \
	"SELECT count(*), sum(running), sum(paused) FROM ($hand_query) x")
echo "== $tickets tickets, $((tickets * changes)) status changes (median of $runs, ms; µs per ticket)"
printf '  crm.sla_recompute                 %10.1f   %7.2f\n' "$crm_ms" "$(echo "$crm_ms * 1000 / $tickets" | bc -l)"
printf '  hand-written set-based SQL        %10.1f   %7.2f\n' "$hand_ms" "$(echo "$hand_ms * 1000 / $tickets" | bc -l)"
printf '  ratio crm / hand-written          %10.2f   (target <= 1)\n' "$(echo "$crm_ms / $hand_ms" | bc -l)"
psql_bench <<'SQL'
SET session_replication_role = replica;
DELETE FROM crm.ticket_status_history WHERE ticket_id IN (SELECT ticket_id FROM crm.tickets WHERE subject = 'bench sla');
DELETE FROM crm.ticket_slas WHERE ticket_id IN (SELECT ticket_id FROM crm.tickets WHERE subject = 'bench sla');
DELETE FROM crm.tickets WHERE subject = 'bench sla';
DELETE FROM crm.contacts WHERE email = 'bench-sla@example.com';
DELETE FROM crm.sla_policies WHERE name = 'bench sla policy';
DELETE FROM crm.business_calendars WHERE name = 'bench sla office';
SQL
