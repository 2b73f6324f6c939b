-- pgTAP: rule-based lead scoring (fit and engagement rules, decay, group and total caps, grades),
-- the triggers keeping the stored score equal to a recomputation, rules checked when written,
-- BANT qualification and its history, round-robin assignment, naive Bayes, and who may do what.
BEGIN;
SELECT plan(31);

-- Start from no rules, so only this test's count.
SET CONSTRAINTS ALL IMMEDIATE;
DELETE FROM crm.lead_scoring_rules;
DELETE FROM crm.lead_scoring_groups;
UPDATE crm.lead_scoring_settings SET total_cap = NULL, hot_threshold = 40, warm_threshold = 20, assignment_team = NULL,
    nb_fields = '{source}';
INSERT INTO crm.lead_scoring_groups (group_id, name, cap, half_life) VALUES
    (4001, 'Fit', 30, NULL), (4002, 'Engagement', 50, '10 days');
INSERT INTO crm.lead_scoring_rules (rule_id, group_id, name, kind, entity, field, operator, value, points) VALUES
    (4001, 4001, 'Software', 'fit', 'account', 'industry', '=', 'Software', 20),
    (4002, 4001, 'Company of 200+', 'fit', 'account', 'employee_count', '>=', '200', 15),
    (4003, 4001, 'Free mail', 'fit', 'contact', 'email', 'matches', '@gmail\.', -5);
INSERT INTO crm.lead_scoring_rules (rule_id, group_id, name, kind, activity_kind, detail_key, detail_operator, detail_value, points) VALUES
    (4004, 4002, 'Email open', 'engagement', 'email_open', NULL, NULL, NULL, 2),
    (4005, 4002, 'Form', 'engagement', 'form_submit', NULL, NULL, NULL, 10),
    (4006, 4002, 'Pricing page', 'engagement', 'page_view', 'url', 'like', '%/pricing%', 15);

INSERT INTO crm.accounts (account_id, name, industry, employee_count) VALUES (4001, 'Corp', 'Software', 500);
INSERT INTO crm.contacts (contact_id, account_id, first_name, email) VALUES
    (4001, 4001, 'Ann', 'ann@corp.example'), (4002, NULL, 'Bob', 'bob@gmail.com');
INSERT INTO crm.leads (lead_id, contact_id, source) VALUES (4001, 4001, 'web'), (4002, 4002, 'web');

-- Lead 4001 on 2026-01-01: fit 20 + 15 = 35, capped at 30. Engagement, half-life 10 days: an email
-- open 10 days before (2 x 1/2 = 1), a form that day (10), the pricing page 20 days before
-- (15 x 1/4 = 3.75), a page view elsewhere (0): 14.75. Score 44.75, by hand.
INSERT INTO crm.activities (contact_id, lead_id, channel, kind, occurred_at, details) VALUES
    (4001, 4001, 'email', 'email_open', '2025-12-22 00:00+00', '{}'),
    (4001, 4001, 'web', 'form_submit', '2026-01-01 00:00+00', '{}'),
    (4001, 4001, 'web', 'page_view', '2025-12-12 00:00+00', '{"url": "https://corp.example/pricing"}'),
    (4001, 4001, 'web', 'page_view', '2025-12-31 00:00+00', '{"url": "https://corp.example/blog"}');
SELECT is(crm.lead_score(4001, '2026-01-01 00:00+00'), 44.75, 'fit capped at 30, plus decayed engagement 14.75: 44.75');
-- Ten days later every engagement has halved: 0.5 + 5 + 1.875 = 7.375.
SELECT is(crm.lead_score(4001, '2026-01-11 00:00+00'), 37.375, 'ten days on, engagement halves: 37.375');
SELECT ok(abs(crm.lead_score(4001, '2025-12-25 00:00+00') - (30 + 2 * 0.5 ^ 0.3 + 15 * 0.5 ^ 1.3)) < 1e-6,
          'before the form: only what had happened counts, decayed to that moment (30 + 2 x 0.5^0.3 + 15 x 0.5^1.3)');
