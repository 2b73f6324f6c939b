-- src/journeys.sql: triggered journeys. A journey is a sequence of steps (wait, wait for an event,
-- send a message through an outbox, branch on an event or a segment) that a contact enters on an
-- event (signup, first purchase, an NPS detractor answer, entering a segment, or any event an
-- application or a list function records). crm.run_journeys(now) enrolls and advances contacts,
-- logs every step taken, and hands messages to crm.journey_outbox, which an external sender
-- drains: nothing is sent from the database. docs/journeys.md.

-- ---------------------------------------------------------------------------------------------
-- Configuration: journeys and their steps (admins and managers write, staff read).
CREATE TABLE @extschema@.journeys (
    journey_id        bigserial PRIMARY KEY,
    name              text NOT NULL CONSTRAINT journeys_name_key UNIQUE
                      CONSTRAINT journeys_name_not_blank CHECK (btrim(name) <> ''),
    active            boolean NOT NULL DEFAULT true,
    -- entry: an event of this name (NULL: only crm.journey_enqueue); 'segment_entered' with a segment
    entry_event       text CONSTRAINT journeys_entry_event_valid
                      CHECK (entry_event ~ '^[a-z][a-z0-9_]{0,62}$' AND entry_event <> 'enqueued'),
    entry_segment_id  bigint CONSTRAINT journeys_entry_segment_fkey REFERENCES @extschema@.segments ON DELETE RESTRICT,
    -- events before this instant never enter (a new journey does not enroll the past)
    enroll_from       timestamptz NOT NULL DEFAULT now(),
    reentry           text NOT NULL DEFAULT 'never' CONSTRAINT journeys_reentry_valid
                      CHECK (reentry IN ('never', 'after', 'always')),
    reentry_after     interval CONSTRAINT journeys_reentry_after_positive CHECK (reentry_after > '0'),
    -- exit: an event of this name after entry, or (segment journeys) leaving the segment
    exit_event        text CONSTRAINT journeys_exit_event_valid CHECK (exit_event ~ '^[a-z][a-z0-9_]{0,62}$'),
    exit_on_segment_leave boolean NOT NULL DEFAULT false,
    description       text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT journeys_segment_entry CHECK ((entry_event = 'segment_entered') = (entry_segment_id IS NOT NULL)),
    CONSTRAINT journeys_reentry_after_set CHECK ((reentry = 'after') = (reentry_after IS NOT NULL)),
    CONSTRAINT journeys_segment_leave CHECK (NOT exit_on_segment_leave OR entry_segment_id IS NOT NULL)
);
CREATE INDEX journeys_entry_segment_id_idx ON @extschema@.journeys (entry_segment_id);
CREATE TRIGGER journeys_touch_updated_at BEFORE UPDATE ON @extschema@.journeys
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();
COMMENT ON TABLE @extschema@.journeys IS
    'Triggered journeys: entered on entry_event (signup, first_purchase, detractor, segment_entered with entry_segment_id, any recorded event; NULL: only by crm.journey_enqueue) at or after enroll_from; re-entry never, after reentry_after since the last entry, or always (never while still in it); left on exit_event after entry or, if exit_on_segment_leave, on leaving the entry segment. Steps in crm.journey_steps.';

CREATE TABLE @extschema@.journey_steps (
    journey_id     bigint NOT NULL CONSTRAINT journey_steps_journey_fkey
                   REFERENCES @extschema@.journeys ON DELETE CASCADE,
    position       integer NOT NULL CONSTRAINT journey_steps_position_positive CHECK (position > 0),
    kind           text NOT NULL CONSTRAINT journey_steps_kind_valid
                   CHECK (kind IN ('wait', 'wait_event', 'send', 'branch')),
    -- wait: how long; wait_event: the timeout
    wait_for       interval CONSTRAINT journey_steps_wait_for_positive CHECK (wait_for > '0'),
    -- wait_event: the event awaited; branch: the event that must have occurred since entry
    event          text CONSTRAINT journey_steps_event_valid CHECK (event ~ '^[a-z][a-z0-9_]{0,62}$'),
    -- branch: membership of this segment at the step's instant
    segment_id     bigint CONSTRAINT journey_steps_segment_fkey REFERENCES @extschema@.segments ON DELETE RESTRICT,
    -- branch: where to go when the condition holds (NULL: the next step) and when not (NULL: the end)
    then_position  integer,
    else_position  integer,
    -- send: the channel (its consent purpose: email marketing_email, sms marketing_sms, phone
    -- marketing_phone), the sender's template and the data handed to it
    channel        text CONSTRAINT journey_steps_channel_valid CHECK (channel IN ('email', 'sms', 'phone')),
    template       text CONSTRAINT journey_steps_template_not_blank CHECK (btrim(template) <> ''),
    payload        jsonb NOT NULL DEFAULT '{}' CONSTRAINT journey_steps_payload_object CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT journey_steps_pkey PRIMARY KEY (journey_id, position),
    CONSTRAINT journey_steps_forward CHECK (then_position > position AND else_position > position),
    CONSTRAINT journey_steps_kind_fields CHECK (CASE kind
        WHEN 'wait' THEN wait_for IS NOT NULL AND num_nulls(event, segment_id, then_position, else_position, channel, template) = 6
        WHEN 'wait_event' THEN wait_for IS NOT NULL AND event IS NOT NULL
                               AND num_nulls(segment_id, then_position, else_position, channel, template) = 5
        WHEN 'send' THEN channel IS NOT NULL AND template IS NOT NULL
                         AND num_nulls(wait_for, event, segment_id, then_position, else_position) = 5
        ELSE num_nonnulls(event, segment_id) = 1 AND num_nulls(wait_for, channel, template) = 3 END)
);
CREATE INDEX journey_steps_segment_id_idx ON @extschema@.journey_steps (segment_id);
COMMENT ON TABLE @extschema@.journey_steps IS
    'The steps of a journey, in position order: wait (wait_for), wait_event (event, or wait_for elapses), send (an outbox message on channel with template and payload, only with consent for the channel''s purpose at that instant, else skipped), branch (event since entry, or membership of segment_id: then then_position, NULL the next step; else else_position, NULL the end). Branches only go forward.';

