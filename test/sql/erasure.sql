-- Worked example: the right to erasure and retention (docs/privacy.md).
--
-- HMAC-SHA-256 first, against RFC 4231 test case 2 (key "Jefe"), the published value:
--   5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843
SET client_min_messages = warning;
BEGIN;
SELECT encode(crm.hmac_sha256(convert_to('Jefe', 'UTF8'), convert_to('what do ya want for nothing?', 'UTF8')), 'hex') AS rfc4231_case2;

-- Two customers: Mara (id 7901) orders twice (40 + 60 = 100) and answers a survey (9, with a
-- comment naming her); Theo (id 7902) orders once (25).
INSERT INTO crm.contacts (contact_id, first_name, last_name, email, phone, country, created_at) VALUES
    (7901, 'Mara', 'Lindqvist', 'Mara.Lindqvist@Example.org', '+46 8 123 456', 'SE', '2020-01-10'),
    (7902, 'Theo', 'Brandt', 'theo@example.org', NULL, 'DE', '2020-02-01');
INSERT INTO crm.orders (order_id, contact_id, ordered_at, total) VALUES
    (7901, 7901, '2020-03-01', 40), (7902, 7901, '2020-06-01', 60), (7903, 7902, '2024-05-01', 25);
INSERT INTO crm.survey_responses (contact_id, kind, score, comment, responded_at)
VALUES (7901, 'nps', 9, 'Mara says: great service', '2020-06-10');
INSERT INTO crm.activities (contact_id, channel, kind, occurred_at, details)
VALUES (7901, 'email', 'note', '2020-06-11', '{"note": "Mara Lindqvist asked about delivery"}');

-- Totals before: 2 customers, 3 orders, 125 spent; Mara: 2 orders, 100, average 50.
SELECT contact_id, orders, total_spent, average_order_value FROM crm.customer_order_stats WHERE contact_id IN (7901, 7902) ORDER BY contact_id;

-- Erase Mara. Rows anonymised: her contact row, 1 activity, 1 survey comment (no tickets, tasks,
-- deals or consent evidence: 0; her journey event, the signup, holds no details, and she has no
-- outbox message: 0).
SELECT crm.erase_person(7901, 'request by letter') - 'erasure_id' AS result;

-- Her row: the placeholder name "Erased person 7901", no e-mail, phone or title; the country stays.
SELECT contact_id, first_name, last_name, email, phone, country FROM crm.contacts WHERE contact_id IN (7901, 7902) ORDER BY contact_id;
SELECT score, comment FROM crm.survey_responses WHERE contact_id = 7901;
SELECT details FROM crm.activities WHERE contact_id = 7901;

-- Totals after: the same (the orders and the score are still hers, under her id).
SELECT contact_id, orders, total_spent, average_order_value FROM crm.customer_order_stats WHERE contact_id IN (7901, 7902) ORDER BY contact_id;

-- The log: her id and the reason, and a hash equal to HMAC-SHA-256 of the normalised address
-- (lower case) under the key the erasure generated; nothing else about her.
SELECT contact_id, reason,
       email_hash = crm.hmac_sha256((SELECT secret FROM crm.erasure_keys ORDER BY key_id DESC LIMIT 1), convert_to('mara.lindqvist@example.org', 'UTF8')) AS hash_matches
FROM crm.erasure_log WHERE contact_id = 7901;

-- Erasing again changes nothing.
SELECT crm.erase_person(7901, 'request by letter') -> 'already_erased' AS already_erased;

-- The same address, written another way, cannot come back (23514) ...
SAVEPOINT reimport;
\set VERBOSITY terse
INSERT INTO crm.contacts (first_name, email) VALUES ('M.', ' MARA.LINDQVIST@example.org');
\set VERBOSITY default
ROLLBACK TO SAVEPOINT reimport;
-- ... until an admin allows it.
SELECT crm.allow_reimport('mara.lindqvist@example.org') AS log_rows_changed;

-- Retention: erase contacts without any sign of life for 3 years. As of 2027-06-30 the cut-off
-- is 2024-06-30: Theo's last sign is his order of 2024-05-01, before it, so he is erased; Mara is
-- erased already (skipped). As of 2027-04-30 (cut-off 2024-04-30) he was still active.
INSERT INTO crm.retention_policies (name, inactive_for) VALUES ('three years', '3 years');
SELECT * FROM crm.apply_retention('2027-04-30') WHERE contact_id IN (7901, 7902);
SELECT * FROM crm.apply_retention('2027-06-30') WHERE contact_id IN (7901, 7902);
SELECT * FROM crm.apply_retention('2027-06-30') WHERE contact_id IN (7901, 7902);
SELECT contact_id, reason FROM crm.erasure_log WHERE contact_id IN (7901, 7902) ORDER BY contact_id;
ROLLBACK;
