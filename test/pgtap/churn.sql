-- pgTAP: churn risk (src/churn.sql). The planted case of issue 19 (a customer who bought on two
-- consecutive days long ago must not outrank a regular weekly buyer silent for months), the
-- methods, the fallback's formula against a hand computation, NULLs, SQLSTATEs and roles.
BEGIN;
SELECT plan(33);
SET LOCAL TIME ZONE 'UTC';

CREATE ROLE ch_rae; GRANT crm_sales TO ch_rae;
CREATE ROLE ch_nobody;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (9591, 'ch_rae', 'Rae', 'rae@ch.example', 'sales', 'north');

-- Nothing bought yet: nobody at risk.
SELECT is_empty($$SELECT * FROM crm.churn_risk('2026-06-30')$$, 'no purchases, nobody at risk');

-- As of 2026-06-30 (purchase days; 100.00 each):
--   9501 Twice:   2026-01-01, 2026-01-02                    x = 1,  t_x = 1,   silent 179 days
--   9502 Weekly:  every 7 days 2025-07-07 .. 2026-03-30     x = 38, t_x = 266, silent 92 days
--   9503 Monthly: the 15th, 2026-01 .. 2026-06              x = 5,  t_x = 151, silent 15 days
--   9504 Once:    2026-06-01                                x = 0,             silent 29 days
--   9505 Gone:    2025-01-10, 2025-02-10 (outside the 365-day window: not listed, but in the prior)
-- The population's mean gap = (1 + 266 + 151 + 31) / (1 + 38 + 5 + 1) = 449 / 45 = 9.977778 days;
-- prior strength 2: beta0 = 19.955556.
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES
    (9501, 'Twice', 9591), (9502, 'Weekly', NULL), (9503, 'Monthly', NULL), (9504, 'Once', NULL), (9505, 'Gone', NULL);
INSERT INTO crm.orders (contact_id, ordered_at, total) VALUES
    (9501, '2026-01-01 10:00', 100), (9501, '2026-01-02 10:00', 100),
    (9504, '2026-06-01 10:00', 100), (9505, '2025-01-10 10:00', 100), (9505, '2025-02-10 10:00', 100);
INSERT INTO crm.orders (contact_id, ordered_at, total)
SELECT 9502, timestamptz '2025-07-07 10:00' + k * interval '7 days', 100 FROM generate_series(0, 38) k;
INSERT INTO crm.orders (contact_id, ordered_at, total)
SELECT 9503, timestamptz '2026-01-15 10:00' + k * interval '1 month', 100 FROM generate_series(0, 5) k;
-- a cancelled order is no purchase: it does not end Weekly's silence
INSERT INTO crm.orders (contact_id, ordered_at, total, status) VALUES (9502, '2026-06-20 10:00', 100, 'cancelled');

-- The old ranking (days silent / usual gap) puts Twice first: 179 / 1 against Weekly's 92 / 7.
SELECT is((SELECT contact_id FROM crm.at_risk_customers('2026-06-30 12:00') WHERE rank = 1), 9501::bigint,
          'the 0.1 report ranks the two-day buyer first (the issue''s complaint)');

-- The new one: P(lapsed) = 1 - (beta / (beta + s))^k, k = 2 + x, beta = beta0 + t_x:
--   Weekly  k = 40, beta = 285.955556, s = 92:  1 - (285.955556/377.955556)^40 = 0.99998573
--   Twice   k = 3,  beta = 20.955556,  s = 179: 1 - (20.955556/199.955556)^3  = 0.99884894
--   Once    k = 2,  beta = 19.955556,  s = 29:  1 - (19.955556/48.955556)^2  = 0.83384107
--   Monthly k = 7,  beta = 170.955556, s = 15:  1 - (170.955556/185.955556)^7 = 0.44496748
-- (computed in Python, independently of the SQL)
SELECT results_eq($$SELECT rank, contact_id, method, days_silent, purchase_days FROM crm.churn_risk('2026-06-30 12:00')$$,
    $$VALUES (1::bigint, 9502::bigint, 'own_rate'::text, 92, 39), (2, 9501, 'own_rate', 179, 2),
             (3, 9504, 'too_little_history', 29, 1), (4, 9503, 'own_rate', 15, 6)$$,
    'the weekly buyer silent for three months outranks the two-day buyer; the one-off buyer has too little history');
SELECT results_eq($$SELECT contact_id, round(p_lapsed::numeric, 6) FROM crm.churn_risk('2026-06-30 12:00') ORDER BY contact_id$$,
    $$VALUES (9501::bigint, 0.998849), (9502, 0.999986), (9503, 0.444967), (9504, 0.833841)$$,
    'P(lapsed) as computed by hand');
