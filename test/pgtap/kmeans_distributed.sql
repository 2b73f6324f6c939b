-- pgTAP: crm.kmeans's partial state (crm.kmeans_state) and the distributed fit crm.kmeans_table
-- with its pushed-down step aggregate crm.kmeans_step (state crm.kmeans_step_state): text forms,
-- errors by SQLSTATE, order independence, the step's sums checked in SQL, the state's length
-- formula, and the driver's model against the aggregate's and against known blob centres.
BEGIN;
SELECT plan(55);

-- ---- crm.kmeans_state ------------------------------------------------------------------------
SELECT is('v1 k 3 seed 5 standardize false points {{1,2},{3,-0},{0.1,1e+300}}'::crm.kmeans_state::text,
          'v1 k 3 seed 5 standardize false points {{1,2},{3,0},{0.1,1e+300}}', 'state text: reads back (-0 as 0)');
SELECT is('v1 k 1 seed -2147483648 standardize true points {}'::crm.kmeans_state::text,
          'v1 k 1 seed -2147483648 standardize true points {}', 'state text: an empty state');
SELECT throws_ok(format('SELECT %L::crm.kmeans_state', t), '22P02', NULL, 'state text rejected: ' || t)
FROM unnest(ARRAY['', 'v2 k 3 seed 5 standardize false points {}', 'v1 k 0 seed 5 standardize false points {}',
                  'v1 k 3 seed 2147483648 standardize false points {}', 'v1 k 3 seed 5 standardize maybe points {}',
                  'v1 k 3 seed 5 standardize false points {{1,2},{3}}', 'v1 k 3 seed 5 standardize false points {{NaN}}',
                  'v1 k 3 seed 5 standardize false points {{1}} x', 'v1 k 3 seed 5 standardize false points {{}}',
                  'v1 k 3 seed 5 standardize false']) t;
-- The state's binary form: 32 bytes of header, then 8 per coordinate.
SELECT is(octet_length(crm.kmeans_state_send('v1 k 3 seed 5 standardize false points {{1,2},{3,4},{5,6}}')), 32 + 8 * 6,
          'state binary form: 32 + 8 n d bytes');
-- The final function on a state given by hand, and partial states combined in either order.
SELECT is(crm.kmeans_final('v1 k 2 seed 5 standardize false points {{1,2},{3,4},{5,5}}'), '{{1,2},{4,4.5}}'::float8[],
          'kmeans_final on a state: the two clusters {(1,2)} and {(3,4),(5,5)} (means by hand)');
CREATE TABLE km_points AS
SELECT i, ARRAY[(hashint4(i) % 1000) / 10.0, (hashint4(i + 7777) % 1000) / 10.0]::float8[] AS f FROM generate_series(1, 3000) i;
-- The aggregate without its final function: a partial state.
CREATE AGGREGATE pg_temp.km_partial(double precision[], integer, integer) (SFUNC = crm.kmeans_transition, STYPE = crm.kmeans_state);
CREATE TEMP TABLE km_halves AS
SELECT (SELECT pg_temp.km_partial(f, 5, 9) FROM km_points WHERE i % 3 = 0) AS a,
       (SELECT pg_temp.km_partial(f, 5, 9) FROM km_points WHERE i % 3 <> 0) AS b;
SELECT ok(crm.kmeans_final(crm.kmeans_combine(a, b)) = crm.kmeans_final(crm.kmeans_combine(b, a))
          AND crm.kmeans_final(crm.kmeans_combine(a, b)) = (SELECT crm.kmeans(f, 5, 9) FROM km_points)
          AND a::text::crm.kmeans_state::text = a::text,
          'two partial states combined in either order give the aggregate''s answer over all rows') FROM km_halves;
SELECT ok((SELECT crm.kmeans(f, 5, 9) FROM km_points) = (SELECT crm.kmeans(f, 5, 9) FROM (SELECT f FROM km_points ORDER BY f[2], i DESC) s),
          'the aggregate does not depend on the row order');
-- Parallel plans: the state travels between processes as crm.kmeans_state.
\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.kmeans(f, 5, 9) FROM km_points') l WHERE l LIKE '%Partial Aggregate%'),
          'kmeans: the plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE km_parallel AS
