-- src/demo/retention.sql: the demo data hook of src/retention.sql (extension crm_demo).

-- Demo hook (see crm.generate_demo_data): subscriptions for about a quarter of the buyers,
-- starting with their first purchase; some upgrade, some cancel, with reasons.
CREATE FUNCTION @extschema@.generate_demo_subscriptions(seed integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    made bigint;
    data_end timestamptz;
BEGIN
    SELECT max(ordered_at) INTO data_end FROM @extschema@.orders;
    WITH subscribers AS (
        SELECT s.contact_id, s.first_order_at AS started_at,
               @extschema@.demo_uniform(@extschema@.demo_key(seed, 120, s.contact_id), 1) AS u_plan,
               @extschema@.demo_uniform(@extschema@.demo_key(seed, 120, s.contact_id), 2) AS u_life,
               @extschema@.demo_uniform(@extschema@.demo_key(seed, 120, s.contact_id), 3) AS u_upgrade,
               @extschema@.demo_uniform(@extschema@.demo_key(seed, 120, s.contact_id), 4) AS u_reason
        FROM @extschema@.customer_order_stats s
        WHERE @extschema@.demo_uniform(@extschema@.demo_key(seed, 120, s.contact_id), 0) < 0.25
    ), plans AS (
        SELECT contact_id, started_at, u_upgrade, u_reason,
               CASE WHEN u_plan < 0.6 THEN 'basic' WHEN u_plan < 0.92 THEN 'pro' ELSE 'enterprise' END AS plan,
               CASE WHEN u_plan < 0.6 THEN 29 WHEN u_plan < 0.92 THEN 99 ELSE 499 END AS mrr,
               -- lifetimes: exponential, mean about 20 months; some outlast the data
               started_at + make_interval(days => (-600 * ln(u_life))::integer) AS ends
        FROM subscribers
    ), rows AS (
        SELECT contact_id, plan, mrr, started_at,
               CASE WHEN u_upgrade < 0.2 THEN started_at + (least(ends, data_end) - started_at) / 2
                    WHEN ends < data_end THEN ends END AS ended_at,
               CASE WHEN u_upgrade >= 0.2 AND ends < data_end THEN
                    (ARRAY['too expensive', 'missing features', 'switched to a competitor', 'no longer needed'])[1 + (u_reason * 4)::integer % 4]
               END AS reason
        FROM plans
        UNION ALL
        SELECT contact_id, CASE plan WHEN 'basic' THEN 'pro' ELSE 'enterprise' END,
               CASE plan WHEN 'basic' THEN 99 ELSE 499 END,
               started_at + (least(ends, data_end) - started_at) / 2,
               CASE WHEN ends < data_end THEN ends END,
               CASE WHEN ends < data_end THEN 'too expensive' END
        FROM plans WHERE u_upgrade < 0.2
    )
    INSERT INTO @extschema@.subscriptions (contact_id, plan, mrr, started_at, ended_at, cancel_reason, created_at, updated_at)
    SELECT contact_id, plan, mrr, started_at, ended_at, reason, started_at, coalesce(ended_at, started_at)
    FROM rows ORDER BY started_at, contact_id, mrr;
    GET DIAGNOSTICS made = ROW_COUNT;
    RETURN made;
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_subscriptions(integer) IS
    'Demo hook called by crm.generate_demo_data: subscriptions for about a quarter of the buyers, with upgrades and cancellations.';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_subscriptions(integer) FROM PUBLIC;
