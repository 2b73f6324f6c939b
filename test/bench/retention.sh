#!/usr/bin/env bash
# Benchmark: the cohort triangle over 10 million orders of 1 million customers, and Kaplan-Meier
# over 1 million durations, each beside the best hand-written SQL for the same answer, in the same
# run. Medians of 5 runs (psql \timing), runs interleaved. Every timed query reads every column it
# is compared on: the planner drops a subquery's unused outputs, so "SELECT count(*) FROM (q)"
# would skip q's aggregates and flatter whichever side it happens to help.
# Run with: scripts/bench test/bench/retention.sh
set -euo pipefail

runs=5
source "$(dirname "$0")/lib.bash"
bench_record retention

echo "== setup: 1,000,000 customers, 10,000,000 orders over 3 years; 1,000,000 durations"
psql_bench <<'SQL'
SET session_replication_role = replica;  -- bulk load: no per-row FK checks
INSERT INTO crm.contacts (contact_id, first_name) SELECT i, 'c' || i FROM generate_series(1, 1000000) i;
-- Each customer starts at a random day; orders follow at random later days (a skewed count per
-- customer, 10 on average), all within 2023-07-01 .. 2026-06-30.
INSERT INTO crm.orders (contact_id, ordered_at, status, total)
SELECT c, start + (random() * (DATE '2026-06-30' - start))::integer * interval '1 day' + interval '12 hours',
       CASE WHEN random() < 0.02 THEN 'cancelled' ELSE 'paid' END, 50
FROM (SELECT 1 + (i % 1000000) AS c,
             DATE '2023-07-01' + (abs(hashint4(1 + i % 1000000)) % 1095) AS start
      FROM generate_series(0, 9999999) i) o;
VACUUM (FREEZE, ANALYZE) crm.orders;
CREATE TABLE bench_durations AS
SELECT round((-365 * ln(1 - random()))::numeric, 2)::float8 AS days, random() < 0.7 AS churned
FROM generate_series(1, 1000000);
VACUUM (FREEZE, ANALYZE) bench_durations;
SQL

as_of="'2026-06-30 23:59'"
cohort_function="SELECT * FROM crm.cohort_retention('month', $as_of)"
# The usual hand-written triangle: each customer's first month, then distinct buyers per cohort
# and month offset (no zero rows for empty cells, which the function adds).
cohort_sql="WITH first_purchase AS (
    SELECT contact_id, date_trunc('month', min(ordered_at)) AS cohort
    FROM crm.orders WHERE status IN ('paid', 'shipped') AND ordered_at <= $as_of GROUP BY contact_id)
SELECT f.cohort, (extract(year FROM age(date_trunc('month', o.ordered_at), f.cohort)) * 12
                  + extract(month FROM age(date_trunc('month', o.ordered_at), f.cohort)))::int AS period_number,
       count(DISTINCT o.contact_id) AS customers
FROM crm.orders o JOIN first_purchase f USING (contact_id)
WHERE o.status IN ('paid', 'shipped') AND o.ordered_at <= $as_of
GROUP BY 1, 2"

echo "== check: the function's non-empty cells equal the hand-written SQL's"
psql_bench -At -c "SELECT count(*) || ' cells differ' FROM (
    (SELECT cohort::timestamptz, period_number, customers FROM ($cohort_function) f WHERE customers > 0
     EXCEPT SELECT * FROM ($cohort_sql) s)
    UNION ALL
    (SELECT * FROM ($cohort_sql) s EXCEPT
     SELECT cohort::timestamptz, period_number, customers FROM ($cohort_function) f WHERE customers > 0)) d"

read -r count_ms function_ms sql_ms < <(time_queries "SET max_parallel_workers_per_gather = 2;" \
	"SELECT count(*) FROM crm.orders" \
	"SELECT count(*), sum(customers) FROM ($cohort_function) t" \
	"SELECT count(*), sum(customers) FROM ($cohort_sql) t")
echo "== cohort triangle, 10M orders of 1M customers (median of $runs, ms)"
printf '  count(*) of the orders         %9.1f\n' "$count_ms"
printf '  crm.cohort_retention           %9.1f\n' "$function_ms"
printf '  hand-written SQL               %9.1f\n' "$sql_ms"
awk -v f="$function_ms" -v s="$sql_ms" 'BEGIN { printf "  ratio hand-written / crm      = %.2f (target >= 1: the extension is not slower)\n", s / f }'

km_function="SELECT * FROM crm.km_table((SELECT crm.km_fit(days, churned) FROM bench_durations))"
# The product-limit estimate by hand: per distinct time, events and the number at risk (a running
# count from the end), then S as exp of a running sum of log(1 - d/n).
km_sql="SELECT time, n, d, exp(sum(CASE WHEN d < n THEN ln(1 - d::float8 / n) END) OVER (ORDER BY time)) AS survival
FROM (SELECT days AS time, count(*) FILTER (WHERE churned) AS d, sum(count(*)) OVER (ORDER BY days DESC) AS n
      FROM bench_durations GROUP BY days) per_time"
echo "== check: S(t) agrees at every time"
psql_bench -At -c "SELECT count(*) FILTER (WHERE abs(k.survival - s.survival) > 1e-9) || ' of ' || count(*) || ' times differ'
    FROM ($km_function) k JOIN ($km_sql) s ON s.time = k.time"
for workers in 0 2; do
	read -r count_ms fit_ms table_ms sql_ms < <(time_queries "SET max_parallel_workers_per_gather = $workers;" \
		"SELECT count(*) FROM bench_durations" \
		"SELECT crm.km_fit(days, churned) IS NOT NULL FROM bench_durations" \
		"SELECT count(*), sum(survival) FROM ($km_function) t" \
		"SELECT count(*), sum(survival) FROM ($km_sql) t")
	echo "== Kaplan-Meier over 1M durations, max_parallel_workers_per_gather = $workers (median of $runs, ms)"
	printf '  count(*)                       %9.1f\n' "$count_ms"
	printf '  crm.km_fit                     %9.1f   (target < 1000)\n' "$fit_ms"
	printf '  crm.km_table(crm.km_fit(...))  %9.1f\n' "$table_ms"
	printf '  hand-written SQL               %9.1f\n' "$sql_ms"
	awk -v f="$table_ms" -v s="$sql_ms" 'BEGIN { printf "  ratio hand-written / crm      = %.2f\n", s / f }'
done

psql_bench -c 'DROP TABLE bench_durations' -c 'TRUNCATE crm.orders, crm.contacts CASCADE'
