-- Demo report: the customer 360 view and rule-based segments.
\echo
\echo '== Rule-based segments over crm.customer_360 (rules are data; refreshed by crm.refresh_segments) =='
WITH members AS MATERIALIZED (SELECT segment_id, count(*) AS members FROM crm.segment_members GROUP BY segment_id)
SELECT s.name, s.combine, string_agg(r.column_name || ' ' || r.operator || coalesce(' ' || r.value, ''), '; ' ORDER BY r.rule_id) AS rules,
       coalesce(min(m.members), 0) AS members
FROM crm.segments s LEFT JOIN crm.segment_rules r USING (segment_id) LEFT JOIN members m USING (segment_id)
GROUP BY s.segment_id ORDER BY s.segment_id;

\echo
\echo '== Customer 360: the three biggest spenders =='
SELECT contact_id, first_name || ' ' || coalesce(last_name, '') AS name, account_name, orders, total_spent,
       rfm, rfm_segment, open_tickets, nps_score, last_activity_at::date AS last_activity, marketing_consent
FROM crm.customer_360 ORDER BY total_spent DESC, contact_id LIMIT 3;

\echo
\echo '== A campaign drawn from a segment (only members who gave marketing consent are added) =='
\set QUIET on
BEGIN;
INSERT INTO crm.campaigns (name, channel, status) VALUES ('Demo: win back big spenders', 'email', 'planned');
WITH s AS MATERIALIZED (SELECT segment_id, name FROM crm.segments WHERE name = 'Slipping big spenders'),
     m AS MATERIALIZED (SELECT count(*) AS members FROM crm.segment_members WHERE segment_id = (SELECT segment_id FROM s))
SELECT s.name AS segment, m.members,
       crm.add_segment_to_campaign(s.segment_id, currval('crm.campaigns_campaign_id_seq')) AS added_to_campaign
FROM s, m;
ROLLBACK;
\set QUIET off
