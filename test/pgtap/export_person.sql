-- pgTAP: crm.export_person (src/privacy.sql, docs/privacy.md): every row about a contact, found
-- through foreign keys to crm.contacts (any schema, users' own tables too), one level further,
-- and by normalised e-mail and phone; never another contact's rows; NULL and unknown ids; who may
-- call it and what a caller who may not read a table gets.
BEGIN;
SELECT plan(24);

-- Contact 8001 (Ann, DE) and contact 8002 (Ben) with rows in the same tables; contact 8003 has
-- Ann's phone number written another way (a possible duplicate).
INSERT INTO crm.contacts (contact_id, first_name, email, phone, country) VALUES
    (8001, 'Ann', 'Ann.Example@Mail.example', '030 1234567', 'DE'),
    (8002, 'Ben', 'ben@mail.example', '+33 1 23 45 67 89', 'FR'),
    (8003, 'Ann (old)', NULL, '+49 30 1234567', 'DE');
INSERT INTO crm.leads (lead_id, contact_id, source) VALUES (8101, 8001, 'web'), (8102, 8002, 'web');
INSERT INTO crm.activities (activity_id, contact_id, channel, kind) VALUES (8201, 8001, 'email', 'note'), (8202, 8002, 'email', 'note');
INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (8301, 8001, '2026-01-01'), (8302, 8002, '2026-01-01');
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (8001, 'EP-1', 'Widget', 10);
INSERT INTO crm.order_lines (order_line_id, order_id, product_id, quantity, unit_price) VALUES
    (8401, 8301, 8001, 1, 10), (8402, 8301, 8001, 2, 10), (8403, 8302, 8001, 1, 10);
INSERT INTO crm.consent_history (contact_id, purpose, granted, source) VALUES
    (8001, 'marketing_email', true, 'form'), (8001, 'profiling', false, 'form'), (8002, 'marketing_email', true, 'form');

-- Users' own tables: a loyalty card per contact (depth 1), its events (depth 2), notes on the
-- events (depth 3: not followed), a newsletter list by e-mail and a call log by phone (no keys).
CREATE TABLE public.ep_loyalty (card_id int PRIMARY KEY, contact_id bigint REFERENCES crm.contacts, points int);
CREATE TABLE public.ep_loyalty_events (event_id int PRIMARY KEY, card_id int REFERENCES public.ep_loyalty, what text);
CREATE TABLE public.ep_event_notes (note_id int PRIMARY KEY, event_id int REFERENCES public.ep_loyalty_events, note text);
CREATE TABLE public.ep_newsletter (email text, list text);
CREATE TABLE public.ep_calls (call_id int, phone text, country text);
INSERT INTO public.ep_loyalty VALUES (1, 8001, 10), (2, 8002, 20);
INSERT INTO public.ep_loyalty_events VALUES (11, 1, 'earned'), (12, 1, 'spent'), (21, 2, 'earned');
INSERT INTO public.ep_event_notes VALUES (111, 11, 'note');
INSERT INTO public.ep_newsletter VALUES (' ann.example@mail.EXAMPLE ', 'weekly'), ('ben@mail.example', 'weekly');
INSERT INTO public.ep_calls VALUES (1, '(030) 123 4567', 'DE'), (2, '030 1234567', 'FR'), (3, '+33123456789', NULL);

CREATE TEMP TABLE ep AS SELECT crm.export_person(8001) AS doc;
-- ids of the rows exported from a table, by key column
CREATE FUNCTION pg_temp.ids(tbl text, col text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(r ->> col ORDER BY (r ->> col)::bigint), '{}') FROM ep, jsonb_array_elements(doc -> 'tables' -> tbl) r
$$;

SELECT is((SELECT doc -> 'contact' ->> 'first_name' FROM ep), 'Ann', 'the contact''s own row');
SELECT is(pg_temp.ids('crm.leads', 'lead_id'), '{8101}', 'leads: the contact''s only');
SELECT is(pg_temp.ids('crm.activities', 'activity_id'), '{8201}', 'activities: the contact''s only');
SELECT is(pg_temp.ids('crm.orders', 'order_id'), '{8301}', 'orders: the contact''s only');
SELECT is(pg_temp.ids('crm.order_lines', 'order_line_id'), '{8401,8402}', 'order lines, one level further (via orders)');
SELECT is((SELECT array_agg(r ->> 'purpose' ORDER BY r ->> 'purpose') FROM ep, jsonb_array_elements(doc -> 'tables' -> 'crm.consent_history') r),
          '{marketing_email,profiling}', 'the consent history');
SELECT is((SELECT doc -> 'consent_now' FROM ep),
          '{"marketing_email": true, "marketing_sms": false, "marketing_phone": false, "profiling": false, "third_party_sharing": false}'::jsonb,
          'consent now, per purpose');
SELECT is(pg_temp.ids('public.ep_loyalty', 'card_id'), '{1}', 'a user table referencing crm.contacts');
SELECT is(pg_temp.ids('public.ep_loyalty_events', 'event_id'), '{11,12}', 'a user table one level further');
SELECT is((SELECT doc -> 'tables' -> 'public.ep_event_notes' FROM ep), NULL, 'two levels further is not followed');
SELECT is((SELECT array_agg(r ->> 'list') FROM ep, jsonb_array_elements(doc -> 'tables' -> 'public.ep_newsletter') r), '{weekly}',
          'a table without keys, by normalised e-mail');
-- Calls: 1 is Ann's number in its own format with DE; 2 is the same digits but a French number
-- (+33 30 1234567), not Ann's; 3 is Ben's.
SELECT is(pg_temp.ids('public.ep_calls', 'call_id'), '{1}', 'a table without keys, by normalised phone (with the row''s country)');
SELECT is(pg_temp.ids('crm.contacts', 'contact_id'), '{8003}', 'another contact with the same phone (a possible duplicate), never the contact itself');
SELECT is((SELECT doc -> 'not_readable' FROM ep), '[]'::jsonb, 'the superuser reads every table');
-- No row of contact 8002 anywhere in the document.
SELECT is((SELECT count(*)::int FROM ep, jsonb_each(doc -> 'tables') t, jsonb_array_elements(t.value) r
           WHERE r ->> 'contact_id' = '8002' OR r ->> 'order_id' = '8302' OR r ->> 'card_id' = '2'
              OR r::text ~ 'ben@mail' OR r::text ~ '123456789'), 0, 'another contact''s rows never appear');
-- Rows the extension's own triggers wrote: the lead's status at creation (lead_status_history,
-- one level further via leads) and the duplicate pair 8001/8003 the insert-time matching found
-- (same phone).
SELECT is(pg_temp.ids('crm.lead_status_history', 'lead_id'), '{8101}', 'the lead''s status history, via leads');
SELECT is((SELECT array_agg(r ->> 'contact_b') FROM ep, jsonb_array_elements(doc -> 'tables' -> 'crm.duplicate_candidates') r), '{8003}',
          'the duplicate pair naming the contact');
SELECT is((SELECT count(*)::int FROM ep, jsonb_each(doc -> 'tables') t, jsonb_array_elements(t.value) r), 18,
          'eighteen rows in all (1 lead, 1 status, 1 activity, 1 order, 2 lines, 2 consents, 1 card, 2 events, 1 newsletter, 1 call, 1 contact, 1 pair, 3 journey events: signup, purchase, first purchase)');

SELECT is(crm.export_person(NULL), NULL, 'NULL id: NULL');
SELECT throws_ok($$SELECT crm.export_person(8999)$$, '22023', 'contact 8999 does not exist', 'an unknown id is refused (22023)');

-- Who may call it: admins (invoker rights); a table the admin may not read is named, not read.
CREATE ROLE ep_admin; CREATE ROLE ep_rep;
GRANT crm_admin TO ep_admin; GRANT crm_sales TO ep_rep;
GRANT USAGE ON SCHEMA public TO ep_admin;
GRANT SELECT ON public.ep_loyalty, public.ep_loyalty_events, public.ep_newsletter TO ep_admin;
SET ROLE ep_admin;
SELECT is((SELECT crm.export_person(8001) -> 'not_readable'), '["public.ep_calls"]'::jsonb,
          'an admin: the user table they may not read is named in not_readable');
SELECT is((SELECT jsonb_array_length(crm.export_person(8001) -> 'tables' -> 'crm.order_lines')), 2, 'an admin reads every crm row');
RESET ROLE;
SET ROLE ep_rep;
SELECT throws_ok($$SELECT crm.export_person(8001)$$, '42501', NULL, 'a rep may not export a person (42501)');
RESET ROLE;
SELECT ok(NOT has_function_privilege('public', 'crm.export_person(bigint)', 'EXECUTE'), 'not executable by PUBLIC');

SELECT * FROM finish();
ROLLBACK;
