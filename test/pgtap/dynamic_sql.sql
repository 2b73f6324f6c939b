-- pgTAP: dynamic SQL resolves nothing by the caller's names. Every statement crm builds (segment
-- rules compiled by crm.segment_rule_condition, run by crm.refresh_segment as the extension's
-- owner) names its operators, functions and types with their schema, pg_catalog or crm. This
-- suite plants look-alikes in the session's temporary schema of every operator, function, type
-- and relation name such a statement or the lead scoring path could reach, each recording its
-- call, runs every rule operator over every rule column (and the lead scoring rules) as
-- crm_manager and crm_admin with a search_path that puts the temporary schema first, and checks
-- that nothing planted was ever called and that the results equal those without the plants.
-- A catalog check keeps new dynamic SQL from slipping in unreviewed.
BEGIN;
SELECT plan(20);

-- ---------------------------------------------------------------------------------------------
-- Reviewed dynamic SQL. A new plpgsql or SQL function of crm whose body says EXECUTE fails here,
-- by name, until it is reviewed (format %I/%L only; operators, functions and types qualified
-- with pg_catalog or crm; no caller-controlled text unquoted) and added to this list.
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
    WHERE p.pronamespace = 'crm'::regnamespace AND l.lanname NOT IN ('c', 'internal')
      AND p.prosrc ~* '\mEXECUTE\M'
      AND p.oid::regprocedure::text <> ALL (ARRAY[
          'crm.segment_rule_condition(bigint,bigint,text,text,text)',
          'crm.refresh_segment(bigint)',
          'crm.at_risk_customers(timestamp with time zone,double precision,double precision,interval)',
          'crm.generate_demo_data(integer,integer,date)',
          'crm.guard_seeded_rows()',
          -- the distributed CRM (src/citus.sql): DDL on crm's own tables, names from the catalog
          -- and fixed lists through format %I; constraint, policy and trigger definitions from
          -- pg_get_constraintdef/pg_get_expr/pg_get_triggerdef; superuser only
          'crm.distribute_schema()',
          -- citus-logreg: format %I for the columns, the relation as regclass (qualified under
          -- search_path = pg_catalog, pg_temp), security invoker, everything qualified
          'crm.logreg_fit_table(regclass,text,text,double precision,integer)',
          -- k-means on a table: the relation as regclass (printed quoted and qualified), the column
          -- by quote_ident, functions and operators qualified with pg_catalog or crm
          'crm.kmeans_table(regclass,text,integer,integer,boolean,integer)',
          -- the right of access (src/privacy.sql): schema, table and column names from the catalog
          -- through format %I, foreign keys' own equality operators qualified with their schema
          -- (OPERATOR(%I.%s), the name from pg_operator), the person's values as parameters ($1-$4),
          -- security invoker
          'crm.export_person(bigint)',
          -- the right to erasure (src/erasure.sql): schema, table and column names from the
          -- catalog through format %I, fixed replacement literals, the person's id, address and
          -- number as parameters ($1, $2), operators and functions qualified, security invoker
          'crm.erase_person(bigint,text)',
          -- merges (src/merge.sql): schema, table, column names from the catalog
          -- (crm.contact_references, pg_index, pg_attribute) through format %I; key types by
          -- format_type under search_path = pg_catalog, pg_temp; every operator qualified; values
          -- as parameters; segment conditions from crm.segment_condition as refresh_segment runs them
          'crm.merge_apply(bigint)',
          'crm.unmerge_apply(bigint)'])$$,
    'every function of crm with dynamic SQL (EXECUTE) is on the reviewed list');

