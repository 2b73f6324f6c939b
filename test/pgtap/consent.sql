-- pgTAP: the consent history (src/consent.sql, docs/privacy.md): crm.has_consent at instants
-- around grants and withdrawals, lawful bases, contacts.marketing_consent kept equal to the
-- history, legacy writes of the column turned into history rows, campaign draws that respect a
-- withdrawal, row-level security and append-only rows, SQLSTATEs.
BEGIN;
SELECT plan(34);

CREATE ROLE cs_rep; CREATE ROLE cs_other; CREATE ROLE cs_support; CREATE ROLE cs_mgr;
GRANT crm_sales TO cs_rep, cs_other; GRANT crm_support TO cs_support; GRANT crm_manager TO cs_mgr;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (7701, 'cs_rep', 'Rep', 'rep@cs.example', 'sales', 'cs'),
    (7702, 'cs_other', 'Other', 'other@cs.example', 'sales', 'cs-east'),
    (7703, 'cs_support', 'Sup', 'sup@cs.example', 'support', NULL),
    (7704, 'cs_mgr', 'Mgr', 'mgr@cs.example', 'manager', 'cs');
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES
    (7801, 'Ann', 7701), (7802, 'Ben', 7701), (7803, 'Cy', 7702), (7804, 'Di', 7701);

-- 1. History and has_consent. Contact 7801: e-mail consent granted 10 days ago by a form,
-- withdrawn 2 days ago on a call; SMS granted 5 days ago on legitimate interests.
INSERT INTO crm.consent_history (contact_id, purpose, granted, lawful_basis, source, evidence, effective_at) VALUES
    (7801, 'marketing_email', true, 'consent', 'form', 'signup form #12', now() - interval '10 days'),
    (7801, 'marketing_sms', true, 'legitimate_interests', 'import', NULL, now() - interval '5 days');
SELECT is(crm.has_consent(7801, 'marketing_email', now() - interval '11 days'), false, 'no consent before the grant');
SELECT is(crm.has_consent(7801, 'marketing_email', now() - interval '10 days'), true, 'consent from the instant of the grant');
SELECT is(crm.has_consent(7801, 'marketing_email'), true, 'consent now (default at)');
SELECT is((SELECT marketing_consent FROM crm.contacts WHERE contact_id = 7801), true, 'the flag follows the grant');
SELECT is((SELECT (consent_at, consent_source)::text FROM crm.contacts WHERE contact_id = 7801),
          (now() - interval '10 days', 'form')::text, 'consent_at and consent_source are the grant''s');
INSERT INTO crm.consent_history (contact_id, purpose, granted, source, evidence, effective_at)
    VALUES (7801, 'marketing_email', false, 'call', 'call on the service line', now() - interval '2 days');
SELECT is(crm.has_consent(7801, 'marketing_email', now() - interval '3 days'), true, 'still consent before the withdrawal');
SELECT is(crm.has_consent(7801, 'marketing_email', now() - interval '2 days'), false, 'no consent from the withdrawal on');
SELECT is(crm.has_consent(7801, 'marketing_email'), false, 'no consent now');
SELECT is((SELECT marketing_consent FROM crm.contacts WHERE contact_id = 7801), false, 'the flag follows the withdrawal');
SELECT is(crm.has_consent(7801, 'marketing_sms'), true, 'purposes are separate: SMS still granted');
SELECT is(crm.has_consent(7801, 'profiling'), false, 'no event for a purpose: no consent');
SELECT is(crm.has_consent(7802, 'marketing_email'), false, 'no history at all: no consent');
SELECT is(crm.has_consent(NULL, 'marketing_email'), NULL, 'NULL contact: NULL');
SELECT is(crm.has_consent(7801, 'marketing_email', NULL), NULL, 'NULL instant: NULL');
SELECT is((SELECT lawful_basis::text FROM crm.consent_history WHERE contact_id = 7801 AND purpose = 'marketing_sms'),
          'legitimate_interests', 'the lawful basis is stored');
SELECT is((SELECT array_agg(e ORDER BY e)::text[] FROM unnest(enum_range(NULL::crm.lawful_basis)) e(e)),
          ARRAY['consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests'],
          'the six lawful bases of GDPR Art. 6(1), in its order (a) to (f)');
-- A grant recorded later but taking effect earlier than the withdrawal does not undo it.
INSERT INTO crm.consent_history (contact_id, purpose, granted, source, effective_at)
    VALUES (7801, 'marketing_email', true, 'import', now() - interval '4 days');
SELECT is(crm.has_consent(7801, 'marketing_email'), false, 'the latest event by effective time decides, not the latest recorded');
SELECT is((SELECT (recorded_by, recorded_at = now())::text FROM crm.consent_history
           WHERE contact_id = 7801 AND source = 'import' AND purpose = 'marketing_email'),
          (current_user::name, true)::text, 'recorded_by and recorded_at are the session''s');

-- 2. SQLSTATEs.
SELECT throws_ok($$INSERT INTO crm.consent_history (contact_id, purpose, granted, source, effective_at)
                   VALUES (7802, 'marketing_email', true, 'form', now() + interval '1 day')$$, '23514', NULL,
                 'an effective time after the recording is refused (23514)');
