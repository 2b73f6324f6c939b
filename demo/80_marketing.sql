-- Demo report: marketing. ROI by campaign (crm.campaign_performance), the attribution models side
-- by side (crm.attribute and the Markov model over the campaign touches before each purchase), the
-- A/B test's verdict (crm.experiment_stats / crm.experiment_comparison), the customers most worth
-- saving (crm.churn_risk by value at risk) and what to offer them (crm.recommend_products).
-- Campaign costs, touches, attributed leads and orders and the A/B variants come from the demo
-- hook crm.generate_demo_campaigns.
SELECT coalesce((SELECT max(ordered_at) FROM crm.orders), now()) AS marketing_as_of \gset

\echo
\echo '== Marketing: ROI by campaign, the ten that brought the most revenue (crm.campaign_performance) =='
\echo 'Touched = contacts with an activity of the campaign (a send or a response); revenue = purchases recording the'
\echo 'campaign (within 30 days of one of its touches); ROI = (revenue - cost) / cost.'
SELECT p.campaign, p.reach, p.responses AS touched, p.leads, p.customers, p.revenue, p.cost, p.cost_per_customer AS "cost/customer",
       p.roi AS "ROI"
FROM crm.campaign_performance('all') p
ORDER BY p.revenue DESC, p.campaign_id LIMIT 10;
SELECT count(*) AS campaigns, sum(p.reach) AS reach, sum(p.customers) AS customers, sum(p.revenue) AS revenue,
       sum(p.cost) AS cost, round((sum(p.revenue) - sum(p.cost)) / NULLIF(sum(p.cost), 0), 4) AS "ROI, all campaigns",
       count(*) FILTER (WHERE p.roi > 0) AS "campaigns with ROI > 0"
FROM crm.campaign_performance('all') p;

\echo
\echo '== Marketing: attribution models side by side (share of attributed revenue by channel, %) =='
\echo 'Each purchase''s path: the campaign touches of its customer in the 90 days before it. Markov: removal effects'
\echo 'over every member''s path of touches, converted when a purchase recorded a campaign.'
-- The rows are read in MATERIALIZED CTEs of plain scans, so that the same report runs on a
-- distributed CRM (docs/citus.md): the rest works on their results.
WITH touches AS MATERIALIZED (
    SELECT a.contact_id, a.occurred_at, a.channel::text AS channel, a.activity_id
    FROM crm.activities a WHERE a.campaign_id IS NOT NULL
), purchases AS MATERIALIZED (
    SELECT o.order_id, o.contact_id, o.total, o.ordered_at
    FROM crm.purchases o WHERE o.ordered_at <= :'marketing_as_of'
), converted_contacts AS MATERIALIZED (
    SELECT DISTINCT o.contact_id FROM crm.orders o WHERE o.campaign_id IS NOT NULL AND o.status IN ('paid', 'shipped')
), paths AS (
    SELECT o.order_id, o.total, o.ordered_at,
           array_agg(t.channel ORDER BY t.occurred_at, t.activity_id) AS channels,
           array_agg(t.occurred_at ORDER BY t.occurred_at, t.activity_id) AS touched_at
    FROM purchases o
    JOIN touches t ON t.contact_id = o.contact_id AND t.occurred_at < o.ordered_at
                  AND t.occurred_at >= o.ordered_at - interval '90 days'
    GROUP BY o.order_id, o.total, o.ordered_at
), heuristic AS (
    SELECT m.model, c.channel, sum(c.credit) AS credit
    FROM paths p
    CROSS JOIN (VALUES ('first_touch'), ('last_touch'), ('linear'), ('time_decay'), ('position_based')) m(model)
    CROSS JOIN LATERAL crm.attribute(p.channels, p.touched_at, p.total, m.model, p.ordered_at) c
    GROUP BY m.model, c.channel
), journeys AS (
    SELECT t.contact_id, array_agg(t.channel ORDER BY t.occurred_at, t.activity_id) AS path,
           bool_or(c.contact_id IS NOT NULL) AS converted
    FROM touches t LEFT JOIN converted_contacts c USING (contact_id) GROUP BY t.contact_id
), markov AS (
    SELECT r.channel, r.share
    FROM (SELECT crm.markov_attribution(j.path, j.converted) AS m FROM journeys j) f,
         crm.markov_removal_effects(f.m) r
), shares AS (
    SELECT h.channel, h.model, (100 * h.credit / NULLIF(sum(h.credit) OVER (PARTITION BY h.model), 0))::numeric AS pct FROM heuristic h
    UNION ALL
    SELECT m.channel, 'markov', (100 * m.share)::numeric FROM markov m
)
SELECT s.channel,
       round(max(s.pct) FILTER (WHERE s.model = 'first_touch'), 1) AS "first touch",
       round(max(s.pct) FILTER (WHERE s.model = 'last_touch'), 1) AS "last touch",
       round(max(s.pct) FILTER (WHERE s.model = 'linear'), 1) AS linear,
       round(max(s.pct) FILTER (WHERE s.model = 'time_decay'), 1) AS "time decay",
       round(max(s.pct) FILTER (WHERE s.model = 'position_based'), 1) AS "position based",
       round(max(s.pct) FILTER (WHERE s.model = 'markov'), 1) AS markov
