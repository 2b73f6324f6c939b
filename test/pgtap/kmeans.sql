-- pgTAP: crm.kmeans and crm.kmeans_assign: well-separated clusters recovered exactly, seeds,
-- parallel plans, standardising, NULLs, empty input and errors by SQLSTATE.
BEGIN;
SELECT plan(64);

-- Four blobs of 2,500 points in 3 dimensions, centred 100 apart, each point within 1 of its
-- centre: every point must land in its own blob's cluster, and each centroid must be its blob's
-- mean, computed here independently with avg().
CREATE TABLE kmeans_blobs AS
SELECT b AS blob, i,
       ARRAY[100 * (b % 2) + sin(i), 100 * (b / 2) + cos(i * 1.7), 50 * b + sin(i * 3.1)]::float8[] AS f
FROM generate_series(0, 3) b, generate_series(1, 2500) i;
ANALYZE kmeans_blobs;
CREATE TEMP TABLE model AS SELECT crm.kmeans(f, 4) AS centroids FROM kmeans_blobs;
SELECT is(array_length(centroids, 1) || 'x' || array_length(centroids, 2), '4x3', 'k rows of d coordinates') FROM model;
SELECT is((SELECT count(DISTINCT (blob, crm.kmeans_assign(f, centroids)))::int FROM kmeans_blobs, model), 4,
          'every blob falls in exactly one cluster');
SELECT is((SELECT count(DISTINCT crm.kmeans_assign(f, centroids))::int FROM kmeans_blobs, model), 4, '... a different one each');
SELECT ok(bool_and(abs(m.centroids[c][1] - b.x) < 1e-9 AND abs(m.centroids[c][2] - b.y) < 1e-9 AND abs(m.centroids[c][3] - b.z) < 1e-9),
          'each centroid is its blob''s mean (avg() of the coordinates)')
FROM model m,
     LATERAL (SELECT blob, avg(f[1]) x, avg(f[2]) y, avg(f[3]) z, min(crm.kmeans_assign(f, m.centroids)) c
              FROM kmeans_blobs GROUP BY blob) b;

-- Reproducible for a seed; the result does not depend on the order of the rows.
SELECT ok((SELECT crm.kmeans(f, 3, 11) FROM kmeans_blobs) = (SELECT crm.kmeans(f, 3, 11) FROM (SELECT f FROM kmeans_blobs ORDER BY i DESC, blob) s),
          'the same seed gives the same centroids, whatever the row order');
SELECT ok((SELECT crm.kmeans(f, 4, 1) FROM kmeans_blobs) = (SELECT centroids FROM model),
          'on well-separated blobs any seed finds the same clusters');

-- Large inputs are sorted by a radix sort of the first coordinate, then by every coordinate
-- among equal keys. 6,000 points whose first coordinate takes 23 values (negative, zero and -0
-- among them, so the runs of equal keys are long): rows given in any order must give the same
-- centroids, which holds only if the sort orders the points completely (a sort leaving the
-- runs in arrival order fails both: checked).
CREATE TEMP TABLE kmeans_ties AS
SELECT i, ARRAY[CASE WHEN i % 7 = 0 THEN '-0'::float8 ELSE (i % 23) - 11 END,
                (i * 37 % 101) - 50.5 + sin(i), -(i % 5) + 0.1 * cos(i)]::float8[] AS f
FROM generate_series(1, 6000) i;
SELECT ok((SELECT crm.kmeans(f, 5, 3) FROM kmeans_ties) = (SELECT crm.kmeans(f, 5, 3) FROM (SELECT f FROM kmeans_ties ORDER BY i DESC) s),
          'radix-sorted input with long runs of equal first coordinates: rows in reverse order, the same centroids');
SELECT ok((SELECT crm.kmeans(f, 5, 3) FROM kmeans_ties) = (SELECT crm.kmeans(f, 5, 3) FROM (SELECT f FROM kmeans_ties ORDER BY md5(i::text)) s),
          '... rows shuffled, the same centroids');

