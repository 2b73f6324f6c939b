-- pgTAP: crm.generate_demo_data. It writes with triggers off, so the foreign keys (triggers) are
-- re-checked here by anti-joins; CHECK constraints hold on insert anyway, and are re-evaluated
-- too. Derived columns must be right, and the data reproducible from the arguments.
BEGIN;
SELECT plan(41);

-- ---------------------------------------------------------------------------------------------
-- Arguments
SELECT throws_ok($$SELECT crm.generate_demo_data(NULL, 1, '2026-06-30')$$, '22023',
                 'customers must be between 1 and 10000000', 'customers NULL is refused');
SELECT throws_ok($$SELECT crm.generate_demo_data(0, 1, '2026-06-30')$$, '22023',
                 'customers must be between 1 and 10000000', 'customers 0 is refused');
SELECT throws_ok($$SELECT crm.generate_demo_data(-5, 1, '2026-06-30')$$, '22023',
                 'customers must be between 1 and 10000000', 'negative customers are refused');
SELECT throws_ok($$SELECT crm.generate_demo_data(10000001, 1, '2026-06-30')$$, '22023',
                 'customers must be between 1 and 10000000', 'more than 10 million customers are refused');
SELECT throws_ok($$SELECT crm.generate_demo_data(10, NULL, '2026-06-30')$$, '22023',
                 'seed must not be NULL', 'seed NULL is refused');
SELECT throws_ok($$SELECT crm.generate_demo_data(10, 1, NULL)$$, '22023',
                 'as_of must be a finite date', 'as_of NULL is refused');
SELECT throws_ok($$SELECT crm.generate_demo_data(10, 1, 'infinity')$$, '22023',
                 'as_of must be a finite date', 'as_of infinity is refused');

-- The random draws, against their theoretical moments (100,000 draws each; tolerances of 4 to
-- 5 standard errors).
CREATE TEMP TABLE draws AS
SELECT crm.demo_uniform(crm.demo_key(7, 200, i), 1) AS u, crm.demo_normal(crm.demo_key(7, 200, i), 2) AS z,
       crm.demo_gamma(0.5, crm.demo_key(7, 200, i), 4) AS g_half, crm.demo_gamma(4, crm.demo_key(7, 200, i), 7) AS g_four,
       crm.demo_gamma(0.9, crm.demo_key(7, 200, i), 10) AS g_a, crm.demo_gamma(2.6, crm.demo_key(7, 200, i), 13) AS g_b
FROM generate_series(1, 100000) AS i;
SELECT ok((SELECT min(u) > 0 AND max(u) < 1 AND abs(avg(u) - 0.5) < 0.005 AND abs(var_samp(u) - 1 / 12.0) < 0.002 FROM draws),
          'demo_uniform: in (0, 1), mean 1/2, variance 1/12');
SELECT ok((SELECT abs(avg(z)) < 0.015 AND abs(stddev_samp(z) - 1) < 0.01 FROM draws), 'demo_normal: mean 0, sd 1');
SELECT ok((SELECT abs(avg(g_half) - 0.5) < 0.01 AND abs(var_samp(g_half) - 0.5) < 0.04
                  AND abs(avg(g_four) - 4) < 0.03 AND abs(var_samp(g_four) - 4) < 0.15 FROM draws),
          'demo_gamma: mean and variance equal the shape (0.5 and 4)');
SELECT ok((SELECT abs(avg(g_a / (g_a + g_b)) - 0.9 / 3.5) < 0.005 FROM draws), 'Beta(0.9, 2.6) as a gamma ratio: mean 0.9 / 3.5');

