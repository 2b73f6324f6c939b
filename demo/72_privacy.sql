-- Demo report: privacy (docs/privacy.md): consent coverage by purpose, and erasures.
\echo
\echo '== Privacy: consent coverage by purpose (crm.consent_history, crm.has_consent) =='
\echo 'Contacts who may be contacted (or profiled) for each purpose now, ever granted it, and withdrew it; the lawful bases of the grants.'
-- The rows are read in MATERIALIZED CTEs first, so that the same report runs on a distributed CRM
-- (docs/citus.md: contacts are distributed, the consent history stays on the coordinator).
WITH contacts AS MATERIALIZED (
    SELECT c.contact_id FROM crm.contacts c
), history AS MATERIALIZED (
    SELECT h.contact_id, h.purpose, h.granted, h.lawful_basis FROM crm.consent_history h
)
SELECT p.purpose,
       count(*) FILTER (WHERE crm.has_consent(c.contact_id, p.purpose)) AS "consent now",
       round(100.0 * count(*) FILTER (WHERE crm.has_consent(c.contact_id, p.purpose)) / count(*), 1) AS "% of contacts",
       count(*) FILTER (WHERE EXISTS (SELECT FROM history h WHERE h.contact_id = c.contact_id AND h.purpose = p.purpose AND h.granted)) AS "ever granted",
       count(*) FILTER (WHERE EXISTS (SELECT FROM history h WHERE h.contact_id = c.contact_id AND h.purpose = p.purpose AND NOT h.granted)) AS withdrawn,
       (SELECT string_agg(b.lawful_basis || ' ' || b.n, ', ' ORDER BY b.lawful_basis)
        FROM (SELECT h.lawful_basis, count(*) AS n FROM history h
              WHERE h.purpose = p.purpose AND h.granted GROUP BY h.lawful_basis) b) AS "lawful bases of grants"
FROM unnest(enum_range(NULL::crm.consent_purpose)) AS p(purpose)
CROSS JOIN contacts c
GROUP BY p.purpose ORDER BY p.purpose;

\echo
\echo '== Privacy: erasures (crm.erase_person, crm.apply_retention; crm.erasure_log) =='
\echo 'Erased contacts by reason; their rows stay, anonymised, so every total above and in the other sections is unchanged.'
SELECT coalesce(l.reason, 'all') AS reason, count(l.erasure_id) AS erasures,
       count(l.email_hash) AS "e-mail hashes (re-import blocked)",
       count(l.reimport_allowed_at) AS "re-import allowed"
FROM (SELECT CASE WHEN e.reason LIKE 'retention:%' THEN e.reason ELSE 'request' END AS reason,
             e.erasure_id, e.email_hash, e.reimport_allowed_at
      FROM crm.erasure_log e) AS l
GROUP BY ROLLUP (l.reason) ORDER BY l.reason NULLS LAST;
