-- Demo report: duplicate detection against the duplicates the demo planted, and merging.
\echo
\echo '== Planted duplicates (crm_demo.planted_duplicates: about 3% of the contacts copied from others, one change each) =='
SELECT perturbation, count(*) AS planted FROM crm_demo.planted_duplicates GROUP BY perturbation ORDER BY planted DESC, perturbation;

\echo
\echo '== Duplicate pairs found (crm.duplicate_candidates, installed model) against the planted ones =='
\echo 'Planted pairs: each copy with its original, and two copies of the same original with each other.'
WITH truth AS (
    SELECT least(contact_id, original_id) AS a, greatest(contact_id, original_id) AS b FROM crm_demo.planted_duplicates
    UNION
    SELECT least(x.contact_id, y.contact_id), greatest(x.contact_id, y.contact_id)
    FROM crm_demo.planted_duplicates x JOIN crm_demo.planted_duplicates y
      ON y.original_id = x.original_id AND y.contact_id > x.contact_id
), settings AS (SELECT review_threshold, auto_merge_threshold FROM crm.duplicate_settings),
bands AS (
    SELECT 'review (p >= ' || review_threshold || ')' AS band, review_threshold AS threshold FROM settings
    UNION ALL
    SELECT 'auto-merge (p >= ' || auto_merge_threshold || ')', auto_merge_threshold FROM settings
)
SELECT b.band,
       count(*) FILTER (WHERE d.contact_a IS NOT NULL) AS found,
       count(*) FILTER (WHERE d.contact_a IS NOT NULL AND t.a IS NOT NULL) AS "found and planted",
       (SELECT count(*) FROM truth) AS planted,
       round(count(*) FILTER (WHERE d.contact_a IS NOT NULL AND t.a IS NOT NULL)::numeric
             / nullif(count(*) FILTER (WHERE d.contact_a IS NOT NULL), 0), 3) AS precision,
       round(count(*) FILTER (WHERE d.contact_a IS NOT NULL AND t.a IS NOT NULL)::numeric
             / nullif((SELECT count(*) FROM truth), 0), 3) AS recall
FROM bands b
LEFT JOIN crm.duplicate_candidates d ON d.probability >= b.threshold
LEFT JOIN truth t ON t.a = d.contact_a AND t.b = d.contact_b
GROUP BY b.band, b.threshold ORDER BY b.threshold;

\echo
\echo '== Merges (crm.merge_contacts): the demo merges nothing, so that the pairs above stay measurable =='
SELECT coalesce((SELECT count(*) FROM crm.merges WHERE state = 'merged'), 0) AS "merges done",
       (SELECT count(*) FROM crm.duplicate_candidates d, crm.duplicate_settings s
        WHERE d.status = 'new' AND d.probability >= s.auto_merge_threshold) AS "pairs at the auto-merge threshold";
