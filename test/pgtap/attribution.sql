-- pgTAP: multi-touch attribution. Heuristic credits summing exactly to awkward values, lookback,
-- NULLs, errors by SQLSTATE; the Markov model: its text and binary forms, two examples solved by
-- hand, a seeded Monte Carlo simulation of the chain agreeing with the exact solution, and a forced
-- parallel plan giving the serial model.
BEGIN;
SELECT plan(68);
SET LOCAL timezone = 'UTC';

-- 1. Exact sums -------------------------------------------------------------------------------
-- 100.01 over 3 touches: 10001 hundredths = 3 x 3333 + 2, the two units left to positions 1, 2.
SELECT is(array_agg(credit ORDER BY position), ARRAY[33.34, 33.34, 33.33]::numeric[], 'linear 100.01 over 3: 33.34, 33.34, 33.33')
FROM crm.attribute(ARRAY['a', 'b', 'c'], NULL, 100.01, 'linear');
SELECT is(array_agg(credit ORDER BY position), ARRAY[-33.34, -33.34, -33.33]::numeric[], 'a negative value splits like its absolute value')
FROM crm.attribute(ARRAY['a', 'b', 'c'], NULL, -100.01, 'linear');
-- position_based over 3: 40/20/40 of 10001 = 4000.4, 2000.2, 4000.4 -> 4000, 2000, 4000 + 1 left
-- to the largest remainders (0.4 = 0.4: position 1).
SELECT is(array_agg(credit ORDER BY position), ARRAY[40.01, 20.00, 40.00]::numeric[], 'position_based 100.01 over 3')
FROM crm.attribute(ARRAY['a', 'b', 'c'], NULL, 100.01, 'position_based');
SELECT is(array_agg(credit ORDER BY position), ARRAY[50.01, 50.00]::numeric[], 'position_based over 2 touches: 50/50')
FROM crm.attribute(ARRAY['a', 'b'], NULL, 100.01, 'position_based');
SELECT is(array_agg(credit ORDER BY position), ARRAY[100.01]::numeric[], 'position_based over 1 touch: all of it')
FROM crm.attribute(ARRAY['a'], NULL, 100.01, 'position_based');
SELECT is(array_agg(credit ORDER BY position), ARRAY[0.34, 0.33, 0.33]::numeric[], 'credits keep the value''s scale (1.00 -> hundredths)')
FROM crm.attribute(ARRAY['a', 'b', 'c'], NULL, 1.00, 'linear');
SELECT is(array_agg(credit ORDER BY position), ARRAY[1, 1, 0]::numeric[], 'an integer value gives integer credits')
FROM crm.attribute(ARRAY['a', 'b', 'c'], NULL, 2, 'linear');
-- W-shaped when every touch holds a role: a third each. 3 touches, lead 2, opportunity 3.
SELECT is(array_agg(credit ORDER BY position), ARRAY[33.34, 33.34, 33.33]::numeric[], 'w_shaped with no other touch: a third to each role')
FROM crm.attribute(ARRAY['a', 'b', 'c'], NULL, 100.01, 'w_shaped', milestones => ARRAY[2, 3]);
-- W-shaped with the lead created at the first touch: that touch holds two roles (60%).
SELECT is(array_agg(credit ORDER BY position), ARRAY[60.00, 5.00, 30.00, 5.00]::numeric[], 'w_shaped: a touch holding two roles gets both')
FROM crm.attribute(ARRAY['a', 'b', 'c', 'd'], NULL, 100.00, 'w_shaped', milestones => ARRAY[1, 3]);

