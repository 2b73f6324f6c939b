-- s3-consent: what the upgrade does besides creating the parts (s3-consent.parts lists
-- src/consent.sql, which runs first). crm.add_segment_to_campaign's consent-aware version is
-- created by s4-citus-report.sql.
-- Upgrade from 0.1: every contact whose flag is true gets one history row, taking effect at the
-- consent_at 0.1 required with the flag (never later than the upgrade), recorded now by whoever
-- runs the upgrade. The flags already equal has_consent, so the sync trigger changes nothing.
INSERT INTO @extschema@.consent_history (contact_id, purpose, granted, lawful_basis, source, evidence, effective_at)
SELECT c.contact_id, 'marketing_email', true, 'consent', 'migrated from 0.1', c.consent_source,
       LEAST(c.consent_at, pg_catalog.now())
FROM @extschema@.contacts c
WHERE c.marketing_consent
ORDER BY c.contact_id;

