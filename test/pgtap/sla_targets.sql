-- pgTAP: the first-response and resolution targets recounted in bulk from the status history
-- (crm.sla_recompute_targets, src/sla.c; the rule in docs/sla.md). Part 1: tickets, SLA rows and
-- history written directly (triggers off), every expected value derived by hand in the comments.
-- Part 2: tickets driven through the trigger, the recount equal to crm.ticket_sla; and where the
-- two are known to differ (an import answered at insert).
--   Calendar 861: Monday to Friday 09:00-12:00 and 13:00-17:00, Europe/Berlin (CET, UTC+1, in
--   early March 2026). Every ticket of part 1 opens Monday 2 March 2026 08:00 UTC (09:00 CET).
--   Policy 861: calendar 861, first response 2 h, resolution 8 h, pauses in pending.
--   Policy 862: calendar 861, no targets (NULL).
-- Notation below: times in CET; "bt" = business time, "add(x, d)" = crm.business_add(861, x, d).
BEGIN;
SELECT plan(16);
SET LOCAL TimeZone = 'UTC';

INSERT INTO crm.business_calendars (calendar_id, name, time_zone) VALUES (861, 'targets Berlin', 'Europe/Berlin');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes)
SELECT 861, d, o, c FROM generate_series(1, 5) d, (VALUES ('09:00'::time, '12:00'::time), ('13:00', '17:00')) h(o, c);
INSERT INTO crm.sla_policies (policy_id, name, active, calendar_id, first_response_target, resolution_target, pause_statuses) VALUES
    (861, 'targets office', false, 861, '2 hours', '8 hours', '{pending}'),
    (862, 'targets none', false, 861, NULL, NULL, '{pending}');

CREATE ROLE sla_t_rep; CREATE ROLE sla_t_agent;
GRANT crm_sales TO sla_t_rep; GRANT crm_support TO sla_t_agent;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (861, 'sla_t_rep', 'Rep', 'rep@targets.example', 'sales', 'west'),
    (862, 'sla_t_agent', 'Agent', 'agent@targets.example', 'support', 'care');
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES (861, 'Owned', 861), (862, 'Other', NULL);

SET LOCAL session_replication_role = replica;
INSERT INTO crm.tickets (ticket_id, contact_id, subject, status, channel, opened_at, first_response_at, resolved_at) VALUES
    (861, 861, 'A', 'resolved', 'email', '2026-03-02 08:00+00', '2026-03-02 09:30+00', '2026-03-02 14:00+00'),
    (862, 861, 'B', 'open',     'email', '2026-03-02 08:00+00', NULL, NULL),
    (863, 861, 'C', 'open',     'email', '2026-03-02 08:00+00', NULL, NULL),
    (864, 861, 'D', 'pending',  'email', '2026-03-02 08:00+00', '2026-03-02 08:30+00', NULL),
    (865, 862, 'E', 'open',     'email', '2026-03-02 08:00+00', NULL, NULL),
    (866, 862, 'F', 'pending',  'email', '2026-03-02 08:00+00', '2026-03-02 14:00+00', NULL),
    (867, 862, 'G', 'pending',  'email', '2026-03-02 08:00+00', '2026-03-02 10:00+00', NULL),
    (868, 862, 'H', 'closed',   'email', '2026-03-02 08:00+00', NULL, '2026-03-02 16:00+00'),
    (869, 862, 'I', 'resolved', 'email', '2026-03-02 08:00+00', NULL, '2026-03-02 10:00+00'),
    (870, 862, 'J', 'resolved', 'email', '2026-03-02 08:00+00', NULL, '2026-03-03 13:00+00'),
    (871, 862, 'K', 'open',     'email', '2026-03-02 08:00+00', NULL, NULL);