-- Random paths, values and models: every sum is the value exactly. 300 cases.
SELECT is((
    WITH cases AS (
        SELECT i, 1 + (hashint4(i) & 15) AS n,
               round(((hashint4(i * 7) & 1048575) / 7.0)::numeric, (hashint4(i * 11) & 3)) AS value,
               (ARRAY['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'w_shaped'])[1 + i % 6] AS model
        FROM generate_series(1, 300) i)
    SELECT count(*) FROM cases c
    WHERE (SELECT sum(credit) FROM crm.attribute(
               ARRAY(SELECT 'ch' || k FROM generate_series(1, c.n) k),
               ARRAY(SELECT timestamptz '2026-01-01' + (hashint4(c.i * 100 + k) & 1023) * interval '1 hour' FROM generate_series(1, c.n) k),
               c.value, c.model, half_life => '2 days', milestones => ARRAY[1 + c.n / 2, c.n]))
          IS DISTINCT FROM c.value), 0::bigint, '300 random paths over all models: the credits sum to the value exactly');

-- Time decay as the brief defines it, from the weights by hand: ages 3 and 1 days to the
-- conversion, half-life 2 days: 2^-1.5 and 2^-0.5, shares 1/3 and 2/3 -> 33.33 + 66.67 of 100.00.
SELECT is(array_agg(credit ORDER BY position), ARRAY[33.33, 66.67]::numeric[], 'time_decay: weights 2^(-age / half_life)')
FROM crm.attribute(ARRAY['a', 'b'], ARRAY['2026-01-01', '2026-01-03']::timestamptz[], 100.00, 'time_decay',
                   converted_at => '2026-01-04', half_life => '2 days');
-- Without converted_at the ages run to the last touch: ages 2 and 0 days, half-life 2 days -> 1/3, 2/3.
SELECT is(array_agg(credit ORDER BY position), ARRAY[33.33, 66.67]::numeric[], 'time_decay without converted_at: ages to the last touch')
FROM crm.attribute(ARRAY['a', 'b'], ARRAY['2026-01-01', '2026-01-03']::timestamptz[], 100.00, 'time_decay', half_life => '2 days');
-- Touch order is by time, not array order: first_touch goes to the earliest.
SELECT is(array_agg(credit ORDER BY position), ARRAY[0, 9.99, 0]::numeric[], 'first_touch is the earliest touch, wherever it is in the array')
FROM crm.attribute(ARRAY['a', 'b', 'c'], ARRAY['2026-01-05', '2026-01-01', '2026-01-03']::timestamptz[], 9.99, 'first_touch');

-- 2. Lookback and window ----------------------------------------------------------------------
SELECT is(array_agg(credit ORDER BY position), ARRAY[0, 50.00, 50.00]::numeric[], 'a touch before converted_at - lookback gets nothing')
FROM crm.attribute(ARRAY['a', 'b', 'c'], ARRAY['2026-01-01', '2026-01-20', '2026-01-25']::timestamptz[], 100.00, 'linear',
                   converted_at => '2026-01-31', lookback => '14 days');
SELECT is(array_agg(credit ORDER BY position), ARRAY[50.00, 50.00, 0]::numeric[], 'a touch after converted_at gets nothing')
FROM crm.attribute(ARRAY['a', 'b', 'c'], ARRAY['2026-01-01', '2026-01-20', '2026-02-25']::timestamptz[], 100.00, 'linear',
                   converted_at => '2026-01-31');
SELECT is(array_agg(credit ORDER BY position), ARRAY[100.00, 0]::numeric[], 'a touch exactly lookback before the conversion is inside')
FROM crm.attribute(ARRAY['a', 'b'], ARRAY['2026-01-17', '2026-01-01']::timestamptz[], 100.00, 'first_touch',
                   converted_at => '2026-01-31', lookback => '14 days');
SELECT is(array_agg(credit ORDER BY position), ARRAY[0, 0]::numeric[], 'no touch in the window: every credit 0')
FROM crm.attribute(ARRAY['a', 'b'], ARRAY['2025-01-01', '2025-01-02']::timestamptz[], 100.00, 'linear',
                   converted_at => '2026-01-31', lookback => '7 days');
SELECT is(array_agg(credit ORDER BY position), ARRAY[0, 100.00]::numeric[], 'lookback without converted_at ends at the last touch')
FROM crm.attribute(ARRAY['a', 'b'], ARRAY['2026-01-01', '2026-01-31']::timestamptz[], 100.00, 'linear', lookback => '7 days');

-- 3. NULLs ----------------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM crm.attribute(NULL, NULL, 100, 'linear')), 0::bigint, 'NULL channels: no rows');
SELECT is((SELECT count(*) FROM crm.attribute(ARRAY['a'], NULL, NULL, 'linear')), 0::bigint, 'NULL value: no rows');
SELECT is((SELECT count(*) FROM crm.attribute(ARRAY['a'], NULL, 100, NULL)), 0::bigint, 'NULL model: no rows');
SELECT is((SELECT count(*) FROM crm.attribute('{}', '{}', 100, 'linear')), 0::bigint, 'an empty path: no rows');
SELECT is(array_agg(channel ORDER BY position), ARRAY['a', NULL], 'a NULL channel keeps its row and its credit')
FROM crm.attribute(ARRAY['a', NULL], NULL, 10, 'linear');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a', 'b'], ARRAY['2026-01-01', NULL]::timestamptz[], 1, 'linear')$$,
                 '22004', NULL, 'a NULL touched_at element is refused');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], NULL, 1, 'time_decay')$$,
                 '22004', NULL, 'time_decay needs touched_at');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], NULL, 1, 'linear', converted_at => '2026-01-01')$$,
                 '22004', NULL, 'converted_at needs touched_at');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], ARRAY['2026-01-01']::timestamptz[], 1, 'time_decay', half_life => NULL)$$,
                 '22004', NULL, 'time_decay needs a half_life');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], NULL, 1, 'w_shaped')$$,
                 '22004', NULL, 'w_shaped needs milestones');

