-- pgTAP: the SLA clock recounted from the status history, in bulk (crm.sla_recompute) and for one
-- ticket (crm.sla_recount): one fold in C (src/sla.c). The tickets, their SLA rows and their
-- history are written directly (triggers off), so that every case is exactly as given; every
-- expected time is derived by hand in the comments.
--   Calendar 851: Monday to Friday 09:00-12:00 and 13:00-17:00, Europe/Berlin (CET, UTC+1, in
--   early March 2026). Calendar 852: open 24/7.
--   Policy 851: calendar 851, pauses in pending. Policy 852: calendar 852, pauses in pending and new.
-- The tickets alternate between the two policies and calendars (ids 851..855), and ticket 852 has
-- a history but no SLA row: the bulk pass must skip its rows and keep each ticket's own rules.
BEGIN;
SELECT plan(14);
SET LOCAL TimeZone = 'UTC';

INSERT INTO crm.business_calendars (calendar_id, name, time_zone) VALUES (851, 'recompute Berlin', 'Europe/Berlin');
INSERT INTO crm.business_calendars (calendar_id, name, time_zone, always_open) VALUES (852, 'recompute 24/7', 'UTC', true);
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes)
SELECT 851, d, o, c FROM generate_series(1, 5) d, (VALUES ('09:00'::time, '12:00'::time), ('13:00', '17:00')) h(o, c);
INSERT INTO crm.sla_policies (policy_id, name, active, calendar_id, resolution_target, pause_statuses) VALUES
    (851, 'recompute office', false, 851, '8 hours', '{pending}'),
    (852, 'recompute 24/7', false, 852, '8 hours', '{pending,new}');
INSERT INTO crm.contacts (contact_id, first_name) VALUES (851, 'Recompute');

SET LOCAL session_replication_role = replica;
INSERT INTO crm.tickets (ticket_id, contact_id, subject, status, channel, opened_at, resolved_at) VALUES
    (851, 851, 'T1', 'resolved', 'email', '2026-03-02 08:00+00', '2026-03-02 14:00+00'),
    (852, 851, 'no policy', 'open', 'email', '2026-03-02 08:00+00', NULL),
    (853, 851, 'T2', 'open', 'email', '2026-03-02 00:00+00', NULL),
    (854, 851, 'T3', 'closed', 'email', '2026-03-01 00:00+00', '2026-03-01 16:00+00'),
    (855, 851, 'T4', 'open', 'email', '2026-03-02 08:00+00', NULL);
INSERT INTO crm.ticket_slas (ticket_id, policy_id, calendar_id, clock_at) VALUES
    (851, 851, 851, '2026-03-02 14:00+00'),
    (853, 852, 852, '2026-03-02 00:00+00'),
    (854, 852, 852, '2026-03-01 16:00+00'),
    (855, 851, 851, '2026-03-04 08:00+00');
INSERT INTO crm.ticket_status_history (ticket_id, from_status, to_status, changed_at) VALUES
    -- T1: Monday 2 March, CET: new 09:00-10:00, open 10:00-11:00, pending 11:00-13:00, open 13:00-15:00, resolved
    (851, NULL, 'new', '2026-03-02 08:00+00'),
    (851, 'new', 'open', '2026-03-02 09:00+00'),
    (851, 'pending', 'open', '2026-03-02 12:00+00'),   -- inserted before the change it follows:
    (851, 'open', 'pending', '2026-03-02 10:00+00'),   -- the order is changed_at's, not history_id's
    (851, 'open', 'resolved', '2026-03-02 14:00+00'),
    -- no SLA row: never counted, whatever its history
    (852, NULL, 'new', '2026-03-02 08:00+00'),
    (852, 'new', 'open', '2026-03-02 09:00+00'),
    -- T2 (853): no history at all
    -- T3: the history starts late, from 'new' (an import): new before the first change
    (854, 'new', 'pending', '2026-03-01 10:00+00'),
    (854, 'pending', 'closed', '2026-03-01 16:00+00'),
    -- T4: a change after the instant asked for
    (855, NULL, 'new', '2026-03-02 08:00+00'),
    (855, 'new', 'open', '2026-03-04 08:00+00');
RESET session_replication_role;

-- At Tuesday 3 March 2026 08:00 UTC (09:00 CET):
--   T1 (office, pause pending): new 09:00-10:00 CET running 1 h, open 10:00-11:00 running 1 h,
--      pending 11:00-13:00 = 11:00-12:00 open hours, paused 1 h, open 13:00-15:00 running 2 h,
--      resolved from 15:00: nothing. Running 4 h, paused 1 h.
--   T2 (24/7, pause pending and new): no history: its status open from opened_at (Monday 00:00)
--      to Tuesday 08:00: running 32 h.
--   T3 (24/7): before its first change the status is that change's from_status, new (a pause
--      status of this policy): Sunday 00:00-10:00 paused 10 h, pending 10:00-16:00 paused 6 h,
--      closed after. Running 0, paused 16 h.
--   T4 (office): new from Monday 09:00 CET to the instant, Tuesday 09:00 CET: Monday's 7 h; the
--      change on Wednesday is clamped to the instant. Running 7 h.
SELECT results_eq(
    $$SELECT ticket_id, policy_id, calendar_id, running, paused FROM crm.sla_recompute('2026-03-03 08:00+00') ORDER BY ticket_id$$,
    $$VALUES (851::bigint, 851::bigint, 851::bigint, interval '4 hours', interval '1 hour'),
             (853, 852, 852, interval '32 hours', interval '0'),
             (854, 852, 852, interval '0', interval '16 hours'),
             (855, 851, 851, interval '7 hours', interval '0')$$,
    'sla_recompute: each ticket by its own policy''s calendar and pause statuses; no SLA row, no result');

