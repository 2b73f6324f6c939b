-- src/churn.sql: churn risk that ranks the right customers (docs/churn.md). Per customer: the
-- probability the customer has lapsed, from BG/NBD's P(alive) when a CLV model is stored, else
-- from the customer's own purchase rate shrunk toward the population's; the value at risk (the
-- purchases an active customer would make over a horizon, times the spend per purchase, times
-- P(lapsed)); and the reason in words.

-- The fallback model. While active, a customer's purchase days are a Poisson process of rate
-- lambda per day (exponential gaps); lambda ~ Gamma(shape prior_strength, rate prior_strength *
-- prior_mean_gap): prior_strength pseudo-gaps of the population's mean gap. After x gaps spanning
-- t_x days the posterior is Gamma(k, beta), k = prior_strength + x, beta = prior_strength *
-- prior_mean_gap + t_x, and the chance that an active customer makes no purchase in the s days of
-- silence since is E[exp(-lambda s)] = (beta / (beta + s))^k (the Lomax survival function).
-- P(lapsed) = 1 - that: the silence counts as lapse as far as an active customer would not have
-- kept it. One 1-day gap weighs one gap against prior_strength gaps of the population's mean.
CREATE FUNCTION @extschema@.churn_p_lapsed(x integer, t_x double precision, silence double precision,
                                           prior_mean_gap double precision, prior_strength double precision DEFAULT 2)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    k double precision;
    beta double precision;
BEGIN
    IF x < 0 OR NOT (t_x >= 0 AND t_x < 'Infinity') OR NOT (silence >= 0 AND silence < 'Infinity')
       OR NOT (prior_mean_gap > 0 AND prior_mean_gap < 'Infinity') OR NOT (prior_strength > 0 AND prior_strength < 'Infinity') THEN
        RAISE EXCEPTION 'invalid arguments of crm.churn_p_lapsed'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('x %s, t_x %s, silence %s, prior_mean_gap %s, prior_strength %s: x, t_x and silence must be finite and not negative, the prior''s mean gap and strength finite and positive.',
                                             x, t_x, silence, prior_mean_gap, prior_strength);
    END IF;
    IF x = 0 AND t_x <> 0 THEN
        RAISE EXCEPTION 't_x must be 0 without repeat purchases'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = pg_catalog.format('x 0, t_x %s.', t_x);
    END IF;
    k := prior_strength + x;
    beta := prior_strength * prior_mean_gap + t_x;
    RETURN 1 - pg_catalog.exp(k * (pg_catalog.ln(beta) - pg_catalog.ln(beta + silence)));
END
$$;
COMMENT ON FUNCTION @extschema@.churn_p_lapsed(integer, double precision, double precision, double precision, double precision) IS
    'P(lapsed) = 1 - (beta / (beta + silence))^k, k = prior_strength + x, beta = prior_strength * prior_mean_gap + t_x: the chance that a customer still buying at their own rate (exponential gaps, rate ~ Gamma shrunk toward the population''s mean gap) would have bought again within the silence. Times in days; invalid values raise 22023.';

-- One customer's assessment from their summary in days (x repeat purchase days, t_x first to last,
-- big_t first purchase to as_of): with a BG/NBD model (time unit time_unit_days) and a repeat
-- purchase, P(lapsed) = 1 - P(alive) and the purchases over the horizon if active are
-- E[Y(h) | x, t_x, T] / P(alive); otherwise crm.churn_p_lapsed and the posterior mean rate
-- (prior_strength + x) / (prior_strength * prior_mean_gap + t_x) times the horizon. One purchase
-- day only: too_little_history, judged by the prior alone (BG/NBD's P(alive) is 1 for every
-- one-off buyer by construction: dropout happens only after a repeat purchase). Shared by
-- crm.churn_risk and the churn columns of crm.customer_360.
CREATE FUNCTION @extschema@.churn_assess(bgnbd @extschema@.bgnbd_model, time_unit_days double precision,
                                         x integer, t_x double precision, big_t double precision,
                                         prior_mean_gap double precision, prior_strength double precision,
                                         horizon_days double precision,
                                         OUT p_lapsed double precision, OUT method text,
                                         OUT expected_purchases_if_active double precision)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    p_alive double precision;
