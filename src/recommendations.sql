-- ---------------------------------------------------------------------------------------------
-- Recommendations (docs/recommendations.md): item-to-item co-occurrence of products over
-- customers. A customer's basket is the set of products on their purchases (crm.purchases: paid
-- or shipped orders) over all time; two products co-occur when one customer bought both (in the
-- same order or not). Counts are numbers of customers: n_a buyers of a, n_ab buyers of both, N
-- customers with at least one purchased product. The counts are kept by statement triggers on
-- crm.order_lines and crm.orders (new lines, deleted lines, cancelled, refunded, reinstated or
-- reassigned orders), which bring each affected customer's stored basket to the current one and
-- apply the difference; crm.refresh_product_pairs() rebuilds everything from scratch.

-- Each customer's basket as last counted (what the triggers subtract when it changes).
CREATE TABLE @extschema@.customer_baskets (
    contact_id   bigint PRIMARY KEY,
    product_ids  bigint[] NOT NULL CONSTRAINT customer_baskets_not_empty CHECK (pg_catalog.cardinality(product_ids) > 0)
);
COMMENT ON TABLE @extschema@.customer_baskets IS
    'The set of products each customer has purchased (sorted, distinct), as counted into product_buyers and product_pairs; written only by the extension.';

CREATE TABLE @extschema@.product_buyers (
    product_id  bigint PRIMARY KEY,
    customers   bigint NOT NULL
);
COMMENT ON TABLE @extschema@.product_buyers IS
    'n_a: the number of customers who have purchased each product (products nobody bought have no row).';

-- One row per unordered pair, product_a < product_b. The counts (here, in product_buyers and in
-- product_pair_totals) are positive: the functions writing them check it (no CHECK constraint: the upsert applying a
-- negative difference to an existing row proposes a row with that negative count).
CREATE TABLE @extschema@.product_pairs (
    product_a  bigint NOT NULL,
    product_b  bigint NOT NULL,
    customers  bigint NOT NULL,
    CONSTRAINT product_pairs_pkey PRIMARY KEY (product_a, product_b),
    CONSTRAINT product_pairs_ordered CHECK (product_a < product_b)
);
CREATE INDEX product_pairs_product_b_idx ON @extschema@.product_pairs (product_b, product_a);
COMMENT ON TABLE @extschema@.product_pairs IS
    'n_ab: the number of customers who have purchased both products of a pair (product_a < product_b; pairs nobody bought together have no row).';

CREATE TABLE @extschema@.product_pair_totals (
    singleton     boolean PRIMARY KEY DEFAULT true CONSTRAINT product_pair_totals_singleton CHECK (singleton),
    customers     bigint NOT NULL DEFAULT 0,
    refreshed_at  timestamptz
);
COMMENT ON TABLE @extschema@.product_pair_totals IS
    'N: the number of customers with at least one purchased product (one row, written with the first purchase counted); refreshed_at: the last full crm.refresh_product_pairs().';

ALTER TABLE @extschema@.customer_baskets ENABLE ROW LEVEL SECURITY;

