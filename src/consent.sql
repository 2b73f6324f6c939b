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
