-- pgTAP: every customer's recommendations in one pass, crm.recommend_products_all
-- (src/recommendations.c). Its lists must be exactly crm.recommend_products' for each contact:
-- the hand-derived lists of the small data set of test/pgtap/recommendations.sql, then random
-- baskets (with ties, inactive products, pending and cancelled orders) under every metric and
-- several n, compared row for row (scores bit for bit) with the per-customer function; row-level
-- security (a rep gets their contacts only, as the per-customer function answers only for them);
-- contact_ids; errors.
BEGIN;
SELECT plan(24);

CREATE ROLE rb_rae; GRANT crm_sales TO rb_rae;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (9891, 'rb_rae', 'Rae', 'rae@rb.example', 'sales', 'north');
-- Products A..F = 9101..9106 (F inactive), contacts 9301..9307 (Rae owns 9301 and 9304).
INSERT INTO crm.products (product_id, sku, name, unit_price, active) VALUES
    (9101, 'RB-A', 'A', 10, true), (9102, 'RB-B', 'B', 10, true), (9103, 'RB-C', 'C', 10, true),
    (9104, 'RB-D', 'D', 10, true), (9105, 'RB-E', 'E', 10, true), (9106, 'RB-F', 'F', 10, false);
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES
    (9301, 'c1', 9891), (9302, 'c2', NULL), (9303, 'c3', NULL), (9304, 'c4', 9891), (9305, 'c5', NULL),
    (9306, 'c6', NULL), (9307, 'c7', NULL);
SELECT is_empty($$SELECT * FROM crm.recommend_products_all(5) WHERE contact_id BETWEEN 9301 AND 9307$$,
    'nothing purchased yet: no lists');
--   c1 = {A, B, C, F}   c2 = {A, B}   c3 = {A, C}   c4 = {B, D}   c5 = {D}   c6 = {A} (+ B cancelled)
--   c7: only a pending order of E.
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status) VALUES
    (9401, 9301, '2026-01-01', 'paid'), (9402, 9301, '2026-01-05', 'shipped'), (9403, 9302, '2026-01-02', 'paid'),
    (9404, 9303, '2026-01-02', 'paid'), (9405, 9304, '2026-01-03', 'paid'), (9406, 9305, '2026-01-03', 'shipped'),
    (9407, 9306, '2026-01-04', 'paid'), (9408, 9306, '2026-01-04', 'cancelled'), (9409, 9307, '2026-01-04', 'pending');
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES
    (9401, 9101, 1, 10), (9401, 9106, 1, 10), (9402, 9102, 2, 10), (9402, 9103, 1, 10), (9402, 9101, 1, 10),
    (9403, 9101, 1, 10), (9403, 9102, 1, 10), (9404, 9101, 1, 10), (9404, 9103, 3, 10),
    (9405, 9102, 1, 10), (9405, 9104, 1, 10), (9406, 9104, 1, 10), (9407, 9101, 1, 10), (9408, 9102, 1, 10),
    (9409, 9105, 1, 10);

-- By hand (N = 6; n_A 4, n_B 3, n_C 2, n_D 2, n_F 1; n_AB 2, n_AC 2, n_AF 1, n_BC 1, n_BD 1, n_BF 1, n_CF 1):
-- c1 {A,B,C,F}: D by B 1/sqrt(3*2) = 0.408248.
-- c2 {A,B}: C by A 2/sqrt(8) = 0.707107; D by B 0.408248.
-- c3 {A,C}: B by A 2/sqrt(12) = 0.577350 (by C 1/sqrt(6) = 0.408248).
-- c4 {B,D}: A by B 0.577350; C by B 0.408248.
-- c5 {D}: B by D 0.408248.
-- c6 {A}: C 0.707107, B 0.577350 (F inactive).  c7: nothing purchased, no row.
SELECT results_eq(
    $$SELECT contact_id, rank, product_id, round(score::numeric, 6), because_of
      FROM crm.recommend_products_all(5) WHERE contact_id BETWEEN 9301 AND 9307$$,
    $$VALUES (9301::bigint, 1, 9104::bigint, 0.408248, 9102::bigint),
             (9302, 1, 9103, 0.707107, 9101), (9302, 2, 9104, 0.408248, 9102),
             (9303, 1, 9102, 0.577350, 9101),
             (9304, 1, 9101, 0.577350, 9102), (9304, 2, 9103, 0.408248, 9102),
             (9305, 1, 9102, 0.408248, 9104),
             (9306, 1, 9103, 0.707107, 9101), (9306, 2, 9102, 0.577350, 9101)$$,
    'every customer''s cosine list, by hand, in contact and rank order');
