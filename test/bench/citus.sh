#!/usr/bin/env bash
# Benchmark: every crm aggregate over the same rows (10M by default) on one PostgreSQL server and
# on a Citus cluster, beside count(*), with the bytes the coordinator receives from the workers.
#
# The cluster is test/lib/citus_cluster.bash's: a coordinator and two workers, all three on this
# machine (so on its cores: the distributed times show the cost of distribution, not a speed-up
# from more hardware; docs/citus.md models how both grow with workers and rows). The single-server
# figures are the coordinator aggregating a local copy of the table (an ordinary PostgreSQL table,
# parallel query allowed as configured); the distributed figures aggregate the table distributed
# by customer_id. The calls are the distributed suite's (test/lib/citus_calls.bash), on the same
# columns. Bytes: the text of the rows and partial states the workers send the coordinator, for
# the query grouped by region (5 groups) and ungrouped (see received below).
# For the distributed fits (crm.logreg_fit_table, crm.kmeans_table), the time of the whole fit on
# each table and the bytes of one pass. Medians of $runs runs, interleaved.
#
#   scripts/bench test/bench/citus.sh                    10M rows (about 20 minutes on 2 cores)
#   CITUS_ROWS=1000000 RUNS=1 scripts/bench test/bench/citus.sh
#   CITUS_ONLY=fits scripts/bench test/bench/citus.sh   only the distributed fits, into their own
#                                                        block (citus_fits) of docs/benchmarks.md
set -euo pipefail

rows=${CITUS_ROWS:-10000000}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
source "$here/../../scripts/lib.sh"
: "${PG_CONFIG:=/usr/lib/postgresql/$CRM_PG_MAJOR/bin/pg_config}"
export PG_CONFIG
db=crm_bench_citus
# Larger buffers and shards than the test's: 16 shards, 8 on each worker.
citus_conf="shared_buffers = '1GB'
work_mem = '64MB'
max_parallel_workers_per_gather = 2
citus.shard_count = 16"
source "$here/../lib/citus_cluster.bash"
source "$here/../lib/citus_calls.bash"
only=${CITUS_ONLY:-}
case $only in
	'') bench_record citus CITUS_ROWS RUNS ;;
	fits)
		bench_script=citus bench_record citus_fits CITUS_ROWS RUNS CITUS_ONLY ;;
	*) echo "CITUS_ONLY: 'fits' or unset, not '$only'" >&2; exit 2 ;;
esac
trap 'status=$?; cleanup; bench_finish $status' EXIT
# From here on, plain psql (lib.bash's time_queries, the machine line) talks to the coordinator.
export PGHOST=$dir PGPORT=$coordinator PGDATABASE=$db
# The machine line names the coordinator's settings (the cluster is stopped before it is written).
bench_server="$(sql "$coordinator" -c "SELECT 'PostgreSQL ' || current_setting('server_version')
	|| ', Citus ' || (SELECT extversion FROM pg_extension WHERE extname = 'citus')
	|| ', shared_buffers ' || current_setting('shared_buffers') || ', work_mem ' || current_setting('work_mem')
	|| ', max_parallel_workers_per_gather ' || current_setting('max_parallel_workers_per_gather')")"

sql "$coordinator" -c 'CREATE EXTENSION crm' >/dev/null
sql "$coordinator" -c "SELECT citus_add_node('$dir', ${ports[2]})" >/dev/null
workers=$(sql "$coordinator" -c "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND isactive AND groupid > 0")
echo "== setup: $rows rows, $workers workers, $(sql "$coordinator" -c 'SHOW citus.shard_count') shards, Citus $citus_version"

# The distributed suite's columns (test/scripts/citus.sh), generated set-wise: the CLV columns
# repeat the CDNOW customers (test/data), the NPS summaries come from an 11-row lookup.
started=$SECONDS
sql "$coordinator" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE SCHEMA citus_test;
CREATE TABLE citus_test.cdnow (id integer, x integer, t_x double precision, big_t double precision, m double precision);
\\copy citus_test.cdnow FROM '$CRM_ROOT/test/data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE citus_test.summaries AS
SELECT s AS score, ('(' || array_to_string(ARRAY(SELECT (j = s)::integer FROM generate_series(0, 10) AS j), ',') || ')')::crm.nps_summary AS summary
FROM generate_series(0, 10) AS s;
SELECT setseed(0.5);
CREATE UNLOGGED TABLE citus_test.answers_local AS
WITH base AS (
    SELECT i, random() AS u1, random() AS u2, random() AS u3, random() AS u4, random() AS u5,
           ARRAY[round(random() * 100) / 10, round(random() * 100) / 10]::double precision[] AS features,
           random() AS u8, random() AS u9, random() AS u12, random() AS u15, random() AS u16
    FROM generate_series(1, $rows) AS i
)
SELECT i AS answer_id,
       (1 + (i::bigint * 7919) % 1000000)::integer AS customer_id,
       (ARRAY['north', 'east', 'south', 'west', 'centre'])[1 + floor(u1 * 5)::integer] AS region,
       floor(u2 * 11)::smallint AS score,
       (1 + floor(u3 * 5))::smallint AS score5,
       (1 + floor(u4 * 7))::smallint AS score7,
       s.summary,
       features,
       u5 < 1 / (1 + exp(-(0.3 * features[1] - 0.2 * features[2] - 0.4))) AS label,
       round((1 / (1 + exp(-(0.3 * features[1] - 0.2 * features[2] - 0.4))) + u8 * 0.3)::numeric, 3)::double precision AS pscore,
       (1 + floor(u9 * 365))::double precision AS duration,
       u12 < 0.7 AS observed,
       c.x, c.t_x, c.big_t, c.m,
       timestamptz '2026-01-01 00:00+00' + round(u15 * 365 * 86400) * interval '1 second' AS occurred_at,
       round(u16 * 20000) / 100 AS amount
