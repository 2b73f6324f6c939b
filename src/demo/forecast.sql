-- src/demo/forecast.sql: the demo data hook of src/forecast.sql (extension crm_demo): quotas and
-- weekly forecast submissions for the generated deals.

-- Demo hook (called by crm.generate_demo_data, as replica: the submissions' stamping trigger does
-- not fire, so the snapshot is computed here). For every sales rep and manager and every quarter
-- their chain has deals in: a quota around the chain's best-case forecast (x 0.8 .. 1.2, rounded
-- to 1,000, at least 1,000). Then, in weeks 3, 6, 9 and 12 of each such quarter (up to the last
-- recorded stage change), a submission per quota holder: the snapshot is the chain's figures as
-- they stood then, each deal in the stage it was in at that moment (from the stage history; a
-- deal created later is left out; amounts and expected close dates as they are now), and the
-- commit call the system's commit forecast x 0.85 .. 1.15, rounded to 100. Random keys: tag 130
-- (quotas), 131 (calls).
CREATE FUNCTION @extschema@.generate_demo_forecast(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    last_change timestamptz;
BEGIN
    SELECT max(changed_at) INTO last_change FROM @extschema@.opportunity_stage_history;
    IF last_change IS NULL THEN
        RETURN;
    END IF;

    INSERT INTO @extschema@.sales_quotas (quota_id, user_id, period_kind, period_start, currency, amount,
                                          created_at, updated_at)
    SELECT row_number() OVER (ORDER BY r.user_id, r.period_start, r.currency), r.user_id, 'quarter',
           r.period_start, r.currency,
           greatest(1000, round(r.best_case_forecast
                                * (0.8 + 0.4 * @extschema@.demo_uniform(
                                       @extschema@.demo_key(seed, 130, r.user_id,
                                           (extract(year FROM r.period_start) * 4 + extract(quarter FROM r.period_start))::integer), 1))::numeric,
                                -3)),
           r.period_start - 14, r.period_start - 14
    FROM @extschema@.forecast_rollup r
    JOIN @extschema@.users u ON u.user_id = r.user_id
    WHERE r.period_kind = 'quarter' AND u.role IN ('sales', 'manager') AND r.best_case_forecast > 0
      AND r.period_start <= last_change::date;

    INSERT INTO @extschema@.forecast_submissions (submission_id, user_id, period_kind, period_start, currency,
        commit_call, closed, commit_forecast, best_case_forecast, open_pipeline, weighted_pipeline, quota,
        submitted_at, submitted_by)
    WITH moments AS (
        SELECT DISTINCT q.period_start, w.week,
               (q.period_start + 7 * w.week)::timestamp AT TIME ZONE 'UTC' + interval '9 hours' AS at
        FROM @extschema@.sales_quotas q CROSS JOIN (VALUES (3), (6), (9), (12)) w (week)
        WHERE (q.period_start + 7 * w.week)::timestamp AT TIME ZONE 'UTC' + interval '9 hours' <= last_change
    ), deals AS (
        SELECT o.opportunity_id, o.owner_id, o.currency, o.amount, o.closed_at, o.expected_close,
               @extschema@.forecast_period('quarter', coalesce(o.closed_at::date, o.expected_close)) AS period_start
        FROM @extschema@.opportunities o
        WHERE o.owner_id IS NOT NULL AND coalesce(o.closed_at::date, o.expected_close) IS NOT NULL
    ), owner_then AS (
        SELECT d.owner_id, m.period_start, m.week, m.at, d.currency,
               coalesce(sum(d.amount) FILTER (WHERE s.forecast_category = 'closed'), 0) AS closed,
               coalesce(sum(d.amount) FILTER (WHERE s.forecast_category = 'commit'), 0) AS commit,
               coalesce(sum(d.amount) FILTER (WHERE s.forecast_category = 'best_case'), 0) AS best_case,
               coalesce(sum(d.amount) FILTER (WHERE s.forecast_category = 'pipeline'), 0) AS pipeline,
               coalesce(sum(d.amount * s.probability / 100)
                        FILTER (WHERE s.forecast_category IN ('pipeline', 'best_case', 'commit')), 0) AS weighted
        FROM deals d
        JOIN moments m ON m.period_start = d.period_start
        CROSS JOIN LATERAL (SELECT h.to_stage_id FROM @extschema@.opportunity_stage_history h
                            WHERE h.opportunity_id = d.opportunity_id AND h.changed_at <= m.at
                            ORDER BY h.changed_at DESC LIMIT 1) h
        JOIN @extschema@.pipeline_stages s ON s.stage_id = h.to_stage_id
        GROUP BY d.owner_id, m.period_start, m.week, m.at, d.currency
    ), chain_then AS (
        SELECT c.manager_id AS user_id, o.period_start, o.week, o.at, o.currency,
               sum(o.closed) AS closed, sum(o.commit) AS commit, sum(o.best_case) AS best_case,
               sum(o.pipeline) AS pipeline, sum(o.weighted) AS weighted
        FROM owner_then o JOIN @extschema@.reporting_chain c ON c.user_id = o.owner_id
        GROUP BY c.manager_id, o.period_start, o.week, o.at, o.currency
    )
    SELECT row_number() OVER (ORDER BY t.at, t.user_id, t.currency), t.user_id, 'quarter', t.period_start, t.currency,
           round((t.commit + t.closed)
                 * (0.85 + 0.3 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 131, t.user_id,
                       (extract(year FROM t.period_start) * 64 + extract(quarter FROM t.period_start) * 16 + t.week)::integer), 1))::numeric,
                 -2),
           t.closed, t.commit + t.closed, t.best_case + t.commit + t.closed, t.pipeline + t.best_case + t.commit,
           t.weighted, q.amount, t.at, t.user_id
    FROM chain_then t
    JOIN @extschema@.sales_quotas q
      ON q.user_id = t.user_id AND q.period_kind = 'quarter' AND q.period_start = t.period_start AND q.currency = t.currency;

    PERFORM setval(pg_get_serial_sequence('@extschema@.sales_quotas', 'quota_id'),
                   coalesce(max(quota_id), 1), max(quota_id) IS NOT NULL) FROM @extschema@.sales_quotas;
    PERFORM setval(pg_get_serial_sequence('@extschema@.forecast_submissions', 'submission_id'),
                   coalesce(max(submission_id), 1), max(submission_id) IS NOT NULL) FROM @extschema@.forecast_submissions;
    ANALYZE @extschema@.sales_quotas, @extschema@.forecast_submissions;
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_forecast(integer) IS
    'Demo data hook: quarterly quotas for every rep and manager around their chain''s best-case forecast, and their forecast calls in weeks 3, 6, 9 and 12 of each quarter with the figures of that moment (from the stage history).';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_forecast(integer) FROM PUBLIC;