SELECT is(crm.lead_score(4002, '2026-01-01 00:00+00'), -5.0, 'negative points: free mail, no account: -5');
SELECT is(crm.lead_score(-1), NULL, 'an unknown lead has no score');
SELECT ok(crm.lead_grade(NULL) IS NULL AND crm.lead_grade(40) = 'hot' AND crm.lead_grade(39.99) = 'warm' AND crm.lead_grade(-5) = 'cold',
          'grades: NULL for NULL, hot from 40, warm from 20, cold below');

-- The stored score is the recomputation at scored_at, after every kind of change.
SELECT ok(bool_and(score = crm.lead_score(lead_id, scored_at)), 'stored = recomputed, after the activity inserts')
FROM crm.leads WHERE lead_id IN (4001, 4002);
UPDATE crm.accounts SET industry = 'Retail' WHERE account_id = 4001;
SELECT ok(score = crm.lead_score(4001, scored_at) AND crm.lead_score(4001, '2026-01-01 00:00+00') = 15 + 14.75,
          'an account change rescores its leads (fit now 15)') FROM crm.leads WHERE lead_id = 4001;
UPDATE crm.contacts SET email = 'bob@work.example' WHERE contact_id = 4002;
SELECT is((SELECT score FROM crm.leads WHERE lead_id = 4002), 0::numeric, 'a contact change rescores its leads');
DELETE FROM crm.activities WHERE lead_id = 4001 AND kind = 'form_submit';
SELECT ok(score = crm.lead_score(4001, scored_at), 'deleting an activity rescores') FROM crm.leads WHERE lead_id = 4001;

-- Rule changes rescore every lead once, at commit (here: at the deferred constraint check).
UPDATE crm.lead_scoring_groups SET cap = 100 WHERE group_id = 4001;
UPDATE crm.lead_scoring_rules SET points = 40 WHERE rule_id = 4002;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT ok(bool_and(score = crm.lead_score(lead_id, scored_at)) AND bool_and(scored_at >= now()),
          'a rule change rescores every lead') FROM crm.leads;
-- Total cap and grades.
UPDATE crm.lead_scoring_settings SET total_cap = 30;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT results_eq($$SELECT score, grade FROM crm.leads WHERE lead_id IN (4001, 4002) ORDER BY lead_id$$,
                  $$VALUES (30::numeric, 'warm'), (0, 'cold')$$, 'the total cap, and grades by the thresholds (warm >= 20)');

-- The rule test, operator by operator, each case with the answer SQL's own casts and operators give.
SELECT is((SELECT count(*)::int FROM (VALUES
    ('500', '>=', '200', 'numeric', true), ('500', '<', '200', 'numeric', false), ('5e2', '=', '500.00', 'numeric', true),
    ('500', 'in', '{100,500.0}', 'numeric', true), ('2026-01-01', '<', '2026-02-01', 'date', true),
    ('2026-01-01T00:00:00+00:00', '>=', '2025-12-31 23:00+00', 'timestamptz', true), ('true', '=', 't', 'boolean', true),
    ('false', '<>', 'yes', 'boolean', true), ('Software', 'in', '{Software,SaaS}', 'text', true),
    ('Retail', 'in', '{Software,SaaS}', 'text', false), ('abc', '<', 'abd', 'text', true),
    ('a@GMAIL.com', 'ends_with', '@gmail.COM', 'text', true), ('a@gmail.com', 'matches', '@GMAIL\.', 'text', true),
    ('/pricing/team', 'like', '%/pricing%', 'text', true), ('/Pricing', 'like', '%/pricing%', 'text', false),
    (NULL, 'is null', NULL, 'text', true), (NULL, '=', 'x', 'text', false), ('x', 'is not null', NULL, 'text', true))
    v(field_value, operator, value, value_type, expected)
    WHERE crm.lead_scoring_test(field_value, operator, value, value_type) = expected), 18,
    'the rule test: every operator and type, 18 cases');

