-- pgTAP: crm.logreg_fit, crm.logreg_predict and crm.auc: known answers from independent
-- computations, penalties, separable and singular designs, parallel plans, NULLs and errors.
BEGIN;
SELECT plan(28);

-- 200 rows, two features, 87 positives. The reference coefficients come from an independent
-- Newton iteration in Python (Gaussian elimination, no Cholesky), to 1e-9:
--   no penalty: 0.10998606964029502, 0.32560431579074556, -0.39894138887800557
--   l2 = 5:     0.03738040029147819, 0.31416432751922496, -0.32326972546313476
CREATE TABLE logreg_rows AS
SELECT i, ARRAY[(i % 7) - 3.0, ((i * 3) % 5) / 2.0]::float8[] AS f,
       ((i * 7) % 11) < 3 + (i % 7) * 0.8 - ((i * 3) % 5) * 0.5 AS label
FROM generate_series(1, 200) i;
ANALYZE logreg_rows;
SELECT is((SELECT count(*)::int FROM logreg_rows WHERE label), 87, 'the data: 87 positives of 200');
SELECT ok(abs(c[1] - 0.10998606964029502) < 1e-9 AND abs(c[2] - 0.32560431579074556) < 1e-9 AND abs(c[3] + 0.39894138887800557) < 1e-9,
          'coefficients match the independent Newton fit') FROM (SELECT crm.logreg_fit(f, label) c FROM logreg_rows) s;
SELECT ok(abs(c[1] - 0.03738040029147819) < 1e-9 AND abs(c[2] - 0.31416432751922496) < 1e-9 AND abs(c[3] + 0.32326972546313476) < 1e-9,
          'with l2 = 5 too') FROM (SELECT crm.logreg_fit(f, label, 5) c FROM logreg_rows) s;
SELECT ok(abs(a.c[2]) > abs(b.c[2]) AND abs(b.c[2]) > abs(d.c[2]) AND abs(d.c[2]) < 0.05,
          'a larger l2 shrinks the coefficients toward 0')
FROM (SELECT crm.logreg_fit(f, label) c FROM logreg_rows) a, (SELECT crm.logreg_fit(f, label, 5) c FROM logreg_rows) b,
     (SELECT crm.logreg_fit(f, label, 10000) c FROM logreg_rows) d;
-- At the optimum the residuals are orthogonal to every column: sum(y - p) = 0 and sum((y - p) x) = 0.
SELECT ok(abs(sum(label::int - crm.logreg_predict(m.c, f))) < 1e-9 AND abs(sum((label::int - crm.logreg_predict(m.c, f)) * f[1])) < 1e-9,
          'score equations hold at the fit') FROM logreg_rows, (SELECT crm.logreg_fit(f, label) c FROM logreg_rows) m;
SELECT is(crm.logreg_predict('{0, 1}', '{0}'), 0.5::float8, 'predict: sigmoid(0) = 0.5');
SELECT ok(crm.logreg_predict('{0, 1}', '{800}') = 1 AND crm.logreg_predict('{0, 1}', '{-800}') >= 0
          AND crm.logreg_predict('{0, 1}', '{-800}') < 1e-300, 'predict is finite far out in both tails');

-- Separable and singular designs: clear errors, or a finite penalised answer.
SELECT throws_ok($$SELECT crm.logreg_fit(ARRAY[x::float8], x > 0) FROM generate_series(-5, 5) x$$, '22023',
                 'logistic regression does not converge: the classes are separable', 'separable data');
