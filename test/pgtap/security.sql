-- pgTAP: grants and row-level security, proved by switching roles with SET ROLE.
-- West team: manager Mia, reps Ana and Ali. East team: rep Bob. Support: Sam. Analyst: Al.
BEGIN;
SELECT plan(39);

CREATE ROLE sec_mia; CREATE ROLE sec_ana; CREATE ROLE sec_ali; CREATE ROLE sec_bob;
CREATE ROLE sec_sam; CREATE ROLE sec_al; CREATE ROLE sec_adm; CREATE ROLE sec_both;
GRANT crm_manager TO sec_mia; GRANT crm_sales TO sec_ana, sec_ali, sec_bob;
GRANT crm_support TO sec_sam; GRANT crm_analyst TO sec_al; GRANT crm_admin TO sec_adm;
GRANT crm_sales, crm_support TO sec_both;

INSERT INTO crm.users (user_id, login_role, full_name, email, role, team, manager_id) VALUES
    (901, 'sec_mia', 'Mia', 'mia@sec.example', 'manager', 'west', NULL),
    (902, 'sec_ana', 'Ana', 'ana@sec.example', 'sales', 'west', 901),
    (903, 'sec_ali', 'Ali', 'ali@sec.example', 'sales', 'west', 901),
    (904, 'sec_bob', 'Bob', 'bob@sec.example', 'sales', 'east', NULL),
    (905, 'sec_sam', 'Sam', 'sam@sec.example', 'support', 'care', NULL),
    (906, 'sec_al', 'Al', 'al@sec.example', 'analyst', NULL, NULL),
    (907, 'sec_both', 'Bo', 'bo@sec.example', 'sales', 'east', NULL);
-- Contacts: Ana owns 2, Ali 1, Bob 1, one unowned. Only Bob's contact has a ticket.
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES
    (901, 'Ana-1', 902), (902, 'Ana-2', 902), (903, 'Ali-1', 903), (904, 'Bob-1', 904), (905, 'Nobody', NULL);
INSERT INTO crm.leads (lead_id, contact_id, source, owner_id) VALUES
    (901, 901, 'web', 902), (902, 903, 'event', 903), (903, 904, 'referral', 904), (904, 905, 'web', NULL);
INSERT INTO crm.opportunities (opportunity_id, name, contact_id, amount, stage_id, owner_id) VALUES
    (901, 'Ana deal', 901, 1000, 2, 902), (902, 'Bob deal', 904, 2000, 3, 904);
INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind) VALUES
    (901, 901, 902, 'email', 'email_open'), (901, 901, 902, 'web', 'page_view'),
    (904, 903, 904, 'phone', 'call');
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel) VALUES (901, 904, 'Broken', 'email');

CREATE TEMP VIEW visible WITH (security_invoker = true) AS
SELECT (SELECT count(*) FROM crm.contacts WHERE contact_id >= 901)::int AS contacts,
       (SELECT count(*) FROM crm.leads WHERE lead_id >= 901)::int AS leads,
       (SELECT count(*) FROM crm.opportunities WHERE opportunity_id >= 901)::int AS opportunities,
       (SELECT count(*) FROM crm.activities WHERE contact_id >= 901)::int AS activities,
       (SELECT count(*) FROM crm.tickets WHERE ticket_id >= 901)::int AS tickets;
GRANT SELECT ON visible TO PUBLIC;

-- A sales rep sees only what they own.
SET ROLE sec_ana;
SELECT results_eq('SELECT * FROM visible', $$VALUES (2, 1, 1, 2, 0)$$, 'Ana sees her 2 contacts, 1 lead, 1 deal, 2 activities, no tickets');
SELECT lives_ok($$UPDATE crm.contacts SET title = 'CTO' WHERE contact_id = 901$$, 'Ana updates her own contact');
SELECT results_eq($$WITH u AS (UPDATE crm.contacts SET title = 'x' WHERE contact_id = 904 RETURNING 1) SELECT count(*)::int FROM u$$,
                  ARRAY[0], 'Ana cannot update Bob''s contact: it is invisible to her');
SELECT throws_ok($$UPDATE crm.contacts SET owner_id = 904 WHERE contact_id = 902$$, '42501', NULL,
                 'Ana cannot hand her contact to Bob to escape the policy');
SELECT throws_ok($$UPDATE crm.leads SET owner_id = NULL WHERE lead_id = 901$$, '42501', NULL,
                 'Ana cannot disown her lead either');
SELECT throws_ok($$INSERT INTO crm.contacts (first_name, owner_id) VALUES ('Sneaky', 904)$$, '42501', NULL,
                 'Ana cannot create a contact owned by Bob');
SELECT lives_ok($$INSERT INTO crm.contacts (first_name, owner_id) VALUES ('New', 902)$$, 'Ana creates a contact of her own');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, owner_id, channel, kind) VALUES (904, 904, 'phone', 'call')$$,
                 '42501', NULL, 'Ana cannot log an activity in Bob''s name');
SELECT throws_ok($$DELETE FROM crm.contacts WHERE contact_id = 901$$, '42501', NULL, 'sales cannot delete contacts');
SELECT throws_ok($$UPDATE crm.pipeline_stages SET probability = 1 WHERE stage_id = 1$$, '42501', NULL,
                 'sales cannot edit the pipeline stages');
RESET ROLE;

SET ROLE sec_bob;
SELECT results_eq('SELECT * FROM visible', $$VALUES (1, 1, 1, 1, 1)$$, 'Bob sees his own records and the ticket of his contact');
SELECT lives_ok($$UPDATE crm.opportunities SET stage_id = 4 WHERE opportunity_id = 902$$, 'Bob moves his deal');
SELECT throws_ok($$INSERT INTO crm.opportunity_stage_history (opportunity_id, from_stage_id, to_stage_id, changed_by)
                   VALUES (902, 4, 6, 904)$$, '42501', NULL, 'nobody writes stage history by hand');
