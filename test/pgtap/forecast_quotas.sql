-- pgTAP: forecast categories, quotas, roll-ups up the manager chain and forecast submissions
-- (src/forecast.sql, docs/forecast.md). Every expected number is derived by hand below.
--
-- Staff (ids 8001..): VP Vic (manager, team exec, no manager) manages Mo (manager, team north) and
-- Cy (sales, team south); Mo manages Ana and Ben (sales, north); Ana manages Jo (sales, north): the
-- chain Vic > Mo > Ana > Jo is four levels (depths 0..3). Oz (sales, team west) reports to nobody.
-- Stages (the seeded map): 1 lead pipeline 10%, 3 opportunity pipeline 40%, 4 quote best_case 60%,
-- 5 negotiation commit 80%, 6 closed won closed, 7 closed lost omitted.
--
-- Deals (USD unless said; dates UTC; Q2 2026 = April..June):
--   Ana d1  1000 won,  closed 2026-04-10   closed    April
--       d2  2000 negotiation, exp 05-20    commit    May
--       d3  4000 quote, exp 06-15          best case June
--       d4  5000 opportunity, exp 06-30    pipeline  June
--       d5  3000 lost, closed 05-01        omitted   (counted nowhere)
--       d6   700 opportunity, no expected close       (in no period)
--       d7   900 negotiation, exp 07-01    commit    Q3 (not Q2)
--       d8   100 EUR negotiation, exp 05-05 commit   Q2, EUR row
--   Ben d9   500 won, closed 06-30         closed    June
--       d10 1500 negotiation, exp 04-30    commit    April
--   Jo  d11  250 quote, exp 05-10          best case May
--   Mo  d12 10000 lead, exp 05-31          pipeline  May
--   Cy  d13 3000 won, closed 05-15         closed    May
--   Oz  d14 9999 won, closed 04-02         closed    April
--
-- Q2 USD by owner: Ana closed 1000, commit 2000, best 4000, pipeline 5000, 4 deals,
--   weighted 2000*.8 + 4000*.6 + 5000*.4 = 1600 + 2400 + 2000 = 6000.
-- Chains (Q2 USD):
--   Ana+Jo:        closed 1000, commit 2000, best 4250, pipeline 5000, deals 5, weighted 6000 + 250*.6 = 6150
--                  commit fc 3000, best-case fc 4250+2000+1000 = 7250, open 5000+4250+2000 = 11250
--   Mo (Mo,Ana,Ben,Jo): closed 1500, commit 3500, best 4250, pipeline 15000, deals 8,
--                  weighted 6150 + 1500*.8 + 10000*.1 = 8350; commit fc 5000, best fc 9250, open 22750
--   Vic (+Cy):     closed 4500, commit 3500, best 4250, pipeline 15000, deals 9, weighted 8350;
--                  commit fc 8000, best fc 12250, open 22750
--   Ben:           closed 500, commit 1500, open 1500
--   Cy:            closed 3000, open 0
-- Quotas Q2 USD: Ana 4000, Mo 10000, Vic 20000, Ben 0, Cy 2000; Jo none. Oz: Q3 5000 only.
--   Ana: attainment 1000/4000 = 0.25, gap 3000, remaining 3000, coverage 11250/3000 = 3.75
--   Mo:  0.15, gap 8500, coverage 22750/8500 = 2.67647..., Vic: 0.225, gap 15500, 22750/15500 = 1.46774...
--   Ben: zero quota: attainment NULL, gap -500, remaining 0, coverage NULL
--   Cy:  attainment 1.5, gap -1000, remaining 0 (quota met), coverage NULL
--   Oz Q3: no deals: closed 0, attainment 0, gap 5000, coverage 0/5000 = 0
BEGIN;
SELECT plan(56);
SET LOCAL TimeZone = 'UTC';

