#!/usr/bin/env bash
# The CRM schema distributed (docs/citus.md, "Distributing the CRM schema"): on a throwaway Citus
# cluster (test/lib/citus_cluster.bash: a coordinator and two workers), the demo CRM generated
# as docs/demo.md says (2,000 customers, seed 42, as of 2026-06-30) and distributed with
# crm.distribute_schema() gives the analytics the same demo CRM gives on one server: crm.rfm_scores,
# crm.cohort_retention, crm.survey_scores_monthly, crm.lead_scores and the segments' members
# identical; crm.fit_clv_models and crm.customer_clv within 1e-9 relative (sums in another order);
# and every section of the demo report (demo/*.sql) prints the same text.
# Then the triggers kept or replaced on the distributed tables keep their derived state exact
# (order totals, lead status history, BANT qualification, stage history, updated_at), the ones
# dropped are replaced by the documented calls, row-level security works as documented (owned
# rows through crm.current_user_id(); policies Citus refuses are gone, so those rows are hidden),
# and the function refuses to run twice. Skipped like test/scripts/citus.sh when Citus is
# unavailable (under CI=true that is a failure).
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/../../scripts/lib.sh"
: "${PG_CONFIG:=/usr/lib/postgresql/$CRM_PG_MAJOR/bin/pg_config}"
started=$SECONDS

db=crm_citus
source "$CRM_ROOT/test/lib/citus_cluster.bash"

check "CREATE EXTENSION crm and crm_demo on the coordinator" \
	sql "$coordinator" -c 'CREATE EXTENSION crm' -c 'CREATE EXTENSION crm_demo'
check "the second worker joins" sql "$coordinator" -c "SELECT citus_add_node('$dir', ${ports[2]})"
cluster_seconds=$((SECONDS - cluster_started))
# The single-server CRM: a database of the coordinator's server without Citus.
local_db=crm_single
check "a single-server database with crm and crm_demo" \
	psql -h "$dir" -p "$coordinator" -d postgres -qtAX -v ON_ERROR_STOP=1 \
	-c "CREATE DATABASE $local_db" -c "\\c $local_db" -c 'CREATE EXTENSION crm' -c 'CREATE EXTENSION crm_demo'
lsql() { psql -h "$dir" -p "$coordinator" -d "$local_db" -qtAX -v ON_ERROR_STOP=1 "$@"; }

# The staff login roles of the demo users (cluster-wide on the coordinator; Citus creates them
# on the workers), for the row-level security checks.
check "login roles for the demo's staff" sql "$coordinator" >/dev/null <<-'SQL'
	CREATE ROLE demo_sales_01 LOGIN;
	GRANT crm_sales TO demo_sales_01;
	CREATE ROLE demo_manager_01 LOGIN;
	GRANT crm_manager TO demo_manager_01;
	CREATE ROLE demo_analyst_01 LOGIN;
	GRANT crm_analyst TO demo_analyst_01;
SQL

generate="SELECT crm.generate_demo_data(2000, 42, '2026-06-30')"
check "the demo CRM on the single server" lsql -c "$generate"
check "the same demo CRM on the coordinator" sql "$coordinator" -c "$generate"
report=$dir/distribute.out
check "crm.distribute_schema() on the coordinator" \
	sql "$coordinator" -F '|' -o "$report" -c 'SET client_min_messages = warning' -c 'SELECT * FROM crm.distribute_schema()'
tests+=("$(sed 's/^/# /' "$report" 2>/dev/null | head -n 200)")
dist_count() { sql "$coordinator" -c "SELECT count(*) FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid WHERE c.relnamespace = 'crm'::regnamespace AND $1"; }
check "12 tables distributed by contact_id, all colocated with crm.contacts" \
	equals "$(dist_count "p.partmethod = 'h' AND p.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'crm.contacts'::regclass) AND column_to_column_name(p.logicalrelid, p.partkey) = 'contact_id'")" 12
