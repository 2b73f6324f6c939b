-- pgTAP: the right to erasure and retention (src/erasure.sql, docs/privacy.md): HMAC-SHA-256
-- against RFC 4231; crm.erase_person anonymises the person everywhere (crm tables, a user's own
-- table by the rule, a keyless table by e-mail), keeps every aggregate input and derived state,
-- logs once without personal data, is idempotent; nothing of the person's e-mail or name is left
-- in what crm.export_person finds; the re-import block (23514) and the admin override; roles
-- (42501), NULLs, unknown ids (22023), empty reasons; crm.apply_retention; the reviewed column
-- list covers every text column of the tables about a contact.
BEGIN;
SELECT plan(44);

-- ---------------------------------------------------------------------------------------------
-- HMAC-SHA-256: RFC 4231 test cases 1, 2 and 6 (a key longer than the block, hashed first).
SELECT is(encode(crm.hmac_sha256('\x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b', convert_to('Hi There', 'UTF8')), 'hex'),
          'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7', 'HMAC-SHA-256: RFC 4231 case 1');
SELECT is(encode(crm.hmac_sha256(convert_to('Jefe', 'UTF8'), convert_to('what do ya want for nothing?', 'UTF8')), 'hex'),
          '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843', 'HMAC-SHA-256: RFC 4231 case 2');
SELECT is(encode(crm.hmac_sha256(decode(repeat('aa', 131), 'hex'),
                                 convert_to('Test Using Larger Than Block-Size Key - Hash Key First', 'UTF8')), 'hex'),
          '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54', 'HMAC-SHA-256: RFC 4231 case 6 (key longer than a block)');
SELECT is(crm.hmac_sha256(NULL, '\x00'), NULL, 'HMAC of NULL is NULL (strict)');
SELECT is((SELECT count(*)::int FROM crm.erasure_keys), 0, 'no key before the first erasure');

-- ---------------------------------------------------------------------------------------------
-- Ann (8001) with rows in every kind of table; Ben (8002) the same, untouched.
INSERT INTO crm.contacts (contact_id, first_name, last_name, email, phone, title, country) VALUES
    (8001, 'Annabel', 'Quixote', 'Annabel.Quixote@Mail.example', '030 1234567', 'Head of Quixotry', 'DE'),
    (8002, 'Benedikt', 'Zebulon', 'ben.zebulon@mail.example', '+33 1 23 45 67 89', 'CTO', 'FR');
INSERT INTO crm.leads (lead_id, contact_id, source) VALUES (8101, 8001, 'web'), (8102, 8002, 'web');
INSERT INTO crm.activities (activity_id, contact_id, lead_id, channel, kind, details) VALUES
    (8201, 8001, 8101, 'email', 'note', '{"note": "Annabel Quixote called about her order"}'),
    (8202, 8002, 8102, 'email', 'note', '{"note": "Benedikt called"}');
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (8001, 'ER-1', 'Widget', 10);
INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (8301, 8001, '2026-01-01'), (8302, 8002, '2026-01-01');
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES (8301, 8001, 3, 10), (8302, 8001, 1, 10);
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel) VALUES
    (8401, 8001, 'Annabel Quixote cannot log in', 'email'), (8402, 8002, 'Benedikt cannot log in', 'email');
INSERT INTO crm.survey_responses (response_id, contact_id, kind, score, comment) VALUES
    (8501, 8001, 'nps', 9, 'Great, says Annabel Quixote'), (8502, 8002, 'nps', 3, 'Benedikt is unhappy');
INSERT INTO crm.tasks (task_id, title, description, ticket_id) VALUES (8601, 'Call annabel back', 'about login', 8401),
    (8602, 'Review escalated ticket #8401', 'Quixote is angry', 8401);
INSERT INTO crm.opportunities (opportunity_id, name, contact_id, amount, stage_id) VALUES
    (8701, 'Annabel Quixote private deal', 8001, 500, (SELECT min(stage_id) FROM crm.pipeline_stages));
INSERT INTO crm.consent_history (contact_id, purpose, granted, source, evidence) VALUES
    (8001, 'marketing_email', true, 'form', 'signup of Annabel.Quixote@Mail.example'), (8002, 'marketing_email', true, 'form', 'signup');
