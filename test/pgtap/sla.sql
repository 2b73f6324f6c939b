-- pgTAP: SLA policies and the SLA state of tickets. Every expected due time and consumed time is
-- derived by hand in the comments, on one calendar: Monday to Friday 09:00-12:00 and 13:00-17:00 in
-- Europe/Berlin (7 business hours a day, a lunch break), closed on Tuesday 31 March 2026. Berlin
-- moves to summer time (UTC+2) on Sunday 29 March 2026 and back to UTC+1 on Sunday 25 October 2026.
-- The consumed time of one ticket is also checked by brute force, minute by minute, against its
-- status history and an independent reading of the calendar. Changes are dated by setting
-- updated_at explicitly (the instant the SLA clock takes for a change).
BEGIN;
SELECT plan(74);
SET LOCAL TimeZone = 'UTC';

INSERT INTO crm.business_calendars (calendar_id, name, time_zone) VALUES (801, 'sla Berlin', 'Europe/Berlin');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes)
SELECT 801, d, o, c FROM generate_series(1, 5) d, (VALUES ('09:00'::time, '12:00'::time), ('13:00', '17:00')) h(o, c);
INSERT INTO crm.business_holidays (calendar_id, day) VALUES (801, '2026-03-31');

CREATE ROLE sla_sam; CREATE ROLE sla_ana; CREATE ROLE sla_bob; CREATE ROLE sla_al;
GRANT crm_support TO sla_sam; GRANT crm_sales TO sla_ana, sla_bob; GRANT crm_analyst TO sla_al;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (801, 'sla_sam', 'Sam', 'sam@sla.example', 'support', 'care'),
    (802, 'sla_ana', 'Ana', 'ana@sla.example', 'sales', 'west'),
    (803, 'sla_bob', 'Bob', 'bob@sla.example', 'sales', 'east'),
    (804, 'sla_al', 'Al', 'al@sla.example', 'analyst', NULL);
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES (801, 'Plain', 802), (802, 'Vip', 803), (803, 'Other', 803);
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (801, 'SLA-1', 'Router', 10);
INSERT INTO crm.segments (segment_id, name) VALUES (801, 'sla VIP');
INSERT INTO crm.segment_members (segment_id, contact_id, entered_at) VALUES (801, 802, '2026-01-01');

DELETE FROM crm.sla_policies;
INSERT INTO crm.sla_policies (policy_id, name, position, active, priorities, channels, segment_id, product_ids,
                              calendar_id, first_response_target, next_response_target, resolution_target) VALUES
    (800, 'inactive catch-all', 1, false, NULL, NULL, NULL, NULL, 801, '1 minute', NULL, NULL),
    (805, 'urgent by phone', 5, true, '{urgent}', '{phone}', NULL, NULL, 801, '30 minutes', NULL, '2 hours'),
    (810, 'urgent', 10, true, '{urgent}', NULL, NULL, NULL, 801, '1 hour', '2 hours', '4 hours'),
    (812, 'high', 12, true, '{high}', NULL, NULL, NULL, 801, '3 hours', '4 hours', '8 hours'),
    (815, 'router', 15, true, NULL, NULL, NULL, '{801}', 801, '90 minutes', NULL, NULL),
    (820, 'vip', 20, true, NULL, NULL, 801, NULL, 801, '2 hours', '4 hours', '16 hours'),
    (899, 'default', 100, true, NULL, NULL, NULL, NULL, 801, '4 hours', '8 hours', '24 hours');

-- ---------------------------------------------------------------------------------------------
-- Matching order: lowest position among the active policies whose every condition holds.
SELECT is(crm.sla_pick_policy('urgent', 'phone', 801, NULL), 805::bigint, 'urgent by phone: position 5 before urgent (10); the inactive catch-all (1) is skipped');
SELECT is(crm.sla_pick_policy('urgent', 'email', 802, NULL), 810::bigint, 'urgent email of a VIP: urgent (10) before vip (20)');
SELECT is(crm.sla_pick_policy('normal', 'email', 802, NULL), 820::bigint, 'normal email of a VIP contact: the segment policy');
SELECT is(crm.sla_pick_policy('normal', 'email', 801, NULL), 899::bigint, 'normal email of a plain contact: the default');
SELECT is(crm.sla_pick_policy('normal', 'email', 802, 801), 815::bigint, 'a router ticket of a VIP: router (15) before vip (20)');
SELECT is(crm.sla_pick_policy(NULL, NULL, NULL, NULL), 899::bigint, 'all NULL: only a policy without conditions matches');
SELECT is(crm.sla_pick_policy('high', NULL, NULL, NULL), 812::bigint, 'NULL channel still meets a policy with no channel condition');
UPDATE crm.sla_policies SET active = false WHERE policy_id = 899;
SELECT is(crm.sla_pick_policy('normal', 'email', 801, NULL), NULL::bigint, 'no active policy matches: NULL');
UPDATE crm.sla_policies SET active = true WHERE policy_id = 899;

