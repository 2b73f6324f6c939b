-- Demo report: loyalty balances and tiers (docs/loyalty.md).
\echo
\echo '== Loyalty: members, balances and rolling 12-month spend by tier (crm.loyalty_members) =='
\echo 'Tiers as of the last tier run (crm.evaluate_loyalty_tiers); balances = the ledger''s sums, kept by triggers.'
SELECT p.name AS program, coalesce(m.tier, '(none)') AS tier, t.min_spend AS "from spend", count(*) AS members,
       sum(m.balance) AS "points held", round(avg(m.balance)) AS "avg balance",
       round(avg(m.rolling_spend), 2) AS "avg 12-month spend"
FROM crm.loyalty_members m
JOIN crm.loyalty_programs p USING (program_id)
LEFT JOIN crm.loyalty_tiers t ON t.program_id = m.program_id AND t.tier = m.tier
GROUP BY p.name, m.tier, t.min_spend ORDER BY p.name, t.min_spend NULLS FIRST;

\echo
\echo '== Loyalty ledger by kind: points earned, redeemed, reversed (with what was already spent) and expired =='
SELECT l.kind, count(*) AS entries, sum(l.points) AS points, sum(l.unrecovered) AS unrecovered,
       min(l.occurred_at)::date AS first, max(l.occurred_at)::date AS last
FROM crm.loyalty_ledger l
GROUP BY l.kind ORDER BY array_position(ARRAY['earn', 'redeem', 'reverse', 'expire'], l.kind);

\echo
\echo '== The ten largest balances, with the points in lots expiring within 90 days of the last order =='
-- The ten first in a MATERIALIZED CTE, their names after: the same report runs on a distributed
-- CRM (docs/citus.md: members and ledgers stay on the coordinator, contacts are distributed).
WITH last_order AS MATERIALIZED (
    SELECT max(o.ordered_at) AS at FROM crm.orders o
), largest AS MATERIALIZED (
    SELECT m.program_id, m.contact_id, m.tier, m.balance,
           coalesce((SELECT sum(l.remaining) FROM crm.loyalty_ledger l
                     WHERE l.program_id = m.program_id AND l.contact_id = m.contact_id AND l.kind = 'earn' AND l.remaining > 0
                       AND l.expires_at <= (SELECT lo.at FROM last_order lo) + interval '90 days'), 0) AS expiring
    FROM crm.loyalty_members m
    ORDER BY m.balance DESC, m.contact_id LIMIT 10
), names AS MATERIALIZED (
    SELECT c.contact_id, c.first_name || ' ' || coalesce(c.last_name, '') AS member
    FROM crm.contacts c WHERE c.contact_id IN (SELECT g.contact_id FROM largest g)
)
SELECT g.contact_id, n.member, g.tier, g.balance, g.expiring AS "expiring in 90 days"
FROM largest g JOIN names n USING (contact_id)
ORDER BY g.balance DESC, g.contact_id;
