-- pgTAP: triggered journeys (src/journeys.sql). Every expected value is derived by hand in the
-- comments: instants are in May 2026 (UTC), runs at past instants.
BEGIN;
SELECT plan(53);
SET LOCAL TimeZone = 'UTC';

CREATE ROLE jr_mia; CREATE ROLE jr_ana; CREATE ROLE jr_al;
GRANT crm_manager TO jr_mia; GRANT crm_sales TO jr_ana; GRANT crm_analyst TO jr_al;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team, manager_id) VALUES
    (8601, 'jr_mia', 'Mia', 'mia@jr.example', 'manager', 'jr', NULL),
    (8602, 'jr_ana', 'Ana', 'ana@jr.example', 'sales', 'jr-other', NULL),
    (8603, 'jr_al', 'Al', 'al@jr.example', 'analyst', NULL, NULL);
-- 8601 Ana's, consent by e-mail since 04-01; 8602 unowned, no consent; 8603 Ana's, consent
-- withdrawn 05-02 00:00; 8604 Ana's, for re-entry and segments.
INSERT INTO crm.contacts (contact_id, first_name, owner_id, created_at) VALUES
    (8601, 'One', 8602, '2026-05-01 00:00+00'), (8602, 'Two', NULL, '2026-05-01 00:00+00'),
    (8603, 'Three', 8602, '2026-05-01 00:00+00'), (8604, 'Four', 8602, '2026-05-01 00:00+00');
INSERT INTO crm.consent_history (contact_id, purpose, granted, source, effective_at) VALUES
    (8601, 'marketing_email', true, 'form', '2026-04-01 00:00+00'),
    (8603, 'marketing_email', true, 'form', '2026-04-01 00:00+00'),
    (8603, 'marketing_email', false, 'unsubscribe', '2026-05-02 00:00+00'),
    (8604, 'marketing_email', true, 'form', '2026-04-01 00:00+00');

-- Event capture.
SELECT is((SELECT count(*)::int FROM crm.journey_events WHERE contact_id BETWEEN 8601 AND 8604 AND event = 'signup'
           AND occurred_at = '2026-05-01 00:00+00'), 4, 'a signup event per new contact, at created_at');
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status) VALUES
    (8601, 8601, '2026-05-03 00:00+00', 'pending'), (8602, 8601, '2026-05-04 00:00+00', 'paid');
SELECT is((SELECT string_agg(event, ',' ORDER BY event) FROM crm.journey_events WHERE contact_id = 8601 AND event <> 'signup'),
          'first_purchase,purchase', 'a paid order: purchase and first purchase; a pending one: nothing');
UPDATE crm.orders SET status = 'paid' WHERE order_id = 8601;
SELECT is((SELECT string_agg(event, ',' ORDER BY event) FROM crm.journey_events WHERE contact_id = 8601 AND event <> 'signup'),
          'first_purchase,purchase,purchase', 'the pending order paid later: a purchase, not a first purchase (there is another paid one)');
UPDATE crm.orders SET status = 'shipped' WHERE order_id IN (8601, 8602);
SELECT is((SELECT count(*)::int FROM crm.journey_events WHERE contact_id = 8601 AND event = 'purchase'), 2,
          'paid orders shipped: no new purchase (one per order)');
-- One statement paying several orders (statement triggers, docs/journeys.md): 8603 gets three
-- orders at once, two paid (05-06 order 8612, 05-05 order 8613) and one pending (8611): a purchase
-- each for 8612 and 8613, and one first purchase, the earlier by ordered_at: 8613. Then one UPDATE
-- pays 8611 (05-07) and changes nothing else of 8612 (status rewritten to the same value): a
-- purchase for 8611 only, no first purchase (8603 has others).
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status) VALUES
    (8611, 8603, '2026-05-07 00:00+00', 'pending'), (8612, 8603, '2026-05-06 00:00+00', 'paid'),
    (8613, 8603, '2026-05-05 00:00+00', 'paid');
SELECT is((SELECT string_agg(event || ':' || (details->>'order_id'), ',' ORDER BY event, details->>'order_id')
           FROM crm.journey_events WHERE contact_id = 8603 AND event <> 'signup'),
          'first_purchase:8613,purchase:8612,purchase:8613',
          'one insert of two paid orders: a purchase each, the first purchase for the earlier');