-- ---------------------------------------------------------------------------------------------
-- Ticket A: default policy (first response 4 h, next response 8 h, resolution 24 h), opened Friday
-- 27 March 2026 16:30 CET = 15:30 UTC.
--   first response due: Fri 16:30-17:00 (0.5 h), weekend and spring-forward night, Mon 30 March
--     (now CEST) 09:00-12:00 (3 h: 3.5 h), lunch, 13:00-13:30 (4 h) -> Mon 13:30 CEST = 11:30 UTC
--   resolution due: Fri 0.5 h, Mon 7 h (7.5), Tue 31 holiday, Wed 7 h (14.5), Thu 7 h (21.5),
--     Fri 3 April 09:00-11:30 (24 h) -> Fri 3 April 11:30 CEST = 09:30 UTC
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, opened_at)
VALUES (801, 801, 'A', 'email', '2026-03-27 15:30+00');
SELECT results_eq($$SELECT policy_id, first_response_due, first_response_state, resolution_due, resolution_state,
                           elapsed, paused, next_response_state FROM crm.ticket_slas WHERE ticket_id = 801$$,
                  $$VALUES (899::bigint, '2026-03-30 11:30+00'::timestamptz, 'pending', '2026-04-03 09:30+00'::timestamptz,
                            'pending', '0'::interval, '0'::interval, NULL::text)$$,
                  'A opened: default policy, due times across the weekend, the clock change, the lunch break and the holiday');
SELECT is((SELECT first_response_state FROM crm.ticket_sla('2026-03-30 11:30+00') WHERE ticket_id = 801), 'pending',
          'A at its first-response due instant: still pending (4 h consumed, not more)');
SELECT is((SELECT first_response_consumed FROM crm.ticket_sla('2026-03-30 11:30+00') WHERE ticket_id = 801), '04:00:00'::interval,
          'A at its first-response due instant: 4 h consumed');
SELECT is((SELECT first_response_state FROM crm.ticket_sla('2026-03-30 11:30:01+00') WHERE ticket_id = 801), 'breached',
          'A one second after: breached');

-- First response Monday 10:00 CEST (08:00 UTC): consumed 0.5 + 1 = 1.5 h <= 4 h: met.
UPDATE crm.tickets SET first_response_at = '2026-03-30 08:00+00', updated_at = '2026-03-30 08:00+00' WHERE ticket_id = 801;
SELECT results_eq($$SELECT first_response_state, elapsed, agent_replies FROM crm.ticket_slas WHERE ticket_id = 801$$,
                  $$VALUES ('met', '01:30:00'::interval, 1)$$, 'A answered Monday 10:00 CEST: met, 1.5 h consumed');

-- Waiting on the customer from Monday 14:00 CEST (12:00 UTC): consumed 0.5 + 3 + 1 = 4.5 h; the
-- resolution clock stands, so no due time.
UPDATE crm.tickets SET status = 'pending', updated_at = '2026-03-30 12:00+00' WHERE ticket_id = 801;
SELECT results_eq($$SELECT elapsed, paused, resolution_due, resolution_state FROM crm.ticket_slas WHERE ticket_id = 801$$,
                  $$VALUES ('04:30:00'::interval, '0'::interval, NULL::timestamptz, 'pending')$$,
                  'A pending: 4.5 h consumed, resolution due unknown while paused');
SELECT results_eq($$SELECT consumed, paused, running FROM crm.ticket_sla('2026-03-31 12:00+00') WHERE ticket_id = 801$$,
                  $$VALUES ('04:30:00'::interval, '03:00:00'::interval, false)$$,
                  'A paused, read on the holiday: consumed stands, paused Mon 14:00-17:00 = 3 h');

-- The customer answers and the ticket reopens Wednesday 1 April 10:00 CEST (08:00 UTC). Paused:
-- Mon 14:00-17:00 (3 h), Tue holiday, Wed 09:00-10:00 (1 h) = 4 h. The customer's reply opens a
-- next-response cycle at 4.5 h consumed: due 8 h later, Wed 10:00-12:00 (2), 13:00-17:00 (6), Thu
-- 2 April 09:00-11:00 (8) -> Thu 11:00 CEST = 09:00 UTC. Resolution: 19.5 h left from Wed 10:00:
-- Wed 6 h, Thu 7 h (13), Fri 09:00-12:00 (16), 13:00-16:30 (19.5) -> Fri 3 April 16:30 CEST =
-- 14:30 UTC (the first due time, 11:30 CEST, pushed by the 4 h paused).
UPDATE crm.tickets SET status = 'open', last_customer_reply_at = '2026-04-01 08:00+00', updated_at = '2026-04-01 08:00+00'
WHERE ticket_id = 801;
SELECT results_eq($$SELECT elapsed, paused, next_response_state, next_response_started, next_response_due,
                           resolution_due, customer_replies FROM crm.ticket_slas WHERE ticket_id = 801$$,
                  $$VALUES ('04:30:00'::interval, '04:00:00'::interval, 'pending', '04:30:00'::interval,
                            '2026-04-02 09:00+00'::timestamptz, '2026-04-03 14:30+00'::timestamptz, 1)$$,
                  'A reopened by the customer: 4 h paused, next response due Thu 11:00 CEST, resolution Fri 16:30 CEST');

