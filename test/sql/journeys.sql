-- Triggered journeys (src/journeys.sql, docs/journeys.md): a worked example. Three contacts sign
-- up in March 2026; a welcome journey, a recovery journey for NPS detractors and a win-back
-- journey entered through crm.journey_enqueue; crm.run_journeys is run at four instants (the
-- second repeats the first). Everything runs in one transaction, rolled back at the end.
--
-- The timeline (UTC) and what each run must do, derived by hand:
--   Ann  (7001): signup 03-01 10:00; e-mail consent since 02-01; first purchase 03-03 12:00;
--                enqueued into win-back 03-15 00:00 (and again 03-20 00:00); purchase 03-18 12:00.
--   Bob  (7002): signup 03-02 10:00; no consent at all; NPS 3 on 03-09 12:00 and 5 on 03-20 12:00.
--   Cid  (7003): signup 03-03 10:00; e-mail and SMS consent since 03-01; first purchase 03-08 09:00.
-- Welcome (entry signup, never again): 1 send e-mail welcome; 2 wait 3 days; 3 branch on a
--   first_purchase since entry: yes -> 10 (no such step: done), no -> 4; 4 send SMS discount;
--   5 wait for first_purchase, at most 7 days.
-- Recovery (entry detractor, always): 1 send e-mail sorry.
-- Win-back (enqueue only, again after 30 days, exit on purchase): 1 send e-mail we_miss_you;
--   2 wait 5 days; 3 send e-mail last_chance.
--
-- Run at 03-02 12:00: Ann enters welcome at 03-01 10:00, gets welcome (queued), waits until
--   03-04 10:00; Bob enters at 03-02 10:00, welcome skipped (no consent), waits until 03-05 10:00.
--   entered 2, steps 2, queued 1, skipped 1, completed 0, exited 0.
-- Run at 03-02 12:00 again: nothing. 0 0 0 0 0 0.
-- Run at 03-10 00:00: Ann waited (03-04 10:00), branch yes (first purchase 03-03 12:00): done at
--   03-04 10:00. Bob waited (03-05 10:00), branch no, SMS skipped, waits for a first purchase
--   until 03-12 10:00. Cid enters at 03-03 10:00: welcome queued, waited (03-06 10:00), branch no
--   (his purchase is 03-08), SMS discount queued (consent since 03-01), the awaited event at
--   03-08 09:00: done then. Bob's NPS 3 (03-09 12:00) enters recovery: sorry skipped, done.
--   entered 2, steps 2 + 3 + 5 + 1 = 11, queued 2, skipped 2, completed 3, exited 0.
-- Run at 03-25 00:00: Bob's wait times out at 03-12 10:00: done. Ann enters win-back at 03-15
--   00:00 (we_miss_you queued); her second request (03-20) is refused (still in it, and within
--   30 days); her purchase at 03-18 12:00 ends the 5-day wait early: exited then. Bob's NPS 5
--   (03-20 12:00) enters recovery a second time (always): skipped, done.
--   entered 2, steps 1 + 1 + 1 = 3, queued 1, skipped 1, completed 2, exited 1.
-- The outbox then holds 4 messages: Ann welcome (03-01 10:00), Cid welcome (03-03 10:00), Cid
-- discount by SMS (03-06 10:00), Ann we_miss_you (03-15 00:00).

SET timezone = 'UTC';

-- Errors first (they change nothing).
SELECT crm.run_journeys(NULL);
SELECT crm.run_journeys('infinity');
SELECT crm.run_journeys('2999-01-01 00:00+00');
SELECT crm.journey_event(NULL, 'signup');
SELECT crm.journey_event(1, 'Sign Up');
SELECT crm.journey_event(1, 'enqueued');
SELECT crm.journey_enqueue(999999, 1);
SELECT crm.claim_journey_messages(0);
SELECT crm.finish_journey_message(999999, true);

BEGIN;
INSERT INTO crm.contacts (contact_id, first_name, email, created_at) VALUES
    (7001, 'Ann', 'ann@journeys.example', '2026-03-01 10:00+00'),
    (7002, 'Bob', 'bob@journeys.example', '2026-03-02 10:00+00'),
    (7003, 'Cid', 'cid@journeys.example', '2026-03-03 10:00+00');
INSERT INTO crm.consent_history (contact_id, purpose, granted, source, effective_at) VALUES
    (7001, 'marketing_email', true, 'web form', '2026-02-01 00:00+00'),
    (7003, 'marketing_email', true, 'web form', '2026-03-01 00:00+00'),
    (7003, 'marketing_sms', true, 'web form', '2026-03-01 00:00+00');
INSERT INTO crm.orders (contact_id, ordered_at, status) VALUES
    (7001, '2026-03-03 12:00+00', 'paid'),
    (7003, '2026-03-08 09:00+00', 'pending');
