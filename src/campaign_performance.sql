-- src/campaign_performance.sql: campaign touches and performance (docs/campaigns.md). Activities,
-- leads and orders record the campaign (and variant) that brought them; campaign members record
-- the variant they were assigned; campaigns record their actual cost. crm.campaign_performance
-- reports reach, responses, leads, customers, conversions, revenue, cost, cost per lead and per
-- customer and ROI per campaign and period, optionally within a segment, under the caller's
-- row-level security (the rows follow the contacts, as everywhere).

ALTER TABLE @extschema@.activities
    ADD COLUMN campaign_id bigint CONSTRAINT activities_campaign_fkey REFERENCES @extschema@.campaigns ON DELETE SET NULL,
    ADD COLUMN campaign_variant text;
CREATE INDEX activities_campaign_id_idx ON @extschema@.activities (campaign_id) WHERE campaign_id IS NOT NULL;
COMMENT ON COLUMN @extschema@.activities.campaign_id IS 'The campaign this touch belongs to (a send, an open, a click, a reply...), when known.';
COMMENT ON COLUMN @extschema@.activities.campaign_variant IS 'The campaign variant (A/B arm) of this touch, when the campaign tests several.';

ALTER TABLE @extschema@.leads
    ADD COLUMN campaign_id bigint CONSTRAINT leads_campaign_fkey REFERENCES @extschema@.campaigns ON DELETE SET NULL,
    ADD COLUMN campaign_variant text;
CREATE INDEX leads_campaign_id_idx ON @extschema@.leads (campaign_id) WHERE campaign_id IS NOT NULL;
COMMENT ON COLUMN @extschema@.leads.campaign_id IS 'The campaign that brought this lead, when known.';
COMMENT ON COLUMN @extschema@.leads.campaign_variant IS 'The campaign variant that brought this lead, when known.';

ALTER TABLE @extschema@.orders
    ADD COLUMN campaign_id bigint CONSTRAINT orders_campaign_fkey REFERENCES @extschema@.campaigns ON DELETE SET NULL,
    ADD COLUMN campaign_variant text;
CREATE INDEX orders_campaign_id_idx ON @extschema@.orders (campaign_id) WHERE campaign_id IS NOT NULL;
COMMENT ON COLUMN @extschema@.orders.campaign_id IS 'The campaign this order is attributed to (e.g. the coupon or the last campaign touch), when known.';
COMMENT ON COLUMN @extschema@.orders.campaign_variant IS 'The campaign variant this order is attributed to, when known.';

ALTER TABLE @extschema@.campaign_members ADD COLUMN variant text;
COMMENT ON COLUMN @extschema@.campaign_members.variant IS 'The variant (A/B arm) this member was assigned, when the campaign tests several.';

ALTER TABLE @extschema@.campaigns
    ADD COLUMN cost numeric(16, 2) CONSTRAINT campaigns_cost_nonnegative CHECK (cost >= 0);
COMMENT ON COLUMN @extschema@.campaigns.cost IS 'What the campaign actually cost; NULL: not known yet, and its budget stands in.';