INSERT INTO crm.ticket_slas (ticket_id, policy_id, calendar_id, clock_at)
SELECT ticket_id, CASE WHEN ticket_id = 865 THEN 862 ELSE 861 END, 861, opened_at FROM crm.tickets WHERE ticket_id BETWEEN 861 AND 871;
INSERT INTO crm.ticket_status_history (ticket_id, from_status, to_status, changed_at) VALUES
    (861, NULL, 'new', '2026-03-02 08:00+00'), (861, 'new', 'open', '2026-03-02 09:00+00'),
    (861, 'open', 'pending', '2026-03-02 10:00+00'), (861, 'pending', 'open', '2026-03-02 12:00+00'),
    (861, 'open', 'resolved', '2026-03-02 14:00+00'),
    (862, NULL, 'open', '2026-03-02 08:00+00'),
    (863, NULL, 'open', '2026-03-02 08:00+00'), (863, 'open', 'pending', '2026-03-02 09:00+00'),
    (863, 'pending', 'open', '2026-03-02 13:00+00'),
    (864, NULL, 'open', '2026-03-02 08:00+00'), (864, 'open', 'pending', '2026-03-02 10:00+00'),
    (865, NULL, 'open', '2026-03-02 08:00+00'),
    (866, NULL, 'open', '2026-03-02 08:00+00'), (866, 'open', 'pending', '2026-03-02 11:00+00'),
    (867, NULL, 'open', '2026-03-02 08:00+00'), (867, 'open', 'pending', '2026-03-02 09:00+00'),
    (868, NULL, 'open', '2026-03-02 08:00+00'), (868, 'open', 'resolved', '2026-03-02 09:00+00'),
    (868, 'resolved', 'open', '2026-03-02 12:00+00'), (868, 'open', 'closed', '2026-03-02 16:00+00'),
    (869, NULL, 'open', '2026-03-02 08:00+00'), (869, 'open', 'resolved', '2026-03-02 12:00+00'),
    (870, NULL, 'open', '2026-03-02 08:00+00'), (870, 'open', 'resolved', '2026-03-03 13:00+00'),
    (871, NULL, 'open', '2026-03-02 08:00+00'), (871, 'open', 'resolved', '2026-03-02 09:00+00'),
    (871, 'resolved', 'open', '2026-03-02 12:00+00');
RESET session_replication_role;

