#!/usr/bin/env bash
# Citus: crm on a throwaway Citus cluster (a coordinator and two workers on this machine, Unix
# sockets in a temporary folder, ports 5433-5435 there). Every aggregate in schema crm, run on a
# table distributed by customer_id, grouped by another column and ungrouped, gives the answer it
# gives on an identical local table: exactly for counts, histograms, AUC, survival curves and
# k-means; to 1e-9 relative for the CLV fits and summaries and the bookings distribution's count,
# mean and variance, whose sums may be taken in another order; to 1e-8 (1 + |value|) for logistic regression (see tolerance below). How Citus plans each
# aggregate (per-shard partial states, or every row gathered to the coordinator) is printed as
# diagnostics and tested: the aggregates whose state is a real type (listed in pushed_down below)
# must be aggregated per shard, grouped by a column other than the distribution column and
# ungrouped; for the others, whose state is still `internal` (which Citus cannot ship between
# nodes, so it gathers the rows), the test is a TODO.
#
# Citus comes from the system PostgreSQL installation; when it is missing, it is built from the
# vendored source ../shared/vendor/citus (build.sh, as root, ~3 minutes, once). Without either,
# the suite is skipped with the reason; under CI (CI=true) that is a failure instead.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/../../scripts/lib.sh"
: "${PG_CONFIG:=/usr/lib/postgresql/$CRM_PG_MAJOR/bin/pg_config}"
started=$SECONDS

db=crm_citus
source "$CRM_ROOT/test/lib/citus_cluster.bash"

# CREATE EXTENSION on the coordinator: Citus 13 runs it on the workers it has (IF NOT EXISTS, same
# schema), and creates it on a worker added later, with the other distributed objects.
check "CREATE EXTENSION crm on the coordinator" sql "$coordinator" -c 'CREATE EXTENSION crm'
check "a second worker joins after it" sql "$coordinator" -c "SELECT citus_add_node('$dir', ${ports[2]})"
cluster_seconds=$((SECONDS - cluster_started))
check "the coordinator sees two active workers" \
	equals "$(sql "$coordinator" -c "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND isactive AND groupid > 0")" 2
crm_version=$(sql "$coordinator" -c "SELECT extversion FROM pg_extension WHERE extname = 'crm'") || true
roles="SELECT count(*) FROM pg_roles WHERE rolname IN ('crm_admin', 'crm_manager', 'crm_sales', 'crm_support', 'crm_analyst')"
check "the worker present at CREATE EXTENSION has crm $crm_version" \
	equals "$(sql "${ports[1]}" -c "SELECT extversion FROM pg_extension WHERE extname = 'crm'")" "$crm_version"
check "the worker added later has crm $crm_version" \
	equals "$(sql "${ports[2]}" -c "SELECT extversion FROM pg_extension WHERE extname = 'crm'")" "$crm_version"
check "both workers have crm's five group roles" \
	equals "$(sql "${ports[1]}" -c "$roles")/$(sql "${ports[2]}" -c "$roles")" 5/5

