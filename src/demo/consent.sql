-- src/demo/consent.sql: the demo data hook of src/consent.sql (extension crm_demo): consent
-- histories per contact and purpose.

-- Demo hook (called by crm.generate_demo_data, as replica: the history's triggers do not fire, so
-- recorded_at and recorded_by are written here and contacts.marketing_consent is left as the
-- generator set it, which the history agrees with). Per contact, from random keys with tag 150
-- (per purpose: sub = the purpose's position):
--   marketing_email: a contact with the flag gets a grant at its consent_at (source its
--     consent_source, basis consent); of those without it, 25 % granted once and withdrew later
--     (source 'unsubscribe link'; for profiling, an objection
--     under the same basis), so the flag (false) still equals the history;
--   marketing_sms 30 %, marketing_phone 12 % (basis consent), profiling 45 % (legitimate
--     interests), third_party_sharing 6 % (consent): a grant some time after the contact was
--     created; of each purpose's grants 20 % are withdrawn later (tag 151);
-- every event no later than the last activity of the CRM (the generator's end of time).
-- Ids from 1 in (contact, purpose, event) order; the sequence continues after them.
CREATE FUNCTION @extschema@.generate_demo_consent(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t_end timestamptz;
BEGIN
    SELECT max(occurred_at) INTO t_end FROM @extschema@.activities;
    IF t_end IS NULL THEN
        RETURN;
    END IF;

    INSERT INTO @extschema@.consent_history (consent_id, contact_id, purpose, granted, lawful_basis, source, evidence,
                                             effective_at, recorded_at, recorded_by)
    SELECT row_number() OVER (ORDER BY e.contact_id, e.purpose, e.effective_at, e.granted DESC),
           e.contact_id, e.purpose, e.granted, e.lawful_basis, e.source, e.evidence,
           e.effective_at, e.effective_at + interval '5 minutes' * (1 + e.u_rec), 'crm_demo'
    FROM (
        -- the grants
        SELECT c.contact_id, p.purpose, true AS granted,
               CASE WHEN p.purpose = 'profiling' THEN 'legitimate_interests' ELSE 'consent' END::@extschema@.lawful_basis AS lawful_basis,
               CASE WHEN p.purpose = 'marketing_email' AND c.marketing_consent THEN c.consent_source
                    ELSE (ARRAY['web form', 'checkout', 'import', 'call'])[1 + floor(4 * @extschema@.demo_uniform(k, 3))::integer] END AS source,
               'demo form #' || (1000 + floor(9000 * @extschema@.demo_uniform(k, 4))::integer) AS evidence,
               CASE WHEN p.purpose = 'marketing_email' AND c.marketing_consent THEN least(c.consent_at, t_end)
                    ELSE date_trunc('second', c.created_at + (t_end - c.created_at) * 0.5 * @extschema@.demo_uniform(k, 2)) END AS effective_at,
               floor(3 * @extschema@.demo_uniform(k, 5)) AS u_rec, k, p.share
        FROM @extschema@.contacts c
        CROSS JOIN (VALUES ('marketing_email'::@extschema@.consent_purpose, 1, 0.25), ('marketing_sms', 2, 0.30),
                           ('marketing_phone', 3, 0.12), ('profiling', 4, 0.45), ('third_party_sharing', 5, 0.06)) AS p(purpose, n, share)
        CROSS JOIN LATERAL @extschema@.demo_key(seed, 150, c.contact_id, p.n) AS k
        WHERE c.created_at < t_end
          AND ((p.purpose = 'marketing_email' AND c.marketing_consent) OR @extschema@.demo_uniform(k, 1) < p.share)
        UNION ALL
        -- the withdrawals: every email grant of a contact without the flag, 20 % of the others
        SELECT c.contact_id, p.purpose, false,
               CASE WHEN p.purpose = 'profiling' THEN 'legitimate_interests' ELSE 'consent' END::@extschema@.lawful_basis,
               CASE WHEN p.purpose = 'profiling' THEN 'objection' ELSE 'unsubscribe link' END, NULL,
               date_trunc('second', g.at + (t_end - g.at) * (0.1 + 0.8 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 151, c.contact_id, p.n), 1))),
               floor(3 * @extschema@.demo_uniform(k, 6)), k, p.share
        FROM @extschema@.contacts c
        CROSS JOIN (VALUES ('marketing_email'::@extschema@.consent_purpose, 1, 0.25), ('marketing_sms', 2, 0.30),
                           ('marketing_phone', 3, 0.12), ('profiling', 4, 0.45), ('third_party_sharing', 5, 0.06)) AS p(purpose, n, share)
        CROSS JOIN LATERAL @extschema@.demo_key(seed, 150, c.contact_id, p.n) AS k
        CROSS JOIN LATERAL (SELECT date_trunc('second', c.created_at + (t_end - c.created_at) * 0.5 * @extschema@.demo_uniform(k, 2)) AS at) AS g
        WHERE c.created_at < t_end AND @extschema@.demo_uniform(k, 1) < p.share
          AND CASE WHEN p.purpose = 'marketing_email' THEN NOT c.marketing_consent
                   ELSE @extschema@.demo_uniform(@extschema@.demo_key(seed, 151, c.contact_id, p.n), 2) < 0.2 END
    ) AS e;

    PERFORM setval(pg_get_serial_sequence('@extschema@.consent_history', 'consent_id'),
                   coalesce((SELECT max(consent_id) FROM @extschema@.consent_history), 1),
                   (SELECT max(consent_id) FROM @extschema@.consent_history) IS NOT NULL);
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_consent(integer) IS
    'Demo hook: consent histories (grants by purpose and lawful basis, withdrawals) agreeing with contacts.marketing_consent.';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_consent(integer) FROM PUBLIC;
