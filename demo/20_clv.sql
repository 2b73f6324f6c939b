-- Demo report: customer lifetime value with BG/NBD and Gamma-Gamma, fitted on the demo orders.
SELECT coalesce((SELECT max(ordered_at) FROM crm.orders), now()) AS clv_as_of \gset

-- Each buyer's summary in weeks as of the report date: x repeat purchase days, t_x, T, and m the
-- mean value of the repeat purchases.
CREATE TEMP TABLE clv_customers AS
SELECT contact_id, (count(*) - 1)::integer AS x,
       (max(day) - min(day)) / 7.0::float8 AS t_x, (:'clv_as_of'::date - min(day)) / 7.0::float8 AS big_t,
       avg(spend) FILTER (WHERE day > first_day)::float8 AS m
FROM (SELECT contact_id, ordered_at::date AS day, sum(total) AS spend,
             min(ordered_at::date) OVER (PARTITION BY contact_id) AS first_day
      FROM crm.orders WHERE status IN ('paid', 'shipped') AND ordered_at <= :'clv_as_of'
      GROUP BY contact_id, ordered_at::date) d
GROUP BY contact_id;
CREATE TEMP TABLE clv_models AS
SELECT crm.bgnbd_fit(x, t_x, big_t) AS bgnbd, crm.gammagamma_fit(x, m) FILTER (WHERE m > 0) AS gammagamma
FROM clv_customers;

\echo
\echo '== Customer lifetime value: BG/NBD (how often, and for how long) and Gamma-Gamma (how much) =='
\echo 'Fitted on every buyer''s purchase history, in weeks. Purchase rate ~ Gamma(r, alpha), dropout ~ Beta(a, b).'
SELECT round((bgnbd).r::numeric, 3) AS r, round((bgnbd).alpha::numeric, 2) AS alpha, round((bgnbd).a::numeric, 3) AS a,
       round((bgnbd).b::numeric, 3) AS b, (bgnbd).n AS customers, (bgnbd).iterations, (bgnbd).converged,
       round((gammagamma).p::numeric, 2) AS p, round((gammagamma).q::numeric, 2) AS q,
       round((gammagamma).gamma::numeric, 2) AS gamma, (gammagamma).converged AS spend_converged
FROM clv_models;

\echo
\echo '-- The customer base: how many are likely still active, and what the next year holds'
SELECT count(*) AS buyers,
       round(avg(crm.bgnbd_p_alive(bgnbd, x, t_x, big_t))::numeric, 3) AS "mean P(alive)",
       count(*) FILTER (WHERE crm.bgnbd_p_alive(bgnbd, x, t_x, big_t) < 0.3) AS "P(alive) < 0.3",
       round(sum(crm.bgnbd_expected_purchases(bgnbd, 52, x, t_x, big_t))::numeric) AS "purchases expected, 52 weeks",
       round(sum(crm.clv(bgnbd, gammagamma, x, t_x, big_t, m, 12, 0.01, 4.345))::numeric) AS "12-month CLV, all buyers"
FROM clv_customers, clv_models;

\echo
\echo '-- The ten most valuable customers over the next 12 months (1% monthly discount)'
SELECT c.first_name || ' ' || c.last_name AS customer, k.x + 1 AS "purchase days", round(k.m::numeric, 2) AS "mean repeat spend",
       round(crm.bgnbd_p_alive(bgnbd, k.x, k.t_x, k.big_t)::numeric, 3) AS "P(alive)",
       round(crm.bgnbd_expected_purchases(bgnbd, 13, k.x, k.t_x, k.big_t)::numeric, 2) AS "purchases, 90 days",
       round(crm.gammagamma_expected_spend(gammagamma, k.x, k.m)::numeric, 2) AS "expected spend",
       round(crm.clv(bgnbd, gammagamma, k.x, k.t_x, k.big_t, k.m, 12, 0.01, 4.345)::numeric, 2) AS "12-month CLV"
FROM clv_customers k JOIN crm.contacts c USING (contact_id), clv_models
ORDER BY crm.clv(bgnbd, gammagamma, k.x, k.t_x, k.big_t, k.m, 12, 0.01, 4.345) DESC LIMIT 10;

DROP TABLE clv_customers, clv_models;
