-- src/merge.sql: merging duplicate contacts and undoing a merge (docs/data_quality.md, "Merge and
-- unmerge"). crm.merge_contacts re-points every row that references a merged contact (found from
-- the catalog's foreign keys, so users' own tables are covered), resolves unique conflicts,
-- chooses the survivor's field values by the rules in crm.merge_survivorship, keeps derived state
-- exact, and logs before-images in crm.merge_rows; crm.unmerge restores them. A new capability:
-- the upgrade creates this part as the install does (upgrade/0.1--0.2/s4-merge.parts).

-- ---------------------------------------------------------------------------------------------
-- The catalog's foreign keys to crm.contacts
CREATE FUNCTION @extschema@.contact_references()
RETURNS TABLE (table_oid oid, schema_name name, table_name name, column_name name, constraint_name name)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT con.conrelid, n.nspname, cl.relname, a.attname, con.conname
    FROM pg_catalog.pg_constraint con
    JOIN pg_catalog.pg_class cl ON cl.oid OPERATOR(pg_catalog.=) con.conrelid
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) cl.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) con.conrelid
                                  AND a.attnum OPERATOR(pg_catalog.=) con.conkey[1]
    JOIN pg_catalog.pg_attribute fa ON fa.attrelid OPERATOR(pg_catalog.=) con.confrelid
                                   AND fa.attnum OPERATOR(pg_catalog.=) con.confkey[1]
    WHERE con.contype OPERATOR(pg_catalog.=) 'f'
      AND con.confrelid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass
      AND pg_catalog.cardinality(con.conkey) OPERATOR(pg_catalog.=) 1
      AND fa.attname OPERATOR(pg_catalog.=) 'contact_id'
      AND con.conparentid OPERATOR(pg_catalog.=) 0
      AND NOT cl.relispartition
    ORDER BY n.nspname, cl.relname, a.attname
$$;
COMMENT ON FUNCTION @extschema@.contact_references() IS
    'Every single-column foreign key to crm.contacts(contact_id), in any schema (users'' own tables too), from the catalog: the table, its column and the constraint. Partitions are left out (their partitioned table is listed).';
REVOKE EXECUTE ON FUNCTION @extschema@.contact_references() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.contact_references() TO crm_admin;

-- ---------------------------------------------------------------------------------------------
-- Tables: the survivorship rules (configuration), the merges, their before-images
CREATE TABLE @extschema@.merge_survivorship (
    column_name  text PRIMARY KEY
                 CONSTRAINT merge_survivorship_column_not_managed
                 CHECK (column_name NOT IN ('contact_id', 'created_at', 'updated_at', 'marketing_consent',
                                            'consent_at', 'consent_source')),
    rule         text NOT NULL CONSTRAINT merge_survivorship_rule_valid
                 CHECK (rule IN ('survivor', 'non_empty', 'most_recent'))
);
COMMENT ON TABLE @extschema@.merge_survivorship IS
    'How crm.merge_contacts chooses each field of the surviving contact: survivor (its own value), non_empty (its own unless NULL or blank, else the most recently updated duplicate''s non-blank value), most_recent (the non-NULL value of the most recently updated of the merged contacts). Columns without a row here follow the built-in defaults: non_empty for first_name, last_name, email, phone, title, country and account_id, most_recent for lifecycle_stage, survivor for the rest. Written by admins.';

CREATE TABLE @extschema@.merges (
    merge_id       bigserial PRIMARY KEY,
    survivor_id    bigint NOT NULL,
    duplicate_ids  bigint[] NOT NULL,
    state          text NOT NULL DEFAULT 'pending'
                   CONSTRAINT merges_state_valid CHECK (state IN ('pending', 'merged', 'unmerge_requested', 'unmerged')),
    merged_at      timestamptz NOT NULL DEFAULT now(),
    merged_by      name NOT NULL DEFAULT current_user,
    unmerged_at    timestamptz,
    unmerged_by    name
);
CREATE INDEX merges_survivor_idx ON @extschema@.merges (survivor_id);
COMMENT ON TABLE @extschema@.merges IS
    'One row per merge of contacts (crm.merge_contacts): the survivor, the merged duplicates (deleted by the merge), who merged and when, and whether it was undone (crm.unmerge). No foreign keys to crm.contacts: the merged contacts no longer exist.';

CREATE TABLE @extschema@.merge_rows (
    row_id    bigserial PRIMARY KEY,
    -- the merge (crm.merges); no foreign key: a check per logged row would cost as much as the
    -- re-pointing's own (only the merge functions write here)
    merge_id  bigint NOT NULL,
    relation  text NOT NULL,
    action    text NOT NULL CONSTRAINT merge_rows_action_valid
              CHECK (action IN ('update', 'repoint', 'delete', 'insert', 'recompute')),
    key       jsonb NOT NULL,
    before    jsonb,
    after     jsonb
);
CREATE INDEX merge_rows_merge_idx ON @extschema@.merge_rows (merge_id, relation);
COMMENT ON TABLE @extschema@.merge_rows IS
    'What each merge changed, row by row: the table (schema-qualified), the action (update: the survivor''s fields; repoint: a row now referencing the survivor; delete: a merged contact, a row lost to a unique conflict or derived state of a merged contact; insert: derived state added; recompute: a snapshot recomputed), the row''s primary key, and its images before and after. crm.unmerge restores from it.';

-- ---------------------------------------------------------------------------------------------
-- Whether the current user may edit every one of these contacts (row-level security decides:
-- FOR UPDATE applies the UPDATE policies); the rows are locked in contact_id order.
CREATE FUNCTION @extschema@.merge_may_edit(ids bigint[]) RETURNS boolean
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.count(*) OPERATOR(pg_catalog.=)
           (SELECT pg_catalog.count(DISTINCT i) FROM pg_catalog.unnest(ids) i)
    FROM (SELECT c.contact_id FROM @extschema@.contacts c
          WHERE c.contact_id OPERATOR(pg_catalog.=) ANY (ids)
          ORDER BY c.contact_id FOR UPDATE) s
$$;
COMMENT ON FUNCTION @extschema@.merge_may_edit(bigint[]) IS
    'True when the current user may update every given contact (under its own row-level security); locks them in contact_id order. Used by crm.merge_contacts, crm.unmerge and the policies of crm.merges.';
REVOKE EXECUTE ON FUNCTION @extschema@.merge_may_edit(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.merge_may_edit(bigint[]) TO crm_admin, crm_manager, crm_sales;

-- The primary key of a table: its columns, a jsonb expression building the key from alias x, and
-- a join condition of alias x with the key of merge_rows alias m.
CREATE FUNCTION @extschema@.merge_table_key(rel oid, OUT cols text[], OUT key_expr text, OUT key_join text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.n),
           'pg_catalog.jsonb_build_object(' OPERATOR(pg_catalog.||)
               pg_catalog.string_agg(pg_catalog.format('%L, x.%I', a.attname, a.attname), ', ' ORDER BY k.n)
               OPERATOR(pg_catalog.||) ')',
           pg_catalog.string_agg(pg_catalog.format('x.%I OPERATOR(pg_catalog.=) (m.key OPERATOR(pg_catalog.->>) %L)::%s',
                                                   a.attname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)),
                                 ' AND ' ORDER BY k.n)
    INTO cols, key_expr, key_join
    FROM pg_catalog.pg_index i
    CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY k(att, n)
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) k.att
    WHERE i.indrelid OPERATOR(pg_catalog.=) rel AND i.indisprimary;
    IF cols IS NULL THEN
        RAISE EXCEPTION 'table % references crm.contacts but has no primary key', rel::pg_catalog.regclass
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A merge logs every re-pointed row by its primary key, so that crm.unmerge can restore it.',
                  HINT = 'Add a primary key to the table.';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.merge_table_key(oid) IS
    'Internal: the primary key columns of a table, an expression building the key as jsonb from alias x, and the condition joining alias x to the key of crm.merge_rows alias m (55000 without a primary key).';
REVOKE EXECUTE ON FUNCTION @extschema@.merge_table_key(oid) FROM PUBLIC;

