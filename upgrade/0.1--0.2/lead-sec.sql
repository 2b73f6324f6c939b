-- upgrade/0.1--0.2/lead-sec.sql: trigger functions, history tables and lead scoring hardened.
-- (findings 2, 3, 6, 11, 12b, 13b of the security review)

-- ---------------------------------------------------------------------------------------------
-- Stage history (src/schema.sql): written only by crm.record_stage_change, now C, which inserts
-- with the owner's rights and names current_user; stamped with clock_timestamp().
ALTER TABLE @extschema@.opportunity_stage_history ALTER COLUMN changed_at SET DEFAULT clock_timestamp();
CREATE OR REPLACE FUNCTION @extschema@.record_stage_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_record_stage_change' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.record_stage_change() IS
    'Trigger: records an opportunity''s stage at creation and every change of it in opportunity_stage_history (who: current_user and its crm.users row; when: clock_timestamp()).';
REVOKE EXECUTE ON FUNCTION @extschema@.record_stage_change() FROM PUBLIC;
REVOKE INSERT ON @extschema@.opportunity_stage_history FROM crm_sales, crm_manager;
DROP POLICY written_by_trigger ON @extschema@.opportunity_stage_history;

-- ---------------------------------------------------------------------------------------------
-- Activities happen at a finite time (src/schema.sql). A 0.1 database may hold an infinite one
-- (logged without a lead, or while no engagement rule existed): the upgrade stops and names them
-- rather than change them.
DO $finite$
DECLARE
    infinite bigint;
BEGIN
    SELECT count(*) INTO infinite FROM @extschema@.activities WHERE NOT (occurred_at > '-infinity' AND occurred_at < 'infinity');
    IF infinite > 0 THEN
        RAISE EXCEPTION 'crm.activities holds % activities at an infinite occurred_at', infinite
            USING ERRCODE = 'check_violation',
                  DETAIL = 'Version 0.2 adds the constraint activities_occurred_at_finite: every activity happens at a finite time.',
                  HINT = 'Set their occurred_at to the time they happened (SELECT activity_id FROM crm.activities WHERE NOT isfinite(occurred_at)), or delete them, then update the extension again.';
    END IF;
END
$finite$;
ALTER TABLE @extschema@.activities ADD CONSTRAINT activities_occurred_at_finite
    CHECK (occurred_at > '-infinity' AND occurred_at < 'infinity');

-- ---------------------------------------------------------------------------------------------
-- Activities: what an activity refers to must be visible to its writer (src/security.sql).
DROP POLICY sales_own ON @extschema@.activities;
DROP POLICY manager_team ON @extschema@.activities;
CREATE POLICY sales_own ON @extschema@.activities TO crm_sales
    USING (owner_id = (SELECT @extschema@.current_user_id()))
    WITH CHECK (owner_id = (SELECT @extschema@.current_user_id())
                AND EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = activities.contact_id)
                AND (lead_id IS NULL OR EXISTS (SELECT FROM @extschema@.leads l WHERE l.lead_id = activities.lead_id)));
CREATE POLICY manager_team ON @extschema@.activities TO crm_manager
    USING (owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]))
    WITH CHECK ((owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]))
                AND EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = activities.contact_id)
                AND (lead_id IS NULL OR EXISTS (SELECT FROM @extschema@.leads l WHERE l.lead_id = activities.lead_id)));

-- ---------------------------------------------------------------------------------------------
-- Lead scoring (src/lead_scoring.sql): every trigger function refuses other tables and is not
-- executable by PUBLIC (CREATE TRIGGER checks EXECUTE, firing does not); status history stamped
-- with clock_timestamp(); crm.lead_score_of_visible checks the caller may see the lead.
ALTER TABLE @extschema@.lead_status_history ALTER COLUMN changed_at SET DEFAULT clock_timestamp();
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_settings_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_RELID <> '@extschema@.lead_scoring_settings'::pg_catalog.regclass THEN
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
COMMENT ON FUNCTION @extschema@.lead_scoring_settings_guard() IS
    'Trigger: validates the settings (22023 for thresholds out of order or unknown fields); an INSERT updates the one row instead (a restore replaces the installed defaults).';
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_rules_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    label text := pg_catalog.format('lead scoring rule %s (%s)', NEW.rule_id, pg_catalog.quote_literal(NEW.name));
    element text;
