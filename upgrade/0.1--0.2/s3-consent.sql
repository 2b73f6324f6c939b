-- src/consent.sql: consent history per contact and purpose, with its GDPR Art. 6 lawful basis
-- (docs/privacy.md). The history is the one source of truth: crm.has_consent reads it, and the
-- 0.1 column contacts.marketing_consent is kept equal to has_consent(contact, 'marketing_email',
-- now()) by the triggers below (writes to the column become history rows).

CREATE TYPE @extschema@.consent_purpose AS ENUM
    ('marketing_email', 'marketing_sms', 'marketing_phone', 'profiling', 'third_party_sharing');
COMMENT ON TYPE @extschema@.consent_purpose IS
    'What a consent (or its withdrawal) is for: marketing by e-mail, SMS or phone, profiling, sharing with third parties.';
CREATE TYPE @extschema@.lawful_basis AS ENUM
    ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests');
COMMENT ON TYPE @extschema@.lawful_basis IS
    'The six lawful bases of processing of GDPR Art. 6(1) (a) to (f).';

-- Append-only: staff insert rows, nobody updates or deletes them (the table owner aside).
-- effective_at is when the person gave or withdrew it (the form's submission time, the call);
-- recorded_at and recorded_by are set by the insert trigger (now(), current_user), so a
-- record cannot be backdated, and effective_at may not lie after recorded_at.
CREATE TABLE @extschema@.consent_history (
    consent_id    bigserial PRIMARY KEY,
    contact_id    bigint NOT NULL CONSTRAINT consent_history_contact_fkey REFERENCES @extschema@.contacts,
    purpose       @extschema@.consent_purpose NOT NULL,
    granted       boolean NOT NULL,
    lawful_basis  @extschema@.lawful_basis NOT NULL DEFAULT 'consent',
    source        text NOT NULL CONSTRAINT consent_history_source_nonempty CHECK (source <> ''),
    evidence      text,
    effective_at  timestamptz NOT NULL DEFAULT now(),
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    recorded_by   name NOT NULL DEFAULT current_user,
    CONSTRAINT consent_history_not_future CHECK (effective_at <= recorded_at)
);
CREATE INDEX consent_history_lookup ON @extschema@.consent_history (contact_id, purpose, effective_at, consent_id);
COMMENT ON TABLE @extschema@.consent_history IS
    'Consent given or withdrawn per contact and purpose, with lawful basis, source, evidence, when it took effect, when and by whom it was recorded. Append-only.';

-- Whether the contact's latest consent event for purpose taking effect at or before at grants it
-- (ties in effective_at: the later recorded row wins). No event: false. Invoker rights: a caller
-- sees the history of the contacts they may see, so it is false for the others.
CREATE FUNCTION @extschema@.has_consent(contact_id bigint, purpose @extschema@.consent_purpose,
                                         at timestamptz DEFAULT now()) RETURNS boolean
LANGUAGE sql STABLE STRICT AS $$
    SELECT coalesce((SELECT h.granted FROM @extschema@.consent_history h
                     WHERE h.contact_id = has_consent.contact_id AND h.purpose = has_consent.purpose
                       AND h.effective_at <= has_consent.at
                     ORDER BY h.effective_at DESC, h.consent_id DESC LIMIT 1), false)
$$;
COMMENT ON FUNCTION @extschema@.has_consent(bigint, @extschema@.consent_purpose, timestamptz) IS
    'Whether the contact had given consent for purpose at the instant at (default now): the latest history event taking effect at or before it grants; false without any.';
REVOKE EXECUTE ON FUNCTION @extschema@.has_consent(bigint, @extschema@.consent_purpose, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.has_consent(bigint, @extschema@.consent_purpose, timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- Before insert: who and when, from the session, not from the writer.
CREATE FUNCTION @extschema@.consent_history_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.recorded_at := pg_catalog.now();
    NEW.recorded_by := current_user;
    RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.consent_history_stamp() FROM PUBLIC;
CREATE TRIGGER consent_history_stamp BEFORE INSERT ON @extschema@.consent_history
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.consent_history_stamp();

-- After insert: contacts.marketing_consent (and consent_at, consent_source when it becomes true)
-- follow the history. SECURITY DEFINER: a staff member who may record consent for a contact
-- (support, on a call) need not be allowed to update the contact; it touches only the contact of
-- the row just inserted (which the insert policy let the writer see), and only those columns.
CREATE FUNCTION @extschema@.consent_history_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    latest record;
BEGIN
    IF NEW.purpose OPERATOR(pg_catalog.<>) 'marketing_email'::@extschema@.consent_purpose THEN
        RETURN NULL;
    END IF;
    SELECT h.granted, h.effective_at, h.source INTO latest
    FROM @extschema@.consent_history h
    WHERE h.contact_id OPERATOR(pg_catalog.=) NEW.contact_id
      AND h.purpose OPERATOR(pg_catalog.=) 'marketing_email'::@extschema@.consent_purpose
      AND h.effective_at OPERATOR(pg_catalog.<=) pg_catalog.now()
    ORDER BY h.effective_at DESC, h.consent_id DESC LIMIT 1;
    UPDATE @extschema@.contacts c
    SET marketing_consent = coalesce(latest.granted, false),
        consent_at = CASE WHEN latest.granted THEN latest.effective_at ELSE c.consent_at END,
        consent_source = CASE WHEN latest.granted THEN latest.source ELSE c.consent_source END
    WHERE c.contact_id OPERATOR(pg_catalog.=) NEW.contact_id
      AND c.marketing_consent IS DISTINCT FROM coalesce(latest.granted, false);
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.consent_history_sync() FROM PUBLIC;
CREATE TRIGGER consent_history_sync AFTER INSERT ON @extschema@.consent_history
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.consent_history_sync();

-- After a write of contacts.marketing_consent by an application (the 0.1 interface): a value that
-- differs from the history becomes a history row (source 'legacy column', the consent_source the
-- application wrote as evidence, taking effect at the consent_at it wrote, or now, never later
-- than now). Invoker rights: the writer records it, under their own insert policy.
CREATE FUNCTION @extschema@.contacts_consent_legacy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.marketing_consent IS DISTINCT FROM
       @extschema@.has_consent(NEW.contact_id, 'marketing_email'::@extschema@.consent_purpose, pg_catalog.now()) THEN
        INSERT INTO @extschema@.consent_history (contact_id, purpose, granted, lawful_basis, source, evidence, effective_at)
        VALUES (NEW.contact_id, 'marketing_email', NEW.marketing_consent, 'consent', 'legacy column',
                CASE WHEN NEW.marketing_consent THEN NEW.consent_source END,
                CASE WHEN NEW.marketing_consent AND NEW.consent_at IS NOT NULL
                     THEN LEAST(NEW.consent_at, pg_catalog.now()) ELSE pg_catalog.now() END);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.contacts_consent_legacy() FROM PUBLIC;
CREATE TRIGGER contacts_consent_legacy AFTER INSERT OR UPDATE OF marketing_consent ON @extschema@.contacts
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.contacts_consent_legacy();

-- Row-level security: the history follows its contact, as activities do. Admins and analysts
-- read all; managers, reps and support read and record the history of the contacts they see.
-- No UPDATE or DELETE for anyone (append-only; erasure is crm.erase_person's, issue 18 item 6).
GRANT SELECT ON @extschema@.consent_history TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT ON @extschema@.consent_history TO crm_admin, crm_manager, crm_sales, crm_support;
GRANT USAGE ON SEQUENCE @extschema@.consent_history_consent_id_seq TO crm_admin, crm_manager, crm_sales, crm_support;
ALTER TABLE @extschema@.consent_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.consent_history TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.consent_history FOR SELECT TO crm_analyst USING (true);
CREATE POLICY staff_read ON @extschema@.consent_history FOR SELECT TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = consent_history.contact_id));
CREATE POLICY staff_record ON @extschema@.consent_history FOR INSERT TO crm_manager, crm_sales, crm_support
    WITH CHECK (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = consent_history.contact_id));

SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent_history_consent_id_seq', '');

-- Upgrade from 0.1: every contact whose flag is true gets one history row, taking effect at the
-- consent_at 0.1 required with the flag (never later than the upgrade), recorded now by whoever
-- runs the upgrade. The flags already equal has_consent, so the sync trigger changes nothing.
INSERT INTO @extschema@.consent_history (contact_id, purpose, granted, lawful_basis, source, evidence, effective_at)
SELECT c.contact_id, 'marketing_email', true, 'consent', 'migrated from 0.1', c.consent_source,
       LEAST(c.consent_at, pg_catalog.now())
FROM @extschema@.contacts c
WHERE c.marketing_consent
ORDER BY c.contact_id;

-- Campaign draws ask crm.has_consent (src/segments.sql).
CREATE OR REPLACE FUNCTION @extschema@.add_segment_to_campaign(segment_id bigint, campaign_id bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    added integer;
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
    INSERT INTO @extschema@.campaign_members (campaign_id, contact_id)
    SELECT add_segment_to_campaign.campaign_id, m.contact_id
    FROM @extschema@.segment_members m
    WHERE m.segment_id = add_segment_to_campaign.segment_id
      AND @extschema@.has_consent(m.contact_id, 'marketing_email'::@extschema@.consent_purpose, pg_catalog.now())
    ORDER BY m.contact_id
    ON CONFLICT ON CONSTRAINT campaign_members_pkey DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
END
$$;

-- The right of access (src/privacy.sql).
-- src/privacy.sql: the right of access (GDPR Art. 15): crm.export_person (docs/privacy.md).

-- Every row about a contact in every table the caller may read, as one JSON document:
--   depth 1: rows of any table (any schema: users' own tables too) with a foreign key to
--            crm.contacts naming the contact;
--   depth 2: rows of any table with a foreign key to a depth-1 row (order lines via their orders,
--            stage history via opportunities, tasks via leads), but not through crm.contacts
--            itself (a contact referring to another contact is not the other's data);
--   matches: rows of any table with a column named email or phone whose normalised value
--            (crm.normalize_email; crm.normalize_phone with the row's own country column, or the
--            contact's country) equals the contact's (other contacts with the same address are
--            among them: possible duplicates).
-- Invoker rights: the caller gets what their grants and row-level security let them read (an
-- admin: every crm row); tables the caller may not read are named in not_readable instead.
CREATE FUNCTION @extschema@.export_person(contact_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    person jsonb;
    person_email text;
    person_phone text;
    person_country text;
    t record;
    conds text[];
    cond text;
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
            conds := conds OPERATOR(pg_catalog.||) pg_catalog.format(
                '@extschema@.normalize_phone(x.%I::text, %s) OPERATOR(pg_catalog.=) $3', t.phone_col,
                CASE WHEN t.country_col IS NOT NULL THEN pg_catalog.format('coalesce(x.%I::text, $4)', t.country_col) ELSE '$4' END);
        END IF;
        CONTINUE WHEN pg_catalog.cardinality(conds) OPERATOR(pg_catalog.=) 0;
        IF NOT t.readable THEN
            not_readable := not_readable OPERATOR(pg_catalog.||) pg_catalog.format('%I.%I', t.nspname, t.relname);
            CONTINUE;
        END IF;
        cond := '(' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(conds, ') OR (') OPERATOR(pg_catalog.||) ')';
        IF t.oid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass THEN
            -- the person's own row is the document's "contact"; other contacts sharing an address stay
            cond := '(' OPERATOR(pg_catalog.||) cond OPERATOR(pg_catalog.||) ') AND x.contact_id OPERATOR(pg_catalog.<>) $1';
        END IF;
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.jsonb_agg(r ORDER BY r) FROM (SELECT pg_catalog.to_jsonb(x) AS r FROM %I.%I x WHERE %s) s',
            t.nspname, t.relname, cond)
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
COMMENT ON FUNCTION @extschema@.export_person(bigint) IS
    'Everything about a contact as one JSON document (GDPR right of access): its row, its consent now per purpose, and per table every row found through foreign keys to crm.contacts (and one level further) or by normalised e-mail and phone; invoker rights, with the tables the caller may not read listed in not_readable.';
REVOKE EXECUTE ON FUNCTION @extschema@.export_person(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.export_person(bigint) TO crm_admin;
