#!/usr/bin/env bash
# Benchmark: this build against the release it upgrades, query by query, in pairs.
#
# Issue 13 asks that the NPS, CLV, RFM and retention benchmarks "stay within 5% of today's ratios"
# (today: release 0.1) while the aggregates' states become real types and the analytics are
# rewritten to run on Citus. Those benchmarks divide crm's time by a baseline's (count(*), the
# best hand-written SQL) measured on the same server; the baseline is plain PostgreSQL and takes
# the same time under either release, so a ratio moves exactly as crm's own time does. Run one
# release after the other and the machine's load drifts between the two runs (on this shared
# 2-core machine by more than 5%). So this script runs both releases at once: it builds the
# baseline release from git (RELEASE_BASELINE, a commit; default b491c7a, release 0.1) into a
# private installation, starts a second throwaway cluster from it beside scripts/bench's, loads
# the same rows into both with the same SQL, and times each query on the two clusters in turn,
# pair after pair (the order alternating), so that both sides of a pair see the same machine.
# Printed per query: the median time on each side and this build's time over 0.1's, the median of
# the pairs' (above 1.05 fails the 5% check: the baselines the benchmarks divide by are plain
# PostgreSQL, the same under either release, so their ratios move as crm's time does); beside it
# each side's ratio to its floor (count(*) of the rows the query reads, timed right before it in
# the same session) and the change of that ratio. The floors differ between the two clusters by
# about 5% (the same count(*) over the same rows, measured in pairs: a difference of the two
# clusters, not of crm), so the change of the ratio carries that difference too and is shown,
# not judged.
#
#   scripts/bench test/bench/release_pairs.sh                     1M customers, 10M orders, 5 pairs
#   RELEASE_CUSTOMERS=100000 RUNS=3 scripts/bench test/bench/release_pairs.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
source "$here/../../scripts/lib.sh"
: "${PG_CONFIG:=/usr/lib/postgresql/$CRM_PG_MAJOR/bin/pg_config}"
export PG_CONFIG
baseline_ref=${RELEASE_BASELINE:-b491c7a}
runs=${RUNS:-5}
customers=${RELEASE_CUSTOMERS:-1000000}
orders=$((customers * 10))
answers=$orders
cdnow_copies=$(((customers + 2356) / 2357))

bench_record release_pairs RELEASE_BASELINE RELEASE_CUSTOMERS RUNS

# ---- the baseline release: built from git into a private installation, its own cluster
base=$(mktemp -d "${TMPDIR:-/tmp}/crm-release.XXXXXX")
chmod 755 "$base"
stop_baseline() {
	if [ -f "$base/data/postmaster.pid" ]; then
		crm_as_server_user "$base_bindir/pg_ctl" -D "$base/data" -m immediate -w -s stop || true
	fi
	rm -rf "$base"
}
trap 'status=$?; stop_baseline; bench_finish $status' EXIT
current_bindir=$CRM_SERVER_BINDIR
mkdir "$base/src"
git -C "$CRM_ROOT" archive "$baseline_ref" | tar -x -C "$base/src"
make -C "$base/src" -s PG_CONFIG="$PG_CONFIG" >/dev/null
# crm_install_private installs the tree CRM_ROOT names and sets CRM_SERVER_BINDIR: pointed at the
# baseline's sources for this one call.
CRM_ROOT=$base/src crm_install_private "$base/install"
base_bindir=$CRM_SERVER_BINDIR
CRM_SERVER_BINDIR=$current_bindir
mkdir "$base/data"
[ "$(id -u)" -eq 0 ] && chown postgres: "$base" "$base/data"
crm_as_server_user "$base_bindir/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
	--no-sync >"$base/initdb.log"
# The settings of scripts/bench's cluster (scripts/lib.sh, crm_cluster_start), its own socket.
psql_bench -At -c "SELECT name || ' = ' || quote_literal(current_setting(name))
	FROM pg_settings WHERE name IN ('max_connections', 'shared_buffers', 'work_mem', 'maintenance_work_mem',
	'max_wal_size', 'fsync', 'synchronous_commit', 'full_page_writes', 'max_parallel_workers_per_gather')" \
	>>"$base/data/postgresql.conf"
cat >>"$base/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$base'
port = 5432
EOF
crm_as_server_user "$base_bindir/pg_ctl" -D "$base/data" -l "$base/server.log" -w -s start
base_psql() { psql_bench -h "$base" -p 5432 -d crm_bench "$@"; }
psql_bench -h "$base" -p 5432 -d postgres -c 'CREATE DATABASE crm_bench'
base_psql -c 'CREATE EXTENSION crm'
echo "== baseline: $(git -C "$CRM_ROOT" log -1 --format='%h %s' "$baseline_ref" | cut -c1-80)"
echo "   crm $(base_psql -At -c "SELECT extversion FROM pg_extension WHERE extname = 'crm'") beside this build's crm $(psql_bench -At -c "SELECT extversion FROM pg_extension WHERE extname = 'crm'")"