BEGIN
    IF x IS NULL OR t_x IS NULL OR big_t IS NULL OR prior_strength IS NULL OR horizon_days IS NULL THEN
        RETURN;
    END IF;
    IF x = 0 THEN
        method := 'too_little_history';
        IF NOT (bgnbd IS NULL) AND time_unit_days > 0 AND (bgnbd).r > 0 AND (bgnbd).alpha > 0 THEN
            -- the model's population: rate ~ Gamma(r, alpha) per time unit; no own gap to update it
            p_lapsed := 1 - pg_catalog.exp((bgnbd).r * (pg_catalog.ln((bgnbd).alpha) - pg_catalog.ln((bgnbd).alpha + big_t / time_unit_days)));
            expected_purchases_if_active := (bgnbd).r / (bgnbd).alpha * horizon_days / time_unit_days;
            RETURN;
        END IF;
    ELSIF NOT (bgnbd IS NULL) AND time_unit_days > 0 THEN  -- (IS NOT NULL would need every field set)
        method := 'bgnbd';
        p_alive := @extschema@.bgnbd_p_alive(bgnbd, x, t_x / time_unit_days, big_t / time_unit_days);
        p_lapsed := 1 - p_alive;
        expected_purchases_if_active := @extschema@.bgnbd_expected_purchases(bgnbd, horizon_days / time_unit_days, x,
                                            t_x / time_unit_days, big_t / time_unit_days) / NULLIF(p_alive, 0);
        RETURN;
    ELSE
        method := 'own_rate';
    END IF;
    IF prior_mean_gap > 0 THEN
        p_lapsed := @extschema@.churn_p_lapsed(x, t_x, big_t - t_x, prior_mean_gap, prior_strength);
        expected_purchases_if_active := (prior_strength + x) / (prior_strength * prior_mean_gap + t_x) * horizon_days;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.churn_assess(@extschema@.bgnbd_model, double precision, integer, double precision, double precision, double precision, double precision, double precision) IS
    'One customer''s P(lapsed), method (bgnbd, own_rate, too_little_history) and purchases expected over horizon_days if still active, from their summary in days and the BG/NBD model (NULL: none) or the population''s mean gap between purchase days. NULL summary: NULLs; no population gap: P(lapsed) NULL outside bgnbd.';

-- The ranking. One row per customer with a purchase within active_window before as_of.
CREATE FUNCTION @extschema@.churn_risk(as_of timestamptz DEFAULT now(), active_window interval DEFAULT '365 days',
                                       horizon interval DEFAULT '365 days', prior_strength double precision DEFAULT 2,
                                       rank_by text DEFAULT 'p_lapsed')