SELECT (SELECT crm.kmeans(f, 5, 9) FROM km_points) AS c, (SELECT crm.kmeans(f, 5, 9, true) FROM km_points)::text AS m,
       (SELECT crm.kmeans_step(f, 'v1 mean {0,0} scale {1,1} centroids {{10,10},{50,50},{90,90}}'::crm.kmeans_model) FROM km_points)::text AS s;
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of($$SELECT crm.kmeans_step(f, 'v1 mean {0,0} scale {1,1} centroids {{10,10},{50,50},{90,90}}') FROM km_points$$) l
                  WHERE l LIKE '%Partial Aggregate%'), 'kmeans_step: the plan is parallel (Partial Aggregate)');
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT ok((SELECT c FROM km_parallel) = (SELECT crm.kmeans(f, 5, 9) FROM km_points)
          AND (SELECT m FROM km_parallel) = (SELECT crm.kmeans(f, 5, 9, true) FROM km_points)::text,
          'kmeans: parallel and serial answers are identical');
RESET max_parallel_workers_per_gather;

-- ---- crm.kmeans_step --------------------------------------------------------------------------
-- Counts, sums and inertia for a fixed model, recomputed in SQL: each point's nearest centroid
-- by brute force over the three centroids (the lowest index on ties), summed with sum().
CREATE TEMP TABLE km_step AS
SELECT crm.kmeans_step(f, 'v1 mean {0,0} scale {1,1} centroids {{10,10},{50,50},{90,90}}') AS s FROM km_points;
CREATE TEMP TABLE km_brute AS
SELECT r, count(*) AS n, sum(f[1]) AS s1, sum(f[2]) AS s2, sum(d) AS inertia
FROM km_points p, LATERAL (SELECT r, (p.f[1] - c) ^ 2 + (p.f[2] - c) ^ 2 AS d
                           FROM unnest(ARRAY[10, 50, 90]::float8[]) WITH ORDINALITY u(c, r) ORDER BY 2, 1 LIMIT 1) nearest
GROUP BY r;
SELECT is(crm.kmeans_step_counts(s), (SELECT array_agg(n ORDER BY r) FROM km_brute), 'step counts = brute force') FROM km_step;
SELECT ok((SELECT bool_and(abs((crm.kmeans_step_sums(s))[r][1] - s1) < 1e-9 * abs(s1) AND abs((crm.kmeans_step_sums(s))[r][2] - s2) < 1e-9 * abs(s2)) FROM km_brute),
          'step sums = brute force') FROM km_step;
SELECT ok(abs(crm.kmeans_step_inertia(s) - (SELECT sum(inertia) FROM km_brute)) < 1e-9 * crm.kmeans_step_inertia(s), 'step inertia = brute force') FROM km_step;
SELECT ok(abs((crm.kmeans_step_sums(s))[1][1] - (SELECT s1 FROM km_brute WHERE r = 1)) < 1e-6, '... (sums in the model''s units)') FROM km_step;
-- The state's size: 32 + 8 k (d + 1) bytes stored (k = 3, d = 2: 104), 20 + 8 k (d + 1) sent.
SELECT is(pg_column_size(s::text::crm.kmeans_step_state), 32 + 8 * 3 * (2 + 1), 'step state: 32 + 8 k (d + 1) bytes') FROM km_step;
SELECT is(octet_length(crm.kmeans_step_state_send(s)), 20 + 8 * 3 * (2 + 1), 'step state binary form: 20 + 8 k (d + 1) bytes') FROM km_step;
SELECT is(s::text::crm.kmeans_step_state::text, s::text, 'step state text reads back') FROM km_step;
-- Parallel: the same counts; sums and inertia to rounding (floating-point sums in another order).
SELECT ok(crm.kmeans_step_counts(p) = crm.kmeans_step_counts(s)
          AND abs(crm.kmeans_step_inertia(p) - crm.kmeans_step_inertia(s)) <= 1e-12 * crm.kmeans_step_inertia(s)
          AND (SELECT bool_and(abs(x - y) <= 1e-12 * greatest(abs(x), abs(y))) FROM unnest(crm.kmeans_step_sums(p), crm.kmeans_step_sums(s)) u(x, y)),
          'step: parallel and serial give the same counts, and sums and inertia to 1e-12')
FROM km_step, (SELECT s::crm.kmeans_step_state AS p FROM km_parallel) q;
-- A Lloyd update by hand: the means of the clusters as the new centroids.
SELECT ok((SELECT bool_and(abs(c[r][1] - s1 / n) < 1e-9 AND abs(c[r][2] - s2 / n) < 1e-9)
           FROM km_brute, (SELECT crm.kmeans_centroids(crm.kmeans_step_model(s, 'v1 mean {0,0} scale {1,1} centroids {{10,10},{50,50},{90,90}}')) c FROM km_step) m),
          'kmeans_step_model: each centroid the mean of its points');