FROM shares s
GROUP BY s.channel ORDER BY s.channel;

\echo
\echo '== Marketing: the A/B test of two subject lines over every campaign that ran (crm.experiment_comparison) =='
\echo 'A user is a campaign member reached; converted = responded or converted; revenue = purchases recording the campaign.'
WITH outcomes AS (
    SELECT m.variant, m.status IN ('responded', 'converted') AS converted,
           coalesce((SELECT sum(o.total) FROM crm.orders o
                     WHERE o.contact_id = m.contact_id AND o.campaign_id = m.campaign_id AND o.status IN ('paid', 'shipped')), 0)::float8 AS revenue
    FROM crm.campaign_members m WHERE m.variant IS NOT NULL
), test AS (
    SELECT crm.experiment_stats(o.variant, o.converted, o.revenue) AS s FROM outcomes o
)
SELECT a.variant, a.users, a.conversions, round(100 * a.conversion_rate::numeric, 1) AS "response %",
       round(a.revenue_per_user::numeric, 2) AS "revenue/user"
FROM test t, crm.experiment_arms(t.s) a ORDER BY a.variant;
WITH outcomes AS (
    SELECT m.variant, m.status IN ('responded', 'converted') AS converted,
           coalesce((SELECT sum(o.total) FROM crm.orders o
                     WHERE o.contact_id = m.contact_id AND o.campaign_id = m.campaign_id AND o.status IN ('paid', 'shipped')), 0)::float8 AS revenue
    FROM crm.campaign_members m WHERE m.variant IS NOT NULL
), test AS (
    SELECT crm.experiment_stats(o.variant, o.converted, o.revenue) AS s FROM outcomes o
)
SELECT c.variant || ' vs A' AS comparison,
       round(100 * c.absolute_lift::numeric, 1) AS "lift, points",
       round(100 * c.ci_lower::numeric, 1) || ' .. ' || round(100 * c.ci_upper::numeric, 1) AS "95% CI, points",
       round(c.p_value::numeric, 4) AS "p-value", round(srm.p_value::numeric, 3) AS "SRM p-value",
       CASE WHEN srm.p_value < 0.001 THEN 'invalid: the split is not 50/50 (sample ratio mismatch)'
            WHEN c.p_value < 0.05 AND c.absolute_lift > 0 THEN c.variant || ' wins: roll it out'
            WHEN c.p_value < 0.05 THEN 'A wins: keep it'
            ELSE 'no significant difference at 5%' END AS verdict
FROM test t, crm.experiment_comparison(t.s, 'A') c, crm.experiment_srm(t.s) srm;

\echo
\echo '== Marketing: the customers most worth saving (crm.churn_risk by value at risk) and what to offer them =='
\echo 'Value at risk = P(lapsed) x purchases a year if still active x spend per purchase day; offers: crm.recommend_products.'
-- The ten first in a MATERIALIZED CTE, their offers after: the same report runs on a distributed
-- CRM (docs/citus.md).
WITH worth_saving AS MATERIALIZED (
    SELECT r.rank, r.contact_id, r.p_lapsed, r.method, r.value_at_risk
    FROM crm.churn_risk(:'marketing_as_of', rank_by => 'value_at_risk') r
    ORDER BY r.rank LIMIT 10
), people AS MATERIALIZED (
    SELECT c.contact_id, c.first_name || ' ' || c.last_name AS customer, c.marketing_consent
    FROM crm.contacts c WHERE c.contact_id IN (SELECT w.contact_id FROM worth_saving w)
), offers AS MATERIALIZED (
    SELECT w.contact_id, string_agg(pr.name, ', ' ORDER BY rp.score DESC, rp.product_id) AS products
    FROM worth_saving w
    CROSS JOIN LATERAL crm.recommend_products(w.contact_id, 3) rp
    JOIN crm.products pr USING (product_id)
    GROUP BY w.contact_id
)
SELECT w.rank, p.customer, round(w.p_lapsed::numeric, 3) AS "P(lapsed)", w.method,
       round(w.value_at_risk::numeric, 2) AS "value at risk", p.marketing_consent AS consent,
       o.products AS "recommended products"
FROM worth_saving w
JOIN people p USING (contact_id)
LEFT JOIN offers o USING (contact_id)
ORDER BY w.rank;