-- A user's table with a key to contacts (erased by the rule, one column kept by comment), a
-- keyless newsletter list (by e-mail).
CREATE TABLE public.er_loyalty (card_id int PRIMARY KEY, contact_id bigint REFERENCES crm.contacts, points int,
                                holder text, notes jsonb NOT NULL DEFAULT '{}', tier text);
COMMENT ON COLUMN public.er_loyalty.tier IS 'crm:keep (a category)';
INSERT INTO public.er_loyalty VALUES (1, 8001, 10, 'Annabel Quixote', '{"by": "Annabel"}', 'gold'), (2, 8002, 20, 'Benedikt Zebulon', '{}', 'silver');
CREATE TABLE public.er_newsletter (email text, list text);
INSERT INTO public.er_newsletter VALUES (' annabel.quixote@mail.EXAMPLE ', 'weekly'), ('ben.zebulon@mail.example', 'weekly');

CREATE ROLE er_admin IN ROLE crm_admin; CREATE ROLE er_manager IN ROLE crm_manager;
GRANT SELECT, UPDATE ON public.er_loyalty, public.er_newsletter TO er_admin;

-- What must not change: the aggregate inputs and the derived state.
CREATE TEMP TABLE before_state AS
SELECT (SELECT md5(string_agg(o::text, ',' ORDER BY o.order_id)) FROM crm.orders o) AS orders,
       (SELECT md5(string_agg(l::text, ',' ORDER BY l.order_line_id)) FROM crm.order_lines l) AS lines,
       (SELECT md5(string_agg(s::text, ',' ORDER BY s.contact_id)) FROM crm.customer_order_stats s) AS stats,
       (SELECT md5(string_agg((l.lead_id, l.score, l.grade, l.scored_at)::text, ',' ORDER BY l.lead_id)) FROM crm.leads l) AS scores,
       (SELECT md5(string_agg((r.response_id, r.kind, r.score, r.responded_at)::text, ',' ORDER BY r.response_id)) FROM crm.survey_responses r) AS surveys,
       (SELECT md5(string_agg((h.consent_id, h.purpose, h.granted, h.effective_at)::text, ',' ORDER BY h.consent_id)) FROM crm.consent_history h) AS consents,
       (SELECT md5(string_agg(t::text, ',' ORDER BY t.ticket_id)) FROM crm.ticket_slas t) AS slas,
       (SELECT md5(string_agg(a::text, ',' ORDER BY a.activity_id)) FROM crm.activities a WHERE a.contact_id = 8002) AS ben_activities,
       (SELECT md5(c::text) FROM crm.contacts c WHERE c.contact_id = 8002) AS ben;

-- ---------------------------------------------------------------------------------------------
-- Who may erase
SET ROLE er_manager;
SELECT throws_ok($$SELECT crm.erase_person(8001, 'request')$$, '42501', NULL, 'a manager may not erase (42501)');
SELECT throws_ok($$SELECT crm.erase_person_core(8001, 'request')$$, '42501', NULL, 'nor call the core directly (42501)');
SELECT throws_ok($$SELECT * FROM crm.erasure_log$$, '42501', NULL, 'nor read the erasure log (42501)');
SELECT throws_ok($$SELECT * FROM crm.erasure_keys$$, '42501', NULL, 'nor read the keys (42501)');
SELECT throws_ok($$SELECT * FROM crm.apply_retention(now())$$, '42501', NULL, 'nor apply retention (42501)');
RESET ROLE;

SET ROLE er_admin;
SELECT is(crm.erase_person(NULL, 'request'), NULL, 'a NULL id: NULL, nothing done (strict)');
SELECT is(crm.erase_person(8001, NULL), NULL, 'a NULL reason: NULL, nothing done (strict)');
SELECT throws_ok($$SELECT crm.erase_person(8999, 'request')$$, '22023', 'contact 8999 does not exist', 'an unknown id: 22023');
SELECT throws_ok($$SELECT crm.erase_person(8001, '  ')$$, '22023', 'the reason of an erasure must not be empty', 'an empty reason: 22023');
SELECT is((SELECT count(*)::int FROM crm.erasure_log), 0, 'nothing logged by the refused calls');