CREATE ROLE fq_vic; CREATE ROLE fq_mo; CREATE ROLE fq_ana; CREATE ROLE fq_ben; CREATE ROLE fq_jo;
CREATE ROLE fq_cy; CREATE ROLE fq_oz;
GRANT crm_manager TO fq_vic, fq_mo; GRANT crm_sales TO fq_ana, fq_ben, fq_jo, fq_cy, fq_oz;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team, manager_id) VALUES
    (8001, 'fq_vic', 'Vic', 'vic@fq.example', 'manager', 'exec', NULL),
    (8002, 'fq_mo', 'Mo', 'mo@fq.example', 'manager', 'north', 8001),
    (8003, 'fq_ana', 'Ana', 'ana@fq.example', 'sales', 'north', 8002),
    (8004, 'fq_ben', 'Ben', 'ben@fq.example', 'sales', 'north', 8002),
    (8005, 'fq_cy', 'Cy', 'cy@fq.example', 'sales', 'south', 8001),
    (8006, 'fq_oz', 'Oz', 'oz@fq.example', 'sales', 'west', NULL),
    (8007, 'fq_jo', 'Jo', 'jo@fq.example', 'sales', 'north', 8003);
INSERT INTO crm.accounts (account_id, name) VALUES (8001, 'FQ customer');
INSERT INTO crm.opportunities (opportunity_id, name, account_id, amount, currency, stage_id, expected_close, closed_at, owner_id) VALUES
    (8001, 'd1', 8001, 1000, 'USD', 6, '2026-04-10', '2026-04-10 12:00+00', 8003),
    (8002, 'd2', 8001, 2000, 'USD', 5, '2026-05-20', NULL, 8003),
    (8003, 'd3', 8001, 4000, 'USD', 4, '2026-06-15', NULL, 8003),
    (8004, 'd4', 8001, 5000, 'USD', 3, '2026-06-30', NULL, 8003),
    (8005, 'd5', 8001, 3000, 'USD', 7, '2026-05-01', '2026-05-01 09:00+00', 8003),
    (8006, 'd6', 8001,  700, 'USD', 3, NULL, NULL, 8003),
    (8007, 'd7', 8001,  900, 'USD', 5, '2026-07-01', NULL, 8003),
    (8008, 'd8', 8001,  100, 'EUR', 5, '2026-05-05', NULL, 8003),
    (8009, 'd9', 8001,  500, 'USD', 6, '2026-06-20', '2026-06-30 23:00+00', 8004),
    (8010, 'd10', 8001, 1500, 'USD', 5, '2026-04-30', NULL, 8004),
    (8011, 'd11', 8001,  250, 'USD', 4, '2026-05-10', NULL, 8007),
    (8012, 'd12', 8001, 10000, 'USD', 1, '2026-05-31', NULL, 8002),
    (8013, 'd13', 8001, 3000, 'USD', 6, '2026-05-01', '2026-05-15 10:00+00', 8005),
    (8014, 'd14', 8001, 9999, 'USD', 6, '2026-04-02', '2026-04-02 10:00+00', 8006);
INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES
    (8003, 'quarter', '2026-04-01', 4000), (8002, 'quarter', '2026-04-01', 10000),
    (8001, 'quarter', '2026-04-01', 20000), (8004, 'quarter', '2026-04-01', 0),
    (8005, 'quarter', '2026-04-01', 2000), (8006, 'quarter', '2026-07-01', 5000);

-- 1. Periods.
SELECT is(crm.forecast_period('quarter', '2026-05-17'), '2026-04-01'::date, 'forecast_period: 17 May is in the quarter of 1 April');
SELECT is(crm.forecast_period('month', '2026-12-31'), '2026-12-01'::date, 'forecast_period: month');
SELECT throws_ok($$SELECT crm.forecast_period('week', '2026-05-17')$$, '22023', NULL, 'forecast_period: an unknown kind is 22023');
SELECT throws_ok($$SELECT crm.forecast_period('month', 'infinity')$$, '22023', NULL, 'forecast_period: an infinite day is 22023');

-- 2. The reporting chain: Vic's is Vic, Mo, Cy, Ana, Ben, Jo at depths 0, 1, 1, 2, 2, 3.
SELECT results_eq($$SELECT user_id, depth FROM crm.reporting_chain WHERE manager_id = 8001 ORDER BY depth, user_id$$,
                  $$VALUES (8001::bigint, 0), (8002, 1), (8005, 1), (8003, 2), (8004, 2), (8007, 3)$$,
                  'reporting_chain: the whole chain below the VP, four levels');

-- 3. Deals: d6 has no close date; the lost d5 is omitted.
SELECT results_eq($$SELECT forecast_category, close_date FROM crm.forecast_deals WHERE opportunity_id IN (8005, 8006, 8009) ORDER BY opportunity_id$$,
                  $$VALUES ('omitted'::text, '2026-05-01'::date), ('pipeline', NULL), ('closed', '2026-06-30')$$,
                  'forecast_deals: the category from the stage; close date closed_at (in the session time zone), else expected_close, else NULL');

