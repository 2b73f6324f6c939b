-- pgTAP: ticket routing (src/routing.sql). Every assignment below is derived by hand in the
-- comments from the rule: among active agents on shift with every required skill and room for the
-- ticket's weight (default weights low 1, normal 2, high 3, urgent 4), the lowest load / capacity;
-- among equals the first user_id after the last one chosen, wrapping around.
BEGIN;
SELECT plan(40);
SET LOCAL TimeZone = 'UTC';

-- no other open ticket may take part
UPDATE crm.tickets SET status = 'closed', resolved_at = opened_at WHERE status NOT IN ('resolved', 'closed');
UPDATE crm.ticket_routing_pointer SET last_user_id = NULL;

INSERT INTO crm.business_calendars (calendar_id, name, time_zone, always_open) VALUES
    (901, 'rt 24/7', 'UTC', true), (902, 'rt office', 'UTC', false), (903, 'rt never', 'UTC', false);
-- office: Monday to Friday 09:00-17:00 UTC; never: no opening hours at all
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes) SELECT 902, d, '09:00', '17:00' FROM generate_series(1, 5) d;

CREATE ROLE rt_sam; CREATE ROLE rt_ana; CREATE ROLE rt_adm;
GRANT crm_support TO rt_sam; GRANT crm_sales TO rt_ana; GRANT crm_admin TO rt_adm;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team, skills, capacity, shift_calendar_id, active) VALUES
    (901, 'rt_ann', 'Ann', 'ann@rt.example', 'support', 'care', '{billing,english}', 4, 901, true),
    (902, 'rt_ben', 'Ben', 'ben@rt.example', 'support', 'care', '{english}', 4, 901, true),
    (903, 'rt_cat', 'Cat', 'cat@rt.example', 'support', 'care', '{billing,english,german}', 8, NULL, true),
    (904, 'rt_dan', 'Dan', 'dan@rt.example', 'support', 'care', '{english}', 10, 903, true),
    (905, 'rt_eve', 'Eve', 'eve@rt.example', 'support', 'care', '{english}', 10, NULL, true),
    (906, 'rt_fay', 'Fay', 'fay@rt.example', 'support', 'care', '{english}', 10, 901, false),
    (907, 'rt_sam', 'Sam', 'sam@rt.example', 'support', 'care', '{}', 0, NULL, true),
    (908, 'rt_ana', 'Ana', 'ana@rt.example', 'sales', 'west', '{}', 20, NULL, true),
    (909, 'rt_adm', 'Adm', 'adm@rt.example', 'admin', NULL, '{}', 20, NULL, true);
INSERT INTO crm.contacts (contact_id, first_name, owner_id) VALUES (901, 'Customer', 908);

SELECT is(crm.ticket_priority_weight('low') || '/' || crm.ticket_priority_weight('normal') || '/'
          || crm.ticket_priority_weight('high') || '/' || crm.ticket_priority_weight('urgent'), '1/2/3/4',
          'default weights: low 1, normal 2, high 3, urgent 4');

-- Routable now: Ann (cap 4) and Ben (cap 4), both 24/7. Not: Cat (no shift calendar yet), Dan
-- (never on shift), Eve (no calendar), Fay (inactive), Sam (no calendar, capacity 0).
CREATE TEMP TABLE rt (n int PRIMARY KEY, ticket_id bigint);
GRANT ALL ON rt TO PUBLIC;
CREATE FUNCTION pg_temp.rt_new(n int, priority text, skills text[]) RETURNS bigint LANGUAGE sql AS $$
    WITH t AS (INSERT INTO crm.tickets (contact_id, subject, channel, priority, required_skills)
               VALUES (901, 'ticket ' || n, 'email', priority, skills) RETURNING ticket_id, assignee_id)
    , r AS (INSERT INTO rt SELECT n, ticket_id FROM t)
    SELECT assignee_id FROM t
$$;
CREATE FUNCTION pg_temp.rt_assignee(n int) RETURNS bigint LANGUAGE sql AS $$
    SELECT t.assignee_id FROM crm.tickets t JOIN rt ON rt.ticket_id = t.ticket_id WHERE rt.n = $1
$$;

