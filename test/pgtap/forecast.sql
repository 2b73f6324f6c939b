-- pgTAP: crm.bookings_distribution: text and binary forms, garbage input, the error bounds worked
-- by hand, equal amounts against the exact Poisson-binomial computed here by a second method (SQL
-- recursion), agreement with a 1,000,000-draw Monte Carlo within the stated error plus 5 standard
-- errors, combine, serial = forced parallel, and the errors of crm.bookings_simulate.
BEGIN;
SELECT plan(93);

CREATE TEMP TABLE three (amount double precision, probability double precision);
INSERT INTO three VALUES (100, 0.5), (200, 0.5), (300, 0.1);
CREATE TEMP TABLE dist (id integer, d crm.bookings_distribution);
INSERT INTO dist SELECT 1, crm.bookings_distribution(amount, probability) FROM three;

-- ---- text and binary forms ------------------------------------------------------------------
SELECT is(d::text::crm.bookings_distribution::text, d::text, 'text round trip of the worked example') FROM dist;
SELECT ok(d::text LIKE '1;3;0.78125;180;20600;0;0;0;0;0.225%', 'the text form starts with the version word 1, then count, resolution, mean, variance, bounds, missing mass, offset')
FROM dist;
SELECT is(substr(crm.bookings_distribution_send(d), 1, 12), '\x00000001'::bytea || int8send(3),
          'send writes the version word 1, then the count') FROM dist;
SELECT is(' 1 ; 2 ; 0.5 ; 0.5 ; 0.25 ; 0 ; 0 ; 0 ; 0 ; 0.5 0.5 '::crm.bookings_distribution::text,
          '1;2;0.5;0.5;0.25;0;0;0;0;0.5 0.5', 'spaces around the fields are accepted and dropped');
SELECT is(crm.bookings_quantile('1;1;2;50;2500;0;0;0;0;0.5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0.5', 0.75),
          100::float8, 'a distribution typed in reads like the aggregate''s');

CREATE TEMP TABLE dist_from_binary (LIKE dist);
CREATE TEMP TABLE dist_from_text (LIKE dist);
INSERT INTO dist SELECT 2, crm.bookings_distribution(1000 + (i * 7919) % 50000, ((i * 104729) % 1000) / 1000.0)
FROM generate_series(1, 3000) i;
INSERT INTO dist VALUES (3, NULL);
CREATE FUNCTION pg_temp.copy_file() RETURNS text LANGUAGE sql AS
    $$ SELECT '/tmp/crm_forecast_test_' || pg_backend_pid() || '.copy' $$;
