-- src/citus.sql: turning the CRM into a distributed one on a Citus cluster (docs/citus.md,
-- "Distributing the CRM schema"). Nothing here runs unless an administrator calls
-- crm.distribute_schema() on a Citus coordinator; a single server never uses it.

-- Trigger functions for the distributed tables: the same derived state as the single-server
-- triggers, but every statement they run names the contact (the distribution column), so it is
-- routed to the shard of the row that fired it, which lies on the same node (colocation).
-- Citus lets a trigger on a shard reach the local shards only: a statement needing another node
-- fails with "cannot execute a distributed query from a query on a shard".

-- orders.total = the sum of its line totals (src/schema.sql: maintain_order_total).
CREATE FUNCTION @extschema@.maintain_order_total_colocated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE @extschema@.orders SET total = total OPERATOR(pg_catalog.-) OLD.line_total
         WHERE contact_id OPERATOR(pg_catalog.=) OLD.contact_id AND order_id OPERATOR(pg_catalog.=) OLD.order_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE @extschema@.orders SET total = total OPERATOR(pg_catalog.+) NEW.line_total
         WHERE contact_id OPERATOR(pg_catalog.=) NEW.contact_id AND order_id OPERATOR(pg_catalog.=) NEW.order_id;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.maintain_order_total_colocated() IS
    'Trigger on a distributed crm.order_lines (crm.distribute_schema): keeps orders.total the sum of its line totals, addressing the order by (contact_id, order_id).';
REVOKE EXECUTE ON FUNCTION @extschema@.maintain_order_total_colocated() FROM PUBLIC;

-- A lead's status history (src/lead_scoring.sql: lead_status_record), with the lead's contact.
CREATE FUNCTION @extschema@.lead_status_record_colocated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- looked up first: Citus plans no subquery inside an INSERT ... VALUES
    changed_by bigint := (SELECT user_id FROM @extschema@.users WHERE login_role OPERATOR(pg_catalog.=) session_user);
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) '@extschema@.leads'::pg_catalog.regclass
       AND (TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) '@extschema@' OR TG_TABLE_NAME OPERATOR(pg_catalog.!~) '^leads_[0-9]+$') THEN
        RAISE EXCEPTION 'trigger function lead_status_record_colocated() fires only on @extschema@.leads, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers crm.distribute_schema() creates may use it.';
    END IF;
    INSERT INTO @extschema@.lead_status_history (contact_id, lead_id, from_status, to_status, changed_at, changed_by)
    VALUES (NEW.contact_id, NEW.lead_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
            pg_catalog.clock_timestamp(), changed_by);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_status_record_colocated() IS
    'Trigger on a distributed crm.leads (crm.distribute_schema): records a lead''s status at creation and every change of it in lead_status_history, with the lead''s contact_id.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_status_record_colocated() FROM PUBLIC;

