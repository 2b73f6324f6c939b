-- src/retention.sql: the retention rate, active customers by orders or subscriptions, logo and
-- revenue churn, cohorts, repeat purchases, usual gaps between purchases and at-risk customers.
-- Survival curves (time to churn) are in src/survival.sql.
--
-- Purchases are orders paid or shipped: the rows of crm.purchases. Periods and cohorts are
-- cut in the session's time zone (date_trunc on timestamptz).

-- ((E - N) / S) x 100: the share of the customers at the start of a period still there at its end.
CREATE FUNCTION @extschema@.retention_rate(customers_at_start bigint, customers_at_end bigint, new_customers bigint)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF customers_at_start < 0 OR customers_at_end < 0 OR new_customers < 0 THEN
        RAISE EXCEPTION 'customer counts must not be negative'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('Start %s, end %s, new %s.', customers_at_start, customers_at_end, new_customers);
    END IF;
    IF new_customers > customers_at_end THEN
        RAISE EXCEPTION 'new customers exceed the customers at the end'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('%s new customers, but only %s at the end.', new_customers, customers_at_end);
    END IF;
    IF customers_at_end - new_customers > customers_at_start THEN
        RAISE EXCEPTION 'more customers retained than there were at the start'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('%s at the end less %s new is %s retained, but only %s were there at the start.',
                                             customers_at_end, new_customers, customers_at_end - new_customers, customers_at_start);
    END IF;
    IF customers_at_start = 0 THEN
        RETURN NULL;
    END IF;
    RETURN 100.0 * (customers_at_end - new_customers) / customers_at_start;
END
$$;
COMMENT ON FUNCTION @extschema@.retention_rate(bigint, bigint, bigint) IS
    'Customer retention rate ((E - N) / S) x 100. NULL when S = 0; negative counts, N > E or E - N > S raise 22023.';

-- ---------------------------------------------------------------------------------------------
-- Subscriptions, for businesses where "active" means "paying now".
CREATE TABLE @extschema@.subscriptions (
    subscription_id  bigserial PRIMARY KEY,
    contact_id       bigint NOT NULL CONSTRAINT subscriptions_contact_fkey REFERENCES @extschema@.contacts,
    plan             text NOT NULL CONSTRAINT subscriptions_plan_not_blank CHECK (btrim(plan) <> ''),
    mrr              numeric(14, 2) NOT NULL CONSTRAINT subscriptions_mrr_nonnegative CHECK (mrr >= 0),
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz,
    cancel_reason    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_ends_after_start CHECK (ended_at >= started_at),
    CONSTRAINT subscriptions_reason_only_when_ended CHECK (cancel_reason IS NULL OR ended_at IS NOT NULL)
);
CREATE INDEX subscriptions_contact_id_idx ON @extschema@.subscriptions (contact_id, started_at);
CREATE TRIGGER subscriptions_touch_updated_at BEFORE UPDATE ON @extschema@.subscriptions
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();
COMMENT ON TABLE @extschema@.subscriptions IS
    'Recurring plans: monthly recurring revenue (mrr) from started_at until ended_at (NULL while it runs). An upgrade or downgrade ends one row and starts another.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.subscriptions_subscription_id_seq', '');
GRANT ALL ON @extschema@.subscriptions TO crm_admin;
GRANT SELECT ON @extschema@.subscriptions TO crm_analyst, crm_manager, crm_sales, crm_support;
GRANT INSERT, UPDATE, DELETE ON @extschema@.subscriptions TO crm_manager;
GRANT USAGE ON SEQUENCE @extschema@.subscriptions_subscription_id_seq TO crm_admin, crm_manager;
-- A customer's subscriptions are seen (and, by managers, written) by whoever sees the customer.
ALTER TABLE @extschema@.subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.subscriptions TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.subscriptions FOR SELECT TO crm_analyst USING (true);
CREATE POLICY of_visible_contacts ON @extschema@.subscriptions TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = subscriptions.contact_id))
    WITH CHECK (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = subscriptions.contact_id));