-- ---------------------------------------------------------------------------------------------
-- Events, enrollments, the step log and the outbox: rows of a contact.
CREATE TABLE @extschema@.journey_events (
    event_id            bigserial PRIMARY KEY,
    contact_id          bigint NOT NULL CONSTRAINT journey_events_contact_fkey
                        REFERENCES @extschema@.contacts ON DELETE CASCADE,
    event               text NOT NULL CONSTRAINT journey_events_event_valid CHECK (event ~ '^[a-z][a-z0-9_]{0,62}$'),
    -- 'enqueued': the journey to enter (crm.journey_enqueue)
    journey_id          bigint CONSTRAINT journey_events_journey_fkey REFERENCES @extschema@.journeys ON DELETE CASCADE,
    -- 'segment_entered': the segment and the stay (crm.segment_membership_history), by run_journeys
    segment_id          bigint CONSTRAINT journey_events_segment_fkey REFERENCES @extschema@.segments ON DELETE CASCADE,
    segment_history_id  bigint CONSTRAINT journey_events_segment_history_key UNIQUE,
    occurred_at         timestamptz NOT NULL,
    details             jsonb NOT NULL DEFAULT '{}',
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    recorded_by         name NOT NULL DEFAULT current_user,
    -- set by the run of crm.run_journeys that considered it for entry
    processed_at        timestamptz,
    CONSTRAINT journey_events_enqueued CHECK ((event = 'enqueued') = (journey_id IS NOT NULL)),
    CONSTRAINT journey_events_segment CHECK ((event = 'segment_entered') = (segment_id IS NOT NULL AND segment_history_id IS NOT NULL))
);
CREATE INDEX journey_events_contact_idx ON @extschema@.journey_events (contact_id, event, occurred_at);
CREATE INDEX journey_events_pending_idx ON @extschema@.journey_events (occurred_at, event_id) WHERE processed_at IS NULL;
CREATE INDEX journey_events_journey_id_idx ON @extschema@.journey_events (journey_id);
CREATE INDEX journey_events_segment_id_idx ON @extschema@.journey_events (segment_id);
COMMENT ON TABLE @extschema@.journey_events IS
    'Events of contacts that journeys enter, wait and branch on, and exit by: signup, purchase, first_purchase, detractor (recorded by triggers), segment_entered (by crm.run_journeys from the segment history), enqueued (crm.journey_enqueue: enter journey_id) and any other (crm.journey_event). processed_at: when a run considered it for entry.';

CREATE TABLE @extschema@.journey_enrollments (
    enrollment_id    bigserial PRIMARY KEY,
    journey_id       bigint NOT NULL CONSTRAINT journey_enrollments_journey_fkey
                     REFERENCES @extschema@.journeys ON DELETE CASCADE,
    contact_id       bigint NOT NULL CONSTRAINT journey_enrollments_contact_fkey
                     REFERENCES @extschema@.contacts ON DELETE CASCADE,
    entry            integer NOT NULL CONSTRAINT journey_enrollments_entry_positive CHECK (entry > 0),
    event_id         bigint CONSTRAINT journey_enrollments_event_fkey REFERENCES @extschema@.journey_events ON DELETE SET NULL,
    entered_at       timestamptz NOT NULL,
    -- the next step to take (the first of position >= this one) and since when the contact is at it
    position         integer NOT NULL,
    step_started_at  timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'active' CONSTRAINT journey_enrollments_status_valid
                     CHECK (status IN ('active', 'completed', 'exited')),
    finished_at      timestamptz,
    exit_reason      text CONSTRAINT journey_enrollments_exit_reason_valid CHECK (exit_reason IN ('event', 'segment_left')),
    CONSTRAINT journey_enrollments_entry_key UNIQUE (journey_id, contact_id, entry),
    CONSTRAINT journey_enrollments_finished CHECK ((status = 'active') = (finished_at IS NULL)
                                                   AND (status = 'exited') = (exit_reason IS NOT NULL))
);
CREATE UNIQUE INDEX journey_enrollments_active_key ON @extschema@.journey_enrollments (journey_id, contact_id) WHERE status = 'active';
CREATE INDEX journey_enrollments_contact_idx ON @extschema@.journey_enrollments (contact_id);
CREATE INDEX journey_enrollments_event_id_idx ON @extschema@.journey_enrollments (event_id);
CREATE INDEX journey_enrollments_due_idx ON @extschema@.journey_enrollments (enrollment_id) WHERE status = 'active';
COMMENT ON TABLE @extschema@.journey_enrollments IS
    'Each entry of a contact into a journey (entry: 1, 2, ... per journey and contact), the event that caused it, where the contact stands (the next step position, since step_started_at), and how it ended (completed, or exited on the exit event or by leaving the segment). Written only by crm.run_journeys.';