-- Agent reply Thursday 10:30 CEST (08:30 UTC): the cycle consumed Wed 6 h + Thu 1.5 h = 7.5 h <= 8 h.
UPDATE crm.tickets SET last_agent_reply_at = '2026-04-02 08:30+00', updated_at = '2026-04-02 08:30+00' WHERE ticket_id = 801;
SELECT results_eq($$SELECT next_response_state, next_responses_met, next_responses_breached, next_response_due, agent_replies
                    FROM crm.ticket_slas WHERE ticket_id = 801$$,
                  $$VALUES ('met', 1, 0, NULL::timestamptz, 2)$$, 'A next response met (7.5 h of 8)');

-- Resolved Friday 3 April 10:00 CEST (08:00 UTC): 4.5 + 6 + 7 + 1 = 18.5 h <= 24 h: met.
UPDATE crm.tickets SET status = 'resolved', resolved_at = '2026-04-03 08:00+00', updated_at = '2026-04-03 08:00+00'
WHERE ticket_id = 801;
SELECT results_eq($$SELECT resolution_state, elapsed, paused FROM crm.ticket_slas WHERE ticket_id = 801$$,
                  $$VALUES ('met', '18:30:00'::interval, '04:00:00'::interval)$$, 'A resolved: met at 18.5 h, 4 h paused');
SELECT is((SELECT consumed FROM crm.ticket_sla('2026-04-10 00:00+00') WHERE ticket_id = 801), '18:30:00'::interval,
          'A resolved: the clock stands');

-- Reopened Friday 12:00 CEST (10:00 UTC): the clock stood while resolved; 5.5 h left: Fri
-- 13:00-17:00 (4), Mon 6 April 09:00-10:30 (5.5) -> 10:30 CEST = 08:30 UTC.
UPDATE crm.tickets SET status = 'open', resolved_at = NULL, updated_at = '2026-04-03 10:00+00' WHERE ticket_id = 801;
SELECT results_eq($$SELECT resolution_state, resolution_due, reopened, elapsed FROM crm.ticket_slas WHERE ticket_id = 801$$,
                  $$VALUES ('pending', '2026-04-06 08:30+00'::timestamptz, 1, '18:30:00'::interval)$$,
                  'A reopened after resolution: pending again, 5.5 h left, reopened once');

SELECT results_eq($$SELECT from_status, to_status, changed_at FROM crm.ticket_status_history WHERE ticket_id = 801 ORDER BY changed_at$$,
                  $$VALUES (NULL, 'new', '2026-03-27 15:30+00'::timestamptz), ('new', 'pending', '2026-03-30 12:00+00'),
                           ('pending', 'open', '2026-04-01 08:00+00'), ('open', 'resolved', '2026-04-03 08:00+00'),
                           ('resolved', 'open', '2026-04-03 10:00+00')$$,
                  'A status history: every change at the instant the clock took');

-- Brute force: every minute from the opening to Monday 6 April 10:00 UTC, open by the calendar
-- (read here as local weekday and time of day in Berlin, not a holiday) and in a running status by
-- the history (not pending, resolved or closed), counted.
CREATE FUNCTION pg_temp.bf_open(m timestamptz) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT extract(isodow FROM l) BETWEEN 1 AND 5 AND l::date <> '2026-03-31'
       AND (l::time >= '09:00' AND l::time < '12:00' OR l::time >= '13:00' AND l::time < '17:00')
    FROM (SELECT m AT TIME ZONE 'Europe/Berlin' AS l) s $$;
