-- pgTAP: robustness of the C analytics: text forms that read back, cancellable loops, documented
-- limits instead of internal errors, no overflow or NaN for finite inputs.
BEGIN;
SELECT plan(26);

-- Runs a statement; the SQLSTATE it ended with ('00000' when it completed) and the seconds taken.
-- A statement timeout is a query_canceled, which WHEN OTHERS does not catch: named here.
CREATE FUNCTION pg_temp.timed(statement text, OUT state text, OUT seconds double precision) AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    BEGIN
        EXECUTE statement;
        state := '00000';
    EXCEPTION
        WHEN query_canceled THEN state := SQLSTATE;
        WHEN OTHERS THEN state := SQLSTATE;
    END;
    seconds := extract(epoch FROM clock_timestamp() - started);
END
$$ LANGUAGE plpgsql;

-- The first column of the first row of a query as text, or 'ERROR ' and the SQLSTATE: a failure
-- (on code without the fixes) fails one test instead of ending the suite.
CREATE FUNCTION pg_temp.value(query text) RETURNS text AS $$
DECLARE
    result text;
BEGIN
    EXECUTE query INTO result;
    RETURN result;
EXCEPTION
    WHEN query_canceled THEN RETURN 'ERROR ' || SQLSTATE;
    WHEN OTHERS THEN RETURN 'ERROR ' || SQLSTATE;
END
$$ LANGUAGE plpgsql;

-- No statement here may run long, whatever the code under test does.
SET LOCAL statement_timeout = '10s';

-- ---------------------------------------------------------------------------------------------
-- crm.survival_curve: every output reads back; floats read like float8in; -0 is 0.
SELECT lives_ok($$SELECT crm.km_fit(5e-324::float8, true)::text::crm.survival_curve$$,
                'a curve with a subnormal time (5e-324) reads back from its text form');
SELECT is(pg_temp.value($$SELECT c::text::crm.survival_curve OPERATOR(crm.=) c
           FROM (SELECT crm.km_fit(d, d > 1e-320) AS c
                 FROM unnest(ARRAY[5e-324, 2.2250738585072009e-308, 1e-310, 1, 1.7976931348623157e308]::float8[]) d) s$$), 'true',
          'subnormal, smallest-normal and largest times round-trip through text');
SELECT is(pg_temp.value($$SELECT crm.km_median(crm.km_fit(5e-324::float8, true)::text::crm.survival_curve) = 5e-324::float8$$), 'true',
          'the subnormal time read back is the same number');
SELECT is(pg_temp.value($$SELECT '{(-0,1,1,0)}'::crm.survival_curve OPERATOR(crm.=) '{(0,1,1,0)}'::crm.survival_curve$$), 'true',
          'a time of -0 is the time 0: the curves are equal');
SELECT is('{(-0,1,1,0)}'::crm.survival_curve::text, '{(0,1,1,0)}', '-0 prints as 0');
SELECT throws_ok($$SELECT '{(1e400,1,1,0)}'::crm.survival_curve$$, '22003', NULL,
                 'a time overflowing double precision is out of range (22003), as for float8');
SELECT throws_ok($$SELECT '{(1e-400,1,1,0)}'::crm.survival_curve$$, '22003', NULL,
                 'a time underflowing to zero is out of range (22003), as for float8');
SELECT throws_ok($$SELECT '{(x,1,1,0)}'::crm.survival_curve$$, '22P02', NULL, 'a time that is no number is a syntax error');

-- ---------------------------------------------------------------------------------------------
-- Cancellation: a statement timeout stops long computations inside one call, promptly.
SELECT setseed(0.5);
CREATE TEMP TABLE robust_points AS
SELECT i, ARRAY(SELECT random() FROM generate_series(1, 50) j WHERE i > -j) AS features
FROM generate_series(1, 20000) i;

SET LOCAL statement_timeout = '1s';
SELECT ok(t.state = '57014' AND t.seconds < 3,
          format('crm.kmeans (20000 points, 50 dimensions, k = 200) stops at a 1 s statement timeout (%s after %s s)',
                 t.state, round(t.seconds::numeric, 2)))