SELECT is(crm.churn_p_lapsed(1, 1, 179, 449.0 / 45, 2), (SELECT p_lapsed FROM crm.churn_risk('2026-06-30 12:00') WHERE contact_id = 9501),
          'churn_risk uses crm.churn_p_lapsed with the pooled gap');
-- Value at risk = P(lapsed) x (k / beta) x 365 x 100.00 per purchase day:
--   Weekly  0.99998573 x 40/285.955556 x 36500 = 5105.62;  Monthly 0.44496748 x 7/170.955556 x 36500 = 665.02
--   Twice   0.99884894 x 3/20.955556 x 36500 = 5219.33;     Once    0.83384107 x 2/19.955556 x 36500 = 3050.30
SELECT results_eq($$SELECT contact_id, round(value_at_risk::numeric, 2), round(expected_purchases_if_active::numeric, 4)
                    FROM crm.churn_risk('2026-06-30 12:00') WHERE contact_id IN (9502, 9503) ORDER BY 1$$,
    $$VALUES (9502::bigint, 5105.62, 51.0569), (9503, 665.02, 14.9454)$$, 'value at risk as computed by hand');
SELECT is((SELECT array_agg(contact_id ORDER BY rank) FROM crm.churn_risk('2026-06-30 12:00', rank_by => 'value_at_risk')),
          ARRAY[9501, 9502, 9504, 9503]::bigint[],
          'ranked by value at risk: Twice''s rate, shrunk to about the population''s, is worth as much as Weekly''s');
SELECT is((SELECT reason FROM crm.churn_risk('2026-06-30 12:00') WHERE contact_id = 9501),
          '179 days silent; usual rate one purchase every 7.0 days (1 own gap over 1 days, shrunk toward the population''s 10.0 days): an active customer would have bought again with probability 0.999',
          'the reason says why');
SELECT is((SELECT reason FROM crm.churn_risk('2026-06-30 12:00') WHERE contact_id = 9504),
          'one purchase day only, 29 days ago; judged by the population''s rate (one purchase every 10.0 days): P(lapsed) 0.834',
          'the reason for a one-off buyer');
SELECT is((SELECT count(*)::int FROM crm.churn_risk('2026-06-30 12:00', active_window => '2 years')), 5,
          'a wider window lists the long-gone customer too');
SELECT is((SELECT round(p_lapsed::numeric, 6) FROM crm.churn_risk('2026-06-30 12:00', prior_strength => 0.5) WHERE contact_id = 9501),
          round((1 - ((0.5 * 449.0 / 45 + 1) / (0.5 * 449.0 / 45 + 1 + 179)) ^ 1.5)::numeric, 6),
          'a weaker prior: k = 1.5, beta = 0.5 x 9.977778 + 1');