-- 4. Errors -----------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], NULL, 1, 'shapley')$$,
                 '22023', 'unknown attribution model "shapley"', 'an unknown model is 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a', 'b'], ARRAY['2026-01-01']::timestamptz[], 1, 'linear')$$,
                 '22023', 'channels and touched_at must have the same length', 'arrays of different lengths are 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], NULL, 'NaN', 'linear')$$, '22023', NULL, 'a NaN value is 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], NULL, 1234567890123456789, 'linear')$$, '54000', NULL,
                 'more than 18 significant digits is the documented limit (54000)');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], ARRAY['2026-01-01']::timestamptz[], 1, 'linear', lookback => '-1 day')$$,
                 '22023', NULL, 'a negative lookback is 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], ARRAY['2026-01-01']::timestamptz[], 1, 'time_decay', half_life => '0')$$,
                 '22023', NULL, 'a zero half_life is 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a', 'b'], NULL, 1, 'w_shaped', milestones => ARRAY[1, 3])$$,
                 '22023', NULL, 'a milestone beyond the path is 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a', 'b'], NULL, 1, 'w_shaped', milestones => ARRAY[1])$$,
                 '22023', NULL, 'milestones must be two positions');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a', 'b'], ARRAY['2025-01-01', '2026-01-01']::timestamptz[], 1, 'w_shaped',
                   converted_at => '2026-01-02', lookback => '7 days', milestones => ARRAY[1, 2])$$,
                 '22023', NULL, 'a milestone outside the lookback window is 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute(ARRAY['a'], ARRAY['infinity']::timestamptz[], 1, 'linear')$$,
                 '22023', NULL, 'an infinite touched_at is 22023');

-- 5. Markov: the classic three journeys --------------------------------------------------------
-- C1 > C2 > C3 > conversion, C1 > null, C2 > C3 > null. Transitions: start > C1 2/3, start > C2
-- 1/3, C1 > C2 1/2, C1 > null 1/2, C2 > C3 1, C3 > conv 1/2, C3 > null 1/2. Converting from C3:
-- 1/2, from C2: 1/2, from C1: 1/4; P = 2/3 * 1/4 + 1/3 * 1/2 = 1/3. Without C1 only start > C2
-- remains: 1/3 * 1/2 = 1/6, removal effect 1/2; without C2 or C3 nothing converts: effect 1.
-- Shares 0.5 / 2.5 = 0.2, 0.4, 0.4. (Not 1, 1, 1: removing C1 leaves the path through C2.)
CREATE TEMP TABLE classic AS
SELECT crm.markov_attribution(path, converted, value) AS m
FROM (VALUES ('{C1,C2,C3}'::text[], true, 100.00), ('{C1}', false, NULL), ('{C2,C3}', false, NULL)) j(path, converted, value);
SELECT is(m::text, '1;3;1;100.00;0>1:2,0>2:1,1>2:1,1>5:1,2>3:2,3>4:1,3>5:1;{C1,C2,C3}', 'the classic journeys: the transition counts') FROM classic;
SELECT ok(abs(crm.markov_conversion_probability(m) - 1 / 3.0) < 1e-12, 'the classic journeys: P(conversion) = 1/3') FROM classic;
SELECT ok(bool_and(abs(r.removal_effect - h.effect) < 1e-12 AND abs(r.share - h.share) < 1e-12 AND r.credit = h.credit)
          AND count(*) = 3, 'the classic journeys: removal effects 1/2, 1, 1, shares 0.2, 0.4, 0.4, credits 20.00, 40.00, 40.00')