RETURNS TABLE (rank bigint, contact_id bigint, last_order_at timestamptz, days_silent integer, purchase_days integer,
               p_lapsed double precision, method text, expected_purchases_if_active double precision,
               spend_per_purchase double precision, value_at_risk double precision, reason text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    model @extschema@.clv_models;
    population_gap double precision;
    horizon_days double precision;
BEGIN
    IF as_of IS NULL OR active_window IS NULL OR horizon IS NULL OR prior_strength IS NULL OR rank_by IS NULL THEN
        RAISE EXCEPTION 'arguments of crm.churn_risk must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF active_window <= interval '0' OR horizon <= interval '0' THEN
        RAISE EXCEPTION 'active_window and horizon must be positive'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The window given was %s, the horizon %s.', active_window, horizon);
    END IF;
    IF NOT (prior_strength > 0 AND prior_strength < 'Infinity') THEN
        RAISE EXCEPTION 'prior_strength must be a positive, finite number'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = pg_catalog.format('The strength given was %s.', prior_strength);
    END IF;
    IF rank_by NOT IN ('p_lapsed', 'value_at_risk') THEN
        RAISE EXCEPTION 'unknown rank_by "%"', rank_by
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''p_lapsed'' or ''value_at_risk''.';
    END IF;
    horizon_days := extract(epoch FROM horizon)::double precision / 86400;

    -- the latest stored model fitted on data up to as_of (none: every customer by the fallback)
    SELECT * INTO model FROM @extschema@.clv_models m
    WHERE m.as_of <= churn_risk.as_of
    ORDER BY m.fitted_at DESC, m.model_id DESC LIMIT 1;

    RETURN QUERY
    WITH summaries AS (
        SELECT s.contact_id, s.x, s.t_x, s.big_t
        FROM @extschema@.customer_summaries(churn_risk.as_of, 1) s
    ), spend AS (
        SELECT p.contact_id, max(p.ordered_at) AS last_at,
               sum(p.total)::double precision / count(DISTINCT p.ordered_at::date) AS per_day
        FROM @extschema@.purchases p
        WHERE p.ordered_at <= churn_risk.as_of
        GROUP BY p.contact_id
    ), prior AS (
        -- the population's mean gap between purchase days, pooled over every repeat buyer
        SELECT sum(s.t_x) / NULLIF(sum(s.x), 0) AS gap FROM summaries s
    ), scored AS (
        SELECT s.contact_id, sp.last_at, (s.big_t - s.t_x)::integer AS silent, s.x + 1 AS days,
               a.method AS how, pr.gap, a.p_lapsed AS p, a.expected,
               (prior_strength + s.x) / (prior_strength * pr.gap + s.t_x) AS own_rate,
               sp.per_day, s.x, s.t_x
        FROM summaries s
        JOIN spend sp USING (contact_id)
        CROSS JOIN prior pr
        CROSS JOIN LATERAL @extschema@.churn_assess(model.bgnbd, model.time_unit_days, s.x, s.t_x, s.big_t,
                                                   pr.gap, prior_strength, horizon_days) AS a(p_lapsed, method, expected)
        WHERE sp.last_at > churn_risk.as_of - active_window
    ), ranked AS (
        SELECT sc.*, sc.p * sc.expected * sc.per_day AS var
        FROM scored sc
    )
    SELECT row_number() OVER (ORDER BY
               CASE WHEN rank_by = 'p_lapsed' THEN r.p ELSE r.var END DESC NULLS LAST,
               CASE WHEN rank_by = 'p_lapsed' THEN r.var ELSE r.p END DESC NULLS LAST,
               r.contact_id),
           r.contact_id, r.last_at, r.silent, r.days, r.p, r.how, r.expected, r.per_day, r.var,
           CASE r.how
               WHEN 'bgnbd' THEN pg_catalog.format(
                   '%s days silent after %s purchase days; the stored BG/NBD model gives P(alive) %s',
                   r.silent, r.days, round((1 - r.p)::numeric, 3))
               WHEN 'own_rate' THEN pg_catalog.format(
                   '%s days silent; usual rate one purchase every %s days (%s own gap%s over %s days, shrunk toward the population''s %s days): an active customer would have bought again with probability %s',
                   r.silent, round((1 / r.own_rate)::numeric, 1), r.x, CASE WHEN r.x = 1 THEN '' ELSE 's' END, round(r.t_x::numeric), round(r.gap::numeric, 1),
                   round(r.p::numeric, 3))
               ELSE CASE WHEN r.p IS NOT NULL AND model.model_id IS NOT NULL THEN pg_catalog.format(
                   'one purchase day only, %s days ago; judged by the stored BG/NBD model''s population (one purchase every %s days on average): P(lapsed) %s',
                   r.silent, round(((model.bgnbd).alpha / (model.bgnbd).r * model.time_unit_days)::numeric, 1), round(r.p::numeric, 3))
                   WHEN r.gap > 0 THEN pg_catalog.format(
                   'one purchase day only, %s days ago; judged by the population''s rate (one purchase every %s days): P(lapsed) %s',
                   r.silent, round(r.gap::numeric, 1), round(r.p::numeric, 3))
                   ELSE pg_catalog.format('one purchase day only, %s days ago; no repeat purchase anywhere to learn a rate from', r.silent) END
           END
    FROM ranked r
    ORDER BY 1;
END
$$;
COMMENT ON FUNCTION @extschema@.churn_risk(timestamptz, interval, interval, double precision, text) IS
    'Customers with a purchase within active_window before as_of, ranked by P(lapsed) (rank_by ''p_lapsed'') or by value at risk (''value_at_risk''): P(lapsed) is 1 - BG/NBD P(alive) from the latest model in crm.clv_models fitted up to as_of (method bgnbd), else crm.churn_p_lapsed from the customer''s own rate shrunk toward the population''s (own_rate); one purchase day only: the population''s rate alone, the model''s Gamma(r, alpha) when there is one (too_little_history). Value at risk = P(lapsed) x purchases expected over horizon if active x spend per purchase day. With the reason in words.';

REVOKE EXECUTE ON FUNCTION @extschema@.churn_risk(timestamptz, interval, interval, double precision, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.churn_risk(timestamptz, interval, interval, double precision, text) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
