-- pgTAP: the forecast demo hook (src/demo/forecast.sql): quotas and weekly submissions generated
-- with the demo data, checked against their definition by independent queries.
BEGIN;
SELECT plan(8);
SET LOCAL TimeZone = 'UTC';
SELECT lives_ok($$SELECT crm.generate_demo_data(300, 5, '2026-06-30')$$, 'generate_demo_data runs the forecast hook');

SELECT ok((SELECT count(*) > 0 FROM crm.sales_quotas) AND (SELECT count(*) > 0 FROM crm.forecast_submissions),
          'the demo has quotas and submissions');
SELECT is_empty($$SELECT quota_id FROM crm.sales_quotas q JOIN crm.users u USING (user_id)
                  WHERE q.amount < 1000 OR q.amount % 1000 <> 0 OR q.period_kind <> 'quarter'
                     OR u.role NOT IN ('sales', 'manager')$$,
                'quotas: quarterly, for reps and managers, whole thousands, at least 1,000');
-- Every rep or manager whose chain had a best-case forecast in a quarter begun by the last stage
-- change has a quota there (counted here from the deals directly: closed, commit or best case).
SELECT is_empty($$SELECT DISTINCT c.manager_id, date_trunc('quarter', coalesce(o.closed_at::date, o.expected_close))::date
                  FROM crm.opportunities o
                  JOIN crm.pipeline_stages s USING (stage_id)
                  JOIN crm.reporting_chain c ON c.user_id = o.owner_id
                  JOIN crm.users u ON u.user_id = c.manager_id AND u.role IN ('sales', 'manager')
                  WHERE s.forecast_category IN ('closed', 'commit', 'best_case') AND o.amount > 0
                    AND coalesce(o.closed_at::date, o.expected_close)
                        < date_trunc('quarter', (SELECT max(changed_at) FROM crm.opportunity_stage_history)) + interval '3 months'
                  EXCEPT SELECT user_id, period_start FROM crm.sales_quotas$$,
                'quotas: every rep and manager with a best-case forecast in a quarter has one');
SELECT is_empty($$SELECT submission_id FROM crm.forecast_submissions
                  WHERE NOT (closed <= commit_forecast AND commit_forecast <= best_case_forecast
                             AND open_pipeline >= 0 AND weighted_pipeline <= open_pipeline
                             AND submitted_at - period_start::timestamptz IN
                                 (interval '21 days 9 hours', interval '42 days 9 hours', interval '63 days 9 hours', interval '84 days 9 hours')
                             AND submitted_by = user_id AND commit_call >= 0 AND commit_call % 100 = 0)$$,
                'submissions: cumulative figures in order, made at 09:00 in weeks 3, 6, 9, 12, by their user');
SELECT is_empty($$SELECT s.submission_id FROM crm.forecast_submissions s
                  LEFT JOIN crm.sales_quotas q ON q.user_id = s.user_id AND q.period_kind = s.period_kind
                   AND q.period_start = s.period_start AND q.currency = s.currency
                  WHERE q.amount IS DISTINCT FROM s.quota$$,
                'submissions: only by quota holders, with their quota');
-- The snapshot's closed amount, recomputed another way: per submission, the deals of the chain
-- whose latest stage change at or before the moment (DISTINCT ON, not LATERAL ... LIMIT 1) went to
-- a closed stage, and whose close date (closed_at, else expected close) falls in the quarter.
SELECT is_empty($$WITH stage_then AS (
                      SELECT DISTINCT ON (s.submission_id, h.opportunity_id) s.submission_id, h.opportunity_id, h.to_stage_id
                      FROM crm.forecast_submissions s
                      JOIN crm.reporting_chain c ON c.manager_id = s.user_id
                      JOIN crm.opportunities o ON o.owner_id = c.user_id AND o.currency = s.currency
                      JOIN crm.opportunity_stage_history h ON h.opportunity_id = o.opportunity_id AND h.changed_at <= s.submitted_at
                      ORDER BY s.submission_id, h.opportunity_id, h.changed_at DESC)
                  SELECT s.submission_id, s.closed, coalesce(x.closed, 0)
                  FROM crm.forecast_submissions s
                  LEFT JOIN (SELECT t.submission_id, sum(o.amount) AS closed
                             FROM stage_then t
                             JOIN crm.forecast_submissions s2 USING (submission_id)
                             JOIN crm.opportunities o USING (opportunity_id)
                             JOIN crm.pipeline_stages st ON st.stage_id = t.to_stage_id AND st.forecast_category = 'closed'
                             WHERE date_trunc('quarter', coalesce(o.closed_at::date, o.expected_close))::date = s2.period_start
                             GROUP BY t.submission_id) x USING (submission_id)
                  WHERE s.closed <> coalesce(x.closed, 0)$$,
                'submissions: the closed amount of the snapshot is the chain''s deals closed by then');
SELECT ok((SELECT count(*) > 0 FROM crm.forecast_as_of('2026-06-30', 'quarter', '2026-04-01')),
          'forecast_as_of answers on the demo data');

SELECT * FROM finish();
ROLLBACK;
