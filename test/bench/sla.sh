#!/usr/bin/env bash
# Benchmark (issue 17): the SLA clock recomputed in bulk from the status history: for $tickets
# tickets with $changes status changes each (after the creation row), the business time each ran
# and stood paused up to an instant, by crm.sla_recompute (crm.sla_recount's rule, the one the SLA
# trigger uses when a ticket gets its first policy, applied to every ticket: one fold in C over the
# tickets and their history in index order) beside a hand-written set-based SQL version of the
# same rule (each status spell from the history by lead(), its business time by crm.business_time,
# summed per ticket), in the same run; the results are checked equal (every ticket's running and
# paused time), and the script fails if one differs. Then the targets (first response and
# resolution: consumed, state, due time) by crm.sla_recompute_targets beside a hand-written SQL
# version of the same rules (docs/sla.md), likewise checked equal for every ticket and timed in the
# same interleaved runs.
# The calendar: Monday to Friday 09:00-12:00 and 13:00-17:00, Europe/Berlin, 20 holidays and two
# yearly ones; pause status 'pending'. Each ticket opens at a random minute of 2026 and goes
# new -> open -> pending -> open -> ... -> resolved -> closed over up to 20 days; a third of them
# are reopened before they close (... -> resolved -> open -> closed). Three quarters are answered
# (first_response_at) within 3 days of opening. Policy: first response 4 h, resolution 40 h; one
# ticket in ten has a second policy without a first-response target (resolution 24 h).
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
DELETE FROM crm.sla_policies WHERE name IN ('bench sla policy', 'bench sla policy 2');
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
-- the statuses in order: new, then open / pending alternating, the last two resolved and closed;
-- a third reopened: resolved, open, closed as the last three
CREATE TABLE bench_sla_changes AS
SELECT n.ticket_id, k, n.opened_at + sum(gap) OVER (PARTITION BY n.ticket_id ORDER BY k) AS changed_at,
       CASE WHEN k = $changes THEN 'closed'
            WHEN NOT n.reopened AND k = $changes - 1 THEN 'resolved'
            WHEN n.reopened AND k = $changes - 2 THEN 'resolved' WHEN n.reopened AND k = $changes - 1 THEN 'open'
            WHEN k % 2 = 1 THEN 'open' ELSE 'pending' END AS to_status
FROM (SELECT i AS ticket_id, TIMESTAMPTZ '2026-01-01 00:00+00' + floor(random() * 500000)::int * interval '1 minute' AS opened_at,
             random() < 1.0 / 3 AS reopened
      FROM generate_series(1, $tickets) i) n
CROSS JOIN LATERAL (SELECT k, floor(random() * 5760)::int * interval '1 minute' AS gap FROM generate_series(1, $changes) k) g;
INSERT INTO crm.tickets (ticket_id, contact_id, subject, status, channel, opened_at, first_response_at, resolved_at,
                         created_at, updated_at)
SELECT t.ticket_id + 1000000000, (SELECT contact_id FROM crm.contacts WHERE email = 'bench-sla@example.com'), 'bench sla',
       t.last_status, 'email', t.opened_at,
       CASE WHEN random() < 0.75 THEN t.opened_at + floor(random() * 4320)::int * interval '1 minute' END,
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
-- the tickets' SLA state names an (inactive) policy on the calendar, pausing in 'pending'; one in
-- ten another, without a first-response target
INSERT INTO crm.sla_policies (name, active, calendar_id, first_response_target, resolution_target)
SELECT 'bench sla policy', false, calendar_id, interval '4 hours', interval '40 hours' FROM crm.business_calendars WHERE name = 'bench sla office'
UNION ALL
SELECT 'bench sla policy 2', false, calendar_id, NULL, '24 hours' FROM crm.business_calendars WHERE name = 'bench sla office';
INSERT INTO crm.ticket_slas (ticket_id, policy_id, calendar_id, clock_at)
SELECT t.ticket_id, p.policy_id, p.calendar_id, t.updated_at
FROM crm.tickets t, crm.sla_policies p
WHERE t.subject = 'bench sla' AND p.name = CASE WHEN t.ticket_id % 10 = 0 THEN 'bench sla policy 2' ELSE 'bench sla policy' END;
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

