#!/usr/bin/env bash
# Benchmark: customer lifetime value over 1 million customers. Their 10 million orders are
# simulated from a known BG/NBD model (the fit has a true optimum to find, as on real data), then
# in one run: the customer summaries built from the orders (crm.clv_summary beside the best
# hand-written SQL for the same numbers), the BG/NBD and Gamma-Gamma fits over the 1 million
# summaries, and the predictions for every customer; count(*) over the same tables is the
# baseline. Medians of $runs runs (psql \timing), runs interleaved.
# Run with: scripts/bench test/bench/clv.sh
set -euo pipefail

runs=5
customers=${CLV_BENCH_CUSTOMERS:-1000000}
source "$(dirname "$0")/lib.bash"
bench_record clv CLV_BENCH_CUSTOMERS

# The true model, in weeks: purchase rates lambda ~ Gamma(r, alpha), dropout probabilities
# p ~ Beta(a, b); about 9.5 expected repeat purchases over the 52 to 104 weeks observed.
true_r=1 true_alpha=5 true_a=0.5 true_b=6

echo "== setup: $customers customers simulated from BG/NBD (r $true_r, alpha $true_alpha, a $true_a, b $true_b; weeks)"
psql_bench <<SQL
-- Marsaglia and Tsang's Gamma(shape, 1) draw; shapes below 1 through the boost u^(1/shape).
CREATE FUNCTION bench_gamma(shape double precision) RETURNS double precision LANGUAGE plpgsql AS \$\$
DECLARE d double precision := greatest(shape, 1) - 1.0 / 3; c double precision; x double precision;
        v double precision;
BEGIN
    IF shape < 1 THEN
        RETURN bench_gamma(shape + 1) * power(1 - random(), 1 / shape);
    END IF;
    c := 1 / sqrt(9 * d);
    LOOP
        x := sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random());
        v := power(1 + c * x, 3);
        IF v > 0 AND ln(1 - random()) < 0.5 * x * x + d - d * v + d * ln(v) THEN
            RETURN d * v;
        END IF;
    END LOOP;
END \$\$;

-- One customer's orders: the first at day first_day of 2024, then a Poisson process of rate
-- lambda per week, each repeat purchase followed by dropout with probability p, until the
-- observation end (day 730). Amounts: a customer mean around 40 with noise per order.
CREATE FUNCTION bench_customer_orders(customer integer, r float8, alpha float8, a float8, b float8)
RETURNS TABLE (customer_id integer, ordered_at timestamptz, amount float8) LANGUAGE plpgsql AS \$\$
DECLARE first_day float8 := floor(365 * random()); weeks float8 := 0;
        horizon float8 := (730 - first_day) / 7; lambda float8 := bench_gamma(r) / alpha;
        beta_a float8 := bench_gamma(a); p float8 := beta_a / (beta_a + bench_gamma(b));
        mean_amount float8 := 20 + 40 * random();
BEGIN
    customer_id := customer;
    LOOP
        ordered_at := timestamptz '2024-01-01 00:00+00' + (first_day + 7 * weeks) * interval '1 day';
        amount := round((mean_amount * (0.5 + random()))::numeric, 2);
        RETURN NEXT;
        EXIT WHEN weeks > 0 AND random() < p;
        weeks := weeks - ln(1 - random()) / lambda;
        EXIT WHEN weeks >= horizon;
    END LOOP;
END \$\$;

SELECT setseed(0.42) \g /dev/null
CREATE TABLE bench_orders AS
SELECT o.* FROM generate_series(1, $customers) c,
     LATERAL bench_customer_orders(c, $true_r, $true_alpha, $true_a, $true_b) o;
VACUUM (FREEZE, ANALYZE) bench_orders;
SQL
psql_bench -At -c "SELECT '   ' || count(*) || ' orders' FROM bench_orders"

end_at="timestamptz '2025-12-31 00:00+00'"
# The same numbers by hand: purchase days in UTC, repeat days after the first, their mean value.
summary_sql="SELECT customer_id, count(*) - 1 AS x, (max(day) - min(day)) / 7.0 AS t_x,
       (($end_at)::date - min(day)) / 7.0 AS big_t,
       CASE WHEN count(*) > 1 THEN (sum(value) - (array_agg(value ORDER BY day))[1]) / (count(*) - 1) ELSE 0 END AS m
FROM (SELECT customer_id, (ordered_at AT TIME ZONE 'UTC')::date AS day, sum(amount) AS value
      FROM bench_orders WHERE ordered_at <= $end_at GROUP BY 1, 2) d GROUP BY customer_id"
