-- pgTAP: crm.customer_360 and rule-based segments: rules checked when written and at refresh,
-- values that are only ever data, membership history, campaign draws that respect consent, and
-- who may do what.
BEGIN;
SELECT plan(30);

-- Six contacts: 1-3 bought (3, 1 and 0 paid orders; contact 3 only a cancelled one), 1, 2 and 4
-- gave marketing consent, contact 5 has an open ticket, contact 6 is called O'Brien.
INSERT INTO crm.contacts (contact_id, first_name, last_name, country, marketing_consent, consent_at, consent_source) VALUES
    (3001, 'Ann', 'A', 'DE', true, now(), 'form'), (3002, 'Ben', 'B', 'FR', true, now(), 'form'),
    (3003, 'Cy', 'C', 'DE', false, NULL, NULL), (3004, 'Di', 'D', 'US', true, now(), 'form'),
    (3005, 'Ed', 'E', NULL, false, NULL, NULL), (3006, 'Flo', 'O''Brien', 'IE', false, NULL, NULL);
INSERT INTO crm.orders (contact_id, ordered_at, status, total) VALUES
    (3001, now() - interval '40 days', 'paid', 100), (3001, now() - interval '20 days', 'shipped', 50),
    (3001, now() - interval '2 days', 'paid', 25), (3002, now() - interval '300 days', 'paid', 500),
    (3003, now() - interval '5 days', 'cancelled', 80);
INSERT INTO crm.tickets (contact_id, subject, channel, status, resolved_at) VALUES (3005, 'Help', 'email', 'open', NULL), (3005, 'Old', 'email', 'closed', now());
INSERT INTO crm.activities (contact_id, channel, kind, occurred_at) VALUES
    (3001, 'email', 'email_open', now() - interval '3 days'), (3001, 'email', 'email_open', now() - interval '1 day'),
    (3001, 'web', 'page_view', now() - interval '2 days');
INSERT INTO crm.survey_responses (contact_id, kind, score, responded_at) VALUES
    (3002, 'nps', 9, now() - interval '60 days'), (3002, 'nps', 3, now() - interval '10 days');

-- The 360 view, checked against the rows above.
SELECT results_eq($$SELECT contact_id, orders::int, total_spent, open_tickets::int, nps_score::int
                    FROM crm.customer_360 WHERE contact_id BETWEEN 3001 AND 3005 ORDER BY contact_id$$,
                  $$VALUES (3001::bigint, 3, 175.00::numeric, 0, NULL::int), (3002, 1, 500.00, 0, 3), (3003, 0, 0.00, 0, NULL),
                           (3004, 0, 0.00, 0, NULL), (3005, 0, 0.00, 1, NULL)$$,
                  'orders and spend count paid and shipped orders only; open tickets; the latest NPS answer');
SELECT ok(last_email_at > now() - interval '2 days' AND last_web_at < last_email_at AND last_phone_at IS NULL
          AND last_activity_at = last_email_at,
          'the last activity per channel') FROM crm.customer_360 WHERE contact_id = 3001;
SELECT is((SELECT count(*)::int FROM crm.customer_360 WHERE contact_id BETWEEN 3001 AND 3006), 6, 'one row per contact');
SELECT is((SELECT rfm_segment FROM crm.customer_360 WHERE contact_id = 3001), NULL, 'no RFM before a snapshot');
SELECT crm.refresh_rfm(now());
SELECT is((SELECT rfm::text FROM crm.customer_360 WHERE contact_id = 3001),
          (SELECT rfm::text FROM crm.rfm_scores(now()) WHERE contact_id = 3001), 'the RFM of the latest snapshot');
SELECT is((SELECT p_alive FROM crm.customer_360 WHERE contact_id = 3001), NULL, 'no CLV columns without a stored model');

-- Segments: rules are data, checked when written.
INSERT INTO crm.segments (segment_id, name, combine) VALUES (31, 'German or French', 'or'), (32, 'Buyers in Germany', 'and'),
    (33, 'Injected', 'and'), (34, 'Big spenders', 'and');
SELECT throws_ok($$INSERT INTO crm.segment_rules (rule_id, segment_id, column_name, operator, value) VALUES (3101, 31, 'salary', '=', '1')$$,
                 '22023', 'segment rule 3101 (segment "German or French"): unknown column "salary"', 'an unknown column names the rule');
SELECT throws_ok($$INSERT INTO crm.segment_rules (rule_id, segment_id, column_name, operator, value) VALUES (3102, 31, 'country', '~', 'DE')$$,
                 '22023', 'segment rule 3102 (segment "German or French"): unknown operator "~"', 'an unknown operator names the rule');
SELECT throws_ok($$INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (32, 'orders', '>=', 'many')$$,
                 '22P02', NULL, 'a value the column''s type rejects (bigint ''many'')');
SELECT throws_ok($$INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (32, 'orders', 'like', '1%')$$,
                 '22023', NULL, 'like on a number');
SELECT throws_ok($$INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (32, 'orders', 'is null', '3')$$,
                 '22023', NULL, 'is null takes no value');
