-- demo-ext: the demo generator leaves crm for an extension of its own, crm_demo (requires crm,
-- same schema), so a production install carries no demo code. The update drops the generator,
-- its random helpers and every capability's generate_demo_* hook from crm; the data they made
-- stays. To keep generating demo data after ALTER EXTENSION crm UPDATE: CREATE EXTENSION crm_demo
-- (it would fail before the update: the functions still belong to crm then).
DROP FUNCTION @extschema@.generate_demo_data(integer, integer, date);
DROP FUNCTION @extschema@.generate_demo_detractor_tasks(integer);
DROP FUNCTION @extschema@.generate_demo_subscriptions(integer);
DROP FUNCTION @extschema@.generate_demo_rfm(integer);
DROP FUNCTION @extschema@.generate_demo_lead_scoring(integer);
DROP FUNCTION @extschema@.generate_demo_segments(integer);
DROP FUNCTION @extschema@.demo_gamma(double precision, bigint, integer);
DROP FUNCTION @extschema@.demo_normal(bigint, integer);
DROP FUNCTION @extschema@.demo_uniform(bigint, integer);
DROP FUNCTION @extschema@.demo_key(integer, integer, bigint, integer);

-- demo-ext: one definition of a purchase. crm.purchases (orders paid or shipped) is new; every
-- view and function that meant purchases reads it now (same results, same plans: the view is
-- inlined). CREATE OR REPLACE keeps owners, grants and comments; attributes are restated as
-- installed.
CREATE VIEW @extschema@.purchases WITH (security_invoker = true) AS
SELECT o.order_id, o.contact_id, o.account_id, o.ordered_at, o.status, o.currency, o.total,
       o.created_at, o.updated_at
FROM @extschema@.orders o
WHERE o.status IN ('paid', 'shipped');
COMMENT ON VIEW @extschema@.purchases IS
    'The orders that count as purchases in every analysis: those paid or shipped (not pending, cancelled or refunded).';
GRANT ALL ON @extschema@.purchases TO crm_admin;
GRANT SELECT ON @extschema@.purchases TO crm_analyst, crm_manager, crm_sales, crm_support;

CREATE OR REPLACE VIEW @extschema@.customer_order_stats WITH (security_invoker = true) AS
SELECT contact_id,
       count(*) AS orders,
       sum(total) AS total_spent,
       round(avg(total), 2) AS average_order_value,
       min(ordered_at) AS first_order_at,
       max(ordered_at) AS last_order_at
FROM @extschema@.purchases
GROUP BY contact_id;

CREATE OR REPLACE FUNCTION @extschema@.customer_summaries(as_of timestamptz DEFAULT now(), time_unit_days double precision DEFAULT 7)
RETURNS TABLE (contact_id bigint, x integer, t_x double precision, big_t double precision, m double precision)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF as_of IS NULL OR NOT (time_unit_days > 0 AND time_unit_days < 'Infinity') THEN
        RAISE EXCEPTION 'time_unit_days must be a positive, finite number and as_of not NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- ordered_at <= as_of here: the aggregate itself keeps the whole day of as_of
    RETURN QUERY
    SELECT o.contact_id, (o.s).x, (o.s).t_x, (o.s).big_t, (o.s).m
    FROM (SELECT p.contact_id,
                 @extschema@.clv_summary(p.ordered_at, p.total::double precision, as_of, time_unit_days) AS s
          FROM @extschema@.purchases p
          WHERE p.ordered_at <= as_of
          GROUP BY p.contact_id) o;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.fit_clv_models(as_of timestamptz DEFAULT now(), time_unit_days double precision DEFAULT 7)
RETURNS @extschema@.clv_models
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    stored @extschema@.clv_models;
    spend_buyers bigint;