# ---- the same rows in both: rfm.sh's and retention.sh's orders, nps.sh's answers, the CDNOW
# customers repeated (test/data; the BG/NBD fit over copies of a sample has the sample's optimum)
load="
SET client_min_messages = warning;
SET session_replication_role = replica;
INSERT INTO crm.contacts (contact_id, first_name) SELECT i, 'c' || i FROM generate_series(1, $customers) i;
INSERT INTO crm.orders (contact_id, ordered_at, status, total)
SELECT CASE WHEN i <= $customers THEN i
            ELSE 1 + (abs(hashint4(i)::bigint) % ($customers * 2 / 5)) * (abs(hashint4(i)::bigint) % ($customers * 2 / 5)) / ($customers * 2 / 5) END,
       timestamptz '2023-07-01' + (abs(hashint4(i + 7)::bigint) % 1095) * interval '1 day' + interval '12 hours',
       CASE WHEN i % 50 = 0 THEN 'cancelled' ELSE 'paid' END, 5 + abs(hashint4(i + 11)::bigint) % 49600 / 100.0
FROM generate_series(1, $orders) i;
CREATE TABLE bench_durations AS
SELECT 1 + abs(hashint4(i)) % 1000 AS days, hashint4(i + 3) % 3 <> 0 AS churned FROM generate_series(1, $customers) i;
CREATE TABLE bench_answers AS
SELECT (abs(hashint4(i)) % 11)::smallint AS score FROM generate_series(1, $answers) i;
CREATE TABLE bench_cdnow (id integer, x integer, t_x double precision, big_t double precision, m double precision);
\\copy bench_cdnow FROM '$CRM_ROOT/test/data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE bench_summaries AS SELECT c.* FROM bench_cdnow c, generate_series(1, $cdnow_copies);
VACUUM (FREEZE, ANALYZE) crm.orders, bench_durations, bench_answers, bench_summaries;
"
started=$SECONDS
psql_bench <<<"$load" &
current_load=$!
base_psql <<<"$load"
wait "$current_load"
echo "== setup: $customers customers, $orders orders, $customers durations, $answers NPS answers, $((cdnow_copies * 2357)) CLV summaries (CDNOW x $cdnow_copies), both clusters; $((SECONDS - started)) s"

as_of="'2026-07-01'"
# name|settings|query|floor: the queries of nps.sh, clv.sh, rfm.sh and retention.sh (the crm side),
# each with the count(*) of the rows it reads (the floor those benchmarks divide by).
orders_floor='SELECT count(*) FROM crm.orders'
queries=(
	"crm.nps, one process|SET max_parallel_workers_per_gather = 0|SELECT crm.nps(score) FROM bench_answers|SELECT count(*) FROM bench_answers"
	"crm.nps, parallel|SET max_parallel_workers_per_gather = 2|SELECT crm.nps(score) FROM bench_answers|SELECT count(*) FROM bench_answers"
	"crm.clv_summary per customer|SET TIME ZONE 'UTC'|SELECT count(*), sum(x), sum(t_x::numeric), sum(big_t::numeric), sum(m::numeric) FROM (SELECT (crm.clv_summary(ordered_at, total::float8, $as_of, 7)).* FROM crm.orders GROUP BY contact_id) s|$orders_floor"
	"crm.bgnbd_fit|SET max_parallel_workers_per_gather = 2|SELECT crm.bgnbd_fit(x, t_x, big_t) IS NOT NULL FROM bench_summaries|SELECT count(*) FROM bench_summaries"
	"crm.gammagamma_fit|SET max_parallel_workers_per_gather = 2|SELECT crm.gammagamma_fit(x, m) IS NOT NULL FROM bench_summaries WHERE x > 0|SELECT count(*) FROM bench_summaries WHERE x > 0"
	"crm.rfm_scores|SET max_parallel_workers_per_gather = 2|SELECT count(*), sum(recency), sum(frequency), sum(monetary), sum(crm.recency_score(rfm) + crm.frequency_score(rfm) + crm.monetary_score(rfm)) FROM crm.rfm_scores($as_of) s|$orders_floor"
	"crm.cohort_retention|SET max_parallel_workers_per_gather = 2|SELECT count(*), sum(customers) FROM crm.cohort_retention('month', $as_of) t|$orders_floor"
	"crm.km_fit|SET max_parallel_workers_per_gather = 2|SELECT crm.km_fit(days, churned) IS NOT NULL FROM bench_durations|SELECT count(*) FROM bench_durations"
)

