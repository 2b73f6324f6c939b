-- src/segments.sql: rule-based segments over crm.customer_360. Rules are data (column, operator,
-- value), validated when written and compiled with format('%I', '%L') into a membership refresh
-- that keeps the history of who entered and left each segment.

CREATE TABLE @extschema@.segments (
    segment_id    bigserial PRIMARY KEY,
    name          text NOT NULL CONSTRAINT segments_name_key UNIQUE
                  CONSTRAINT segments_name_not_blank CHECK (btrim(name) <> ''),
    combine       text NOT NULL DEFAULT 'and' CONSTRAINT segments_combine_valid CHECK (combine IN ('and', 'or')),
    description   text,
    refreshed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.segments IS
    'Rule-based segments of contacts: the rules in crm.segment_rules, all true (combine = ''and'') or any true (''or''). A segment without rules has no members.';

CREATE TABLE @extschema@.segment_rules (
    rule_id      bigserial PRIMARY KEY,
    segment_id   bigint NOT NULL CONSTRAINT segment_rules_segment_fkey
                 REFERENCES @extschema@.segments ON DELETE CASCADE,
    column_name  text NOT NULL,
    operator     text NOT NULL CONSTRAINT segment_rules_operator_valid
                 CHECK (operator IN ('=', '<>', '<', '<=', '>', '>=', 'in', 'not in',
                                     'is null', 'is not null', 'like', 'not like')),
    value        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX segment_rules_segment_id_idx ON @extschema@.segment_rules (segment_id);
COMMENT ON TABLE @extschema@.segment_rules IS
    'One condition of a segment: a crm.customer_360 column, an operator (= <> < <= > >= in, not in, is null, is not null, like, not like) and a value, as text, cast to the column''s type (an array literal such as ''{a,b}'' for in and not in; none for is null and is not null). Checked when written.';

CREATE TABLE @extschema@.segment_members (
    segment_id  bigint NOT NULL CONSTRAINT segment_members_segment_fkey
                REFERENCES @extschema@.segments ON DELETE CASCADE,
    contact_id  bigint NOT NULL CONSTRAINT segment_members_contact_fkey
                REFERENCES @extschema@.contacts ON DELETE CASCADE,
    entered_at  timestamptz NOT NULL,
    CONSTRAINT segment_members_pkey PRIMARY KEY (segment_id, contact_id)
);
CREATE INDEX segment_members_contact_id_idx ON @extschema@.segment_members (contact_id);
COMMENT ON TABLE @extschema@.segment_members IS
    'The members of each segment as of its last refresh (crm.refresh_segment), and since when.';

CREATE TABLE @extschema@.segment_membership_history (
    history_id  bigserial PRIMARY KEY,
    segment_id  bigint NOT NULL CONSTRAINT segment_membership_history_segment_fkey
                REFERENCES @extschema@.segments ON DELETE CASCADE,
    contact_id  bigint NOT NULL CONSTRAINT segment_membership_history_contact_fkey
                REFERENCES @extschema@.contacts ON DELETE CASCADE,
    entered_at  timestamptz NOT NULL,
    left_at     timestamptz,
    CONSTRAINT segment_membership_history_left_after_entered CHECK (left_at >= entered_at)
);
CREATE UNIQUE INDEX segment_membership_history_current_key
    ON @extschema@.segment_membership_history (segment_id, contact_id) WHERE left_at IS NULL;
CREATE INDEX segment_membership_history_contact_idx
    ON @extschema@.segment_membership_history (contact_id, entered_at);
COMMENT ON TABLE @extschema@.segment_membership_history IS
    'Every stay of a contact in a segment: when the refresh found them in (entered_at) and out again (left_at, NULL while a member).';

CREATE TRIGGER segments_touch_updated_at BEFORE UPDATE ON @extschema@.segments
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();
CREATE TRIGGER segment_rules_touch_updated_at BEFORE UPDATE ON @extschema@.segment_rules
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();

-- The SQL condition of one rule. Nothing from the rule reaches the SQL text unquoted, and nothing
-- in it is looked up by name when it runs: the column is checked against crm.customer_360 and
-- quoted with %I; the value is cast to the column's type once here (so a wrong value fails now,
-- naming the rule) and quoted with %L, the type named with its schema; the operator is one of a
-- fixed list, written OPERATOR(schema.op) with the schema of the operator found for the column's
-- type in pg_catalog or among crm's own operators (members of the extension), never in another
-- schema: an operator someone planted in a temporary or any other schema is never chosen.
CREATE FUNCTION @extschema@.segment_rule_condition(
    rule_id bigint, segment_id bigint, column_name text, operator text, value text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    segment_name text;
    column_type_id oid;
    column_type text;
    value_type text;
    operator_schema name;
    comparison text;
    rule_label text;
BEGIN
    SELECT s.name INTO segment_name FROM @extschema@.segments s WHERE s.segment_id = segment_rule_condition.segment_id;
    rule_label := format('segment rule %s (segment "%s")', coalesce(rule_id::text, '(new)'), segment_name);

    SELECT a.atttypid, format_type(a.atttypid, a.atttypmod) INTO column_type_id, column_type
    FROM pg_attribute a
    WHERE a.attrelid = '@extschema@.customer_360'::regclass
      AND a.attname = column_name
      AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: unknown column "%"', rule_label, column_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Rules name a column of the view crm.customer_360.';
    END IF;

    IF operator IN ('is null', 'is not null') THEN
        IF value IS NOT NULL THEN
            RAISE EXCEPTION '%: operator "%" takes no value', rule_label, operator
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN format('(%I %s)', column_name, upper(operator));
    END IF;
    IF operator IS NULL OR operator NOT IN ('=', '<>', '<', '<=', '>', '>=', 'in', 'not in', 'like', 'not like') THEN
        RAISE EXCEPTION '%: unknown operator "%"', rule_label, operator
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The operators are = <> < <= > >= in, not in, is null, is not null, like, not like.';
    END IF;
    IF value IS NULL THEN
        RAISE EXCEPTION '%: operator "%" needs a value', rule_label, operator
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF operator IN ('like', 'not like') THEN
        IF column_type_id <> 'text'::regtype THEN
            RAISE EXCEPTION '%: operator "%" applies to text columns; "%" is %', rule_label, operator, column_name, column_type
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN format('(%I OPERATOR(pg_catalog.%s) %L::pg_catalog.text)', column_name,
                      CASE operator WHEN 'like' THEN '~~' ELSE '!~~' END, value);
    END IF;

    -- The operator: pg_catalog's, else crm's own; its arguments exactly the column's type, so no
    -- implicit cast is involved either.
    comparison := CASE WHEN operator IN ('in', 'not in') THEN '=' ELSE operator END;
    SELECT n.nspname INTO operator_schema
    FROM pg_operator o
    JOIN pg_namespace n ON n.oid = o.oprnamespace
    JOIN pg_proc p ON p.oid = o.oprcode
    WHERE o.oprname = comparison
      AND o.oprleft = column_type_id AND o.oprright = column_type_id
      AND o.oprresult = 'bool'::regtype
      AND (o.oprnamespace = 'pg_catalog'::regnamespace
           OR (o.oprnamespace = '@extschema@'::regnamespace
               AND p.pronamespace = ANY (ARRAY['pg_catalog'::regnamespace, '@extschema@'::regnamespace]::oid[])
               AND EXISTS (SELECT FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                           WHERE d.classid = 'pg_operator'::regclass
                             AND d.objid = o.oid
                             AND d.refclassid = 'pg_extension'::regclass
                             AND d.deptype = 'e' AND e.extname = 'crm')))
    ORDER BY o.oprnamespace = 'pg_catalog'::regnamespace DESC
    LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: operator "%" is not defined for column "%" of type %', rule_label, operator, column_name, column_type
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The value's type by its schema-qualified name ("schema.type[]" for in and not in).
    SELECT format('%I.%I', n.nspname, t.typname) || CASE WHEN operator IN ('in', 'not in') THEN '[]' ELSE '' END
    INTO value_type
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.oid = column_type_id AND n.nspname IN ('pg_catalog', '@extschema@')
      AND (t.typarray <> 0 OR operator NOT IN ('in', 'not in'));
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: operator "%" is not supported for column "%" of type %', rule_label, operator, column_name, column_type
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF operator IN ('in', 'not in') THEN
        column_type := column_type || '[]';
    END IF;
    BEGIN
        EXECUTE format('SELECT %L::%s', value, value_type);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION '%: value % is not a valid % for column "%"', rule_label, quote_literal(value), column_type, column_name
            USING ERRCODE = 'invalid_text_representation',
                  DETAIL = SQLERRM,
                  HINT = CASE WHEN operator IN ('in', 'not in')
                              THEN 'Operators in and not in take an array literal such as ''{a,b}''.'
                              ELSE 'The value is cast to the column''s type.' END;
    END;

    IF operator = 'in' THEN
        RETURN format('(%I OPERATOR(%I.=) ANY (%L::%s))', column_name, operator_schema, value, value_type);
    ELSIF operator = 'not in' THEN
        RETURN format('(NOT (%I OPERATOR(%I.=) ANY (%L::%s)))', column_name, operator_schema, value, value_type);
    END IF;
    RETURN format('(%I OPERATOR(%I.%s) %L::%s)', column_name, operator_schema, operator, value, value_type);
END
$$;
COMMENT ON FUNCTION @extschema@.segment_rule_condition(bigint, bigint, text, text, text) IS
    'The SQL condition of a segment rule, built with format %I/%L, its operator and type named with their schema (pg_catalog, or crm for crm''s own; an operator of any other schema is never used); raises 22023 for an unknown column or operator or one the column''s type lacks, and 22P02 for a value the column''s type rejects, naming the rule and segment.';

CREATE FUNCTION @extschema@.segment_rules_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM @extschema@.segment_rule_condition(NEW.rule_id, NEW.segment_id, NEW.column_name, NEW.operator, NEW.value);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.segment_rules_validate() IS
    'Trigger: a segment rule is checked (column, operator, value) when written, not only at refresh.';
CREATE TRIGGER segment_rules_validate BEFORE INSERT OR UPDATE ON @extschema@.segment_rules
    FOR EACH ROW EXECUTE FUNCTION @extschema@.segment_rules_validate();

-- The condition of a whole segment: its rules joined by AND or OR; false without rules.
CREATE FUNCTION @extschema@.segment_condition(segment_id bigint) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(string_agg(@extschema@.segment_rule_condition(r.rule_id, r.segment_id, r.column_name, r.operator, r.value),
                               CASE s.combine WHEN 'or' THEN ' OR ' ELSE ' AND ' END ORDER BY r.rule_id)
                        FILTER (WHERE r.rule_id IS NOT NULL),
                    'false')
    FROM @extschema@.segments s
    LEFT JOIN @extschema@.segment_rules r ON r.segment_id = s.segment_id
    WHERE s.segment_id = $1
    GROUP BY s.combine
$$;
COMMENT ON FUNCTION @extschema@.segment_condition(bigint) IS
    'The SQL condition (over crm.customer_360) a segment''s rules compile to; ''false'' for a segment without rules.';

CREATE FUNCTION @extschema@.refresh_segment(segment_id bigint)
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
    -- in contact order, so the history's ids do not depend on the plan (a set operation's order)
    joining := ARRAY(
        SELECT j.contact_id FROM (
            SELECT x.contact_id FROM pg_catalog.unnest(matching) AS x(contact_id)
            EXCEPT
            SELECT m.contact_id FROM @extschema@.segment_members m
            WHERE m.segment_id OPERATOR(pg_catalog.=) refresh_segment.segment_id) j
        ORDER BY j.contact_id);
    INSERT INTO @extschema@.segment_members (segment_id, contact_id, entered_at)
    SELECT refresh_segment.segment_id, x.contact_id, refresh_time FROM pg_catalog.unnest(joining) AS x(contact_id);
    INSERT INTO @extschema@.segment_membership_history (segment_id, contact_id, entered_at)
    SELECT refresh_segment.segment_id, x.contact_id, refresh_time FROM pg_catalog.unnest(joining) AS x(contact_id);

    members := pg_catalog.cardinality(matching);
    joined := pg_catalog.cardinality(joining);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_segment(bigint) IS
    'Recomputes a segment''s members from its rules over crm.customer_360 and records who joined and who departed in crm.segment_membership_history; returns the member count and the number who joined and departed.';

CREATE FUNCTION @extschema@.refresh_segments()
RETURNS TABLE (segment_id bigint, name text, members bigint, joined bigint, departed bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.segment_id, s.name, r.members, r.joined, r.departed
    FROM (SELECT * FROM @extschema@.segments ORDER BY segment_id) s,
         LATERAL @extschema@.refresh_segment(s.segment_id) r
$$;
COMMENT ON FUNCTION @extschema@.refresh_segments() IS
    'Refreshes every segment (crm.refresh_segment), one row per segment.';

CREATE FUNCTION @extschema@.add_segment_to_campaign(segment_id bigint, campaign_id bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    added integer;
    members bigint[];
    campaign_owner bigint;
    -- Who called: inside a SECURITY DEFINER function current_user is the owner, but SET ROLE (the
    -- setting "role") and the session user are still the caller's.
    caller name := CASE current_setting('role') WHEN 'none' THEN session_user ELSE current_setting('role')::name END;
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.segments s WHERE s.segment_id = add_segment_to_campaign.segment_id) THEN
        RAISE EXCEPTION 'segment % does not exist', add_segment_to_campaign.segment_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT c.owner_id INTO campaign_owner FROM @extschema@.campaigns c
    WHERE c.campaign_id = add_segment_to_campaign.campaign_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign % does not exist', add_segment_to_campaign.campaign_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The caller's right to the campaign, as the campaigns policies give it: admins any, managers
    -- their team's and the unowned ones.
    IF NOT pg_has_role(caller, 'crm_admin', 'USAGE') AND campaign_owner IS NOT NULL
       AND campaign_owner <> ALL (@extschema@.managed_user_ids(caller)) THEN
        RAISE EXCEPTION 'permission denied to add members to campaign %', add_segment_to_campaign.campaign_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The campaign belongs to a staff member outside your team.',
                  HINT = 'A manager adds members to the campaigns of their team and to unowned ones.';
    END IF;
    -- The members first, then consent over that list: on a distributed CRM (docs/citus.md) the
    -- consent history stays on the coordinator, and a consent check inside a statement Citus
    -- sends to the shards would read the workers' own, empty, history.
    SELECT coalesce(pg_catalog.array_agg(m.contact_id ORDER BY m.contact_id), '{}') INTO members
    FROM @extschema@.segment_members m
    WHERE m.segment_id = add_segment_to_campaign.segment_id;
    INSERT INTO @extschema@.campaign_members (campaign_id, contact_id)
    SELECT add_segment_to_campaign.campaign_id, c.contact_id
    FROM pg_catalog.unnest(members) AS c(contact_id)
    WHERE @extschema@.has_consent(c.contact_id, 'marketing_email'::@extschema@.consent_purpose, pg_catalog.now())
    ORDER BY c.contact_id
    ON CONFLICT ON CONSTRAINT campaign_members_pkey DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
END
$$;
COMMENT ON FUNCTION @extschema@.add_segment_to_campaign(bigint, bigint) IS
    'Adds the segment''s members (as of its last refresh) who gave marketing consent to the campaign, leaving out everyone else and those already in it; returns how many were added.';

REVOKE EXECUTE ON FUNCTION @extschema@.refresh_segment(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.refresh_segments() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.add_segment_to_campaign(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.refresh_segment(bigint), @extschema@.refresh_segments(),
    @extschema@.add_segment_to_campaign(bigint, bigint) TO crm_admin, crm_manager;

-- Staff see the members they may see as contacts (contacts' own policies decide).
DO $policies$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['segment_members', 'segment_membership_history']
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY admin_all ON @extschema@.%I TO crm_admin USING (true) WITH CHECK (true)', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY read_visible_contacts ON @extschema@.%1$I FOR SELECT
                 TO crm_analyst, crm_manager, crm_sales, crm_support
                 USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = %1$I.contact_id))',
            table_name);
    END LOOP;
END
$policies$;

GRANT SELECT ON @extschema@.segments, @extschema@.segment_rules, @extschema@.segment_members,
    @extschema@.segment_membership_history TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.segments, @extschema@.segment_rules TO crm_admin, crm_manager;
GRANT USAGE ON SEQUENCE @extschema@.segments_segment_id_seq, @extschema@.segment_rules_rule_id_seq
    TO crm_admin, crm_manager;
GRANT ALL ON @extschema@.segment_members, @extschema@.segment_membership_history TO crm_admin;

-- Configuration shared by everyone: admins and managers write it, every staff role reads it.
DO $configuration$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['segments', 'segment_rules']
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

SELECT pg_catalog.pg_extension_config_dump('@extschema@.segments', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segments_segment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_rules', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_rules_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_members', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_membership_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_membership_history_history_id_seq', '');

-- Privileges: rule compilation reads the segment tables, for staff roles; the trigger for nobody.
REVOKE EXECUTE ON FUNCTION @extschema@.segment_rule_condition(bigint, bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.segment_rule_condition(bigint, bigint, text, text, text) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.segment_condition(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.segment_condition(bigint) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.segment_rules_validate() FROM PUBLIC;