UPDATE crm.orders SET status = CASE order_id WHEN 8611 THEN 'paid' ELSE status END WHERE order_id IN (8611, 8612);
SELECT is((SELECT string_agg(event || ':' || (details->>'order_id'), ',' ORDER BY event, details->>'order_id')
           FROM crm.journey_events WHERE contact_id = 8603 AND event <> 'signup'),
          'first_purchase:8613,purchase:8611,purchase:8612,purchase:8613',
          'one update paying an order: its purchase; not a first one');
-- A bulk UPDATE paying two pending orders of a contact without purchases (8604): both purchases,
-- the first purchase for the earlier (order 8615, 05-08 before 8614's 05-09).
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status) VALUES
    (8614, 8604, '2026-05-09 00:00+00', 'pending'), (8615, 8604, '2026-05-08 00:00+00', 'pending');
UPDATE crm.orders SET status = 'paid' WHERE order_id IN (8614, 8615);
SELECT is((SELECT string_agg(event || ':' || (details->>'order_id'), ',' ORDER BY event, details->>'order_id')
           FROM crm.journey_events WHERE contact_id = 8604 AND event <> 'signup'),
          'first_purchase:8615,purchase:8614,purchase:8615',
          'one update paying two orders of a new customer: a purchase each, the first purchase for the earlier');
INSERT INTO crm.survey_responses (contact_id, kind, score, responded_at) VALUES
    (8602, 'nps', 6, '2026-05-02 00:00+00'), (8602, 'nps', 7, '2026-05-02 00:00+00'), (8602, 'csat', 1, '2026-05-02 00:00+00');
SELECT is((SELECT count(*)::int FROM crm.journey_events WHERE contact_id = 8602 AND event = 'detractor'), 1,
          'NPS 6 is a detractor; NPS 7 and a CSAT answer are not');

-- Configuration: checks and roles.
SELECT throws_ok($$INSERT INTO crm.journeys (name, entry_event) VALUES ('bad', 'segment_entered')$$, '23514', NULL,
                 'segment_entered needs a segment');
SELECT throws_ok($$INSERT INTO crm.journeys (name, reentry) VALUES ('bad', 'after')$$, '23514', NULL,
                 're-entry after needs an interval');
SELECT throws_ok($$INSERT INTO crm.journeys (name, entry_event) VALUES ('bad', 'Sign up')$$, '23514', NULL, 'bad event name');
INSERT INTO crm.journeys (journey_id, name, entry_event, enroll_from) VALUES (861, 'jr welcome', 'signup', '2026-04-01');
SELECT throws_ok($$INSERT INTO crm.journey_steps (journey_id, position, kind) VALUES (861, 1, 'wait')$$, '23514', NULL,
                 'a wait without a duration');
SELECT throws_ok($$INSERT INTO crm.journey_steps (journey_id, position, kind, event, then_position) VALUES (861, 3, 'branch', 'x', 2)$$,
                 '23514', NULL, 'a branch may not go back');
SELECT throws_ok($$INSERT INTO crm.journey_steps (journey_id, position, kind, channel) VALUES (861, 1, 'send', 'email')$$,
                 '23514', NULL, 'a send without a template');
SET LOCAL ROLE jr_ana;
SELECT throws_ok($$INSERT INTO crm.journeys (name) VALUES ('ana''s')$$, '42501', NULL, 'a rep may not write journeys');
SELECT is((SELECT count(*)::int FROM crm.journeys WHERE journey_id = 861), 1, 'a rep reads journeys');
RESET ROLE;
SET LOCAL ROLE jr_mia;
INSERT INTO crm.journey_steps (journey_id, position, kind, channel, template, payload) VALUES
    (861, 1, 'send', 'email', 'welcome', '{"subject": "Hi"}');
INSERT INTO crm.journey_steps (journey_id, position, kind, wait_for) VALUES (861, 2, 'wait', '2 days');
INSERT INTO crm.journey_steps (journey_id, position, kind, event, else_position) VALUES (861, 3, 'branch', 'purchase', 5);
INSERT INTO crm.journey_steps (journey_id, position, kind, channel, template) VALUES (861, 4, 'send', 'email', 'buyer tips');
INSERT INTO crm.journey_steps (journey_id, position, kind, channel, template) VALUES (861, 5, 'send', 'email', 'second nudge');
SELECT pass('a manager writes journeys and steps');
RESET ROLE;