SELECT throws_ok($$INSERT INTO crm.consent_history (contact_id, purpose, granted, source) VALUES (7802, 'fax', true, 'form')$$,
                 '22P02', NULL, 'an unknown purpose is refused (22P02)');
SELECT throws_ok($$INSERT INTO crm.consent_history (contact_id, purpose, granted, lawful_basis, source)
                   VALUES (7802, 'profiling', true, 'because', 'form')$$, '22P02', NULL, 'an unknown lawful basis is refused (22P02)');
SELECT throws_ok($$INSERT INTO crm.consent_history (contact_id, purpose, granted, source) VALUES (7899, 'profiling', true, 'form')$$,
                 '23503', NULL, 'an unknown contact is refused (23503)');

-- 3. Legacy writes of the column become history rows; the flag stays equal to has_consent.
UPDATE crm.contacts SET marketing_consent = true, consent_at = now() - interval '1 day', consent_source = 'checkout'
WHERE contact_id = 7802;
SELECT is((SELECT (granted, source, evidence, effective_at = now() - interval '1 day', lawful_basis::text)::text
           FROM crm.consent_history WHERE contact_id = 7802),
          (true, 'legacy column', 'checkout', true, 'consent')::text, 'setting the flag records a grant (source legacy column)');
UPDATE crm.contacts SET marketing_consent = false WHERE contact_id = 7802;
SELECT is((SELECT array_agg(granted ORDER BY consent_id) FROM crm.consent_history WHERE contact_id = 7802),
          ARRAY[true, false], 'clearing the flag records a withdrawal');
INSERT INTO crm.contacts (contact_id, first_name, owner_id, marketing_consent, consent_at, consent_source)
    VALUES (7805, 'Eve', 7701, true, now() + interval '1 year', 'fair');
SELECT is((SELECT (effective_at = now(), evidence)::text FROM crm.consent_history WHERE contact_id = 7805),
          (true, 'fair')::text, 'a new contact with the flag set: a grant taking effect now at the latest');
UPDATE crm.contacts SET first_name = 'Evelyn', marketing_consent = true WHERE contact_id = 7805;
SELECT is((SELECT count(*)::int FROM crm.consent_history WHERE contact_id = 7805), 1, 'writing the same value records nothing');
SELECT is_empty($$SELECT contact_id FROM crm.contacts
                 WHERE contact_id BETWEEN 7801 AND 7805 AND marketing_consent IS DISTINCT FROM crm.has_consent(contact_id, 'marketing_email')$$,
                'every flag equals has_consent now');

-- 4. Campaign draw: 7801 withdrew, 7804 consents, 7802 withdrew through the column.
INSERT INTO crm.consent_history (contact_id, purpose, granted, source) VALUES (7804, 'marketing_email', true, 'form');
INSERT INTO crm.segments (segment_id, name) VALUES (7901, 'cs segment');
INSERT INTO crm.segment_members (segment_id, contact_id, entered_at) SELECT 7901, c, now() FROM unnest(ARRAY[7801, 7802, 7804]) c;
INSERT INTO crm.campaigns (campaign_id, name, channel) VALUES (7901, 'cs campaign', 'email');
SELECT is(crm.add_segment_to_campaign(7901, 7901), 1, 'the draw adds the one consenting member');
SELECT results_eq($$SELECT contact_id FROM crm.campaign_members WHERE campaign_id = 7901$$, $$VALUES (7804::bigint)$$,
                  'a withdrawn contact is not drawn');

-- 5. Row-level security: the history follows its contact; append-only.
SET ROLE cs_rep;
SELECT results_eq($$SELECT DISTINCT contact_id FROM crm.consent_history WHERE contact_id BETWEEN 7801 AND 7805 ORDER BY 1$$,
                  $$VALUES (7801::bigint), (7802), (7804), (7805)$$, 'a rep sees the history of their own contacts only');
SELECT throws_ok($$INSERT INTO crm.consent_history (contact_id, purpose, granted, source) VALUES (7803, 'profiling', true, 'form')$$,
                 '42501', NULL, 'a rep cannot record consent for another rep''s contact (42501)');
SELECT throws_ok($$UPDATE crm.consent_history SET granted = true WHERE contact_id = 7801$$, '42501', NULL,
                 'history rows cannot be updated (42501)');
SELECT throws_ok($$DELETE FROM crm.consent_history WHERE contact_id = 7801$$, '42501', NULL,
                 'history rows cannot be deleted (42501)');
RESET ROLE;

-- Support records a withdrawal on a call for a contact it sees (one with a ticket) but may not
-- update: the flag still follows (the sync trigger runs with the extension's rights).
INSERT INTO crm.tickets (contact_id, subject, channel) VALUES (7804, 'Stop mailing me', 'phone');
SET ROLE cs_support;
INSERT INTO crm.consent_history (contact_id, purpose, granted, source, evidence) VALUES (7804, 'marketing_email', false, 'call', 'ticket');
RESET ROLE;
SELECT is((SELECT marketing_consent FROM crm.contacts WHERE contact_id = 7804), false,
          'support''s recorded withdrawal clears the flag of a contact it may not update');

SELECT * FROM finish();
ROLLBACK;