# Every other table of schema crm (those 12 and the 20 below stay out; each capability's small shared
# tables: quotas, forecast submissions, SLA policies, ...) is a reference table.
others=$(sql "$coordinator" -c "SELECT count(*) - 32 FROM pg_class WHERE relnamespace = 'crm'::regnamespace AND relkind IN ('r', 'p')")
check "every other table of schema crm ($others) is a reference table" equals "$(dist_count "p.partmethod = 'n' AND p.repmodel = 't'")" "$others"
check "opportunities, their stage and expected-close histories, tasks, the naive Bayes observations, the service desk's tickets, SLA states, status history and escalation log, the duplicate candidates, the consent history, the customer baskets and the journeys' events, enrollments, step log and outbox stay on the coordinator" \
	equals "$(sql "$coordinator" -c "SELECT count(*) FROM unnest(ARRAY['crm.opportunities', 'crm.opportunity_stage_history', 'crm.opportunity_expected_close_history', 'crm.tasks', 'crm.lead_nb_observations', 'crm.tickets', 'crm.ticket_status_history', 'crm.ticket_slas', 'crm.escalation_log', 'crm.duplicate_candidates', 'crm.consent_history', 'crm.customer_baskets', 'crm.journey_events', 'crm.journey_enrollments', 'crm.journey_step_log', 'crm.journey_outbox', 'crm.loyalty_members', 'crm.loyalty_ledger', 'crm.merges', 'crm.merge_rows']::regclass[]) t WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = t)")" 20
check "the shards lie on both workers" \
	equals "$(sql "$coordinator" -c "SELECT count(DISTINCT n.nodeport) FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid) WHERE s.logicalrelid = 'crm.activities'::regclass")" 2
check "the coordinator keeps no rows of the distributed tables (its local copies are emptied)" \
	equals "$(sql "$coordinator" -c "SELECT sum(pg_relation_size(format('crm.%I', t)::regclass)) FROM unnest(ARRAY['contacts', 'activities', 'orders', 'order_lines']) t")" 0
check "every table has the single server's rows" \
	equals "$(sql "$coordinator" -c "SELECT (SELECT count(*) FROM crm.contacts) || '/' || (SELECT count(*) FROM crm.activities) || '/' || (SELECT count(*) FROM crm.order_lines) || '/' || (SELECT sum(total) FROM crm.orders) || '/' || (SELECT count(*) FROM crm.tasks)")" \
	"$(lsql -c "SELECT (SELECT count(*) FROM crm.contacts) || '/' || (SELECT count(*) FROM crm.activities) || '/' || (SELECT count(*) FROM crm.order_lines) || '/' || (SELECT sum(total) FROM crm.orders) || '/' || (SELECT count(*) FROM crm.tasks)")"
sqlstate() { # port sql: the SQLSTATE the statement fails with
	psql -h "$dir" -p "$1" -d "$db" -qtAX -c '\set VERBOSITY sqlstate' -c "$2" 2>&1 | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p'
}
check "a second call refuses: 55000" equals "$(sqlstate "$coordinator" 'SELECT crm.distribute_schema()')" 55000

# ---- the analytics, single server and distributed -----------------------------------------------
# The same queries in both databases, section by section; as_of is the demo's end, so nothing
# depends on the clock but the segments' dates, which are left out.
declare -A queries=(
	[rfm_scores]="SELECT * FROM crm.rfm_scores('2026-06-30') ORDER BY contact_id"
	[cohort_retention]="SELECT * FROM crm.cohort_retention('month', '2026-06-30') ORDER BY cohort, period_number"
	[fit_clv_models]="SELECT m.as_of, m.time_unit_days, m.first_order_at, m.last_order_at, m.customers, m.bgnbd, m.gammagamma FROM crm.fit_clv_models('2026-06-30', 7) m"
	[customer_clv]="SELECT * FROM crm.customer_clv ORDER BY 1"
	[survey_scores_monthly]="SELECT * FROM crm.survey_scores_monthly ORDER BY month, all_accounts, account_id NULLS FIRST"
	[lead_scores]="WITH ids AS MATERIALIZED (SELECT array_agg(lead_id) AS ids FROM crm.leads) SELECT s.* FROM ids, crm.lead_scores('2026-06-30', ids.ids) s ORDER BY lead_id"
	[lead_scores_stored]="SELECT crm.rescore_leads_distributed('2026-06-30'); SELECT lead_id, score, grade, scored_at FROM crm.leads ORDER BY lead_id"
	[refresh_segments]="SELECT segment_id, name, members, joined, departed FROM crm.refresh_segments() ORDER BY segment_id"
	[segment_members]="SELECT segment_id, contact_id FROM crm.segment_members ORDER BY 1, 2"
	[rfm_refreshed]="SELECT crm.refresh_rfm('2026-06-30'); SELECT contact_id, recency, frequency, monetary, rfm, segment FROM crm.rfm_history WHERE as_of = '2026-06-30' ORDER BY contact_id"
)
# customer_clv reads the latest model, which fit_clv_models stores: the fit runs first.
order=(rfm_scores cohort_retention fit_clv_models customer_clv survey_scores_monthly lead_scores
	lead_scores_stored rfm_refreshed refresh_segments segment_members)