CREATE TEMP TABLE first_run AS SELECT crm.erase_person(8001, 'request 2026-11-30') AS r;
RESET ROLE;
SELECT is((SELECT count(*)::int FROM crm.erasure_keys WHERE length(secret) = 64), 1, 'the first erasure generated one 64-byte key');

SELECT is((SELECT (first_name, last_name, email, phone, title)::text FROM crm.contacts WHERE contact_id = 8001),
          '(Erased,"person 8001",,,)', 'contact: name replaced by the placeholder, e-mail, phone and title cleared');
SELECT is((SELECT country FROM crm.contacts WHERE contact_id = 8001), 'DE', 'contact: country kept');
SELECT is((SELECT details FROM crm.activities WHERE activity_id = 8201), '{}'::jsonb, 'activity details cleared');
SELECT is((SELECT subject FROM crm.tickets WHERE ticket_id = 8401), 'erased', 'ticket subject replaced');
SELECT is((SELECT comment FROM crm.survey_responses WHERE response_id = 8501), NULL, 'survey comment cleared');
SELECT is((SELECT (title, description)::text FROM crm.tasks WHERE task_id = 8601), '(erased,)', 'a task on the person''s ticket naming them: title and description');
SELECT is((SELECT (title, description)::text FROM crm.tasks WHERE task_id = 8602), '("Review escalated ticket #8401",)',
          'a task title without the name is kept, its description cleared');
SELECT is((SELECT name FROM crm.opportunities WHERE opportunity_id = 8701), 'erased deal 8701', 'a deal with the person (no account) renamed');
SELECT is((SELECT evidence FROM crm.consent_history WHERE contact_id = 8001), NULL, 'consent evidence cleared, the event kept');
SELECT is((SELECT (holder, notes, tier)::text FROM public.er_loyalty WHERE card_id = 1), '(,{},gold)',
          'a user''s table: text NULL, NOT NULL jsonb ''{}'', a crm:keep column kept');
SELECT is((SELECT list FROM public.er_newsletter WHERE email IS NULL), 'weekly', 'keyless table: the address cleared, the row kept');
SELECT is((SELECT count(*)::int FROM public.er_newsletter WHERE email IS NULL), 1, 'keyless table: only the person''s address');

-- Nothing left: the person's e-mail and names nowhere in what crm.export_person finds.
SELECT is((SELECT (crm.export_person(8001))::text ~* 'annabel|quixote|030 ?1234567'), false,
          'no trace of the e-mail, names or phone in any table crm.export_person finds');
SELECT is((SELECT count(*)::int FROM crm.export_person(8001) d, jsonb_object_keys(d -> 'tables') k
           WHERE k IN ('crm.orders', 'crm.order_lines', 'crm.consent_history', 'crm.survey_responses', 'crm.leads')), 5,
          'the rows themselves are still there');

-- Unchanged aggregates and derived state; Ben untouched.
SELECT is((SELECT (orders, lines, stats, scores, surveys, consents, slas, ben_activities, ben)::text FROM before_state),
          (SELECT ((SELECT md5(string_agg(o::text, ',' ORDER BY o.order_id)) FROM crm.orders o),
                   (SELECT md5(string_agg(l::text, ',' ORDER BY l.order_line_id)) FROM crm.order_lines l),
                   (SELECT md5(string_agg(s::text, ',' ORDER BY s.contact_id)) FROM crm.customer_order_stats s),
                   (SELECT md5(string_agg((l.lead_id, l.score, l.grade, l.scored_at)::text, ',' ORDER BY l.lead_id)) FROM crm.leads l),
                   (SELECT md5(string_agg((r.response_id, r.kind, r.score, r.responded_at)::text, ',' ORDER BY r.response_id)) FROM crm.survey_responses r),
                   (SELECT md5(string_agg((h.consent_id, h.purpose, h.granted, h.effective_at)::text, ',' ORDER BY h.consent_id)) FROM crm.consent_history h),
                   (SELECT md5(string_agg(t::text, ',' ORDER BY t.ticket_id)) FROM crm.ticket_slas t),
                   (SELECT md5(string_agg(a::text, ',' ORDER BY a.activity_id)) FROM crm.activities a WHERE a.contact_id = 8002),
                   (SELECT md5(c::text) FROM crm.contacts c WHERE c.contact_id = 8002))::text),
          'orders, lines, order stats, lead scores, survey scores, consent events, SLA state and the other contact unchanged');