-- 4. Ana's own deals, Q2 USD.
SELECT results_eq($$SELECT deals, closed, commit, best_case, pipeline, weighted_pipeline FROM crm.forecast_by_owner
                    WHERE owner_id = 8003 AND period_kind = 'quarter' AND period_start = '2026-04-01' AND currency = 'USD'$$,
                  $$VALUES (4::bigint, 1000::numeric, 2000::numeric, 4000::numeric, 5000::numeric, 6000::numeric)$$,
                  'forecast_by_owner: Ana Q2 (omitted, undated, Q3 and EUR deals left out)');
SELECT results_eq($$SELECT currency::text, commit FROM crm.forecast_by_owner
                    WHERE owner_id = 8003 AND period_kind = 'quarter' AND period_start = '2026-04-01' ORDER BY currency$$,
                  $$VALUES ('EUR'::text, 100::numeric), ('USD', 2000::numeric)$$,
                  'forecast_by_owner: one row per currency, never summed across them');
SELECT is((SELECT count(*) FROM crm.forecast_by_owner WHERE owner_id = 8003 AND closed + commit + best_case + pipeline >= 3000
           AND period_kind = 'month' AND period_start = '2026-05-01'), 0::bigint,
          'forecast_by_owner: the lost 3000 (omitted) is counted nowhere in May');

-- 5. Chain roll-ups, Q2 USD.
SELECT results_eq($$SELECT user_id, deals, closed, commit, best_case, pipeline, commit_forecast, best_case_forecast,
                           open_pipeline, weighted_pipeline
                    FROM crm.forecast_rollup WHERE user_id IN (8001, 8002, 8003, 8004, 8005, 8007)
                     AND period_kind = 'quarter' AND period_start = '2026-04-01' AND currency = 'USD' ORDER BY user_id$$,
                  $$VALUES (8001::bigint, 9::numeric, 4500::numeric, 3500::numeric, 4250::numeric, 15000::numeric, 8000::numeric, 12250::numeric, 22750::numeric, 8350::numeric),
                           (8002, 8, 1500, 3500, 4250, 15000, 5000, 9250, 22750, 8350),
                           (8003, 5, 1000, 2000, 4250, 5000, 3000, 7250, 11250, 6150),
                           (8004, 2, 500, 1500, 0, 0, 2000, 2000, 1500, 1200),
                           (8005, 1, 3000, 0, 0, 0, 3000, 3000, 0, 0),
                           (8007, 1, 0, 0, 250, 0, 0, 250, 250, 150)$$,
                  'forecast_rollup: the cumulative figures up the whole chain, by hand');
SELECT results_eq($$SELECT user_id, quota, round(attainment, 4), gap, remaining_quota, round(coverage, 4)
                    FROM crm.forecast_rollup WHERE user_id IN (8001, 8002, 8003, 8004, 8005, 8007)
                     AND period_kind = 'quarter' AND period_start = '2026-04-01' AND currency = 'USD' ORDER BY user_id$$,
                  $$VALUES (8001::bigint, 20000::numeric, 0.2250::numeric, 15500::numeric, 15500::numeric, 1.4677::numeric),
                           (8002, 10000, 0.1500, 8500, 8500, 2.6765),
                           (8003, 4000, 0.2500, 3000, 3000, 3.7500),
                           (8004, 0, NULL, -500, 0, NULL),
                           (8005, 2000, 1.5000, -1000, 0, NULL),
                           (8007, NULL, NULL, NULL, NULL, NULL)$$,
                  'forecast_rollup: quota, attainment, gap, remaining quota and coverage (zero quota and quota met: coverage NULL; no quota: all NULL)');
