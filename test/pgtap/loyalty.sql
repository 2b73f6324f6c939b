-- pgTAP: loyalty programs (src/loyalty.sql), the edge cases beyond the worked example
-- (test/sql/loyalty.sql): orders changing after they earned (lines added and removed, moved to
-- another contact, deleted), programs in another currency or inactive, argument errors with their
-- SQLSTATEs, lot and tier details, the append-only ledger, and row-level security (a member and
-- its ledger follow the contact; staff insert only redemptions). Every expected figure is derived
-- by hand in the comments.
BEGIN;
SELECT plan(44);
SET LOCAL TimeZone = 'UTC';

INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (9801, 'LY-A', 'A', 10), (9802, 'LY-B', 'B', 7);
INSERT INTO crm.loyalty_programs (program_id, name, points_expire_months) VALUES (9801, 'ly usd', 6);
INSERT INTO crm.loyalty_programs (program_id, name, currency) VALUES (9802, 'ly eur', 'EUR');
INSERT INTO crm.loyalty_programs (program_id, name, active) VALUES (9803, 'ly off', false);
-- USD: 2 points per dollar, 3 per unit of B; EUR: 100 per order; the inactive one: 1000 per order
INSERT INTO crm.loyalty_earn_rules (program_id, kind, points, product_id) VALUES
    (9801, 'per_currency_unit', 2, NULL), (9801, 'per_product', 3, 9802),
    (9802, 'per_order', 100, NULL), (9803, 'per_order', 1000, NULL);
INSERT INTO crm.loyalty_tiers (program_id, tier, min_spend) VALUES (9801, 'Silver', 50), (9801, 'Gold', 200);

CREATE ROLE ly_ana; CREATE ROLE ly_bob; CREATE ROLE ly_adm;
GRANT crm_sales TO ly_ana, ly_bob; GRANT crm_admin TO ly_adm;
INSERT INTO crm.users (user_id, login_role, full_name, email, role) VALUES
    (9801, 'ly_ana', 'Ana', 'ana@ly.example', 'sales'), (9802, 'ly_bob', 'Bob', 'bob@ly.example', 'sales'),
    (9803, 'ly_adm', 'Adm', 'adm@ly.example', 'admin');
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES (9801, 'Ann', 9801), (9802, 'Bea', 9802), (9803, 'Cid', 9801);

CREATE FUNCTION pg_temp.bal(c bigint, p bigint DEFAULT 9801) RETURNS bigint LANGUAGE sql AS
    $$ SELECT balance FROM crm.loyalty_members WHERE program_id = p AND contact_id = c $$;
CREATE FUNCTION pg_temp.consistent() RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(m.balance = coalesce(l.s, 0) AND m.balance = coalesce(l.r, 0))
    FROM crm.loyalty_members m
    LEFT JOIN (SELECT program_id, contact_id, sum(points) s, sum(remaining) FILTER (WHERE kind = 'earn') r
               FROM crm.loyalty_ledger GROUP BY 1, 2) l USING (program_id, contact_id) $$;

-- Ann's order 1 (1 Jan 2026): 2 x A at 10 = 20: 2 x 20 = 40 points (one lot, expiring 1 Jul 2026).
WITH o AS (INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (9801, 9801, '2026-01-01') RETURNING order_id)
INSERT INTO crm.order_lines (order_line_id, order_id, product_id, quantity, unit_price) SELECT 9801, order_id, 9801, 2, 10 FROM o;
SELECT is(pg_temp.bal(9801), 40::bigint, 'an order earns floor(2 x 20) = 40 points');
SELECT is((SELECT expires_at FROM crm.loyalty_ledger WHERE order_id = 9801 AND kind = 'earn'), '2026-07-01'::timestamptz,
          'the lot expires 6 months after the order');
SELECT is((SELECT tier FROM crm.loyalty_members WHERE contact_id = 9801), NULL, 'spend 20 reaches no tier (Silver from 50): tier NULL');
SELECT is((SELECT count(*)::int FROM crm.loyalty_members WHERE contact_id = 9801), 1, 'the EUR and inactive programs make no member of a USD order');
-- a line of 3 x B at 7.33 = 21.99 added: total 41.99, 2 x 41.99 + 3 x 3 = 92.98, floor 92: 52 more
INSERT INTO crm.order_lines (order_line_id, order_id, product_id, quantity, unit_price) VALUES (9802, 9801, 9802, 3, 7.33);
SELECT is(pg_temp.bal(9801), 92::bigint, 'a line added to a paid order earns the difference: floor(2 x 41.99 + 9) - 40 = 52');
SELECT is((SELECT array_agg(points ORDER BY entry_id) FROM crm.loyalty_ledger WHERE order_id = 9801), '{40,52}'::bigint[],
          'in a second lot');