CREATE FUNCTION pg_temp.bf_status(ticket bigint, m timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_status FROM crm.ticket_status_history WHERE ticket_id = ticket AND changed_at <= m
    ORDER BY changed_at DESC, history_id DESC LIMIT 1 $$;
SELECT is((SELECT count(*) * interval '1 minute' FROM generate_series(timestamptz '2026-03-27 15:30+00', '2026-04-06 09:59+00', '1 minute') m
           WHERE pg_temp.bf_open(m) AND pg_temp.bf_status(801, m) NOT IN ('pending', 'resolved', 'closed')),
          (SELECT consumed FROM crm.ticket_sla('2026-04-06 10:00+00') WHERE ticket_id = 801),
          'A: consumed time at Monday 6 April 12:00 CEST equals the brute-force count of running open minutes');
SELECT is((SELECT count(*) * interval '1 minute' FROM generate_series(timestamptz '2026-03-27 15:30+00', '2026-04-06 09:59+00', '1 minute') m
           WHERE pg_temp.bf_open(m) AND pg_temp.bf_status(801, m) = 'pending'),
          (SELECT paused FROM crm.ticket_sla('2026-04-06 10:00+00') WHERE ticket_id = 801),
          'A: paused time equals the brute-force count of pending open minutes');
SELECT is((SELECT running FROM crm.sla_recount(801, 801, '{pending}', '2026-03-27 15:30+00', '2026-04-06 10:00+00', 'new')),
          (SELECT consumed FROM crm.ticket_sla('2026-04-06 10:00+00') WHERE ticket_id = 801),
          'A: the recount from the history agrees with the stored state moved on');

-- ---------------------------------------------------------------------------------------------
-- Ticket B: a priority change mid-way keeps the time consumed. Opened Friday 23 October 2026
-- 16:00 CEST (14:00 UTC), normal: default policy. First response due 4 h: Fri 16:00-17:00 (1),
-- the fall-back weekend, Mon 26 October (CET, UTC+1) 09:00-12:00 (4) -> 12:00 CET = 11:00 UTC.
-- Resolution 24 h: Fri 1, Mon 7 (8), Tue 7 (15), Wed 7 (22), Thu 29 October 09:00-11:00 (24) ->
-- 11:00 CET = 10:00 UTC.
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, opened_at)
VALUES (802, 801, 'B', 'email', '2026-10-23 14:00+00');
SELECT results_eq($$SELECT policy_id, first_response_due, resolution_due FROM crm.ticket_slas WHERE ticket_id = 802$$,
                  $$VALUES (899::bigint, '2026-10-26 11:00+00'::timestamptz, '2026-10-29 10:00+00'::timestamptz)$$,
                  'B opened: due times across the autumn clock change');
-- Raised to high Monday 10:00 CET (09:00 UTC), 2 h consumed. Policy high: first response 3 h
-- (1 h left: 11:00 CET = 10:00 UTC), resolution 8 h (6 h left: 10:00-12:00, 13:00-17:00 ->
-- 17:00 CET = 16:00 UTC).
UPDATE crm.tickets SET priority = 'high', updated_at = '2026-10-26 09:00+00' WHERE ticket_id = 802;
SELECT results_eq($$SELECT policy_id, elapsed, first_response_due, first_response_state, resolution_due
                    FROM crm.ticket_slas WHERE ticket_id = 802$$,
                  $$VALUES (812::bigint, '02:00:00'::interval, '2026-10-26 10:00+00'::timestamptz, 'pending',
                            '2026-10-26 16:00+00'::timestamptz)$$,
                  'B raised to high: 2 h kept, due times from the new targets');
-- Answered 10:45 CET: 2.75 h <= 3 h.
UPDATE crm.tickets SET first_response_at = '2026-10-26 09:45+00', updated_at = '2026-10-26 09:45+00' WHERE ticket_id = 802;
SELECT is((SELECT first_response_state FROM crm.ticket_slas WHERE ticket_id = 802), 'met', 'B answered at 2.75 h of 3: met');
-- Raised to urgent at 12:00 CET (11:00 UTC), 4 h consumed: urgent's 4 h resolution is used up
-- exactly (due: this instant, still pending); one second later it is breached.
UPDATE crm.tickets SET priority = 'urgent', updated_at = '2026-10-26 11:00+00' WHERE ticket_id = 802;
SELECT results_eq($$SELECT policy_id, elapsed, resolution_due, resolution_state FROM crm.ticket_slas WHERE ticket_id = 802$$,
                  $$VALUES (810::bigint, '04:00:00'::interval, '2026-10-26 11:00+00'::timestamptz, 'pending')$$,
                  'B raised to urgent with its 4 h target used up: due now, pending');
-- 13:30 CET (12:30 UTC): 4.5 h > 4 h. The stored state moves to breached at the next change.
SELECT is((SELECT resolution_state FROM crm.ticket_sla('2026-10-26 12:30+00') WHERE ticket_id = 802), 'breached',
          'B after lunch: breached at query time');
UPDATE crm.tickets SET subject = 'B!', updated_at = '2026-10-26 12:30+00' WHERE ticket_id = 802;
SELECT results_eq($$SELECT resolution_state, resolution_due, elapsed FROM crm.ticket_slas WHERE ticket_id = 802$$,
                  $$VALUES ('breached', '2026-10-26 11:00+00'::timestamptz, '04:30:00'::interval)$$,
                  'B stored state breached at the next change, the due time kept');
