-- pgTAP: product co-occurrence and recommendations (src/recommendations.sql). A small basket data
-- set with every count and measure derived by hand; the top-n lists per metric; ties; cancelled
-- orders; incremental maintenance (triggers) equal to a full rebuild after random inserts,
-- deletes, cancellations, refunds, reinstatements and reassignments; row-level security; errors.
BEGIN;
SELECT plan(31);

-- Products A..F = 9101..9106; F (9106) is inactive. Contacts 9301..9306 (rep Rae owns 9301).
CREATE ROLE rc_rae; GRANT crm_sales TO rc_rae;
CREATE ROLE rc_mo; GRANT crm_manager TO rc_mo;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (9391, 'rc_rae', 'Rae', 'rae@rc.example', 'sales', 'north'),
    (9392, 'rc_mo', 'Mo', 'mo@rc.example', 'manager', 'north');
UPDATE crm.users SET manager_id = 9392 WHERE user_id = 9391;
INSERT INTO crm.products (product_id, sku, name, unit_price, active) VALUES
    (9101, 'RC-A', 'A', 10, true), (9102, 'RC-B', 'B', 10, true), (9103, 'RC-C', 'C', 10, true),
    (9104, 'RC-D', 'D', 10, true), (9105, 'RC-E', 'E', 10, true), (9106, 'RC-F', 'F', 10, false);
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES
    (9301, 'c1', 9391), (9302, 'c2', NULL), (9303, 'c3', NULL), (9304, 'c4', NULL), (9305, 'c5', NULL),
    (9306, 'c6', NULL), (9307, 'c7', NULL);
SELECT is(coalesce((SELECT customers FROM crm.product_pair_totals), 0), 0::bigint, 'no purchases yet: N = 0');

-- Baskets (over all of a customer's purchases; A and B of c1 in two different orders):
--   c1 = {A, B, C, F}   c2 = {A, B}   c3 = {A, C}   c4 = {B, D}   c5 = {D}   c6 = {A} (+ B cancelled)
--   c7: only a pending order of E, nothing purchased. E is never purchased.
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status) VALUES
    (9401, 9301, '2026-01-01', 'paid'), (9402, 9301, '2026-01-05', 'shipped'), (9403, 9302, '2026-01-02', 'paid'),
    (9404, 9303, '2026-01-02', 'paid'), (9405, 9304, '2026-01-03', 'paid'), (9406, 9305, '2026-01-03', 'shipped'),
    (9407, 9306, '2026-01-04', 'paid'), (9408, 9306, '2026-01-04', 'cancelled'), (9409, 9307, '2026-01-04', 'pending');
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES
    (9401, 9101, 1, 10), (9401, 9106, 1, 10), (9402, 9102, 2, 10), (9402, 9103, 1, 10), (9402, 9101, 1, 10),
    (9403, 9101, 1, 10), (9403, 9102, 1, 10), (9404, 9101, 1, 10), (9404, 9103, 3, 10),
    (9405, 9102, 1, 10), (9405, 9104, 1, 10), (9406, 9104, 1, 10), (9407, 9101, 1, 10), (9408, 9102, 1, 10),
    (9409, 9105, 1, 10);

-- N = 6 (c1..c6). n_A = c1 c2 c3 c6 = 4; n_B = c1 c2 c4 = 3; n_C = c1 c3 = 2; n_D = c4 c5 = 2; n_F = c1 = 1.
SELECT is((SELECT customers FROM crm.product_pair_totals), 6::bigint, 'N: six customers with a purchased product');
SELECT results_eq(
    $$SELECT product_id, customers FROM crm.product_buyers WHERE product_id BETWEEN 9101 AND 9106 ORDER BY 1$$,
    $$VALUES (9101::bigint, 4::bigint), (9102, 3), (9103, 2), (9104, 2), (9106, 1)$$,
    'n_a per product (the cancelled B of c6 and the pending E of c7 do not count)');
-- n_AB = c1 c2 = 2; n_AC = c1 c3 = 2; n_AF = 1 (c1); n_BC = 1 (c1); n_BD = 1 (c4); n_BF = n_CF = 1 (c1).
SELECT results_eq(
    $$SELECT product_a, product_b, customers FROM crm.product_pairs WHERE product_a BETWEEN 9101 AND 9106 ORDER BY 1, 2$$,
    $$VALUES (9101::bigint, 9102::bigint, 2::bigint), (9101, 9103, 2), (9101, 9106, 1), (9102, 9103, 1),
             (9102, 9104, 1), (9102, 9106, 1), (9103, 9106, 1)$$,
    'n_ab per pair of products bought by one customer');