# ---- the data: 20,000 rows, one table distributed by customer_id, one local copy -------------
# Deterministic: every value derives from the row number through hashint4, uniform in [0, 1).
# The CLV fits' columns repeat the CDNOW customers (test/data), on which the fits converge quickly.
load_data() {
	sql "$coordinator" -c 'SET client_min_messages = warning' -c 'CREATE SCHEMA citus_test' \
		-c 'CREATE TABLE citus_test.cdnow (id integer, x integer, t_x double precision, big_t double precision, m double precision)' \
		-c "\\copy citus_test.cdnow FROM '$CRM_ROOT/test/data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)" ||
		return
	sql "$coordinator" >/dev/null <<-'SQL'
		SET client_min_messages = warning;
		CREATE TABLE citus_test.answers_local AS
		WITH u AS (
		    SELECT i, array_agg((hashint4(i * 64 + j)::bigint + 2147483648) / 4294967296.0::double precision
		                        ORDER BY j) AS u
		    FROM generate_series(1, 20000) AS i, generate_series(1, 16) AS j
		    GROUP BY i
		), base AS (
		    SELECT i, u, c.x, c.t_x, c.big_t, c.m,
		           ARRAY[round(u[6] * 100) / 10, round(u[7] * 100) / 10]::double precision[] AS features
		    FROM u JOIN citus_test.cdnow c ON c.id = 1 + (u.i - 1) % 2357
		)
		SELECT i AS answer_id,
		       1 + (i * 7919) % 1000 AS customer_id,
		       -- the region follows answer_id (every fifth row): crm.ets_fit's series (periods from answer_id) stay regular per region
		       (ARRAY['north', 'east', 'south', 'west', 'centre'])[1 + i % 5] AS region,
		       floor(u[2] * 11)::smallint AS score,
		       (1 + floor(u[3] * 5))::smallint AS score5,
		       (1 + floor(u[4] * 7))::smallint AS score7,
		       ('(' || array_to_string(ARRAY(SELECT (j = floor(u[2] * 11))::integer FROM generate_series(0, 10) AS j), ',')
		        || ')')::crm.nps_summary AS summary,
		       features,
		       u[5] < 1 / (1 + exp(-(0.3 * features[1] - 0.2 * features[2] - 0.4))) AS label,
		       round((1 / (1 + exp(-(0.3 * features[1] - 0.2 * features[2] - 0.4))) + u[8] * 0.3)::numeric, 3)::double precision AS pscore,
		       (1 + floor(u[9] * 365))::double precision AS duration,
		       u[12] < 0.7 AS observed,
		       x, t_x, big_t, m,
		       timestamptz '2026-01-01 00:00+00' + round(u[15] * 365 * 86400) * interval '1 second' AS occurred_at,
		       round(u[16] * 20000) / 100 AS amount
		FROM base;
		CREATE TABLE citus_test.answers AS TABLE citus_test.answers_local;
		SELECT create_distributed_table('citus_test.answers', 'customer_id');
		SELECT truncate_local_data_after_distributing_table('citus_test.answers');
		ANALYZE citus_test.answers_local;
	SQL
}
check "20,000 rows in a table distributed by customer_id and in a local copy" load_data
check "the distributed table has the local table's rows" \
	equals "$(sql "$coordinator" -c "SELECT count(*) || '/' || sum(hashtext(a::text)) FROM citus_test.answers a")" \
	"$(sql "$coordinator" -c "SELECT count(*) || '/' || sum(hashtext(a::text)) FROM citus_test.answers_local a")"
check "its shards lie on both workers" \
	equals "$(sql "$coordinator" -c "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'citus_test.answers'::regclass")" 2

