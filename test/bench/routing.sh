#!/usr/bin/env bash
# Benchmark: what routing adds to a ticket insert (issue 17: under 1 ms). A service desk of
# $agents agents on a 24/7 shift (capacity 1,000,000, so nobody fills up; a third have the skill
# 'billing'), $open open tickets assigned evenly (the load routing sums) and $closed closed ones
# (history), no SLA policy. Each timed statement inserts $inserts tickets, one INSERT per ticket
# (a PL/pgSQL loop: each INSERT fires the row triggers as an application's insert does), and rolls
# them back at its end (so every run starts from the same desk):
#   - routed:       open, no assignee: tickets_route_new picks an agent (half of them need 'billing');
#   - not routed:   the same tickets with routing disabled (no agent has a shift calendar: the
#                   trigger finds routing off and returns);
#   - assigned:     the same tickets with routing enabled but an explicit assignee (not routed).
# Per-insert cost = statement / $inserts; routing's cost = routed - not routed, in the same run.
# Few inserts per statement: within one transaction each routing decision gets slower as the
# transaction's own tickets add to the loads and the routing pointer's row versions pile up
# (ROUTING_INSERTS=1000 shows it), which is not how tickets arrive.
# Medians of $runs interleaved runs, one process.
# Run with: scripts/bench test/bench/routing.sh   (ROUTING_AGENTS, ROUTING_OPEN, ROUTING_CLOSED, ROUTING_INSERTS)
set -euo pipefail

runs=${RUNS:-5}
agents=${ROUTING_AGENTS:-50}
open=${ROUTING_OPEN:-1000}
closed=${ROUTING_CLOSED:-100000}
inserts=${ROUTING_INSERTS:-50}
source "$(dirname "$0")/lib.bash"
bench_record routing ROUTING_AGENTS ROUTING_OPEN ROUTING_CLOSED ROUTING_INSERTS RUNS

echo "== setup: $agents agents (24/7), $open open and $closed closed tickets"
psql_bench <<SQL
SET session_replication_role = replica;  -- the setup's own inserts fire nothing
DELETE FROM crm.tickets WHERE subject LIKE 'bench routing%';
DELETE FROM crm.users WHERE login_role LIKE 'bench_agent_%';
DELETE FROM crm.contacts WHERE email LIKE 'bench-routing-%';
DELETE FROM crm.business_calendars WHERE name = 'bench routing 24/7';
INSERT INTO crm.business_calendars (name, always_open) VALUES ('bench routing 24/7', true);
INSERT INTO crm.contacts (first_name, email) SELECT 'Bench', 'bench-routing-' || i || '@example.com' FROM generate_series(1, 1000) i;
INSERT INTO crm.users (login_role, full_name, email, role, team, skills, capacity)
SELECT 'bench_agent_' || i, 'Agent ' || i, 'bench-agent-' || i || '@example.com', 'support', 'Support',
       CASE WHEN i % 3 = 0 THEN '{english,billing}' ELSE '{english}' END::text[], 1000000
FROM generate_series(1, $agents) i;
CREATE TEMP TABLE bench_ids AS
SELECT (SELECT array_agg(user_id ORDER BY user_id) FROM crm.users WHERE login_role LIKE 'bench_agent_%') AS agents,
       (SELECT array_agg(contact_id ORDER BY contact_id) FROM crm.contacts WHERE email LIKE 'bench-routing-%') AS contacts;
INSERT INTO crm.tickets (contact_id, subject, priority, status, channel, assignee_id, opened_at, resolved_at)
SELECT b.contacts[1 + i % 1000], 'bench routing history', (ARRAY['low', 'normal', 'high', 'urgent'])[1 + i % 4],
       CASE WHEN i <= $open THEN 'open' ELSE 'closed' END, 'email', b.agents[1 + i % $agents],
       now() - interval '1 day', CASE WHEN i > $open THEN now() END