SELECT is((SELECT count(*)::int FROM crm.opportunity_stage_history WHERE opportunity_id = 901), 0,
          'Bob does not see the history of Ana''s deal');
RESET ROLE;
SELECT is((SELECT changed_by FROM crm.opportunity_stage_history WHERE opportunity_id = 902 ORDER BY history_id DESC LIMIT 1),
          904::bigint, 'the stage history names Bob as the one who moved it');

-- A manager sees the team's records and the unowned ones.
SET ROLE sec_mia;
SELECT results_eq('SELECT * FROM visible', $$VALUES (4, 3, 1, 2, 1)$$,
                  'Mia sees the west team''s contacts, leads, deals and activities, the unowned ones, and the ticket queue');
SELECT lives_ok($$UPDATE crm.leads SET owner_id = 903 WHERE lead_id = 901$$, 'Mia reassigns a lead within her team');
SELECT lives_ok($$UPDATE crm.leads SET owner_id = 902 WHERE lead_id = 904$$, 'Mia assigns an unowned lead to her rep');
SELECT throws_ok($$UPDATE crm.leads SET owner_id = 904 WHERE lead_id = 902$$, '42501', NULL,
                 'Mia cannot hand a lead to the east team');
SELECT throws_ok($$UPDATE crm.pipeline_stages SET probability = 65 WHERE name = 'quote'$$, '42501', NULL,
                 'pipeline stages are reference data: managers read them, only admins write them');
SELECT throws_ok($$INSERT INTO crm.users (login_role, full_name, email, role) VALUES ('x', 'X', 'x@sec.example', 'sales')$$,
                 '42501', NULL, 'managers do not create staff users');
RESET ROLE;

-- Support: the whole ticket queue and the contacts on tickets, nothing else of the pipeline.
SET ROLE sec_sam;
SELECT results_eq($$SELECT contacts, tickets FROM visible$$, $$VALUES (1, 1)$$,
                  'Sam sees the one contact with a ticket and the ticket');
SELECT lives_ok($$UPDATE crm.tickets SET status = 'open', first_response_at = opened_at WHERE ticket_id = 901$$, 'Sam works the ticket');
SELECT lives_ok($$INSERT INTO crm.survey_responses (contact_id, ticket_id, kind, score) VALUES (904, 901, 'csat', 5)$$,
                'Sam records a survey answer');
SELECT throws_ok($$SELECT count(*) FROM crm.leads$$, '42501', NULL, 'support cannot read leads');
SELECT throws_ok($$UPDATE crm.contacts SET title = 'x' WHERE contact_id = 904$$, '42501', NULL, 'support cannot change contacts');
RESET ROLE;

-- Someone in both sales and support gets the union of both, without the policies recursing.
SET ROLE sec_both;
SELECT results_eq($$SELECT contacts, tickets FROM visible$$, $$VALUES (1, 1)$$,
                  'a sales-and-support member sees the contacts on tickets and the queue');
RESET ROLE;

-- The analyst reads everything and changes nothing.
SET ROLE sec_al;
-- (Ana's new contact took id 1 from the sequence, outside the view's range.)
SELECT results_eq('SELECT * FROM visible', $$VALUES (5, 4, 2, 3, 1)$$, 'Al the analyst sees every row');
SELECT ok((SELECT count(*) FROM crm.opportunity_stage_history) > 0 AND (SELECT count(*) FROM crm.users) > 0,
          'the analyst reads the other tables too');
SELECT throws_ok($$UPDATE crm.contacts SET title = 'x'$$, '42501', NULL, 'the analyst cannot update');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, channel, kind) VALUES (901, 'web', 'page_view')$$, '42501', NULL,
                 'the analyst cannot insert');
SELECT throws_ok($$DELETE FROM crm.tasks$$, '42501', NULL, 'the analyst cannot delete');
RESET ROLE;

-- The admin sees and changes everything.
SET ROLE sec_adm;
SELECT results_eq('SELECT * FROM visible', $$VALUES (5, 4, 2, 3, 1)$$, 'the admin sees every row');
SELECT lives_ok($$UPDATE crm.contacts SET owner_id = 904 WHERE contact_id = 905$$, 'the admin assigns any contact');
SELECT lives_ok($$INSERT INTO crm.users (login_role, full_name, email, role) VALUES ('sec_new', 'New', 'new@sec.example', 'sales')$$,
                'the admin creates staff users');
RESET ROLE;

-- A role that is not staff sees nothing owned, even with the sales grant.
CREATE ROLE sec_stranger; GRANT crm_sales TO sec_stranger;
SET ROLE sec_stranger;
SELECT results_eq('SELECT contacts, leads FROM visible', $$VALUES (0, 0)$$, 'a sales role without a crm.users row sees nothing');
RESET ROLE;

-- Outsiders have no access at all.
CREATE ROLE sec_outsider;
SET ROLE sec_outsider;
SELECT throws_ok($$SELECT count(*) FROM crm.contacts$$, '42501', NULL, 'a role outside the crm roles cannot read contacts');
RESET ROLE;

SELECT policies_are('crm', 'contacts', ARRAY['admin_all', 'analyst_read', 'sales_own', 'manager_team', 'support_ticket_contacts'],
                    'contacts have exactly the intended policies');
SELECT ok((SELECT bool_and(relrowsecurity) FROM pg_class WHERE oid IN
           ('crm.contacts'::regclass, 'crm.leads'::regclass, 'crm.opportunities'::regclass, 'crm.activities'::regclass, 'crm.tickets'::regclass)),
          'row-level security is enabled on every owned table');

SELECT * FROM finish();
ROLLBACK;