BEGIN
    IF TG_RELID <> '@extschema@.lead_scoring_rules'::pg_catalog.regclass THEN
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
COMMENT ON FUNCTION @extschema@.lead_scoring_rules_validate() IS
    'Trigger: validates a scoring rule, naming it in the error: unknown entity, field or operator, missing or extra parts, non-finite points (22023); a value that does not read as the field''s type (22P02). Derives value_type.';
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_groups_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_RELID <> '@extschema@.lead_scoring_groups'::pg_catalog.regclass THEN
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
COMMENT ON FUNCTION @extschema@.lead_scoring_groups_validate() IS
    'Trigger: a group''s cap must be finite and its half_life positive (22023, naming the group).';
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_activities_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID <> '@extschema@.activities'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function lead_scoring_activities_changed() fires only on @extschema@.activities, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM @extschema@.lead_scoring_refresh(ARRAY(
            SELECT o.lead_id FROM old_activities o JOIN new_activities n USING (activity_id)
            WHERE (o.lead_id, o.kind, o.channel, o.occurred_at, o.details)
                  IS DISTINCT FROM (n.lead_id, n.kind, n.channel, n.occurred_at, n.details) AND o.lead_id IS NOT NULL
            UNION
            SELECT n.lead_id FROM old_activities o JOIN new_activities n USING (activity_id)
            WHERE (o.lead_id, o.kind, o.channel, o.occurred_at, o.details)
                  IS DISTINCT FROM (n.lead_id, n.kind, n.channel, n.occurred_at, n.details) AND n.lead_id IS NOT NULL));
    ELSE
        PERFORM @extschema@.lead_scoring_refresh(ARRAY(
            SELECT DISTINCT lead_id FROM old_activities WHERE lead_id IS NOT NULL));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_activities_changed() IS
    'Trigger: rescores the leads of updated (lead, kind, channel, time or details changed) or deleted activities.';
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_leads_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID <> '@extschema@.leads'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function lead_scoring_leads_inserted() fires only on @extschema@.leads, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    PERFORM @extschema@.lead_scoring_refresh(ARRAY(SELECT lead_id FROM inserted_leads));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_leads_inserted() IS 'Trigger: scores new leads.';
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_contacts_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID <> '@extschema@.contacts'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function lead_scoring_contacts_updated() fires only on @extschema@.contacts, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.lead_scoring_rules WHERE kind = 'fit' AND entity IN ('contact', 'account')) THEN
        PERFORM @extschema@.lead_scoring_refresh(ARRAY(
            SELECT l.lead_id
            FROM new_contacts n JOIN old_contacts o USING (contact_id)
            JOIN @extschema@.leads l ON l.contact_id = n.contact_id
            WHERE pg_catalog.to_jsonb(n) - 'updated_at' IS DISTINCT FROM pg_catalog.to_jsonb(o) - 'updated_at'));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_contacts_updated() IS
    'Trigger: rescores the leads of changed contacts, when some fit rule looks at contacts or accounts.';
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_accounts_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID <> '@extschema@.accounts'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function lead_scoring_accounts_updated() fires only on @extschema@.accounts, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.lead_scoring_rules WHERE kind = 'fit' AND entity = 'account') THEN
        PERFORM @extschema@.lead_scoring_refresh(ARRAY(
            SELECT l.lead_id
            FROM new_accounts n JOIN old_accounts o USING (account_id)
            JOIN @extschema@.contacts c ON c.account_id = n.account_id
            JOIN @extschema@.leads l ON l.contact_id = c.contact_id
            WHERE pg_catalog.to_jsonb(n) - 'updated_at' IS DISTINCT FROM pg_catalog.to_jsonb(o) - 'updated_at'));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_accounts_updated() IS
    'Trigger: rescores the leads of changed accounts'' contacts, when some fit rule looks at accounts.';
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_rules_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID NOT IN ('@extschema@.lead_scoring_rules'::pg_catalog.regclass, '@extschema@.lead_scoring_groups'::pg_catalog.regclass, '@extschema@.lead_scoring_settings'::pg_catalog.regclass) THEN
        RAISE EXCEPTION 'trigger function lead_scoring_rules_changed() fires only on @extschema@.lead_scoring_rules, @extschema@.lead_scoring_groups, @extschema@.lead_scoring_settings, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM set_config('crm.lead_rules_rescored', 'no', true);
    ELSIF coalesce(current_setting('crm.lead_rules_rescored', true), 'no') <> 'yes' THEN
        PERFORM @extschema@.rescore_leads();
        PERFORM set_config('crm.lead_rules_rescored', 'yes', true);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_rules_changed() IS
    'Trigger: after a change to rules, groups or settings, rescores every lead once at commit.';
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_became_hot() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owner bigint := NEW.owner_id;
    team_name text := (SELECT assignment_team FROM @extschema@.lead_scoring_settings);
