-- pgTAP: the distributed logistic regression (branch citus-logreg): crm.logreg_step and its state
-- crm.logreg_step_state, crm.logreg_step_newton, the driver crm.logreg_fit_table, and crm.logreg_fit's
-- real state type crm.logreg_rows. Expected coefficients come from independent computations (closed
-- forms, the Python Newton fit of test/pgtap/logreg.sql); the driver must give crm.logreg_fit's
-- coefficients and errors on the same rows.
BEGIN;
SELECT plan(48);

CREATE FUNCTION pg_temp.close(a double precision[], b double precision[], tolerance double precision)
RETURNS boolean LANGUAGE sql AS $$
    SELECT cardinality(a) = cardinality(b) AND bool_and(abs(x - y) <= tolerance * greatest(abs(x), abs(y), 1e-300))
    FROM unnest(a, b) AS u(x, y)
$$;

CREATE FUNCTION pg_temp.numbers(s crm.logreg_step_state) RETURNS double precision[] LANGUAGE sql AS $$
    SELECT string_to_array(translate(s::text, ';', ','), ',')::float8[]
$$;

-- 1. The issue's example: x = 0 with labels {false, true}, x = 1 with {false, true, true}, x = 100
-- with {true}. The score equations: intercept 0 makes x = 0's probability 1/2 (one of two true),
-- slope ln 2 makes x = 1's 2/3 (two of three); x = 100's row sits at probability 1 - 2^-100.
CREATE TABLE issue_rows AS
SELECT ARRAY[x::float8] AS f, y AS label FROM (VALUES (0, false), (0, true), (1, false), (1, true), (1, true), (100, true)) v(x, y);
SELECT ok(abs(c[1]) < 1e-9 AND abs(c[2] - ln(2)) < 1e-9 * ln(2), 'the issue''s example: intercept 0, slope ln 2')
FROM (SELECT crm.logreg_fit_table('issue_rows', 'f', 'label') AS c) s;

-- 2. A single binary feature: intercept logit(3/4) = ln 3, slope logit(1/4) - logit(3/4) = -2 ln 3.
CREATE TABLE binary_rows AS
SELECT ARRAY[x::float8] AS f, y AS label
FROM (VALUES (0, true), (0, true), (0, true), (0, false), (1, true), (1, false), (1, false), (1, false)) v(x, y);
SELECT ok(pg_temp.close(crm.logreg_fit_table('binary_rows', 'f', 'label'), ARRAY[ln(3), -2 * ln(3)]::float8[], 1e-9),
          'a binary feature: the closed form ln 3, -2 ln 3');

-- 3. test/pgtap/logreg.sql's 200 rows, with its independent Python Newton fit.
CREATE TABLE logreg_rows AS
SELECT i, ARRAY[(i % 7) - 3.0, ((i * 3) % 5) / 2.0]::float8[] AS f,
       ((i * 7) % 11) < 3 + (i % 7) * 0.8 - ((i * 3) % 5) * 0.5 AS label
FROM generate_series(1, 200) i;
SELECT ok(pg_temp.close(crm.logreg_fit_table('logreg_rows', 'f', 'label'),
                        ARRAY[0.10998606964029502, 0.32560431579074556, -0.39894138887800557], 1e-9),
          'two features: the independent Newton fit');
SELECT ok(pg_temp.close(crm.logreg_fit_table('logreg_rows', 'f', 'label', 5),
                        ARRAY[0.03738040029147819, 0.31416432751922496, -0.32326972546313476], 1e-9),
          'with l2 = 5 too');

-- 4. The driver equals crm.logreg_fit on the same rows, to 1e-9 relative (on one node it runs the
-- same arithmetic in the same order, so the answers are in fact identical).
CREATE TABLE wide_rows AS
SELECT ARRAY[(hashint4(i) % 100) / 10.0, (hashint4(i + 7) % 50) / 7.0, (i % 13) - 6.0, ((i * 17) % 23) / 4.0]::float8[] AS f,
       (hashint4(i * 3) % 100) < 40 + (i % 13) * 3 AS label
FROM generate_series(1, 1500) i;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT ok(pg_temp.close(crm.logreg_fit_table('wide_rows', 'f', 'label'), (SELECT crm.logreg_fit(f, label) FROM wide_rows), 1e-9),
          'four features, 1,500 rows: the driver gives logreg_fit''s coefficients');
SELECT ok(pg_temp.close(crm.logreg_fit_table('wide_rows', 'f', 'label', 2.5), (SELECT crm.logreg_fit(f, label, 2.5) FROM wide_rows), 1e-9),
          'with l2 = 2.5 too');
