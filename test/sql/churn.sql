-- Churn risk: a worked example (docs/churn.md). Everything below is derived by hand in the comments.
SET TIME ZONE 'UTC';
-- As of 2026-06-30 12:00, two customers:
--   Ann (9701): 50.00 on 2026-03-01, 03-11, 03-21: x = 2 gaps over t_x = 20 days; silent 101 days
--   Ben (9702): 200.00 on 2026-06-01, 06-02:       x = 1 gap  of  t_x = 1 day;   silent 28 days
INSERT INTO crm.contacts (contact_id, first_name) VALUES (9701, 'Ann'), (9702, 'Ben');
INSERT INTO crm.orders (contact_id, ordered_at, total) VALUES
    (9701, '2026-03-01 09:00', 50), (9701, '2026-03-11 09:00', 50), (9701, '2026-03-21 09:00', 50),
    (9702, '2026-06-01 09:00', 200), (9702, '2026-06-02 09:00', 200);

-- 1. Without a CLV model: the fallback (own rate shrunk toward the population's).
-- The population's mean gap = (20 + 1) / (2 + 1) = 7 days; prior strength 2: beta0 = 2 x 7 = 14.
--   Ann: k = 2 + 2 = 4, beta = 14 + 20 = 34; P(lapsed) = 1 - (34 / (34 + 101))^4 = 1 - 0.251852^4
--        = 1 - 0.004023 = 0.9960; rate 4/34 a day: 4/34 x 365 = 42.94 purchases a year if active;
--        value at risk 0.995977 x 42.9412 x 50.00 = 2147.06 - 8.64 = 2138.42
--   Ben: k = 2 + 1 = 3, beta = 14 + 1 = 15; P(lapsed) = 1 - (15 / 43)^3 = 1 - 0.042449 = 0.9576;
--        3/15 x 365 = 73 purchases a year if active; value at risk 0.957551 x 73 x 200.00 = 13980.24
-- Ben's one 1-day gap counts as one gap against two of the population's 7 days: his usual rate is
-- one purchase every 5 days, not every day, so 28 silent days make him less likely lapsed than Ann.
SELECT rank, contact_id, method, days_silent, purchase_days, round(p_lapsed::numeric, 4) AS p_lapsed,
       round(expected_purchases_if_active::numeric, 2) AS expected, round(value_at_risk::numeric, 2) AS value_at_risk, reason
FROM crm.churn_risk('2026-06-30 12:00');
SELECT contact_id, rank FROM crm.churn_risk('2026-06-30 12:00', rank_by => 'value_at_risk');
-- The formula alone: Ann's numbers.
SELECT round(crm.churn_p_lapsed(2, 20, 101, 7, 2)::numeric, 6) AS ann_p_lapsed;

-- 2. With a BG/NBD model (r = 0.5, alpha = 2, a = 0.8, b = 2.5, in weeks) fitted up to as_of.
-- P(alive) = 1 / (1 + a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)):
--   Ann: t_x = 20/7 = 2.857143, T = 121/7 = 17.285714 weeks:
--        1 / (1 + 0.8/3.5 x (19.285714/4.857143)^2.5) = 1 / (1 + 0.228571 x 31.4132) = 0.1222
--   Ben: t_x = 1/7, T = 29/7 = 4.142857: 1 / (1 + 0.8/2.5 x (6.142857/2.142857)^1.5)
--        = 1 / (1 + 0.32 x 4.8536) = 0.3917
INSERT INTO crm.clv_models (as_of, time_unit_days, customers, bgnbd)
VALUES ('2026-06-30', 7, 2, ROW(0.5, 2.0, 0.8, 2.5, NULL, 2, 0, true)::crm.bgnbd_model);
SELECT r.contact_id, r.method, round(r.p_lapsed::numeric, 4) AS p_lapsed,
       round((1 - crm.bgnbd_p_alive(m.bgnbd, s.x, s.t_x, s.big_t))::numeric, 4) AS one_minus_bgnbd_p_alive,
       round((1 - 1 / (1 + (m.bgnbd).a / ((m.bgnbd).b + s.x - 1)
                         * (((m.bgnbd).alpha + s.big_t) / ((m.bgnbd).alpha + s.t_x)) ^ ((m.bgnbd).r + s.x)))::numeric, 4) AS closed_form
FROM crm.churn_risk('2026-06-30 12:00') r
JOIN crm.customer_summaries('2026-06-30 12:00', 7) s USING (contact_id)
CROSS JOIN crm.clv_models m
ORDER BY r.rank;
DELETE FROM crm.clv_models;
DELETE FROM crm.orders WHERE contact_id IN (9701, 9702);
DELETE FROM crm.contacts WHERE contact_id IN (9701, 9702);
RESET TIME ZONE;