-- crm.forecast_rollup(period_kind, period_start): the same rows for one period, by hand as above,
-- and equal to the view filtered on each period there is (in UTC and at UTC+14, where the deals
-- closed late on a day UTC fall in the next day, some in the next month or quarter).
SELECT results_eq($$SELECT user_id, deals, closed, commit, best_case, pipeline, commit_forecast, best_case_forecast,
                           open_pipeline, weighted_pipeline
                    FROM crm.forecast_rollup('quarter', '2026-04-01') WHERE user_id IN (8001, 8002, 8003, 8004, 8005, 8007)
                     AND currency = 'USD' ORDER BY user_id$$,
                  $$VALUES (8001::bigint, 9::numeric, 4500::numeric, 3500::numeric, 4250::numeric, 15000::numeric, 8000::numeric, 12250::numeric, 22750::numeric, 8350::numeric),
                           (8002, 8, 1500, 3500, 4250, 15000, 5000, 9250, 22750, 8350),
                           (8003, 5, 1000, 2000, 4250, 5000, 3000, 7250, 11250, 6150),
                           (8004, 2, 500, 1500, 0, 0, 2000, 2000, 1500, 1200),
                           (8005, 1, 3000, 0, 0, 0, 3000, 3000, 0, 0),
                           (8007, 1, 0, 0, 250, 0, 0, 250, 250, 150)$$,
                  'forecast_rollup(''quarter'', Q2): the cumulative figures up the whole chain, by hand');
CREATE FUNCTION pg_temp.fq_rollup_differs() RETURNS bigint LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM (SELECT r.* FROM (SELECT DISTINCT period_kind, period_start FROM crm.forecast_rollup) p,
                                       LATERAL crm.forecast_rollup(p.period_kind, p.period_start) r
                                  EXCEPT ALL SELECT * FROM crm.forecast_rollup) a)
         + (SELECT count(*) FROM (SELECT * FROM crm.forecast_rollup
                                  EXCEPT ALL SELECT r.* FROM (SELECT DISTINCT period_kind, period_start FROM crm.forecast_rollup) p,
                                       LATERAL crm.forecast_rollup(p.period_kind, p.period_start) r) b) $$;
SELECT is(pg_temp.fq_rollup_differs(), 0::bigint, 'forecast_rollup(kind, start) = the view filtered on each of its periods');
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SELECT is(pg_temp.fq_rollup_differs(), 0::bigint, 'forecast_rollup(kind, start) = the view filtered, at UTC+14 too');
-- the function picks closed deals by a range of closed_at, then their local date: d14 (closed
-- 2 April 10:00 UTC) is on 1 April at UTC-11, d9 (30 June 23:00 UTC) on 30 June
SET LOCAL TimeZone = 'Pacific/Pago_Pago';
SELECT is(pg_temp.fq_rollup_differs(), 0::bigint, 'forecast_rollup(kind, start) = the view filtered, at UTC-11 too');
SET LOCAL TimeZone = 'UTC';
SELECT is_empty($$SELECT * FROM crm.forecast_rollup(NULL, '2026-04-01')$$, 'forecast_rollup(NULL, start): no rows');
SELECT throws_ok($$SELECT * FROM crm.forecast_rollup('quarter', '2026-05-01')$$, '22023', NULL,
                 'forecast_rollup: a period start that is not one is 22023');
SELECT throws_ok($$SELECT * FROM crm.forecast_rollup('week', '2026-04-01')$$, '22023', NULL,
                 'forecast_rollup: an unknown period kind is 22023');
SELECT results_eq($$SELECT deals, closed, quota, attainment, gap, coverage FROM crm.forecast_rollup
                    WHERE user_id = 8006 AND period_kind = 'quarter' AND period_start = '2026-07-01'$$,
                  $$VALUES (0::numeric, 0::numeric, 5000::numeric, 0::numeric, 5000::numeric, 0::numeric)$$,
                  'forecast_rollup: a quota without deals gives a row of zeros');
SELECT is((SELECT quota FROM crm.forecast_rollup WHERE user_id = 8003 AND period_kind = 'quarter'
           AND period_start = '2026-04-01' AND currency = 'EUR'), NULL,
          'forecast_rollup: a USD quota does not apply to EUR deals');
-- Months: Mo's chain in April is Ana's d1 closed 1000 and Ben's d10 commit 1500; May: d2 commit 2000,
-- d11 best case 250, d12 pipeline 10000; June: d9 closed 500, d3 best case 4000, d4 pipeline 5000.
SELECT results_eq($$SELECT period_start, closed, commit_forecast, best_case_forecast, open_pipeline
                    FROM crm.forecast_rollup WHERE user_id = 8002 AND period_kind = 'month' AND currency = 'USD'
                     AND period_start BETWEEN '2026-04-01' AND '2026-06-01' ORDER BY period_start$$,
                  $$VALUES ('2026-04-01'::date, 1000::numeric, 2500::numeric, 2500::numeric, 1500::numeric),
                           ('2026-05-01', 0, 2000, 2250, 12250),
                           ('2026-06-01', 500, 500, 4500, 9000)$$,
                  'forecast_rollup: Mo''s chain per month');
