-- Demo report: customer lifetime value with BG/NBD and Gamma-Gamma, fitted on the demo orders
-- and stored (crm.fit_clv_models); every buyer's value comes from crm.customer_clv, which the
-- at-risk report (section 30) also reads for P(alive).
\set QUIET on
SELECT coalesce((SELECT max(ordered_at) FROM crm.orders), now()) AS clv_as_of \gset
CREATE TEMP TABLE clv_fit AS SELECT * FROM crm.fit_clv_models(:'clv_as_of', 7);

\echo
\echo '== Customer lifetime value: BG/NBD (how often, and for how long) and Gamma-Gamma (how much) =='
\echo 'Fitted on every buyer''s purchase history, in weeks. Purchase rate ~ Gamma(r, alpha), dropout ~ Beta(a, b).'
SELECT round((bgnbd).r::numeric, 3) AS r, round((bgnbd).alpha::numeric, 2) AS alpha, round((bgnbd).a::numeric, 3) AS a,
       round((bgnbd).b::numeric, 3) AS b, customers, (bgnbd).iterations, (bgnbd).converged,
       round((gammagamma).p::numeric, 2) AS p, round((gammagamma).q::numeric, 2) AS q,
       round((gammagamma).gamma::numeric, 2) AS gamma, (gammagamma).converged AS spend_converged
FROM clv_fit;

\echo
\echo '-- The customer base: how many are likely still active, and what the next year holds'
SELECT count(*) AS buyers, round(avg(p_alive)::numeric, 3) AS "mean P(alive)",
       count(*) FILTER (WHERE p_alive < 0.3) AS "P(alive) < 0.3",
       round(sum(expected_purchases_90d)::numeric) AS "purchases expected, 90 days",
       round(sum(clv_12m)::numeric) AS "12-month CLV, all buyers"
FROM crm.customer_clv;

\echo
\echo '-- The ten most valuable customers over the next 12 months (1% monthly discount)'
SELECT c.first_name || ' ' || c.last_name AS customer, v.frequency + 1 AS "purchase days",
       round(v.monetary::numeric, 2) AS "mean repeat spend", round(v.p_alive::numeric, 3) AS "P(alive)",
       round(v.expected_purchases_90d::numeric, 2) AS "purchases, 90 days",
       round(v.expected_spend::numeric, 2) AS "expected spend", round(v.clv_12m::numeric, 2) AS "12-month CLV"
FROM crm.customer_clv v JOIN crm.contacts c USING (contact_id)
ORDER BY v.clv_12m DESC LIMIT 10;
DROP TABLE clv_fit;
