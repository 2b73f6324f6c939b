-- Demo report: the customer 360 view and rule-based segments.
\echo
\echo '== Rule-based segments over crm.customer_360 (rules are data; refreshed by crm.refresh_segments) =='
SELECT s.name, s.combine, string_agg(r.column_name || ' ' || r.operator || coalesce(' ' || r.value, ''), '; ' ORDER BY r.rule_id) AS rules,
       (SELECT count(*) FROM crm.segment_members m WHERE m.segment_id = s.segment_id) AS members
FROM crm.segments s LEFT JOIN crm.segment_rules r USING (segment_id)
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
SELECT s.name AS segment, (SELECT count(*) FROM crm.segment_members m WHERE m.segment_id = s.segment_id) AS members,
       crm.add_segment_to_campaign(s.segment_id, currval('crm.campaigns_campaign_id_seq')) AS added_to_campaign
FROM crm.segments s WHERE s.name = 'Slipping big spenders';
ROLLBACK;
\set QUIET off
