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
        -- triggered journeys: events, enrollments, the step log and the outbox, which
        -- crm.run_journeys keeps together in one transaction on the coordinator (docs/journeys.md)
        'journey_events', 'journey_enrollments', 'journey_step_log', 'journey_outbox',
        -- loyalty members and their ledgers, whose triggers lock a member and update its lots and
        -- balance together in one transaction (docs/loyalty.md)
        'loyalty_members', 'loyalty_ledger',
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
        'dedupe_contacts_inserted', 'dedupe_contacts_updated', 'dedupe_contacts_deleted', 'dedupe_contacts_truncated',
        -- a write of contacts.marketing_consent becoming a consent history row (on the coordinator)
        'contacts_consent_legacy',
        -- product co-occurrence counts over all customers, on every node: crm.refresh_product_pairs()
        'product_pairs_lines_inserted', 'product_pairs_lines_updated', 'product_pairs_lines_deleted',
        'product_pairs_orders_updated', 'product_pairs_orders_deleted',
        -- journey events recorded on the coordinator's crm.journey_events: the application calls
        -- crm.journey_event (signup, purchase, first_purchase, detractor) instead (docs/journeys.md)
        'journey_contacts_signup', 'journey_orders_purchase', 'journey_orders_purchase_update',
        'journey_survey_detractor',
        -- loyalty points earned and reversed with orders, into the coordinator's ledger:
        -- crm.loyalty_sync_orders(order_ids) (docs/loyalty.md)
        'loyalty_lines_inserted', 'loyalty_lines_updated', 'loyalty_lines_deleted', 'loyalty_orders_updated'];
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