-- A -> C: support 2/6 = 0.333333, confidence 2/4 = 0.5, lift 0.5 / (2/6) = 1.5, cosine 2/sqrt(4*2) = 0.707107.
-- C -> A: support 1/3, confidence 2/2 = 1, lift 1 / (4/6) = 1.5, cosine 0.707107.
-- B -> D: support 1/6 = 0.166667, confidence 1/3 = 0.333333, lift (1/3) / (2/6) = 1, cosine 1/sqrt(6) = 0.408248.
SELECT results_eq(
    $$SELECT antecedent, consequent, round(support::numeric, 6), round(confidence::numeric, 6), round(lift::numeric, 6), round(cosine::numeric, 6)
      FROM crm.product_associations WHERE (antecedent, consequent) IN ((9101, 9103), (9103, 9101), (9102, 9104)) ORDER BY 1, 2$$,
    $$VALUES (9101::bigint, 9103::bigint, 0.333333, 0.500000, 1.500000, 0.707107),
             (9102, 9104, 0.166667, 0.333333, 1.000000, 0.408248),
             (9103, 9101, 0.333333, 1.000000, 1.500000, 0.707107)$$,
    'support, confidence, lift and cosine of three rules');

-- c2 = {A, B}. Candidates C (with A: n_AC = 2; with B: n_BC = 1), D (with B: n_BD = 1); F is
-- inactive. cosine: C by A 2/sqrt(8) = 0.707107 (by B 1/sqrt(6) = 0.408248), D by B 0.408248.
SELECT results_eq(
    $$SELECT product_id, round(score::numeric, 6), because_of FROM crm.recommend_products(9302, 5)$$,
    $$VALUES (9103::bigint, 0.707107, 9101::bigint), (9104, 0.408248, 9102)$$,
    'c2, cosine (the default): C because of A, then D because of B');
-- lift: C by A 2*6/(4*2) = 1.5 (by B 1*6/(3*2) = 1), D by B 1*6/(3*2) = 1.
SELECT results_eq(
    $$SELECT product_id, score, because_of FROM crm.recommend_products(9302, 5, 'lift')$$,
    $$VALUES (9103::bigint, 1.5::float8, 9101::bigint), (9104, 1, 9102)$$,
    'c2, lift');
-- confidence: C by A 2/4 = 0.5 (by B 1/3), D by B 1/3.
SELECT results_eq(
    $$SELECT product_id, round(score::numeric, 6), because_of FROM crm.recommend_products(9302, 5, 'confidence')$$,
    $$VALUES (9103::bigint, 0.5::numeric, 9101::bigint), (9104, 0.333333, 9102)$$,
    'c2, confidence');
-- support: C by A 2/6, D by B 1/6.
SELECT results_eq(
    $$SELECT product_id, round(score::numeric, 6), because_of FROM crm.recommend_products(9302, 5, 'support')$$,
    $$VALUES (9103::bigint, 0.333333, 9101::bigint), (9104, 0.166667, 9102)$$,
    'c2, support');
-- c4 = {B, D}, lift: A by B 2*6/(3*4) = 1, C by B 1*6/(3*2) = 1: a tie, in product order.
SELECT results_eq(
    $$SELECT product_id, score, because_of FROM crm.recommend_products(9304, 5, 'lift')$$,
    $$VALUES (9101::bigint, 1::float8, 9102::bigint), (9103, 1, 9102)$$,
    'ties in product order');
-- c6 = {A} (B cancelled: not purchased, so recommended): C 2/sqrt(8) = 0.707107, B 2/sqrt(12) =
-- 0.577350; n = 1 keeps C.
SELECT results_eq(
    $$SELECT product_id, round(score::numeric, 6), because_of FROM crm.recommend_products(9306, 1)$$,
    $$VALUES (9103::bigint, 0.707107, 9101::bigint)$$,
    'c6: top 1, a cancelled purchase is not excluded');
