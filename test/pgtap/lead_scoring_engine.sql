-- pgTAP: the scores the triggers store (computed in C, src/lead_scoring.c) equal the SQL definition
-- (crm.lead_scores, through crm.lead_score) exactly, on random leads exercising every field type and
-- operator, caps (negative ones too), decay by rule and by group (in days and in months), details
-- conditions, activities dated in the future, contacts without an account; under another time zone
-- and date style; after rules change within the transaction (the model the C code keeps); and for
-- a bulk insert, which takes the set-based path.
BEGIN;
SELECT plan(11);

SET CONSTRAINTS ALL IMMEDIATE;
DELETE FROM crm.lead_scoring_rules;
DELETE FROM crm.lead_scoring_groups;
UPDATE crm.lead_scoring_settings SET total_cap = 45, hot_threshold = 40, warm_threshold = 25, assignment_team = NULL;
-- a column added by the user: a float field, which to_jsonb renders through numeric
ALTER TABLE crm.accounts ADD COLUMN rating double precision;

INSERT INTO crm.lead_scoring_groups (group_id, name, cap, half_life) VALUES
    (4801, 'Fit', 50, NULL), (4802, 'Engagement', 40, '7 days'), (4803, 'Monthly', NULL, '1 mon'),
    (4804, 'Penalties', -4, NULL);
INSERT INTO crm.lead_scoring_rules (group_id, name, kind, entity, field, operator, value, points) VALUES
    (4801, 'Budget', 'fit', 'lead', 'budget', '>=', '10000', 10),
    (4801, 'Authority', 'fit', 'lead', 'authority', '=', 'true', 8),
    (4801, 'Soon', 'fit', 'lead', 'timeline', '<', '2026-12-15', 6),
    (4801, 'Recent', 'fit', 'lead', 'created_at', '>', '2026-06-01 12:00+02', 4),
    (4801, 'Channels', 'fit', 'lead', 'source', 'in', '{web,event}', 5),
    (4801, 'No need given', 'fit', 'lead', 'need', 'is null', NULL, -3),
    (4801, 'Free mail', 'fit', 'contact', 'email', 'ends_with', '@GMAIL.com', -5),
    (4801, 'A names', 'fit', 'contact', 'first_name', 'matches', '^a', 2),
    (4801, 'B names', 'fit', 'contact', 'first_name', 'like', 'b%', 1),
    (4801, 'Titled', 'fit', 'contact', 'title', 'is not null', NULL, 3),
    (4801, 'Software', 'fit', 'account', 'industry', '=', 'Software', 12),
    (4801, 'Large', 'fit', 'account', 'employee_count', '>', '100', 7),
    (4801, 'Sizes', 'fit', 'account', 'employee_count', 'in', '{5,50,500}', 2),
    (4801, 'Rich', 'fit', 'account', 'annual_revenue', '>=', '1e6', 5),
    (4801, 'Rated', 'fit', 'account', 'rating', '>=', '4.5', 3),
    (4801, 'Not retail', 'fit', 'account', 'industry', '<>', 'Retail', 1);
INSERT INTO crm.lead_scoring_rules (group_id, name, kind, activity_kind, channel, detail_key, detail_operator, detail_value, half_life, points) VALUES
    (4802, 'Open', 'engagement', 'email_open', NULL, NULL, NULL, NULL, NULL, 2),
    (4802, 'Web form', 'engagement', 'form_submit', 'web', NULL, NULL, NULL, NULL, 10),
    (4803, 'Pricing', 'engagement', 'page_view', NULL, 'url', 'like', '%pricing%', '2 days', 15),
    (4803, 'Referred', 'engagement', 'page_view', NULL, 'ref', 'is not null', NULL, NULL, 3),
    (4803, 'Campaign', 'engagement', 'email_click', NULL, 'campaign', '=', 'x', NULL, 4),
    (4803, 'Docs', 'engagement', 'page_view', NULL, 'url', 'ends_with', '/DOCS', '3 hours', 1.5),
    (4804, 'Unsubscribed', 'engagement', 'email_reply', NULL, 'text', 'matches', 'unsubscribe', NULL, -2.25),
    (4804, 'Meeting missed', 'engagement', 'meeting', 'phone', NULL, NULL, NULL, NULL, -1);