SELECT is((SELECT sum(open_pipeline) FROM crm.forecast_rollup WHERE user_id = 8002 AND period_kind = 'month'
           AND currency = 'USD' AND period_start BETWEEN '2026-04-01' AND '2026-06-01'),
          (SELECT open_pipeline FROM crm.forecast_rollup WHERE user_id = 8002 AND period_kind = 'quarter'
           AND currency = 'USD' AND period_start = '2026-04-01'),
          'forecast_rollup: the months add up to the quarter');

-- 6. The map is editable: quote counted as commit moves Ana's 4000 from best case to commit.
SAVEPOINT map_edit;
UPDATE crm.pipeline_stages SET forecast_category = 'commit' WHERE stage_id = 4;
SELECT results_eq($$SELECT commit, best_case FROM crm.forecast_by_owner WHERE owner_id = 8003 AND period_kind = 'quarter'
                    AND period_start = '2026-04-01' AND currency = 'USD'$$,
                  $$VALUES (6000::numeric, 0::numeric)$$, 'editing the category map moves the deals');
ROLLBACK TO SAVEPOINT map_edit;

-- 7. Quotas: constraints and who writes them.
SELECT throws_ok($$INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES (8007, 'quarter', '2026-05-01', 1)$$,
                 '23514', NULL, 'sales_quotas: a quarter must start on its first day');
SELECT throws_ok($$INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES (8007, 'month', '2026-05-01', -1)$$,
                 '23514', NULL, 'sales_quotas: a negative quota is refused');
SELECT throws_ok($$INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES (8003, 'quarter', '2026-04-01', 1)$$,
                 '23505', NULL, 'sales_quotas: one quota per user, period and currency');
SET LOCAL ROLE fq_mo;
SELECT lives_ok($$INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES (8007, 'quarter', '2026-04-01', 500)$$,
                'a manager sets the quota of someone they manage');
SELECT throws_ok($$INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES (8002, 'quarter', '2026-07-01', 1)$$,
                 '42501', NULL, 'a manager does not set their own quota');
UPDATE crm.sales_quotas SET amount = 1 WHERE user_id = 8002;
SELECT is((SELECT amount FROM crm.sales_quotas WHERE user_id = 8002), 10000::numeric(16, 2),
          'a manager does not change their own quota');
SELECT throws_ok($$INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES (8006, 'quarter', '2026-04-01', 1)$$,
                 '42501', NULL, 'a manager does not set the quota of someone outside their team');
RESET ROLE;
SET LOCAL ROLE fq_ana;
SELECT throws_ok($$INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES (8003, 'month', '2026-04-01', 1)$$,
                 '42501', NULL, 'a rep does not set quotas');

-- 8. Row-level security through the views. Ana sees her own deals only: her chain roll-up lacks
-- Jo's 250 (best case 4000, not 4250), and her own quota only.
SELECT results_eq($$SELECT closed, best_case_forecast, open_pipeline, quota FROM crm.forecast_rollup
                    WHERE user_id = 8003 AND period_kind = 'quarter' AND period_start = '2026-04-01' AND currency = 'USD'$$,
                  $$VALUES (1000::numeric, 7000::numeric, 11000::numeric, 4000::numeric)$$,
                  'RLS: a rep''s roll-up counts their own deals');
SELECT results_eq($$SELECT closed, best_case_forecast, open_pipeline, quota FROM crm.forecast_rollup('quarter', '2026-04-01')
                    WHERE user_id = 8003 AND currency = 'USD'$$,
                  $$VALUES (1000::numeric, 7000::numeric, 11000::numeric, 4000::numeric)$$,
                  'RLS: forecast_rollup(kind, start) counts the rep''s own deals, as the view');