-- Brings the stored baskets of the given customers to their current purchases and applies the
-- difference to the counts. Runs as the owner (called by the definer trigger function only).
-- Concurrency: the customers' basket rows are locked in contact order, then the counts are
-- upserted in key order (product_buyers, product_pairs, product_pair_totals): every transaction
-- takes its row locks in the same global order, so two never wait on each other in a cycle.
CREATE FUNCTION @extschema@.product_pairs_resync(contact_ids bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    worst bigint;
BEGIN
    -- work tables, once per session (emptied at every commit, and by DELETE here: creating them
    -- in each transaction, or TRUNCATE, cost about 30 ms per order-line insert)
    IF to_regclass('pg_temp.crm_basket_change') IS NULL THEN
        CREATE TEMP TABLE crm_basket_change
            (contact_id bigint PRIMARY KEY, old_ids bigint[] NOT NULL, new_ids bigint[] NOT NULL) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE crm_count_change
            (product_a bigint NOT NULL, product_b bigint NOT NULL, d bigint NOT NULL, PRIMARY KEY (product_a, product_b)) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM crm_basket_change;
    DELETE FROM crm_count_change;
    -- lock the customers' rows in contact order; a new customer's row is created holding '{0}'
    -- (no product: product ids are positive) and locked the same way
    INSERT INTO @extschema@.customer_baskets AS b (contact_id, product_ids)
    SELECT DISTINCT c, '{0}'::bigint[] FROM unnest(contact_ids) c WHERE c IS NOT NULL ORDER BY 1
    ON CONFLICT (contact_id) DO UPDATE SET product_ids = b.product_ids;
    -- every customer's current basket in one grouped join, not a subquery per customer: on a bulk
    -- change (a statement paying 100,000 orders) a correlated subquery planned on stale statistics
    -- scanned the orders once per customer
    INSERT INTO crm_basket_change (contact_id, old_ids, new_ids)
    SELECT b.contact_id, array_remove(b.product_ids, 0::bigint), coalesce(n.ids, '{}')
    FROM (SELECT DISTINCT c FROM unnest(contact_ids) c WHERE c IS NOT NULL) k(contact_id)
    JOIN @extschema@.customer_baskets b ON b.contact_id = k.contact_id
    LEFT JOIN (SELECT o.contact_id, array_agg(DISTINCT l.product_id ORDER BY l.product_id) AS ids
               FROM @extschema@.purchases o JOIN @extschema@.order_lines l ON l.order_id = o.order_id
               WHERE o.contact_id = ANY (contact_ids)
               GROUP BY o.contact_id) n ON n.contact_id = k.contact_id;

    -- per product (product_b 0): +1 new in the basket, -1 gone; per pair: +1 for each pair of the
    -- new basket with a new product, -1 for each pair of the old basket with a product gone
    -- (pairs of kept products do not change)
    INSERT INTO crm_count_change (product_a, product_b, d)
    SELECT a, b, sum(d) FROM (
        SELECT p AS a, 0::bigint AS b, 1 AS d FROM crm_basket_change, unnest(new_ids) p WHERE NOT p = ANY (old_ids)
        UNION ALL
        SELECT p, 0, -1 FROM crm_basket_change, unnest(old_ids) p WHERE NOT p = ANY (new_ids)
        UNION ALL
        SELECT x.a, y.b, 1 FROM crm_basket_change c, unnest(c.new_ids) x(a), unnest(c.new_ids) y(b)
        WHERE x.a < y.b AND NOT (x.a = ANY (c.old_ids) AND y.b = ANY (c.old_ids))
        UNION ALL
        SELECT x.a, y.b, -1 FROM crm_basket_change c, unnest(c.old_ids) x(a), unnest(c.old_ids) y(b)
        WHERE x.a < y.b AND NOT (x.a = ANY (c.new_ids) AND y.b = ANY (c.new_ids))) s
    GROUP BY a, b HAVING sum(d) <> 0;

    -- one upsert per table in key order (a negative difference meets its existing row), then the
    -- rows counted down to zero go; below zero means the stored baskets and counts disagree
    INSERT INTO @extschema@.product_buyers AS t (product_id, customers)
    SELECT product_a, d FROM crm_count_change WHERE product_b = 0 ORDER BY product_a
    ON CONFLICT (product_id) DO UPDATE SET customers = t.customers + excluded.customers;
    WITH gone AS (
        DELETE FROM @extschema@.product_buyers t USING crm_count_change c
        WHERE c.product_b = 0 AND c.d < 0 AND t.product_id = c.product_a AND t.customers <= 0
        RETURNING t.customers)
    SELECT min(customers) INTO worst FROM gone;
    IF worst < 0 THEN
        RAISE EXCEPTION 'product buyer counts are inconsistent with the stored baskets'
            USING ERRCODE = 'data_corrupted', HINT = 'Run crm.refresh_product_pairs() to rebuild them.';
    END IF;
    INSERT INTO @extschema@.product_pairs AS t (product_a, product_b, customers)
    SELECT product_a, product_b, d FROM crm_count_change WHERE product_b <> 0 ORDER BY product_a, product_b
    ON CONFLICT (product_a, product_b) DO UPDATE SET customers = t.customers + excluded.customers;
    WITH gone AS (
        DELETE FROM @extschema@.product_pairs t USING crm_count_change c
        WHERE c.product_b <> 0 AND c.d < 0 AND t.product_a = c.product_a AND t.product_b = c.product_b
          AND t.customers <= 0
        RETURNING t.customers)
    SELECT min(customers) INTO worst FROM gone;
    IF worst < 0 THEN
        RAISE EXCEPTION 'product pair counts are inconsistent with the stored baskets'
            USING ERRCODE = 'data_corrupted', HINT = 'Run crm.refresh_product_pairs() to rebuild them.';
    END IF;

    -- (the one row is not seeded by the install script: a dump restores it without a clash)
    INSERT INTO @extschema@.product_pair_totals AS t (singleton, customers)
    SELECT true, s.d
    FROM (SELECT sum(CASE WHEN old_ids = '{}' AND new_ids <> '{}' THEN 1
                          WHEN old_ids <> '{}' AND new_ids = '{}' THEN -1 ELSE 0 END) AS d
          FROM crm_basket_change) s
    WHERE s.d <> 0
    ON CONFLICT (singleton) DO UPDATE SET customers = t.customers + excluded.customers
    RETURNING t.customers INTO worst;
    IF worst < 0 THEN
        RAISE EXCEPTION 'the customer count is inconsistent with the stored baskets'
            USING ERRCODE = 'data_corrupted', HINT = 'Run crm.refresh_product_pairs() to rebuild it.';
    END IF;

    UPDATE @extschema@.customer_baskets b SET product_ids = c.new_ids
    FROM crm_basket_change c
    WHERE b.contact_id = c.contact_id AND c.new_ids <> '{}' AND b.product_ids <> c.new_ids;
    DELETE FROM @extschema@.customer_baskets b USING crm_basket_change c
    WHERE b.contact_id = c.contact_id AND c.new_ids = '{}';
    DELETE FROM crm_basket_change;
    DELETE FROM crm_count_change;
END
$$;
COMMENT ON FUNCTION @extschema@.product_pairs_resync(bigint[]) IS
    'Internal (the recommendation triggers): recounts the given customers'' baskets into product_buyers, product_pairs and product_pair_totals.';
REVOKE EXECUTE ON FUNCTION @extschema@.product_pairs_resync(bigint[]) FROM PUBLIC;

-- The triggers: statement level, with the changed rows as transition tables, so a bulk load
-- recounts each customer once. SECURITY DEFINER: the writer (a rep) may not write the counts,
-- and the customer's basket includes orders the writer may not see.
CREATE FUNCTION @extschema@.product_pairs_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    affected bigint[];
BEGIN
    IF TG_RELID NOT IN ('@extschema@.order_lines'::pg_catalog.regclass, '@extschema@.orders'::pg_catalog.regclass) THEN
        RAISE EXCEPTION 'trigger function product_pairs_track() fires only on @extschema@.order_lines and @extschema@.orders, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF @extschema@.restoring_dump() THEN
        RETURN NULL;   -- pg_restore brings customer_baskets and the counts with the data
    END IF;
    -- (what a purchase is, crm.purchases alone says: lines are looked up through it; an order's
    -- change of status or contact recounts its customers whatever the statuses, the recount
    -- reading crm.purchases)
    IF TG_RELID = '@extschema@.order_lines'::pg_catalog.regclass THEN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(DISTINCT o.contact_id) INTO affected
            FROM (SELECT DISTINCT order_id FROM crm_new_lines) n JOIN @extschema@.purchases o ON o.order_id = n.order_id;
        ELSIF TG_OP = 'DELETE' THEN
            -- (lines deleted with their order: the order is gone; its trigger recounts the customer)
            SELECT array_agg(DISTINCT o.contact_id) INTO affected
            FROM (SELECT DISTINCT order_id FROM crm_old_lines) n JOIN @extschema@.purchases o ON o.order_id = n.order_id;
        ELSE
            SELECT array_agg(DISTINCT o.contact_id) INTO affected
            FROM (SELECT n.order_id FROM crm_new_lines n JOIN crm_old_lines d ON d.order_line_id = n.order_line_id
                  WHERE n.product_id <> d.product_id OR n.order_id <> d.order_id
                  UNION
                  SELECT d.order_id FROM crm_new_lines n JOIN crm_old_lines d ON d.order_line_id = n.order_line_id
                  WHERE n.product_id <> d.product_id OR n.order_id <> d.order_id) x
            JOIN @extschema@.purchases o ON o.order_id = x.order_id;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT contact_id) INTO affected FROM crm_old_orders;
    ELSE
        SELECT array_agg(DISTINCT c) INTO affected
        FROM crm_new_orders n JOIN crm_old_orders d ON d.order_id = n.order_id,
             LATERAL (VALUES (n.contact_id), (d.contact_id)) v(c)
        WHERE n.status <> d.status OR n.contact_id <> d.contact_id;
    END IF;
    IF affected IS NOT NULL THEN
        PERFORM @extschema@.product_pairs_resync(affected);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.product_pairs_track() IS
    'Trigger: recounts the customers whose purchased products a statement on order_lines or orders changed into the product co-occurrence counts.';