SELECT setseed(0.48);
INSERT INTO crm.accounts (account_id, name, industry, employee_count, annual_revenue, rating)
SELECT 4800 + i, 'acct ' || i, (ARRAY['Software', 'Retail', NULL, 'Finance'])[1 + i % 4],
       (ARRAY[5, 50, 500, 99, 101, NULL])[1 + i % 6], (ARRAY[999999.99, 1000000, 25, NULL])[1 + i % 4],
       (ARRAY[4.5, 4.4999999, 1e20, 0.1, NULL, 'Infinity'])[1 + i % 6]
FROM generate_series(1, 40) i;
INSERT INTO crm.contacts (contact_id, account_id, first_name, email, title)
SELECT 4800 + i, CASE WHEN i % 5 = 0 THEN NULL ELSE 4801 + (i * 7) % 40 END,
       (ARRAY['ann', 'Bea', 'bob', 'Al', 'Zed', NULL])[1 + i % 6],
       CASE WHEN i % 3 = 0 THEN 'c' || i || '@gmail.com' ELSE 'c' || i || '@corp.example' END,
       CASE WHEN i % 4 = 0 THEN 'CTO' END
FROM generate_series(1, 300) i;
INSERT INTO crm.leads (lead_id, contact_id, source, budget, authority, need, timeline, created_at)
SELECT 4800 + i, 4800 + i, (ARRAY['web', 'event', 'referral', 'partner'])[1 + i % 4],
       (ARRAY[9999.99, 10000, 250000, NULL])[1 + i % 4], (ARRAY[true, false, NULL])[1 + i % 3],
       (ARRAY['high', NULL, 'low'])[1 + i % 3], date '2026-12-01' + (i % 40),
       timestamptz '2026-06-01 10:00+00' + (i % 7) * interval '1 hour'
FROM generate_series(1, 300) i;
-- 3,000 activities in one statement: the trigger scores 300 leads at once, in lead order. Times
-- run from 85 days ago to 5 days ahead (those are not counted yet).
INSERT INTO crm.activities (contact_id, lead_id, channel, kind, occurred_at, details)
SELECT l, l, (ARRAY['email', 'web', 'phone', 'meeting']::crm.channel[])[1 + (a * 3) % 4],
       (ARRAY['email_open', 'form_submit', 'page_view', 'email_click', 'email_reply', 'meeting']::crm.activity_kind[])[1 + (a * 5) % 6],
       now() + interval '5 days' - random() * interval '90 days',
       (ARRAY['{}', '{"url": "https://x.example/pricing"}', '{"url": "https://x.example/docs", "ref": null}',
              '{"ref": "partner", "url": "/blog"}', '{"campaign": "x"}', '{"campaign": "y"}',
              '{"text": "please UNSUBSCRIBE me"}', '{"url": 42}'])[1 + (a * 7) % 8]::jsonb
FROM generate_series(1, 3000) a, LATERAL (SELECT 4801 + (a * 7919) % 300 AS l) x;

SELECT is((SELECT count(*) FROM crm.leads WHERE lead_id > 4800 AND scored_at IS NOT NULL), 300::bigint,
          'one multi-row insert scored all 300 leads');
SELECT is((SELECT count(*) FROM crm.leads WHERE lead_id > 4800 AND score IS DISTINCT FROM crm.lead_score(lead_id, scored_at)),
          0::bigint, 'every stored score equals the SQL recomputation at scored_at');
SELECT ok((SELECT count(DISTINCT score) > 100 AND min(score) < 0 AND max(score) = 45 AND count(*) FILTER (WHERE score <> round(score)) > 50
           FROM crm.leads WHERE lead_id > 4800),
          'the scores are varied: negative ones, fractions from decay, some at the total cap');
SELECT is((SELECT count(*) FROM crm.leads WHERE lead_id > 4800 AND grade IS DISTINCT FROM crm.lead_grade(score)),
          0::bigint, 'every stored grade is the grade of the stored score');
-- Each fit rule matched some lead and missed another (else the comparison above proves less).
SELECT is((SELECT array_agg(r.name ORDER BY r.name) FROM crm.lead_scoring_rules r, LATERAL (
              SELECT bool_or(t) AS some_match, bool_or(NOT t) AS some_miss
              FROM crm.leads l JOIN crm.contacts c USING (contact_id) LEFT JOIN crm.accounts a ON a.account_id = c.account_id,
                   LATERAL (SELECT crm.lead_scoring_test(CASE r.entity WHEN 'lead' THEN to_jsonb(l) WHEN 'contact' THEN to_jsonb(c)
                                                       ELSE to_jsonb(a) END ->> r.field, r.operator, r.value, r.value_type) AS t) x
              WHERE l.lead_id > 4800) m
           WHERE r.kind = 'fit' AND NOT (m.some_match AND m.some_miss)), NULL,
          'every fit rule both matched and missed some lead');