tolerance() { case $1 in fit_clv_models | customer_clv) echo 1e-9 ;; esac; }
same() { # local-file distributed-file [relative]
	if [ -z "${3:-}" ]; then
		cmp -s "$1" "$2" && return 0
		diff "$1" "$2" | head -n 8
		return 1
	fi
	perl -e '
		use strict; use warnings; use List::Util qw(max);
		my $relative = $ARGV[2];
		my ($a, $b) = map { local (@ARGV, $/) = ($_); <> } @ARGV[0, 1];
		my $num = qr/-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/;
		my @x = $a =~ /$num/g; my @y = $b =~ /$num/g;
		(my $sa = $a) =~ s/$num/#/g; (my $sb = $b) =~ s/$num/#/g;
		if ($sa ne $sb or @x != @y) { print "the answers differ beyond their numbers\n"; exit 1; }
		for my $i (0 .. $#x) {
			my $d = abs($x[$i] - $y[$i]);
			if ($d > $relative * max(abs($x[$i]), abs($y[$i]))) { print "local $x[$i], distributed $y[$i]\n"; exit 1; }
		}' "$1" "$2" "$3"
}
analytics_started=$SECONDS
for name in "${order[@]}"; do
	lsql -F '|' -c "${queries[$name]}" >"$dir/$name.local" 2>&1 || true
	sql "$coordinator" -F '|' -c "${queries[$name]}" >"$dir/$name.distributed" 2>&1 || true
	rows=$(wc -l <"$dir/$name.local")
	check "$name: distributed = single server ($rows rows${tolerance_note:-})" \
		same "$dir/$name.local" "$dir/$name.distributed" $(tolerance "$name")
done
analytics_seconds=$((SECONDS - analytics_started))
check "the analytics have rows to compare" \
	bash -c "[ \$(wc -l <'$dir/rfm_scores.local') -gt 1000 ] && [ \$(wc -l <'$dir/lead_scores.local') -gt 100 ] && [ \$(wc -l <'$dir/segment_members.local') -gt 10 ]"