SELECT is((SELECT tier FROM crm.loyalty_members WHERE contact_id = 9801), NULL, 'tier: spend 41.99 still below 50');
-- the line's quantity changed to 1: total 27.33, 2 x 27.33 + 3 = 57.66, floor 57: 35 reversed
UPDATE crm.order_lines SET quantity = 1 WHERE order_line_id = 9802;
SELECT is(pg_temp.bal(9801), 57::bigint, 'a line reduced reverses the difference (92 - 57 = 35)');
SELECT is((SELECT array_agg(remaining ORDER BY entry_id) FROM crm.loyalty_ledger WHERE order_id = 9801 AND kind = 'earn'),
          '{5,52}'::bigint[], 'the reversal drew on the order''s lots, nearest expiry first (both 1 Jul), then oldest: 40 - 35 = 5 left in the first');
DELETE FROM crm.order_lines WHERE order_line_id = 9802;
SELECT is(pg_temp.bal(9801), 40::bigint, 'a line deleted reverses its points (57 - 40 = 17)');

-- Currency and activity
INSERT INTO crm.orders (order_id, contact_id, ordered_at, currency) VALUES (9802, 9801, '2026-01-02', 'EUR');
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES (9802, 9801, 1, 5);
SELECT is(pg_temp.bal(9801, 9802), 100::bigint, 'a EUR order earns in the EUR program only (100 per order)');
SELECT is(pg_temp.bal(9801), 40::bigint, '... and nothing in the USD program');
SELECT is((SELECT count(*)::int FROM crm.loyalty_members WHERE program_id = 9803), 0, 'the inactive program earns nothing');
INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (9803, 9801, '2026-01-03');
SELECT is(pg_temp.bal(9801), 40::bigint, 'an order without lines earns nothing');
SELECT is(crm.loyalty_order_points(9801, 9803), 0::bigint, 'loyalty_order_points of an order without lines: 0');
SELECT is(crm.loyalty_order_points(9801, 9801), 40::bigint, 'loyalty_order_points of order 1 now: 40');

-- Moved to Bea: reversed for Ann (40), earned by Bea (40, a lot dated the order's date).
UPDATE crm.orders SET contact_id = 9802 WHERE order_id = 9801;
SELECT is(pg_temp.bal(9801) || '/' || pg_temp.bal(9802), '0/40', 'an order moved to another contact: reversed for the old, earned by the new');
SELECT ok(pg_temp.consistent(), 'balances = ledger sums = points left in lots');
-- Deleted: reversed.
DELETE FROM crm.orders WHERE order_id = 9801;
SELECT is(pg_temp.bal(9802), 0::bigint, 'a deleted order is reversed');

-- Tiers: Cid's order of 60 (2 x 60 = 120 points): Silver at once; a second of 150: Gold.
WITH o AS (INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (9804, 9803, '2026-02-01') RETURNING order_id)
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) SELECT order_id, 9801, 6, 10 FROM o;
SELECT is((SELECT tier FROM crm.loyalty_members WHERE contact_id = 9803), 'Silver', 'spend 60: Silver at once');
WITH o AS (INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (9805, 9803, '2026-03-01') RETURNING order_id)
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) SELECT order_id, 9801, 15, 10 FROM o;
SELECT is((SELECT tier || ' ' || rolling_spend FROM crm.loyalty_members WHERE contact_id = 9803), 'Gold 210.00', 'spend 210: Gold at once');
UPDATE crm.orders SET status = 'cancelled' WHERE order_id = 9805;
SELECT is((SELECT tier FROM crm.loyalty_members WHERE contact_id = 9803), 'Gold', 'a cancellation does not downgrade at once');
SELECT is(crm.evaluate_loyalty_tiers('2026-03-02'), 1, 'the tier run downgrades (one member changed)');
SELECT is((SELECT tier FROM crm.loyalty_members WHERE contact_id = 9803), 'Silver', '... Cid to Silver (60)');
DELETE FROM crm.loyalty_tiers WHERE program_id = 9801 AND tier = 'Silver';
SELECT is((SELECT tier FROM crm.loyalty_members WHERE contact_id = 9803), NULL, 'a tier deleted leaves its members without a tier');

