-- src/lead_scoring.sql: rule-based lead scoring with decaying engagement, kept current by
-- triggers; grades, hot-lead notifications and round-robin assignment; BANT qualification with a
-- status history; naive Bayes win probabilities learned incrementally from closed leads.

-- ---------------------------------------------------------------------------------------------
-- Configuration
CREATE TABLE @extschema@.lead_scoring_settings (
    singleton             boolean PRIMARY KEY DEFAULT true CONSTRAINT lead_scoring_settings_singleton CHECK (singleton),
    total_cap             numeric,
    hot_threshold         numeric NOT NULL DEFAULT 80,
    warm_threshold        numeric NOT NULL DEFAULT 40,
    assignment_team       text,
    bant_min_budget       numeric DEFAULT 0,
    bant_require_authority boolean NOT NULL DEFAULT true,
    bant_needs            text[] DEFAULT '{medium,high}',
    bant_max_timeline     interval DEFAULT '6 months',
    nb_fields             text[] NOT NULL DEFAULT '{source,industry,country,employee_band}',
    updated_at            timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.lead_scoring_settings IS
    'The one row of lead scoring settings: total cap, grade thresholds (hot >= hot_threshold, warm >= warm_threshold), the sales team hot unowned leads are assigned to (NULL: none), the BANT rule (a NULL criterion is not required) and the naive Bayes fields.';

CREATE TABLE @extschema@.lead_scoring_groups (
    group_id    serial PRIMARY KEY,
    name        text NOT NULL CONSTRAINT lead_scoring_groups_name_key UNIQUE
                CONSTRAINT lead_scoring_groups_name_not_blank CHECK (btrim(name) <> ''),
    cap         numeric,
    half_life   interval,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.lead_scoring_groups IS
    'Groups of scoring rules: a group''s points are capped at cap (NULL: no cap); half_life is the default decay of its engagement rules (NULL: no decay).';

CREATE TABLE @extschema@.lead_scoring_rules (
    rule_id          serial PRIMARY KEY,
    group_id         integer NOT NULL CONSTRAINT lead_scoring_rules_group_fkey REFERENCES @extschema@.lead_scoring_groups,
    name             text NOT NULL CONSTRAINT lead_scoring_rules_name_not_blank CHECK (btrim(name) <> ''),
    kind             text NOT NULL CONSTRAINT lead_scoring_rules_kind_valid CHECK (kind IN ('fit', 'engagement')),
    -- fit rules: entity.field operator value
    entity           text,
    field            text,
    operator         text,
    value            text,
    value_type       text,
    -- engagement rules: activities of this kind (and channel), optionally with a details condition
    activity_kind    @extschema@.activity_kind,
    channel          @extschema@.channel,
    detail_key       text,
    detail_operator  text,
    detail_value     text,
    half_life        interval,
    points           numeric NOT NULL,
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_scoring_rules_group_id_idx ON @extschema@.lead_scoring_rules (group_id);
COMMENT ON TABLE @extschema@.lead_scoring_rules IS
    'Scoring rules as data. fit: points when entity (lead, contact, account).field operator value holds. engagement: points per activity of activity_kind (and channel, and details->>detail_key detail_operator detail_value), decaying with half_life (else the group''s). Validated on write; value_type is derived.';

CREATE TABLE @extschema@.lead_status_history (
    history_id       bigserial PRIMARY KEY,
    lead_id          bigint NOT NULL CONSTRAINT lead_status_history_lead_fkey REFERENCES @extschema@.leads ON DELETE CASCADE,
    from_status      text,
    to_status        text NOT NULL,
    -- the moment of the change, not the transaction's start: concurrent changes chain in order
    changed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by       bigint CONSTRAINT lead_status_history_user_fkey REFERENCES @extschema@.users,
    changed_by_role  name NOT NULL DEFAULT session_user
);
CREATE INDEX lead_status_history_lead_idx ON @extschema@.lead_status_history (lead_id, changed_at);
COMMENT ON TABLE @extschema@.lead_status_history IS
    'Every lead status change (from_status NULL at creation), when, and who: the session''s login role and its crm.users row.';

CREATE TABLE @extschema@.lead_nb_counts (
    field  text NOT NULL,
    value  text,
    won    bigint NOT NULL DEFAULT 0 CONSTRAINT lead_nb_counts_won_nonnegative CHECK (won >= 0),
    lost   bigint NOT NULL DEFAULT 0 CONSTRAINT lead_nb_counts_lost_nonnegative CHECK (lost >= 0),
    CONSTRAINT lead_nb_counts_key UNIQUE NULLS NOT DISTINCT (field, value)
);
COMMENT ON TABLE @extschema@.lead_nb_counts IS
    'Naive Bayes counts: closed leads won and lost per field value (NULL is a value of its own); the row (''*'', NULL) holds the totals.';

CREATE TABLE @extschema@.lead_nb_observations (
    lead_id   bigint PRIMARY KEY CONSTRAINT lead_nb_observations_lead_fkey REFERENCES @extschema@.leads ON DELETE CASCADE,
    won       boolean NOT NULL,
    features  jsonb NOT NULL
);
COMMENT ON TABLE @extschema@.lead_nb_observations IS
    'What each closed lead added to lead_nb_counts, so a lead reopened or switched between won and lost takes back exactly that.';

CREATE TABLE @extschema@.lead_assignment_pointers (
    team          text PRIMARY KEY,
    last_user_id  bigint CONSTRAINT lead_assignment_pointers_user_fkey REFERENCES @extschema@.users
);
COMMENT ON TABLE @extschema@.lead_assignment_pointers IS
    'Round-robin assignment of hot leads: the team member who got the last one.';

-- ---------------------------------------------------------------------------------------------
-- The settings row: created here, and a restore's dumped copy replaces it (as pipeline stages do)
CREATE FUNCTION @extschema@.lead_scoring_settings_guard() RETURNS trigger
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
COMMENT ON FUNCTION @extschema@.lead_scoring_settings_guard() IS
    'Trigger: validates the settings (22023 for thresholds out of order or unknown fields); an INSERT updates the one row instead (a restore replaces the installed defaults).';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_settings_guard() FROM PUBLIC;
CREATE TRIGGER lead_scoring_settings_guard BEFORE INSERT OR UPDATE ON @extschema@.lead_scoring_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.lead_scoring_settings_guard();
INSERT INTO @extschema@.lead_scoring_settings DEFAULT VALUES;

-- ---------------------------------------------------------------------------------------------
-- Rule evaluation: a fixed interpreter over the rule rows. No rule text ever becomes SQL.

-- How a field's values compare: the type category of entity.field, or 22023.
CREATE FUNCTION @extschema@.lead_scoring_field_type(entity text, field text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    type_oid oid;
BEGIN
    IF entity IS NULL OR entity NOT IN ('lead', 'contact', 'account') THEN
        RAISE EXCEPTION 'unknown entity "%"', entity USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Fit rules apply to lead, contact or account fields.';
    END IF;
    SELECT a.atttypid INTO type_oid
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = CASE entity WHEN 'lead' THEN '@extschema@.leads'::regclass
                                   WHEN 'contact' THEN '@extschema@.contacts'::regclass
                                   ELSE '@extschema@.accounts'::regclass END
      AND a.attname = field AND a.attnum > 0 AND NOT a.attisdropped
      AND NOT (entity = 'lead' AND a.attname IN ('score', 'grade', 'scored_at', 'updated_at'));
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown field "%" on %', field, entity USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN CASE
        WHEN type_oid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype,
                          'float4'::regtype, 'float8'::regtype) THEN 'numeric'
        WHEN type_oid = 'bool'::regtype THEN 'boolean'
        WHEN type_oid = 'date'::regtype THEN 'date'
        WHEN type_oid IN ('timestamptz'::regtype, 'timestamp'::regtype) THEN 'timestamptz'
        WHEN type_oid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'name'::regtype) THEN 'text'
        ELSE @extschema@.lead_scoring_unsupported_type(entity, field, type_oid) END;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_field_type(text, text) IS
    'The comparison type (numeric, boolean, date, timestamptz, text) of a lead, contact or account field a fit rule may test; 22023 for an unknown entity or field.';

CREATE FUNCTION @extschema@.lead_scoring_unsupported_type(entity text, field text, type_oid oid) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'field "%" on % has type %, which fit rules cannot compare', field, entity,
        pg_catalog.format_type(type_oid, NULL) USING ERRCODE = 'invalid_parameter_value';
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_unsupported_type(text, text, oid) IS
    'Raises 22023 for a field whose type fit rules cannot compare.';

-- -1, 0 or 1 as field_value compares to value, both read as value_type: the rule checks use it to
-- read a rule's value as its field's type.
CREATE FUNCTION @extschema@.lead_scoring_compare(field_value text, value text, value_type text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN CASE value_type
        WHEN 'numeric' THEN pg_catalog.sign(field_value::numeric - value::numeric)::integer
        WHEN 'date' THEN pg_catalog.sign(field_value::date - value::date)
        WHEN 'timestamptz' THEN pg_catalog.sign(pg_catalog.date_part('epoch', field_value::timestamptz - value::timestamptz))::integer
        WHEN 'boolean' THEN field_value::boolean::integer - value::boolean::integer
        ELSE CASE WHEN field_value < value THEN -1 WHEN field_value > value THEN 1 ELSE 0 END
    END;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_compare(text, text, text) IS
    'Compares two values read as value_type: -1, 0, 1 (NULL when either is NULL).';

-- Whether field_value operator value holds; never NULL (a NULL field matches only "is null"). In C
-- (src/lead_scoring.c): it runs once per rule and lead. STABLE: timestamptz values are read in the
-- session's time zone.
CREATE FUNCTION @extschema@.lead_scoring_test(field_value text, operator text, value text, value_type text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_lead_scoring_test' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lead_scoring_test(text, text, text, text) IS
    'Whether field_value operator value holds (operators: = <> < <= > >= in, is null, is not null, ends_with and like for text, matches: case-insensitive regular expression); false when the field is NULL unless the operator is "is null".';

-- 0.5^(age / half_life): exact to 15 significant digits, 0 beyond 1000 half-lives, 1 without decay.
CREATE FUNCTION @extschema@.lead_scoring_decay(age interval, half_life interval) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    WHEN half_life IS NULL THEN 1
    WHEN pg_catalog.date_part('epoch', age) OPERATOR(pg_catalog./) pg_catalog.date_part('epoch', half_life)
         OPERATOR(pg_catalog.>) 1000::pg_catalog.float8 THEN 0
    ELSE pg_catalog.round(pg_catalog.power(0.5::pg_catalog.float8,
             pg_catalog.date_part('epoch', age) OPERATOR(pg_catalog./) pg_catalog.date_part('epoch', half_life))::pg_catalog.numeric, 15)
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_decay(interval, interval) IS
    'The weight 0.5^(age/half_life) of an engagement, rounded to 15 decimals (0 beyond 1000 half-lives); 1 when half_life is NULL.';

-- The scores of the given leads at as_of. One definition serves crm.lead_score, the triggers and
-- crm.rescore_leads. Both branches read only those leads' rows (activities through
-- activities_lead_id_idx), and the plan a trigger caches works for any leads.
CREATE FUNCTION @extschema@.lead_scores(as_of timestamptz, lead_ids bigint[])
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
COMMENT ON FUNCTION @extschema@.lead_scores(timestamptz, bigint[]) IS
    'The scores of the leads in lead_ids at as_of, recomputed from the rules: total cap of the sum over groups of the group cap of (fit points + engagement points · 0.5^(age/half-life)), for activities linked to the lead (lead_id) that occurred by as_of. Rounded to 6 decimals.';

-- A lead's score counts every activity of the lead, also those row-level security hides from the
-- caller (a rep sees only their own activities), so it is computed with the extension's rights,
-- but only for a lead the caller can see. In C (src/lead_scoring.c), not SECURITY DEFINER: it
-- looks the lead up with the caller's rights and row-level security first, and only then computes
-- crm.lead_scores as the owner of crm.leads (search_path pinned to pg_catalog, pg_temp).
CREATE FUNCTION @extschema@.lead_score_of_visible(lead_id bigint, as_of timestamptz) RETURNS numeric
    AS 'MODULE_PATHNAME', 'crm_lead_score_of_visible' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.lead_score_of_visible(bigint, timestamptz) IS
    'The lead''s score at as_of, counting all its activities; NULL for a lead the caller cannot see (row-level security decides) or that does not exist. For the roles that see leads.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_score_of_visible(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_score_of_visible(bigint, timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_analyst;

CREATE FUNCTION @extschema@.lead_score(lead_id bigint, as_of timestamptz DEFAULT now()) RETURNS numeric
LANGUAGE sql STABLE AS $$
SELECT @extschema@.lead_score_of_visible(l.lead_id, as_of) FROM @extschema@.leads l WHERE l.lead_id = lead_score.lead_id
$$;
COMMENT ON FUNCTION @extschema@.lead_score(bigint, timestamptz) IS
    'The lead''s score at as_of, recomputed in full from the rules (the stored crm.leads.score equals lead_score(lead_id, scored_at)); NULL for a lead the caller cannot see or that does not exist.';

-- The grade for given thresholds: a plain expression, which the planner inlines into the
-- rescoring UPDATE instead of calling a function per lead.
CREATE FUNCTION @extschema@.lead_grade(score numeric, hot_threshold numeric, warm_threshold numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN score >= hot_threshold THEN 'hot' WHEN score >= warm_threshold THEN 'warm'
            WHEN score IS NOT NULL THEN 'cold' END
$$;
COMMENT ON FUNCTION @extschema@.lead_grade(numeric, numeric, numeric) IS
    'hot from hot_threshold, warm from warm_threshold, else cold; NULL for a NULL score.';

CREATE FUNCTION @extschema@.lead_grade(score numeric) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT @extschema@.lead_grade(score, s.hot_threshold, s.warm_threshold) FROM @extschema@.lead_scoring_settings s
$$;
COMMENT ON FUNCTION @extschema@.lead_grade(numeric) IS
    'hot, warm or cold by the thresholds in lead_scoring_settings; NULL for a NULL score.';

-- ---------------------------------------------------------------------------------------------
-- Rule validation
CREATE FUNCTION @extschema@.lead_scoring_rules_validate() RETURNS trigger
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
COMMENT ON FUNCTION @extschema@.lead_scoring_rules_validate() IS
    'Trigger: validates a scoring rule, naming it in the error: unknown entity, field or operator, missing or extra parts, non-finite points (22023); a value that does not read as the field''s type (22P02). Derives value_type.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_rules_validate() FROM PUBLIC;
CREATE TRIGGER lead_scoring_rules_validate BEFORE INSERT OR UPDATE ON @extschema@.lead_scoring_rules
    FOR EACH ROW EXECUTE FUNCTION @extschema@.lead_scoring_rules_validate();

CREATE FUNCTION @extschema@.lead_scoring_groups_validate() RETURNS trigger
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
COMMENT ON FUNCTION @extschema@.lead_scoring_groups_validate() IS
    'Trigger: a group''s cap must be finite and its half_life positive (22023, naming the group).';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_groups_validate() FROM PUBLIC;
CREATE TRIGGER lead_scoring_groups_validate BEFORE INSERT OR UPDATE ON @extschema@.lead_scoring_groups
    FOR EACH ROW EXECUTE FUNCTION @extschema@.lead_scoring_groups_validate();
CREATE TRIGGER lead_scoring_groups_touch_updated_at BEFORE UPDATE ON @extschema@.lead_scoring_groups
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();
CREATE TRIGGER lead_scoring_rules_touch_updated_at BEFORE UPDATE ON @extschema@.lead_scoring_rules
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Keeping scores current
--
-- Every trigger function here has EXECUTE revoked from PUBLIC: CREATE TRIGGER checks that
-- privilege, firing does not, so the extension's triggers fire for everyone while nobody else can
-- attach the functions (several write with the extension's rights) to a table of their own. Each
-- also refuses to run on any table but its own (TG_RELID, a constant comparison per row).

-- Stores the scores of the given leads, which the caller has locked, as of scoring_time, in one
-- set-based UPDATE over crm.lead_scores. crm.rescore_leads passes clock_timestamp() taken once the
-- lock is held, so the scores count every activity committed before (now() would leave out one
-- committed by a transaction that started after the caller's). The plan is kept (a generic plan).
CREATE FUNCTION @extschema@.lead_scoring_store(lead_ids bigint[], scoring_time timestamptz) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    stored bigint;
BEGIN
    UPDATE @extschema@.leads l
       SET score = s.score, grade = @extschema@.lead_grade(s.score, t.hot_threshold, t.warm_threshold),
           scored_at = scoring_time
      FROM @extschema@.lead_scores(scoring_time, lead_ids) s, @extschema@.lead_scoring_settings t
     WHERE l.lead_id = s.lead_id;
    GET DIAGNOSTICS stored = ROW_COUNT;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_store(bigint[], timestamptz) IS
    'Stores the scores of the given leads (locked by the caller) as of scoring_time; returns how many. Used by crm.rescore_leads and the demo hook.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_store(bigint[], timestamptz) FROM PUBLIC;

-- Rescores the given leads, locking them in lead_id order first, so sessions scoring overlapping
-- sets of leads queue instead of deadlocking, then scoring them as of the moment the locks are held
-- with a snapshot taken then. In C (src/lead_scoring.c): it reads the rules, the leads, contacts,
-- accounts and activities through their indexes and does crm.lead_scores' arithmetic with the same
-- functions, so what it stores equals crm.lead_score exactly, at a fraction of the SQL's cost; the
-- UPDATE runs as the owner of crm.leads (a score counts activities the session may not see).
CREATE FUNCTION @extschema@.lead_scoring_refresh(lead_ids bigint[]) RETURNS void
    AS 'MODULE_PATHNAME', 'crm_lead_scoring_refresh' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.lead_scoring_refresh(bigint[]) IS
    'Rescores the given leads, locking them in lead_id order, as of the moment the locks are held. Used by the scoring triggers.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_refresh(bigint[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.rescore_leads() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- EXCLUSIVE: readers go on, writers of leads (and activity inserts, via the foreign key) wait,
    -- so no session holds a lead this set-based update needs while waiting for another one.
    LOCK TABLE @extschema@.leads IN EXCLUSIVE MODE;
    RETURN @extschema@.lead_scoring_store(ARRAY(SELECT lead_id FROM @extschema@.leads), clock_timestamp());
END
$$;
COMMENT ON FUNCTION @extschema@.rescore_leads() IS
    'Rescores every lead now in one set-based UPDATE (after a rule change, or to bring decayed scores up to date); returns how many. Blocks writes to leads meanwhile.';
REVOKE EXECUTE ON FUNCTION @extschema@.rescore_leads() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rescore_leads() TO crm_admin, crm_manager;

-- The trigger on every activity insert: C, the same code as crm.lead_scoring_refresh.
CREATE FUNCTION @extschema@.lead_scoring_activities_inserted() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_lead_scoring_activities_inserted' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.lead_scoring_activities_inserted() IS
    'Trigger: rescores the leads of the inserted activities.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_activities_inserted() FROM PUBLIC;
CREATE TRIGGER lead_scoring_activities_inserted AFTER INSERT ON @extschema@.activities
    REFERENCING NEW TABLE AS inserted_activities
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.lead_scoring_activities_inserted();

CREATE FUNCTION @extschema@.lead_scoring_activities_changed() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_activities_changed() FROM PUBLIC;
CREATE TRIGGER lead_scoring_activities_updated AFTER UPDATE ON @extschema@.activities
    REFERENCING OLD TABLE AS old_activities NEW TABLE AS new_activities
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.lead_scoring_activities_changed();
CREATE TRIGGER lead_scoring_activities_deleted AFTER DELETE ON @extschema@.activities
    REFERENCING OLD TABLE AS old_activities
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.lead_scoring_activities_changed();

CREATE FUNCTION @extschema@.lead_scoring_leads_inserted() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_leads_inserted() FROM PUBLIC;
CREATE TRIGGER lead_scoring_leads_inserted AFTER INSERT ON @extschema@.leads
    REFERENCING NEW TABLE AS inserted_leads
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.lead_scoring_leads_inserted();

-- C, with the comparison inside: a WHEN clause listing the lead's columns would be parsed again
-- for every UPDATE of crm.leads, the scoring's own included.
CREATE FUNCTION @extschema@.lead_scoring_lead_updated() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_lead_scoring_lead_updated' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.lead_scoring_lead_updated() IS
    'Trigger: rescores a lead when any of its columns changed but score, grade, scored_at and updated_at (the rescoring UPDATE itself does not fire it again).';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_lead_updated() FROM PUBLIC;
CREATE TRIGGER lead_scoring_lead_updated AFTER UPDATE ON @extschema@.leads
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.lead_scoring_lead_updated();

CREATE FUNCTION @extschema@.lead_scoring_contacts_updated() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_contacts_updated() FROM PUBLIC;
CREATE TRIGGER lead_scoring_contacts_updated AFTER UPDATE ON @extschema@.contacts
    REFERENCING OLD TABLE AS old_contacts NEW TABLE AS new_contacts
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.lead_scoring_contacts_updated();

CREATE FUNCTION @extschema@.lead_scoring_accounts_updated() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_accounts_updated() FROM PUBLIC;
CREATE TRIGGER lead_scoring_accounts_updated AFTER UPDATE ON @extschema@.accounts
    REFERENCING OLD TABLE AS old_accounts NEW TABLE AS new_accounts
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.lead_scoring_accounts_updated();

-- A rule, group or settings change rescores every lead once, at commit: a transaction editing
-- ten rules pays for one rescoring. The flag is transaction-local; every new change clears it.
CREATE FUNCTION @extschema@.lead_scoring_rules_changed() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_rules_changed() FROM PUBLIC;

-- Backends keep the rules, groups and settings they read (src/lead_scoring.c); a change tells them
-- to read them again. A row trigger, and named so that it fires before the _rescore trigger of the
-- same row when constraints are immediate (row triggers fire by name, before statement triggers).
CREATE FUNCTION @extschema@.lead_scoring_model_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_lead_scoring_model_changed' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.lead_scoring_model_changed() IS
    'Trigger: after a change to rules, groups or settings, sessions read them again before scoring.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_model_changed() FROM PUBLIC;

DO $rescore_triggers$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['lead_scoring_rules', 'lead_scoring_groups', 'lead_scoring_settings'] LOOP
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON @extschema@.%I '
            'FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) '
            'EXECUTE FUNCTION @extschema@.lead_scoring_rules_changed()',
            table_name || '_changed', table_name);
        EXECUTE pg_catalog.format(
            'CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON @extschema@.%I '
            'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) '
            'EXECUTE FUNCTION @extschema@.lead_scoring_rules_changed()',
            table_name || '_rescore', table_name);
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON @extschema@.%I '
            'FOR EACH ROW EXECUTE FUNCTION @extschema@.lead_scoring_model_changed()',
            table_name || '_model_changed', table_name);
    END LOOP;
END
$rescore_triggers$;

-- ---------------------------------------------------------------------------------------------
-- Hot leads: notification and round-robin assignment
CREATE FUNCTION @extschema@.lead_scoring_next_assignee(team_name text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    previous bigint;
    chosen bigint;
BEGIN
    INSERT INTO @extschema@.lead_assignment_pointers (team) VALUES (team_name) ON CONFLICT DO NOTHING;
    -- the pointer's row lock serialises concurrent assignments within the team
    SELECT last_user_id INTO previous FROM @extschema@.lead_assignment_pointers WHERE team = team_name FOR UPDATE;
    SELECT u.user_id INTO chosen
    FROM @extschema@.users u
    WHERE u.team = team_name AND u.active AND u.role = 'sales'
    ORDER BY u.user_id <= coalesce(previous, 0), u.user_id
    LIMIT 1;
    IF chosen IS NOT NULL THEN
        UPDATE @extschema@.lead_assignment_pointers SET last_user_id = chosen WHERE team = team_name;
    END IF;
    RETURN chosen;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_scoring_next_assignee(text) IS
    'The next active sales member of the team after the last one assigned (by user_id, wrapping around), recorded; NULL for a team without one.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_next_assignee(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.lead_scoring_became_hot() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_became_hot() FROM PUBLIC;
CREATE TRIGGER lead_scoring_became_hot AFTER UPDATE ON @extschema@.leads
    FOR EACH ROW WHEN (NEW.grade = 'hot' AND OLD.grade IS DISTINCT FROM 'hot' AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.lead_scoring_became_hot();

-- ---------------------------------------------------------------------------------------------
-- BANT qualification and the status history
CREATE FUNCTION @extschema@.lead_meets_bant(budget numeric, authority boolean, need text, timeline date) RETURNS boolean
LANGUAGE sql STABLE AS $$
SELECT (s.bant_min_budget IS NULL OR budget >= s.bant_min_budget) IS TRUE
   AND (NOT s.bant_require_authority OR authority IS TRUE)
   AND (s.bant_needs IS NULL OR need = ANY (s.bant_needs)) IS TRUE
   AND (s.bant_max_timeline IS NULL OR timeline <= current_date + s.bant_max_timeline) IS TRUE
FROM @extschema@.lead_scoring_settings s
$$;
COMMENT ON FUNCTION @extschema@.lead_meets_bant(numeric, boolean, text, date) IS
    'Whether budget >= bant_min_budget, authority (when required), need in bant_needs and timeline within bant_max_timeline of today all hold; a NULL setting is not required, a NULL lead field fails its criterion.';

CREATE FUNCTION @extschema@.lead_bant_qualify() RETURNS trigger
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
COMMENT ON FUNCTION @extschema@.lead_bant_qualify() IS
    'Trigger: a new or contacted lead meeting the BANT rule becomes qualified; qualified_at is set when a lead becomes qualified.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_bant_qualify() FROM PUBLIC;
CREATE TRIGGER lead_bant_qualify BEFORE INSERT OR UPDATE OF budget, authority, need, timeline, status
    ON @extschema@.leads FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.lead_bant_qualify();

CREATE FUNCTION @extschema@.lead_status_record() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION @extschema@.lead_status_record() FROM PUBLIC;
CREATE TRIGGER lead_status_recorded AFTER INSERT ON @extschema@.leads
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.lead_status_record();
CREATE TRIGGER lead_status_changed AFTER UPDATE ON @extschema@.leads
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.lead_status_record();

-- ---------------------------------------------------------------------------------------------
-- Naive Bayes win probability
-- The naive Bayes fields of one lead from its values (no table read), so that the features of
-- every closed lead can be computed in one query (crm.rebuild_lead_nb_counts), which Citus runs
-- on the shards of a distributed CRM (docs/citus.md).
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

CREATE FUNCTION @extschema@.lead_nb_features(lead_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- distributed tables (docs/citus.md).
    RETURN (SELECT @extschema@.lead_nb_feature_values(l.source, l.need, a.industry, coalesce(c.country, a.country),
                                                      a.employee_count, s.nb_fields)
            FROM @extschema@.leads l
            JOIN @extschema@.contacts c ON c.contact_id = l.contact_id
            LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
            CROSS JOIN @extschema@.lead_scoring_settings s
            WHERE l.lead_id = lead_nb_features.lead_id);
END
$$;
COMMENT ON FUNCTION @extschema@.lead_nb_features(bigint) IS
    'The lead''s values of the naive Bayes fields chosen in settings (source, need, industry, country: the contact''s else the account''s, employee_band: 1-10, 11-50, 51-200, 201-1000, 1001+), as a jsonb object; NULL for an unknown lead.';

-- Adds (sign 1) or takes back (sign -1) one closed lead's features. Taking back is an UPDATE: an
-- INSERT ... ON CONFLICT would check the CHECK constraints on the negative row it proposes.
CREATE FUNCTION @extschema@.lead_nb_count(features jsonb, won boolean, sign integer) RETURNS void
LANGUAGE sql AS $$
-- positional parameters: the table's columns won and lost would hide parameters named alike
INSERT INTO @extschema@.lead_nb_counts AS n (field, value, won, lost)
SELECT f.key, f.value, CASE WHEN $2 THEN 1 ELSE 0 END, CASE WHEN $2 THEN 0 ELSE 1 END
FROM (SELECT '*' AS key, NULL::text AS value
      UNION ALL SELECT key, value FROM pg_catalog.jsonb_each_text($1)) f
WHERE $3 > 0
ORDER BY f.key, f.value
ON CONFLICT (field, value) DO UPDATE SET won = n.won + excluded.won, lost = n.lost + excluded.lost;
UPDATE @extschema@.lead_nb_counts AS n
   SET won = n.won - CASE WHEN $2 THEN 1 ELSE 0 END, lost = n.lost - CASE WHEN $2 THEN 0 ELSE 1 END
  FROM (SELECT '*' AS key, NULL::text AS value
        UNION ALL SELECT key, value FROM pg_catalog.jsonb_each_text($1)) f
 WHERE $3 < 0 AND n.field = f.key AND n.value IS NOT DISTINCT FROM f.value;
$$;
COMMENT ON FUNCTION @extschema@.lead_nb_count(jsonb, boolean, integer) IS
    'Adds (sign 1) or removes (sign -1) one closed lead''s field values to the naive Bayes counts.';
REVOKE EXECUTE ON FUNCTION @extschema@.lead_nb_count(jsonb, boolean, integer) FROM PUBLIC;

CREATE FUNCTION @extschema@.lead_nb_closed() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION @extschema@.lead_nb_closed() FROM PUBLIC;
CREATE TRIGGER lead_nb_inserted AFTER INSERT ON @extschema@.leads
    FOR EACH ROW WHEN (NEW.status IN ('won', 'lost') AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.lead_nb_closed();
CREATE TRIGGER lead_nb_status_changed AFTER UPDATE ON @extschema@.leads
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.lead_nb_closed();
CREATE TRIGGER lead_nb_deleted BEFORE DELETE ON @extschema@.leads
    FOR EACH ROW WHEN (OLD.status IN ('won', 'lost') AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.lead_nb_closed();

CREATE FUNCTION @extschema@.rebuild_lead_nb_counts() RETURNS bigint
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
COMMENT ON FUNCTION @extschema@.rebuild_lead_nb_counts() IS
    'Recounts the naive Bayes counts from every won and lost lead (after changing nb_fields); returns the number of closed leads.';
REVOKE EXECUTE ON FUNCTION @extschema@.rebuild_lead_nb_counts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rebuild_lead_nb_counts() TO crm_admin, crm_manager;

CREATE FUNCTION @extschema@.lead_win_probability(lead_id bigint) RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
DECLARE
    lead_features jsonb;
BEGIN
    -- PL/pgSQL rather than SQL, and the lead's features read in a statement of their own: Citus
    -- plans neither a SQL function's parameterised query over distributed tables nor a query
    -- mixing them with the reference table of counts (docs/citus.md).
    IF NOT EXISTS (SELECT 1 FROM @extschema@.leads l WHERE l.lead_id = lead_win_probability.lead_id) THEN
        RETURN NULL;
    END IF;
    lead_features := @extschema@.lead_nb_features(lead_win_probability.lead_id);
    RETURN (
        WITH totals AS (
            SELECT won::float8 AS won, lost::float8 AS lost FROM @extschema@.lead_nb_counts WHERE field = '*'
        ), features AS (
            SELECT f.key AS field, f.value FROM pg_catalog.jsonb_each_text(lead_features) f
        ), likelihoods AS (
            SELECT sum(pg_catalog.ln((coalesce(n.won, 0) + 1) / (t.won + v.distinct_values))) AS log_won,
                   sum(pg_catalog.ln((coalesce(n.lost, 0) + 1) / (t.lost + v.distinct_values))) AS log_lost
            FROM features f
            CROSS JOIN totals t
            LEFT JOIN @extschema@.lead_nb_counts n ON n.field = f.field AND n.value IS NOT DISTINCT FROM f.value
            CROSS JOIN LATERAL (
                SELECT count(*) + CASE WHEN n.field IS NULL THEN 1 ELSE 0 END AS distinct_values
                FROM @extschema@.lead_nb_counts k WHERE k.field = f.field AND (k.won + k.lost) > 0) v
        )
        SELECT 1 / (1 + pg_catalog.exp(
                   (pg_catalog.ln((coalesce(t.lost, 0) + 1) / (coalesce(t.won + t.lost, 0) + 2)) + coalesce(x.log_lost, 0))
                 - (pg_catalog.ln((coalesce(t.won, 0) + 1) / (coalesce(t.won + t.lost, 0) + 2)) + coalesce(x.log_won, 0))))
        FROM (SELECT 1) one
        LEFT JOIN totals t ON true
        LEFT JOIN likelihoods x ON true);
END
$$;
COMMENT ON FUNCTION @extschema@.lead_win_probability(bigint) IS
    'Naive Bayes probability that the lead is won: S_won / (S_won + S_lost), S_c = P(c) · Π P(value | c) over the chosen fields, with Laplace smoothing (add one; a field''s value count includes one unseen value), computed in logs. 0.5 before any lead was closed; NULL for an unknown lead.';

-- ---------------------------------------------------------------------------------------------
-- Privileges and pg_dump
GRANT SELECT ON @extschema@.lead_scoring_settings, @extschema@.lead_scoring_groups, @extschema@.lead_scoring_rules,
    @extschema@.lead_nb_counts, @extschema@.lead_assignment_pointers
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
-- What is recorded per lead is read by whoever may see the lead (its policies decide); support,
-- who sees no leads, not at all. Only the triggers write (with the extension's rights).
GRANT SELECT ON @extschema@.lead_status_history, @extschema@.lead_nb_observations
    TO crm_admin, crm_manager, crm_sales, crm_analyst;
DO $policies$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['lead_status_history', 'lead_nb_observations']
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY admin_all ON @extschema@.%I TO crm_admin USING (true) WITH CHECK (true)', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY read_visible_leads ON @extschema@.%1$I FOR SELECT TO crm_analyst, crm_manager, crm_sales
                 USING (EXISTS (SELECT FROM @extschema@.leads l WHERE l.lead_id = %1$I.lead_id))',
            table_name);
    END LOOP;
END
$policies$;
GRANT INSERT, UPDATE, DELETE ON @extschema@.lead_scoring_settings, @extschema@.lead_scoring_groups,
    @extschema@.lead_scoring_rules TO crm_admin, crm_manager;
GRANT USAGE ON SEQUENCE @extschema@.lead_scoring_groups_group_id_seq, @extschema@.lead_scoring_rules_rule_id_seq
    TO crm_admin, crm_manager;

-- Configuration shared by everyone: admins and managers write it, every staff role reads it.
DO $configuration$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['lead_scoring_settings', 'lead_scoring_groups', 'lead_scoring_rules']
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY admin_all ON @extschema@.%I TO crm_admin USING (true) WITH CHECK (true)', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY manager_all ON @extschema@.%I TO crm_manager USING (true) WITH CHECK (true)', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY staff_read ON @extschema@.%I FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true)',
            table_name);
    END LOOP;
END
$configuration$;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_scoring_settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_scoring_groups', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_scoring_groups_group_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_scoring_rules', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_scoring_rules_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_status_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_status_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_nb_counts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_nb_observations', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_assignment_pointers', '');

-- Privileges: the functions reading the CRM's tables are for its staff roles (row-level
-- security still decides which leads they see).
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_field_type(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_scoring_field_type(text, text) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_unsupported_type(text, text, oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_scoring_unsupported_type(text, text, oid) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_compare(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_scoring_compare(text, text, text) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scores(timestamptz, bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_scores(timestamptz, bigint[]) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_score(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_score(bigint, timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_nb_features(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_nb_features(bigint) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_win_probability(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_win_probability(bigint) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
