-- pgTAP: BG/NBD against the published reference (Fader, Hardie & Lee 2005) on the CDNOW sample:
-- r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4; for x = 2, t_x = 30.43,
-- T = 38.86, E[Y(39)] = 1.226. From the published summary and from the raw transactions.
BEGIN;
SELECT plan(41);

CREATE TABLE crm_test_cdnow (id integer, x integer, t_x double precision, big_t double precision);
\copy crm_test_cdnow FROM 'test/data/cdnow_customers_summary.csv' WITH (FORMAT csv, HEADER)
CREATE TEMP TABLE fit AS SELECT (m).*, m AS model FROM (SELECT crm.bgnbd_fit(x, t_x, big_t) AS m FROM crm_test_cdnow) s;

SELECT is(round(r::numeric, 3), 0.243, 'r = 0.243') FROM fit;
SELECT is(round(alpha::numeric, 3), 4.414, 'alpha = 4.414') FROM fit;
SELECT is(round(a::numeric, 3), 0.793, 'a = 0.793') FROM fit;
SELECT is(round(b::numeric, 3), 2.426, 'b = 2.426') FROM fit;
SELECT is(round(log_likelihood::numeric, 1), -9582.4, 'log-likelihood = -9582.4') FROM fit;
SELECT ok(converged AND n = 2357, 'converged over 2,357 customers') FROM fit;
SELECT is(round(crm.bgnbd_expected_purchases(f.model, 39, 2, 30.43, 38.86)::numeric, 3), 1.226,
          'E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226') FROM fit f;

-- The raw transactions (master id, sample id, YYYYMMDD, CDs, dollars), summarised in SQL in
-- weeks as of 1997-09-30: x = purchase days after the first, t_x and T from the first day.
CREATE TEMP TABLE raw_lines (line text);
\copy raw_lines FROM 'test/data/CDNOW_sample.txt'
CREATE TEMP TABLE purchases AS
SELECT f[2]::integer AS id, to_date(f[3], 'YYYYMMDD') AS day
FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM raw_lines) l;
CREATE TEMP TABLE summarised AS
SELECT id, count(DISTINCT day) FILTER (WHERE day <= '1997-09-30') - 1 AS x,
       (max(day) FILTER (WHERE day <= '1997-09-30') - min(day)) / 7.0 AS t_x,
       (DATE '1997-09-30' - min(day)) / 7.0 AS big_t
FROM purchases GROUP BY id;
SELECT is((SELECT count(*)::int FROM summarised), 2357, 'the raw file holds the 2,357 customers');
SELECT is((SELECT count(*)::int FROM summarised s JOIN crm_test_cdnow c USING (id)
           WHERE s.x = c.x AND round(s.t_x, 2) = c.t_x AND round(s.big_t, 2) = c.big_t), 2357,
          'the SQL summary reproduces the published x, t_x, T of every customer');
SELECT is((SELECT count(*)::int FROM (
              SELECT id, (crm.clv_summary(day::timestamptz, 1, '1997-09-30', 7)).* FROM purchases GROUP BY id) a
           JOIN crm_test_cdnow c USING (id)
           WHERE a.x = c.x AND round(a.t_x::numeric, 2) = c.t_x::numeric AND round(a.big_t::numeric, 2) = c.big_t::numeric), 2357,
          'crm.clv_summary over the raw transactions reproduces the published x, t_x, T too');
CREATE TEMP TABLE raw_fit AS SELECT (crm.bgnbd_fit(x::integer, t_x::float8, big_t::float8)).* FROM summarised;
SELECT ok(round(r::numeric, 3) = 0.243 AND round(alpha::numeric, 3) = 4.414 AND round(a::numeric, 3) = 0.793
          AND round(b::numeric, 3) = 2.426 AND round(log_likelihood::numeric, 1) = -9582.4,
          'the fit from the raw transactions reproduces the published parameters') FROM raw_fit;

-- Gamma-Gamma on the 946 repeat customers, published p = 6.25, q = 3.74, gamma = 15.44. From the
-- raw transactions (the mean value of each customer's repeat purchase days) exactly those; the
-- summary file's zbar is rounded to cents, which moves gamma to 15.448.
CREATE TEMP TABLE spend AS
SELECT id, count(*) - 1 AS x, avg(v) FILTER (WHERE day > first_day) AS m
FROM (SELECT id, day, sum(dollars) AS v, min(day) OVER (PARTITION BY id) AS first_day
      FROM (SELECT f[2]::integer AS id, to_date(f[3], 'YYYYMMDD') AS day, f[5]::numeric AS dollars
            FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM raw_lines) l) t
      WHERE day <= '1997-09-30' GROUP BY id, day) d