REVOKE EXECUTE ON FUNCTION @extschema@.product_pairs_track() FROM PUBLIC;
CREATE TRIGGER product_pairs_lines_inserted AFTER INSERT ON @extschema@.order_lines
    REFERENCING NEW TABLE AS crm_new_lines FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.product_pairs_track();
CREATE TRIGGER product_pairs_lines_updated AFTER UPDATE ON @extschema@.order_lines
    REFERENCING OLD TABLE AS crm_old_lines NEW TABLE AS crm_new_lines FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.product_pairs_track();
CREATE TRIGGER product_pairs_lines_deleted AFTER DELETE ON @extschema@.order_lines
    REFERENCING OLD TABLE AS crm_old_lines FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.product_pairs_track();
CREATE TRIGGER product_pairs_orders_updated AFTER UPDATE ON @extschema@.orders
    REFERENCING OLD TABLE AS crm_old_orders NEW TABLE AS crm_new_orders FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.product_pairs_track();
CREATE TRIGGER product_pairs_orders_deleted AFTER DELETE ON @extschema@.orders
    REFERENCING OLD TABLE AS crm_old_orders FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.product_pairs_track();

-- The full rebuild (also what a distributed CRM runs instead of the triggers: docs/citus.md).
CREATE FUNCTION @extschema@.refresh_product_pairs() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pairs bigint;
    n_customers bigint;