UPDATE crm.orders SET status = 'paid' WHERE contact_id = 7003;
INSERT INTO crm.orders (contact_id, ordered_at, status) VALUES (7001, '2026-03-18 12:00+00', 'paid');
INSERT INTO crm.survey_responses (contact_id, kind, score, responded_at) VALUES
    (7002, 'nps', 3, '2026-03-09 12:00+00'),
    (7002, 'nps', 5, '2026-03-20 12:00+00'),
    (7003, 'nps', 9, '2026-03-20 12:00+00');

-- The events the triggers recorded: signups, purchases, first purchases, detractors (the 9 is none).
SELECT contact_id, event, occurred_at FROM crm.journey_events WHERE contact_id BETWEEN 7001 AND 7003
ORDER BY occurred_at, event;

INSERT INTO crm.journeys (journey_id, name, entry_event, enroll_from) VALUES
    (71, 'Welcome', 'signup', '2026-01-01');
INSERT INTO crm.journey_steps (journey_id, position, kind, channel, template, wait_for, event, then_position, else_position) VALUES
    (71, 1, 'send', 'email', 'welcome', NULL, NULL, NULL, NULL),
    (71, 2, 'wait', NULL, NULL, '3 days', NULL, NULL, NULL),
    (71, 3, 'branch', NULL, NULL, NULL, 'first_purchase', 10, 4),
    (71, 4, 'send', 'sms', 'discount', NULL, NULL, NULL, NULL),
    (71, 5, 'wait_event', NULL, NULL, '7 days', 'first_purchase', NULL, NULL);
INSERT INTO crm.journeys (journey_id, name, entry_event, reentry, enroll_from) VALUES
    (72, 'Recovery', 'detractor', 'always', '2026-01-01');
INSERT INTO crm.journey_steps (journey_id, position, kind, channel, template, payload) VALUES
    (72, 1, 'send', 'email', 'sorry', '{"offer": "call back"}');
INSERT INTO crm.journeys (journey_id, name, entry_event, reentry, reentry_after, exit_event, enroll_from) VALUES
    (73, 'Win-back', NULL, 'after', '30 days', 'purchase', '2026-01-01');
INSERT INTO crm.journey_steps (journey_id, position, kind, channel, template, wait_for) VALUES
    (73, 1, 'send', 'email', 'we_miss_you', NULL),
    (73, 2, 'wait', NULL, NULL, '5 days'),
    (73, 3, 'send', 'email', 'last_chance', NULL);
-- An at-risk list (here: Ann, twice) enters win-back through the generic API.
SELECT crm.journey_enqueue(73, 7001, '2026-03-15 00:00+00') > 0 AS enqueued;
SELECT crm.journey_enqueue(73, 7001, '2026-03-20 00:00+00') > 0 AS enqueued;

SELECT * FROM crm.run_journeys('2026-03-02 12:00+00');
SELECT * FROM crm.run_journeys('2026-03-02 12:00+00');
SELECT * FROM crm.run_journeys('2026-03-10 00:00+00');
SELECT * FROM crm.run_journeys('2026-03-25 00:00+00');

-- Where everyone went.
SELECT j.name, e.contact_id, e.entry, e.entered_at, e.status, e.finished_at, e.exit_reason
FROM crm.journey_enrollments e JOIN crm.journeys j USING (journey_id)
ORDER BY e.journey_id, e.contact_id, e.entry;
SELECT j.name, l.contact_id, l.position, l.kind, l.outcome, l.at
FROM crm.journey_step_log l JOIN crm.journeys j USING (journey_id)
ORDER BY l.journey_id, l.contact_id, l.enrollment_id, l.position;

-- The outbox, as the sender finds it.
SELECT message_id - (SELECT min(message_id) FROM crm.journey_outbox) + 1 AS n, contact_id, channel, template,
       queued_at, payload - 'enrollment_id' AS payload, status
FROM crm.journey_outbox ORDER BY message_id;

-- The sender: claims two, sends one, fails the other; the next claim gets the two others.
SELECT contact_id, template, status, attempts, claimed_by FROM crm.claim_journey_messages(2, 'sender-1') ORDER BY message_id;
SELECT crm.finish_journey_message(min(message_id), true) FROM crm.journey_outbox;
SELECT crm.finish_journey_message(min(message_id) + 1, false, 'mailbox full') FROM crm.journey_outbox;
SELECT contact_id, template FROM crm.claim_journey_messages(10, 'sender-1') ORDER BY message_id;
SELECT status, count(*) FROM crm.journey_outbox GROUP BY status ORDER BY status;

-- The funnels.
SELECT journey, position, stage, contacts FROM crm.journey_funnel ORDER BY journey_id, position, stage;
ROLLBACK;