SELECT is((SELECT count(*) FROM crm.forecast_deals WHERE owner_id <> 8003), 0::bigint, 'RLS: a rep sees no one else''s deals');
SELECT results_eq($$SELECT user_id FROM crm.sales_quotas WHERE user_id BETWEEN 8001 AND 8007$$, $$VALUES (8003::bigint)$$,
                  'RLS: a rep sees their own quota only');
RESET ROLE;
SET LOCAL ROLE fq_oz;
SELECT is((SELECT count(*) FROM crm.forecast_by_owner WHERE owner_id <> 8006), 0::bigint, 'RLS: another rep sees nothing of the chain''s figures');
SELECT is((SELECT count(*) FROM crm.forecast_rollup WHERE user_id <> 8006 AND deals > 0), 0::bigint,
          'RLS: another rep''s roll-up rows hold none of the chain''s deals');
SELECT is((SELECT count(*) FROM crm.sales_quotas WHERE user_id <> 8006), 0::bigint, 'RLS: another rep sees no one else''s quota');
RESET ROLE;
-- Mo manages Ana and Ben and shares team north with Jo: his roll-up is the whole chain's.
SET LOCAL ROLE fq_mo;
SELECT results_eq($$SELECT deals, closed, commit_forecast, best_case_forecast, open_pipeline, weighted_pipeline, quota
                    FROM crm.forecast_rollup WHERE user_id = 8002 AND period_kind = 'quarter' AND period_start = '2026-04-01' AND currency = 'USD'$$,
                  $$VALUES (8::numeric, 1500::numeric, 5000::numeric, 9250::numeric, 22750::numeric, 8350::numeric, 10000::numeric)$$,
                  'RLS: a manager''s roll-up covers their chain');
SELECT is((SELECT count(*) FROM crm.forecast_deals WHERE owner_id IN (8005, 8006)), 0::bigint,
          'RLS: a manager sees no deals outside the staff they manage');
