-- pgTAP: row-level security on accounts, orders, order lines, subscriptions, campaigns, campaign
-- members and tasks; restore detection that no ordinary session can imitate; no function that
-- tells a rep who owns a contact they cannot see. Each of these was an open hole in 0.1.
-- West team: manager Mia, reps Ana and Ali. East team: rep Bob. Support: Sam. Analyst: Al.
BEGIN;
SELECT plan(47);

CREATE ROLE rls_mia; CREATE ROLE rls_ana; CREATE ROLE rls_ali; CREATE ROLE rls_bob;
CREATE ROLE rls_sam; CREATE ROLE rls_al; CREATE ROLE rls_adm;
GRANT crm_manager TO rls_mia; GRANT crm_sales TO rls_ana, rls_ali, rls_bob;
GRANT crm_support TO rls_sam; GRANT crm_analyst TO rls_al; GRANT crm_admin TO rls_adm;

INSERT INTO crm.users (user_id, login_role, full_name, email, role, team, manager_id) VALUES
    (801, 'rls_mia', 'Mia', 'mia@rls.example', 'manager', 'west', NULL),
    (802, 'rls_ana', 'Ana', 'ana@rls.example', 'sales', 'west', 801),
    (803, 'rls_ali', 'Ali', 'ali@rls.example', 'sales', 'west', 801),
    (804, 'rls_bob', 'Bob', 'bob@rls.example', 'sales', 'east', NULL),
    (805, 'rls_sam', 'Sam', 'sam@rls.example', 'support', 'care', NULL),
    (806, 'rls_al', 'Al', 'al@rls.example', 'analyst', NULL, NULL),
    (807, 'rls_adm', 'Ad', 'ad@rls.example', 'admin', NULL, NULL);
-- Accounts: Ana owns 801, Bob 802 and 803, 804 is unowned. Ana's contact works at Bob's 803.
INSERT INTO crm.accounts (account_id, name, owner_id) VALUES
    (801, 'Ana Corp', 802), (802, 'Bob Corp', 804), (803, 'Shared Corp', 804), (804, 'Nobody Corp', NULL);
INSERT INTO crm.contacts (contact_id, account_id, first_name, owner_id) VALUES
    (801, 801, 'Ana-1', 802), (802, 803, 'Ana-2', 802), (803, 802, 'Bob-1', 804), (804, 804, 'Nobody', NULL);
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (801, 'RLS-1', 'Widget', 10);
-- Orders: one per contact; Bob's contact has the only ticket.
INSERT INTO crm.orders (order_id, contact_id, account_id, ordered_at) VALUES
    (801, 801, 801, '2026-01-01'), (802, 802, 803, '2026-01-02'), (803, 803, 802, '2026-01-03'),
    (804, 804, 804, '2026-01-04');
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES
    (801, 801, 1, 10), (802, 801, 2, 10), (803, 801, 3, 10), (804, 801, 4, 10);
INSERT INTO crm.subscriptions (contact_id, plan, mrr, started_at) VALUES
    (801, 'pro', 10, '2026-01-01'), (803, 'pro', 30, '2026-01-01');
INSERT INTO crm.tickets (ticket_id, contact_id, account_id, subject, channel) VALUES (801, 803, 802, 'Broken', 'email');
INSERT INTO crm.survey_responses (response_id, contact_id, kind, score, comment)
    VALUES (801, 803, 'nps', 2, 'Bob''s customer: terrible service, cancelling');
INSERT INTO crm.campaigns (campaign_id, name, channel, owner_id) VALUES (801, 'West spring', 'email', 802), (802, 'East spring', 'email', 804);
INSERT INTO crm.campaign_members (campaign_id, contact_id) VALUES (801, 801), (802, 803);
-- Tasks: a detractor follow-up quoting Bob's customer (unassigned), one on Ana's contact assigned
-- to Ali, one on Bob's contact assigned to Ana, one of Bob's on his account.
INSERT INTO crm.tasks (task_id, title, description, contact_id, response_id, assignee_id) VALUES
    (801, 'Call back detractor', 'terrible service, cancelling', 803, 801, NULL);
INSERT INTO crm.tasks (task_id, title, contact_id, assignee_id) VALUES
    (802, 'Send Ana-1 the quote', 801, 803), (803, 'Help Bob with Bob-1', 803, 802);
INSERT INTO crm.tasks (task_id, title, account_id, assignee_id) VALUES (804, 'Bob Corp renewal', 802, 804);

