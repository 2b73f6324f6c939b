-- test/upgrade/catalog.sql: a description of everything the extension put in the current
-- database, one object property per line, sorted, with no OIDs in it: two databases hold the same
-- extension exactly when this prints the same lines in both. test/scripts/upgrade.sh compares a database
-- upgraded from the previous release with a fresh install of this one.
--
-- Meant for a database made by createdb from template1 holding only the extension (and its data):
-- every object in a schema other than pg_catalog, information_schema, pg_toast and temporary
-- schemas is described, whether or not it is a member of the extension, and every comment on an
-- object made after initdb (OID >= 16384). Roles are shared by the cluster and are not described.
-- ACLs are listed entry by entry (grantee=privilege, * when grantable), the owner written OWNER,
-- a NULL ACL replaced by the default it stands for. Multi-line definitions (functions, views) come
-- one numbered line per line, so a difference shows the very line.
--
--   psql -qtAX -v ON_ERROR_STOP=1 -f test/upgrade/catalog.sql

SET search_path = pg_catalog;

WITH nsp AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema')
      AND nspname !~ '^pg_(toast|temp_|toast_temp_)'
), rel AS (
    SELECT c.*, c.oid::regclass::text AS ident FROM pg_class c JOIN nsp ON nsp.oid = c.relnamespace
), fn AS (
    SELECT p.*, p.oid::regprocedure::text AS ident FROM pg_proc p JOIN nsp ON nsp.oid = p.pronamespace
), typ AS (
    SELECT t.*, t.oid::regtype::text AS ident FROM pg_type t JOIN nsp ON nsp.oid = t.typnamespace
), ext AS (
    SELECT * FROM pg_extension WHERE extname = 'crm'
)
SELECT line FROM (
    -- The extension, its members and the tables pg_dump dumps (pg_extension_config_dump).
    SELECT format('extension %s: version=%s relocatable=%s schema=%s', extname, extversion,
                  extrelocatable, extnamespace::regnamespace) AS line
    FROM ext
    UNION ALL
    SELECT format('extension %s config_dump: %s condition=%L', e.extname, cfg.rel::regclass, cfg.cond)
    FROM ext e CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS cfg(rel, cond)
    UNION ALL
    SELECT format('extension %s member: %s', e.extname, pg_describe_object(d.classid, d.objid, d.objsubid))
    FROM ext e JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
                                 AND d.deptype = 'e'

    -- Schemas.
    UNION ALL
    SELECT format('schema %I: acl=%s', n.nspname,
                  (SELECT string_agg(x, ',' ORDER BY x) FROM (
                       SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' WHEN p.nspowner THEN 'OWNER'
                                             ELSE pg_get_userbyid(a.grantee) END
                              || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
                       FROM aclexplode(coalesce(p.nspacl, acldefault('n', p.nspowner))) a) s(x)))
    FROM nsp n JOIN pg_namespace p ON p.oid = n.oid

    -- Relations: tables, views, sequences, indexes, composite types, ...
    UNION ALL
    SELECT format('relation %s: kind=%s persistence=%s rls=%s rls_forced=%s options=%s replident=%s am=%s acl=%s',
                  r.ident, r.relkind, r.relpersistence, r.relrowsecurity, r.relforcerowsecurity,
                  r.reloptions, r.relreplident, (SELECT amname FROM pg_am WHERE oid = r.relam),
                  (SELECT string_agg(x, ',' ORDER BY x) FROM (
                       SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' WHEN r.relowner THEN 'OWNER'
                                             ELSE pg_get_userbyid(a.grantee) END
                              || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
                       FROM aclexplode(coalesce(r.relacl, acldefault((CASE WHEN r.relkind = 'S' THEN 's' ELSE 'r' END)::"char",
                                                                     r.relowner))) a) s(x)))
    FROM rel r
    WHERE r.relkind <> 'i'
    UNION ALL
    SELECT format('relation %s: inherits %s (%s)', i.inhrelid::regclass, i.inhparent::regclass, i.inhseqno)
    FROM pg_inherits i JOIN rel r ON r.oid = i.inhrelid
    UNION ALL
    SELECT format('view %s definition %s: %s', r.ident, to_char(l.n, 'FM0000'), l.text)
    FROM rel r CROSS JOIN LATERAL regexp_split_to_table(pg_get_viewdef(r.oid, true), E'\n')
                                  WITH ORDINALITY AS l(text, n)
    WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('sequence %s: type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s',
                  r.ident, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                  s.seqcycle,
                  (SELECT string_agg(pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), ',')
                   FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
                                      AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0))
    FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid

    -- Columns, with their position among the live ones (SELECT * and COPY see that order).
    UNION ALL
    SELECT format('column %s.%I: position=%s type=%s not_null=%s default=%s identity=%s generated=%s collation=%s acl=%s',
                  r.ident, a.attname, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
                  format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
                  CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END,
                  (SELECT string_agg(x, ',' ORDER BY x) FROM (
                       SELECT CASE g.grantee WHEN 0 THEN 'PUBLIC' WHEN r.relowner THEN 'OWNER'
                                             ELSE pg_get_userbyid(g.grantee) END
                              || '=' || g.privilege_type || CASE WHEN g.is_grantable THEN '*' ELSE '' END
                       FROM aclexplode(a.attacl) g) s(x)))
    FROM rel r
    JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE r.relkind IN ('r', 'p', 'v', 'm', 'c', 'f')

    -- Constraints of tables and domains.
    UNION ALL
    SELECT format('constraint %I on %s: type=%s deferrable=%s deferred=%s validated=%s no_inherit=%s def=%s',
                  c.conname, coalesce(c.conrelid::regclass::text, 'domain ' || c.contypid::regtype::text),
                  c.contype, c.condeferrable, c.condeferred, c.convalidated, c.connoinherit,
                  pg_get_constraintdef(c.oid))
    FROM pg_constraint c JOIN nsp ON nsp.oid = c.connamespace

    -- Indexes (their definition names the index, the table, the method, the keys, the predicate).
    UNION ALL
    SELECT format('index %s: %s', r.ident, pg_get_indexdef(r.oid))
    FROM rel r WHERE r.relkind IN ('i', 'I')

    -- Triggers (the definition carries the WHEN clause), rules, policies, extended statistics.
    UNION ALL
    SELECT format('trigger %I on %s: enabled=%s %s', t.tgname, t.tgrelid::regclass, t.tgenabled,
                  pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid
    WHERE NOT t.tgisinternal
    UNION ALL
    SELECT format('rule %I on %s: enabled=%s %s', w.rulename, w.ev_class::regclass, w.ev_enabled,
                  pg_get_ruledef(w.oid))
    FROM pg_rewrite w JOIN rel r ON r.oid = w.ev_class
    WHERE w.rulename <> '_RETURN'
    UNION ALL
    SELECT format('policy %I on %s: cmd=%s permissive=%s roles=%s using=%s with_check=%s',
                  p.polname, p.polrelid::regclass, p.polcmd, p.polpermissive,
                  (SELECT string_agg(CASE WHEN o = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(o) END, ','
                                     ORDER BY CASE WHEN o = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(o)::text END)
                   FROM unnest(p.polroles) AS o),
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
    FROM pg_policy p JOIN rel r ON r.oid = p.polrelid
    UNION ALL
    SELECT format('statistics %I.%I: %s', nsp.nspname, s.stxname, pg_get_statisticsobjdef(s.oid))
    FROM pg_statistic_ext s JOIN nsp ON nsp.oid = s.stxnamespace

    -- Functions and procedures: the whole definition (arguments, result, language, volatility,
    -- strictness, parallel safety, SECURITY DEFINER, SET, cost, body), one line per line.
    UNION ALL
    SELECT format('function %s definition %s: %s', f.ident, to_char(l.n, 'FM0000'), l.text)
    FROM fn f CROSS JOIN LATERAL regexp_split_to_table(pg_get_functiondef(f.oid), E'\n')
                                 WITH ORDINALITY AS l(text, n)
    WHERE f.prokind IN ('f', 'p', 'w')
    UNION ALL
    SELECT format('function %s: kind=%s result=%s strict=%s volatility=%s parallel=%s security_definer=%s config=%s language=%s acl=%s',
                  f.ident, f.prokind, pg_get_function_result(f.oid), f.proisstrict, f.provolatile,
                  f.proparallel, f.prosecdef, f.proconfig, (SELECT lanname FROM pg_language WHERE oid = f.prolang),
                  (SELECT string_agg(x, ',' ORDER BY x) FROM (
                       SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' WHEN f.proowner THEN 'OWNER'
                                             ELSE pg_get_userbyid(a.grantee) END
                              || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
                       FROM aclexplode(coalesce(f.proacl, acldefault('f', f.proowner))) a) s(x)))
    FROM fn f

    -- Aggregates and their support functions.
    UNION ALL
    SELECT format('aggregate %s: kind=%s direct_args=%s transfn=%s finalfn=%s combinefn=%s serialfn=%s deserialfn=%s '
                  'mtransfn=%s minvtransfn=%s mfinalfn=%s finalextra=%s mfinalextra=%s finalmodify=%s '
                  'mfinalmodify=%s sortop=%s transtype=%s transspace=%s mtranstype=%s mtransspace=%s '
                  'initval=%s minitval=%s',
                  a.aggfnoid::regprocedure, a.aggkind, a.aggnumdirectargs, a.aggtransfn::regprocedure,
                  nullif(a.aggfinalfn, 0)::regprocedure, nullif(a.aggcombinefn, 0)::regprocedure,
                  nullif(a.aggserialfn, 0)::regprocedure, nullif(a.aggdeserialfn, 0)::regprocedure,
                  nullif(a.aggmtransfn, 0)::regprocedure, nullif(a.aggminvtransfn, 0)::regprocedure,
                  nullif(a.aggmfinalfn, 0)::regprocedure, a.aggfinalextra, a.aggmfinalextra,
                  a.aggfinalmodify, a.aggmfinalmodify, nullif(a.aggsortop, 0)::regoperator,
                  a.aggtranstype::regtype, a.aggtransspace, nullif(a.aggmtranstype, 0)::regtype,
                  a.aggmtransspace, a.agginitval, a.aggminitval)
    FROM pg_aggregate a JOIN fn f ON f.oid = a.aggfnoid

    -- Types: base, enum, domain, range, composite (composite attributes are columns above).
    UNION ALL
    SELECT format('type %s: type=%s category=%s preferred=%s len=%s byval=%s align=%s storage=%s delim=%s '
                  'input=%s output=%s receive=%s send=%s typmodin=%s typmodout=%s analyze=%s subscript=%s '
                  'element=%s base=%s not_null=%s default=%s collation=%s acl=%s',
                  t.ident, t.typtype, t.typcategory, t.typispreferred, t.typlen, t.typbyval, t.typalign,
                  t.typstorage, t.typdelim, t.typinput::regproc, t.typoutput::regproc, t.typreceive::regproc,
                  t.typsend::regproc, t.typmodin::regproc, t.typmodout::regproc, t.typanalyze::regproc,
                  t.typsubscript::regproc, nullif(t.typelem, 0)::regtype,
                  CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
                  t.typnotnull, t.typdefault, nullif(t.typcollation, 0)::regcollation,
                  (SELECT string_agg(x, ',' ORDER BY x) FROM (
                       SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' WHEN t.typowner THEN 'OWNER'
                                             ELSE pg_get_userbyid(a.grantee) END
                              || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
                       FROM aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a) s(x)))
    FROM typ t
    UNION ALL
    SELECT format('type %s: enum labels %s', t.ident,
                  (SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder)
                   FROM pg_enum e WHERE e.enumtypid = t.oid))
    FROM typ t WHERE t.typtype = 'e'
    UNION ALL
    SELECT format('type %s: range subtype=%s opclass=%s collation=%s canonical=%s subdiff=%s multirange=%s',
                  t.ident, g.rngsubtype::regtype, g.rngsubopc, nullif(g.rngcollation, 0)::regcollation,
                  g.rngcanonical, g.rngsubdiff, g.rngmultitypid::regtype)
    FROM typ t JOIN pg_range g ON g.rngtypid = t.oid

    -- Operators, operator classes and families, casts.
    UNION ALL
    SELECT format('operator %s: result=%s code=%s commutator=%s negator=%s restrict=%s join=%s merges=%s hashes=%s',
                  o.oid::regoperator, o.oprresult::regtype, o.oprcode, nullif(o.oprcom, 0)::regoperator,
                  nullif(o.oprnegate, 0)::regoperator, o.oprrest, o.oprjoin, o.oprcanmerge, o.oprcanhash)
    FROM pg_operator o JOIN nsp ON nsp.oid = o.oprnamespace
    UNION ALL
    SELECT format('operator class %I.%I using %s: type=%s default=%s family=%s keytype=%s',
                  nsp.nspname, c.opcname, am.amname, c.opcintype::regtype, c.opcdefault,
                  (SELECT f.opfname FROM pg_opfamily f WHERE f.oid = c.opcfamily), nullif(c.opckeytype, 0)::regtype)
    FROM pg_opclass c JOIN nsp ON nsp.oid = c.opcnamespace JOIN pg_am am ON am.oid = c.opcmethod
    UNION ALL
    SELECT format('operator family %I.%I using %s: %s', nsp.nspname, f.opfname, am.amname, x.member)
    FROM pg_opfamily f JOIN nsp ON nsp.oid = f.opfnamespace JOIN pg_am am ON am.oid = f.opfmethod
    CROSS JOIN LATERAL (
        SELECT format('operator %s %s (%s, %s) purpose=%s sortfamily=%s', o.amopstrategy,
                      o.amopopr::regoperator, o.amoplefttype::regtype, o.amoprighttype::regtype,
                      o.amoppurpose, nullif(o.amopsortfamily, 0))
        FROM pg_amop o WHERE o.amopfamily = f.oid
        UNION ALL
        SELECT format('function %s %s (%s, %s)', p.amprocnum, p.amproc::regprocedure,
                      p.amproclefttype::regtype, p.amprocrighttype::regtype)
        FROM pg_amproc p WHERE p.amprocfamily = f.oid
        UNION ALL
        SELECT 'exists'
    ) AS x(member)
    UNION ALL
    SELECT format('cast (%s AS %s): function=%s context=%s method=%s', c.castsource::regtype,
                  c.casttarget::regtype, nullif(c.castfunc, 0)::regprocedure, c.castcontext, c.castmethod)
    FROM pg_cast c WHERE c.oid >= 16384

    -- Event triggers, default privileges, initial privileges (what pg_dump treats as the
    -- extension's own grants), comments.
    UNION ALL
    SELECT format('event trigger %I: event=%s function=%s enabled=%s tags=%s', e.evtname, e.evtevent,
                  e.evtfoid::regprocedure, e.evtenabled, e.evttags)
    FROM pg_event_trigger e
    UNION ALL
    SELECT format('default acl for %s in %s on %s: %s', pg_get_userbyid(d.defaclrole),
                  coalesce(d.defaclnamespace::regnamespace::text, 'all schemas'), d.defaclobjtype, d.defaclacl)
    FROM pg_default_acl d
    UNION ALL
    SELECT format('initial privileges of %s (%s): %s', pg_describe_object(i.classoid, i.objoid, i.objsubid),
                  i.privtype,
                  (SELECT string_agg(x, ',' ORDER BY x) FROM (
                       SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
                              || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
                       FROM aclexplode(i.initprivs) a) s(x)))
    FROM pg_init_privs i WHERE i.objoid >= 16384
    UNION ALL
    SELECT format('comment on %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid),
                  replace(d.description, E'\n', '\n'))
    FROM pg_description d WHERE d.objoid >= 16384
) AS description
ORDER BY line COLLATE "C";
