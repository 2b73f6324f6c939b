-- Demo report: the sales forecast of this quarter (commit / best case / pipeline against quota per
-- team, the distribution of bookings), the stage funnel, slipped and aging deals. "Now" is the
-- latest recorded event (order, activity or stage change), as in section 0, so a generated history
-- reads the same any day; "this quarter" is the quarter holding it, shown with the next one.
\set QUIET on
\pset footer off
\pset null '-'
SELECT coalesce(greatest((SELECT max(ordered_at) FROM crm.orders), (SELECT max(occurred_at) FROM crm.activities),
                         (SELECT max(changed_at) FROM crm.opportunity_stage_history)),
                now()) AS report_as_of \gset
SELECT crm.forecast_period('quarter', (:'report_as_of'::timestamptz)::date) AS quarter,
       (crm.forecast_period('quarter', (:'report_as_of'::timestamptz)::date) + interval '3 months')::date AS next_quarter,
       to_char(crm.forecast_period('quarter', (:'report_as_of'::timestamptz)::date), 'YYYY "Q"Q') AS quarter_name \gset

\echo
\echo '== Sales forecast,' :quarter_name 'and the next quarter, per team (crm.forecast_rollup: the manager''s whole chain, against the manager''s quota) =='
\echo 'commit = closed + commit stage; best case = commit + best-case stage; pipeline = every open deal of the quarter;'
\echo 'call = the manager''s latest submitted commit call (crm.forecast_as_of); coverage = pipeline / quota left.'
SELECT to_char(r.period_start, 'YYYY "Q"Q') AS quarter, u.team, r.currency, r.deals, round(r.closed) AS closed, round(r.commit_forecast) AS "commit",
       round(r.best_case_forecast) AS "best case", round(r.open_pipeline) AS pipeline,
       round(r.weighted_pipeline) AS weighted, round(r.quota) AS quota,
       round(100 * r.attainment, 1) AS "attained %", round(r.gap) AS gap, round(r.coverage, 2) AS coverage,
       round(a.commit_call) AS "call", to_char(a.submitted_at, 'MM-DD') AS "called on"
FROM crm.forecast_rollup r
JOIN crm.users u ON u.user_id = r.user_id
LEFT JOIN LATERAL crm.forecast_as_of(:'report_as_of', 'quarter', r.period_start) a ON a.user_id = r.user_id AND a.currency = r.currency
WHERE r.period_kind = 'quarter' AND r.period_start IN (:'quarter', :'next_quarter') AND u.role = 'manager'
  AND NOT EXISTS (SELECT 1 FROM crm.users m WHERE m.user_id = u.manager_id AND m.role = 'manager')
ORDER BY r.period_start, u.team, r.currency;

\echo
\echo '== Bookings distribution,' :quarter_name 'and the next quarter, per team (crm.bookings_distribution: each open deal of the quarter wins its amount with its stage''s probability) =='
\echo 'P10 / P50 / P90 of the total closed by quarter end (closed so far + open deals won); chance = P(total >= quota).'
WITH deals AS (
    SELECT crm.forecast_period('quarter', d.close_date) AS period_start, m.team, d.currency, d.forecast_category, d.amount, d.probability
    FROM crm.forecast_deals d
    JOIN crm.reporting_chain c ON c.user_id = d.owner_id
    JOIN crm.users m ON m.user_id = c.manager_id AND m.role = 'manager'
    WHERE crm.forecast_period('quarter', d.close_date) IN (:'quarter', :'next_quarter')
      AND NOT EXISTS (SELECT 1 FROM crm.users mm WHERE mm.user_id = m.manager_id AND mm.role = 'manager')
), per_team AS (
    SELECT period_start, team, currency, coalesce(sum(amount) FILTER (WHERE forecast_category = 'closed'), 0) AS closed,
           count(*) FILTER (WHERE forecast_category IN ('pipeline', 'best_case', 'commit')) AS open_deals,
           crm.bookings_distribution(amount::float8, probability::float8)
               FILTER (WHERE forecast_category IN ('pipeline', 'best_case', 'commit')) AS d
    FROM deals GROUP BY period_start, team, currency
)
SELECT to_char(p.period_start, 'YYYY "Q"Q') AS quarter, p.team, p.currency, p.open_deals AS "open deals", round(p.closed) AS closed,
       round(p.closed + coalesce(crm.bookings_mean(p.d), 0)) AS expected,
       round(p.closed + coalesce(crm.bookings_quantile(p.d, 0.1), 0)) AS p10,
       round(p.closed + coalesce(crm.bookings_quantile(p.d, 0.5), 0)) AS p50,
       round(p.closed + coalesce(crm.bookings_quantile(p.d, 0.9), 0)) AS p90,
       round(q.quota) AS quota,
       round(100 * CASE WHEN q.quota IS NULL THEN NULL
                        WHEN p.closed >= q.quota THEN 1
                        ELSE coalesce(crm.bookings_probability_at_least(p.d, (q.quota - p.closed)::float8), 0) END)
           AS "chance %"