CREATE FUNCTION @extschema@.campaign_performance(period text DEFAULT 'month', segment_id bigint DEFAULT NULL)
RETURNS TABLE (campaign_id bigint, campaign text, period_start timestamptz,
               reach bigint, responses bigint, leads bigint, customers bigint, conversions bigint,
               revenue numeric, cost numeric, cost_per_lead numeric, cost_per_customer numeric, roi numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
    IF period IS NULL OR period NOT IN ('day', 'week', 'month', 'quarter', 'year', 'all') THEN
        RAISE EXCEPTION 'period must be day, week, month, quarter, year or all'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The period given was %s.', coalesce(pg_catalog.quote_literal(period), 'NULL'));
    END IF;
    RETURN QUERY
    WITH seg AS (
        SELECT m.contact_id FROM @extschema@.segment_members m WHERE m.segment_id = campaign_performance.segment_id
    ), bucket AS (
        -- 'all' is one period (period_start NULL; unit and step are then unused, but valid);
        -- step: the length of one period
        SELECT campaign_performance.period = 'all' AS whole,
               CASE campaign_performance.period WHEN 'all' THEN 'year' ELSE campaign_performance.period END AS unit,
               CASE campaign_performance.period WHEN 'quarter' THEN interval '3 months' WHEN 'all' THEN interval '1 year'
                    ELSE ('1 ' || campaign_performance.period)::interval END AS step
    ), members AS (
        SELECT m.campaign_id AS cid,
               CASE WHEN b.whole THEN NULL ELSE pg_catalog.date_trunc(b.unit, m.added_at) END AS p,
               pg_catalog.count(*) FILTER (WHERE m.status <> 'targeted') AS reach
        FROM @extschema@.campaign_members m, bucket b
        WHERE campaign_performance.segment_id IS NULL OR m.contact_id IN (SELECT contact_id FROM seg)
        GROUP BY 1, 2
    ), touches AS (
        SELECT a.campaign_id AS cid,
               CASE WHEN b.whole THEN NULL ELSE pg_catalog.date_trunc(b.unit, a.occurred_at) END AS p,
               pg_catalog.count(DISTINCT a.contact_id) AS responses
        FROM @extschema@.activities a, bucket b
        WHERE a.campaign_id IS NOT NULL
          AND (campaign_performance.segment_id IS NULL OR a.contact_id IN (SELECT contact_id FROM seg))
        GROUP BY 1, 2
    ), new_leads AS (
        SELECT l.campaign_id AS cid,
               CASE WHEN b.whole THEN NULL ELSE pg_catalog.date_trunc(b.unit, l.created_at) END AS p,
               pg_catalog.count(*) AS leads
        FROM @extschema@.leads l, bucket b
        WHERE l.campaign_id IS NOT NULL
          AND (campaign_performance.segment_id IS NULL OR l.contact_id IN (SELECT contact_id FROM seg))
        GROUP BY 1, 2
    ), sales AS (
        SELECT o.campaign_id AS cid,
               CASE WHEN b.whole THEN NULL ELSE pg_catalog.date_trunc(b.unit, o.ordered_at) END AS p,
               pg_catalog.count(DISTINCT o.contact_id) AS customers, pg_catalog.count(*) AS conversions,
               pg_catalog.sum(o.total) AS revenue
        FROM @extschema@.purchases pu JOIN @extschema@.orders o ON o.order_id = pu.order_id, bucket b
        WHERE o.campaign_id IS NOT NULL
          AND (campaign_performance.segment_id IS NULL OR o.contact_id IN (SELECT contact_id FROM seg))
        GROUP BY 1, 2
    ), spend AS (
        -- the cost (or, until it is known, the budget) spread evenly over the campaign's days,
        -- each period taking the days it shares with the campaign; without both dates, all of it
        -- falls in the period of starts_on (or of the campaign's creation)
        SELECT c.campaign_id AS cid, s.p, pg_catalog.round(s.share, 2) AS cost
        FROM @extschema@.campaigns c, bucket b,
        LATERAL (
            SELECT NULL::timestamptz AS p, coalesce(c.cost, c.budget) AS share WHERE b.whole
            UNION ALL
            SELECT pg_catalog.date_trunc(b.unit, coalesce(c.starts_on::timestamptz, c.created_at)),
                   coalesce(c.cost, c.budget)
            WHERE NOT b.whole AND (c.starts_on IS NULL OR c.ends_on IS NULL)
            UNION ALL
            SELECT g.p, coalesce(c.cost, c.budget)
                   * (LEAST(c.ends_on, ((g.p + b.step)::date - 1))
                      - GREATEST(c.starts_on, g.p::date) + 1)
                   / (c.ends_on - c.starts_on + 1)
            FROM pg_catalog.generate_series(pg_catalog.date_trunc(b.unit, c.starts_on::timestamptz),
                                            c.ends_on::timestamptz, b.step) AS g(p)
            WHERE NOT b.whole AND c.starts_on IS NOT NULL AND c.ends_on IS NOT NULL
        ) s
    ), keys AS (
        SELECT cid, p FROM members UNION SELECT cid, p FROM touches UNION SELECT cid, p FROM new_leads
        UNION SELECT cid, p FROM sales UNION SELECT cid, p FROM spend
    )
    SELECT k.cid, c.name, k.p,
           coalesce(m.reach, 0), coalesce(t.responses, 0), coalesce(l.leads, 0),
           coalesce(s.customers, 0), coalesce(s.conversions, 0),
           coalesce(s.revenue, 0), sp.cost,
           pg_catalog.round(sp.cost / NULLIF(l.leads, 0), 2),
           pg_catalog.round(sp.cost / NULLIF(s.customers, 0), 2),
           pg_catalog.round((coalesce(s.revenue, 0) - sp.cost) / NULLIF(sp.cost, 0), 4)
    FROM keys k
    JOIN @extschema@.campaigns c ON c.campaign_id = k.cid
    LEFT JOIN members m ON m.cid = k.cid AND m.p IS NOT DISTINCT FROM k.p
    LEFT JOIN touches t ON t.cid = k.cid AND t.p IS NOT DISTINCT FROM k.p
    LEFT JOIN new_leads l ON l.cid = k.cid AND l.p IS NOT DISTINCT FROM k.p
    LEFT JOIN sales s ON s.cid = k.cid AND s.p IS NOT DISTINCT FROM k.p
    LEFT JOIN spend sp ON sp.cid = k.cid AND sp.p IS NOT DISTINCT FROM k.p
    ORDER BY k.cid, k.p;
END
$f$;
COMMENT ON FUNCTION @extschema@.campaign_performance(text, bigint) IS
    'Per campaign and period (day, week, month, quarter, year in the session time zone, or all): reach (members past ''targeted''), responses (contacts with a campaign touch), leads, customers and conversions (purchases recording the campaign), revenue, cost (actual, else budget, spread over the campaign''s days), cost per lead and per customer, ROI = (revenue - cost) / cost. Within a segment when segment_id is given; only the rows the caller may see are counted.';
REVOKE EXECUTE ON FUNCTION @extschema@.campaign_performance(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.campaign_performance(text, bigint) TO crm_admin, crm_manager, crm_sales, crm_analyst;