-- At Tuesday 3 March 2026 08:00 UTC (09:00 CET):
-- A (861): new 09-10 (1 h), open 10-11 (1 h), pending 11-13 (paused: 11-12, 1 h), open 13-15
--   (2 h), resolved at 15:00. Running 4 h, paused 1 h.
--   First response at 10:30, in the open spell: consumed 1.5 h <= 2 h, met; the clock ran there:
--   due add(Mon 10:30, 0.5 h) = Mon 11:00 CET = 10:00 UTC.
--   Resolution: the change into resolved at 15:00 (resolved_at the same, previous change 13:00):
--   consumed 4 h <= 8 h, met; the spell ending there (open) ran: due add(Mon 15:00, 4 h) = Mon
--   15-17 + Tue 09-11 = Tue 11:00 CET = 10:00 UTC.
-- B (862): open from Mon 09:00 on, running at the instant: consumed 7 h (Monday).
--   First response not given: 7 h > 2 h, breached; reached in the open spell from Mon 09:00 (0
--   consumed there): due add(Mon 09:00, 2 h) = 11:00 CET = 10:00 UTC — a breach in a running spell.
--   Resolution: 7 h < 8 h, pending; running: due add(Tue 09:00, 1 h) = Tue 10:00 CET = 09:00 UTC.
-- C (863): open 09-10 (1 h), pending 10-14 (paused 10-12 and 13-14: 3 h), open from 14:00 (14-17:
--   3 h). Running 4 h, paused 3 h. First response: 4 h > 2 h, breached, crossed in the open spell
--   after the pause (from Mon 14:00, 1 h consumed there): add(Mon 14:00, 1 h) = 15:00 CET = 14:00
--   UTC. Resolution: 4 h, pending, running: add(Tue 09:00, 4 h) = Tue 09-12 + 13-14 = Tue 14:00
--   CET = 13:00 UTC.
-- D (864): open 09-11 (2 h), pending from 11:00 (paused 11-12, 13-17: 5 h). First response at
--   09:30: 0.5 h, met, running there: add(Mon 09:30, 1.5 h) = 11:00 CET = 10:00 UTC. Resolution:
--   2 h, pending, and the clock stands at the instant (pending): no due time.
-- E (865): policy 862 without targets: running 7 h, every target column NULL.
-- F (866): open 09-12 (3 h), pending from 12:00 (13-17: 4 h paused). First response at 15:00,
--   while pending: consumed 3 h > 2 h, breached; due where it was crossed: add(Mon 09:00, 2 h) =
--   10:00 UTC. Resolution: 3 h, pending, standing: NULL.
-- G (867): open 09-10 (1 h), pending from 10:00 (10-12, 13-17: 6 h). First response at 11:00,
--   while pending: 1 h, met; the clock stood then: no due time. Resolution: 1 h, pending, NULL.
-- H (868): open 09-10 (1 h), resolved 10-13, open 13-17 (4 h), closed at 17:00 (resolved_at the
--   same). Running 5 h. First response never given: 5 h > 2 h, breached; crossed in the open spell
--   from 13:00 (1 h there): add(Mon 13:00, 1 h) = 14:00 CET = 13:00 UTC. Resolution: the last
--   change into resolved/closed, at 17:00 (previous change 13:00): 5 h <= 8 h, met; the open spell
--   ran: add(Mon 17:00, 3 h) = Tue 12:00 CET = 11:00 UTC.
-- I (869): open 09-13 (3 h), resolved at 13:00 with resolved_at 11:00 (CET): measured at
--   greatest(least(11:00, 13:00), 09:00) = 11:00: 2 h <= 8 h, met; due add(Mon 11:00, 6 h) = Mon
--   11-12, 13-17, Tue 09-10 = Tue 10:00 CET = 09:00 UTC. First response: 3 h, breached, due
--   add(Mon 09:00, 2 h) = 10:00 UTC.
-- J (870): open from Mon 09:00, resolved Tue 14:00 CET, after the instant. First response: 7 h,
--   breached, due 10:00 UTC Monday. Resolution: resolved now, but by a change after the instant,
--   so not stopped at it: 7 h < 8 h, pending; open at the instant: add(Tue 09:00, 1 h) = 09:00 UTC.
-- K (871): open 09-10 (1 h), resolved 10-13, reopened (open) 13-17 (4 h): 5 h, open now.
--   First response: breached, crossed in the spell from 13:00 (1 h there): 13:00 UTC. Resolution:
--   not stopped (open now): 5 h, pending, running: add(Tue 09:00, 3 h) = Tue 12:00 CET = 11:00 UTC.
SELECT results_eq(
    $$SELECT ticket_id, policy_id, running, paused,
             first_response_due, first_response_state, first_response_consumed,
             resolution_due, resolution_state, resolution_consumed
      FROM crm.sla_recompute_targets('2026-03-03 08:00+00') WHERE ticket_id BETWEEN 861 AND 871 ORDER BY ticket_id$$,
    $$VALUES
      (861::bigint, 861::bigint, interval '4 hours', interval '1 hour',
       timestamptz '2026-03-02 10:00+00', 'met', interval '90 minutes', timestamptz '2026-03-03 10:00+00', 'met', interval '4 hours'),
      (862, 861, '7 hours', '0', '2026-03-02 10:00+00', 'breached', '7 hours', '2026-03-03 09:00+00', 'pending', '7 hours'),
      (863, 861, '4 hours', '3 hours', '2026-03-02 14:00+00', 'breached', '4 hours', '2026-03-03 13:00+00', 'pending', '4 hours'),
      (864, 861, '2 hours', '5 hours', '2026-03-02 10:00+00', 'met', '30 minutes', NULL, 'pending', '2 hours'),
      (865, 862, '7 hours', '0', NULL, NULL, NULL, NULL, NULL, NULL),
      (866, 861, '3 hours', '4 hours', '2026-03-02 10:00+00', 'breached', '3 hours', NULL, 'pending', '3 hours'),
      (867, 861, '1 hour', '6 hours', NULL, 'met', '1 hour', NULL, 'pending', '1 hour'),
      (868, 861, '5 hours', '0', '2026-03-02 13:00+00', 'breached', '5 hours', '2026-03-03 11:00+00', 'met', '5 hours'),
      (869, 861, '3 hours', '0', '2026-03-02 10:00+00', 'breached', '3 hours', '2026-03-03 09:00+00', 'met', '2 hours'),
      (870, 861, '7 hours', '0', '2026-03-02 10:00+00', 'breached', '7 hours', '2026-03-03 09:00+00', 'pending', '7 hours'),
      (871, 861, '5 hours', '0', '2026-03-02 13:00+00', 'breached', '5 hours', '2026-03-03 11:00+00', 'pending', '5 hours')$$,
    'sla_recompute_targets: due times, states and consumed time of each target, derived by hand');

