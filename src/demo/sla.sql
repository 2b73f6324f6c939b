-- src/demo/sla.sql: the demo data hook of src/sla.sql and src/routing.sql (extension crm_demo): a
-- business calendar, SLA policies, ticket status histories with pauses, customer and agent replies
-- and reopenings, the SLA state of every ticket, escalations and routing.

-- Demo hook (called by crm.generate_demo_data, as replica, after the tickets exist). The SLA state
-- is not computed here by a copy of the rules: each ticket's history is replayed, event by event,
-- through ordinary UPDATEs of crm.tickets with the SLA trigger firing (session_replication_role is
-- set to origin for the replay, and back to replica at the end), so crm.tickets_sla_track — the one
-- definition of the rules — computes every ticket's state, due times and status history, exactly as
-- it would have live. As of: the day after the latest recorded event (the generator's as_of).
--
-- * Calendars: "Service desk" (Europe/Berlin, Monday to Friday 08:00-18:00; New Year, 1 May,
--   24-26 December every year; Good Friday and Easter Monday 2023-2027) and "Around the clock"
--   (24/7).
-- * Policies by priority: urgent 1 h / 4 h / 8 h around the clock; high 2 h / 4 h / 16 h, normal
--   8 h / 8 h / 40 h, low 16 h / 16 h / 80 h of the desk's time (first response / next response /
--   resolution); paused while pending.
-- * Each ticket's history (random tag 195): opened (new) at opened_at; answered (open) at
--   first_response_at; 45% of the answered then wait on the customer (pending), most of whom
--   reply (open again, a customer reply), which an agent answers (an agent reply) unless the
--   ticket is still waiting at as_of; 6% of the resolved are reopened by the customer once (tag
--   196) and resolved again at resolved_at; resolved at resolved_at, closed 3 to 7 days later
--   when the generator closed it. Open tickets end in the status their history leads to.
-- * Escalation rules (first response: the assignee notified at 75%, the team lead notified and
--   the priority raised at 100%; resolution: reassigned to the manager a day after the due time),
--   run by crm.run_escalations every 4 hours over the last 14 days before as_of (up to now()):
--   the replay goes in time order, each 4-hour window's events, then a run at its end. The log's
--   logged_at is set to the run's instant (the clock's would differ from run to run).
-- * Routing: active support agents get the desk's calendar as their shift, skills (tag 197:
--   billing, technical, german; everyone english) and a capacity of 12 to 24 (tag 198); tickets
--   need skills by subject (billing or technical, german for 20% of them, tag 199); the tickets
--   still new on the last day are unassigned and routed by crm.route_queued_tickets at the last
--   open minute before as_of.
CREATE FUNCTION @extschema@.generate_demo_sla(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    data_end timestamptz;
    desk bigint;
    around bigint;
    replay_step integer;
    window_start timestamptz;
    window_end timestamptz;
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.tickets) OR EXISTS (SELECT FROM @extschema@.sla_policies) THEN
        RETURN;
    END IF;
    SELECT (date_trunc('day', greatest((SELECT max(ordered_at) FROM @extschema@.orders),
                                        (SELECT max(occurred_at) FROM @extschema@.activities),
                                        (SELECT max(greatest(opened_at, first_response_at, resolved_at))
                                         FROM @extschema@.tickets)) AT TIME ZONE 'UTC')
            + interval '1 day') AT TIME ZONE 'UTC'
    INTO data_end;

    INSERT INTO @extschema@.business_calendars (name, time_zone, always_open, created_at, updated_at)
    VALUES ('Service desk', 'Europe/Berlin', false, data_end - interval '3 years', data_end - interval '3 years')
    RETURNING calendar_id INTO desk;
    INSERT INTO @extschema@.business_calendars (name, time_zone, always_open, created_at, updated_at)
    VALUES ('Around the clock', 'UTC', true, data_end - interval '3 years', data_end - interval '3 years')
    RETURNING calendar_id INTO around;
    INSERT INTO @extschema@.business_hours (calendar_id, weekday, opens, closes)
    SELECT desk, d, '08:00', '18:00' FROM generate_series(1, 5) d;
    INSERT INTO @extschema@.business_holidays (calendar_id, day, recurring_yearly, name)
    VALUES (desk, '2001-01-01', true, 'New Year'), (desk, '2001-05-01', true, 'Labour Day'),
           (desk, '2001-12-24', true, 'Christmas Eve'), (desk, '2001-12-25', true, 'Christmas Day'),
           (desk, '2001-12-26', true, 'Boxing Day'),
           (desk, '2023-04-07', false, 'Good Friday'), (desk, '2023-04-10', false, 'Easter Monday'),
           (desk, '2024-03-29', false, 'Good Friday'), (desk, '2024-04-01', false, 'Easter Monday'),
           (desk, '2025-04-18', false, 'Good Friday'), (desk, '2025-04-21', false, 'Easter Monday'),
           (desk, '2026-04-03', false, 'Good Friday'), (desk, '2026-04-06', false, 'Easter Monday'),
           (desk, '2027-03-26', false, 'Good Friday'), (desk, '2027-03-29', false, 'Easter Monday');

    INSERT INTO @extschema@.sla_policies (name, position, priorities, calendar_id, first_response_target,
                                          next_response_target, resolution_target, created_at, updated_at)
    VALUES ('Urgent, around the clock', 10, '{urgent}', around, '1 hour', '4 hours', '8 hours',
            data_end - interval '3 years', data_end - interval '3 years'),
           ('High', 20, '{high}', desk, '2 hours', '4 hours', '16 hours', data_end - interval '3 years', data_end - interval '3 years'),
           ('Normal', 30, '{normal}', desk, '8 hours', '8 hours', '40 hours', data_end - interval '3 years', data_end - interval '3 years'),
           ('Low', 40, '{low}', desk, '16 hours', '16 hours', '80 hours', data_end - interval '3 years', data_end - interval '3 years');
    INSERT INTO @extschema@.escalation_rules (name, target, level, at_percent, after_due, actions, created_at, updated_at)
    VALUES ('First response: warn the assignee', 'first_response', 1, 75, NULL, '{notify_assignee}',
            data_end - interval '3 years', data_end - interval '3 years'),
           ('First response due: team lead, priority up', 'first_response', 2, 100, NULL, '{notify_team_lead,raise_priority}',
            data_end - interval '3 years', data_end - interval '3 years'),
           ('Resolution a day late: to the manager', 'resolution', 3, NULL, '1 day', '{reassign_to_manager}',
            data_end - interval '3 years', data_end - interval '3 years');

    -- Each ticket's events, in time order; each row holds the ticket's fields after the event.
    CREATE TEMP TABLE demo_sla_event ON COMMIT DROP AS
    WITH t AS (
        SELECT t.ticket_id, t.status AS final_status, t.opened_at, t.first_response_at AS fr, t.resolved_at AS res,
               coalesce(t.resolved_at, data_end) AS span_end, k,
               @extschema@.demo_key(seed, 196, t.ticket_id) AS rk
        FROM @extschema@.tickets t
        CROSS JOIN LATERAL @extschema@.demo_key(seed, 195, t.ticket_id) AS k
    ), plan AS (
        SELECT t.*,
               -- waiting on the customer: from p_at (pending) to c_at (the customer's reply)
               CASE WHEN t.fr IS NOT NULL AND @extschema@.demo_uniform(k, 1) < 0.45
                    THEN t.fr + (t.span_end - t.fr) * (0.05 + 0.25 * @extschema@.demo_uniform(k, 2)) END AS p_at,
               CASE WHEN t.fr IS NOT NULL AND @extschema@.demo_uniform(k, 1) < 0.45
                         AND (t.res IS NOT NULL OR @extschema@.demo_uniform(k, 3) < 0.7)
                    THEN t.fr + (t.span_end - t.fr) * (0.35 + 0.15 * @extschema@.demo_uniform(k, 4)) END AS c_at,
               CASE WHEN t.fr IS NOT NULL AND @extschema@.demo_uniform(k, 1) < 0.45
                         AND (t.res IS NOT NULL OR @extschema@.demo_uniform(k, 3) < 0.5)
                    THEN t.fr + (t.span_end - t.fr) * (0.55 + 0.10 * @extschema@.demo_uniform(k, 5)) END AS a_at,
               -- reopened once: resolved at r1_at, reopened by the customer at r2_at
               CASE WHEN t.res IS NOT NULL AND t.fr IS NOT NULL AND @extschema@.demo_uniform(rk, 1) < 0.06
                    THEN t.fr + (t.res - t.fr) * (0.70 + 0.05 * @extschema@.demo_uniform(rk, 2)) END AS r1_at,
               CASE WHEN t.res IS NOT NULL AND t.fr IS NOT NULL AND @extschema@.demo_uniform(rk, 1) < 0.06
                    THEN t.fr + (t.res - t.fr) * (0.80 + 0.05 * @extschema@.demo_uniform(rk, 3)) END AS r2_at,
               CASE WHEN t.final_status = 'closed'
                    THEN least(t.res + make_interval(days => 3 + floor(5 * @extschema@.demo_uniform(k, 6))::integer),
                               data_end - interval '1 second') END AS closed_at
        FROM t
    ), ev AS (
        SELECT e.kind, e.at, p.*
        FROM plan p
        CROSS JOIN LATERAL (VALUES (1, p.opened_at), (2, p.fr), (3, p.p_at), (4, p.c_at), (5, p.a_at),
                                   (6, p.r1_at), (7, p.r2_at), (8, p.res), (9, p.closed_at)) AS e(kind, at)
        WHERE e.at IS NOT NULL AND (e.kind <> 9 OR p.closed_at > p.res)
    )
    SELECT e.ticket_id, row_number() OVER (PARTITION BY e.ticket_id ORDER BY e.at, e.kind)::integer AS step, e.kind, e.at,
           CASE e.kind WHEN 1 THEN 'new' WHEN 2 THEN 'open' WHEN 3 THEN 'pending' WHEN 4 THEN 'open'
                       WHEN 5 THEN CASE WHEN e.c_at IS NULL THEN 'pending' ELSE 'open' END
                       WHEN 6 THEN 'resolved' WHEN 7 THEN 'open' WHEN 8 THEN 'resolved' ELSE 'closed' END AS status,
           CASE WHEN e.kind >= 2 THEN e.fr END AS first_response_at,
           CASE WHEN e.kind = 6 THEN e.r1_at WHEN e.kind >= 8 THEN e.res END AS resolved_at,
           CASE WHEN e.kind >= 7 AND e.r2_at IS NOT NULL THEN e.r2_at WHEN e.kind >= 4 THEN e.c_at END AS last_customer_reply_at,
           -- a reopened ticket is answered with its second resolution
           CASE WHEN e.kind >= 8 AND e.r2_at IS NOT NULL THEN e.res WHEN e.kind >= 5 THEN e.a_at END AS last_agent_reply_at
    FROM ev e;
    CREATE INDEX ON demo_sla_event (step, at);
    ANALYZE demo_sla_event;

    -- Back to the moment each ticket was opened (as replica: nothing fires), with its creation in
    -- the status history as the insert trigger writes it.
    UPDATE @extschema@.tickets
    SET status = 'new', first_response_at = NULL, resolved_at = NULL, last_customer_reply_at = NULL,
        last_agent_reply_at = NULL, updated_at = opened_at - interval '1 microsecond';
    INSERT INTO @extschema@.ticket_status_history (ticket_id, from_status, to_status, changed_at, changed_by, changed_by_role)
    SELECT t.ticket_id, NULL, 'new', t.opened_at, (SELECT u.user_id FROM @extschema@.users u WHERE u.login_role = session_user),
           session_user
    FROM @extschema@.tickets t ORDER BY t.opened_at, t.ticket_id;

    -- The replay: the SLA trigger fires (origin); routing's own trigger stands aside, as during a
    -- run of crm.route_queued_tickets (routing is set up afterwards).
    PERFORM set_config('session_replication_role', 'origin', true);
    PERFORM set_config('crm.routing_running', 'on', true);
    -- in time order: everything before the last 14 days at once, then 4-hour windows, each
    -- followed by a run of the escalations at its end (a scheduler's runs, every 4 hours)
    FOR w IN 0 .. 84 LOOP
        window_start := CASE WHEN w = 0 THEN '-infinity' ELSE data_end - interval '14 days' + (w - 1) * interval '4 hours' END;
        window_end := data_end - interval '14 days' + w * interval '4 hours';
        FOR replay_step IN SELECT DISTINCT e.step FROM demo_sla_event e
                           WHERE e.at >= window_start AND e.at < window_end ORDER BY e.step LOOP
            UPDATE @extschema@.tickets t
            SET status = e.status, first_response_at = e.first_response_at, resolved_at = e.resolved_at,
                last_customer_reply_at = e.last_customer_reply_at, last_agent_reply_at = e.last_agent_reply_at,
                updated_at = e.at
            FROM demo_sla_event e
            WHERE e.step = replay_step AND e.at >= window_start AND e.at < window_end AND e.ticket_id = t.ticket_id;
        END LOOP;
        IF w > 0 AND window_end <= now() THEN
            PERFORM @extschema@.run_escalations(window_end);
        END IF;
    END LOOP;
    -- logged at the run's instant rather than the clock's, so the same seed gives the same rows
    UPDATE @extschema@.escalation_log SET logged_at = run_at;
    PERFORM set_config('crm.routing_running', '', true);
    -- the trigger numbered the status changes in the order an UPDATE visited the rows, which the
    -- plan decides: renumber them in time order, so the same seed gives the same ids
    UPDATE @extschema@.ticket_status_history h SET history_id = -r.rn
    FROM (SELECT x.history_id, row_number() OVER (ORDER BY x.changed_at, x.ticket_id, x.history_id) AS rn
          FROM @extschema@.ticket_status_history x) AS r
    WHERE r.history_id = h.history_id;
    UPDATE @extschema@.ticket_status_history SET history_id = -history_id;
    PERFORM set_config('session_replication_role', 'replica', true);

    -- Routing: agents' shifts, skills and capacity; the skills tickets need; the last day's new
    -- tickets routed.
    UPDATE @extschema@.users u
    SET shift_calendar_id = desk,
        skills = ARRAY['english']
                 || CASE WHEN @extschema@.demo_uniform(@extschema@.demo_key(seed, 197, u.user_id), 1) < 0.6 THEN ARRAY['billing'] ELSE '{}' END
                 || CASE WHEN @extschema@.demo_uniform(@extschema@.demo_key(seed, 197, u.user_id), 2) < 0.6 THEN ARRAY['technical'] ELSE '{}' END
                 || CASE WHEN @extschema@.demo_uniform(@extschema@.demo_key(seed, 197, u.user_id), 3) < 0.4 THEN ARRAY['german'] ELSE '{}' END,
        capacity = 12 + floor(13 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 198, u.user_id), 1))::integer
    WHERE u.role = 'support' AND u.active;
    UPDATE @extschema@.tickets t
    SET required_skills = CASE WHEN t.subject IN ('Invoice question', 'Refund request', 'Payment declined') THEN ARRAY['billing']
                               WHEN t.subject IN ('Cannot log in', 'Export fails with an error', 'Integration stopped syncing',
                                                  'Slow dashboard', 'Account locked') THEN ARRAY['technical']
                               ELSE '{}' END
                          || CASE WHEN @extschema@.demo_uniform(@extschema@.demo_key(seed, 199, t.ticket_id), 1) < 0.2
                                  THEN ARRAY['german'] ELSE '{}' END;
    UPDATE @extschema@.tickets SET assignee_id = NULL
    WHERE status = 'new' AND opened_at >= data_end - interval '1 day';
    -- a fresh CRM: round robin starts afresh (the pointer survives a TRUNCATE of the data)
    UPDATE @extschema@.ticket_routing_pointer SET last_user_id = NULL;
    PERFORM @extschema@.route_queued_tickets(@extschema@.business_add(desk, least(data_end, now()), '-1 minute'));
    ANALYZE @extschema@.tickets, @extschema@.ticket_slas, @extschema@.ticket_status_history, @extschema@.escalation_log,
            @extschema@.users;
    DROP TABLE demo_sla_event;
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_sla(integer) IS
    'Demo data hook: a business calendar, SLA policies by priority, escalation rules and routing settings; each ticket''s history (pauses, customer and agent replies, reopenings, closing) replayed through the SLA trigger, so the SLA state is the trigger''s own; escalations run and the last day''s new tickets routed at the end.';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_sla(integer) FROM PUBLIC;