-- c4 {B, D}, lift: A by B 2*6/(3*4) = 1, C by B 1*6/(3*2) = 1: a tie, in product order.
SELECT results_eq(
    $$SELECT rank, product_id, score, because_of FROM crm.recommend_products_all(5, 'lift') WHERE contact_id = 9304$$,
    $$VALUES (1, 9101::bigint, 1::float8, 9102::bigint), (2, 9103, 1, 9102)$$,
    'ties in product order');
-- n = 1: each customer's best only.
SELECT results_eq(
    $$SELECT contact_id, product_id FROM crm.recommend_products_all(1) WHERE contact_id BETWEEN 9301 AND 9307$$,
    $$VALUES (9301::bigint, 9104::bigint), (9302, 9103), (9303, 9102), (9304, 9101), (9305, 9102), (9306, 9103)$$,
    'n = 1: the best of each');
SELECT results_eq(
    $$SELECT contact_id, product_id FROM crm.recommend_products_all(10, 'cosine', ARRAY[9306, 9302, NULL, 9399])$$,
    $$VALUES (9302::bigint, 9103::bigint), (9302, 9104), (9306, 9103), (9306, 9102)$$,
    'contact_ids: only those (NULL and unknown ids give nothing)');
SELECT throws_ok($$SELECT * FROM crm.recommend_products_all(0)$$, '22023', NULL, 'n = 0 is refused');
SELECT throws_ok($$SELECT * FROM crm.recommend_products_all(NULL)$$, '22023', NULL, 'n NULL is refused');
SELECT throws_ok($$SELECT * FROM crm.recommend_products_all(5, 'jaccard')$$, '22023', NULL, 'an unknown metric is refused');
SELECT throws_ok($$SELECT * FROM crm.recommend_products_all(5, NULL)$$, '22023', NULL, 'a NULL metric is refused');

-- Row-level security: Rae sees c1 and c4 only, and gets exactly their lists.
SET LOCAL ROLE rb_rae;
SELECT results_eq(
    $$SELECT contact_id, product_id FROM crm.recommend_products_all(5)$$,
    $$VALUES (9301::bigint, 9104::bigint), (9304, 9101), (9304, 9103)$$,
    'a rep gets the lists of the contacts they see, and no others');
SELECT is_empty($$SELECT * FROM crm.recommend_products_all(5, 'cosine', ARRAY[9302::bigint])$$,
    'a contact the rep does not see is skipped, not answered');
RESET ROLE;

-- Random baskets: 150 customers, 14 products (two inactive), orders of every status, products
-- drawn from a small range so that many scores tie.
SELECT setseed(0.37);
INSERT INTO crm.products (product_id, sku, name, unit_price, active)
SELECT 9900 + i, 'RB-R' || i, 'r' || i, 5, i NOT IN (3, 11) FROM generate_series(1, 14) i;
INSERT INTO crm.contacts (contact_id, first_name, owner_id)
SELECT 98000 + i, 'r' || i, CASE WHEN i % 4 = 0 THEN 9891 END FROM generate_series(1, 150) i;
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status)
SELECT 99000 + i, 98001 + floor(random() * 150)::int, '2026-03-01'::timestamptz + i * interval '1 hour',
       (ARRAY['paid', 'paid', 'shipped', 'pending', 'cancelled', 'refunded'])[1 + floor(random() * 6)::int]