FROM base
JOIN citus_test.cdnow c ON c.id = 1 + (base.i - 1) % 2357
JOIN citus_test.summaries s ON s.score = floor(base.u2 * 11)::smallint;
CREATE TABLE citus_test.answers (LIKE citus_test.answers_local);
SELECT create_distributed_table('citus_test.answers', 'customer_id');
INSERT INTO citus_test.answers SELECT * FROM citus_test.answers_local;
VACUUM ANALYZE citus_test.answers_local;
VACUUM ANALYZE citus_test.answers;
SQL
echo "   loaded in $((SECONDS - started)) s; local table $(sql "$coordinator" -c "SELECT pg_size_pretty(pg_total_relation_size('citus_test.answers_local'))"), distributed $(sql "$coordinator" -c "SELECT pg_size_pretty(citus_total_relation_size('citus_test.answers'))")"

# median_ms QUERY...: the median milliseconds of each query over $runs interleaved runs, in order
# (lib.bash's time_queries, against the coordinator).
median_ms() { time_queries "SET client_min_messages = warning;" "$@"; }
# received QUERY: the bytes the coordinator receives from the workers for it: every task of its
# distributed plan (EXPLAIN VERBOSE with citus.explain_all_tasks), run on its worker, measured as the
# text of the rows it returns (Citus ships partial states as text). EXPLAIN ANALYZE, which counts
# them itself, cannot run a plan whose tasks return partial aggregates (worker_partial_agg returns
# cstring: "column "field_0" has pseudo-type cstring").
received() {
	local plan port query bytes total=0
	plan=$(sql "$coordinator" -c 'SET citus.explain_all_tasks = on' -c "EXPLAIN (VERBOSE, COSTS OFF) $1")
	while IFS=$'\t' read -r port query; do
		bytes=$(sql "$port" -c "SELECT coalesce(sum(octet_length(r::text)), 0) FROM ($query) r")
		total=$((total + bytes))
	done < <(awk '/ Query: / { sub(/^.* Query: /, ""); q = $0 }
		/ Node: host=/ { match($0, /port=[0-9]+/); print substr($0, RSTART + 5, RLENGTH - 5) "\t" q }' <<<"$plan")
	echo "$total"
}
human_bytes() { awk -v b="$1" 'BEGIN { split("B kB MB GB", u); i = 1; while (b >= 1024 && i < 4) { b /= 1024; i++ } printf(i == 1 ? "%d %s" : "%.1f %s", b, u[i]) }'; }

echo "== count(*): the floor (ms)"
read -r local_count dist_count < <(median_ms "SELECT count(*) FROM citus_test.answers_local" "SELECT count(*) FROM citus_test.answers")
printf '  %-58s %10s %12s\n' "" "one server" "distributed"
printf '  %-58s %10.0f %12.0f\n' "count(*)" "$local_count" "$dist_count"

[ "$only" = fits ] || echo "== every crm aggregate, ungrouped (ms, and the bytes the coordinator receives: ungrouped / grouped by region)"
[ "$only" = fits ] || printf '  %-58s %10s %12s %8s %12s %12s\n' aggregate "one server" distributed ratio "bytes" "by region"
[ "$only" = fits ] || while IFS= read -r signature; do
	call=${calls[$signature]}
	read -r t_local t_dist < <(median_ms "SELECT $call FROM citus_test.answers_local" "SELECT $call FROM citus_test.answers")
	bytes=$(received "SELECT $call FROM citus_test.answers")
	bytes_region=$(received "SELECT region, $call FROM citus_test.answers GROUP BY region")
	short=${signature//double precision/float8}
	short=${short//timestamp with time zone/timestamptz}
	printf '  %-58s %10.0f %12.0f %7.2fx %12s %12s\n' "$short" "$t_local" "$t_dist" \
		"$(awk -v a="$t_dist" -v b="$t_local" 'BEGIN { print a / b }')" "$(human_bytes "$bytes")" "$(human_bytes "$bytes_region")"
done < <(printf '%s\n' "${!calls[@]}" | sort)

# The distributed fits: the whole fit (every pass) on the local and on the distributed table.
if [ -n "${driver_calls[*]:-}" ]; then
	echo "== distributed fits: the whole fit (ms), and the bytes the coordinator receives for one pass"
	printf '  %-58s %10s %12s %8s %12s\n' fit "one server" distributed ratio "bytes/pass"
	for name in "${!driver_calls[@]}"; do
		local_call=${driver_calls[$name]//@TABLE@/citus_test.answers_local}
		dist_call=${driver_calls[$name]//@TABLE@/citus_test.answers}
		read -r t_local t_dist < <(median_ms "SELECT $local_call" "SELECT $dist_call")
		pass=${driver_pass[$name]:-}
		bytes=-
		[ -n "$pass" ] && bytes=$(human_bytes "$(received "${pass//@TABLE@/citus_test.answers}")")
		printf '  %-58s %10.0f %12.0f %7.2fx %12s\n' "$name" "$t_local" "$t_dist" \
			"$(awk -v a="$t_dist" -v b="$t_local" 'BEGIN { print a / b }')" "$bytes"
	done
fi
echo "== total $((SECONDS - started)) s"