-- At Wednesday 4 March 08:00 UTC, J has been resolved (Tue 14:00 CET, measured there): Mon 7 h +
-- Tue 09-12, 13-14 = 11 h > 8 h, breached; the target was reached in the open spell from Mon 09:00:
-- add(Mon 09:00, 8 h) = Tue 10:00 CET = 09:00 UTC. A, resolved before, does not change.
SELECT results_eq(
    $$SELECT ticket_id, resolution_due, resolution_state, resolution_consumed
      FROM crm.sla_recompute_targets('2026-03-04 08:00+00') WHERE ticket_id IN (861, 870) ORDER BY ticket_id$$,
    $$VALUES (861::bigint, timestamptz '2026-03-03 10:00+00', 'met', interval '4 hours'),
             (870, '2026-03-03 09:00+00', 'breached', '11 hours')$$,
    'sla_recompute_targets: a resolution measured at its change once at is past it; breached, due where the target was reached');

-- Monday 10:15 UTC (11:15 CET): B consumed 2.25 h, the first response reached at 11:00 CET; the
-- resolution 2.25 h, running: add(Mon 11:15, 5.75 h) = 11:15-12, 13-17, Tue 09:00-10:00 = Tue
-- 10:00 CET = 09:00 UTC. A: its first response (10:30 CET) is before the instant; its resolution
-- (15:00 CET) after it, so not stopped: measured at the instant, in the pending spell (11-13):
-- 2 h, pending, no due time (the clock stands).
SELECT results_eq(
    $$SELECT ticket_id, first_response_due, first_response_state, first_response_consumed,
             resolution_due, resolution_state, resolution_consumed
      FROM crm.sla_recompute_targets('2026-03-02 10:15+00') WHERE ticket_id IN (861, 862) ORDER BY ticket_id$$,
    $$VALUES (861::bigint, timestamptz '2026-03-02 10:00+00', 'met', interval '90 minutes', NULL::timestamptz, 'pending', interval '2 hours'),
             (862, '2026-03-02 10:00+00', 'breached', '2 hours 15 minutes', '2026-03-03 09:00+00', 'pending', '2 hours 15 minutes')$$,
    'sla_recompute_targets at an earlier instant: a spell cut by it; a resolution after it does not stop the clock');

-- A first response after the instant does not stop its clock: D at Monday 08:15 UTC (09:15 CET,
-- answered at 09:30): 0.25 h, pending, running: add(09:15, 1.75 h) = 11:00 CET = 10:00 UTC.
SELECT results_eq(
    $$SELECT first_response_due, first_response_state, first_response_consumed
      FROM crm.sla_recompute_targets('2026-03-02 08:15+00') WHERE ticket_id = 864$$,
    $$VALUES (timestamptz '2026-03-02 10:00+00', 'pending', interval '15 minutes')$$,
    'sla_recompute_targets: a first response given after the instant is pending at it');

-- Before the tickets open (Sunday 1 March, 12:00 UTC): nothing consumed, nothing stopped (A's
-- answer and resolution come later); the clock starts running at the opening (new, open), so
-- the due times are add(Mon 09:00, 2 h) = 10:00 UTC and add(Mon 09:00, 8 h) = Mon 09-12, 13-17 (7 h)
-- and Tue 09-10 = Tue 10:00 CET = 09:00 UTC.
SELECT results_eq(
    $$SELECT ticket_id, first_response_due, first_response_state, first_response_consumed,
             resolution_due, resolution_state, resolution_consumed
      FROM crm.sla_recompute_targets('2026-03-01 12:00+00') WHERE ticket_id IN (861, 862) ORDER BY ticket_id$$,
    $$VALUES (861::bigint, timestamptz '2026-03-02 10:00+00', 'pending', interval '0', timestamptz '2026-03-03 09:00+00', 'pending', interval '0'),
             (862, '2026-03-02 10:00+00', 'pending', '0', '2026-03-03 09:00+00', 'pending', '0')$$,
    'sla_recompute_targets before a ticket opens: pending, due from the opening');

