-- Forecast categories, quotas and submissions, worked by hand (docs/forecast.md).
-- A team: Kim (manager, 7001) manages Lee (7002) and Max (7003). The quarter is Q3 2026
-- (July..September). Stages and their seeded forecast categories: lead pipeline 10%, opportunity
-- pipeline 40%, quote best_case 60%, negotiation commit 80%, closed won closed, closed lost omitted.
--   Lee: 3000 won (closed 15 July)           closed
--        2000 negotiation, expected 20 Aug   commit     weighted 2000 * 0.8 = 1600
--        1000 quote, expected 10 Sep         best case  weighted 1000 * 0.6 =  600
--        4000 opportunity, expected 25 Sep   pipeline   weighted 4000 * 0.4 = 1600
--   Max: 5000 won (closed 5 Aug)             closed
--        2500 negotiation, expected 30 Sep   commit     weighted 2500 * 0.8 = 2000
--        6000 lead, expected 31 July         pipeline   weighted 6000 * 0.1 =  600
--        1200 lost (closed 1 Sep)            omitted: counted nowhere
-- Cumulative figures (commit forecast = commit + closed; best-case forecast = best case + commit
-- + closed; open pipeline = pipeline + best case + commit):
--   Lee: closed 3000, commit fc 5000, best-case fc 6000, open 7000, weighted 3800
--   Max: closed 5000, commit fc 7500, best-case fc 7500, open 8500, weighted 2600
--   Kim (his chain: Kim, Lee, Max): closed 8000, commit 4500, best case 1000, pipeline 10000:
--        commit fc 12500, best-case fc 13500, open 15500, weighted 6400
-- Quotas: Lee 8000, Max 5000, Kim 15000 (the team's target, his own row).
--   Lee: attainment 3000/8000 = 0.375, gap 5000, coverage 7000/5000 = 1.4
--   Max: attainment 1, gap 0, nothing remains: coverage NULL
--   Kim: attainment 8000/15000 = 0.5333, gap 7000, coverage 15500/7000 = 2.2143
SET client_min_messages = warning;
SET TimeZone = 'UTC';

INSERT INTO crm.users (user_id, login_role, full_name, email, role, team, manager_id) VALUES
    (7001, 'fqx_kim', 'Kim', 'kim@fqx.example', 'manager', 'central', NULL),
    (7002, 'fqx_lee', 'Lee', 'lee@fqx.example', 'sales', 'central', 7001),
    (7003, 'fqx_max', 'Max', 'max@fqx.example', 'sales', 'central', 7001);
INSERT INTO crm.accounts (account_id, name) VALUES (7001, 'FQX customer');
INSERT INTO crm.opportunities (opportunity_id, name, account_id, amount, stage_id, expected_close, closed_at, owner_id)
SELECT 7000 + row_number() OVER (ORDER BY v.name), v.name, 7001, v.amount, s.stage_id, v.expected_close, v.closed_at, v.owner_id
FROM (VALUES ('L1', 3000, 'closed won',  '2026-07-15'::date, '2026-07-15 10:00+00'::timestamptz, 7002),
             ('L2', 2000, 'negotiation', '2026-08-20', NULL, 7002),
             ('L3', 1000, 'quote',       '2026-09-10', NULL, 7002),
             ('L4', 4000, 'opportunity', '2026-09-25', NULL, 7002),
             ('M1', 5000, 'closed won',  '2026-08-05', '2026-08-05 10:00+00', 7003),
             ('M2', 2500, 'negotiation', '2026-09-30', NULL, 7003),
             ('M3', 6000, 'lead',        '2026-07-31', NULL, 7003),
             ('M4', 1200, 'closed lost', '2026-09-01', '2026-09-01 10:00+00', 7003)) v (name, amount, stage, expected_close, closed_at, owner_id)
JOIN crm.pipeline_stages s ON s.name = v.stage;
INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES
    (7002, 'quarter', '2026-07-01', 8000), (7003, 'quarter', '2026-07-01', 5000), (7001, 'quarter', '2026-07-01', 15000);

-- The category map: one column of crm.pipeline_stages.
SELECT name, probability, forecast_category FROM crm.pipeline_stages WHERE stage_id <= 7 ORDER BY position;

-- Each owner's own deals in Q3.
SELECT u.full_name, b.deals, b.closed, b.commit, b.best_case, b.pipeline, round(b.weighted_pipeline, 2) AS weighted
FROM crm.forecast_by_owner b JOIN crm.users u ON u.user_id = b.owner_id
WHERE b.owner_id BETWEEN 7001 AND 7003 AND b.period_kind = 'quarter' AND b.period_start = '2026-07-01'
ORDER BY b.owner_id;

-- The roll-up up the chain, against quota.
SELECT u.full_name, r.closed, r.commit_forecast, r.best_case_forecast, r.open_pipeline,
       round(r.weighted_pipeline, 2) AS weighted, r.quota, round(r.attainment, 4) AS attainment,
       r.gap, round(r.coverage, 4) AS coverage
FROM crm.forecast_rollup r JOIN crm.users u USING (user_id)
WHERE r.user_id BETWEEN 7001 AND 7003 AND r.period_kind = 'quarter' AND r.period_start = '2026-07-01'
ORDER BY r.user_id;

-- Per month, Kim's chain: July: Lee's 3000 closed, Max's 6000 lead (pipeline); August: Max's 5000
-- closed, Lee's 2000 commit; September: Lee's 1000 best case and 4000 pipeline, Max's 2500
-- commit (his lost 1200 omitted).
SELECT r.period_start, r.closed, r.commit_forecast, r.best_case_forecast, r.open_pipeline
FROM crm.forecast_rollup r
WHERE r.user_id = 7001 AND r.period_kind = 'month' ORDER BY r.period_start;

-- History (loaded as an administrator, who may give the time and the figures of the day): Lee
-- called commit 4500 on 20 July, Kim commit 11000 and best case 14000 on 21 July. How did it end?
-- Kim: closed now 8000, 8000 - 11000 = -3000; Lee: 3000 - 4500 = -1500, his best-case call his
-- figure of the day, 6000.
INSERT INTO crm.forecast_submissions (user_id, period_kind, period_start, commit_call, best_case_call,
        closed, commit_forecast, best_case_forecast, open_pipeline, weighted_pipeline, quota, submitted_at) VALUES
    (7002, 'quarter', '2026-07-01', 4500, NULL, 3000, 5000, 6000, 7000, 3800, 8000, '2026-07-20 09:00+00'),
    (7001, 'quarter', '2026-07-01', 11000, 14000, 3000, 9000, 10000, 20000, 6000, 15000, '2026-07-21 09:00+00');
SELECT u.full_name, f.submitted_at, f.commit_call, f.best_case_call, f.closed_now, f.commit_error,
       round(f.attainment_now, 4) AS attainment_now
FROM crm.forecast_as_of('2026-07-31', 'quarter', '2026-07-01') f JOIN crm.users u USING (user_id)
ORDER BY f.user_id;

-- Errors: 22023 for an unknown period kind or a day that does not start its period; a quota's
-- period must start on its first day (23514).
\set VERBOSITY terse
SELECT crm.forecast_period('week', '2026-07-15');
SELECT * FROM crm.forecast_as_of('2026-07-31', 'quarter', '2026-08-01');
INSERT INTO crm.sales_quotas (user_id, period_kind, period_start, amount) VALUES (7002, 'quarter', '2026-08-01', 1);

\set VERBOSITY default
-- Clean up: the regression database is shared by the examples that follow.
DELETE FROM crm.forecast_submissions WHERE user_id BETWEEN 7001 AND 7003;
DELETE FROM crm.sales_quotas WHERE user_id BETWEEN 7001 AND 7003;
DELETE FROM crm.opportunities WHERE account_id = 7001;
DELETE FROM crm.accounts WHERE account_id = 7001;
DELETE FROM crm.users WHERE user_id BETWEEN 7001 AND 7003;
