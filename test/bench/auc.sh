#!/usr/bin/env bash
# Benchmark: crm.auc over 10,000,000 (score, label) rows, beside PostgreSQL's own sort of the same
# scores (percentile_disc over all of them: one in-memory sort of 10M float8, the work any exact
# AUC must do at least once) and count(*) as the floor. Single process (no parallel workers), so
# the figures compare the algorithms, not the scheduling. Medians of $runs interleaved runs.
# Run with: scripts/bench test/bench/auc.sh     (AUC_SCORES=N for a smaller run; do not commit that)
set -euo pipefail

runs=${RUNS:-3}
scores=${AUC_SCORES:-10000000}
source "$(dirname "$0")/lib.bash"
bench_record auc AUC_SCORES RUNS

echo "== setup: $scores scores, normal around 0 for negatives and 0.8 for positives, a third positive"
psql_bench <<SQL
SELECT setseed(0.7) \g /dev/null
DROP TABLE IF EXISTS bench_auc;
CREATE TABLE bench_auc AS
SELECT (i % 3 = 0) AS label,
       (i % 3 = 0)::int * 0.8 + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS score
FROM generate_series(1, $scores) i;
VACUUM (FREEZE, ANALYZE) bench_auc;
SQL
settings="SET max_parallel_workers_per_gather = 0; SET work_mem = '2GB';"
echo "== check: crm.auc against the normal model's AUC, Phi(0.8 / sqrt 2) = 0.7142"
psql_bench -At -c "SELECT '   crm.auc = ' || round(crm.auc(score, label)::numeric, 4) FROM bench_auc"

read -r count_ms sort_ms auc_ms < <(time_queries "$settings" \
	"SELECT count(*) FROM bench_auc" \
	"SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY score) FROM bench_auc" \
	"SELECT crm.auc(score, label) FROM bench_auc")
echo "== $scores scores, one process (median of $runs, ms)"
printf '  count(*)                                   %9.1f\n' "$count_ms"
printf '  PostgreSQL sort of the scores (percentile) %9.1f\n' "$sort_ms"
printf '  crm.auc                                    %9.1f   (%.2f x the sort; %.0f ms above count(*))\n' \
	"$auc_ms" "$(echo "$auc_ms / $sort_ms" | bc -l)" "$(echo "$auc_ms - $count_ms" | bc -l)"
psql_bench -c "DROP TABLE bench_auc"
