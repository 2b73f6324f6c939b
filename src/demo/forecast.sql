-- src/demo/forecast.sql: the demo data hook of src/forecast.sql (extension crm_demo): realistic deal
-- histories (quarter-end seasonality, stalls, slipped and pushed expected close dates), then quotas
-- and weekly forecast submissions for the generated deals.

-- Demo hook (called by crm.generate_demo_data, as replica: no trigger fires, so the expected-close
-- history and the submissions' snapshot are written here). First the deal histories the generator
-- made are made realistic (the data's end, as_of, is the day after the latest recorded event):
-- * seasonality (tag 132): 45% of the won expansion deals (those without a lead, whose close no
--   other record depends on) that closed before the last three weeks of their quarter close instead
--   in its last two weeks (the quarter-end push), when that is before as_of;
-- * stalls (tag 134): 25% of the open deals and 40% of the lost ones went through their stages in
--   the first 25 .. 60% of the time they had; since then they sat in their last open stage (aging
--   deals; lost deals that died slowly);
-- * slips (tag 133): 65% of the open and 50% of the closed deals open at least 30 days had their
--   expected close date changed 1 to 3 times while open; each change falls in its own slice of the
--   deal's open life and moves the date later, from a date that had already passed when changed
--   (a slip) in 60% of the changes, else from a date 1 .. 10 days ahead (an early push); the last
--   change sets the date the deal has now. Recorded in crm.opportunity_expected_close_history as
--   the trigger would have (by the owner).
-- Then, for every sales rep and manager and every quarter their chain has deals in: a quota around
-- the chain's best-case forecast (x 0.8 .. 1.2, rounded to 1,000, at least 1,000). Then, in weeks 3,
-- 6, 9 and 12 of each such quarter (up to the last recorded stage change), a submission per quota
-- holder: the snapshot is the chain's figures as they stood then, each deal in the stage it was in
-- at that moment (from the stage history; a deal created later is left out; amounts and expected
-- close dates as they are now), and the commit call the system's commit forecast x 0.85 .. 1.15,
-- rounded to 100. Random keys: tag 130 (quotas), 131 (calls), 132 .. 134 (above).
CREATE FUNCTION @extschema@.generate_demo_forecast(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    last_change timestamptz;
    data_end timestamptz;
BEGIN
    SELECT max(changed_at) INTO last_change FROM @extschema@.opportunity_stage_history;
    IF last_change IS NULL THEN
        RETURN;
    END IF;
    -- The generator's as_of (00:00 UTC): the day after the latest recorded event.
    SELECT (date_trunc('day', greatest(last_change, (SELECT max(ordered_at) FROM @extschema@.orders),
                                        (SELECT max(occurred_at) FROM @extschema@.activities)) AT TIME ZONE 'UTC')
            + interval '1 day') AT TIME ZONE 'UTC'
    INTO data_end;

    -- Seasonality: the quarter-end push of won expansion deals.
    CREATE TEMP TABLE demo_forecast_season ON COMMIT DROP AS
    SELECT o.opportunity_id, o.closed_at AS old_closed_at,
           ((date_trunc('quarter', o.closed_at AT TIME ZONE 'UTC') + interval '3 months' - interval '1 day'
             - make_interval(days => floor(14 * @extschema@.demo_uniform(k, 2))::integer)
             + (o.closed_at AT TIME ZONE 'UTC' - date_trunc('day', o.closed_at AT TIME ZONE 'UTC'))) AT TIME ZONE 'UTC') AS new_closed_at
    FROM @extschema@.opportunities o
    CROSS JOIN LATERAL @extschema@.demo_key(seed, 132, o.opportunity_id) AS k
    WHERE o.stage_id = 6 AND o.lead_id IS NULL AND o.closed_at IS NOT NULL
      AND o.closed_at AT TIME ZONE 'UTC' < date_trunc('quarter', o.closed_at AT TIME ZONE 'UTC') + interval '3 months' - interval '21 days'
      AND @extschema@.demo_uniform(k, 1) < 0.45;
    DELETE FROM demo_forecast_season WHERE new_closed_at >= data_end OR new_closed_at <= old_closed_at;
    UPDATE @extschema@.opportunities o
    SET closed_at = s.new_closed_at, expected_close = (s.new_closed_at AT TIME ZONE 'UTC')::date
    FROM demo_forecast_season s WHERE s.opportunity_id = o.opportunity_id;
    UPDATE @extschema@.opportunity_stage_history h SET changed_at = s.new_closed_at
    FROM demo_forecast_season s
    WHERE s.opportunity_id = h.opportunity_id AND h.to_stage_id = 6 AND h.changed_at = s.old_closed_at;

    -- Stalls: open and lost deals that moved early and then sat in their stage.
    UPDATE @extschema@.opportunity_stage_history h
    SET changed_at = o.created_at + (h.changed_at - o.created_at) * (0.25 + 0.35 * @extschema@.demo_uniform(k, 2))
    FROM @extschema@.opportunities o
    CROSS JOIN LATERAL @extschema@.demo_key(seed, 134, o.opportunity_id) AS k
    WHERE h.opportunity_id = o.opportunity_id AND h.from_stage_id IS NOT NULL AND h.to_stage_id NOT IN (6, 7)
      AND ((o.closed_at IS NULL AND o.stage_id NOT IN (6, 7) AND @extschema@.demo_uniform(k, 1) < 0.25)
           OR (o.stage_id = 7 AND @extschema@.demo_uniform(k, 1) < 0.40));

    -- Half of the stalled open deals are also overdue: their expected close passed 1 .. 45 days
    -- before as_of and nobody moved it (stale pipeline).
    UPDATE @extschema@.opportunities o
    SET expected_close = greatest((o.created_at AT TIME ZONE 'UTC')::date + 1,
                                  (data_end AT TIME ZONE 'UTC')::date - 1
                                  - floor(45 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 134, o.opportunity_id), 4))::integer)
    WHERE o.closed_at IS NULL AND o.stage_id NOT IN (6, 7)
      AND @extschema@.demo_uniform(@extschema@.demo_key(seed, 134, o.opportunity_id), 1) < 0.25
      AND @extschema@.demo_uniform(@extschema@.demo_key(seed, 134, o.opportunity_id), 3) < 0.5;

    -- Slips and pushes of the expected close date.
    INSERT INTO @extschema@.opportunity_expected_close_history (history_id, opportunity_id, from_expected_close,
        to_expected_close, changed_at, changed_by, changed_by_role)
    WITH changes AS (
        SELECT o.opportunity_id, o.owner_id, o.expected_close, i.i, n.changes,
               o.created_at + (coalesce(o.closed_at, data_end) - o.created_at)
                              * ((i.i - 1 + 0.2 + 0.6 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 133, o.opportunity_id, i.i), 1))
                                 / n.changes) AS at,
               @extschema@.demo_uniform(@extschema@.demo_key(seed, 133, o.opportunity_id, i.i), 2) < 0.6 AS slip,
               @extschema@.demo_uniform(@extschema@.demo_key(seed, 133, o.opportunity_id, i.i), 3) AS u
        FROM @extschema@.opportunities o
        CROSS JOIN LATERAL @extschema@.demo_key(seed, 133, o.opportunity_id) AS k
        CROSS JOIN LATERAL (SELECT CASE WHEN @extschema@.demo_uniform(k, 1) >= CASE WHEN o.closed_at IS NULL THEN 0.65 ELSE 0.50 END THEN 0
                                        ELSE 1 + floor(3 * @extschema@.demo_uniform(k, 2))::integer END AS changes) AS n
        CROSS JOIN LATERAL generate_series(1, n.changes) AS i(i)
        WHERE o.expected_close IS NOT NULL AND coalesce(o.closed_at, data_end) - o.created_at >= interval '30 days'
    ), dated AS (
        -- the date in force before change i: passed when the change came (a slip) or still ahead
        SELECT c.*, (c.at AT TIME ZONE 'UTC')::date
                    + CASE WHEN c.slip THEN -(1 + floor(20 * c.u)::integer) ELSE 1 + floor(10 * c.u)::integer END AS before_date
        FROM changes c
    ), chained AS (
        -- dates increase along the chain: from_i = least(before_i, from_(i+1) - 1), the last one
        -- before the date the deal has now, so from_i = i + min over j >= i of (before_j - j)
        SELECT d.*, least(min(d.before_date - d.i) OVER (PARTITION BY d.opportunity_id ORDER BY d.i DESC
                                                         ROWS UNBOUNDED PRECEDING) + d.i,
                          d.expected_close - 1 - d.changes + d.i) AS from_date
        FROM dated d
    )
    SELECT row_number() OVER (ORDER BY c.at, c.opportunity_id, c.i), c.opportunity_id, c.from_date,
           coalesce(lead(c.from_date) OVER (PARTITION BY c.opportunity_id ORDER BY c.i), c.expected_close),
           c.at, c.owner_id, coalesce(u.login_role, 'postgres')
    FROM chained c LEFT JOIN @extschema@.users u ON u.user_id = c.owner_id;

    UPDATE @extschema@.opportunities o SET updated_at = greatest(h.last_change, o.closed_at)
    FROM (SELECT opportunity_id, max(changed_at) AS last_change
          FROM (SELECT opportunity_id, changed_at FROM @extschema@.opportunity_stage_history
                UNION ALL SELECT opportunity_id, changed_at FROM @extschema@.opportunity_expected_close_history) AS x
          GROUP BY opportunity_id) AS h
    WHERE h.opportunity_id = o.opportunity_id;
    DROP TABLE demo_forecast_season;
    SELECT max(changed_at) INTO last_change FROM @extschema@.opportunity_stage_history;

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

    -- The quarter after the one holding as_of has deals but no history yet: its quotas are the
    -- holder's average quota of the last four quarters x 1.0 .. 1.2 (growth), rounded to 1,000.
    INSERT INTO @extschema@.sales_quotas (quota_id, user_id, period_kind, period_start, currency, amount,
                                          created_at, updated_at)
    SELECT (SELECT max(quota_id) FROM @extschema@.sales_quotas) + row_number() OVER (ORDER BY q.user_id, q.currency),
           q.user_id, 'quarter', n.next_quarter, q.currency,
           greatest(1000, round(avg(q.amount) * (1.0 + 0.2 * @extschema@.demo_uniform(
               @extschema@.demo_key(seed, 130, q.user_id,
                   (extract(year FROM n.next_quarter) * 4 + extract(quarter FROM n.next_quarter))::integer), 1))::numeric, -3)),
           n.next_quarter - 14, n.next_quarter - 14
    FROM (SELECT (@extschema@.forecast_period('quarter', (data_end AT TIME ZONE 'UTC')::date) + interval '3 months')::date
                 AS next_quarter) AS n
    JOIN @extschema@.sales_quotas q ON q.period_start >= n.next_quarter - interval '12 months'
    WHERE NOT EXISTS (SELECT 1 FROM @extschema@.sales_quotas x
                      WHERE x.user_id = q.user_id AND x.period_start = n.next_quarter AND x.currency = q.currency)
    GROUP BY q.user_id, q.currency, n.next_quarter;

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

    PERFORM setval(pg_get_serial_sequence('@extschema@.opportunity_expected_close_history', 'history_id'),
                   coalesce(max(history_id), 1), max(history_id) IS NOT NULL) FROM @extschema@.opportunity_expected_close_history;
    PERFORM setval(pg_get_serial_sequence('@extschema@.sales_quotas', 'quota_id'),
                   coalesce(max(quota_id), 1), max(quota_id) IS NOT NULL) FROM @extschema@.sales_quotas;
    PERFORM setval(pg_get_serial_sequence('@extschema@.forecast_submissions', 'submission_id'),
                   coalesce(max(submission_id), 1), max(submission_id) IS NOT NULL) FROM @extschema@.forecast_submissions;
    ANALYZE @extschema@.opportunities, @extschema@.opportunity_stage_history,
            @extschema@.opportunity_expected_close_history, @extschema@.sales_quotas, @extschema@.forecast_submissions;
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_forecast(integer) IS
    'Demo data hook: realistic deal histories (quarter-end closes of won expansion deals, stalled open and lost deals, slipped and pushed expected close dates in crm.opportunity_expected_close_history), then quarterly quotas for every rep and manager around their chain''s best-case forecast, and their forecast calls in weeks 3, 6, 9 and 12 of each quarter with the figures of that moment (from the stage history).';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_forecast(integer) FROM PUBLIC;