FROM pg_temp.timed($$SELECT crm.kmeans(features, 200) FROM robust_points$$) t;
SET LOCAL statement_timeout = '1s';
SELECT ok(t.state = '57014' AND t.seconds < 3,
          format('crm.bgnbd_p_purchases(n = 2^31 - 1, t = 1e300) stops at a 1 s statement timeout (%s after %s s)',
                 t.state, round(t.seconds::numeric, 2)))
FROM pg_temp.timed($$SELECT crm.bgnbd_p_purchases(ROW(1, 1, 1, 1, 0, 0, 0, true)::crm.bgnbd_model, 2147483647, 1e300)$$) t;
SET LOCAL statement_timeout = '1s';
SELECT ok(t.state = '57014' AND t.seconds < 3,
          format('crm.clv(1200 months of 9000 time units) stops at a 1 s statement timeout (%s after %s s)',
                 t.state, round(t.seconds::numeric, 2)))
FROM pg_temp.timed($$SELECT crm.clv(ROW(0.24, 4.41, 0.79, 2.43, 0, 0, 0, true)::crm.bgnbd_model,
                                    ROW(6.25, 3.74, 15.44, 0, 0, 0, true)::crm.gammagamma_model,
                                    2, 30, 38, 20, 1200, 0.01, 9000)$$) t;
SET LOCAL statement_timeout = '1s';
SELECT ok(t.state = '00000' AND t.seconds < 3,
          format('crm.bgnbd_p_purchases(n = 2^31 - 1, t = 5e-324) completes at once (%s after %s s)',
                 t.state, round(t.seconds::numeric, 2)))
FROM pg_temp.timed($$SELECT crm.bgnbd_p_purchases(ROW(1, 1, 1, 1, 0, 0, 0, true)::crm.bgnbd_model, 2147483647, 5e-324)$$) t;
SET LOCAL statement_timeout = '10s';
-- A million purchases in 5e-324 time units: impossible.
SELECT is(pg_temp.value($$SELECT crm.bgnbd_p_purchases(ROW(1, 1, 1, 1, 0, 0, 0, true)::crm.bgnbd_model, 1000000, 5e-324)$$), '0',
          'P(X(5e-324) = 10^6) is 0');
-- P(X(t) = 0) = (alpha / (alpha + t))^r (Fader, Hardie & Lee, eq. 8 with x = 0): 1/2 for alpha = t, r = 1.
SELECT is(pg_temp.value($$SELECT abs(crm.bgnbd_p_purchases(ROW(1, 1e308, 1, 1, 0, 0, 0, true)::crm.bgnbd_model, 0, 1e308) - 0.5) < 1e-12$$), 'true',
          'P(X(t) = 0) with alpha + t past DBL_MAX is (1/2)^r, not NaN');
-- With r = 2, a = b = 1, t = alpha: P(X(t) = 1) from the paper's formula, computed here in SQL:
-- B(a, b+1)/B(a, b) * Gamma(r+1)/(Gamma(r) 1!) q^r z + B(a+1, b)/B(a, b) * (1 - q^r), q = z = 1/2.
SELECT ok(abs(crm.bgnbd_p_purchases(ROW(2, 3, 1, 1, 0, 0, 0, true)::crm.bgnbd_model, 1, 3)
              - (0.5 * 2 * 0.25 * 0.5 + 0.5 * (1 - 0.25))) < 1e-12,
          'P(X(t) = 1) matches the closed form');

-- ---------------------------------------------------------------------------------------------
-- Documented limits: 54000, not an internal error.
SELECT throws_ok($$SELECT crm.logreg_fit(f, l) FROM (VALUES (array_fill(0.5::float8, ARRAY[12000]), true),
                                                            (array_fill(0.25::float8, ARRAY[12000]), false)) v(f, l)$$,
                 '54000', 'logreg_fit takes at most 1000 features', 'logreg_fit with 12,000 features: 54000');
