-- ---------------------------------------------------------------------------------------------
-- Loyalty programs (docs/loyalty.md). A program (one currency) has earn rules (points per order,
-- per currency unit of the order total, per unit of a product) and tiers by rolling spend. Each
-- member (program, contact) has a points ledger kept in lots: every earn entry is a lot with the
-- points still left in it (remaining) and an expiry; redemptions draw on the unexpired lots
-- nearest to expiry first; an expiry run writes off what is left of expired lots; a cancelled,
-- refunded or deleted order (or a line taken off it) is reversed, drawing on the order's own lots
-- first (clawback; the balance never goes below zero: what was already spent is recorded as
-- unrecovered). The member's balance is kept by the ledger's triggers and always equals the sum
-- of the ledger's points and the sum of the lots' remaining points.
--
-- Concurrency: every entry locks its member's row first (FOR UPDATE, in the ledger's BEFORE
-- trigger); statements writing several members insert in (program_id, contact_id) order, so every
-- transaction takes member locks in the same global order.

CREATE TABLE @extschema@.loyalty_programs (
    program_id            bigserial PRIMARY KEY,
    name                  text NOT NULL CONSTRAINT loyalty_programs_name_key UNIQUE,
    currency              char(3) NOT NULL DEFAULT 'USD' CONSTRAINT loyalty_programs_currency_iso CHECK (currency ~ '^[A-Z]{3}$'),
    points_expire_months  integer CONSTRAINT loyalty_programs_expiry_positive CHECK (points_expire_months BETWEEN 1 AND 1200),
    tier_window_months    integer NOT NULL DEFAULT 12 CONSTRAINT loyalty_programs_window_positive CHECK (tier_window_months BETWEEN 1 AND 120),
    active                boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE @extschema@.loyalty_programs IS
    'Loyalty programs: an active program earns points on the purchases (paid or shipped orders) in its currency; points expire points_expire_months after they were earned (NULL: never); tiers by the spend of the last tier_window_months.';

CREATE TABLE @extschema@.loyalty_earn_rules (
    rule_id     bigserial PRIMARY KEY,
    program_id  bigint NOT NULL CONSTRAINT loyalty_earn_rules_program_fkey REFERENCES @extschema@.loyalty_programs ON DELETE CASCADE,
    kind        text NOT NULL CONSTRAINT loyalty_earn_rules_kind_valid CHECK (kind IN ('per_order', 'per_currency_unit', 'per_product')),
    points      numeric(12, 4) NOT NULL CONSTRAINT loyalty_earn_rules_points_positive CHECK (points > 0),
    product_id  bigint CONSTRAINT loyalty_earn_rules_product_fkey REFERENCES @extschema@.products ON DELETE CASCADE,
    CONSTRAINT loyalty_earn_rules_product_iff_per_product CHECK ((kind = 'per_product') = (product_id IS NOT NULL))
);
CREATE INDEX loyalty_earn_rules_program_id_idx ON @extschema@.loyalty_earn_rules (program_id);
COMMENT ON TABLE @extschema@.loyalty_earn_rules IS
    'Earn rules of a program: per_order (points per purchase), per_currency_unit (points per unit of the order total), per_product (points per unit of product_id bought). An order earns floor(the sum of its rules).';

CREATE TABLE @extschema@.loyalty_tiers (
    program_id  bigint NOT NULL CONSTRAINT loyalty_tiers_program_fkey REFERENCES @extschema@.loyalty_programs ON DELETE CASCADE,
    tier        text NOT NULL,
    min_spend   numeric(16, 2) NOT NULL CONSTRAINT loyalty_tiers_min_spend_nonnegative CHECK (min_spend >= 0),
    CONSTRAINT loyalty_tiers_pkey PRIMARY KEY (program_id, tier),
    CONSTRAINT loyalty_tiers_min_spend_key UNIQUE (program_id, min_spend)
);
COMMENT ON TABLE @extschema@.loyalty_tiers IS
    'Tiers of a program: a member is in the highest tier whose min_spend their spend of the program''s window reaches (upgrades at once with a purchase, downgrades at crm.evaluate_loyalty_tiers).';

CREATE TABLE @extschema@.loyalty_members (
    program_id         bigint NOT NULL CONSTRAINT loyalty_members_program_fkey REFERENCES @extschema@.loyalty_programs ON DELETE CASCADE,
    contact_id         bigint NOT NULL CONSTRAINT loyalty_members_contact_fkey REFERENCES @extschema@.contacts ON DELETE CASCADE,
    balance            bigint NOT NULL DEFAULT 0 CONSTRAINT loyalty_members_balance_nonnegative CHECK (balance >= 0),
    tier               text,
    rolling_spend      numeric(16, 2) NOT NULL DEFAULT 0,
    tier_evaluated_at  timestamptz,
    joined_at          timestamptz NOT NULL,
    CONSTRAINT loyalty_members_pkey PRIMARY KEY (program_id, contact_id),
    CONSTRAINT loyalty_members_tier_fkey FOREIGN KEY (program_id, tier)
        REFERENCES @extschema@.loyalty_tiers ON UPDATE CASCADE ON DELETE SET NULL (tier)
);
CREATE INDEX loyalty_members_contact_id_idx ON @extschema@.loyalty_members (contact_id);
COMMENT ON TABLE @extschema@.loyalty_members IS
    'Members of a program (created by their first earned points): balance = the sum of their ledger''s points (kept by the ledger''s triggers), tier with the spend it was evaluated on.';

CREATE TABLE @extschema@.loyalty_ledger (
    entry_id     bigserial PRIMARY KEY,
    program_id   bigint NOT NULL,
    contact_id   bigint NOT NULL,
    kind         text NOT NULL CONSTRAINT loyalty_ledger_kind_valid CHECK (kind IN ('earn', 'redeem', 'reverse', 'expire')),
    points       bigint NOT NULL,
    remaining    bigint,
    expires_at   timestamptz,
    lot_id       bigint,
    order_id     bigint,
    unrecovered  bigint NOT NULL DEFAULT 0 CONSTRAINT loyalty_ledger_unrecovered_nonnegative CHECK (unrecovered >= 0),
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    reference    text,
    CONSTRAINT loyalty_ledger_member_fkey FOREIGN KEY (program_id, contact_id)
        REFERENCES @extschema@.loyalty_members ON DELETE CASCADE,
    CONSTRAINT loyalty_ledger_shape CHECK (CASE kind
        WHEN 'earn' THEN points > 0 AND remaining BETWEEN 0 AND points AND lot_id IS NULL AND unrecovered = 0
        WHEN 'reverse' THEN points <= 0 AND order_id IS NOT NULL AND remaining IS NULL AND expires_at IS NULL AND lot_id IS NULL
        WHEN 'expire' THEN points < 0 AND lot_id IS NOT NULL AND remaining IS NULL AND expires_at IS NULL AND unrecovered = 0
        ELSE points < 0 AND lot_id IS NULL AND remaining IS NULL AND expires_at IS NULL AND unrecovered = 0 END)
);
CREATE INDEX loyalty_ledger_member_idx ON @extschema@.loyalty_ledger (program_id, contact_id, entry_id);
CREATE INDEX loyalty_ledger_open_lots_idx ON @extschema@.loyalty_ledger (program_id, contact_id, expires_at, entry_id)
    WHERE kind = 'earn' AND remaining > 0;
CREATE INDEX loyalty_ledger_order_id_idx ON @extschema@.loyalty_ledger (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX loyalty_ledger_contact_id_idx ON @extschema@.loyalty_ledger (contact_id);
COMMENT ON TABLE @extschema@.loyalty_ledger IS
    'The points ledger, append-only: earn entries are lots (remaining: points left, expires_at); redeem, reverse (of an order; unrecovered: points already spent) and expire (of lot_id) entries draw on lots. points is the change of the balance.';

-- ---------------------------------------------------------------------------------------------
-- The points an order earns in a program now: 0 unless it is a purchase (crm.purchases: paid or
-- shipped) in the program's currency with at least one line; else floor(sum of the rules).
CREATE FUNCTION @extschema@.loyalty_order_points(program_id bigint, order_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- PL/pgSQL: its plan is kept for the session (an SQL function with SET is planned at every
    -- call, and the ledger's triggers call it per order)
    RETURN (
        SELECT coalesce(floor(sum(CASE r.kind
                   WHEN 'per_order' THEN r.points
                   WHEN 'per_currency_unit' THEN r.points * o.total
                   ELSE r.points * coalesce((SELECT sum(l.quantity) FROM @extschema@.order_lines l
                                             WHERE l.order_id = o.order_id AND l.product_id = r.product_id), 0) END))::bigint, 0)
        FROM @extschema@.purchases o
        JOIN @extschema@.loyalty_programs p ON p.program_id = loyalty_order_points.program_id AND p.currency = o.currency
        JOIN @extschema@.loyalty_earn_rules r ON r.program_id = p.program_id
        WHERE o.order_id = loyalty_order_points.order_id
          AND EXISTS (SELECT FROM @extschema@.order_lines l WHERE l.order_id = o.order_id));
END
$$;
COMMENT ON FUNCTION @extschema@.loyalty_order_points(bigint, bigint) IS
    'The points an order earns in a program: floor of the sum of the program''s earn rules over the order, 0 unless it is a purchase (paid or shipped) with lines in the program''s currency.';
REVOKE EXECUTE ON FUNCTION @extschema@.loyalty_order_points(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.loyalty_order_points(bigint, bigint)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- The highest tier of a program that a spend reaches (NULL: none).
CREATE FUNCTION @extschema@.loyalty_tier_for(program_id bigint, spend numeric) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- PL/pgSQL: its plan is kept for the session (an SQL function with SET is planned at every
    -- call, and the ledger's triggers call it per order)
    RETURN (
        SELECT t.tier FROM @extschema@.loyalty_tiers t
        WHERE t.program_id = loyalty_tier_for.program_id AND t.min_spend <= spend
        ORDER BY t.min_spend DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION @extschema@.loyalty_tier_for(bigint, numeric) IS
    'The highest tier of the program whose min_spend the spend reaches; NULL when none does.';
REVOKE EXECUTE ON FUNCTION @extschema@.loyalty_tier_for(bigint, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.loyalty_tier_for(bigint, numeric)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- A member's spend in a program over the window ending at `at`: purchases in its currency with
-- at - window < ordered_at <= at.
CREATE FUNCTION @extschema@.loyalty_rolling_spend(program_id bigint, contact_id bigint, at timestamptz) RETURNS numeric
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- PL/pgSQL: its plan is kept for the session (an SQL function with SET is planned at every
    -- call, and the ledger's triggers call it per order)
    RETURN (
        SELECT coalesce(sum(o.total), 0)
        FROM @extschema@.loyalty_programs p
        JOIN @extschema@.purchases o ON o.contact_id = loyalty_rolling_spend.contact_id AND o.currency = p.currency
        WHERE p.program_id = loyalty_rolling_spend.program_id
          AND o.ordered_at > at - make_interval(months => p.tier_window_months) AND o.ordered_at <= at);
END
$$;
COMMENT ON FUNCTION @extschema@.loyalty_rolling_spend(bigint, bigint, timestamptz) IS
    'A contact''s spend in a program''s currency over the program''s tier window ending at `at` (purchases ordered after at - window, up to at).';
REVOKE EXECUTE ON FUNCTION @extschema@.loyalty_rolling_spend(bigint, bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.loyalty_rolling_spend(bigint, bigint, timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- ---------------------------------------------------------------------------------------------
-- The ledger's triggers.

-- 1. (runs with the writer's rights, first by name) the writer must see the member's contact:
-- otherwise the next trigger's errors would tell them about a member they may not see.
CREATE FUNCTION @extschema@.loyalty_ledger_check_visible() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = NEW.contact_id) THEN
        RAISE EXCEPTION 'permission denied for the loyalty ledger of contact %', NEW.contact_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Loyalty entries may be written only for contacts the current user may see.';
    END IF;
    -- a redemption is judged against the lots unexpired at its date: only admins may backdate one
    -- (otherwise points expired since could be spent)
    IF NEW.kind = 'redeem' AND NEW.occurred_at < now()
       AND NOT pg_has_role(current_user, 'crm_admin', 'MEMBER')
       AND NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to date a redemption in the past'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('The redemption is dated %s, before the transaction''s start.', NEW.occurred_at),
                  HINT = 'Only admins may record a past redemption.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.loyalty_ledger_check_visible() IS
    'Trigger on crm.loyalty_ledger (BEFORE INSERT, first): refuses (42501) an entry for a contact the writer does not see, and a redemption dated before now by anyone but an admin.';
REVOKE EXECUTE ON FUNCTION @extschema@.loyalty_ledger_check_visible() FROM PUBLIC;

-- 2. locks the member, validates the entry and fills in what the ledger derives.
CREATE FUNCTION @extschema@.loyalty_ledger_prepare() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bal bigint;
    avail bigint;
    months integer;
    requested bigint;
BEGIN
    IF NEW.kind = 'earn' THEN
        INSERT INTO @extschema@.loyalty_members (program_id, contact_id, joined_at)
        VALUES (NEW.program_id, NEW.contact_id, NEW.occurred_at) ON CONFLICT DO NOTHING;
    END IF;
    SELECT m.balance INTO bal FROM @extschema@.loyalty_members m
    WHERE m.program_id = NEW.program_id AND m.contact_id = NEW.contact_id FOR UPDATE;
    IF NOT FOUND THEN
        bal := 0;
    END IF;
    IF NEW.kind = 'earn' THEN
        SELECT p.points_expire_months INTO months FROM @extschema@.loyalty_programs p WHERE p.program_id = NEW.program_id;
        NEW.remaining := NEW.points;
        NEW.expires_at := coalesce(NEW.expires_at, NEW.occurred_at + make_interval(months => months));
    ELSIF NEW.kind = 'redeem' THEN
        IF NEW.points >= 0 THEN
            RAISE EXCEPTION 'a redemption must take a positive number of points'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT coalesce(sum(l.remaining), 0) INTO avail FROM @extschema@.loyalty_ledger l
        WHERE l.program_id = NEW.program_id AND l.contact_id = NEW.contact_id AND l.kind = 'earn' AND l.remaining > 0
          AND (l.expires_at IS NULL OR l.expires_at > NEW.occurred_at);
        IF avail < -NEW.points THEN
            RAISE EXCEPTION 'insufficient loyalty points'
                USING ERRCODE = 'check_violation',
                      DETAIL = format('Contact %s has %s unexpired points in program %s; %s were asked for.',
                                      NEW.contact_id, avail, NEW.program_id, -NEW.points),
                      HINT = 'Redeem at most the member''s unexpired points.';
        END IF;
    ELSIF NEW.kind = 'expire' THEN
        SELECT l.remaining INTO avail FROM @extschema@.loyalty_ledger l
        WHERE l.entry_id = NEW.lot_id AND l.kind = 'earn'
          AND l.program_id = NEW.program_id AND l.contact_id = NEW.contact_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'lot % is not an earn entry of contact % in program %', NEW.lot_id, NEW.contact_id, NEW.program_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF avail = 0 THEN
            RETURN NULL;            -- nothing left to expire (a concurrent redemption took it)
        END IF;
        NEW.points := -avail;      -- an expiry writes off what is left of the lot
    ELSE  -- reverse: takes back up to the balance; the rest was spent already
        requested := -NEW.points + NEW.unrecovered;
        NEW.points := -least(requested, bal);
        NEW.unrecovered := requested + NEW.points;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.loyalty_ledger_prepare() IS
    'Trigger on crm.loyalty_ledger (BEFORE INSERT): locks the member row (creating it for an earn entry), refuses a redemption beyond the unexpired points (23514), sets an earn lot''s remaining points and expiry, an expiry''s points (what is left of its lot) and a reversal''s recovered and unrecovered points.';
REVOKE EXECUTE ON FUNCTION @extschema@.loyalty_ledger_prepare() FROM PUBLIC;

-- 3. draws a debit on the lots and moves the balance (under the member lock taken in 2).
CREATE FUNCTION @extschema@.loyalty_ledger_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    drawn bigint := 0;
BEGIN
    IF NEW.points < 0 THEN
        -- the lots to draw on, in order: an expiry its lot; a reversal the order's lots first, then
        -- the others; a redemption the unexpired lots; each by expiry (nearest first), then age
        WITH lots AS (
            SELECT l.entry_id, l.remaining,
                   sum(l.remaining) OVER (ORDER BY (NEW.kind = 'reverse' AND l.order_id IS NOT DISTINCT FROM NEW.order_id) DESC,
                                                   l.expires_at NULLS LAST, l.entry_id) AS upto
            FROM @extschema@.loyalty_ledger l
            WHERE l.program_id = NEW.program_id AND l.contact_id = NEW.contact_id AND l.kind = 'earn' AND l.remaining > 0
              AND (NEW.kind <> 'expire' OR l.entry_id = NEW.lot_id)
              AND (NEW.kind <> 'redeem' OR l.expires_at IS NULL OR l.expires_at > NEW.occurred_at)),
        draw AS (
            SELECT entry_id, least(remaining, -NEW.points - (upto - remaining)) AS take
            FROM lots WHERE upto - remaining < -NEW.points),
        done AS (
            UPDATE @extschema@.loyalty_ledger l SET remaining = l.remaining - d.take
            FROM draw d WHERE l.entry_id = d.entry_id
            RETURNING d.take)
        SELECT coalesce(sum(take), 0) INTO drawn FROM done;
        IF drawn <> -NEW.points THEN
            RAISE EXCEPTION 'loyalty lots of contact % in program % hold fewer points than entry % takes', NEW.contact_id, NEW.program_id, NEW.entry_id
                USING ERRCODE = 'data_corrupted';
        END IF;
    END IF;
    UPDATE @extschema@.loyalty_members m SET balance = m.balance + NEW.points
    WHERE m.program_id = NEW.program_id AND m.contact_id = NEW.contact_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.loyalty_ledger_apply() IS
    'Trigger on crm.loyalty_ledger (AFTER INSERT): draws a debit on the member''s lots (an expiry on its lot; a reversal on the order''s lots first; a redemption on unexpired lots; nearest expiry first) and adds the entry''s points to the member''s balance.';
REVOKE EXECUTE ON FUNCTION @extschema@.loyalty_ledger_apply() FROM PUBLIC;

CREATE TRIGGER loyalty_ledger_1_visible BEFORE INSERT ON @extschema@.loyalty_ledger
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.loyalty_ledger_check_visible();
CREATE TRIGGER loyalty_ledger_2_prepare BEFORE INSERT ON @extschema@.loyalty_ledger
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.loyalty_ledger_prepare();
CREATE TRIGGER loyalty_ledger_3_apply AFTER INSERT ON @extschema@.loyalty_ledger
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.loyalty_ledger_apply();

-- ---------------------------------------------------------------------------------------------
-- Earning and reversing from orders: brings the points each order has earned in each active
-- program to what it earns now (crm.loyalty_order_points): the difference is a new earn lot
-- (dated the order's ordered_at) or a reversal (dated now). An order moved to another contact is
-- reversed for the old one and earned by the new one. Entries are written in (program_id,
-- contact_id, order_id) order: member locks in one global order. Then members who earned are
-- upgraded when their spend over the window ending at their latest synced order reaches a higher
-- tier (never downgraded here). Returns the number of entries written.
CREATE FUNCTION @extschema@.loyalty_sync_orders(order_ids bigint[]) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.loyalty_programs p WHERE p.active) THEN
        RETURN 0;
    END IF;
    FOR r IN
        WITH ids AS (SELECT DISTINCT i AS order_id FROM unnest(order_ids) i WHERE i IS NOT NULL),
        now_earned AS (
            SELECT p.program_id, o.order_id, o.contact_id, o.ordered_at,
                   @extschema@.loyalty_order_points(p.program_id, o.order_id) AS points
            FROM ids JOIN @extschema@.purchases o ON o.order_id = ids.order_id
            JOIN @extschema@.loyalty_programs p ON p.active AND p.currency = o.currency),
        so_far AS (
            SELECT l.program_id, l.order_id, l.contact_id, sum(l.points - l.unrecovered) AS points
            FROM @extschema@.loyalty_ledger l JOIN ids ON ids.order_id = l.order_id
            JOIN @extschema@.loyalty_programs p ON p.program_id = l.program_id AND p.active
            WHERE l.kind IN ('earn', 'reverse')
            GROUP BY 1, 2, 3)
        SELECT coalesce(a.program_id, b.program_id) AS program_id, coalesce(a.contact_id, b.contact_id) AS contact_id,
               coalesce(a.order_id, b.order_id) AS order_id, a.ordered_at,
               coalesce(a.points, 0) - coalesce(b.points, 0) AS d
        FROM now_earned a FULL JOIN so_far b
          ON a.program_id = b.program_id AND a.order_id = b.order_id AND a.contact_id = b.contact_id
        WHERE coalesce(a.points, 0) <> coalesce(b.points, 0)
        ORDER BY 1, 2, 3
    LOOP
        IF r.d > 0 THEN
            INSERT INTO @extschema@.loyalty_ledger (program_id, contact_id, kind, points, order_id, occurred_at)
            VALUES (r.program_id, r.contact_id, 'earn', r.d, r.order_id, r.ordered_at);
            -- upgrade only: by the spend over the window ending at this order
            UPDATE @extschema@.loyalty_members m
            SET tier = t.tier, rolling_spend = t.spend, tier_evaluated_at = r.ordered_at
            FROM (SELECT s.spend, @extschema@.loyalty_tier_for(r.program_id, s.spend) AS tier
                  FROM (SELECT @extschema@.loyalty_rolling_spend(r.program_id, r.contact_id, r.ordered_at) AS spend) s) t
            WHERE m.program_id = r.program_id AND m.contact_id = r.contact_id AND t.tier IS NOT NULL
              AND (m.tier IS NULL OR (SELECT x.min_spend FROM @extschema@.loyalty_tiers x
                                      WHERE x.program_id = m.program_id AND x.tier = m.tier)
                                     < (SELECT x.min_spend FROM @extschema@.loyalty_tiers x
                                        WHERE x.program_id = m.program_id AND x.tier = t.tier));
        ELSE
            INSERT INTO @extschema@.loyalty_ledger (program_id, contact_id, kind, points, order_id)
            VALUES (r.program_id, r.contact_id, 'reverse', r.d, r.order_id);
        END IF;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.loyalty_sync_orders(bigint[]) IS
    'Brings the points the orders have earned in every active program to what they earn now (new earn lots, reversals), upgrading members whose spend reached a higher tier; returns the entries written. Called by the triggers on crm.orders and crm.order_lines; by hand on a distributed CRM or to backfill.';
REVOKE EXECUTE ON FUNCTION @extschema@.loyalty_sync_orders(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.loyalty_sync_orders(bigint[]) TO crm_admin;

-- Statement triggers on order_lines (inserted, updated, deleted: also by an order's deletion) and
-- orders (status, contact or currency changed).
CREATE FUNCTION @extschema@.loyalty_orders_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_TABLE_NAME = 'orders' THEN
        SELECT array_agg(n.order_id) INTO ids FROM new_rows n JOIN old_rows o ON o.order_id = n.order_id
        WHERE n.status IS DISTINCT FROM o.status OR n.contact_id IS DISTINCT FROM o.contact_id
           OR n.currency IS DISTINCT FROM o.currency;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.order_id) INTO ids FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.order_id) INTO ids FROM old_rows o;
    ELSE
        SELECT array_agg(DISTINCT x.order_id) INTO ids
        FROM (SELECT order_id FROM new_rows UNION SELECT order_id FROM old_rows) x;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM @extschema@.loyalty_sync_orders(ids);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.loyalty_orders_track() IS
    'Statement trigger on crm.order_lines and crm.orders: earns or reverses loyalty points for the orders whose lines, status, contact or currency the statement changed (crm.loyalty_sync_orders), whoever wrote them.';
REVOKE EXECUTE ON FUNCTION @extschema@.loyalty_orders_track() FROM PUBLIC;

CREATE TRIGGER loyalty_lines_inserted AFTER INSERT ON @extschema@.order_lines REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.loyalty_orders_track();
CREATE TRIGGER loyalty_lines_updated AFTER UPDATE ON @extschema@.order_lines REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.loyalty_orders_track();
CREATE TRIGGER loyalty_lines_deleted AFTER DELETE ON @extschema@.order_lines REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.loyalty_orders_track();
CREATE TRIGGER loyalty_orders_updated AFTER UPDATE ON @extschema@.orders REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.loyalty_orders_track();

-- ---------------------------------------------------------------------------------------------
-- Redemption: takes `points` from the member's unexpired lots, nearest expiry first; returns the
-- balance left. 22023 for points not positive; 23514 when the member (or a contact the caller does
-- not see, or no member) has fewer unexpired points.
CREATE FUNCTION @extschema@.loyalty_redeem(program_id bigint, contact_id bigint, points bigint,
                                           reference text DEFAULT NULL, at timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bal bigint;
BEGIN
    IF program_id IS NULL OR contact_id IS NULL OR points IS NULL OR at IS NULL THEN
        RAISE EXCEPTION 'program_id, contact_id, points and at must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF points <= 0 THEN
        RAISE EXCEPTION 'points to redeem must be positive, not %', points
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.loyalty_members m
                   WHERE m.program_id = loyalty_redeem.program_id AND m.contact_id = loyalty_redeem.contact_id) THEN
        RAISE EXCEPTION 'insufficient loyalty points'
            USING ERRCODE = 'check_violation',
                  DETAIL = format('Contact %s has no points in program %s; %s were asked for.', contact_id, program_id, points),
                  HINT = 'Redeem at most the member''s unexpired points.';
    END IF;
    INSERT INTO @extschema@.loyalty_ledger (program_id, contact_id, kind, points, occurred_at, reference)
    VALUES (loyalty_redeem.program_id, loyalty_redeem.contact_id, 'redeem', -loyalty_redeem.points, at, reference);
    SELECT m.balance INTO bal FROM @extschema@.loyalty_members m
    WHERE m.program_id = loyalty_redeem.program_id AND m.contact_id = loyalty_redeem.contact_id;
    RETURN bal;
END
$$;
COMMENT ON FUNCTION @extschema@.loyalty_redeem(bigint, bigint, bigint, text, timestamptz) IS
    'Redeems points of a member from their unexpired lots, nearest expiry first, as of `at`; returns the balance left. 23514 when they have fewer unexpired points, 22023 for points not positive.';
REVOKE EXECUTE ON FUNCTION @extschema@.loyalty_redeem(bigint, bigint, bigint, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.loyalty_redeem(bigint, bigint, bigint, text, timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_support;

-- The expiry run: an expire entry for what is left of every lot that expired at or before as_of,
-- in (program, contact) order. Idempotent: an expired lot is left with nothing, and a second run
-- finds nothing. Returns the points expired.
CREATE FUNCTION @extschema@.expire_loyalty_points(as_of timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    total bigint;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    WITH ins AS (
        INSERT INTO @extschema@.loyalty_ledger (program_id, contact_id, kind, points, lot_id, occurred_at)
        SELECT l.program_id, l.contact_id, 'expire', -l.remaining, l.entry_id, l.expires_at
        FROM @extschema@.loyalty_ledger l
        WHERE l.kind = 'earn' AND l.remaining > 0 AND l.expires_at <= as_of
        ORDER BY l.program_id, l.contact_id, l.entry_id
        RETURNING points)
    SELECT coalesce(-sum(points), 0) INTO total FROM ins;
    RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.expire_loyalty_points(timestamptz) IS
    'The expiry run: writes off what is left of every lot expired at or before as_of (an expire entry dated the lot''s expiry); idempotent; returns the points expired.';
REVOKE EXECUTE ON FUNCTION @extschema@.expire_loyalty_points(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.expire_loyalty_points(timestamptz) TO crm_admin;

-- The tier run: every member of an active program gets the tier their spend over the window
-- ending at as_of reaches, up or down (NULL when no tier). Locks members in key order. Returns how
-- many members changed tier.
CREATE FUNCTION @extschema@.evaluate_loyalty_tiers(as_of timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    changed integer;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM FROM @extschema@.loyalty_members m JOIN @extschema@.loyalty_programs p ON p.program_id = m.program_id AND p.active
    ORDER BY m.program_id, m.contact_id FOR UPDATE OF m;
    WITH s AS (
        SELECT m.program_id, m.contact_id, m.tier AS old_tier,
               @extschema@.loyalty_rolling_spend(m.program_id, m.contact_id, as_of) AS spend
        FROM @extschema@.loyalty_members m JOIN @extschema@.loyalty_programs p ON p.program_id = m.program_id AND p.active),
    u AS (
        UPDATE @extschema@.loyalty_members m
        SET tier = @extschema@.loyalty_tier_for(s.program_id, s.spend), rolling_spend = s.spend, tier_evaluated_at = as_of
        FROM s WHERE m.program_id = s.program_id AND m.contact_id = s.contact_id
        RETURNING s.old_tier IS DISTINCT FROM m.tier AS moved)
    SELECT count(*) FILTER (WHERE moved) INTO changed FROM u;
    RETURN changed;
END
$$;
COMMENT ON FUNCTION @extschema@.evaluate_loyalty_tiers(timestamptz) IS
    'The tier run: sets every member of an active program to the tier of their spend over the window ending at as_of (upgrades and downgrades); returns how many changed tier.';
REVOKE EXECUTE ON FUNCTION @extschema@.evaluate_loyalty_tiers(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.evaluate_loyalty_tiers(timestamptz) TO crm_admin;

-- ---------------------------------------------------------------------------------------------
-- Grants and row-level security. Programs, rules and tiers are configuration (admins write,
-- staff read). A member and its ledger follow the contact, as orders do; staff insert only
-- redemptions (crm.loyalty_redeem), the extension's triggers everything else; nobody updates or
-- deletes ledger entries (append-only; a member's entries go with the member or the contact).
GRANT ALL ON @extschema@.loyalty_programs, @extschema@.loyalty_earn_rules, @extschema@.loyalty_tiers TO crm_admin;
GRANT SELECT ON @extschema@.loyalty_programs, @extschema@.loyalty_earn_rules, @extschema@.loyalty_tiers,
    @extschema@.loyalty_members, @extschema@.loyalty_ledger
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT UPDATE (tier, rolling_spend, tier_evaluated_at) ON @extschema@.loyalty_members TO crm_admin;
GRANT INSERT ON @extschema@.loyalty_ledger TO crm_admin, crm_manager, crm_sales, crm_support;
GRANT USAGE ON SEQUENCE @extschema@.loyalty_ledger_entry_id_seq TO crm_admin, crm_manager, crm_sales, crm_support;
GRANT ALL ON SEQUENCE @extschema@.loyalty_programs_program_id_seq, @extschema@.loyalty_earn_rules_rule_id_seq TO crm_admin;

ALTER TABLE @extschema@.loyalty_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.loyalty_members TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.loyalty_members FOR SELECT TO crm_analyst USING (true);
CREATE POLICY of_visible_contacts ON @extschema@.loyalty_members FOR SELECT TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = loyalty_members.contact_id));

ALTER TABLE @extschema@.loyalty_ledger ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.loyalty_ledger TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.loyalty_ledger FOR SELECT TO crm_analyst USING (true);
CREATE POLICY of_visible_contacts ON @extschema@.loyalty_ledger FOR SELECT TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = loyalty_ledger.contact_id));
CREATE POLICY redeem_visible_contacts ON @extschema@.loyalty_ledger FOR INSERT TO crm_manager, crm_sales, crm_support
    WITH CHECK (kind = 'redeem' AND EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = loyalty_ledger.contact_id));

SELECT pg_catalog.pg_extension_config_dump('@extschema@.loyalty_programs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.loyalty_programs_program_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.loyalty_earn_rules', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.loyalty_earn_rules_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.loyalty_tiers', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.loyalty_members', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.loyalty_ledger', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.loyalty_ledger_entry_id_seq', '');
