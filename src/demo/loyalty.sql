-- src/demo/loyalty.sql: the demo data hook of src/loyalty.sql (extension crm_demo).

-- Demo hook (called by crm.generate_demo_data, as replica: the order triggers did not fire, so the
-- points are computed here). The program "Demo Rewards" (USD: 10 points per order, 1 per dollar,
-- 50 per unit of one product drawn at random; points expire after 12 months; tiers Member 0,
-- Silver 500, Gold 2,000). Every purchase with lines earns its lot as the triggers would have
-- (crm.loyalty_order_points, dated the order; members and balances written with them). Then,
-- with the ledger's triggers on (the function's own session_replication_role, restored on exit),
-- in time order: each refunded order's points are reversed at its refund (cancelled orders never
-- earned: they were cancelled within the hour), and about one member in three redeems 1-3 times
-- at random instants, each time a random share (up to 80 %) of the points unexpired then, rounded
-- down to 100 (at least 100). Last the expiry run and the tier run as of the last order. Random
-- keys: tag 160 (who redeems, how often), 161 (when), 162 (how much), 163 (the product).
CREATE FUNCTION @extschema@.generate_demo_loyalty(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET session_replication_role = replica AS $$
DECLARE
    as_of timestamptz;
    gift bigint;
    e record;
    avail bigint;
    amount bigint;
BEGIN
    SELECT max(o.ordered_at) INTO as_of FROM @extschema@.orders o;
    IF as_of IS NULL THEN
        RETURN;
    END IF;
    SELECT p.product_id INTO gift FROM @extschema@.products p ORDER BY p.product_id
    OFFSET floor(@extschema@.demo_uniform(@extschema@.demo_key(seed, 163, 0), 1)
                 * (SELECT count(*) FROM @extschema@.products))::integer LIMIT 1;
    INSERT INTO @extschema@.loyalty_programs (program_id, name, currency, points_expire_months, tier_window_months)
    VALUES (1, 'Demo Rewards', 'USD', 12, 12);
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('@extschema@.loyalty_programs', 'program_id'), 1);
    INSERT INTO @extschema@.loyalty_earn_rules (rule_id, program_id, kind, points, product_id) VALUES
        (1, 1, 'per_order', 10, NULL), (2, 1, 'per_currency_unit', 1, NULL);
    IF gift IS NOT NULL THEN
        INSERT INTO @extschema@.loyalty_earn_rules (rule_id, program_id, kind, points, product_id) VALUES (3, 1, 'per_product', 50, gift);
    END IF;
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('@extschema@.loyalty_earn_rules', 'rule_id'), 3);
    INSERT INTO @extschema@.loyalty_tiers (program_id, tier, min_spend) VALUES (1, 'Member', 0), (1, 'Silver', 500), (1, 'Gold', 2000);

    -- what the order triggers would have written: one lot per purchase (refunded orders were
    -- purchases until their refund), members with their balances
    CREATE TEMP TABLE demo_lots ON COMMIT DROP AS
    SELECT o.order_id, o.contact_id, o.ordered_at, o.status, o.updated_at,
           @extschema@.loyalty_order_points(1, o.order_id) AS points
    FROM (SELECT o.order_id, o.contact_id, o.ordered_at, o.status, o.updated_at, o.currency,
                 o.status IN ('paid', 'shipped', 'refunded') AS earned
          FROM @extschema@.orders o) o
    WHERE o.earned AND o.currency = 'USD' AND EXISTS (SELECT FROM @extschema@.order_lines l WHERE l.order_id = o.order_id);
    -- a refunded order is not a purchase now: its points as it earned them, as a paid order
    UPDATE demo_lots d SET points = x.points
    FROM (SELECT d2.order_id,
                 floor(10 + o.total + 50 * coalesce((SELECT sum(l.quantity) FROM @extschema@.order_lines l
                                                    WHERE l.order_id = o.order_id AND l.product_id = gift), 0))::bigint AS points
          FROM demo_lots d2 JOIN @extschema@.orders o ON o.order_id = d2.order_id WHERE d2.status = 'refunded') x
    WHERE d.order_id = x.order_id;
    DELETE FROM demo_lots WHERE points <= 0;
    INSERT INTO @extschema@.loyalty_members (program_id, contact_id, balance, joined_at)
    SELECT 1, contact_id, sum(points), min(ordered_at) FROM demo_lots GROUP BY contact_id ORDER BY contact_id;
    INSERT INTO @extschema@.loyalty_ledger (entry_id, program_id, contact_id, kind, points, remaining, expires_at, order_id, occurred_at)
    SELECT row_number() OVER (ORDER BY ordered_at, order_id), 1, contact_id, 'earn', points, points,
           ordered_at + interval '12 months', order_id, ordered_at
    FROM demo_lots ORDER BY ordered_at, order_id;
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('@extschema@.loyalty_ledger', 'entry_id'),
                              greatest((SELECT max(entry_id) FROM @extschema@.loyalty_ledger), 1));

    -- from here the ledger's triggers keep lots and balances
    PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);
    FOR e IN
        SELECT d.updated_at AS at, d.contact_id, d.order_id, d.points, 0 AS j
        FROM demo_lots d WHERE d.status = 'refunded'
        UNION ALL
        SELECT m.joined_at + (as_of - m.joined_at) * @extschema@.demo_uniform(@extschema@.demo_key(seed, 161, m.contact_id, j), 1),
               m.contact_id, NULL, NULL, j
        FROM @extschema@.loyalty_members m
        CROSS JOIN LATERAL generate_series(1, 1 + floor(3 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 160, m.contact_id), 2))::integer) j
        WHERE @extschema@.demo_uniform(@extschema@.demo_key(seed, 160, m.contact_id), 1) < 0.35
        ORDER BY 1, 2, 5
    LOOP
        IF e.order_id IS NOT NULL THEN
            INSERT INTO @extschema@.loyalty_ledger (program_id, contact_id, kind, points, order_id, occurred_at, reference)
            VALUES (1, e.contact_id, 'reverse', -e.points, e.order_id, e.at, 'refund');
        ELSE
            SELECT coalesce(sum(l.remaining), 0) INTO avail FROM @extschema@.loyalty_ledger l
            WHERE l.program_id = 1 AND l.contact_id = e.contact_id AND l.kind = 'earn' AND l.remaining > 0
              AND l.occurred_at <= e.at AND l.expires_at > e.at;
            amount := floor(avail * 0.8 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 162, e.contact_id, e.j), 1) / 100) * 100;
            IF amount >= 100 THEN
                PERFORM @extschema@.loyalty_redeem(1, e.contact_id, amount, 'demo voucher', e.at);
            END IF;
        END IF;
    END LOOP;
    DROP TABLE demo_lots;
    PERFORM @extschema@.expire_loyalty_points(as_of);
    PERFORM @extschema@.evaluate_loyalty_tiers(as_of);
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_loyalty(integer) IS
    'Demo data hook: the loyalty program "Demo Rewards" with its rules and tiers, a lot per generated purchase (as the order triggers would have written), refunds reversed, random redemptions, then the expiry and tier runs as of the last order.';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_loyalty(integer) FROM PUBLIC;
