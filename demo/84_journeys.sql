-- Demo report: triggered journeys (docs/journeys.md).
\echo
\echo '== Journey funnels: entered, each step by outcome, completed / exited / still in (crm.journey_funnel) =='
SELECT journey, CASE WHEN position = 2147483647 THEN '' ELSE position::text END AS step, stage, contacts,
       round(100.0 * contacts / nullif(max(contacts) FILTER (WHERE stage = 'entered') OVER (PARTITION BY journey_id), 0), 1) AS "% of entered"
FROM crm.journey_funnel ORDER BY journey_id, position, stage;

\echo
\echo '== The outbox: messages by journey, template and status (an external sender drains it) =='
SELECT j.name AS journey, o.template, o.channel, count(*) FILTER (WHERE o.status = 'sent') AS sent,
       count(*) FILTER (WHERE o.status = 'failed') AS failed, count(*) FILTER (WHERE o.status IN ('pending', 'sending')) AS waiting
FROM crm.journey_outbox o JOIN crm.journeys j USING (journey_id)
GROUP BY j.journey_id, j.name, o.template, o.channel ORDER BY j.journey_id, min(o.position);
