-- src/routing.sql: routing of support tickets. A new unassigned ticket goes to an agent who is on
-- shift (the business calendar users.shift_calendar_id), has every skill the ticket needs
-- (tickets.required_skills), and has the lowest load relative to capacity (the priority weights of
-- their open tickets over users.capacity); round robin among ties; nobody beyond capacity. When
-- nobody qualifies the ticket waits in the queue (open, unassigned) and crm.route_queued_tickets
-- assigns it later: at once when a ticket closes or is reassigned, else when called (pg_cron, say,
-- for agents coming on shift). docs/routing.md.

-- Agents: a staff member takes part in routing when active with a shift calendar (NULL: never
-- routed to, so routing is opt-in per agent and a database without shift calendars routes nothing).
ALTER TABLE @extschema@.users
    ADD COLUMN shift_calendar_id bigint CONSTRAINT users_shift_calendar_fkey
        REFERENCES @extschema@.business_calendars ON DELETE SET NULL;
COMMENT ON COLUMN @extschema@.users.shift_calendar_id IS
    'The business calendar of the agent''s shifts: routed tickets go to active staff with one, while it is open (NULL: not routed to).';

-- Tickets: the skills a ticket needs (set by the application or a BEFORE INSERT trigger of its own,
-- from the product or channel, say); the agent must have every one.
ALTER TABLE @extschema@.tickets
    ADD COLUMN required_skills text[] NOT NULL DEFAULT '{}'
        CONSTRAINT tickets_required_skills_no_nulls CHECK (pg_catalog.array_position(required_skills, NULL) IS NULL);
COMMENT ON COLUMN @extschema@.tickets.required_skills IS
    'Skills the ticket needs: routing picks an agent whose users.skills contain all of them.';
-- an agent's open tickets (their load), and the queue: open tickets without an assignee
CREATE INDEX tickets_open_assignee_idx ON @extschema@.tickets (assignee_id, priority) WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX tickets_routing_queue_idx ON @extschema@.tickets (opened_at, ticket_id)
    WHERE assignee_id IS NULL AND status NOT IN ('resolved', 'closed');

-- The weight of each priority in an agent's load. Empty at installation: the defaults below apply
-- (low 1, normal 2, high 3, urgent 4); a row overrides its priority's default.
CREATE TABLE @extschema@.ticket_priority_weights (
    priority  text PRIMARY KEY CONSTRAINT ticket_priority_weights_priority_valid
              CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    weight    integer NOT NULL CONSTRAINT ticket_priority_weights_weight_positive CHECK (weight > 0)
);
COMMENT ON TABLE @extschema@.ticket_priority_weights IS
    'Routing: how much an open ticket of each priority adds to its assignee''s load, compared with users.capacity. A priority without a row weighs its default: low 1, normal 2, high 3, urgent 4.';

-- The round-robin position: the agent who got the last routed ticket. Its row lock serialises
-- routing (every assignment and every look at the queue), which keeps agents within capacity.
CREATE TABLE @extschema@.ticket_routing_pointer (
    singleton     boolean PRIMARY KEY DEFAULT true CONSTRAINT ticket_routing_pointer_singleton CHECK (singleton),
    -- no foreign key: a user deleted or truncated away leaves a harmless id (the next agent after it)
    last_user_id  bigint
);
COMMENT ON TABLE @extschema@.ticket_routing_pointer IS
    'Round-robin ticket routing: the agent who got the last routed ticket (one row, written only by routing; its row lock serialises routing).';
INSERT INTO @extschema@.ticket_routing_pointer (singleton) VALUES (true);

-- (no SET search_path, every name qualified: the planner inlines it into the load sums)
CREATE FUNCTION @extschema@.ticket_priority_weight(priority text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT w.weight FROM @extschema@.ticket_priority_weights w
                     WHERE w.priority OPERATOR(pg_catalog.=) ticket_priority_weight.priority),
                    CASE WHEN priority OPERATOR(pg_catalog.=) 'low' THEN 1 WHEN priority OPERATOR(pg_catalog.=) 'normal' THEN 2
                         WHEN priority OPERATOR(pg_catalog.=) 'high' THEN 3 WHEN priority OPERATOR(pg_catalog.=) 'urgent' THEN 4 END)
$$;
COMMENT ON FUNCTION @extschema@.ticket_priority_weight(text) IS
    'The routing weight of an open ticket of the priority: its row of crm.ticket_priority_weights, else the default (low 1, normal 2, high 3, urgent 4).';
