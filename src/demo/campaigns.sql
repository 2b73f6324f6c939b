-- src/demo/campaigns.sql: the demo data hook of src/campaign_performance.sql (extension crm_demo):
-- what the generator's campaigns cost, their touches, the leads and orders they brought, and an
-- A/B test of two subject lines.

-- Demo hook (called by crm.generate_demo_data, as replica). The generator makes campaigns (with a
-- budget) and their members (consented contacts); this adds:
--   - an A/B test: a win-back email, "Win-back A/B test", starting 75 days before the data's end
--     (the last activity or order the generator wrote), to every customer (a purchase before it)
--     who consented more than 3 days before it; each member gets subject line A or B at random
--     (tag 181) and responds with probability 0.08 under A, 0.20 under B (tag 182);
--   - touches (activities recording the campaign and variant) for every campaign that ran
--     (active or completed): a send to every member reached by an email or SMS campaign on its
--     first day (hour drawn, tag 183), and a response touch in the channel's kind for every member
--     who responded or converted, 1 to 10 days later (tag 184); none after the data's end;
--   - purchases within 30 days after a campaign touch record the campaign (that of the latest
--     touch before them) and variant, and their buyer, if a member only sent to or responding,
--     becomes 'converted'; leads created within 30 days after a response record its campaign;
--   - the cost of every campaign that ran: a setup cost of 100 plus a cost per member reached
--     (email 1, sms 2, web 3, social 4, meeting 30, else 3) x 0.8 .. 1.2 (tag 180), rounded to 10;
--     a cancelled campaign costs its setup, 100; planned ones keep a NULL cost (their budget
--     stands in).
CREATE FUNCTION @extschema@.generate_demo_campaigns(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t_end timestamptz;
    test_id bigint;
    test_start date;
BEGIN
    SELECT greatest((SELECT max(a.occurred_at) FROM @extschema@.activities a),
                    (SELECT max(o.ordered_at) FROM @extschema@.orders o)) INTO t_end;
    IF t_end IS NULL OR NOT EXISTS (SELECT FROM @extschema@.campaign_members) THEN
        RETURN;
    END IF;

    -- the A/B test: a win-back email to every consenting customer
    test_id := (SELECT max(c.campaign_id) FROM @extschema@.campaigns c) + 1;
    test_start := (t_end AT TIME ZONE 'UTC')::date - 75;
    INSERT INTO @extschema@.campaigns (campaign_id, name, channel, status, starts_on, ends_on, budget, owner_id,
                                       created_at, updated_at)
    SELECT test_id, 'Win-back A/B test', 'email', CASE WHEN test_start + 20 < (t_end AT TIME ZONE 'UTC')::date THEN 'completed' ELSE 'active' END,
           test_start, test_start + 20, 5000, (SELECT min(c.owner_id) FROM @extschema@.campaigns c),
           (test_start - 30)::timestamp AT TIME ZONE 'UTC', (test_start + 21)::timestamp AT TIME ZONE 'UTC';
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('@extschema@.campaigns', 'campaign_id'), test_id);
    INSERT INTO @extschema@.campaign_members (campaign_id, contact_id, status, variant, added_at, updated_at, created_at)
    SELECT test_id, m.contact_id,
           CASE WHEN @extschema@.demo_uniform(m.k, 2) < CASE m.variant WHEN 'A' THEN 0.08 ELSE 0.20 END THEN 'responded' ELSE 'sent' END,
           m.variant, m.added_at, m.added_at, m.added_at
    FROM (SELECT c.contact_id, mk AS k,
                 CASE WHEN @extschema@.demo_uniform(mk, 1) < 0.5 THEN 'A' ELSE 'B' END AS variant,
                 (test_start::timestamp AT TIME ZONE 'UTC') - interval '1 second' * floor(3 * 86400 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 182, c.contact_id, test_id::integer), 3)) AS added_at
          FROM @extschema@.contacts c
          CROSS JOIN LATERAL @extschema@.demo_key(seed, 181, c.contact_id, test_id::integer) AS mk
          WHERE c.marketing_consent AND c.consent_at < (test_start::timestamp AT TIME ZONE 'UTC') - interval '3 days'
            AND EXISTS (SELECT FROM @extschema@.orders o
                        WHERE o.contact_id = c.contact_id AND o.status IN ('paid', 'shipped')
                          AND o.ordered_at < test_start::timestamp AT TIME ZONE 'UTC')) m;

    -- touches: sends, then responses (explicit ids after the generator's, in time order)
    INSERT INTO @extschema@.activities (activity_id, contact_id, owner_id, occurred_at, channel, kind,
                                        created_at, updated_at, details, campaign_id, campaign_variant)
    SELECT (SELECT coalesce(max(a.activity_id), 0) FROM @extschema@.activities a)
               + row_number() OVER (ORDER BY t.occurred_at, t.contact_id, t.campaign_id, t.response),
           t.contact_id, ct.owner_id, t.occurred_at, t.channel, t.kind::@extschema@.activity_kind, t.occurred_at, t.occurred_at,
           pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
               'campaign', t.name, 'variant', t.variant,
               'url', CASE WHEN t.kind = 'page_view' THEN '/campaigns/' || t.campaign_id END)),
           t.campaign_id, t.variant
    FROM (
        SELECT m.contact_id, m.campaign_id, m.variant, c.name, c.channel, false AS response,
               CASE c.channel WHEN 'email' THEN 'email_sent' ELSE 'sms_sent' END AS kind,
               (c.starts_on::timestamp AT TIME ZONE 'UTC') + interval '8 hours'
                   + interval '1 second' * floor(36000 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 183, m.contact_id, m.campaign_id::integer), 1)) AS occurred_at
        FROM @extschema@.campaign_members m
        JOIN @extschema@.campaigns c ON c.campaign_id = m.campaign_id
        WHERE c.status IN ('active', 'completed') AND m.status <> 'targeted' AND c.channel IN ('email', 'sms')
        UNION ALL
        SELECT m.contact_id, m.campaign_id, m.variant, c.name,
               CASE c.channel WHEN 'phone' THEN 'email' ELSE c.channel END, true,
               CASE c.channel WHEN 'email' THEN 'email_click' WHEN 'sms' THEN 'sms_reply' WHEN 'social' THEN 'social_engagement'
                              WHEN 'meeting' THEN 'meeting' WHEN 'chat' THEN 'chat_message' ELSE 'page_view' END,
               (c.starts_on::timestamp AT TIME ZONE 'UTC') + interval '1 day'
                   + interval '1 second' * floor(9 * 86400 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 184, m.contact_id, m.campaign_id::integer), 1))
        FROM @extschema@.campaign_members m
        JOIN @extschema@.campaigns c ON c.campaign_id = m.campaign_id
        WHERE c.status IN ('active', 'completed') AND m.status IN ('responded', 'converted')
    ) t
    JOIN @extschema@.contacts ct ON ct.contact_id = t.contact_id
    WHERE t.occurred_at <= t_end;
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('@extschema@.activities', 'activity_id'),
                              (SELECT max(a.activity_id) FROM @extschema@.activities a));

    -- leads and purchases after a response carry the campaign
    UPDATE @extschema@.leads l
    SET campaign_id = r.campaign_id, campaign_variant = r.campaign_variant
    FROM (SELECT DISTINCT ON (l2.lead_id) l2.lead_id, a.campaign_id, a.campaign_variant
          FROM @extschema@.leads l2
          JOIN @extschema@.activities a ON a.contact_id = l2.contact_id AND a.campaign_id IS NOT NULL
               AND a.kind NOT IN ('email_sent', 'sms_sent')
               AND l2.created_at > a.occurred_at AND l2.created_at <= a.occurred_at + interval '30 days'
          ORDER BY l2.lead_id, a.occurred_at DESC, a.activity_id DESC) r
    WHERE r.lead_id = l.lead_id;
    UPDATE @extschema@.orders o
    SET campaign_id = r.campaign_id, campaign_variant = r.campaign_variant
    FROM (SELECT DISTINCT ON (o2.order_id) o2.order_id, a.campaign_id, a.campaign_variant
          FROM @extschema@.orders o2
          JOIN @extschema@.activities a ON a.contact_id = o2.contact_id AND a.campaign_id IS NOT NULL
               AND o2.ordered_at > a.occurred_at AND o2.ordered_at <= a.occurred_at + interval '30 days'
          WHERE o2.status IN ('paid', 'shipped')
          ORDER BY o2.order_id, a.occurred_at DESC, a.activity_id DESC) r
    WHERE r.order_id = o.order_id;
    UPDATE @extschema@.campaign_members m
    SET status = 'converted'
    WHERE m.status IN ('sent', 'responded')
      AND EXISTS (SELECT FROM @extschema@.orders o
                  WHERE o.contact_id = m.contact_id AND o.campaign_id = m.campaign_id AND o.status IN ('paid', 'shipped'));

    -- costs
    UPDATE @extschema@.campaigns c
    SET cost = CASE WHEN c.status = 'cancelled' THEN 100
                    ELSE round((100 + coalesce(r.reached, 0)
                                      * CASE c.channel WHEN 'email' THEN 1 WHEN 'sms' THEN 2 WHEN 'web' THEN 3
                                                       WHEN 'social' THEN 4 WHEN 'meeting' THEN 30 ELSE 3 END
                                      * (0.8 + 0.4 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 180, c.campaign_id), 1)))::numeric, -1) END
    FROM (SELECT c2.campaign_id, (SELECT count(*) FROM @extschema@.campaign_members m
                                  WHERE m.campaign_id = c2.campaign_id AND m.status <> 'targeted') AS reached
          FROM @extschema@.campaigns c2) r
    WHERE r.campaign_id = c.campaign_id AND c.status IN ('active', 'completed', 'cancelled');
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_campaigns(integer) IS
    'Demo hook: campaign costs, touches (sends and responses recording the campaign), the leads and purchases responses brought, and an A/B test of two subject lines (variant B responds more) over every campaign that ran.';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_campaigns(integer) FROM PUBLIC;