-- Before a ticket opened: nothing counted (until is greatest(at, opened_at)).
SELECT results_eq(
    $$SELECT ticket_id, running, paused FROM crm.sla_recompute('2026-02-01 00:00+00') ORDER BY ticket_id$$,
    $$VALUES (851::bigint, interval '0', interval '0'), (853, interval '0', interval '0'),
             (854, interval '0', interval '0'), (855, interval '0', interval '0')$$,
    'sla_recompute at an instant before every ticket opened: zero');

-- Monday 2 March 2026 10:30 UTC (11:30 CET): T1 new 1 h, open 1 h, pending 11:00-11:30 paused 0.5 h.
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recompute('2026-03-02 10:30+00') WHERE ticket_id = 851$$,
    $$VALUES (interval '2 hours', interval '30 minutes')$$,
    'sla_recompute: a spell cut by the instant counts up to it');

-- The bulk pass and the one-ticket recount are the same fold.
SELECT results_eq(
    $$SELECT r.ticket_id, r.running, r.paused FROM crm.sla_recompute('2026-03-03 08:00+00') r ORDER BY 1$$,
    $$SELECT t.ticket_id, c.running, c.paused FROM crm.tickets t JOIN crm.ticket_slas s USING (ticket_id)
      JOIN crm.sla_policies p USING (policy_id)
      CROSS JOIN LATERAL crm.sla_recount(t.ticket_id, p.calendar_id, p.pause_statuses, t.opened_at,
                                         greatest(timestamptz '2026-03-03 08:00+00', t.opened_at), t.status) c ORDER BY 1$$,
    'sla_recompute equals crm.sla_recount ticket by ticket');

-- sla_recount, its arguments one by one (the rule of the former PL/pgSQL version: NULLs as in SQL).
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(851, 851, '{pending}', '2026-03-02 08:00+00', '2026-03-03 08:00+00', 'resolved')$$,
    $$VALUES (interval '4 hours', interval '1 hour')$$, 'sla_recount: T1');
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(851, 851, NULL, '2026-03-02 08:00+00', '2026-03-03 08:00+00', 'resolved')$$,
    $$VALUES (interval '5 hours', interval '0')$$, 'sla_recount: no pause statuses (NULL): pending runs, 1 + 1 + 1 + 2 h');
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(851, 851, '{pending,NULL}', '2026-03-02 08:00+00', '2026-03-03 08:00+00', 'resolved')$$,
    $$VALUES (interval '4 hours', interval '1 hour')$$, 'sla_recount: a NULL among the pause statuses matches nothing');
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(851, 851, '{new,open}', '2026-03-02 08:00+00', '2026-03-03 08:00+00', 'resolved')$$,
    $$VALUES (interval '1 hour', interval '4 hours')$$, 'sla_recount: other pause statuses: new and open paused (4 h), pending runs (1 h)');
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(851, NULL, '{pending}', '2026-03-02 08:00+00', '2026-03-03 08:00+00', 'resolved')$$,
    $$VALUES (NULL::interval, NULL::interval)$$, 'sla_recount: NULL calendar: the business time of each spell is NULL, so are the sums');
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(851, 851, '{pending}', NULL, '2026-03-03 08:00+00', 'resolved')$$,
    $$VALUES (interval '0', interval '0')$$, 'sla_recount: NULL from_time: nothing counted');
-- NULL until: every change counts unclamped, the last spell (resolved) not at all
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(851, 851, '{pending}', '2026-03-02 08:00+00', NULL, 'resolved')$$,
    $$VALUES (interval '4 hours', interval '1 hour')$$, 'sla_recount: NULL until: up to the last change');
-- no history (NULL ticket, or one without rows): the current status throughout; T2's span on the office
-- calendar: Monday 2 March 00:00-24:00 UTC = 01:00 CET Monday to 01:00 CET Tuesday: Monday's 7 h
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(NULL, 851, '{pending}', '2026-03-02 00:00+00', '2026-03-03 00:00+00', 'open')$$,
    $$VALUES (interval '7 hours', interval '0')$$, 'sla_recount: NULL ticket: the current status throughout');
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(853, 851, '{pending}', '2026-03-02 00:00+00', '2026-03-03 00:00+00', 'pending')$$,
    $$VALUES (interval '0', interval '7 hours')$$, 'sla_recount: a ticket without history, pending throughout: paused');
-- until before from: nothing
SELECT results_eq(
    $$SELECT running, paused FROM crm.sla_recount(851, 851, '{pending}', '2026-03-03 08:00+00', '2026-03-02 08:00+00', 'resolved')$$,
    $$VALUES (interval '0', interval '0')$$, 'sla_recount: until before from_time: nothing');

SELECT * FROM finish();
ROLLBACK;