FROM classic, crm.markov_removal_effects(m) r
JOIN (VALUES ('C1', 0.5, 0.2, 20.00), ('C2', 1, 0.4, 40.00), ('C3', 1, 0.4, 40.00)) h(channel, effect, share, credit) USING (channel);

-- 6. Markov: a chain with a cycle, by enumerating paths ---------------------------------------
-- Journeys A > B > conv, B > A > null, A > conv, B > null, A > conv. Transitions: start > A 3/5,
-- start > B 2/5; A > conv 1/2, A > B 1/4, A > null 1/4; B > conv 1/3, B > A 1/3, B > null 1/3.
-- Converting paths from A: A > conv, A > B > conv, then the same after each A > B > A loop (1/12):
-- (1/2 + 1/4 * 1/3) * sum (1/12)^k = 7/12 * 12/11 = 7/11; from B: 1/3 + 1/3 * 7/11 = 6/11.
-- P = 3/5 * 7/11 + 2/5 * 6/11 = 33/55 = 3/5.
-- Without A: start > B > conv only, 2/5 * 1/3 = 2/15, effect 1 - (2/15) / (3/5) = 7/9.
-- Without B: start > A > conv only, 3/5 * 1/2 = 3/10, effect 1 - (3/10) / (3/5) = 1/2.
-- Shares (7/9) / (7/9 + 1/2) = 14/23 and 9/23; conversions worth 23.00 -> 14.00 and 9.00.
CREATE TEMP TABLE cycle_journeys (path text[], converted boolean, value numeric);
INSERT INTO cycle_journeys VALUES ('{A,B}', true, 10.00), ('{B,A}', false, NULL), ('{A}', true, 3.00), ('{B}', false, NULL), ('{A}', true, 10.00);
CREATE TEMP TABLE cycle AS SELECT crm.markov_attribution(path, converted, value) AS m FROM cycle_journeys;
SELECT ok(abs(crm.markov_conversion_probability(m) - 3 / 5.0) < 1e-12, 'the cycle: P(conversion) = 3/5') FROM cycle;
SELECT ok(bool_and(abs(r.conversion_probability_without - h.without) < 1e-12 AND abs(r.removal_effect - h.effect) < 1e-12
                   AND abs(r.share - h.share) < 1e-12 AND r.credit = h.credit) AND count(*) = 2,
          'the cycle: P without A 2/15, without B 3/10; effects 7/9, 1/2; shares 14/23, 9/23; credits 14.00, 9.00')
FROM cycle, crm.markov_removal_effects(m) r
JOIN (VALUES ('A', 2 / 15.0, 7 / 9.0, 14 / 23.0, 14.00), ('B', 3 / 10.0, 1 / 2.0, 9 / 23.0, 9.00)) h(channel, without, effect, share, credit) USING (channel);
SELECT ok(bool_and(abs(t.probability - h.p) < 1e-15) AND count(*) = 8, 'the cycle: the transition matrix')
FROM cycle, crm.markov_transition_matrix(m) t
JOIN (VALUES ('(start)', 'A', 3 / 5.0), ('(start)', 'B', 2 / 5.0), ('A', 'B', 1 / 4.0), ('A', '(conversion)', 1 / 2.0),
             ('A', '(null)', 1 / 4.0), ('B', 'A', 1 / 3.0), ('B', '(conversion)', 1 / 3.0), ('B', '(null)', 1 / 3.0)) h(from_state, to_state, p)
USING (from_state, to_state);

-- 7. Monte Carlo: 20,000 seeded walks of the cycle's chain (driven by its transition matrix, the
-- table mc, not by the solver) estimate P, P without A and P without B; each agrees with the exact value within
-- 4 standard errors sqrt(p (1 - p) / n).
CREATE FUNCTION pg_temp.simulate(removed text, walks integer) RETURNS double precision
LANGUAGE plpgsql AS $f$
DECLARE
    state text;
    u double precision;
    t record;
    converted integer := 0;