GROUP BY id;
CREATE TEMP TABLE gg_fit AS SELECT (g).*, g AS model FROM (SELECT crm.gammagamma_fit(x::integer, m::float8) AS g FROM spend) s;
SELECT ok(round(p::numeric, 2) = 6.25 AND round(q::numeric, 2) = 3.74 AND round(gamma::numeric, 2) = 15.44
          AND n = 946 AND converged, 'Gamma-Gamma from the raw transactions: p = 6.25, q = 3.74, gamma = 15.44 over 946 customers')
FROM gg_fit;
CREATE TEMP TABLE cdnow_zbar (id integer, x integer, t_x float8, big_t float8, zbar float8);
\copy cdnow_zbar FROM 'test/data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
SELECT ok(round((g).p::numeric, 2) = 6.25 AND round((g).q::numeric, 2) = 3.74 AND abs((g).gamma - 15.448) < 0.001,
          'from the rounded summary file: p = 6.25, q = 3.74, gamma = 15.448')
FROM (SELECT crm.gammagamma_fit(x, zbar) AS g FROM cdnow_zbar) s;
-- E[M | x = 2, m = 22.35] = (1 - w) p gamma / (q - 1) + w m with w = 2p / (2p + q - 1), by hand:
-- population mean 6.2496 * 15.4435 / 2.7442 = 35.170; w = 12.4991 / 15.2433 = 0.8200;
-- 0.1800 * 35.170 + 0.8200 * 22.35 = 24.66.
SELECT is(round(crm.gammagamma_expected_spend(model, 2, 22.35)::numeric, 2), 24.66, 'E[M | x = 2, m = 22.35] = 24.66') FROM gg_fit;
SELECT is(round(crm.gammagamma_expected_spend(model, 0, NULL)::numeric, 2), 35.17, 'x = 0: the population mean 35.17') FROM gg_fit;
-- One month of CLV is E[M] E[Y(4.345)] / (1 + d).
SELECT ok(abs(crm.clv(f.model, g.model, 2, 30.43, 38.86, 22.35, 1, 0.01, 4.345)
              - crm.gammagamma_expected_spend(g.model, 2, 22.35) * crm.bgnbd_expected_purchases(f.model, 4.345, 2, 30.43, 38.86) / 1.01) < 1e-9,
          'one month of CLV: E[M] E[Y(f)] / (1 + d)') FROM fit f, gg_fit g;
SELECT ok(crm.clv(f.model, g.model, 2, 30.43, 38.86, 22.35, 24, 0.01, 4.345) > crm.clv(f.model, g.model, 2, 30.43, 38.86, 22.35, 12, 0.01, 4.345),
          'more months, more value') FROM fit f, gg_fit g;
SELECT throws_ok($$SELECT crm.gammagamma_fit(x, m) FROM (VALUES (2, 10.0), (3, -1.0)) v(x, m)$$, '22023', NULL, 'negative spend');
SELECT is(crm.clv_simple(50, 4, 3), 600::float8, 'textbook CLV: 50 x 4 x 3 = 600');
SELECT throws_ok('SELECT crm.clv_simple(50, -4, 3)', '22023', 'CLV inputs must not be negative', 'negative frequency');

-- A forced parallel plan (the table repeated 40 times) gives the serial answer.
CREATE TABLE crm_test_cdnow_big AS SELECT c.* FROM crm_test_cdnow c, generate_series(1, 40);
ANALYZE crm_test_cdnow_big;
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_fit AS SELECT (crm.bgnbd_fit(x, t_x, big_t)).* FROM crm_test_cdnow_big;
\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.bgnbd_fit(x, t_x, big_t) FROM crm_test_cdnow_big') l
                  WHERE l LIKE '%Partial Aggregate%'), 'the plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE parallel_fit AS SELECT (crm.bgnbd_fit(x, t_x, big_t)).* FROM crm_test_cdnow_big;
SELECT ok(abs(p.r - s.r) < 1e-9 AND abs(p.alpha - s.alpha) < 1e-9 AND abs(p.a - s.a) < 1e-9 AND abs(p.b - s.b) < 1e-9
          AND p.n = 94280, 'parallel and serial fits agree') FROM parallel_fit p, serial_fit s;