DO $$
BEGIN
    EXECUTE pg_catalog.format('COPY dist TO %L (FORMAT binary)', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY dist_from_binary FROM %L (FORMAT binary)', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY dist TO %L', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY dist_from_text FROM %L', pg_temp.copy_file());
END
$$;
SELECT results_eq('SELECT id, d::text FROM dist_from_binary ORDER BY id', 'SELECT id, d::text FROM dist ORDER BY id',
                  'COPY BINARY round trip');
SELECT results_eq('SELECT id, d::text FROM dist_from_text ORDER BY id', 'SELECT id, d::text FROM dist ORDER BY id',
                  'COPY text round trip');

-- Garbage text: invalid_text_representation (numbers out of double range: 22003), never a crash.
SELECT throws_ok(pg_catalog.format('SELECT %L::crm.bookings_distribution', garbage), '22P02', NULL,
                 'text input rejects ' || pg_catalog.quote_literal(garbage))
FROM unnest(ARRAY['', ' ', '1', '1;', '2;0;1;0;0;0;0;0;0;1', '0;0;1;0;0;0;0;0;0;1',
                  '1;0;1;0;0;0;0;0;0;', '1;0;1;0;0;0;0;0;0;1 x', '1;0;1;0;0;0;0;0;0;1;',
                  '1;-1;1;0;0;0;0;0;0;1', '1;0;0;0;0;0;0;0;0;1', '1;0;-1;0;0;0;0;0;0;1',
                  '1;0;NaN;0;0;0;0;0;0;1', '1;0;1;-5;0;0;0;0;0;1', '1;0;1;0;-1;0;0;0;0;1',
                  '1;0;1;0;0;1;0;0;0;1', '1;0;1;0;0;0;-1;0;0;1', '1;0;1;0;0;0;0;2;0;1',
                  '1;0;1;0;0;0;0;0;-1;1', '1;0;1;0;0;0;0;0;0;0.5', '1;0;1;0;0;0;0;0;0;0.5 0.6',
                  '1;0;1;0;0;0;0;0;0;1.5 -0.5', '1;0;1;inf;0;0;0;0;0;1', '1;0;1;0;0;0;0;NaN;0;1',
                  '1;0;1;0;0;0;0;0;9007199254740992;1', '1,0,1,0,0,0,0,0,0,1',
                  '1;0;1;0;0;0;0;0;0;' || repeat('0 ', 8192) || '1']) garbage;
SELECT throws_ok($$SELECT '1;0;1;1e999;0;0;0;0;0;1'::crm.bookings_distribution$$, '22003', NULL,
                 'a number beyond double precision is out of range');

-- Crafted binary COPY files holding one field: bad ones give invalid_binary_representation.
CREATE FUNCTION pg_temp.copy_binary_field(field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    file_oid oid;
    loaded crm.bookings_distribution;
BEGIN
    file_oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                                 || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea);
    PERFORM lo_export(file_oid, pg_temp.copy_file());
    PERFORM lo_unlink(file_oid);
    DELETE FROM dist_from_binary;
    EXECUTE pg_catalog.format('COPY dist_from_binary (d) FROM %L (FORMAT binary)', pg_temp.copy_file());
    SELECT d INTO loaded FROM dist_from_binary;
    RETURN loaded::text;
END
$$;
-- version, count, resolution, mean, variance, error below, error above, missing, offset, cells
CREATE FUNCTION pg_temp.binary(version integer, count bigint, numbers float8[], "offset" bigint, cells float8[],
                               cell_count integer DEFAULT NULL) RETURNS bytea LANGUAGE sql AS $$
    SELECT int4send(version) || int8send(count)
           || (SELECT string_agg(float8send(x), '' ORDER BY n) FROM unnest(numbers) WITH ORDINALITY u(x, n))
           || int8send("offset") || int4send(coalesce(cell_count, cardinality(cells)))
           || coalesce((SELECT string_agg(float8send(x), '' ORDER BY n) FROM unnest(cells) WITH ORDINALITY u(x, n)), '')
$$;
SELECT is(pg_temp.copy_binary_field(pg_temp.binary(1, 2, '{0.5, 0.5, 0.25, 0, 0, 0}', 0, '{0.5, 0.5}')),
          '1;2;0.5;0.5;0.25;0;0;0;0;0.5 0.5', 'a crafted binary file loads');
SELECT throws_ok(pg_catalog.format('SELECT pg_temp.copy_binary_field(%L)', bad), '22P03', NULL, what)
FROM (VALUES
    (pg_temp.binary(2, 2, '{0.5, 0.5, 0.25, 0, 0, 0}', 0, '{0.5, 0.5}'), 'binary input rejects version 2'),
    (pg_temp.binary(1, 2, '{0.5, 0.5, 0.25, 0, 0, 0}', 0, '{0.5, 0.5}', 3), 'binary input rejects a wrong cell count'),
    (pg_temp.binary(1, 2, '{0.5, 0.5, 0.25, 0, 0, 0}', 0, '{}', 0), 'binary input rejects no cells'),
    (pg_temp.binary(1, 2, '{0, 0.5, 0.25, 0, 0, 0}', 0, '{0.5, 0.5}'), 'binary input rejects resolution 0'),
    (pg_temp.binary(1, 2, '{NaN, 0.5, 0.25, 0, 0, 0}', 0, '{0.5, 0.5}'), 'binary input rejects a NaN resolution'),
    (pg_temp.binary(1, 2, '{0.5, 0.5, Infinity, 0, 0, 0}', 0, '{0.5, 0.5}'), 'binary input rejects an infinite variance'),
    (pg_temp.binary(1, 2, '{0.5, 0.5, 0.25, 0, 0, 0}', -1, '{0.5, 0.5}'), 'binary input rejects a negative offset'),
    (pg_temp.binary(1, 2, '{0.5, 0.5, 0.25, 0, 0, 0}', 0, '{0.5, 0.6}'), 'binary input rejects cells not adding up to 1'),
    (pg_temp.binary(1, 2, '{0.5, 0.5, 0.25, 0, 0, 0}', 0, '{NaN, 0.5}'), 'binary input rejects a NaN cell'),
    (pg_temp.binary(1, -2, '{0.5, 0.5, 0.25, 0, 0, 0}', 0, '{0.5, 0.5}'), 'binary input rejects a negative count'),
    ('\x000000010000'::bytea, 'binary input rejects a truncated header')) v(bad, what);

-- ---- error bounds, by hand ------------------------------------------------------------------
-- 100 (= 0.78125 * 2^7) sets the grid step 0.78125; 333 / 0.78125 = 426.24 cells rounds to 426,
-- 332.8125: the bookings X exceed the grid value Y by 0 or 333 - 332.8125 = 0.1875 (when the deal
-- is won): X - Y in [0, 0.1875]. The grid is read shifted by s = 0.5 * 0.1875 = 0.09375 (the
-- exact mean 216.5 minus the grid's mean 216.40625), so X - (Y + s) lies in [-0.09375, 0.09375]:
-- bound 0.09375. The true P90 is 433 (outcomes 0, 100, 333, 433 at 0.25 each); read: 426 * 0.78125
-- + 0.09375 = 432.90625, within the bound.
CREATE TEMP TABLE two AS
SELECT crm.bookings_distribution(amount, 0.5) AS d FROM (VALUES (100), (333)) v(amount);
SELECT is(crm.bookings_error_bound(d), 0.09375::float8, 'error bound of 100 and 333 on the grid of 0.78125: 0.09375') FROM two;
SELECT is(crm.bookings_quantile(d, 0.9), 432.90625::float8, 'its P90 is 426 * 0.78125 + 0.09375 = 432.90625') FROM two;
SELECT ok(abs(crm.bookings_quantile(d, 0.9) - 433) <= crm.bookings_error_bound(d), 'within the bound of the true P90, 433') FROM two;
-- A re-binning: 1.5 (= 0.75 * 2) sets the step 0.75, cell 2; 0.75 adds cell 1: cells 0, 1, 2, 3.
-- 10000 would need 13333 cells > 8192: the step doubles to 1.5, the odd cells 1 and 3 split
-- half down, half up (moves of 0.75 either way, the mean kept); then 10000 / 1.5 = 6666.67 rounds
-- to 6667 cells, 10000.5, 0.5 above the deal: X - Y lies in [-0.75 - 0.5, 0.75] = [-1.25, 0.75].
-- The shift is 0.5 * -0.5 = -0.25 (grid mean 1.125 + 5000.25 = 5001.375 against the exact
-- 0.5 * (1.5 + 0.75 + 10000) = 5001.125), so X - (Y + s) lies in [-1, 1]: bound 1.
CREATE TEMP TABLE rebinned AS
SELECT crm.bookings_distribution(amount, 0.5) AS d FROM (VALUES (1, 1.5), (2, 0.75), (3, 10000)) v(i, amount);
SELECT is(crm.bookings_resolution(d), 1.5::float8, 'the re-binned grid step is 1.5') FROM rebinned;
SELECT is(crm.bookings_error_bound(d), 1::float8, 'the re-binned error bound is 1') FROM rebinned;
-- True: X = Y1 + 10000 B3 with Y1 uniform on {0, 0.75, 1.5, 2.25}. P(X >= 10000) = 0.5 exactly;
-- the grid (values 0, 1.5, 3 and 10000.5, 10002, 10003.5, shifted by -0.25) gives it for a
-- threshold anywhere in (2.75, 10000.25].
SELECT is(crm.bookings_probability_at_least(d, x), 0.5::float8,
          pg_catalog.format('P(>= %s) = 0.5', x)) FROM rebinned, unnest(ARRAY[2.76, 10000 - 1 - 2.25, 10000.25]) x;
SELECT is(crm.bookings_mean(d), 0.5 * (1.5 + 0.75 + 10000)::float8, 'the mean stays exact: 5001.125') FROM rebinned;

-- ---- equal amounts: the exact Poisson-binomial, computed again by SQL recursion --------------
-- 60 deals of 1000 with probabilities i / 61. P(k wins) by the recursion over deals
-- P_i(k) = P_{i-1}(k) (1 - p_i) + P_{i-1}(k - 1) p_i, in numeric.
CREATE TEMP TABLE poisson_binomial AS
WITH RECURSIVE pb(i, pmf) AS (
    SELECT 0, ARRAY[1::numeric]
    UNION ALL
    SELECT i + 1, ARRAY(SELECT coalesce(pmf[k + 1], 0) * (1 - (i + 1) / 61.0) + coalesce(pmf[k], 0) * ((i + 1) / 61.0)
                        FROM generate_series(0, i + 1) k ORDER BY k)
    FROM pb WHERE i < 60
)
SELECT k, pmf[k + 1] AS probability FROM pb, generate_series(0, 60) k WHERE i = 60;
CREATE TEMP TABLE equal_amounts AS
SELECT crm.bookings_distribution(1000, i / 61.0) AS d FROM generate_series(1, 60) i;
SELECT is(crm.bookings_error_bound(d), 0::float8, 'equal amounts: error bound 0 (every amount on the grid)') FROM equal_amounts;
SELECT is((SELECT max(abs(crm.bookings_probability_at_least(d, 1000 * k)
                          - (SELECT sum(probability) FROM poisson_binomial p WHERE p.k >= t.k)::float8))
           FROM equal_amounts, generate_series(0, 60) t(k)) <= 1e-12 + (SELECT crm.bookings_missing_mass(d) FROM equal_amounts),
          true, 'equal amounts: P(>= 1000 k) = the Poisson-binomial tail, k = 0 .. 60, to 1e-12');
SELECT is((SELECT max(abs((crm.bookings_probability_at_least(d, 1000 * k) - crm.bookings_probability_at_least(d, 1000 * k + 1))
                          - probability::float8)) FROM equal_amounts, poisson_binomial) <= 1e-12,
          true, 'equal amounts: the mass at 1000 k = P(k wins), to 1e-12');
-- Binomial(2000, 0.3) of 250 each: far beyond 8192 cells of the first grid, trimmed to its bulk.
-- Second method: log P(k) = log P(k - 1) + log((n - k + 1) / k) + log(p / q), from
-- log P(0) = 2000 log 0.7 (P(0) is about 1e-310). Mean 2000 * 0.3 * 250 = 150000, variance
-- 2000 * 0.21 * 250^2 = 26250000. (Below e^-700, about 1e-304, a probability counts as 0.)
CREATE TEMP TABLE binomial AS
WITH RECURSIVE b(k, log_probability) AS (
    SELECT 0, 2000 * ln(0.7::float8)
    UNION ALL
    SELECT k + 1, log_probability + ln((2000 - k)::float8 / (k + 1)) + ln(3 / 7::float8) FROM b WHERE k < 2000
)
SELECT k, CASE WHEN log_probability < -700 THEN 0 ELSE exp(log_probability) END AS probability FROM b;
SELECT ok(abs((SELECT sum(probability) FROM binomial) - 1) < 1e-12, 'the binomial probabilities add up to 1');
CREATE TEMP TABLE binomial_distribution AS
SELECT crm.bookings_distribution(250, 0.3) AS d FROM generate_series(1, 2000);
SELECT is(crm.bookings_error_bound(d), 0::float8, 'binomial(2000, 0.3) of 250: error bound 0') FROM binomial_distribution;
SELECT is(crm.bookings_mean(d), 150000::float8, 'binomial: mean 150000') FROM binomial_distribution;
SELECT ok(abs(crm.bookings_variance(d) - 26250000) < 1e-6, 'binomial: variance 26250000') FROM binomial_distribution;
SELECT ok((SELECT max(abs(crm.bookings_probability_at_least(d, 250 * k) - (SELECT sum(probability) FROM binomial b WHERE b.k >= t.k)::float8))
           FROM binomial_distribution, generate_series(500, 700) t(k)) <= 1e-12,
          'binomial: P(>= 250 k) = the binomial tail, k = 500 .. 700, to 1e-12');
SELECT ok(crm.bookings_missing_mass(d) < 1e-10, 'binomial: the trimmed tails hold less than 1e-10') FROM binomial_distribution;

-- ---- Monte Carlo: 1,000,000 draws --------------------------------------------------------------
-- 50 deals, amounts 1,000 to 50,000, probabilities 0.05 to 0.95. The stated error of a quantile
-- read from the grid is the error bound plus one grid step (the quantile is a grid value); the
-- sample quantile has standard error sqrt(q (1 - q) / N) / f(Q), f the density at Q: at most
-- sqrt(0.09 / 1e6) / (0.175 / sigma) = 0.0018 sigma for the normal shape at q = 0.1 or 0.9, so 5
-- standard errors are 0.009 sigma, taken as 0.02 sigma for the bumpier shape of 50 deals. The
-- sample P(>= x) has standard error sqrt(P (1 - P) / N) <= 0.0005: 5 of them 0.0025, and the
-- grid brackets the true value between P(>= x + bound) and P(>= x - bound) + missing mass.
CREATE TEMP TABLE fifty AS
SELECT i, 1000 + (i * 7919) % 49001 AS amount, 0.05 + ((i * 104729) % 91) / 100.0 AS probability
FROM generate_series(1, 50) i;
CREATE TEMP TABLE fifty_distribution AS SELECT crm.bookings_distribution(amount, probability) AS d FROM fifty;
CREATE TEMP TABLE fifty_simulation AS
SELECT s.*, sqrt(crm.bookings_variance(d)) AS sigma, d
FROM fifty_distribution,
     crm.bookings_simulate((SELECT array_agg(amount::float8 ORDER BY i) FROM fifty),
                           (SELECT array_agg(probability::float8 ORDER BY i) FROM fifty), 1000000, 42,
                           ARRAY[crm.bookings_mean(d) - sqrt(crm.bookings_variance(d)), crm.bookings_mean(d),
                                 crm.bookings_mean(d) + sqrt(crm.bookings_variance(d))]) s;
SELECT ok(abs(mean - crm.bookings_mean(d)) <= 5 * sigma / 1000, 'Monte Carlo mean within 5 standard errors of the exact mean') FROM fifty_simulation;
SELECT ok(abs(variance / crm.bookings_variance(d) - 1) <= 5 * sqrt(2.0 / 1000000) * 2, 'Monte Carlo variance within 10 sqrt(2 / N) of the exact variance (relative)') FROM fifty_simulation;
SELECT ok(abs(sim - crm.bookings_quantile(d, q)) <= crm.bookings_error_bound(d) + crm.bookings_resolution(d) + 0.02 * sigma,
          pg_catalog.format('P%s of the grid within its error bound + one step + 5 standard errors of the Monte Carlo P%s', q * 100, q * 100))
FROM fifty_simulation, LATERAL (VALUES (0.1, p10), (0.5, p50), (0.9, p90)) v(q, sim);
SELECT ok(probability_at_least[j] >= crm.bookings_probability_at_least(d, x + crm.bookings_error_bound(d)) - 0.0025
          AND probability_at_least[j] <= crm.bookings_probability_at_least(d, x - crm.bookings_error_bound(d))
                                         + crm.bookings_missing_mass(d) + 0.0025,
          pg_catalog.format('Monte Carlo P(>= mean %s sigma) within the grid''s bracket +/- 5 standard errors', j - 2))
FROM fifty_simulation, LATERAL (VALUES (1, crm.bookings_mean(d) - sigma), (2, crm.bookings_mean(d)), (3, crm.bookings_mean(d) + sigma)) v(j, x);
SELECT ok(crm.bookings_error_bound(d) < 0.1 * sigma, 'for 50 deals the error bound is below a tenth of a standard deviation') FROM fifty_simulation;

-- ---- combine --------------------------------------------------------------------------------
-- A (100 at 0.5) combined with B and C is the worked example: identical pmf.
CREATE TEMP TABLE parts AS
SELECT (SELECT crm.bookings_distribution(amount, probability) FROM three WHERE amount = 100) AS a,
       (SELECT crm.bookings_distribution(amount, probability) FROM three WHERE amount > 100) AS bc;
SELECT is(crm.bookings_combine(a, bc)::text, (SELECT d::text FROM dist WHERE id = 1), 'combine(A, B and C) = the three deals') FROM parts;
SELECT is(crm.bookings_combine(bc, a)::text, (SELECT d::text FROM dist WHERE id = 1), 'combine(B and C, A) = the three deals') FROM parts;
SELECT is(a::text, (SELECT crm.bookings_distribution(amount, probability)::text FROM three WHERE amount = 100),
          'combine leaves its arguments unchanged') FROM parts;
-- States on unrelated grids (333 sets 0.650390625, 100 sets 0.78125): the finer is re-gridded
-- to the coarser and the bound grows by less than one step.
SELECT ok(crm.bookings_error_bound(c) < crm.bookings_resolution(c) AND crm.bookings_mean(c) = 216.5
          AND abs(crm.bookings_quantile(c, 0.9) - 433) <= crm.bookings_error_bound(c),
          'combine across unrelated grids: bound below one step, exact mean, P90 within the bound')
FROM (SELECT crm.bookings_combine(crm.bookings_distribution(333, 0.5), crm.bookings_distribution(100, 0.5)) AS c) s;

-- ---- serial = forced parallel ---------------------------------------------------------------
-- A regular table (temporary tables are never scanned in parallel), gone at the ROLLBACK.
CREATE TABLE public.forecast_pipeline AS
SELECT i, (1 + i % 7) AS team, 500 + (i * 7919) % 20000 AS amount, ((i::bigint * 104729) % 1000) / 1000.0 AS probability,
       1000::float8 AS flat
FROM generate_series(1, 40000) i;
ANALYZE public.forecast_pipeline;
CREATE TEMP TABLE serial_answers AS
SELECT crm.bookings_distribution(amount, probability) AS d, crm.bookings_distribution(flat, probability) AS e FROM public.forecast_pipeline;
CREATE TEMP TABLE serial_teams AS
SELECT team, crm.bookings_distribution(amount, probability) AS d FROM public.forecast_pipeline GROUP BY team;
\i test/lib/parallel.sql
SET LOCAL parallel_leader_participation = off;
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.bookings_distribution(amount, probability) FROM public.forecast_pipeline') p
          WHERE p LIKE '%Partial Aggregate%'), 'bookings_distribution runs as a partial aggregate');