summary_function="SELECT customer_id, (s).* FROM (
    SELECT customer_id, crm.clv_summary(ordered_at, amount, $end_at, 7) AS s FROM bench_orders GROUP BY customer_id) f"

psql_bench <<SQL
SET TIME ZONE 'UTC';
CREATE TABLE bench_summaries AS $summary_function;
VACUUM (FREEZE, ANALYZE) bench_summaries;
SQL
echo "== check: crm.clv_summary equals the hand-written SQL for every customer"
psql_bench -At -c "SET TIME ZONE 'UTC'; SELECT count(*) || ' customers differ' FROM ($summary_sql) s
    FULL JOIN bench_summaries f USING (customer_id)
    WHERE f.x IS DISTINCT FROM s.x::int OR abs(f.t_x - s.t_x) > 1e-9 OR abs(f.big_t - s.big_t) > 1e-9
       OR abs(f.m - s.m) > 1e-6"

read -r count_ms function_ms sql_ms < <(time_queries "SET TIME ZONE 'UTC';" \
	"SELECT count(*) FROM bench_orders" \
	"SELECT count(*), sum(x), sum(t_x), sum(big_t), sum(m) FROM ($summary_function) f" \
	"SELECT count(*), sum(x), sum(t_x), sum(big_t), sum(m) FROM ($summary_sql) s")
echo "== customer summaries from the orders (median of $runs, ms)"
printf '  count(*) of the orders         %9.1f\n' "$count_ms"
printf '  crm.clv_summary                %9.1f   %5.2f x count(*), %5.2f x faster than SQL\n' \
	"$function_ms" "$(echo "$function_ms / $count_ms" | bc -l)" "$(echo "$sql_ms / $function_ms" | bc -l)"
printf '  hand-written SQL               %9.1f\n' "$sql_ms"

echo "== the fits (true model: r $true_r, alpha $true_alpha, a $true_a, b $true_b)"
psql_bench -c "SELECT round(r::numeric, 4) AS r, round(alpha::numeric, 4) AS alpha, round(a::numeric, 4) AS a,
                      round(b::numeric, 4) AS b, n, iterations, converged
               FROM (SELECT (crm.bgnbd_fit(x, t_x, big_t)).* FROM bench_summaries) f"
psql_bench <<'SQL'
-- the same rows, never scanned by parallel workers: the fit's time in one process
CREATE TABLE bench_summaries_serial WITH (parallel_workers = 0) AS SELECT * FROM bench_summaries;
VACUUM (FREEZE, ANALYZE) bench_summaries_serial;
CREATE TABLE bench_models AS
SELECT (SELECT crm.bgnbd_fit(x, t_x, big_t) FROM bench_summaries) AS bgnbd,
       (SELECT crm.gammagamma_fit(x, m) FROM bench_summaries WHERE x > 0) AS gammagamma;
SQL

# The models as scalar subqueries: computed once, and handed to parallel workers as parameters.
bgnbd="(SELECT bgnbd FROM bench_models)" gammagamma="(SELECT gammagamma FROM bench_models)"
fit="SELECT crm.bgnbd_fit(x, t_x, big_t) FROM bench_summaries"
read -r count_ms fit_ms fit_serial_ms gammagamma_ms alive_ms expected_ms clv_ms < <(time_queries "" \
	"SELECT count(*) FROM bench_summaries" \
	"$fit" \
	"SELECT crm.bgnbd_fit(x, t_x, big_t) FROM bench_summaries_serial" \
	"SELECT crm.gammagamma_fit(x, m) FROM bench_summaries WHERE x > 0" \
	"SELECT sum(crm.bgnbd_p_alive($bgnbd, x, t_x, big_t)) FROM bench_summaries" \
	"SELECT sum(crm.bgnbd_expected_purchases($bgnbd, 13, x, t_x, big_t)) FROM bench_summaries" \
	"SELECT sum(crm.clv($bgnbd, $gammagamma, x, t_x, big_t, m, 12, 0.01, 4.345)) FROM bench_summaries")
echo "== over $customers customer summaries (median of $runs, ms; targets: fit and predictions under 1000)"
printf '  count(*) of the summaries            %9.1f\n' "$count_ms"
printf '  crm.bgnbd_fit                        %9.1f\n' "$fit_ms"
printf '  crm.bgnbd_fit, no parallel workers   %9.1f\n' "$fit_serial_ms"
printf '  crm.gammagamma_fit (x > 0)           %9.1f\n' "$gammagamma_ms"
printf '  crm.bgnbd_p_alive, every customer    %9.1f\n' "$alive_ms"
printf '  E[purchases in 13 weeks], every one  %9.1f\n' "$expected_ms"
printf '  crm.clv over 12 months, every one    %9.1f\n' "$clv_ms"