-- Overlapping data whose maximum puts one row far out: x = 0 has labels {false, true}, x = 1 has
-- {false, true, true}, x = 100 has {true}. The maximum-likelihood estimate, derived by hand: the
-- score equations are sum(y - p) = 0 and sum((y - p) x) = 0. The line logit p = b0 + b1 x can fit
-- the groups x = 0 and x = 1 exactly: p(0) = 1/2 gives b0 = logit(1/2) = 0, p(1) = 2/3 gives
-- b1 = logit(2/3) - b0 = ln 2. Then the x = 0 group adds 1 - 2/2 = 0 to both equations and the
-- x = 1 group 2 - 3 (2/3) = 0; the x = 100 row adds its residual 1 - p(100) = 1 / (1 + 2^100)
-- (7.9e-31) to the first and 100 times that to the second, which moves (b0, b1) by about 1e-29,
-- far below double precision. So the answer is (0, ln 2 = 0.6931471805599453) to double
-- precision, with x'b = 69.3 on the last row. The data are not separable: x = 0 and x = 1 both
-- carry both labels, so no line puts every row on its label's side. 0.1 raised 22023 here because
-- one fitted score exceeded 36.
SELECT ok(abs(c[1]) < 1e-9 AND abs(c[2] - ln(2)) < 1e-9, 'overlapping data with one row at x''b = 69: the finite maximum (0, ln 2)')
FROM (SELECT crm.logreg_fit(ARRAY[x::float8], y) c
      FROM (VALUES (0, false), (0, true), (1, false), (1, true), (1, true), (100, true)) v(x, y)) s;
-- The same with the far row at x = 1000 (x'b = 693, where 1 - p = 2^-1000 still is a double).
SELECT ok(abs(c[1]) < 1e-9 AND abs(c[2] - ln(2)) < 1e-9, '... and with it at x''b = 693')
FROM (SELECT crm.logreg_fit(ARRAY[x::float8], y) c
      FROM (VALUES (0, false), (0, true), (1, false), (1, true), (1, true), (1000, true)) v(x, y)) s;
-- Quasi-complete separation: x = 0 carries both labels, every x > 0 is true. The direction
-- (b0, b1) = (0, 1) puts every row on its side or on the line, so the likelihood keeps rising as
-- b1 grows: no finite maximum.
SELECT throws_ok($$SELECT crm.logreg_fit(ARRAY[x::float8], y) FROM (VALUES (0, false), (0, true), (1, true), (2, true), (3, true)) v(x, y)$$,
                 '22023', 'logistic regression does not converge: the classes are separable', 'quasi-complete separation');
SELECT ok(c[2] > 0 AND c[2] < 100, 'separable data with a penalty: a finite slope')
FROM (SELECT crm.logreg_fit(ARRAY[x::float8], x > 0, 0.1) c FROM generate_series(-5, 5) x) s;
SELECT throws_ok($$SELECT crm.logreg_fit(ARRAY[f[1], f[1] * 2], label) FROM logreg_rows$$, '22023',
                 'logistic regression design matrix is singular', 'a feature twice (a linear combination)');
SELECT ok(array_length(c, 1) = 3 AND abs(c[3] - 2 * c[2]) < 1e-6, 'the same design with a penalty splits the weight 1:2 (the smallest penalty)')
FROM (SELECT crm.logreg_fit(ARRAY[f[1], f[1] * 2], label, 1) c FROM logreg_rows) s;
SELECT throws_ok($$SELECT crm.logreg_fit(f, true) FROM logreg_rows$$, '22023', 'logistic regression needs rows of both labels', 'one class only');

-- NULLs, empty input, bad input.
SELECT is((SELECT crm.logreg_fit(f, label) FROM logreg_rows WHERE false), NULL, 'no rows: NULL');
SELECT ok((SELECT crm.logreg_fit(CASE WHEN i % 10 = 0 THEN NULL ELSE f END, CASE WHEN i % 10 = 5 THEN NULL ELSE label END) FROM logreg_rows)
          = (SELECT crm.logreg_fit(f, label) FROM logreg_rows WHERE i % 10 NOT IN (0, 5)),
          'rows with a NULL feature array or label are skipped');
SELECT throws_ok($$SELECT crm.logreg_fit(CASE WHEN i = 7 THEN ARRAY[1.0] ELSE f END, label) FROM logreg_rows$$, '22023', NULL, 'rows of different lengths');
SELECT throws_ok($$SELECT crm.logreg_fit(ARRAY[f[1], 'NaN'], label) FROM logreg_rows$$, '22023', NULL, 'NaN feature');
SELECT throws_ok($$SELECT crm.logreg_fit(f, label, -1) FROM logreg_rows$$, '22023', 'l2 must not be negative', 'negative l2');
SELECT throws_ok($$SELECT crm.logreg_predict('{1, 2, 3}', '{1}')$$, '22023', NULL, 'predict: dimension mismatch');

-- A forced parallel plan gives the serial answers.
\i test/lib/parallel.sql
CREATE TABLE logreg_big AS SELECT r.* FROM logreg_rows r, generate_series(1, 50);
ANALYZE logreg_big;
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.logreg_fit(f, label), crm.auc(f[1] + i, label) FROM logreg_big') l
                  WHERE l LIKE '%Partial Aggregate%'), 'the plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE parallel_answers AS SELECT crm.logreg_fit(f, label) AS c, crm.auc(f[1] - f[2], label) AS a FROM logreg_big;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT ok(abs(p.c[1] - s.c[1]) < 1e-9 AND abs(p.c[2] - s.c[2]) < 1e-9 AND abs(p.c[3] - s.c[3]) < 1e-9
          AND abs(p.a - s.a) < 1e-12, 'parallel and serial fits and AUC agree')
