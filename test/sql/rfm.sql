-- RFM at work: the crm.rfm type, fair quintile scores with ties, the segment grid, and the
-- history of segments with the transitions between snapshots. Everything is rolled back.
SET client_min_messages = warning;
-- The operators of crm.rfm live in schema crm, like the type.
SET search_path = public, crm;

-- Text form: recency, frequency, monetary; each 1-5. Accessors read the three scores.
SELECT r, crm.recency_score(r) AS recency, crm.frequency_score(r) AS frequency, crm.monetary_score(r) AS monetary
FROM (VALUES ('543'::crm.rfm), ('111'), ('555')) v(r);
SELECT crm.rfm(5, 4, 3) = '543' AS constructed;

-- Ordering is lexicographic: recency first, then frequency, then monetary.
SELECT r FROM unnest('{355,511,153,521,515,111}'::crm.rfm[]) r ORDER BY r;
SELECT '511'::crm.rfm < '521', '543'::crm.rfm >= '543', '543'::crm.rfm <> '534', '155'::crm.rfm > '511';

-- Binary form: a version byte (1), then the three scores.
SELECT crm.rfm_send('543');

-- Strict input: each of these is invalid_text_representation, naming the value.
\set VERBOSITY terse
SELECT '603'::crm.rfm;
SELECT '54'::crm.rfm;
SELECT 'abc'::crm.rfm;
SELECT '5431'::crm.rfm;
SELECT ' 543'::crm.rfm;
SELECT crm.rfm(0, 1, 1);
\set VERBOSITY default

BEGIN;
-- Ten customers, customer c with (11 - c) / 2 + 1 purchases of 10c each, the last one 10c + 1
-- days before 2026-01-01; a cancelled order and one after as_of do not count.
INSERT INTO crm.contacts (contact_id, first_name) SELECT 1000 + c, 'c' || c FROM generate_series(1, 10) c;
INSERT INTO crm.orders (contact_id, ordered_at, status, total)
SELECT 1000 + c, timestamptz '2026-01-01' - (10 * c + k) * interval '1 day', 'paid', 10 * c
FROM generate_series(1, 10) c, generate_series(1, (11 - c) / 2 + 1) k;
INSERT INTO crm.orders (contact_id, ordered_at, status, total) VALUES
    (1010, '2025-12-31', 'cancelled', 5000), (1010, '2026-01-02', 'paid', 5000);

-- score = 1 + floor(5 * strictly worse / 10). Frequency 5 is shared by customers 2 and 3: seven
-- customers have fewer purchases, so both get 1 + floor(35 / 10) = 4. Monetary 100 (customers 2
-- and 10): one smaller (60), both get 1. Recency 11 days: 9 worse, 1 + floor(4.5) = 5.
SELECT contact_id - 1000 AS customer, recency, frequency, monetary, rfm
FROM crm.rfm_scores('2026-01-01') ORDER BY contact_id;

-- Every cell of the recency x frequency grid belongs to exactly one seeded segment.
SELECT r AS recency,
       string_agg(crm.rfm_segment(crm.rfm(r, f, 3)), ' | ' ORDER BY f) AS "F = 1 | 2 | 3 | 4 | 5"
FROM generate_series(1, 5) r, generate_series(1, 5) f
GROUP BY r ORDER BY r DESC;

-- Two snapshots a month apart; who changed segment in between. On 2025-12-01 (31 days earlier)
-- customers 1 and 2 have not bought yet, and among the other 8 customer 3 has 4 purchases, the
-- last a day before: R = 1 + floor(5 * 7 / 8) = 5, F = 1 + floor(5 * 5 / 8) = 4 (five customers have
-- fewer than 4), M (120) = 1 + floor(5 * 1 / 8) = 1, so 541, Champions; in January 442, Loyal
-- Customers. Customer 4: 442 then 433 (Loyal to Potential Loyalists); customer 5: 444 then 335
-- (Loyal to Need Attention); the other five stay where they were.
SELECT crm.refresh_rfm('2025-12-01') AS stored_dec, crm.refresh_rfm('2026-01-01') AS stored_jan;
SELECT crm.refresh_rfm('2026-01-01') AS stored_again;  -- a rerun replaces, not duplicates
SELECT as_of, count(*) FROM crm.rfm_history GROUP BY as_of ORDER BY as_of;
SELECT contact_id - 1000 AS customer, from_date::date, to_date::date, from_segment, to_segment, from_rfm, to_rfm
FROM crm.rfm_transitions ORDER BY contact_id;

-- Hashable and indexable: GROUP BY hashes, an index on the type serves range queries.
SET LOCAL enable_sort = off;
EXPLAIN (COSTS OFF) SELECT rfm, count(*) FROM crm.rfm_history GROUP BY rfm;
SELECT rfm, count(*) FROM crm.rfm_history GROUP BY rfm ORDER BY rfm DESC LIMIT 3;
CREATE INDEX ON crm.rfm_history (rfm);
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM crm.rfm_history WHERE rfm >= '511';
SELECT count(*) FROM crm.rfm_history WHERE rfm > '511';

ROLLBACK;