CREATE TEMP TABLE parallel_answers AS
SELECT crm.bookings_distribution(amount, probability) AS d, crm.bookings_distribution(flat, probability) AS e FROM public.forecast_pipeline;
CREATE TEMP TABLE parallel_teams AS
SELECT team, crm.bookings_distribution(amount, probability) AS d FROM public.forecast_pipeline GROUP BY team;
RESET max_parallel_workers_per_gather;
SELECT is(p.d IS NOT NULL AND s.d IS NOT NULL, true, 'both answers exist') FROM serial_answers s, parallel_answers p;
SELECT is(crm.bookings_count(p.d), crm.bookings_count(s.d), 'parallel count = serial count') FROM serial_answers s, parallel_answers p;
SELECT ok(abs(crm.bookings_mean(p.d) / crm.bookings_mean(s.d) - 1) < 1e-12
          AND abs(crm.bookings_variance(p.d) / crm.bookings_variance(s.d) - 1) < 1e-12,
          'parallel mean and variance = serial, to 1e-12') FROM serial_answers s, parallel_answers p;
SELECT ok(bool_and(abs(crm.bookings_quantile(p.d, q) - crm.bookings_quantile(s.d, q))
                   <= crm.bookings_error_bound(p.d) + crm.bookings_error_bound(s.d)
                      + crm.bookings_resolution(p.d) + crm.bookings_resolution(s.d)),
          'parallel P1 .. P99 = serial within both error bounds and grid steps')
