#!/usr/bin/env bash
# Hot-lead notifications, then lead scores under concurrency: 8 pgbench clients insert activities for the same few leads for
# 30 seconds (each insert rescores its lead in the inserting transaction); then every stored score
# must equal its recomputation, no client may have failed (a deadlock aborts the client), and
# every insert must have been kept; last, a session scores with the rules another session changed
# since its previous insert (sessions keep the rules they read until told otherwise). Emits TAP.
set -euo pipefail

db=crm_lead_concurrency_$$
script=$(mktemp "${TMPDIR:-/tmp}/crm-pgbench.XXXXXX")
log=$(mktemp "${TMPDIR:-/tmp}/crm-pgbench-log.XXXXXX")
trap 'rm -f "$script" "$log"; dropdb --if-exists "$db"' EXIT
sql() { psql -qtAX -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

echo "1..6"
createdb "$db"
psql -qX -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION crm;
DELETE FROM crm.lead_scoring_rules;
INSERT INTO crm.lead_scoring_groups (group_id, name, cap, half_life) VALUES (1, 'Engagement', 500, '1 hour');
INSERT INTO crm.lead_scoring_rules (group_id, name, kind, activity_kind, points) VALUES
    (1, 'Open', 'engagement', 'email_open', 2), (1, 'Form', 'engagement', 'form_submit', 10);
INSERT INTO crm.contacts (contact_id, first_name) SELECT i, 'c' || i FROM generate_series(1, 5) i;
INSERT INTO crm.leads (lead_id, contact_id, source) SELECT i, i, 'web' FROM generate_series(1, 5) i;
SQL

# Hot leads are announced: a listener gets NOTIFY crm_events with the lead as JSON when an
# activity makes a lead hot and the transaction commits.
listener_log=$(mktemp "${TMPDIR:-/tmp}/crm-listen.XXXXXX")
psql -X -d "$db" -c "LISTEN crm_events" -c "SELECT pg_sleep(3)" >"$listener_log" 2>&1 &
listener=$!
sleep 1
sql "UPDATE crm.lead_scoring_settings SET hot_threshold = 9, warm_threshold = 5;
     INSERT INTO crm.activities (contact_id, lead_id, channel, kind) VALUES (5, 5, 'web', 'form_submit');"
wait "$listener"
if grep -q 'Asynchronous notification "crm_events" with payload "{"event" : "lead_hot", "lead_id" : 5, ' "$listener_log"; then
	echo "ok 1 - a lead turning hot sends NOTIFY crm_events with its id as JSON"
else
	echo "not ok 1 - no lead_hot notification"; sed 's/^/# /' "$listener_log"
fi
rm -f "$listener_log"
sql "UPDATE crm.lead_scoring_settings SET hot_threshold = 80, warm_threshold = 40; DELETE FROM crm.activities"

# Each transaction logs an activity for one of 5 leads; some insert two, for two leads in either
# order, which would deadlock if the scoring locked leads in arrival order.
cat >"$script" <<'PGBENCH'
\set a random(1, 5)
\set b random(1, 5)
BEGIN;
INSERT INTO crm.activities (contact_id, lead_id, channel, kind) VALUES (:a, :a, 'email', 'email_open');
INSERT INTO crm.activities (contact_id, lead_id, channel, kind)
SELECT x, x, 'web', 'form_submit' FROM unnest(ARRAY[:b, :a]) x;
COMMIT;
PGBENCH
if pgbench -n -c 8 -j 2 -T "${CRM_CONCURRENCY_SECONDS:-30}" -f "$script" "$db" >"$log" 2>&1; then
	echo "ok 2 - pgbench ran 8 clients without an error (no deadlock, no lost transaction)"
else
	echo "not ok 2 - pgbench failed"; sed 's/^/# /' "$log"
fi
transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
echo "# $transactions transactions, ${failed:-0} failed"
activities=$(sql "SELECT count(*) FROM crm.activities")
if [ "$activities" = "$((transactions * 3))" ]; then
	echo "ok 3 - every insert was kept: $activities activities for $transactions transactions"
else
	echo "not ok 3 - $activities activities for $transactions transactions (3 each expected)"
fi
mismatches=$(sql "SELECT count(*) FROM crm.leads WHERE score IS DISTINCT FROM crm.lead_score(lead_id, scored_at)")
if [ "$mismatches" = 0 ]; then
	echo "ok 4 - every stored score equals its recomputation at scored_at"
else
	echo "not ok 4 - $mismatches leads have a stored score other than their recomputation"
fi
# The last writer of each lead saw every activity committed before it: no update was lost.
stale=$(sql "SELECT count(*) FROM crm.leads l WHERE l.scored_at < (SELECT max(created_at) FROM crm.activities a WHERE a.lead_id = l.lead_id)")
if [ "$stale" = 0 ]; then
	echo "ok 5 - no lead was scored before its last activity was written"
else
	echo "not ok 5 - $stale leads were last scored before their last activity"
fi

# A session keeps the rules it read (src/lead_scoring_rules.c). Another session's rule change, once
# committed, is what its next insert scores with. (bash unsets SESSION_PID when the coprocess
# exits: the pid is kept for the wait.)
coproc SESSION { psql -qtAX -v ON_ERROR_STOP=1 -d "$db" 2>&1; }
session_pid=$SESSION_PID
ask() { echo "$1" >&"${SESSION[1]}"; read -r -t 30 reply <&"${SESSION[0]}"; echo "$reply"; }
ask "INSERT INTO crm.activities (contact_id, lead_id, channel, kind) VALUES (1, 1, 'email', 'email_open'); SELECT 'inserted';" >/dev/null
sql "UPDATE crm.lead_scoring_rules SET points = 7 WHERE name = 'Open'"
reply=$(ask "INSERT INTO crm.activities (contact_id, lead_id, channel, kind) VALUES (2, 2, 'email', 'email_open');
             SELECT score = crm.lead_score(lead_id, scored_at) FROM crm.leads WHERE lead_id = 2;")
echo '\q' >&"${SESSION[1]}"
wait "$session_pid" 2>/dev/null || true
if [ "$reply" = t ]; then
	echo "ok 6 - a session scores with the rules another session committed since its last insert"
else
	echo "not ok 6 - a session scored with stale rules: $reply"
fi
