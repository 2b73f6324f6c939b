-- pgTAP: NPS on the CRM schema: the monthly view, the detractor follow-up trigger, the demo data
-- hook, and who may do what.
BEGIN;
SELECT plan(27);

INSERT INTO crm.users (user_id, login_role, full_name, email, role) VALUES
    (9001, 'nps_test_owner', 'Contact Owner', 'owner.nps@example.com', 'sales'),
    (9002, 'nps_test_account_owner', 'Account Owner', 'account.nps@example.com', 'manager');
INSERT INTO crm.accounts (account_id, name, owner_id) VALUES (9001, 'Owned', 9002), (9002, 'Unowned', NULL);
INSERT INTO crm.contacts (contact_id, account_id, first_name, owner_id) VALUES
    (9001, 9001, 'Owned contact', 9001),
    (9002, 9001, 'Contact of an owned account', NULL),
    (9003, 9002, 'Nobody''s contact', NULL),
    (9004, NULL, 'Consumer', NULL);

-- The trigger: detractors only, priority by score, the right assignee.
INSERT INTO crm.survey_responses (response_id, contact_id, kind, score, responded_at) VALUES
    (9001, 9001, 'nps', 0, '2099-04-01 10:00+00'),
    (9002, 9002, 'nps', 4, '2099-04-02 10:00+00'),
    (9003, 9003, 'nps', 6, '2099-04-03 10:00+00'),
    (9004, 9004, 'nps', 3, '2099-04-04 10:00+00'),
    (9005, 9001, 'nps', 7, '2099-04-05 10:00+00'),
    (9006, 9001, 'nps', 10, '2099-04-06 10:00+00'),
    (9007, 9001, 'csat', 1, '2099-04-07 10:00+00'),
    (9008, 9001, 'ces', 1, '2099-04-08 10:00+00');
SELECT results_eq(
    $$SELECT response_id, contact_id, assignee_id, priority, status, due_at
      FROM crm.tasks WHERE response_id BETWEEN 9001 AND 9008 ORDER BY response_id$$,
    $$VALUES (9001::bigint, 9001::bigint, 9001::bigint, 'high', 'open', '2099-04-03 10:00+00'::timestamptz),
             (9002, 9002, 9002, 'normal', 'open', '2099-04-04 10:00+00'),
             (9003, 9003, NULL, 'normal', 'open', '2099-04-05 10:00+00'),
             (9004, 9004, NULL, 'high', 'open', '2099-04-06 10:00+00')$$,
    'one task per detractor: contact owner, else account owner; high for 0-3; due two days after the answer');
SELECT is((SELECT title FROM crm.tasks WHERE response_id = 9001), 'Follow up NPS detractor (score 0)', 'the title names the score');

-- A role that may insert answers but has no right on tasks still opens the follow-up.
CREATE ROLE nps_test_web_form NOLOGIN;
GRANT USAGE ON SCHEMA crm TO nps_test_web_form;
GRANT INSERT ON crm.survey_responses TO nps_test_web_form;
SET LOCAL ROLE nps_test_web_form;
SELECT throws_ok('SELECT count(*) FROM crm.tasks', '42501', NULL, 'the web form role cannot read tasks');
SELECT lives_ok($$INSERT INTO crm.survey_responses (response_id, contact_id, kind, score, comment, responded_at)
                  VALUES (9009, 9001, 'nps', 2, 'Broken again', '2099-04-09 10:00+00')$$,
                'the web form role inserts a detractor answer');
RESET ROLE;
SELECT is((SELECT description FROM crm.tasks WHERE response_id = 9009), 'Their comment: Broken again',
          'its task was opened, with the comment');

-- The demo hook: answers loaded with triggers off get their tasks afterwards, once.
SET LOCAL session_replication_role = replica;
INSERT INTO crm.survey_responses (response_id, contact_id, kind, score, responded_at) VALUES
    (9010, 9001, 'nps', 1, '2099-03-01 10:00+00'),
    (9011, 9004, 'nps', 5, '2099-04-30 10:00+00'),
    (9012, 9004, 'nps', 9, '2099-04-30 11:00+00');
SET LOCAL session_replication_role = origin;
SELECT is((SELECT count(*) FROM crm.tasks WHERE response_id IN (9010, 9011)), 0::bigint, 'no task while triggers are off');
SELECT is(crm.generate_demo_detractor_tasks(42), 2, 'the hook opens the two missing tasks');
SELECT is(crm.generate_demo_detractor_tasks(42), 0, 'a second call opens none');
SELECT is((SELECT count(*) FROM crm.tasks WHERE response_id BETWEEN 9001 AND 9012), 7::bigint,
          'seven detractors, seven tasks: none for the promoter');