SELECT ok(pg_temp.close(crm.logreg_fit_table('issue_rows', 'f', 'label'), (SELECT crm.logreg_fit(f, label) FROM issue_rows), 1e-9),
          'the issue''s example: the driver gives logreg_fit''s coefficients');
SELECT ok(pg_temp.close(crm.logreg_fit_table('logreg_rows', 'f', 'label', 5), (SELECT crm.logreg_fit(f, label, 5) FROM logreg_rows), 1e-9),
          'test/pgtap/logreg.sql''s rows with l2 = 5: logreg_fit''s coefficients');
-- an intercept-only model: logit of the share of true labels, 3 of 8 -> ln(3/5)
CREATE TABLE intercept_rows AS SELECT '{}'::float8[] AS f, i <= 3 AS label FROM generate_series(1, 8) i;
SELECT ok(pg_temp.close(crm.logreg_fit_table('intercept_rows', 'f', 'label'), ARRAY[ln(3.0 / 5)]::float8[], 1e-9),
          'no features: the intercept is logit(3/8) = ln(3/5)');

-- 5. Quoted names: a mixed-case column in another schema, NULL rows skipped as logreg_fit skips them.
CREATE SCHEMA "Logreg Data";
CREATE TABLE "Logreg Data"."Rows" AS SELECT f AS "Features", label AS "Is Won" FROM binary_rows
    UNION ALL SELECT NULL, true UNION ALL SELECT '{5}', NULL;
SELECT ok(pg_temp.close(crm.logreg_fit_table('"Logreg Data"."Rows"', 'Features', 'Is Won'), ARRAY[ln(3), -2 * ln(3)]::float8[], 1e-9),
          'quoted schema, table and column names; rows with a NULL skipped');

-- 6. The errors logreg_fit raises, with its SQLSTATE and message.
CREATE TABLE separable_rows AS SELECT ARRAY[x::float8] AS f, x > 0 AS label FROM generate_series(-3, 3) x;
SELECT throws_ok($$SELECT crm.logreg_fit(f, label) FROM separable_rows$$, '22023',
                 'logistic regression does not converge: the classes are separable', 'separable data: logreg_fit''s error');
SELECT throws_ok($$SELECT crm.logreg_fit_table('separable_rows', 'f', 'label')$$, '22023',
                 'logistic regression does not converge: the classes are separable', 'separable data: the driver raises the same');
-- quasi-complete separation: x = 0 holds both labels, x > 0 only true ones
CREATE TABLE quasi_rows AS SELECT ARRAY[x::float8] AS f, x > 0 OR i = 1 AS label
FROM generate_series(0, 3) x, generate_series(1, 2) i;
SELECT throws_ok($$SELECT crm.logreg_fit(f, label) FROM quasi_rows$$, '22023',
                 'logistic regression does not converge: the classes are separable', 'quasi-complete separation: logreg_fit''s error');
SELECT throws_ok($$SELECT crm.logreg_fit_table('quasi_rows', 'f', 'label')$$, '22023',
                 'logistic regression does not converge: the classes are separable', 'quasi-complete separation: the driver raises the same');
SELECT ok(pg_temp.close(crm.logreg_fit_table('separable_rows', 'f', 'label', 1), (SELECT crm.logreg_fit(f, label, 1) FROM separable_rows), 1e-9),
          'separable data with a penalty: a finite fit, logreg_fit''s');
CREATE TABLE singular_rows AS SELECT ARRAY[x::float8, 2 * x] AS f, x % 3 = 0 AS label FROM generate_series(1, 30) x;
SELECT throws_ok($$SELECT crm.logreg_fit_table('singular_rows', 'f', 'label')$$, '22023',
                 'logistic regression design matrix is singular', 'a singular design: 22023, as logreg_fit');
SELECT ok(pg_temp.close(crm.logreg_fit_table('singular_rows', 'f', 'label', 0.5), (SELECT crm.logreg_fit(f, label, 0.5) FROM singular_rows), 1e-9),
          'a singular design with a penalty: logreg_fit''s shared weights');
CREATE TABLE one_class AS SELECT ARRAY[x::float8] AS f, true AS label FROM generate_series(1, 4) x;
SELECT throws_ok($$SELECT crm.logreg_fit_table('one_class', 'f', 'label')$$, '22023',
                 'logistic regression needs rows of both labels', 'one class only: 22023');
CREATE TABLE no_rows (f float8[], label boolean);
SELECT is(crm.logreg_fit_table('no_rows', 'f', 'label'), NULL, 'no rows: NULL, as logreg_fit');
INSERT INTO no_rows VALUES ('{1}', true), ('{1,2}', false);
SELECT throws_ok($$SELECT crm.logreg_fit_table('no_rows', 'f', 'label')$$, '22023',
                 'feature arrays must all have the same length', 'rows of different lengths: 22023');
