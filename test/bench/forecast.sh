#!/usr/bin/env bash
# Benchmark: crm.bookings_distribution over 100,000 open deals (amounts 1,000 to 100,000, win
# probabilities 0 to 1), beside count(*) and sum(amount * probability) (the weighted sum it
# replaces) in the same run. Target: under 1 s for 100,000 deals, single process. Also the same
# aggregate with two parallel workers, and the 100,000-draw Monte Carlo over the same deals for
# scale. Medians of $runs interleaved runs.
# Run with: scripts/bench test/bench/forecast.sh     (FORECAST_DEALS=N for another size; do not commit that)
set -euo pipefail

runs=${RUNS:-5}
deals=${FORECAST_DEALS:-100000}
source "$(dirname "$0")/lib.bash"
bench_record forecast FORECAST_DEALS RUNS

echo "== setup: $deals open deals, amounts uniform in [1000, 100000] (cents), probabilities uniform in [0, 1] (0.001)"
psql_bench <<SQL
SELECT setseed(0.3) \g /dev/null
DROP TABLE IF EXISTS bench_forecast;
CREATE TABLE bench_forecast AS
SELECT round((1000 + 99000 * random())::numeric, 2)::float8 AS amount,
       round(random()::numeric, 3)::float8 AS probability
FROM generate_series(1, $deals);
VACUUM (FREEZE, ANALYZE) bench_forecast;
SQL

echo "== the distribution: exact mean and standard deviation, P10 / P50 / P90 from the grid, its step and bound"
psql_bench <<'SQL'
SELECT round(crm.bookings_mean(d)) AS mean, round(sqrt(crm.bookings_variance(d))) AS sd,
       round(crm.bookings_quantile(d, 0.1)) AS p10, round(crm.bookings_quantile(d, 0.5)) AS p50,
       round(crm.bookings_quantile(d, 0.9)) AS p90, round(crm.bookings_resolution(d)) AS step,
       round(crm.bookings_error_bound(d)) AS worst_case_bound
FROM (SELECT crm.bookings_distribution(amount, probability) AS d FROM bench_forecast) s;
SQL

serial="SET max_parallel_workers_per_gather = 0;"
read -r count_ms sum_ms dist_ms < <(time_queries "$serial" \
	"SELECT count(*) FROM bench_forecast" \
	"SELECT sum(amount * probability) FROM bench_forecast" \
	"SELECT crm.bookings_mean(crm.bookings_distribution(amount, probability)) FROM bench_forecast")
parallel="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
read -r parallel_ms < <(time_queries "$parallel" \
	"SELECT crm.bookings_mean(crm.bookings_distribution(amount, probability)) FROM bench_forecast")
read -r simulate_ms < <(runs=1 time_queries "" \
	"SELECT p50 FROM crm.bookings_simulate((SELECT array_agg(amount) FROM bench_forecast), (SELECT array_agg(probability) FROM bench_forecast), 1000, 1)")

echo "== $deals deals (median of $runs, ms)"
printf '  count(*)                                     %9.1f\n' "$count_ms"
printf '  sum(amount * probability)                    %9.1f\n' "$sum_ms"
printf '  crm.bookings_distribution, one process       %9.1f   (%.0f x count(*); target < 1000 ms)\n' \
	"$dist_ms" "$(echo "$dist_ms / $count_ms" | bc -l)"
printf '  crm.bookings_distribution, 2 workers         %9.1f\n' "$parallel_ms"
printf '  crm.bookings_simulate, 1,000 draws (1 run)   %9.1f\n' "$simulate_ms"
psql_bench -c "DROP TABLE bench_forecast"