SELECT is_empty($$SELECT * FROM crm.recommend_products(9307, 5)$$, 'a customer without purchases gets none');
SELECT is_empty($$SELECT * FROM crm.recommend_products(NULL, 5)$$, 'NULL contact: none');
SELECT throws_ok($$SELECT * FROM crm.recommend_products(9302, 0)$$, '22023', NULL, 'n = 0 is refused');
SELECT throws_ok($$SELECT * FROM crm.recommend_products(9302, -1)$$, '22023', NULL, 'negative n is refused');
SELECT throws_ok($$SELECT * FROM crm.recommend_products(9302, 5, 'jaccard')$$, '22023', NULL, 'an unknown metric is refused');
SELECT throws_ok($$SELECT * FROM crm.recommend_products(9399, 5)$$, '42501', NULL, 'an unknown contact is refused');

-- Cancelling c1's second order: c1 = {A, F}. N 6; n_B 2, n_C 1; pairs AB 1, AC 1, BC 0, BF 0, CF 0.
UPDATE crm.orders SET status = 'cancelled' WHERE order_id = 9402;
SELECT results_eq(
    $$SELECT product_a, product_b, customers FROM crm.product_pairs WHERE product_a BETWEEN 9101 AND 9106 ORDER BY 1, 2$$,
    $$VALUES (9101::bigint, 9102::bigint, 1::bigint), (9101, 9103, 1), (9101, 9106, 1), (9102, 9104, 1)$$,
    'a cancelled order takes its products back');
-- Deleting c5's only order: N 5, n_D 1.
DELETE FROM crm.orders WHERE order_id = 9406;
SELECT results_eq(
    $$SELECT (SELECT customers FROM crm.product_pair_totals), (SELECT customers FROM crm.product_buyers WHERE product_id = 9104)$$,
    $$VALUES (5::bigint, 1::bigint)$$, 'a deleted order (with its lines) leaves the counts');

-- Row-level security: Rae sees c1 only; the counts are readable, the baskets are not. c1 = {A, F}
-- now: C by A 1/sqrt(4*1) = 0.5, B by A 1/sqrt(4*2) = 0.353553.
SET LOCAL ROLE rc_rae;
SELECT results_eq($$SELECT product_id FROM crm.recommend_products(9301, 5)$$,
    $$VALUES (9103::bigint), (9102::bigint)$$, 'a rep gets recommendations for their contact');
SELECT throws_ok($$SELECT * FROM crm.recommend_products(9302, 5)$$, '42501', NULL,
    'a rep gets none for a contact they do not see');
SELECT lives_ok($$SELECT count(*) FROM crm.product_pairs$$, 'a rep reads the pair counts');
SELECT throws_ok($$SELECT count(*) FROM crm.customer_baskets$$, '42501', NULL, 'a rep does not read the baskets');
SELECT throws_ok($$SELECT crm.refresh_product_pairs()$$, '42501', NULL, 'a rep may not rebuild the counts');
RESET ROLE;
-- A manager writes an order of their rep's contact: the definer trigger counts it. c1 = {A, D, F}.
SET LOCAL ROLE rc_mo;
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status) VALUES (9410, 9301, '2026-02-01', 'paid');
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES (9410, 9104, 1, 10);
RESET ROLE;
SELECT is((SELECT customers FROM crm.product_pairs WHERE (product_a, product_b) = (9101, 9104)), 1::bigint,
    'a manager''s order line is counted (n_AD = 1)');

-- Incremental = full rebuild after random changes: 40 customers, 8 products, 120 orders.
SELECT setseed(0.19);
INSERT INTO crm.products (product_id, sku, name, unit_price)
SELECT 9500 + i, 'RC-R' || i, 'r' || i, 5 FROM generate_series(1, 8) i;
INSERT INTO crm.contacts (contact_id, first_name) SELECT 9600 + i, 'r' || i FROM generate_series(1, 40) i;
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status)
SELECT 9700 + i, 9601 + floor(random() * 40)::int, '2026-03-01'::timestamptz + i * interval '1 hour',
       (ARRAY['paid', 'paid', 'shipped', 'pending', 'cancelled'])[1 + floor(random() * 5)::int]