BEGIN
    -- the baskets first, as the triggers lock them first
    LOCK TABLE @extschema@.customer_baskets, @extschema@.product_buyers, @extschema@.product_pairs,
               @extschema@.product_pair_totals IN EXCLUSIVE MODE;
    DELETE FROM @extschema@.customer_baskets;
    DELETE FROM @extschema@.product_buyers;
    DELETE FROM @extschema@.product_pairs;
    INSERT INTO @extschema@.customer_baskets (contact_id, product_ids)
    SELECT o.contact_id, array_agg(DISTINCT l.product_id ORDER BY l.product_id)
    FROM @extschema@.purchases o JOIN @extschema@.order_lines l ON l.order_id = o.order_id
    GROUP BY o.contact_id;
    INSERT INTO @extschema@.product_buyers (product_id, customers)
    SELECT p, count(*) FROM @extschema@.customer_baskets, unnest(product_ids) p GROUP BY p;
    INSERT INTO @extschema@.product_pairs (product_a, product_b, customers)
    SELECT x.a, y.b, count(*)
    FROM @extschema@.customer_baskets c, unnest(c.product_ids) x(a), unnest(c.product_ids) y(b)
    WHERE x.a < y.b GROUP BY x.a, y.b;
    GET DIAGNOSTICS pairs = ROW_COUNT;
    -- (a value, not a subquery: on a distributed CRM the baskets stay on the coordinator and the
    -- totals are a reference table, which Citus updates only from values)
    SELECT count(*) INTO n_customers FROM @extschema@.customer_baskets;
    INSERT INTO @extschema@.product_pair_totals AS t (singleton, customers, refreshed_at) VALUES (true, n_customers, now())
    ON CONFLICT (singleton) DO UPDATE SET customers = excluded.customers, refreshed_at = excluded.refreshed_at;
    RETURN pairs;
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_product_pairs() IS
    'Rebuilds customer_baskets, product_buyers, product_pairs and product_pair_totals from every purchase; returns the number of product pairs.';
