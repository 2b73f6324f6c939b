-- Demo report: retention, churn, cohorts, survival and at-risk customers.
SELECT coalesce((SELECT max(ordered_at) FROM crm.orders), now()) AS retention_as_of \gset

\echo
\echo '== Retention: customers active (a purchase in the last 365 days) at each month start =='
\echo 'S = active at the start, E = at the end, N = active at the end but not the start (new or won back).'
SELECT to_char(m, 'YYYY-MM') AS month, r.customers_at_start AS "S", r.customers_at_end AS "E", r.new_customers AS "N",
       round(r.retention_rate::numeric, 1) AS "retention %"
FROM generate_series(date_trunc('month', :'retention_as_of'::timestamptz) - interval '6 months',
                     date_trunc('month', :'retention_as_of'::timestamptz) - interval '1 month', interval '1 month') m
CROSS JOIN LATERAL crm.retention(m, m + interval '1 month') r;

\echo
\echo '== Cohorts: share of each monthly cohort buying again, months 1 to 6 after the first purchase =='
SELECT to_char(cohort, 'YYYY-MM') AS cohort, max(cohort_size) AS size,
       round(100 * max(share) FILTER (WHERE period_number = 1))::text || '%' AS "m+1",
       round(100 * max(share) FILTER (WHERE period_number = 2))::text || '%' AS "m+2",
       round(100 * max(share) FILTER (WHERE period_number = 3))::text || '%' AS "m+3",
       round(100 * max(share) FILTER (WHERE period_number = 4))::text || '%' AS "m+4",
       round(100 * max(share) FILTER (WHERE period_number = 5))::text || '%' AS "m+5",
       round(100 * max(share) FILTER (WHERE period_number = 6))::text || '%' AS "m+6"
FROM crm.cohort_retention('month', :'retention_as_of')
WHERE cohort >= date_trunc('month', :'retention_as_of'::timestamptz) - interval '12 months'
GROUP BY cohort ORDER BY cohort;

\echo
\echo '== Repeat purchases =='
SELECT round(crm.repeat_purchase_rate(:'retention_as_of')::numeric, 1) AS "repeat purchase rate %",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY usual_gap_days)::numeric, 1) AS "median usual gap, days",
       count(*) AS "repeat customers"
FROM crm.purchase_gaps(:'retention_as_of');

\echo
\echo '== Subscriptions: logo and revenue churn per month =='
SELECT to_char(month, 'YYYY-MM') AS month, customers_at_start AS paying, churned_customers AS churned,
       round(logo_churn_pct::numeric, 1) AS "logo churn %", mrr_at_start AS "MRR at start",
       churned_mrr + contraction_mrr AS "MRR lost", expansion_mrr AS expansion,
       round(mrr_churn_pct::numeric, 1) AS "MRR churn %", round(net_revenue_retention_pct::numeric, 1) AS "NRR %",
       new_mrr AS "new MRR"
FROM crm.subscription_metrics((date_trunc('month', :'retention_as_of'::timestamptz) - interval '6 months')::date,
                              (date_trunc('month', :'retention_as_of'::timestamptz) - interval '1 month')::date);

\echo
\echo '== Subscription lifetimes: Kaplan-Meier (cancellations are events; running plans and upgrades are censored) =='
WITH curve AS (
    SELECT crm.km_fit(extract(epoch FROM coalesce(ended_at, :'retention_as_of'::timestamptz) - started_at)::float8 / 86400,
                      cancel_reason IS NOT NULL) AS c
    FROM crm.subscriptions)
SELECT round(crm.km_survival_at(c, 182.5)::numeric, 3) AS "S(6 months)",
       round(crm.km_survival_at(c, 365)::numeric, 3) AS "S(1 year)",
       round(crm.km_survival_at(c, 730)::numeric, 3) AS "S(2 years)",
       round(crm.km_median(c)::numeric) AS "median days"
FROM curve;

\echo
\echo '== At-risk customers: the ten most likely lapsed (crm.churn_risk) =='
\echo 'P(lapsed) from BG/NBD''s P(alive) (section 20''s model), else from the customer''s own rate shrunk toward the population''s.'
SELECT r.rank, c.first_name || ' ' || c.last_name AS customer, to_char(r.last_order_at, 'YYYY-MM-DD') AS last_order,
       r.days_silent AS "days silent", r.purchase_days AS "purchase days", round(r.p_lapsed::numeric, 3) AS "P(lapsed)",
       r.method, round(r.value_at_risk::numeric, 2) AS "value at risk", r.reason
FROM crm.churn_risk(:'retention_as_of') r
JOIN crm.contacts c USING (contact_id)
ORDER BY r.rank LIMIT 10;
SELECT r.method, count(*) AS customers, count(*) FILTER (WHERE r.p_lapsed > 0.5) AS "P(lapsed) > 0.5",
       round(sum(r.value_at_risk)::numeric) AS "value at risk"
FROM crm.churn_risk(:'retention_as_of') r
GROUP BY r.method ORDER BY r.method;
