-- pgTAP: campaign touches and performance (src/campaign_performance.sql). One campaign worked by
-- hand per month, per quarter, over all time and within a segment; the cost spread over the
-- campaign's days; a campaign without dates; what a rep sees (row-level security as for contacts);
-- who may call it; errors.
BEGIN;
SELECT plan(13);
SET LOCAL timezone = 'UTC';

-- Staff: rep Rae (user 4901) owns contact 4101 only.
CREATE ROLE cp_rae; GRANT crm_sales TO cp_rae;
CREATE ROLE cp_sue; GRANT crm_support TO cp_sue;
INSERT INTO crm.users (user_id, login_role, full_name, email, role) VALUES (4901, 'cp_rae', 'Rae', 'rae@cp.example', 'sales');
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES (4101, 'A', 4901), (4102, 'B', NULL), (4103, 'C', NULL), (4104, 'D', NULL);

-- Campaign 4001 runs 2026-03-01 to 2026-04-30: 31 + 30 = 61 days, cost 6100.00 = 100.00 a day:
-- March 3100.00, April 3000.00. Campaign 4002 has no dates: its budget (500.00, no cost known yet)
-- falls in the month it was created, March.
INSERT INTO crm.campaigns (campaign_id, name, channel, starts_on, ends_on, budget, cost) VALUES
    (4001, 'Spring sale', 'email', '2026-03-01', '2026-04-30', 8000, 6100);
INSERT INTO crm.campaigns (campaign_id, name, channel, budget, created_at) VALUES (4002, 'Teaser', 'social', 500, '2026-03-15 12:00');
-- Members: 4101 sent and 4102 responded (added in March), 4103 only targeted (not reached), 4104
-- converted (added in April). Reach: March 2, April 1.
INSERT INTO crm.campaign_members (campaign_id, contact_id, status, added_at, variant) VALUES
    (4001, 4101, 'sent', '2026-03-01 12:00', 'A'), (4001, 4102, 'responded', '2026-03-01 12:00', 'B'),
    (4001, 4103, 'targeted', '2026-03-01 12:00', 'A'), (4001, 4104, 'converted', '2026-04-02 12:00', 'B');
-- Touches: 4101 twice and 4102 once in March (2 contacts responded), 4104 in April (1); one touch
-- without a campaign does not count.
INSERT INTO crm.activities (contact_id, owner_id, channel, kind, occurred_at, campaign_id, campaign_variant) VALUES
    (4101, 4901, 'email', 'email_open', '2026-03-05 12:00', 4001, 'A'), (4101, 4901, 'email', 'email_click', '2026-03-06 12:00', 4001, 'A'),
    (4102, NULL, 'email', 'email_reply', '2026-03-10 12:00', 4001, 'B'), (4104, NULL, 'email', 'email_click', '2026-04-03 12:00', 4001, 'B'),
    (4103, NULL, 'web', 'page_view', '2026-03-10 12:00', NULL, NULL);
-- Leads: one in March (4102), one in April (4104).
INSERT INTO crm.leads (contact_id, source, created_at, campaign_id, campaign_variant) VALUES
    (4102, 'email', '2026-03-12 12:00', 4001, 'B'), (4104, 'email', '2026-04-04 12:00', 4001, 'B');
-- Orders: 4102 pays 300.00 in March; 4104 buys twice in April (1000.00 shipped, 200.00 paid); 4101's
-- cancelled order is not a purchase. March: 1 customer, 1 conversion, 300.00; April: 1, 2, 1200.00.
INSERT INTO crm.orders (contact_id, ordered_at, status, total, campaign_id, campaign_variant) VALUES
    (4102, '2026-03-20 12:00', 'paid', 300, 4001, 'B'), (4104, '2026-04-10 12:00', 'shipped', 1000, 4001, 'B'),
    (4104, '2026-04-15 12:00', 'paid', 200, 4001, 'B'), (4101, '2026-03-25 12:00', 'cancelled', 50, 4001, 'A');

-- By month. March: cost per lead 3100 / 1, per customer 3100 / 1, ROI (300 - 3100) / 3100 = -0.9032;
-- April: 3000 / 1, 3000 / 1, (1200 - 3000) / 3000 = -0.6. Campaign 4002: 500, ROI (0 - 500) / 500 = -1.
SELECT results_eq(
    $$SELECT campaign_id, period_start, reach, responses, leads, customers, conversions, revenue, cost,
             cost_per_lead, cost_per_customer, roi
      FROM crm.campaign_performance('month') WHERE campaign_id IN (4001, 4002)$$,
    $$VALUES (4001::bigint, timestamptz '2026-03-01', 2::bigint, 2::bigint, 1::bigint, 1::bigint, 1::bigint, 300.00::numeric, 3100.00::numeric, 3100.00::numeric, 3100.00::numeric, -0.9032::numeric),
             (4001, '2026-04-01', 1, 1, 1, 1, 2, 1200.00, 3000.00, 3000.00, 3000.00, -0.6000),
             (4002, '2026-03-01', 0, 0, 0, 0, 0, 0, 500.00, NULL, NULL, -1.0000)$$,
    'per month: reach, responses, leads, customers, conversions, revenue, cost spread by day, ratios and ROI');