-- Lowered back to normal at 14:30 CET (13:30 UTC): 4 h + 13:00-14:30 = 5.5 h of the default's
-- 24 h: pending again, 18.5 h left: Mon 14:30-17:00 (2.5), Tue 7 (9.5), Wed 7 (16.5), Thu
-- 09:00-11:00 (18.5) -> Thu 29 Oct 11:00 CET = 10:00 UTC, the first due time (the time consumed
-- is the same as if it had stayed normal).
UPDATE crm.tickets SET priority = 'normal', updated_at = '2026-10-26 13:30+00' WHERE ticket_id = 802;
SELECT results_eq($$SELECT policy_id, resolution_state, resolution_due, first_response_state FROM crm.ticket_slas WHERE ticket_id = 802$$,
                  $$VALUES (899::bigint, 'pending', '2026-10-29 10:00+00'::timestamptz, 'met')$$,
                  'B lowered to normal: pending, due as first computed; the first response stays met');

-- ---------------------------------------------------------------------------------------------
-- Ticket C: urgent, opened Monday 2 March 2026 09:00 CET (08:00 UTC): first response due 1 h ->
-- 09:00 UTC; answered 09:30 UTC: breached.
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, priority, opened_at)
VALUES (803, 801, 'C', 'chat', 'urgent', '2026-03-02 08:00+00');
SELECT is((SELECT first_response_due FROM crm.ticket_slas WHERE ticket_id = 803), '2026-03-02 09:00+00'::timestamptz, 'C first response due 1 h later');
UPDATE crm.tickets SET first_response_at = '2026-03-02 09:30+00', updated_at = '2026-03-02 09:30+00' WHERE ticket_id = 803;
SELECT is((SELECT first_response_state FROM crm.ticket_slas WHERE ticket_id = 803), 'breached', 'C answered 30 min late: breached');
-- A next response answered late: customer reply 10:00 UTC (11:00 CET), agent 13:00 UTC (14:00 CET):
-- 11:00-12:00 (1) + 13:00-14:00 (2): 2 h, met exactly at the due time (13:00 UTC).
UPDATE crm.tickets SET last_customer_reply_at = '2026-03-02 10:00+00', updated_at = '2026-03-02 10:00+00' WHERE ticket_id = 803;
SELECT is((SELECT next_response_due FROM crm.ticket_slas WHERE ticket_id = 803), '2026-03-02 13:00+00'::timestamptz, 'C next response due 2 h later, over lunch');
UPDATE crm.tickets SET last_agent_reply_at = '2026-03-02 13:00+00', updated_at = '2026-03-02 13:00+00' WHERE ticket_id = 803;
SELECT results_eq($$SELECT next_response_state, next_responses_met FROM crm.ticket_slas WHERE ticket_id = 803$$,
                  $$VALUES ('met', 1)$$, 'C next response at its due instant: met');
-- Second cycle: customer 13:30 UTC, agent 15:31 UTC: 2 h 1 min: breached.
UPDATE crm.tickets SET last_customer_reply_at = '2026-03-02 13:30+00', updated_at = '2026-03-02 13:30+00' WHERE ticket_id = 803;
UPDATE crm.tickets SET last_agent_reply_at = '2026-03-02 15:31+00', updated_at = '2026-03-02 15:40+00' WHERE ticket_id = 803;
SELECT results_eq($$SELECT next_response_state, next_responses_met, next_responses_breached, agent_replies, customer_replies
                    FROM crm.ticket_slas WHERE ticket_id = 803$$,
                  $$VALUES ('breached', 1, 1, 3, 2)$$, 'C second next response 1 min late: breached (measured at the reply, not the update)');

-- A reply in a paused status counts the time before the pause only. Ticket D, default policy,
-- opened Mon 2 March 09:00 CET, pending 10:00 CET, answered 15:00 CET while pending: 1 h: met.
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, opened_at) VALUES (804, 801, 'D', 'web', '2026-03-02 08:00+00');
UPDATE crm.tickets SET status = 'pending', updated_at = '2026-03-02 09:00+00' WHERE ticket_id = 804;
SELECT is((SELECT first_response_due FROM crm.ticket_slas WHERE ticket_id = 804), NULL::timestamptz, 'D pending: no first-response due time');
UPDATE crm.tickets SET first_response_at = '2026-03-02 14:00+00', updated_at = '2026-03-02 14:00+00' WHERE ticket_id = 804;
SELECT results_eq($$SELECT first_response_state, elapsed, paused FROM crm.ticket_slas WHERE ticket_id = 804$$,
                  $$VALUES ('met', '01:00:00'::interval, '04:00:00'::interval)$$,
                  'D answered while pending: met at 1 h; paused 10:00-12:00, 13:00-15:00 = 4 h');