-- A forced parallel plan gives the serial answer.
\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.kmeans(f, 3, 5) FROM kmeans_blobs') l WHERE l LIKE '%Partial Aggregate%'),
          'the plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE parallel_result AS SELECT crm.kmeans(f, 3, 5) AS c FROM kmeans_blobs;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT ok((SELECT c FROM parallel_result) = (SELECT crm.kmeans(f, 3, 5) FROM kmeans_blobs), 'parallel and serial answers are equal');
RESET max_parallel_workers_per_gather;

-- Standardising: a constant feature is left as it is, and crm.kmeans_centroids gives the centroids
-- in the original units. (0.1 returned them as the aggregate's value; the four-argument form now
-- returns a crm.kmeans_model, which carries the scaling assignment needs.)
SELECT ok(abs(c[1][1] - 0.5) < 1e-12 AND c[1][2] = 7 AND abs(c[2][1] - 10.5) < 1e-12 AND c[2][2] = 7,
          'standardised, with a constant feature: centroids (0.5, 7) and (10.5, 7), in the original units')
FROM (SELECT crm.kmeans_centroids(crm.kmeans(ARRAY[x, 7], 2, 1, true)) AS c FROM (VALUES (0.0::float8), (1), (10), (11)) v(x)) s;

-- Assignment reproduces the fit's clusters when the features have very different scales. 600
-- points: f1 on a scale of 1 carries three groups 3 apart (noise within +-1), f2 on a scale of
-- 1000 is spread over +-1000 whatever the group. Standardised, the fit clusters on both; raw
-- distances are all f2 and put points elsewhere (0.1 returned raw centroids and assigned by raw
-- distance: 232 of these 600 points landed in another cluster than the fit's). A fit's
-- clusters are those whose means are its centroids (Lloyd's fixed point), so the check is
-- independent of the assignment code: group the points by kmeans_assign, average the raw
-- features with avg(), compare with the centroids in the original units.
CREATE TABLE kmeans_scales AS
SELECT i, ARRAY[3 * (i % 3) + sin(i * 0.7), 1000 * cos(i * 1.3)]::float8[] AS f FROM generate_series(1, 600) i;
CREATE TEMP TABLE scaled_model AS SELECT crm.kmeans(f, 3, 42, true) AS model FROM kmeans_scales;
SELECT ok(bool_and(abs(g.m1 - c.c[g.cluster][1]) < 1e-9 AND abs(g.m2 - c.c[g.cluster][2]) < 1e-9 * 1000) AND count(*) = 3,
          'standardised: the points kmeans_assign(features, model) puts in each cluster average to its centroid')
FROM (SELECT crm.kmeans_assign(f, model) AS cluster, avg(f[1]) m1, avg(f[2]) m2
      FROM kmeans_scales, scaled_model GROUP BY 1) g,
     (SELECT crm.kmeans_centroids(model) c FROM scaled_model) c;
-- The assignment rule, recomputed in SQL: standardise with avg() and stddev_pop(), take the nearest
-- centroid (the model's centroids in original units, standardised the same way).
CREATE TEMP TABLE scaled_stats AS
SELECT avg(f[1]) m1, stddev_pop(f[1]) s1, avg(f[2]) m2, stddev_pop(f[2]) s2 FROM kmeans_scales;
SELECT is(count(*)::int, 0, 'standardised: every point goes to the centroid nearest in standardised units (recomputed in SQL)')
FROM kmeans_scales k, scaled_model m, scaled_stats s,
     LATERAL (SELECT crm.kmeans_centroids(m.model) c) c,
     LATERAL (SELECT r FROM generate_series(1, 3) r
              ORDER BY ((k.f[1] - c.c[r][1]) / s.s1) ^ 2 + ((k.f[2] - c.c[r][2]) / s.s2) ^ 2 LIMIT 1) nearest
WHERE nearest.r <> crm.kmeans_assign(k.f, m.model);
-- The model's text form: version first, reads back as itself; binary (COPY) too.
SELECT ok(model::text LIKE 'v1 mean {%} scale {%} centroids {{%}}' AND model::text::crm.kmeans_model::text = model::text,
          'text form v1 mean ... scale ... centroids ...: round trip') FROM scaled_model;
COPY scaled_model TO '/tmp/crm_kmeans_model_test.bin' WITH (FORMAT binary);
CREATE TEMP TABLE scaled_back (model crm.kmeans_model);
COPY scaled_back FROM '/tmp/crm_kmeans_model_test.bin' WITH (FORMAT binary);
SELECT is((SELECT model::text FROM scaled_back), (SELECT model::text FROM scaled_model), 'COPY BINARY round trip');
SELECT ok(crm.kmeans_assign(ARRAY[3.0, 0], crm.kmeans(f, 3, 1, false)) = crm.kmeans_assign(ARRAY[3.0, 0], crm.kmeans(f, 3, 1))
          AND crm.kmeans_centroids(crm.kmeans(f, 3, 1, false)) = crm.kmeans(f, 3, 1),
          'unstandardised model: mean 0, scale 1, the same centroids and assignment as the array form') FROM kmeans_scales;
SELECT throws_ok(format('SELECT %L::crm.kmeans_model', t), '22P02', NULL, 'model text rejected: ' || t)
FROM unnest(ARRAY['', 'v2 mean {0} scale {1} centroids {{0}}', 'v1 mean {0} scale {0} centroids {{0}}',
                  'v1 mean {0} scale {1} centroids {{1},{0}}', 'v1 mean {0,0} scale {1} centroids {{0,0}}',
                  'v1 mean {0} scale {1} centroids {{0,1}}', 'v1 mean {0} scale {1} centroids {{NaN}}',
                  'v1 mean {0} scale {1} centroids {{0}} x']) t;
SELECT throws_ok($$SELECT crm.kmeans_assign(ARRAY[1.0], 'v1 mean {0,0} scale {1,1} centroids {{0,0}}'::crm.kmeans_model)$$,
                 '22023', 'features and model must have the same number of dimensions', 'model of another dimension');

-- Quality on a standard small data set: Fisher's iris (150 flowers, 4 measurements;
-- test/data/iris.csv is the copy Debian's python3-sklearn package ships), k = 8. The reference is
-- the lowest inertia found over seeds 1 to 1000 of this implementation (10 starts each):
-- 29.988943950786055. The default seed must come within 0.5% of it. The inertia is computed here
-- in SQL, independently of the C code: for each flower the squared distance to the nearest
-- centroid, summed. (0.1 ended 1.29% above the reference at its default seed.)
CREATE TABLE iris (sepal_length float8, sepal_width float8, petal_length float8, petal_width float8, species int);
\copy iris FROM 'test/data/iris.csv' WITH (FORMAT csv, HEADER)
CREATE FUNCTION pg_temp.iris_inertia(c float8[]) RETURNS float8 LANGUAGE sql AS $$
    SELECT sum((SELECT min((sepal_length - c[r][1]) ^ 2 + (sepal_width - c[r][2]) ^ 2
                           + (petal_length - c[r][3]) ^ 2 + (petal_width - c[r][4]) ^ 2)
                FROM generate_series(1, array_length(c, 1)) r)) FROM iris $$;
SELECT is((SELECT count(*)::int FROM iris), 150, 'iris: 150 flowers');
SELECT cmp_ok(pg_temp.iris_inertia(crm.kmeans(ARRAY[sepal_length, sepal_width, petal_length, petal_width], 8)), '<=',
              1.005 * 29.988943950786055::float8, 'iris, k = 8, default seed: inertia within 0.5% of the best of 1000 seeds')
FROM iris;

-- Twelve dimensions (the seeding measures its candidates together and passes over far points
-- from 8 dimensions on): 8 overlapping blobs of 250 points, sd 2, centres 10 apart in three
-- coordinates repeated. The result must be a Lloyd fixed point, checked in SQL: every point is
-- nearest its own centroid (distances recomputed here) and each centroid is the avg() of its
-- points; and the same for the rows in another order.
CREATE TABLE kmeans_wide AS
SELECT i, (SELECT array_agg(10 * (i / (1 << (j % 3)) % 2) + 2 * sin(i * 7.31 + j * 3.17) * cos(i * 1.93 + j) ORDER BY j)
           FROM generate_series(0, 11) j)::float8[] AS f
FROM generate_series(1, 2000) i;
CREATE TEMP TABLE wide_model AS SELECT crm.kmeans(f, 8) AS c FROM kmeans_wide;
SELECT is(count(*)::int, 0, '12 dimensions: every point is nearest its own centroid (recomputed in SQL)')
FROM kmeans_wide w, wide_model m,
     LATERAL (SELECT r FROM generate_series(1, 8) r
              ORDER BY (SELECT sum((w.f[j] - m.c[r][j]) ^ 2) FROM generate_series(1, 12) j), r LIMIT 1) nearest
WHERE nearest.r <> crm.kmeans_assign(w.f, m.c);
SELECT ok(bool_and(abs(g.mean - m.c[g.cluster][g.j]) < 1e-9) AND count(DISTINCT g.cluster) = 8,
          '12 dimensions: each centroid is the avg() of its points')
FROM wide_model m,
     LATERAL (SELECT crm.kmeans_assign(f, m.c) AS cluster, j, avg(f[j]) AS mean
              FROM kmeans_wide, generate_series(1, 12) j GROUP BY 1, 2) g;
SELECT ok((SELECT c FROM wide_model) = (SELECT crm.kmeans(f, 8) FROM (SELECT f FROM kmeans_wide ORDER BY i DESC) s),
          '12 dimensions: the same centroids whatever the row order');

-- The k-d tree (up to 6 features, from 256 points) splits along a grid over the points' box: a
-- cell holding many points (one outlier stretching the box) is split at medians instead, a
-- constant feature leaves one cell along it, points on a grid lie at exact ties, 6 features are
-- the tree's most, and evenly spread points (an R3 quasi-random sequence) leave Lloyd's fixed
-- points that Hartigan's refinement moves points from (tens of moves per start). Whatever the tree, the fit must be what its definition says, checked in SQL
-- on each shape: every point is nearest its own centroid (distances recomputed here, the lowest
-- on ties), each centroid is the avg() of its points, no single point's move to another cluster
-- lowers the inertia (Hartigan's criterion: n_b / (n_b + 1) |x - c_b|^2 >= n_a / (n_a - 1)
-- |x - c_a|^2, up to 1e-9 for the rounding of the recomputation), and the rows in another order
-- give the same centroids.
CREATE TABLE kmeans_shapes AS
SELECT 'outlier' AS shape, 4 AS k, i,
       CASE WHEN i = 1 THEN ARRAY[1e5, 1e5, 1e5]
            ELSE ARRAY[sin(i * 1.1), cos(i * 2.3), sin(i * 0.7)] END::float8[] AS f
FROM generate_series(1, 3000) i
UNION ALL
SELECT 'grid, one constant feature', 6, i, ARRAY[i % 17, 5, i / 17 % 13]::float8[]
FROM generate_series(1, 2210) i
UNION ALL
SELECT 'six features', 8, i,
       (SELECT array_agg(10 * (i / (1 << (j % 3)) % 2) + 2 * sin(i * 7.31 + j * 3.17) * cos(i * 1.93 + j) ORDER BY j)
        FROM generate_series(0, 5) j)::float8[]
FROM generate_series(1, 2000) i
UNION ALL
SELECT 'spread', 8, i, ARRAY[i * 0.8191725133961645 % 1, i * 0.6710436067037893 % 1, i * 0.5497004779019703 % 1]::float8[]
FROM generate_series(1, 3000) i;
CREATE TEMP TABLE shape_models AS SELECT shape, k, crm.kmeans(f, k) AS c FROM kmeans_shapes GROUP BY shape, k;
CREATE TEMP TABLE shape_points AS
SELECT s.shape, s.i, s.f, m.c, crm.kmeans_assign(s.f, m.c) AS cluster,
       (SELECT array_agg((SELECT sum((s.f[j] - m.c[r][j]) ^ 2) FROM generate_series(1, cardinality(s.f)) j) ORDER BY r)
        FROM generate_series(1, array_length(m.c, 1)) r) AS d
FROM kmeans_shapes s JOIN shape_models m USING (shape);
SELECT is(count(wrong.x)::int, 0, 'tree shapes (' || shape || '): every point is nearest its own centroid (recomputed in SQL)')
FROM (VALUES ('outlier'), ('grid, one constant feature'), ('six features'), ('spread')) v(shape)
LEFT JOIN LATERAL (SELECT 1 AS x FROM shape_points p,
                   LATERAL (SELECT r FROM generate_series(1, array_length(p.c, 1)) r ORDER BY p.d[r], r LIMIT 1) nearest
                   WHERE p.shape = v.shape AND nearest.r <> p.cluster) wrong ON true
GROUP BY shape ORDER BY shape;
SELECT ok(bool_and(abs(g.mean - g.c[g.cluster][g.j]) <= 1e-9 * (1 + abs(g.mean))) AND count(DISTINCT g.cluster) = min(m.k),
          'tree shapes (' || g.shape || '): each centroid is the avg() of its points')
FROM (SELECT shape, cluster, c, j, avg(f[j]) AS mean
      FROM shape_points, generate_series(1, cardinality(f)) j GROUP BY shape, cluster, c, j) g
JOIN shape_models m USING (shape)
GROUP BY g.shape ORDER BY g.shape;
SELECT is(count(b.r)::int, 0, 'tree shapes (' || v.shape || '): no single move lowers the inertia (Hartigan)')
FROM (VALUES ('outlier'), ('grid, one constant feature'), ('six features'), ('spread')) v(shape)
LEFT JOIN LATERAL (
    SELECT r FROM shape_points p
    JOIN (SELECT shape, cluster, count(*) AS size FROM shape_points GROUP BY 1, 2) own
      ON own.shape = p.shape AND own.cluster = p.cluster AND own.size > 1
    JOIN (SELECT shape, cluster AS r, count(*) AS size FROM shape_points GROUP BY 1, 2) other
      ON other.shape = p.shape AND other.r <> p.cluster
    WHERE p.shape = v.shape
      AND other.size / (other.size + 1.0) * p.d[other.r] < own.size / (own.size - 1.0) * p.d[p.cluster] * (1 - 1e-9)) b ON true
GROUP BY v.shape ORDER BY v.shape;
SELECT ok(bool_and(m.c = (SELECT crm.kmeans(f, m.k) FROM (SELECT f FROM kmeans_shapes s WHERE s.shape = m.shape ORDER BY i DESC) r)),
          'tree shapes: the same centroids whatever the row order')
FROM shape_models m;

-- NULLs and empty input.
SELECT is((SELECT crm.kmeans(f, 2) FROM kmeans_blobs WHERE false), NULL, 'no rows: NULL');
SELECT is((SELECT crm.kmeans(NULL::float8[], 2) FROM generate_series(1, 3)), NULL, 'only NULL rows: NULL');
SELECT is(crm.kmeans_assign(NULL, '{{0,0}}'::float8[]), NULL, 'kmeans_assign is strict');

-- Errors.
SELECT throws_ok($$SELECT crm.kmeans(f, 0) FROM kmeans_blobs$$, '22023', 'k must be at least 1', 'k = 0');
SELECT throws_ok($$SELECT crm.kmeans(f, 10001) FROM kmeans_blobs$$, '22023', 'k must not exceed the number of points', 'k above the number of points');
SELECT throws_ok($$SELECT crm.kmeans(ARRAY[1.0, 2.0], 2) FROM generate_series(1, 5)$$, '22023',
                 'k must not exceed the number of distinct points', 'five copies of one point, k = 2');
-- Down the k-d tree (from 256 points, up to 6 features) the distinct points are counted in the
-- tree's order, with no sort by coordinate first; standardized, after the sort as before; with
-- enough work for a parallel worker (150,000 points x k = 8), the worker stops as the leader
-- reports the error.
SELECT throws_ok($$SELECT crm.kmeans(ARRAY[i % 5, 1, -(i % 5)]::float8[], 6) FROM generate_series(1, 3000) i$$, '22023',
                 'k must not exceed the number of distinct points', 'down the tree: 3,000 rows of 5 points, k = 6');
SELECT throws_ok($$SELECT crm.kmeans(ARRAY[i % 5, 1, -(i % 5)]::float8[], 6, 1, true) FROM generate_series(1, 3000) i$$, '22023',
                 'k must not exceed the number of distinct points', '... standardized');
SELECT throws_ok($$SELECT crm.kmeans(ARRAY[(i % 7) * 0.5]::float8[], 8) FROM generate_series(1, 150000) i$$, '22023',
                 'k must not exceed the number of distinct points', '... 150,000 rows of 7 points, k = 8 (work for a parallel worker)');
SELECT is(crm.kmeans(ARRAY[(i % 8) * 0.5]::float8[], 8), '{{0},{0.5},{1},{1.5},{2},{2.5},{3},{3.5}}'::float8[],
          '... and of 8 points, k = 8: each point its own cluster')
FROM generate_series(1, 150000) i;
SELECT throws_ok($$SELECT crm.kmeans(ARRAY[1.0, 2.0], NULL) FROM generate_series(1, 5)$$, '22004', NULL, 'k NULL');
SELECT throws_ok($$SELECT crm.kmeans(CASE WHEN i = 3 THEN ARRAY[1.0] ELSE ARRAY[1.0, i] END, 1) FROM generate_series(1, 5) i$$,
                 '22023', 'features must all have the same number of dimensions', 'rows of different dimensions');
SELECT throws_ok($$SELECT crm.kmeans(ARRAY[i::float8, 'Infinity'], 1) FROM generate_series(1, 5) i$$, '22023', NULL, 'an infinite feature');
SELECT throws_ok($$SELECT crm.kmeans('{}'::float8[], 1) FROM generate_series(1, 5) i$$, '22023', 'features must not be empty', 'no dimensions');
-- Arrays read from a table come in their short stored form (a 1-byte length word), which the
-- aggregate reads in place: the same checks, and the same points whatever the lower bound.
CREATE TABLE kmeans_stored (kind text, i int, f float8[]);
INSERT INTO kmeans_stored
SELECT kind, i, CASE WHEN i = 3 THEN bad ELSE ARRAY[i, i % 4]::float8[] END
FROM (VALUES ('nan', '{1,NaN}'::float8[]), ('null', '{1,NULL}'), ('two-d', '{{1,2}}'), ('infinite', '{-Infinity,1}'),
             ('lower bound 0', '[0:1]={3,3}')) v(kind, bad), generate_series(1, 6) i;
SELECT throws_ok($$SELECT crm.kmeans(f, 2) FROM kmeans_stored WHERE kind = 'nan'$$, '22023', 'features must contain only finite numbers', 'stored array with a NaN');
SELECT throws_ok($$SELECT crm.kmeans(f, 2) FROM kmeans_stored WHERE kind = 'infinite'$$, '22023', 'features must contain only finite numbers', 'stored array with an infinity');
SELECT throws_ok($$SELECT crm.kmeans(f, 2) FROM kmeans_stored WHERE kind = 'null'$$, '22004', NULL, 'stored array with a NULL');
SELECT throws_ok($$SELECT crm.kmeans(f, 2) FROM kmeans_stored WHERE kind = 'two-d'$$, '22023', NULL, 'stored two-dimensional array');
SELECT is((SELECT crm.kmeans(f, 2) FROM kmeans_stored WHERE kind = 'lower bound 0'),
          (SELECT crm.kmeans(ARRAY[f[array_lower(f, 1)], f[array_lower(f, 1) + 1]], 2) FROM kmeans_stored WHERE kind = 'lower bound 0'),
          'stored array with lower bound 0: the same points');
SELECT throws_ok($$SELECT crm.kmeans_assign(ARRAY[1.0, 2.0], '{1,2}'::float8[])$$, '22023', 'centroids must be a two-dimensional array', 'centroids not 2-D');
SELECT throws_ok($$SELECT crm.kmeans_assign(ARRAY[1.0, 2.0], '{{1,2},{3,NULL}}'::float8[])$$, '22004', NULL, 'a NULL centroid coordinate');

SELECT * FROM finish();
ROLLBACK;