SELECT ok(abs(s.r - f.r) < 1e-6 AND abs(s.b - f.b) < 1e-6, 'forty copies of the data give the same parameters')
FROM serial_fit s, fit f;
-- Gamma-Gamma and the per-customer summaries in parallel too. Half the copies' spends are moved
-- by 1e-7, so the partial states hold both repeated and distinct summaries to merge.
CREATE TABLE crm_test_spend_big AS SELECT s.x::int AS x, s.m::float8 + (k % 2) * 1e-7 AS m FROM spend s, generate_series(1, 40) k;
ANALYZE crm_test_spend_big;
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.gammagamma_fit(x, m) FROM crm_test_spend_big') l
                  WHERE l LIKE '%Partial Aggregate%'), 'the Gamma-Gamma plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE gg_parallel AS SELECT (crm.gammagamma_fit(x, m)).* FROM crm_test_spend_big;
-- 50 groups of many purchases each: only then is a partial aggregate worth it to the planner
CREATE TABLE crm_test_purchases_big AS SELECT (id * 10 + k) % 50 AS customer, day FROM purchases, generate_series(1, 4) k;
ANALYZE crm_test_purchases_big;
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of($$SELECT customer, crm.clv_summary(day::timestamptz, 1, '1997-09-30', 7)
                                                FROM crm_test_purchases_big GROUP BY customer$$) l
                  WHERE l LIKE '%Partial%Aggregate%'), 'the summaries'' plan is parallel (a partial aggregate)');
CREATE TEMP TABLE summaries_parallel AS
SELECT customer, (crm.clv_summary(day::timestamptz, 1, '1997-09-30', 7)).* FROM crm_test_purchases_big GROUP BY customer;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT ok(abs(p.p - s.p) < 1e-9 AND abs(p.q - s.q) < 1e-9 AND abs(p.gamma - s.gamma) < 1e-9 AND p.n = s.n AND p.n = 37840,
          'parallel and serial Gamma-Gamma fits agree')
FROM gg_parallel p, (SELECT (crm.gammagamma_fit(x, m)).* FROM crm_test_spend_big) s;
SELECT is_empty($$SELECT * FROM summaries_parallel EXCEPT
                  SELECT customer, (crm.clv_summary(day::timestamptz, 1, '1997-09-30', 7)).* FROM crm_test_purchases_big GROUP BY customer$$,
                'parallel and serial summaries agree for every customer');
SET LOCAL max_parallel_workers_per_gather = 2;

-- Over 200,000 distinct summaries the fit starts from a stratified sample's fit. A hundred copies
-- of the data with every T moved by a different amount, at most 2.4e-4 weeks, are all distinct
-- and barely move the optimum: the parameters must match the fit to the data itself.
SELECT is((SELECT count(DISTINCT (x, t_x, big_t + (id * 100 + k) * 1e-9))::int
           FROM crm_test_cdnow, generate_series(1, 100) k), 235700, '235,700 distinct summaries');
CREATE TEMP TABLE jittered_fit AS
SELECT (crm.bgnbd_fit(x, t_x, big_t + (id * 100 + k) * 1e-9)).* FROM crm_test_cdnow, generate_series(1, 100) k;
SELECT ok(j.converged AND j.n = 235700 AND abs(j.r / f.r - 1) < 1e-4 AND abs(j.alpha / f.alpha - 1) < 1e-4
          AND abs(j.a / f.a - 1) < 1e-4 AND abs(j.b / f.b - 1) < 1e-4,
          'a fit over 235,700 distinct summaries (started from a sample) finds the same optimum')
FROM jittered_fit j, fit f;

-- crm.clv shares the hypergeometric series between the months; the sum of the monthly increments
-- of crm.bgnbd_expected_purchases, each with its own series, is the independent check.
SELECT ok(bool_and(abs(crm.clv(f.model, g.model, v.x, v.t_x, v.big_t, v.m, 36, 0.01, 4.345) - by_month.value)
                   <= 1e-9 * by_month.value),
          'crm.clv equals the discounted sum of E[M] E[Y] month by month, x = 0 to 3000')
FROM fit f, gg_fit g, (VALUES (0, 0.0, 30.0, NULL), (2, 30.43, 38.86, 22.35), (1, 0.5, 70.0, 10.0),
                             (40, 60.0, 61.0, 30.0), (3000, 77.0, 78.0, 12.0)) v(x, t_x, big_t, m),
     LATERAL (SELECT sum(crm.gammagamma_expected_spend(g.model, v.x, v.m)
                         * (crm.bgnbd_expected_purchases(f.model, i * 4.345, v.x, v.t_x, v.big_t)
                            - crm.bgnbd_expected_purchases(f.model, (i - 1) * 4.345, v.x, v.t_x, v.big_t))
                         / 1.01 ^ i) AS value
              FROM generate_series(1, 36) i) by_month;
