-- pgTAP: escalation rules and crm.run_escalations. One calendar (Monday to Friday 09:00-12:00 and
-- 13:00-17:00, Europe/Berlin), one policy for every ticket (first response 1 h, next response 2 h,
-- resolution 8 h), and three levels on the first response: at 75 % notify the assignee; at 100 %
-- (the due time) raise the priority and notify the team lead; 2 h (wall clock) after the due time,
-- reassign to the manager. Instants are derived by hand in the comments.
BEGIN;
SELECT plan(32);
SET LOCAL TimeZone = 'UTC';

INSERT INTO crm.business_calendars (calendar_id, name, time_zone) VALUES (811, 'esc Berlin', 'Europe/Berlin');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes)
SELECT 811, d, o, c FROM generate_series(1, 5) d, (VALUES ('09:00'::time, '12:00'::time), ('13:00', '17:00')) h(o, c);
DELETE FROM crm.sla_policies;
INSERT INTO crm.sla_policies (policy_id, name, calendar_id, first_response_target, next_response_target, resolution_target)
VALUES (811, 'esc all', 811, '1 hour', '2 hours', '8 hours');
CREATE ROLE esc_lea; CREATE ROLE esc_sam; CREATE ROLE esc_ana;
GRANT crm_manager TO esc_lea; GRANT crm_support TO esc_sam; GRANT crm_sales TO esc_ana;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team, manager_id) VALUES
    (811, 'esc_lea', 'Lea', 'lea@esc.example', 'manager', 'care', NULL),
    (812, 'esc_sam', 'Sam', 'sam@esc.example', 'support', 'care', 811),
    (813, 'esc_ana', 'Ana', 'ana@esc.example', 'sales', 'west', NULL);
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES (811, 'Esc', 813), (812, 'Other', NULL);
INSERT INTO crm.escalation_rules (rule_id, name, target, level, at_percent, after_due, actions) VALUES
    (811, 'warn', 'first_response', 1, 75, NULL, '{notify_assignee}'),
    (812, 'breach', 'first_response', 2, 100, NULL, '{notify_team_lead,raise_priority}'),
    (813, 'late', 'first_response', 3, NULL, '2 hours', '{reassign_to_manager}');

-- Ticket 811: opened Monday 2 March 2026 09:00 CET (08:00 UTC), high, assigned to Sam. First
-- response due 10:00 CET (09:00 UTC); 75 % = 45 min: 08:45 UTC.
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, priority, assignee_id, opened_at)
VALUES (811, 811, 'Esc', 'email', 'high', 812, '2026-03-02 08:00+00');
SELECT is(crm.run_escalations('2026-03-02 08:44:59+00'), 0, '44 min 59 s in (under 75 %): nothing');
SELECT is(crm.run_escalations('2026-03-02 08:45+00'), 1, 'at 45 min (75 %): one action');
SELECT results_eq($$SELECT action, level, details FROM crm.escalation_log WHERE ticket_id = 811 ORDER BY log_id$$,
                  $$VALUES ('escalated', 1, '{}'::jsonb), ('notify_assignee', 1, '{"user_id": 812}')$$,
                  'logged: the claim and the notice to the assignee');
SELECT is(crm.run_escalations('2026-03-02 08:45+00'), 0, 'run again at the same instant: nothing twice');
SELECT is(crm.run_escalations('2026-03-02 08:59:59+00'), 0, 'one second before the due time: nothing more');
-- At 09:00 UTC: 100 %: raise the priority (high -> urgent), notify Lea (Sam's manager).
SELECT is(crm.run_escalations('2026-03-02 09:00+00'), 2, 'at the due time: two actions');
SELECT results_eq($$SELECT action, details FROM crm.escalation_log WHERE ticket_id = 811 AND rule_id = 812 ORDER BY log_id$$,
                  $$VALUES ('escalated', '{}'::jsonb), ('raise_priority', '{"before": "high", "after": "urgent"}'),
                           ('notify_team_lead', '{"user_id": 811}')$$,
                  'logged: priority raised, then the team lead notified');
SELECT is((SELECT priority FROM crm.tickets WHERE ticket_id = 811), 'urgent', 'the ticket is urgent now');
SELECT results_eq($$SELECT elapsed, clock_at, first_response_state FROM crm.ticket_slas WHERE ticket_id = 811$$,
                  $$VALUES ('01:00:00'::interval, '2026-03-02 09:00+00'::timestamptz, 'pending')$$,
                  'the priority change is dated at the run''s instant, the hour consumed kept');
-- Two hours after the due time: 11:00 UTC.
SELECT is(crm.run_escalations('2026-03-02 10:59:59+00'), 0, 'before due + 2 h: nothing');
SELECT is(crm.run_escalations('2026-03-02 11:00+00'), 1, 'at due + 2 h: reassigned');
SELECT is((SELECT assignee_id FROM crm.tickets WHERE ticket_id = 811), 811::bigint, 'now Lea''s');
SELECT is((SELECT details FROM crm.escalation_log WHERE ticket_id = 811 AND action = 'reassign_to_manager'),
          '{"user_id": 811, "before": "812", "after": "811"}'::jsonb, 'logged with before and after');
SELECT is(crm.run_escalations('2026-03-03 12:00+00'), 0, 'a day later: every level done once');
SELECT is((SELECT count(*)::int FROM crm.escalation_log WHERE ticket_id = 811), 7, 'three claims and four actions in all');

-- A raised priority tops out at urgent; a ticket without assignee has no one to notify or
-- reassign (logged with no user); a decided target escalates no more.
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, priority, opened_at)
VALUES (812, 812, 'Nobody''s', 'chat', 'urgent', '2026-03-02 08:00+00');
SELECT is(crm.run_escalations('2026-03-02 11:00+00'), 4, 'an unassigned urgent ticket at due + 2 h: all three levels, four actions');
SELECT results_eq($$SELECT action, details FROM crm.escalation_log WHERE ticket_id = 812 AND action <> 'escalated' ORDER BY log_id$$,
                  $$VALUES ('notify_assignee', '{}'::jsonb), ('raise_priority', '{"before": "urgent", "after": "urgent"}'),
                           ('notify_team_lead', '{}'), ('reassign_to_manager', '{}')$$,
                  'no recipient, priority already urgent, nobody to reassign to');
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, assignee_id, opened_at)
VALUES (813, 811, 'Answered', 'email', 812, '2026-03-02 08:00+00');
UPDATE crm.tickets SET first_response_at = '2026-03-02 08:30+00', updated_at = '2026-03-02 08:30+00' WHERE ticket_id = 813;
SELECT is(crm.run_escalations('2026-03-02 12:00+00'), 0, 'an answered ticket does not escalate');

