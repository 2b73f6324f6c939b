-- src/sla.sql: SLA policies on support tickets. A policy (chosen by priority, channel, the
-- contact's segment and the product, in a fixed order) sets targets for the first response, the
-- next response after each customer reply and the resolution, counted in business time of a
-- calendar (src/calendars.sql) and paused in some statuses. Every ticket carries its SLA state,
-- kept by a trigger at each change; the status history is kept by another. docs/sla.md.

CREATE TABLE @extschema@.sla_policies (
    policy_id              bigserial PRIMARY KEY,
    name                   text NOT NULL CONSTRAINT sla_policies_name_key UNIQUE
                           CONSTRAINT sla_policies_name_not_blank CHECK (btrim(name) <> ''),
    -- matching order: the active policy with the lowest position whose conditions all hold
    position               integer NOT NULL DEFAULT 100,
    active                 boolean NOT NULL DEFAULT true,
    -- conditions: NULL matches anything
    priorities             text[] CONSTRAINT sla_policies_priorities_valid
                           CHECK (priorities <@ ARRAY['low', 'normal', 'high', 'urgent']),
    channels               @extschema@.channel[],
    segment_id             bigint CONSTRAINT sla_policies_segment_fkey REFERENCES @extschema@.segments,
    product_ids            bigint[],
    -- targets in business time of the calendar: NULL, no target
    calendar_id            bigint NOT NULL CONSTRAINT sla_policies_calendar_fkey REFERENCES @extschema@.business_calendars,
    first_response_target  interval CONSTRAINT sla_policies_first_response_target_valid
                           CHECK (first_response_target > '0' AND extract(month FROM first_response_target) = 0
                                  AND extract(year FROM first_response_target) = 0),
    next_response_target   interval CONSTRAINT sla_policies_next_response_target_valid
                           CHECK (next_response_target > '0' AND extract(month FROM next_response_target) = 0
                                  AND extract(year FROM next_response_target) = 0),
    resolution_target      interval CONSTRAINT sla_policies_resolution_target_valid
                           CHECK (resolution_target > '0' AND extract(month FROM resolution_target) = 0
                                  AND extract(year FROM resolution_target) = 0),
    pause_statuses         text[] NOT NULL DEFAULT '{pending}' CONSTRAINT sla_policies_pause_statuses_valid
                           CHECK (pause_statuses <@ ARRAY['new', 'open', 'pending']),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sla_policies_order_idx ON @extschema@.sla_policies (position, policy_id) WHERE active;
CREATE TRIGGER sla_policies_touch_updated_at BEFORE UPDATE ON @extschema@.sla_policies
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();
COMMENT ON TABLE @extschema@.sla_policies IS
    'SLA policies: conditions (priorities, channels, segment of the contact, products; NULL matches all), targets in business time of calendar_id (first response, next response after a customer reply, resolution; NULL: none), statuses that pause the clock. A ticket gets the active policy of lowest (position, policy_id) whose conditions hold.';

-- The status history of tickets: written only by trigger, at the instant the SLA clock takes.
CREATE TABLE @extschema@.ticket_status_history (
    history_id       bigserial PRIMARY KEY,
    ticket_id        bigint NOT NULL CONSTRAINT ticket_status_history_ticket_fkey
                     REFERENCES @extschema@.tickets ON DELETE CASCADE,
    from_status      text,
    to_status        text NOT NULL,
    changed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by       bigint CONSTRAINT ticket_status_history_user_fkey REFERENCES @extschema@.users,
    changed_by_role  name NOT NULL DEFAULT session_user
);
CREATE INDEX ticket_status_history_ticket_idx ON @extschema@.ticket_status_history (ticket_id, changed_at, history_id);
COMMENT ON TABLE @extschema@.ticket_status_history IS
    'Every ticket status change (from_status NULL at creation), when (the instant the SLA clock counts: clock_timestamp(), or the updated_at the change set explicitly, or opened_at at creation), and who: the session''s login role and its crm.users row.';

-- Tickets: the product a ticket is about (a policy condition) and the replies, which start and
-- stop the response clocks: first_response_at (the first agent reply, already in the schema),
-- last_agent_reply_at (every later agent reply), last_customer_reply_at (every customer reply).
ALTER TABLE @extschema@.tickets
    ADD COLUMN product_id              bigint CONSTRAINT tickets_product_fkey REFERENCES @extschema@.products,
    ADD COLUMN last_customer_reply_at  timestamptz,
    ADD COLUMN last_agent_reply_at     timestamptz;
CREATE INDEX tickets_product_id_idx ON @extschema@.tickets (product_id);

-- The SLA state of each ticket, one row per ticket, written only by the trigger on tickets.
CREATE TABLE @extschema@.ticket_slas (
    ticket_id                bigint PRIMARY KEY CONSTRAINT ticket_slas_ticket_fkey
                             REFERENCES @extschema@.tickets ON DELETE CASCADE,
    policy_id                bigint CONSTRAINT ticket_slas_policy_fkey REFERENCES @extschema@.sla_policies,
    calendar_id              bigint CONSTRAINT ticket_slas_calendar_fkey REFERENCES @extschema@.business_calendars,
    clock_at                 timestamptz NOT NULL,
    elapsed                  interval NOT NULL DEFAULT '0',
    paused                   interval NOT NULL DEFAULT '0',
    first_response_due       timestamptz,
    first_response_state     text CONSTRAINT ticket_slas_first_response_state_valid
                             CHECK (first_response_state IN ('pending', 'met', 'breached')),
    next_response_started    interval,
    next_response_due        timestamptz,
    next_response_state      text CONSTRAINT ticket_slas_next_response_state_valid
                             CHECK (next_response_state IN ('pending', 'met', 'breached')),
    next_responses_met       integer NOT NULL DEFAULT 0,
    next_responses_breached  integer NOT NULL DEFAULT 0,
    resolution_due           timestamptz,
    resolution_state         text CONSTRAINT ticket_slas_resolution_state_valid
                             CHECK (resolution_state IN ('pending', 'met', 'breached')),
    agent_replies            integer NOT NULL DEFAULT 0,
    customer_replies         integer NOT NULL DEFAULT 0,
    reopened                 integer NOT NULL DEFAULT 0
);
CREATE INDEX ticket_slas_policy_id_idx ON @extschema@.ticket_slas (policy_id);
CREATE INDEX ticket_slas_calendar_id_idx ON @extschema@.ticket_slas (calendar_id);
COMMENT ON TABLE @extschema@.ticket_slas IS
    'The SLA state of each ticket, kept by trigger at every change of it: the policy and calendar, the instant clock_at up to which business time is counted, the business time the clock ran (elapsed) and stood paused, and per target (first response, next response, resolution) the due time and state (pending, met, breached; NULL: no target).';

-- The policy for a ticket's attributes: the active one of lowest (position, policy_id) whose
-- conditions hold (a NULL condition holds for anything; a NULL attribute meets only NULL conditions).
CREATE FUNCTION @extschema@.sla_pick_policy(priority text, channel @extschema@.channel, contact_id bigint, product_id bigint)
RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.policy_id
    FROM @extschema@.sla_policies p
    WHERE p.active
      AND (p.priorities IS NULL OR sla_pick_policy.priority = ANY (p.priorities))
      AND (p.channels IS NULL OR sla_pick_policy.channel = ANY (p.channels))
      AND (p.product_ids IS NULL OR sla_pick_policy.product_id = ANY (p.product_ids))
      AND (p.segment_id IS NULL OR EXISTS (
              SELECT FROM @extschema@.segment_members m
              WHERE m.segment_id = p.segment_id AND m.contact_id = sla_pick_policy.contact_id))
    ORDER BY p.position, p.policy_id
    LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.sla_pick_policy(text, @extschema@.channel, bigint, bigint) IS
    'The SLA policy for a ticket of this priority, channel, contact and product: the active policy of lowest (position, policy_id) whose conditions all hold; NULL if none.';

-- Business time of the calendar that a ticket spent running and paused in [from, until), from its
-- status history (the status at each instant is the to_status of the last change at or before
-- it; before the first row, or with no history at all, the status given). Used when a ticket gets
-- its first policy, and by anyone checking the stored state. In C (src/sla.c): the same fold as
-- crm.sla_recompute's, one definition of the rule for both.
CREATE FUNCTION @extschema@.sla_recount(ticket_id bigint, calendar bigint, pause_statuses text[],
                                        from_time timestamptz, until timestamptz, current_status text,
                                        OUT running interval, OUT paused interval)
AS 'MODULE_PATHNAME', 'crm_sla_recount'
LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.sla_recount(bigint, bigint, text[], timestamptz, timestamptz, text) IS
    'Business time of the calendar a ticket spent running (not paused, not resolved or closed) and paused in [from_time, until), from its status history (current_status before the first change or without history).';

-- The trigger keeping the SLA state and the status history, after each insert and update of a
-- ticket (under the ticket's row lock: the changes of one ticket are counted one after the other).
-- It runs as the extension's owner (SECURITY DEFINER): it writes crm.ticket_slas and
-- crm.ticket_status_history, which no staff role writes, and the policy chosen does not depend on
-- what the writer may see (a support agent does not see the segment memberships of a new ticket's
-- contact). What it writes derives only from the ticket row being written, which the writer may
-- write anyway.
--
-- The instant of a change: clock_timestamp() when the statement let updated_at be stamped (it is
-- then now()), else the updated_at the statement set itself (an import, a backfill: as
-- touch_updated_at honours it); never before the ticket's previous change. A new ticket's clock
-- starts at opened_at. Replies and the resolution are measured at their own instants
-- (first_response_at, last_agent_reply_at, last_customer_reply_at, resolved_at), within the span
-- since the previous change.
CREATE FUNCTION @extschema@.tickets_sla_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    o @extschema@.ticket_slas;
    s @extschema@.ticket_slas;
    pol @extschema@.sla_policies;
    event_at timestamptz;
    old_status text;
    old_pause text[];
    old_running boolean := false;
    step interval;
    measured interval;
    remaining interval;
    same_policy boolean;
    new_running boolean;
    new_stopped boolean;
BEGIN
    IF TG_RELID <> '@extschema@.tickets'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function tickets_sla_track() fires only on @extschema@.tickets, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;

    IF TG_OP = 'UPDATE' THEN
        old_status := OLD.status;
        SELECT * INTO o FROM @extschema@.ticket_slas t WHERE t.ticket_id = NEW.ticket_id;
    END IF;
    IF o.ticket_id IS NULL THEN
        -- a new ticket, or one created before SLAs existed: nothing counted yet
        o.ticket_id := NEW.ticket_id;
        o.clock_at := NEW.opened_at;
        o.elapsed := '0'; o.paused := '0';
        o.next_responses_met := 0; o.next_responses_breached := 0;
        o.agent_replies := 0; o.customer_replies := 0; o.reopened := 0;
    END IF;
    IF TG_OP = 'INSERT' THEN
        event_at := NEW.opened_at;
    ELSE
        event_at := CASE WHEN NEW.updated_at = pg_catalog.now() THEN pg_catalog.clock_timestamp() ELSE NEW.updated_at END;
    END IF;
    event_at := greatest(event_at, o.clock_at);
    s := o;
    s.clock_at := event_at;

    -- 1. The clock up to this change, under the old status, policy and calendar.
    IF o.policy_id IS NOT NULL AND o.calendar_id IS NOT NULL AND old_status IS NOT NULL THEN
        old_pause := coalesce((SELECT p.pause_statuses FROM @extschema@.sla_policies p WHERE p.policy_id = o.policy_id), '{}');
        step := @extschema@.business_time(o.calendar_id, o.clock_at, event_at);
        IF old_status IN ('resolved', 'closed') THEN
            NULL;
        ELSIF old_status = ANY (old_pause) THEN
            s.paused := s.paused + step;
        ELSE
            s.elapsed := s.elapsed + step;
            old_running := true;
        END IF;
    END IF;
    SELECT * INTO pol FROM @extschema@.sla_policies p WHERE p.policy_id = o.policy_id;

    -- 2. Replies and resolution, each measured at its own instant: the time consumed then is the
    -- time consumed now less the business time since (while the clock ran).
    IF TG_OP = 'UPDATE' AND OLD.first_response_at IS NULL AND NEW.first_response_at IS NOT NULL THEN
        s.agent_replies := s.agent_replies + 1;
        IF s.first_response_state = 'pending' THEN
            measured := s.elapsed - CASE WHEN old_running THEN @extschema@.business_time(o.calendar_id,
                greatest(least(NEW.first_response_at, event_at), o.clock_at), event_at) ELSE '0' END;
            s.first_response_state := CASE WHEN measured <= pol.first_response_target THEN 'met' ELSE 'breached' END;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.last_agent_reply_at IS NOT NULL
       AND NEW.last_agent_reply_at IS DISTINCT FROM OLD.last_agent_reply_at THEN
        s.agent_replies := s.agent_replies + 1;
        IF s.next_response_started IS NOT NULL THEN
            measured := s.elapsed - CASE WHEN old_running THEN @extschema@.business_time(o.calendar_id,
                greatest(least(NEW.last_agent_reply_at, event_at), o.clock_at), event_at) ELSE '0' END;
            IF s.next_response_state = 'breached' OR measured - s.next_response_started > pol.next_response_target THEN
                s.next_response_state := 'breached';
                s.next_responses_breached := s.next_responses_breached + 1;
            ELSE
                s.next_response_state := 'met';
                s.next_responses_met := s.next_responses_met + 1;
            END IF;
            s.next_response_started := NULL;
            s.next_response_due := NULL;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.last_customer_reply_at IS NOT NULL
       AND NEW.last_customer_reply_at IS DISTINCT FROM OLD.last_customer_reply_at THEN
        s.customer_replies := s.customer_replies + 1;
        -- a customer reply opens a next-response cycle once the first response was given, unless
        -- one is open already (the oldest unanswered reply counts)
        IF NEW.first_response_at IS NOT NULL AND s.next_response_started IS NULL AND o.policy_id IS NOT NULL THEN
            s.next_response_started := s.elapsed - CASE WHEN old_running THEN @extschema@.business_time(o.calendar_id,
                greatest(least(NEW.last_customer_reply_at, event_at), o.clock_at), event_at) ELSE '0' END;
            s.next_response_state := 'pending';
            s.next_response_due := NULL;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND old_status NOT IN ('resolved', 'closed') AND NEW.status IN ('resolved', 'closed') THEN
        IF s.resolution_state IN ('pending', 'breached') THEN
            measured := s.elapsed - CASE WHEN old_running THEN @extschema@.business_time(o.calendar_id,
                greatest(least(NEW.resolved_at, event_at), o.clock_at), event_at) ELSE '0' END;
            s.resolution_state := CASE WHEN s.resolution_state = 'pending' AND measured <= pol.resolution_target
                                       THEN 'met' ELSE 'breached' END;
        END IF;
    ELSIF TG_OP = 'UPDATE' AND old_status IN ('resolved', 'closed') AND NEW.status NOT IN ('resolved', 'closed') THEN
        s.reopened := s.reopened + 1;
        IF s.resolution_state = 'met' THEN s.resolution_state := 'pending'; END IF;
    END IF;
    IF TG_OP = 'INSERT' THEN
        s.agent_replies := (NEW.first_response_at IS NOT NULL)::int + (NEW.last_agent_reply_at IS NOT NULL)::int;
        s.customer_replies := (NEW.last_customer_reply_at IS NOT NULL)::int;
    END IF;

    -- 3. The policy for the ticket as it is now; the time consumed is kept.
    SELECT * INTO pol FROM @extschema@.sla_policies p
    WHERE p.policy_id = @extschema@.sla_pick_policy(NEW.priority, NEW.channel, NEW.contact_id, NEW.product_id);
    IF pol.policy_id IS NULL THEN
        s.policy_id := NULL; s.calendar_id := NULL;
        s.first_response_due := NULL; s.first_response_state := NULL;
        s.next_response_started := NULL; s.next_response_due := NULL; s.next_response_state := NULL;
        s.resolution_due := NULL; s.resolution_state := NULL;
    ELSE
        same_policy := pol.policy_id IS NOT DISTINCT FROM o.policy_id;
        IF o.policy_id IS NULL OR o.calendar_id IS NULL THEN
            -- the ticket's first policy: its time so far, from its status history
            SELECT r.running, r.paused INTO s.elapsed, s.paused
            FROM @extschema@.sla_recount(NEW.ticket_id, pol.calendar_id, pol.pause_statuses,
                                         NEW.opened_at, event_at, coalesce(old_status, NEW.status)) r;
        END IF;
        s.policy_id := pol.policy_id;
        s.calendar_id := pol.calendar_id;
        new_stopped := NEW.status IN ('resolved', 'closed');
        new_running := NOT new_stopped AND NOT (NEW.status = ANY (pol.pause_statuses));

        -- 4. Targets and due times. A target not yet decided is breached when the time consumed
        -- exceeds it. Its due time is the instant the time consumed reaches the target while the
        -- clock runs (NULL while it stands); once reached, the instant it was reached: kept from
        -- before under the same policy, else this change's instant.
        IF pol.first_response_target IS NULL THEN
            s.first_response_due := NULL; s.first_response_state := NULL;
        ELSIF NEW.first_response_at IS NULL THEN
            s.first_response_state := CASE WHEN s.elapsed > pol.first_response_target THEN 'breached' ELSE 'pending' END;
            remaining := pol.first_response_target - s.elapsed;
            s.first_response_due := CASE
                WHEN remaining > '0' THEN CASE WHEN new_running THEN @extschema@.business_add(pol.calendar_id, event_at, remaining) END
                WHEN same_policy AND o.first_response_due <= event_at THEN o.first_response_due
                ELSE event_at END;
        ELSIF TG_OP = 'INSERT' THEN
            -- a ticket imported answered: measured as if never paused
            s.first_response_due := @extschema@.business_add(pol.calendar_id, NEW.opened_at, pol.first_response_target);
            s.first_response_state := CASE WHEN NEW.first_response_at <= s.first_response_due THEN 'met' ELSE 'breached' END;
        END IF;

        IF pol.next_response_target IS NULL THEN
            s.next_response_started := NULL; s.next_response_due := NULL; s.next_response_state := NULL;
        ELSIF s.next_response_started IS NOT NULL THEN
            s.next_response_state := CASE WHEN s.elapsed - s.next_response_started > pol.next_response_target
                                          THEN 'breached' ELSE 'pending' END;
            remaining := pol.next_response_target - (s.elapsed - s.next_response_started);
            s.next_response_due := CASE
                WHEN remaining > '0' THEN CASE WHEN new_running THEN @extschema@.business_add(pol.calendar_id, event_at, remaining) END
                WHEN same_policy AND o.next_response_due <= event_at THEN o.next_response_due
                ELSE event_at END;
        END IF;

        IF pol.resolution_target IS NULL THEN
            s.resolution_due := NULL; s.resolution_state := NULL;
        ELSIF NOT new_stopped THEN
            s.resolution_state := CASE WHEN s.elapsed > pol.resolution_target THEN 'breached' ELSE 'pending' END;
            remaining := pol.resolution_target - s.elapsed;
            s.resolution_due := CASE
                WHEN remaining > '0' THEN CASE WHEN new_running THEN @extschema@.business_add(pol.calendar_id, event_at, remaining) END
                WHEN same_policy AND o.resolution_due <= event_at THEN o.resolution_due
                ELSE event_at END;
        ELSIF TG_OP = 'INSERT' THEN
            -- a ticket imported resolved: measured as if never paused
            s.resolution_due := @extschema@.business_add(pol.calendar_id, NEW.opened_at, pol.resolution_target);
            s.resolution_state := CASE WHEN NEW.resolved_at <= s.resolution_due THEN 'met' ELSE 'breached' END;
        ELSIF s.resolution_state IS NULL OR s.resolution_state = 'pending' THEN
            -- resolved, with a target it did not have before (a policy picked at the resolution)
            s.resolution_state := CASE WHEN s.elapsed <= pol.resolution_target THEN 'met' ELSE 'breached' END;
        END IF;
    END IF;

    INSERT INTO @extschema@.ticket_slas AS t
    SELECT (s).*
    ON CONFLICT (ticket_id) DO UPDATE SET
        policy_id = EXCLUDED.policy_id, calendar_id = EXCLUDED.calendar_id, clock_at = EXCLUDED.clock_at,
        elapsed = EXCLUDED.elapsed, paused = EXCLUDED.paused,
        first_response_due = EXCLUDED.first_response_due, first_response_state = EXCLUDED.first_response_state,
        next_response_started = EXCLUDED.next_response_started, next_response_due = EXCLUDED.next_response_due,
        next_response_state = EXCLUDED.next_response_state, next_responses_met = EXCLUDED.next_responses_met,
        next_responses_breached = EXCLUDED.next_responses_breached,
        resolution_due = EXCLUDED.resolution_due, resolution_state = EXCLUDED.resolution_state,
        agent_replies = EXCLUDED.agent_replies, customer_replies = EXCLUDED.customer_replies, reopened = EXCLUDED.reopened;

    IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN
        INSERT INTO @extschema@.ticket_status_history (ticket_id, from_status, to_status, changed_at, changed_by)
        VALUES (NEW.ticket_id, old_status, NEW.status, event_at,
                (SELECT u.user_id FROM @extschema@.users u WHERE u.login_role = session_user));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.tickets_sla_track() IS
    'Trigger: after every insert and update of a ticket, brings its SLA state in crm.ticket_slas up to the change (policy, business time running and paused, due times and states of the first response, next response and resolution) and records a status change in crm.ticket_status_history.';
CREATE TRIGGER tickets_sla_track AFTER INSERT OR UPDATE ON @extschema@.tickets
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.tickets_sla_track();

-- ---------------------------------------------------------------------------------------------
-- The state at a given instant (at or after each ticket's last change): the stored state moved on
-- to `at`, with the caller's rights (row-level security of tickets and their SLA state applies).
CREATE FUNCTION @extschema@.ticket_sla(at timestamptz)
RETURNS TABLE (ticket_id bigint, policy_id bigint, status text, running boolean,
               consumed interval, paused interval,
               first_response_due timestamptz, first_response_state text, first_response_consumed interval,
               next_response_due timestamptz, next_response_state text, next_response_consumed interval,
               resolution_due timestamptz, resolution_state text, resolution_consumed interval,
               next_responses_met integer, next_responses_breached integer,
               agent_replies integer, customer_replies integer, reopened integer)
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT t.ticket_id, x.policy_id, t.status, r.running, c.consumed, c.paused,
           x.first_response_due,
           CASE WHEN x.first_response_state = 'pending' AND c.consumed > p.first_response_target THEN 'breached'
                ELSE x.first_response_state END,
           CASE WHEN x.first_response_state IS NOT NULL AND t.first_response_at IS NULL THEN c.consumed END,
           x.next_response_due,
           CASE WHEN x.next_response_state = 'pending' AND c.consumed - x.next_response_started > p.next_response_target
                THEN 'breached' ELSE x.next_response_state END,
           c.consumed - x.next_response_started,
           x.resolution_due,
           CASE WHEN x.resolution_state = 'pending' AND c.consumed > p.resolution_target THEN 'breached'
                ELSE x.resolution_state END,
           CASE WHEN x.resolution_state IS NOT NULL THEN c.consumed END,
           x.next_responses_met, x.next_responses_breached, x.agent_replies, x.customer_replies, x.reopened
    FROM @extschema@.tickets t
    JOIN @extschema@.ticket_slas x ON x.ticket_id = t.ticket_id
    JOIN @extschema@.sla_policies p ON p.policy_id = x.policy_id
    CROSS JOIN LATERAL (
        SELECT t.status NOT IN ('resolved', 'closed') AND NOT (t.status = ANY (p.pause_statuses)) AS running) r
    CROSS JOIN LATERAL (
        SELECT x.elapsed + CASE WHEN r.running AND ticket_sla.at > x.clock_at
                                THEN @extschema@.business_time(x.calendar_id, x.clock_at, ticket_sla.at)
                                ELSE '0' END AS consumed,
               x.paused + CASE WHEN t.status = ANY (p.pause_statuses) AND ticket_sla.at > x.clock_at
                               THEN @extschema@.business_time(x.calendar_id, x.clock_at, ticket_sla.at)
                               ELSE '0' END AS paused
    ) c
$$;
COMMENT ON FUNCTION @extschema@.ticket_sla(timestamptz) IS
    'The SLA state of every visible ticket with a policy at instant at (at or after its last change): business time consumed and paused, each target''s due time, state (pending, met, breached: a pending target whose consumed time exceeds it is breached) and consumed time, and the reply counters.';

-- The SLA clock of every visible ticket that has a policy, recomputed in bulk from the status
-- history up to `at`: the business time of its policy's calendar it ran and stood paused since it
-- opened. The rule is crm.sla_recount's, the one the trigger uses when a ticket gets its first
-- policy (one definition: the same fold in src/sla.c), applied to every ticket in one ordered pass
-- over the tickets joined to their history; a check or repair of the stored state, which the
-- trigger keeps incrementally (for a ticket whose policy never changed the two agree).
CREATE FUNCTION @extschema@.sla_recompute(at timestamptz)
RETURNS TABLE (ticket_id bigint, policy_id bigint, calendar_id bigint, running interval, paused interval)
AS 'MODULE_PATHNAME', 'crm_sla_recompute'
LANGUAGE C STABLE STRICT SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.sla_recompute(timestamptz) IS
    'The SLA clock of every visible ticket with a policy, recomputed in bulk from its status history up to at: business time of the policy''s calendar running and paused since opened_at (crm.sla_recount''s rule, applied to every ticket).';

-- The first-response and resolution targets of the same tickets recounted in bulk from the same
-- fold (src/sla.c): for each, the business time consumed where it is measured (the first response,
-- the last change into resolved or closed, else at), its state and its due time (the instant the
-- time consumed first reached the target; or, while below it, when it will if the clock runs on;
-- NULL when it stands). docs/sla.md gives the rule. The next response is not recounted: only the
-- latest reply instants are kept, not each cycle's (crm.ticket_sla has the stored state).
CREATE FUNCTION @extschema@.sla_recompute_targets(at timestamptz)
RETURNS TABLE (ticket_id bigint, policy_id bigint, calendar_id bigint, running interval, paused interval,
               first_response_due timestamptz, first_response_state text, first_response_consumed interval,
               resolution_due timestamptz, resolution_state text, resolution_consumed interval)
AS 'MODULE_PATHNAME', 'crm_sla_recompute_targets'
LANGUAGE C STABLE STRICT SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.sla_recompute_targets(timestamptz) IS
    'crm.sla_recompute(at) with the first-response and resolution targets recounted from the status history: per target the business time consumed where it is measured, the state (pending, met, breached) and the due time (when the time consumed first reached the target, or will while the clock runs; NULL while it stands); NULL for a target the policy does not set.';

CREATE VIEW @extschema@.ticket_sla_now WITH (security_invoker = true) AS
SELECT * FROM @extschema@.ticket_sla(now());
COMMENT ON VIEW @extschema@.ticket_sla_now IS 'crm.ticket_sla(now()): the SLA state of every visible ticket with a policy, now.';

-- Compliance by period (month the ticket opened), priority, team and agent (the assignee), and
-- their roll-ups: each target counted met or breached once decided, or breached once overdue.
CREATE VIEW @extschema@.sla_compliance WITH (security_invoker = true) AS
WITH s AS (
    SELECT pg_catalog.date_trunc('month', t.opened_at) AS period, t.priority, u.team, t.assignee_id,
           s.first_response_state AS fr, s.resolution_state AS res,
           s.next_responses_met AS nr_met,
           s.next_responses_breached + (s.next_response_state = 'breached' AND s.next_response_consumed IS NOT NULL)::int AS nr_breached,
           t.status IN ('resolved', 'closed') AND s.agent_replies <= 1 AND s.reopened = 0 AS first_contact_resolution,
           t.status IN ('resolved', 'closed') AS resolved
    FROM @extschema@.ticket_sla_now s
    JOIN @extschema@.tickets t USING (ticket_id)
    LEFT JOIN @extschema@.users u ON u.user_id = t.assignee_id
)
SELECT period, priority, team, assignee_id,
       CASE WHEN GROUPING(priority, team, assignee_id) = 7 THEN 'period'
            WHEN GROUPING(priority) = 0 THEN 'priority'
            WHEN GROUPING(assignee_id) = 0 THEN 'agent' ELSE 'team' END AS grouped_by,
       count(*) AS tickets,
       count(*) FILTER (WHERE fr = 'met') AS first_response_met,
       count(*) FILTER (WHERE fr = 'breached') AS first_response_breached,
       sum(nr_met) AS next_response_met,
       sum(nr_breached) AS next_response_breached,
       count(*) FILTER (WHERE res = 'met') AS resolution_met,
       count(*) FILTER (WHERE res = 'breached') AS resolution_breached,
       round(count(*) FILTER (WHERE fr = 'met')::numeric
             / nullif(count(*) FILTER (WHERE fr IN ('met', 'breached')), 0), 4) AS first_response_compliance,
       round(count(*) FILTER (WHERE res = 'met')::numeric
             / nullif(count(*) FILTER (WHERE res IN ('met', 'breached')), 0), 4) AS resolution_compliance,
       round(count(*) FILTER (WHERE first_contact_resolution)::numeric / nullif(count(*) FILTER (WHERE resolved), 0), 4)
           AS first_contact_resolution_rate
FROM s
GROUP BY GROUPING SETS ((period), (period, priority), (period, team), (period, team, assignee_id));
COMMENT ON VIEW @extschema@.sla_compliance IS
    'SLA compliance of the visible tickets with a policy, per month opened and overall (grouped_by period), by priority, by team, and by agent (team and assignee): targets met and breached (a pending target past due counts breached), compliance ratios, and first-contact resolution (resolved with at most one agent reply and never reopened).';

-- The backlog: open (not resolved or closed) tickets by priority and team, with their age.
CREATE VIEW @extschema@.ticket_backlog WITH (security_invoker = true) AS
SELECT t.priority, u.team,
       count(*) AS tickets,
       count(*) FILTER (WHERE t.status = 'pending') AS pending,
       count(*) FILTER (WHERE s.resolution_state = 'breached' OR s.first_response_state = 'breached'
                          OR s.next_response_state = 'breached') AS breached,
       avg(now() - t.opened_at) AS average_age,
       max(now() - t.opened_at) AS oldest_age,
       avg(s.consumed) AS average_business_age,
       max(s.consumed) AS oldest_business_age
FROM @extschema@.tickets t
LEFT JOIN @extschema@.ticket_sla_now s USING (ticket_id)
LEFT JOIN @extschema@.users u ON u.user_id = t.assignee_id
WHERE t.status NOT IN ('resolved', 'closed')
GROUP BY t.priority, u.team;
COMMENT ON VIEW @extschema@.ticket_backlog IS
    'Open tickets (not resolved or closed) by priority and team of the assignee: how many, pending, breached now, and their age since opening in calendar time and in business time consumed (tickets with a policy).';

-- ---------------------------------------------------------------------------------------------
-- Privileges, row-level security, pg_dump.
REVOKE EXECUTE ON FUNCTION @extschema@.tickets_sla_track() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.sla_pick_policy(text, @extschema@.channel, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.sla_recount(bigint, bigint, text[], timestamptz, timestamptz, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.ticket_sla(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.sla_recompute(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.sla_recompute_targets(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.sla_pick_policy(text, @extschema@.channel, bigint, bigint),
    @extschema@.sla_recount(bigint, bigint, text[], timestamptz, timestamptz, text),
    @extschema@.ticket_sla(timestamptz),
    @extschema@.sla_recompute(timestamptz),
    @extschema@.sla_recompute_targets(timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- Policies: configuration, written by admins and managers, read by every staff role.
GRANT SELECT ON @extschema@.sla_policies TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.sla_policies TO crm_admin, crm_manager;
GRANT USAGE ON SEQUENCE @extschema@.sla_policies_policy_id_seq TO crm_admin, crm_manager;
ALTER TABLE @extschema@.sla_policies ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.sla_policies TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.sla_policies TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.sla_policies FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);

-- Status history and SLA state: written only by the trigger (an audit trail, as the stage
-- history: no staff role writes them, admins included; they go with their ticket); readers see
-- those of the tickets they see.
GRANT SELECT ON @extschema@.ticket_status_history, @extschema@.ticket_slas
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
ALTER TABLE @extschema@.ticket_status_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.ticket_status_history FOR SELECT TO crm_admin USING (true);
CREATE POLICY read_visible_tickets ON @extschema@.ticket_status_history FOR SELECT
    TO crm_analyst, crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.tickets t WHERE t.ticket_id = ticket_status_history.ticket_id));
ALTER TABLE @extschema@.ticket_slas ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.ticket_slas FOR SELECT TO crm_admin USING (true);
CREATE POLICY read_visible_tickets ON @extschema@.ticket_slas FOR SELECT
    TO crm_analyst, crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.tickets t WHERE t.ticket_id = ticket_slas.ticket_id));

GRANT SELECT ON @extschema@.ticket_sla_now, @extschema@.sla_compliance, @extschema@.ticket_backlog
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sla_policies', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sla_policies_policy_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ticket_status_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ticket_status_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ticket_slas', '');

-- ---------------------------------------------------------------------------------------------
-- Escalation. Rules with levels act on tickets whose targets come close to their due time or
-- pass it; crm.run_escalations(now) applies them. Each rule acts at most once per ticket, target
-- and cycle (the first response; each next-response cycle; the resolution, again after each
-- reopening): the log's unique key is the claim, so a second run, or a concurrent one, does
-- nothing twice.
CREATE TABLE @extschema@.escalation_rules (
    rule_id      bigserial PRIMARY KEY,
    name         text NOT NULL CONSTRAINT escalation_rules_name_key UNIQUE
                 CONSTRAINT escalation_rules_name_not_blank CHECK (btrim(name) <> ''),
    active       boolean NOT NULL DEFAULT true,
    policy_id    bigint CONSTRAINT escalation_rules_policy_fkey REFERENCES @extschema@.sla_policies ON DELETE CASCADE,
    target       text NOT NULL CONSTRAINT escalation_rules_target_valid
                 CHECK (target IN ('first_response', 'next_response', 'resolution')),
    level        integer NOT NULL CONSTRAINT escalation_rules_level_positive CHECK (level > 0),
    -- when: at this percentage of the target consumed (100: at the due time), or this long (wall
    -- clock) after the due time
    at_percent   numeric CONSTRAINT escalation_rules_at_percent_valid
                 CHECK (at_percent > 0 AND at_percent < 'Infinity'),
    after_due    interval CONSTRAINT escalation_rules_after_due_valid CHECK (after_due >= '0'),
    actions      text[] NOT NULL CONSTRAINT escalation_rules_actions_valid
                 CHECK (cardinality(actions) > 0
                        AND actions <@ ARRAY['notify_assignee', 'notify_team_lead', 'raise_priority', 'reassign_to_manager']),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT escalation_rules_one_condition CHECK (num_nonnulls(at_percent, after_due) = 1)
);
CREATE INDEX escalation_rules_policy_id_idx ON @extschema@.escalation_rules (policy_id);
CREATE TRIGGER escalation_rules_touch_updated_at BEFORE UPDATE ON @extschema@.escalation_rules
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();
COMMENT ON TABLE @extschema@.escalation_rules IS
    'Escalation rules: for tickets under policy_id (NULL: any policy), when target (first_response, next_response, resolution) is undecided and at_percent of it is consumed, or after_due has passed since its due time, take the actions (notify_assignee, notify_team_lead, raise_priority, reassign_to_manager), once per ticket, target and cycle; level orders them.';

CREATE TABLE @extschema@.escalation_log (
    log_id      bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL CONSTRAINT escalation_log_ticket_fkey REFERENCES @extschema@.tickets ON DELETE CASCADE,
    rule_id     bigint NOT NULL CONSTRAINT escalation_log_rule_fkey REFERENCES @extschema@.escalation_rules ON DELETE CASCADE,
    target      text NOT NULL,
    cycle       integer NOT NULL,
    level       integer NOT NULL,
    action      text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}',
    run_at      timestamptz NOT NULL,
    logged_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT escalation_log_once UNIQUE (ticket_id, rule_id, target, cycle, action)
);
CREATE INDEX escalation_log_rule_id_idx ON @extschema@.escalation_log (rule_id);
COMMENT ON TABLE @extschema@.escalation_log IS
    'Every escalation: one row ''escalated'' per ticket, rule, target and cycle (the claim that makes runs idempotent), then one row per action taken (details: the recipient, the priority or assignee before and after), with the run''s instant; written only by crm.run_escalations.';

CREATE FUNCTION @extschema@.run_escalations(run_at timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c record;
    act text;
    claimed bigint;
    acted integer := 0;
    recipient bigint;
    before_value text;
    after_value text;
    manager bigint;
BEGIN
    IF run_at IS NULL OR NOT isfinite(run_at) THEN
        RAISE EXCEPTION 'run_escalations: the instant must be a finite timestamp' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- an instant to come would escalate early, and its claims would stand in for the real ones
    IF run_at > pg_catalog.clock_timestamp() THEN
        RAISE EXCEPTION 'run_escalations: the instant % is in the future', run_at USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Run escalations at now() (the default) or at a past instant to catch up.';
    END IF;
    -- one run at a time (a concurrent run waits, then finds the claims of this one)
    PERFORM pg_catalog.pg_advisory_xact_lock(8317001700);
    FOR c IN
        SELECT s.ticket_id, r.rule_id, r.level, r.target, r.actions, v.cycle
        FROM @extschema@.ticket_sla(run_at) s
        JOIN @extschema@.sla_policies p ON p.policy_id = s.policy_id
        JOIN @extschema@.escalation_rules r ON r.active AND (r.policy_id IS NULL OR r.policy_id = s.policy_id)
        CROSS JOIN LATERAL (
            SELECT CASE r.target WHEN 'first_response' THEN s.first_response_consumed
                                 WHEN 'next_response' THEN s.next_response_consumed
                                 ELSE CASE WHEN s.status NOT IN ('resolved', 'closed') THEN s.resolution_consumed END END AS consumed,
                   CASE r.target WHEN 'first_response' THEN p.first_response_target
                                 WHEN 'next_response' THEN p.next_response_target
                                 ELSE p.resolution_target END AS target_length,
                   CASE r.target WHEN 'first_response' THEN s.first_response_due
                                 WHEN 'next_response' THEN s.next_response_due
                                 ELSE s.resolution_due END AS due,
                   CASE r.target WHEN 'first_response' THEN 0
                                 WHEN 'next_response' THEN s.next_responses_met + s.next_responses_breached
                                 ELSE s.reopened END AS cycle
        ) v
        WHERE v.consumed IS NOT NULL AND v.target_length IS NOT NULL
          AND (CASE r.target WHEN 'first_response' THEN s.first_response_state
                             WHEN 'next_response' THEN s.next_response_state
                             ELSE s.resolution_state END) IN ('pending', 'breached')
          AND (v.consumed >= v.target_length * (r.at_percent / 100)::double precision
               OR (v.due IS NOT NULL AND run_at >= v.due + r.after_due))
        ORDER BY s.ticket_id, r.level, r.rule_id
    LOOP
        INSERT INTO @extschema@.escalation_log AS l (ticket_id, rule_id, target, cycle, level, action, run_at)
        VALUES (c.ticket_id, c.rule_id, c.target, c.cycle, c.level, 'escalated', run_at)
        ON CONFLICT ON CONSTRAINT escalation_log_once DO NOTHING
        RETURNING l.log_id INTO claimed;
        CONTINUE WHEN claimed IS NULL;
        -- the ticket as it is now, locked while its rule acts
        FOREACH act IN ARRAY ARRAY['raise_priority', 'reassign_to_manager', 'notify_assignee', 'notify_team_lead'] LOOP
            CONTINUE WHEN NOT act = ANY (c.actions);
            recipient := NULL; before_value := NULL; after_value := NULL;
            SELECT t.priority, t.assignee_id::text, u.manager_id INTO before_value, after_value, manager
            FROM @extschema@.tickets t LEFT JOIN @extschema@.users u ON u.user_id = t.assignee_id
            WHERE t.ticket_id = c.ticket_id FOR UPDATE OF t;
            IF act = 'raise_priority' THEN
                after_value := CASE before_value WHEN 'low' THEN 'normal' WHEN 'normal' THEN 'high' ELSE 'urgent' END;
                IF after_value <> before_value THEN
                    UPDATE @extschema@.tickets SET priority = after_value,
                           updated_at = CASE WHEN run_at = pg_catalog.now() THEN updated_at ELSE run_at END
                    WHERE ticket_id = c.ticket_id;
                END IF;
            ELSIF act = 'reassign_to_manager' THEN
                before_value := after_value;
                IF manager IS NOT NULL THEN
                    after_value := manager::text;
                    UPDATE @extschema@.tickets SET assignee_id = manager,
                           updated_at = CASE WHEN run_at = pg_catalog.now() THEN updated_at ELSE run_at END
                    WHERE ticket_id = c.ticket_id;
                END IF;
                recipient := manager;
            ELSIF act = 'notify_assignee' THEN
                recipient := after_value::bigint;
                before_value := NULL; after_value := NULL;
            ELSE
                recipient := manager;
                before_value := NULL; after_value := NULL;
            END IF;
            INSERT INTO @extschema@.escalation_log (ticket_id, rule_id, target, cycle, level, action, details, run_at)
            VALUES (c.ticket_id, c.rule_id, c.target, c.cycle, c.level, act,
                    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('user_id', recipient, 'before', before_value, 'after', after_value)),
                    run_at);
            PERFORM pg_catalog.pg_notify('crm_events', pg_catalog.json_build_object(
                'event', 'sla_escalation', 'ticket_id', c.ticket_id, 'rule_id', c.rule_id, 'level', c.level,
                'target', c.target, 'action', act, 'user_id', recipient)::text);
            acted := acted + 1;
        END LOOP;
    END LOOP;
    RETURN acted;
END
$$;
COMMENT ON FUNCTION @extschema@.run_escalations(timestamptz) IS
    'Applies the active escalation rules at instant run_at (default now()) to every ticket whose target is undecided and has reached the rule''s condition, once per ticket, rule, target and cycle: raises the priority, reassigns to the assignee''s manager, notifies (NOTIFY crm_events {"event": "sla_escalation", ...}); logs every action in crm.escalation_log. Returns the number of actions taken. Runs are serialized; running twice acts once.';

REVOKE EXECUTE ON FUNCTION @extschema@.run_escalations(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.run_escalations(timestamptz) TO crm_admin, crm_manager;

GRANT SELECT ON @extschema@.escalation_rules, @extschema@.escalation_log
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.escalation_rules TO crm_admin, crm_manager;
GRANT USAGE ON SEQUENCE @extschema@.escalation_rules_rule_id_seq TO crm_admin, crm_manager;
ALTER TABLE @extschema@.escalation_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.escalation_rules TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.escalation_rules TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.escalation_rules FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);
ALTER TABLE @extschema@.escalation_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.escalation_log FOR SELECT TO crm_admin USING (true);
CREATE POLICY read_visible_tickets ON @extschema@.escalation_log FOR SELECT
    TO crm_analyst, crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.tickets t WHERE t.ticket_id = escalation_log.ticket_id));

SELECT pg_catalog.pg_extension_config_dump('@extschema@.escalation_rules', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.escalation_rules_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.escalation_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.escalation_log_log_id_seq', '');
