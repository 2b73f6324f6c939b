-- Demo report: RFM scores and segments, and who moved between segments.
\echo
\echo '== RFM segments at the latest snapshot (crm.refresh_rfm, kept in crm.rfm_history) =='
\echo 'Scores are fair quintiles: 1 + floor(5 x customers strictly worse / customers), 5 the best.'
SELECT coalesce(h.segment, '(no segment)') AS segment, count(*) AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "%",
       round(avg(h.recency)) AS "avg days since last", round(avg(h.frequency), 1) AS "avg orders",
       round(avg(h.monetary)) AS "avg spend"
FROM crm.rfm_history h
WHERE h.as_of = (SELECT max(as_of) FROM crm.rfm_history)
GROUP BY h.segment ORDER BY customers DESC;

\echo
\echo '== Moves between the last two monthly snapshots (crm.rfm_transitions), the ten largest =='
SELECT t.from_segment, t.to_segment, count(*) AS customers
FROM crm.rfm_transitions t
WHERE t.to_date = (SELECT max(as_of) FROM crm.rfm_history)
GROUP BY 1, 2 ORDER BY customers DESC, 1, 2 LIMIT 10;

\echo
\echo '== Best customers slipping: Champions or Loyal a month ago, now needing attention or at risk =='
SELECT t.contact_id, c.first_name || ' ' || coalesce(c.last_name, '') AS name, t.from_rfm, t.to_rfm, t.to_segment
FROM crm.rfm_transitions t JOIN crm.contacts c USING (contact_id)
WHERE t.to_date = (SELECT max(as_of) FROM crm.rfm_history)
  AND t.from_segment IN ('Champions', 'Loyal Customers')
  AND t.to_segment IN ('Need Attention', 'About To Sleep', 'At Risk', 'Can''t Lose Them')
ORDER BY t.contact_id LIMIT 10;
