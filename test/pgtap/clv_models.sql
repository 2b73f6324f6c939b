-- pgTAP: CLV models fitted on crm.orders, stored, and every buyer's value in crm.customer_clv.
BEGIN;
SELECT plan(16);

SELECT is_empty('SELECT * FROM crm.customer_clv', 'no model, no rows');
SELECT throws_ok('SELECT crm.fit_clv_models()', '22023', NULL, 'no purchases: nothing to fit');

SELECT ok((crm.generate_demo_data(2000, 5, '2026-06-30') ->> 'orders')::int > 0, 'demo orders loaded');
CREATE TEMP TABLE fitted AS SELECT * FROM crm.fit_clv_models('2026-06-30');
SELECT ok((bgnbd).converged AND (gammagamma).converged, 'both fits converged') FROM fitted;
SELECT is(customers, (SELECT count(DISTINCT contact_id) FROM crm.orders WHERE status IN ('paid', 'shipped'))::bigint,
          'the model covers every buyer') FROM fitted;
SELECT is((SELECT count(*) FROM crm.clv_models), 1::bigint, 'the fit is stored');
SELECT is((SELECT count(*) FROM crm.customer_clv), (SELECT customers FROM fitted), 'every buyer has a CLV row');
SELECT ok(bool_and(p_alive BETWEEN 0 AND 1 AND expected_purchases_90d >= 0 AND clv_12m >= 0 AND expected_spend > 0),
          'P(alive) in [0, 1], purchases, spend and CLV non-negative and finite') FROM crm.customer_clv;
-- The view agrees with the functions applied to the summaries by hand.
SELECT ok(bool_and(abs(v.p_alive - crm.bgnbd_p_alive(f.bgnbd, s.x, s.t_x, s.big_t)) < 1e-12),
          'P(alive) equals crm.bgnbd_p_alive on crm.customer_summaries')
FROM crm.customer_clv v JOIN crm.customer_summaries(now(), 7) s USING (contact_id), fitted f;

-- crm.clv_summary on the orders, grouped by customer, equals crm.customer_summaries.
CREATE TEMP TABLE by_aggregate AS
SELECT contact_id, (crm.clv_summary(ordered_at, total::float8, '2026-06-30', 7)).*
FROM crm.orders WHERE status IN ('paid', 'shipped') GROUP BY contact_id;
SELECT is_empty($$SELECT contact_id, x, t_x, big_t, round(m::numeric, 6) FROM by_aggregate
                  EXCEPT SELECT contact_id, x, t_x, big_t, round(m::numeric, 6) FROM crm.customer_summaries('2026-06-30', 7)$$,
                'crm.clv_summary equals crm.customer_summaries for every buyer');
SELECT is((SELECT count(*) FROM by_aggregate), (SELECT count(*) FROM crm.customer_summaries('2026-06-30', 7)), 'for every buyer');
SELECT is_empty($$SELECT contact_id, x, t_x, big_t, round(m::numeric, 6) FROM crm.customer_clv_summaries
                  EXCEPT SELECT contact_id, x, t_x, big_t, round(m::numeric, 6) FROM crm.customer_summaries(now(), 7)$$,
                'the view crm.customer_clv_summaries is crm.customer_summaries as of now');
SELECT throws_ok($$SELECT crm.clv_summary(ordered_at, 1, ordered_at, 7) FROM crm.orders$$, '22023', NULL,
                 'the observation end must not vary within a customer');
SELECT throws_ok($$SELECT crm.clv_summary(now(), 1, now(), 0)$$, '22023', NULL, 'time unit must be positive');
SELECT ok((SELECT crm.clv_summary(t, 1, '2026-01-01', 7) FROM (VALUES ('2026-02-01'::timestamptz)) v(t)) IS NULL,
          'no transaction by the observation end: NULL');

CREATE ROLE clv_analyst IN ROLE crm_analyst;
SET ROLE clv_analyst;
SELECT throws_ok('SELECT crm.fit_clv_models()', '42501', NULL, 'an analyst reads models but does not fit them');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