REVOKE EXECUTE ON FUNCTION @extschema@.refresh_product_pairs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.refresh_product_pairs() TO crm_admin, crm_manager, crm_analyst;

-- The measures of a pair, for analysts: both directions of every pair.
CREATE VIEW @extschema@.product_associations WITH (security_invoker = true) AS
SELECT p.product_a AS antecedent, p.product_b AS consequent, p.customers AS both_customers,
       a.customers AS antecedent_customers, b.customers AS consequent_customers, t.customers AS total_customers,
       p.customers::float8 / t.customers AS support,
       p.customers::float8 / a.customers AS confidence,
       p.customers::float8 * t.customers / (a.customers::float8 * b.customers) AS lift,
       p.customers::float8 / sqrt(a.customers::float8 * b.customers) AS cosine
FROM (SELECT product_a, product_b, customers FROM @extschema@.product_pairs
      UNION ALL SELECT product_b, product_a, customers FROM @extschema@.product_pairs) p
JOIN @extschema@.product_buyers a ON a.product_id = p.product_a
JOIN @extschema@.product_buyers b ON b.product_id = p.product_b
CROSS JOIN @extschema@.product_pair_totals t;
COMMENT ON VIEW @extschema@.product_associations IS
    'Association rules antecedent -> consequent over customers: support = n_ab / N, confidence = n_ab / n_a, lift = confidence / (n_b / N), cosine = n_ab / sqrt(n_a n_b).';