SELECT throws_ok(format('SELECT %L::crm.kmeans_step_state', t), '22P02', NULL, 'step text rejected: ' || t)
FROM unnest(ARRAY['v1 inertia 1 counts {1} sums {{1,2}', 'v1 inertia -1 counts {1} sums {{1,2}}',
                  'v1 inertia 1 counts {-1} sums {{1,2}}', 'v1 inertia 1 counts {0} sums {{1,2}}',
                  'v1 inertia 1 counts {1,2} sums {{1,2}}', 'v1 inertia 1 counts {1,2} sums {{1,2},{3}}',
                  'v2 inertia 1 counts {1} sums {{1}}', 'v1 inertia NaN counts {1} sums {{1}}']) t;
SELECT throws_ok($$SELECT crm.kmeans_step(f, 'v1 mean {0} scale {1} centroids {{1}}') FROM km_points$$, '22023',
                 'features and model must have the same number of dimensions', 'step: features of another dimension');
SELECT throws_ok($$SELECT crm.kmeans_step_combine('v1 inertia 0 counts {1} sums {{1}}', 'v1 inertia 0 counts {1} sums {{1,2}}')$$,
                 '22023', NULL, 'step: states of different shapes');
SELECT ok((SELECT crm.kmeans_step(f, 'v1 mean {0,0} scale {1,1} centroids {{0,0}}') FROM km_points WHERE false) IS NULL, 'step: no rows, NULL');

-- ---- crm.kmeans_table ------------------------------------------------------------------------
-- Four well-separated blobs whose centres are known: (0,0,0), (100,0,50), (0,100,100),
-- (100,100,150), each point within 1.5 of its centre. The driver must find them: each centroid
-- the mean of its blob (avg(), independent of the code).
CREATE TABLE km_blobs AS
SELECT b AS blob, i, ARRAY[100 * (b % 2) + sin(i), 100 * (b / 2) + cos(i * 1.7), 50 * b + sin(i * 3.1)]::float8[] AS f
FROM generate_series(0, 3) b, generate_series(1, 2000) i;
CREATE TEMP TABLE km_driver AS SELECT crm.kmeans_table('km_blobs', 'f', 4) AS m;
SELECT ok(bool_and(abs(c[cl][1] - x) < 1e-9 AND abs(c[cl][2] - y) < 1e-9 AND abs(c[cl][3] - z) < 1e-9) AND count(DISTINCT cl) = 4,
          'driver, four known blobs: each centroid is its blob''s mean')
FROM (SELECT crm.kmeans_centroids(m) c FROM km_driver) d,
     LATERAL (SELECT blob, avg(f[1]) x, avg(f[2]) y, avg(f[3]) z, min(crm.kmeans_assign(f, (SELECT m FROM km_driver))) cl
              FROM km_blobs GROUP BY blob) b;
SELECT is((SELECT crm.kmeans_table('km_blobs', 'f', 4)::text), (SELECT m::text FROM km_driver), 'driver: the same model again (reproducible)');

-- Overlapping blobs (hashint4 noise), where seeding matters: the driver's inertia within 1% of
-- the aggregate's (computed here in SQL from the centroids, brute force over the clusters).
CREATE TABLE km_overlap AS
SELECT i, ARRAY[10 * (i % 6) + (hashint4(i) % 10000) / 1000.0, 7 * ((i / 6) % 3) + (hashint4(i + 99999) % 10000) / 1000.0]::float8[] AS f
FROM generate_series(1, 6000) i;
CREATE FUNCTION pg_temp.km_inertia(c float8[]) RETURNS float8 LANGUAGE sql AS $$
    SELECT sum((SELECT min((f[1] - c[r][1]) ^ 2 + (f[2] - c[r][2]) ^ 2) FROM generate_series(1, array_length(c, 1)) r)) FROM km_overlap $$;
CREATE TEMP TABLE km_cmp AS
SELECT pg_temp.km_inertia(crm.kmeans_centroids(crm.kmeans_table('km_overlap', 'f', 8, 3))) AS driver,
       pg_temp.km_inertia((SELECT crm.kmeans(f, 8, 3) FROM km_overlap)) AS aggregate;
SELECT cmp_ok(driver, '<=', 1.01 * aggregate, format('overlapping blobs, k = 8: driver inertia %s within 1%% of the aggregate''s %s', driver, aggregate)) FROM km_cmp;
-- The same rows in another physical order: the same clusters (every point assigned alike).
CREATE TABLE km_overlap_reversed AS SELECT * FROM km_overlap ORDER BY i DESC;
SELECT is((SELECT count(*)::int FROM km_overlap o,
                  (SELECT crm.kmeans_table('km_overlap', 'f', 8, 3) a, crm.kmeans_table('km_overlap_reversed', 'f', 8, 3) b) m
           WHERE crm.kmeans_assign(f, a) <> crm.kmeans_assign(f, b)), 0,
          'driver: rows in reverse order give the same clusters (the sample does not depend on the order)');