BEGIN
    CREATE TEMP TABLE crm_fit_summaries ON COMMIT DROP AS
    SELECT * FROM @extschema@.customer_summaries(as_of, time_unit_days);
    SELECT count(*) FILTER (WHERE s.x > 0 AND s.m > 0) INTO spend_buyers FROM crm_fit_summaries s;
    IF NOT EXISTS (SELECT FROM crm_fit_summaries) THEN
        RAISE EXCEPTION 'no purchases to fit CLV models on'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('crm.orders holds no paid or shipped order up to %s.', as_of);
    END IF;
    INSERT INTO @extschema@.clv_models (as_of, time_unit_days, first_order_at, last_order_at, customers, bgnbd, gammagamma)
    SELECT as_of, time_unit_days,
           (SELECT min(o.ordered_at) FROM @extschema@.purchases o WHERE o.ordered_at <= as_of),
           (SELECT max(o.ordered_at) FROM @extschema@.purchases o WHERE o.ordered_at <= as_of),
           count(*),
           @extschema@.bgnbd_fit(s.x, s.t_x, s.big_t),
           CASE WHEN spend_buyers >= 2 THEN @extschema@.gammagamma_fit(s.x, s.m) FILTER (WHERE s.x > 0 AND s.m > 0) END
    FROM crm_fit_summaries s
    RETURNING * INTO stored;
    DROP TABLE crm_fit_summaries;
    RETURN stored;
END
$$;

CREATE OR REPLACE VIEW @extschema@.customer_clv_summaries WITH (security_invoker = true) AS
SELECT o.contact_id, (@extschema@.clv_summary(o.ordered_at, o.total::double precision, now(), 7::double precision)).*
FROM @extschema@.purchases o
WHERE o.ordered_at <= now()
GROUP BY o.contact_id;

CREATE OR REPLACE FUNCTION @extschema@.active_customers(at_instant timestamptz, basis text DEFAULT 'orders',
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

CREATE OR REPLACE FUNCTION @extschema@.cohort_retention(period text DEFAULT 'month', as_of timestamptz DEFAULT now())
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

CREATE OR REPLACE FUNCTION @extschema@.repeat_purchase_rate(as_of timestamptz DEFAULT now()) RETURNS double precision
LANGUAGE sql STABLE AS $$
    SELECT 100.0 * count(*) FILTER (WHERE purchases >= 2) / NULLIF(count(*), 0)
    FROM (SELECT contact_id, count(*) AS purchases
          FROM @extschema@.purchases
          WHERE ordered_at <= as_of
          GROUP BY contact_id) per_customer
$$;

CREATE OR REPLACE FUNCTION @extschema@.purchase_gaps(as_of timestamptz DEFAULT now())
RETURNS TABLE (contact_id bigint, purchase_days bigint, last_order_at timestamptz,
               usual_gap_days double precision, mean_gap_days double precision)
LANGUAGE sql STABLE AS $$
    SELECT contact_id, count(*) + 1, max(last_at),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY gap), avg(gap)::double precision
    FROM (SELECT d.contact_id, d.last_at, (d.day - lag(d.day) OVER w)::double precision AS gap
          FROM (SELECT o.contact_id, o.ordered_at::date AS day, max(o.ordered_at) AS last_at
                FROM @extschema@.purchases o
                WHERE o.ordered_at <= as_of
                GROUP BY 1, 2) d
          WINDOW w AS (PARTITION BY d.contact_id ORDER BY d.day)) g
    WHERE gap IS NOT NULL
    GROUP BY contact_id
$$;