-- The log: one row, no personal data, the keyed hash of the normalised address.
SELECT is((SELECT (contact_id, reason, erased_by, reimport_allowed_at)::text FROM crm.erasure_log),
          '(8001,"request 2026-11-30",postgres,)', 'logged once: id, reason, login');
SELECT is((SELECT l.email_hash FROM crm.erasure_log l),
          (SELECT crm.hmac_sha256(k.secret, convert_to('annabel.quixote@mail.example', 'UTF8')) FROM crm.erasure_keys k),
          'the e-mail hash is the HMAC of the normalised address under the key');
SELECT is((SELECT to_jsonb(l)::text ~* 'annabel|quixote' FROM crm.erasure_log l), false, 'no personal data in the log row');

-- Idempotent: a second call changes nothing and logs nothing.
SET ROLE er_admin;
SELECT is((SELECT crm.erase_person(8001, 'again') -> 'already_erased'), 'true'::jsonb, 'a second erasure: already_erased');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM crm.erasure_log), 1, 'still one log row');

-- Re-import: refused for anyone, whatever the case and spaces, until an admin allows it.
SET ROLE er_manager;
SELECT throws_ok($$INSERT INTO crm.contacts (first_name, email) VALUES ('New', 'ANNABEL.Quixote@mail.example')$$,
                 '23514', 'the e-mail address belongs to an erased person', 'a re-import of the erased address: 23514');
SELECT throws_ok($$SELECT crm.allow_reimport('annabel.quixote@mail.example')$$, '42501', NULL, 'a manager may not allow it (42501)');
RESET ROLE;
SET ROLE er_admin;
SELECT is(crm.allow_reimport('annabel.quixote@mail.example'), 1, 'an admin allows the re-import (one log row)');
RESET ROLE;
SET ROLE er_manager;
SELECT lives_ok($$INSERT INTO crm.contacts (contact_id, first_name, email) VALUES (8003, 'New', 'ANNABEL.Quixote@mail.example')$$,
                'after the override the address may be imported');
RESET ROLE;

-- Retention: a policy of 1 year as of 2028; Ben's last sign of life is this transaction.
INSERT INTO crm.retention_policies (name, inactive_for) VALUES ('one year', '1 year');
SELECT is((SELECT count(*)::int FROM crm.apply_retention(now() + interval '6 months') WHERE contact_id IN (8001, 8002, 8003)), 0,
          'nobody inactive for a year yet');
SELECT is((SELECT array_agg(contact_id ORDER BY contact_id) FROM crm.apply_retention(now() + interval '2 years')
           WHERE contact_id IN (8001, 8002, 8003)), '{8002,8003}', 'two years later: the not yet erased contacts are erased');
SELECT is((SELECT count(*)::int FROM crm.apply_retention(now() + interval '2 years')), 0, 'applying it again erases nobody (idempotent)');

-- The reviewed list covers every text or jsonb column of every crm table with rows about a
-- contact (a key to crm.contacts).
SELECT is_empty($$
    SELECT a.attrelid::regclass::text, a.attname::text
    FROM pg_constraint con JOIN pg_attribute a ON a.attrelid = con.conrelid
    WHERE con.contype = 'f' AND con.confrelid = 'crm.contacts'::regclass
      AND con.conrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'crm'::regnamespace)
      AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid IN ('text'::regtype, 'jsonb'::regtype, 'varchar'::regtype, 'text[]'::regtype)
      AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = a.attrelid AND k.contype IN ('p', 'u', 'f') AND a.attnum = ANY (k.conkey))
      AND (a.attrelid::regclass, a.attname) NOT IN (SELECT table_name, column_name FROM crm.erasure_columns)$$,
    'crm.erasure_columns lists every text column of the crm tables about a contact');

SELECT * FROM finish();
ROLLBACK;