BEGIN
    FOR w IN 1..walks LOOP
        state := '(start)';
        LOOP
            u := random();
            SELECT to_state INTO t FROM mc WHERE from_state = state AND upto > u ORDER BY upto LIMIT 1;
            state := coalesce(t.to_state, (SELECT to_state FROM mc WHERE from_state = state ORDER BY upto DESC LIMIT 1));
            IF state = removed THEN state := '(null)'; END IF;
            EXIT WHEN state IN ('(conversion)', '(null)');
        END LOOP;
        IF state = '(conversion)' THEN converted := converted + 1; END IF;
    END LOOP;
    RETURN converted::double precision / walks;
END
$f$;
CREATE TEMP TABLE mc AS
SELECT from_state, to_state, sum(probability) OVER (PARTITION BY from_state ORDER BY to_state) AS upto
FROM cycle, crm.markov_transition_matrix(m);
SELECT setseed(0.42);
SELECT ok(abs(pg_temp.simulate(NULL, 20000) - 3 / 5.0) < 4 * sqrt(0.6 * 0.4 / 20000), 'Monte Carlo P agrees with the exact 3/5') FROM cycle;
SELECT ok(abs(pg_temp.simulate('A', 20000) - r.conversion_probability_without) < 4 * sqrt(r.conversion_probability_without * (1 - r.conversion_probability_without) / 20000),
          'Monte Carlo P without A agrees with the exact solution') FROM cycle, crm.markov_removal_effects(m) r WHERE r.channel = 'A';
SELECT ok(abs(pg_temp.simulate('B', 20000) - r.conversion_probability_without) < 4 * sqrt(r.conversion_probability_without * (1 - r.conversion_probability_without) / 20000),
          'Monte Carlo P without B agrees with the exact solution') FROM cycle, crm.markov_removal_effects(m) r WHERE r.channel = 'B';

-- 8. The type: text and binary forms, validation ------------------------------------------------
SELECT is(m::text::crm.markov_model::text, m::text, 'text output reads back') FROM cycle;
SELECT is(crm.markov_model_send(m), crm.markov_model_send(m::text::crm.markov_model), 'the binary form survives the text form') FROM cycle;
SELECT is('1;1;1;0;0>2:1,1>3:1,2>1:1;{b,a}'::crm.markov_model::text, '1;1;1;0;0>1:1,1>2:1,2>3:1;{a,b}',
          'channels are listed by name in the output');
SELECT throws_ok($$SELECT '2;1;1;0;0>1:1,1>2:1;{a}'::crm.markov_model$$, '22P02', NULL, 'an unknown version is 22P02');
SELECT throws_ok($$SELECT '1;1;1;0;0>1:1,1>3:1;{a}'::crm.markov_model$$, '22P02', NULL, 'conversions not matching the counts is 22P02');
SELECT throws_ok($$SELECT '1;1;0;0;0>1:1,1>3:1,1>3:1;{a}'::crm.markov_model$$, '22P02', NULL, 'a transition listed twice is 22P02');
SELECT throws_ok($$SELECT '1;1;0;5;0>1:1,1>3:1;{a}'::crm.markov_model$$, '22P02', NULL, 'a value without conversions is 22P02');
SELECT throws_ok($$SELECT '1;1;0;0;0>1:1,1>3:1;{(null)}'::crm.markov_model$$, '22P02', NULL, 'a reserved state name is 22P02');

-- 9. The aggregate: NULLs, errors, limits -------------------------------------------------------
SELECT is(crm.markov_attribution(path, converted)::text, '1;1;0;0;0>1:1,1>3:1;{a}', 'NULL and empty paths and a NULL converted are skipped')
FROM (VALUES ('{a}'::text[], false), (NULL, true), ('{}', true), ('{b}', NULL)) j(path, converted);
SELECT ok(crm.markov_attribution(path, converted) IS NULL, 'no journeys: NULL') FROM cycle_journeys WHERE false;
SELECT is(crm.markov_attribution(path, converted, value)::text, '1;2;2;5.5;0>1:2,1>2:2;{a}', 'a NULL value adds nothing')
FROM (VALUES ('{a}'::text[], true, 5.5), ('{a}', true, NULL)) j(path, converted, value);
SELECT throws_ok($$SELECT crm.markov_attribution(ARRAY['a', NULL], true)$$, '22004', NULL, 'a NULL channel in a path is 22004');
SELECT throws_ok($$SELECT crm.markov_attribution(ARRAY['(start)'], true)$$, '22023', NULL, 'a reserved channel name is 22023');
SELECT throws_ok($$SELECT crm.markov_attribution(ARRAY['a'], true, -1)$$, '22023', NULL, 'a negative value is 22023');
SELECT throws_ok($$SELECT crm.markov_attribution(ARRAY['c' || i], true) FROM generate_series(1, 1001) i$$, '54000', NULL,
                 'more than 1000 channels is the documented limit (54000)');

