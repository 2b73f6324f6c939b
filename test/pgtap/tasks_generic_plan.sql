-- pgTAP: crm.task_records_visible under a generic plan. Its checks of records in tables a role may
-- not read (support and leads) must not depend on the planner folding away the lookup: PL/pgSQL
-- switches to a generic plan after a few calls when the costs favour it, and a generic plan of
-- "lead_id IS NOT NULL AND NOT (has_table_privilege(...) AND EXISTS (SELECT FROM crm.leads ...))"
-- holds crm.leads in its range table, so starting it checks the SELECT privilege and fails with
-- 42501 before any short-circuit. 0.2 before this fix: "permission denied for table leads" for a
-- support agent reading the tasks, depending on plan caching (the suite failed by test order).
BEGIN;
SELECT plan(4);
CREATE ROLE tg_sam; CREATE ROLE tg_ana;
GRANT crm_support TO tg_sam; GRANT crm_sales TO tg_ana;
INSERT INTO crm.users (user_id, login_role, full_name, email, role) VALUES
    (99001, 'tg_sam', 'Sam', 'sam@tg.example', 'support'), (99002, 'tg_ana', 'Ana', 'ana@tg.example', 'sales');
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES (99001, 'C', 99002);
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel) VALUES (99001, 99001, 'Help', 'email');
INSERT INTO crm.leads (lead_id, contact_id, source, owner_id) VALUES (99001, 99001, 'web', 99002);
-- A task on the ticket only; one on the ticket and the lead.
INSERT INTO crm.tasks (task_id, title, ticket_id) VALUES (99001, 'On the ticket', 99001);
INSERT INTO crm.tasks (task_id, title, ticket_id, lead_id) VALUES (99002, 'On the ticket and the lead', 99001, 99001);

SET LOCAL plan_cache_mode = force_generic_plan;
SET LOCAL ROLE tg_sam;
SELECT lives_ok($$SELECT count(*) FROM crm.tasks$$, 'support reads the tasks under a generic plan');
SELECT results_eq($$SELECT task_id FROM crm.tasks WHERE task_id >= 99001 ORDER BY task_id$$, $$VALUES (99001::bigint)$$,
                  'support sees the task on a ticket, not the one naming a lead (leads: no grant)');
RESET ROLE;
SET LOCAL ROLE tg_ana;
SELECT results_eq($$SELECT task_id FROM crm.tasks WHERE task_id >= 99001 ORDER BY task_id$$, $$VALUES (99001::bigint), (99002)$$,
                  'the rep owning the contact and the lead sees both (the ticket through her contact)');
RESET ROLE;
SET LOCAL plan_cache_mode = force_custom_plan;
SET LOCAL ROLE tg_sam;
SELECT results_eq($$SELECT task_id FROM crm.tasks WHERE task_id >= 99001 ORDER BY task_id$$, $$VALUES (99001::bigint)$$,
                  'the same under custom plans');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