-- All time: reach 3, responses 3 (4101, 4102, 4104), 2 leads, 2 customers, 3 conversions, 1500.00;
-- cost 6100.00; per lead and per customer 3050.00; ROI (1500 - 6100) / 6100 = -0.754098 -> -0.7541.
SELECT results_eq(
    $$SELECT reach, responses, leads, customers, conversions, revenue, cost, cost_per_lead, cost_per_customer, roi, period_start
      FROM crm.campaign_performance('all') WHERE campaign_id = 4001$$,
    $$VALUES (3::bigint, 3::bigint, 2::bigint, 2::bigint, 3::bigint, 1500.00::numeric, 6100.00::numeric, 3050.00::numeric, 3050.00::numeric, -0.7541::numeric, NULL::timestamptz)$$,
    'over all time, one row with no period');
-- By quarter: March is the last month of Q1 (3100.00), April the first of Q2 (3000.00).
SELECT results_eq(
    $$SELECT period_start, cost FROM crm.campaign_performance('quarter') WHERE campaign_id = 4001$$,
    $$VALUES (timestamptz '2026-01-01', 3100.00::numeric), ('2026-04-01', 3000.00)$$,
    'by quarter: each quarter takes the campaign days it holds');
-- By week: 61 days over the ISO weeks from Monday 2026-02-23 (1 day, Sunday 03-01) to the week of
-- Monday 2026-04-27 (4 days): 100.00 a day, 6100.00 in all.
SELECT results_eq(
    $$SELECT count(*)::int, sum(cost), min(cost), (array_agg(cost ORDER BY period_start DESC))[1]
      FROM crm.campaign_performance('week') WHERE campaign_id = 4001 AND cost IS NOT NULL$$,
    $$VALUES (10, 6100.00::numeric, 100.00::numeric, 400.00::numeric)$$,
    'by week: the cost adds up to the whole, the first week holds 1 day and the last 4');
-- Within segment 41 (contact 4104 only): reach 1, responses 1, leads 1, customers 1, conversions 2,
-- revenue 1200.00; the cost stays the campaign's: ROI (1200 - 6100) / 6100 = -0.803279 -> -0.8033.
INSERT INTO crm.segments (segment_id, name, combine) VALUES (41, 'D only', 'and');
INSERT INTO crm.segment_members (segment_id, contact_id, entered_at) VALUES (41, 4104, '2026-01-01');
SELECT results_eq(
    $$SELECT reach, responses, leads, customers, conversions, revenue, cost, roi
      FROM crm.campaign_performance('all', 41) WHERE campaign_id = 4001$$,
    $$VALUES (1::bigint, 1::bigint, 1::bigint, 1::bigint, 2::bigint, 1200.00::numeric, 6100.00::numeric, -0.8033::numeric)$$,
    'within a segment: only its contacts count');
SELECT throws_ok($$SELECT * FROM crm.campaign_performance('fortnight')$$, '22023',
                 'period must be day, week, month, quarter, year or all', 'an unknown period: 22023');
SELECT is((SELECT count(*)::int FROM crm.campaign_performance('year') WHERE campaign_id = 4001), 1, 'by year: one row');

-- The rep sees his own contact's rows only: 4101 reached, one response (his two touches), nothing
-- else; campaigns (and so costs) are visible to every rep.
SET LOCAL ROLE cp_rae;
SELECT results_eq(
    $$SELECT reach, responses, leads, customers, conversions, revenue, cost
      FROM crm.campaign_performance('all') WHERE campaign_id = 4001$$,
    $$VALUES (1::bigint, 1::bigint, 0::bigint, 0::bigint, 0::bigint, 0::numeric, 6100.00::numeric)$$,
    'a rep counts only the contacts he may see');
RESET ROLE;
SET LOCAL ROLE cp_sue;
SELECT throws_ok($$SELECT * FROM crm.campaign_performance()$$, '42501', NULL, 'support may not call it');
RESET ROLE;
SELECT ok(NOT has_function_privilege('public', 'crm.campaign_performance(text, bigint)', 'EXECUTE'), 'not executable by PUBLIC');

-- The variants compared by the experiment aggregate (the example of docs/campaigns.md): A holds
-- 4101 and 4103 (no purchase), B 4102 (300.00) and 4104 (1200.00): B has 2 users, 2 conversions,
-- 750.00 per user.
SELECT results_eq(
    $$SELECT c.variant, c.users, c.conversions, c.revenue_per_user
      FROM (SELECT crm.experiment_stats(m.variant, o.revenue IS NOT NULL, o.revenue) s
            FROM crm.campaign_members m
            LEFT JOIN (SELECT p.contact_id, sum(p.total)::float8 AS revenue
                       FROM crm.purchases p JOIN crm.orders o USING (order_id)
                       WHERE o.campaign_id = 4001 GROUP BY p.contact_id) o USING (contact_id)
            WHERE m.campaign_id = 4001) q,
           crm.experiment_comparison(q.s, 'A') c$$,
    $$VALUES ('B'::text, 2::bigint, 2::bigint, 750::float8)$$,
    'a campaign''s variants through crm.experiment_stats');

-- Campaigns and variants on the touch tables; deleting a campaign keeps the touches, without it.
SELECT is((SELECT count(*)::int FROM crm.orders WHERE campaign_variant = 'B'), 3, 'orders record the variant');
DELETE FROM crm.campaigns WHERE campaign_id = 4002;
UPDATE crm.campaigns SET cost = NULL WHERE campaign_id = 4001;
SELECT is((SELECT cost FROM crm.campaign_performance('all') WHERE campaign_id = 4001), 8000.00::numeric,
          'without a known cost the budget stands in');

SELECT * FROM finish();
ROLLBACK;