-- Rules and settings are checked when written, naming the rule (22023; 22P02 for a value).
SELECT throws_ok($$INSERT INTO crm.lead_scoring_rules (rule_id, group_id, name, kind, entity, field, operator, value, points)
                   VALUES (4090, 4001, 'Bad field', 'fit', 'lead', 'salary', '=', '1', 5)$$,
                 '22023', 'lead scoring rule 4090 (''Bad field''): unknown field "salary" on lead', 'an unknown field');
SELECT throws_ok($$INSERT INTO crm.lead_scoring_rules (rule_id, group_id, name, kind, entity, field, operator, value, points)
                   VALUES (4091, 4001, 'Bad operator', 'fit', 'lead', 'source', '~~', 'web', 5)$$,
                 '22023', NULL, 'an unknown operator');
SELECT throws_ok($$INSERT INTO crm.lead_scoring_rules (rule_id, group_id, name, kind, entity, field, operator, value, points)
                   VALUES (4092, 4001, 'Bad number', 'fit', 'account', 'employee_count', '>=', 'many', 5)$$,
                 '22P02', NULL, 'a value that is not a number for a number field');
SELECT throws_ok($$INSERT INTO crm.lead_scoring_rules (rule_id, group_id, name, kind, activity_kind, points)
                   VALUES (4093, 4002, 'Bad points', 'engagement', 'email_open', 'NaN')$$, '22023', NULL, 'NaN points');
SELECT throws_ok($$INSERT INTO crm.lead_scoring_rules (rule_id, group_id, name, kind, activity_kind, points)
                   VALUES (4094, 4002, 'Bad points', 'engagement', 'email_open', 'ten')$$, '22P02', NULL, 'non-numeric points');
