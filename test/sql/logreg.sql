-- Logistic regression and ROC AUC at work, with answers derived by hand.
SET client_min_messages = warning;

-- One binary feature: 10 rows with x = 0, 3 of them positive; 10 with x = 1, 8 positive. The
-- maximum-likelihood fit then reproduces the two observed rates exactly, so
--   intercept = logit(0.3) = ln(3/7) = -0.847298, slope = logit(0.8) - logit(0.3) = ln 4 - ln(3/7) = 2.233592.
CREATE TEMP TABLE trials AS
SELECT x, i <= CASE WHEN x = 0 THEN 3 ELSE 8 END AS converted
FROM generate_series(0, 1) x, generate_series(1, 10) i;
SELECT round(c[1]::numeric, 6) AS intercept, round(c[2]::numeric, 6) AS slope
FROM (SELECT crm.logreg_fit(ARRAY[x::float8], converted) AS c FROM trials) f;
-- ... and predicts the observed rates back: 0.3 and 0.8.
SELECT x, round(crm.logreg_predict(c, ARRAY[x::float8])::numeric, 6) AS probability
FROM (SELECT crm.logreg_fit(ARRAY[x::float8], converted) AS c FROM trials) f, generate_series(0, 1) x;

-- An l2 penalty (on the slope, never the intercept) pulls the slope towards 0: with l2 = 1 the
-- penalised Newton iteration, redone independently (a 2 x 2 solve in Python), gives 1.134106.
SELECT round(c[2]::numeric, 3) AS slope_with_l2_1
FROM (SELECT crm.logreg_fit(ARRAY[x::float8], converted, 1.0) AS c FROM trials) f;

-- AUC counts the pairs a positive wins, ties half. Positives score 0.9, 0.8, 0.4; negatives 0.7,
-- 0.4, 0.2. Of the 9 pairs 0.9 and 0.8 win 3 each, 0.4 beats 0.2 and ties 0.4: 7.5 / 9 = 0.833333.
SELECT round(crm.auc(score, label)::numeric, 6) AS auc
FROM (VALUES (0.9, true), (0.8, true), (0.4, true), (0.7, false), (0.4, false), (0.2, false)) v(score, label);

-- Separable data: the maximum-likelihood coefficients are infinite, so it is an error with a
-- hint; with a penalty the fit is finite.
\set VERBOSITY terse
SELECT crm.logreg_fit(ARRAY[x::float8], x > 0) FROM generate_series(-3, 3) x;
\set VERBOSITY default
SELECT crm.logreg_predict(c, ARRAY[1.0]) > 0.5 AS positive_side
FROM (SELECT crm.logreg_fit(ARRAY[x::float8], x > 0, 1.0) AS c FROM generate_series(-3, 3) x) f;
DROP TABLE trials;