FROM per_team p
LEFT JOIN LATERAL (SELECT r.quota FROM crm.forecast_rollup r JOIN crm.users u ON u.user_id = r.user_id
                   WHERE u.team = p.team AND u.role = 'manager' AND r.period_kind = 'quarter'
                     AND r.period_start = p.period_start AND r.currency = p.currency
                   ORDER BY r.user_id LIMIT 1) q ON true
ORDER BY p.period_start, p.team, p.currency;

\echo
\echo '== Stage funnel, stages entered in the last 12 months (crm.stage_durations, crm.stage_conversion) =='
\echo 'days in stage: Kaplan-Meier over the spells, open deals censored; converted = advanced / (advanced + lost + moved back).'
SELECT d.stage_name AS stage, c.entered, c.advanced, c.lost, c.moved_back AS "moved back", c.still_open AS "still open",
       round(100 * c.conversion_rate::numeric, 1) AS "converted %",
       round(d.median_days::numeric, 1) AS "median days", round(d.p75_days::numeric, 1) AS "P75 days",
       round(d.p90_days::numeric, 1) AS "P90 days"
FROM crm.stage_durations(:'report_as_of'::timestamptz - interval '12 months', :'report_as_of', :'report_as_of') d
JOIN crm.stage_conversion(:'report_as_of'::timestamptz - interval '12 months', :'report_as_of', :'report_as_of') c
  ON c.breakdown = d.breakdown AND c.stage_id = d.stage_id
JOIN crm.pipeline_stages s ON s.stage_id = d.stage_id
WHERE d.breakdown = 'stage'
ORDER BY s.position;

\echo
\echo '== Win rate and sales velocity, deals closed in the last 12 months (crm.sales_velocity, per team) =='
SELECT v.team, v.currency, v.open_deals AS "open deals", round(100 * v.win_rate::numeric, 1) AS "win rate %",
       round(v.avg_won_amount) AS "avg won", round(v.avg_cycle_days::numeric, 1) AS "avg cycle days",
       round(v.velocity_per_day::numeric) AS "velocity per day"
FROM crm.sales_velocity(:'report_as_of'::timestamptz - interval '12 months', :'report_as_of', :'report_as_of') v
WHERE v.breakdown = 'team'
ORDER BY v.team, v.currency;

\echo
\echo '== Slipped deals: open deals whose expected close date passed while open (crm.slipped_deals), the ten worst =='
SELECT count(*) FILTER (WHERE is_open AND slips > 0) AS "open deals that slipped",
       count(*) FILTER (WHERE is_open AND days_overdue > 0) AS "open and overdue now",
       count(*) FILTER (WHERE NOT is_open AND slips > 0) AS "closed after slipping",
       sum(pushes) AS "pushes in all"
FROM crm.slipped_deals(:'report_as_of');
SELECT s.opportunity_id AS deal, s.name, s.team, st.name AS stage, s.expected_close AS "expected close",
       s.slips, s.pushes, s.days_overdue AS "days overdue"
FROM crm.slipped_deals(:'report_as_of') s JOIN crm.pipeline_stages st USING (stage_id)
WHERE s.is_open AND s.slips > 0
ORDER BY s.slips DESC, s.days_overdue DESC NULLS LAST, s.opportunity_id LIMIT 10;

\echo
\echo '== Aging deals: open and longer in their stage than the stage''s P90 (crm.aging_deals), the ten oldest =='
SELECT count(*) AS "aging deals", round(sum(o.amount)) AS amount
FROM crm.aging_deals(:'report_as_of') a JOIN crm.opportunities o USING (opportunity_id);
SELECT a.opportunity_id AS deal, o.name, a.team, a.stage_name AS stage, round(o.amount) AS amount,
       round(a.days_in_stage::numeric) AS "days in stage", round(a.stage_p90_days::numeric) AS "stage P90"
FROM crm.aging_deals(:'report_as_of') a JOIN crm.opportunities o USING (opportunity_id)
ORDER BY a.days_in_stage DESC, a.opportunity_id LIMIT 10;