# time_on HOST SETTINGS QUERY...: each query's milliseconds on one cluster, in one session
# (psql's \timing), one per line.
time_on() {
	local host=$1 settings=$2
	shift 2
	local args=(-c "$settings" -c '\timing on')
	for query in "$@"; do args+=(-c "$query"); done
	psql_bench -h "$host" -p 5432 -d crm_bench -At "${args[@]}" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
current_host=$PGHOST
echo "== check: each query gives the same answer on both (numbers within 1e-12 relative: 0.2 sums some
==        floating-point values in another order than 0.1, e.g. a customer's mean purchase value)"
# same_answer A B: the two result rows are equal field by field, numbers within 1e-12 relative.
same_answer() {
	awk -v a="$1" -v b="$2" 'function abs(v) { return v < 0 ? -v : v }
		BEGIN {
			n = split(a, x, "|"); if (n != split(b, y, "|")) exit 1
			for (i = 1; i <= n; i++) {
				if (x[i] == y[i]) continue
				if (x[i] ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ && y[i] ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ &&
				    abs(x[i] - y[i]) <= 1e-12 * abs(x[i])) continue
				exit 1
			}
		}'
}
for entry in "${queries[@]}"; do
	IFS='|' read -r name settings query floor <<<"$entry"
	a=$(psql_bench -h "$current_host" -p 5432 -d crm_bench -At -c "$settings" -c "$query")
	b=$(psql_bench -h "$base" -p 5432 -d crm_bench -At -c "$settings" -c "$query")
	if ! same_answer "$a" "$b"; then
		echo "   $name: this build $a, baseline $b"
		exit 1
	fi
done
echo "   every query: the same answer"
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "== $runs pairs per query, the order alternating; on each cluster the floor (count(*) of the same rows)"
echo "   right before the query. ms: medians; x floor: the query over its floor, the benchmarks' ratio;"
echo "   ms/ms: this build's time over 0.1's, the median of the pairs' (target <= 1.05); change: this"
echo "   build's ratio to its floor over 0.1's, the median of the pairs' (the floors themselves differ"
echo "   by about 5% between the two clusters, so this one carries that difference too)"
printf '  %-30s %10s %10s %7s %9s %9s %8s\n' query '0.1 ms' 'this ms' 'ms/ms' '0.1 x fl' 'this x fl' change
for entry in "${queries[@]}"; do
	IFS='|' read -r name settings query floor <<<"$entry"
	time_on "$current_host" "$settings" "$floor" "$query" >/dev/null  # warm-up on each
	time_on "$base" "$settings" "$floor" "$query" >/dev/null
	ours=() theirs=() our_ratios=() their_ratios=() changes=() time_changes=()
	for ((run = 0; run < runs; run++)); do
		if ((run % 2 == 0)); then
			b=$(time_on "$base" "$settings" "$floor" "$query"); a=$(time_on "$current_host" "$settings" "$floor" "$query")
		else
			a=$(time_on "$current_host" "$settings" "$floor" "$query"); b=$(time_on "$base" "$settings" "$floor" "$query")
		fi
		read -r a_floor a_query <<<"$(echo $a)"
		read -r b_floor b_query <<<"$(echo $b)"
		ours+=("$a_query") theirs+=("$b_query")
		our_ratios+=("$(awk -v q="$a_query" -v f="$a_floor" 'BEGIN { printf "%.4f", q / f }')")
		their_ratios+=("$(awk -v q="$b_query" -v f="$b_floor" 'BEGIN { printf "%.4f", q / f }')")
		time_changes+=("$(awk -v a="$a_query" -v b="$b_query" 'BEGIN { printf "%.4f", a / b }')")
		changes+=("$(awk -v a="$a_query" -v af="$a_floor" -v b="$b_query" -v bf="$b_floor" 'BEGIN { printf "%.4f", (a / af) / (b / bf) }')")
	done
	change=$(median "${changes[@]}")
	time_change=$(median "${time_changes[@]}")
	verdict=$(awk -v r="$time_change" 'BEGIN { print (r <= 1.05 ? "within 5%" : "more than 5% above 0.1") }')
	printf '  %-30s %10.1f %10.1f %7.3f %9.2f %9.2f %8.3f  %s\n' "$name" "$(median "${theirs[@]}")" "$(median "${ours[@]}")" \
		"$time_change" \
		"$(median "${their_ratios[@]}")" "$(median "${our_ratios[@]}")" "$change" "$verdict"
done