targets_cols="ticket_id, running, first_response_due, first_response_state, first_response_consumed, resolution_due, resolution_state, resolution_consumed"
# targets_queries AT: sets crm_targets_query and hand_targets_query for instant AT
targets_queries() {
local at=$1
crm_targets_query="SELECT $targets_cols FROM crm.sla_recompute_targets($at)"
# The hand-written version of the targets' rules (docs/sla.md), in set-based SQL: the status spells
# from the history (lead(), clamped into [opened_at, at]), crm.business_time of the running ones,
# their running sum per ticket (the time consumed at each spell's start); per target the spell in
# which the sum crossed the target, the spell holding the instant it is measured at (the first
# response; the last change into resolved or closed, in the spell that ends with it; else at) and
# the time consumed there; then state and due time by crm.business_add. Like the clock query it
# leaves out the spell before a ticket's first change and tickets without history (none here); it
# takes the pause status 'pending' of both bench policies as a constant.
hand_targets_query="WITH s AS (
    SELECT t.ticket_id, p.calendar_id AS cal, t.opened_at, t.status, t.resolved_at,
           p.first_response_target AS frt, p.resolution_target AS rt,
           CASE WHEN t.first_response_at <= $at THEN greatest(t.first_response_at, t.opened_at) END AS fr_m,
           greatest($at, t.opened_at) AS until_at,
           h.history_id, h.changed_at,
           greatest(least(h.changed_at, $at), t.opened_at) AS from_at,
           greatest(least(coalesce(lead(h.changed_at) OVER w, $at), $at), t.opened_at) AS to_at,
           coalesce(lead(h.changed_at) OVER w, 'infinity') AS next_changed_at,
           h.to_status NOT IN ('pending', 'resolved', 'closed') AS run,
           h.to_status IN ('resolved', 'closed')
             AND coalesce(lag(h.to_status) OVER w, h.from_status, 'new') NOT IN ('resolved', 'closed') AS into_stop,
           lag(h.changed_at) OVER w AS prev_at,
           row_number() OVER w AS rn
    FROM crm.tickets t
    JOIN crm.ticket_slas x ON x.ticket_id = t.ticket_id
    JOIN crm.sla_policies p ON p.policy_id = x.policy_id
    JOIN crm.ticket_status_history h ON h.ticket_id = t.ticket_id
    WINDOW w AS (PARTITION BY h.ticket_id ORDER BY h.changed_at, h.history_id)
), b AS (
    SELECT s.*, CASE WHEN s.run AND s.to_at > s.from_at THEN crm.business_time(s.cal, s.from_at, s.to_at) ELSE '0' END AS bt
    FROM s
), c AS (
    SELECT b.*, coalesce(sum(b.bt) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), '0') AS cum,
           max(CASE WHEN b.into_stop THEN b.rn END) OVER (PARTITION BY b.ticket_id) AS last_stop_rn
    FROM b WINDOW w AS (PARTITION BY b.ticket_id ORDER BY b.changed_at, b.history_id)
), d AS (
    SELECT c.*, lag(c.run) OVER w AS prev_run, lag(c.from_at) OVER w AS prev_from, lag(c.cum) OVER w AS prev_cum
    FROM c WINDOW w AS (PARTITION BY c.ticket_id ORDER BY c.changed_at, c.history_id)
), g AS (
    SELECT d.ticket_id, min(d.cal) AS cal, min(d.status) AS status, min(d.frt) AS frt, min(d.rt) AS rt,
           min(d.fr_m) AS fr_m, min(d.until_at) AS until_at, sum(d.bt) AS total,
           -- the spell holding an instant: the last change at or before it
           bool_or(d.run) FILTER (WHERE d.changed_at <= d.until_at AND d.next_changed_at > d.until_at) AS until_run,
           min(d.cum + CASE WHEN d.run THEN crm.business_time(d.cal, d.from_at, d.fr_m) ELSE '0' END)
               FILTER (WHERE d.changed_at <= d.fr_m AND d.next_changed_at > d.fr_m) AS fr_c,
           bool_or(d.run) FILTER (WHERE d.changed_at <= d.fr_m AND d.next_changed_at > d.fr_m) AS fr_run,
           -- the spell in which the running sum crossed a target
           min(d.from_at) FILTER (WHERE d.run AND d.cum < d.frt AND d.cum + d.bt >= d.frt) AS fr_cross_start,
           min(d.cum) FILTER (WHERE d.run AND d.cum < d.frt AND d.cum + d.bt >= d.frt) AS fr_cross_base,
           min(d.from_at) FILTER (WHERE d.run AND d.cum < d.rt AND d.cum + d.bt >= d.rt) AS res_cross_start,
           min(d.cum) FILTER (WHERE d.run AND d.cum < d.rt AND d.cum + d.bt >= d.rt) AS res_cross_base,
           -- the last change into resolved or closed, measured at s (if s <= at) in the spell ending
           -- with it
           min(r.s) FILTER (WHERE d.rn = d.last_stop_rn) AS res_s,
           min(greatest(r.s, d.opened_at)) FILTER (WHERE d.rn = d.last_stop_rn) AS res_m,
           bool_or(coalesce(d.prev_run, false)) FILTER (WHERE d.rn = d.last_stop_rn) AS res_run,
           min(coalesce(d.prev_cum, '0')
               + CASE WHEN d.prev_run THEN crm.business_time(d.cal, d.prev_from, greatest(r.s, d.opened_at)) ELSE '0' END)
               FILTER (WHERE d.rn = d.last_stop_rn AND r.s <= $at) AS res_c
    FROM d
    CROSS JOIN LATERAL (SELECT greatest(least(d.resolved_at, d.changed_at), d.prev_at) AS s) r
    GROUP BY d.ticket_id
), m AS (
    SELECT g.*, v.*
    FROM g CROSS JOIN LATERAL (
        SELECT g.fr_m IS NOT NULL AS fr_stopped,
               CASE WHEN g.fr_m IS NOT NULL THEN g.fr_c ELSE g.total END AS fr_consumed,
               CASE WHEN g.fr_m IS NOT NULL THEN g.fr_run ELSE g.until_run END AS fr_running,
               coalesce(g.fr_m, g.until_at) AS fr_at,
               coalesce(g.status IN ('resolved', 'closed') AND g.res_s <= $at, false) AS res_stopped,
               CASE WHEN g.status IN ('resolved', 'closed') AND g.res_s <= $at THEN g.res_c ELSE g.total END AS res_consumed,
               CASE WHEN g.status IN ('resolved', 'closed') AND g.res_s <= $at THEN g.res_run ELSE g.until_run END AS res_running,
               CASE WHEN g.status IN ('resolved', 'closed') AND g.res_s <= $at THEN g.res_m ELSE g.until_at END AS res_at
    ) v
)
SELECT m.ticket_id, m.total AS running,
       CASE WHEN m.frt IS NULL THEN NULL
            WHEN m.fr_consumed >= m.frt THEN crm.business_add(m.cal, m.fr_cross_start, m.frt - m.fr_cross_base)
            WHEN m.fr_running THEN crm.business_add(m.cal, m.fr_at, m.frt - m.fr_consumed) END AS first_response_due,
       CASE WHEN m.frt IS NULL THEN NULL WHEN m.fr_consumed > m.frt THEN 'breached' WHEN m.fr_stopped THEN 'met' ELSE 'pending' END
           AS first_response_state,
       CASE WHEN m.frt IS NOT NULL THEN m.fr_consumed END AS first_response_consumed,
       CASE WHEN m.rt IS NULL THEN NULL
            WHEN m.res_consumed >= m.rt THEN crm.business_add(m.cal, m.res_cross_start, m.rt - m.res_cross_base)
            WHEN m.res_running THEN crm.business_add(m.cal, m.res_at, m.rt - m.res_consumed) END AS resolution_due,
       CASE WHEN m.rt IS NULL THEN NULL WHEN m.res_consumed > m.rt THEN 'breached' WHEN m.res_stopped THEN 'met' ELSE 'pending' END
           AS resolution_state,
       CASE WHEN m.rt IS NOT NULL THEN m.res_consumed END AS resolution_consumed