FROM serial_answers s, parallel_answers p, generate_series(0.01, 0.99, 0.01) q;
SELECT ok(bool_and(abs(crm.bookings_probability_at_least(p.e, x) - crm.bookings_probability_at_least(s.e, x))
                       <= 1e-12 + crm.bookings_missing_mass(p.e) + crm.bookings_missing_mass(s.e)
                   AND crm.bookings_error_bound(p.e) = 0 AND crm.bookings_error_bound(s.e) = 0),
          'equal amounts: parallel P(>= x) = serial to 1e-12 + the tails either trimmed, both exact on the grid')
FROM serial_answers s, parallel_answers p, generate_series(18000000, 22000000, 1000) x;
SELECT ok(bool_and(crm.bookings_count(p.d) = crm.bookings_count(s.d)
                   AND abs(crm.bookings_mean(p.d) / crm.bookings_mean(s.d) - 1) < 1e-12
                   AND abs(crm.bookings_quantile(p.d, 0.5) - crm.bookings_quantile(s.d, 0.5))
                       <= crm.bookings_error_bound(p.d) + crm.bookings_error_bound(s.d)
                          + crm.bookings_resolution(p.d) + crm.bookings_resolution(s.d)),
          'grouped by team: parallel = serial') FROM serial_teams s JOIN parallel_teams p USING (team);