CREATE OR REPLACE FUNCTION @extschema@.rfm_scores(as_of timestamptz DEFAULT now())
RETURNS TABLE (contact_id bigint, recency integer, frequency integer, monetary numeric, rfm @extschema@.rfm)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    -- Purchases (crm.purchases: orders paid or shipped) before as_of.
    -- Recency and frequency take few distinct values: their "worse" counts come from a histogram
    -- of the values, joined back, rather than from sorting every customer; monetary is ranked.
    WITH purchases AS MATERIALIZED (
        SELECT o.contact_id,
               floor(extract(epoch FROM $1 - max(o.ordered_at)) / 86400)::integer AS recency,
               count(*)::integer AS frequency,
               sum(o.total) AS monetary
        FROM @extschema@.purchases o
        WHERE o.ordered_at < $1
        GROUP BY o.contact_id
    ), customers AS (
        SELECT count(*) AS n FROM purchases
    ), recency_worse AS (
        SELECT h.recency, coalesce(sum(h.customers) OVER (ORDER BY h.recency DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS worse
        FROM (SELECT p.recency, count(*) AS customers FROM purchases p GROUP BY p.recency) h
    ), frequency_worse AS (
        SELECT h.frequency, coalesce(sum(h.customers) OVER (ORDER BY h.frequency ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS worse
        FROM (SELECT p.frequency, count(*) AS customers FROM purchases p GROUP BY p.frequency) h
    )
    -- bigint division: 5 * worse / n is floor(5 * worse / n)
    SELECT p.contact_id, p.recency, p.frequency, p.monetary,
           @extschema@.rfm((1 + 5 * r.worse / c.n)::integer,
                           (1 + 5 * f.worse / c.n)::integer,
                           (1 + 5 * (rank() OVER (ORDER BY p.monetary) - 1) / c.n)::integer)
    FROM purchases p
    CROSS JOIN customers c
    JOIN recency_worse r ON r.recency = p.recency
    JOIN frequency_worse f ON f.frequency = p.frequency
$$;

CREATE OR REPLACE VIEW @extschema@.customer_360 WITH (security_invoker = true) AS
SELECT c.contact_id,
       c.first_name,
       c.last_name,
       c.email,
       c.country,
       c.title,
       c.created_at,
       c.account_id,
       a.name AS account_name,
       c.owner_id,
       u.full_name AS owner_name,
       c.lifecycle_stage,
       c.marketing_consent,
       coalesce(o.orders, 0) AS orders,
       coalesce(o.total_spent, 0) AS total_spent,
       o.first_order_at,
       o.last_order_at,
       r.as_of AS rfm_as_of,
       r.rfm,
       @extschema@.recency_score(r.rfm) AS recency_score,
       @extschema@.frequency_score(r.rfm) AS frequency_score,
       @extschema@.monetary_score(r.rfm) AS monetary_score,
       r.segment AS rfm_segment,
       coalesce(t.open_tickets, 0) AS open_tickets,
       n.score AS nps_score,
       n.responded_at AS nps_responded_at,
       act.last_activity_at,
       act.last_email_at,
       act.last_phone_at,
       act.last_meeting_at,
       act.last_chat_at,
       act.last_social_at,
       act.last_web_at,
       act.last_sms_at,
       l.lead_score,
       l.lead_grade,
       v.p_alive,
       v.expected_purchases_90d,
       v.clv_12m
FROM @extschema@.contacts c
LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
LEFT JOIN @extschema@.users u ON u.user_id = c.owner_id
LEFT JOIN @extschema@.customer_order_stats o ON o.contact_id = c.contact_id
LEFT JOIN (
    SELECT h.contact_id, h.as_of, h.rfm, h.segment
    FROM @extschema@.rfm_history h
    WHERE h.as_of = (SELECT max(latest.as_of) FROM @extschema@.rfm_history latest)
) r ON r.contact_id = c.contact_id
LEFT JOIN (
    SELECT tk.contact_id, count(*) AS open_tickets
    FROM @extschema@.tickets tk
    WHERE tk.status NOT IN ('resolved', 'closed')
    GROUP BY tk.contact_id
) t ON t.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (s.contact_id) s.contact_id, s.score, s.responded_at
    FROM @extschema@.survey_responses s
    WHERE s.kind = 'nps'
    ORDER BY s.contact_id, s.responded_at DESC, s.response_id DESC
) n ON n.contact_id = c.contact_id
LEFT JOIN (
    SELECT ac.contact_id,
           max(ac.occurred_at) AS last_activity_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'email') AS last_email_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'phone') AS last_phone_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'meeting') AS last_meeting_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'chat') AS last_chat_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'social') AS last_social_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'web') AS last_web_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'sms') AS last_sms_at
    FROM @extschema@.activities ac
    GROUP BY ac.contact_id
) act ON act.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (ld.contact_id) ld.contact_id, ld.score AS lead_score, ld.grade AS lead_grade
    FROM @extschema@.leads ld
    ORDER BY ld.contact_id, ld.score DESC, ld.lead_id DESC
) l ON l.contact_id = c.contact_id
-- CLV from the latest stored model (crm.fit_clv_models), from this contact's purchases alone, so
-- a query for a few contacts costs a few index scans, not a pass over every customer.
LEFT JOIN LATERAL (
    SELECT @extschema@.bgnbd_p_alive(m.bgnbd, s.x, s.t_x, s.big_t) AS p_alive,
           @extschema@.bgnbd_expected_purchases(m.bgnbd, 90 / m.time_unit_days, s.x, s.t_x, s.big_t) AS expected_purchases_90d,
           CASE WHEN m.gammagamma IS NOT NULL
                THEN @extschema@.clv(m.bgnbd, m.gammagamma, s.x, s.t_x, s.big_t, s.m, 12, 0.01, 30.4375 / m.time_unit_days)
           END AS clv_12m
    FROM (SELECT cm.bgnbd, cm.gammagamma, cm.time_unit_days FROM @extschema@.clv_models cm
          ORDER BY cm.fitted_at DESC, cm.model_id DESC LIMIT 1) m,
         LATERAL (SELECT (@extschema@.clv_summary(o.ordered_at, o.total::double precision, now(), m.time_unit_days)).*
                  FROM @extschema@.purchases o
                  WHERE o.contact_id = c.contact_id AND o.ordered_at <= now()) s
    WHERE s.x IS NOT NULL
) v ON true;