SELECT throws_ok($$SELECT crm.logreg_fit_table('logreg_rows', 'f', 'label', -1)$$, '22023', NULL, 'a negative l2: 22023');
SELECT throws_ok($$SELECT crm.logreg_fit_table('logreg_rows', 'f', NULL)$$, '22004', NULL, 'a NULL column name: 22004');
SELECT throws_ok($$SELECT crm.logreg_fit_table('logreg_rows', 'f', 'label', 0, 2)$$, '22023',
                 'logistic regression did not converge in 2 iterations', 'max_iterations reached: 22023');
SELECT throws_ok($$SELECT crm.logreg_fit_table('logreg_rows', 'f', 'label; DROP TABLE logreg_rows')$$, '42703', NULL,
                 'a column name is an identifier, never SQL');

-- 7. Security invoker: the caller's rights apply (crm_analyst may not read this table).
SET LOCAL ROLE crm_analyst;
SELECT throws_ok($$SELECT crm.logreg_fit_table('logreg_rows', 'f', 'label')$$, '42501', NULL,
                 'the driver reads with the caller''s rights: permission denied');
RESET ROLE;

-- 8. The state: bytes per pass, exact sums, combine, text and binary forms.
-- Shipped (binary) 48 + 8·(p + p(p+1)/2) bytes, p = features + 1: 48 + 8·(1+1) = 64 for no feature,
-- 48 + 8·(3+6) = 120 for two, 48 + 8·(5+15) = 208 for four; stored 8 more (56 + ...).
SELECT is(length(crm.logreg_step_state_send(crm.logreg_step(f, label, NULL))), 64, 'no feature: 64 bytes shipped per pass') FROM intercept_rows;
SELECT is(length(crm.logreg_step_state_send(crm.logreg_step(f, label, NULL))), 120, 'two features: 120 bytes shipped per pass, whatever the rows') FROM logreg_rows;
SELECT is(length(crm.logreg_step_state_send(crm.logreg_step(f, label, NULL))), 208, 'four features: 208 bytes') FROM wide_rows;
SELECT is(pg_column_size(crm.logreg_step(f, label, NULL)), 216, 'four features: 216 bytes stored') FROM wide_rows;
-- At beta = 0 every probability is 1/2: weights 1/4, residuals ±1/2, all sums exact in binary.
-- binary_rows: 8 rows, 4 true; log-likelihood 8·ln(1/2); gradient (4 - 8/2, 1 - 4/2) = (0, -1);
-- Hessian /4: [8, 4; 4, 4] -> 2, 1, 1. No beta: no row on either side of x'0 = 0.
SELECT is(regexp_replace(crm.logreg_step(f, label, NULL)::text, '^((?:[^;]*;){6})[^;]*', '\1LL'), '1;1;8;4;0;0;LL;0,-1;2,1,1',
          'the sums at beta = 0, by hand') FROM binary_rows;
SELECT ok(abs(split_part(crm.logreg_step(f, label, NULL)::text, ';', 7)::float8 - 8 * ln(0.5)) < 1e-14,
          'the log-likelihood at beta = 0: 8 ln(1/2)') FROM binary_rows;
SELECT throws_ok($$SELECT crm.logreg_step(f, label, '{0.5,-1}') FROM wide_rows$$, '22023',
                 'beta must have one more element than features', 'a beta of the wrong length: 22023');
SELECT ok(pg_temp.close(pg_temp.numbers(crm.logreg_step_combine(a.s, b.s)), pg_temp.numbers(c.s), 1e-14),
          'combining two parts gives the whole')
FROM (SELECT crm.logreg_step(f, label, NULL) s FROM logreg_rows WHERE i <= 77) a,
     (SELECT crm.logreg_step(f, label, NULL) s FROM logreg_rows WHERE i > 77) b,
     (SELECT crm.logreg_step(f, label, NULL) s FROM logreg_rows) c;
SELECT is(s::text::crm.logreg_step_state::text, s::text, 'the text form reads back')
FROM (SELECT crm.logreg_step(f, label, '{0.1,0.2,-0.3,0.4,1e-3}') s FROM wide_rows) x;
SELECT throws_ok($$SELECT '2;1;8;4;0;0;-5;0,-1;2,1,1'::crm.logreg_step_state$$, '22P02', NULL, 'an unknown version: 22P02');
SELECT throws_ok($$SELECT '1;1;8;4;0;0;-5;0,-1;2,1'::crm.logreg_step_state$$, '22P02', NULL, 'a missing Hessian sum: 22P02');
SELECT throws_ok($$SELECT '1;1;8;9;0;0;-5;0,-1;2,1,1'::crm.logreg_step_state$$, '22P02', NULL, 'more positives than rows: 22P02');
SELECT throws_ok($$SELECT '1;1;8;4;0;0;-5;0,-1;-2,1,1'::crm.logreg_step_state$$, '22P02', NULL, 'a negative Hessian diagonal: 22P02');

