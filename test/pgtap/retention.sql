-- pgTAP: retention edge cases: the formula's boundaries, errors by SQLSTATE, NULLs, empty data.
BEGIN;
SELECT plan(27);

SELECT is(crm.retention_rate(10, 10, 0), 100::float8, 'everyone retained, nobody new: 100');
SELECT is(crm.retention_rate(10, 5, 5), 0::float8, 'everyone at the end is new: 0');
SELECT is(crm.retention_rate(0, 0, 0), NULL, 'no customers at the start: NULL, like an average of nothing');
SELECT is(crm.retention_rate(NULL, 1, 0), NULL, 'NULL in, NULL out');
SELECT throws_ok('SELECT crm.retention_rate(10, 3, 4)', '22023', 'new customers exceed the customers at the end', 'N > E');
SELECT throws_ok('SELECT crm.retention_rate(10, 15, 1)', '22023', 'more customers retained than there were at the start', 'E - N > S');
SELECT throws_ok('SELECT crm.retention_rate(10, 5, -1)', '22023', 'customer counts must not be negative', 'negative N');

-- No customers at all: every count 0, the rate NULL, the triangle empty, no one at risk.
SELECT results_eq($$SELECT customers_at_start, customers_at_end, new_customers FROM crm.retention('2026-01-01', '2026-02-01')$$,
                  $$VALUES (0::bigint, 0::bigint, 0::bigint)$$, 'a period without customers counts zeros');
SELECT is((SELECT retention_rate FROM crm.retention('2026-01-01', '2026-02-01')), NULL, 'and its rate is NULL');
SELECT is_empty($$SELECT * FROM crm.cohort_retention('month', '2026-01-01')$$, 'no purchases, no cohorts');
SELECT is(crm.repeat_purchase_rate('2026-01-01'), NULL, 'no customers, no repeat rate');
SELECT is_empty($$SELECT * FROM crm.at_risk_customers('2026-01-01')$$, 'no customers, no one at risk');
SELECT results_eq($$SELECT count(*)::int, sum(customers_at_start)::int FROM crm.subscription_metrics('2026-01-01', '2026-03-01')$$,
                  $$VALUES (3, 0)$$, 'months without subscriptions still get a row each');

-- Errors by SQLSTATE.
SELECT throws_ok($$SELECT * FROM crm.retention('2026-02-01', '2026-01-01')$$, '22023', NULL, 'period ending before it starts');
SELECT throws_ok($$SELECT * FROM crm.retention('2026-01-01', '2026-02-01', 'orders', '-1 day')$$, '22023', NULL, 'negative window');
SELECT throws_ok($$SELECT * FROM crm.retention('2026-01-01', '2026-02-01', 'visits')$$, '22023', NULL, 'unknown basis');
SELECT throws_ok($$SELECT * FROM crm.cohort_retention('day')$$, '22023', NULL, 'unknown cohort period');
SELECT throws_ok($$SELECT * FROM crm.at_risk_customers(now(), 0)$$, '22023', NULL, 'gap factor must be positive');
SELECT throws_ok($$SELECT * FROM crm.at_risk_customers(now(), 2, 1.5)$$, '22023', NULL, 'P(alive) threshold within 0-1');
SELECT throws_ok($$INSERT INTO crm.contacts (contact_id, first_name) VALUES (1, 'X');
                   INSERT INTO crm.subscriptions (contact_id, plan, mrr, started_at, ended_at) VALUES (1, 'p', 1, '2026-02-01', '2026-01-01')$$,
                 '23514', NULL, 'a subscription cannot end before it starts');

-- Orders on one day are one purchase: no zero gap, no repeat customer from a single day.
SELECT is((SELECT count(*)::int FROM (SELECT * FROM crm.purchase_gaps()) g), 0, 'before any order: no gaps');
INSERT INTO crm.contacts (contact_id, first_name) VALUES (77, 'Same-day');
-- Yesterday at 12:00 and 12:30 (session time zone): the same day whatever time the test runs (now()
-- minus an hour is the day before between 00:00 and 01:00).
INSERT INTO crm.orders (contact_id, ordered_at) VALUES (77, date_trunc('day', now()) - interval '12 hours'), (77, date_trunc('day', now()) - interval '11 hours 30 minutes');
SELECT is_empty($$SELECT * FROM crm.purchase_gaps() WHERE contact_id = 77$$, 'two orders on one day make no gap');
INSERT INTO crm.orders (contact_id, ordered_at) VALUES (77, date_trunc('day', now()) - interval '3 days 12 hours');
SELECT results_eq($$SELECT purchase_days, usual_gap_days FROM crm.purchase_gaps() WHERE contact_id = 77$$,
                  $$VALUES (2::bigint, 3::float8)$$, 'an order three days earlier: two purchase days, a 3-day gap');
DELETE FROM crm.orders WHERE contact_id = 77;
DELETE FROM crm.contacts WHERE contact_id = 77;

-- With a fitted model, P(alive) under the threshold flags a customer too: a model whose dropout
-- is near certain (a = 10, b = 0.5) gives Steady, who buys every 10 days and last bought 10 days
-- ago (within twice their rhythm), P(alive) = 1 / (1 + 20 (3.857 / 2.429)^1.5) = 0.024.
INSERT INTO crm.contacts (contact_id, first_name) VALUES (88, 'Steady');
INSERT INTO crm.orders (contact_id, ordered_at) VALUES (88, now() - interval '20 days'), (88, now() - interval '10 days');
INSERT INTO crm.clv_models (as_of, time_unit_days, customers, bgnbd)
VALUES (now(), 7, 1, ROW(0.5, 1.0, 10.0, 0.5, NULL, 1, 0, true)::crm.bgnbd_model);
SELECT results_eq($$SELECT contact_id, round(p_alive::numeric, 3), reason FROM crm.at_risk_customers(now(), 2.0, 0.3)$$,
                  $$VALUES (88::bigint, 0.024, 'P(alive) 0.02 is under 0.3'::text)$$,
                  'a customer within their rhythm but unlikely alive is at risk, with the reason');
DELETE FROM crm.clv_models;
DELETE FROM crm.orders WHERE contact_id = 88;
DELETE FROM crm.contacts WHERE contact_id = 88;

-- On demo data: weekly cohorts start on Mondays, each cohort's period 0 is the whole cohort.
SELECT ok((crm.generate_demo_data(400, 3, '2026-06-30') ->> 'subscriptions')::int > 0, 'the demo data includes subscriptions');
SELECT ok((SELECT bool_and(extract(isodow FROM cohort) = 1) FROM crm.cohort_retention('week', '2026-06-30')), 'weekly cohorts start on Mondays');
SELECT ok((SELECT bool_and(customers = cohort_size AND share = 1) FROM crm.cohort_retention('month', '2026-06-30') WHERE period_number = 0),
          'period 0 holds the whole cohort');

SELECT * FROM finish();
ROLLBACK;