FROM parallel_answers p, (SELECT crm.logreg_fit(f, label) AS c, crm.auc(f[1] - f[2], label) AS a FROM logreg_big) s;

-- AUC: perfect, reversed, all tied, and equal to the pairwise count done by a self-join.
SELECT is(crm.auc(x, x > 5), 1::float8, 'a perfect ranking: 1') FROM generate_series(1, 10) x;
SELECT is(crm.auc(-x, x > 5), 0::float8, 'a reversed ranking: 0') FROM generate_series(1, 10) x;
SELECT is(crm.auc(1, x > 5), 0.5::float8, 'all scores tied: 0.5') FROM generate_series(1, 10) x;
SELECT ok(abs((SELECT crm.auc(round(f[1] - f[2])::float8, label) FROM logreg_rows)
              - (SELECT (count(*) FILTER (WHERE p.s > n.s) + 0.5 * count(*) FILTER (WHERE p.s = n.s))::float8 / count(*)
                 FROM (SELECT round(f[1] - f[2]) s FROM logreg_rows WHERE label) p,
                      (SELECT round(f[1] - f[2]) s FROM logreg_rows WHERE NOT label) n)) < 1e-12,
          'AUC equals the share of (positive, negative) pairs won, ties half, counted by a self-join');

-- The radix sort's key mapping: negative, zero of both signs (equal, so tied), tiny and huge
-- scores, against the pairwise count by a self-join.
CREATE TEMP TABLE auc_signs AS
SELECT (ARRAY[-1e300, -2.5, -1e-300, '-0'::float8, 0, 1e-300, 3, 1e300, -7, 0])[1 + (i * 7) % 10] * CASE WHEN i % 13 = 0 THEN 2 ELSE 1 END AS s,
       (i * 11) % 5 < 2 AS label
FROM generate_series(1, 300) i;
SELECT ok(abs((SELECT crm.auc(s, label) FROM auc_signs)
              - (SELECT (count(*) FILTER (WHERE p.s > n.s) + 0.5 * count(*) FILTER (WHERE p.s = n.s))::float8 / count(*)
                 FROM (SELECT s FROM auc_signs WHERE label) p, (SELECT s FROM auc_signs WHERE NOT label) n)) < 1e-12,
          'AUC over negative, signed-zero, tiny and huge scores equals the self-join count');

SELECT * FROM finish();
ROLLBACK;