-- The columns of a table that can be written (not dropped, not generated), as a list of
-- identifiers and the same prefixed by an alias.
CREATE FUNCTION @extschema@.merge_table_columns(rel oid, alias text, OUT plain text, OUT qualified text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
           pg_catalog.string_agg(pg_catalog.format('%I.%I', alias, a.attname), ', ' ORDER BY a.attnum)
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0
      AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) ''
$$;
COMMENT ON FUNCTION @extschema@.merge_table_columns(oid, text) IS
    'Internal: the writable columns of a table, quoted, plain and prefixed by alias.';
REVOKE EXECUTE ON FUNCTION @extschema@.merge_table_columns(oid, text) FROM PUBLIC;

-- An expression building a jsonb object from names and value expressions (jsonb_build_object
-- takes at most 100 arguments: objects of 50 pairs are concatenated).
CREATE FUNCTION @extschema@.merge_jsonb_expr(names text[], exprs text[]) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.string_agg('pg_catalog.jsonb_build_object(' OPERATOR(pg_catalog.||) p OPERATOR(pg_catalog.||) ')',
                                 ' OPERATOR(pg_catalog.||) ' ORDER BY chunk)
    FROM (SELECT (i.n OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog./) 50 AS chunk,
                 pg_catalog.string_agg(pg_catalog.format('%L, %s', i.name, i.expr), ', ' ORDER BY i.n) AS p
          FROM ROWS FROM (pg_catalog.unnest(names), pg_catalog.unnest(exprs)) WITH ORDINALITY i(name, expr, n)
          GROUP BY 1) c
$$;
COMMENT ON FUNCTION @extschema@.merge_jsonb_expr(text[], text[]) IS
    'Internal: an SQL expression building a jsonb object of the given names and value expressions (any number of them).';
REVOKE EXECUTE ON FUNCTION @extschema@.merge_jsonb_expr(text[], text[]) FROM PUBLIC;