-- Welcome (861, signup, never again): 1 send welcome; 2 wait 2 days; 3 branch on a purchase
-- since entry: yes -> 4, no -> 5; 4 send buyer tips; 5 send second nudge. All four entered at
-- 05-01 00:00.
-- Run at 05-02 12:00: 8601, 8603 (consent until 05-02), 8604 queued; 8602 skipped (no consent);
-- all wait until 05-03 00:00. entered 4, steps 4, queued 3, skipped 1.
SELECT results_eq($$SELECT * FROM crm.run_journeys('2026-05-02 12:00+00')$$, $$VALUES (4, 4, 3, 1, 0, 0)$$,
                  'first run: four entries, four sends (three queued, one skipped for lack of consent)');
SELECT results_eq($$SELECT * FROM crm.run_journeys('2026-05-02 12:00+00')$$, $$VALUES (0, 0, 0, 0, 0, 0)$$,
                  'the same run again does nothing');
SELECT results_eq($$SELECT * FROM crm.run_journeys('2026-05-02 06:00+00')$$, $$VALUES (0, 0, 0, 0, 0, 0)$$,
                  'an earlier run after a later one does nothing');
-- Run at 05-06 00:00, everything at 05-03 00:00: 8601 bought at 05-03 00:00: yes, tips and nudge
-- queued (4 steps); 8602 no, nudge skipped; 8603 no, nudge skipped (withdrawn 05-02); 8604 no,
-- nudge queued (3 steps each). steps 13, queued 3, skipped 2, completed 4.
SELECT results_eq($$SELECT * FROM crm.run_journeys('2026-05-06 00:00+00')$$, $$VALUES (0, 13, 3, 2, 4, 0)$$,
                  'second run: waits end, branches, the last sends; all four complete');
SELECT results_eq($$SELECT contact_id, position, outcome FROM crm.journey_step_log WHERE journey_id = 861 AND position IN (3, 4, 5)
                    ORDER BY contact_id, position$$,
                  $$VALUES (8601::bigint, 3, 'yes'), (8601, 4, 'queued'), (8601, 5, 'queued'),
                           (8602, 3, 'no'), (8602, 5, 'skipped'), (8603, 3, 'no'), (8603, 5, 'skipped'),
                           (8604, 3, 'no'), (8604, 5, 'queued')$$,
                  'branch on an event; consent checked at each send''s instant (8603 withdrew on 05-02)');
SELECT is((SELECT count(*)::int FROM crm.journey_outbox WHERE journey_id = 861), 6, 'six messages in the outbox');
SELECT is((SELECT count(*)::int FROM crm.journey_step_log WHERE journey_id = 861 AND at <> '2026-05-03 00:00+00'
           AND position > 1), 0, 'every later step at its own instant (05-03 00:00), not the run''s');
SELECT is((SELECT payload FROM crm.journey_outbox WHERE journey_id = 861 AND contact_id = 8601 AND position = 1) - 'enrollment_id',
          '{"subject": "Hi", "step": 1, "contact_id": 8601, "journey_id": 861}'::jsonb, 'the payload: the step''s and the ids');

-- Re-entry: three journeys entered on "ping", one step (wait 1 hour): never, after 10 days,
-- always. Pings for 8604 at 05-10, 05-12, 05-25: never enters once; after 10 days enters at
-- 05-10 and 05-25 (05-12 is within 10 days of 05-10); always enters thrice (each earlier entry
-- over by then).
INSERT INTO crm.journeys (journey_id, name, entry_event, reentry, reentry_after, enroll_from) VALUES
    (862, 'jr never', 'ping', 'never', NULL, '2026-04-01'), (863, 'jr after', 'ping', 'after', '10 days', '2026-04-01'),
    (864, 'jr always', 'ping', 'always', NULL, '2026-04-01');
INSERT INTO crm.journey_steps (journey_id, position, kind, wait_for) VALUES (862, 1, 'wait', '1 hour'), (863, 1, 'wait', '1 hour'), (864, 1, 'wait', '1 hour');
-- A segment (its stays written by hand): 8601 in it 05-05 to 05-08, 8604 since 05-05. Win-back
-- (866) enters on it and exits on leaving: 1 wait 5 days, 2 send. 8601 exits at 05-08; 8604
-- waits until 05-10 and gets the message then.
INSERT INTO crm.segments (segment_id, name) VALUES (8650, 'jr at risk');
INSERT INTO crm.segment_membership_history (segment_id, contact_id, entered_at, left_at) VALUES
    (8650, 8601, '2026-05-05 00:00+00', '2026-05-08 00:00+00'), (8650, 8604, '2026-05-05 00:00+00', NULL);