CREATE TABLE @extschema@.journey_step_log (
    enrollment_id  bigint NOT NULL CONSTRAINT journey_step_log_enrollment_fkey
                   REFERENCES @extschema@.journey_enrollments ON DELETE CASCADE,
    position       integer NOT NULL,
    journey_id     bigint NOT NULL CONSTRAINT journey_step_log_journey_fkey REFERENCES @extschema@.journeys ON DELETE CASCADE,
    contact_id     bigint NOT NULL CONSTRAINT journey_step_log_contact_fkey REFERENCES @extschema@.contacts ON DELETE CASCADE,
    kind           text NOT NULL,
    outcome        text NOT NULL CONSTRAINT journey_step_log_outcome_valid
                   CHECK (outcome IN ('waited', 'event', 'timeout', 'queued', 'skipped', 'yes', 'no')),
    at             timestamptz NOT NULL,
    run_at         timestamptz NOT NULL,
    message_id     bigint,
    CONSTRAINT journey_step_log_pkey PRIMARY KEY (enrollment_id, position)
);
CREATE INDEX journey_step_log_journey_idx ON @extschema@.journey_step_log (journey_id, position);
CREATE INDEX journey_step_log_contact_id_idx ON @extschema@.journey_step_log (contact_id);
COMMENT ON TABLE @extschema@.journey_step_log IS
    'Every step a contact took, once per entry and step (the key that makes runs idempotent): the outcome (waited; event or timeout; queued or skipped for lack of consent; yes or no), the instant it took effect (at: the step''s own time, which a catching-up run reconstructs) and the run that took it.';

CREATE TABLE @extschema@.journey_outbox (
    message_id     bigserial PRIMARY KEY,
    enrollment_id  bigint NOT NULL CONSTRAINT journey_outbox_enrollment_fkey
                   REFERENCES @extschema@.journey_enrollments ON DELETE CASCADE,
    position       integer NOT NULL,
    journey_id     bigint NOT NULL CONSTRAINT journey_outbox_journey_fkey REFERENCES @extschema@.journeys ON DELETE CASCADE,
    contact_id     bigint NOT NULL CONSTRAINT journey_outbox_contact_fkey REFERENCES @extschema@.contacts ON DELETE CASCADE,
    channel        text NOT NULL,
    template       text NOT NULL,
    payload        jsonb NOT NULL,
    queued_at      timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'pending' CONSTRAINT journey_outbox_status_valid
                   CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts       integer NOT NULL DEFAULT 0,
    claimed_at     timestamptz,
    claimed_by     text,
    sent_at        timestamptz,
    last_error     text,
    CONSTRAINT journey_outbox_once UNIQUE (enrollment_id, position)
);
CREATE INDEX journey_outbox_pending_idx ON @extschema@.journey_outbox (message_id) WHERE status IN ('pending', 'sending');
CREATE INDEX journey_outbox_journey_id_idx ON @extschema@.journey_outbox (journey_id);
CREATE INDEX journey_outbox_contact_id_idx ON @extschema@.journey_outbox (contact_id);
COMMENT ON TABLE @extschema@.journey_outbox IS
    'Messages the journeys hand to an external sender, one per entry and send step: channel, template, payload (the step''s, with journey, contact and message ids), queued_at. The sender claims pending ones (crm.claim_journey_messages: FOR UPDATE SKIP LOCKED), sends, and marks them sent or failed (crm.finish_journey_message).';

-- ---------------------------------------------------------------------------------------------
-- Capturing events: triggers on contacts (signup), orders (purchase, once per order, when it
-- becomes one of crm.purchases; first_purchase when the contact has no other) and survey answers (detractor: NPS 0 to 6). SECURITY
-- DEFINER: they write crm.journey_events, for the row being written, whoever writes it.
CREATE FUNCTION @extschema@.journey_capture_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass THEN
        INSERT INTO @extschema@.journey_events (contact_id, event, occurred_at)
        VALUES (NEW.contact_id, 'signup', NEW.created_at);
    ELSIF TG_RELID OPERATOR(pg_catalog.=) '@extschema@.survey_responses'::pg_catalog.regclass THEN
        IF NEW.kind OPERATOR(pg_catalog.=) 'nps' AND NEW.score OPERATOR(pg_catalog.<=) 6 THEN
            INSERT INTO @extschema@.journey_events (contact_id, event, occurred_at, details)
            VALUES (NEW.contact_id, 'detractor', NEW.responded_at,
                    pg_catalog.jsonb_build_object('response_id', NEW.response_id, 'score', NEW.score));
        END IF;
    ELSE
        RAISE EXCEPTION 'trigger function journey_capture_event() fires only on contacts and survey_responses of @extschema@, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.journey_capture_event() IS
    'Trigger: records journey events: signup (a new contact, at created_at), detractor (an NPS answer 0-6, at responded_at). Purchases: crm.journey_capture_purchases().';
REVOKE EXECUTE ON FUNCTION @extschema@.journey_capture_event() FROM PUBLIC;
CREATE TRIGGER journey_contacts_signup AFTER INSERT ON @extschema@.contacts
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.journey_capture_event();

