-- s4-erasure: changes to existing objects (the new part src/erasure.sql is listed in
-- s4-erasure.parts, which runs first).
-- crm.export_person (src/privacy.sql): each condition that finds the person's rows in a table
-- becomes its own branch of a UNION ALL (so that each can use its index; an OR of them was a
-- sequential scan of activities, survey answers, deals and contacts), the phone match is split so
-- that the contacts' phone index serves it, and the catalog query reads only the foreign keys to
-- crm.contacts or to a table that has one. Same rows, same document.
CREATE OR REPLACE FUNCTION @extschema@.export_person(contact_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    person jsonb;
    person_email text;
    person_phone text;
    person_country text;
    t record;
    conds text[];
    cond text;
    branches text[];
    rows jsonb;
    tables jsonb := '{}';
    not_readable text[] := '{}';
    consent jsonb;
BEGIN
    SELECT pg_catalog.to_jsonb(c), @extschema@.normalize_email(c.email), @extschema@.normalize_phone(c.phone, c.country), c.country
    INTO person, person_email, person_phone, person_country
    FROM @extschema@.contacts c WHERE c.contact_id OPERATOR(pg_catalog.=) export_person.contact_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'contact % does not exist', export_person.contact_id
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'No contact with this id is visible to the current user.';
    END IF;

    -- Every ordinary or partitioned table outside the system schemas, with the conditions that
    -- find the person's rows in it.
    FOR t IN
        WITH tabs AS (
            SELECT cl.oid, n.nspname, cl.relname
            FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) cl.relnamespace
            WHERE cl.relkind IN ('r', 'p') AND NOT cl.relispartition
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
        ),
        -- the equality operator of each key column pair of a foreign key, qualified with its schema
        fk AS (
            SELECT con.oid, con.conrelid, con.confrelid,
                   -- child alias x, parent alias y (identifiers quoted, operator qualified)
                   pg_catalog.array_to_string(pg_catalog.array_agg(pg_catalog.format('x.%I OPERATOR(%I.%s) y.%I',
                       a.attname, opn.nspname, op.oprname, fa.attname) ORDER BY k.n), ' AND ') AS xy,
                   -- a single-column key compared with the contact id: the child as x, or as y
                   pg_catalog.format('x.%I OPERATOR(%I.%s) $1', (pg_catalog.array_agg(a.attname))[1],
                       (pg_catalog.array_agg(opn.nspname))[1], (pg_catalog.array_agg(op.oprname))[1]) AS x_is_person,
                   pg_catalog.format('y.%I OPERATOR(%I.%s) $1', (pg_catalog.array_agg(a.attname))[1],
                       (pg_catalog.array_agg(opn.nspname))[1], (pg_catalog.array_agg(op.oprname))[1]) AS y_is_person,
                   pg_catalog.array_agg(fa.attname::text ORDER BY k.n) AS ref_cols
            FROM pg_catalog.pg_constraint con
            CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(con.conkey), pg_catalog.unnest(con.confkey), pg_catalog.unnest(con.conpfeqop))
                WITH ORDINALITY AS k(att, fatt, eqop, n)
            JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) con.conrelid AND a.attnum OPERATOR(pg_catalog.=) k.att
            JOIN pg_catalog.pg_attribute fa ON fa.attrelid OPERATOR(pg_catalog.=) con.confrelid AND fa.attnum OPERATOR(pg_catalog.=) k.fatt
            JOIN pg_catalog.pg_operator op ON op.oid OPERATOR(pg_catalog.=) k.eqop
            JOIN pg_catalog.pg_namespace opn ON opn.oid OPERATOR(pg_catalog.=) op.oprnamespace
            WHERE con.contype OPERATOR(pg_catalog.=) 'f'
              -- only the keys that can matter: to crm.contacts, or to a table that has one
              AND (con.confrelid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass
                   OR con.confrelid IN (SELECT c2.conrelid FROM pg_catalog.pg_constraint c2
                                        WHERE c2.contype OPERATOR(pg_catalog.=) 'f'
                                          AND c2.confrelid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass))
            GROUP BY con.oid, con.conrelid, con.confrelid
        ),
        -- depth 1: a key to crm.contacts(contact_id)
        d1 AS (
            SELECT fk.oid, fk.conrelid, fk.x_is_person, fk.y_is_person FROM fk
            WHERE fk.confrelid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass
              AND fk.ref_cols OPERATOR(pg_catalog.=) ARRAY['contact_id']
        )
        SELECT tabs.oid, tabs.nspname, tabs.relname,
               pg_catalog.has_schema_privilege(tabs.nspname, 'USAGE')
                   AND pg_catalog.has_table_privilege(tabs.oid, 'SELECT') AS readable,
               -- depth 1: the key names the person
               ARRAY(SELECT d1.x_is_person FROM d1 WHERE d1.conrelid OPERATOR(pg_catalog.=) tabs.oid ORDER BY d1.oid) AS d1_conds,
               -- depth 2: the key names a depth-1 row: EXISTS over that row's table
               ARRAY(SELECT pg_catalog.format('EXISTS (SELECT FROM %I.%I y WHERE %s AND %s)',
                                              pn.nspname, pc.relname, d1.y_is_person, fk.xy)
                     FROM fk JOIN d1 ON d1.conrelid OPERATOR(pg_catalog.=) fk.confrelid
                     JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) d1.conrelid
                     JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) pc.relnamespace
                     WHERE fk.conrelid OPERATOR(pg_catalog.=) tabs.oid
                       AND fk.confrelid OPERATOR(pg_catalog.<>) '@extschema@.contacts'::pg_catalog.regclass
                       AND pg_catalog.has_schema_privilege(pn.nspname, 'USAGE') AND pg_catalog.has_table_privilege(d1.conrelid, 'SELECT')
                     ORDER BY fk.oid, d1.oid) AS d2_conds,
               (SELECT a.attname FROM pg_catalog.pg_attribute a
                WHERE a.attrelid OPERATOR(pg_catalog.=) tabs.oid AND a.attname OPERATOR(pg_catalog.=) 'email' AND NOT a.attisdropped AND a.attnum OPERATOR(pg_catalog.>) 0) AS email_col,
               (SELECT a.attname FROM pg_catalog.pg_attribute a
                WHERE a.attrelid OPERATOR(pg_catalog.=) tabs.oid AND a.attname OPERATOR(pg_catalog.=) 'phone' AND NOT a.attisdropped AND a.attnum OPERATOR(pg_catalog.>) 0) AS phone_col,
               (SELECT a.attname FROM pg_catalog.pg_attribute a
                WHERE a.attrelid OPERATOR(pg_catalog.=) tabs.oid AND a.attname OPERATOR(pg_catalog.=) 'country' AND NOT a.attisdropped AND a.attnum OPERATOR(pg_catalog.>) 0) AS country_col
        FROM tabs
        ORDER BY tabs.nspname, tabs.relname
    LOOP
        conds := t.d1_conds OPERATOR(pg_catalog.||) t.d2_conds;
        IF t.email_col IS NOT NULL AND person_email IS NOT NULL THEN
            conds := conds OPERATOR(pg_catalog.||) pg_catalog.format(
                '@extschema@.normalize_email(x.%I::text) OPERATOR(pg_catalog.=) $2', t.email_col);
        END IF;
        IF t.phone_col IS NOT NULL AND person_phone IS NOT NULL THEN
            IF t.country_col IS NOT NULL THEN
                -- the row's own country, else the contact's: two conditions, so that the first
                -- can use an index on normalize_phone(phone, country) (crm.contacts has one)
                conds := conds OPERATOR(pg_catalog.||) ARRAY[
                    pg_catalog.format('x.%I IS NOT NULL AND @extschema@.normalize_phone(x.%I::text, x.%I::text) OPERATOR(pg_catalog.=) $3',
                                      t.country_col, t.phone_col, t.country_col),
                    pg_catalog.format('x.%I IS NULL AND @extschema@.normalize_phone(x.%I::text, $4) OPERATOR(pg_catalog.=) $3',
                                      t.country_col, t.phone_col)];
            ELSE
                conds := conds OPERATOR(pg_catalog.||) pg_catalog.format(
                    '@extschema@.normalize_phone(x.%I::text, $4) OPERATOR(pg_catalog.=) $3', t.phone_col);
            END IF;
        END IF;
        CONTINUE WHEN pg_catalog.cardinality(conds) OPERATOR(pg_catalog.=) 0;
        IF NOT t.readable THEN
            not_readable := not_readable OPERATOR(pg_catalog.||) pg_catalog.format('%I.%I', t.nspname, t.relname);
            CONTINUE;
        END IF;
        -- One branch per condition, each row in the first branch whose condition it meets (the
        -- later ones exclude the earlier conditions): the rows of "c1 OR c2 OR ...", each once,
        -- but every branch can use its own index (an OR of conditions on different columns or
        -- tables is a sequential scan).
        branches := '{}';
        FOR i IN 1 .. pg_catalog.cardinality(conds) LOOP
            cond := '(' OPERATOR(pg_catalog.||) conds[i] OPERATOR(pg_catalog.||) ')';
            IF i OPERATOR(pg_catalog.>) 1 THEN
                cond := cond OPERATOR(pg_catalog.||) ' AND NOT coalesce((' OPERATOR(pg_catalog.||)
                        pg_catalog.array_to_string(conds[1:i OPERATOR(pg_catalog.-) 1], ') OR (') OPERATOR(pg_catalog.||) '), false)';
            END IF;
            IF t.oid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass THEN
                -- the person's own row is the document's "contact"; other contacts sharing an address stay
                cond := cond OPERATOR(pg_catalog.||) ' AND x.contact_id OPERATOR(pg_catalog.<>) $1';
            END IF;
            branches := branches OPERATOR(pg_catalog.||) pg_catalog.format(
                'SELECT pg_catalog.to_jsonb(x) AS r FROM %I.%I x WHERE %s', t.nspname, t.relname, cond);
        END LOOP;
        EXECUTE pg_catalog.format('SELECT pg_catalog.jsonb_agg(r ORDER BY r) FROM (%s) s',
                                  pg_catalog.array_to_string(branches, ' UNION ALL '))
        INTO rows USING export_person.contact_id, person_email, person_phone, person_country;
        IF rows IS NOT NULL THEN
            tables := tables OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(pg_catalog.format('%I.%I', t.nspname, t.relname), rows);
        END IF;
    END LOOP;

    SELECT pg_catalog.jsonb_object_agg(p.purpose, @extschema@.has_consent(export_person.contact_id, p.purpose, pg_catalog.now()))
    INTO consent
    FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::@extschema@.consent_purpose)) AS p(purpose);

    RETURN pg_catalog.jsonb_build_object(
        'contact_id', export_person.contact_id,
        'exported_at', pg_catalog.now(),
        'exported_by', current_user,
        'contact', person,
        'consent_now', consent,
        'tables', tables,
        'not_readable', pg_catalog.to_jsonb(not_readable));
END
$$;
