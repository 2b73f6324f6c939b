#!/usr/bin/env bash
# Benchmark: lead scoring. (1) What the scoring trigger adds to an activity insert: pgbench, one
# client, single-row inserts for random leads, in alternating rounds with the scoring trigger off,
# on, and replaced by a trigger that only rewrites the lead's row (the one UPDATE storing a score
# needs, with no scoring at all: the floor of any trigger that keeps crm.leads.score current);
# (2) rescoring 1 million leads after a rule change (crm.rescore_leads).
# Run with: scripts/bench test/bench/lead_scoring.sh
set -euo pipefail

rounds=3
seconds=${LEAD_BENCH_SECONDS:-15}
source "$(dirname "$0")/lib.bash"
bench_record lead_scoring LEAD_BENCH_SECONDS

echo "== setup: 1,000,000 leads of 1,000,000 contacts at 20,000 accounts, 2,000,000 activities; 9 rules"
psql_bench <<'SQL'
SET session_replication_role = replica;  -- bulk load: no triggers, no per-row FK checks
INSERT INTO crm.accounts (account_id, name, industry, employee_count)
SELECT i, 'a' || i, (ARRAY['Software', 'Retail', 'Finance', 'Health'])[1 + i % 4], (i * 37) % 2000 FROM generate_series(1, 20000) i;
INSERT INTO crm.contacts (contact_id, account_id, first_name, email)
SELECT i, 1 + i % 20000, 'c' || i, 'c' || i || CASE WHEN i % 5 = 0 THEN '@gmail.com' ELSE '@corp.example' END
FROM generate_series(1, 1000000) i;
INSERT INTO crm.leads (lead_id, contact_id, source, budget, authority)
SELECT i, i, (ARRAY['web', 'referral', 'event', 'partner'])[1 + i % 4], (i % 50) * 1000, i % 3 = 0
FROM generate_series(1, 1000000) i;
INSERT INTO crm.activities (contact_id, lead_id, channel, kind, occurred_at, details)
SELECT l, l, 'web', (ARRAY['email_open', 'form_submit', 'page_view', 'meeting']::crm.activity_kind[])[1 + i % 4],
       timestamptz '2026-06-01' + (i % 150) * interval '1 day',
       CASE WHEN i % 8 = 2 THEN '{"url": "/pricing"}'::jsonb ELSE '{}' END
FROM generate_series(1, 2000000) i, LATERAL (SELECT 1 + (i::bigint * 7919) % 1000000 AS l) x;
SELECT setval('crm.activities_activity_id_seq', 2000000);
DELETE FROM crm.lead_scoring_rules;
INSERT INTO crm.lead_scoring_groups (group_id, name, cap, half_life) VALUES (1, 'Fit', 60, NULL), (2, 'Engagement', 80, '30 days');
INSERT INTO crm.lead_scoring_rules (group_id, name, kind, entity, field, operator, value, points) VALUES
    (1, 'Software', 'fit', 'account', 'industry', '=', 'Software', 20),
    (1, '200+ staff', 'fit', 'account', 'employee_count', '>=', '200', 15),
    (1, 'Budget 10k+', 'fit', 'lead', 'budget', '>=', '10000', 10),
    (1, 'Decision maker', 'fit', 'lead', 'authority', '=', 'true', 10),
    (1, 'Free mail', 'fit', 'contact', 'email', 'ends_with', '@gmail.com', -5);
INSERT INTO crm.lead_scoring_rules (group_id, name, kind, activity_kind, detail_key, detail_operator, detail_value, points) VALUES
    (2, 'Open', 'engagement', 'email_open', NULL, NULL, NULL, 2),
    (2, 'Form', 'engagement', 'form_submit', NULL, NULL, NULL, 10),
    (2, 'Pricing', 'engagement', 'page_view', 'url', 'like', '%/pricing%', 15),
    (2, 'Meeting', 'engagement', 'meeting', NULL, NULL, NULL, 12);