FROM m"
}

echo "== check: crm.sla_recompute and the hand-written query give every ticket the same running and paused time"
checked=$(psql_bench -At -c "SELECT 'tickets: ' || count(*) || ', differing: ' || count(*) FILTER (WHERE a.running IS DISTINCT FROM b.running OR a.paused IS DISTINCT FROM b.paused) || ', total running: ' || sum(a.running) || ', total paused: ' || sum(a.paused)
FROM ($crm_query) a FULL JOIN ($hand_query) b USING (ticket_id)")
echo "  $checked"
grep -q 'differing: 0,' <<<"$checked" || { echo "the results differ" >&2; exit 1; }

# checked at the instant timed (most targets decided) and at mid-year (many undecided, a ticket
# opening after it)
for check_at in "TIMESTAMPTZ '2026-07-01 12:00+00'" "$at"; do
targets_queries "$check_at"
echo "== check at $check_at: crm.sla_recompute_targets and the hand-written query give every ticket the same targets"
checked=$(psql_bench -At -c "SELECT 'tickets: ' || count(*) || ', differing: ' || count(*) FILTER (WHERE (a.*) IS DISTINCT FROM (b.*))
       || ', first response met/breached/pending: ' || count(*) FILTER (WHERE a.first_response_state = 'met') || '/'
       || count(*) FILTER (WHERE a.first_response_state = 'breached') || '/' || count(*) FILTER (WHERE a.first_response_state = 'pending')
       || ', resolution met/breached/pending: ' || count(*) FILTER (WHERE a.resolution_state = 'met') || '/'
       || count(*) FILTER (WHERE a.resolution_state = 'breached') || '/' || count(*) FILTER (WHERE a.resolution_state = 'pending')
       || ', due times: ' || count(a.first_response_due) + count(a.resolution_due)
FROM ($crm_targets_query) a FULL JOIN ($hand_targets_query) b USING (ticket_id)")
echo "  $checked"
grep -q 'differing: 0,' <<<"$checked" || { echo "the targets differ" >&2; exit 1; }
done

read -r crm_ms hand_ms crm_targets_ms hand_targets_ms < <(time_queries "SET max_parallel_workers_per_gather = 0;" \
	"SELECT count(*), sum(running), sum(paused) FROM ($crm_query) x" \
	"SELECT count(*), sum(running), sum(paused) FROM ($hand_query) x" \
	"SELECT count(*), sum(running), max(first_response_due), max(resolution_due), count(first_response_state), count(resolution_state) FROM ($crm_targets_query) x" \
	"SELECT count(*), sum(running), max(first_response_due), max(resolution_due), count(first_response_state), count(resolution_state) FROM ($hand_targets_query) x")
echo "== $tickets tickets, $((tickets * changes)) status changes (median of $runs, ms; µs per ticket)"
echo "  the clock (running, paused):"
printf '  crm.sla_recompute                 %10.1f   %7.2f\n' "$crm_ms" "$(echo "$crm_ms * 1000 / $tickets" | bc -l)"
printf '  hand-written set-based SQL        %10.1f   %7.2f\n' "$hand_ms" "$(echo "$hand_ms * 1000 / $tickets" | bc -l)"
printf '  ratio crm / hand-written          %10.2f   (target <= 1)\n' "$(echo "$crm_ms / $hand_ms" | bc -l)"
echo "  the targets (first response and resolution: consumed, state, due time):"
printf '  crm.sla_recompute_targets         %10.1f   %7.2f\n' "$crm_targets_ms" "$(echo "$crm_targets_ms * 1000 / $tickets" | bc -l)"
printf '  hand-written set-based SQL        %10.1f   %7.2f\n' "$hand_targets_ms" "$(echo "$hand_targets_ms * 1000 / $tickets" | bc -l)"
printf '  ratio crm / hand-written          %10.2f   (target <= 1)\n' "$(echo "$crm_targets_ms / $hand_targets_ms" | bc -l)"
psql_bench <<'SQL'
SET session_replication_role = replica;
DELETE FROM crm.ticket_status_history WHERE ticket_id IN (SELECT ticket_id FROM crm.tickets WHERE subject = 'bench sla');
DELETE FROM crm.ticket_slas WHERE ticket_id IN (SELECT ticket_id FROM crm.tickets WHERE subject = 'bench sla');
DELETE FROM crm.tickets WHERE subject = 'bench sla';
DELETE FROM crm.contacts WHERE email = 'bench-sla@example.com';
DELETE FROM crm.sla_policies WHERE name IN ('bench sla policy', 'bench sla policy 2');
DELETE FROM crm.business_calendars WHERE name = 'bench sla office';
SQL
