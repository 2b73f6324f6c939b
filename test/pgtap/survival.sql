-- pgTAP: Kaplan-Meier edge cases, errors by SQLSTATE, text and binary round trips, parallel plans.
BEGIN;
SELECT plan(31);

-- Errors: bad durations (22023); malformed or inconsistent curves (22P02).
SELECT throws_ok($$SELECT crm.km_fit(d, true) FROM (VALUES (-0.5::float8)) v(d)$$, '22023', 'duration must be a finite, non-negative number', 'negative duration');
SELECT throws_ok($$SELECT crm.km_fit(d, true) FROM (VALUES ('NaN'::float8)) v(d)$$, '22023', NULL, 'NaN duration');
SELECT throws_ok($$SELECT crm.km_fit(d, true) FROM (VALUES ('Infinity'::float8)) v(d)$$, '22023', NULL, 'infinite duration');
SELECT throws_ok($$SELECT crm.km_survival_at('{(1,1,1,0)}', 'NaN')$$, '22023', NULL, 'S(NaN) is an error');
SELECT throws_ok(format('SELECT %L::crm.survival_curve', t), '22P02', NULL, 'rejects ' || t)
FROM unnest(ARRAY['', '{}', '{(1,1,1,0)', '{(1,1,1,0)}x', '{(1,1,0,0)}', '{(1,2,1,0)}', '{(-1,1,1,0)}',
                  '{(NaN,1,1,0)}', '{(1,1,2,-1)}', '{(1,1,1,0),(1,0,1,0)}', '{(1,99999999999999999999,1,0)}',
                  '{(1;1;1;0)}']) t;

-- Empty input, NULLs, censoring only.
SELECT ok((SELECT crm.km_fit(d, o) FROM (VALUES (NULL::float8, true), (1.0, NULL)) v(d, o)) IS NULL, 'only NULL rows give NULL');
SELECT is((SELECT crm.km_median(crm.km_fit(d, false)) FROM generate_series(1, 3) d), NULL, 'censoring only: no median');
SELECT is((SELECT crm.km_survival_at(crm.km_fit(d, false), 99) FROM generate_series(1, 3) d), 1::float8, 'censoring only: S = 1');
-- Everyone has the event at once: S drops to 0, standard error and interval undefined.
SELECT results_eq($$SELECT survival, std_err, lower, upper FROM crm.km_table((SELECT crm.km_fit(2, true) FROM generate_series(1, 4)))$$,
                  $$VALUES (0::float8, NULL::float8, NULL::float8, NULL::float8)$$, 'all events at one time: S = 0, bounds undefined');
-- Ties: an event and a censoring at the same time; the censored subject is still at risk.
SELECT results_eq($$SELECT at_risk, events, censored, survival FROM crm.km_table('{(5,2,1,1)}')$$,
                  $$VALUES (2::bigint, 1::bigint, 1::bigint, 0.5::float8)$$, 'event and censoring tied: 2 at risk, S = 1/2');
SELECT is(crm.km_median('{(5,2,1,1)}'), 5::float8, 'S = 0.5 exactly reaches the median');
-- Where S is exactly 0.5 over an interval, the median is the interval's midpoint, as in R's
-- survival package (quantile.survfit). Durations {9, 13}, both events: S = 1/2 on [9, 13), 0 from
-- 13: median (9 + 13) / 2 = 11 (0.1 said 9).
SELECT is((SELECT crm.km_median(crm.km_fit(d, true)) FROM (VALUES (9.0::float8), (13)) v(d)), 11::float8,
          'S = 0.5 on [9, 13): the median is the midpoint 11, as R reports');
-- Events at 1 and 2, a censoring at 3, an event at 4, 4 subjects: S = 3/4, 1/2, 1/2, 0. The flat
-- runs from 2 to the next drop at 4 (the censoring does not end it): median 3.
SELECT is((SELECT crm.km_median(crm.km_fit(d, d <> 3)) FROM generate_series(1, 4) d), 3::float8,
          'the flat at 0.5 runs over a censoring to the next event: midpoint 3');
-- A flat at the end: event at 9, censored at 13: S = 1/2 from 9 to the last time seen, 13. R takes
-- the midpoint of the flat up to the last time: 11.
SELECT is((SELECT crm.km_median(crm.km_fit(d, d = 9)) FROM (VALUES (9.0::float8), (13)) v(d)), 11::float8,
          'a flat at 0.5 to the end of the curve: midpoint with the last time, 11');
-- No flat: S jumps from 2/3 to 1/3 at 5 (durations 2, 5, 8, all events): median 5.
SELECT is((SELECT crm.km_median(crm.km_fit(d, true)) FROM (VALUES (2.0::float8), (5), (8)) v(d)), 5::float8,
          'S jumps across 0.5: the median is the time of the jump');

-- Round trips: text and COPY BINARY.
CREATE TEMP TABLE curves (c crm.survival_curve);
INSERT INTO curves SELECT crm.km_fit(d * 1.25, d % 3 <> 0) FROM generate_series(1, 50) d;
SELECT is((SELECT c::text::crm.survival_curve::text FROM curves), (SELECT c::text FROM curves), 'text round trip');
COPY curves TO '/tmp/crm_survival_test.bin' WITH (FORMAT binary);
CREATE TEMP TABLE curves_back (c crm.survival_curve);
COPY curves_back FROM '/tmp/crm_survival_test.bin' WITH (FORMAT binary);
SELECT ok((SELECT a.c OPERATOR(crm.=) b.c FROM curves a, curves_back b), 'COPY BINARY round trip');

-- Durations of 100,000 customers: a forced parallel plan gives exactly the serial curve.
CREATE TABLE crm_test_lifetimes AS
SELECT (abs(hashint4(i)) % 1000)::float8 / 10 AS days, (hashint4(i * 7) % 3 <> 0) AS churned
FROM generate_series(1, 100000) i;
ANALYZE crm_test_lifetimes;
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_curve AS SELECT crm.km_fit(days, churned) AS c FROM crm_test_lifetimes;
\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.km_fit(days, churned) FROM crm_test_lifetimes') l WHERE l LIKE '%Partial Aggregate%'),
          'the plan is parallel (Partial Aggregate)');
SELECT ok((SELECT crm.km_fit(days, churned) FROM crm_test_lifetimes) OPERATOR(crm.=) (SELECT c FROM serial_curve),
          'parallel and serial curves are equal');
-- And S(t) equals the product-limit estimate computed independently in SQL at every time.
SELECT ok((SELECT bool_and(abs(k.survival - s.survival) < 1e-12)
           FROM crm.km_table((SELECT c FROM serial_curve)) k
           JOIN (SELECT time, exp(sum(ln(1 - d::float8 / n)) FILTER (WHERE d > 0 AND d < n) OVER (ORDER BY time)) AS survival
                 FROM (SELECT days AS time, count(*) FILTER (WHERE churned) AS d,
                              sum(count(*)) OVER (ORDER BY days DESC) AS n
                       FROM crm_test_lifetimes GROUP BY days) per_time) s USING (time)),
          'S(t) matches the product-limit estimate computed in SQL');

SELECT * FROM finish();
ROLLBACK;
