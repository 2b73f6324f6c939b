#!/usr/bin/env bash
# Benchmark: crm.logreg_fit over 1,000,000 rows x 20 features, and crm.auc over the same rows
# beside the best hand-written SQL for ROC AUC (the rank-sum formula with window functions),
# count(*) as the baseline. Medians of $runs interleaved runs (psql \timing).
# Run with: scripts/bench test/bench/logreg.sh
set -euo pipefail

runs=3
source "$(dirname "$0")/lib.bash"
bench_record logreg

echo "== setup: 1,000,000 rows of 20 features and a label drawn from a known logistic model"
psql_bench <<'SQL'
SELECT setseed(0.3) \g /dev/null
CREATE TABLE bench_rows AS
SELECT f, random() < 1 / (1 + exp(-(0.5 + f[1] - 0.5 * f[2] + 0.25 * f[3]))) AS label
FROM (SELECT ARRAY(SELECT random() * 2 - 1 + 0 * i FROM generate_series(1, 20))::float8[] AS f
      FROM generate_series(1, 1000000) i) s;
VACUUM (FREEZE, ANALYZE) bench_rows;
SQL
auc_sql="WITH ranked AS (SELECT label, avg(r) OVER (PARTITION BY s) AS r
                        FROM (SELECT label, f[1] AS s, row_number() OVER (ORDER BY f[1]) AS r FROM bench_rows) x)
SELECT (sum(r) FILTER (WHERE label) - count(*) FILTER (WHERE label) * (count(*) FILTER (WHERE label) + 1) / 2.0)
       / (count(*) FILTER (WHERE label) * count(*) FILTER (WHERE NOT label)) FROM ranked"
echo "== check: crm.auc equals the rank-sum SQL"
psql_bench -At -c "SELECT 'crm.auc ' || round((SELECT crm.auc(f[1], label) FROM bench_rows)::numeric, 12) || ', SQL ' || round(($auc_sql)::numeric, 12)"
psql_bench -At -c "SELECT '   coefficients (true: 0.5, 1, -0.5, 0.25, then 0): ' || array_to_string(ARRAY(SELECT round(c::numeric, 3) FROM unnest(crm.logreg_fit(f, label)) c LIMIT 6), ', ') || ', ...' FROM bench_rows"

read -r count_ms fit_ms auc_ms auc_sql_ms < <(time_queries "" \
	"SELECT count(*) FROM bench_rows" \
	"SELECT crm.logreg_fit(f, label) FROM bench_rows" \
	"SELECT crm.auc(f[1], label) FROM bench_rows" \
	"$auc_sql")
echo "== 1M rows x 20 features (median of $runs, ms)"
printf '  count(*)                          %9.1f\n' "$count_ms"
printf '  crm.logreg_fit                    %9.1f\n' "$fit_ms"
printf '  crm.auc                           %9.1f\n' "$auc_ms"
printf '  ROC AUC in SQL (rank sum)         %9.1f   (%.1f x crm.auc)\n' "$auc_sql_ms" "$(echo "$auc_sql_ms / $auc_ms" | bc -l)"
