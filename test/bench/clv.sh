#!/usr/bin/env bash
# Benchmark: BG/NBD over 1 million customers — the fit, and predictions for every customer — and
# the customer summary (x, t_x, T) built in SQL from 10 million order rows. Medians of 3 runs.
# Run with: scripts/bench test/bench/clv.sh
set -euo pipefail

runs=3
source "$(dirname "$0")/lib.bash"

echo "== setup: 1,000,000 customer summaries (weeks, from whole days over two years)"
psql_bench <<'SQL'
-- Purchase rates ~ Gamma(0.5), a 40% share of one-off customers, ages up to 104 weeks.
CREATE TABLE bench_customers AS
SELECT x, CASE WHEN x = 0 THEN 0 ELSE greatest(1, floor(u_last * age_days)) / 7.0 END AS t_x, age_days / 7.0 AS big_t
FROM (SELECT CASE WHEN crm.demo_uniform(i, 1) < 0.4 THEN 0
                  ELSE 1 + floor(crm.demo_gamma(0.5, i, 2) * 6)::integer END AS x,
             crm.demo_uniform(i, 3) AS u_last,
             1 + floor(crm.demo_uniform(i, 4) * 728) AS age_days
      FROM generate_series(1, 1000000) i) s;
VACUUM (FREEZE, ANALYZE) bench_customers;
CREATE TABLE bench_model AS SELECT crm.bgnbd_fit(x, t_x::float8, big_t::float8) AS model FROM bench_customers;
SQL
psql_bench -At -c "SELECT format('fitted: %s; distinct (x, t_x, T): %s', model, (SELECT count(*) FROM (SELECT DISTINCT x, t_x, big_t FROM bench_customers) d)) FROM bench_model"

for workers in 0 2; do
	read -r count_ms fit_ms < <(time_queries "SET max_parallel_workers_per_gather = $workers;" \
		"SELECT count(*) FROM bench_customers" \
		"SELECT crm.bgnbd_fit(x, t_x::float8, big_t::float8) FROM bench_customers")
	echo "== BG/NBD fit over 1M customers, max_parallel_workers_per_gather = $workers (median of $runs, ms)"
	printf '  count(*)           %9.1f\n' "$count_ms"
	printf '  crm.bgnbd_fit      %9.1f   (target < 1000)\n' "$fit_ms"
done
read -r count_ms predict_ms alive_ms < <(time_queries "SET max_parallel_workers_per_gather = 2;" \
	"SELECT count(*) FROM bench_customers" \
	"SELECT sum(crm.bgnbd_expected_purchases(m.model, 13, x, t_x::float8, big_t::float8)) FROM bench_customers, bench_model m" \
	"SELECT sum(crm.bgnbd_p_alive(m.model, x, t_x::float8, big_t::float8)) FROM bench_customers, bench_model m")
echo "== predictions for 1M customers (median of $runs, ms)"
printf '  count(*)                                 %9.1f\n' "$count_ms"
printf '  crm.bgnbd_expected_purchases (13 weeks)  %9.1f   (target < 1000)\n' "$predict_ms"
printf '  crm.bgnbd_p_alive                        %9.1f\n' "$alive_ms"

echo "== setup: 10,000,000 orders of 1,000,000 customers"
psql_bench <<'SQL'
CREATE TABLE bench_orders AS
SELECT 1 + i % 1000000 AS contact_id,
       TIMESTAMPTZ '2024-07-01' + (crm.demo_uniform(i, 5) * 730) * interval '1 day' AS ordered_at,
       round((10 + crm.demo_gamma(2, i, 6) * 20)::numeric, 2) AS total
FROM generate_series(0, 9999999) i;
VACUUM (FREEZE, ANALYZE) bench_orders;
SQL
summary_sql="SELECT contact_id, count(*) - 1 AS x, (max(day) - min(day)) / 7.0 AS t_x, (DATE '2026-07-01' - min(day)) / 7.0 AS big_t,
       avg(spend) FILTER (WHERE day > first_day) AS m
FROM (SELECT contact_id, ordered_at::date AS day, sum(total) AS spend,
             min(ordered_at::date) OVER (PARTITION BY contact_id) AS first_day
      FROM bench_orders GROUP BY contact_id, ordered_at::date) d
GROUP BY contact_id"
read -r count_ms summary_ms < <(time_queries "SET max_parallel_workers_per_gather = 2;" \
	"SELECT count(*) FROM bench_orders" "SELECT count(*) FROM ($summary_sql) s")
echo "== customer summaries (x, t_x, T, m) from 10M orders in SQL (median of $runs, ms)"
printf '  count(*) of the orders   %9.1f\n' "$count_ms"
printf '  summary query            %9.1f\n' "$summary_ms"

psql_bench -c 'DROP TABLE bench_customers, bench_model, bench_orders'