-- T1 normal: Ann 0/4 and Ben 0/4 tie; no previous choice: the lowest user_id, Ann. Ann 2, Ben 0.
SELECT is(pg_temp.rt_new(1, 'normal', '{}'), 901::bigint, 'T1: tie at zero load, first by user_id: Ann');
-- T2 normal: Ann 2/4 = 0.5 > Ben 0: Ben. Ann 2, Ben 2.
SELECT is(pg_temp.rt_new(2, 'normal', '{}'), 902::bigint, 'T2: lowest relative load: Ben');
-- T3 low: Ann 0.5 = Ben 0.5, last chosen Ben (902): nobody after 902 among them, wrap: Ann. Ann 3.
SELECT is(pg_temp.rt_new(3, 'low', '{}'), 901::bigint, 'T3: round robin among equals wraps around to Ann');
SELECT is((SELECT last_user_id FROM crm.ticket_routing_pointer), 901::bigint, 'the pointer records the last agent chosen');
-- T4 low, billing: only Ann has billing (Cat off shift); 3 + 1 = 4 <= 4. Ann 4 (full).
SELECT is(pg_temp.rt_new(4, 'low', '{billing}'), 901::bigint, 'T4: the only agent with the skill, even at a higher load');
-- T5 normal, billing: Ann 4 + 2 > 4: nobody. Queued.
SELECT is(pg_temp.rt_new(5, 'normal', '{billing}'), NULL::bigint, 'T5: the skilled agent is full: queued');
-- T6 high: Ann full; Ben 2 + 3 = 5 > 4. Queued.
SELECT is(pg_temp.rt_new(6, 'high', '{}'), NULL::bigint, 'T6: no agent has room for weight 3: queued');
-- T7 low: Ben 2 + 1 = 3 <= 4: Ben. Ben 3.
SELECT is(pg_temp.rt_new(7, 'low', '{}'), 902::bigint, 'T7: a lighter ticket still fits Ben');
-- T8 normal, german: nobody on shift speaks German. Queued.
SELECT is(pg_temp.rt_new(8, 'normal', '{german}'), NULL::bigint, 'T8: nobody on shift with the skill: queued');
SELECT is((SELECT load FROM crm.agent_loads WHERE user_id = 901), 4, 'Ann''s load: 2 + 1 + 1 = 4');
SELECT is((SELECT load FROM crm.agent_loads WHERE user_id = 902), 3, 'Ben''s load: 2 + 1 = 3');
SELECT is(pg_temp.rt_new(9, 'normal', '{english,billing}'), NULL::bigint, 'T9 (english and billing): only Ann has both, and she is full');
UPDATE crm.tickets SET status = 'closed', resolved_at = opened_at WHERE ticket_id = (SELECT ticket_id FROM rt WHERE n = 9);

-- An explicit assignee is kept; a ticket created closed is not routed.
INSERT INTO crm.tickets (contact_id, subject, channel, assignee_id) VALUES (901, 'explicit', 'email', 905);
SELECT is((SELECT assignee_id FROM crm.tickets WHERE subject = 'explicit'), 905::bigint, 'an explicit assignee is kept');
INSERT INTO crm.tickets (contact_id, subject, channel, status, resolved_at) VALUES (901, 'done', 'email', 'closed', now());
SELECT is((SELECT assignee_id FROM crm.tickets WHERE subject = 'done'), NULL::bigint, 'a closed ticket is not routed');
UPDATE crm.tickets SET status = 'closed', resolved_at = opened_at WHERE subject = 'explicit';

-- Capacity frees: closing T1 (Ann, normal) leaves Ann at 2. The queue, heaviest first then oldest:
-- T6 (3): Ann 2 + 3 > 4, Ben 3 + 3 > 4: stays; T5 (2, billing): Ann 2 + 2 = 4: Ann; T8 (german): stays.
UPDATE crm.tickets SET status = 'closed', resolved_at = opened_at WHERE ticket_id = (SELECT ticket_id FROM rt WHERE n = 1);
SELECT is(pg_temp.rt_assignee(5), 901::bigint, 'closing T1 routes the queued T5 to Ann');
SELECT is(pg_temp.rt_assignee(6), NULL::bigint, 'T6 still waits (no room for weight 3)');
SELECT is(pg_temp.rt_assignee(8), NULL::bigint, 'T8 still waits (skill)');
SELECT is(crm.route_queued_tickets(), 0, 'routing the queue again assigns nothing');