-- The customers active at an instant, with their monthly recurring revenue then (0 for 'orders').
--   basis 'orders':        a purchase within active_window before the instant (inclusive)
--   basis 'subscriptions': a subscription running at the instant
CREATE FUNCTION @extschema@.active_customers(at_instant timestamptz, basis text DEFAULT 'orders',
                                             active_window interval DEFAULT '365 days')
RETURNS TABLE (contact_id bigint, mrr numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF at_instant IS NULL OR basis IS NULL OR active_window IS NULL THEN
        RAISE EXCEPTION 'arguments of crm.active_customers must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF active_window <= interval '0' THEN
        RAISE EXCEPTION 'active_window must be positive'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = pg_catalog.format('The window given was %s.', active_window);
    END IF;
    IF basis = 'orders' THEN
        RETURN QUERY
            SELECT DISTINCT o.contact_id, 0::numeric
            FROM @extschema@.purchases o
            WHERE o.ordered_at > at_instant - active_window AND o.ordered_at <= at_instant;
    ELSIF basis = 'subscriptions' THEN
        RETURN QUERY
            SELECT s.contact_id, pg_catalog.sum(s.mrr)
            FROM @extschema@.subscriptions s
            WHERE s.started_at <= at_instant AND (s.ended_at IS NULL OR s.ended_at > at_instant)
            GROUP BY s.contact_id;
    ELSE
        RAISE EXCEPTION 'unknown basis "%"', basis
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''orders'' or ''subscriptions''.';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.active_customers(timestamptz, text, interval) IS
    'Customers active at an instant: basis ''orders'' = a purchase within active_window up to the instant (default 365 days); ''subscriptions'' = a subscription running then (with its MRR).';

-- S, E, N and the retention rate over a period. N counts the customers active at the end who
-- were not at the start: new ones and won-back ones alike, so that E - N are exactly those
-- retained and the rate stays within 0-100.
CREATE FUNCTION @extschema@.retention(period_start timestamptz, period_end timestamptz,
                                      basis text DEFAULT 'orders', active_window interval DEFAULT '365 days',
                                      OUT customers_at_start bigint, OUT customers_at_end bigint,
                                      OUT new_customers bigint, OUT retention_rate double precision)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF period_end < period_start THEN
        RAISE EXCEPTION 'period_end must not be before period_start'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The period given was %s to %s.', period_start, period_end);
    END IF;
    SELECT count(*) FILTER (WHERE s.contact_id IS NOT NULL),
           count(*) FILTER (WHERE e.contact_id IS NOT NULL),
           count(*) FILTER (WHERE e.contact_id IS NOT NULL AND s.contact_id IS NULL)
      INTO customers_at_start, customers_at_end, new_customers
      FROM @extschema@.active_customers(period_start, basis, active_window) s
      FULL JOIN @extschema@.active_customers(period_end, basis, active_window) e USING (contact_id);
    retention_rate := @extschema@.retention_rate(customers_at_start, customers_at_end, new_customers);
END
$$;
COMMENT ON FUNCTION @extschema@.retention(timestamptz, timestamptz, text, interval) IS
    'Customers active at the start (S) and end (E) of a period, those active at the end but not the start (N: new or won back), and the retention rate ((E - N) / S) x 100.';

-- Logo churn, revenue churn and net revenue retention per calendar month, from subscriptions.
CREATE FUNCTION @extschema@.subscription_metrics(from_month date, to_month date)
RETURNS TABLE (month date, customers_at_start bigint, churned_customers bigint, logo_churn_pct double precision,
               mrr_at_start numeric, churned_mrr numeric, contraction_mrr numeric, expansion_mrr numeric,
               mrr_churn_pct double precision, net_revenue_retention_pct double precision, new_mrr numeric)
LANGUAGE sql STABLE AS $$
    SELECT m.month::date,
           count(c.start_mrr),
           count(c.start_mrr) FILTER (WHERE c.end_mrr IS NULL),
           100.0 * count(c.start_mrr) FILTER (WHERE c.end_mrr IS NULL) / NULLIF(count(c.start_mrr), 0),
           coalesce(sum(c.start_mrr), 0),
           coalesce(sum(c.start_mrr) FILTER (WHERE c.end_mrr IS NULL), 0),
           coalesce(sum(c.start_mrr - c.end_mrr) FILTER (WHERE c.end_mrr < c.start_mrr), 0),
           coalesce(sum(c.end_mrr - c.start_mrr) FILTER (WHERE c.end_mrr > c.start_mrr), 0),
           100.0 * (coalesce(sum(c.start_mrr) FILTER (WHERE c.end_mrr IS NULL), 0)
                    + coalesce(sum(c.start_mrr - c.end_mrr) FILTER (WHERE c.end_mrr < c.start_mrr), 0))
                 / NULLIF(sum(c.start_mrr), 0),
           100.0 * sum(coalesce(c.end_mrr, 0)) FILTER (WHERE c.start_mrr IS NOT NULL) / NULLIF(sum(c.start_mrr), 0),
           coalesce(sum(c.end_mrr) FILTER (WHERE c.start_mrr IS NULL), 0)
    FROM pg_catalog.generate_series(date_trunc('month', from_month::timestamp),
                                    date_trunc('month', to_month::timestamp), interval '1 month') AS m(month)
    -- each customer paying at the start or the end of the month, with the MRR at both instants
    LEFT JOIN LATERAL (
        SELECT s.mrr AS start_mrr, e.mrr AS end_mrr
        FROM @extschema@.active_customers(m.month::timestamptz, 'subscriptions') s
        FULL JOIN @extschema@.active_customers((m.month + interval '1 month')::timestamptz, 'subscriptions') e
          USING (contact_id)) c ON true
    GROUP BY m.month
    ORDER BY m.month
$$;
COMMENT ON FUNCTION @extschema@.subscription_metrics(date, date) IS
    'Per calendar month from subscriptions: customers paying at the start, those who stopped (logo churn %), MRR at the start, MRR lost to churn and to contraction, expansion, gross MRR churn %, net revenue retention % (MRR at the end of the customers of the start / MRR at the start), and new MRR.';

-- ---------------------------------------------------------------------------------------------
-- Cohorts: customers by the period of their first purchase, and how many buy in each later
-- period. Periods are numbered with integers (months: year * 12 + month - 1 of the purchase's
-- local date; weeks: weeks since Monday 2000-01-03), so that cohorts and offsets are integer
-- arithmetic after one time zone conversion per order, in a static query the planner sees whole:
-- measured faster than comparing truncated timestamps (test/bench/retention.sh).
CREATE FUNCTION @extschema@.cohort_retention(period text DEFAULT 'month', as_of timestamptz DEFAULT now())
RETURNS TABLE (cohort date, cohort_size bigint, period_number integer, customers bigint, share double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    last_period integer;
BEGIN
    IF period IS NULL OR period NOT IN ('month', 'week') THEN
        RAISE EXCEPTION 'unknown cohort period "%"', period
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''month'' or ''week''.';
    END IF;
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    last_period := CASE period
        WHEN 'month' THEN (date_part('year', as_of::date) * 12 + date_part('month', as_of::date) - 1)::integer
        ELSE (as_of::date - DATE '2000-01-03') / 7 END;
    RETURN QUERY
    WITH purchase_periods AS (
        SELECT o.contact_id,
               CASE period
                   WHEN 'month' THEN (date_part('year', o.day) * 12 + date_part('month', o.day) - 1)::integer
                   ELSE (o.day - DATE '2000-01-03') / 7 END AS p
        FROM (SELECT purchases.contact_id, purchases.ordered_at::date AS day
              FROM @extschema@.purchases
              WHERE purchases.ordered_at <= as_of) o
    ), first_periods AS (
        SELECT pp.contact_id, min(pp.p) AS first_p FROM purchase_periods pp GROUP BY pp.contact_id
    ), cells AS (
        SELECT f.first_p, pp.p - f.first_p AS n, count(DISTINCT pp.contact_id) AS buyers
        FROM purchase_periods pp JOIN first_periods f USING (contact_id)
        GROUP BY 1, 2
    )
    SELECT CASE period WHEN 'month' THEN make_date(s.first_p / 12, s.first_p % 12 + 1, 1)
                       ELSE DATE '2000-01-03' + 7 * s.first_p END,
           s.buyers, g.n, coalesce(c.buyers, 0), coalesce(c.buyers, 0)::double precision / s.buyers
    FROM cells s
    CROSS JOIN LATERAL pg_catalog.generate_series(0, last_period - s.first_p) AS g(n)
    LEFT JOIN cells c ON c.first_p = s.first_p AND c.n = g.n
    WHERE s.n = 0
    ORDER BY 1, 3;
END
$$;
COMMENT ON FUNCTION @extschema@.cohort_retention(text, timestamptz) IS
    'The retention triangle: per cohort (the month or week of the first purchase) its size, and for each later period up to as_of the customers who bought then and their share of the cohort (period 0 is the cohort itself, share 1).';

-- Share of customers (at least one purchase up to as_of) who bought at least twice, in percent.
CREATE FUNCTION @extschema@.repeat_purchase_rate(as_of timestamptz DEFAULT now()) RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- distributed tables (docs/citus.md).
    RETURN (SELECT 100.0 * count(*) FILTER (WHERE purchases >= 2) / NULLIF(count(*), 0)
            FROM (SELECT p.contact_id, count(*) AS purchases
                  FROM @extschema@.purchases p
                  WHERE p.ordered_at <= repeat_purchase_rate.as_of
                  GROUP BY p.contact_id) per_customer);
END
$$;
COMMENT ON FUNCTION @extschema@.repeat_purchase_rate(timestamptz) IS
    'Percent of customers with a purchase up to as_of who made at least two; NULL without customers.';

-- Each repeat customer's gaps between purchase days up to as_of, and the usual (median) gap.
-- Orders on one day (in the session's time zone) are one purchase: two orders minutes apart
-- would otherwise make a usual gap of zero and every later silence look infinitely long.
CREATE FUNCTION @extschema@.purchase_gaps(as_of timestamptz DEFAULT now())
RETURNS TABLE (contact_id bigint, purchase_days bigint, last_order_at timestamptz,
               usual_gap_days double precision, mean_gap_days double precision)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- distributed tables (docs/citus.md). Every column is qualified: the output columns are
    -- variables here.
    RETURN QUERY
    SELECT g.contact_id, count(*) + 1, max(g.last_at),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY g.gap), avg(g.gap)::double precision
    FROM (SELECT d.contact_id, d.last_at, (d.day - lag(d.day) OVER w)::double precision AS gap
          FROM (SELECT o.contact_id, o.ordered_at::date AS day, max(o.ordered_at) AS last_at
                FROM @extschema@.purchases o
                WHERE o.ordered_at <= purchase_gaps.as_of
                GROUP BY 1, 2) d
          WINDOW w AS (PARTITION BY d.contact_id ORDER BY d.day)) g
    WHERE g.gap IS NOT NULL
    GROUP BY g.contact_id;
END
$$;
COMMENT ON FUNCTION @extschema@.purchase_gaps(timestamptz) IS
    'Per customer with purchases on at least two days up to as_of: the number of purchase days, the last purchase, and the usual (median) and mean days between consecutive purchase days.';

-- Active customers likely lapsing: their silence is far beyond their own usual rhythm, or a
-- fitted BG/NBD model (crm.customer_clv, when the CLV capability has one) thinks them gone.
CREATE FUNCTION @extschema@.at_risk_customers(as_of timestamptz DEFAULT now(), gap_factor double precision DEFAULT 2.0,
                                              p_alive_threshold double precision DEFAULT 0.3,
                                              active_window interval DEFAULT '365 days')
RETURNS TABLE (rank bigint, contact_id bigint, last_order_at timestamptz, days_since_last_order double precision,
               usual_gap_days double precision, overdue_ratio double precision, p_alive double precision, reason text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p_alive_source text := 'SELECT NULL::bigint AS contact_id, NULL::double precision AS p_alive WHERE false';
BEGIN
    IF as_of IS NULL OR gap_factor IS NULL OR p_alive_threshold IS NULL OR active_window IS NULL THEN
        RAISE EXCEPTION 'arguments of crm.at_risk_customers must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT gap_factor > 0 OR gap_factor = 'Infinity' THEN
        RAISE EXCEPTION 'gap_factor must be a positive number'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = pg_catalog.format('The factor given was %s.', gap_factor);
    END IF;
    IF NOT (p_alive_threshold >= 0 AND p_alive_threshold <= 1) THEN
        RAISE EXCEPTION 'p_alive_threshold must be between 0 and 1'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = pg_catalog.format('The threshold given was %s.', p_alive_threshold);
    END IF;
    IF pg_catalog.to_regclass('@extschema@.customer_clv') IS NOT NULL THEN
        p_alive_source := 'SELECT contact_id, p_alive FROM @extschema@.customer_clv';
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format($q$
        SELECT row_number() OVER (ORDER BY coalesce(g.overdue, 0) DESC, g.p_alive NULLS LAST, g.contact_id),
               g.contact_id, g.last_order_at, g.days_since, g.usual_gap_days, g.overdue, g.p_alive,
               concat_ws('; ',
                   CASE WHEN g.overdue > $2 THEN pg_catalog.format('%%s days since the last purchase, %%s times the usual gap of %%s days',
                        round(g.days_since::numeric), round(g.overdue::numeric, 1), round(g.usual_gap_days::numeric, 1)) END,
                   CASE WHEN g.p_alive < $3 THEN pg_catalog.format('P(alive) %%s is under %%s',
                        round(g.p_alive::numeric, 2), $3) END)
        FROM (SELECT p.contact_id, p.last_order_at, p.usual_gap_days, a.p_alive,
                     extract(epoch FROM $1 - p.last_order_at)::double precision / 86400 AS days_since,
                     (extract(epoch FROM $1 - p.last_order_at)::double precision / 86400) / NULLIF(p.usual_gap_days, 0) AS overdue
              FROM @extschema@.purchase_gaps($1) p
              LEFT JOIN (%s) a USING (contact_id)
              WHERE p.last_order_at > $1 - $4) g
        WHERE g.overdue > $2 OR g.p_alive < $3
        ORDER BY 1$q$, p_alive_source)
    USING as_of, gap_factor, p_alive_threshold, active_window;
END
$$;
COMMENT ON FUNCTION @extschema@.at_risk_customers(timestamptz, double precision, double precision, interval) IS
    'Active repeat customers (a purchase within active_window) likely lapsing, ranked, with the reason: days since the last purchase beyond gap_factor times their usual (median) gap, and, when crm.customer_clv exists, P(alive) under p_alive_threshold.';

-- Privileges: the functions reading the CRM's tables are for its staff roles (row-level
-- security still decides which rows they see); trigger functions are for nobody to call.
REVOKE EXECUTE ON FUNCTION @extschema@.active_customers(timestamptz, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.active_customers(timestamptz, text, interval) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.retention(timestamptz, timestamptz, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.retention(timestamptz, timestamptz, text, interval) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.subscription_metrics(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.subscription_metrics(date, date) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.cohort_retention(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.cohort_retention(text, timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.repeat_purchase_rate(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.repeat_purchase_rate(timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.purchase_gaps(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.purchase_gaps(timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.at_risk_customers(timestamptz, double precision, double precision, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.at_risk_customers(timestamptz, double precision, double precision, interval) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
