-- pgTAP (written by the foundation helper, ported): bad input. Every CHECK, foreign key, NOT NULL and unique constraint of the schema refuses
-- a bad row with its SQLSTATE and a message naming it; a failed statement changes nothing; and the
-- schema's triggers (seeded-stage guard, updated_at, order totals, stage history) do their job.
--
-- One valid row per table (the fixture) is updated with one bad value at a time. The foreign key
-- and NOT NULL tests are generated from the catalog, so none is forgotten: their counts are
-- checked against the schema (42 foreign keys, 112 NOT NULL columns besides is_seeded).
BEGIN;
SELECT plan(247);

CREATE ROLE t_rep LOGIN IN ROLE crm_sales;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team, manager_id)
VALUES (1, 'boss', 'Boss', 'boss@example.com', 'manager', 'west', NULL),
       (2, 't_rep', 'Rep', 'rep@example.com', 'sales', 'west', 1);
INSERT INTO crm.accounts (account_id, name, domain, employee_count, annual_revenue, owner_id)
VALUES (1, 'Initech', 'initech.example', 250, 1000000, 2);
INSERT INTO crm.contacts (contact_id, account_id, first_name, email, owner_id, marketing_consent, consent_at, consent_source)
VALUES (1, 1, 'Peter', 'peter@initech.example', 2, true, '2026-01-01', 'web form');
INSERT INTO crm.leads (lead_id, contact_id, source, owner_id, budget, need, grade)
VALUES (1, 1, 'web', 2, 5000, 'high', 'hot');
INSERT INTO crm.pipeline_stages (stage_id, name, position, probability, forecast_category)
VALUES (8, 'demo', 35, 50, 'pipeline');
INSERT INTO crm.opportunities (opportunity_id, name, account_id, contact_id, lead_id, amount, stage_id, owner_id)
VALUES (1, 'TPS licences', 1, 1, 1, 12000, 2, 2);
INSERT INTO crm.activities (activity_id, contact_id, lead_id, owner_id, channel, kind, details)
VALUES (1, 1, 1, 2, 'web', 'page_view', '{"url": "/pricing"}');
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (1, 'STAPLER', 'Red stapler', 10), (2, 'TPS', 'TPS cover sheets', 100);
INSERT INTO crm.orders (order_id, contact_id, account_id, ordered_at, updated_at)
VALUES (1, 1, 1, '2026-01-15', '2020-01-01'), (2, 1, 1, '2026-02-15', '2020-01-01');
INSERT INTO crm.order_lines (order_line_id, order_id, product_id, quantity, unit_price, discount)
VALUES (1, 1, 1, 2, 10.00, 0);
INSERT INTO crm.tickets (ticket_id, contact_id, account_id, subject, channel, assignee_id, opened_at)
VALUES (1, 1, 1, 'Printer on fire', 'phone', 2, '2026-03-01 09:00');
INSERT INTO crm.survey_responses (response_id, contact_id, ticket_id, kind, score) VALUES (1, 1, 1, 'nps', 9);
INSERT INTO crm.campaigns (campaign_id, name, channel, starts_on, ends_on, budget, owner_id)
VALUES (1, 'Spring', 'email', '2026-03-01', '2026-03-31', 1000, 1);
INSERT INTO crm.campaign_members (campaign_id, contact_id) VALUES (1, 1);
INSERT INTO crm.tasks (task_id, title, assignee_id, contact_id, account_id, lead_id, opportunity_id, ticket_id, response_id)
VALUES (1, 'Call Peter', 2, 1, 1, 1, 1, 1, 1);
-- the fixtures name their ids: later rows (a detractor's follow-up task, say) take ids after them
SELECT setval('crm.tasks_task_id_seq', 100) \g /dev/null

-- The fixture row of each table (pipeline_stages: the custom stage; the seeded ones are guarded).
CREATE FUNCTION pg_temp.fixture(table_name text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE table_name WHEN 'pipeline_stages' THEN 'stage_id = 8'
                           WHEN 'products' THEN 'product_id = 1'
                           WHEN 'orders' THEN 'order_id = 1'
                           WHEN 'users' THEN 'user_id = 2'
                           ELSE 'true' END
$$;
CREATE TEMP TABLE foundation_tables (table_name) AS
VALUES ('users'), ('accounts'), ('contacts'), ('leads'), ('pipeline_stages'), ('opportunities'),
       ('opportunity_stage_history'), ('activities'), ('products'), ('orders'), ('order_lines'),
       ('tickets'), ('survey_responses'), ('campaigns'), ('campaign_members'), ('tasks');

-- ---------------------------------------------------------------------------------------------
-- CHECK constraints: 23514 naming the relation and the constraint.
CREATE TEMP TABLE check_cases (table_name, constraint_name, bad_value) AS VALUES
    ('users', 'users_capacity_nonnegative', 'capacity = -1'),
    ('users', 'users_email_format', $$email = 'not an address'$$),
    ('users', 'users_full_name_not_blank', $$full_name = '   '$$),
    ('users', 'users_not_own_manager', 'manager_id = user_id'),
    ('users', 'users_role_valid', $$role = 'intern'$$),
    ('accounts', 'accounts_annual_revenue_nonnegative', 'annual_revenue = -0.01'),
    ('accounts', 'accounts_employee_count_nonnegative', 'employee_count = -1'),
    ('accounts', 'accounts_name_not_blank', $$name = ''$$),
    ('contacts', 'contacts_consent_recorded', 'consent_at = NULL'),
    ('contacts', 'contacts_email_format', $$email = 'peter@initech'$$),
    ('contacts', 'contacts_has_name_or_email', 'first_name = NULL, email = NULL'),
    ('contacts', 'contacts_lifecycle_stage_valid', $$lifecycle_stage = 'prospect'$$),
    ('leads', 'leads_budget_nonnegative', 'budget = -1'),
    ('leads', 'leads_closed_when_won_or_lost', $$status = 'won'$$),
    ('leads', 'leads_grade_valid', $$grade = 'lukewarm'$$),
    ('leads', 'leads_need_valid', $$need = 'urgent'$$),
    ('leads', 'leads_source_valid', $$source = 'billboard'$$),
    ('leads', 'leads_status_valid', $$status = 'pending'$$),
    ('pipeline_stages', 'pipeline_stages_forecast_category_valid', $$forecast_category = 'maybe'$$),
    ('pipeline_stages', 'pipeline_stages_lost_impossible', 'is_lost = true'),
    ('pipeline_stages', 'pipeline_stages_probability_range', 'probability = 100.5'),
    ('pipeline_stages', 'pipeline_stages_won_certain', 'is_won = true'),
    ('opportunities', 'opportunities_amount_nonnegative', 'amount = -5'),
    ('opportunities', 'opportunities_currency_iso', $$currency = 'usd'$$),
    ('opportunities', 'opportunities_has_account_or_contact', 'account_id = NULL, contact_id = NULL'),
    ('opportunities', 'opportunities_name_not_blank', $$name = ' '$$),
    ('activities', 'activities_details_object', $$details = '[1, 2]'$$),
    ('activities', 'activities_occurred_at_finite', $$occurred_at = '-infinity'$$),
    ('products', 'products_unit_price_nonnegative', 'unit_price = -1'),
    ('orders', 'orders_currency_iso', $$currency = 'EU'$$),
    ('orders', 'orders_status_valid', $$status = 'lost'$$),
    ('orders', 'orders_total_nonnegative', 'total = -1'),
    ('order_lines', 'order_lines_discount_fraction', 'discount = 1'),
    ('order_lines', 'order_lines_quantity_positive', 'quantity = 0'),
    ('order_lines', 'order_lines_unit_price_nonnegative', 'unit_price = -1'),
    ('tickets', 'tickets_first_response_after_open', $$first_response_at = opened_at - interval '1 minute'$$),
    ('tickets', 'tickets_priority_valid', $$priority = 'critical'$$),
    ('tickets', 'tickets_required_skills_no_nulls', $$required_skills = '{billing,NULL}'$$),
    ('tickets', 'tickets_resolved_after_open', $$status = 'resolved', resolved_at = opened_at - interval '1 minute'$$),
    ('tickets', 'tickets_resolved_when_done', $$status = 'closed'$$),
    ('tickets', 'tickets_status_valid', $$status = 'escalated'$$),
    ('tickets', 'tickets_subject_not_blank', $$subject = ''$$),
    ('survey_responses', 'survey_responses_kind_valid', $$kind = 'ltr'$$),
    ('survey_responses', 'survey_responses_score_in_scale', 'score = 11'),
    ('campaigns', 'campaigns_budget_nonnegative', 'budget = -1'),
    ('campaigns', 'campaigns_cost_nonnegative', 'cost = -1'),
    ('campaigns', 'campaigns_ends_after_start', $$ends_on = '2026-02-28'$$),
    ('campaigns', 'campaigns_name_not_blank', $$name = ''$$),
    ('campaigns', 'campaigns_status_valid', $$status = 'paused'$$),
    ('campaign_members', 'campaign_members_status_valid', $$status = 'bounced'$$),
    ('tasks', 'tasks_completed_when_done', $$status = 'done'$$),
    ('tasks', 'tasks_has_related_record',
     'contact_id = NULL, account_id = NULL, lead_id = NULL, opportunity_id = NULL, ticket_id = NULL, response_id = NULL'),
    ('tasks', 'tasks_priority_valid', $$priority = 'someday'$$),
    ('tasks', 'tasks_status_valid', $$status = 'blocked'$$),
    ('tasks', 'tasks_title_not_blank', $$title = ' '$$);

SELECT set_eq(
    $$SELECT constraint_name::name FROM check_cases UNION ALL SELECT 'pipeline_stages_not_won_and_lost'$$,
    $$SELECT c.conname FROM pg_catalog.pg_constraint c JOIN foundation_tables f ON c.conrelid = ('crm.' || f.table_name)::regclass
      WHERE c.contype = 'c'$$,
    'every CHECK constraint of the foundation tables is tested below');
SELECT throws_ok(pg_catalog.format('UPDATE crm.%I SET %s WHERE %s', table_name, bad_value, pg_temp.fixture(table_name)),
                 '23514',
                 pg_catalog.format('new row for relation "%s" violates check constraint "%s"', table_name, constraint_name),
                 pg_catalog.format('%s refuses %s', constraint_name, bad_value))
FROM check_cases ORDER BY table_name, constraint_name;

-- pipeline_stages_not_won_and_lost is implied by the two others (won means 100, lost means 0), which
-- are checked before it (constraints are checked in name order): it is never the one reported.
SELECT throws_ok('UPDATE crm.pipeline_stages SET is_won = true, is_lost = true, probability = 100 WHERE stage_id = 8', '23514',
                 'new row for relation "pipeline_stages" violates check constraint "pipeline_stages_lost_impossible"',
                 'a stage both won and lost is refused (by pipeline_stages_lost_impossible, checked first)');

-- The score scale depends on the kind: 9 is a fine NPS but not a CSAT (1-5) nor a CES (1-7) answer.
SELECT throws_ok($$UPDATE crm.survey_responses SET kind = 'csat'$$, '23514',
                 'new row for relation "survey_responses" violates check constraint "survey_responses_score_in_scale"',
                 'a CSAT answer is 1-5');
SELECT throws_ok($$INSERT INTO crm.survey_responses (contact_id, kind, score) VALUES (1, 'ces', 0)$$, '23514',
                 'new row for relation "survey_responses" violates check constraint "survey_responses_score_in_scale"',
                 'a CES answer is 1-7');
SELECT lives_ok($$INSERT INTO crm.survey_responses (contact_id, kind, score) VALUES (1, 'nps', 0), (1, 'csat', 5), (1, 'ces', 7)$$,
                'the ends of each scale are accepted');

-- ---------------------------------------------------------------------------------------------
-- Foreign keys: 23503 naming the referencing table and the constraint; and a referenced row
-- cannot be deleted from under its references.
SELECT is(count(*)::int, 42, 'the foundation tables have 42 foreign keys, all tested below')
FROM pg_catalog.pg_constraint c JOIN foundation_tables f ON c.conrelid = ('crm.' || f.table_name)::regclass
WHERE c.contype = 'f';
SELECT throws_ok(pg_catalog.format('UPDATE crm.%I SET %I = -1 WHERE %s', f.table_name, a.attname, pg_temp.fixture(f.table_name)),
                 '23503',
                 pg_catalog.format('insert or update on table "%s" violates foreign key constraint "%s"', f.table_name, c.conname),
                 pg_catalog.format('%s refuses a %s that does not exist', c.conname, a.attname))
FROM pg_catalog.pg_constraint c
JOIN foundation_tables f ON c.conrelid = ('crm.' || f.table_name)::regclass
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f'
ORDER BY c.conname;
SELECT throws_ok('DELETE FROM crm.contacts', '23503',
                 'update or delete on table "contacts" violates foreign key constraint "leads_contact_fkey" on table "leads"',
                 'a contact with leads cannot be deleted');
SELECT throws_ok('DELETE FROM crm.products WHERE product_id = 1', '23503',
                 'update or delete on table "products" violates foreign key constraint "order_lines_product_fkey" on table "order_lines"',
                 'a product that was sold cannot be deleted');

-- ---------------------------------------------------------------------------------------------
-- NOT NULL: 23502 naming the column and the relation (is_seeded is guarded by trigger, below).
SELECT is(count(*)::int, 112, 'the foundation tables have 112 NOT NULL columns besides is_seeded, all tested below')
FROM foundation_tables f
JOIN pg_catalog.pg_attribute a ON a.attrelid = ('crm.' || f.table_name)::regclass
WHERE a.attnum > 0 AND a.attnotnull AND NOT a.attisdropped AND a.attname <> 'is_seeded';
SELECT throws_ok(pg_catalog.format('UPDATE crm.%I SET %I = NULL WHERE %s', f.table_name, a.attname, pg_temp.fixture(f.table_name)),
                 '23502',
                 pg_catalog.format('null value in column "%s" of relation "%s" violates not-null constraint', a.attname, f.table_name),
                 pg_catalog.format('%s.%s is NOT NULL', f.table_name, a.attname))
FROM foundation_tables f
JOIN pg_catalog.pg_attribute a ON a.attrelid = ('crm.' || f.table_name)::regclass
WHERE a.attnum > 0 AND a.attnotnull AND NOT a.attisdropped AND a.attname <> 'is_seeded'
ORDER BY f.table_name, a.attnum;

-- ---------------------------------------------------------------------------------------------
-- Unique keys: 23505 naming the constraint or index.
SELECT throws_ok($$INSERT INTO crm.users (user_id, login_role, full_name, email, role) VALUES (99, 't_rep', 'Other', 'other@example.com', 'sales')$$,
                 '23505', 'duplicate key value violates unique constraint "users_login_role_key"', 'one staff row per login role');
SELECT throws_ok($$INSERT INTO crm.users (user_id, login_role, full_name, email, role) VALUES (99, 'other', 'Other', 'rep@example.com', 'sales')$$,
                 '23505', 'duplicate key value violates unique constraint "users_email_key"', 'staff emails are unique');
SELECT throws_ok($$INSERT INTO crm.accounts (account_id, name, domain) VALUES (99, 'Initech 2', 'INITECH.example')$$,
                 '23505', 'duplicate key value violates unique constraint "accounts_domain_key"', 'account domains are unique, ignoring case');
SELECT throws_ok($$INSERT INTO crm.contacts (contact_id, first_name, email) VALUES (99, 'Pete', 'Peter@Initech.example')$$,
                 '23505', 'duplicate key value violates unique constraint "contacts_email_key"', 'contact emails are unique, ignoring case');
SELECT throws_ok($$INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (99, 'TPS', 'Copy', 1)$$,
                 '23505', 'duplicate key value violates unique constraint "products_sku_key"', 'SKUs are unique');
SELECT throws_ok($$INSERT INTO crm.pipeline_stages (stage_id, name, position, probability, forecast_category) VALUES (99, 'quote', 99, 50, 'pipeline')$$,
                 '23505', 'duplicate key value violates unique constraint "pipeline_stages_name_key"', 'stage names are unique');
SELECT throws_ok($$INSERT INTO crm.pipeline_stages (stage_id, name, position, probability, forecast_category) VALUES (99, 'other', 40, 50, 'pipeline')$$,
                 '23505', 'duplicate key value violates unique constraint "pipeline_stages_position_key"', 'stage positions are unique');
SELECT throws_ok('INSERT INTO crm.campaign_members (campaign_id, contact_id) VALUES (1, 1)',
                 '23505', 'duplicate key value violates unique constraint "campaign_members_pkey"', 'a contact joins a campaign once');
SELECT lives_ok($$UPDATE crm.pipeline_stages SET position = CASE stage_id WHEN 3 THEN 40 ELSE 30 END WHERE stage_id IN (3, 4)$$,
                'one UPDATE swaps the positions of two stages (the position key is checked at the end of the statement)');

-- ---------------------------------------------------------------------------------------------
-- A failed statement changes nothing.
SELECT throws_ok($$INSERT INTO crm.contacts (contact_id, first_name, email) VALUES (10, 'A', 'a@example.com'), (11, 'B', 'b@example.com'), (12, 'C', 'c@example')$$,
                 '23514', 'new row for relation "contacts" violates check constraint "contacts_email_format"',
                 'a three-row insert whose last row is bad fails');
SELECT is((SELECT count(*)::int FROM crm.contacts), 1, '... and adds none of its rows');
SELECT throws_ok($$UPDATE crm.products SET unit_price = unit_price - 50$$, '23514',
                 'new row for relation "products" violates check constraint "products_unit_price_nonnegative"',
                 'an update making one of two prices negative fails');
SELECT results_eq('SELECT unit_price FROM crm.products ORDER BY product_id', ARRAY[10.00, 100.00]::numeric[],
                  '... and changes neither price');

-- ---------------------------------------------------------------------------------------------
-- Seeded pipeline stages: editable, never deleted nor created by hand.
SELECT throws_ok($$DELETE FROM crm.pipeline_stages WHERE name = 'quote'$$, '23514',
                 'seeded pipeline stage "quote" cannot be deleted', 'a seeded stage cannot be deleted');
SELECT throws_ok($$INSERT INTO crm.pipeline_stages (name, position, probability, forecast_category, is_seeded) VALUES ('x', 99, 5, 'pipeline', true)$$,
                 '23514', 'only the extension creates seeded pipeline stages', 'a seeded stage cannot be created by hand');
SELECT throws_ok('UPDATE crm.pipeline_stages SET is_seeded = false WHERE stage_id = 1', '23514',
                 'is_seeded cannot be changed', 'a seeded stage cannot be unmarked (to delete it)');
SELECT throws_ok('UPDATE crm.pipeline_stages SET is_seeded = true WHERE stage_id = 8', '23514',
                 'is_seeded cannot be changed', 'a custom stage cannot be marked seeded');
SELECT lives_ok($$UPDATE crm.pipeline_stages SET name = 'discovery', probability = 15, active = false WHERE stage_id = 2$$,
                'a seeded stage can be renamed, re-weighted and retired');
SELECT lives_ok('DELETE FROM crm.pipeline_stages WHERE stage_id = 8 AND NOT EXISTS (SELECT FROM crm.opportunities WHERE stage_id = 8)',
                'a custom stage can be deleted');
SELECT is((SELECT count(*)::int FROM crm.pipeline_stages), 7, '... leaving the seven seeded stages');

-- ---------------------------------------------------------------------------------------------
-- updated_at: stamped by every UPDATE that does not set it, kept when the UPDATE sets it.
UPDATE crm.orders SET status = 'shipped' WHERE order_id = 1;
SELECT is((SELECT updated_at FROM crm.orders WHERE order_id = 1), now(), 'an UPDATE stamps updated_at with now()');
UPDATE crm.orders SET status = 'shipped', updated_at = '2021-06-01' WHERE order_id = 2;
SELECT is((SELECT updated_at FROM crm.orders WHERE order_id = 2), '2021-06-01'::timestamptz,
          'an UPDATE that sets updated_at keeps its value (loading history)');

-- ---------------------------------------------------------------------------------------------
-- Order totals follow the lines: 2 x 10 = 20, + 3 x 100 at 10% off = 270, = 290.
SELECT is((SELECT total FROM crm.orders WHERE order_id = 1), 20.00, 'an order''s total is its line: 2 x 10.00');
INSERT INTO crm.order_lines (order_line_id, order_id, product_id, quantity, unit_price, discount) VALUES (2, 1, 2, 3, 100, 0.1);
SELECT is((SELECT total FROM crm.orders WHERE order_id = 1), 290.00, 'adding 3 x 100.00 at 10% off adds 270.00');
UPDATE crm.order_lines SET quantity = 1 WHERE order_line_id = 1;
SELECT is((SELECT total FROM crm.orders WHERE order_id = 1), 280.00, 'changing a quantity from 2 to 1 takes 10.00 off');
UPDATE crm.order_lines SET order_id = 2 WHERE order_line_id = 2;
SELECT results_eq('SELECT total FROM crm.orders ORDER BY order_id', ARRAY[10.00, 270.00]::numeric[],
                  'moving a line to another order moves its amount');
DELETE FROM crm.order_lines WHERE order_line_id = 2;
SELECT is((SELECT total FROM crm.orders WHERE order_id = 2), 0.00, 'deleting the only line leaves a zero total');

-- ---------------------------------------------------------------------------------------------
-- Stage history: from, to, when, and who (the staff row of the role making the change).
SET ROLE t_rep;
UPDATE crm.opportunities SET stage_id = 4 WHERE opportunity_id = 1;
UPDATE crm.opportunities SET amount = 13000 WHERE opportunity_id = 1;
RESET ROLE;
UPDATE crm.opportunities SET stage_id = 6, closed_at = now() WHERE opportunity_id = 1;
SELECT results_eq(
    'SELECT from_stage_id, to_stage_id, changed_by, changed_by_role::text FROM crm.opportunity_stage_history ORDER BY history_id',
    $$VALUES (NULL::integer, 2, NULL::bigint, current_user::text), (2, 4, 2::bigint, 't_rep'), (4, 6, NULL::bigint, current_user::text)$$,
    'the history holds the creation and both stage changes (not the amount change), each with who made it');
SELECT ok((SELECT count(*) = 3 AND bool_and(changed_at > now() AND changed_at <= clock_timestamp())
                  AND array_agg(history_id ORDER BY changed_at) = array_agg(history_id ORDER BY history_id)
           FROM crm.opportunity_stage_history),
          'each change is stamped with the time it happened (clock_timestamp(), not the transaction''s start), in order');

SELECT * FROM finish();
ROLLBACK;
