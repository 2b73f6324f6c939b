-- pgTAP: bad input gives PostgreSQL's errors naming the constraint, and a failed statement
-- changes nothing. Also the schema's own triggers: updated_at, order totals, seeded stages.
BEGIN;
SELECT plan(27);

INSERT INTO crm.users (user_id, login_role, full_name, email, role) VALUES (1, 'con_ana', 'Ana', 'ana@con.example', 'sales');
INSERT INTO crm.accounts (account_id, name) VALUES (1, 'Acme');
INSERT INTO crm.contacts (contact_id, account_id, email, owner_id) VALUES (1, 1, 'wile@acme.example', 1);

-- CHECK (23514), each naming its constraint
SELECT throws_ok($$INSERT INTO crm.survey_responses (contact_id, kind, score) VALUES (1, 'nps', 11)$$, '23514',
    'new row for relation "survey_responses" violates check constraint "survey_responses_score_in_scale"', 'NPS 11 is out of scale');
SELECT throws_ok($$INSERT INTO crm.survey_responses (contact_id, kind, score) VALUES (1, 'ces', 0)$$, '23514',
    'new row for relation "survey_responses" violates check constraint "survey_responses_score_in_scale"', 'CES 0 is out of scale');
SELECT throws_ok($$INSERT INTO crm.survey_responses (contact_id, kind, score) VALUES (1, 'stars', 3)$$, '23514',
    'new row for relation "survey_responses" violates check constraint "survey_responses_kind_valid"', 'unknown survey kind');
SELECT throws_ok($$INSERT INTO crm.contacts (email) VALUES ('not-an-email')$$, '23514',
    'new row for relation "contacts" violates check constraint "contacts_email_format"', 'malformed email');
SELECT throws_ok($$INSERT INTO crm.contacts (phone) VALUES ('555-0100')$$, '23514',
    'new row for relation "contacts" violates check constraint "contacts_has_name_or_email"', 'a contact needs a name or an email');
SELECT throws_ok($$UPDATE crm.contacts SET marketing_consent = true WHERE contact_id = 1$$, '23514',
    'new row for relation "contacts" violates check constraint "contacts_consent_recorded"', 'consent must say when and where it was given');
SELECT throws_ok($$INSERT INTO crm.opportunities (name, contact_id, amount, stage_id) VALUES ('Big', 1, -5, 1)$$, '23514',
    'new row for relation "opportunities" violates check constraint "opportunities_amount_nonnegative"', 'negative deal amount');
SELECT throws_ok($$INSERT INTO crm.opportunities (name, contact_id, amount, stage_id, currency) VALUES ('Big', 1, 5, 1, 'usd')$$, '23514',
    'new row for relation "opportunities" violates check constraint "opportunities_currency_iso"', 'currency must be an ISO code');
SELECT throws_ok($$INSERT INTO crm.leads (contact_id, source, status) VALUES (1, 'web', 'won')$$, '23514',
    'new row for relation "leads" violates check constraint "leads_closed_when_won_or_lost"', 'a won lead needs closed_at');
SELECT throws_ok($$INSERT INTO crm.tickets (contact_id, subject, channel, opened_at, resolved_at, status)
                   VALUES (1, 'x', 'email', '2026-01-02', '2026-01-01', 'resolved')$$, '23514',
    'new row for relation "tickets" violates check constraint "tickets_resolved_after_open"', 'resolved before it was opened');
SELECT throws_ok($$INSERT INTO crm.tasks (title) VALUES ('Orphan')$$, '23514',
    'new row for relation "tasks" violates check constraint "tasks_has_related_record"', 'a task follows up some record');
SELECT throws_ok($$INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES (1, 1, 0, 1)$$, '23514',
    'new row for relation "order_lines" violates check constraint "order_lines_quantity_positive"', 'zero quantity');

-- FOREIGN KEY (23503), NOT NULL (23502), UNIQUE (23505)
SELECT throws_ok($$INSERT INTO crm.leads (contact_id, source) VALUES (999, 'web')$$, '23503',
    'insert or update on table "leads" violates foreign key constraint "leads_contact_fkey"', 'a lead of an unknown contact');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, channel) VALUES (1, 'web')$$, '23502',
    'null value in column "kind" of relation "activities" violates not-null constraint', 'an activity needs a kind');
SELECT throws_ok($$INSERT INTO crm.contacts (email) VALUES ('WILE@acme.example')$$, '23505',
    'duplicate key value violates unique constraint "contacts_email_key"', 'emails are unique whatever their case');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, channel, kind) VALUES (1, 'fax', 'call')$$, '22P02',
    'invalid input value for enum crm.channel: "fax"', 'unknown channel');
SELECT throws_ok($$DELETE FROM crm.accounts WHERE account_id = 1$$, '23503',
    'update or delete on table "accounts" violates foreign key constraint "contacts_account_fkey" on table "contacts"',
    'an account with contacts cannot be deleted from under them');

-- A failed statement changes nothing: the valid rows of a multi-row insert are not kept either.
SELECT throws_ok($$INSERT INTO crm.contacts (first_name) VALUES ('Good 1'), ('Good 2'), (NULL)$$, '23514', NULL, 'one bad row fails the insert');
SELECT is((SELECT count(*)::int FROM crm.contacts), 1, 'and none of its rows were kept');

-- Triggers: updated_at follows every update (unless the update sets it), order totals follow lines.
UPDATE crm.contacts SET updated_at = '2020-01-01', created_at = '2020-01-01' WHERE contact_id = 1;
SELECT is((SELECT updated_at FROM crm.contacts WHERE contact_id = 1), '2020-01-01'::timestamptz, 'an update may set updated_at itself');
UPDATE crm.contacts SET title = 'Genius' WHERE contact_id = 1;
SELECT is((SELECT updated_at FROM crm.contacts WHERE contact_id = 1), now(), 'otherwise updated_at becomes now()');
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (1, 'ANVIL', 'Anvil', 50);
INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (1, 1, '2026-01-01');
INSERT INTO crm.order_lines (order_line_id, order_id, product_id, quantity, unit_price, discount) VALUES (1, 1, 1, 3, 50, 0.1);
UPDATE crm.order_lines SET quantity = 4 WHERE order_line_id = 1;
SELECT is((SELECT total FROM crm.orders WHERE order_id = 1), 180.00, 'order total follows a changed line: 4 x 50 x 0.9');
SELECT is(crm.restoring_dump(), false, 'an ordinary session is not restoring a dump');
SET LOCAL row_security = off;
SELECT is(crm.restoring_dump(), false, 'row security off alone is not a restore');
SELECT pg_catalog.set_config('search_path', '', true);  -- as pg_dump's scripts do
CREATE TEMPORARY TABLE restore_check AS SELECT crm.restoring_dump() AS restoring;
RESET row_security;
RESET search_path;
SELECT is((SELECT restoring FROM restore_check), true, 'row security off with an empty search_path, as pg_dump''s scripts set them, is');
CREATE TEMPORARY TABLE no_timestamps (id integer);
INSERT INTO no_timestamps VALUES (1);
CREATE TRIGGER touch BEFORE UPDATE ON no_timestamps FOR EACH ROW EXECUTE FUNCTION crm.touch_updated_at();
SELECT throws_ok($$UPDATE no_timestamps SET id = 2$$, '42703', NULL, 'touch_updated_at on a table without updated_at: 42703');
SELECT throws_ok($$UPDATE crm.pipeline_stages SET is_seeded = false WHERE stage_id = 1$$, '23514', 'is_seeded cannot be changed',
    'a seeded stage stays seeded');

SELECT * FROM finish();
ROLLBACK;