-- Standardized: the scaling is the aggregate's (mean and population standard deviation).
CREATE TEMP TABLE km_std AS SELECT crm.kmeans_table('km_overlap', 'f', 3, 42, true)::text AS m;
SELECT ok(abs(substring(m FROM 'mean \{([^,]+),')::float8 - (SELECT avg(f[1]) FROM km_overlap)) < 1e-9
          AND abs(substring(m FROM 'scale \{([^,]+),')::float8 - (SELECT stddev_pop(f[1]) FROM km_overlap)) < 1e-9,
          'driver, standardize: the model holds avg() and stddev_pop() of each feature') FROM km_std;
-- (inertia in standardized units: a step over the rows with each model)
SELECT cmp_ok((SELECT crm.kmeans_step_inertia(crm.kmeans_step(f, (SELECT m::crm.kmeans_model FROM km_std))) FROM km_overlap), '<=',
              1.01 * (SELECT crm.kmeans_step_inertia(crm.kmeans_step(f, (SELECT crm.kmeans(f, 3, 42, true) FROM km_overlap))) FROM km_overlap),
              'driver, standardize: inertia within 1% of the aggregate''s');
-- Quoting: a column and a table with names that need quotes; a schema-qualified regclass.
CREATE SCHEMA "km schema";
SET LOCAL max_parallel_workers_per_gather = 0;  -- the copy keeps km_blobs' row order
CREATE TABLE "km schema"."Points; DROP" AS SELECT f AS "we""ird col" FROM km_blobs;
RESET max_parallel_workers_per_gather;
-- Should the copy's rows lie in another order, the pass sums would be taken in another order: the
-- same model up to rounding (1e-12 relative, as on Citus).
SELECT ok((SELECT bool_and(abs(a - b) <= 1e-12 * greatest(1, abs(a)))
           FROM unnest(crm.kmeans_centroids(crm.kmeans_table('"km schema"."Points; DROP"', 'we"ird col', 4))) WITH ORDINALITY AS u(a, i)
           JOIN unnest(crm.kmeans_centroids((SELECT m::crm.kmeans_model FROM km_driver))) WITH ORDINALITY AS v(b, j) ON i = j),
          'driver: quoted table and column names');
-- NULLs, empty tables, errors.
INSERT INTO km_blobs VALUES (9, 0, NULL);
SELECT is((SELECT crm.kmeans_table('km_blobs', 'f', 4)::text), (SELECT m::text FROM km_driver), 'driver: NULL rows are skipped');
SELECT throws_ok($$SELECT crm.kmeans_table('km_blobs', 'f', NULL)$$, '22004', NULL, 'driver: k NULL');
SELECT throws_ok($$SELECT crm.kmeans_table('km_blobs', 'f', 0)$$, '22023', 'k must be at least 1', 'driver: k = 0');
SELECT throws_ok($$SELECT crm.kmeans_table('km_blobs', 'f', 9000)$$, '22023', 'k must not exceed the number of points', 'driver: k above n');
SELECT throws_ok($$SELECT crm.kmeans_table('km_blobs', 'nope', 2)$$, '42703', NULL, 'driver: no such column');
CREATE TABLE km_empty (f float8[]);
SELECT ok(crm.kmeans_table('km_empty', 'f', 2) IS NULL, 'driver: no rows, NULL');
SELECT throws_ok($$SELECT crm.kmeans_candidates('{0}', '{1}', NULL, '{{1},{NaN}}')$$, '22023', NULL, 'candidates: a NaN point');
SELECT throws_ok($$SELECT crm.kmeans_reduce('v1 mean {0} scale {1} centroids {{0},{1}}', '{1,0}', 2, 1)$$, '22023',
                 'k must not exceed the number of distinct points', 'reduce: fewer weighted candidates than k');
SELECT ok(NOT has_function_privilege('public', 'crm.kmeans_table(regclass, text, integer, integer, boolean, integer)', 'EXECUTE')
          AND has_function_privilege('crm_analyst', 'crm.kmeans_table(regclass, text, integer, integer, boolean, integer)', 'EXECUTE'),
          'driver: executable by the staff roles, not PUBLIC (it reads tables, as the caller)');

SELECT * FROM finish();
ROLLBACK;
