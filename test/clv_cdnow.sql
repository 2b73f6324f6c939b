-- pgTAP: BG/NBD against the published reference (Fader, Hardie & Lee 2005) on the CDNOW sample:
-- r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4; for x = 2, t_x = 30.43,
-- T = 38.86, E[Y(39)] = 1.226. From the published summary and from the raw transactions.
BEGIN;
SELECT plan(17);

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
CREATE TEMP TABLE raw_fit AS SELECT (crm.bgnbd_fit(x::integer, t_x::float8, big_t::float8)).* FROM summarised;
SELECT ok(round(r::numeric, 3) = 0.243 AND round(alpha::numeric, 3) = 4.414 AND round(a::numeric, 3) = 0.793
          AND round(b::numeric, 3) = 2.426 AND round(log_likelihood::numeric, 1) = -9582.4,
          'the fit from the raw transactions reproduces the published parameters') FROM raw_fit;

-- A forced parallel plan (the table repeated 40 times) gives the serial answer.
CREATE TABLE crm_test_cdnow_big AS SELECT c.* FROM crm_test_cdnow c, generate_series(1, 40);
ANALYZE crm_test_cdnow_big;
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_fit AS SELECT (crm.bgnbd_fit(x, t_x, big_t)).* FROM crm_test_cdnow_big;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN ' || query LOOP RETURN NEXT line; END LOOP;
END
$f$;
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.bgnbd_fit(x, t_x, big_t) FROM crm_test_cdnow_big') l
                  WHERE l LIKE '%Partial Aggregate%'), 'the plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE parallel_fit AS SELECT (crm.bgnbd_fit(x, t_x, big_t)).* FROM crm_test_cdnow_big;
SELECT ok(abs(p.r - s.r) < 1e-9 AND abs(p.alpha - s.alpha) < 1e-9 AND abs(p.a - s.a) < 1e-9 AND abs(p.b - s.b) < 1e-9
          AND p.n = 94280, 'parallel and serial fits agree') FROM parallel_fit p, serial_fit s;
SELECT ok(abs(s.r - f.r) < 1e-6 AND abs(s.b - f.b) < 1e-6, 'forty copies of the data give the same parameters')
FROM serial_fit s, fit f;

-- Predictions stay finite for extreme but valid customers.
SELECT ok(bool_and(crm.bgnbd_expected_purchases(f.model, t, x, t_x, big_t) BETWEEN 0 AND 1e6
                   AND crm.bgnbd_p_alive(f.model, x, t_x, big_t) BETWEEN 0 AND 1),
          'x in the thousands, t_x = T, tiny T, long horizons: finite, in range')
FROM fit f, (VALUES (5000, 100.0, 100.0, 52.0), (3000, 1.0, 200.0, 520.0), (1, 1e-6, 1e-6, 1000.0),
                    (0, 0.0, 1e-9, 39.0), (0, 0.0, 0.0, 0.0), (2, 30.43, 38.86, 0.0)) v(x, t_x, big_t, t);
SELECT is(round(crm.bgnbd_expected_purchases(f.model, 39)::numeric, 4),
          round(crm.bgnbd_expected_purchases(f.model, 39, 0, 0, 0)::numeric, 4),
          'E[X(t)] is E[Y(t)] of a customer just acquired') FROM fit f;

-- Errors: 22023 for invalid summaries and for fits without enough to fit.
SELECT throws_ok($$SELECT crm.bgnbd_fit(x, t_x, big_t) FROM (VALUES (1, 5.0, 4.0)) v(x, t_x, big_t)$$, '22023', NULL, 't_x > T');
SELECT throws_ok($$SELECT crm.bgnbd_fit(x, t_x, big_t) FROM (VALUES (0, 0.0, 4.0), (0, 0.0, 5.0)) v(x, t_x, big_t)$$, '22023',
                 'no customer made a repeat purchase', 'no repeat purchases');

SELECT * FROM finish();
ROLLBACK;
