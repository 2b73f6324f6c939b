-- pgTAP: stage analytics (src/forecast.sql "Stage analytics", docs/forecast.md): time in stage by
-- Kaplan-Meier, conversion, win rates, velocity, slipped and aging deals. Every expected number is
-- derived by hand below.
--
-- Time t in days from 2026-01-01 00:00 UTC; as_of = t100 = 2026-04-11 00:00 UTC. Staff: Ana and Ben
-- (sales, team north), Cy (sales, team south). Stages: 1 lead (pos 10), 2 prospect (20), 3
-- opportunity (30), 4 quote (40), 5 negotiation (50), 6 won, 7 lost. Stage history (stage@t):
--   d1  Ana USD 1000: prospect@0, opportunity@10, won@30     exp close 2026-01-31, no changes
--   d2  Ana USD  500: prospect@0, lost@20
--   d3  Ana USD 2000: prospect@5 (open)                      exp close changes, below
--   d4  Ben USD 3000: prospect@0, opportunity@30, won@40      exp close 2026-02-05, no changes
--   d5  Ben USD  400: prospect@10, lead@50 (open)             no exp close
--   d6  Cy  USD  600: prospect@0, opportunity@50 (open)       exp close changes, below
--   d7  Cy  USD  800: prospect@60 (open)                      one change after as_of
--   d8  Cy  USD  900: opportunity@0 (open)
--   d9  Ana USD  300: opportunity@0, lost@5
--   d10 Cy  EUR  700: quote@50, won@60
--   d20..d29 Cy USD 100: negotiation@0, lost@k for k = 1..10
--   d30 Cy  USD  100: negotiation@95 (open);  d31 Cy USD 100: negotiation@0 (open)
-- closed_at = the time of the closing row.
--
-- Prospect spells (days, e = left, c = censored at t100): d1 10e, d2 20e, d3 95c, d4 30e, d5 40e,
--   d6 50e, d7 40c. Sorted 10e 20e 30e 40e 40c 50e 95c, n 7, events 5, censored 2.
--   S(10) = 6/7, S(20) = 5/7, S(30) = 4/7, S(40) = 4/7 * 3/4 = 3/7 (.4286; the 40c stays at risk
--   at 40), S(50) = 3/7 * 1/2 = 3/14 (.2143, at risk 50e and 95c). Median: first S < .5 -> 40;
--   P75: first S < .25 -> 50; P90: S never < .1 -> NULL.
--   Ana: 10e 20e 95c: S(10) = 2/3, S(20) = 1/3 -> median 20; P75 (S < .25) never -> NULL.
--   Ben: 30e 40e: S(30) = 1/2 exactly -> median is the midpoint of 30 and the next event 40 = 35
--        (R's rule); S(40) = 0 -> P75 = P90 = 40.
--   Cy: 40c 50e: S(50) = 0 -> median = P75 = P90 = 50. Team south = Cy.
--   Team north (Ana, Ben): 10e 20e 30e 40e 95c: S = .8, .6, .4, .2 -> median 30, P75 40, P90 NULL.
--   Entered from t = 1 s on: d3 95c, d5 40e, d7 40c: S(40) = 2/3 -> n 3, events 1, median NULL.
-- Opportunity spells: d1 20e, d4 10e, d6 50c, d8 100c, d9 5e: S(5) = .8, S(10) = .6, S(20) = .4
--   -> median 20, P75 and P90 NULL.
-- Negotiation spells: d20..d29 1e..10e, d30 5c, d31 100c (n 12): S(1..4) = 11/12, 10/12, 9/12,
--   8/12; at 5 at risk 8 (5e 5c 6..10 100c): S = 8/12 * 7/8 = 7/12; then at risk 6: S(6) = 7/12 *
--   5/6 = 35/72 (.486), S(7) = 28/72, S(8) = 21/72 (.292), S(9) = 14/72 (.194), S(10) = 7/72 (.097)
--   -> median 6, P75 9, P90 10.
-- Conversion (by t100): prospect: advanced d1 d4 d6 (to opportunity), lost d2, moved back d5 (to
--   lead), open d3 d7 -> 3 / (3 + 1 + 1) = 0.6; Ben: d4 advanced, d5 back -> 0.5; negotiation:
--   10 lost, 2 open -> 0.
-- Win rates, deals closed in [t20, t100): d1 won (cycle 30), d2 lost, d4 won (cycle 40); d10 EUR
--   won (cycle 10); d9 (t5) and d20..d29 (t1..t10) are outside.
--   USD all: won 2, lost 1, rate 2/3, won amount 4000, average 2000, cycle average 35, median 35.
--   Ana: 1 won 1 lost -> .5, 1000, cycle 30. Ben: 1 won -> 1, 3000, 40. EUR: 1 won, 700, 10.
-- Velocity (open at t100, rates over [t20, t100)): USD open d3 d5 d6 d7 d8 d30 d31 = 7:
--   7 * 2/3 * 2000 / 35 = 28000 / 105 = 266.666...; Ana: 1 * .5 * 1000 / 30 = 16.666...;
--   Ben: 1 * 1 * 3000 / 40 = 75; team north: 2 * 2/3 * 2000 / 35 = 8000 / 105 = 76.1904...;
--   Cy USD: 5 open, nothing closed in the period -> win rate and velocity NULL; EUR: 0 open -> 0.
-- Slips (as_of 2026-04-11 00:00 UTC; a date d passes at d + 1 day 00:00):
--   d3: 2026-02-01 from its start, changed 2026-02-05 to 03-01 (02-01 passed on 02-02 while in
--       force: slip 1; a push), changed 2026-02-20 to 03-15 (before 03-01 passed: a push, no slip);
--       03-15 passed 03-16 < as_of: slip 2. slips 2, pushes 2, overdue 04-11 - 03-15 = 27 days.
--   d4: 2026-02-05, won 02-10: passed on 02-06 while open: slips 1, pushes 0, closed (no overdue).
--   d6: 05-01, pulled in on 03-01 to 04-01 (not a push); 04-01 passed 04-02: slips 1, overdue 10.
--   d7: 06-30, pushed to 07-31 on 2026-05-01, after as_of: nothing by as_of (not listed).
--   d1: 01-31, won 01-31 00:00, before 02-01 00:00: no slip. d5, d8: no date.
-- Aging (t100): negotiation P90 = 10: d31 in it for 100 days -> aging; d30 (5 days) not;
--   prospect, opportunity and lead have no P90 -> none. So exactly d31 (100 days, P90 10).
BEGIN;
SELECT plan(45);
SET LOCAL TimeZone = 'UTC';

CREATE ROLE sa_ana; CREATE ROLE sa_ben; CREATE ROLE sa_cy; CREATE ROLE sa_sam;
GRANT crm_sales TO sa_ana, sa_ben, sa_cy; GRANT crm_support TO sa_sam;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (7001, 'sa_ana', 'Ana', 'ana@sa.example', 'sales', 'north'),
    (7002, 'sa_ben', 'Ben', 'ben@sa.example', 'sales', 'north'),
    (7003, 'sa_cy', 'Cy', 'cy@sa.example', 'sales', 'south');
INSERT INTO crm.accounts (account_id, name) VALUES (7001, 'SA customer');

CREATE TEMP TABLE sa_deal (id bigint, owner bigint, cur char(3), amount numeric, exp date, hist int[], at_ numeric[]);
INSERT INTO sa_deal VALUES
    (7001, 7001, 'USD', 1000, '2026-01-31', '{2,3,6}', '{0,10,30}'),
    (7002, 7001, 'USD',  500, NULL,         '{2,7}',   '{0,20}'),
    (7003, 7001, 'USD', 2000, '2026-03-15', '{2}',     '{5}'),
    (7004, 7002, 'USD', 3000, '2026-02-05', '{2,3,6}', '{0,30,40}'),
    (7005, 7002, 'USD',  400, NULL,         '{2,1}',   '{10,50}'),
    (7006, 7003, 'USD',  600, '2026-04-01', '{2,3}',   '{0,50}'),
    (7007, 7003, 'USD',  800, '2026-07-31', '{2}',     '{60}'),
    (7008, 7003, 'USD',  900, NULL,         '{3}',     '{0}'),
    (7009, 7001, 'USD',  300, NULL,         '{3,7}',   '{0,5}'),
    (7010, 7003, 'EUR',  700, NULL,         '{4,6}',   '{50,60}'),
    (7030, 7003, 'USD',  100, NULL,         '{5}',     '{95}'),
    (7031, 7003, 'USD',  100, NULL,         '{5}',     '{0}');
INSERT INTO sa_deal SELECT 7019 + k, 7003, 'USD', 100, NULL, '{5,7}', ARRAY[0, k] FROM generate_series(1, 10) k;

CREATE FUNCTION pg_temp.t(d numeric) RETURNS timestamptz LANGUAGE sql AS $$ SELECT '2026-01-01 00:00+00'::timestamptz + d * interval '1 day' $$;
INSERT INTO crm.opportunities (opportunity_id, name, account_id, amount, currency, stage_id, expected_close, closed_at, owner_id, created_at)
SELECT id, 'd' || (id - 7000), 7001, amount, cur, hist[cardinality(hist)], exp,
       CASE WHEN hist[cardinality(hist)] IN (6, 7) THEN pg_temp.t(at_[cardinality(at_)]) END, owner, pg_temp.t(at_[1])
FROM sa_deal;
-- the hand-made history replaces what the trigger wrote (as the superuser: nobody else writes it)
DELETE FROM crm.opportunity_stage_history WHERE opportunity_id BETWEEN 7001 AND 7031;
INSERT INTO crm.opportunity_stage_history (opportunity_id, from_stage_id, to_stage_id, changed_at)
SELECT id, CASE WHEN i > 1 THEN hist[i - 1] END, hist[i], pg_temp.t(at_[i])
FROM sa_deal, generate_subscripts(hist, 1) i;
DELETE FROM crm.opportunity_expected_close_history WHERE opportunity_id BETWEEN 7001 AND 7031;
INSERT INTO crm.opportunity_expected_close_history (opportunity_id, from_expected_close, to_expected_close, changed_at) VALUES
    (7003, '2026-02-01', '2026-03-01', '2026-02-05 12:00+00'),
    (7003, '2026-03-01', '2026-03-15', '2026-02-20 12:00+00'),
    (7006, '2026-05-01', '2026-04-01', '2026-03-01 12:00+00'),
    (7007, '2026-06-30', '2026-07-31', '2026-05-01 12:00+00');

CREATE TEMP VIEW sa_dur AS SELECT * FROM crm.stage_durations(NULL, NULL, '2026-04-11 00:00+00');
GRANT SELECT ON sa_dur TO PUBLIC;

-- 1. Time in stage
SELECT results_eq($$SELECT n, events, censored, median_days, p75_days, p90_days FROM sa_dur WHERE breakdown = 'stage' AND stage_id = 2$$,
    $$VALUES (7::bigint, 5::bigint, 2::bigint, 40::float8, 50::float8, NULL::float8)$$, 'prospect: n 7, 5 events, 2 censored; median 40, P75 50, P90 NULL');
SELECT results_eq($$SELECT owner_id, median_days, p75_days, p90_days FROM sa_dur WHERE breakdown = 'owner' AND stage_id = 2 ORDER BY owner_id$$,
    $$VALUES (7001::bigint, 20::float8, NULL::float8, NULL::float8), (7002, 35, 40, 40), (7003, 50, 50, 50)$$,
    'prospect per owner: Ana 20; Ben 35 (midpoint of the flat 0.5), 40, 40; Cy 50');
SELECT results_eq($$SELECT team, n, median_days, p75_days, p90_days FROM sa_dur WHERE breakdown = 'team' AND stage_id = 2 ORDER BY team$$,
    $$VALUES ('north'::text, 5::bigint, 30::float8, 40::float8, NULL::float8), ('south', 2, 50, 50, 50)$$, 'prospect per team');
SELECT results_eq($$SELECT n, events, median_days, p75_days, p90_days FROM sa_dur WHERE breakdown = 'stage' AND stage_id = 3$$,
    $$VALUES (5::bigint, 3::bigint, 20::float8, NULL::float8, NULL::float8)$$, 'opportunity: median 20');
SELECT results_eq($$SELECT n, events, censored, median_days, p75_days, p90_days FROM sa_dur WHERE breakdown = 'stage' AND stage_id = 5$$,
    $$VALUES (12::bigint, 10::bigint, 2::bigint, 6::float8, 9::float8, 10::float8)$$, 'negotiation: median 6, P75 9, P90 10');
SELECT is_empty($$SELECT FROM sa_dur WHERE stage_id IN (6, 7)$$, 'won and lost stages have no time in stage');
SELECT results_eq($$SELECT n, events, censored, median_days FROM crm.stage_durations('2026-01-01 00:00:01+00', NULL, '2026-04-11 00:00+00') WHERE breakdown = 'stage' AND stage_id = 2$$,
    $$VALUES (3::bigint, 1::bigint, 2::bigint, NULL::float8)$$, 'entered from t = 1 s: 3 spells, median NULL');
SELECT is_empty($$SELECT FROM crm.stage_durations(NULL, NULL, '2025-12-31 00:00+00')$$, 'nothing before the first spell');
SELECT is(NULL::float8, crm.km_quantile(NULL, 0.5), 'km_quantile(NULL, p) is NULL');
SELECT throws_ok($$SELECT crm.km_quantile(crm.km_fit(x, true), 1) FROM (VALUES (1.0::float8)) v(x)$$, '22023', NULL, 'km_quantile p = 1: 22023');
SELECT throws_ok($$SELECT crm.km_quantile(crm.km_fit(x, true), 0) FROM (VALUES (1.0::float8)) v(x)$$, '22023', NULL, 'km_quantile p = 0: 22023');
SELECT throws_ok($$SELECT crm.km_quantile(crm.km_fit(x, true), 'NaN') FROM (VALUES (1.0::float8)) v(x)$$, '22023', NULL, 'km_quantile p = NaN: 22023');
-- 1, 2, 3, 4 all events: S = .75, .5, .25, 0: P50 = midpoint(2, 3) = 2.5, P75 = midpoint(3, 4) = 3.5, P90 = 4, P10 = 1
SELECT results_eq($$SELECT crm.km_quantile(c, 0.1), crm.km_quantile(c, 0.5), crm.km_quantile(c, 0.75), crm.km_quantile(c, 0.9), crm.km_median(c)
                    FROM (SELECT crm.km_fit(x, true) c FROM generate_series(1, 4) x) f$$,
    $$VALUES (1::float8, 2.5::float8, 3.5::float8, 4::float8, 2.5::float8)$$, 'km_quantile on 1..4: 1, 2.5, 3.5, 4 (and the median agrees)');

-- 2. Conversion
SELECT results_eq($$SELECT entered, advanced, lost, moved_back, still_open, conversion_rate FROM crm.stage_conversion(NULL, NULL, '2026-04-11 00:00+00') WHERE breakdown = 'stage' AND stage_id = 2$$,
    $$VALUES (7::bigint, 3::bigint, 1::bigint, 1::bigint, 2::bigint, 0.6::float8)$$, 'prospect conversion 3 / 5');
SELECT results_eq($$SELECT conversion_rate FROM crm.stage_conversion(NULL, NULL, '2026-04-11 00:00+00') WHERE breakdown = 'owner' AND stage_id = 2 ORDER BY owner_id$$,
    $$VALUES (0.5::float8), (0.5), (1)$$, 'prospect conversion per owner: Ana 1/2, Ben 1/2, Cy 1/1');
SELECT results_eq($$SELECT entered, lost, still_open, conversion_rate FROM crm.stage_conversion(NULL, NULL, '2026-04-11 00:00+00') WHERE breakdown = 'stage' AND stage_id = 5$$,
    $$VALUES (12::bigint, 10::bigint, 2::bigint, 0::float8)$$, 'negotiation: 10 lost, 2 open, conversion 0');
SELECT results_eq($$SELECT still_open, conversion_rate FROM crm.stage_conversion(NULL, NULL, '2026-01-05 00:00+00') WHERE breakdown = 'stage' AND stage_id = 2$$,
    $$VALUES (4::bigint, NULL::float8)$$, 'as of t4 the four prospects entered are all still open: conversion NULL');

-- 3. Win rates and cycle
SELECT results_eq($$SELECT breakdown, owner_id, team, currency::text, won, lost, round(win_rate::numeric, 6), won_amount, avg_won_amount, avg_cycle_days, median_cycle_days
                    FROM crm.win_rates('2026-01-21 00:00+00', '2026-04-11 00:00+00')$$,
    $$VALUES ('all'::text, NULL::bigint, NULL::text, 'EUR'::text, 1::bigint, 0::bigint, 1.000000, 700::numeric, 700::numeric, 10::float8, 10::float8),
             ('all', NULL, NULL, 'USD', 2, 1, 0.666667, 4000, 2000, 35, 35),
             ('owner', 7001, NULL, 'USD', 1, 1, 0.500000, 1000, 1000, 30, 30),
             ('owner', 7002, NULL, 'USD', 1, 0, 1.000000, 3000, 3000, 40, 40),
             ('owner', 7003, NULL, 'EUR', 1, 0, 1.000000, 700, 700, 10, 10),
             ('team', NULL, 'north', 'USD', 2, 1, 0.666667, 4000, 2000, 35, 35),
             ('team', NULL, 'south', 'EUR', 1, 0, 1.000000, 700, 700, 10, 10)$$,
    'win rates of the deals closed in [t20, t100)');
SELECT is_empty($$SELECT FROM crm.win_rates('2027-01-01', NULL)$$, 'no deal closed: no rows');

-- 4. Velocity
SELECT results_eq($$SELECT breakdown, owner_id, team, currency::text, open_deals, round(velocity_per_day::numeric, 6)
                    FROM crm.sales_velocity('2026-01-21 00:00+00', '2026-04-11 00:00+00', '2026-04-11 00:00+00')$$,
    $$VALUES ('all'::text, NULL::bigint, NULL::text, 'EUR'::text, 0::bigint, 0::numeric),
             ('all', NULL, NULL, 'USD', 7, 266.666667),
             ('owner', 7001, NULL, 'USD', 1, 16.666667),
             ('owner', 7002, NULL, 'USD', 1, 75.000000),
             ('owner', 7003, NULL, 'EUR', 0, 0),
             ('owner', 7003, NULL, 'USD', 5, NULL),
             ('team', NULL, 'north', 'USD', 2, 76.190476),
             ('team', NULL, 'south', 'EUR', 0, 0),
             ('team', NULL, 'south', 'USD', 5, NULL)$$,
    'velocity = open x win rate x average won / cycle');

-- 5. Slips and aging
SELECT results_eq($$SELECT opportunity_id, is_open, expected_close, slips, pushes, days_overdue FROM crm.slipped_deals('2026-04-11 00:00+00')$$,
    $$VALUES (7003::bigint, true, '2026-03-15'::date, 2::bigint, 2::bigint, 27),
             (7004, false, '2026-02-05', 1, 0, NULL),
             (7006, true, '2026-04-01', 1, 0, 10)$$,
    'slipped deals: d3 twice (pushed twice), d4 once before it was won, d6 once');
SELECT results_eq($$SELECT opportunity_id, expected_close, slips, pushes FROM crm.slipped_deals('2026-06-01 00:00+00') WHERE opportunity_id = 7007$$,
    $$VALUES (7007::bigint, '2026-07-31'::date, 0::bigint, 1::bigint)$$, 'd7 by June: pushed once, not slipped');
SELECT results_eq($$SELECT opportunity_id, stage_id, days_in_stage, stage_p90_days FROM crm.aging_deals('2026-04-11 00:00+00')$$,
    $$VALUES (7031::bigint, 5, 100::float8, 10::float8)$$, 'aging: only d31, 100 days in negotiation against a P90 of 10');

-- 6. Row-level security: a rep's figures count their own deals only
SET LOCAL ROLE sa_ana;
SELECT results_eq($$SELECT breakdown, n, events, censored, median_days FROM crm.stage_durations(NULL, NULL, '2026-04-11 00:00+00') WHERE stage_id = 2 ORDER BY breakdown$$,
    $$VALUES ('owner'::text, 3::bigint, 2::bigint, 1::bigint, 20::float8), ('stage', 3, 2, 1, 20), ('team', 3, 2, 1, 20)$$,
    'Ana: prospect over her own three spells');
SELECT results_eq($$SELECT won, lost, win_rate FROM crm.win_rates('2026-01-21 00:00+00', '2026-04-11 00:00+00') WHERE breakdown = 'all'$$,
    $$VALUES (1::bigint, 1::bigint, 0.5::float8)$$, 'Ana: win rate over her deals');
SELECT results_eq($$SELECT opportunity_id FROM crm.slipped_deals('2026-04-11 00:00+00')$$, $$VALUES (7003::bigint)$$, 'Ana: her slipped deal only');
SELECT is_empty($$SELECT FROM crm.aging_deals('2026-04-11 00:00+00')$$, 'Ana: no aging deal of hers');
SELECT results_eq($$SELECT DISTINCT opportunity_id FROM crm.opportunity_expected_close_history ORDER BY 1$$, $$VALUES (7003::bigint)$$,
    'Ana reads the expected-close history of her deals only');
SELECT results_eq($$SELECT open_deals, round(velocity_per_day::numeric, 6) FROM crm.sales_velocity('2026-01-21 00:00+00', '2026-04-11 00:00+00', '2026-04-11 00:00+00') WHERE breakdown = 'all'$$,
    $$VALUES (1::bigint, 16.666667::numeric)$$, 'Ana: velocity over her deals');
SELECT throws_ok($$INSERT INTO crm.opportunity_expected_close_history (opportunity_id, to_expected_close) VALUES (7003, '2030-01-01')$$,
    '42501', NULL, 'a rep cannot write the expected-close history');
-- the trigger records her change of a date (who: the session's login role)
UPDATE crm.opportunities SET expected_close = '2026-12-31' WHERE opportunity_id = 7003;
UPDATE crm.opportunities SET amount = 2100 WHERE opportunity_id = 7003;
SELECT results_eq($$SELECT from_expected_close, to_expected_close, changed_by_role::text FROM crm.opportunity_expected_close_history WHERE changed_at > '2026-05-01' ORDER BY history_id$$,
    $$VALUES ('2026-03-15'::date, '2026-12-31'::date, session_user::text)$$, 'the trigger recorded the date change (and nothing for the amount)');
RESET ROLE;
SET LOCAL ROLE sa_sam;
SELECT throws_ok($$SELECT * FROM crm.stage_durations()$$, '42501', NULL, 'support may not run the stage analytics');
SELECT throws_ok($$SELECT * FROM crm.stage_spells$$, '42501', NULL, 'support may not read the stage spells');
RESET ROLE;
SET LOCAL ROLE sa_cy;
SELECT results_eq($$SELECT opportunity_id FROM crm.aging_deals('2026-04-11 00:00+00')$$, $$VALUES (7031::bigint)$$, 'Cy: d31 is aging on her own deals too');
RESET ROLE;

-- 7. Privileges and the trigger's guard
SELECT ok(NOT has_function_privilege('public', 'crm.slipped_deals(timestamptz)', 'EXECUTE'), 'slipped_deals not executable by PUBLIC');
SELECT ok(NOT has_function_privilege('public', 'crm.record_expected_close_change()', 'EXECUTE'), 'the trigger function not executable by PUBLIC');
CREATE TEMP TABLE sa_fake (opportunity_id bigint, expected_close date);
CREATE TRIGGER t AFTER UPDATE ON sa_fake FOR EACH ROW EXECUTE FUNCTION crm.record_expected_close_change();
INSERT INTO sa_fake VALUES (7003, '2026-01-01');
SELECT throws_ok($$UPDATE sa_fake SET expected_close = '2026-02-02'$$, '42501', NULL, 'the trigger function refuses another table');
-- the restore path: no record while a dump is being restored is covered by restoring_dump() in the WHEN clause
SELECT is((SELECT count(*) FROM crm.opportunity_expected_close_history WHERE opportunity_id = 7010), 0::bigint, 'no history for a deal whose date never changed');
SELECT is((SELECT count(*) FROM crm.stage_durations(NULL, NULL, NULL)), (SELECT count(*) FROM crm.stage_durations(NULL, NULL, now())), 'as_of NULL is now()');

-- 8. The spells' window runs over the history rows in [from_time, as_of] only: the rows at the
-- edges. Prospect by t30 exactly: d1 (next row t10) and d4 (next row t30 = as_of) advanced, d2
-- lost (t20), d3 d5 d6 still there (next rows t50 or none) -> 6 entered, 2 / 3. One second before
-- t30, d4's move has not happened: 1 advanced, 4 open -> 1 / 2.
SELECT results_eq($$SELECT entered, advanced, lost, moved_back, still_open, conversion_rate FROM crm.stage_conversion(NULL, NULL, '2026-01-31 00:00+00') WHERE breakdown = 'stage' AND stage_id = 2$$,
    $$VALUES (6::bigint, 2::bigint, 1::bigint, 0::bigint, 3::bigint, 2::float8 / 3)$$, 'prospect as of t30: d4''s move at t30 counts');
SELECT results_eq($$SELECT entered, advanced, lost, moved_back, still_open, conversion_rate FROM crm.stage_conversion(NULL, NULL, '2026-01-30 23:59:59+00') WHERE breakdown = 'stage' AND stage_id = 2$$,
    $$VALUES (6::bigint, 1::bigint, 1::bigint, 0::bigint, 4::bigint, 0.5::float8)$$, 'prospect one second before t30: d4 still open');
-- Opportunity spells entered from t10 exactly: d1 (t10, left t30: 20e), d4 (t30, left t40: 10e),
-- d6 (t50, censored at t100: 50c) -> n 3, events 2; S(10) = 2/3, S(20) = 1/3 -> median 20.
SELECT results_eq($$SELECT n, events, censored, median_days FROM crm.stage_durations('2026-01-11 00:00+00', NULL, '2026-04-11 00:00+00') WHERE breakdown = 'stage' AND stage_id = 3$$,
    $$VALUES (3::bigint, 2::bigint, 1::bigint, 20::float8)$$, 'opportunity spells from t10: the spell entered at t10 counts, left at t30');
-- Prospect as of t20: d1 10e, d2 20e (left at t20 = as_of), d3 15c, d4 20c (left t30), d5 10c, d6 20c.
SELECT results_eq($$SELECT n, events, censored FROM crm.stage_durations(NULL, NULL, '2026-01-21 00:00+00') WHERE breakdown = 'stage' AND stage_id = 2$$,
    $$VALUES (6::bigint, 2::bigint, 4::bigint)$$, 'prospect as of t20: 2 events, 4 censored');
-- And on a grid of windows whose edges fall on, just before and just after history rows: the
-- figures equal those computed from crm.stage_spells (the window over the whole history).
CREATE TEMP TABLE sa_edge (x timestamptz);
INSERT INTO sa_edge SELECT NULL UNION ALL
SELECT pg_temp.t(d) + s * interval '1 second' FROM unnest('{10,30,50}'::numeric[]) d, unnest('{-1,0,1}'::int[]) s;
SELECT is((SELECT count(*) FROM sa_edge f, sa_edge t2, sa_edge a, LATERAL (
    (SELECT breakdown, stage_id, owner_id, team, entered, advanced, lost, moved_back, still_open FROM crm.stage_conversion(f.x, t2.x, a.x)
     EXCEPT ALL
     SELECT CASE WHEN GROUPING(owner_id) = 0 THEN 'owner' WHEN GROUPING(team) = 0 THEN 'team' ELSE 'stage' END, stage_id, owner_id, team,
            count(*), count(*) FILTER (WHERE o = 'advanced'), count(*) FILTER (WHERE o = 'lost'),
            count(*) FILTER (WHERE o = 'back'), count(*) FILTER (WHERE o = 'open')
     FROM (SELECT s.*, CASE WHEN s.left_at IS NULL OR s.left_at > coalesce(a.x, now()) THEN 'open' WHEN s.next_is_lost THEN 'lost'
                            WHEN s.next_is_won OR s.next_position > s.position THEN 'advanced' ELSE 'back' END AS o
           FROM crm.stage_spells s
           WHERE NOT s.is_won AND NOT s.is_lost AND s.entered_at <= coalesce(a.x, now())
             AND (f.x IS NULL OR s.entered_at >= f.x) AND (t2.x IS NULL OR s.entered_at < t2.x)) z
     GROUP BY GROUPING SETS ((stage_id), (stage_id, owner_id), (stage_id, team)))
    UNION ALL
    (SELECT CASE WHEN GROUPING(owner_id) = 0 THEN 'owner' WHEN GROUPING(team) = 0 THEN 'team' ELSE 'stage' END, stage_id, owner_id, team,
            count(*), count(*) FILTER (WHERE o = 'advanced'), count(*) FILTER (WHERE o = 'lost'),
            count(*) FILTER (WHERE o = 'back'), count(*) FILTER (WHERE o = 'open')
     FROM (SELECT s.*, CASE WHEN s.left_at IS NULL OR s.left_at > coalesce(a.x, now()) THEN 'open' WHEN s.next_is_lost THEN 'lost'
                            WHEN s.next_is_won OR s.next_position > s.position THEN 'advanced' ELSE 'back' END AS o
           FROM crm.stage_spells s
           WHERE NOT s.is_won AND NOT s.is_lost AND s.entered_at <= coalesce(a.x, now())
             AND (f.x IS NULL OR s.entered_at >= f.x) AND (t2.x IS NULL OR s.entered_at < t2.x)) z
     GROUP BY GROUPING SETS ((stage_id), (stage_id, owner_id), (stage_id, team))
     EXCEPT ALL
     SELECT breakdown, stage_id, owner_id, team, entered, advanced, lost, moved_back, still_open FROM crm.stage_conversion(f.x, t2.x, a.x))) d),
    0::bigint, 'stage_conversion on 1000 windows equals the count over crm.stage_spells');
SELECT is((SELECT count(*) FROM (SELECT FROM sa_edge f, sa_edge t2, sa_edge a, LATERAL (
    SELECT breakdown, stage_id, owner_id, team, n, events, censored, median_days, p75_days, p90_days FROM crm.stage_durations(f.x, t2.x, a.x)
    UNION ALL
    SELECT CASE WHEN GROUPING(owner_id) = 0 THEN 'owner' WHEN GROUPING(team) = 0 THEN 'team' ELSE 'stage' END, stage_id, owner_id, team,
           count(*), count(*) FILTER (WHERE ev), count(*) FILTER (WHERE NOT ev),
           crm.km_median(crm.km_fit(days, ev)), crm.km_quantile(crm.km_fit(days, ev), 0.75), crm.km_quantile(crm.km_fit(days, ev), 0.9)
    FROM (SELECT s.*, s.left_at IS NOT NULL AND s.left_at <= coalesce(a.x, now()) AS ev,
                 extract(epoch FROM least(coalesce(s.left_at, 'infinity'), coalesce(a.x, now())) - s.entered_at)::float8 / 86400 AS days
          FROM crm.stage_spells s
          WHERE NOT s.is_won AND NOT s.is_lost AND s.entered_at <= coalesce(a.x, now())
            AND (f.x IS NULL OR s.entered_at >= f.x) AND (t2.x IS NULL OR s.entered_at < t2.x)) z
    GROUP BY GROUPING SETS ((stage_id), (stage_id, owner_id), (stage_id, team))) d
    GROUP BY f.x, t2.x, a.x, d.breakdown, d.stage_id, d.owner_id, d.team, d.n, d.events, d.censored, d.median_days, d.p75_days, d.p90_days
    HAVING count(*) <> 2) x),
    0::bigint, 'stage_durations on 1000 windows equals the Kaplan-Meier fits over crm.stage_spells');

SELECT * FROM finish();
ROLLBACK;