SELECT ok(crm.clv(NULL, g.model, 2, 30.43, 38.86, 22.35, 12, 0.01, 4.345) IS NULL
          AND crm.clv(f.model, g.model, 2, 30.43, 38.86, NULL, 12, 0.01, 4.345) IS NULL
          AND crm.clv(f.model, g.model, 0, 0, 30, NULL, 12, 0.01, 4.345) > 0,
          'crm.clv: NULL in, NULL out, but m may be NULL for a customer without repeat purchases')
FROM fit f, gg_fit g;
SELECT ok(crm.gammagamma_expected_spend(NULL, 2, 22.35) IS NULL AND crm.gammagamma_expected_spend(model, NULL, 22.35) IS NULL
          AND crm.gammagamma_expected_spend(model, 2, NULL) IS NULL,
          'expected spend: a NULL model, x, or m of a repeat customer gives NULL') FROM gg_fit;
SELECT throws_ok($$SELECT crm.clv(f.model, g.model, 2, 30.43, 38.86, 22.35, 1201, 0.01, 4.345) FROM fit f, gg_fit g$$,
                 '22023', 'months must be between 0 and 1200', 'months out of range');
SELECT throws_ok($$SELECT crm.clv(f.model, g.model, 2, 30.43, 38.86, 22.35, 12, 0.01, 0) FROM fit f, gg_fit g$$,
                 '22023', 'units_per_month must be a positive, finite number', 'units_per_month 0');

-- Predictions stay finite for extreme but valid customers.
SELECT ok(bool_and(crm.bgnbd_expected_purchases(f.model, t, x, t_x, big_t) BETWEEN 0 AND 1e6
                   AND crm.bgnbd_p_alive(f.model, x, t_x, big_t) BETWEEN 0 AND 1),
          'x in the thousands, t_x = T, tiny T, long horizons: finite, in range')
FROM fit f, (VALUES (5000, 100.0, 100.0, 52.0), (3000, 1.0, 200.0, 520.0), (1, 1e-6, 1e-6, 1000.0),
                    (0, 0.0, 1e-9, 39.0), (0, 0.0, 0.0, 0.0), (2, 30.43, 38.86, 0.0)) v(x, t_x, big_t, t);
SELECT is(round(crm.bgnbd_expected_purchases(f.model, 39)::numeric, 4),
          round(crm.bgnbd_expected_purchases(f.model, 39, 0, 0, 0)::numeric, 4),
          'E[X(t)] is E[Y(t)] of a customer just acquired') FROM fit f;

-- P(X(t) = n) against two independent facts: the probabilities sum to 1, and their mean is
-- E[X(t)], which comes from a different formula (the 2F1 closed form).
SELECT ok(bool_and(abs(total - 1) < 1e-9 AND abs(mean - crm.bgnbd_expected_purchases(model, t)) < 1e-7),
          'P(X(t) = n) sums to 1 and its mean is E[X(t)], for t = 1, 39, 78, 500')
FROM (SELECT f.model, v.t, sum(crm.bgnbd_p_purchases(f.model, k, v.t)) AS total,
             sum(k * crm.bgnbd_p_purchases(f.model, k, v.t)) AS mean
      FROM fit f, generate_series(0, 3000) k, (VALUES (1.0::float8), (39.0), (78.0), (500.0)) v(t)
      GROUP BY f.model, v.t) s;
-- The model's count of customers without a repeat purchase in the calibration period, summed
-- over their ages: 1,407.7 against 1,411 observed.
SELECT is(round(sum(crm.bgnbd_p_purchases(f.model, 0, c.big_t))::numeric), 1408::numeric,
          'expected customers with no repeat purchase: 1,408 (1,411 observed)') FROM fit f, crm_test_cdnow c;
SELECT throws_ok($$SELECT crm.bgnbd_p_purchases(model, -1, 10) FROM fit$$, '22023', NULL, 'negative n');

-- Errors: 22023 for invalid summaries and for fits without enough to fit.
SELECT throws_ok($$SELECT crm.bgnbd_fit(x, t_x, big_t) FROM (VALUES (1, 5.0, 4.0)) v(x, t_x, big_t)$$, '22023', NULL, 't_x > T');
SELECT throws_ok($$SELECT crm.bgnbd_fit(x, t_x, big_t) FROM (VALUES (0, 0.0, 4.0), (0, 0.0, 5.0)) v(x, t_x, big_t)$$, '22023',
                 'no customer made a repeat purchase', 'no repeat purchases');

SELECT * FROM finish();
ROLLBACK;