INSERT INTO crm.journeys (journey_id, name, entry_event, entry_segment_id, exit_on_segment_leave, enroll_from) VALUES
    (866, 'jr winback', 'segment_entered', 8650, true, '2026-04-01');
INSERT INTO crm.journey_steps (journey_id, position, kind, wait_for) VALUES (866, 1, 'wait', '5 days');
INSERT INTO crm.journey_steps (journey_id, position, kind, channel, template) VALUES (866, 2, 'send', 'email', 'we miss you');
-- Trial (865, on "trial"): 1 wait for "activated", at most 3 days; 2 branch on the segment: yes
-- -> 3, no -> the end; 3 send. 8601: trial 05-06, activated 05-08 12:00, out of the segment
-- then: no, done. 8604: trial 05-06, never activated: timeout 05-09, in the segment: queued.
INSERT INTO crm.journeys (journey_id, name, entry_event, enroll_from) VALUES (865, 'jr trial', 'trial', '2026-04-01');
INSERT INTO crm.journey_steps (journey_id, position, kind, event, wait_for) VALUES (865, 1, 'wait_event', 'activated', '3 days');
INSERT INTO crm.journey_steps (journey_id, position, kind, segment_id) VALUES (865, 2, 'branch', 8650);
INSERT INTO crm.journey_steps (journey_id, position, kind, channel, template) VALUES (865, 3, 'send', 'email', 'tips');

SET LOCAL ROLE jr_ana;
SELECT ok(crm.journey_event(8604, 'ping', '2026-05-10 00:00+00') > 0 AND crm.journey_event(8604, 'ping', '2026-05-12 00:00+00') > 0
          AND crm.journey_event(8604, 'ping', '2026-05-25 00:00+00') > 0
          AND crm.journey_event(8601, 'trial', '2026-05-06 00:00+00') > 0 AND crm.journey_event(8601, 'activated', '2026-05-08 12:00+00') > 0
          AND crm.journey_event(8604, 'trial', '2026-05-06 00:00+00') > 0, 'a rep records events of her contacts');
SELECT throws_ok($$SELECT crm.journey_event(8602, 'ping')$$, '22023', NULL, 'not of a contact she does not see');
SELECT throws_ok($$INSERT INTO crm.journey_events (contact_id, event, occurred_at, processed_at) VALUES (8604, 'ping', '2026-05-10', '2026-05-10')$$,
                 '42501', NULL, 'nor mark an event processed');
SELECT throws_ok($$SELECT crm.run_journeys('2026-05-26 00:00+00')$$, '42501', NULL, 'a rep may not run journeys');
SELECT throws_ok($$SELECT * FROM crm.claim_journey_messages()$$, '42501', NULL, 'nor drain the outbox');
SELECT is((SELECT array_agg(contact_id ORDER BY contact_id) FROM crm.journey_enrollments WHERE journey_id = 861),
          ARRAY[8601, 8603, 8604]::bigint[], 'a rep sees the progress of her contacts only');
RESET ROLE;
SET LOCAL ROLE jr_al;
SELECT is((SELECT count(*)::int FROM crm.journey_enrollments WHERE journey_id = 861), 4, 'an analyst sees all progress');
SELECT throws_ok($$SELECT crm.journey_event(8601, 'ping')$$, '42501', NULL, 'an analyst records no events');
RESET ROLE;

-- Run at 05-26 00:00. entered: never 1, after 2, always 3, winback 2, trial 2 = 10; steps: 6 waits,
-- winback 8604 2, trial 8601 2 and 8604 3 = 13; queued 2; completed 6 + 1 + 2 = 9; exited 1.
SET LOCAL ROLE jr_mia;
SELECT results_eq($$SELECT * FROM crm.run_journeys('2026-05-26 00:00+00')$$, $$VALUES (10, 13, 2, 0, 9, 1)$$,
                  'a manager runs journeys: re-entry, segment entry and exit, wait for an event, segment branch');
