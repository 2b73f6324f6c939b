-- pgTAP: one definition of a purchase. crm.purchases holds the orders paid or shipped; it reads
-- crm.orders with the reader's rights (row-level security applies); every role that reads orders
-- may read it; and no other view or function of crm restates the rule.
BEGIN;
SELECT plan(7);

CREATE ROLE t_purchase_rep LOGIN IN ROLE crm_sales;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team)
VALUES (1, 't_purchase_rep', 'Rep', 'rep@example.com', 'sales', 'west');
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES (1, 'Own', 1), (2, 'Other', NULL);
-- every status, for both contacts
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status, total)
SELECT 10 * c + s.n, c, '2026-01-01'::timestamptz + s.n * interval '1 day', s.status, 10 * s.n
FROM generate_series(1, 2) c,
     unnest(ARRAY['pending', 'paid', 'shipped', 'cancelled', 'refunded']) WITH ORDINALITY AS s(status, n);

SELECT results_eq($$SELECT order_id, status FROM crm.purchases ORDER BY order_id$$,
                  $$VALUES (12::bigint, 'paid'::text), (13, 'shipped'), (22, 'paid'), (23, 'shipped')$$,
                  'crm.purchases: exactly the orders paid or shipped');
SELECT is((SELECT reloptions FROM pg_class WHERE oid = 'crm.purchases'::regclass), ARRAY['security_invoker=true'],
          'crm.purchases reads crm.orders with the reader''s rights');
SELECT results_eq($$SELECT orders, total_spent FROM crm.customer_order_stats ORDER BY contact_id$$,
                  $$VALUES (2::bigint, 50::numeric), (2, 50)$$, 'crm.customer_order_stats counts the purchases only');

SET LOCAL ROLE t_purchase_rep;
SELECT results_eq($$SELECT order_id FROM crm.purchases ORDER BY order_id$$, $$VALUES (12::bigint), (13)$$,
                  'a rep sees the purchases of their own contacts only (the orders'' policies apply)');
RESET ROLE;

SELECT is_empty($$SELECT r FROM unnest(ARRAY['crm_admin', 'crm_manager', 'crm_sales', 'crm_support', 'crm_analyst']) r
                  WHERE has_table_privilege(r, 'crm.orders', 'SELECT')
                        <> has_table_privilege(r, 'crm.purchases', 'SELECT')$$,
                'every role that reads crm.orders reads crm.purchases, and no other');
SELECT ok(NOT has_table_privilege('public', 'crm.purchases', 'SELECT'), 'PUBLIC cannot read crm.purchases');

-- The rule is written once: no other view or (non-C) function of crm mentions the shipped status.
-- Members of crm_demo are left out: the generator decides statuses while making the orders.
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c
    WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('v', 'm') AND c.oid <> 'crm.purchases'::regclass
      AND pg_get_viewdef(c.oid) ~ '''shipped'''
    UNION ALL
    SELECT p.oid::regprocedure::text FROM pg_proc p
    WHERE p.pronamespace = 'crm'::regnamespace AND p.prosrc ~ '''shipped'''
      AND NOT EXISTS (SELECT FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                        AND e.extname = 'crm_demo')$$,
    'what a purchase is (paid or shipped) is defined by crm.purchases alone');

SELECT * FROM finish();
ROLLBACK;