-- One customer's list touches a few hundred rows: never worth parallel workers, whose start-up
-- (tens of ms on a busy server) was most of a call's time when the planner chose them (it did
-- for cosine and confidence at 1M order lines, misled by the row estimate of the one-row
-- product_pair_totals, now read once into a variable instead of joined).
CREATE FUNCTION @extschema@.recommend_products(contact_id bigint, n integer DEFAULT 10, metric text DEFAULT 'cosine')
RETURNS TABLE (product_id bigint, score double precision, because_of bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
    bought bigint[];
    total_customers bigint;
BEGIN
    IF n IS NULL OR n <= 0 THEN
        RAISE EXCEPTION 'n must be a positive number of recommendations, not %', coalesce(n::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF metric IS NULL OR metric NOT IN ('cosine', 'lift', 'confidence', 'support') THEN
        RAISE EXCEPTION 'unknown recommendation metric "%"', metric
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use cosine, lift, confidence or support.';
    END IF;
    IF recommend_products.contact_id IS NULL THEN
        RETURN;
    END IF;
    -- as the caller: row-level security decides whether they see the contact and its purchases
    IF NOT EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = recommend_products.contact_id) THEN
        RAISE EXCEPTION 'contact % does not exist or is not visible to you', recommend_products.contact_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Recommendations are given only for contacts the caller may see.';
    END IF;
    SELECT pg_catalog.array_agg(DISTINCT l.product_id) INTO bought
    FROM @extschema@.purchases o JOIN @extschema@.order_lines l ON l.order_id = o.order_id
    WHERE o.contact_id = recommend_products.contact_id;
    IF bought IS NULL THEN
        RETURN;
    END IF;
    SELECT t.customers INTO total_customers FROM @extschema@.product_pair_totals t;
    IF total_customers IS NULL THEN
        RETURN;   -- nothing counted yet
    END IF;
    RETURN QUERY
    WITH cand AS (
        SELECT p.product_b AS cand, p.product_a AS src, p.customers AS nab FROM @extschema@.product_pairs p
        WHERE p.product_a = ANY (bought) AND NOT p.product_b = ANY (bought)
        UNION ALL
        SELECT p.product_a, p.product_b, p.customers FROM @extschema@.product_pairs p
        WHERE p.product_b = ANY (bought) AND NOT p.product_a = ANY (bought)
    ), scored AS (
        SELECT c.cand, c.src,
               CASE metric
                   WHEN 'support' THEN c.nab::float8 / total_customers
                   WHEN 'confidence' THEN c.nab::float8 / a.customers
                   WHEN 'lift' THEN c.nab::float8 * total_customers / (a.customers::float8 * b.customers)
                   ELSE c.nab::float8 / pg_catalog.sqrt(a.customers::float8 * b.customers)
               END AS s
        FROM cand c
        JOIN @extschema@.product_buyers a ON a.product_id = c.src
        JOIN @extschema@.product_buyers b ON b.product_id = c.cand
        JOIN @extschema@.products pr ON pr.product_id = c.cand AND pr.active
    ), best AS (
        SELECT DISTINCT ON (s.cand) s.cand, s.s, s.src FROM scored s ORDER BY s.cand, s.s DESC, s.src
    )
    SELECT b.cand, b.s, b.src FROM best b ORDER BY b.s DESC, b.cand LIMIT n;
END
$$;
COMMENT ON FUNCTION @extschema@.recommend_products(bigint, integer, text) IS
    'The n products most associated with what a customer has purchased and not yet purchased (active products only): each candidate scored by its best pair with a purchased product (because_of) under the metric (cosine, lift, confidence or support); ties by product_id.';
REVOKE EXECUTE ON FUNCTION @extschema@.recommend_products(bigint, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recommend_products(bigint, integer, text)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- Every customer's list in one pass (src/recommendations.c): the model read once into memory,
-- the caller's purchases in one ordered scan. The same lists as recommend_products called for
-- each contact the caller sees (or each of contact_ids among them), rank 1 first.
CREATE FUNCTION @extschema@.recommend_products_all(n integer DEFAULT 10, metric text DEFAULT 'cosine',
                                                   contact_ids bigint[] DEFAULT NULL)
RETURNS TABLE (contact_id bigint, rank integer, product_id bigint, score double precision, because_of bigint)
AS 'MODULE_PATHNAME', 'crm_recommend_products_all'
LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp ROWS 100000;
COMMENT ON FUNCTION @extschema@.recommend_products_all(integer, text, bigint[]) IS
    'crm.recommend_products(contact, n, metric) for every contact the caller may see that has purchases (or those of contact_ids), in one pass: contact_id, rank (1 = best), product_id, score, because_of; contacts the caller cannot see are skipped.';
REVOKE EXECUTE ON FUNCTION @extschema@.recommend_products_all(integer, text, bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recommend_products_all(integer, text, bigint[])
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- Counts over all customers (no customer row): every staff role reads them, as lead_nb_counts;
-- only the extension's functions write them. The baskets (per customer) are read by nobody.
GRANT SELECT ON @extschema@.product_buyers, @extschema@.product_pairs, @extschema@.product_pair_totals,
    @extschema@.product_associations TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer_baskets', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.product_buyers', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.product_pairs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.product_pair_totals', '');
