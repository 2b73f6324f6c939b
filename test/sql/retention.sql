-- Retention worked by hand on five customers. Times in UTC so that day counts are exact.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = ISO;
\set SHOW_CONTEXT never
SET extra_float_digits = 0;

-- The formula: 200 customers at the start, 180 at the end of which 30 are new: (180 - 30) / 200 = 75%.
SELECT crm.retention_rate(200, 180, 30) AS rate, crm.retention_rate(0, 5, 5) AS no_one_to_retain;
SELECT crm.retention_rate(100, 20, 30);   -- more new customers than customers at the end
SELECT crm.retention_rate(100, 150, 20);  -- 130 retained of 100
SELECT crm.retention_rate(-1, 0, 0);

INSERT INTO crm.contacts (contact_id, first_name) VALUES (1, 'Ann'), (2, 'Ben'), (3, 'Cy'), (4, 'Di'), (5, 'Ed');
-- Ann buys monthly; Ben in January and March; Cy once in February; Di twice in January (her March
-- order was cancelled, so it is no purchase); Ed first buys in March.
INSERT INTO crm.orders (contact_id, ordered_at, status) VALUES
    (1, '2026-01-05', 'paid'), (1, '2026-02-05', 'paid'), (1, '2026-03-05', 'shipped'),
    (2, '2026-01-10', 'paid'), (2, '2026-03-20', 'paid'),
    (3, '2026-02-15', 'paid'),
    (4, '2026-01-20', 'paid'), (4, '2026-01-25', 'paid'), (4, '2026-03-01', 'cancelled'),
    (5, '2026-03-10', 'paid');

-- Active = a purchase in the 30 days up to the instant. On 1 February: Ann, Ben, Di (S = 3).
-- On 31 March: Ann, Ben, Ed (E = 3); Ed is new (N = 1). Retention (3 - 1) / 3 = 66.67%.
SELECT customers_at_start, customers_at_end, new_customers, round(retention_rate::numeric, 2) AS retention_rate
FROM crm.retention('2026-02-01', '2026-03-31', 'orders', '30 days');

-- The cohort triangle by first purchase month, as of 31 March. January: Ann, Ben, Di (3); in
-- February only Ann buys again (1/3), in March Ann and Ben (2/3). February: Cy, who never returns.
-- March: Ed.
SELECT cohort, cohort_size, period_number, customers, round(share::numeric, 3) AS share
FROM crm.cohort_retention('month', '2026-03-31');

-- Three of the five bought at least twice: 60%. Usual gaps: Ann 31 and 28 days (median 29.5),
-- Ben 69 days, Di 5 days.
SELECT crm.repeat_purchase_rate('2026-03-31') AS repeat_rate;
SELECT contact_id, purchase_days, usual_gap_days, mean_gap_days FROM crm.purchase_gaps('2026-03-31') ORDER BY contact_id;

-- At risk on 30 April: Di has been silent 95 days, 19 times her usual 5 days. Ann (56 days, 1.9
-- times 29.5) is not beyond twice her rhythm, Ben (41 days of 69) is fine. At 1.5 times, Ann is too.
SELECT rank, contact_id, round(days_since_last_order::numeric) AS days_silent, round(overdue_ratio::numeric, 2) AS overdue, reason
FROM crm.at_risk_customers('2026-04-30', 2.0);
SELECT rank, contact_id, round(overdue_ratio::numeric, 2) AS overdue FROM crm.at_risk_customers('2026-04-30', 1.5);

-- Subscriptions. Ann: basic (29) from 1 January. Ben: pro (99) 15 January to 20 February.
-- Cy: basic 10 January, upgraded to pro on 10 February. Di: pro from 15 February.
INSERT INTO crm.subscriptions (contact_id, plan, mrr, started_at, ended_at, cancel_reason) VALUES
    (1, 'basic', 29, '2026-01-01', NULL, NULL),
    (2, 'pro', 99, '2026-01-15', '2026-02-20', 'too expensive'),
    (3, 'basic', 29, '2026-01-10', '2026-02-10', NULL),
    (3, 'pro', 99, '2026-02-10', NULL, NULL),
    (4, 'pro', 99, '2026-02-15', NULL, NULL);
-- February: paying on 1 Feb are Ann 29, Ben 99, Cy 29 (MRR 157). Ben leaves (logo churn 1/3,
-- 99 lost: MRR churn 99/157 = 63.06%); Cy expands by 70; net revenue retention (29 + 99) / 157
-- = 81.53%; Di brings 99 of new MRR. January: only Ann on 1 January; Ben and Cy are new (128).
SELECT month, customers_at_start AS paying, churned_customers AS churned, round(logo_churn_pct::numeric, 2) AS logo_churn,
       mrr_at_start, churned_mrr, contraction_mrr, expansion_mrr, round(mrr_churn_pct::numeric, 2) AS mrr_churn,
       round(net_revenue_retention_pct::numeric, 2) AS nrr, new_mrr
FROM crm.subscription_metrics('2026-01-01', '2026-03-01');
-- Retention with subscriptions as the meaning of "active": paying on 1 Feb (Ann, Ben, Cy) and on
-- 1 March (Ann, Cy, Di, of whom Di is new): (3 - 1) / 3.
SELECT customers_at_start, customers_at_end, new_customers, round(retention_rate::numeric, 2) AS retention_rate
FROM crm.retention('2026-02-01', '2026-03-01', 'subscriptions');

-- Time to churn of the subscriptions as a survival curve (days; running ones are censored on
-- 1 April): Ben 36 days (event), Cy's basic plan 31 days (an upgrade, not churn: censored).
SELECT crm.km_median(crm.km_fit(extract(epoch FROM coalesce(ended_at, '2026-04-01') - started_at) / 86400,
                                cancel_reason IS NOT NULL)) AS median_days_to_churn,
       (SELECT count(*) FROM crm.km_table((SELECT crm.km_fit(extract(epoch FROM coalesce(ended_at, '2026-04-01') - started_at) / 86400,
                                cancel_reason IS NOT NULL) FROM crm.subscriptions))) AS distinct_times
FROM crm.subscriptions;

SELECT * FROM crm.cohort_retention('year');
SELECT * FROM crm.retention('2026-02-01', '2026-03-01', 'vibes');
SELECT * FROM crm.retention('2026-03-01', '2026-02-01');

-- Leave the database as the next worked example expects it.
DELETE FROM crm.subscriptions;
DELETE FROM crm.orders;
DELETE FROM crm.contacts;