RESET ROLE;
SELECT results_eq($$SELECT journey_id, entry, entered_at FROM crm.journey_enrollments WHERE journey_id IN (862, 863, 864) ORDER BY 1, 2$$,
                  $$VALUES (862::bigint, 1, '2026-05-10 00:00+00'::timestamptz), (863, 1, '2026-05-10 00:00+00'), (863, 2, '2026-05-25 00:00+00'),
                           (864, 1, '2026-05-10 00:00+00'), (864, 2, '2026-05-12 00:00+00'), (864, 3, '2026-05-25 00:00+00')$$,
                  're-entry: never once; after 10 days at 05-10 and 05-25; always at each ping');
SELECT results_eq($$SELECT contact_id, status, finished_at, exit_reason FROM crm.journey_enrollments WHERE journey_id = 866 ORDER BY 1$$,
                  $$VALUES (8601::bigint, 'exited', '2026-05-08 00:00+00'::timestamptz, 'segment_left'), (8604, 'completed', '2026-05-10 00:00+00', NULL)$$,
                  'segment journey: entered on joining, exited on leaving');
SELECT results_eq($$SELECT contact_id, position, outcome, at FROM crm.journey_step_log WHERE journey_id = 865 ORDER BY 1, 2$$,
                  $$VALUES (8601::bigint, 1, 'event', '2026-05-08 12:00+00'::timestamptz), (8601, 2, 'no', '2026-05-08 12:00+00'),
                           (8604, 1, 'timeout', '2026-05-09 00:00+00'), (8604, 2, 'yes', '2026-05-09 00:00+00'), (8604, 3, 'queued', '2026-05-09 00:00+00')$$,
                  'wait for an event (or the timeout), branch on the segment at that instant');
SELECT results_eq($$SELECT * FROM crm.run_journeys('2026-05-26 00:00+00')$$, $$VALUES (0, 0, 0, 0, 0, 0)$$, 'again: nothing twice');

-- journey_enqueue: the generic entry (an at-risk list). Into 863 (after 10 days): 8601 at 05-20
-- enters; 8604 at 05-20 does not (her entry of 05-25 lies within 10 days before 05-20 or later).
SELECT ok(crm.journey_enqueue(863, 8601, '2026-05-20 00:00+00') > 0 AND crm.journey_enqueue(863, 8604, '2026-05-20 00:00+00') > 0,
          'journey_enqueue records the requests');
SELECT results_eq($$SELECT entered FROM crm.run_journeys('2026-05-27 00:00+00')$$, $$VALUES (1)$$, 'one of them enters');
SELECT throws_ok($$SELECT crm.journey_enqueue(NULL, 8601)$$, '22004', NULL, 'journey_enqueue: NULL journey');
SELECT throws_ok($$SELECT crm.journey_enqueue(863, 8601, now() + interval '1 hour')$$, '22023', NULL, 'journey_enqueue: a future instant');
SELECT throws_ok($$SELECT crm.journey_event(8601, NULL)$$, '22004', NULL, 'journey_event: NULL event');
SELECT throws_ok($$SELECT crm.run_journeys(NULL)$$, '22023', NULL, 'run_journeys: NULL instant');
SELECT throws_ok($$SELECT crm.run_journeys(clock_timestamp() + interval '1 minute')$$, '22023', NULL, 'run_journeys: a future instant');

-- The outbox: claim, finish.
SELECT is((SELECT count(*)::int FROM crm.claim_journey_messages(3, 'w1')), 3, 'a sender claims three');
SELECT is((SELECT count(*)::int FROM crm.claim_journey_messages(100, 'w2')), 5, 'another claims the other five (8 in all)');
SELECT is((SELECT count(*)::int FROM crm.claim_journey_messages(100, 'w3')), 0, 'nothing left to claim');
SELECT is((SELECT count(*)::int FROM crm.claim_journey_messages(100, 'w3', '1 microsecond')), 8,
          'claims older than stale_after are taken over');
SELECT throws_ok($$SELECT crm.finish_journey_message(NULL, true)$$, '22004', NULL, 'finish: NULL message');
SELECT lives_ok($$SELECT crm.finish_journey_message((SELECT min(message_id) FROM crm.journey_outbox), true)$$, 'finish: sent');
SELECT throws_ok($$SELECT crm.finish_journey_message((SELECT min(message_id) FROM crm.journey_outbox), false, 'x')$$, '55000', NULL,
                 'a message already sent cannot be finished again');
SELECT throws_ok($$SELECT * FROM crm.claim_journey_messages(NULL)$$, '22023', NULL, 'claim: NULL batch');

SELECT * FROM finish();
ROLLBACK;