FROM bench_ids b, generate_series(1, $open + $closed) i;
RESET session_replication_role;
VACUUM ANALYZE crm.tickets, crm.users, crm.contacts;
SQL

# One statement inserting $inserts tickets one by one, rolled back at its end.
insert_block() { # $1: the assignee expression (NULL: routed when routing is on)
	cat <<SQL
DO \$\$
DECLARE c bigint[] := (SELECT array_agg(contact_id ORDER BY contact_id) FROM crm.contacts WHERE email LIKE 'bench-routing-%');
        a bigint[] := (SELECT array_agg(user_id ORDER BY user_id) FROM crm.users WHERE login_role LIKE 'bench_agent_%');
BEGIN
    FOR i IN 1 .. $inserts LOOP
        INSERT INTO crm.tickets (contact_id, subject, priority, channel, required_skills, assignee_id)
        VALUES (c[1 + i % 1000], 'bench routing new', (ARRAY['low', 'normal', 'high', 'urgent'])[1 + i % 4], 'email',
                CASE WHEN i % 2 = 0 THEN '{billing}' ELSE '{}' END::text[], $1);
    END LOOP;
    RAISE EXCEPTION USING ERRCODE = 'P0003', MESSAGE = 'roll back';
EXCEPTION WHEN SQLSTATE 'P0003' THEN NULL;
END
\$\$
SQL
}
on="UPDATE crm.users SET shift_calendar_id = (SELECT calendar_id FROM crm.business_calendars WHERE name = 'bench routing 24/7') WHERE login_role LIKE 'bench_agent_%'"
off="UPDATE crm.users SET shift_calendar_id = NULL WHERE login_role LIKE 'bench_agent_%'"

echo "== check: with routing on, every new ticket gets an agent with its skills, the loads stay even"
psql_bench -At <<SQL
$on;
BEGIN;
$(insert_block NULL | sed '/RAISE EXCEPTION/d; /EXCEPTION WHEN/d');
SELECT 'new tickets: ' || count(*) || ', unassigned: ' || count(*) FILTER (WHERE t.assignee_id IS NULL)
       || ', lacking a skill: ' || count(*) FILTER (WHERE NOT u.skills @> t.required_skills)
FROM crm.tickets t LEFT JOIN crm.users u ON u.user_id = t.assignee_id WHERE t.subject = 'bench routing new';
SELECT 'load per agent after: min ' || min(load) || ', max ' || max(load) FROM crm.agent_loads WHERE user_id IN
    (SELECT user_id FROM crm.users WHERE login_role LIKE 'bench_agent_%');
ROLLBACK;
SQL

# The statements are timed in one session; each toggles routing itself (the toggle is a statement
# of its own, timed apart and ignored).
read -r routed_on routed_ms off_a unrouted_ms on_a assigned_ms < <(time_queries "SET max_parallel_workers_per_gather = 0;" \
	"$on" "$(insert_block NULL)" \
	"$off" "$(insert_block NULL)" \
	"$on" "$(insert_block "a[1 + i % array_length(a, 1)]")")
per() { echo "$1 * 1000 / $inserts" | bc -l; }
echo "== $inserts single-row inserts per statement (median of $runs), µs per insert"
printf '  not routed (routing off)                    %8.1f\n' "$(per "$unrouted_ms")"
printf '  explicit assignee (routing on, not routed)  %8.1f\n' "$(per "$assigned_ms")"
printf '  routed                                      %8.1f\n' "$(per "$routed_ms")"
printf '  routing adds                                %8.1f   (target < 1000 µs)\n' "$(echo "($routed_ms - $unrouted_ms) * 1000 / $inserts" | bc -l)"
psql_bench <<'SQL'
SET session_replication_role = replica;
DELETE FROM crm.tickets WHERE subject LIKE 'bench routing%';
DELETE FROM crm.users WHERE login_role LIKE 'bench_agent_%';
DELETE FROM crm.contacts WHERE email LIKE 'bench-routing-%';
DELETE FROM crm.business_calendars WHERE name = 'bench routing 24/7';
SQL