-- Rescoring every lead on a distributed CRM, where the scoring triggers cannot run (docs/citus.md)
-- and crm.rescore_leads() cannot either: its UPDATE joins crm.lead_scores(), which Citus would
-- send to the shards, where its own distributed query may not run. Here the scores are computed
-- on the coordinator first (crm.lead_scores runs distributed), then written by one UPDATE that
-- carries them as arrays. SECURITY DEFINER as crm.rescore_leads: a score counts every activity
-- of the lead, also those the caller may not see.
CREATE FUNCTION @extschema@.rescore_leads_distributed(as_of timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lead_ids bigint[];
    scores numeric[];
    stored bigint;
BEGIN
    LOCK TABLE @extschema@.leads IN EXCLUSIVE MODE;
    lead_ids := ARRAY(SELECT l.lead_id FROM @extschema@.leads l);
    SELECT pg_catalog.array_agg(s.lead_id ORDER BY s.lead_id), pg_catalog.array_agg(s.score ORDER BY s.lead_id)
      INTO lead_ids, scores
    FROM @extschema@.lead_scores(rescore_leads_distributed.as_of, lead_ids) s;
    UPDATE @extschema@.leads l
       SET score = s.score, grade = @extschema@.lead_grade(s.score, t.hot_threshold, t.warm_threshold),
           scored_at = rescore_leads_distributed.as_of
      FROM ROWS FROM (pg_catalog.unnest(lead_ids), pg_catalog.unnest(scores)) AS s(lead_id, score),
           @extschema@.lead_scoring_settings t
     WHERE l.lead_id OPERATOR(pg_catalog.=) s.lead_id;
    GET DIAGNOSTICS stored = ROW_COUNT;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION @extschema@.rescore_leads_distributed(timestamptz) IS
    'On a distributed CRM (crm.distribute_schema): rescores every lead as of as_of (default now) from crm.lead_scores, as crm.rescore_leads does on one server; returns how many. Blocks writes to leads meanwhile.';
REVOKE EXECUTE ON FUNCTION @extschema@.rescore_leads_distributed(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rescore_leads_distributed(timestamptz) TO crm_admin, crm_manager;

-- ---------------------------------------------------------------------------------------------
-- crm.distribute_schema(): run once, by a superuser (the owner of the CRM's tables), on the
-- coordinator, after CREATE EXTENSION citus and crm and with the workers added. Every step is
-- one transaction: it all happens or nothing does. Returns what it did, one row per change.
CREATE FUNCTION @extschema@.distribute_schema()
RETURNS TABLE (object text, action text, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- triggers on Citus tables (the kept ones are safe: docs/citus.md); one connection per node, as
-- Citus needs when reference tables and the distributed tables keyed to them change together
SET citus.enable_unsafe_triggers = on SET citus.multi_shard_modify_mode = 'sequential' AS $$
DECLARE
    crm name := '@extschema@';
    -- grow with customers: distributed by contact_id, colocated with crm.contacts (first)
    distributed text[] := ARRAY['contacts', 'leads', 'activities', 'orders', 'order_lines',
        'survey_responses', 'campaign_members', 'subscriptions', 'rfm_history', 'lead_status_history',
        'segment_members', 'segment_membership_history'];
    -- rows that need not belong to a contact (deals of an account, tasks of a deal), the
    -- naive Bayes observations, which only crm.rebuild_lead_nb_counts() writes on a distributed
    -- CRM: they stay ordinary tables on the coordinator, which Citus joins with its tables there
    coordinator_local text[] := ARRAY['opportunities', 'opportunity_stage_history', 'opportunity_expected_close_history',
        'tasks', 'lead_nb_observations',
        -- the service desk: tickets with their SLA state, status history and escalation log, which
        -- the tickets' SLA trigger and crm.run_escalations keep together in one transaction on the
        -- coordinator (docs/citus.md)
        'tickets', 'ticket_status_history', 'ticket_slas', 'escalation_log',
        -- duplicate candidates: pairs of contacts, which no distribution column can colocate
        'duplicate_candidates',
        -- the consent history, whose insert trigger keeps contacts.marketing_consent (docs/privacy.md)
        'consent_history',
        -- each customer's purchased products, which only crm.refresh_product_pairs() writes on a
        -- distributed CRM (docs/recommendations.md)
        'customer_baskets',
        -- the merge log and its before-images, which grow with every merge (docs/data_quality.md)
        'merges', 'merge_rows'];
    -- tables without contact_id: the column is added and filled from the parent row
    children text[][] := ARRAY[['order_lines', 'orders', 'order_id'],
                               ['lead_status_history', 'leads', 'lead_id']];
    -- triggers whose derived state cannot be kept on distributed tables (docs/citus.md says why
    -- and what replaces each), and those replaced by a colocated variant
    dropped_triggers text[] := ARRAY['lead_scoring_activities_inserted', 'lead_scoring_activities_updated',
        'lead_scoring_activities_deleted', 'lead_scoring_leads_inserted', 'lead_scoring_lead_updated',
        'lead_scoring_contacts_updated', 'lead_scoring_accounts_updated', 'lead_scoring_became_hot',
        'lead_nb_inserted', 'lead_nb_status_changed', 'lead_nb_deleted',
        'lead_scoring_rules_changed', 'lead_scoring_rules_rescore', 'lead_scoring_groups_changed',
        'lead_scoring_groups_rescore', 'lead_scoring_settings_changed', 'lead_scoring_settings_rescore',
        'lead_scoring_rules_model_changed', 'lead_scoring_groups_model_changed', 'lead_scoring_settings_model_changed',
        'survey_responses_open_detractor_task',
        -- duplicate matching compares a written contact with every other contact, on every node
        'dedupe_contacts_inserted', 'dedupe_contacts_updated',
        -- a write of contacts.marketing_consent becoming a consent history row (on the coordinator)
        'contacts_consent_legacy',
        -- product co-occurrence counts over all customers, on every node: crm.refresh_product_pairs()
        'product_pairs_lines_inserted', 'product_pairs_lines_updated', 'product_pairs_lines_deleted',
        'product_pairs_orders_updated', 'product_pairs_orders_deleted'];
    replaced_triggers text[][] := ARRAY[
        ['order_lines', 'order_lines_maintain_order_total',
         'AFTER INSERT OR UPDATE OR DELETE', 'FOR EACH ROW WHEN (NOT @extschema@.restoring_dump())', 'maintain_order_total_colocated'],
        ['leads', 'lead_status_recorded',
         'AFTER INSERT', 'FOR EACH ROW WHEN (NOT @extschema@.restoring_dump())', 'lead_status_record_colocated'],
        ['leads', 'lead_status_changed',
         'AFTER UPDATE', 'FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NOT @extschema@.restoring_dump())', 'lead_status_record_colocated']];
    reference text[];
    fkeys text[][] := '{}';
    triggers text[] := '{}';
    -- the same changes on the workers' copies of the tables (see below)
    worker_ddl text[] := '{}';
    t text;
    i integer;
    r record;
    def text;
    missing bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run CREATE EXTENSION citus on every node and add the workers first (docs/citus.md).';
    END IF;
    IF NOT pg_catalog.citus_is_coordinator() THEN
        RAISE EXCEPTION 'crm.distribute_schema() runs on the Citus coordinator'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Connect to the coordinator, and set its host with citus_set_coordinator_host() if it has none.';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_dist_partition
               WHERE logicalrelid = pg_catalog.format('%I.contacts', crm)::pg_catalog.regclass) THEN
        RAISE EXCEPTION 'the CRM schema is already distributed'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_node WHERE groupid OPERATOR(pg_catalog.>) 0 AND isactive) THEN
        RAISE EXCEPTION 'the Citus cluster has no worker'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add the workers with citus_add_node() first: tables distributed without workers stay on the coordinator.';
    END IF;

    SELECT pg_catalog.array_agg(c.relname::text ORDER BY c.relname) INTO reference
    FROM pg_catalog.pg_class c
    WHERE c.relnamespace OPERATOR(pg_catalog.=) crm::pg_catalog.regnamespace AND c.relkind = 'r'
      AND NOT c.relname::text OPERATOR(pg_catalog.=) ANY (distributed OPERATOR(pg_catalog.||) coordinator_local);

    -- 1. Foreign keys: all dropped now, re-created at the end as Citus allows them.
    FOR r IN
        SELECT c.conname, c.conrelid::pg_catalog.regclass AS tbl, cl.relname::text AS tname,
               rf.relname::text AS rname, pg_catalog.pg_get_constraintdef(c.oid) AS def
        FROM pg_catalog.pg_constraint c
        JOIN pg_catalog.pg_class cl ON cl.oid OPERATOR(pg_catalog.=) c.conrelid
        JOIN pg_catalog.pg_class rf ON rf.oid OPERATOR(pg_catalog.=) c.confrelid
        WHERE c.contype = 'f' AND cl.relnamespace OPERATOR(pg_catalog.=) crm::pg_catalog.regnamespace
        ORDER BY cl.relname, c.conname
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
        worker_ddl := worker_ddl OPERATOR(pg_catalog.||) pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', r.tbl, r.conname);
        fkeys := fkeys OPERATOR(pg_catalog.||) ARRAY[[r.tname, r.conname, r.rname, r.def]];
    END LOOP;

    -- 2. contact_id on the tables that had none, from their parent rows.
    FOR i IN 1 .. pg_catalog.array_length(children, 1) LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %1$I.%2$I ADD COLUMN contact_id bigint', crm, children[i][1]);
        EXECUTE pg_catalog.format('UPDATE %1$I.%2$I x SET contact_id = p.contact_id FROM %1$I.%3$I p WHERE p.%4$I OPERATOR(pg_catalog.=) x.%4$I',
                                  crm, children[i][1], children[i][2], children[i][3]);
        EXECUTE pg_catalog.format('ALTER TABLE %1$I.%2$I ALTER COLUMN contact_id SET NOT NULL', crm, children[i][1]);
        worker_ddl := worker_ddl OPERATOR(pg_catalog.||) pg_catalog.format(
            'ALTER TABLE %1$I.%2$I ADD COLUMN IF NOT EXISTS contact_id bigint NOT NULL', crm, children[i][1]);
        EXECUTE pg_catalog.format('CREATE INDEX ON %1$I.%2$I (contact_id, %3$I)', crm, children[i][1], children[i][3]);
        object := pg_catalog.format('%s.%s', crm, children[i][1]); action := 'column added';
        detail := pg_catalog.format('contact_id bigint NOT NULL, from %s.%s', crm, children[i][2]);
        RETURN NEXT;
    END LOOP;

    -- 3. Keys: every unique constraint and unique index of a distributed table must include
    --    contact_id. Primary keys become (contact_id, key); other unique indexes without it go.
    FOR r IN
        SELECT i.indexrelid::pg_catalog.regclass AS idx, ic.relname::text AS idxname, c.conname, cl.relname::text AS tname, i.indisprimary,
               (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.n)
                FROM pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
                JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) k.attnum) AS cols
        FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_class cl ON cl.oid OPERATOR(pg_catalog.=) i.indrelid
        JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
        LEFT JOIN pg_catalog.pg_constraint c ON c.conindid OPERATOR(pg_catalog.=) i.indexrelid AND c.contype IN ('p', 'u', 'x')
        WHERE i.indisunique AND cl.relnamespace OPERATOR(pg_catalog.=) crm::pg_catalog.regnamespace
          AND cl.relname::text OPERATOR(pg_catalog.=) ANY (distributed)
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attname = 'contact_id'
                            AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey::pg_catalog.int2[]))
        ORDER BY cl.relname
    LOOP
        IF r.indisprimary THEN
            def := pg_catalog.format('ALTER TABLE %1$I.%2$I DROP CONSTRAINT IF EXISTS %3$I, ADD CONSTRAINT %3$I PRIMARY KEY (contact_id, %4$s)',
                                     crm, r.tname, r.conname, r.cols);
        ELSIF r.conname IS NOT NULL THEN
            def := pg_catalog.format('ALTER TABLE %I.%I DROP CONSTRAINT IF EXISTS %I', crm, r.tname, r.conname);
        ELSE
            def := pg_catalog.format('DROP INDEX IF EXISTS %I.%I', crm, r.idxname);
        END IF;
        EXECUTE def;
        worker_ddl := worker_ddl OPERATOR(pg_catalog.||) def;
        IF r.indisprimary THEN
            object := pg_catalog.format('%s.%s', crm, r.tname); action := 'primary key changed';
            detail := pg_catalog.format('%s: (contact_id, %s)', r.conname, r.cols);
        ELSE
            object := pg_catalog.format('%s.%s', crm, r.tname); action := 'unique index dropped';
            detail := pg_catalog.format('%s: not enforceable across shards', r.idxname);
        END IF;
        RETURN NEXT;
    END LOOP;

    -- 4. Row-level security: Citus refuses policies with subqueries on its tables ("cannot
    --    create policy", "Subqueries are not supported in policies on distributed tables").
    --    A scalar subquery around a crm function becomes the plain call; a policy that still
    --    has a subquery (one following a contact, an order, a lead) is dropped, and the role it
    --    served then sees no rows of that table (row-level security stays enabled).
    FOR r IN
        SELECT p.polname, p.polrelid::pg_catalog.regclass AS tbl, p.polcmd, p.polpermissive,
               ARRAY(SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles ro
                     WHERE ro.oid OPERATOR(pg_catalog.=) ANY (p.polroles) ORDER BY ro.rolname) AS roles,
               pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
               pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS wcheck
        FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class cl ON cl.oid OPERATOR(pg_catalog.=) p.polrelid
        WHERE cl.relnamespace OPERATOR(pg_catalog.=) crm::pg_catalog.regnamespace
          AND NOT cl.relname::text OPERATOR(pg_catalog.=) ANY (coordinator_local)
          AND (pg_catalog.pg_get_expr(p.polqual, p.polrelid) OPERATOR(pg_catalog.~*) '\mSELECT\M'
               OR pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) OPERATOR(pg_catalog.~*) '\mSELECT\M')
        ORDER BY 2::text, 1
    LOOP
        def := pg_catalog.format('DROP POLICY %I ON %s', r.polname, r.tbl);
        EXECUTE def;
        worker_ddl := worker_ddl OPERATOR(pg_catalog.||) pg_catalog.replace(def, 'DROP POLICY ', 'DROP POLICY IF EXISTS ');
        r.qual := pg_catalog.replace(pg_catalog.replace(r.qual,
                      pg_catalog.format('( SELECT %I.current_user_id() AS current_user_id)', crm),
                      pg_catalog.format('%I.current_user_id()', crm)),
                      pg_catalog.format('( SELECT %I.managed_user_ids() AS managed_user_ids)', crm),
                      pg_catalog.format('%I.managed_user_ids()', crm));
        r.wcheck := pg_catalog.replace(pg_catalog.replace(r.wcheck,
                      pg_catalog.format('( SELECT %I.current_user_id() AS current_user_id)', crm),
                      pg_catalog.format('%I.current_user_id()', crm)),
                      pg_catalog.format('( SELECT %I.managed_user_ids() AS managed_user_ids)', crm),
                      pg_catalog.format('%I.managed_user_ids()', crm));
        object := pg_catalog.format('policy %s on %s', r.polname, r.tbl);
        IF coalesce(r.qual, '') OPERATOR(pg_catalog.~*) '\mSELECT\M' OR coalesce(r.wcheck, '') OPERATOR(pg_catalog.~*) '\mSELECT\M' THEN
            action := 'policy dropped';
            detail := pg_catalog.format('a subquery; %s no longer see these rows through it', pg_catalog.array_to_string(r.roles, ', '));
        ELSE
            def := pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', r.polname, r.tbl,
                CASE WHEN r.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                CASE r.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                pg_catalog.array_to_string(r.roles, ', '),
                CASE WHEN r.qual IS NOT NULL THEN ' USING (' OPERATOR(pg_catalog.||) r.qual OPERATOR(pg_catalog.||) ')' ELSE '' END,
                CASE WHEN r.wcheck IS NOT NULL THEN ' WITH CHECK (' OPERATOR(pg_catalog.||) r.wcheck OPERATOR(pg_catalog.||) ')' ELSE '' END);
            EXECUTE def;
            worker_ddl := worker_ddl OPERATOR(pg_catalog.||) (pg_catalog.format('DROP POLICY IF EXISTS %I ON %s; ', r.polname, r.tbl) OPERATOR(pg_catalog.||) def);
            action := 'policy rewritten';
            detail := 'the scalar subquery around a crm function became a plain call';
        END IF;
        RETURN NEXT;
    END LOOP;

    -- 5. Triggers: all dropped now and created again once the tables are distributed (so none
    --    fires while Citus copies the rows into the shards), but for those that cannot keep their
    --    state on distributed tables, and with the colocated variants where one replaces them.
    FOR r IN
        SELECT tg.tgname::text AS tgname, tg.tgrelid::pg_catalog.regclass AS tbl, cl.relname::text AS tname,
               pg_catalog.pg_get_triggerdef(tg.oid) AS def
        FROM pg_catalog.pg_trigger tg JOIN pg_catalog.pg_class cl ON cl.oid OPERATOR(pg_catalog.=) tg.tgrelid
        WHERE NOT tg.tgisinternal AND cl.relnamespace OPERATOR(pg_catalog.=) crm::pg_catalog.regnamespace
          AND NOT cl.relname::text OPERATOR(pg_catalog.=) ANY (coordinator_local)  -- these keep theirs
        ORDER BY 2::text, 1
    LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER %I ON %s', r.tgname, r.tbl);
        worker_ddl := worker_ddl OPERATOR(pg_catalog.||) pg_catalog.format('DROP TRIGGER IF EXISTS %I ON %s', r.tgname, r.tbl);
        IF r.tgname OPERATOR(pg_catalog.=) ANY (dropped_triggers) THEN
            object := pg_catalog.format('trigger %s on %s', r.tgname, r.tbl); action := 'trigger dropped';
            detail := 'cannot keep its state exact on a distributed table: see docs/citus.md';
            RETURN NEXT;
            CONTINUE;
        END IF;
        FOR i IN 1 .. pg_catalog.array_length(replaced_triggers, 1) LOOP
            IF replaced_triggers[i][1] OPERATOR(pg_catalog.=) r.tname AND replaced_triggers[i][2] OPERATOR(pg_catalog.=) r.tgname THEN
                r.def := pg_catalog.format('CREATE TRIGGER %I %s ON %I.%I %s EXECUTE FUNCTION %I.%I()',
                                           replaced_triggers[i][2], replaced_triggers[i][3], crm, replaced_triggers[i][1],
                                           replaced_triggers[i][4], crm, replaced_triggers[i][5]);
                object := pg_catalog.format('trigger %s on %s', r.tgname, r.tbl);
                action := 'trigger replaced';
                detail := pg_catalog.format('now executes %s.%s()', crm, replaced_triggers[i][5]);
                RETURN NEXT;
            END IF;
        END LOOP;
        triggers := triggers OPERATOR(pg_catalog.||) r.def;
    END LOOP;

    -- The workers hold copies of the extension's tables, made by CREATE EXTENSION there: Citus
    -- plans with them on the workers (it makes no shell table of its own for a table an
    -- extension owns) and does not send them the changes made above to local tables. They get
    -- the same columns, policies and triggers here. Citus runs these on connections of their
    -- own, outside this transaction: each is written to run again harmlessly.
    FOREACH def IN ARRAY worker_ddl LOOP
        SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ') INTO t
        FROM pg_catalog.run_command_on_workers(def) w
        WHERE NOT w.success;
        IF t IS NOT NULL THEN
            RAISE EXCEPTION 'a change to the workers'' copies of the tables failed: %', t
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = def;
        END IF;
    END LOOP;

    -- 6. The tables.
    FOREACH t IN ARRAY reference LOOP
        PERFORM pg_catalog.create_reference_table(pg_catalog.format('%I.%I', crm, t));
        object := pg_catalog.format('%s.%s', crm, t); action := 'reference table'; detail := 'a copy on every node';
        RETURN NEXT;
    END LOOP;
    FOREACH t IN ARRAY distributed LOOP
        PERFORM pg_catalog.create_distributed_table(pg_catalog.format('%I.%I', crm, t), 'contact_id',
                    colocate_with => CASE WHEN t = 'contacts' THEN 'default' ELSE pg_catalog.format('%I.contacts', crm) END);
        object := pg_catalog.format('%s.%s', crm, t); action := 'distributed table';
        detail := pg_catalog.format('by contact_id, colocated with %s.contacts', crm);
        RETURN NEXT;
    END LOOP;
    FOREACH t IN ARRAY coordinator_local LOOP
        object := pg_catalog.format('%s.%s', crm, t); action := 'local table';
        detail := 'stays an ordinary table on the coordinator, joined with the distributed tables there';
        RETURN NEXT;
    END LOOP;

    FOREACH def IN ARRAY triggers LOOP
        EXECUTE def;
    END LOOP;

    -- 7. Foreign keys again: to a reference table, or to crm.contacts by contact_id, as they
    --    were; between two distributed tables by another key, with contact_id added on both sides.
    FOR i IN 1 .. coalesce(pg_catalog.array_length(fkeys, 1), 0) LOOP
        def := fkeys[i][4];
        object := pg_catalog.format('foreign key %s on %s.%s', fkeys[i][2], crm, fkeys[i][1]);
        IF fkeys[i][3] OPERATOR(pg_catalog.=) ANY (distributed) AND fkeys[i][1] OPERATOR(pg_catalog.=) ANY (distributed)
           AND def OPERATOR(pg_catalog.!~) '^FOREIGN KEY \(contact_id\) REFERENCES' THEN
            def := pg_catalog.regexp_replace(def, '^FOREIGN KEY \(([^)]*)\) REFERENCES ([^(]*)\(([^)]*)\)',
                                             'FOREIGN KEY (contact_id, \1) REFERENCES \2(contact_id, \3)');
            action := 'foreign key changed';
            detail := def;
        ELSIF (fkeys[i][1] OPERATOR(pg_catalog.=) ANY (coordinator_local)) OPERATOR(pg_catalog.<>) (fkeys[i][3] OPERATOR(pg_catalog.=) ANY (coordinator_local)) THEN
            -- between an ordinary table of the coordinator and a Citus table: Citus cannot
            -- check it (and a key to a reference table would make the table a Citus local
            -- table, which it cannot make of an extension's table)
            detail := def;
            action := 'foreign key dropped';
            RETURN NEXT;
            CONTINUE;
        ELSE
            action := NULL;
        END IF;
        EXECUTE pg_catalog.format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', crm, fkeys[i][1], fkeys[i][2], def);
        IF action IS NOT NULL THEN
            RETURN NEXT;
        END IF;
    END LOOP;

    -- 8. The coordinator's own copies of the distributed tables' rows are now in the shards.
    FOREACH t IN ARRAY distributed LOOP
        PERFORM pg_catalog.truncate_local_data_after_distributing_table(pg_catalog.format('%I.%I', crm, t));
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.distribute_schema() IS
    'On a Citus coordinator: makes the CRM''s per-customer tables distributed by contact_id (colocated with crm.contacts) and the others reference tables, adjusting keys, foreign keys, policies and triggers as Citus requires; returns what it changed. Superuser only (docs/citus.md).';
REVOKE EXECUTE ON FUNCTION @extschema@.distribute_schema() FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Analytics and triggers that also run on a distributed CRM (docs/citus.md, "Distributing the CRM
-- schema"): the same answers, written so that Citus can plan them. As in src/rfm.sql,
-- src/lead_scoring.sql, src/nps.sql, src/customer_360.sql and src/segments.sql.
CREATE OR REPLACE FUNCTION @extschema@.rfm_scores(as_of timestamptz DEFAULT now())
RETURNS TABLE (contact_id bigint, recency integer, frequency integer, monetary numeric, rfm @extschema@.rfm)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- PL/pgSQL, not SQL: Citus cannot plan an SQL function's parameterised queries over
    -- distributed tables (docs/citus.md, "Distributing the CRM schema").
    RETURN QUERY
    -- Purchases (crm.purchases: orders paid or shipped) before as_of.
    -- Recency and frequency take few distinct values: their "worse" counts come from a histogram
    -- of the values, joined back, rather than from sorting every customer; monetary is ranked.
    WITH purchases AS MATERIALIZED (
        SELECT o.contact_id,
               floor(extract(epoch FROM rfm_scores.as_of - max(o.ordered_at)) / 86400)::integer AS recency,
               count(*)::integer AS frequency,
               sum(o.total) AS monetary
        FROM @extschema@.purchases o
        WHERE o.ordered_at < rfm_scores.as_of
        GROUP BY o.contact_id
    ), customers AS (
        SELECT count(*) AS n FROM purchases
    ), recency_worse AS (
        SELECT h.recency, coalesce(sum(h.customers) OVER (ORDER BY h.recency DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS worse
        FROM (SELECT p.recency, count(*) AS customers FROM purchases p GROUP BY p.recency) h
    ), frequency_worse AS (
        SELECT h.frequency, coalesce(sum(h.customers) OVER (ORDER BY h.frequency ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS worse
        FROM (SELECT p.frequency, count(*) AS customers FROM purchases p GROUP BY p.frequency) h
    )
    -- bigint division: 5 * worse / n is floor(5 * worse / n)
    SELECT p.contact_id, p.recency, p.frequency, p.monetary,
           @extschema@.rfm((1 + 5 * r.worse / c.n)::integer,
                           (1 + 5 * f.worse / c.n)::integer,
                           (1 + 5 * (rank() OVER (ORDER BY p.monetary) - 1) / c.n)::integer)
    FROM purchases p
    CROSS JOIN customers c
    JOIN recency_worse r ON r.recency = p.recency
    JOIN frequency_worse f ON f.frequency = p.frequency;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_settings_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- on a distributed CRM (crm.distribute_schema) it fires on the table's Citus shards too,
    -- crm.lead_scoring_settings_<shard id> in the same schema
    IF TG_RELID <> '@extschema@.lead_scoring_settings'::pg_catalog.regclass
       AND (TG_TABLE_SCHEMA <> '@extschema@' OR TG_TABLE_NAME !~ '^lead_scoring_settings_[0-9]+$') THEN
        RAISE EXCEPTION 'trigger function lead_scoring_settings_guard() fires only on @extschema@.lead_scoring_settings, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF NEW.hot_threshold <= NEW.warm_threshold THEN
        RAISE EXCEPTION 'hot_threshold (%) must be greater than warm_threshold (%)',
            NEW.hot_threshold, NEW.warm_threshold USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.hot_threshold IN ('NaN', 'Infinity', '-Infinity') OR NEW.warm_threshold IN ('NaN', 'Infinity', '-Infinity')
       OR coalesce(NEW.total_cap, 0) IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'thresholds and total_cap must be finite numbers' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT NEW.nb_fields <@ ARRAY['source', 'need', 'industry', 'country', 'employee_band'] THEN
        RAISE EXCEPTION 'unknown naive Bayes field in %', NEW.nb_fields
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Choose among source, need, industry, country, employee_band.';
    END IF;
    IF NOT NEW.bant_needs <@ ARRAY['none', 'low', 'medium', 'high'] THEN
        RAISE EXCEPTION 'unknown need in bant_needs %', NEW.bant_needs USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF TG_OP = 'INSERT' AND EXISTS (SELECT FROM @extschema@.lead_scoring_settings) THEN
        UPDATE @extschema@.lead_scoring_settings
           SET total_cap = NEW.total_cap, hot_threshold = NEW.hot_threshold,
               warm_threshold = NEW.warm_threshold, assignment_team = NEW.assignment_team,
               bant_min_budget = NEW.bant_min_budget, bant_require_authority = NEW.bant_require_authority,
               bant_needs = NEW.bant_needs, bant_max_timeline = NEW.bant_max_timeline,
               nb_fields = NEW.nb_fields, updated_at = NEW.updated_at;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_scores(as_of timestamptz, lead_ids bigint[])
RETURNS TABLE (lead_id bigint, score numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
-- PL/pgSQL, with every join and grouping also by contact_id, so that it runs on a distributed CRM
-- (docs/citus.md): Citus plans no SQL function's parameterised queries over distributed tables,
-- and pushes joins of its tables down to the shards only on the distribution column. A lead
-- belongs to one contact, so the groups are the same. The settings row is joined (ON true: no row,
-- no cap), not read by a subquery in the select list, which Citus cannot run after an aggregate.
RETURN QUERY
SELECT l.lead_id,
       pg_catalog.round(LEAST(coalesce(sum(g.points), 0), max(t.total_cap)), 6)
FROM @extschema@.leads l
LEFT JOIN @extschema@.lead_scoring_settings t ON true
LEFT JOIN (
    SELECT p.contact_id, p.lead_id, LEAST(sum(p.points), grp.cap) AS points
    FROM (
        -- each lead's rows are read and turned into jsonb once, then every fit rule is tested on
        -- them: left to itself the planner joins the other way round and rescans the leads, and
        -- converts them again, once per rule (OFFSET 0 keeps both subqueries as written)
        SELECT subject.contact_id, subject.lead_id, r.group_id, r.points
        FROM (SELECT fl.contact_id, fl.lead_id, pg_catalog.to_jsonb(fl) AS lead_row, pg_catalog.to_jsonb(c) AS contact_row,
                     pg_catalog.to_jsonb(a) AS account_row
              FROM @extschema@.leads fl
              JOIN @extschema@.contacts c ON c.contact_id = fl.contact_id
              LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
              WHERE fl.lead_id = ANY (lead_scores.lead_ids) OFFSET 0) subject
        CROSS JOIN LATERAL (
            SELECT r.group_id, r.points
            FROM @extschema@.lead_scoring_rules r
            WHERE r.kind = 'fit' AND r.active
              AND @extschema@.lead_scoring_test(
                      CASE r.entity WHEN 'lead' THEN subject.lead_row
                                    WHEN 'contact' THEN subject.contact_row
                                    ELSE subject.account_row END ->> r.field,
                      r.operator, r.value, r.value_type)
            OFFSET 0) r
        UNION ALL
        SELECT e.contact_id, e.lead_id, r.group_id,
               r.points * @extschema@.lead_scoring_decay(lead_scores.as_of - e.occurred_at, coalesce(r.half_life, rg.half_life))
        FROM @extschema@.activities e
        JOIN @extschema@.lead_scoring_rules r
          ON r.kind = 'engagement' AND r.active AND r.activity_kind = e.kind
         AND (r.channel IS NULL OR r.channel = e.channel)
        JOIN @extschema@.lead_scoring_groups rg ON rg.group_id = r.group_id
        WHERE e.lead_id IS NOT NULL AND e.occurred_at <= lead_scores.as_of
          AND e.lead_id = ANY (lead_scores.lead_ids)
          AND (r.detail_key IS NULL
               OR @extschema@.lead_scoring_test(e.details ->> r.detail_key, r.detail_operator, r.detail_value, 'text'))
    ) p
    JOIN @extschema@.lead_scoring_groups grp ON grp.group_id = p.group_id
    GROUP BY p.contact_id, p.lead_id, grp.group_id
) g ON g.contact_id = l.contact_id AND g.lead_id = l.lead_id
WHERE l.lead_id = ANY (lead_scores.lead_ids)
GROUP BY l.contact_id, l.lead_id;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_rules_validate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    label text := pg_catalog.format('lead scoring rule %s (%s)', NEW.rule_id, pg_catalog.quote_literal(NEW.name));
    element text;
BEGIN
    -- on a distributed CRM (crm.distribute_schema) it fires on the table's Citus shards too,
    -- crm.lead_scoring_rules_<shard id> in the same schema
    IF TG_RELID <> '@extschema@.lead_scoring_rules'::pg_catalog.regclass
       AND (TG_TABLE_SCHEMA <> '@extschema@' OR TG_TABLE_NAME !~ '^lead_scoring_rules_[0-9]+$') THEN
        RAISE EXCEPTION 'trigger function lead_scoring_rules_validate() fires only on @extschema@.lead_scoring_rules, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF NEW.points IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION '%: points must be a finite number', label USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.half_life <= interval '0' THEN
        RAISE EXCEPTION '%: half_life must be positive', label USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.kind = 'fit' THEN
        IF num_nonnulls(NEW.activity_kind, NEW.channel, NEW.detail_key, NEW.detail_operator, NEW.detail_value, NEW.half_life) > 0 THEN
            RAISE EXCEPTION '%: a fit rule has no activity_kind, channel, details condition or half_life', label
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        BEGIN
            NEW.value_type := @extschema@.lead_scoring_field_type(NEW.entity, NEW.field);
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE EXCEPTION '%: %', label, SQLERRM USING ERRCODE = 'invalid_parameter_value';
        END;
        IF NEW.operator IS NULL OR NEW.operator NOT IN ('=', '<>', '<', '<=', '>', '>=', 'in', 'is null', 'is not null', 'ends_with', 'matches', 'like') THEN
            RAISE EXCEPTION '%: unknown operator %', label, coalesce(pg_catalog.quote_literal(NEW.operator), 'NULL')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Operators: = <> < <= > >= in, is null, is not null, ends_with, matches, like.';
        END IF;
        IF NEW.operator IN ('ends_with', 'matches', 'like') AND NEW.value_type <> 'text' THEN
            RAISE EXCEPTION '%: operator % applies to text fields only', label, NEW.operator USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF NEW.operator IN ('<', '<=', '>', '>=') AND NEW.value_type = 'boolean' THEN
            RAISE EXCEPTION '%: operator % does not apply to boolean fields', label, NEW.operator USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF NEW.operator IN ('is null', 'is not null') THEN
            IF NEW.value IS NOT NULL THEN
                RAISE EXCEPTION '%: operator % takes no value', label, NEW.operator USING ERRCODE = 'invalid_parameter_value';
            END IF;
        ELSIF NEW.value IS NULL THEN
            RAISE EXCEPTION '%: operator % needs a value', label, NEW.operator USING ERRCODE = 'invalid_parameter_value';
        ELSE
            BEGIN
                IF NEW.operator = 'matches' THEN
                    PERFORM '' ~* NEW.value;
                ELSIF NEW.operator = 'in' THEN
                    FOREACH element IN ARRAY NEW.value::text[] LOOP
                        PERFORM @extschema@.lead_scoring_compare(element, element, NEW.value_type);
                    END LOOP;
                ELSIF NEW.operator NOT IN ('ends_with', 'like') THEN
                    PERFORM @extschema@.lead_scoring_compare(NEW.value, NEW.value, NEW.value_type);
                END IF;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION '%: value % is not a valid % for %.% %', label, pg_catalog.quote_literal(NEW.value),
                    CASE WHEN NEW.operator = 'matches' THEN 'regular expression'
                         WHEN NEW.operator = 'in' THEN NEW.value_type || ' array (e.g. {a,b})'
                         ELSE NEW.value_type END,
                    NEW.entity, NEW.field, NEW.operator
                    USING ERRCODE = 'invalid_text_representation', DETAIL = SQLERRM;
            END;
        END IF;
    ELSE
        IF num_nonnulls(NEW.entity, NEW.field, NEW.operator, NEW.value) > 0 THEN
            RAISE EXCEPTION '%: an engagement rule has no entity, field, operator or value', label
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Test activity details with detail_key, detail_operator and detail_value.';
        END IF;
        IF NEW.activity_kind IS NULL THEN
            RAISE EXCEPTION '%: an engagement rule needs an activity_kind', label USING ERRCODE = 'invalid_parameter_value';
        END IF;
        NEW.value_type := NULL;
        IF NEW.detail_key IS NULL THEN
            IF NEW.detail_operator IS NOT NULL OR NEW.detail_value IS NOT NULL THEN
                RAISE EXCEPTION '%: detail_operator and detail_value need a detail_key', label USING ERRCODE = 'invalid_parameter_value';
            END IF;
        ELSIF NEW.detail_operator IS NULL OR NEW.detail_operator NOT IN ('=', '<>', 'like', 'ends_with', 'matches', 'is null', 'is not null') THEN
            RAISE EXCEPTION '%: unknown detail_operator %', label, coalesce(pg_catalog.quote_literal(NEW.detail_operator), 'NULL')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Detail operators: = <> like ends_with matches, is null, is not null.';
        ELSIF (NEW.detail_operator IN ('is null', 'is not null')) <> (NEW.detail_value IS NULL) THEN
            RAISE EXCEPTION '%: detail_operator % %', label, NEW.detail_operator,
                CASE WHEN NEW.detail_value IS NULL THEN 'needs a detail_value' ELSE 'takes no detail_value' END
                USING ERRCODE = 'invalid_parameter_value';
        ELSIF NEW.detail_operator = 'matches' THEN
            BEGIN
                PERFORM '' ~* NEW.detail_value;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION '%: detail_value % is not a valid regular expression', label, pg_catalog.quote_literal(NEW.detail_value)
                    USING ERRCODE = 'invalid_text_representation', DETAIL = SQLERRM;
            END;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_groups_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- on a distributed CRM (crm.distribute_schema) it fires on the table's Citus shards too,
    -- crm.lead_scoring_groups_<shard id> in the same schema
    IF TG_RELID <> '@extschema@.lead_scoring_groups'::pg_catalog.regclass
       AND (TG_TABLE_SCHEMA <> '@extschema@' OR TG_TABLE_NAME !~ '^lead_scoring_groups_[0-9]+$') THEN
        RAISE EXCEPTION 'trigger function lead_scoring_groups_validate() fires only on @extschema@.lead_scoring_groups, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF coalesce(NEW.cap, 0) IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'lead scoring group % (%): cap must be a finite number', NEW.group_id, pg_catalog.quote_literal(NEW.name)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.half_life <= interval '0' THEN
        RAISE EXCEPTION 'lead scoring group % (%): half_life must be positive', NEW.group_id, pg_catalog.quote_literal(NEW.name)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_bant_qualify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- on a distributed CRM (crm.distribute_schema) it fires on the table's Citus shards too,
    -- crm.leads_<shard id> in the same schema
    IF TG_RELID <> '@extschema@.leads'::pg_catalog.regclass
       AND (TG_TABLE_SCHEMA <> '@extschema@' OR TG_TABLE_NAME !~ '^leads_[0-9]+$') THEN
        RAISE EXCEPTION 'trigger function lead_bant_qualify() fires only on @extschema@.leads, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF NEW.status IN ('new', 'contacted')
       AND @extschema@.lead_meets_bant(NEW.budget, NEW.authority, NEW.need, NEW.timeline) THEN
        NEW.status := 'qualified';
    END IF;
    IF NEW.status = 'qualified' AND NEW.qualified_at IS NULL THEN
        NEW.qualified_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
CREATE FUNCTION @extschema@.lead_nb_feature_values(source text, need text, industry text, country text,
                                                   employee_count integer, nb_fields text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT pg_catalog.jsonb_object_agg(f.field, f.value)
FROM (VALUES
    ('source', $1),
    ('need', $2),
    ('industry', $3),
    ('country', $4),
    ('employee_band', CASE WHEN $5 IS NULL THEN NULL
                           WHEN $5 <= 10 THEN '1-10'
                           WHEN $5 <= 50 THEN '11-50'
                           WHEN $5 <= 200 THEN '51-200'
                           WHEN $5 <= 1000 THEN '201-1000'
                           ELSE '1001+' END)) AS f(field, value)
WHERE f.field = ANY ($6)
$$;
COMMENT ON FUNCTION @extschema@.lead_nb_feature_values(text, text, text, text, integer, text[]) IS
    'The naive Bayes features named in nb_fields (source, need, industry, country, employee_band: 1-10, 11-50, 51-200, 201-1000, 1001+ from employee_count) as a jsonb object; NULL when none is named.';
CREATE OR REPLACE FUNCTION @extschema@.lead_nb_features(lead_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT @extschema@.lead_nb_feature_values(l.source, l.need, a.industry, coalesce(c.country, a.country),
                                          a.employee_count, s.nb_fields)
FROM @extschema@.leads l
JOIN @extschema@.contacts c ON c.contact_id = l.contact_id
LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
CROSS JOIN @extschema@.lead_scoring_settings s
WHERE l.lead_id = lead_nb_features.lead_id
$$;
CREATE OR REPLACE FUNCTION @extschema@.rebuild_lead_nb_counts() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    observed bigint;
BEGIN
    LOCK TABLE @extschema@.lead_nb_observations, @extschema@.lead_nb_counts IN EXCLUSIVE MODE;
    DELETE FROM @extschema@.lead_nb_observations;
    DELETE FROM @extschema@.lead_nb_counts;
    -- one query, not crm.lead_nb_features per lead: it also runs on a distributed CRM
    INSERT INTO @extschema@.lead_nb_observations (lead_id, won, features)
    SELECT l.lead_id, l.status = 'won',
           coalesce(@extschema@.lead_nb_feature_values(l.source, l.need, a.industry, coalesce(c.country, a.country),
                                                       a.employee_count, s.nb_fields), '{}')
    FROM @extschema@.leads l
    JOIN @extschema@.contacts c ON c.contact_id = l.contact_id
    LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
    LEFT JOIN @extschema@.lead_scoring_settings s ON true
    WHERE l.status IN ('won', 'lost');
    GET DIAGNOSTICS observed = ROW_COUNT;
    INSERT INTO @extschema@.lead_nb_counts (field, value, won, lost)
    SELECT f.key, f.value, count(*) FILTER (WHERE o.won), count(*) FILTER (WHERE NOT o.won)
    FROM @extschema@.lead_nb_observations o,
         LATERAL (SELECT '*' AS key, NULL::text AS value
                  UNION ALL SELECT key, value FROM jsonb_each_text(o.features)) f
    GROUP BY f.key, f.value;
    RETURN observed;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.open_detractor_tasks(response_ids bigint[]) RETURNS SETOF bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- the answers already followed up, read first: on a distributed CRM (docs/citus.md) crm.tasks
    -- stays on the coordinator, and Citus joins no such table with distributed ones
    followed bigint[] := ARRAY(SELECT t.response_id FROM @extschema@.tasks t
                               WHERE t.response_id = ANY (open_detractor_tasks.response_ids));
BEGIN
    RETURN QUERY
    INSERT INTO @extschema@.tasks (title, description, due_at, assignee_id, priority, contact_id, response_id)
    SELECT pg_catalog.format('Follow up NPS detractor (score %s)', r.score),
           COALESCE('Their comment: ' || r.comment, 'No comment given.'),
           r.responded_at + interval '2 days',
           COALESCE(c.owner_id, a.owner_id),
           CASE WHEN r.score <= 3 THEN 'high' ELSE 'normal' END,
           r.contact_id, r.response_id
    FROM @extschema@.survey_responses r
    JOIN @extschema@.contacts c ON c.contact_id = r.contact_id
    LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
    WHERE r.response_id = ANY (open_detractor_tasks.response_ids)
      AND r.kind = 'nps' AND r.score <= 6
      AND NOT (r.response_id = ANY (followed))
    ORDER BY r.response_id
    RETURNING task_id;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.refresh_segment(segment_id bigint)
RETURNS TABLE (members bigint, joined bigint, departed bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    condition text;
    matching bigint[];
    departing bigint[];
    joining bigint[];
    refresh_time timestamptz := now();
BEGIN
    -- one refresh of a segment at a time: two would both insert the same new members
    PERFORM FROM @extschema@.segments s WHERE s.segment_id = refresh_segment.segment_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment % does not exist', refresh_segment.segment_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    condition := @extschema@.segment_condition(refresh_segment.segment_id);
    -- first: on a distributed CRM, Citus allows no change to a reference table (segments) after
    -- a parallel one to a distributed table in the same transaction
    UPDATE @extschema@.segments s SET refreshed_at = refresh_time WHERE s.segment_id = refresh_segment.segment_id;

    -- One statement per step, each reading or writing one table (with the contacts' ids passed
    -- as arrays): Citus runs these on a distributed CRM, not one statement of data-modifying
    -- CTEs joined with crm.customer_360 (docs/citus.md). Every operator and function in the
    -- statement is named with its schema (the condition's too).
    EXECUTE format($query$
        SELECT coalesce(pg_catalog.array_agg(c.contact_id), '{}') FROM @extschema@.customer_360 c WHERE %s
        $query$, condition)
    INTO matching;
    departing := ARRAY(
        SELECT m.contact_id FROM @extschema@.segment_members m
        WHERE m.segment_id OPERATOR(pg_catalog.=) refresh_segment.segment_id
          AND NOT (m.contact_id OPERATOR(pg_catalog.=) ANY (matching)));
    DELETE FROM @extschema@.segment_members m
    WHERE m.segment_id OPERATOR(pg_catalog.=) refresh_segment.segment_id
      AND m.contact_id OPERATOR(pg_catalog.=) ANY (departing);
    UPDATE @extschema@.segment_membership_history h SET left_at = refresh_time
    WHERE h.segment_id OPERATOR(pg_catalog.=) refresh_segment.segment_id
      AND h.contact_id OPERATOR(pg_catalog.=) ANY (departing)
      AND h.left_at IS NULL;
    GET DIAGNOSTICS departed = ROW_COUNT;
    joining := ARRAY(
        SELECT x.contact_id FROM pg_catalog.unnest(matching) AS x(contact_id)
        EXCEPT
        SELECT m.contact_id FROM @extschema@.segment_members m
        WHERE m.segment_id OPERATOR(pg_catalog.=) refresh_segment.segment_id);
    INSERT INTO @extschema@.segment_members (segment_id, contact_id, entered_at)
    SELECT refresh_segment.segment_id, x.contact_id, refresh_time FROM pg_catalog.unnest(joining) AS x(contact_id);
    INSERT INTO @extschema@.segment_membership_history (segment_id, contact_id, entered_at)
    SELECT refresh_segment.segment_id, x.contact_id, refresh_time FROM pg_catalog.unnest(joining) AS x(contact_id);

    members := pg_catalog.cardinality(matching);
    joined := pg_catalog.cardinality(joining);
    RETURN NEXT;
END
$$;
CREATE OR REPLACE VIEW @extschema@.survey_scores_monthly WITH (security_invoker = true) AS
SELECT answer.month,
       answer.account_id,
       answer.all_accounts,
       COALESCE(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps'),
                '(0,0,0,0,0,0,0,0,0,0,0)'::@extschema@.nps_summary) AS nps_summary,
       @extschema@.nps(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps')) AS nps,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'nps') AS nps_responses,
       @extschema@.nps_moe(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps')) AS nps_moe,
       @extschema@.csat(answer.score) FILTER (WHERE answer.kind = 'csat') AS csat,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'csat') AS csat_responses,
       @extschema@.ces(answer.score) FILTER (WHERE answer.kind = 'ces') AS ces,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'ces') AS ces_responses
FROM (SELECT pg_catalog.date_trunc('month', r.responded_at)::date AS month, g.account_id, g.all_accounts, r.kind, r.score
      FROM @extschema@.survey_responses r
      JOIN @extschema@.contacts c ON c.contact_id = r.contact_id
      -- each answer counts for its account and for the month's total: the grouping sets
      -- (month, account) and (month), written without GROUPING SETS, which Citus cannot run
      -- on distributed tables (docs/citus.md)
      CROSS JOIN LATERAL (VALUES (c.account_id, false), (NULL, true)) AS g(account_id, all_accounts)) answer
GROUP BY answer.month, answer.account_id, answer.all_accounts;
CREATE OR REPLACE VIEW @extschema@.customer_360 WITH (security_invoker = true) AS
SELECT c.contact_id,
       c.first_name,
       c.last_name,
       c.email,
       c.country,
       c.title,
       c.created_at,
       c.account_id,
       a.name AS account_name,
       c.owner_id,
       u.full_name AS owner_name,
       c.lifecycle_stage,
       c.marketing_consent,
       coalesce(o.orders, 0) AS orders,
       coalesce(o.total_spent, 0) AS total_spent,
       o.first_order_at,
       o.last_order_at,
       r.as_of AS rfm_as_of,
       r.rfm,
       @extschema@.recency_score(r.rfm) AS recency_score,
       @extschema@.frequency_score(r.rfm) AS frequency_score,
       @extschema@.monetary_score(r.rfm) AS monetary_score,
       r.segment AS rfm_segment,
       coalesce(t.open_tickets, 0) AS open_tickets,
       n.score AS nps_score,
       n.responded_at AS nps_responded_at,
       act.last_activity_at,
       act.last_email_at,
       act.last_phone_at,
       act.last_meeting_at,
       act.last_chat_at,
       act.last_social_at,
       act.last_web_at,
       act.last_sms_at,
       l.lead_score,
       l.lead_grade,
       v.p_alive,
       v.expected_purchases_90d,
       v.clv_12m
FROM @extschema@.contacts c
LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
LEFT JOIN @extschema@.users u ON u.user_id = c.owner_id
LEFT JOIN @extschema@.customer_order_stats o ON o.contact_id = c.contact_id
LEFT JOIN (
    SELECT h.contact_id, h.as_of, h.rfm, h.segment
    FROM @extschema@.rfm_history h
    WHERE h.as_of = (SELECT max(latest.as_of) FROM @extschema@.rfm_history latest)
) r ON r.contact_id = c.contact_id
LEFT JOIN (
    SELECT tk.contact_id, count(*) AS open_tickets
    FROM @extschema@.tickets tk
    WHERE tk.status NOT IN ('resolved', 'closed')
    GROUP BY tk.contact_id
) t ON t.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (s.contact_id) s.contact_id, s.score, s.responded_at
    FROM @extschema@.survey_responses s
    WHERE s.kind = 'nps'
    ORDER BY s.contact_id, s.responded_at DESC, s.response_id DESC
) n ON n.contact_id = c.contact_id
LEFT JOIN (
    SELECT ac.contact_id,
           max(ac.occurred_at) AS last_activity_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'email') AS last_email_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'phone') AS last_phone_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'meeting') AS last_meeting_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'chat') AS last_chat_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'social') AS last_social_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'web') AS last_web_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'sms') AS last_sms_at
    FROM @extschema@.activities ac
    GROUP BY ac.contact_id
) act ON act.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (ld.contact_id) ld.contact_id, ld.score AS lead_score, ld.grade AS lead_grade
    FROM @extschema@.leads ld
    ORDER BY ld.contact_id, ld.score DESC, ld.lead_id DESC
) l ON l.contact_id = c.contact_id
-- CLV from the latest stored model (crm.fit_clv_models), from each contact's own purchases: one
-- summary per contact, grouped by contact, so a query for a few contacts still reads only theirs
-- (the contact condition reaches the grouped purchases) and Citus runs it on the shards (it
-- cannot run an aggregate in a lateral subquery correlated with the contact, docs/citus.md).
LEFT JOIN (
    SELECT s.contact_id,
           @extschema@.bgnbd_p_alive(s.bgnbd, (s.summary).x, (s.summary).t_x, (s.summary).big_t) AS p_alive,
           @extschema@.bgnbd_expected_purchases(s.bgnbd, 90 / s.time_unit_days, (s.summary).x, (s.summary).t_x, (s.summary).big_t) AS expected_purchases_90d,
           CASE WHEN s.gammagamma IS NOT NULL
                THEN @extschema@.clv(s.bgnbd, s.gammagamma, (s.summary).x, (s.summary).t_x, (s.summary).big_t, (s.summary).m, 12, 0.01, 30.4375 / s.time_unit_days)
           END AS clv_12m
    FROM (SELECT o.contact_id, m.bgnbd, m.gammagamma, m.time_unit_days,
                 @extschema@.clv_summary(o.ordered_at, o.total::double precision, now(), m.time_unit_days) AS summary
          FROM @extschema@.purchases o
          CROSS JOIN (SELECT cm.bgnbd, cm.gammagamma, cm.time_unit_days FROM @extschema@.clv_models cm
                      ORDER BY cm.fitted_at DESC, cm.model_id DESC LIMIT 1) m
          WHERE o.ordered_at <= now()
          GROUP BY o.contact_id, m.bgnbd, m.gammagamma, m.time_unit_days) s
    WHERE (s.summary).x IS NOT NULL
) v ON v.contact_id = c.contact_id;