REVOKE EXECUTE ON FUNCTION @extschema@.ticket_priority_weight(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ticket_priority_weight(text)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- Each agent's load now: open tickets and their summed weights against capacity.
CREATE VIEW @extschema@.agent_loads WITH (security_invoker = true) AS
SELECT u.user_id, u.team, u.shift_calendar_id, u.skills, u.capacity,
       count(t.ticket_id)::integer AS open_tickets,
       coalesce(sum(@extschema@.ticket_priority_weight(t.priority)), 0)::integer AS load
FROM @extschema@.users u
LEFT JOIN @extschema@.tickets t ON t.assignee_id = u.user_id AND t.status NOT IN ('resolved', 'closed')
WHERE u.active AND u.shift_calendar_id IS NOT NULL
GROUP BY u.user_id;
COMMENT ON VIEW @extschema@.agent_loads IS
    'Routing agents (active staff with a shift calendar): open tickets assigned to them that the caller sees (row-level security applies), and their load (summed priority weights) against capacity.';
GRANT SELECT ON @extschema@.agent_loads TO crm_admin, crm_manager, crm_support, crm_analyst;

-- The agents who may take a ticket at `at`: active, with a shift calendar open at that instant;
-- their skills, capacity and load (the summed weights of their open tickets). The one definition
-- of an available agent, used by the choice and by the queue. (No SET search_path, every name
-- qualified: the planner inlines it.)
CREATE FUNCTION @extschema@.routing_agents(at timestamptz)
RETURNS TABLE (user_id bigint, skills text[], capacity integer, load bigint)
LANGUAGE sql STABLE AS $$
    -- the loads in one grouped pass over the open tickets (the partial index on assignee and
    -- priority), each priority weighed once (crm.ticket_priority_weight is not inlined: its
    -- subquery): a subquery per agent ran twice per agent (filter and order), and a weight per
    -- agent and priority, and cost routing about 2 ms per ticket with 50 agents
    WITH per_priority AS MATERIALIZED (
        SELECT t.assignee_id, t.priority, count(*) AS n
        FROM @extschema@.tickets t
        WHERE t.assignee_id IS NOT NULL AND t.status NOT IN ('resolved', 'closed')
        GROUP BY t.assignee_id, t.priority
    ), weights AS MATERIALIZED (
        SELECT p.priority, @extschema@.ticket_priority_weight(p.priority) AS weight
        FROM (SELECT DISTINCT pp.priority FROM per_priority pp) p
    ), loads AS (
        SELECT pp.assignee_id, sum(pp.n OPERATOR(pg_catalog.*) w.weight) AS load
        FROM per_priority pp JOIN weights w ON w.priority OPERATOR(pg_catalog.=) pp.priority
        GROUP BY pp.assignee_id
    )
    SELECT u.user_id, u.skills, u.capacity, coalesce(l.load, 0)::bigint
    FROM @extschema@.users u
    LEFT JOIN loads l ON l.assignee_id OPERATOR(pg_catalog.=) u.user_id
    WHERE u.active AND u.shift_calendar_id IS NOT NULL
      AND @extschema@.business_time(u.shift_calendar_id, at, at OPERATOR(pg_catalog.+) interval '1 microsecond')
          OPERATOR(pg_catalog.>) interval '0'
$$;
COMMENT ON FUNCTION @extschema@.routing_agents(timestamptz) IS
    'The agents available at `at` (active, shift calendar open at that instant) with their skills, capacity and load (summed priority weights of their open tickets), read with the caller''s rights.';
REVOKE EXECUTE ON FUNCTION @extschema@.routing_agents(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.routing_agents(timestamptz) TO crm_admin, crm_manager, crm_support;

-- The choice, under the routing lock: among active agents on shift at `at` with every skill, whose
-- load plus the ticket's weight stays within capacity, the lowest load / capacity; among equals,
-- the first after the last one chosen (by user_id, wrapping around), as lead assignment does
-- (crm.lead_scoring_next_assignee). Records the choice. NULL when nobody qualifies. Called only by
-- the routing functions below (which run as the extension's owner).
CREATE FUNCTION @extschema@.route_choose_agent(required text[], ticket_weight integer, at timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    previous bigint;
    chosen bigint;
BEGIN
    SELECT p.last_user_id INTO previous FROM @extschema@.ticket_routing_pointer p FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO @extschema@.ticket_routing_pointer (singleton) VALUES (true) ON CONFLICT DO NOTHING;
        SELECT p.last_user_id INTO previous FROM @extschema@.ticket_routing_pointer p FOR UPDATE;
    END IF;
    SELECT a.user_id INTO chosen
    FROM @extschema@.routing_agents(at) a
    WHERE a.skills OPERATOR(pg_catalog.@>) required
      AND a.load OPERATOR(pg_catalog.+) ticket_weight OPERATOR(pg_catalog.<=) a.capacity
    ORDER BY a.load::numeric OPERATOR(pg_catalog./) a.capacity,
             a.user_id OPERATOR(pg_catalog.<=) coalesce(previous, 0), a.user_id
    LIMIT 1;
    IF chosen IS NOT NULL THEN
        UPDATE @extschema@.ticket_routing_pointer SET last_user_id = chosen;
    END IF;
    RETURN chosen;
END
$$;
COMMENT ON FUNCTION @extschema@.route_choose_agent(text[], integer, timestamptz) IS
    'Routing''s choice under its lock: the active agent on shift at `at` with all the required skills and room for the weight, of lowest load / capacity, round robin among equals (recorded in crm.ticket_routing_pointer); NULL when none.';
REVOKE EXECUTE ON FUNCTION @extschema@.route_choose_agent(text[], integer, timestamptz) FROM PUBLIC;

-- True when some active agent has a shift calendar: otherwise routing does nothing (and takes no lock).
CREATE FUNCTION @extschema@.routing_enabled() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM @extschema@.users u WHERE u.active AND u.shift_calendar_id IS NOT NULL)
$$;
COMMENT ON FUNCTION @extschema@.routing_enabled() IS
    'True when some active staff member has a shift calendar (routing has agents).';
REVOKE EXECUTE ON FUNCTION @extschema@.routing_enabled() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.routing_enabled() TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- The queue: open tickets of assignees who left (inactive) are released first; then every open
-- unassigned ticket, highest weight first, then oldest, gets an agent if one qualifies at `at`.
-- Runs as the extension's owner (SECURITY DEFINER): routing reads every agent's load and writes
-- the round-robin pointer, which no staff role writes; it is granted to the roles that may update
-- every ticket anyway (admins, managers, support), and assigns only tickets nobody holds.
CREATE FUNCTION @extschema@.route_queued_tickets(at timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q record;
    chosen bigint;
    assigned integer := 0;
    running text;
    room bigint;
BEGIN
    IF at IS NULL THEN
        RAISE EXCEPTION 'the routing instant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT @extschema@.routing_enabled() THEN
        RETURN 0;
    END IF;
    -- the routing lock first: assignments are serialised, and a ticket queued by a transaction
    -- still running is seen once it commits
    PERFORM FROM @extschema@.ticket_routing_pointer FOR UPDATE;
    running := pg_catalog.current_setting('crm.routing_running', true);
    PERFORM pg_catalog.set_config('crm.routing_running', 'on', true);
    UPDATE @extschema@.tickets t SET assignee_id = NULL
    FROM @extschema@.users u
    WHERE u.user_id OPERATOR(pg_catalog.=) t.assignee_id AND NOT u.active
      AND t.status NOT IN ('resolved', 'closed');
    -- the most room any available agent has: a heavier ticket waits without a look at the agents
    SELECT max(a.capacity OPERATOR(pg_catalog.-) a.load) INTO room FROM @extschema@.routing_agents(at) a;
    FOR q IN
        SELECT t.ticket_id, t.required_skills, @extschema@.ticket_priority_weight(t.priority) AS weight
        FROM @extschema@.tickets t
        WHERE t.assignee_id IS NULL AND t.status NOT IN ('resolved', 'closed')
        ORDER BY 3 DESC, t.opened_at, t.ticket_id
        FOR UPDATE OF t SKIP LOCKED
    LOOP
        EXIT WHEN room IS NULL OR room OPERATOR(pg_catalog.<) 1;
        CONTINUE WHEN q.weight OPERATOR(pg_catalog.>) room;
        chosen := @extschema@.route_choose_agent(q.required_skills, q.weight, at);
        IF chosen IS NOT NULL THEN
            UPDATE @extschema@.tickets SET assignee_id = chosen
            WHERE ticket_id OPERATOR(pg_catalog.=) q.ticket_id AND assignee_id IS NULL;
            assigned := assigned + 1;
            SELECT max(a.capacity OPERATOR(pg_catalog.-) a.load) INTO room FROM @extschema@.routing_agents(at) a;
        END IF;
    END LOOP;
    PERFORM pg_catalog.set_config('crm.routing_running', coalesce(running, ''), true);
    RETURN assigned;
END
$$;
COMMENT ON FUNCTION @extschema@.route_queued_tickets(timestamptz) IS
    'Releases the open tickets of inactive assignees, then routes every open unassigned ticket (highest priority weight first, then oldest) to an agent qualifying at `at` (default now()); returns how many it assigned. Call it when agents come on shift (pg_cron) or after deactivating one; closing or reassigning a ticket calls it.';
REVOKE EXECUTE ON FUNCTION @extschema@.route_queued_tickets(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.route_queued_tickets(timestamptz) TO crm_admin, crm_manager, crm_support;

-- Trigger: a new open ticket without an assignee is routed before it is written (so the SLA
-- trigger after it sees the assignee). SECURITY DEFINER: the choice reads every agent's load and
-- writes the pointer, and must not depend on what the writer sees; it only sets the new row's
-- assignee, which the writer may set anyway.
CREATE FUNCTION @extschema@.tickets_route_new() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID <> '@extschema@.tickets'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function tickets_route_new() fires only on @extschema@.tickets, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF @extschema@.routing_enabled() THEN
        NEW.assignee_id := @extschema@.route_choose_agent(NEW.required_skills,
                                                          @extschema@.ticket_priority_weight(NEW.priority), now());
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.tickets_route_new() IS
    'Trigger: routes a new open ticket without an assignee (crm.route_choose_agent at now()); it stays unassigned (queued) when nobody qualifies.';
REVOKE EXECUTE ON FUNCTION @extschema@.tickets_route_new() FROM PUBLIC;
CREATE TRIGGER tickets_route_new BEFORE INSERT ON @extschema@.tickets
    FOR EACH ROW WHEN (NEW.assignee_id IS NULL AND NEW.status NOT IN ('resolved', 'closed') AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.tickets_route_new();

-- Trigger: after a statement that freed load (an assigned open ticket closed, reassigned,
-- unassigned, lowered in priority or deleted), the queue is routed at now().
CREATE FUNCTION @extschema@.tickets_route_freed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID <> '@extschema@.tickets'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function tickets_route_freed() fires only on @extschema@.tickets, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    -- crm.route_queued_tickets' own updates (releasing, assigning) route nothing more
    IF pg_catalog.current_setting('crm.routing_running', true) OPERATOR(pg_catalog.=) 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (SELECT FROM old_rows o JOIN new_rows n ON n.ticket_id OPERATOR(pg_catalog.=) o.ticket_id
                       WHERE o.assignee_id IS NOT NULL AND o.status NOT IN ('resolved', 'closed')
                         AND (n.status IN ('resolved', 'closed') OR n.assignee_id IS DISTINCT FROM o.assignee_id
                              OR n.priority OPERATOR(pg_catalog.<>) o.priority)) THEN
            RETURN NULL;
        END IF;
    ELSIF NOT EXISTS (SELECT FROM old_rows o WHERE o.assignee_id IS NOT NULL AND o.status NOT IN ('resolved', 'closed')) THEN
        RETURN NULL;
    END IF;
    PERFORM @extschema@.route_queued_tickets(now());
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.tickets_route_freed() IS
    'Trigger: after an update or delete that freed an agent''s load (an assigned open ticket closed, reassigned, unassigned, reprioritised or deleted), routes the queue (crm.route_queued_tickets(now())).';
REVOKE EXECUTE ON FUNCTION @extschema@.tickets_route_freed() FROM PUBLIC;
CREATE TRIGGER tickets_route_freed_update AFTER UPDATE ON @extschema@.tickets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.tickets_route_freed();
CREATE TRIGGER tickets_route_freed_delete AFTER DELETE ON @extschema@.tickets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.tickets_route_freed();

-- Privileges and pg_dump: every staff role reads the weights and the pointer; admins write the
-- weights; only routing writes the pointer.
GRANT SELECT ON @extschema@.ticket_priority_weights, @extschema@.ticket_routing_pointer
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.ticket_priority_weights TO crm_admin;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ticket_priority_weights', '');
