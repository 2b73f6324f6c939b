-- pgTAP: the deal histories of the forecast demo hook and the service desk hook (src/demo/sla.sql),
-- checked against their definitions by independent queries.
BEGIN;
SELECT plan(16);
SET LOCAL TimeZone = 'UTC';
SELECT lives_ok($$SELECT crm.generate_demo_data(1000, 5, '2026-06-30')$$, 'generate_demo_data runs both hooks');

-- Deals: expected close history.
SELECT ok((SELECT count(*) > 0 FROM crm.opportunity_expected_close_history), 'some deals changed their expected close');
SELECT is_empty($$SELECT h.history_id FROM crm.opportunity_expected_close_history h
                  JOIN crm.opportunities o USING (opportunity_id)
                  WHERE NOT (h.from_expected_close < h.to_expected_close)
                     OR h.changed_at <= o.created_at OR h.changed_at >= coalesce(o.closed_at, '2026-06-30 00:00+00')$$,
                'every change moves the date later, while the deal was open');
SELECT is_empty($$SELECT o.opportunity_id FROM crm.opportunities o
                  JOIN LATERAL (SELECT h.to_expected_close FROM crm.opportunity_expected_close_history h
                                WHERE h.opportunity_id = o.opportunity_id ORDER BY h.changed_at DESC, h.history_id DESC LIMIT 1) l ON true
                  WHERE l.to_expected_close IS DISTINCT FROM o.expected_close$$,
                'the last change sets the date the deal has now');
SELECT is_empty($$SELECT h.opportunity_id FROM (
                      SELECT opportunity_id, from_expected_close,
                             lag(to_expected_close) OVER (PARTITION BY opportunity_id ORDER BY changed_at, history_id) AS previous
                      FROM crm.opportunity_expected_close_history) h
                  WHERE h.previous IS NOT NULL AND h.previous <> h.from_expected_close$$,
                'each change starts from the date the previous one set');
-- A slip: a change made after the date it moves had passed (midnight ending it), the deal open.
SELECT ok((SELECT count(*) > 0 FROM crm.opportunity_expected_close_history h
           WHERE h.changed_at > (h.from_expected_close + 1)::timestamptz), 'some changes are slips');
SELECT ok((SELECT count(*) > 0 FROM crm.opportunities WHERE closed_at IS NULL AND expected_close < '2026-06-29'),
          'some open deals are overdue');
-- Stage history still chains in time, and closes at closed_at.
SELECT is_empty($$SELECT o.opportunity_id FROM crm.opportunities o
                  JOIN crm.opportunity_stage_history h USING (opportunity_id)
                  GROUP BY o.opportunity_id, o.closed_at, o.stage_id
                  HAVING (o.closed_at IS NOT NULL AND max(h.changed_at) <> o.closed_at)
                      OR (array_agg(h.to_stage_id ORDER BY h.changed_at DESC, h.history_id DESC))[1] <> o.stage_id$$,
                'each deal''s history ends in its stage, at its close');
-- Quarter-end: more than a third of the won deals close in the third month of their quarter.
SELECT ok((SELECT avg((extract(month FROM closed_at)::int % 3 = 0)::int) > 0.36 FROM crm.opportunities WHERE stage_id = 6),
          'won deals bunch in the last month of the quarter');

-- Service desk: every ticket has the SLA state of its policy (by priority).
SELECT is_empty($$SELECT t.ticket_id FROM crm.tickets t LEFT JOIN crm.ticket_slas s USING (ticket_id)
                  LEFT JOIN crm.sla_policies p ON p.policy_id = s.policy_id
                  WHERE s.ticket_id IS NULL OR NOT t.priority = ANY (p.priorities)$$,
                'every ticket has an SLA state under its priority''s policy');
-- The status history chains and ends in the ticket's status.
SELECT is_empty($$SELECT ticket_id FROM (
                      SELECT h.ticket_id, h.from_status, h.to_status,
                             lag(h.to_status) OVER (PARTITION BY h.ticket_id ORDER BY h.changed_at, h.history_id) AS previous,
                             lead(h.to_status) OVER (PARTITION BY h.ticket_id ORDER BY h.changed_at, h.history_id) AS next
                      FROM crm.ticket_status_history h) x
                  JOIN crm.tickets t USING (ticket_id)
                  WHERE x.from_status IS DISTINCT FROM x.previous OR (x.next IS NULL AND x.to_status <> t.status)$$,
                'each ticket''s status history chains from its creation to its status now');
SELECT ok((SELECT count(*) FILTER (WHERE paused > '0') > 0 AND sum(reopened) > 0 FROM crm.ticket_slas),
          'some tickets were paused, some reopened');
-- The time the trigger counted, recounted from the status history by crm.sla_recount (another
-- computation of the same rule), for the tickets whose policy never changed (no escalation).
SELECT is_empty($$SELECT s.ticket_id, s.elapsed, s.paused, r.running, r.paused
                  FROM crm.ticket_slas s JOIN crm.tickets t USING (ticket_id)
                  JOIN crm.sla_policies p ON p.policy_id = s.policy_id
                  CROSS JOIN LATERAL crm.sla_recount(t.ticket_id, p.calendar_id, p.pause_statuses, t.opened_at, s.clock_at, t.status) r
                  WHERE NOT EXISTS (SELECT FROM crm.escalation_log l WHERE l.ticket_id = t.ticket_id)
                    AND (r.running <> s.elapsed OR r.paused <> s.paused)$$,
                'the SLA clock of every ticket equals its status history recounted');

-- crm.sla_recompute: the same recount for every ticket at once, here at the data's end, equal to
-- the stored state moved on to that instant (crm.ticket_sla) for the same tickets.
SELECT is_empty($$SELECT r.ticket_id FROM crm.sla_recompute('2026-06-30 00:00+00') r
                  JOIN crm.ticket_sla('2026-06-30 00:00+00') s USING (ticket_id)
                  WHERE NOT EXISTS (SELECT FROM crm.escalation_log l WHERE l.ticket_id = r.ticket_id)
                    AND (r.running <> s.consumed OR r.paused <> s.paused)$$,
                'sla_recompute equals the stored SLA clock moved on to the same instant');
SELECT is((SELECT count(*) FROM crm.sla_recompute('2026-06-30 00:00+00')), (SELECT count(*) FROM crm.ticket_slas WHERE policy_id IS NOT NULL),
          'sla_recompute gives every ticket with a policy');
SET LOCAL ROLE crm_sales;
SELECT is((SELECT count(*) FROM crm.sla_recompute('2026-06-30 00:00+00')), (SELECT count(*) FROM crm.ticket_slas),
          'sla_recompute reads with the caller''s rights (a rep: the tickets visible to them)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