-- The hash of a row of a table (alias x) a merge re-pointed (64 bits); the digest of the rows is
-- the sum of their hashes (in any order). Columns of types whose hash is their value's
-- (and so the same after a dump and restore) enter as they are; others (an enum hashes its OID;
-- a type may have no hash) by their text.
CREATE FUNCTION @extschema@.merge_digest_expr(rel oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'pg_catalog.hash_record_extended(ROW('
           OPERATOR(pg_catalog.||)
           pg_catalog.string_agg(
               CASE WHEN coalesce(nullif(t.typelem, 0::oid), a.atttypid) IN (
                             'int2'::pg_catalog.regtype, 'int4'::pg_catalog.regtype, 'int8'::pg_catalog.regtype,
                             'numeric'::pg_catalog.regtype, 'float4'::pg_catalog.regtype, 'float8'::pg_catalog.regtype,
                             'bool'::pg_catalog.regtype, 'text'::pg_catalog.regtype, 'varchar'::pg_catalog.regtype,
                             'bpchar'::pg_catalog.regtype, 'date'::pg_catalog.regtype, 'timestamp'::pg_catalog.regtype,
                             'timestamptz'::pg_catalog.regtype, 'time'::pg_catalog.regtype, 'interval'::pg_catalog.regtype,
                             'uuid'::pg_catalog.regtype, 'jsonb'::pg_catalog.regtype, 'bytea'::pg_catalog.regtype)
                         AND (t.typelem OPERATOR(pg_catalog.=) 0::oid OR t.typcategory OPERATOR(pg_catalog.=) 'A')
                    THEN pg_catalog.format('x.%I', a.attname)
                    ELSE pg_catalog.format('x.%I::text', a.attname) END,
               ', ' ORDER BY a.attnum)
           OPERATOR(pg_catalog.||) '), 0)'
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
    WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
$$;
COMMENT ON FUNCTION @extschema@.merge_digest_expr(oid) IS
    'Internal: the expression hashing (64 bits) a row of a table (alias x) that a merge re-pointed; their digest is the sum of the hashes.';
REVOKE EXECUTE ON FUNCTION @extschema@.merge_digest_expr(oid) FROM PUBLIC;

-- The number and the digest of the rows of a table that the crm.merge_rows row $1 (a
-- re-pointing) lists by their keys: a query.
CREATE FUNCTION @extschema@.merge_digest_query(rel oid) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k record;
BEGIN
    k := @extschema@.merge_table_key(rel);
    RETURN pg_catalog.format(
        'SELECT pg_catalog.count(*), pg_catalog.sum(%s::numeric)::text FROM %s x
         WHERE (%s) IN (SELECT %s FROM @extschema@.merge_rows m CROSS JOIN LATERAL ROWS FROM (%s) e(%s)
                        WHERE m.row_id OPERATOR(pg_catalog.=) $1)',
        @extschema@.merge_digest_expr(rel), rel::pg_catalog.regclass,
        (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I', o.c), ', ' ORDER BY o.n)
         FROM pg_catalog.unnest(k.cols) WITH ORDINALITY o(c, n)),
        (SELECT pg_catalog.string_agg(pg_catalog.format('(e.k%s OPERATOR(pg_catalog.#>>) ''{}'')::%s', o.n,
                                                        pg_catalog.format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY o.n)
         FROM pg_catalog.unnest(k.cols) WITH ORDINALITY o(c, n)
         JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) rel AND a.attname OPERATOR(pg_catalog.=) o.c),
        (SELECT pg_catalog.string_agg(pg_catalog.format('pg_catalog.jsonb_array_elements(m.key OPERATOR(pg_catalog.->) %L)', o.c), ', ' ORDER BY o.n)
         FROM pg_catalog.unnest(k.cols) WITH ORDINALITY o(c, n)),
        (SELECT pg_catalog.string_agg(pg_catalog.format('k%s', o.n), ', ' ORDER BY o.n)
         FROM pg_catalog.unnest(k.cols) WITH ORDINALITY o(c, n)));
END
$$;
COMMENT ON FUNCTION @extschema@.merge_digest_query(oid) IS
    'Internal: the query counting and digesting (crm.merge_digest_expr) the rows of a table listed by the keys of a crm.merge_rows row (a re-pointing), run with its row_id as $1.';
REVOKE EXECUTE ON FUNCTION @extschema@.merge_digest_query(oid) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- The merge itself, with the owner's rights: it re-points rows of tables the caller may not even
-- read. It acts only on a merge the current transaction has just requested (a crm.merges row
-- the caller inserted, which the row-level security of crm.merges let them insert only for
-- contacts they may edit).
CREATE FUNCTION @extschema@.merge_apply(merge_id bigint) RETURNS SETOF @extschema@.merge_rows
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
    mid bigint := merge_apply.merge_id;
    s bigint;
    d bigint[];
    ids bigint[];
    r record;
    ix record;
    rel text;
    contacts_rel text;
    k record;
    others text[];
    derived oid[] := ARRAY['@extschema@.rfm_history'::pg_catalog.regclass, '@extschema@.segment_members'::pg_catalog.regclass,
                           '@extschema@.segment_membership_history'::pg_catalog.regclass,
                           '@extschema@.duplicate_candidates'::pg_catalog.regclass]::oid[];
    surv jsonb;
    imgs jsonb[];
    newimg jsonb;
    col record;
    v jsonb;
    latest record;
    c record;
    seg record;
    matches boolean;
    is_member boolean;
    at timestamptz;
    -- tables logged with whole before-images (crm.leads: rescored after the re-pointing)
    whole oid[] := ARRAY['@extschema@.leads'::pg_catalog.regclass]::oid[];
    rerun oid[] := '{}';
    rerun_detail text;
    touch boolean;
    other_trigger boolean;
    compact boolean;
    logged text[];
    rb record;
    nrows bigint;
    dig text;
    logged_row bigint;
    tids tid[];
    all_tids tid[];
    tid_rows bigint[];
    tid_ends int[];
    tid_digests text[];
    tid_changes bigint[];
    changes bigint;
BEGIN
    SELECT g.*, g.xmin AS row_xmin INTO m FROM @extschema@.merges g WHERE g.merge_id OPERATOR(pg_catalog.=) mid;
    IF NOT FOUND OR m.state OPERATOR(pg_catalog.<>) 'pending' OR NOT @extschema@.xid_is_current(m.row_xmin) THEN
        RAISE EXCEPTION 'merge_apply applies only a merge requested by the current transaction'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call crm.merge_contacts().';
    END IF;
    s := m.survivor_id;
    d := m.duplicate_ids;
    ids := ARRAY[s] OPERATOR(pg_catalog.||) d;
    SELECT pg_catalog.format('%I.%I', n.nspname, cl.relname) INTO contacts_rel
    FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) cl.relnamespace
    WHERE cl.oid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass;

    -- The work, in a subtransaction: rerun with whole before-images for a table whose compactly
    -- logged rows a later statement changed (step 6).
    LOOP
        BEGIN
            all_tids := '{}'; tid_rows := '{}'; tid_ends := '{}'; tid_digests := '{}'; tid_changes := '{}';
            -- 1. The contacts, locked in contact_id order (the caller holds the locks already), and their images.
            PERFORM FROM (SELECT ct.contact_id FROM @extschema@.contacts ct WHERE ct.contact_id OPERATOR(pg_catalog.=) ANY (ids)
                          ORDER BY ct.contact_id FOR UPDATE) x;
            INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key, before)
            SELECT mid, contacts_rel, CASE WHEN ct.contact_id OPERATOR(pg_catalog.=) s THEN 'update' ELSE 'delete' END,
                   pg_catalog.jsonb_build_object('contact_id', ct.contact_id), pg_catalog.to_jsonb(ct)
            FROM @extschema@.contacts ct WHERE ct.contact_id OPERATOR(pg_catalog.=) ANY (ids)
            ORDER BY pg_catalog.array_position(ids, ct.contact_id);
            IF (SELECT pg_catalog.count(*) FROM @extschema@.merge_rows x WHERE x.merge_id OPERATOR(pg_catalog.=) mid)
               OPERATOR(pg_catalog.<>) pg_catalog.cardinality(ids) THEN
                RAISE EXCEPTION 'a contact to merge does not exist' USING ERRCODE = 'invalid_parameter_value';
            END IF;

            -- 2. Every row referencing a duplicate: derived state of the duplicates is deleted (and
            -- recomputed below); other rows lose a unique conflict (deleted) or are re-pointed.
            FOR r IN SELECT * FROM @extschema@.contact_references() LOOP
                rel := pg_catalog.format('%I.%I', r.schema_name, r.table_name);
                k := @extschema@.merge_table_key(r.table_oid);
                IF r.table_oid OPERATOR(pg_catalog.=) ANY (derived) THEN
                    EXECUTE pg_catalog.format(
                        'WITH del AS (DELETE FROM %s x WHERE x.%I OPERATOR(pg_catalog.=) ANY ($1) RETURNING %s AS key, pg_catalog.to_jsonb(x) AS img)
                         INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key, before)
                         SELECT $2, $3, ''delete'', del.key, del.img FROM del', rel, r.column_name, k.key_expr)
                    USING d, mid, rel;
                    CONTINUE;
                END IF;
                -- unique keys that include the column (whole columns, no predicate): the survivor's row
                -- is kept, then the first duplicate's (in the order given); the others are deleted
                FOR ix IN
                    SELECT i.indexrelid, i.indnullsnotdistinct,
                           ARRAY(SELECT a.attname::text FROM pg_catalog.unnest(i.indkey::int2[]) u(att)
                                 JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
                                                               AND a.attnum OPERATOR(pg_catalog.=) u.att
                                 WHERE a.attname OPERATOR(pg_catalog.<>) r.column_name) AS other_cols
                    FROM pg_catalog.pg_index i
                    WHERE i.indrelid OPERATOR(pg_catalog.=) r.table_oid AND i.indisunique AND i.indexprs IS NULL
                      AND i.indpred IS NULL
                      AND (SELECT a.attnum FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) r.table_oid
                           AND a.attname OPERATOR(pg_catalog.=) r.column_name) OPERATOR(pg_catalog.=) ANY (i.indkey::int2[])
                    ORDER BY i.indexrelid
                LOOP
                    EXECUTE pg_catalog.format(
                        'WITH ranked AS (
                             SELECT x.ctid AS t, pg_catalog.row_number() OVER (%s ORDER BY pg_catalog.array_position($1, x.%I), x.ctid) AS n
                             FROM %s x WHERE x.%I OPERATOR(pg_catalog.=) ANY ($1) %s),
                         del AS (DELETE FROM %s x USING ranked WHERE x.ctid OPERATOR(pg_catalog.=) ranked.t
                                 AND ranked.n OPERATOR(pg_catalog.>) 1 AND x.%I OPERATOR(pg_catalog.<>) $4
                                 RETURNING %s AS key, pg_catalog.to_jsonb(x) AS img)
                         INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key, before)
                         SELECT $2, $3, ''delete'', del.key, del.img FROM del',
                        CASE WHEN pg_catalog.cardinality(ix.other_cols) OPERATOR(pg_catalog.>) 0
                             THEN 'PARTITION BY ' OPERATOR(pg_catalog.||)
                                  (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I', o), ', ') FROM pg_catalog.unnest(ix.other_cols) o)
                             ELSE '' END,
                        r.column_name, rel, r.column_name,
                        CASE WHEN ix.indnullsnotdistinct THEN ''
                             ELSE coalesce((SELECT pg_catalog.string_agg(pg_catalog.format(' AND x.%I IS NOT NULL', o), '')
                                            FROM pg_catalog.unnest(ix.other_cols) o), '') END,
                        rel, r.column_name, k.key_expr)
                    USING ids, mid, rel, s;
                END LOOP;
                -- one statement per table: lock the rows, re-point them, and log them in ONE row of
                -- crm.merge_rows: their keys and, aligned, the values before the merge of the
                -- columns it changes, as jsonb arrays per column. The re-pointing changes the
                -- contact column, and a BEFORE trigger may change more: crm.touch_updated_at only
                -- updated_at (src/schema.c); any other BEFORE UPDATE row trigger, or a table whose
                -- rows a later trigger rewrites (crm.leads: rescored), gets every column logged
                -- ("whole"). The new versions' ctids are kept until step 6, which proves that no
                -- later statement changed the rows logged in part (else the merge reruns with that
                -- table whole).
                SELECT pg_catalog.bool_or(t.tgfoid OPERATOR(pg_catalog.=) '@extschema@.touch_updated_at'::pg_catalog.regproc),
                       pg_catalog.bool_or(t.tgfoid OPERATOR(pg_catalog.<>) '@extschema@.touch_updated_at'::pg_catalog.regproc)
                INTO touch, other_trigger
                FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid OPERATOR(pg_catalog.=) r.table_oid AND NOT t.tgisinternal
                  AND (t.tgtype::int OPERATOR(pg_catalog.&) 19) OPERATOR(pg_catalog.=) 19;  -- ROW (1) | BEFORE (2) | UPDATE (16)
                -- (a partitioned table too: ctids are per partition)
                compact := NOT (coalesce(other_trigger, false) OR r.table_oid OPERATOR(pg_catalog.=) ANY (whole)
                                OR (SELECT cl.relkind FROM pg_catalog.pg_class cl
                                    WHERE cl.oid OPERATOR(pg_catalog.=) r.table_oid) OPERATOR(pg_catalog.=) 'p');
                IF compact THEN
                    logged := ARRAY[r.column_name::text];
                    IF coalesce(touch, false) AND r.column_name OPERATOR(pg_catalog.<>) 'updated_at' THEN
                        logged := logged OPERATOR(pg_catalog.||) 'updated_at'::text;
                    END IF;
                ELSE
                    -- (not generated columns nor GENERATED ALWAYS identities: an UPDATE cannot set them)
                    logged := ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                                    WHERE a.attrelid OPERATOR(pg_catalog.=) r.table_oid AND a.attnum OPERATOR(pg_catalog.>) 0
                                      AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) ''
                                      AND a.attidentity OPERATOR(pg_catalog.<>) 'a' ORDER BY a.attnum);
                END IF;
                -- lock and log the rows (in key order) ...
                EXECUTE pg_catalog.format(
                    'INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key, before, after)
                     SELECT $2, $3, ''repoint'', %s, %s, pg_catalog.jsonb_build_object(''rows'', pg_catalog.count(*), ''compact'', $4)
                     FROM (SELECT %s, %s FROM %s x WHERE x.%I OPERATOR(pg_catalog.=) ANY ($1) ORDER BY %s FOR UPDATE OF x) u
                     HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0
                     RETURNING row_id',
                    @extschema@.merge_jsonb_expr(k.cols, ARRAY(SELECT pg_catalog.format('pg_catalog.jsonb_agg(u.k%s)', o.n)
                                                               FROM pg_catalog.unnest(k.cols) WITH ORDINALITY o(c, n) ORDER BY o.n)),
                    @extschema@.merge_jsonb_expr(logged, ARRAY(SELECT pg_catalog.format('pg_catalog.jsonb_agg(u.v%s)', o.n)
                                                               FROM pg_catalog.unnest(logged) WITH ORDINALITY o(c, n) ORDER BY o.n)),
                    -- (the key as it will be: it may contain the contact column)
                    (SELECT pg_catalog.string_agg(CASE WHEN o.c OPERATOR(pg_catalog.=) r.column_name::text
                                                       THEN pg_catalog.format('$5 AS k%s', o.n)
                                                       ELSE pg_catalog.format('x.%I AS k%s', o.c, o.n) END, ', ' ORDER BY o.n)
                     FROM pg_catalog.unnest(k.cols) WITH ORDINALITY o(c, n)),
                    (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I AS v%s', o.c, o.n), ', ' ORDER BY o.n)
                     FROM pg_catalog.unnest(logged) WITH ORDINALITY o(c, n)),
                    rel, r.column_name,
                    (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I', o.c), ', ' ORDER BY o.n)
                     FROM pg_catalog.unnest(k.cols) WITH ORDINALITY o(c, n)))
                INTO logged_row USING d, mid, rel, compact, s;
                CONTINUE WHEN logged_row IS NULL;
                -- ... then re-point them (the same rows: they are locked, and no row can start
                -- referencing a duplicate while the contacts are locked), keeping the new
                -- versions' ctids and the digest of the rows as the statement leaves them, and
                -- this transaction's count of the table's updated and deleted rows
                -- (pg_stat_get_xact_tuples_*: every row this backend updates or deletes; other
                -- transactions cannot change the locked rows) as it should be after it.
                changes := pg_catalog.pg_stat_get_xact_tuples_updated(r.table_oid)
                           OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_xact_tuples_deleted(r.table_oid);
                EXECUTE pg_catalog.format(
                    'WITH u AS (UPDATE %s x SET %I = $2 WHERE x.%I OPERATOR(pg_catalog.=) ANY ($1) RETURNING x.ctid AS t, %s AS h)
                     SELECT pg_catalog.count(*), pg_catalog.array_agg(u.t), pg_catalog.sum(u.h::numeric)::text FROM u',
                    rel, r.column_name, r.column_name, @extschema@.merge_digest_expr(r.table_oid))
                INTO nrows, tids, dig USING d, s;
                IF nrows OPERATOR(pg_catalog.<>) (SELECT (x.after OPERATOR(pg_catalog.->>) 'rows')::bigint FROM @extschema@.merge_rows x
                                                  WHERE x.row_id OPERATOR(pg_catalog.=) logged_row) THEN
                    RAISE EXCEPTION 'the rows of % referencing the contacts to merge changed during the merge', rel
                        USING ERRCODE = 'serialization_failure', HINT = 'Retry the merge.';
                END IF;
                tid_rows := tid_rows OPERATOR(pg_catalog.||) logged_row;
                tid_ends := tid_ends OPERATOR(pg_catalog.||) (pg_catalog.cardinality(all_tids) OPERATOR(pg_catalog.+) pg_catalog.cardinality(tids));
                all_tids := all_tids OPERATOR(pg_catalog.||) tids;
                tid_digests := tid_digests OPERATOR(pg_catalog.||) dig;
                tid_changes := tid_changes OPERATOR(pg_catalog.||) (changes OPERATOR(pg_catalog.+) nrows);
            END LOOP;

            -- 3. The duplicates go (nothing references them any more).
            DELETE FROM @extschema@.contacts ct WHERE ct.contact_id OPERATOR(pg_catalog.=) ANY (d);

            -- 4. The survivor's fields, by the survivorship rules; the images of the duplicates, the most
            -- recently updated first (ties: in the order given).
            SELECT x.before INTO surv FROM @extschema@.merge_rows x
            WHERE x.merge_id OPERATOR(pg_catalog.=) mid AND x.relation OPERATOR(pg_catalog.=) contacts_rel AND x.action OPERATOR(pg_catalog.=) 'update';
            imgs := ARRAY(SELECT x.before FROM @extschema@.merge_rows x
                          WHERE x.merge_id OPERATOR(pg_catalog.=) mid AND x.relation OPERATOR(pg_catalog.=) contacts_rel
                            AND x.action OPERATOR(pg_catalog.=) 'delete'
                          ORDER BY (x.before OPERATOR(pg_catalog.->>) 'updated_at')::timestamptz DESC, x.row_id);
            newimg := surv;
            FOR col IN
                SELECT a.attname::text AS name,
                       coalesce(ms.rule, CASE WHEN a.attname IN ('first_name', 'last_name', 'email', 'phone', 'title', 'country', 'account_id')
                                              THEN 'non_empty'
                                              WHEN a.attname OPERATOR(pg_catalog.=) 'lifecycle_stage' THEN 'most_recent'
                                              ELSE 'survivor' END) AS rule
                FROM pg_catalog.pg_attribute a
                LEFT JOIN @extschema@.merge_survivorship ms ON ms.column_name OPERATOR(pg_catalog.=) a.attname::text
                WHERE a.attrelid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass
                  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) ''
                  AND a.attname NOT IN ('contact_id', 'created_at', 'updated_at', 'marketing_consent', 'consent_at', 'consent_source')
                ORDER BY a.attnum
            LOOP
                IF col.rule OPERATOR(pg_catalog.=) 'non_empty'
                   AND coalesce(pg_catalog.btrim(surv OPERATOR(pg_catalog.->>) col.name), '') OPERATOR(pg_catalog.=) '' THEN
                    SELECT i.img OPERATOR(pg_catalog.->) col.name INTO v
                    FROM pg_catalog.unnest(imgs) WITH ORDINALITY i(img, n)
                    WHERE coalesce(pg_catalog.btrim(i.img OPERATOR(pg_catalog.->>) col.name), '') OPERATOR(pg_catalog.<>) ''
                    ORDER BY i.n LIMIT 1;
                    IF v IS NOT NULL THEN
                        newimg := pg_catalog.jsonb_set(newimg, ARRAY[col.name], v);
                    END IF;
                ELSIF col.rule OPERATOR(pg_catalog.=) 'most_recent' THEN
                    SELECT i.img OPERATOR(pg_catalog.->) col.name INTO v
                    FROM pg_catalog.unnest(ARRAY[surv] OPERATOR(pg_catalog.||) imgs) WITH ORDINALITY i(img, n)
                    WHERE pg_catalog.jsonb_typeof(i.img OPERATOR(pg_catalog.->) col.name) OPERATOR(pg_catalog.<>) 'null'
                    ORDER BY (i.img OPERATOR(pg_catalog.->>) 'updated_at')::timestamptz DESC, i.n LIMIT 1;
                    IF v IS NOT NULL THEN
                        newimg := pg_catalog.jsonb_set(newimg, ARRAY[col.name], v);
                    END IF;
                END IF;
            END LOOP;
            -- Marketing consent follows the (now merged) consent history, as its trigger keeps it.
            SELECT h.granted, h.effective_at, h.source INTO latest
            FROM @extschema@.consent_history h
            WHERE h.contact_id OPERATOR(pg_catalog.=) s
              AND h.purpose OPERATOR(pg_catalog.=) 'marketing_email'::@extschema@.consent_purpose
              AND h.effective_at OPERATOR(pg_catalog.<=) pg_catalog.now()
            ORDER BY h.effective_at DESC, h.consent_id DESC LIMIT 1;
            IF FOUND THEN
                newimg := newimg OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('marketing_consent', latest.granted);
                IF latest.granted THEN
                    newimg := newimg OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
                        'consent_at', latest.effective_at, 'consent_source', latest.source);
                END IF;
            END IF;
            IF newimg OPERATOR(pg_catalog.<>) surv THEN
                -- the survivor's other leads, whose scores may follow its fields: their images too
                INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key, before)
                SELECT mid, pg_catalog.format('%I.leads', '@extschema@'), 'update',
                       pg_catalog.jsonb_build_object('lead_id', l.lead_id), pg_catalog.to_jsonb(l)
                FROM @extschema@.leads l
                WHERE l.contact_id OPERATOR(pg_catalog.=) s
                  AND NOT EXISTS (SELECT FROM @extschema@.merge_rows x
                                  WHERE x.merge_id OPERATOR(pg_catalog.=) mid
                                    AND x.relation OPERATOR(pg_catalog.=) pg_catalog.format('%I.leads', '@extschema@')
                                    AND (x.key OPERATOR(pg_catalog.=) pg_catalog.jsonb_build_object('lead_id', l.lead_id)
                                         OR x.key OPERATOR(pg_catalog.@>) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('lead_id', l.lead_id))))
                ORDER BY l.lead_id;
                -- only the columns that change (a trigger on marketing_consent fires on any write of it)
                SELECT pg_catalog.string_agg(pg_catalog.quote_ident(e.key), ', ' ORDER BY e.key) AS plain,
                       pg_catalog.string_agg(pg_catalog.format('r.%I', e.key), ', ' ORDER BY e.key) AS qualified
                INTO c
                FROM pg_catalog.jsonb_each(newimg) e
                WHERE e.value OPERATOR(pg_catalog.<>) (surv OPERATOR(pg_catalog.->) e.key);
                EXECUTE pg_catalog.format(
                    'UPDATE @extschema@.contacts ct SET (%s) = ROW(%s) FROM pg_catalog.jsonb_populate_record(NULL::@extschema@.contacts, $1) r
                     WHERE ct.contact_id OPERATOR(pg_catalog.=) $2', c.plain, c.qualified)
                USING newimg, s;  -- updated_at unchanged: the touch trigger stamps it
            END IF;

            -- 5. Derived state. RFM snapshots in which a duplicate was scored: recomputed whole (a
            -- customer fewer moves the quintiles of others).
            FOR at IN
                SELECT DISTINCT (x.before OPERATOR(pg_catalog.->>) 'as_of')::timestamptz
                FROM @extschema@.merge_rows x
                WHERE x.merge_id OPERATOR(pg_catalog.=) mid
                  AND x.relation OPERATOR(pg_catalog.=) pg_catalog.format('%I.rfm_history', '@extschema@')
                ORDER BY 1
            LOOP
                PERFORM @extschema@.refresh_rfm(at);
                INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key)
                VALUES (mid, pg_catalog.format('%I.rfm_history', '@extschema@'), 'recompute', pg_catalog.jsonb_build_object('as_of', at));
            END LOOP;
            -- Segments: the survivor's membership as crm.refresh_segment would find it now.
            FOR seg IN SELECT sg.segment_id FROM @extschema@.segments sg ORDER BY sg.segment_id LOOP
                EXECUTE pg_catalog.format(
                    'SELECT EXISTS (SELECT FROM @extschema@.customer_360 c WHERE c.contact_id OPERATOR(pg_catalog.=) $1 AND (%s))',
                    @extschema@.segment_condition(seg.segment_id))
                INTO matches USING s;
                is_member := EXISTS (SELECT FROM @extschema@.segment_members sm
                                     WHERE sm.segment_id OPERATOR(pg_catalog.=) seg.segment_id AND sm.contact_id OPERATOR(pg_catalog.=) s);
                IF matches AND NOT is_member THEN
                    WITH ins AS (
                        INSERT INTO @extschema@.segment_members (segment_id, contact_id, entered_at)
                        VALUES (seg.segment_id, s, pg_catalog.now()) RETURNING *)
                    INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key, after)
                    SELECT mid, pg_catalog.format('%I.segment_members', '@extschema@'), 'insert',
                           pg_catalog.jsonb_build_object('segment_id', ins.segment_id, 'contact_id', ins.contact_id), pg_catalog.to_jsonb(ins)
                    FROM ins;
                    WITH ins AS (
                        INSERT INTO @extschema@.segment_membership_history (segment_id, contact_id, entered_at)
                        VALUES (seg.segment_id, s, pg_catalog.now()) RETURNING *)
                    INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key, after)
                    SELECT mid, pg_catalog.format('%I.segment_membership_history', '@extschema@'), 'insert',
                           pg_catalog.jsonb_build_object('history_id', ins.history_id), pg_catalog.to_jsonb(ins)
                    FROM ins;
                ELSIF is_member AND NOT matches THEN
                    WITH del AS (
                        DELETE FROM @extschema@.segment_members sm
                        WHERE sm.segment_id OPERATOR(pg_catalog.=) seg.segment_id AND sm.contact_id OPERATOR(pg_catalog.=) s RETURNING *)
                    INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key, before)
                    SELECT mid, pg_catalog.format('%I.segment_members', '@extschema@'), 'delete',
                           pg_catalog.jsonb_build_object('segment_id', del.segment_id, 'contact_id', del.contact_id), pg_catalog.to_jsonb(del)
                    FROM del;
                    INSERT INTO @extschema@.merge_rows (merge_id, relation, action, key, before)
                    SELECT mid, pg_catalog.format('%I.segment_membership_history', '@extschema@'), 'update',
                           pg_catalog.jsonb_build_object('history_id', h.history_id), pg_catalog.to_jsonb(h)
                    FROM @extschema@.segment_membership_history h
                    WHERE h.segment_id OPERATOR(pg_catalog.=) seg.segment_id AND h.contact_id OPERATOR(pg_catalog.=) s AND h.left_at IS NULL;
                    UPDATE @extschema@.segment_membership_history h SET left_at = pg_catalog.now()
                    WHERE h.segment_id OPERATOR(pg_catalog.=) seg.segment_id AND h.contact_id OPERATOR(pg_catalog.=) s AND h.left_at IS NULL;
                END IF;
            END LOOP;

            -- 6. After-images, once every trigger has run: the survivor, and each updated row that a
            -- later trigger changed again (a lead rescored after its activities moved).
            FOR rel IN
                SELECT DISTINCT x.relation FROM @extschema@.merge_rows x
                WHERE x.merge_id OPERATOR(pg_catalog.=) mid AND x.action OPERATOR(pg_catalog.=) 'update' ORDER BY 1
            LOOP
                k := @extschema@.merge_table_key(rel::pg_catalog.regclass);
                EXECUTE pg_catalog.format(
                    'UPDATE @extschema@.merge_rows m SET after = pg_catalog.to_jsonb(x) FROM %s x
                     WHERE m.merge_id OPERATOR(pg_catalog.=) $1 AND m.relation OPERATOR(pg_catalog.=) $2
                       AND m.action OPERATOR(pg_catalog.=) ''update'' AND %s
                       AND m.after IS DISTINCT FROM pg_catalog.to_jsonb(x)', rel, k.key_join)
                USING mid, rel;
            END LOOP;
            -- The re-pointed rows of each table: their number and digest after the merge (crm.unmerge
            -- refuses when they differ). When this transaction updated or deleted no row of the
            -- table since the re-pointing (its count as expected), the rows are as the re-pointing
            -- left them. Otherwise (or without track_counts): rows logged in part are looked up by
            -- the ctids of the versions the re-pointing wrote; each is still visible only if no
            -- later statement changed it (an update writes a new version elsewhere; the old one's
            -- slot cannot be reused within this transaction), else the merge reruns with the
            -- table logged whole; rows logged whole are digested as they are now.
            FOR rb IN
                SELECT x.row_id, x.relation, (x.after OPERATOR(pg_catalog.->>) 'rows')::bigint AS n,
                       (x.after OPERATOR(pg_catalog.->>) 'compact')::boolean AS compact,
                       pg_catalog.array_position(tid_rows, x.row_id) AS i
                FROM @extschema@.merge_rows x
                WHERE x.merge_id OPERATOR(pg_catalog.=) mid AND x.action OPERATOR(pg_catalog.=) 'repoint' ORDER BY x.row_id
            LOOP
                IF pg_catalog.current_setting('track_counts')::boolean
                   AND pg_catalog.pg_stat_get_xact_tuples_updated(rb.relation::pg_catalog.regclass)
                       OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_xact_tuples_deleted(rb.relation::pg_catalog.regclass)
                       OPERATOR(pg_catalog.=) tid_changes[rb.i] THEN
                    nrows := rb.n;
                    dig := tid_digests[rb.i];
                ELSIF rb.compact THEN
                    EXECUTE pg_catalog.format(
                        'SELECT pg_catalog.count(*), pg_catalog.sum(%s::numeric)::text
                         FROM %s x WHERE x.ctid IN (SELECT pg_catalog.unnest($1))',
                        @extschema@.merge_digest_expr(rb.relation::pg_catalog.regclass), rb.relation)
                    INTO nrows, dig
                    USING all_tids[coalesce(tid_ends[rb.i OPERATOR(pg_catalog.-) 1], 0) OPERATOR(pg_catalog.+) 1 : tid_ends[rb.i]];
                    IF nrows OPERATOR(pg_catalog.<>) rb.n THEN
                        rerun := rerun OPERATOR(pg_catalog.||) rb.relation::pg_catalog.regclass::oid;
                        CONTINUE;
                    END IF;
                ELSE
                    EXECUTE @extschema@.merge_digest_query(rb.relation::pg_catalog.regclass) INTO nrows, dig USING rb.row_id;
                END IF;
                UPDATE @extschema@.merge_rows x SET after = pg_catalog.jsonb_build_object('rows', nrows, 'digest', dig)
                WHERE x.row_id OPERATOR(pg_catalog.=) rb.row_id;
            END LOOP;
            IF pg_catalog.cardinality(rerun) OPERATOR(pg_catalog.>) 0 THEN
                RAISE EXCEPTION 'crm.merge_apply rerun' USING ERRCODE = 'P0001', DETAIL = rerun::text;
            END IF;
            EXIT;
        EXCEPTION WHEN raise_exception THEN
            IF SQLERRM OPERATOR(pg_catalog.<>) 'crm.merge_apply rerun' THEN
                RAISE;
            END IF;
            GET STACKED DIAGNOSTICS rerun_detail = PG_EXCEPTION_DETAIL;
            whole := whole OPERATOR(pg_catalog.||) rerun_detail::oid[];
            rerun := '{}';
        END;
    END LOOP;

    UPDATE @extschema@.merges g SET state = 'merged' WHERE g.merge_id OPERATOR(pg_catalog.=) mid;
    RETURN QUERY SELECT * FROM @extschema@.merge_rows x WHERE x.merge_id OPERATOR(pg_catalog.=) mid ORDER BY x.row_id;
END
$$;
COMMENT ON FUNCTION @extschema@.merge_apply(bigint) IS
    'Internal (crm.merge_contacts): carries out a merge the current transaction requested in crm.merges, logging every change in crm.merge_rows; 42501 for any other merge.';
REVOKE EXECUTE ON FUNCTION @extschema@.merge_apply(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.merge_apply(bigint) TO crm_admin, crm_manager, crm_sales;

-- ---------------------------------------------------------------------------------------------
-- crm.merge_contacts: invoker rights; checks and locks, then requests and applies the merge.
CREATE FUNCTION @extschema@.merge_contacts(survivor bigint, duplicates bigint[], dry_run boolean DEFAULT false)
RETURNS TABLE (merge_id bigint, relation text, action text, key jsonb, before jsonb, after jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids bigint[];
    new_id bigint;
    result @extschema@.merge_rows[];
BEGIN
    IF survivor IS NULL OR duplicates IS NULL OR dry_run IS NULL THEN
        RAISE EXCEPTION 'survivor, duplicates and dry_run must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pg_catalog.array_position(duplicates, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'duplicates must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pg_catalog.cardinality(duplicates) OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION 'duplicates must name at least one contact' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_catalog.cardinality(duplicates) OPERATOR(pg_catalog.>) 1000 THEN
        RAISE EXCEPTION 'at most 1000 duplicates can be merged at once' USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF survivor OPERATOR(pg_catalog.=) ANY (duplicates)
       OR (SELECT pg_catalog.count(DISTINCT x) FROM pg_catalog.unnest(duplicates) x)
          OPERATOR(pg_catalog.<>) pg_catalog.cardinality(duplicates) THEN
        RAISE EXCEPTION 'the survivor and the duplicates must be distinct contacts' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    ids := ARRAY[survivor] OPERATOR(pg_catalog.||) duplicates;
    IF NOT @extschema@.merge_may_edit(ids) THEN
        RAISE EXCEPTION 'permission denied to merge these contacts'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A contact to merge does not exist or may not be updated by the current user.';
    END IF;
    -- A loyalty member's ledger refers to its membership by (program, contact): merging
    -- memberships (balances, lots, tiers) is not built, so a merge that would move one refuses
    -- here rather than on the ledger's foreign key.
    IF EXISTS (SELECT FROM @extschema@.loyalty_members m WHERE m.contact_id OPERATOR(pg_catalog.=) ANY (duplicates)) THEN
        RAISE EXCEPTION 'contact % is a loyalty member: merging loyalty memberships is not supported yet',
            (SELECT pg_catalog.min(m.contact_id) FROM @extschema@.loyalty_members m
             WHERE m.contact_id OPERATOR(pg_catalog.=) ANY (duplicates))
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Make the member the survivor, or redeem or expire the duplicate''s points and remove its membership first.';
    END IF;
    IF dry_run THEN
        BEGIN
            INSERT INTO @extschema@.merges (survivor_id, duplicate_ids) VALUES (survivor, duplicates)
            RETURNING merges.merge_id INTO new_id;
            result := ARRAY(SELECT x FROM @extschema@.merge_apply(new_id) x);
            RAISE EXCEPTION 'crm.merge_contacts dry run' USING ERRCODE = 'P0001';
        EXCEPTION WHEN raise_exception THEN
            IF SQLERRM OPERATOR(pg_catalog.<>) 'crm.merge_contacts dry run' THEN
                RAISE;
            END IF;
        END;
        RETURN QUERY SELECT NULL::bigint, x.relation, x.action, x.key, x.before, x.after
                     FROM pg_catalog.unnest(result) x ORDER BY x.row_id;
    ELSE
        INSERT INTO @extschema@.merges (survivor_id, duplicate_ids) VALUES (survivor, duplicates)
        RETURNING merges.merge_id INTO new_id;
        RETURN QUERY SELECT x.merge_id, x.relation, x.action, x.key, x.before, x.after
                     FROM @extschema@.merge_apply(new_id) x ORDER BY x.row_id;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.merge_contacts(bigint, bigint[], boolean) IS
    'Merges the duplicates into the survivor: every row referencing a duplicate (any table with a foreign key to crm.contacts) is re-pointed, unique conflicts resolved (the survivor''s row kept), fields chosen by crm.merge_survivorship, derived state recomputed, the duplicates deleted; everything logged in crm.merge_rows (crm.unmerge undoes it). Returns the changes row by row; with dry_run, the same rows and nothing changed (merge_id NULL). The caller must be allowed to update every contact named (42501).';
REVOKE EXECUTE ON FUNCTION @extschema@.merge_contacts(bigint, bigint[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.merge_contacts(bigint, bigint[], boolean) TO crm_admin, crm_manager, crm_sales;

-- ---------------------------------------------------------------------------------------------
-- Unmerge, with the owner's rights, for an unmerge the current transaction requested.
CREATE FUNCTION @extschema@.unmerge_apply(merge_id bigint)
RETURNS TABLE (relation text, action text, rows bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
    mid bigint := unmerge_apply.merge_id;
    rel text;
    k record;
    c record;
    changed text;
    n bigint;
    old_row_security text := pg_catalog.current_setting('row_security');
    at timestamptz;
    contacts_rel text;
    rb record;
    dig text;
    n2 bigint;
BEGIN
    SELECT g.*, g.xmin AS row_xmin INTO m FROM @extschema@.merges g WHERE g.merge_id OPERATOR(pg_catalog.=) mid;
    IF NOT FOUND OR m.state OPERATOR(pg_catalog.<>) 'unmerge_requested' OR NOT @extschema@.xid_is_current(m.row_xmin) THEN
        RAISE EXCEPTION 'unmerge_apply applies only an unmerge requested by the current transaction'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call crm.unmerge().';
    END IF;
    SELECT pg_catalog.format('%I.%I', ns.nspname, cl.relname) INTO contacts_rel
    FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace ns ON ns.oid OPERATOR(pg_catalog.=) cl.relnamespace
    WHERE cl.oid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass;

    -- Refuse when the survivor or a re-pointed row has changed since the merge (or is gone).
    FOR rel IN
        SELECT DISTINCT x.relation FROM @extschema@.merge_rows x
        WHERE x.merge_id OPERATOR(pg_catalog.=) mid AND x.action IN ('repoint', 'update') ORDER BY 1
    LOOP
        IF pg_catalog.to_regclass(rel) IS NULL THEN
            RAISE EXCEPTION 'merge % cannot be undone: table % no longer exists', mid, rel
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        k := @extschema@.merge_table_key(rel::pg_catalog.regclass);
        EXECUTE pg_catalog.format(
            'SELECT ''the row '' OPERATOR(pg_catalog.||) m.key::text FROM @extschema@.merge_rows m LEFT JOIN %s x ON %s
             WHERE m.merge_id OPERATOR(pg_catalog.=) $1 AND m.relation OPERATOR(pg_catalog.=) $2
               AND m.action OPERATOR(pg_catalog.=) ''update''
               AND pg_catalog.to_jsonb(x) IS DISTINCT FROM m.after
             ORDER BY m.row_id LIMIT 1', rel, k.key_join)
        INTO changed USING mid, rel;
        -- the re-pointed rows: as many, and the same digest, as the merge left
        FOR rb IN
            SELECT x.row_id, x.after FROM @extschema@.merge_rows x
            WHERE x.merge_id OPERATOR(pg_catalog.=) mid AND x.relation OPERATOR(pg_catalog.=) rel
              AND x.action OPERATOR(pg_catalog.=) 'repoint'
        LOOP
            EXIT WHEN changed IS NOT NULL;
            EXECUTE @extschema@.merge_digest_query(rel::pg_catalog.regclass) INTO n, dig USING rb.row_id;
            IF pg_catalog.jsonb_build_object('rows', n, 'digest', dig) OPERATOR(pg_catalog.<>) rb.after THEN
                changed := 'a re-pointed row';
            END IF;
        END LOOP;
        IF changed IS NOT NULL THEN
            RAISE EXCEPTION 'merge % cannot be undone: a row it changed has changed since', mid
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = pg_catalog.format('In %s, %s differs from what the merge left.', rel, changed),
                      HINT = 'Undo the later change first, or fix the contacts by hand.';
        END IF;
    END LOOP;
    IF EXISTS (SELECT FROM @extschema@.contacts ct WHERE ct.contact_id OPERATOR(pg_catalog.=) ANY (m.duplicate_ids)) THEN
        RAISE EXCEPTION 'merge % cannot be undone: a merged contact id is in use again', mid
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    -- Restore as a pg_dump restore does: the triggers that derive state skip their work
    -- (crm.restoring_dump()), since every image already holds it.
    PERFORM pg_catalog.set_config('row_security', 'off', true);
    PERFORM pg_catalog.set_config('search_path', '', true);
    -- the survivor first (a duplicate may take its e-mail address back), then the duplicates;
    -- then, per table: derived rows the merge added go, re-pointed and updated rows get their
    -- before-images back, deleted rows return (in the order they were deleted)
    FOR rel IN
        SELECT x.relation FROM @extschema@.merge_rows x WHERE x.merge_id OPERATOR(pg_catalog.=) mid
        GROUP BY x.relation ORDER BY x.relation OPERATOR(pg_catalog.<>) contacts_rel, pg_catalog.min(x.row_id)
    LOOP
        k := @extschema@.merge_table_key(rel::pg_catalog.regclass);
        SELECT * INTO c FROM @extschema@.merge_table_columns(rel::pg_catalog.regclass, 'r');
        EXECUTE pg_catalog.format(
            'DELETE FROM %s x USING @extschema@.merge_rows m
             WHERE m.merge_id OPERATOR(pg_catalog.=) $1 AND m.relation OPERATOR(pg_catalog.=) $2
               AND m.action OPERATOR(pg_catalog.=) ''insert'' AND %s', rel, k.key_join)
        USING mid, rel;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n OPERATOR(pg_catalog.>) 0 THEN
            relation := rel; action := 'deleted'; rows := n; RETURN NEXT;
        END IF;
        EXECUTE pg_catalog.format(
            'UPDATE %s x SET (%s) = (SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::%s, m.before) r)
             FROM @extschema@.merge_rows m
             WHERE m.merge_id OPERATOR(pg_catalog.=) $1 AND m.relation OPERATOR(pg_catalog.=) $2
               AND m.action OPERATOR(pg_catalog.=) ''update'' AND m.before IS DISTINCT FROM m.after AND %s',
            rel, c.plain, c.qualified, rel, k.key_join)
        USING mid, rel;
        GET DIAGNOSTICS n = ROW_COUNT;
        -- re-pointed rows: the columns the merge changed (those logged) get their values back
        FOR rb IN
            SELECT x.row_id, ARRAY(SELECT pg_catalog.jsonb_object_keys(x.key)) AS kc,
                   ARRAY(SELECT pg_catalog.jsonb_object_keys(x.before)) AS vc
            FROM @extschema@.merge_rows x
            WHERE x.merge_id OPERATOR(pg_catalog.=) mid AND x.relation OPERATOR(pg_catalog.=) rel
              AND x.action OPERATOR(pg_catalog.=) 'repoint'
        LOOP
            EXECUTE pg_catalog.format(
                'UPDATE %s x SET (%s) = ROW(%s)
                 FROM (SELECT pg_catalog.jsonb_populate_record(NULL::%s, %s) AS rk, pg_catalog.jsonb_populate_record(NULL::%s, %s) AS rv
                       FROM @extschema@.merge_rows m CROSS JOIN LATERAL ROWS FROM (%s) e(%s)
                       WHERE m.row_id OPERATOR(pg_catalog.=) $1) r
                 WHERE %s',
                rel,
                (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.col), ', ' ORDER BY o.i)
                 FROM pg_catalog.unnest(rb.vc) WITH ORDINALITY o(col, i)),
                (SELECT pg_catalog.string_agg(pg_catalog.format('(r.rv).%I', o.col), ', ' ORDER BY o.i)
                 FROM pg_catalog.unnest(rb.vc) WITH ORDINALITY o(col, i)),
                rel,
                @extschema@.merge_jsonb_expr(rb.kc,
                    ARRAY(SELECT pg_catalog.format('e.c%s', g.i) FROM pg_catalog.generate_series(1, pg_catalog.cardinality(rb.kc)) g(i) ORDER BY g.i)),
                rel,
                @extschema@.merge_jsonb_expr(rb.vc,
                    ARRAY(SELECT pg_catalog.format('e.c%s', g.i OPERATOR(pg_catalog.+) pg_catalog.cardinality(rb.kc))
                          FROM pg_catalog.generate_series(1, pg_catalog.cardinality(rb.vc)) g(i) ORDER BY g.i)),
                (SELECT pg_catalog.string_agg(pg_catalog.format('pg_catalog.jsonb_array_elements(m.%s OPERATOR(pg_catalog.->) %L)',
                                                                CASE WHEN o.i OPERATOR(pg_catalog.<=) pg_catalog.cardinality(rb.kc) THEN 'key' ELSE 'before' END,
                                                                o.col), ', ' ORDER BY o.i)
                 FROM pg_catalog.unnest(rb.kc OPERATOR(pg_catalog.||) rb.vc) WITH ORDINALITY o(col, i)),
                (SELECT pg_catalog.string_agg(pg_catalog.format('c%s', g.i), ', ' ORDER BY g.i)
                 FROM pg_catalog.generate_series(1, pg_catalog.cardinality(rb.kc) OPERATOR(pg_catalog.+) pg_catalog.cardinality(rb.vc)) g(i)),
                (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I OPERATOR(pg_catalog.=) (r.rk).%I', o.col, o.col), ' AND ')
                 FROM pg_catalog.unnest(rb.kc) o(col)))
            USING rb.row_id;
            GET DIAGNOSTICS n2 = ROW_COUNT;
            n := n OPERATOR(pg_catalog.+) n2;
        END LOOP;
        IF n OPERATOR(pg_catalog.>) 0 THEN
            relation := rel; action := 'restored'; rows := n; RETURN NEXT;
        END IF;
        EXECUTE pg_catalog.format(
            'INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE
             SELECT %s FROM @extschema@.merge_rows m CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(NULL::%s, m.before) r
             WHERE m.merge_id OPERATOR(pg_catalog.=) $1 AND m.relation OPERATOR(pg_catalog.=) $2
               AND m.action OPERATOR(pg_catalog.=) ''delete'' ORDER BY m.row_id', rel, c.plain, c.qualified, rel)
        USING mid, rel;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n OPERATOR(pg_catalog.>) 0 THEN
            relation := rel; action := 'reinserted'; rows := n; RETURN NEXT;
        END IF;
    END LOOP;
    PERFORM pg_catalog.set_config('row_security', old_row_security, true);
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

    -- Derived state the images do not hold: the RFM snapshots recomputed by the merge and the
    -- duplicate pairs of the contacts (as the trigger would keep them).
    FOR at IN
        SELECT (x.key OPERATOR(pg_catalog.->>) 'as_of')::timestamptz FROM @extschema@.merge_rows x
        WHERE x.merge_id OPERATOR(pg_catalog.=) mid AND x.action OPERATOR(pg_catalog.=) 'recompute' ORDER BY x.row_id
    LOOP
        PERFORM @extschema@.refresh_rfm(at);
        relation := pg_catalog.format('%I.rfm_history', '@extschema@'); action := 'recomputed'; rows := 1; RETURN NEXT;
    END LOOP;
    -- (the duplicates' pairs came back with their images; the survivor's were rescored by the
    -- trigger if the merge changed a matched field, and are rescored back now)
    IF (SELECT ds.incremental FROM @extschema@.duplicate_settings ds)
       AND EXISTS (SELECT FROM @extschema@.merge_rows x
                   WHERE x.merge_id OPERATOR(pg_catalog.=) mid AND x.relation OPERATOR(pg_catalog.=) contacts_rel
                     AND x.action OPERATOR(pg_catalog.=) 'update'
                     AND (SELECT pg_catalog.jsonb_object_agg(f, x.before OPERATOR(pg_catalog.->) f)
                          FROM pg_catalog.unnest(ARRAY['first_name', 'last_name', 'email', 'phone', 'country', 'account_id']) f)
                         OPERATOR(pg_catalog.<>)
                         (SELECT pg_catalog.jsonb_object_agg(f, x.after OPERATOR(pg_catalog.->) f)
                          FROM pg_catalog.unnest(ARRAY['first_name', 'last_name', 'email', 'phone', 'country', 'account_id']) f)) THEN
        PERFORM @extschema@.dedupe_store(ARRAY[m.survivor_id]);
    END IF;

    UPDATE @extschema@.merges g SET state = 'unmerged', unmerged_at = pg_catalog.now()
    WHERE g.merge_id OPERATOR(pg_catalog.=) mid;
    RETURN;
END
$$;
COMMENT ON FUNCTION @extschema@.unmerge_apply(bigint) IS
    'Internal (crm.unmerge): undoes a merge the current transaction asked to undo, from the images in crm.merge_rows; 55000 when a row the merge changed has changed since; 42501 for any other merge.';
REVOKE EXECUTE ON FUNCTION @extschema@.unmerge_apply(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.unmerge_apply(bigint) TO crm_admin, crm_manager, crm_sales;

-- crm.unmerge: invoker rights; the caller must be allowed to update the survivor.
CREATE FUNCTION @extschema@.unmerge(merge_id bigint)
RETURNS TABLE (relation text, action text, rows bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
BEGIN
    IF unmerge.merge_id IS NULL THEN
        RAISE EXCEPTION 'merge_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT g.* INTO m FROM @extschema@.merges g WHERE g.merge_id OPERATOR(pg_catalog.=) unmerge.merge_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'merge % does not exist', unmerge.merge_id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'No merge with this id is visible to the current user.';
    END IF;
    IF m.state OPERATOR(pg_catalog.<>) 'merged' THEN
        RAISE EXCEPTION 'merge % has already been undone', unmerge.merge_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT @extschema@.merge_may_edit(ARRAY[m.survivor_id]) THEN
        RAISE EXCEPTION 'permission denied to undo merge %', unmerge.merge_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The surviving contact does not exist or may not be updated by the current user.';
    END IF;
    UPDATE @extschema@.merges g SET state = 'unmerge_requested', unmerged_by = current_user
    WHERE g.merge_id OPERATOR(pg_catalog.=) unmerge.merge_id AND g.state OPERATOR(pg_catalog.=) 'merged';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'permission denied to undo merge %', unmerge.merge_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT * FROM @extschema@.unmerge_apply(unmerge.merge_id);
END
$$;
COMMENT ON FUNCTION @extschema@.unmerge(bigint) IS
    'Undoes a merge of crm.merge_contacts: the survivor and every re-pointed row get their before-images back, the merged contacts and the rows deleted return, derived state is recomputed. Refuses (55000) when a row the merge changed has changed since, or the merge was undone already; 42501 unless the caller may update the survivor.';
REVOKE EXECUTE ON FUNCTION @extschema@.unmerge(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.unmerge(bigint) TO crm_admin, crm_manager, crm_sales;

-- ---------------------------------------------------------------------------------------------
-- Privileges and row-level security
GRANT SELECT ON @extschema@.merge_survivorship TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.merge_survivorship TO crm_admin;
ALTER TABLE @extschema@.merge_survivorship ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.merge_survivorship TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.merge_survivorship FOR SELECT
    TO crm_manager, crm_sales, crm_support, crm_analyst USING (true);

-- A merge is requested (inserted) by whoever may update every contact it names, in its own
-- name; seen by admins, by whoever made it and by whoever sees the survivor; an unmerge is
-- requested (state set) by whoever may update the survivor.
GRANT SELECT ON @extschema@.merges TO crm_admin, crm_manager, crm_sales;
GRANT INSERT (survivor_id, duplicate_ids), UPDATE (state, unmerged_by) ON @extschema@.merges TO crm_manager, crm_sales;
GRANT INSERT, UPDATE, DELETE ON @extschema@.merges TO crm_admin;
GRANT USAGE ON SEQUENCE @extschema@.merges_merge_id_seq TO crm_admin, crm_manager, crm_sales;
ALTER TABLE @extschema@.merges ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.merges TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY read_own_or_visible ON @extschema@.merges FOR SELECT TO crm_manager, crm_sales
    USING (merged_by OPERATOR(pg_catalog.=) current_user
           OR EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id OPERATOR(pg_catalog.=) merges.survivor_id));
CREATE POLICY request_merge ON @extschema@.merges FOR INSERT TO crm_manager, crm_sales
    WITH CHECK (state OPERATOR(pg_catalog.=) 'pending' AND merged_by OPERATOR(pg_catalog.=) current_user
                AND @extschema@.merge_may_edit(ARRAY[survivor_id] OPERATOR(pg_catalog.||) duplicate_ids));
CREATE POLICY request_unmerge ON @extschema@.merges FOR UPDATE TO crm_manager, crm_sales
    USING (@extschema@.merge_may_edit(ARRAY[survivor_id]))
    WITH CHECK (state OPERATOR(pg_catalog.=) 'unmerge_requested' AND unmerged_by OPERATOR(pg_catalog.=) current_user
                AND @extschema@.merge_may_edit(ARRAY[survivor_id]));

-- The before-images hold rows of every table: admins only.
GRANT SELECT ON @extschema@.merge_rows TO crm_admin;
ALTER TABLE @extschema@.merge_rows ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.merge_rows FOR SELECT TO crm_admin USING (true);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.merges', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.merges_merge_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.merge_rows', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.merge_rows_row_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.merge_survivorship', '');