-- 9. crm.logreg_rows, logreg_fit's state: a stored state gives the fit of its rows.
SELECT is('1;1;0;2;0.5,1;3,0'::crm.logreg_rows::text, '1;1;0;2;0.5,1;3,0', 'logreg_rows: the text form reads back');
SELECT throws_ok($$SELECT '1;1;0;2;0.5,2;3,0'::crm.logreg_rows$$, '22P02', NULL, 'logreg_rows: a label other than 0 or 1 is 22P02');
SELECT ok(pg_temp.close(crm.logreg_rows_final(
              '1;1;0;8;0,1;0,1;0,1;0,0;1,1;1,0;1,0;1,0'::crm.logreg_rows), ARRAY[ln(3), -2 * ln(3)]::float8[], 1e-9),
          'logreg_rows: the final function fits a stored state (the binary feature''s closed form)');
SELECT is(length(crm.logreg_rows_send('1;1;0;2;0.5,1;3,0')), 24 + 2 * 16, 'logreg_rows ships 24 + 8·(d+1) bytes per row');
SELECT ok(bool_and(pg_temp.close(w, (SELECT crm.logreg_fit(f, label) FROM logreg_rows), 1e-12)),
          'logreg_fit as a window aggregate (whole frame) gives the plain fit on every row')
FROM (SELECT crm.logreg_fit(f, label) OVER (ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS w
      FROM logreg_rows) s;
SELECT ok(bool_and(pg_temp.close(w.c, g.c, 1e-8)), 'logreg_fit over window partitions gives the grouped fits (1e-8: rows in another order)')
FROM (SELECT DISTINCT i % 2 AS k, crm.logreg_fit(f, label) OVER (PARTITION BY i % 2) AS c FROM logreg_rows) w
JOIN (SELECT i % 2 AS k, crm.logreg_fit(f, label) AS c FROM logreg_rows GROUP BY 1) g USING (k);

-- 10. Forced parallel plans give the serial sums (test/lib/parallel.sql).
\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of($$SELECT crm.logreg_step(f, label, '{0.1,0.2,-0.3,0.4,1e-3}') FROM wide_rows$$) l
                  WHERE l LIKE '%Partial Aggregate%'), 'crm.logreg_step: the plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE parallel_step AS SELECT crm.logreg_step(f, label, '{0.1,0.2,-0.3,0.4,1e-3}') AS s FROM wide_rows;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT ok(pg_temp.close(pg_temp.numbers(p.s), pg_temp.numbers(s.s), 1e-12),
          'crm.logreg_step: forced parallel = serial (to 1e-12, sums in another order)')
FROM parallel_step p, (SELECT crm.logreg_step(f, label, '{0.1,0.2,-0.3,0.4,1e-3}') AS s FROM wide_rows) s;

-- 11. Features stored out of line (a TOAST pointer, whose header is one byte like a short
-- varlena's): the transition reads the value, not the pointer. A row of 100,000 features raised
-- no error but crashed the server (found by test/scripts/fuzz.sh); 300 features give the sums of
-- the same array built in memory.
CREATE TEMP TABLE toasted_rows (f float8[], label boolean);
ALTER TABLE toasted_rows ALTER COLUMN f SET STORAGE EXTERNAL;
INSERT INTO toasted_rows VALUES (array_fill(1::float8, ARRAY[100000]), false),
    ((SELECT array_agg(i / 1000.0) FROM generate_series(1, 300) i), true);
SELECT throws_ok($$SELECT crm.logreg_step(f, label, '{0,1}') FROM toasted_rows WHERE NOT label$$, '54000',
                 'logreg_fit takes at most 1000 features', 'crm.logreg_step: 100,000 features stored out of line raise 54000');
SELECT is((SELECT crm.logreg_step(f, label, array_fill(0.01::float8, ARRAY[301]))::text FROM toasted_rows WHERE label),
          (SELECT crm.logreg_step(f || ARRAY[]::float8[], label, array_fill(0.01::float8, ARRAY[301]))::text FROM toasted_rows WHERE label),
          'crm.logreg_step: features stored out of line give the sums of the same array in memory');

SELECT * FROM finish();
ROLLBACK;