-- The clock columns are crm.sla_recompute's.
SELECT results_eq(
    $$SELECT ticket_id, policy_id, calendar_id, running, paused FROM crm.sla_recompute_targets('2026-03-03 08:00+00') ORDER BY 1$$,
    $$SELECT ticket_id, policy_id, calendar_id, running, paused FROM crm.sla_recompute('2026-03-03 08:00+00') ORDER BY 1$$,
    'sla_recompute_targets: running and paused equal crm.sla_recompute''s');

-- Roles: a rep sees the tickets of her contact only (A to D); a support agent the whole queue.
SET LOCAL ROLE sla_t_rep;
SELECT results_eq($$SELECT ticket_id FROM crm.sla_recompute_targets('2026-03-03 08:00+00') ORDER BY 1$$,
                  $$VALUES (861::bigint), (862), (863), (864)$$, 'a rep recounts only the tickets of her contacts');
SELECT results_eq($$SELECT resolution_due FROM crm.sla_recompute_targets('2026-03-03 08:00+00') WHERE ticket_id = 861$$,
                  $$VALUES (timestamptz '2026-03-03 10:00+00')$$, 'the same result for her as for the owner');
RESET ROLE;
SET LOCAL ROLE sla_t_agent;
SELECT is((SELECT count(*)::int FROM crm.sla_recompute_targets('2026-03-03 08:00+00') WHERE ticket_id BETWEEN 861 AND 871), 11,
          'a support agent recounts the whole queue');
RESET ROLE;
SELECT ok(NOT has_function_privilege('public', 'crm.sla_recompute_targets(timestamptz)', 'EXECUTE')
          AND has_function_privilege('crm_support', 'crm.sla_recompute_targets(timestamptz)', 'EXECUTE'),
          'sla_recompute_targets: staff only, not PUBLIC');
SELECT is((SELECT count(*)::int FROM crm.sla_recompute_targets(NULL)), 0, 'sla_recompute_targets(NULL): no rows (strict)');

-- Without the right to execute crm.business_add, no due time is computed: 42501, as a call would.
CREATE ROLE sla_t_noadd; GRANT crm_analyst TO sla_t_noadd;
REVOKE EXECUTE ON FUNCTION crm.business_add(bigint, timestamptz, interval) FROM crm_analyst;
SET LOCAL ROLE sla_t_noadd;
SELECT throws_ok($$SELECT * FROM crm.sla_recompute_targets('2026-03-03 08:00+00')$$, '42501', NULL,
                 'sla_recompute_targets checks EXECUTE on crm.business_add');
SELECT lives_ok($$SELECT * FROM crm.sla_recompute('2026-03-03 08:00+00')$$, 'sla_recompute does not need it');
RESET ROLE;
GRANT EXECUTE ON FUNCTION crm.business_add(bigint, timestamptz, interval) TO crm_analyst;