CREATE TEMP VIEW rls_visible WITH (security_invoker = true) AS
SELECT (SELECT pg_catalog.array_agg(account_id ORDER BY account_id) FROM crm.accounts WHERE account_id >= 801) AS accounts,
       (SELECT pg_catalog.array_agg(order_id ORDER BY order_id) FROM crm.orders WHERE order_id >= 801) AS orders,
       (SELECT count(*)::int FROM crm.order_lines WHERE order_id >= 801) AS order_lines,
       (SELECT pg_catalog.array_agg(contact_id ORDER BY contact_id) FROM crm.subscriptions WHERE contact_id >= 801) AS subscriptions,
       (SELECT pg_catalog.array_agg(task_id ORDER BY task_id) FROM crm.tasks WHERE task_id >= 801) AS tasks;
GRANT SELECT ON rls_visible TO PUBLIC;

-- Ana, a rep: her account and the account of her contact, the orders and subscriptions of her
-- contacts, the task on her contact (assigned to Ali) and the task assigned to her.
SET ROLE rls_ana;
SELECT results_eq('SELECT accounts, orders, order_lines, subscriptions, tasks FROM rls_visible',
                  $$VALUES ('{801,803}'::bigint[], '{801,802}'::bigint[], 2, '{801}'::bigint[], '{802,803}'::bigint[])$$,
                  'Ana sees her account, her contact''s account, her contacts'' orders and subscriptions, and tasks on her records or assigned to her');
SELECT results_eq($$WITH u AS (UPDATE crm.accounts SET owner_id = 802 WHERE owner_id = 804 RETURNING 1) SELECT count(*)::int FROM u$$,
                  ARRAY[0], 'Ana cannot take Bob''s accounts (the 0.1 attack moved 28 rows)');
SELECT results_eq($$WITH u AS (UPDATE crm.accounts SET industry = 'x' WHERE account_id = 803 RETURNING 1) SELECT count(*)::int FROM u$$,
                  ARRAY[0], 'Ana reads the account of her contact but cannot edit it');
SELECT lives_ok($$UPDATE crm.accounts SET industry = 'retail' WHERE account_id = 801$$, 'Ana edits her own account');
SELECT throws_ok($$UPDATE crm.accounts SET owner_id = 804 WHERE account_id = 801$$, '42501', NULL,
                 'Ana cannot hand her account to Bob');
SELECT throws_ok($$INSERT INTO crm.accounts (name, owner_id) VALUES ('Sneaky', 804)$$, '42501', NULL,
                 'Ana cannot create an account in Bob''s name');
SELECT is((SELECT count(*)::int FROM crm.tasks WHERE description LIKE '%cancelling%'), 0,
          'Ana does not read the detractor task quoting Bob''s customer');
SELECT results_eq($$WITH u AS (UPDATE crm.tasks SET status = 'cancelled' WHERE task_id IN (801, 804) RETURNING 1) SELECT count(*)::int FROM u$$,
                  ARRAY[0], 'Ana cannot cancel tasks on Bob''s records');
SELECT results_eq($$WITH d AS (DELETE FROM crm.tasks WHERE task_id >= 801 RETURNING task_id) SELECT array_agg(task_id ORDER BY task_id) FROM d$$,
                  $$VALUES ('{802,803}'::bigint[])$$, 'Ana deletes only tasks she may see: none of Bob''s');
RESET ROLE;
-- (the deletion above is undone for the rest of the test)
INSERT INTO crm.tasks (task_id, title, contact_id, assignee_id) VALUES
    (802, 'Send Ana-1 the quote', 801, 803), (803, 'Help Bob with Bob-1', 803, 802);
SET ROLE rls_ana;
SELECT lives_ok($$UPDATE crm.tasks SET status = 'in_progress' WHERE task_id = 803$$,
                'Ana works the task assigned to her on Bob''s contact');
SELECT throws_ok($$UPDATE crm.tasks SET assignee_id = 803 WHERE task_id = 803$$, '42501', NULL,
                 'Ana cannot hand that task (on a record she cannot see) to someone else');
SELECT throws_ok($$INSERT INTO crm.tasks (title, contact_id, assignee_id) VALUES ('Spy', 803, 803)$$, '42501', NULL,
                 'Ana cannot open a task on Bob''s contact for someone else');