-- A capability's hook: must be called once, with the seed, still as replica.
CREATE TEMP TABLE hook_calls (seed integer, replication_role text);
CREATE FUNCTION crm.generate_demo_zz_test_hook(seed integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO pg_temp.hook_calls VALUES (seed, current_setting('session_replication_role'))
$$;
-- Not a hook: wrong argument type.
CREATE FUNCTION crm.generate_demo_zz_not_a_hook(seed text) RETURNS void
LANGUAGE sql AS $$ INSERT INTO pg_temp.hook_calls VALUES (-1, seed) $$;

CREATE TEMP TABLE summary AS SELECT crm.generate_demo_data(500, 1, '2026-06-30') AS counts;

SELECT is(current_setting('session_replication_role'), 'origin',
          'session_replication_role is restored after the run');
SELECT results_eq('SELECT seed, replication_role FROM pg_temp.hook_calls',
                  $$VALUES (1, 'replica')$$,
                  'generate_demo_<name>(seed integer) hooks run once, with the seed, as replica');
SELECT throws_ok($$SELECT crm.generate_demo_data(10, 1, '2026-06-30')$$, '55000', NULL,
                 'a schema that holds data is refused');

-- ---------------------------------------------------------------------------------------------
-- Shape
SELECT is((SELECT (counts->>'contacts')::int FROM summary), 500, 'as many contacts as customers');
SELECT is((SELECT count(*)::int FROM crm.users), 6, 'at least six staff (one per 500 customers)');
SELECT is(
    (SELECT array_agg(t ORDER BY t) FROM unnest(ARRAY['users', 'accounts', 'contacts', 'leads', 'opportunities',
        'opportunity_stage_history', 'activities', 'products', 'orders', 'order_lines', 'tickets',
        'survey_responses', 'campaigns', 'campaign_members', 'tasks']) t
     WHERE (SELECT counts->>t FROM summary)::bigint = 0),
    NULL, 'every table gets rows');
SELECT is(
    (SELECT count(*)::int FROM jsonb_each_text((SELECT counts FROM summary)) e
     WHERE e.value::bigint <> (xpath('/row/c/text()',
               query_to_xml(format('SELECT count(*) AS c FROM crm.%I', e.key), false, true, '')))[1]::text::bigint),
    0, 'the summary gives the row count of every table');
SELECT is((SELECT array_agg(DISTINCT channel ORDER BY channel)::text FROM crm.activities),
          (SELECT array_agg(c ORDER BY c)::text FROM unnest(enum_range(NULL::crm.channel)) c),
          'activities on every channel');
SELECT is((SELECT count(DISTINCT kind)::int FROM crm.activities),
          (SELECT cardinality(enum_range(NULL::crm.activity_kind))), 'activities of every kind');
SELECT is((SELECT count(*)::int FROM crm.activities WHERE kind = 'page_view' AND details->>'url' IS NULL),
          0, 'page views say which page');
SELECT ok((SELECT count(*) FROM crm.activities WHERE lead_id IS NOT NULL) > 0, 'lead activities are linked to their lead');

-- ---------------------------------------------------------------------------------------------
-- Integrity, re-checked by hand since no trigger (foreign keys included) fired
CREATE FUNCTION pg_temp.foreign_key_violations() RETURNS TABLE (constraint_name name, violations bigint)
LANGUAGE plpgsql AS $$
DECLARE
    fk record;
BEGIN
    FOR fk IN
        SELECT c.conname, c.conrelid::regclass AS child, c.confrelid::regclass AS parent,
               (SELECT string_agg(format('x.%I IS NOT NULL', a.attname), ' AND ')
                FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k) AS not_null,
               (SELECT string_agg(format('p.%I = x.%I', pa.attname, ca.attname), ' AND ')
                FROM unnest(c.conkey, c.confkey) AS k(ck, pk)
                JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.ck
                JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.pk) AS matches
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.connamespace = 'crm'::regnamespace
        ORDER BY c.conname
    LOOP
        constraint_name := fk.conname;
        EXECUTE format('SELECT count(*) FROM %s x WHERE %s AND NOT EXISTS (SELECT FROM %s p WHERE %s)',
                       fk.child, fk.not_null, fk.parent, fk.matches) INTO violations;
        RETURN NEXT;
    END LOOP;
END
$$;
CREATE FUNCTION pg_temp.check_violations() RETURNS TABLE (constraint_name name, violations bigint)
LANGUAGE plpgsql AS $$
DECLARE
    ck record;
BEGIN
    FOR ck IN
        SELECT c.conname, c.conrelid::regclass AS tab, pg_get_expr(c.conbin, c.conrelid) AS expr
        FROM pg_constraint c
        WHERE c.contype = 'c' AND c.connamespace = 'crm'::regnamespace AND c.conrelid <> 0
        ORDER BY c.conname
    LOOP
        constraint_name := ck.conname;
        -- a CHECK passes when its expression is true or NULL
        EXECUTE format('SELECT count(*) FROM %s WHERE NOT (%s)', ck.tab, ck.expr) INTO violations;
        RETURN NEXT;
    END LOOP;
END
$$;
SELECT ok((SELECT count(*) FROM pg_temp.foreign_key_violations()) >= 30, 'the foreign keys are all checked');
SELECT is_empty('SELECT * FROM pg_temp.foreign_key_violations() WHERE violations > 0', 'every foreign key holds');
SELECT ok((SELECT count(*) FROM pg_temp.check_violations()) >= 40, 'the CHECK constraints are all checked');
SELECT is_empty('SELECT * FROM pg_temp.check_violations() WHERE violations > 0', 'every CHECK constraint holds');

SELECT is_empty($$SELECT o.order_id FROM crm.orders o
                  LEFT JOIN (SELECT order_id, sum(line_total) AS total FROM crm.order_lines GROUP BY order_id) l USING (order_id)
                  WHERE o.total IS DISTINCT FROM l.total$$,
                'every order has lines and its total is the sum of its line totals');
SELECT is_empty($$SELECT o.opportunity_id FROM crm.opportunities o
                  JOIN LATERAL (SELECT array_agg(h.to_stage_id ORDER BY h.changed_at) AS path,
                                       array_agg(h.from_stage_id ORDER BY h.changed_at) AS froms,
                                       min(h.changed_at) AS first_change, max(h.changed_at) AS last_change,
                                       count(DISTINCT h.changed_at) = count(*) AS distinct_times
                                FROM crm.opportunity_stage_history h WHERE h.opportunity_id = o.opportunity_id) h ON true
                  WHERE h.path IS NULL OR h.froms[1] IS NOT NULL OR h.path[cardinality(h.path)] <> o.stage_id
                     OR h.froms[2:] <> h.path[:cardinality(h.path) - 1] OR NOT h.distinct_times
                     OR h.first_change <> o.created_at OR h.last_change > '2026-06-30 00:00+00'
                     OR (o.closed_at IS NOT NULL AND h.last_change <> o.closed_at)
                     OR (o.closed_at IS NOT NULL) <> (o.stage_id IN (6, 7))$$,
                'each deal''s history starts at its creation, chains its stages in time and ends at its stage');
SELECT is_empty($$SELECT m.* FROM crm.campaign_members m JOIN crm.contacts c USING (contact_id)
                  JOIN crm.campaigns p USING (campaign_id)
                  WHERE NOT c.marketing_consent OR c.consent_at > p.starts_on$$,
                'campaign members all gave marketing consent before the campaign');
SELECT is_empty($$SELECT 'orders', max(ordered_at) FROM crm.orders HAVING max(ordered_at) >= '2026-06-30 00:00+00'
                  UNION ALL SELECT 'activities', max(occurred_at) FROM crm.activities HAVING max(occurred_at) >= '2026-06-30 00:00+00'
                  UNION ALL SELECT 'tickets', max(opened_at) FROM crm.tickets HAVING max(opened_at) >= '2026-06-30 00:00+00'
                  UNION ALL SELECT 'orders', min(ordered_at) FROM crm.orders HAVING min(ordered_at) < '2023-06-30 00:00+00'$$,
                'the history lies in the three years before as_of');
SELECT is_empty($$SELECT t.ticket_id FROM crm.tickets t
                  WHERE (t.status = 'new') <> (t.first_response_at IS NULL)
                     OR t.assignee_id NOT IN (SELECT user_id FROM crm.users WHERE role = 'support')$$,
                'tickets: new until first answered, assigned to support agents');
SELECT is(
    (SELECT count(*)::int FROM crm.leads l JOIN crm.contacts c USING (contact_id) WHERE l.owner_id IS DISTINCT FROM c.owner_id)
    + (SELECT count(*)::int FROM crm.activities a JOIN crm.contacts c USING (contact_id) WHERE a.owner_id IS DISTINCT FROM c.owner_id),
    0, 'leads and activities belong to the contact''s owner');
SELECT is_empty($$SELECT c.contact_id FROM crm.contacts c LEFT JOIN crm.customer_order_stats s USING (contact_id)
                  WHERE (c.lifecycle_stage IN ('customer', 'evangelist', 'churned')) <> (s.contact_id IS NOT NULL)$$,
                'customers, evangelists and churned customers are exactly the contacts who bought');
SELECT is((SELECT pg_catalog.nextval('crm.orders_order_id_seq') = max(order_id) + 1 FROM crm.orders), true,
          'sequences continue after the generated ids');

-- ---------------------------------------------------------------------------------------------
-- Behaviour the analytics must find: buy-till-you-die purchasing, satisfaction
SELECT ok((SELECT count(*) FILTER (WHERE orders = 1) > count(*) / 2 FROM crm.customer_order_stats),
          'most buyers bought once');
SELECT ok((SELECT count(*) FILTER (WHERE orders BETWEEN 2 AND 4) >= 30 AND count(*) FILTER (WHERE orders >= 10) >= 3
           FROM crm.customer_order_stats),
          'repeat buyers, and a tail of frequent ones');
SELECT ok((SELECT count(*) FILTER (WHERE status IN ('cancelled', 'refunded')) BETWEEN 1 AND count(*) / 20 FROM crm.orders),
          'a few orders are cancelled or refunded');
SELECT ok((SELECT 100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) / count(*)
           FROM crm.survey_responses WHERE kind = 'nps') BETWEEN 0 AND 60,
          'NPS is positive, with detractors');