-- Redemption errors. Cid has 120 points (lot expiring 1 Aug 2026).
SELECT throws_ok($$SELECT crm.loyalty_redeem(9801, 9803, 0)$$, '22023', NULL, 'redeeming 0 points: 22023');
SELECT throws_ok($$SELECT crm.loyalty_redeem(9801, 9803, -5)$$, '22023', NULL, 'redeeming negative points: 22023');
SELECT throws_ok($$SELECT crm.loyalty_redeem(9801, 9803, NULL)$$, '22004', NULL, 'NULL points: 22004');
SELECT throws_ok($$SELECT crm.loyalty_redeem(9801, 9803, 121, NULL, '2026-04-01')$$, '23514', 'insufficient loyalty points',
                 'one point more than the balance: 23514');
SELECT throws_ok($$SELECT crm.loyalty_redeem(9801, 9803, 1, NULL, '2026-08-01')$$, '23514', 'insufficient loyalty points',
                 'after the lot''s expiry (not yet run) nothing is redeemable');
SELECT is(crm.loyalty_redeem(9801, 9803, 120, 'all', '2026-07-31'), 0::bigint, 'the whole balance is redeemable the day before');
SELECT throws_ok($$SELECT crm.expire_loyalty_points(NULL)$$, '22004', NULL, 'expiry as of NULL: 22004');
SELECT throws_ok($$INSERT INTO crm.loyalty_ledger (program_id, contact_id, kind, points, lot_id) VALUES (9801, 9802, 'expire', -1,
                     (SELECT entry_id FROM crm.loyalty_ledger WHERE contact_id = 9803 AND kind = 'earn' LIMIT 1))$$,
                 '23503', NULL, 'an expiry naming another member''s lot: 23503');

-- Roles. Bea (Bob's) earns 50 points.
WITH o AS (INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (9806, 9802, '2026-05-01') RETURNING order_id)
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) SELECT order_id, 9801, 25, 1 FROM o;
SET LOCAL ROLE ly_ana;
SELECT is((SELECT array_agg(DISTINCT contact_id ORDER BY contact_id) FROM crm.loyalty_members WHERE contact_id BETWEEN 9801 AND 9803),
          '{9801,9803}'::bigint[], 'a rep sees the members of the contacts they own only');
SELECT is((SELECT count(*)::int FROM crm.loyalty_ledger WHERE contact_id = 9802), 0, 'a rep sees no ledger entry of another''s contact');
SELECT throws_ok($$SELECT crm.loyalty_redeem(9801, 9802, 1)$$, '23514', 'insufficient loyalty points',
                 'redeeming for a contact the rep does not see: as for no member (nothing revealed)');
SELECT throws_ok($$INSERT INTO crm.loyalty_ledger (program_id, contact_id, kind, points) VALUES (9801, 9802, 'redeem', -1)$$,
                 '42501', NULL, 'a direct redemption on a contact the rep does not see: 42501 before any balance check');
SELECT throws_ok($$INSERT INTO crm.loyalty_ledger (program_id, contact_id, kind, points, order_id) VALUES (9801, 9801, 'earn', 1000, 9803)$$,
                 '42501', NULL, 'a rep may not write earn entries, even for their own contact');
SELECT throws_ok($$SELECT crm.loyalty_redeem(9801, 9803, 1, NULL, now() - interval '1 day')$$, '42501', NULL,
                 'a rep may not backdate a redemption (it would spend points expired since)');
SELECT throws_ok($$UPDATE crm.loyalty_ledger SET points = points$$, '42501', NULL, 'nobody but the extension updates the ledger');
SELECT throws_ok($$UPDATE crm.loyalty_members SET balance = 1000$$, '42501', NULL, 'nor a member''s balance');
RESET ROLE;
SET LOCAL ROLE ly_adm;
SELECT throws_ok($$DELETE FROM crm.loyalty_ledger$$, '42501', NULL, 'even an admin may not delete ledger entries');
SELECT is(crm.loyalty_redeem(9801, 9802, 30, 'admin', '2026-05-02'), 20::bigint, 'an admin redeems for any contact: 50 - 30 = 20');
RESET ROLE;
SELECT ok(pg_temp.consistent(), 'in the end balances = ledger sums = points left in lots');

SELECT * FROM finish();
ROLLBACK;