-- Purchases, set-wise: an order inserted as a purchase (crm.purchases: paid or shipped), or updated
-- so that its status changes and it is one, records a purchase event once per order, at ordered_at;
-- and a first_purchase for the contact's first: when the contact has no purchase but those the
-- statement recorded, for the earliest of them by (ordered_at, order_id) (a row trigger, which saw
-- the whole statement's orders, recorded none when one statement paid two orders of a new
-- customer). One
-- statement-level trigger per kind of statement, over its transition tables: a bulk change looks
-- each order up once, through the indexes (a row trigger looked crm.journey_events up once per
-- order with a plan cached while the table was small, a sequential scan of the table the same
-- statement was filling: an UPDATE paying 112,000 orders took 24 minutes). Planned at each
-- statement (force_custom_plan), for the table's size then; no part of the query is a correlated
-- scan of another (the rank and number of a contact's new purchases by window functions).
CREATE FUNCTION @extschema@.journey_capture_purchases() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) '@extschema@.orders'::pg_catalog.regclass OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION 'trigger function journey_capture_purchases() fires only for statements on @extschema@.orders, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    -- the orders the statement inserted, or whose status it changed
    IF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
        SELECT pg_catalog.array_agg(n.order_id) INTO ids FROM new_orders n;
    ELSE
        SELECT pg_catalog.array_agg(n.order_id) INTO ids
        FROM new_orders n JOIN old_orders o ON o.order_id OPERATOR(pg_catalog.=) n.order_id
        WHERE o.status IS DISTINCT FROM n.status;
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    -- of those, the purchases without a purchase event, each with its rank among the contact's
    -- (ordered_at, order_id) and their number; a first purchase: the first of them, when the
    -- contact has no purchase besides them (bought is a part of crm.purchases: as many)
    WITH bought AS (
        SELECT p.order_id, p.contact_id, p.ordered_at,
               pg_catalog.row_number() OVER w AS nth,
               pg_catalog.count(*) OVER (PARTITION BY p.contact_id) AS recorded
        FROM pg_catalog.unnest(ids) i (order_id)
        JOIN @extschema@.purchases p ON p.order_id OPERATOR(pg_catalog.=) i.order_id
        WHERE NOT EXISTS (SELECT FROM @extschema@.journey_events e
                          WHERE e.contact_id OPERATOR(pg_catalog.=) p.contact_id AND e.event OPERATOR(pg_catalog.=) 'purchase'
                            AND e.details OPERATOR(pg_catalog.->>) 'order_id' OPERATOR(pg_catalog.=) p.order_id::text)
        WINDOW w AS (PARTITION BY p.contact_id ORDER BY p.ordered_at, p.order_id)
    )
    INSERT INTO @extschema@.journey_events (contact_id, event, occurred_at, details)
    SELECT b.contact_id, x.event, b.ordered_at, pg_catalog.jsonb_build_object('order_id', b.order_id)
    FROM bought b
    CROSS JOIN LATERAL (VALUES ('purchase'::text, 1), ('first_purchase', 2)) x (event, k)
    WHERE CASE WHEN x.k OPERATOR(pg_catalog.=) 1 THEN true
               WHEN b.nth OPERATOR(pg_catalog.<>) 1 THEN false
               ELSE (SELECT pg_catalog.count(*) FROM @extschema@.purchases p
                     WHERE p.contact_id OPERATOR(pg_catalog.=) b.contact_id) OPERATOR(pg_catalog.=) b.recorded END
    ORDER BY b.order_id, x.k;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.journey_capture_purchases() IS
    'Trigger (statement level, on crm.orders): records a purchase event (once per order, at ordered_at) for each order inserted as, or changing status into, one of crm.purchases, and first_purchase for the earliest of them (ordered_at, order_id) of a contact with no other purchase.';
REVOKE EXECUTE ON FUNCTION @extschema@.journey_capture_purchases() FROM PUBLIC;
CREATE TRIGGER journey_orders_purchase AFTER INSERT ON @extschema@.orders
    REFERENCING NEW TABLE AS new_orders
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.journey_capture_purchases();
CREATE TRIGGER journey_orders_purchase_update AFTER UPDATE ON @extschema@.orders
    REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.journey_capture_purchases();
CREATE TRIGGER journey_survey_detractor AFTER INSERT ON @extschema@.survey_responses
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.journey_capture_event();

-- Recording an event or an entry: invoker rights, under the caller's insert grant and policy.
CREATE FUNCTION @extschema@.journey_event(contact_id bigint, event text, at timestamptz DEFAULT now(),
                                          details jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id bigint;
BEGIN
    IF contact_id IS NULL OR event IS NULL OR at IS NULL THEN
        RAISE EXCEPTION 'journey_event: contact, event and instant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF event !~ '^[a-z][a-z0-9_]{0,62}$' OR event IN ('enqueued', 'segment_entered') THEN
        RAISE EXCEPTION 'journey_event: invalid event name "%"', event USING ERRCODE = 'invalid_parameter_value',
            HINT = 'An event name is 1 to 63 lower-case letters, digits and underscores, starting with a letter; enqueued and segment_entered are recorded by crm.journey_enqueue and crm.run_journeys.';
    END IF;
    IF NOT isfinite(at) OR at > pg_catalog.clock_timestamp() THEN
        RAISE EXCEPTION 'journey_event: the instant % is not a finite past instant', at USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = journey_event.contact_id) THEN
        RAISE EXCEPTION 'journey_event: contact % does not exist or is not visible to you', contact_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.journey_events (contact_id, event, occurred_at, details)
    VALUES (journey_event.contact_id, journey_event.event, journey_event.at, coalesce(journey_event.details, '{}'))
    RETURNING event_id INTO new_id;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.journey_event(bigint, text, timestamptz, jsonb) IS
    'Records an event of a contact the caller sees (any name but enqueued and segment_entered, at a past instant, default now) for journeys to enter, wait, branch or exit on; returns its event_id. 22004 NULL argument, 22023 bad name, future instant, unknown or invisible contact.';

CREATE FUNCTION @extschema@.journey_enqueue(journey_id bigint, contact_id bigint, at timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id bigint;
BEGIN
    IF journey_id IS NULL OR contact_id IS NULL OR at IS NULL THEN
        RAISE EXCEPTION 'journey_enqueue: journey, contact and instant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT isfinite(at) OR at > pg_catalog.clock_timestamp() THEN
        RAISE EXCEPTION 'journey_enqueue: the instant % is not a finite past instant', at USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.journeys j WHERE j.journey_id = journey_enqueue.journey_id) THEN
        RAISE EXCEPTION 'journey_enqueue: journey % does not exist', journey_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = journey_enqueue.contact_id) THEN
        RAISE EXCEPTION 'journey_enqueue: contact % does not exist or is not visible to you', contact_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.journey_events (contact_id, event, journey_id, occurred_at)
    VALUES (journey_enqueue.contact_id, 'enqueued', journey_enqueue.journey_id, journey_enqueue.at)
    RETURNING event_id INTO new_id;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.journey_enqueue(bigint, bigint, timestamptz) IS
    'Asks for a contact the caller sees to enter a journey at a past instant (default now), subject to its re-entry rule, at the next crm.run_journeys (the entry point for lists such as an at-risk list); returns the event_id. 22004 NULL argument, 22023 unknown journey, unknown or invisible contact, future instant.';