-- Paused tickets do not approach their due time: a pending ticket at 40 min stays under 75 %.
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, assignee_id, opened_at)
VALUES (814, 811, 'Paused', 'email', 812, '2026-03-02 08:00+00');
UPDATE crm.tickets SET status = 'pending', updated_at = '2026-03-02 08:40+00' WHERE ticket_id = 814;
SELECT is(crm.run_escalations('2026-03-02 16:00+00'), 0, 'a ticket paused at 40 min does not escalate');

-- Next-response cycles escalate once each. Ticket 815 answered at 08:10 UTC; the customer replies
-- at 08:20 and 10:00 UTC (the second after the first cycle was answered at 09:00 UTC).
INSERT INTO crm.escalation_rules (rule_id, name, target, level, at_percent, after_due, actions) VALUES
    (814, 'next warn', 'next_response', 1, 50, NULL, '{notify_assignee}');
INSERT INTO crm.tickets (ticket_id, contact_id, subject, channel, assignee_id, opened_at)
VALUES (815, 811, 'Chatty', 'email', 812, '2026-03-02 08:00+00');
UPDATE crm.tickets SET first_response_at = '2026-03-02 08:10+00', updated_at = '2026-03-02 08:10+00' WHERE ticket_id = 815;
UPDATE crm.tickets SET last_customer_reply_at = '2026-03-02 08:20+00', updated_at = '2026-03-02 08:20+00' WHERE ticket_id = 815;
-- 50 % of 2 h = 1 h after 08:20 UTC (09:20 CET): 09:20 UTC
SELECT is(crm.run_escalations('2026-03-02 09:19+00'), 0, 'next response at 59 min: nothing');
SELECT is(crm.run_escalations('2026-03-02 09:20+00'), 1, 'next response at 1 h (50 %): notified');
UPDATE crm.tickets SET last_agent_reply_at = '2026-03-02 09:30+00', updated_at = '2026-03-02 09:30+00' WHERE ticket_id = 815;
UPDATE crm.tickets SET last_customer_reply_at = '2026-03-02 10:00+00', updated_at = '2026-03-02 10:00+00' WHERE ticket_id = 815;
-- second cycle from 11:00 CET: 11:00-12:00 is 1 h: 11:00 UTC (12:00 CET)
SELECT is(crm.run_escalations('2026-03-02 11:00+00'), 1, 'the second cycle escalates again, once');
SELECT results_eq($$SELECT cycle FROM crm.escalation_log WHERE ticket_id = 815 AND action = 'notify_assignee' ORDER BY cycle$$,
                  $$VALUES (0), (1)$$, 'one notice per cycle');

-- Roles: admins and managers run escalations; support, sales, analysts cannot; nobody writes the log.
SET LOCAL ROLE esc_sam;
SELECT throws_ok($$SELECT crm.run_escalations()$$, '42501', NULL, 'support cannot run escalations');
SELECT throws_ok($$INSERT INTO crm.escalation_log (ticket_id, rule_id, target, cycle, level, action, run_at)
                   VALUES (811, 811, 'resolution', 9, 1, 'escalated', now())$$, '42501', NULL, 'support cannot write the log');
RESET ROLE;
SET LOCAL ROLE esc_ana;
SELECT results_eq($$SELECT DISTINCT ticket_id FROM crm.escalation_log ORDER BY 1$$, $$VALUES (811::bigint), (815)$$,
                  'a rep reads the escalations of her contacts'' tickets only');
RESET ROLE;
SELECT throws_ok($$SELECT crm.run_escalations('infinity')$$, '22023', NULL, 'an infinite instant is refused');
SELECT throws_ok($$SELECT crm.run_escalations(clock_timestamp() + interval '1 minute')$$, '22023', NULL,
                 'an instant in the future is refused (it would escalate early and claim the real escalations)');
SELECT lives_ok($$SELECT crm.run_escalations()$$, 'now() is fine');
SELECT throws_ok($$INSERT INTO crm.escalation_rules (name, target, level, at_percent, after_due, actions)
                   VALUES ('both', 'resolution', 1, 50, '1 hour', '{notify_assignee}')$$, '23514', NULL, 'a rule has one condition, not two');
SELECT throws_ok($$INSERT INTO crm.escalation_rules (name, target, level, at_percent, actions)
                   VALUES ('odd', 'resolution', 1, 50, '{page_the_ceo}')$$, '23514', NULL, 'an unknown action is refused');
SELECT throws_ok($$INSERT INTO crm.escalation_rules (name, target, level, at_percent, actions)
                   VALUES ('nan', 'resolution', 1, 'NaN', '{notify_assignee}')$$, '23514', NULL, 'a NaN percentage is refused');

SELECT * FROM finish();
ROLLBACK;
