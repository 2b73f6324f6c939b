-- Demo report: the service desk. SLA compliance by period, priority, team and agent, first-contact
-- resolution (crm.sla_compliance), the backlog and its age, escalations, and routing's agent loads.
-- "Now" is the latest recorded event (order, activity or ticket change), as in section 0; the
-- backlog's ages and states are read at that instant (crm.ticket_sla), so the report reads the
-- same any day.
\set QUIET on
\pset footer off
\pset null '-'
SELECT coalesce(greatest((SELECT max(ordered_at) FROM crm.orders), (SELECT max(occurred_at) FROM crm.activities),
                         (SELECT max(updated_at) FROM crm.tickets)),
                now()) AS report_as_of \gset
SELECT date_trunc('month', :'report_as_of'::timestamptz) - interval '11 months' AS year_start,
       to_char(:'report_as_of'::timestamptz, 'YYYY-MM-DD HH24:MI') AS report_time \gset

\echo
\echo '== SLA compliance by month, the last 12 months (crm.sla_compliance; tickets by the month they opened) =='
\echo 'compliance = met / (met + breached); a pending target past due counts as breached. FCR: resolved with one agent reply, never reopened.'
SELECT to_char(c.period, 'YYYY-MM') AS month, c.tickets,
       round(100 * c.first_response_compliance, 1) AS "first response %",
       c.next_response_met AS "next resp. met", c.next_response_breached AS "next resp. breached",
       round(100 * c.resolution_compliance, 1) AS "resolution %",
       round(100 * c.first_contact_resolution_rate, 1) AS "FCR %"
FROM crm.sla_compliance c
WHERE c.grouped_by = 'period' AND c.period >= :'year_start'
ORDER BY c.period;

\echo
\echo '== SLA compliance by priority and by team, the last 12 months (sums of the monthly rows of crm.sla_compliance) =='
SELECT c.grouped_by AS "by", coalesce(c.priority, c.team, '(unassigned)') AS "group", p.name AS policy,
       sum(c.tickets) AS tickets,
       round(100 * sum(c.first_response_met) / nullif(sum(c.first_response_met + c.first_response_breached), 0), 1) AS "first response %",
       round(100 * sum(c.next_response_met) / nullif(sum(c.next_response_met + c.next_response_breached), 0), 1) AS "next response %",
       round(100 * sum(c.resolution_met) / nullif(sum(c.resolution_met + c.resolution_breached), 0), 1) AS "resolution %"
FROM crm.sla_compliance c
LEFT JOIN crm.sla_policies p ON c.grouped_by = 'priority' AND c.priority = ANY (p.priorities)
WHERE c.grouped_by IN ('priority', 'team') AND c.period >= :'year_start'
GROUP BY c.grouped_by, c.priority, c.team, p.name, p.position
ORDER BY c.grouped_by, p.position, c.team;

\echo
\echo '== SLA compliance by agent, the last 12 months (crm.sla_compliance, grouped by agent) =='
SELECT c.team, c.assignee_id AS agent, u.login_role AS login, u.active,
       sum(c.tickets) AS tickets,
       round(100 * sum(c.first_response_met) / nullif(sum(c.first_response_met + c.first_response_breached), 0), 1) AS "first response %",
       round(100 * sum(c.resolution_met) / nullif(sum(c.resolution_met + c.resolution_breached), 0), 1) AS "resolution %"
FROM crm.sla_compliance c
LEFT JOIN crm.users u ON u.user_id = c.assignee_id
WHERE c.grouped_by = 'agent' AND c.period >= :'year_start'
GROUP BY c.team, c.assignee_id, u.login_role, u.active
ORDER BY c.team, c.assignee_id;

\echo
\echo '== Backlog: open tickets by priority and team, at' :report_time '(crm.ticket_sla at that instant) =='
\echo 'age: calendar time since opened; business age: the SLA clock''s time consumed (paused time not counted).'
SELECT t.priority, coalesce(u.team, '(unassigned)') AS team, count(*) AS tickets,
       count(*) FILTER (WHERE t.status = 'pending') AS pending,
       count(*) FILTER (WHERE 'breached' IN (s.first_response_state, s.next_response_state, s.resolution_state)) AS breached,
       justify_hours(date_trunc('minute', avg(:'report_as_of'::timestamptz - t.opened_at))) AS "average age",
       justify_hours(date_trunc('minute', max(:'report_as_of'::timestamptz - t.opened_at))) AS "oldest",
       date_trunc('minute', avg(s.consumed)) AS "average business age",
       date_trunc('minute', max(s.consumed)) AS "oldest business age"
FROM crm.tickets t
LEFT JOIN crm.ticket_sla(:'report_as_of') s USING (ticket_id)
LEFT JOIN crm.users u ON u.user_id = t.assignee_id
WHERE t.status NOT IN ('resolved', 'closed')
GROUP BY t.priority, u.team
ORDER BY array_position(ARRAY['urgent', 'high', 'normal', 'low'], t.priority), u.team;

\echo
\echo '== Escalations (crm.run_escalations, logged in crm.escalation_log), the last 30 days =='
SELECT r.level, r.name AS rule, l.target, count(DISTINCT l.ticket_id) AS tickets,
       count(*) FILTER (WHERE l.action = 'notify_assignee') AS "assignee notified",
       count(*) FILTER (WHERE l.action = 'notify_team_lead') AS "team lead notified",
       count(*) FILTER (WHERE l.action = 'raise_priority') AS "priority raised",
       count(*) FILTER (WHERE l.action = 'reassign_to_manager') AS "to the manager"
FROM crm.escalation_rules r
LEFT JOIN crm.escalation_log l ON l.rule_id = r.rule_id AND l.run_at > :'report_as_of'::timestamptz - interval '30 days'
GROUP BY r.level, r.rule_id, r.name, l.target
ORDER BY r.level, r.rule_id;
SELECT l.ticket_id AS ticket, to_char(l.run_at, 'YYYY-MM-DD HH24:MI') AS "run at", r.name AS rule, l.action,
       l.details ->> 'before' AS "before", l.details ->> 'after' AS "after", t.status AS "status now"
FROM crm.escalation_log l JOIN crm.escalation_rules r USING (rule_id) JOIN crm.tickets t USING (ticket_id)
WHERE l.action <> 'escalated'
ORDER BY l.run_at DESC, l.log_id DESC LIMIT 10;

\echo
\echo '== Routing: agents on a shift calendar, their skills and load (crm.agent_loads; load = open tickets'' priority weights) =='
SELECT a.user_id AS agent, u.login_role AS login, a.team, array_to_string(a.skills, ', ') AS skills, a.capacity,
       a.open_tickets AS "open tickets", a.load, round(100.0 * a.load / nullif(a.capacity, 0)) AS "load %"
FROM crm.agent_loads a JOIN crm.users u USING (user_id)
ORDER BY a.user_id;
