-- Demo report, section 0: what the CRM holds. Time windows end at the latest recorded event
-- (order or activity), or now() in an empty CRM, so a generated history reads the same any day.
\set QUIET on
\pset footer off
\pset null '-'
SELECT coalesce(greatest((SELECT max(ordered_at) FROM crm.orders), (SELECT max(occurred_at) FROM crm.activities)),
                now()) AS report_as_of \gset
SELECT to_char(:'report_as_of'::timestamptz, 'YYYY-MM-DD') AS report_date \gset

\echo
\echo '== The CRM at a glance ==' (data as of :report_date)

\echo
\echo '-- Records'
SELECT entity AS "entity", to_char(n, '999G999G999G990') AS "rows"
FROM (VALUES
    (1, 'staff users',        (SELECT count(*) FROM crm.users)),
    (2, 'accounts',           (SELECT count(*) FROM crm.accounts)),
    (3, 'contacts',           (SELECT count(*) FROM crm.contacts)),
    (4, '  with marketing consent', (SELECT count(*) FROM crm.contacts WHERE marketing_consent)),
    (5, 'leads',              (SELECT count(*) FROM crm.leads)),
    (6, 'opportunities',      (SELECT count(*) FROM crm.opportunities)),
    (7, '  stage changes',    (SELECT count(*) FROM crm.opportunity_stage_history)),
    (8, 'activities',         (SELECT count(*) FROM crm.activities)),
    (9, 'products',           (SELECT count(*) FROM crm.products)),
    (10, 'orders',            (SELECT count(*) FROM crm.orders)),
    (11, '  order lines',     (SELECT count(*) FROM crm.order_lines)),
    (12, '  customers who bought', (SELECT count(*) FROM crm.customer_order_stats)),
    (13, 'tickets',           (SELECT count(*) FROM crm.tickets)),
    (14, 'survey responses',  (SELECT count(*) FROM crm.survey_responses)),
    (15, 'campaigns',         (SELECT count(*) FROM crm.campaigns)),
    (16, '  campaign members', (SELECT count(*) FROM crm.campaign_members)),
    (17, 'tasks',             (SELECT count(*) FROM crm.tasks)),
    (18, '  open or in progress', (SELECT count(*) FROM crm.tasks WHERE status IN ('open', 'in_progress')))
) AS v(i, entity, n)
ORDER BY i;

\echo
\echo '-- Contacts by lifecycle stage'
SELECT lifecycle_stage AS "stage", to_char(count(*), '999G999G990') AS "contacts",
       to_char(100.0 * count(*) / sum(count(*)) OVER (), 'FM990.0') || '%' AS "share"
FROM crm.contacts
GROUP BY lifecycle_stage
ORDER BY array_position(ARRAY['subscriber', 'lead', 'marketing_qualified', 'sales_qualified', 'opportunity',
                              'customer', 'evangelist', 'churned'], lifecycle_stage);

\echo
\echo '-- Open pipeline by stage (USD; weighted = amount x stage probability)'
SELECT coalesce(s.name, 'all open') AS "stage", trim_scale(s.probability) || '%' AS "probability",
       to_char(count(o.*), '999G990') AS "deals",
       to_char(coalesce(sum(o.amount), 0), '999G999G999G990') AS "amount",
       to_char(coalesce(sum(o.amount * s.probability / 100), 0), '999G999G999G990') AS "weighted"
FROM crm.pipeline_stages s
LEFT JOIN crm.opportunities o ON o.stage_id = s.stage_id
WHERE NOT s.is_won AND NOT s.is_lost AND s.active
GROUP BY GROUPING SETS ((s.position, s.name, s.probability), ())
ORDER BY s.position NULLS LAST;

\echo
\echo '-- Deals closed in the last 12 months'
SELECT CASE WHEN s.is_won THEN 'won' ELSE 'lost' END AS "outcome",
       to_char(count(*), '999G990') AS "deals",
       to_char(sum(o.amount), '999G999G999G990') AS "amount",
       to_char(extract(epoch FROM avg(o.closed_at - o.created_at)) / 86400, '99990') AS "avg days to close"
FROM crm.opportunities o JOIN crm.pipeline_stages s USING (stage_id)
WHERE (s.is_won OR s.is_lost) AND o.closed_at > :'report_as_of'::timestamptz - interval '12 months'
GROUP BY s.is_won
ORDER BY s.is_won DESC;

\echo
\echo '-- Activity by channel (last 90 days against the 90 before)'
SELECT a.channel AS "channel", to_char(count(*), '999G999G990') AS "activities",
       to_char(count(DISTINCT a.contact_id), '999G999G990') AS "contacts",
       to_char(count(*) FILTER (WHERE a.occurred_at > :'report_as_of'::timestamptz - interval '90 days'), '999G999G990') AS "last 90 days",
       to_char(count(*) FILTER (WHERE a.occurred_at <= :'report_as_of'::timestamptz - interval '90 days'
                                  AND a.occurred_at > :'report_as_of'::timestamptz - interval '180 days'), '999G999G990') AS "90 days before",
       to_char(count(*) FILTER (WHERE a.occurred_at <= :'report_as_of'::timestamptz - interval '180 days'), '999G999G990') AS "earlier",
       to_char(max(a.occurred_at), 'YYYY-MM-DD') AS "latest"
FROM crm.activities a
GROUP BY a.channel
ORDER BY count(*) DESC;

\echo
\echo '-- Purchases per month, last 12 months (paid or shipped orders)'
SELECT to_char(m.month, 'YYYY-MM') AS "month",
       to_char(count(o.order_id), '999G990') AS "orders",
       to_char(count(DISTINCT o.contact_id), '999G990') AS "customers",
       to_char(count(DISTINCT o.contact_id) FILTER (WHERE date_trunc('month', s.first_order_at) = m.month), '999G990') AS "new",
       to_char(coalesce(sum(o.total), 0), '999G999G990') AS "revenue",
       to_char(avg(o.total), '999G990.00') AS "avg order"
FROM generate_series(date_trunc('month', :'report_as_of'::timestamptz) - interval '11 months',
                     date_trunc('month', :'report_as_of'::timestamptz), interval '1 month') AS m(month)
LEFT JOIN crm.purchases o ON o.ordered_at >= m.month AND o.ordered_at < m.month + interval '1 month'
LEFT JOIN crm.customer_order_stats s ON s.contact_id = o.contact_id
GROUP BY m.month
ORDER BY m.month;

\echo
\echo '-- Tickets by status and priority (first response: median hours, among answered tickets)'
SELECT t.status AS "status", t.priority AS "priority", to_char(count(*), '999G990') AS "tickets",
       to_char(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY t.first_response_at - t.opened_at)) / 3600,
               '99990.0') AS "median first response h",
       to_char(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY t.resolved_at - t.opened_at)) / 3600,
               '99990.0') AS "median resolution h"
FROM crm.tickets t
GROUP BY t.status, t.priority
ORDER BY array_position(ARRAY['new', 'open', 'pending', 'resolved', 'closed'], t.status),
         array_position(ARRAY['urgent', 'high', 'normal', 'low'], t.priority);