# ---- every aggregate of schema crm ------------------------------------------------------------
# A call for each signature, on the columns above: test/lib/citus_calls.bash (the benchmark
# test/bench/citus.sh runs the same calls).
source "$CRM_ROOT/test/lib/citus_calls.bash"
tolerance() { # signature: relative and absolute tolerance, or nothing for identical answers
	case $1 in
	crm.bgnbd_fit\(* | crm.gammagamma_fit\(* | crm.clv_summary\(* | crm.bookings_distribution\(* | crm.experiment_stats\(*) echo "1e-9 0" ;;
	crm.logreg_fit\(*) echo "1e-8 1e-8" ;;
	crm.logreg_step\(*) echo "1e-9 1e-9" ;; # Newton sums added in another order
	# k-means steps: exact counts; sums and inertia are floating-point sums taken in another order
	crm.kmeans_step\(*) echo "1e-12 0" ;;
	esac
}

# Same answers: identical text, or the same text around numbers that agree within the tolerance
# |local - distributed| <= relative * max(|local|, |distributed|) + absolute.
same_answers() { # local-file, distributed-file[, relative absolute]
	if [ -z "${3:-}" ]; then
		cmp -s "$1" "$2" && return 0
		echo "local:       $(head -c 600 "$1")"
		echo "distributed: $(head -c 600 "$2")"
		return 1
	fi
	perl -e '
		use strict; use warnings; use List::Util qw(max);
		my ($relative, $absolute) = splice(@ARGV, 2);
		my ($a, $b) = map { local (@ARGV, $/) = ($_); <> } @ARGV;
		my $num = qr/-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/;
		my @x = $a =~ /$num/g; my @y = $b =~ /$num/g;
		(my $sa = $a) =~ s/$num/#/g; (my $sb = $b) =~ s/$num/#/g;
		if ($sa ne $sb or @x != @y) { print "local: $a\ndistributed: $b\n"; exit 1; }
		for my $i (0 .. $#x) {
			my $d = abs($x[$i] - $y[$i]);
			next if $d <= $relative * max(abs($x[$i]), abs($y[$i])) + $absolute;
			printf "number %d: local %s, distributed %s (difference %.3g)\n", $i + 1, $x[$i], $y[$i], $d;
			exit 1;
		}' "$1" "$2" "$3" "$4"
}

compare() { # signature, call, grouped|ungrouped
	local mode=$3 table query local_file=$dir/local.out dist_file=$dir/dist.out
	for table in answers_local answers; do
		if [ "$mode" = grouped ]; then
			query="SELECT region, $2 FROM citus_test.$table GROUP BY region ORDER BY region"
		else
			query="SELECT $2 FROM citus_test.$table"
		fi
		if [ $table = answers ]; then
			sql "$coordinator" -c "$query" >"$dist_file" || return
		else
			sql "$coordinator" -c "$query" >"$local_file" || return
		fi
	done
	[ -s "$local_file" ] || { echo "no answer from the local table"; return 1; }
	# shellcheck disable=SC2046 # two numbers or none
	same_answers "$local_file" "$dist_file" $(tolerance "$1")
}

# How Citus runs a query, from EXPLAIN VERBOSE: partial states per shard (worker_partial_agg),
# the whole aggregate on the workers (its name in the shard query), or the rows to the coordinator.
plan_of() { # aggregate name, query
	local plan
	plan=$(sql "$coordinator" -c "EXPLAIN (VERBOSE, COSTS OFF) $2" 2>&1) || { echo "EXPLAIN failed: $plan"; return; }
	if grep -q 'worker_partial_agg' <<<"$plan"; then
		echo "partial states per shard"
	elif grep -E '^ *Query: ' <<<"$plan" | grep -q "\.$1("; then
		echo "whole aggregate on the workers"
	else
		echo "row gather"
	fi
}

# A control for the classification: an aggregate with a float8 state and a combine function.
check "control: Citus plans an aggregate with a float8 state and a combine function as partial states per shard" \
	equals "$(sql "$coordinator" -c 'CREATE AGGREGATE citus_test.float8_total(double precision) (
	             SFUNC = float8pl, STYPE = double precision, COMBINEFUNC = float8pl)' &&
		plan_of float8_total "SELECT region, citus_test.float8_total(m) FROM citus_test.answers GROUP BY region")" \
	"partial states per shard"

# The aggregates whose partial states are real types, which Citus ships between nodes: they must
# be aggregated per shard (so must any other aggregate whose state is not internal).
declare -A pushed_down=(
	["crm.auc(double precision, boolean)"]=1
	["crm.km_fit(double precision, boolean)"]=1
	["crm.clv_summary(timestamp with time zone, double precision, timestamp with time zone, double precision)"]=1
	["crm.bgnbd_fit(integer, double precision, double precision)"]=1
	["crm.bgnbd_fit(integer, double precision, double precision, double precision)"]=1
	["crm.gammagamma_fit(integer, double precision)"]=1
	["crm.gammagamma_fit(integer, double precision, double precision)"]=1
	["crm.ces(integer)"]=1
	["crm.ces(smallint)"]=1
	["crm.csat(integer)"]=1
	["crm.csat(integer, integer)"]=1
	["crm.csat(smallint)"]=1
	["crm.csat(smallint, integer)"]=1
	["crm.nps(integer)"]=1
	["crm.nps(smallint)"]=1
	["crm.nps_agg(integer)"]=1
	["crm.nps_agg(smallint)"]=1
	["crm.nps_union(crm.nps_summary)"]=1
	# logistic regression (branch citus-logreg): logreg_fit ships its rows (crm.logreg_rows),
	# logreg_step its Newton sums (crm.logreg_step_state, O(d²) bytes)
	["crm.logreg_fit(double precision[], boolean)"]=1
	["crm.logreg_fit(double precision[], boolean, double precision)"]=1
	["crm.logreg_step(double precision[], boolean, double precision[])"]=1
	# k-means: the points (crm.kmeans_state) and the distributed fit's step (crm.kmeans_step_state)
	["crm.kmeans(double precision[], integer)"]=1
	["crm.kmeans(double precision[], integer, integer)"]=1
	["crm.kmeans(double precision[], integer, integer, boolean)"]=1
	["crm.kmeans_step(double precision[], crm.kmeans_model)"]=1
	["crm.experiment_stats(text, boolean, double precision)"]=1
)

suite_started=$SECONDS
declare -A seen=()
pushdown=()
while IFS='|' read -r signature name stype combine; do
	seen[$signature]=1
	call=${calls[$signature]:-}
	if [ -z "$call" ]; then
		result "not ok" "$signature: the test knows a call for it (add one to test/scripts/citus.sh)"
		continue
	fi
	check "$signature grouped by region (not the distribution column): distributed = local" \
		compare "$signature" "$call" grouped
	check "$signature ungrouped: distributed = local" compare "$signature" "$call" ungrouped
	by_region=$(plan_of "$name" "SELECT region, $call FROM citus_test.answers GROUP BY region")
	ungrouped=$(plan_of "$name" "SELECT $call FROM citus_test.answers")
	by_customer=$(plan_of "$name" "SELECT customer_id, $call FROM citus_test.answers GROUP BY customer_id")
	tests+=("# $name: $by_region (grouped by region), $ungrouped (ungrouped), $by_customer (grouped by customer_id); stype $stype, combine function $combine")
	pushdown+=("$signature|$stype|$by_region|$ungrouped|$by_customer")
	if [ -n "${pushed_down[$signature]:-}" ] || [ "$stype" != internal ]; then
		todo=
	else
		todo="TODO states of type internal cannot travel between Citus nodes"
	fi
	if [ "$by_region" = "partial states per shard" ] && [ "$ungrouped" = "partial states per shard" ]; then
		result ok "$signature is aggregated per shard, not by gathering rows" "$todo"
	else
		result "not ok" "$signature is aggregated per shard, not by gathering rows" "$todo"
		[ -n "$todo" ] || tests+=("# grouped by region: $by_region; ungrouped: $ungrouped; stype $stype, combine function $combine")
	fi
done < <(sql "$coordinator" -c "
	SELECT format('%s.%s(%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)), p.proname,
	       format_type(a.aggtranstype, NULL), a.aggcombinefn
	FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = 'crm' ORDER BY 1")
suite_seconds=$((SECONDS - suite_started))
missing=()
for signature in "${!calls[@]}"; do [ -n "${seen[$signature]:-}" ] || missing+=("$signature"); done
check "every call in the test names an aggregate of schema crm (${#seen[@]} found)" \
	equals "${missing[*]:-}" ""

# ---- logistic regression on distributed data (branch citus-logreg) ----------------------------
# crm.logreg_fit_table runs one crm.logreg_step query per Newton step: each must be aggregated per
# shard (the shards ship O(d²)-byte states, never rows), and the driver on the distributed table
# must give the driver's and logreg_fit's coefficients on the local copy. Both converge to the same
# optimum; only the order of the sums differs: 1e-9 relative.
logreg_step_query="SELECT crm.logreg_step(features, label, ARRAY[0.1, 0.2, -0.3]::double precision[]) FROM citus_test.answers"
check "crm.logreg_fit_table's pass (a crm.logreg_step query) is aggregated per shard" \
	equals "$(plan_of logreg_step "$logreg_step_query")" "partial states per shard"
check "the pass's shard queries compute crm.logreg_step's partial states (worker_partial_agg), not rows" \
	grep -q 'worker_partial_agg.*logreg_step' <<<"$(sql "$coordinator" -c "EXPLAIN (VERBOSE, COSTS OFF) $logreg_step_query" 2>&1)"
logreg_driver() { # l2: the driver on the distributed table = the driver and logreg_fit on the local copy
	local distributed local_driver local_aggregate
	distributed=$(sql "$coordinator" -c "SELECT crm.logreg_fit_table('citus_test.answers', 'features', 'label', $1)") || return
	local_driver=$(sql "$coordinator" -c "SELECT crm.logreg_fit_table('citus_test.answers_local', 'features', 'label', $1)") || return
	local_aggregate=$(sql "$coordinator" -c "SET max_parallel_workers_per_gather = 0" \
		-c "SELECT crm.logreg_fit(features, label, $1) FROM citus_test.answers_local") || return
	same_answers <(echo "$local_driver") <(echo "$distributed") 1e-9 0 || return
	same_answers <(echo "$local_aggregate") <(echo "$distributed") 1e-9 0 || return
	[ -n "$distributed" ] || { echo "no coefficients"; return 1; }
}
check "crm.logreg_fit_table on the distributed table = on the local copy = crm.logreg_fit there (1e-9)" logreg_driver 0
check "the same with l2 = 0.5" logreg_driver 0.5
logreg_rls() { # the driver reads with the caller's rights on the distributed table too
	local output
	if output=$(sql "$coordinator" -c "SET ROLE crm_analyst" \
		-c "SELECT crm.logreg_fit_table('citus_test.answers', 'features', 'label')" 2>&1); then
		echo "crm_analyst read citus_test.answers: $output"
		return 1
	fi
	grep -q "permission denied" <<<"$output" || { echo "$output"; return 1; }
}
check "crm.logreg_fit_table is security invoker on Citus too: a role without SELECT is refused" logreg_rls
# ---- k-means on distributed data: crm.kmeans_table -------------------------------------------
# The driver runs every pass as a pushed-down aggregate (crm.kmeans_step, whose per-shard state is
# 32 + 8k(d + 1) bytes) and samples k-means|| candidates by a hash of each point, so the model on
# the distributed table is the local table's: the same clusters for every row, and centroids equal
# up to the rounding of sums taken in another order (1e-12 relative).
kmeans_driver() { # standardize
	local local_model dist_model
	local_model=$(sql "$coordinator" -c "SELECT crm.kmeans_table('citus_test.answers_local', 'features', 4, 7, $1)") || return
	dist_model=$(sql "$coordinator" -c "SELECT crm.kmeans_table('citus_test.answers', 'features', 4, 7, $1)") || return
	echo "$local_model" >"$dir/kmeans_local.out"
	echo "$dist_model" >"$dir/kmeans_dist.out"
	same_answers "$dir/kmeans_local.out" "$dir/kmeans_dist.out" 1e-12 0 || return
	equals "$(sql "$coordinator" -c "SELECT count(*) FROM citus_test.answers_local
		WHERE crm.kmeans_assign(features, '$local_model'::crm.kmeans_model) <> crm.kmeans_assign(features, '$dist_model'::crm.kmeans_model)")" 0
}
check "crm.kmeans_table on the distributed table gives the local table's model" kmeans_driver false
check "crm.kmeans_table, standardized, on the distributed table gives the local table's model" kmeans_driver true
check "crm.kmeans_table's step pass is aggregated per shard" \
	equals "$(plan_of kmeans_step "SELECT crm.kmeans_step(features, 'v1 mean {0,0} scale {1,1} centroids {{1,1},{9,9}}') FROM citus_test.answers")" \
	"partial states per shard"

# The summary, machine-readable for the docs: signature | stype | by region | ungrouped | by customer_id.
if [ -n "${CRM_CITUS_PUSHDOWN_FILE:-}" ]; then printf '%s\n' "${pushdown[@]}" >"$CRM_CITUS_PUSHDOWN_FILE"; fi
tests+=("# seconds: build $build_seconds, cluster $cluster_seconds, aggregates $suite_seconds, total $((SECONDS - started))")
finish