-- A ticket no policy matches has no SLA; when a change makes one match, its time so far is counted
-- from the status history. Ticket E: policies other than urgent off; opened normal Mon 2 March
-- 09:00 CET, pending 10:00-11:00, raised to urgent 11:30 CET: consumed 1 h + 0.5 h = 1.5 h > 1 h.
UPDATE crm.sla_policies SET active = false WHERE policy_id IN (820, 899);
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, opened_at) VALUES (805, 801, 'E', 'web', '2026-03-02 08:00+00');
SELECT results_eq($$SELECT policy_id, first_response_state, resolution_state FROM crm.ticket_slas WHERE ticket_id = 805$$,
                  $$VALUES (NULL::bigint, NULL::text, NULL::text)$$, 'E matches no policy: no SLA state');
UPDATE crm.tickets SET status = 'pending', updated_at = '2026-03-02 09:00+00' WHERE ticket_id = 805;
UPDATE crm.tickets SET status = 'open', updated_at = '2026-03-02 10:00+00' WHERE ticket_id = 805;
UPDATE crm.tickets SET priority = 'urgent', updated_at = '2026-03-02 10:30+00' WHERE ticket_id = 805;
SELECT results_eq($$SELECT policy_id, elapsed, paused, first_response_state, first_response_due
                    FROM crm.ticket_slas WHERE ticket_id = 805$$,
                  $$VALUES (810::bigint, '01:30:00'::interval, '01:00:00'::interval, 'breached', '2026-03-02 10:30+00'::timestamptz)$$,
                  'E gets the urgent policy: 1.5 h counted from its history, first response breached at the change');
UPDATE crm.sla_policies SET active = true WHERE policy_id IN (820, 899);

-- NULLs: ticket_sla is strict; a pause-status list cannot hold resolved.
SELECT is_empty($$SELECT * FROM crm.ticket_sla(NULL)$$, 'ticket_sla(NULL): no rows (strict)');
SELECT throws_ok($$INSERT INTO crm.sla_policies (name, calendar_id, pause_statuses) VALUES ('bad', 801, '{resolved}')$$,
                 '23514', NULL, 'pause statuses are new, open or pending only');
SELECT throws_ok($$INSERT INTO crm.sla_policies (name, calendar_id, resolution_target) VALUES ('bad', 801, '1 month')$$,
                 '23514', NULL, 'a target in months is refused (no fixed length)');
SELECT throws_ok($$INSERT INTO crm.sla_policies (name, calendar_id, first_response_target) VALUES ('bad', 801, '-1 hour')$$,
                 '23514', NULL, 'a negative target is refused');
SELECT throws_ok($$INSERT INTO crm.sla_policies (name, calendar_id) VALUES ('bad', NULL)$$,
                 '23502', NULL, 'a policy needs a calendar');
SELECT throws_ok($$DELETE FROM crm.sla_policies WHERE policy_id = 899$$, '23503', NULL,
                 'a policy tickets use cannot be deleted (deactivate it instead)');

-- Any later change brings the state up to it (A at Mon 6 April 10:00 CEST: 18.5 h + Fri
-- 13:00-17:00 + Mon 09:00-10:00 = 23.5 h).
UPDATE crm.tickets SET subject = 'A!', updated_at = '2026-04-06 08:00+00' WHERE ticket_id = 801;
SELECT results_eq($$SELECT elapsed, resolution_state, policy_id FROM crm.ticket_slas WHERE ticket_id = 801$$,
                  $$VALUES ('23:30:00'::interval, 'pending', 899::bigint)$$, 'A brought up to an unrelated change: 23.5 h');

-- ---------------------------------------------------------------------------------------------
-- Compliance and backlog views.
SELECT results_eq($$SELECT tickets, first_response_met, first_response_breached, resolution_met, resolution_breached
                    FROM crm.sla_compliance WHERE grouped_by = 'period' AND period = '2026-03-01 00:00+00'$$,
                  $$VALUES (4::bigint, 2::bigint, 2::bigint, 0::bigint, 3::bigint)$$,
                  'compliance, March 2026 (read now, months later): first response met by A and D, breached by C and E; resolution overdue for A, C, E (D is paused at 1 h)');
SELECT results_eq($$SELECT tickets, first_response_met, next_response_met, next_response_breached
                    FROM crm.sla_compliance WHERE grouped_by = 'priority' AND period = '2026-03-01 00:00+00' AND priority = 'urgent'$$,
                  $$VALUES (2::bigint, 0::bigint, 1::bigint, 1::bigint)$$,
                  'compliance by priority: urgent in March are C and E, next responses of C one met and one breached');