SELECT throws_ok($$SELECT crm.logreg_fit(f, l, 1.0) FROM (VALUES (array_fill(0.5::float8, ARRAY[1001]), true)) v(f, l)$$,
                 '54000', 'logreg_fit takes at most 1000 features', 'logreg_fit with 1001 features (l2): 54000');
SELECT lives_ok($$SELECT crm.logreg_fit(f, l, 1.0)
                  FROM (VALUES (array_fill(0.5::float8, ARRAY[1000]), true), (array_fill(0.25::float8, ARRAY[1000]), false)) v(f, l)$$,
                'logreg_fit with 1000 features is within the limit');

-- ---------------------------------------------------------------------------------------------
-- crm.clv_summary: the mean of finite amounts does not overflow.
SELECT is(pg_temp.value($$SELECT (q.s).m = 1e308::float8 FROM (SELECT crm.clv_summary(ts, amount, '2024-01-31', 1) AS s
                           FROM (VALUES ('2024-01-01'::timestamptz, 1e308::float8), ('2024-01-02', 1e308),
                                        ('2024-01-03', 1e308)) v(ts, amount)) q$$),
          'true', 'two repeat days of 1e308: m = 1e308, not Infinity');
SELECT is(pg_temp.value($$SELECT abs((q.s).m - 5e307) < 1e293 FROM (SELECT crm.clv_summary(ts, amount, '2024-01-31', 1) AS s
                           FROM (VALUES ('2024-01-01'::timestamptz, 1::float8), ('2024-01-02', 1e308),
                                        ('2024-01-02 12:00', 1e308), ('2024-01-03', -1e308)) v(ts, amount)) q$$),
          'true', 'a repeat day summing to 2e308 and one of -1e308: m = 5e307');
SELECT throws_ok($$SELECT crm.clv_summary(ts, amount, '2024-01-31', 1)
                   FROM (VALUES ('2024-01-01'::timestamptz, 1::float8), ('2024-01-02', 1e308), ('2024-01-02 12:00', 1e308)) v(ts, amount)$$,
                 '22003', NULL, 'a mean of 2e308 is out of range (22003), not Infinity');
SELECT throws_ok($$SELECT crm.clv_summary(ts, 1, '2024-01-31', 5e-324)
                   FROM (VALUES ('2024-01-01'::timestamptz), ('2024-01-02')) v(ts)$$,
                 '22003', NULL, 'T in units of 5e-324 days is out of range (22003), not Infinity');
SELECT is((SELECT q.s::text FROM (SELECT crm.clv_summary(ts, amount, '2024-01-08', 7) AS s
                                FROM (VALUES ('2024-01-01'::timestamptz, 10::float8), ('2024-01-02', 20),
                                             ('2024-01-02 10:00', 5), ('2024-01-08', 40)) v(ts, amount)) q),
          '(2,1,1,32.5)', 'ordinary amounts: x = 2, t_x = T = 1 week, m = (25 + 40) / 2');

-- No infinity out of k-means: the mean of 1e308 and 1e308 overflowed in the sums.
SELECT throws_ok($$SELECT crm.kmeans(ARRAY[v], 1) FROM (VALUES (1e308::float8), (1e308)) t(v)$$,
                 '22003', 'features too large for crm.kmeans', 'k-means of coordinates past 1e100: 22003, not Infinity');
SELECT is(pg_temp.value($$SELECT crm.kmeans(ARRAY[v], 1) = ARRAY[[1e100::float8]] FROM (VALUES (1e100::float8), (1e100)) t(v)$$), 'true',
          'k-means of coordinates of 1e100: the mean is 1e100');

-- No infinity out of the spend model for finite parameters.
SELECT throws_ok($$SELECT crm.gammagamma_expected_spend(ROW(1e308, 2, 1e308, 0, 0, 0, true)::crm.gammagamma_model, 0, NULL)$$,
                 '22003', NULL, 'a population mean spend past DBL_MAX is out of range (22003), not Infinity');

SELECT * FROM finish();
ROLLBACK;
