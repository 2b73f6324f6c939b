-- The distribution of bookings, worked by hand. Three open deals close independently:
--   A: 100 with probability 0.5, B: 200 with probability 0.5, C: 300 with probability 0.1.
-- The eight outcomes (A B C won?), their bookings and probabilities 0.5 * 0.5 * (0.9 or 0.1):
--   - - -  :   0   0.225        A - -  : 100   0.225
--   - B -  : 200   0.225        A B -  : 300   0.225
--   - - C  : 300   0.025        A - C  : 400   0.025
--   - B C  : 500   0.025        A B C  : 600   0.025
-- So the exact pmf is 0: 0.225, 100: 0.225, 200: 0.225, 300: 0.225 + 0.025 = 0.25, 400: 0.025,
-- 500: 0.025, 600: 0.025 (total 1), and the CDF 0.225, 0.45, 0.675, 0.925, 0.95, 0.975, 1.
-- Mean = 100 * 0.5 + 200 * 0.5 + 300 * 0.1 = 180.
-- Variance = 100^2 * 0.25 + 200^2 * 0.25 + 300^2 * 0.09 = 2500 + 10000 + 8100 = 20600.
-- Quantiles (least amount whose CDF reaches q): P10 = 0 (0.225 >= 0.1), P50 = 200 (0.45 < 0.5 <=
-- 0.675), P90 = 300 (0.675 < 0.9 <= 0.925). P(bookings >= 300) = 0.25 + 3 * 0.025 = 0.325,
-- P(bookings >= 301) = 0.075, P(bookings >= 250) = 0.325 too, P(bookings >= 0) = 1.
-- The NULL row is skipped. The first deal sets the grid: 100 = 0.78125 * 2^7, so the resolution
-- is 0.78125 and every amount (128, 256 and 384 cells) lies on it: error bound 0.
SET client_min_messages = warning;
SET extra_float_digits = 0;

CREATE TEMP TABLE deals (name text, amount double precision, probability double precision);
INSERT INTO deals VALUES ('A', 100, 0.5), ('B', 200, 0.5), ('C', 300, 0.1), ('D', NULL, 0.3), ('E', 50, NULL);

SELECT crm.bookings_count(d) AS deals, crm.bookings_mean(d) AS mean, crm.bookings_variance(d) AS variance,
       crm.bookings_resolution(d) AS resolution, crm.bookings_error_bound(d) AS error_bound,
       crm.bookings_missing_mass(d) AS missing,
       crm.bookings_quantile(d, 0.1) AS p10, crm.bookings_quantile(d, 0.5) AS p50,
       crm.bookings_quantile(d, 0.9) AS p90
FROM (SELECT crm.bookings_distribution(amount, probability) AS d FROM deals) s;

-- The pmf, as differences of P(bookings >= x): the seven amounts above, nothing in between.
SELECT x, round(crm.bookings_probability_at_least(d, x)::numeric, 12) AS at_least,
       round((crm.bookings_probability_at_least(d, x) - crm.bookings_probability_at_least(d, x + 1))::numeric, 12) AS mass
FROM (SELECT crm.bookings_distribution(amount, probability) AS d FROM deals) s,
     unnest(ARRAY[0, 50, 100, 200, 250, 300, 301, 400, 500, 600, 601]) x
ORDER BY x;

-- Quantiles at the CDF's steps: q = 0.45 is reached at 100 exactly (ties go to the lower amount),
-- q = 0.46 at 200, q = 0 at the least possible amount 0 and q = 1 at the largest, 600.
SELECT q, crm.bookings_quantile(d, q) AS quantile
FROM (SELECT crm.bookings_distribution(amount, probability) AS d FROM deals) s,
     unnest(ARRAY[0, 0.225, 0.226, 0.45, 0.46, 0.925, 0.926, 0.975, 1]::float8[]) q
ORDER BY q;

-- Grouped: A alone is 0 or 100 with 0.5 each: mean 50, variance 100^2 * 0.25 = 2500, P50 = 0
-- (CDF 0.5 at 0), P95 = 100, P(>= 100) = 0.5. B and C together are 0: 0.45, 200: 0.45,
-- 300: 0.05, 500: 0.05 (CDF 0.45, 0.9, 0.95, 1): mean 100 + 30 = 130, variance 10000 + 8100 =
-- 18100, P50 = 200, P95 = 300, P(>= 100) = 0.55.
SELECT b_and_c, crm.bookings_mean(d) AS mean, crm.bookings_variance(d) AS variance,
       crm.bookings_quantile(d, 0.5) AS p50, crm.bookings_quantile(d, 0.95) AS p95,
       crm.bookings_probability_at_least(d, 100) AS at_least_100
FROM (SELECT name IN ('B', 'C') AS b_and_c, crm.bookings_distribution(amount, probability) AS d
      FROM deals WHERE name IN ('A', 'B', 'C') GROUP BY 1) s
ORDER BY 1;

-- Certain and impossible deals: 1000 won for sure moves everything by 1000; a deal with
-- probability 0 changes nothing but the count: 5 deals, mean 1180, variance 20600 (a certain
-- deal adds none), least 1000, P50 1200, largest 1600. No rows (or only NULL rows): NULL.
SELECT crm.bookings_count(d) AS deals, crm.bookings_mean(d) AS mean, crm.bookings_variance(d) AS variance,
       crm.bookings_quantile(d, 0) AS minimum, crm.bookings_quantile(d, 0.5) AS p50,
       crm.bookings_quantile(d, 1) AS maximum
FROM (SELECT crm.bookings_distribution(amount, probability) AS d
      FROM (SELECT amount, probability FROM deals UNION ALL VALUES (1000, 1), (5000, 0)) v) s;
SELECT crm.bookings_distribution(amount, probability) IS NULL AS is_null FROM deals WHERE false;
SELECT crm.bookings_distribution(amount, probability) IS NULL AS is_null FROM deals WHERE name = 'D';

-- Invalid deals: invalid_parameter_value.
\set VERBOSITY sqlstate
SELECT crm.bookings_distribution(-1, 0.5);
SELECT crm.bookings_distribution('infinity', 0.5);
SELECT crm.bookings_distribution('NaN', 0.5);
SELECT crm.bookings_distribution(100, 1.5);
SELECT crm.bookings_distribution(100, -0.1);
SELECT crm.bookings_distribution(100, 'NaN');
SELECT crm.bookings_quantile(crm.bookings_distribution(100, 0.5), 1.5);
SELECT crm.bookings_simulate('{100}', '{0.5}', 10000001, 1);
\set VERBOSITY default

-- The Monte Carlo check on the worked example: 200,000 draws (seed 7). The sample mean has
-- standard error sqrt(20600 / 200000) = 0.32, so it lies within 5 * 0.32 = 1.6 of 180; the sample
-- P(>= 300) within 5 * sqrt(0.325 * 0.675 / 200000) = 0.0052 of 0.325. P10, P50 and P90 are the
-- exact ones (0, 200, 300) unless the sample CDF misses a step by more than 0.01 (0.675 vs 0.5,
-- 0.925 vs 0.9, 0.225 vs 0.1): more than 20 standard errors.
SELECT abs(mean - 180) <= 1.6 AS mean_ok, abs(probability_at_least[1] - 0.325) <= 0.0052 AS at_least_ok,
       p10, p50, p90
FROM crm.bookings_simulate('{100, 200, 300}', '{0.5, 0.5, 0.1}', 200000, 7, '{300}');