FROM generate_series(1, 400) i;
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price)
SELECT 99000 + i, 9901 + floor(14 * random() ^ 2)::int, 1, 5
FROM generate_series(1, 400) i, generate_series(1, 1 + floor(random() * 3)::int + 0 * i) j;

-- the reference: recommend_products called for each contact with purchases, as the caller
CREATE TEMP TABLE rb_contacts AS
SELECT DISTINCT o.contact_id FROM crm.purchases o JOIN crm.order_lines l USING (order_id);
GRANT SELECT ON rb_contacts TO rb_rae;
CREATE FUNCTION pg_temp.rb_one_by_one(n integer, metric text) RETURNS TABLE (contact_id bigint, rank bigint, product_id bigint, score float8, because_of bigint)
LANGUAGE sql AS $$
    SELECT c.contact_id, row_number() OVER (PARTITION BY c.contact_id), r.product_id, r.score, r.because_of
    FROM (SELECT k.contact_id FROM rb_contacts k WHERE EXISTS (SELECT FROM crm.contacts v WHERE v.contact_id = k.contact_id)) c,
         LATERAL crm.recommend_products(c.contact_id, n, metric) r
$$;
SELECT ok((SELECT count(*) FROM rb_contacts) > 100, 'over 100 random customers with purchases');
SELECT ok((SELECT count(*) FROM pg_temp.rb_one_by_one(5, 'lift') GROUP BY score ORDER BY count(*) DESC LIMIT 1) > 10,
    'the random data set has many tied scores');
SELECT set_eq(
    format($$SELECT contact_id, rank, product_id, score, because_of FROM crm.recommend_products_all(%s, %L)$$, n, m),
    format($$SELECT contact_id, rank, product_id, score, because_of FROM pg_temp.rb_one_by_one(%s, %L)$$, n, m),
    format('random baskets, %s, n = %s: every list equals recommend_products''', m, n))
FROM (VALUES ('cosine', 10), ('lift', 3), ('confidence', 5), ('support', 4), ('cosine', 1), ('lift', 100)) v(m, n);
SELECT set_eq(
    $$SELECT contact_id, rank, product_id, score, because_of FROM crm.recommend_products_all(4, 'confidence', ARRAY(SELECT 98000 + i FROM generate_series(1, 150, 3) i)::bigint[])$$,
    $$SELECT * FROM pg_temp.rb_one_by_one(4, 'confidence') WHERE (contact_id - 98000) % 3 = 1$$,
    'random baskets, contact_ids: those lists only');
SET LOCAL ROLE rb_rae;
SELECT set_eq(
    $$SELECT contact_id, rank, product_id, score, because_of FROM crm.recommend_products_all(6, 'cosine')$$,
    $$SELECT * FROM pg_temp.rb_one_by_one(6, 'cosine')$$,
    'random baskets, as a rep: the lists of the contacts they see, equal to recommend_products''');
SELECT ok((SELECT count(DISTINCT contact_id) FROM crm.recommend_products_all(6)) BETWEEN 20 AND 40,
    'as a rep: only their contacts (a quarter of the random ones, plus c1 and c4)');
RESET ROLE;

-- the model changes (an order cancelled, a product retired): the lists follow
UPDATE crm.orders SET status = 'cancelled' WHERE order_id IN (SELECT order_id FROM crm.orders WHERE order_id > 99000 AND status = 'paid' LIMIT 20);
UPDATE crm.products SET active = false WHERE product_id = 9901;
SELECT set_eq(
    $$SELECT contact_id, rank, product_id, score, because_of FROM crm.recommend_products_all(5, 'support')$$,
    $$SELECT * FROM pg_temp.rb_one_by_one(5, 'support')$$,
    'after cancellations and a retired product: equal to recommend_products''');
SELECT ok((SELECT 'search_path=pg_catalog, pg_temp' = ANY (proconfig) FROM pg_proc
           WHERE oid = 'crm.recommend_products_all(integer, text, bigint[])'::regprocedure),
          'recommend_products_all runs with a fixed search_path');

SELECT * FROM finish();
ROLLBACK;