RESET ROLE;
-- Vic sees what crm.managed_user_ids gives him for deals: his whole reporting chain (Mo and Cy, Mo's
-- Ana and Ben, Ana's Jo; team exec is his alone). So his roll-up is the chain's (Vic (+Cy) above):
-- 9 deals, closed 4500, open pipeline 22750, weighted 8350. (Until 0.2 managers reached their direct
-- reports only, and this roll-up counted Mo's d12 and Cy's d13: 2 deals, closed 3000.)
SET LOCAL ROLE fq_vic;
SELECT results_eq($$SELECT deals, closed, open_pipeline, weighted_pipeline FROM crm.forecast_rollup
                    WHERE user_id = 8001 AND period_kind = 'quarter' AND period_start = '2026-04-01' AND currency = 'USD'$$,
                  $$VALUES (9::numeric, 4500::numeric, 22750::numeric, 8350::numeric)$$,
                  'RLS: a VP''s roll-up covers the whole chain, three levels down');
SELECT is((SELECT count(*) FROM crm.opportunities WHERE owner_id = 8007), 1::bigint, 'RLS: a VP sees a deal of a rep three levels down (Jo''s d11)');
RESET ROLE;

-- 9. Submissions. Ana submits her call (commit 3500); the trigger stamps her as submitter, now, and
-- the figures she sees (closed 1000, commit fc 3000, best-case fc 7000, open 11000, weighted 6000,
-- quota 4000), whatever she tried to put there.
SET LOCAL ROLE fq_ana;
INSERT INTO crm.forecast_submissions (user_id, period_kind, period_start, commit_call, note, closed, submitted_at, submitted_by)
    VALUES (8003, 'quarter', '2026-04-01', 3500, 'live call', 999999, '2020-01-01', 8001);
SELECT results_eq($$SELECT submitted_by, submitted_at > now() - interval '1 hour', closed, commit_forecast, best_case_forecast,
                           open_pipeline, weighted_pipeline, quota
                    FROM crm.forecast_submissions WHERE note = 'live call'$$,
                  $$VALUES (8003::bigint, true, 1000::numeric, 3000::numeric, 7000::numeric, 11000::numeric, 6000::numeric, 4000::numeric)$$,
                  'submission: stamped with the submitter, the time and the figures they see (not what they wrote)');
SELECT throws_ok($$INSERT INTO crm.forecast_submissions (user_id, period_kind, period_start) VALUES (8004, 'quarter', '2026-04-01')$$,
                 '42501', NULL, 'submission: a rep submits only their own call');
SELECT throws_ok($$UPDATE crm.forecast_submissions SET commit_call = 1$$, '42501', NULL, 'submission: nobody updates one (history)');
SELECT throws_ok($$INSERT INTO crm.forecast_submissions (user_id, period_kind, period_start, commit_call) VALUES (8003, 'quarter', '2026-04-01', -5)$$,
                 '23514', NULL, 'submission: a negative call is refused');
SELECT throws_ok($$INSERT INTO crm.forecast_submissions (user_id, period_kind, period_start) VALUES (8003, 'quarter', '2026-06-01')$$,
                 '23514', NULL, 'submission: the period must start on its first day');
RESET ROLE;
SET LOCAL ROLE fq_oz;
SELECT is((SELECT count(*) FROM crm.forecast_submissions WHERE user_id <> 8006), 0::bigint, 'RLS: another rep sees no one''s submissions');
RESET ROLE;
SET LOCAL ROLE fq_mo;
SELECT is((SELECT count(*) FROM crm.forecast_submissions WHERE user_id = 8003), 1::bigint, 'RLS: a manager sees their reports'' submissions');
RESET ROLE;

-- History, loaded by an admin (a member of crm_admin keeps the times and figures given): Ana called
-- commit 2500 in week 3 (20 April), 3200 in week 6 (11 May); Mo called 6000 on 21 April with no
-- override of best case (his figures then: commit fc 4000, best case fc 8000).
INSERT INTO crm.forecast_submissions (user_id, period_kind, period_start, commit_call, closed, commit_forecast,
        best_case_forecast, open_pipeline, weighted_pipeline, quota, submitted_at) VALUES
    (8003, 'quarter', '2026-04-01', 2500, 1000, 2000, 6000, 9000, 5000, 4000, '2026-04-20 09:00+00'),
    (8003, 'quarter', '2026-04-01', 3200, 1000, 3000, 7000, 11000, 6000, 4000, '2026-05-11 09:00+00'),
    (8002, 'quarter', '2026-04-01', 6000, 1000, 4000, 8000, 20000, 7000, 10000, '2026-04-21 09:00+00');
-- As of 25 April: Ana's week-3 call 2500, best case her figure then 6000; closed now 1000 (her
-- chain), commit error 1000 - 2500 = -1500; Mo's call 6000, best case 8000, closed now 1500,
-- error -4500, attainment now 0.15.
SELECT results_eq($$SELECT user_id, commit_call, best_case_call, closed_then, closed_now, commit_error, round(attainment_now, 4)
                    FROM crm.forecast_as_of('2026-04-25', 'quarter', '2026-04-01')$$,
                  $$VALUES (8002::bigint, 6000::numeric, 8000::numeric, 1000::numeric, 1500::numeric, -4500::numeric, 0.1500::numeric),
                           (8003, 2500, 6000, 1000, 1000, -1500, 0.2500)$$,
                  'forecast_as_of: the week-3 calls against how the quarter stands');
SELECT results_eq($$SELECT commit_call FROM crm.forecast_as_of('2026-05-12', 'quarter', '2026-04-01') WHERE user_id = 8003$$,
                  $$VALUES (3200::numeric)$$, 'forecast_as_of: the latest call before the date');
SELECT results_eq($$SELECT commit_call FROM crm.forecast_as_of(clock_timestamp(), 'quarter', '2026-04-01') WHERE user_id = 8003$$,
                  $$VALUES (3500::numeric)$$, 'forecast_as_of: now, the live call');
SELECT is_empty($$SELECT * FROM crm.forecast_as_of('2026-04-01', 'quarter', '2026-04-01')$$,
                'forecast_as_of: nothing submitted yet');
SELECT throws_ok($$SELECT * FROM crm.forecast_as_of('2026-04-25', 'quarter', '2026-05-01')$$, '22023', NULL,
                 'forecast_as_of: a period start that is not one is 22023');
SELECT throws_ok($$SELECT * FROM crm.forecast_as_of(NULL, 'quarter', '2026-04-01')$$, '22004', NULL,
                 'forecast_as_of: a NULL argument is 22004');
SET LOCAL ROLE fq_oz;
SELECT is_empty($$SELECT * FROM crm.forecast_as_of('2026-05-12', 'quarter', '2026-04-01')$$,
                'forecast_as_of: another rep sees no one''s calls');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
