-- dynsql: segment rules take operators only from pg_catalog or crm's own (never a temporary or
-- any other schema: finding 1, crm_manager -> superuser through a planted operator); compiled
-- conditions and the refresh statement name every operator and type with its schema; a segment
-- without rules compiles to false instead of raising. CREATE OR REPLACE keeps owner, grants and
-- comments; attributes (STABLE, SECURITY DEFINER, SET search_path) are restated as installed.

CREATE OR REPLACE FUNCTION @extschema@.segment_rule_condition(
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

CREATE OR REPLACE FUNCTION @extschema@.segment_condition(segment_id bigint) RETURNS text
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

CREATE OR REPLACE FUNCTION @extschema@.refresh_segment(segment_id bigint)
RETURNS TABLE (members bigint, joined bigint, departed bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    condition text;
BEGIN
    -- one refresh of a segment at a time: two would both insert the same new members
    PERFORM FROM @extschema@.segments s WHERE s.segment_id = refresh_segment.segment_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment % does not exist', refresh_segment.segment_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    condition := @extschema@.segment_condition(refresh_segment.segment_id);

    -- Every operator and function in the statement is named with its schema (the condition's too).
    RETURN QUERY EXECUTE format($query$
        WITH matching AS (
            SELECT c.contact_id FROM @extschema@.customer_360 c WHERE %s
        ), departing AS (
            DELETE FROM @extschema@.segment_members m
            WHERE m.segment_id OPERATOR(pg_catalog.=) $1
              AND NOT (m.contact_id OPERATOR(pg_catalog.=) ANY (SELECT x.contact_id FROM matching x))
            RETURNING m.contact_id
        ), closed AS (
            UPDATE @extschema@.segment_membership_history h SET left_at = $2
            FROM departing d
            WHERE h.segment_id OPERATOR(pg_catalog.=) $1 AND h.contact_id OPERATOR(pg_catalog.=) d.contact_id
              AND h.left_at IS NULL
            RETURNING h.contact_id
        ), joining AS (
            INSERT INTO @extschema@.segment_members (segment_id, contact_id, entered_at)
            SELECT $1, x.contact_id, $2 FROM matching x
            WHERE NOT EXISTS (SELECT FROM @extschema@.segment_members m
                              WHERE m.segment_id OPERATOR(pg_catalog.=) $1
                                AND m.contact_id OPERATOR(pg_catalog.=) x.contact_id)
            RETURNING contact_id
        ), opened AS (
            INSERT INTO @extschema@.segment_membership_history (segment_id, contact_id, entered_at)
            SELECT $1, j.contact_id, $2 FROM joining j
            RETURNING contact_id
        )
        SELECT (SELECT pg_catalog.count(*) FROM matching), (SELECT pg_catalog.count(*) FROM opened),
               (SELECT pg_catalog.count(*) FROM closed)
        $query$, condition)
    USING refresh_segment.segment_id, now();

    UPDATE @extschema@.segments s SET refreshed_at = now() WHERE s.segment_id = refresh_segment.segment_id;
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_segment(bigint) IS
    'Recomputes a segment''s members from its rules over crm.customer_360 and records who joined and who departed in crm.segment_membership_history; returns the member count and the number who joined and departed.';