FROM generate_series(1, 120) i;
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price)
SELECT 9700 + i, 9501 + floor(random() * 8)::int, 1, 5 FROM generate_series(1, 120) i, generate_series(1, 1 + floor(random() * 3)::int) j;
UPDATE crm.orders SET status = 'cancelled' WHERE order_id BETWEEN 9701 AND 9820 AND random() < 0.15;
UPDATE crm.orders SET status = 'refunded' WHERE order_id BETWEEN 9701 AND 9820 AND status = 'shipped' AND random() < 0.3;
UPDATE crm.orders SET status = 'paid' WHERE order_id BETWEEN 9701 AND 9820 AND status IN ('cancelled', 'pending') AND random() < 0.3;
UPDATE crm.orders SET contact_id = 9601 + floor(random() * 40)::int WHERE order_id BETWEEN 9701 AND 9820 AND random() < 0.1;
UPDATE crm.order_lines SET product_id = 9501 + floor(random() * 8)::int WHERE order_id BETWEEN 9701 AND 9820 AND random() < 0.1;
DELETE FROM crm.order_lines WHERE order_id BETWEEN 9701 AND 9820 AND random() < 0.1;
DELETE FROM crm.orders WHERE order_id BETWEEN 9701 AND 9820 AND random() < 0.1;
DO $$
BEGIN
    FOR i IN 1..20 LOOP  -- single-row statements, as an application writes them
        INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price)
        SELECT order_id, 9501 + floor(random() * 8)::int, 1, 5 FROM crm.orders
        WHERE order_id BETWEEN 9701 AND 9820 ORDER BY random() LIMIT 1;
        DELETE FROM crm.order_lines WHERE order_line_id = (SELECT order_line_id FROM crm.order_lines
            WHERE order_id BETWEEN 9701 AND 9820 ORDER BY random() LIMIT 1);
        UPDATE crm.orders SET status = CASE status WHEN 'paid' THEN 'refunded' ELSE 'paid' END
        WHERE order_id = (SELECT order_id FROM crm.orders WHERE order_id BETWEEN 9701 AND 9820 ORDER BY random() LIMIT 1);
    END LOOP;
END
$$;
CREATE TEMP TABLE rc_pairs AS SELECT * FROM crm.product_pairs;
CREATE TEMP TABLE rc_buyers AS SELECT * FROM crm.product_buyers;
CREATE TEMP TABLE rc_baskets AS SELECT * FROM crm.customer_baskets;
CREATE TEMP TABLE rc_total AS SELECT customers FROM crm.product_pair_totals;
-- the independent computation: pairs from the purchases directly
SELECT set_eq($$SELECT * FROM rc_pairs$$,
    $$SELECT x.product_id AS a, y.product_id AS b, count(DISTINCT x.contact_id)
      FROM (SELECT DISTINCT o.contact_id, l.product_id FROM crm.purchases o JOIN crm.order_lines l USING (order_id)) x
      JOIN (SELECT DISTINCT o.contact_id, l.product_id FROM crm.purchases o JOIN crm.order_lines l USING (order_id)) y
        ON x.contact_id = y.contact_id AND x.product_id < y.product_id
      GROUP BY 1, 2$$,
    'the incrementally kept pairs equal the pairs counted from the purchases');
SELECT ok(crm.refresh_product_pairs() > 0, 'a full rebuild');
SELECT set_eq($$SELECT * FROM rc_pairs$$, $$SELECT * FROM crm.product_pairs$$, 'pairs: incremental = rebuilt');
SELECT set_eq($$SELECT * FROM rc_buyers UNION ALL SELECT 0, customers FROM rc_total$$,
    $$SELECT * FROM crm.product_buyers UNION ALL SELECT 0, customers FROM crm.product_pair_totals$$,
    'per-product counts and N: incremental = rebuilt');
SELECT set_eq($$SELECT * FROM rc_baskets$$, $$SELECT * FROM crm.customer_baskets$$, 'baskets: incremental = rebuilt');

-- One customer's list is a few hundred rows: parallel workers only add their start-up (at 1M
-- order lines the planner chose them for cosine and confidence: 40-100 ms a call instead of 8).
SELECT ok((SELECT 'max_parallel_workers_per_gather=0' = ANY (proconfig) FROM pg_proc
           WHERE oid = 'crm.recommend_products(bigint, integer, text)'::regprocedure),
          'recommend_products runs without parallel workers');

SELECT * FROM finish();
ROLLBACK;