-- ---------------------------------------------------------------------------------------------
-- Reproducible: the same arguments give the same rows, ids included; another seed other rows
CREATE TEMP TABLE table_hashes (run text, table_name text, hash text);
CREATE FUNCTION pg_temp.hash_tables(run text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    h text;
BEGIN
    -- every table the extension registers for pg_dump: later capabilities' tables included
    FOR t IN SELECT c.relname FROM pg_extension e CROSS JOIN unnest(e.extconfig) x(oid)
             JOIN pg_class c ON c.oid = x.oid WHERE e.extname = 'crm' AND c.relkind = 'r'
    LOOP
        EXECUTE format('SELECT md5(string_agg(x::text, E''\n'' ORDER BY x::text)) FROM crm.%I x', t) INTO h;
        INSERT INTO pg_temp.table_hashes VALUES (run, t, h);
    END LOOP;
END
$$;
CREATE FUNCTION pg_temp.empty_crm() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE (SELECT 'TRUNCATE ' || string_agg(x.oid::regclass::text, ', ') || ' RESTART IDENTITY'
             FROM pg_extension e CROSS JOIN unnest(e.extconfig) x(oid) JOIN pg_class c ON c.oid = x.oid
             -- the configuration the extension seeds stays
             WHERE e.extname = 'crm' AND c.relkind = 'r'
               AND c.relname NOT IN ('pipeline_stages', 'rfm_segment_map', 'lead_scoring_settings', 'duplicate_settings'));
END
$$;
DROP FUNCTION crm.generate_demo_zz_test_hook(integer);

DO $$
BEGIN
    PERFORM pg_temp.hash_tables('first');
    PERFORM pg_temp.empty_crm();
    PERFORM crm.generate_demo_data(500, 1, '2026-06-30');
    PERFORM pg_temp.hash_tables('again');
    PERFORM pg_temp.empty_crm();
    PERFORM crm.generate_demo_data(500, 2, '2026-06-30');
    PERFORM pg_temp.hash_tables('other seed');
END
$$;

SELECT is((SELECT count(*)::int FROM crm.pipeline_stages), 7, 'the seeded pipeline stages are kept');
SELECT is_empty($$SELECT table_name, hash FROM pg_temp.table_hashes WHERE run = 'first'
                  EXCEPT SELECT table_name, hash FROM pg_temp.table_hashes WHERE run = 'again'$$,
                'the same seed gives the same rows in every table');
SELECT is((SELECT array_agg(a.table_name ORDER BY a.table_name) FROM pg_temp.table_hashes a
           JOIN pg_temp.table_hashes b USING (table_name)
           WHERE a.run = 'first' AND b.run = 'other seed' AND a.hash = b.hash),
          ARRAY['business_calendars', 'business_holidays', 'business_hours',
                'duplicate_settings', 'escalation_rules', 'journey_steps', 'lead_scoring_groups', 'lead_scoring_rules', 'lead_scoring_settings',
                'loyalty_programs', 'loyalty_tiers',
                'pipeline_stages', 'products', 'rfm_segment_map', 'segment_rules', 'segments', 'sla_policies'],
          'another seed gives other rows (only the fixed catalogues and example rules are the same)');

SELECT * FROM finish();
ROLLBACK;