-- Casts are global, not per schema: only the owner of a type may create a cast from or to it, so
-- no session can plant one among pg_catalog's and crm's types. None has a function elsewhere.
SELECT is_empty($$
    SELECT c.castsource::regtype::text, c.casttarget::regtype::text, c.castfunc::regprocedure::text
    FROM pg_catalog.pg_cast c
    JOIN pg_catalog.pg_type s ON s.oid = c.castsource
    JOIN pg_catalog.pg_type t ON t.oid = c.casttarget
    JOIN pg_catalog.pg_proc f ON f.oid = c.castfunc
    WHERE (s.typnamespace = 'crm'::regnamespace OR t.typnamespace = 'crm'::regnamespace)
      AND f.pronamespace NOT IN ('pg_catalog'::regnamespace, 'crm'::regnamespace)$$,
    'no cast from or to a crm type runs a function outside pg_catalog and crm');

-- ---------------------------------------------------------------------------------------------
-- Data: the demo generator fills every table a rule reads.
SELECT crm.generate_demo_data(60, 1, '2026-06-30') IS NOT NULL AS demo_data \gset

-- Every operator over every column of crm.customer_360, with a value from the column's own data
-- (its median row; a fixed value of the type's category where the column is all NULL).
CREATE TEMP TABLE dyn_case (case_id integer PRIMARY KEY, column_name text, column_type regtype, operator text,
                            value text, accepted boolean, error text);
INSERT INTO dyn_case (case_id, column_name, column_type, operator, value)
SELECT (row_number() OVER (ORDER BY a.attnum, o.ord))::integer, a.attname, a.atttypid, o.op,
       CASE WHEN o.op IN ('is null', 'is not null') THEN NULL
            WHEN o.op IN ('in', 'not in') THEN ARRAY[v.sample]::text
            WHEN o.op IN ('like', 'not like') THEN left(v.sample, 1) || '%'
            ELSE v.sample END
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
CROSS JOIN LATERAL (
    SELECT coalesce(
        (SELECT x.s FROM (SELECT to_jsonb(c) ->> a.attname AS s, row_number() OVER (ORDER BY c.contact_id) AS rn,
                                 count(*) OVER () AS n
                          FROM crm.customer_360 c WHERE to_jsonb(c) ->> a.attname IS NOT NULL) x
         WHERE x.rn = (x.n + 1) / 2),
        CASE t.typcategory WHEN 'N' THEN '1' WHEN 'B' THEN 'true' WHEN 'D' THEN '2026-01-01' WHEN 'S' THEN 'x' ELSE '555' END)
    AS sample) v
CROSS JOIN (VALUES (1, '='), (2, '<>'), (3, '<'), (4, '<='), (5, '>'), (6, '>='), (7, 'in'), (8, 'not in'),
                   (9, 'is null'), (10, 'is not null'), (11, 'like'), (12, 'not like')) o(ord, op)
WHERE a.attrelid = 'crm.customer_360'::regclass AND a.attnum > 0 AND NOT a.attisdropped;

-- Lead scoring fit rules: every operator over every lead, contact and account field fit rules
-- can compare, again with a value from the data; one point each.
CREATE TEMP TABLE dyn_lead_rule (entity text, field text, operator text, value text);
INSERT INTO dyn_lead_rule
SELECT e.entity, a.attname, o.op,
       CASE WHEN o.op IN ('is null', 'is not null') THEN NULL
            WHEN o.op = 'in' THEN ARRAY[v.sample]::text
            WHEN o.op = 'like' THEN left(v.sample, 1) || '%'
            WHEN o.op = 'ends_with' THEN right(v.sample, 2)
            WHEN o.op = 'matches' THEN '^' || left(v.sample, 1)
            ELSE v.sample END
FROM (VALUES ('lead', 'crm.leads'::regclass), ('contact', 'crm.contacts'), ('account', 'crm.accounts')) e(entity, rel)
JOIN pg_attribute a ON a.attrelid = e.rel AND a.attnum > 0 AND NOT a.attisdropped
CROSS JOIN LATERAL (
    SELECT coalesce(
        (SELECT r.j ->> a.attname FROM (
             SELECT to_jsonb(l) AS j, l.lead_id AS k FROM crm.leads l WHERE e.entity = 'lead'
             UNION ALL SELECT to_jsonb(c), c.contact_id FROM crm.contacts c WHERE e.entity = 'contact'
             UNION ALL SELECT to_jsonb(ac), ac.account_id FROM crm.accounts ac WHERE e.entity = 'account') r
         WHERE r.j ->> a.attname IS NOT NULL ORDER BY r.k LIMIT 1), '1') AS sample) v
CROSS JOIN (VALUES ('='), ('<>'), ('<'), ('<='), ('>'), ('>='), ('in'), ('is null'), ('is not null'),
                   ('like'), ('ends_with'), ('matches')) o(op);

CREATE TEMP TABLE dyn_result (phase text, case_id integer, members bigint, joined bigint, departed bigint,
                              member_ids bigint[], condition text);
CREATE TEMP TABLE dyn_score (phase text, lead_id bigint, score numeric, scored_at timestamptz);
CREATE TEMP TABLE dyn_error (phase text, what text, error text);
GRANT ALL ON dyn_case, dyn_lead_rule, dyn_result, dyn_score, dyn_error TO PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Without plants: lead scoring rules written by a manager, scores read and stored by an admin; then segments A (one per case) written and refreshed by a manager.
SET ROLE crm_manager;
WITH g AS (INSERT INTO crm.lead_scoring_groups (name) VALUES ('dynsql') RETURNING group_id)
SELECT set_config('dynsql.group', group_id::text, true) IS NOT NULL AS group_set FROM g \gset
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM dyn_lead_rule LOOP
        BEGIN
            INSERT INTO crm.lead_scoring_rules (group_id, name, kind, entity, field, operator, value, points)
            VALUES (current_setting('dynsql.group')::integer, 'dynsql ' || r.entity || '.' || r.field || ' ' || r.operator,
                    'fit', r.entity, r.field, r.operator, r.value, 1);
        EXCEPTION WHEN invalid_parameter_value OR invalid_text_representation THEN
            NULL;  -- a field fit rules cannot compare, or an operator its type does not take
        END;
    END LOOP;
END
$$;
SET ROLE crm_admin;
INSERT INTO dyn_score (phase, lead_id, score) SELECT 'baseline lead_scores', s.lead_id, s.score
FROM crm.lead_scores('2026-06-30', ARRAY(SELECT l.lead_id FROM crm.leads l)) s;
SELECT crm.rescore_leads() IS NOT NULL AS rescored \gset

SET ROLE crm_manager;
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM dyn_case ORDER BY case_id LOOP
        INSERT INTO crm.segments (segment_id, name) VALUES (900000 + c.case_id, 'dynsql A ' || c.case_id);
        BEGIN
            INSERT INTO crm.segment_rules (segment_id, column_name, operator, value)
            VALUES (900000 + c.case_id, c.column_name, c.operator, c.value);
            UPDATE dyn_case SET accepted = true WHERE case_id = c.case_id;
        EXCEPTION WHEN invalid_parameter_value OR invalid_text_representation THEN
            UPDATE dyn_case SET accepted = false, error = SQLERRM WHERE case_id = c.case_id;
        END;
    END LOOP;
END
$$;
INSERT INTO dyn_result (phase, case_id, members, joined, departed, condition)
SELECT 'baseline A', c.case_id, r.members, r.joined, r.departed, crm.segment_condition(900000 + c.case_id)
FROM dyn_case c, LATERAL crm.refresh_segment(900000 + c.case_id) r WHERE c.accepted;
RESET ROLE;
UPDATE dyn_result r SET member_ids = ARRAY(SELECT m.contact_id FROM crm.segment_members m
                                           WHERE m.segment_id = 900000 + r.case_id ORDER BY m.contact_id);

-- ---------------------------------------------------------------------------------------------
-- The plants, each recording its call in dyn_call. Planted in a safe search_path; the calls
-- below run with the temporary schema first, as a hostile session would set it.
CREATE TEMP TABLE dyn_call (call_id bigserial, planted text, called_as name);
GRANT ALL ON dyn_call, dyn_call_call_id_seq TO PUBLIC;
CREATE FUNCTION pg_temp.dyn_called(planted text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO pg_temp.dyn_call (planted, called_as) VALUES (planted, current_user);
    RETURN true;
END
$$;
CREATE TEMP TABLE dyn_planted (kind text, name text);

SET search_path = pg_catalog, pg_temp, public;
DO $plant$
DECLARE
    t record;
    f record;
    op text;
    n integer := 0;
BEGIN
    -- The types: every column type of the relations rules and compiled statements read, crm's
    -- own types, those the catalog lookups use, and the arrays of all of them.
    CREATE TEMP TABLE dyn_type AS
    SELECT DISTINCT a.atttypid AS type_id
    FROM pg_attribute a
    WHERE a.attrelid IN ('crm.customer_360'::regclass, 'crm.contacts'::regclass, 'crm.leads'::regclass,
                         'crm.accounts'::regclass, 'crm.activities'::regclass, 'crm.segments'::regclass,
                         'crm.segment_rules'::regclass, 'crm.segment_members'::regclass,
                         'crm.segment_membership_history'::regclass, 'crm.lead_scoring_rules'::regclass,
                         'crm.lead_scoring_groups'::regclass, 'crm.lead_scoring_settings'::regclass)
      AND a.attnum > 0 AND NOT a.attisdropped
    UNION SELECT ty.oid FROM pg_type ty WHERE ty.typnamespace = 'crm'::regnamespace AND ty.typtype IN ('b', 'e', 'd')
    UNION SELECT unnest(ARRAY['text', 'bool', 'int2', 'int4', 'int8', 'numeric', 'float8', 'timestamptz', 'date',
                              'interval', 'jsonb', 'varchar', 'oid', 'name', 'char', 'regclass', 'regtype', 'regnamespace',
                              'regprocedure']::regtype[]);
    INSERT INTO dyn_type SELECT ty.typarray FROM dyn_type d JOIN pg_type ty ON ty.oid = d.type_id
    WHERE ty.typarray <> 0 AND ty.typarray NOT IN (SELECT type_id FROM dyn_type);

    -- Operators: every name a rule or a compiled statement could use, over every pair (T, T).
    FOR t IN SELECT d.type_id, format_type(d.type_id, NULL) AS type_name FROM dyn_type d ORDER BY 1 LOOP
        FOREACH op IN ARRAY ARRAY['=', '<>', '<', '<=', '>', '>=', '~~', '!~~', '~~*', '!~~*', '~', '~*', '!~', '!~*',
                                  '@>', '<@', '&&', '||', '+', '-', '*', '/'] LOOP
            n := n + 1;
            EXECUTE format('CREATE FUNCTION pg_temp.dyn_op_%s(%s, %s) RETURNS boolean LANGUAGE sql AS %L',
                           n, t.type_name, t.type_name,
                           format('SELECT pg_temp.dyn_called(%L)', format('operator %s (%s, %s)', op, t.type_name, t.type_name)));
            EXECUTE format('CREATE OPERATOR pg_temp.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = pg_temp.dyn_op_%s)',
                           op, t.type_name, t.type_name, n);
            INSERT INTO dyn_planted VALUES ('operator', format('%s (%s, %s)', op, t.type_name, t.type_name));
        END LOOP;
    END LOOP;
    FOREACH op IN ARRAY ARRAY['->>', '->', '?'] LOOP
        n := n + 1;
        EXECUTE format('CREATE FUNCTION pg_temp.dyn_op_%s(jsonb, text) RETURNS boolean LANGUAGE sql AS %L', n,
                       format('SELECT pg_temp.dyn_called(%L)', format('operator %s (jsonb, text)', op)));
        EXECUTE format('CREATE OPERATOR pg_temp.%s (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = pg_temp.dyn_op_%s)', op, n);
        INSERT INTO dyn_planted VALUES ('operator', format('%s (jsonb, text)', op));
    END LOOP;

    -- Functions: those behind pg_catalog's and crm's operators over these types, every function
    -- of crm, and the pg_catalog functions the dynamic statements call; same name, same
    -- arguments, same result. (Functions with pseudo-type arguments or results, set-returning
    -- functions and aggregates are left out: count(*) is planted as an aggregate below.)
    FOR f IN
        SELECT DISTINCT ON (p.proname, pg_get_function_identity_arguments(p.oid))
               p.proname, pg_get_function_identity_arguments(p.oid) AS args, format_type(p.prorettype, NULL) AS result
        FROM pg_proc p
        WHERE p.prokind = 'f' AND NOT p.proretset
          AND (p.oid IN (SELECT o.oprcode FROM pg_operator o
                         WHERE o.oprleft IN (SELECT type_id FROM dyn_type) AND o.oprright IN (SELECT type_id FROM dyn_type)
                           AND o.oprnamespace IN ('pg_catalog'::regnamespace, 'crm'::regnamespace))
               OR p.pronamespace = 'crm'::regnamespace
               OR (p.pronamespace = 'pg_catalog'::regnamespace
                   AND p.proname IN ('now', 'clock_timestamp', 'format_type', 'upper', 'lower', 'quote_literal',
                                     'quote_ident', 'format', 'btrim', 'left', 'right', 'round', 'sign', 'date_part',
                                     'power', 'set_config', 'current_setting', 'setval', 'pg_get_serial_sequence',
                                     'to_regclass', 'starts_with', 'textlike', 'textnlike', 'texteq', 'int8eq',
                                     'jsonb_object_field_text')))
          AND NOT EXISTS (SELECT FROM pg_type ty WHERE ty.oid = ANY (p.proargtypes::oid[] || p.prorettype)
                                                   AND ty.typtype = 'p')
        ORDER BY 1, 2
    LOOP
        EXECUTE format('CREATE FUNCTION pg_temp.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L', f.proname, f.args, f.result,
                       format('BEGIN PERFORM pg_temp.dyn_called(%L); RETURN NULL; END', format('function %s(%s)', f.proname, f.args)));
        INSERT INTO dyn_planted VALUES ('function', format('%s(%s)', f.proname, f.args));
    END LOOP;
    CREATE FUNCTION pg_temp.dyn_count_step(bigint) RETURNS bigint LANGUAGE sql
        AS $f$ SELECT $1 + 1 WHERE pg_temp.dyn_called('aggregate count(*)') $f$;
    CREATE AGGREGATE pg_temp.count(*) (SFUNC = pg_temp.dyn_count_step, STYPE = bigint, INITCOND = '0');
    INSERT INTO dyn_planted VALUES ('function', 'count(*)');

    -- Relations: a view named like every catalog the code looks things up in and like every
    -- relation of crm, recording any read or write (WITH CHECK OPTION evaluates it on writes).
    FOR f IN
        SELECT c.oid, c.relname, c.relkind, c.relnamespace::regnamespace::text AS nsp FROM pg_class c
        WHERE (c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'v', 'p'))
           OR (c.relnamespace = 'pg_catalog'::regnamespace
               AND c.relname IN ('pg_attribute', 'pg_operator', 'pg_type', 'pg_namespace', 'pg_proc', 'pg_depend',
                                 'pg_extension', 'pg_class', 'pg_roles', 'pg_settings', 'pg_index', 'pg_constraint',
                                 'pg_trigger', 'pg_cast'))
        ORDER BY 1
    LOOP
        EXECUTE format('CREATE VIEW pg_temp.%I AS SELECT %s FROM %I.%I WHERE pg_temp.dyn_called(%L)%s',
                       f.relname,
                       (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                        FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
                        WHERE a.attrelid = f.oid AND a.attnum > 0 AND NOT a.attisdropped AND ty.typtype <> 'p'),
                       f.nsp, f.relname, 'relation ' || f.relname,
                       CASE WHEN f.relkind IN ('r', 'p') AND f.nsp = 'crm' THEN ' WITH CHECK OPTION' ELSE '' END);
        INSERT INTO dyn_planted VALUES ('relation', f.relname);
    END LOOP;

    -- Types, last: a domain named like every type above, whose check records its use.
    FOR t IN SELECT d.type_id, ty.typname, format_type(d.type_id, NULL) AS type_name
             FROM dyn_type d JOIN pg_type ty ON ty.oid = d.type_id WHERE ty.typcategory <> 'A' ORDER BY 1 LOOP
        EXECUTE format('CREATE DOMAIN pg_temp.%I AS %s CHECK (pg_temp.dyn_called(%L))', t.typname, t.type_name,
                       'type ' || t.typname);
        INSERT INTO dyn_planted VALUES ('type', t.typname);
    END LOOP;
END
$plant$;
SET search_path = public;  -- the temporary schema first, then pg_catalog: a hostile session's order

-- ---------------------------------------------------------------------------------------------
-- With the plants. A manager writes segments B (the same rules again), refreshes A and B and
-- compiles A's conditions, and writes a scoring rule; an admin reads lead scores, stores them and
-- adds activities (the C rescoring path). Errors are recorded, not raised.
SET ROLE crm_manager;
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM dyn_case WHERE accepted ORDER BY case_id LOOP
        BEGIN
            INSERT INTO crm.segments (segment_id, name) VALUES (800000 + c.case_id, 'dynsql B ' || c.case_id);
            INSERT INTO crm.segment_rules (segment_id, column_name, operator, value)
            VALUES (800000 + c.case_id, c.column_name, c.operator, c.value);
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO dyn_error VALUES ('planted', 'segment rule ' || c.case_id, SQLERRM);
        END;
        BEGIN
            INSERT INTO dyn_result (phase, case_id, members, joined, departed, condition)
            SELECT 'planted A', c.case_id, r.members, r.joined, r.departed, crm.segment_condition(900000 + c.case_id)
            FROM crm.refresh_segment(900000 + c.case_id) r;
            INSERT INTO dyn_result (phase, case_id, members, joined, departed, condition)
            SELECT 'planted B', c.case_id, r.members, r.joined, r.departed, crm.segment_condition(800000 + c.case_id)
            FROM crm.refresh_segment(800000 + c.case_id) r;
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO dyn_error VALUES ('planted', 'refresh ' || c.case_id, SQLERRM);
        END;
    END LOOP;
    BEGIN
        PERFORM FROM crm.refresh_segments();
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO dyn_error VALUES ('planted', 'refresh_segments', SQLERRM);
    END;
END
$$;
RESET ROLE;
CREATE TEMP TABLE dyn_mark_segments AS SELECT coalesce(max(call_id), 0) AS last_call FROM dyn_call;
SET ROLE crm_manager;
DO $$
BEGIN
    BEGIN
        INSERT INTO crm.lead_scoring_rules (group_id, name, kind, entity, field, operator, value, points)
        VALUES (current_setting('dynsql.group')::integer, 'dynsql planted', 'fit', 'contact', 'country', 'in', '{DE,FR}', 0);
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO dyn_error VALUES ('planted lead scoring', 'lead scoring rule written by a manager', SQLERRM);
    END;
END
$$;
SET ROLE crm_admin;
DO $$
BEGIN
    INSERT INTO dyn_score (phase, lead_id, score) SELECT 'planted lead_scores', s.lead_id, s.score
    FROM crm.lead_scores('2026-06-30', ARRAY(SELECT l.lead_id FROM crm.leads l)) s;
    PERFORM crm.rescore_leads();
    INSERT INTO dyn_score SELECT 'planted stored', l.lead_id, l.score, l.scored_at FROM crm.leads l;
    -- the C path (a trigger per activity insert); dated after every scored_at above, so those
    -- stored scores stay what crm.lead_scores gives at their scored_at
    INSERT INTO crm.activities (contact_id, lead_id, channel, kind, occurred_at)
    SELECT l.contact_id, l.lead_id, 'email', 'email_open', '2100-01-01' FROM crm.leads l ORDER BY l.lead_id LIMIT 3;
EXCEPTION WHEN OTHERS THEN
    INSERT INTO dyn_error VALUES ('planted lead scoring', 'lead scoring as admin', SQLERRM);
END
$$;
RESET ROLE;
CREATE TEMP TABLE dyn_mark AS SELECT coalesce(max(call_id), 0) AS last_call FROM dyn_call;
-- The plants are live: named without a schema, under this search_path, they are what is found.
SELECT 'x'::text AS planted_type, 1::bigint OPERATOR(pg_temp.=) 1::bigint AS planted_operator \gset
SET search_path = public, pg_catalog, pg_temp;

-- ---------------------------------------------------------------------------------------------
SELECT ok((SELECT count(*) FROM dyn_planted WHERE kind = 'operator') = 22 * (SELECT count(*) FROM dyn_type) + 3
          AND (SELECT count(*) FROM dyn_type) > 40
          AND (SELECT count(*) FROM dyn_planted WHERE kind = 'function') > 200
          AND (SELECT count(*) FROM dyn_planted WHERE kind = 'relation') > 30
          AND (SELECT count(*) FROM dyn_planted WHERE kind = 'type') > 20
          AND EXISTS (SELECT FROM dyn_planted WHERE kind = 'operator' AND name = '= (crm.rfm, crm.rfm)')
          AND EXISTS (SELECT FROM dyn_planted WHERE kind = 'function' AND name = 'rfm_eq(crm.rfm, crm.rfm)')
          AND EXISTS (SELECT FROM dyn_planted WHERE kind = 'type' AND name = 'rfm'),
          'look-alike operators, functions, relations and types are planted in the temporary schema');
SELECT set_eq($$SELECT planted FROM dyn_call WHERE call_id > (SELECT last_call FROM dyn_mark)$$,
              ARRAY['type text', 'operator = (bigint, bigint)'],
              'the plants are live: a name without a schema finds the planted type, OPERATOR(pg_temp.=) the planted operator');
SELECT is_empty($$SELECT planted, called_as, count(*) FROM dyn_call WHERE call_id <= (SELECT last_call FROM dyn_mark_segments)
                  GROUP BY 1, 2 ORDER BY 1$$,
                'no planted operator, function, relation or type is ever called by segment rules, compiled or refreshed');
SELECT is_empty($$SELECT * FROM dyn_error WHERE phase = 'planted'$$,
                'every segment call succeeds beside the plants');
SELECT is_empty($$SELECT planted, called_as, count(*) FROM dyn_call
                  WHERE call_id <= (SELECT last_call FROM dyn_mark) AND called_as NOT IN ('crm_manager', 'crm_admin')
                  GROUP BY 1, 2 ORDER BY 1$$,
                'nothing planted ever runs with other rights than the caller''s (the extension owner''s, above all)');
-- Lead scoring: its functions name every type and operator with its schema, or pin search_path
-- (0.1 resolved float8, text, date and timestamptz through the caller's search_path).
SELECT is_empty($$SELECT planted, called_as, count(*) FROM dyn_call
                  WHERE call_id > (SELECT last_call FROM dyn_mark_segments) AND call_id <= (SELECT last_call FROM dyn_mark)
                  GROUP BY 1, 2 ORDER BY 1$$,
                'no planted operator, function, relation or type is ever called by lead scoring');
SELECT is_empty($$SELECT * FROM dyn_error WHERE phase = 'planted lead scoring'$$,
                'every lead scoring call succeeds beside the plants');

-- The cases: every operator over every column, refused only where the column's type has no
-- such operator (like and not like are for text).
SELECT is((SELECT count(DISTINCT column_name)::integer FROM dyn_case WHERE accepted),
          (SELECT count(*)::integer FROM pg_attribute WHERE attrelid = 'crm.customer_360'::regclass AND attnum > 0 AND NOT attisdropped),
          'a rule on every column of crm.customer_360');
SELECT set_eq($$SELECT case_id FROM dyn_case WHERE NOT accepted$$,
              $$SELECT case_id FROM dyn_case WHERE operator IN ('like', 'not like') AND column_type <> 'text'::regtype$$,
              'every operator is accepted on every column but like and not like on columns other than text');
SELECT ok((SELECT count(*) FROM dyn_result WHERE phase = 'baseline A' AND members > 0) > 100
          AND EXISTS (SELECT FROM dyn_result r JOIN dyn_case c USING (case_id)
                      WHERE r.phase = 'baseline A' AND c.column_name = 'rfm' AND c.operator = '=' AND r.members > 0),
          'the cases match contacts (over 100 of them a non-empty segment, rfm = among them)');

SELECT results_eq($$SELECT case_id, members, 0::bigint, 0::bigint, member_ids, condition FROM dyn_result
                    WHERE phase = 'baseline A' ORDER BY case_id$$,
                  $$SELECT r.case_id, r.members, r.joined, r.departed,
                           ARRAY(SELECT m.contact_id FROM crm.segment_members m WHERE m.segment_id = 900000 + r.case_id ORDER BY 1),
                           r.condition
                    FROM dyn_result r WHERE r.phase = 'planted A' ORDER BY r.case_id$$,
                  'refreshed beside the plants, every segment keeps its members, none joins or departs, its condition is the same');
SELECT results_eq($$SELECT case_id, members, member_ids FROM dyn_result WHERE phase = 'baseline A' ORDER BY case_id$$,
                  $$SELECT r.case_id, r.members,
                           ARRAY(SELECT m.contact_id FROM crm.segment_members m WHERE m.segment_id = 800000 + r.case_id ORDER BY 1)
                    FROM dyn_result r WHERE r.phase = 'planted B' ORDER BY r.case_id$$,
                  'the same rules written and refreshed beside the plants find the same members');
SELECT is((SELECT count(*)::integer FROM crm.lead_scoring_rules WHERE name LIKE 'dynsql %' AND name <> 'dynsql planted') > 50,
          true, 'over 50 lead scoring fit rules over lead, contact and account fields');
SELECT ok((SELECT count(*) FROM dyn_score WHERE phase = 'baseline lead_scores') = (SELECT count(*) FROM crm.leads)
          AND (SELECT count(*) FROM crm.leads) > 10, 'crm.lead_scores scores every lead for an admin');
SELECT results_eq($$SELECT lead_id, score FROM dyn_score WHERE phase = 'baseline lead_scores' ORDER BY lead_id$$,
                  $$SELECT lead_id, score FROM dyn_score WHERE phase = 'planted lead_scores' ORDER BY lead_id$$,
                  'crm.lead_scores gives an admin the same scores beside the plants');
SELECT results_eq($$SELECT s.lead_id, x.score FROM dyn_score s, crm.lead_scores(s.scored_at, ARRAY[s.lead_id]) x
                    WHERE s.phase = 'planted stored' ORDER BY 1$$,
                  $$SELECT lead_id, score FROM dyn_score WHERE phase = 'planted stored' ORDER BY lead_id$$,
                  'crm.rescore_leads, beside the plants, stores what crm.lead_scores gives at scored_at');

-- A column whose type has no operator in pg_catalog or crm (character varying compares through
-- text's): the planted operator is the only exact one, and it is not taken; the rule is refused.
SELECT lives_ok($t$
    DO $d$
    BEGIN
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        EXECUTE pg_catalog.format('CREATE OR REPLACE VIEW crm.customer_360 WITH (security_invoker = true) AS '
                                  'SELECT q.*, q.email::pg_catalog.varchar AS email_varchar FROM (%s) q',
                                  pg_catalog.rtrim(pg_catalog.pg_get_viewdef('crm.customer_360'::pg_catalog.regclass), ';'));
        PERFORM pg_catalog.set_config('search_path', 'public, pg_catalog, pg_temp', true);
    END
    $d$$t$, 'a varchar column added to crm.customer_360 (in this transaction only)');
SET ROLE crm_manager;
SELECT throws_ok($$INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (900001, 'email_varchar', '=', 'x')$$,
                 '22023', NULL, 'a rule on it is refused, the planted operator = (character varying, character varying) not taken');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
