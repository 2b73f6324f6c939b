-- Lead scoring at work: fit and engagement rules, caps, decay, grades, BANT and naive Bayes, with
-- every number derived by hand in the comments. Everything is rolled back.
SET client_min_messages = warning;
BEGIN;
-- Two groups: fit points capped at 30; engagement capped at 50, halving every 10 days.
INSERT INTO crm.lead_scoring_groups (group_id, name, cap, half_life) VALUES
    (901, 'Fit', 30, NULL), (902, 'Engagement', 50, '10 days');
INSERT INTO crm.lead_scoring_rules (group_id, name, kind, entity, field, operator, value, points) VALUES
    (901, 'Software', 'fit', 'account', 'industry', '=', 'Software', 20),
    (901, 'Company of 200+', 'fit', 'account', 'employee_count', '>=', '200', 15),
    (901, 'Free mail', 'fit', 'contact', 'email', 'ends_with', '@gmail.com', -5);
INSERT INTO crm.lead_scoring_rules (group_id, name, kind, activity_kind, detail_key, detail_operator, detail_value, points) VALUES
    (902, 'Email open', 'engagement', 'email_open', NULL, NULL, NULL, 2),
    (902, 'Form', 'engagement', 'form_submit', NULL, NULL, NULL, 10),
    (902, 'Pricing page', 'engagement', 'page_view', 'url', 'like', '%/pricing%', 15);

INSERT INTO crm.accounts (account_id, name, industry, employee_count) VALUES (901, 'Corp', 'Software', 500);
INSERT INTO crm.contacts (contact_id, account_id, first_name, email) VALUES
    (901, 901, 'Ann', 'ann@corp.example'), (902, NULL, 'Bob', 'bob@gmail.com');
INSERT INTO crm.leads (lead_id, contact_id, source) VALUES (901, 901, 'web'), (902, 902, 'web');
INSERT INTO crm.activities (contact_id, lead_id, channel, kind, occurred_at, details) VALUES
    (901, 901, 'email', 'email_open', '2025-12-22 00:00+00', '{}'),
    (901, 901, 'web', 'form_submit', '2026-01-01 00:00+00', '{}'),
    (901, 901, 'web', 'page_view', '2025-12-12 00:00+00', '{"url": "https://corp.example/pricing"}'),
    (901, 901, 'web', 'page_view', '2025-12-31 00:00+00', '{"url": "https://corp.example/blog"}');

-- Lead 901 on 2026-01-01: fit 20 + 15 = 35, capped at 30. Engagement: the open 10 days before,
-- 2 x 1/2 = 1; the form that day, 10; the pricing page 20 days before, 15 x 1/4 = 3.75; the blog
-- page, nothing: 14.75. Score 44.75. Ten days later every engagement has halved: 30 + 7.375.
-- Lead 902: the free-mail rule only, -5 (a cap never lifts a negative sum).
SELECT lead_id, crm.lead_score(lead_id, '2026-01-01 00:00+00') AS "2026-01-01",
       crm.lead_score(lead_id, '2026-01-11 00:00+00') AS "2026-01-11",
       crm.lead_grade(crm.lead_score(lead_id, '2026-01-01 00:00+00')) AS grade
FROM crm.leads WHERE lead_id IN (901, 902) ORDER BY lead_id;
-- (the default thresholds: hot from 80, warm from 40)

-- The stored score is kept by triggers and always equals the recomputation at scored_at.
SELECT lead_id, score = crm.lead_score(lead_id, scored_at) AS stored_equals_recomputed
FROM crm.leads WHERE lead_id IN (901, 902) ORDER BY lead_id;

-- Rules are checked when written; the error names the rule.
\set VERBOSITY terse
INSERT INTO crm.lead_scoring_rules (rule_id, group_id, name, kind, entity, field, operator, value, points)
VALUES (999, 901, 'Typo', 'fit', 'lead', 'sorce', '=', 'web', 5);
\set VERBOSITY default
ROLLBACK;

BEGIN;
-- BANT: budget, authority, need medium or high, timeline within six months (the default rule).
-- Cy meets it and is qualified on insert; Di has no authority and stays new.
INSERT INTO crm.contacts (contact_id, first_name) VALUES (903, 'Cy'), (904, 'Di');
INSERT INTO crm.leads (lead_id, contact_id, source, budget, authority, need, timeline) VALUES
    (903, 903, 'referral', 50000, true, 'high', current_date + 30),
    (904, 904, 'web', 50000, false, 'high', current_date + 30);
SELECT lead_id, status, qualified_at IS NOT NULL AS qualified_at_set FROM crm.leads WHERE lead_id IN (903, 904) ORDER BY lead_id;
SELECT lead_id, from_status, to_status FROM crm.lead_status_history WHERE lead_id IN (903, 904) ORDER BY history_id;

-- Naive Bayes on the lead source: won 3 referral + 1 web, lost 1 referral + 3 web. With add-one
-- smoothing, P(won) = P(lost) = 5/10; P(referral | won) = (3 + 1)/(4 + 2) = 4/6 and
-- P(referral | lost) = 2/6, so a referral lead wins with (4/6) / (4/6 + 2/6) = 2/3; a web lead 1/3.
UPDATE crm.lead_scoring_settings SET nb_fields = '{source}';
SELECT crm.rebuild_lead_nb_counts();
INSERT INTO crm.contacts (contact_id, first_name) SELECT 910 + i, 'nb' || i FROM generate_series(1, 8) i;
INSERT INTO crm.leads (lead_id, contact_id, source, status, closed_at)
SELECT 910 + i, 910 + i, CASE WHEN i IN (1, 2, 3, 5) THEN 'referral' ELSE 'web' END,
       CASE WHEN i <= 4 THEN 'won' ELSE 'lost' END, now()
FROM generate_series(1, 8) i;
SELECT field, value, won, lost FROM crm.lead_nb_counts ORDER BY field, value;
SELECT lead_id, source, round(crm.lead_win_probability(lead_id)::numeric, 4) AS p_win
FROM crm.leads WHERE lead_id IN (903, 904) ORDER BY lead_id;
ROLLBACK;