-- ---- crm.bookings_simulate's errors ----------------------------------------------------------
SELECT throws_ok($$SELECT crm.bookings_simulate('{1, 2}', '{0.5}', 10, 1)$$, '22023', NULL, 'simulate: arrays of different lengths');
SELECT throws_ok($$SELECT crm.bookings_simulate('{1}', '{0.5}', 0, 1)$$, '22023', NULL, 'simulate: zero trials');
SELECT throws_ok($$SELECT crm.bookings_simulate('{1}', '{0.5}', 10000001, 1)$$, '54000', NULL, 'simulate: more than 10,000,000 trials');
SELECT throws_ok($$SELECT crm.bookings_simulate('{1}', '{1.5}', 10, 1)$$, '22023', NULL, 'simulate: a probability above 1');
SELECT throws_ok($$SELECT crm.bookings_simulate('{-1}', '{0.5}', 10, 1)$$, '22023', NULL, 'simulate: a negative amount');
SELECT throws_ok($$SELECT crm.bookings_simulate('{NULL}', '{0.5}', 10, 1)$$, '22004', NULL, 'simulate: a NULL amount');
SELECT is((SELECT p50 FROM crm.bookings_simulate('{}', '{}', 10, 1)), 0::float8, 'simulate: no deals books 0');
SELECT is((SELECT row(s.*)::text FROM crm.bookings_simulate('{100, 200}', '{0.5, 0.25}', 1000, 3, '{100}') s),
          (SELECT row(s.*)::text FROM crm.bookings_simulate('{100, 200}', '{0.5, 0.25}', 1000, 3, '{100}') s),
          'simulate: the same seed gives the same draws');

SELECT * FROM finish();
ROLLBACK;