-- 10. A forced parallel plan gives the serial model --------------------------------------------
CREATE TABLE public.attribution_many AS
SELECT ARRAY(SELECT (ARRAY['search', 'email', 'social', 'display', 'direct'])[1 + (hashint4(i * 16 + k) & 4095) % 5]
             FROM generate_series(1, 1 + (hashint4(i) & 3)) k) AS path,
       (hashint4(i * 3) & 7) < 2 AS converted, ((hashint4(i * 5) & 65535) / 100.0)::numeric(10, 2) AS value
FROM generate_series(1, 20000) i;
ANALYZE public.attribution_many;
\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.markov_attribution(path, converted, value) FROM public.attribution_many') l
                  WHERE l LIKE '%Partial Aggregate%'), 'the plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE parallel_model AS SELECT crm.markov_attribution(path, converted, value)::text AS m FROM public.attribution_many;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT is(p.m, (SELECT crm.markov_attribution(path, converted, value)::text FROM public.attribution_many), 'parallel and serial models are identical')
FROM parallel_model p;
SELECT is((SELECT sum(credit) FROM crm.markov_removal_effects(p.m::crm.markov_model)), (SELECT sum(value) FROM public.attribution_many WHERE converted),
          'Markov credits sum to the total conversion value exactly') FROM parallel_model p;

-- crm.attribute called once per row keeps its result row type between calls (cached per call
-- site): in the FROM list (LATERAL), in the SELECT list, and two call sites in one query.
-- By hand: 0.03 linear over 2 touches = 2 + 1 cents; 1.00 over 3 = 34 + 33 + 33 cents;
-- 2.00 first touch = 2.00, 0, 0, 0.
SELECT is((SELECT array_agg(a.credit ORDER BY j.i, a.position)
           FROM (VALUES (1, ARRAY['a', 'b'], 0.03), (2, ARRAY['a', 'b', 'c'], 1.00), (3, ARRAY['d', 'c', 'b', 'a'], 2.00)) j(i, path, v),
                crm.attribute(j.path, NULL, j.v, CASE WHEN j.i = 3 THEN 'first_touch' ELSE 'linear' END) a),
          ARRAY[0.02, 0.01, 0.34, 0.33, 0.33, 2.00, 0.00, 0.00, 0.00]::numeric[],
          'crm.attribute per row in FROM: each row its own credits');
SELECT is((SELECT array_agg(c ORDER BY i, k)
           FROM (SELECT j.i, row_number() OVER (PARTITION BY j.i) AS k, (crm.attribute(j.path, NULL, j.v, 'linear')).credit AS c
                 FROM (VALUES (1, ARRAY['a', 'b'], 0.03), (2, ARRAY['a', 'b', 'c'], 1.00)) j(i, path, v)) s),
          ARRAY[0.02, 0.01, 0.34, 0.33, 0.33]::numeric[],
          'crm.attribute per row in the SELECT list');
SELECT is((SELECT array_agg(a.channel || ':' || a.credit || '/' || b.credit ORDER BY j.i, a.position)
           FROM (VALUES (1, ARRAY['a', 'b'], 0.03), (2, ARRAY['a', 'b', 'c'], 1.00)) j(i, path, v),
                crm.attribute(j.path, NULL, j.v, 'linear') a,
                crm.attribute(j.path, NULL, j.v, 'last_touch') b
           WHERE a.position = b.position),
          ARRAY['a:0.02/0.00', 'b:0.01/0.03', 'a:0.34/0.00', 'b:0.33/0.00', 'c:0.33/1.00'],
          'two crm.attribute call sites in one query');

SELECT * FROM finish();
ROLLBACK;