-- ---------------------------------------------------------------------------------------------
-- Part 2: tickets driven through the trigger under one policy, replies recorded live. The recount
-- equals the stored state moved to the instant (crm.ticket_sla) for every target.
INSERT INTO crm.sla_policies (policy_id, name, position, active, calendar_id, first_response_target, resolution_target, pause_statuses)
VALUES (863, 'targets live', 0, true, 861, '2 hours', '8 hours', '{pending}');
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, opened_at)
SELECT i, 862, 'live ' || i, 'email', '2026-03-02 08:00+00' FROM generate_series(881, 885) i;
-- 881: answered 10:30 CET, pending 11-13, resolved 15:00 (as A)
UPDATE crm.tickets SET status = 'open', first_response_at = '2026-03-02 09:30+00', updated_at = '2026-03-02 09:30+00' WHERE ticket_id = 881;
UPDATE crm.tickets SET status = 'pending', updated_at = '2026-03-02 10:00+00' WHERE ticket_id = 881;
UPDATE crm.tickets SET status = 'open', updated_at = '2026-03-02 12:00+00' WHERE ticket_id = 881;
UPDATE crm.tickets SET status = 'resolved', resolved_at = '2026-03-02 14:00+00', updated_at = '2026-03-02 14:00+00' WHERE ticket_id = 881;
-- 882: never touched (new, running: breached in the running spell)
-- 883: pending 10-14, open after (the first response crossed after the pause)
UPDATE crm.tickets SET status = 'pending', updated_at = '2026-03-02 09:00+00' WHERE ticket_id = 883;
UPDATE crm.tickets SET status = 'open', updated_at = '2026-03-02 13:00+00' WHERE ticket_id = 883;
-- 884: answered at 09:30 CET, pending from 11:00 to the end
UPDATE crm.tickets SET status = 'open', first_response_at = '2026-03-02 08:30+00', updated_at = '2026-03-02 08:30+00' WHERE ticket_id = 884;
UPDATE crm.tickets SET status = 'pending', updated_at = '2026-03-02 10:00+00' WHERE ticket_id = 884;
-- 885: resolved at 10:00 CET, reopened at 13:00, closed at 17:00
UPDATE crm.tickets SET status = 'resolved', resolved_at = '2026-03-02 09:00+00', updated_at = '2026-03-02 09:00+00' WHERE ticket_id = 885;
UPDATE crm.tickets SET status = 'open', resolved_at = NULL, updated_at = '2026-03-02 12:00+00' WHERE ticket_id = 885;
UPDATE crm.tickets SET status = 'closed', resolved_at = '2026-03-02 16:00+00', updated_at = '2026-03-02 16:00+00' WHERE ticket_id = 885;
SELECT results_eq(
    $$SELECT ticket_id, running, paused, first_response_due, first_response_state, resolution_due, resolution_state
      FROM crm.sla_recompute_targets('2026-03-03 08:00+00') WHERE ticket_id BETWEEN 881 AND 885 ORDER BY 1$$,
    $$SELECT ticket_id, consumed, paused, first_response_due, first_response_state, resolution_due, resolution_state
      FROM crm.ticket_sla('2026-03-03 08:00+00') WHERE ticket_id BETWEEN 881 AND 885 ORDER BY 1$$,
    'trigger-built tickets: the recount equals crm.ticket_sla, target by target');
-- and both equal the hand-derived values of part 1 (881 = A, 882 = B, 883 = C, 884 = D, 885 = H)
SELECT results_eq(
    $$SELECT first_response_due, first_response_state, resolution_due, resolution_state
      FROM crm.ticket_sla('2026-03-03 08:00+00') WHERE ticket_id BETWEEN 881 AND 885 ORDER BY ticket_id$$,
    $$VALUES (timestamptz '2026-03-02 10:00+00', 'met', timestamptz '2026-03-03 10:00+00', 'met'),
             ('2026-03-02 10:00+00', 'breached', '2026-03-03 09:00+00', 'pending'),
             ('2026-03-02 14:00+00', 'breached', '2026-03-03 13:00+00', 'pending'),
             ('2026-03-02 10:00+00', 'met', NULL, 'pending'),
             ('2026-03-02 13:00+00', 'breached', '2026-03-03 11:00+00', 'met')$$,
    'the trigger''s state: the same hand-derived values');

-- Where they differ: an import answered at insert, pending from the start. The trigger measures
-- it as if never paused (due add(Mon 09:00, 2 h) = 10:00 UTC, answered 12:00 CET after it:
-- breached); the recount follows the history: the clock stood (pending) from the opening, so 0
-- consumed when answered: met, and no due time.
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, status, opened_at, first_response_at)
VALUES (886, 862, 'imported', 'email', 'pending', '2026-03-02 08:00+00', '2026-03-02 11:00+00');
SELECT results_eq(
    $$SELECT r.first_response_due, r.first_response_state, s.first_response_due, s.first_response_state
      FROM crm.sla_recompute_targets('2026-03-03 08:00+00') r JOIN crm.ticket_sla('2026-03-03 08:00+00') s USING (ticket_id)
      WHERE ticket_id = 886$$,
    $$VALUES (NULL::timestamptz, 'met', timestamptz '2026-03-02 10:00+00', 'breached')$$,
    'an import answered at insert: the trigger measures it as if never paused, the recount by its history');

SELECT * FROM finish();
ROLLBACK;
