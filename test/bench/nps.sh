#!/usr/bin/env bash
# Benchmark: crm.nps(score) against count(*) and the best hand-written SQL formula over 10 million
# answers, single-threaded and with 2 parallel workers; then the roll-up of 365 days x 1,000
# segments of daily crm.nps_summary values into one NPS per segment.
# Every figure is the median of 7 runs (21 for the roll-up), timed by psql \timing, the runs of
# the compared queries interleaved so that noise from other work on the machine hits them alike.
# Run with: scripts/bench test/bench/nps.sh
set -euo pipefail

runs=7
source "$(dirname "$0")/lib.bash"
bench_record nps

echo "== setup: 10,000,000 answers (score 0-10 uniform, segment, day), then VACUUM ANALYZE"
# score first: (smallint, smallint, date) packs without padding into 32-byte tuples. count(score),
# the cheapest aggregate that reads the column, shows what reading it costs any aggregate.
psql_bench <<'SQL'
DROP TABLE IF EXISTS bench_answers, bench_daily;
CREATE TABLE bench_answers (score smallint NOT NULL, segment smallint NOT NULL, day date NOT NULL);
SELECT setseed(0.42) \gset
INSERT INTO bench_answers
SELECT floor(random() * 11)::smallint, (i / 365 % 1000)::smallint, DATE '2025-01-01' + (i % 365)::integer
FROM generate_series(0, 9999999) i;
VACUUM (FREEZE, ANALYZE) bench_answers;
-- One summary per day and segment: 365,000 rows.
CREATE TABLE bench_daily AS
SELECT day, segment, crm.nps_agg(score) AS summary FROM bench_answers GROUP BY day, segment;
VACUUM (FREEZE, ANALYZE) bench_daily;
SQL

count_query='SELECT count(*) FROM bench_answers'
count_score_query='SELECT count(score) FROM bench_answers'
formula_query='SELECT 100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) / count(*) FROM bench_answers'
nps_query='SELECT crm.nps(score) FROM bench_answers'

echo "== check: crm.nps equals the SQL formula"
psql_bench -At -c "SELECT format('crm.nps = %s, formula = %s', ($nps_query), ($formula_query))"

# report LABEL COUNT_MS COUNT_SCORE_MS FORMULA_MS NPS_MS
report() {
	echo "== $1 (median of $runs, ms)"
	printf '  count(*)            %9.1f\n' "$2"
	[ -n "$3" ] && printf '  count(score)        %9.1f   (the cheapest aggregate reading the column)\n' "$3"
	[ -n "$4" ] && printf '  SQL formula         %9.1f\n' "$4"
	printf '  crm.nps(score)      %9.1f\n' "$5"
	awk -v c="$2" -v s="$3" -v f="$4" -v n="$5" 'BEGIN {
		printf "  ratio crm.nps / count(*)     = %.2f (target <= 1.30 single-threaded)\n", n / c
		if (s != "") printf "  ratio count(score) / count(*) = %.2f\n", s / c
		if (f != "") printf "  ratio formula / crm.nps      = %.2f (target >= 1.40 single-threaded)\n", f / n }'
}

read -r c s f n < <(time_queries "SET max_parallel_workers_per_gather = 0;" \
	"$count_query" "$count_score_query" "$formula_query" "$nps_query")
report "10M answers, single-threaded (max_parallel_workers_per_gather = 0)" "$c" "$s" "$f" "$n"
read -r c s f n < <(time_queries "SET max_parallel_workers_per_gather = 0; SET jit = off;" \
	"$count_query" "$count_score_query" "$formula_query" "$nps_query")
report "10M answers, single-threaded, jit = off" "$c" "$s" "$f" "$n"
read -r c f n < <(time_queries "SET max_parallel_workers_per_gather = 2;" \
	"$count_query" "$formula_query" "$nps_query")
report "10M answers, parallel (max_parallel_workers_per_gather = 2)" "$c" "" "$f" "$n"
rollup_query='SELECT segment, crm.nps(crm.nps_union(summary)) FROM bench_daily GROUP BY segment'
echo "== check: the roll-up of daily summaries equals crm.nps over the answers, for every segment"
psql_bench -At -c "SELECT count(*) FILTER (WHERE r.nps IS DISTINCT FROM a.nps) || ' of ' || count(*) || ' segments differ'
	FROM ($rollup_query) r(segment, nps) JOIN (SELECT segment, crm.nps(score) FROM bench_answers GROUP BY segment) a(segment, nps) USING (segment)"
# The roll-up takes tens of milliseconds: more runs, so that a burst of other work on the machine
# moves the median less.
runs=21
for workers in 0 2; do
	read -r group_count_ms rollup_ms < <(time_queries "SET max_parallel_workers_per_gather = $workers;" \
		'SELECT segment, count(*) FROM bench_daily GROUP BY segment' "$rollup_query")
	echo "== roll-up: 365 x 1,000 daily summaries into 1,000 segment NPS, max_parallel_workers_per_gather = $workers (median of $runs)"
	printf '  crm.nps(crm.nps_union(summary)) median %.1f ms (target < 50 ms)\n' "$rollup_ms"
	printf '  count(*) with the same GROUP BY  median %.1f ms\n' "$group_count_ms"
done

psql_bench -c 'DROP TABLE bench_answers, bench_daily'