-- ---------------------------------------------------------------------------------------------
-- Running journeys.
-- Whether a contact was a member of a segment at an instant (the membership history).
CREATE FUNCTION @extschema@.journey_in_segment(segment_id bigint, contact_id bigint, at timestamptz) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM @extschema@.segment_membership_history h
                   WHERE h.segment_id = journey_in_segment.segment_id AND h.contact_id = journey_in_segment.contact_id
                     AND h.entered_at <= journey_in_segment.at
                     AND (h.left_at IS NULL OR h.left_at > journey_in_segment.at))
$$;
COMMENT ON FUNCTION @extschema@.journey_in_segment(bigint, bigint, timestamptz) IS
    'Whether the contact was a member of the segment at the instant, by crm.segment_membership_history (entered at or before it, not left by then).';

-- Takes the steps of one enrollment that are due by until, each at its own instant, logged as
-- taken by the run at run_at; returns the counts of what it did. Called by crm.run_journeys only (under its lock).
CREATE FUNCTION @extschema@.journey_advance(enrollment bigint, until timestamptz, run_at timestamptz,
                                            OUT steps integer, OUT queued integer, OUT skipped integer,
                                            OUT completed integer, OUT exited integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    en @extschema@.journey_enrollments;
    j @extschema@.journeys;
    st @extschema@.journey_steps;
    t timestamptz;
    event_at timestamptz;
    exit_at timestamptz;
    left_at timestamptz;
    reason text;
    outcome text;
    next_position integer;
    message bigint;
    guard integer := 0;
BEGIN
    steps := 0; queued := 0; skipped := 0; completed := 0; exited := 0;
    SELECT * INTO en FROM @extschema@.journey_enrollments e WHERE e.enrollment_id = enrollment AND e.status = 'active' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO j FROM @extschema@.journeys x WHERE x.journey_id = en.journey_id;
    LOOP
        guard := guard + 1;
        IF guard > 100000 THEN
            RAISE EXCEPTION 'journey_advance: enrollment % takes too many steps', enrollment USING ERRCODE = 'program_limit_exceeded';
        END IF;
        SELECT * INTO st FROM @extschema@.journey_steps s
        WHERE s.journey_id = en.journey_id AND s.position >= en.position ORDER BY s.position LIMIT 1;
        -- the instant the step is due
        event_at := NULL;
        IF st.journey_id IS NULL OR st.kind IN ('send', 'branch') THEN
            t := en.step_started_at;
        ELSIF st.kind = 'wait' THEN
            t := en.step_started_at + st.wait_for;
        ELSE
            SELECT min(e.occurred_at) INTO event_at FROM @extschema@.journey_events e
            WHERE e.contact_id = en.contact_id AND e.event = st.event
              AND e.occurred_at >= en.step_started_at
              AND e.occurred_at <= least(en.step_started_at + st.wait_for, until);
            t := coalesce(event_at, en.step_started_at + st.wait_for);
        END IF;
        -- exit conditions, as of the step's instant (or now, while waiting)
        exit_at := NULL; reason := NULL;
        IF j.exit_event IS NOT NULL THEN
            SELECT min(e.occurred_at) INTO exit_at FROM @extschema@.journey_events e
            WHERE e.contact_id = en.contact_id AND e.event = j.exit_event
              AND e.occurred_at > en.entered_at AND e.occurred_at <= least(t, until);
            reason := 'event';
        END IF;
        IF j.exit_on_segment_leave THEN
            SELECT min(h.left_at) INTO left_at FROM @extschema@.segment_membership_history h
            WHERE h.segment_id = j.entry_segment_id AND h.contact_id = en.contact_id
              AND h.entered_at <= en.entered_at AND h.left_at > en.entered_at AND h.left_at <= least(t, until);
            IF left_at IS NOT NULL AND (exit_at IS NULL OR left_at < exit_at) THEN
                exit_at := left_at;
                reason := 'segment_left';
            END IF;
        END IF;
        IF exit_at IS NOT NULL THEN
            en.status := 'exited'; en.finished_at := exit_at; en.exit_reason := reason;
            exited := 1;
            EXIT;
        END IF;
        IF st.journey_id IS NULL THEN
            en.status := 'completed'; en.finished_at := t;
            completed := 1;
            EXIT;
        END IF;
        EXIT WHEN t > until;

        -- take the step at t
        message := NULL;
        next_position := st.position + 1;
        IF st.kind = 'wait' THEN
            outcome := 'waited';
        ELSIF st.kind = 'wait_event' THEN
            outcome := CASE WHEN event_at IS NOT NULL THEN 'event' ELSE 'timeout' END;
        ELSIF st.kind = 'send' THEN
            IF @extschema@.has_consent(en.contact_id,
                   CASE st.channel WHEN 'email' THEN 'marketing_email' WHEN 'sms' THEN 'marketing_sms'
                                   ELSE 'marketing_phone' END::@extschema@.consent_purpose, t) THEN
                INSERT INTO @extschema@.journey_outbox AS o (enrollment_id, position, journey_id, contact_id, channel,
                                                             template, payload, queued_at)
                VALUES (en.enrollment_id, st.position, en.journey_id, en.contact_id, st.channel, st.template,
                        st.payload || pg_catalog.jsonb_build_object('journey_id', en.journey_id, 'contact_id', en.contact_id,
                                                                    'enrollment_id', en.enrollment_id, 'step', st.position),
                        t)
                ON CONFLICT ON CONSTRAINT journey_outbox_once DO NOTHING
                RETURNING o.message_id INTO message;
                outcome := 'queued';
                IF message IS NOT NULL THEN
                    queued := queued + 1;
                    PERFORM pg_catalog.pg_notify('crm_events', pg_catalog.json_build_object(
                        'event', 'journey_message', 'message_id', message, 'journey_id', en.journey_id,
                        'contact_id', en.contact_id, 'channel', st.channel, 'template', st.template)::text);
                END IF;
            ELSE
                outcome := 'skipped';
                skipped := skipped + 1;
            END IF;
        ELSE
            IF st.event IS NOT NULL THEN
                outcome := CASE WHEN EXISTS (SELECT FROM @extschema@.journey_events e
                                             WHERE e.contact_id = en.contact_id AND e.event = st.event
                                               AND e.occurred_at >= en.entered_at AND e.occurred_at <= t)
                                THEN 'yes' ELSE 'no' END;
            ELSE
                outcome := CASE WHEN @extschema@.journey_in_segment(st.segment_id, en.contact_id, t) THEN 'yes' ELSE 'no' END;
            END IF;
            next_position := CASE WHEN outcome = 'yes' THEN coalesce(st.then_position, st.position + 1)
                                  ELSE coalesce(st.else_position, 2147483647) END;
        END IF;
        INSERT INTO @extschema@.journey_step_log (enrollment_id, position, journey_id, contact_id, kind, outcome, at, run_at, message_id)
        VALUES (en.enrollment_id, st.position, en.journey_id, en.contact_id, st.kind, outcome, t, run_at, message)
        ON CONFLICT ON CONSTRAINT journey_step_log_pkey DO NOTHING;
        steps := steps + 1;
        en.position := next_position;
        en.step_started_at := t;
        IF next_position = 2147483647 THEN
            en.status := 'completed'; en.finished_at := t;
            completed := 1;
            EXIT;
        END IF;
    END LOOP;
    UPDATE @extschema@.journey_enrollments e
    SET position = en.position, step_started_at = en.step_started_at, status = en.status,
        finished_at = en.finished_at, exit_reason = en.exit_reason
    WHERE e.enrollment_id = en.enrollment_id;
    IF en.status <> 'active' THEN
        PERFORM pg_catalog.pg_notify('crm_events', pg_catalog.json_build_object(
            'event', 'journey_' || en.status, 'journey_id', en.journey_id, 'contact_id', en.contact_id,
            'enrollment_id', en.enrollment_id)::text);
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.journey_advance(bigint, timestamptz, timestamptz) IS
    'Takes the steps of an active enrollment that are due by until (logged as taken by the run at run_at), each at its own instant (a wait ends at its start plus wait_for, a wait_event at the event or the timeout), after checking the exit conditions as of that instant; queues messages, logs steps, completes or exits it. Used by crm.run_journeys.';

CREATE FUNCTION @extschema@.run_journeys(run_at timestamptz DEFAULT now(),
                                         OUT entered integer, OUT steps integer, OUT queued integer,
                                         OUT skipped integer, OUT completed integer, OUT exited integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e record;
    j record;
    n integer;
    r record;
    pass integer;
BEGIN
    IF run_at IS NULL OR NOT isfinite(run_at) THEN
        RAISE EXCEPTION 'run_journeys: the instant must be a finite timestamp' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- an instant to come would send early and mark future events processed before they happen
    IF run_at > pg_catalog.clock_timestamp() THEN
        RAISE EXCEPTION 'run_journeys: the instant % is in the future', run_at USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Run journeys at now() (the default) or at a past instant to catch up.';
    END IF;
    entered := 0; steps := 0; queued := 0; skipped := 0; completed := 0; exited := 0;
    -- one run at a time (a concurrent run waits, then finds this one's work done)
    PERFORM pg_catalog.pg_advisory_xact_lock(8317001900);

    -- 1. Stays in the entry segments of active journeys become events (once per stay).
    INSERT INTO @extschema@.journey_events (contact_id, event, segment_id, segment_history_id, occurred_at)
    SELECT DISTINCT ON (h.history_id) h.contact_id, 'segment_entered', h.segment_id, h.history_id, h.entered_at
    FROM @extschema@.journeys jj
    JOIN @extschema@.segment_membership_history h ON h.segment_id = jj.entry_segment_id
    WHERE jj.active AND h.entered_at >= jj.enroll_from AND h.entered_at <= run_at
    ORDER BY h.history_id
    ON CONFLICT ON CONSTRAINT journey_events_segment_history_key DO NOTHING;

    -- 2. Those already in a journey move on first (so that re-entry sees them finished).
    FOR pass IN 1 .. 2 LOOP
        IF pass = 2 THEN
            -- 3. New events, in time order, enter the journeys they trigger.
            FOR e IN
                SELECT * FROM @extschema@.journey_events x
                WHERE x.processed_at IS NULL AND x.occurred_at <= run_at
                  AND EXISTS (SELECT FROM @extschema@.journeys y
                              WHERE y.active AND y.enroll_from <= x.occurred_at
                                AND CASE WHEN x.event = 'enqueued' THEN y.journey_id = x.journey_id
                                         WHEN x.event = 'segment_entered' THEN y.entry_segment_id = x.segment_id
                                         ELSE y.entry_event = x.event END)
                ORDER BY x.occurred_at, x.event_id
            LOOP
                FOR j IN
                    SELECT * FROM @extschema@.journeys x
                    WHERE x.active AND x.enroll_from <= e.occurred_at
                      AND CASE WHEN e.event = 'enqueued' THEN x.journey_id = e.journey_id
                               WHEN e.event = 'segment_entered' THEN x.entry_segment_id = e.segment_id
                               ELSE x.entry_event = e.event END
                    ORDER BY x.journey_id
                LOOP
                    -- the contact's entry in progress first moves on to the event's instant
                    FOR r IN
                        SELECT a.* FROM @extschema@.journey_enrollments x,
                             LATERAL @extschema@.journey_advance(x.enrollment_id, e.occurred_at, run_at) a
                        WHERE x.journey_id = j.journey_id AND x.contact_id = e.contact_id AND x.status = 'active'
                    LOOP
                        steps := steps + r.steps; queued := queued + r.queued; skipped := skipped + r.skipped;
                        completed := completed + r.completed; exited := exited + r.exited;
                    END LOOP;
                    CONTINUE WHEN EXISTS (
                        SELECT FROM @extschema@.journey_enrollments x
                        WHERE x.journey_id = j.journey_id AND x.contact_id = e.contact_id
                          AND (x.status = 'active' OR j.reentry = 'never'
                               OR (j.reentry = 'after' AND x.entered_at > e.occurred_at - j.reentry_after)));
                    INSERT INTO @extschema@.journey_enrollments (journey_id, contact_id, entry, event_id, entered_at,
                                                                 position, step_started_at)
                    VALUES (j.journey_id, e.contact_id,
                            1 + (SELECT count(*) FROM @extschema@.journey_enrollments x
                                 WHERE x.journey_id = j.journey_id AND x.contact_id = e.contact_id),
                            e.event_id, e.occurred_at, 1, e.occurred_at);
                    entered := entered + 1;
                    PERFORM pg_catalog.pg_notify('crm_events', pg_catalog.json_build_object(
                        'event', 'journey_entered', 'journey_id', j.journey_id, 'contact_id', e.contact_id,
                        'event_id', e.event_id)::text);
                END LOOP;
                UPDATE @extschema@.journey_events x SET processed_at = run_at WHERE x.event_id = e.event_id;
            END LOOP;
            -- the events no journey enters on are considered too
            UPDATE @extschema@.journey_events x SET processed_at = run_at
            WHERE x.processed_at IS NULL AND x.occurred_at <= run_at;
        END IF;
        FOR r IN
            SELECT a.* FROM (SELECT x.enrollment_id FROM @extschema@.journey_enrollments x
                             WHERE x.status = 'active' ORDER BY x.enrollment_id) x,
                 LATERAL @extschema@.journey_advance(x.enrollment_id, run_at, run_at) a
        LOOP
            steps := steps + r.steps; queued := queued + r.queued; skipped := skipped + r.skipped;
            completed := completed + r.completed; exited := exited + r.exited;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.run_journeys(timestamptz) IS
    'Runs the journeys as of run_at (default now(); a past instant catches up, never a future one): turns new stays in entry segments into events, advances active enrollments, enters contacts on the events not yet processed (re-entry rules), advances again; each step at its own instant, logged once per entry and step, messages queued in crm.journey_outbox only with consent then (else skipped); NOTIFY crm_events journey_entered, journey_message, journey_completed, journey_exited. Runs are serialized; running twice does nothing twice. Returns the counts.';

-- ---------------------------------------------------------------------------------------------
-- The outbox, drained by an external sender.
CREATE FUNCTION @extschema@.claim_journey_messages(batch integer DEFAULT 100, worker text DEFAULT NULL,
                                                   stale_after interval DEFAULT '15 minutes')
RETURNS SETOF @extschema@.journey_outbox
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF batch IS NULL OR batch < 1 OR batch > 10000 THEN
        RAISE EXCEPTION 'claim_journey_messages: batch must be between 1 and 10000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF stale_after IS NULL OR stale_after <= '0' THEN
        RAISE EXCEPTION 'claim_journey_messages: stale_after must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the claimed rows materialized once: a subquery the plan could rescan would skip other rows
    -- the second time and claim more than the batch
    RETURN QUERY
    WITH claimed AS MATERIALIZED (
        SELECT x.message_id FROM @extschema@.journey_outbox x
        WHERE x.status = 'pending'
           OR (x.status = 'sending' AND x.claimed_at < pg_catalog.clock_timestamp() - stale_after)
        ORDER BY x.message_id
        LIMIT batch
        FOR UPDATE SKIP LOCKED)
    UPDATE @extschema@.journey_outbox o
    SET status = 'sending', attempts = o.attempts + 1, claimed_at = pg_catalog.clock_timestamp(), claimed_by = worker
    FROM claimed c
    WHERE o.message_id = c.message_id
    RETURNING o.*;
END
$$;
COMMENT ON FUNCTION @extschema@.claim_journey_messages(integer, text, interval) IS
    'For an external sender: claims up to batch messages (1-10000, default 100) that are pending, or sending but claimed more than stale_after ago (a sender that died), skipping rows another sender holds (FOR UPDATE SKIP LOCKED); marks them sending, counts the attempt, and returns them.';

CREATE FUNCTION @extschema@.finish_journey_message(message_id bigint, delivered boolean, error text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF message_id IS NULL OR delivered IS NULL THEN
        RAISE EXCEPTION 'finish_journey_message: message and outcome must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE @extschema@.journey_outbox o
    SET status = CASE WHEN delivered THEN 'sent' ELSE 'failed' END,
        sent_at = CASE WHEN delivered THEN pg_catalog.clock_timestamp() END,
        last_error = CASE WHEN delivered THEN NULL ELSE error END
    WHERE o.message_id = finish_journey_message.message_id AND o.status = 'sending';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'finish_journey_message: message % is not being sent', message_id USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Claim messages with crm.claim_journey_messages first.';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.finish_journey_message(bigint, boolean, text) IS
    'For an external sender: marks a claimed (sending) message sent (sent_at now) or failed (with the error). 22004 NULL argument, 55000 a message not being sent.';

-- ---------------------------------------------------------------------------------------------
-- Report: the funnel of each journey: entered, reached each step (and its outcomes), completed,
-- exited, still in it. Invoker rights: counts the enrollments of the contacts the reader sees.
CREATE VIEW @extschema@.journey_funnel WITH (security_invoker = true) AS
SELECT j.journey_id, j.name AS journey, 0 AS position, 'entered' AS stage, count(e.enrollment_id) AS contacts
FROM @extschema@.journeys j LEFT JOIN @extschema@.journey_enrollments e ON e.journey_id = j.journey_id
GROUP BY j.journey_id
UNION ALL
SELECT s.journey_id, j.name, s.position, s.kind || ': ' || o.outcome, count(l.enrollment_id)
FROM @extschema@.journey_steps s
JOIN @extschema@.journeys j ON j.journey_id = s.journey_id
CROSS JOIN LATERAL unnest(CASE s.kind WHEN 'wait' THEN ARRAY['waited'] WHEN 'wait_event' THEN ARRAY['event', 'timeout']
                                      WHEN 'send' THEN ARRAY['queued', 'skipped'] ELSE ARRAY['yes', 'no'] END) o (outcome)
LEFT JOIN @extschema@.journey_step_log l ON l.journey_id = s.journey_id AND l.position = s.position AND l.outcome = o.outcome
GROUP BY s.journey_id, j.name, s.position, s.kind, o.outcome
UNION ALL
SELECT j.journey_id, j.name, 2147483647, f.stage, count(e.enrollment_id)
FROM @extschema@.journeys j
CROSS JOIN unnest(ARRAY['completed', 'exited', 'active']) f (stage)
LEFT JOIN @extschema@.journey_enrollments e ON e.journey_id = j.journey_id AND e.status = f.stage
GROUP BY j.journey_id, j.name, f.stage;
COMMENT ON VIEW @extschema@.journey_funnel IS
    'Journey funnels: per journey, the entries (position 0, stage entered), the entries that took each step by outcome (position, stage ''kind: outcome''), and how many completed, exited or are still active (position 2147483647). Counts the enrollments of the contacts the reader sees.';

-- ---------------------------------------------------------------------------------------------
-- Privileges, row-level security, pg_dump.
REVOKE EXECUTE ON FUNCTION @extschema@.journey_event(bigint, text, timestamptz, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.journey_enqueue(bigint, bigint, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.journey_in_segment(bigint, bigint, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.journey_advance(bigint, timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.run_journeys(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.claim_journey_messages(integer, text, interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.finish_journey_message(bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.journey_event(bigint, text, timestamptz, jsonb),
    @extschema@.journey_enqueue(bigint, bigint, timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_support;
GRANT EXECUTE ON FUNCTION @extschema@.journey_in_segment(bigint, bigint, timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT EXECUTE ON FUNCTION @extschema@.run_journeys(timestamptz) TO crm_admin, crm_manager;
GRANT EXECUTE ON FUNCTION @extschema@.claim_journey_messages(integer, text, interval),
    @extschema@.finish_journey_message(bigint, boolean, text) TO crm_admin;

-- Journeys and steps: configuration, written by admins and managers, read by every staff role.
GRANT SELECT ON @extschema@.journeys, @extschema@.journey_steps
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.journeys, @extschema@.journey_steps TO crm_admin, crm_manager;
GRANT USAGE ON SEQUENCE @extschema@.journeys_journey_id_seq TO crm_admin, crm_manager;
ALTER TABLE @extschema@.journeys ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.journeys TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.journeys TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.journeys FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);
ALTER TABLE @extschema@.journey_steps ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.journey_steps TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.journey_steps TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.journey_steps FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);

-- Events, enrollments, the step log and the outbox follow their contact: admins and analysts read
-- all, managers, reps and support those of the contacts they see. Events are recorded by staff
-- who see the contact (crm.journey_event, crm.journey_enqueue: only the columns an event of
-- theirs has; processed_at, the segment columns and the stamps are not theirs to set);
-- enrollments and the log are written only by crm.run_journeys; admins (the sender's role)
-- update the outbox.
GRANT SELECT ON @extschema@.journey_events, @extschema@.journey_enrollments, @extschema@.journey_step_log,
    @extschema@.journey_outbox TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT (contact_id, event, journey_id, occurred_at, details) ON @extschema@.journey_events
    TO crm_admin, crm_manager, crm_sales, crm_support;
GRANT USAGE ON SEQUENCE @extschema@.journey_events_event_id_seq TO crm_admin, crm_manager, crm_sales, crm_support;
GRANT UPDATE ON @extschema@.journey_outbox TO crm_admin;
ALTER TABLE @extschema@.journey_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.journey_events TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.journey_events FOR SELECT TO crm_analyst USING (true);
CREATE POLICY staff_read ON @extschema@.journey_events FOR SELECT TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = journey_events.contact_id));
CREATE POLICY staff_record ON @extschema@.journey_events FOR INSERT TO crm_manager, crm_sales, crm_support
    WITH CHECK (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = journey_events.contact_id));
ALTER TABLE @extschema@.journey_enrollments ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.journey_enrollments FOR SELECT TO crm_admin USING (true);
CREATE POLICY analyst_read ON @extschema@.journey_enrollments FOR SELECT TO crm_analyst USING (true);
CREATE POLICY read_visible_contacts ON @extschema@.journey_enrollments FOR SELECT TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = journey_enrollments.contact_id));
ALTER TABLE @extschema@.journey_step_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.journey_step_log FOR SELECT TO crm_admin USING (true);
CREATE POLICY analyst_read ON @extschema@.journey_step_log FOR SELECT TO crm_analyst USING (true);
CREATE POLICY read_visible_contacts ON @extschema@.journey_step_log FOR SELECT TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = journey_step_log.contact_id));
ALTER TABLE @extschema@.journey_outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.journey_outbox TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.journey_outbox FOR SELECT TO crm_analyst USING (true);
CREATE POLICY read_visible_contacts ON @extschema@.journey_outbox FOR SELECT TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = journey_outbox.contact_id));

GRANT SELECT ON @extschema@.journey_funnel TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.journeys', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.journeys_journey_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.journey_steps', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.journey_events', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.journey_events_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.journey_enrollments', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.journey_enrollments_enrollment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.journey_step_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.journey_outbox', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.journey_outbox_message_id_seq', '');