-- Targetable: crm.customer_360 carries crm.churn_risk(now())'s figures, so a segment rule can
-- select on them (and journeys or campaigns enter on the segment's membership).
SELECT results_eq($$SELECT contact_id, round(churn_p_lapsed::numeric, 12), churn_method, round(churn_value_at_risk::numeric, 6)
                    FROM crm.customer_360 WHERE churn_method IS NOT NULL ORDER BY 1$$,
                  $$SELECT contact_id, round(p_lapsed::numeric, 12), method, round(value_at_risk::numeric, 6)
                    FROM crm.churn_risk(now()) ORDER BY 1$$,
                  'crm.customer_360''s churn columns are crm.churn_risk(now())''s');
INSERT INTO crm.segments (segment_id, name, combine) VALUES (9801, 'Lapsing regulars', 'and');
INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES
    (9801, 'churn_p_lapsed', '>', '0.9'), (9801, 'churn_method', '=', 'own_rate');
SELECT is((SELECT members FROM crm.refresh_segment(9801)),
          (SELECT count(*) FROM crm.churn_risk(now()) WHERE p_lapsed > 0.9 AND method = 'own_rate'),
          'a segment over churn risk has the customers churn_risk lists');
SELECT cmp_ok((SELECT count(*) FROM crm.segment_members WHERE segment_id = 9801), '>=', 1::bigint, 'and it is not empty');

-- With a stored BG/NBD model fitted up to as_of: repeat buyers by P(alive), the one-off buyer by
-- the fallback (BG/NBD's P(alive) is 1 for every one-off buyer by construction).
INSERT INTO crm.clv_models (model_id, as_of, time_unit_days, customers, bgnbd)
VALUES (9601, '2026-06-30', 7, 5, ROW(0.5, 2.0, 0.8, 2.5, NULL, 5, 0, true)::crm.bgnbd_model);
SELECT results_eq($$SELECT contact_id, method FROM crm.churn_risk('2026-06-30 12:00') ORDER BY contact_id$$,
    $$VALUES (9501::bigint, 'bgnbd'::text), (9502, 'bgnbd'), (9503, 'bgnbd'), (9504, 'too_little_history')$$,
    'with a model, repeat buyers are judged by BG/NBD');
-- Second formula: P(alive) = 1 / (1 + a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)) in weeks.
-- Twice: x = 1, t_x = 1/7, T = 180/7
SELECT is((SELECT round(p_lapsed::numeric, 9) FROM crm.churn_risk('2026-06-30 12:00') WHERE contact_id = 9501),
          round((1 - 1 / (1 + 0.8 / 2.5 * ((2.0 + 180.0 / 7) / (2.0 + 1.0 / 7)) ^ 1.5))::numeric, 9),
          'Twice''s P(lapsed) = 1 - BG/NBD P(alive) (closed form)');
-- Once, one purchase day 29 days before: the model's population, rate ~ Gamma(0.5, 2.0) a week:
-- P(lapsed) = 1 - (2 / (2 + 29/7))^0.5 = 1 - 0.570597 = 0.429403 (Python); 0.5/2 x 365/7 = 13.0357 a year
SELECT results_eq($$SELECT method, round(p_lapsed::numeric, 6), round(expected_purchases_if_active::numeric, 4)
                    FROM crm.churn_risk('2026-06-30 12:00') WHERE contact_id = 9504$$,
                  $$VALUES ('too_little_history'::text, 0.429403, 13.0357)$$,
                  'a one-off buyer is judged by the model''s population rate');
SELECT is((SELECT rank FROM crm.churn_risk('2026-06-30 12:00') WHERE contact_id = 9502), 1::bigint,
          'under BG/NBD too the weekly buyer comes first');
SELECT is((SELECT p_lapsed FROM crm.churn_risk('2026-06-29 12:00') WHERE contact_id = 9501),
          crm.churn_p_lapsed(1, 1, 178, 449.0 / 45, 2), 'a model fitted after as_of is not used');
SELECT matches((SELECT reason FROM crm.churn_risk('2026-06-30 12:00') WHERE contact_id = 9501),
               '^179 days silent after 2 purchase days; the stored BG/NBD model gives P\(alive\) 0\.0', 'the reason names the model');
DELETE FROM crm.clv_models;

-- NULLs and errors.
SELECT is(crm.churn_p_lapsed(1, 1, NULL, 10, 2), NULL, 'churn_p_lapsed is strict');
SELECT is(crm.churn_p_lapsed(0, 0, 0, 10, 2), 0::float8, 'no silence, no lapse');
SELECT throws_ok($$SELECT crm.churn_p_lapsed(1, 1, -1, 10, 2)$$, '22023', 'invalid arguments of crm.churn_p_lapsed', 'negative silence');
SELECT throws_ok($$SELECT crm.churn_p_lapsed(1, 1, 5, 0, 2)$$, '22023', NULL, 'a zero prior gap');
SELECT throws_ok($$SELECT crm.churn_p_lapsed(0, 3, 5, 10, 2)$$, '22023', 't_x must be 0 without repeat purchases', 't_x without repeats');
SELECT throws_ok($$SELECT * FROM crm.churn_risk(NULL)$$, '22023', 'arguments of crm.churn_risk must not be NULL', 'NULL as_of');
SELECT throws_ok($$SELECT * FROM crm.churn_risk(now(), '0 days')$$, '22023', NULL, 'an empty window');
SELECT throws_ok($$SELECT * FROM crm.churn_risk(now(), horizon => '-1 day')$$, '22023', NULL, 'a negative horizon');
SELECT throws_ok($$SELECT * FROM crm.churn_risk(now(), prior_strength => 'NaN')$$, '22023', NULL, 'a NaN prior strength');
SELECT throws_ok($$SELECT * FROM crm.churn_risk(now(), rank_by => 'clv')$$, '22023', 'unknown rank_by "clv"', 'unknown rank_by');

-- Roles: a rep ranks the customers they see (Twice), with the prior from what they see (one gap
-- of 1 day: P = 1 - (3/182)^3); PUBLIC may not call it.
SET LOCAL ROLE ch_rae;
SELECT results_eq($$SELECT contact_id, round(p_lapsed::numeric, 6) FROM crm.churn_risk('2026-06-30 12:00')$$,
    $$VALUES (9501::bigint, round((1 - (3.0 / 182) ^ 3)::numeric, 6))$$, 'a rep sees their own customers only');
RESET ROLE;
SET LOCAL ROLE ch_nobody;
SELECT throws_ok($$SELECT * FROM crm.churn_risk('2026-06-30 12:00')$$, '42501', NULL, 'a role without a CRM role may not call it');
RESET ROLE;
SELECT ok(has_function_privilege('public', 'crm.churn_p_lapsed(integer, float8, float8, float8, float8)', 'EXECUTE'),
          'the formula is for everyone');

SELECT * FROM finish();
ROLLBACK;