SELECT throws_ok($$UPDATE crm.lead_scoring_settings SET warm_threshold = 50$$, '22023', NULL, 'thresholds out of order');
INSERT INTO crm.lead_scoring_rules (rule_id, group_id, name, kind, entity, field, operator, value, points)
VALUES (4095, 4001, 'Injection', 'fit', 'contact', 'first_name', '=', '''; DROP TABLE crm.leads; --', 5);
SET CONSTRAINTS ALL IMMEDIATE;
SELECT ok(to_regclass('crm.leads') IS NOT NULL AND crm.lead_score(4001) IS NOT NULL, 'a value written like SQL is only a value');

-- BANT: a new lead meeting the rule (budget, authority, need medium or high, timeline within six
-- months) is qualified, and the change is recorded; one that does not stays new.
INSERT INTO crm.contacts (contact_id, first_name) VALUES (4003, 'Cy'), (4004, 'Di');
INSERT INTO crm.leads (lead_id, contact_id, source, budget, authority, need, timeline) VALUES
    (4003, 4003, 'referral', 50000, true, 'high', current_date + 30),
    (4004, 4004, 'web', 50000, false, 'high', current_date + 30);
SELECT results_eq($$SELECT status, qualified_at IS NOT NULL FROM crm.leads WHERE lead_id IN (4003, 4004) ORDER BY lead_id$$,
                  $$VALUES ('qualified', true), ('new', false)$$, 'BANT qualifies the lead with authority only');
UPDATE crm.leads SET authority = true WHERE lead_id = 4004;
SELECT is((SELECT array_agg(coalesce(from_status, '-') || '>' || to_status ORDER BY history_id) FROM crm.lead_status_history WHERE lead_id = 4004),
          ARRAY['->new', 'new>qualified'], 'the qualification is recorded in the status history');

-- Round-robin: hot unowned leads go to the team's active reps in turn.
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (4001, 'ls_rep_1', 'Rep One', 'one@ls.example', 'sales', 'ls-team'), (4002, 'ls_rep_2', 'Rep Two', 'two@ls.example', 'sales', 'ls-team');
INSERT INTO crm.activities (contact_id, lead_id, channel, kind, occurred_at, details) VALUES
    (4003, 4003, 'web', 'form_submit', now(), '{}'), (4003, 4003, 'web', 'page_view', now(), '{"url": "/pricing"}');
UPDATE crm.lead_scoring_settings SET assignment_team = 'ls-team', total_cap = NULL, hot_threshold = 24, warm_threshold = 10;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT is((SELECT array_agg(owner_id ORDER BY owner_id) FROM crm.leads WHERE lead_id IN (4001, 4003) AND grade = 'hot'),
          ARRAY[4001, 4002]::bigint[], 'two unowned leads turned hot: one went to each rep of the team');

-- Naive Bayes on source: won 3 referral + 1 web, lost 1 referral + 3 web. For a referral lead, by
-- hand with add-one smoothing: P(won) = 5/10, P(referral | won) = 4/6, P(referral | lost) = 2/6,
-- so S_won / (S_won + S_lost) = 2/3; for a web lead 1/3.
INSERT INTO crm.contacts (contact_id, first_name) SELECT 4100 + i, 'nb' || i FROM generate_series(1, 8) i;
INSERT INTO crm.leads (lead_id, contact_id, source, status, closed_at)
SELECT 4100 + i, 4100 + i, CASE WHEN i IN (1, 2, 3, 5) THEN 'referral' ELSE 'web' END,
       CASE WHEN i <= 4 THEN 'won' ELSE 'lost' END, now()
FROM generate_series(1, 8) i;
SELECT is(round(crm.lead_win_probability(4003)::numeric, 12), round(2 / 3.0, 12), 'a referral lead: 2/3');
SELECT is(round(crm.lead_win_probability(4002)::numeric, 12), round(1 / 3.0, 12), 'a web lead: 1/3');
-- Reopening a lost lead takes its counts back; deleting a won one too.
UPDATE crm.leads SET status = 'contacted', closed_at = NULL WHERE lead_id = 4105;
SELECT is((SELECT won || '/' || lost FROM crm.lead_nb_counts WHERE field = 'source' AND value = 'referral'), '3/0',
          'a reopened lead leaves the counts');
SELECT is(crm.rebuild_lead_nb_counts(), 7::bigint, 'a rebuild from the closed leads counts 7');
SELECT is((SELECT won || '/' || lost FROM crm.lead_nb_counts WHERE field = 'source' AND value = 'referral'), '3/0',
          'and agrees with the incremental counts');

-- A sales rep's activity insert rescores their lead (the trigger runs with the extension's rights);
-- reps cannot touch the rules.
-- (A rep logs activities only on contacts and leads of their own: rep 1 gets lead 4001 and its contact.)
UPDATE crm.contacts SET owner_id = 4001 WHERE contact_id = 4001;
UPDATE crm.leads SET owner_id = 4001 WHERE lead_id = 4001;
CREATE ROLE ls_rep_1; GRANT crm_sales TO ls_rep_1;
SET ROLE ls_rep_1;
INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind, occurred_at) VALUES (4001, 4001, 4001, 'email', 'email_open', now());
SELECT ok(score = crm.lead_score(4001, scored_at) AND scored_at >= now(), 'a rep''s activity rescores the lead') FROM crm.leads WHERE lead_id = 4001;
SELECT throws_ok($$UPDATE crm.lead_scoring_rules SET points = 100$$, '42501', NULL, 'a rep cannot change the rules');
SELECT is((SELECT array_agg(DISTINCT h.lead_id) FROM crm.lead_status_history h), (SELECT array_agg(lead_id ORDER BY lead_id) FROM crm.leads),
          'a rep sees the status history of the leads they see, and only those');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