-- The assignee leaves: Ben becomes inactive; Dan comes on a 24/7 shift (load 0 of 10).
-- crm.route_queued_tickets releases Ben's open T2 (normal) and T7 (low); the queue is then
-- T6 (3), T2 (2), T8 (2, german), T7 (1): T6 -> Dan (Ann 4 is full) 3; T2 -> Dan 5; T8 stays;
-- T7: Ann 4 + 1 > 4, Dan 6. Three assigned.
UPDATE crm.users SET active = false WHERE user_id = 902;
UPDATE crm.users SET shift_calendar_id = 901 WHERE user_id = 904;
SELECT is(crm.route_queued_tickets(now()), 3, 'the leaver''s two tickets and T6 are routed');
SELECT is(pg_temp.rt_assignee(2), 904::bigint, 'T2 (Ben''s) goes to Dan');
SELECT is(pg_temp.rt_assignee(7), 904::bigint, 'T7 (Ben''s) goes to Dan');
SELECT is(pg_temp.rt_assignee(6), 904::bigint, 'T6 goes to Dan');
SELECT is((SELECT count(*)::int FROM crm.tickets WHERE assignee_id = 902 AND status NOT IN ('resolved', 'closed')), 0,
          'the leaver keeps no open ticket');

-- Relative, not absolute load: close T3 (Ann, low): Ann 3/4 = 0.75 (queue: T8 german only, stays);
-- Dan 6/10 = 0.6. T10 low: Dan, although his load is higher.
UPDATE crm.tickets SET status = 'closed', resolved_at = opened_at WHERE ticket_id = (SELECT ticket_id FROM rt WHERE n = 3);
SELECT is(pg_temp.rt_new(10, 'low', '{}'), 904::bigint, 'T10: Dan at 6/10 before Ann at 3/4');

-- Reassigning a ticket frees load too: T5 moved from Ann to Eve (by hand) leaves Ann 1;
-- the queue (T8, german) still finds nobody.
UPDATE crm.tickets SET assignee_id = 905 WHERE ticket_id = (SELECT ticket_id FROM rt WHERE n = 5);
SELECT is(pg_temp.rt_assignee(8), NULL::bigint, 'a reassignment routes the queue; T8 still waits');

-- Shifts: Cat (German) on the office calendar, Monday to Friday 09:00-17:00 UTC.
UPDATE crm.users SET shift_calendar_id = 902 WHERE user_id = 903;
SELECT is(crm.route_queued_tickets('2026-03-07 10:00+00'), 0, 'Saturday: Cat is off shift, T8 waits');
SELECT is(crm.route_queued_tickets('2026-03-06 17:00+00'), 0, 'Friday 17:00: the shift has ended (closing time excluded)');
SELECT is(crm.route_queued_tickets('2026-03-06 16:59:59+00'), 1, 'Friday 16:59:59: Cat is on shift, T8 is assigned');
SELECT is(pg_temp.rt_assignee(8), 903::bigint, 'T8 goes to Cat');
UPDATE crm.users SET shift_calendar_id = NULL WHERE user_id = 903;

SELECT throws_ok($$SELECT crm.route_queued_tickets(NULL)$$, '22004', NULL, 'a NULL instant is refused');

-- Nobody over capacity, nobody assigned twice (one assignee per ticket by construction).
SELECT is_empty($$SELECT user_id FROM crm.agent_loads WHERE load > capacity$$, 'no agent beyond capacity');

-- Weights: a row overrides the default.
INSERT INTO crm.ticket_priority_weights (priority, weight) VALUES ('urgent', 10);
SELECT is(crm.ticket_priority_weight('urgent'), 10, 'a configured weight overrides the default');

-- Roles. Support inserts a ticket and it is routed (routing runs with the extension's rights):
-- T11 normal: Ann 1/4 = 0.25, Dan 7/10 = 0.7: Ann.
SET LOCAL ROLE rt_sam;
SELECT is(pg_temp.rt_new(11, 'normal', '{}'), 901::bigint, 'a support agent''s new ticket is routed');
SELECT lives_ok($$SELECT crm.route_queued_tickets()$$, 'support may route the queue');
SELECT throws_ok($$UPDATE crm.ticket_routing_pointer SET last_user_id = 904$$, '42501', NULL, 'support does not move the pointer');
SELECT throws_ok($$INSERT INTO crm.ticket_priority_weights VALUES ('low', 5)$$, '42501', NULL, 'support does not write weights');
RESET ROLE;
SET LOCAL ROLE rt_ana;
SELECT throws_ok($$SELECT crm.route_queued_tickets()$$, '42501', NULL, 'sales may not route the queue');
RESET ROLE;
SET LOCAL ROLE rt_adm;
SELECT lives_ok($$UPDATE crm.ticket_priority_weights SET weight = 9 WHERE priority = 'urgent'$$, 'an admin writes weights');
RESET ROLE;
SELECT is(crm.ticket_priority_weight('urgent'), 9, 'the admin''s weight applies');

SELECT * FROM finish();
ROLLBACK;