-- The last answer is 2099-04-30: the task due 2099-03-03 is done, within two days of the answer;
-- the one due 2099-05-02 is open.
SELECT ok((SELECT t.status = 'done' AND t.completed_at > r.responded_at
                  AND t.completed_at <= r.responded_at + interval '2 days' AND t.created_at = r.responded_at
           FROM crm.tasks t JOIN crm.survey_responses r USING (response_id) WHERE response_id = 9010),
          'a long past task is played forward to done');
SELECT is((SELECT status FROM crm.tasks WHERE response_id = 9011), 'open', 'a recent one stays open');
SELECT is((SELECT completed_at FROM crm.tasks WHERE response_id = 9010),
          (SELECT responded_at + interval '1 second' * (1 + (hashtextextended('9010', 42) & 131071))
           FROM crm.survey_responses WHERE response_id = 9010),
          'the completion time is a function of the seed');

-- The view, against counts made here by hand. April: detractors 0, 4, 6, 3, 2, 5, a passive 7 and
-- promoters 10, 9: 100 * (2 - 6) / 9 = -44.44 over all accounts. Account 9001 (contacts 9001,
-- 9002): 0, 4, 7, 10, 2 -> 100 * (1 - 3) / 5 = -40; CSAT 1 -> 0%; CES 1.
SELECT results_eq(
    $$SELECT nps_summary::text, round(nps::numeric, 2), nps_responses, csat, csat_responses, ces, ces_responses
      FROM crm.survey_scores_monthly WHERE month = '2099-04-01' AND all_accounts$$,
    $$VALUES ('(1,0,1,1,1,1,1,1,0,1,1)', -44.44, 9::bigint, 0::float8, 1::bigint, 1::float8, 1::bigint)$$,
    'April over all accounts');
SELECT results_eq(
    $$SELECT nps_summary::text, nps, nps_responses, csat, ces
      FROM crm.survey_scores_monthly WHERE month = '2099-04-01' AND account_id = 9001$$,
    $$VALUES ('(1,0,1,0,1,0,0,1,0,0,1)', -40::float8, 5::bigint, 0::float8, 1::float8)$$,
    'April at account 9001');
SELECT results_eq(
    $$SELECT nps_summary::text, nps, nps_responses, csat, csat_responses
      FROM crm.survey_scores_monthly WHERE month = '2099-04-01' AND account_id IS NULL AND NOT all_accounts$$,
    $$VALUES ('(0,0,0,1,0,1,0,0,0,1,0)', -33.333333333333336::float8, 3::bigint, NULL::float8, 0::bigint)$$,
    'April for contacts without an account: 3, 5, 9 -> 100 * (1 - 2) / 3');
SELECT is((SELECT nps_moe FROM crm.survey_scores_monthly WHERE month = '2099-04-01' AND account_id = 9001),
          crm.nps_moe('(1,0,1,0,1,0,0,1,0,0,1)'), 'the view gives the 95% margin of error');
SELECT is((SELECT crm.nps_union(nps_summary)::text FROM crm.survey_scores_monthly WHERE month = '2099-04-01' AND NOT all_accounts),
          (SELECT nps_summary::text FROM crm.survey_scores_monthly WHERE month = '2099-04-01' AND all_accounts),
          'the accounts of a month roll up to the month');
SELECT is((SELECT nps_summary::text FROM crm.survey_scores_monthly WHERE month = '2099-03-01' AND all_accounts),
          '(0,1,0,0,0,0,0,0,0,0,0)', 'March: the one answer loaded with triggers off');
SELECT is((SELECT count(*) FROM crm.survey_scores_monthly WHERE month = '2099-04-01'), 4::bigint,
          'April: four rows, for accounts 9001 and 9002, contacts without an account, and all accounts');

-- Privileges
SELECT ok(has_table_privilege(r, 'crm.survey_scores_monthly', 'SELECT'), r || ' may read the view')
FROM unnest(ARRAY['crm_admin', 'crm_manager', 'crm_sales', 'crm_support', 'crm_analyst']) r;
SELECT ok(NOT has_table_privilege('crm_analyst', 'crm.survey_scores_monthly', 'INSERT'), 'crm_analyst cannot write to it');
SELECT ok(NOT has_function_privilege('crm_analyst', 'crm.generate_demo_detractor_tasks(integer)', 'EXECUTE'),
          'only crm_admin runs the demo hook');
SELECT ok(NOT has_function_privilege('crm_sales', 'crm.open_detractor_tasks(bigint[])', 'EXECUTE'),
          'nobody but crm_admin opens detractor tasks directly');

SELECT * FROM finish();
ROLLBACK;