UPDATE crm.tickets SET status = 'resolved', resolved_at = '2026-03-02 15:00+00', updated_at = '2026-03-02 15:00+00' WHERE ticket_id = 804;
SELECT results_eq($$SELECT first_contact_resolution_rate FROM crm.sla_compliance WHERE grouped_by = 'period' AND period = '2026-03-01 00:00+00'$$,
                  $$VALUES (1.0000::numeric)$$, 'first-contact resolution: D resolved after one reply, never reopened');
SELECT results_eq($$SELECT tickets, pending FROM crm.ticket_backlog WHERE priority = 'urgent' AND team IS NULL$$,
                  $$VALUES (2::bigint, 0::bigint)$$, 'backlog: the open urgent tickets (B was lowered)');

-- ---------------------------------------------------------------------------------------------
-- Roles. Support works the whole queue: a support agent's ticket for the VIP contact gets the VIP
-- policy although the agent cannot see segment memberships of a contact without tickets.
UPDATE crm.tickets SET assignee_id = 801 WHERE ticket_id = 801;
SET LOCAL ROLE sla_sam;
SELECT is((SELECT count(*)::int FROM crm.segment_members WHERE contact_id = 802), 0, 'support sees no membership of a contact without tickets');
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, opened_at) VALUES (806, 802, 'F', 'email', '2026-03-02 08:00+00');
SELECT is((SELECT policy_id FROM crm.ticket_slas WHERE ticket_id = 806), 820::bigint, 'support''s new ticket of a VIP: the VIP policy');
SELECT is((SELECT count(*)::int FROM crm.ticket_status_history WHERE ticket_id IN (801, 806)), 6, 'support reads the status history of the queue');
SELECT throws_ok($$INSERT INTO crm.ticket_status_history (ticket_id, to_status) VALUES (801, 'closed')$$, '42501', NULL,
                 'support cannot forge status history');
SELECT throws_ok($$UPDATE crm.sla_policies SET resolution_target = '100 hours'$$, '42501', NULL, 'support cannot change policies');
SELECT throws_ok($$UPDATE crm.ticket_slas SET elapsed = '0', first_response_state = 'met' WHERE ticket_id = 806$$, '42501', NULL,
                 'support cannot set the SLA state by hand');
SELECT ok((SELECT count(*) FROM crm.ticket_sla_now) >= 6, 'support reads the SLA state of the queue');
RESET ROLE;
SET LOCAL ROLE sla_ana;
SELECT results_eq($$SELECT DISTINCT ticket_id FROM crm.ticket_status_history ORDER BY 1$$,
                  $$VALUES (801::bigint), (802), (803), (804), (805)$$, 'a rep reads the history of the tickets of her contacts only');
SELECT results_eq($$SELECT ticket_id FROM crm.ticket_sla_now ORDER BY 1$$,
                  $$VALUES (801::bigint), (802), (803), (804), (805)$$, 'a rep reads the SLA state of the tickets of her contacts only');
SELECT throws_ok($$UPDATE crm.sla_policies SET position = 0$$, '42501', NULL, 'a rep cannot change policies');
SELECT is((SELECT count(*)::int FROM crm.sla_policies), 7, 'a rep reads the policies');
RESET ROLE;
SET LOCAL ROLE sla_bob;
SELECT results_eq($$SELECT DISTINCT ticket_id FROM crm.ticket_status_history ORDER BY 1$$, $$VALUES (806::bigint)$$,
                  'another rep: only his contact''s ticket');