VACUUM (FREEZE, ANALYZE) crm.accounts, crm.contacts, crm.leads, crm.activities;
SQL

runs=3
read -r count_ms rescore_ms < <(time_queries "" "SELECT count(*) FROM crm.leads" "SELECT crm.rescore_leads()")
echo "== rescoring 1M leads after a rule change (median of $runs, ms)"
printf '  count(*) of the leads            %9.1f\n' "$count_ms"
printf '  crm.rescore_leads()              %9.1f   (%.1f s)\n' "$rescore_ms" "$(echo "$rescore_ms / 1000" | bc -l)"
psql_bench -At -c "SELECT '  check: ' || count(*) || ' of 1,000,000 stored scores differ from crm.lead_score' FROM (SELECT lead_id, score, scored_at FROM crm.leads ORDER BY lead_id LIMIT 2000) l WHERE score IS DISTINCT FROM crm.lead_score(lead_id, scored_at)" | sed 's/of 1,000,000/of the first 2,000/'

script=$(mktemp)
bench_cleanup_files+=("$script")
cat >"$script" <<'PGBENCH'
\set lead random(1, 1000000)
INSERT INTO crm.activities (contact_id, lead_id, channel, kind, details) VALUES (:lead, :lead, 'web', 'page_view', '{"url": "/pricing"}');
PGBENCH
latency() { pgbench -n -c 1 -T "$seconds" -f "$script" 2>/dev/null | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p'; }
psql_bench <<'SQL'
CREATE FUNCTION public.bench_rewrite_lead_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE crm.leads l SET score = l.score FROM inserted_activities a WHERE l.lead_id = a.lead_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER bench_rewrite_lead_only AFTER INSERT ON crm.activities REFERENCING NEW TABLE AS inserted_activities
    FOR EACH STATEMENT EXECUTE FUNCTION public.bench_rewrite_lead_only();
ALTER TABLE crm.activities DISABLE TRIGGER bench_rewrite_lead_only;
SQL
on=() off=() floor=()
rounds_started=$(psql_bench -At -c "SELECT clock_timestamp()")
for ((round = 0; round < rounds; round++)); do
	psql_bench -c "ALTER TABLE crm.activities DISABLE TRIGGER lead_scoring_activities_inserted"
	off+=("$(latency)")
	psql_bench -c "ALTER TABLE crm.activities ENABLE TRIGGER bench_rewrite_lead_only"
	floor+=("$(latency)")
	psql_bench -c "ALTER TABLE crm.activities DISABLE TRIGGER bench_rewrite_lead_only"
	psql_bench -c "ALTER TABLE crm.activities ENABLE TRIGGER lead_scoring_activities_inserted"
	on+=("$(latency)")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
on_ms=$(median "${on[@]}") off_ms=$(median "${off[@]}") floor_ms=$(median "${floor[@]}")
echo "== one activity insert, pgbench 1 client, ${seconds} s rounds x $rounds (median latency, ms)"
printf '  without scoring                  %9.3f\n' "$off_ms"
printf '  rewriting the lead row only      %9.3f   (%.2f x: the floor)\n' "$floor_ms" "$(echo "$floor_ms / $off_ms" | bc -l)"
printf '  with scoring (trigger)           %9.3f   (%.2f x; target < 1.3 x)\n' "$on_ms" "$(echo "$on_ms / $off_ms" | bc -l)"
psql_bench -At -v started="$rounds_started" <<'SQL'
SELECT '  check: ' || count(*) FILTER (WHERE score IS DISTINCT FROM crm.lead_score(lead_id, scored_at)) || ' of the '
       || count(*) || ' leads the trigger scored last differ from crm.lead_score'
FROM (SELECT lead_id, score, scored_at FROM crm.leads WHERE scored_at > :'started' ORDER BY scored_at DESC LIMIT 2000) l;
SQL
