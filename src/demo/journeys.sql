-- src/demo/journeys.sql: the demo data hook of src/journeys.sql (extension crm_demo): a welcome
-- journey and a win-back journey, run over the generated history.

-- Demo hook (called by crm.generate_demo_data, as replica: the event triggers do not fire, so the
-- events are recorded here from the history). The journeys:
--   Welcome (on signup, once): send the welcome e-mail; wait 3 days; if a first purchase came,
--   done; else send a first-order offer by e-mail and wait up to 14 days for a first purchase.
--   Win-back (entered through crm.journey_enqueue by an at-risk list, again after 180 days, left
--   on a purchase): send "we miss you"; wait 14 days; send a last-chance offer.
-- The events: every contact's signup (created_at), every paid or shipped order (purchase) and the
-- first one (first_purchase), every NPS answer 0-6 (detractor). The at-risk list: a buyer whose
-- next purchase did not come within 120 days of a purchase is enqueued 120 days after it. Then
-- the contacts' marketing consent goes into the consent history (if it has none), then
-- crm.run_journeys as of the end of the data, and an external sender's work: every message
-- queued more than a day before the end was claimed within the hour (tag 171) and sent, 4 % of
-- them failed (tag 170).
CREATE FUNCTION @extschema@.generate_demo_journeys(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    data_start timestamptz;
    data_end timestamptz;
    welcome bigint;
    winback bigint;
BEGIN
    SELECT min(c.created_at), max(c.created_at) INTO data_start, data_end FROM @extschema@.contacts c;
    IF data_start IS NULL THEN
        RETURN;
    END IF;
    data_end := least(pg_catalog.now(), greatest(data_end,
        (SELECT max(o.ordered_at) FROM @extschema@.orders o),
        (SELECT max(s.responded_at) FROM @extschema@.survey_responses s)));

    INSERT INTO @extschema@.journeys (name, entry_event, reentry, enroll_from, description)
    VALUES ('Welcome', 'signup', 'never', data_start, 'New contacts: a welcome e-mail, and a first-order offer to those who have not bought after 3 days.')
    RETURNING journey_id INTO welcome;
    INSERT INTO @extschema@.journey_steps (journey_id, position, kind, channel, template, payload, wait_for, event, then_position, else_position) VALUES
        (welcome, 1, 'send', 'email', 'welcome', '{"subject": "Welcome!"}', NULL, NULL, NULL, NULL),
        (welcome, 2, 'wait', NULL, NULL, '{}', '3 days', NULL, NULL, NULL),
        (welcome, 3, 'branch', NULL, NULL, '{}', NULL, 'first_purchase', 100, 4),
        (welcome, 4, 'send', 'email', 'first_order_offer', '{"discount_percent": 10}', NULL, NULL, NULL, NULL),
        (welcome, 5, 'wait_event', NULL, NULL, '{}', '14 days', 'first_purchase', NULL, NULL);
    INSERT INTO @extschema@.journeys (name, entry_event, reentry, reentry_after, exit_event, enroll_from, description)
    VALUES ('Win-back', NULL, 'after', '180 days', 'purchase', data_start, 'Buyers at risk (no purchase for 120 days): two e-mails two weeks apart, until they buy again.')
    RETURNING journey_id INTO winback;
    INSERT INTO @extschema@.journey_steps (journey_id, position, kind, channel, template, payload, wait_for) VALUES
        (winback, 1, 'send', 'email', 'we_miss_you', '{}', NULL),
        (winback, 2, 'wait', NULL, NULL, '{}', '14 days'),
        (winback, 3, 'send', 'email', 'last_chance', '{"discount_percent": 15}', NULL);

    -- The events of the history, in the order of time (ids follow it).
    INSERT INTO @extschema@.journey_events (contact_id, event, journey_id, occurred_at, details, recorded_at)
    SELECT e.contact_id, e.event, CASE WHEN e.event = 'enqueued' THEN winback END, e.occurred_at, e.details, e.occurred_at
    FROM (
        SELECT c.contact_id, 'signup' AS event, c.created_at AS occurred_at, '{}'::jsonb AS details, 0 AS o, c.contact_id AS k
        FROM @extschema@.contacts c
        UNION ALL
        SELECT o.contact_id, x.event, o.ordered_at, pg_catalog.jsonb_build_object('order_id', o.order_id), x.o, o.order_id
        FROM (SELECT o.*, row_number() OVER (PARTITION BY o.contact_id ORDER BY o.ordered_at, o.order_id) AS n
              FROM @extschema@.orders o WHERE o.status IN ('paid', 'shipped')) o
        CROSS JOIN LATERAL (VALUES ('purchase', 1), ('first_purchase', 2)) x (event, o)
        WHERE x.event = 'purchase' OR o.n = 1
        UNION ALL
        SELECT s.contact_id, 'detractor', s.responded_at,
               pg_catalog.jsonb_build_object('response_id', s.response_id, 'score', s.score), 3, s.response_id
        FROM @extschema@.survey_responses s WHERE s.kind = 'nps' AND s.score <= 6
        UNION ALL
        -- the at-risk list: 120 days after a purchase not followed by another within them
        SELECT g.contact_id, 'enqueued', g.ordered_at + interval '120 days', '{"list": "no purchase for 120 days"}', 4, g.order_id
        FROM (SELECT o.contact_id, o.order_id, o.ordered_at,
                     lead(o.ordered_at) OVER (PARTITION BY o.contact_id ORDER BY o.ordered_at, o.order_id) AS next_at
              FROM @extschema@.orders o WHERE o.status IN ('paid', 'shipped')) g
        WHERE g.ordered_at + interval '120 days' <= data_end
          AND (g.next_at IS NULL OR g.next_at > g.ordered_at + interval '120 days')
    ) e
    ORDER BY e.occurred_at, e.o, e.k;

    -- Sends need consent in the history (crm.has_consent): the generated contacts' marketing
    -- consent, recorded when they gave it, unless a history exists already.
    INSERT INTO @extschema@.consent_history (contact_id, purpose, granted, lawful_basis, source, effective_at, recorded_at)
    SELECT c.contact_id, 'marketing_email', true, 'consent', c.consent_source, c.consent_at, c.consent_at
    FROM @extschema@.contacts c
    WHERE c.marketing_consent AND c.consent_at IS NOT NULL AND c.consent_source IS NOT NULL
      AND NOT EXISTS (SELECT FROM @extschema@.consent_history h WHERE h.contact_id = c.contact_id)
    ORDER BY c.contact_id;

    PERFORM @extschema@.run_journeys(data_end);

    -- The sender's work so far.
    UPDATE @extschema@.journey_outbox m
    SET attempts = 1,
        claimed_at = m.queued_at + interval '1 hour' * @extschema@.demo_uniform(@extschema@.demo_key(seed, 171, m.message_id), 1),
        claimed_by = 'demo-sender',
        status = CASE WHEN @extschema@.demo_uniform(@extschema@.demo_key(seed, 170, m.message_id), 1) < 0.04 THEN 'failed' ELSE 'sent' END
    WHERE m.queued_at < data_end - interval '1 day';
    UPDATE @extschema@.journey_outbox m
    SET sent_at = CASE WHEN m.status = 'sent' THEN m.claimed_at + interval '2 seconds' END,
        last_error = CASE WHEN m.status = 'failed' THEN 'mailbox unavailable' END
    WHERE m.claimed_by = 'demo-sender';
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_journeys(integer) IS
    'Demo data hook: a welcome journey (on signup) and a win-back journey (an at-risk list: no purchase for 120 days), their events recorded from the generated history, run as of its end; messages queued before the last day sent (4 % failed). Random keys: tags 170, 171.';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_journeys(integer) FROM PUBLIC;
