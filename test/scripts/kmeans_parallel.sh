#!/usr/bin/env bash
# crm.kmeans's starts in parallel workers (kmeans.md, "Starts in parallel workers"): a fit of
# several starts on enough points launches workers from its final function, and the answer is
# the one process's, bit for bit. Checked here, on points in 3 dimensions (the k-d tree) and in
# 8 (the starts over the points), for the centroids and for the standardized model:
#   - a worker was launched and ran at least one start (the DEBUG1 lines of the fit say which
#     process ran each start; retried, since the leader can take every start before a worker
#     is up on a loaded machine);
#   - the answer equals that of max_parallel_workers_per_gather = 0 (the starts in the leader);
#   - inside a transaction that wrote and holds a savepoint, the same answer;
#   - a statement_timeout cancels a fit with workers (57014), the session goes on and no
#     parallel worker is left;
#   - under a forced parallel plan (the final function in the leader, in parallel mode) the
#     starts get workers too, with the same answer.
# On a host with one processor no worker is launched: the checks that need one are skipped.
# Emits TAP.
set -euo pipefail

db=crm_kmeans_parallel_$$
trap 'dropdb --if-exists "$db" >/dev/null 2>&1' EXIT
sql() { psql -qtAX -v ON_ERROR_STOP=1 -d "$db" "$@"; }

echo "1..9"
createdb "$db"
sql >/dev/null <<'SQL'
CREATE EXTENSION crm;
SELECT setseed(0.25);
-- 200,000 points uniform in a cube (3 features: the tree; Lloyd's iterations run long enough
-- for a worker to join), and 60,000 in 8 features: 10 starts each
CREATE TABLE pts3 AS
SELECT ARRAY[random(), random(), random()] AS f FROM generate_series(1, 200000) i;
CREATE TABLE pts8 AS
SELECT ARRAY(SELECT (i % 5) * 2 + random() * 3 FROM generate_series(1, 8) j WHERE i > 0) AS f
FROM generate_series(1, 60000) i;
SQL

ok=0
n=0
check() {
	n=$((n + 1))
	if [ "$1" = yes ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; ok=1; fi
}
skip() {
	n=$((n + 1))
	echo "ok $n # skip $1"
}

processors=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)

# fit QUERY [SETTINGS]: the answer on stdout's first line, the DEBUG1 lines after it
fit() {
	sql -c "SET client_min_messages = debug1" -c "${2:-SET max_parallel_workers_per_gather = 2}" -c "$1" 2>&1
}

for case in "pts3:crm.kmeans(f, 8, 7)::text" "pts8:crm.kmeans(f, 8, 7)::text" "pts3:crm.kmeans(f, 5, 3, true)::text"; do
	table=${case%%:*}
	expr=${case#*:}
	query="SELECT $expr FROM $table"
	serial=$(sql -c "SET max_parallel_workers_per_gather = 0" -c "$query")
	if [ "$processors" -lt 2 ]; then
		skip "one processor: no parallel worker ($query)"
		skip "one processor ($query)"
		continue
	fi
	ran=no
	same=yes
	for attempt in 1 2 3; do
		out=$(fit "$query")
		answer=$(grep -v '^DEBUG' <<<"$out" | head -n 1)
		[ "$answer" = "$serial" ] || same=no
		if grep -q 'parallel workers: [1-9][0-9]* launched' <<<"$out" && grep -q '(process [1-9][0-9]*)' <<<"$out"; then
			ran=yes
			break
		fi
	done
	check "$ran" "$query: a parallel worker ran starts"
	[ "$ran" = yes ] || sed 's/^/# /' <<<"$out" >&2
	check "$same" "$query: the answer with parallel workers is the one process's"
done

# In a transaction that wrote (an XID, a temporary table) and holds a savepoint.
serial=$(sql -c "SET max_parallel_workers_per_gather = 0" -c "SELECT crm.kmeans(f, 8, 7)::text FROM pts3")
answer=$(sql <<'SQL'
BEGIN;
CREATE TEMP TABLE copy3 AS SELECT * FROM pts3;
SAVEPOINT s;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT crm.kmeans(f, 8, 7)::text FROM copy3;
COMMIT;
SQL
)
check "$([ "$answer" = "$serial" ] && echo yes || echo no)" "in a transaction that wrote, past a savepoint: the same answer"

# A cancelled fit: the error, then the session works and no worker is left behind.
out=$(psql -qtAX -d "$db" 2>&1 <<'SQL' || true
SET max_parallel_workers_per_gather = 2;
SET statement_timeout = '150ms';
SELECT crm.kmeans(f, 40, 1)::text IS NULL FROM pts8;
RESET statement_timeout;
SELECT 'after:' || count(*) FROM pts8;
SQL
)
left=1
for _ in 1 2 3 4 5 6 7 8 9 10; do
	left=$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker' AND datname = current_database()")
	[ "$left" = 0 ] && break
	sleep 0.5
done
check "$(grep -q 'canceling statement due to statement timeout' <<<"$out" && grep -q 'after:60000' <<<"$out" && [ "$left" = 0 ] && echo yes || echo no)" \
	"a statement_timeout cancels a fit with workers; the session goes on; no worker left"

# Under a forced parallel plan (partial aggregates in workers, the final function in the leader,
# in parallel mode): workers for the starts too, the same answer.
parallel_plan="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0"
plan=$(sql -c "$parallel_plan" -c "EXPLAIN (COSTS OFF) SELECT crm.kmeans(f, 8, 7)::text FROM pts3")
out=$(fit "SELECT crm.kmeans(f, 8, 7)::text FROM pts3" "$parallel_plan")
answer=$(grep -v '^DEBUG' <<<"$out" | head -n 1)
check "$([ "$answer" = "$serial" ] && grep -q 'Partial Aggregate' <<<"$plan" && grep -q 'parallel workers: [1-9][0-9]* launched' <<<"$out" && echo yes || echo no)" \
	"under a parallel plan: workers for the starts too, the same answer"
exit $ok