SELECT lives_ok($$INSERT INTO crm.tasks (title, contact_id, assignee_id) VALUES ('Delegate', 801, 803)$$,
                'Ana opens a task on her own contact for Ali');
SELECT throws_ok($$INSERT INTO crm.orders (contact_id, ordered_at) VALUES (801, now())$$, '42501', NULL,
                 'sales do not write orders');
SELECT is((SELECT count(*)::int FROM crm.campaign_members WHERE campaign_id >= 801), 1,
          'Ana sees the campaign membership of her contact only');
SELECT is((SELECT count(*)::int FROM crm.campaigns WHERE campaign_id >= 801), 2, 'every rep reads the campaigns');
SELECT is(crm.owns_contact(801), true, 'owns_contact: Ana owns her contact');
SELECT is(crm.owns_contact(803), false, 'owns_contact: not Bob''s');
SELECT is(crm.owns_contact(-1), false, 'owns_contact: false for a contact that does not exist');
RESET ROLE;
SELECT hasnt_function('crm', 'contact_owner_id', ARRAY['bigint'],
                      'no function tells a rep who owns a contact hidden from them (0.1 had crm.contact_owner_id)');

-- Bob: his accounts, and Shared Corp (his) although its only contact is Ana's.
SET ROLE rls_bob;
SELECT results_eq('SELECT accounts, orders, subscriptions, tasks FROM rls_visible',
                  $$VALUES ('{802,803}'::bigint[], '{803}'::bigint[], '{803}'::bigint[], '{801,803,804}'::bigint[])$$,
                  'Bob sees his accounts, his contact''s order and subscription, and the tasks on his records');
RESET ROLE;

-- Mia, west manager: her team's accounts, the unowned one, and the accounts of contacts she
-- sees; the orders of her team's and the unowned contacts, which she may write.
SET ROLE rls_mia;
SELECT results_eq('SELECT accounts, orders, subscriptions, tasks FROM rls_visible',
                  $$VALUES ('{801,803,804}'::bigint[], '{801,802,804}'::bigint[], '{801}'::bigint[], '{802,803}'::bigint[])$$,
                  'Mia sees the west team''s and the unowned accounts and orders, and her team''s tasks');
SELECT results_eq($$WITH u AS (UPDATE crm.accounts SET owner_id = 801 WHERE account_id = 802 RETURNING 1) SELECT count(*)::int FROM u$$,
                  ARRAY[0], 'Mia cannot take an east account');
SELECT lives_ok($$UPDATE crm.accounts SET owner_id = 803 WHERE account_id = 804$$, 'Mia assigns the unowned account to Ali');
SELECT lives_ok($$INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES (801, 801, 1, 5)$$,
                'Mia adds a line to a west order');
SELECT is((SELECT total FROM crm.orders WHERE order_id = 801), 15.00, 'and the trigger keeps its total: 10 + 5');
SELECT throws_ok($$INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES (803, 801, 1, 5)$$,
                 '42501', NULL, 'Mia cannot add a line to an east order');
SELECT throws_ok($$INSERT INTO crm.orders (contact_id, ordered_at) VALUES (803, now())$$, '42501', NULL,
                 'Mia cannot create an order for an east contact');
SELECT throws_ok($$UPDATE crm.pipeline_stages SET probability = 65 WHERE name = 'quote'$$, '42501', NULL,
                 'pipeline stages are reference data only admins write');
SELECT throws_ok($$INSERT INTO crm.products (sku, name, unit_price) VALUES ('X', 'X', 1)$$, '42501', NULL,
                 'products are reference data only admins write');
SELECT results_eq($$WITH u AS (UPDATE crm.campaigns SET budget = 1 WHERE campaign_id >= 801 RETURNING campaign_id) SELECT array_agg(campaign_id) FROM u$$,
                  $$VALUES ('{801}'::bigint[])$$, 'Mia runs her team''s campaign, not the east one');
RESET ROLE;

-- Sam, support: the account, orders and subscription of the contact with a ticket.
SET ROLE rls_sam;
SELECT results_eq('SELECT accounts, orders, subscriptions FROM rls_visible',
                  $$VALUES ('{802}'::bigint[], '{803}'::bigint[], '{803}'::bigint[])$$,
                  'Sam sees the account, orders and subscription of the contact on a ticket');
SELECT is((SELECT count(*)::int FROM crm.tasks WHERE task_id = 801), 1, 'Sam sees the detractor task (its answer and contact are his)');
SELECT lives_ok($$UPDATE crm.tasks SET assignee_id = 805 WHERE task_id = 801$$, 'Sam takes the detractor task');
RESET ROLE;