-- Fields read in another time zone and date style, after the clock moved on.
SET LOCAL TimeZone = 'America/New_York';
SET LOCAL DateStyle = 'SQL, DMY';
SELECT crm.lead_scoring_refresh(ARRAY(SELECT lead_id FROM crm.leads WHERE lead_id > 4800));
SELECT is((SELECT count(*) FROM crm.leads WHERE lead_id > 4800 AND score IS DISTINCT FROM crm.lead_score(lead_id, scored_at)),
          0::bigint, 'in another time zone and date style: equal again');
RESET TimeZone;
RESET DateStyle;

-- Rules changed in this transaction are what the next insert scores with.
SET CONSTRAINTS ALL DEFERRED;
UPDATE crm.lead_scoring_rules SET points = 40 WHERE name = 'Open';
UPDATE crm.lead_scoring_groups SET cap = 1000, half_life = '1 day' WHERE group_id = 4802;
UPDATE crm.lead_scoring_settings SET total_cap = NULL;
INSERT INTO crm.activities (contact_id, lead_id, channel, kind, occurred_at)
SELECT lead_id, lead_id, 'email', 'email_open', now() - interval '1 hour' FROM crm.leads WHERE lead_id BETWEEN 4801 AND 4850;
SELECT is((SELECT count(*) FROM crm.leads WHERE lead_id BETWEEN 4801 AND 4850 AND score IS DISTINCT FROM crm.lead_score(lead_id, scored_at)),
          0::bigint, 'after rule, group and settings changes in the transaction: equal');
-- Dropping a field a rule reads makes it read as NULL; the leads of changed accounts are rescored.
ALTER TABLE crm.accounts DROP COLUMN rating;
CREATE TEMPORARY TABLE account_leads ON COMMIT DROP AS
SELECT l.lead_id, l.scored_at FROM crm.leads l JOIN crm.contacts c USING (contact_id) WHERE c.account_id BETWEEN 4801 AND 4810;
UPDATE crm.accounts SET industry = 'Robotics' WHERE account_id BETWEEN 4801 AND 4810;
SELECT is((SELECT count(*) FROM account_leads a JOIN crm.leads l USING (lead_id)
           WHERE l.scored_at > a.scored_at AND l.score = crm.lead_score(l.lead_id, l.scored_at)),
          (SELECT count(*) FROM account_leads), 'a dropped field reads as NULL; an account change rescores its leads: equal');
SET CONSTRAINTS ALL IMMEDIATE;
SELECT is((SELECT count(*) FROM crm.leads WHERE lead_id > 4800 AND score IS DISTINCT FROM crm.lead_score(lead_id, scored_at)),
          0::bigint, 'after the rescoring at commit: equal');

-- A statement touching 500 leads or more (a bulk load) stores them with one set-based UPDATE.
INSERT INTO crm.contacts (contact_id, first_name) SELECT 5200 + i, 'bulk' || i FROM generate_series(1, 600) i;
INSERT INTO crm.leads (lead_id, contact_id, source) SELECT 5200 + i, 5200 + i, 'web' FROM generate_series(1, 600) i;
INSERT INTO crm.activities (contact_id, lead_id, channel, kind, occurred_at)
SELECT 5200 + i, 5200 + i, 'web', 'form_submit', now() - i * interval '1 hour' FROM generate_series(1, 600) i;
SELECT is((SELECT count(*) FILTER (WHERE score = crm.lead_score(lead_id, scored_at) AND score > 0) FROM crm.leads WHERE lead_id > 5200),
          600::bigint, 'a bulk insert for 600 leads: all scored, equal');

SELECT lives_ok($$SELECT crm.lead_scoring_refresh(ARRAY[NULL, -5, 4801, 4801]::bigint[]), crm.lead_scoring_refresh('{}')$$,
                'rescoring skips NULL and unknown ids, scores a repeated one once, and takes an empty list');

SELECT * FROM finish();
ROLLBACK;
