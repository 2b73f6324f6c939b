#!/usr/bin/env bash
# Benchmark: crm.jaro_winkler and crm.normalize_name over 1,000,000 pairs of names, in one
# process, beside (1) count(*) over the same rows, the executor's floor, (2) length() of both
# names, the cost of reading the two texts, and (3) contrib fuzzystrmatch's levenshtein over the
# same pairs, the usual C string comparison shipped with PostgreSQL. Medians of $runs interleaved
# runs. The names are realistic in shape: 5-20 characters, a few accented letters, and the second
# name of each pair an edited copy of the first (a swap, a dropped or an accented letter), so that
# both functions see mostly similar strings, as in duplicate detection.
# Run with: scripts/bench test/bench/data_quality.sh
set -euo pipefail

runs=${RUNS:-5}
pairs=${DQ_PAIRS:-1000000}
source "$(dirname "$0")/lib.bash"
bench_record data_quality DQ_PAIRS RUNS
trap 'bench_finish $?' EXIT

echo "== setup: $pairs pairs of names"
psql_bench <<SQL
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
SELECT setseed(0.23) \g /dev/null
DROP TABLE IF EXISTS bench_names;
CREATE TABLE bench_names WITH (parallel_workers = 0) AS
SELECT a, CASE edit
              WHEN 0 THEN a
              WHEN 1 THEN overlay(a PLACING substr(a, p + 1, 1) || substr(a, p, 1) FROM p FOR 2)
              WHEN 2 THEN overlay(a PLACING '' FROM p FOR 1)
              ELSE overlay(a PLACING 'é' FROM p FOR 1)
          END AS b
FROM (SELECT a, floor(random() * 4)::int AS edit, 1 + floor(random() * (length(a) - 1))::int AS p
      FROM (SELECT initcap(string_agg(substr('aaeeiioouubcdfghjklmnprstvwyzéöñ ', 1 + floor(random() * 33)::int, 1), ''))
                       || ' ' || (ARRAY['Smith', 'Müller', 'García', 'Nguyễn', 'O''Brien', 'Kowalski'])[1 + floor(random() * 6)::int] AS a
            FROM generate_series(1, $pairs) g, LATERAL generate_series(1, 5 + floor(random() * 10)::int + (g * 0)) c
            GROUP BY g) names) s;
VACUUM (FREEZE, ANALYZE) bench_names;
SQL

echo "== check: similar pairs score high"
psql_bench -At -c "SELECT '   mean jaro_winkler ' || round(avg(crm.jaro_winkler(a, b))::numeric, 4)
                   || ', mean levenshtein ' || round(avg(levenshtein(a, b))::numeric, 3)
                   || ', mean name length ' || round(avg(length(a))::numeric, 1) FROM bench_names"

read -r count_ms length_ms jw_ms lev_ms norm_ms < <(time_queries "SET max_parallel_workers_per_gather = 0;" \
	"SELECT count(*) FROM bench_names" \
	"SELECT sum(length(a) + length(b)) FROM bench_names" \
	"SELECT sum(crm.jaro_winkler(a, b)) FROM bench_names" \
	"SELECT sum(levenshtein(a, b)) FROM bench_names" \
	"SELECT sum(length(crm.normalize_name(a)) + length(crm.normalize_name(b))) FROM bench_names")
echo "== $pairs pairs, one process (median of $runs, ms)"
printf '  count(*)                                      %8.1f\n' "$count_ms"
printf '  sum(length(a) + length(b)): reading the texts %8.1f\n' "$length_ms"
printf '  sum(crm.jaro_winkler(a, b))                   %8.1f   (%.1f ms above reading)\n' "$jw_ms" "$(echo "$jw_ms - $length_ms" | bc -l)"
printf '  sum(levenshtein(a, b)), fuzzystrmatch         %8.1f   (%.1f ms above reading)\n' "$lev_ms" "$(echo "$lev_ms - $length_ms" | bc -l)"
printf '  crm.normalize_name of both names              %8.1f   (%.1f ms above reading)\n' "$norm_ms" "$(echo "$norm_ms - $length_ms" | bc -l)"
psql_bench -c "DROP TABLE bench_names"
