-- Loyalty programs worked by hand (docs/loyalty.md). Times in UTC.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = ISO;
\set SHOW_CONTEXT never
\set VERBOSITY terse

-- A program in USD: 10 points per order, 1 point per dollar of the order total, 5 more points per
-- unit of the product Gift card; points expire 12 months after they are earned; tiers by the spend
-- of the last 12 months: Bronze from 0, Silver from 100, Gold from 500.
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (1, 'MUG', 'Mug', 10.50), (2, 'GIFT', 'Gift card', 25);
INSERT INTO crm.loyalty_programs (program_id, name, points_expire_months) VALUES (1, 'Rewards', 12);
INSERT INTO crm.loyalty_earn_rules (program_id, kind, points, product_id) VALUES
    (1, 'per_order', 10, NULL), (1, 'per_currency_unit', 1, NULL), (1, 'per_product', 5, 2);
INSERT INTO crm.loyalty_tiers (program_id, tier, min_spend) VALUES (1, 'Bronze', 0), (1, 'Silver', 100), (1, 'Gold', 500);
INSERT INTO crm.contacts (contact_id, first_name) VALUES (1, 'Ann'), (2, 'Ben'), (3, 'Cy');

-- Ann, order 1 on 10 January 2026: 3 mugs at 10.50 = 31.50. Points 10 + 31.50 = 41.5, floored: 41,
-- one lot expiring 10 January 2027. Spend of the 12 months up to the order 31.50: Bronze.
WITH o AS (INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (1, 1, '2026-01-10') RETURNING order_id)
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) SELECT order_id, 1, 3, 10.50 FROM o;
-- Order 2 on 1 March: 4 gift cards at 25 = 100. Points 10 + 100 + 4 x 5 = 130, expiring 1 March
-- 2027. Spend 31.50 + 100 = 131.50: Silver (an upgrade at once).
WITH o AS (INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (2, 1, '2026-03-01') RETURNING order_id)
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) SELECT order_id, 2, 4, 25 FROM o;
-- Order 3 on 1 May, pending: 1 mug at 400 earns nothing until it is paid.
WITH o AS (INSERT INTO crm.orders (order_id, contact_id, ordered_at, status) VALUES (3, 1, '2026-05-01', 'pending') RETURNING order_id)
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) SELECT order_id, 1, 1, 400 FROM o;
SELECT balance, tier, rolling_spend FROM crm.loyalty_members WHERE contact_id = 1;   -- 41 + 130 = 171, Silver, 131.50
-- Paid: 10 + 400 = 410 points, expiring 1 May 2027. Spend 531.50: Gold.
UPDATE crm.orders SET status = 'paid' WHERE order_id = 3;
SELECT entry_id, kind, points, remaining, expires_at, order_id FROM crm.loyalty_ledger WHERE contact_id = 1 ORDER BY entry_id;
SELECT balance, tier, rolling_spend, tier_evaluated_at FROM crm.loyalty_members WHERE contact_id = 1;  -- 581, Gold, 531.50

-- Ann redeems 50 on 1 June: from the lot nearest to expiry first, order 1's (41, emptied), then
-- 9 of order 2's (130 - 9 = 121). Balance 581 - 50 = 531.
SELECT crm.loyalty_redeem(1, 1, 50, 'voucher 1', '2026-06-01') AS balance;
-- Order 2 is refunded: its 130 points are reversed, from its own lot first (121 left), then from
-- the other lots nearest to expiry: order 1's is empty, order 3's gives 9 (410 - 9 = 401).
-- Recovered 130, nothing unrecovered; balance 531 - 130 = 401.
UPDATE crm.orders SET status = 'refunded' WHERE order_id = 2;
SELECT entry_id, kind, points, remaining, unrecovered, order_id, reference FROM crm.loyalty_ledger WHERE contact_id = 1 ORDER BY entry_id;
SELECT balance FROM crm.loyalty_members WHERE contact_id = 1;

-- Ben, order 4 on 1 February: 2 mugs at 20 = 40, 10 + 40 = 50 points. He redeems 45 on 15
-- February (5 left in the lot), then the order is cancelled: 50 to reverse, 5 recovered from its
-- lot, no other lot: 45 unrecovered (already spent). The balance stops at 0.
WITH o AS (INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (4, 2, '2026-02-01') RETURNING order_id)
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) SELECT order_id, 1, 2, 20 FROM o;
SELECT crm.loyalty_redeem(1, 2, 45, 'voucher 2', '2026-02-15') AS balance;
UPDATE crm.orders SET status = 'cancelled' WHERE order_id = 4;
SELECT kind, points, remaining, unrecovered FROM crm.loyalty_ledger WHERE contact_id = 2 ORDER BY entry_id;
SELECT balance FROM crm.loyalty_members WHERE contact_id = 2;

-- Cy, order 5 on 1 January 2025: 1 mug at 90, 10 + 90 = 100 points expiring 1 January 2026. On
-- 1 February 2026 the balance is still 100 (no expiry run yet), but the lot has expired: nothing
-- is redeemable (23514).
WITH o AS (INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (5, 3, '2025-01-01') RETURNING order_id)
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) SELECT order_id, 1, 1, 90 FROM o;
SELECT crm.loyalty_redeem(1, 3, 10, NULL, '2026-02-01');
SELECT crm.loyalty_redeem(1, 3, 0);
SELECT crm.loyalty_redeem(1, 99, 1);

-- The expiry run on 1 February 2026: Cy's lot (100 left). Again: nothing (idempotent).
SELECT crm.expire_loyalty_points('2026-02-01') AS expired, crm.expire_loyalty_points('2026-02-01') AS again;
-- On 1 May 2027: Ann's order 3 lot expires with its 401 points (order 1's and 2's are empty).
SELECT crm.expire_loyalty_points('2027-05-01') AS expired;
SELECT m.contact_id, m.balance, (SELECT sum(l.points) FROM crm.loyalty_ledger l WHERE l.contact_id = m.contact_id) AS ledger,
       (SELECT sum(l.remaining) FROM crm.loyalty_ledger l WHERE l.contact_id = m.contact_id AND l.kind = 'earn') AS in_lots
FROM crm.loyalty_members m ORDER BY 1;

-- Tiers on 31 December 2026, 12 months back: Ann's purchases are orders 1 (31.50) and 3 (400):
-- 431.50, Gold down to Silver; Ben 0 (order 4 cancelled): Bronze; Cy 0 (order 5 is older):
-- Bronze (he had Bronze from 90). One member changed tier.
SELECT crm.evaluate_loyalty_tiers('2026-12-31') AS changed;
-- On 2 May 2027 nothing of Ann's is in the window: Bronze.
SELECT crm.evaluate_loyalty_tiers('2027-05-02') AS changed;
SELECT contact_id, balance, tier, rolling_spend, tier_evaluated_at FROM crm.loyalty_members ORDER BY contact_id;

-- clean up (the worked examples share one database)
DELETE FROM crm.orders WHERE order_id BETWEEN 1 AND 5;
DELETE FROM crm.loyalty_programs WHERE program_id = 1;
DELETE FROM crm.contacts WHERE contact_id IN (1, 2, 3);
DELETE FROM crm.products WHERE product_id IN (1, 2);
SELECT setval('crm.orders_order_id_seq', 1, false), setval('crm.order_lines_order_line_id_seq', 1, false),
       setval('crm.loyalty_ledger_entry_id_seq', 1, false), setval('crm.loyalty_programs_program_id_seq', 1, false),
       setval('crm.loyalty_earn_rules_rule_id_seq', 1, false);