-- The analyst reads everything, the admin writes everything.
SET ROLE rls_al;
SELECT results_eq('SELECT accounts, orders, order_lines, subscriptions FROM rls_visible',
                  $$VALUES ('{801,802,803,804}'::bigint[], '{801,802,803,804}'::bigint[], 5, '{801,803}'::bigint[])$$,
                  'Al the analyst reads every account, order, line and subscription');
SELECT throws_ok($$UPDATE crm.accounts SET industry = 'x'$$, '42501', NULL, 'the analyst changes no account');
RESET ROLE;
SET ROLE rls_adm;
SELECT lives_ok($$UPDATE crm.pipeline_stages SET probability = probability WHERE name = 'quote'$$, 'the admin edits the stages');
SELECT is((SELECT count(*)::int FROM crm.tasks WHERE task_id >= 801), 4, 'the admin sees every task');
RESET ROLE;

-- A SECURITY DEFINER function checks the caller's right to the rows it writes: a manager draws a
-- segment into their team's campaign, not into another team's (0.1 let them).
INSERT INTO crm.segments (segment_id, name) VALUES (801, 'rls segment');
SET ROLE rls_mia;
SELECT is(crm.add_segment_to_campaign(801, 801), 0, 'Mia draws a segment into her team''s campaign');
SELECT throws_ok('SELECT crm.add_segment_to_campaign(801, 802)', '42501', 'permission denied to add members to campaign 802',
                 'Mia cannot draw into the east team''s campaign');
RESET ROLE;
SET ROLE rls_adm;
SELECT is(crm.add_segment_to_campaign(801, 802), 0, 'the admin draws into any campaign');
RESET ROLE;

-- Restore detection: pg_dump's settings (row_security off, an empty search_path) switch the
-- derived-state triggers off only for a role that could restore the tables at all.
CREATE TEMP TABLE seen (who text PRIMARY KEY, restoring boolean);
GRANT ALL ON seen TO PUBLIC;
CREATE ROLE rls_owner_member;
DO $$ BEGIN EXECUTE format('GRANT %I TO rls_owner_member',
    (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'crm')); END $$;
SET ROLE rls_mia;
SELECT set_config('row_security', 'off', true), set_config('search_path', '', true);
INSERT INTO pg_temp.seen SELECT 'manager', crm.restoring_dump();
RESET search_path; RESET row_security; RESET ROLE;
SET ROLE rls_adm;
SELECT set_config('row_security', 'off', true), set_config('search_path', '', true);
INSERT INTO pg_temp.seen SELECT 'admin', crm.restoring_dump();
RESET search_path; RESET row_security; RESET ROLE;
SET ROLE rls_ana;
SELECT set_config('row_security', 'off', true), set_config('search_path', '', true);
INSERT INTO pg_temp.seen SELECT 'sales', crm.restoring_dump();
RESET search_path; RESET row_security; RESET ROLE;
SET ROLE rls_owner_member;
SELECT set_config('row_security', 'off', true), set_config('search_path', '', true);
INSERT INTO pg_temp.seen SELECT 'member of the owner', crm.restoring_dump();
RESET search_path; RESET row_security; RESET ROLE;
SELECT set_config('row_security', 'off', true), set_config('search_path', '', true);
INSERT INTO pg_temp.seen SELECT 'superuser', crm.restoring_dump();
RESET search_path; RESET row_security;
INSERT INTO seen SELECT 'superuser, ordinary settings', crm.restoring_dump();
SELECT is((SELECT restoring FROM seen WHERE who = 'manager'), false, 'a manager imitating pg_dump''s settings is not restoring a dump');
SELECT is((SELECT restoring FROM seen WHERE who = 'admin'), false, 'nor is an admin who does not own the extension');
SELECT is((SELECT restoring FROM seen WHERE who = 'sales'), false, 'nor a rep');
SELECT is((SELECT restoring FROM seen WHERE who = 'member of the owner'), true, 'a member of the extension''s owner restoring a dump is restoring');
SELECT is((SELECT restoring FROM seen WHERE who = 'superuser'), true, 'the superuser restoring a dump is restoring');
SELECT is((SELECT restoring FROM seen WHERE who = 'superuser, ordinary settings'), false, 'and only with those settings');

SELECT * FROM finish();
ROLLBACK;
