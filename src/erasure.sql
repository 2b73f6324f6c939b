-- src/erasure.sql: the right to erasure (GDPR Art. 17) and retention policies (docs/privacy.md).
-- crm.erase_person anonymises a person's identifying data in every table while the rows that feed
-- aggregates (orders, amounts, scores, survey scores, consent events) stay; an erasure log keeps no
-- personal data, only a keyed hash (HMAC-SHA-256) of the normalised e-mail address, so that a
-- re-import of the same address is refused; crm.apply_retention erases contacts without activity
-- for the period a policy names.

-- HMAC-SHA-256 (RFC 2104 with SHA-256, block 64 bytes) from the built-in sha256(bytea): crm
-- requires no other extension, so no pgcrypto. Pure: computes from its arguments only.
CREATE FUNCTION @extschema@.hmac_sha256(key bytea, message bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k bytea := key;
    inner_pad bytea;
    outer_pad bytea;
BEGIN
    IF pg_catalog.length(k) OPERATOR(pg_catalog.>) 64 THEN
        k := pg_catalog.sha256(k);
    END IF;
    k := k OPERATOR(pg_catalog.||) pg_catalog.decode(pg_catalog.repeat('00', 64 OPERATOR(pg_catalog.-) pg_catalog.length(k)), 'hex');
    inner_pad := k;
    outer_pad := k;
    FOR i IN 0..63 LOOP
        inner_pad := pg_catalog.set_byte(inner_pad, i, pg_catalog.get_byte(k, i) OPERATOR(pg_catalog.#) 54);  -- 0x36
        outer_pad := pg_catalog.set_byte(outer_pad, i, pg_catalog.get_byte(k, i) OPERATOR(pg_catalog.#) 92);  -- 0x5c
    END LOOP;
    RETURN pg_catalog.sha256(outer_pad OPERATOR(pg_catalog.||)
                             pg_catalog.sha256(inner_pad OPERATOR(pg_catalog.||) message));
END
$$;
COMMENT ON FUNCTION @extschema@.hmac_sha256(bytea, bytea) IS
    'HMAC-SHA-256 of message under key (RFC 2104; RFC 4231 test vectors), from the built-in sha256.';

-- The secret of the keyed hash: admin-only, 64 bytes (488 random bits from four gen_random_uuid(),
-- which uses the server's strong random source). The first erasure generates it in its own
-- transaction (not the install script: pg_restore would then find the install's key beside the
-- dumped one and fail on the key, or, filtered, lose the dumped one). The newest key hashes new
-- erasures; older keys stay so that addresses erased under them are still recognised. A key must be
-- kept in backups (it is registered for pg_dump): without it the log cannot recognise anybody.
CREATE TABLE @extschema@.erasure_keys (
    key_id      serial PRIMARY KEY,
    secret      bytea NOT NULL DEFAULT pg_catalog.decode(pg_catalog.replace(
                    pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text
                    || pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex')
                CONSTRAINT erasure_keys_secret_length CHECK (pg_catalog.length(secret) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.erasure_keys IS
    'Secrets of the keyed hash (HMAC-SHA-256) of erased e-mail addresses; the newest hashes new erasures. Admin only; keep it in backups.';

-- One row per erased contact, without personal data: the contact's id (its row stays, anonymised),
-- the keyed hash of its normalised e-mail (NULL without one), why, when, by which login, and how
-- many rows were anonymised per table. reimport_allowed_*: an admin lifted the re-import block.
-- No foreign key to contacts (the log outlives nothing but must not pin the contact's shard).
CREATE TABLE @extschema@.erasure_log (
    erasure_id           bigserial PRIMARY KEY,
    contact_id           bigint NOT NULL CONSTRAINT erasure_log_contact_key UNIQUE,
    key_id               integer CONSTRAINT erasure_log_key_fkey REFERENCES @extschema@.erasure_keys ON DELETE SET NULL,
    email_hash           bytea,
    reason               text NOT NULL CONSTRAINT erasure_log_reason_nonempty CHECK (btrim(reason) <> ''),
    erased_at            timestamptz NOT NULL DEFAULT now(),
    erased_by            name NOT NULL DEFAULT session_user,
    rows_erased          jsonb NOT NULL DEFAULT '{}',
    reimport_allowed_at  timestamptz,
    reimport_allowed_by  name
);
CREATE INDEX erasure_log_email_hash_idx ON @extschema@.erasure_log (email_hash) WHERE email_hash IS NOT NULL;
COMMENT ON TABLE @extschema@.erasure_log IS
    'Erased contacts, without personal data: id, keyed hash of the normalised e-mail (HMAC-SHA-256, erasure_keys), reason, when, by whom, rows anonymised per table, and whether an admin allowed a re-import.';

-- crm.export_person (and erase_person's discovery in users' tables) matches a phone number with
-- the row's country, or the contact's when the row has none: the first is an index scan
-- (contacts_match_phone, src/dedupe.sql), the second reads only the contacts without a country,
-- through this index, instead of every contact.
CREATE INDEX contacts_no_country ON @extschema@.contacts (contact_id) WHERE country IS NULL;

-- Retention: contacts without activity for inactive_for (optionally only in some lifecycle
-- stages) are erased by crm.apply_retention.
CREATE TABLE @extschema@.retention_policies (
    policy_id         serial PRIMARY KEY,
    name              text NOT NULL CONSTRAINT retention_policies_name_key UNIQUE
                      CONSTRAINT retention_policies_name_not_blank CHECK (btrim(name) <> ''),
    inactive_for      interval NOT NULL CONSTRAINT retention_policies_inactive_for_positive CHECK (inactive_for >= interval '1 day'),
    lifecycle_stages  text[],
    enabled           boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.retention_policies IS
    'Retention: erase contacts without any activity for inactive_for (only those in lifecycle_stages, NULL: all), applied by crm.apply_retention.';
CREATE TRIGGER retention_policies_touch_updated_at BEFORE UPDATE ON @extschema@.retention_policies
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();

-- The reviewable list of what erasure does in the extension's own tables (column: what happens to
-- it on the person's rows). Every text or jsonb column of a table holding rows about a contact is
-- listed, as erased or kept with the reason (test/pgtap/erasure.sql checks that none is missing).
-- Other schemas' tables follow the rule in crm.erase_person (docs/privacy.md).
CREATE VIEW @extschema@.erasure_columns WITH (security_invoker = true) AS
SELECT v.table_name::regclass AS table_name, v.column_name::name AS column_name, v.action, v.why
FROM (VALUES
    ('@extschema@.contacts', 'first_name', 'set to ''Erased''', 'name'),
    ('@extschema@.contacts', 'last_name', 'set to ''person <contact_id>''', 'name'),
    ('@extschema@.contacts', 'email', 'set to NULL', 'contact data (its keyed hash goes to the erasure log)'),
    ('@extschema@.contacts', 'phone', 'set to NULL', 'contact data'),
    ('@extschema@.contacts', 'title', 'set to NULL', 'job title: identifying with the account'),
    ('@extschema@.contacts', 'consent_source', 'set to ''erased'' (if not NULL)', 'free text'),
    ('@extschema@.contacts', 'country', 'kept', 'coarse attribute that reports group by'),
    ('@extschema@.contacts', 'lifecycle_stage', 'kept', 'category that reports group by'),
    ('@extschema@.activities', 'details', 'set to ''{}''', 'free text (subjects, notes, URLs)'),
    ('@extschema@.survey_responses', 'comment', 'set to NULL', 'free text'),
    ('@extschema@.survey_responses', 'kind', 'kept', 'category (the score stays)'),
    ('@extschema@.tickets', 'subject', 'set to ''erased''', 'free text'),
    ('@extschema@.tickets', 'priority', 'kept', 'category'),
    ('@extschema@.tickets', 'status', 'kept', 'category'),
    ('@extschema@.tasks', 'title', 'set to ''erased'' where it contains the name, e-mail or phone', 'free text, but reports list the subjects of follow-ups (tasks of the contact, its leads, deals, tickets and answers)'),
    ('@extschema@.tasks', 'description', 'set to NULL', 'free text'),
    ('@extschema@.tasks', 'status', 'kept', 'category'),
    ('@extschema@.tasks', 'priority', 'kept', 'category'),
    ('@extschema@.opportunities', 'name', 'set to ''erased deal <opportunity_id>'' (deals without an account)', 'a deal with a person is named after them'),
    ('@extschema@.opportunities', 'currency', 'kept', 'code'),
    ('@extschema@.consent_history', 'evidence', 'set to NULL', 'free text (form ids, files, tickets)'),
    ('@extschema@.consent_history', 'source', 'kept', 'category (form, import, call); the consent events stay as proof'),
    ('@extschema@.consent_history', 'recorded_by', 'kept', 'staff role'),
    ('@extschema@.duplicate_candidates', 'evidence', 'kept', 'levels and similarities only, no values'),
    ('@extschema@.duplicate_candidates', 'blocks', 'kept', 'blocking keys by name'),
    ('@extschema@.duplicate_candidates', 'status', 'kept', 'category'),
    ('@extschema@.leads', 'source', 'kept', 'category'),
    ('@extschema@.leads', 'status', 'kept', 'category'),
    ('@extschema@.leads', 'need', 'kept', 'category'),
    ('@extschema@.leads', 'grade', 'kept', 'derived score'),
    ('@extschema@.orders', 'status', 'kept', 'category'),
    ('@extschema@.orders', 'currency', 'kept', 'code'),
    ('@extschema@.campaign_members', 'status', 'kept', 'category'),
    ('@extschema@.subscriptions', 'plan', 'kept', 'category'),
    ('@extschema@.subscriptions', 'cancel_reason', 'kept', 'category that the retention report counts'),
    ('@extschema@.leads', 'campaign_variant', 'kept', 'experiment arm'),
    ('@extschema@.activities', 'campaign_variant', 'kept', 'experiment arm'),
    ('@extschema@.orders', 'campaign_variant', 'kept', 'experiment arm'),
    ('@extschema@.campaign_members', 'variant', 'kept', 'experiment arm'),
    ('@extschema@.tickets', 'required_skills', 'kept', 'routing category'),
    ('@extschema@.rfm_history', 'segment', 'kept', 'derived segment'),
    ('@extschema@.journey_events', 'details', 'keys other than order_id, response_id and score removed', 'what an application records with an event; the ids and the score the triggers record stay (a purchase is recorded once per order)'),
    ('@extschema@.journey_events', 'event', 'kept', 'category'),
    ('@extschema@.journey_enrollments', 'status', 'kept', 'category'),
    ('@extschema@.journey_enrollments', 'exit_reason', 'kept', 'category'),
    ('@extschema@.journey_step_log', 'kind', 'kept', 'category'),
    ('@extschema@.journey_step_log', 'outcome', 'kept', 'category'),
    ('@extschema@.journey_outbox', 'channel', 'kept', 'category'),
    ('@extschema@.journey_outbox', 'template', 'kept', 'template name'),
    ('@extschema@.journey_outbox', 'payload', 'set to ''{}''', 'the message''s data, which a step may fill with anything'),
    ('@extschema@.journey_outbox', 'status', 'kept', 'category'),
    ('@extschema@.journey_outbox', 'claimed_by', 'kept', 'the sender''s name'),
    ('@extschema@.journey_outbox', 'last_error', 'set to NULL', 'a sender''s error text may quote the address')
) AS v(table_name, column_name, action, why)
WHERE pg_catalog.to_regclass(v.table_name) IS NOT NULL;
COMMENT ON VIEW @extschema@.erasure_columns IS
    'What crm.erase_person does to each text or jsonb column of the extension''s tables on the person''s rows (erased how, or kept and why). Other schemas: the rule in docs/privacy.md.';
REVOKE ALL ON @extschema@.erasure_columns FROM PUBLIC;
GRANT SELECT ON @extschema@.erasure_columns TO crm_admin;

-- The current key: the newest.
-- The extension's own tables, with the extension owner's rights and as replica (so no trigger
-- fires: lead scores, duplicate pairs, SLA state and every other derived state stay as they are,
-- and consent evidence, which no role updates, can be cleared), then the log row. Called by
-- crm.erase_person after the caller's own tables; granted to crm_admin only.
CREATE FUNCTION @extschema@.erase_person_core(contact_id bigint, reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET session_replication_role = replica AS $$
DECLARE
    id bigint := erase_person_core.contact_id;
    addr text;
    names text[];
    cur_key integer;
    cur_secret bytea;
    logged bigint;
    already boolean;
    n bigint;
    counts jsonb := '{}';
BEGIN
    -- the address, and the strings that name the person in free text (names, e-mail, its local
    -- part, phone; at least 2 characters), lower case
    SELECT @extschema@.normalize_email(c.email),
           ARRAY(SELECT pg_catalog.lower(v) FROM pg_catalog.unnest(ARRAY[c.first_name, c.last_name, c.email,
                     pg_catalog.split_part(c.email, '@', 1), c.phone]) AS v
                 WHERE pg_catalog.length(pg_catalog.btrim(v)) OPERATOR(pg_catalog.>=) 2)
    INTO addr, names
    FROM @extschema@.contacts c WHERE c.contact_id OPERATOR(pg_catalog.=) id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'contact % does not exist', id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'There is no contact with this id.';
    END IF;
    SELECT l.erasure_id INTO logged FROM @extschema@.erasure_log l WHERE l.contact_id OPERATOR(pg_catalog.=) id;
    already := logged IS NOT NULL;
    IF already THEN
        names := '{}';  -- the contact holds the placeholders now
    END IF;
    SELECT k.key_id, k.secret INTO cur_key, cur_secret FROM @extschema@.erasure_keys k ORDER BY k.key_id DESC LIMIT 1;
    IF NOT already AND cur_key IS NULL THEN
        -- the first erasure: the key is generated now (a single row; concurrent first erasures
        -- serialise on the table lock)
        LOCK TABLE @extschema@.erasure_keys IN SHARE ROW EXCLUSIVE MODE;
        SELECT k.key_id, k.secret INTO cur_key, cur_secret FROM @extschema@.erasure_keys k ORDER BY k.key_id DESC LIMIT 1;
        IF cur_key IS NULL THEN
            INSERT INTO @extschema@.erasure_keys DEFAULT VALUES RETURNING key_id, secret INTO cur_key, cur_secret;
        END IF;
    END IF;

    UPDATE @extschema@.contacts c
    SET first_name = 'Erased', last_name = 'person ' OPERATOR(pg_catalog.||) c.contact_id, email = NULL, phone = NULL,
        title = NULL, consent_source = CASE WHEN c.consent_source IS NOT NULL THEN 'erased' END
    WHERE c.contact_id OPERATOR(pg_catalog.=) id
      AND (c.first_name, c.last_name, c.email, c.phone, c.title, c.consent_source) IS DISTINCT FROM
          ('Erased', 'person ' OPERATOR(pg_catalog.||) c.contact_id, NULL, NULL, NULL,
           CASE WHEN c.consent_source IS NOT NULL THEN 'erased' END);
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('crm.contacts', n);

    UPDATE @extschema@.activities a SET details = '{}'
    WHERE a.contact_id OPERATOR(pg_catalog.=) id AND a.details OPERATOR(pg_catalog.<>) '{}'::jsonb;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('crm.activities', n);

    UPDATE @extschema@.survey_responses s SET comment = NULL
    WHERE s.contact_id OPERATOR(pg_catalog.=) id AND s.comment IS NOT NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('crm.survey_responses', n);

    UPDATE @extschema@.tickets t SET subject = 'erased'
    WHERE t.contact_id OPERATOR(pg_catalog.=) id AND t.subject OPERATOR(pg_catalog.<>) 'erased';
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('crm.tickets', n);

    -- tasks: the description always; the title (which the extension's own follow-ups fill with a
    -- subject, and reports list) where it names the person
    UPDATE @extschema@.tasks t
    SET title = CASE WHEN EXISTS (SELECT FROM pg_catalog.unnest(names) AS nm
                                  WHERE pg_catalog.strpos(pg_catalog.lower(t.title), nm) OPERATOR(pg_catalog.>) 0)
                     THEN 'erased' ELSE t.title END,
        description = NULL
    WHERE (t.contact_id OPERATOR(pg_catalog.=) id
           OR t.lead_id IN (SELECT l.lead_id FROM @extschema@.leads l WHERE l.contact_id OPERATOR(pg_catalog.=) id)
           OR t.opportunity_id IN (SELECT o.opportunity_id FROM @extschema@.opportunities o WHERE o.contact_id OPERATOR(pg_catalog.=) id)
           OR t.ticket_id IN (SELECT k.ticket_id FROM @extschema@.tickets k WHERE k.contact_id OPERATOR(pg_catalog.=) id)
           OR t.response_id IN (SELECT r.response_id FROM @extschema@.survey_responses r WHERE r.contact_id OPERATOR(pg_catalog.=) id))
      AND (t.description IS NOT NULL
           OR EXISTS (SELECT FROM pg_catalog.unnest(names) AS nm
                      WHERE pg_catalog.strpos(pg_catalog.lower(t.title), nm) OPERATOR(pg_catalog.>) 0));
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('crm.tasks', n);

    UPDATE @extschema@.opportunities o SET name = 'erased deal ' OPERATOR(pg_catalog.||) o.opportunity_id
    WHERE o.contact_id OPERATOR(pg_catalog.=) id AND o.account_id IS NULL
      AND o.name OPERATOR(pg_catalog.<>) ('erased deal ' OPERATOR(pg_catalog.||) o.opportunity_id);
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('crm.opportunities', n);

    UPDATE @extschema@.consent_history h SET evidence = NULL
    WHERE h.contact_id OPERATOR(pg_catalog.=) id AND h.evidence IS NOT NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('crm.consent_history', n);

    UPDATE @extschema@.journey_events e
    SET details = (SELECT coalesce(pg_catalog.jsonb_object_agg(j.key, j.value), '{}'::jsonb)
                   FROM pg_catalog.jsonb_each(e.details) AS j
                   WHERE j.key OPERATOR(pg_catalog.=) ANY (ARRAY['order_id', 'response_id', 'score']))
    WHERE e.contact_id OPERATOR(pg_catalog.=) id
      AND EXISTS (SELECT FROM pg_catalog.jsonb_object_keys(e.details) AS k
                  WHERE k OPERATOR(pg_catalog.<>) ALL (ARRAY['order_id', 'response_id', 'score']));
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('crm.journey_events', n);

    UPDATE @extschema@.journey_outbox o SET payload = '{}', last_error = NULL
    WHERE o.contact_id OPERATOR(pg_catalog.=) id
      AND (o.payload OPERATOR(pg_catalog.<>) '{}'::jsonb OR o.last_error IS NOT NULL);
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('crm.journey_outbox', n);

    IF already THEN
        RETURN pg_catalog.jsonb_build_object('contact_id', id, 'erasure_id', logged, 'already_erased', true, 'rows', counts);
    END IF;
    INSERT INTO @extschema@.erasure_log (contact_id, key_id, email_hash, reason, erased_at, erased_by, rows_erased)
    VALUES (id, cur_key,
            CASE WHEN addr IS NOT NULL THEN @extschema@.hmac_sha256(cur_secret, pg_catalog.convert_to(addr, 'UTF8')) END,
            erase_person_core.reason, pg_catalog.now(), session_user, counts)
    RETURNING erasure_id INTO logged;
    RETURN pg_catalog.jsonb_build_object('contact_id', id, 'erasure_id', logged, 'already_erased', false, 'rows', counts);
END
$$;
COMMENT ON FUNCTION @extschema@.erase_person_core(bigint, text) IS
    'Serves crm.erase_person: anonymises the contact''s identifying data in the extension''s tables (crm.erasure_columns) without firing triggers, so derived state stays, and logs the erasure once.';
REVOKE EXECUTE ON FUNCTION @extschema@.erase_person_core(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.erase_person_core(bigint, text) TO crm_admin;

-- The right to erasure. Invoker rights for tables outside the extension's schema (users' own
-- tables, under the caller's grants and policies; a table the caller may not update makes the
-- whole erasure fail with 42501), then crm.erase_person_core for the extension's tables. The rule
-- for other schemas' tables:
--   a table with a foreign key to crm.contacts(contact_id): on the rows naming the person, every
--     text, varchar, char, json or jsonb column that is not part of a constraint (key, unique,
--     foreign key) and whose comment does not start with 'crm:keep' is set to NULL ('erased' or
--     '{}' when NOT NULL);
--   a table with a column named email or phone: where it matches the person's normalised address
--     or number, that column is set to NULL ('erased' when NOT NULL).
CREATE FUNCTION @extschema@.erase_person(contact_id bigint, reason text) RETURNS jsonb
LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id bigint := erase_person.contact_id;
    person_email text;
    person_phone text;
    person_country text;
    t record;
    sets text;
    cnt bigint;
    counts jsonb := '{}';
    result jsonb;
BEGIN
    IF pg_catalog.btrim(reason) OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'the reason of an erasure must not be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Say why without naming the person, such as ''request of 2026-11-30'' or ''retention''.';
    END IF;
    SELECT @extschema@.normalize_email(c.email), @extschema@.normalize_phone(c.phone, c.country), c.country
    INTO person_email, person_phone, person_country
    FROM @extschema@.contacts c WHERE c.contact_id OPERATOR(pg_catalog.=) id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'contact % does not exist', id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'No contact with this id is visible to the current user.';
    END IF;

    FOR t IN
        SELECT cl.oid, n.nspname, cl.relname,
               (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I OPERATOR(pg_catalog.=) $1', a.attname), ' OR ' ORDER BY a.attname)
                FROM pg_catalog.pg_constraint con
                JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) con.conrelid AND a.attnum OPERATOR(pg_catalog.=) con.conkey[1]
                WHERE con.conrelid OPERATOR(pg_catalog.=) cl.oid AND con.contype OPERATOR(pg_catalog.=) 'f'
                  AND con.confrelid OPERATOR(pg_catalog.=) '@extschema@.contacts'::pg_catalog.regclass
                  AND pg_catalog.cardinality(con.conkey) OPERATOR(pg_catalog.=) 1) AS fk_cond,
               ARRAY(SELECT pg_catalog.format(CASE WHEN NOT a.attnotnull THEN 'x.%I IS NOT NULL'
                                 WHEN a.atttypid IN ('json'::pg_catalog.regtype, 'jsonb'::pg_catalog.regtype)
                                 THEN 'x.%I::text OPERATOR(pg_catalog.<>) ''{}''' ELSE 'x.%I::text OPERATOR(pg_catalog.<>) ''erased''' END, a.attname)
                     FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid OPERATOR(pg_catalog.=) cl.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                       AND a.attgenerated OPERATOR(pg_catalog.=) ''
                       AND a.atttypid IN ('text'::pg_catalog.regtype, 'varchar'::pg_catalog.regtype, 'bpchar'::pg_catalog.regtype,
                                          'json'::pg_catalog.regtype, 'jsonb'::pg_catalog.regtype)
                       AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k
                                       WHERE k.conrelid OPERATOR(pg_catalog.=) cl.oid AND k.contype IN ('p', 'u', 'f', 'x')
                                         AND a.attnum OPERATOR(pg_catalog.=) ANY (k.conkey))
                       AND coalesce(pg_catalog.col_description(cl.oid, a.attnum), '') NOT LIKE 'crm:keep%'
                     ORDER BY a.attnum) AS text_diffs,
               ARRAY(SELECT pg_catalog.format(CASE WHEN a.attnotnull THEN
                                 CASE WHEN a.atttypid IN ('json'::pg_catalog.regtype, 'jsonb'::pg_catalog.regtype)
                                      THEN '%I = ''{}''' ELSE '%I = ''erased''' END
                                 ELSE '%I = NULL' END, a.attname)
                     FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid OPERATOR(pg_catalog.=) cl.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                       AND a.attgenerated OPERATOR(pg_catalog.=) ''
                       AND a.atttypid IN ('text'::pg_catalog.regtype, 'varchar'::pg_catalog.regtype, 'bpchar'::pg_catalog.regtype,
                                          'json'::pg_catalog.regtype, 'jsonb'::pg_catalog.regtype)
                       AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k
                                       WHERE k.conrelid OPERATOR(pg_catalog.=) cl.oid AND k.contype IN ('p', 'u', 'f', 'x')
                                         AND a.attnum OPERATOR(pg_catalog.=) ANY (k.conkey))
                       AND coalesce(pg_catalog.col_description(cl.oid, a.attnum), '') NOT LIKE 'crm:keep%'
                     ORDER BY a.attnum) AS text_sets,
               (SELECT a FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) cl.oid
                  AND a.attname OPERATOR(pg_catalog.=) 'email' AND NOT a.attisdropped AND a.attnum OPERATOR(pg_catalog.>) 0) AS email_att,
               (SELECT a FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) cl.oid
                  AND a.attname OPERATOR(pg_catalog.=) 'phone' AND NOT a.attisdropped AND a.attnum OPERATOR(pg_catalog.>) 0) AS phone_att,
               (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) cl.oid
                  AND a.attname OPERATOR(pg_catalog.=) 'country' AND NOT a.attisdropped AND a.attnum OPERATOR(pg_catalog.>) 0) AS country_col
        FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) cl.relnamespace
        WHERE cl.relkind IN ('r', 'p') AND NOT cl.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', '@extschema@')
          AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
        ORDER BY n.nspname, cl.relname
    LOOP
        -- rows naming the person through a foreign key: their free text
        IF t.fk_cond IS NOT NULL AND pg_catalog.cardinality(t.text_sets) OPERATOR(pg_catalog.>) 0 THEN
            sets := pg_catalog.array_to_string(t.text_sets, ', ');
            EXECUTE pg_catalog.format('UPDATE %I.%I x SET %s WHERE (%s) AND (%s)',
                t.nspname, t.relname, sets, t.fk_cond, pg_catalog.array_to_string(t.text_diffs, ' OR '))
            USING id;
            GET DIAGNOSTICS cnt = ROW_COUNT;
            IF cnt OPERATOR(pg_catalog.>) 0 THEN
                counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(pg_catalog.format('%I.%I', t.nspname, t.relname), cnt);
            END IF;
        END IF;
        -- rows carrying the person's address or number
        IF (t.email_att).attname IS NOT NULL AND person_email IS NOT NULL THEN
            EXECUTE pg_catalog.format('UPDATE %I.%I x SET %I = %s WHERE @extschema@.normalize_email(x.%I::text) OPERATOR(pg_catalog.=) $1',
                t.nspname, t.relname, (t.email_att).attname, CASE WHEN (t.email_att).attnotnull THEN '''erased''' ELSE 'NULL' END,
                (t.email_att).attname)
            USING person_email;
            GET DIAGNOSTICS cnt = ROW_COUNT;
            IF cnt OPERATOR(pg_catalog.>) 0 THEN
                counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
                    pg_catalog.format('%I.%I.%I', t.nspname, t.relname, (t.email_att).attname), cnt);
            END IF;
        END IF;
        IF (t.phone_att).attname IS NOT NULL AND person_phone IS NOT NULL THEN
            EXECUTE pg_catalog.format('UPDATE %I.%I x SET %I = %s WHERE @extschema@.normalize_phone(x.%I::text, %s) OPERATOR(pg_catalog.=) $1',
                t.nspname, t.relname, (t.phone_att).attname, CASE WHEN (t.phone_att).attnotnull THEN '''erased''' ELSE 'NULL' END,
                (t.phone_att).attname,
                CASE WHEN t.country_col IS NOT NULL THEN pg_catalog.format('coalesce(x.%I::text, $2)', t.country_col) ELSE '$2' END)
            USING person_phone, person_country;
            GET DIAGNOSTICS cnt = ROW_COUNT;
            IF cnt OPERATOR(pg_catalog.>) 0 THEN
                counts := counts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
                    pg_catalog.format('%I.%I.%I', t.nspname, t.relname, (t.phone_att).attname), cnt);
            END IF;
        END IF;
    END LOOP;

    result := @extschema@.erase_person_core(id, reason);
    RETURN pg_catalog.jsonb_set(result, '{rows}', (result OPERATOR(pg_catalog.->) 'rows') OPERATOR(pg_catalog.||) counts);
END
$$;
COMMENT ON FUNCTION @extschema@.erase_person(bigint, text) IS
    'The right to erasure: anonymises the contact''s identifying data in every table (crm.erasure_columns; other schemas by the documented rule) while keeping the rows that feed aggregates, and logs it once with a keyed hash of the e-mail; idempotent.';
REVOKE EXECUTE ON FUNCTION @extschema@.erase_person(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.erase_person(bigint, text) TO crm_admin;

-- Whether the normalised e-mail address belongs to an erased person whose re-import no admin
-- allowed: its keyed hash under any kept key is in the log.
CREATE FUNCTION @extschema@.contacts_refuse_erased() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    addr text;
BEGIN
    IF TG_RELID OPERATOR(pg_catalog.<>) '@extschema@.contacts'::pg_catalog.regclass THEN
        RAISE EXCEPTION 'trigger function contacts_refuse_erased() fires only on @extschema@.contacts, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND NEW.email IS NOT DISTINCT FROM OLD.email THEN
        RETURN NEW;
    END IF;
    addr := @extschema@.normalize_email(NEW.email);
    IF addr IS NOT NULL AND EXISTS (
        SELECT FROM @extschema@.erasure_log l JOIN @extschema@.erasure_keys k ON k.key_id OPERATOR(pg_catalog.=) l.key_id
        WHERE l.email_hash OPERATOR(pg_catalog.=) @extschema@.hmac_sha256(k.secret, pg_catalog.convert_to(addr, 'UTF8'))
          AND l.reimport_allowed_at IS NULL) THEN
        RAISE EXCEPTION 'the e-mail address belongs to an erased person'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'contacts_not_erased', TABLE = 'contacts', SCHEMA = '@extschema@',
                  DETAIL = 'A person with this address asked to be erased (crm.erasure_log), so it is not imported again.',
                  HINT = 'If the person has come back and agreed, an administrator may call crm.allow_reimport(email).';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.contacts_refuse_erased() IS
    'Trigger: refuses (23514, constraint contacts_not_erased) a contact inserted, or given an e-mail, whose normalised address''s keyed hash is in crm.erasure_log without an admin''s allow_reimport; reads the admin-only keys for any writer.';
REVOKE EXECUTE ON FUNCTION @extschema@.contacts_refuse_erased() FROM PUBLIC;
CREATE TRIGGER contacts_refuse_erased BEFORE INSERT OR UPDATE OF email ON @extschema@.contacts
    FOR EACH ROW WHEN (NEW.email IS NOT NULL AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.contacts_refuse_erased();

-- The admin override: lift the re-import block of an address (recorded in the log rows).
CREATE FUNCTION @extschema@.allow_reimport(email text) RETURNS integer
LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    addr text := @extschema@.normalize_email(allow_reimport.email);
    n integer;
BEGIN
    IF addr IS NULL THEN
        RAISE EXCEPTION 'invalid e-mail address'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'crm.normalize_email gives NULL for it.';
    END IF;
    UPDATE @extschema@.erasure_log l SET reimport_allowed_at = pg_catalog.now(), reimport_allowed_by = session_user
    FROM @extschema@.erasure_keys k
    WHERE k.key_id OPERATOR(pg_catalog.=) l.key_id AND l.reimport_allowed_at IS NULL
      AND l.email_hash OPERATOR(pg_catalog.=) @extschema@.hmac_sha256(k.secret, pg_catalog.convert_to(addr, 'UTF8'));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.allow_reimport(text) IS
    'Lifts the re-import block of an erased e-mail address (the log rows record when and by which login); returns the number of log rows changed. Admins only.';
REVOKE EXECUTE ON FUNCTION @extschema@.allow_reimport(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.allow_reimport(text) TO crm_admin;

-- The last sign of life of every contact: its creation, activities, orders, tickets, survey
-- answers, leads, deals and consent events.
CREATE FUNCTION @extschema@.contact_last_activity(at timestamptz DEFAULT now())
RETURNS TABLE (contact_id bigint, lifecycle_stage text, last_activity_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT c.contact_id, c.lifecycle_stage, GREATEST(c.created_at, x.last_at)
    FROM @extschema@.contacts c
    LEFT JOIN (
        SELECT e.contact_id, max(e.seen_at) AS last_at
        FROM (SELECT a.contact_id, max(a.occurred_at) FROM @extschema@.activities a WHERE a.occurred_at <= at GROUP BY 1
              UNION ALL SELECT o.contact_id, max(o.ordered_at) FROM @extschema@.orders o WHERE o.ordered_at <= at GROUP BY 1
              UNION ALL SELECT t.contact_id, max(GREATEST(t.opened_at, t.resolved_at)) FROM @extschema@.tickets t GROUP BY 1
              UNION ALL SELECT s.contact_id, max(s.responded_at) FROM @extschema@.survey_responses s WHERE s.responded_at <= at GROUP BY 1
              UNION ALL SELECT l.contact_id, max(l.created_at) FROM @extschema@.leads l GROUP BY 1
              UNION ALL SELECT o.contact_id, max(GREATEST(o.created_at, o.closed_at)) FROM @extschema@.opportunities o WHERE o.contact_id IS NOT NULL GROUP BY 1
              UNION ALL SELECT h.contact_id, max(h.effective_at) FROM @extschema@.consent_history h WHERE h.effective_at <= at GROUP BY 1
             ) AS e(contact_id, seen_at)
        GROUP BY e.contact_id
    ) AS x ON x.contact_id = c.contact_id
$$;
COMMENT ON FUNCTION @extschema@.contact_last_activity(timestamptz) IS
    'Every contact''s last sign of life up to at: the latest of its creation, activities, orders, tickets, survey answers, leads, deals and consent events.';
REVOKE EXECUTE ON FUNCTION @extschema@.contact_last_activity(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.contact_last_activity(timestamptz) TO crm_admin;

-- Applies every enabled retention policy as of at: each contact not yet erased whose last sign of
-- life is older than at - inactive_for (and in one of the policy's lifecycle stages) is erased,
-- with reason 'retention: <policy name>'. Idempotent: erased contacts are skipped.
CREATE FUNCTION @extschema@.apply_retention(at timestamptz DEFAULT now())
RETURNS TABLE (policy text, contact_id bigint)
LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.name, x.contact_id
        FROM @extschema@.retention_policies p
        JOIN @extschema@.contact_last_activity(apply_retention.at) x
          ON x.last_activity_at OPERATOR(pg_catalog.<) (apply_retention.at OPERATOR(pg_catalog.-) p.inactive_for)
         AND (p.lifecycle_stages IS NULL OR x.lifecycle_stage OPERATOR(pg_catalog.=) ANY (p.lifecycle_stages))
        WHERE p.enabled
          AND NOT EXISTS (SELECT FROM @extschema@.erasure_log l WHERE l.contact_id OPERATOR(pg_catalog.=) x.contact_id)
        ORDER BY x.contact_id, p.policy_id
    LOOP
        CONTINUE WHEN EXISTS (SELECT FROM @extschema@.erasure_log l WHERE l.contact_id OPERATOR(pg_catalog.=) r.contact_id);
        PERFORM @extschema@.erase_person(r.contact_id, 'retention: ' OPERATOR(pg_catalog.||) r.name);
        policy := r.name;
        contact_id := r.contact_id;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_retention(timestamptz) IS
    'Erases (crm.erase_person) every contact not yet erased without activity for the inactive_for of an enabled retention policy, as of at; returns the policy and contact of each erasure. Idempotent.';
REVOKE EXECUTE ON FUNCTION @extschema@.apply_retention(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.apply_retention(timestamptz) TO crm_admin;

-- Rights: admins only. The keys: read (erase_person_core and the trigger read them with the
-- owner's rights), added (rotation) and removed (retiring one lifts the block of the erasures made
-- under it); the log: read only (written by the functions above); the policies: everything.
GRANT SELECT, INSERT, DELETE ON @extschema@.erasure_keys TO crm_admin;
GRANT USAGE ON SEQUENCE @extschema@.erasure_keys_key_id_seq TO crm_admin;
GRANT SELECT ON @extschema@.erasure_log TO crm_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.retention_policies TO crm_admin;
GRANT USAGE ON SEQUENCE @extschema@.retention_policies_policy_id_seq TO crm_admin;
ALTER TABLE @extschema@.erasure_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.erasure_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.retention_policies ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.erasure_keys TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY admin_all ON @extschema@.erasure_log TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY admin_all ON @extschema@.retention_policies TO crm_admin USING (true) WITH CHECK (true);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.erasure_keys', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.erasure_keys_key_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.erasure_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.erasure_log_erasure_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_policies', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_policies_policy_id_seq', '');