BEGIN
    IF TG_RELID <> '@extschema@.leads'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function lead_scoring_became_hot() fires only on @extschema@.leads, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF owner IS NULL AND team_name IS NOT NULL THEN
        owner := @extschema@.lead_scoring_next_assignee(team_name);
        IF owner IS NOT NULL THEN
            UPDATE @extschema@.leads SET owner_id = owner WHERE lead_id = NEW.lead_id;
        END IF;
    END IF;
    PERFORM pg_notify('crm_events', json_build_object(
        'event', 'lead_hot', 'lead_id', NEW.lead_id, 'score', NEW.score, 'owner_id', owner)::text);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_became_hot() IS
    'Trigger: when a lead becomes hot, assigns it round-robin if unowned and a team is set, and sends NOTIFY crm_events {"event": "lead_hot", "lead_id", "score", "owner_id"}.';
CREATE OR REPLACE FUNCTION @extschema@.lead_bant_qualify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_RELID <> '@extschema@.leads'::pg_catalog.regclass THEN
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
COMMENT ON FUNCTION @extschema@.lead_bant_qualify() IS
    'Trigger: a new or contacted lead meeting the BANT rule becomes qualified; qualified_at is set when a lead becomes qualified.';
CREATE OR REPLACE FUNCTION @extschema@.lead_status_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID <> '@extschema@.leads'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function lead_status_record() fires only on @extschema@.leads, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    INSERT INTO @extschema@.lead_status_history (lead_id, from_status, to_status, changed_at, changed_by)
    VALUES (NEW.lead_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, pg_catalog.clock_timestamp(),
            (SELECT user_id FROM @extschema@.users WHERE login_role = session_user));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_status_record() IS
    'Trigger: records a lead''s status at creation and every change of it in lead_status_history.';
CREATE OR REPLACE FUNCTION @extschema@.lead_nb_closed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    observed @extschema@.lead_nb_observations;
BEGIN
    IF TG_RELID <> '@extschema@.leads'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function lead_nb_closed() fires only on @extschema@.leads, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM @extschema@.lead_nb_observations WHERE lead_id = OLD.lead_id RETURNING * INTO observed;
        IF FOUND THEN
            PERFORM @extschema@.lead_nb_count(observed.features, observed.won, -1);
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN NULL;
        END IF;
    END IF;
    IF NEW.status IN ('won', 'lost') THEN
        INSERT INTO @extschema@.lead_nb_observations (lead_id, won, features)
        VALUES (NEW.lead_id, NEW.status = 'won', coalesce(@extschema@.lead_nb_features(NEW.lead_id), '{}'))
        RETURNING * INTO observed;
        PERFORM @extschema@.lead_nb_count(observed.features, observed.won, 1);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_nb_closed() IS
    'Trigger: counts a lead that is won or lost into lead_nb_counts, and takes it back when it is reopened, switched or deleted.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_settings_guard() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_rules_validate() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_groups_validate() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_activities_changed() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_leads_inserted() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_contacts_updated() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_accounts_updated() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_rules_changed() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_became_hot() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_bant_qualify() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_status_record() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_nb_closed() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_activities_inserted() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_lead_updated() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_model_changed() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.lead_score_of_visible(lead_id bigint, as_of timestamptz) RETURNS numeric
    AS 'MODULE_PATHNAME', 'crm_lead_score_of_visible' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.lead_score_of_visible(bigint, timestamptz) IS
    'The lead''s score at as_of, counting all its activities; NULL for a lead the caller cannot see (row-level security decides) or that does not exist. For the roles that see leads.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_score_of_visible(bigint, timestamptz) FROM crm_support;
