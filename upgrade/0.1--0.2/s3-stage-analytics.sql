-- Stage analytics (issue 16 item 2): the block appended to src/forecast.sql, identical.

-- ---------------------------------------------------------------------------------------------
-- Stage analytics (issue 16 item 2): time in each stage, stage-to-stage conversion, win rates,
-- sales-cycle length, sales velocity, slipped and aging deals, per owner, team and period, from
-- crm.opportunity_stage_history and crm.opportunity_expected_close_history. Everything runs with
-- the caller's rights: the figures are over the deals the caller may see (a rep their own, a
-- manager their chain's). Durations are in days (double precision). See docs/forecast.md, "Stage
-- analytics".

-- The p-quantile of a Kaplan-Meier curve (src/survival.c), by R's quantile.survfit rule that
-- crm.km_median follows for p = 0.5. Pure: executable by everyone.
CREATE FUNCTION @extschema@.km_quantile(curve @extschema@.survival_curve, p double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_km_quantile' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_quantile(@extschema@.survival_curve, double precision) IS
    'The p-quantile of the survival time (0 < p < 1): the first time at which S(t) < 1 - p, or the midpoint of the interval where S(t) = 1 - p (as R''s survfit); NULL when the curve never drops to 1 - p; p outside (0, 1) raises 22023.';

-- Expected close dates: every change of crm.opportunities.expected_close, open deal or closed,
-- written by trigger only (an audit trail like the stage history: no staff role writes it, admins
-- included). The deal's first date is the first row's from_expected_close (or, without rows, the
-- deal's expected_close now).
CREATE TABLE @extschema@.opportunity_expected_close_history (
    history_id          bigserial PRIMARY KEY,
    opportunity_id      bigint NOT NULL CONSTRAINT opportunity_expected_close_history_opportunity_fkey
                        REFERENCES @extschema@.opportunities ON DELETE CASCADE,
    from_expected_close date,
    to_expected_close   date,
    changed_at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    changed_by          bigint CONSTRAINT opportunity_expected_close_history_changed_by_fkey REFERENCES @extschema@.users,
    changed_by_role     name NOT NULL DEFAULT session_user
);
CREATE INDEX opportunity_expected_close_history_opportunity_idx
    ON @extschema@.opportunity_expected_close_history (opportunity_id, changed_at);
COMMENT ON TABLE @extschema@.opportunity_expected_close_history IS
    'Changes of opportunities'' expected close dates, written by trigger: from, to, when, and who (the session''s staff user and role).';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.opportunity_expected_close_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.opportunity_expected_close_history_history_id_seq', '');

-- SECURITY DEFINER: it writes the history, which no staff role may write, for whoever changed the
-- date of a deal they may update. It fires only on crm.opportunities and takes nothing but the
-- trigger's OLD and NEW rows.
CREATE FUNCTION @extschema@.record_expected_close_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID <> '@extschema@.opportunities'::pg_catalog.regclass OR TG_OP <> 'UPDATE' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION 'trigger function record_expected_close_change() fires only on updates of @extschema@.opportunities, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF OLD.expected_close IS DISTINCT FROM NEW.expected_close THEN
        INSERT INTO @extschema@.opportunity_expected_close_history
            (opportunity_id, from_expected_close, to_expected_close, changed_at, changed_by, changed_by_role)
        VALUES (NEW.opportunity_id, OLD.expected_close, NEW.expected_close, pg_catalog.clock_timestamp(),
                (SELECT user_id FROM @extschema@.users WHERE login_role = session_user), session_user);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.record_expected_close_change() IS
    'Trigger: records every change of an opportunity''s expected_close in opportunity_expected_close_history (who: session_user and its crm.users row; when: clock_timestamp()).';
REVOKE EXECUTE ON FUNCTION @extschema@.record_expected_close_change() FROM PUBLIC;
CREATE TRIGGER opportunities_record_expected_close_change AFTER UPDATE OF expected_close ON @extschema@.opportunities
    FOR EACH ROW WHEN (OLD.expected_close IS DISTINCT FROM NEW.expected_close AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.record_expected_close_change();

GRANT SELECT ON @extschema@.opportunity_expected_close_history TO crm_admin, crm_manager, crm_sales, crm_analyst;
ALTER TABLE @extschema@.opportunity_expected_close_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.opportunity_expected_close_history FOR SELECT TO crm_admin USING (true);
CREATE POLICY read_visible_deals ON @extschema@.opportunity_expected_close_history FOR SELECT
    TO crm_analyst, crm_manager, crm_sales
    USING (EXISTS (SELECT FROM @extschema@.opportunities o
                   WHERE o.opportunity_id = opportunity_expected_close_history.opportunity_id));

-- Stage spells: each stage-history row is a deal entering a stage (entered_at) until the deal's
-- next history row (left_at, next_stage_id), NULL while it is still there. Owner, team, amount and
-- currency are the deal's now.
CREATE VIEW @extschema@.stage_spells WITH (security_invoker = true) AS
SELECT h.history_id, h.opportunity_id, o.owner_id, u.team, o.amount, o.currency,
       h.to_stage_id AS stage_id, s.name AS stage_name, s.position, s.is_won, s.is_lost,
       h.changed_at AS entered_at, h.left_at, h.next_stage_id,
       ns.position AS next_position, ns.is_won AS next_is_won, ns.is_lost AS next_is_lost
FROM (SELECT x.history_id, x.opportunity_id, x.to_stage_id, x.changed_at,
             pg_catalog.lead(x.changed_at) OVER w AS left_at, pg_catalog.lead(x.to_stage_id) OVER w AS next_stage_id
      FROM @extschema@.opportunity_stage_history x
      WINDOW w AS (PARTITION BY x.opportunity_id ORDER BY x.changed_at, x.history_id)) h
JOIN @extschema@.opportunities o ON o.opportunity_id = h.opportunity_id
JOIN @extschema@.pipeline_stages s ON s.stage_id = h.to_stage_id
LEFT JOIN @extschema@.users u ON u.user_id = o.owner_id
LEFT JOIN @extschema@.pipeline_stages ns ON ns.stage_id = h.next_stage_id;
COMMENT ON VIEW @extschema@.stage_spells IS
    'Each time a deal entered a stage (a stage-history row): entered_at, and left_at / next_stage_id from the deal''s next history row (NULL while it is still in the stage), with the deal''s owner, team, amount and currency.';

-- Each deal's cycle: started_at (its first stage-history row, else created_at) and, for a deal in
-- a won or lost stage now, closed_at (the deal's closed_at, else when it entered that stage).
CREATE VIEW @extschema@.deal_cycles WITH (security_invoker = true) AS
SELECT o.opportunity_id, o.owner_id, u.team, o.amount, o.currency, o.stage_id, s.is_won, s.is_lost,
       coalesce(f.first_at, o.created_at) AS started_at,
       CASE WHEN s.is_won OR s.is_lost THEN coalesce(o.closed_at, f.entered_current_at, o.updated_at) END AS closed_at,
       CASE WHEN s.is_won OR s.is_lost THEN
           extract(epoch FROM coalesce(o.closed_at, f.entered_current_at, o.updated_at)
                              - coalesce(f.first_at, o.created_at))::double precision / 86400 END AS cycle_days
FROM @extschema@.opportunities o
JOIN @extschema@.pipeline_stages s ON s.stage_id = o.stage_id
LEFT JOIN @extschema@.users u ON u.user_id = o.owner_id
LEFT JOIN LATERAL (
    SELECT pg_catalog.min(h.changed_at) AS first_at,
           pg_catalog.max(h.changed_at) FILTER (WHERE h.to_stage_id = o.stage_id) AS entered_current_at
    FROM @extschema@.opportunity_stage_history h WHERE h.opportunity_id = o.opportunity_id) f ON true;
COMMENT ON VIEW @extschema@.deal_cycles IS
    'Each deal''s sales cycle: started_at (first stage-history row, else created_at), and for a won or lost deal closed_at (its closed_at, else when it entered its closing stage) and cycle_days.';

-- Time in each open stage: Kaplan-Meier over the spells that entered the stage in [from_time,
-- to_time) (NULL: unbounded) and by as_of (NULL: now()); a spell still running at as_of is censored
-- there. Rows per stage (breakdown 'stage'), per stage and owner ('owner'), per stage and team ('team').
CREATE FUNCTION @extschema@.stage_durations(from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL,
                                            as_of timestamptz DEFAULT NULL)
RETURNS TABLE (breakdown text, stage_id integer, stage_name text, owner_id bigint, team text,
               n bigint, events bigint, censored bigint,
               median_days double precision, p75_days double precision, p90_days double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
WITH p AS (SELECT coalesce(stage_durations.as_of, pg_catalog.now()) AS as_of),
spells AS (
    SELECT s.stage_id, s.stage_name, s.position, s.owner_id, s.team,
           s.left_at IS NOT NULL AND s.left_at <= p.as_of AS observed,
           extract(epoch FROM CASE WHEN s.left_at IS NOT NULL AND s.left_at <= p.as_of THEN s.left_at ELSE p.as_of END
                              - s.entered_at)::double precision / 86400 AS days
    FROM @extschema@.stage_spells s, p
    WHERE NOT s.is_won AND NOT s.is_lost AND s.entered_at <= p.as_of
      AND (stage_durations.from_time IS NULL OR s.entered_at >= stage_durations.from_time)
      AND (stage_durations.to_time IS NULL OR s.entered_at < stage_durations.to_time)
), fits AS (
    SELECT CASE WHEN GROUPING(owner_id) = 0 THEN 'owner' WHEN GROUPING(team) = 0 THEN 'team' ELSE 'stage' END AS breakdown,
           stage_id, stage_name, position, owner_id, team,
           pg_catalog.count(*) AS n, pg_catalog.count(*) FILTER (WHERE observed) AS events,
           pg_catalog.count(*) FILTER (WHERE NOT observed) AS censored,
           @extschema@.km_fit(days, observed) AS curve
    FROM spells
    GROUP BY GROUPING SETS ((stage_id, stage_name, position), (stage_id, stage_name, position, owner_id),
                            (stage_id, stage_name, position, team))
)
SELECT breakdown, stage_id, stage_name, owner_id, team, n, events, censored,
       @extschema@.km_median(curve), @extschema@.km_quantile(curve, 0.75), @extschema@.km_quantile(curve, 0.9)
FROM fits
ORDER BY position, breakdown DESC, owner_id, team;
END
$$;
COMMENT ON FUNCTION @extschema@.stage_durations(timestamptz, timestamptz, timestamptz) IS
    'Time in each open stage, in days: Kaplan-Meier median, P75 and P90 over the spells entering the stage in [from_time, to_time) (NULL: unbounded), censored at as_of (NULL: now()) while running; per stage, stage and owner, stage and team (column breakdown).';

-- Stage-to-stage conversion: what became of the spells entering each open stage in [from_time,
-- to_time): advanced (next stage won, or a later non-lost stage), lost, moved back, still open at
-- as_of; conversion_rate = advanced / (advanced + lost + moved_back). Grouped as stage_durations.
CREATE FUNCTION @extschema@.stage_conversion(from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL,
                                             as_of timestamptz DEFAULT NULL)
RETURNS TABLE (breakdown text, stage_id integer, stage_name text, owner_id bigint, team text,
               entered bigint, advanced bigint, lost bigint, moved_back bigint, still_open bigint,
               conversion_rate double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
WITH p AS (SELECT coalesce(stage_conversion.as_of, pg_catalog.now()) AS as_of),
spells AS (
    SELECT s.stage_id, s.stage_name, s.position, s.owner_id, s.team,
           CASE WHEN s.left_at IS NULL OR s.left_at > p.as_of THEN 'open'
                WHEN s.next_is_lost THEN 'lost'
                WHEN s.next_is_won OR s.next_position > s.position THEN 'advanced'
                ELSE 'back' END AS outcome
    FROM @extschema@.stage_spells s, p
    WHERE NOT s.is_won AND NOT s.is_lost AND s.entered_at <= p.as_of
      AND (stage_conversion.from_time IS NULL OR s.entered_at >= stage_conversion.from_time)
      AND (stage_conversion.to_time IS NULL OR s.entered_at < stage_conversion.to_time)
), counts AS (
    SELECT CASE WHEN GROUPING(owner_id) = 0 THEN 'owner' WHEN GROUPING(team) = 0 THEN 'team' ELSE 'stage' END AS breakdown,
           stage_id, stage_name, position, owner_id, team, pg_catalog.count(*) AS entered,
           pg_catalog.count(*) FILTER (WHERE outcome = 'advanced') AS advanced,
           pg_catalog.count(*) FILTER (WHERE outcome = 'lost') AS lost,
           pg_catalog.count(*) FILTER (WHERE outcome = 'back') AS moved_back,
           pg_catalog.count(*) FILTER (WHERE outcome = 'open') AS still_open
    FROM spells
    GROUP BY GROUPING SETS ((stage_id, stage_name, position), (stage_id, stage_name, position, owner_id),
                            (stage_id, stage_name, position, team))
)
SELECT breakdown, stage_id, stage_name, owner_id, team, entered, advanced, lost, moved_back, still_open,
       advanced::double precision / NULLIF(advanced + lost + moved_back, 0)
FROM counts
ORDER BY position, breakdown DESC, owner_id, team;
END
$$;
COMMENT ON FUNCTION @extschema@.stage_conversion(timestamptz, timestamptz, timestamptz) IS
    'What became of the spells entering each open stage in [from_time, to_time) by as_of (NULL: now()): advanced (won or a later stage), lost, moved back, still open; conversion_rate = advanced / (advanced + lost + moved_back); per stage, owner, team.';

-- Win rates and cycle length of the deals closed in [from_time, to_time), per currency overall
-- ('all'), per owner and per team.
CREATE FUNCTION @extschema@.win_rates(from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL)
RETURNS TABLE (breakdown text, owner_id bigint, team text, currency char(3), won bigint, lost bigint,
               win_rate double precision, won_amount numeric, avg_won_amount numeric,
               avg_cycle_days double precision, median_cycle_days double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
SELECT CASE WHEN GROUPING(d.owner_id) = 0 THEN 'owner' WHEN GROUPING(d.team) = 0 THEN 'team' ELSE 'all' END,
       d.owner_id, d.team, d.currency,
       pg_catalog.count(*) FILTER (WHERE d.is_won), pg_catalog.count(*) FILTER (WHERE d.is_lost),
       (pg_catalog.count(*) FILTER (WHERE d.is_won))::double precision / pg_catalog.count(*),
       coalesce(pg_catalog.sum(d.amount) FILTER (WHERE d.is_won), 0),
       pg_catalog.avg(d.amount) FILTER (WHERE d.is_won),
       pg_catalog.avg(d.cycle_days) FILTER (WHERE d.is_won),
       pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY d.cycle_days) FILTER (WHERE d.is_won)
FROM @extschema@.deal_cycles d
WHERE d.closed_at IS NOT NULL
  AND (win_rates.from_time IS NULL OR d.closed_at >= win_rates.from_time)
  AND (win_rates.to_time IS NULL OR d.closed_at < win_rates.to_time)
GROUP BY GROUPING SETS ((d.currency), (d.currency, d.owner_id), (d.currency, d.team))
ORDER BY 1, d.owner_id, d.team, d.currency;
END
$$;
COMMENT ON FUNCTION @extschema@.win_rates(timestamptz, timestamptz) IS
    'Deals closed in [from_time, to_time) (NULL: unbounded), per currency overall, per owner, per team: won, lost, win_rate = won / (won + lost), won amount and its average, average and median cycle of the won deals in days.';

-- Sales velocity: open deals at as_of x win rate x average won amount / average cycle of won
-- deals (the last three over the deals closed in [from_time, to_time)), per day, per currency.
CREATE FUNCTION @extschema@.sales_velocity(from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL,
                                           as_of timestamptz DEFAULT NULL)
RETURNS TABLE (breakdown text, owner_id bigint, team text, currency char(3), open_deals bigint,
               win_rate double precision, avg_won_amount numeric, avg_cycle_days double precision,
               velocity_per_day double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
WITH p AS (SELECT coalesce(sales_velocity.as_of, pg_catalog.now()) AS as_of),
deals AS (
    SELECT d.*, d.started_at <= p.as_of AND (d.closed_at IS NULL OR d.closed_at > p.as_of) AS open_at,
           d.closed_at IS NOT NULL
             AND (sales_velocity.from_time IS NULL OR d.closed_at >= sales_velocity.from_time)
             AND (sales_velocity.to_time IS NULL OR d.closed_at < sales_velocity.to_time) AS closed_in
    FROM @extschema@.deal_cycles d, p
), g AS (
    SELECT CASE WHEN GROUPING(owner_id) = 0 THEN 'owner' WHEN GROUPING(team) = 0 THEN 'team' ELSE 'all' END AS breakdown,
           owner_id, team, currency,
           pg_catalog.count(*) FILTER (WHERE open_at) AS open_deals,
           (pg_catalog.count(*) FILTER (WHERE closed_in AND is_won))::double precision
               / NULLIF(pg_catalog.count(*) FILTER (WHERE closed_in), 0) AS win_rate,
           pg_catalog.avg(amount) FILTER (WHERE closed_in AND is_won) AS avg_won_amount,
           pg_catalog.avg(cycle_days) FILTER (WHERE closed_in AND is_won) AS avg_cycle_days
    FROM deals
    WHERE open_at OR closed_in
    GROUP BY GROUPING SETS ((currency), (currency, owner_id), (currency, team))
)
SELECT breakdown, owner_id, team, currency, open_deals, win_rate, avg_won_amount, avg_cycle_days,
       open_deals * win_rate * avg_won_amount::double precision / NULLIF(avg_cycle_days, 0)
FROM g
ORDER BY 1, owner_id, team, currency;
END
$$;
COMMENT ON FUNCTION @extschema@.sales_velocity(timestamptz, timestamptz, timestamptz) IS
    'Sales velocity per day = open deals at as_of (NULL: now()) x win rate x average won amount / average won cycle in days (the last three over the deals closed in [from_time, to_time)); per currency overall, per owner, per team; NULL where a factor is undefined.';

-- Slipped deals: a deal slips each time its expected close date passes while it is open (the
-- date was still its expected close at the end of that day, and the deal still open then);
-- pushes counts the changes to a later date while open. Deals with a slip or a push by as_of.
CREATE FUNCTION @extschema@.slipped_deals(as_of timestamptz DEFAULT NULL)
RETURNS TABLE (opportunity_id bigint, name text, owner_id bigint, team text, stage_id integer, is_open boolean,
               expected_close date, slips bigint, pushes bigint, days_overdue integer)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
WITH p AS (SELECT coalesce(slipped_deals.as_of, pg_catalog.now()) AS as_of),
changes AS (
    SELECT h.opportunity_id, h.from_expected_close, h.to_expected_close, h.changed_at, h.history_id
    FROM @extschema@.opportunity_expected_close_history h, p WHERE h.changed_at <= p.as_of
), deals AS (
    SELECT d.opportunity_id, o.name, d.owner_id, d.team, d.stage_id, d.started_at,
           CASE WHEN d.closed_at IS NOT NULL AND d.closed_at <= p.as_of THEN d.closed_at ELSE p.as_of END AS open_until,
           d.closed_at IS NULL OR d.closed_at > p.as_of AS is_open,
           coalesce((SELECT c.from_expected_close FROM @extschema@.opportunity_expected_close_history c
                     WHERE c.opportunity_id = d.opportunity_id ORDER BY c.changed_at, c.history_id LIMIT 1),
                    o.expected_close) AS first_close
    FROM @extschema@.deal_cycles d JOIN @extschema@.opportunities o USING (opportunity_id), p
    WHERE d.started_at <= p.as_of
), dates AS (
    -- each expected close date a deal had, from when to when
    SELECT v.opportunity_id, v.close_date, v.valid_from,
           pg_catalog.lead(v.valid_from) OVER w AS valid_to
    FROM (SELECT d.opportunity_id, d.first_close AS close_date, d.started_at AS valid_from, 0::bigint AS seq FROM deals d
          UNION ALL
          SELECT c.opportunity_id, c.to_expected_close, c.changed_at, c.history_id FROM changes c
          JOIN deals d USING (opportunity_id)) v
    WINDOW w AS (PARTITION BY v.opportunity_id ORDER BY v.valid_from, v.seq)
), per_deal AS (
    SELECT d.opportunity_id,
           pg_catalog.count(*) FILTER (
               WHERE x.close_date IS NOT NULL
                 AND (x.close_date + 1)::timestamptz >= x.valid_from
                 AND (x.close_date + 1)::timestamptz < d.open_until
                 AND (x.valid_to IS NULL OR (x.close_date + 1)::timestamptz < x.valid_to)) AS slips,
           (SELECT pg_catalog.count(*) FROM changes c
            WHERE c.opportunity_id = d.opportunity_id AND c.changed_at < d.open_until
              AND c.to_expected_close > c.from_expected_close) AS pushes,
           (SELECT x2.close_date FROM dates x2 WHERE x2.opportunity_id = d.opportunity_id AND x2.valid_to IS NULL) AS current_close
    FROM deals d JOIN dates x USING (opportunity_id)
    GROUP BY d.opportunity_id, d.open_until
)
SELECT d.opportunity_id, d.name, d.owner_id, d.team, d.stage_id, d.is_open, pd.current_close, pd.slips, pd.pushes,
       CASE WHEN d.is_open AND pd.current_close < (p.as_of)::date THEN (p.as_of)::date - pd.current_close END
FROM deals d JOIN per_deal pd USING (opportunity_id), p
WHERE pd.slips > 0 OR pd.pushes > 0
ORDER BY pd.slips DESC, pd.pushes DESC, d.opportunity_id;
END
$$;
COMMENT ON FUNCTION @extschema@.slipped_deals(timestamptz) IS
    'Deals whose expected close date passed while they were open (slips: how many of their dates did) or was pushed later while open (pushes), by as_of (NULL: now()); expected_close is the date in force at as_of, days_overdue how far it is behind as_of for an open deal.';

-- Aging deals: open at as_of and longer in their stage than that stage's P90 (crm.stage_durations
-- over every spell the caller sees, by as_of); a stage without a P90 has no aging deals.
CREATE FUNCTION @extschema@.aging_deals(as_of timestamptz DEFAULT NULL)
RETURNS TABLE (opportunity_id bigint, owner_id bigint, team text, stage_id integer, stage_name text,
               entered_at timestamptz, days_in_stage double precision, stage_p90_days double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
WITH p AS (SELECT coalesce(aging_deals.as_of, pg_catalog.now()) AS as_of)
SELECT s.opportunity_id, s.owner_id, s.team, s.stage_id, s.stage_name, s.entered_at,
       extract(epoch FROM p.as_of - s.entered_at)::double precision / 86400, q.p90_days
FROM @extschema@.stage_spells s
CROSS JOIN p
JOIN @extschema@.stage_durations(NULL, NULL, (SELECT as_of FROM p)) q ON q.breakdown = 'stage' AND q.stage_id = s.stage_id
WHERE NOT s.is_won AND NOT s.is_lost AND s.entered_at <= p.as_of AND (s.left_at IS NULL OR s.left_at > p.as_of)
  AND extract(epoch FROM p.as_of - s.entered_at)::double precision / 86400 > q.p90_days
ORDER BY 7 DESC, s.opportunity_id;
END
$$;
COMMENT ON FUNCTION @extschema@.aging_deals(timestamptz) IS
    'Deals open at as_of (NULL: now()) that have been in their stage longer than the stage''s Kaplan-Meier P90 (crm.stage_durations over every spell the caller sees, by as_of).';

-- Privileges: the pipeline's readers (not support, which sees no deals).
REVOKE EXECUTE ON FUNCTION @extschema@.stage_durations(timestamptz, timestamptz, timestamptz),
    @extschema@.stage_conversion(timestamptz, timestamptz, timestamptz),
    @extschema@.win_rates(timestamptz, timestamptz),
    @extschema@.sales_velocity(timestamptz, timestamptz, timestamptz),
    @extschema@.slipped_deals(timestamptz), @extschema@.aging_deals(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.stage_durations(timestamptz, timestamptz, timestamptz),
    @extschema@.stage_conversion(timestamptz, timestamptz, timestamptz),
    @extschema@.win_rates(timestamptz, timestamptz),
    @extschema@.sales_velocity(timestamptz, timestamptz, timestamptz),
    @extschema@.slipped_deals(timestamptz), @extschema@.aging_deals(timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_analyst;
GRANT SELECT ON @extschema@.stage_spells, @extschema@.deal_cycles TO crm_admin, crm_manager, crm_sales, crm_analyst;