SELECT throws_ok($$INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (32, 'orders', '>', NULL)$$,
                 '22023', NULL, '> needs a value');
SELECT throws_ok($$INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (31, 'country', 'in', 'DE')$$,
                 '22P02', NULL, 'in takes an array literal');

INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES
    (31, 'country', '=', 'DE'), (31, 'country', '=', 'FR'),
    (32, 'country', 'in', '{DE}'), (32, 'orders', '>=', '1'),
    (33, 'last_name', '=', '''); DROP TABLE crm.contacts; --'), (33, 'first_name', 'like', '%''%'),
    (34, 'total_spent', '>', '100');
SELECT is(crm.segment_condition(32), '(country OPERATOR(pg_catalog.=) ANY (''{DE}''::pg_catalog.text[])) AND (orders OPERATOR(pg_catalog.>=) ''1''::pg_catalog.int8)',
          'a segment compiles to quoted identifiers and literals, operators and types named with their schema');

SELECT results_eq($$SELECT segment_id, members, joined, departed FROM crm.refresh_segments() WHERE segment_id BETWEEN 31 AND 34 ORDER BY 1$$,
                  $$VALUES (31::bigint, 3::bigint, 3::bigint, 0::bigint), (32, 1, 1, 0), (33, 0, 0, 0), (34, 2, 2, 0)$$,
                  'refresh: German or French 3 (OR), buyers in Germany 1 (AND), the injected value matches nobody, big spenders 2');
SELECT is((SELECT array_agg(contact_id ORDER BY contact_id) FROM crm.segment_members WHERE segment_id = 31), ARRAY[3001, 3002, 3003]::bigint[],
          'the members of German or French');
SELECT ok(to_regclass('crm.contacts') IS NOT NULL AND (SELECT count(*) FROM crm.contacts WHERE contact_id BETWEEN 3001 AND 3006) = 6,
          'a rule value written like SQL is only ever a value: crm.contacts is still there');
SELECT is((SELECT count(*)::int FROM crm.segment_members WHERE segment_id = 33), 0, '... and matched nobody, O''Brien included');

-- A segment without rules compiles to false and has no members (0.1 raised "unknown column").
INSERT INTO crm.segments (segment_id, name) VALUES (35, 'No rules yet');
SELECT is(crm.segment_condition(35), 'false', 'a segment without rules compiles to false');
SELECT results_eq($$SELECT members, joined, departed FROM crm.refresh_segment(35)$$, $$VALUES (0::bigint, 0::bigint, 0::bigint)$$,
                  'a segment without rules refreshes to no members');

-- History: change the data, refresh, and the departure is recorded.
UPDATE crm.contacts SET country = 'AT' WHERE contact_id = 3003;
SELECT results_eq($$SELECT members, joined, departed FROM crm.refresh_segment(31)$$, $$VALUES (2::bigint, 0::bigint, 1::bigint)$$,
                  'contact 3003 left German or French');
SELECT ok(left_at IS NOT NULL, 'the stay is closed in the history')
FROM crm.segment_membership_history WHERE segment_id = 31 AND contact_id = 3003;
UPDATE crm.contacts SET country = 'DE' WHERE contact_id = 3003;
SELECT crm.refresh_segment(31);
SELECT is((SELECT count(*)::int FROM crm.segment_membership_history WHERE segment_id = 31 AND contact_id = 3003), 2,
          'coming back opens a second stay');
SELECT throws_ok($$SELECT crm.refresh_segment(999)$$, '22023', 'segment 999 does not exist', 'refreshing a missing segment');

-- A campaign drawn from a segment leaves out everyone without marketing consent (3003).
INSERT INTO crm.campaigns (campaign_id, name, channel) VALUES (3901, 'Spring', 'email');
SELECT is(crm.add_segment_to_campaign(31, 3901), 2, 'two of the three members consented');
SELECT is((SELECT array_agg(contact_id ORDER BY contact_id) FROM crm.campaign_members WHERE campaign_id = 3901),
          ARRAY[3001, 3002]::bigint[], 'the campaign has the consenting members only');
SELECT is(crm.add_segment_to_campaign(31, 3901), 0, 'drawing again adds nobody twice');

-- Who may do what: analysts and reps read segments but cannot write rules or refresh.
CREATE ROLE seg_al; GRANT crm_analyst TO seg_al;
CREATE ROLE seg_rep; GRANT crm_sales TO seg_rep;
SET ROLE seg_al;
SELECT throws_ok($$INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (31, 'country', '=', 'IT')$$,
                 '42501', NULL, 'an analyst cannot write rules');
RESET ROLE;
SET ROLE seg_rep;
SELECT throws_ok($$SELECT crm.refresh_segments()$$, '42501', NULL, 'a rep cannot refresh segments');
SELECT is((SELECT count(*)::int FROM crm.customer_360 WHERE contact_id BETWEEN 3001 AND 3006), 0,
          'a rep without contacts sees no row of the 360 view');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