-- demo-ext: one guard for seeded rows. crm.guard_seeded_rows() (trigger arguments name what
-- differs) replaces the copies crm.pipeline_stages_guard_seeded() and
-- crm.rfm_segment_map_guard_seeded(); same messages and SQLSTATEs.
CREATE FUNCTION @extschema@.guard_seeded_rows() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    singular text := TG_ARGV[0];
    plural text := TG_ARGV[1];
    name_column text := TG_ARGV[2];
    assignments text;
    key_condition text;
    deferrable_constraints text;
    replaced bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.is_seeded THEN
            SELECT string_agg(format('%I.%I', TG_TABLE_SCHEMA, c.conname), ', ') INTO deferrable_constraints
            FROM pg_constraint c
            WHERE c.conrelid = TG_RELID AND c.contype IN ('p', 'u', 'x') AND c.condeferrable;
            IF deferrable_constraints IS NOT NULL THEN
                EXECUTE format('SET CONSTRAINTS %s DEFERRED', deferrable_constraints);
            END IF;
            SELECT string_agg(format('%I = ($1).%I', a.attname, a.attname), ', ' ORDER BY a.attnum)
                       FILTER (WHERE NOT a.attnum = ANY (i.indkey) AND a.attname <> 'is_seeded'),
                   string_agg(format('%I = ($1).%I', a.attname, a.attname), ' AND ' ORDER BY a.attnum)
                       FILTER (WHERE a.attnum = ANY (i.indkey))
              INTO assignments, key_condition
            FROM pg_attribute a
            JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
            WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
            EXECUTE format('UPDATE %I.%I SET %s WHERE %s AND is_seeded', TG_TABLE_SCHEMA, TG_TABLE_NAME,
                           assignments, key_condition)
              USING NEW;
            GET DIAGNOSTICS replaced = ROW_COUNT;
            IF replaced = 0 THEN
                RAISE EXCEPTION 'only the extension creates seeded %', plural
                    USING ERRCODE = 'check_violation',
                          HINT = format('Insert the %s with is_seeded = false.', singular);
            END IF;
            RETURN NULL;
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.is_seeded THEN
            RAISE EXCEPTION 'seeded % "%" cannot be deleted', singular, to_jsonb(OLD) ->> name_column
                USING ERRCODE = 'check_violation',
                      HINT = 'Set active = false to retire it.';
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.is_seeded IS DISTINCT FROM OLD.is_seeded THEN
        RAISE EXCEPTION 'is_seeded cannot be changed' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.guard_seeded_rows() IS
    'Trigger (arguments: the kind of row, singular and plural, and the column naming a row): seeded rows cannot be deleted, created by anyone but the extension, or unmarked; a restored seeded row replaces its fresh copy.';
REVOKE EXECUTE ON FUNCTION @extschema@.guard_seeded_rows() FROM PUBLIC;
CREATE OR REPLACE TRIGGER pipeline_stages_guard_seeded
    BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pipeline_stages
    FOR EACH ROW EXECUTE FUNCTION @extschema@.guard_seeded_rows('pipeline stage', 'pipeline stages', 'name');
CREATE OR REPLACE TRIGGER rfm_segment_map_guard_seeded
    BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.rfm_segment_map
    FOR EACH ROW EXECUTE FUNCTION @extschema@.guard_seeded_rows('RFM segment', 'RFM segments', 'segment');
DROP FUNCTION @extschema@.pipeline_stages_guard_seeded();
DROP FUNCTION @extschema@.rfm_segment_map_guard_seeded();