# ---- the whole demo report, single server and distributed ----------------------------------------
# Every section of demo/*.sql (as scripts/demo runs them) prints the same text on both.
report_started=$SECONDS
report_same() { # local-file distributed-file: same, or the diff and the distributed side's error
	same "$1" "$2" && return 0
	grep -A 4 'ERROR:' "$2" | head -n 8
	return 1
}
for section in "$CRM_ROOT"/demo/*.sql; do
	name=$(basename "$section" .sql)
	psql -h "$dir" -p "$coordinator" -d "$local_db" -X -v ON_ERROR_STOP=1 -P pager=off -f "$section" >"$dir/report_$name.local" 2>&1 || true
	psql -h "$dir" -p "$coordinator" -d "$db" -X -v ON_ERROR_STOP=1 -P pager=off -f "$section" >"$dir/report_$name.distributed" 2>&1 || true
	check "demo report section $name: distributed = single server ($(wc -l <"$dir/report_$name.local") lines)" \
		report_same "$dir/report_$name.local" "$dir/report_$name.distributed"
done
report_seconds=$((SECONDS - report_started))

# ---- row-level security ----------------------------------------------------------------------------
# Policies calling crm.current_user_id() read crm.users on the workers, which Citus allows only
# with citus.allow_nested_distributed_execution (docs/citus.md); without it they fail closed.
as_role() { sql "$coordinator" -c "SET ROLE $1" -c "$2" 2>&1 | tail -n 1; }
check "without the setting, a sales rep's query on contacts fails (closed)" \
	bash -c "! psql -h '$dir' -p '$coordinator' -d '$db' -qtAX -v ON_ERROR_STOP=1 -c 'SET ROLE demo_sales_01' -c 'SELECT count(*) FROM crm.contacts' 2>/dev/null"
check "ALTER DATABASE ... SET citus.allow_nested_distributed_execution = on" \
	sql "$coordinator" -c "ALTER DATABASE $db SET citus.allow_nested_distributed_execution = on"
for query in "SELECT count(*) FROM crm.contacts" "SELECT count(*) FROM crm.leads" "SELECT count(*) FROM crm.accounts"; do
	check "demo_sales_01: $query as on the single server" \
		equals "$(as_role demo_sales_01 "$query")" "$(lsql -c 'SET ROLE demo_sales_01' -c "$query" | tail -n 1)"
done
check "demo_analyst_01 sees every activity, as on the single server" \
	equals "$(as_role demo_analyst_01 'SELECT count(*) FROM crm.activities')" "$(lsql -c 'SELECT count(*) FROM crm.activities')"
check "demo_sales_01 sees no orders (the policy following the contact is gone; single server: some)" \
	equals "$(as_role demo_sales_01 'SELECT count(*) FROM crm.orders')/$(lsql -c 'SET ROLE demo_sales_01' -c 'SELECT count(*) > 0 FROM crm.orders' | tail -n 1)" "0/t"
check "demo_manager_01: the team's contacts, as on the single server (policy rewritten)" \
	equals "$(as_role demo_manager_01 'SELECT count(*) FROM crm.contacts')" "$(lsql -c 'SET ROLE demo_manager_01' -c 'SELECT count(*) FROM crm.contacts' | tail -n 1)"
check "demo_manager_01 sees no activities (its policy on them had a subquery; single server: some)" \
	equals "$(as_role demo_manager_01 'SELECT count(*) FROM crm.activities')/$(lsql -c 'SET ROLE demo_manager_01' -c 'SELECT count(*) > 0 FROM crm.activities' | tail -n 1)" "0/t"

# ---- triggers on the distributed tables ----------------------------------------------------------
# Order totals (order_lines_maintain_order_total, colocated): a new order of contact 7 with two
# lines, 3 x 10.00 at 10% off = 27.00 and 1 x 5.50 = 5.50 (total 32.50); the first line then
# becomes 2 units (18.00: total 23.50) and the second is deleted (total 18.00).
order_totals() {
	sql "$coordinator" <<-'SQL'
		INSERT INTO crm.orders (order_id, contact_id, ordered_at, status) VALUES (900001, 7, '2026-06-29', 'paid');
		INSERT INTO crm.order_lines (contact_id, order_id, product_id, quantity, unit_price, discount)
		VALUES (7, 900001, 1, 3, 10.00, 0.1), (7, 900001, 2, 1, 5.50, 0);
		SELECT total FROM crm.orders WHERE contact_id = 7 AND order_id = 900001;
		UPDATE crm.order_lines SET quantity = 2 WHERE contact_id = 7 AND order_id = 900001 AND product_id = 1;
		SELECT total FROM crm.orders WHERE contact_id = 7 AND order_id = 900001;
		DELETE FROM crm.order_lines WHERE contact_id = 7 AND order_id = 900001 AND product_id = 2;
		SELECT total FROM crm.orders WHERE contact_id = 7 AND order_id = 900001;
	SQL
}
check "orders.total follows its lines: 32.50, 23.50, 18.00" equals "$(order_totals | tr '\n' ' ')" "32.50 23.50 18.00 "
check "every order's total is the sum of its lines" \
	equals "$(sql "$coordinator" -c "SELECT count(*) FROM crm.orders o LEFT JOIN (SELECT contact_id, order_id, sum(line_total) AS s FROM crm.order_lines GROUP BY contact_id, order_id) l USING (contact_id, order_id) WHERE o.total <> coalesce(l.s, 0)")" 0
# Lead status history (lead_status_recorded/_changed, colocated) and BANT (lead_bant_qualify,
# kept: it reads the settings, a reference table, on the lead's shard): a lead with budget 5000,
# authority, high need and a timeline within the default 6 months is qualified on insert.
lead_history() { # the psql command to run it with
	"$@" <<-'SQL'
		INSERT INTO crm.leads (lead_id, contact_id, source, budget, authority, need, timeline)
		VALUES (900001, 11, 'web', 5000, true, 'high', current_date + 30);
		UPDATE crm.leads SET status = 'won', closed_at = now() WHERE contact_id = 11 AND lead_id = 900001;
		SELECT string_agg(coalesce(from_status, '-') || '>' || to_status, ' ' ORDER BY history_id)
		FROM crm.lead_status_history WHERE lead_id = 900001;
	SQL
}
check "a lead's status history: qualified on insert (BANT), then won" equals "$(lead_history sql "$coordinator")" "->qualified qualified>won"
check "the same on the single server" equals "$(lead_history lsql)" "->qualified qualified>won"
# Stage history on the coordinator's own table (opportunities_record_stage_change, unchanged).
stage_history() {
	sql "$coordinator" <<-'SQL'
		UPDATE crm.opportunities SET stage_id = 7, closed_at = now() WHERE opportunity_id = (SELECT min(opportunity_id) FROM crm.opportunities WHERE stage_id < 6);
		SELECT to_stage_id FROM crm.opportunity_stage_history ORDER BY history_id DESC LIMIT 1;
	SQL
}
check "an opportunity's stage change is recorded" equals "$(stage_history)" 7
check "updated_at is kept on a distributed table" \
	equals "$(sql "$coordinator" -c "UPDATE crm.contacts SET title = 'CTO' WHERE contact_id = 5" -c "SELECT updated_at > '2026-07-01' FROM crm.contacts WHERE contact_id = 5")" t
check "the validation triggers of the reference tables still refuse bad rows (22023 or 23514)" \
	bash -c "! psql -h '$dir' -p '$coordinator' -d '$db' -qtAX -v ON_ERROR_STOP=1 -c \"UPDATE crm.lead_scoring_settings SET hot_threshold = 1, warm_threshold = 2\" 2>/dev/null"
# The replacements of the dropped triggers (docs/citus.md): lead scores by crm.rescore_leads(),
# the naive Bayes counts by crm.rebuild_lead_nb_counts(), detractor tasks by
# crm.open_detractor_tasks(), the product co-occurrence counts by crm.refresh_product_pairs(). On the single server the triggers did the same work.
replaced() { # the psql command to run them with
	"$@" <<-'SQL'
		INSERT INTO crm.activities (contact_id, lead_id, occurred_at, channel, kind)
		SELECT contact_id, lead_id, '2026-06-29 12:00+00', 'web', 'form_submit' FROM crm.leads WHERE lead_id IN (3, 4, 5);
		UPDATE crm.leads SET status = 'lost', closed_at = '2026-06-29 13:00+00' WHERE lead_id = 6 AND status NOT IN ('won', 'lost');
		INSERT INTO crm.survey_responses (response_id, contact_id, kind, score, responded_at) VALUES (900001, 13, 'nps', 2, '2026-06-29');
	SQL
}
replacements='SELECT crm.rebuild_lead_nb_counts() >= 0;
	SELECT crm.refresh_product_pairs() >= 0;
	SELECT count(*) FROM crm.open_detractor_tasks(ARRAY[900001::bigint]);'
check "changes on the single server (its triggers do the work)" replaced lsql
check "the same changes on the distributed CRM" replaced sql "$coordinator"
check "the replacements of the dropped triggers run on the coordinator" sql "$coordinator" -c "$replacements"
lead_state='SELECT lead_id, status FROM crm.leads WHERE lead_id IN (3, 4, 5, 6) ORDER BY 1;
	SELECT field, value, won, lost FROM crm.lead_nb_counts ORDER BY 1, 2;
	SELECT title, priority, contact_id FROM crm.tasks WHERE response_id = 900001;'
check "naive Bayes counts and the detractor task as on the single server" \
	equals "$(sql "$coordinator" -c "$lead_state")" "$(lsql -c "$lead_state")"
pairs_state='SELECT customers FROM crm.product_pair_totals;
	SELECT product_id, customers FROM crm.product_buyers ORDER BY 1;
	SELECT product_a, product_b, customers FROM crm.product_pairs ORDER BY 1, 2;
	SELECT * FROM crm.recommend_products(5, 5, $$lift$$);'
# (the distributed CRM holds contact 7's order 900001 of product 1 from the order totals check
# above: the single server gets it too, counted by its triggers)
check "contact 7's order of product 1 on the single server" lsql \
	-c "INSERT INTO crm.orders (order_id, contact_id, ordered_at, status) VALUES (900001, 7, '2026-06-29', 'paid')" \
	-c "INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price, discount) VALUES (900001, 1, 2, 10.00, 0.1)"
check "product co-occurrence counts (crm.refresh_product_pairs) as the single server's triggers kept them" \
	equals "$(sql "$coordinator" -c "$pairs_state")" "$(lsql -c "$pairs_state")"
# Scores as of a fixed time: the triggers stored scores as of each change's moment, rescoring
# as of another one; crm.lead_scores compares them at one instant on both sides.
check "crm.rescore_leads_distributed() rescores every lead" \
	equals "$(sql "$coordinator" -c 'SELECT crm.rescore_leads_distributed()')" "$(sql "$coordinator" -c 'SELECT count(*) FROM crm.leads')"
scores="SELECT * FROM crm.lead_scores('2026-06-30', ARRAY[3, 4, 5, 6]::bigint[]) ORDER BY 1"
check "lead scores after the new activities as on the single server" equals "$(sql "$coordinator" -c "$scores")" "$(lsql -c "$scores")"

tests+=("# seconds: cluster $cluster_seconds, analytics $analytics_seconds, report $report_seconds, total $((SECONDS - started))")
finish