RESET ROLE;
SET LOCAL ROLE sla_al;
SELECT is((SELECT count(*)::int FROM crm.ticket_status_history WHERE ticket_id BETWEEN 801 AND 806), 14, 'the analyst reads all the history');
SELECT throws_ok($$INSERT INTO crm.sla_policies (name, calendar_id) VALUES ('al', 801)$$, '42501', NULL, 'the analyst writes no policy');
SELECT lives_ok($$SELECT * FROM crm.sla_compliance$$, 'the analyst reads compliance');
RESET ROLE;
SELECT ok(NOT has_function_privilege('crm_support', 'crm.tickets_sla_track()', 'EXECUTE')
          AND NOT has_function_privilege('public', 'crm.tickets_sla_track()', 'EXECUTE')
          AND NOT has_function_privilege('public', 'crm.ticket_sla(timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'crm.sla_pick_policy(text,crm.channel,bigint,bigint)', 'EXECUTE'),
          'the trigger function and the SLA readers are not for PUBLIC');

-- Trigger guard: the trigger function runs as the extension's owner and refuses any other table;
-- staff cannot even attach it (no EXECUTE).
CREATE TEMP TABLE fake_tickets (LIKE crm.tickets INCLUDING DEFAULTS);
GRANT ALL ON fake_tickets TO PUBLIC;
SET LOCAL ROLE sla_sam;
SELECT throws_ok($$CREATE TRIGGER fake_sla AFTER INSERT ON fake_tickets FOR EACH ROW EXECUTE FUNCTION crm.tickets_sla_track()$$,
                 '42501', NULL, 'support cannot attach the SLA trigger function to a table of its own');
RESET ROLE;
CREATE TRIGGER fake_sla AFTER INSERT OR UPDATE ON fake_tickets FOR EACH ROW EXECUTE FUNCTION crm.tickets_sla_track();
SELECT throws_ok($$INSERT INTO fake_tickets (ticket_id, contact_id, subject, status, priority, channel, opened_at, created_at, updated_at)
                   VALUES (1, 801, 'x', 'new', 'normal', 'email', now(), now(), now())$$, '42501',
                 'trigger function tickets_sla_track() fires only on crm.tickets, not on pg_temp_' || (SELECT substr(nspname, 9) FROM pg_namespace WHERE oid = pg_my_temp_schema()) || '.fake_tickets',
                 'tickets_sla_track refuses another table (even attached by a superuser)');
SELECT is((SELECT count(*)::int FROM crm.ticket_slas WHERE ticket_id = 1), 0, 'and wrote nothing');

-- ---------------------------------------------------------------------------------------------
-- Brute force on random status histories (seeded): eight tickets opened between Thursday 26 and
-- Saturday 28 March 2026, six status changes each at random whole minutes up to 30 h apart (across
-- the weekend, the spring-forward night, the holiday, lunch breaks), every status drawn, resolved
-- ones with resolved_at. Their consumed and paused time at 8 April, moved on by crm.ticket_sla,
-- must equal the minute-by-minute count over the history with the calendar read independently.
SELECT setseed(0.17);
CREATE TEMP TABLE bf_tickets AS
SELECT 900 + k AS ticket_id, timestamptz '2026-03-26 00:00+00' + floor(random() * 2880) * interval '1 minute' AS opened_at
FROM generate_series(1, 8) k;
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, opened_at)
SELECT ticket_id, 801, 'bf', 'email', opened_at FROM bf_tickets;
DO $bf$
DECLARE
    t record;
    at timestamptz;
    st text;
BEGIN
    FOR t IN SELECT * FROM bf_tickets ORDER BY ticket_id LOOP
        at := t.opened_at;
        FOR k IN 1..6 LOOP
            at := at + (1 + floor(random() * 1800)) * interval '1 minute';
            st := (ARRAY['open', 'pending', 'resolved', 'new', 'closed'])[1 + floor(random() * 5)::int];
            UPDATE crm.tickets SET status = st, resolved_at = CASE WHEN st IN ('resolved', 'closed') THEN at END, updated_at = at
            WHERE ticket_id = t.ticket_id;
        END LOOP;
    END LOOP;
END
$bf$;
SELECT is((SELECT count(DISTINCT to_status)::int FROM crm.ticket_status_history WHERE ticket_id BETWEEN 901 AND 908), 5,
          'the random histories visit every status');
CREATE TEMP TABLE bf_count AS
SELECT b.ticket_id,
       count(*) FILTER (WHERE pg_temp.bf_status(b.ticket_id, m) NOT IN ('pending', 'resolved', 'closed')) * interval '1 minute' AS running,
       count(*) FILTER (WHERE pg_temp.bf_status(b.ticket_id, m) = 'pending') * interval '1 minute' AS paused
FROM bf_tickets b, generate_series(b.opened_at, timestamptz '2026-04-07 23:59+00', '1 minute') m
WHERE pg_temp.bf_open(m)
GROUP BY b.ticket_id;
SELECT is_empty($$SELECT b.ticket_id, b.running, s.consumed, b.paused, s.paused
                  FROM bf_count b JOIN crm.ticket_sla('2026-04-08 00:00+00') s USING (ticket_id)
                  WHERE (b.running, b.paused) IS DISTINCT FROM (s.consumed, s.paused)$$,
                'random histories: consumed and paused time equal the brute-force counts');
SELECT is((SELECT count(*)::int FROM bf_count b JOIN crm.ticket_sla('2026-04-08 00:00+00') s USING (ticket_id)), 8,
          'all eight compared');

-- Without an updated_at of its own, a change is dated clock_timestamp(): after the transaction's
-- start, at or before the statement's end; the SLA state is counted up to that instant.
UPDATE crm.tickets SET status = 'pending' WHERE ticket_id = 803;
SELECT ok((SELECT h.changed_at > now() AND h.changed_at <= clock_timestamp() AND h.changed_at = x.clock_at
           FROM crm.ticket_status_history h JOIN crm.ticket_slas x USING (ticket_id)
           WHERE h.ticket_id = 803 ORDER BY h.history_id DESC LIMIT 1),
          'an undated change is stamped with clock_timestamp(), in the history and the SLA state alike');

SELECT * FROM finish();
ROLLBACK;
