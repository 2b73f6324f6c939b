-- pgTAP: the crm.rfm type, fair quintile scores, the segment map and the history, edge cases,
-- errors by SQLSTATE and row-level security.
BEGIN;
SELECT plan(43);
-- The operators of crm.rfm live in schema crm, like the type: put it on the search path.
SET LOCAL search_path = public, crm;

-- The type: strict text input (22P02), binary input (22P03), accessors, order, equality.
SELECT throws_ok($$SELECT '603'::crm.rfm$$, '22P02', NULL, '''603'': a score above 5');
SELECT throws_ok($$SELECT '54'::crm.rfm$$, '22P02', NULL, '''54'': two digits');
SELECT throws_ok($$SELECT 'abc'::crm.rfm$$, '22P02', NULL, '''abc'': not digits');
SELECT throws_ok($$SELECT ''::crm.rfm$$, '22P02', NULL, 'the empty string');
SELECT throws_ok($$SELECT '5 3'::crm.rfm$$, '22P02', NULL, 'a space inside');
SELECT throws_ok($$SELECT '053'::crm.rfm$$, '22P02', NULL, 'a score of 0');
SELECT throws_ok($$SELECT crm.rfm(3, 6, 1)$$, '22023', 'frequency score must be between 1 and 5', 'crm.rfm(3, 6, 1)');
SELECT is(crm.rfm(5, 4, 3)::text, '543', 'crm.rfm(5, 4, 3) is ''543''');
SELECT ok(crm.recency_score('543') = 5 AND crm.frequency_score('543') = 4 AND crm.monetary_score('543') = 3, 'accessors');
-- all 125 values round-trip through text and through binary send/receive
SELECT is((SELECT count(*)::int FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m
           WHERE (r::text || f || m)::crm.rfm::text = r::text || f || m
             AND crm.rfm_send(crm.rfm(r, f, m)) = ('\x01' || lpad(to_hex(r), 2, '0') || lpad(to_hex(f), 2, '0') || lpad(to_hex(m), 2, '0'))::bytea),
          125, 'all 125 scores round-trip through text and send as version byte 1 then the three scores');
-- Binary receive through crafted COPY BINARY files of one rfm field.
CREATE TEMP TABLE rfm_loaded (r crm.rfm);
CREATE FUNCTION pg_temp.copy_binary_field(field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    file_oid oid;
    file_name text := '/tmp/crm_rfm_test_' || pg_backend_pid() || '.copy';
    loaded crm.rfm;
BEGIN
    file_oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                                 || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea);
    PERFORM lo_export(file_oid, file_name);
    PERFORM lo_unlink(file_oid);
    DELETE FROM rfm_loaded;
    EXECUTE format('COPY rfm_loaded FROM %L (FORMAT binary)', file_name);
    SELECT r INTO loaded FROM rfm_loaded;
    RETURN loaded::text;
END
$$;
SELECT is(pg_temp.copy_binary_field('\x01050403'), '543', 'a crafted binary field loads');
SELECT throws_ok(format('SELECT pg_temp.copy_binary_field(%L)', bad), '22P03', NULL, what)
FROM (VALUES ('\x02050403'::bytea, 'binary input rejects format version 2'),
             ('\x01060101'::bytea, 'binary input rejects a score of 6'),
             ('\x01000101'::bytea, 'binary input rejects a score of 0'),
             ('\x010504'::bytea, 'binary input rejects 3 bytes'),
             ('\x0105040301'::bytea, 'binary input rejects 5 bytes')) v(bad, what);
SELECT ok('511'::crm.rfm < '521' AND '521'::crm.rfm < '532' AND '155'::crm.rfm < '511', 'ordered by recency, then frequency, then monetary');
SELECT ok('543'::crm.rfm = '543' AND '543'::crm.rfm <> '534' AND '543'::crm.rfm >= '543' AND '543'::crm.rfm <= '543',
          '=, <>, >=, <=');
SELECT is((SELECT count(DISTINCT r)::int FROM (SELECT crm.rfm(1 + i % 5, 1 + i / 5 % 5, 1 + i / 25 % 5) AS r FROM generate_series(0, 999) i) s),
          125, 'DISTINCT sees 125 scores among 1,000 values');

-- Fair scores. Twenty customers: 16 bought once, 4 bought twice. ntile(5) would give the 16 single
-- buyers F 1 to 4; here all 16 share F 1 (nobody bought fewer), and the 4 get
-- 1 + floor(5 * 16 / 20) = 5.
INSERT INTO crm.contacts (contact_id, first_name) SELECT 2000 + c, 'c' || c FROM generate_series(1, 20) c;
INSERT INTO crm.orders (contact_id, ordered_at, status, total)
SELECT 2000 + c, timestamptz '2026-03-01' - c * interval '1 day', 'paid', 10 FROM generate_series(1, 20) c;
INSERT INTO crm.orders (contact_id, ordered_at, status, total)
SELECT 2000 + c, timestamptz '2026-03-01' - (c + 30) * interval '1 day', 'shipped', 10 FROM generate_series(17, 20) c;
CREATE TEMP TABLE scores AS SELECT * FROM crm.rfm_scores('2026-03-01') WHERE contact_id > 2000 AND contact_id <= 2020;
SELECT is((SELECT array_agg(DISTINCT crm.frequency_score(rfm) ORDER BY crm.frequency_score(rfm)) FROM scores WHERE frequency = 1),
          ARRAY[1], 'the 16 customers with one purchase all get F 1');
SELECT is((SELECT array_agg(DISTINCT crm.frequency_score(rfm)) FROM scores WHERE frequency = 2), ARRAY[5],
          'the 4 with two purchases get F 5');
-- Everybody spent 10 per order: M is 1 for the single buyers (nobody spent less) and 5 for the others.
SELECT is((SELECT array_agg(DISTINCT crm.monetary_score(rfm) ORDER BY crm.monetary_score(rfm)) FROM scores), ARRAY[1, 5],
          'equal spend, equal M score');
-- Recency c days: customer c has 20 - c customers strictly worse (more days): R = 1 + floor((20 - c) / 4).
SELECT is((SELECT count(*)::int FROM scores WHERE crm.recency_score(rfm) = 1 + (20 - (contact_id - 2000)) / 4 AND recency = contact_id - 2000),
          20, 'R = 1 + floor(5 * worse / n) for each of 20 distinct recencies (1 to 5, four each)');
SELECT is((SELECT array_agg(n ORDER BY s) FROM (SELECT crm.recency_score(rfm) s, count(*)::int n FROM scores GROUP BY 1) x),
          ARRAY[4, 4, 4, 4, 4], 'four customers per recency score');
-- Boundaries: a cancelled order and one at or after as_of do not count; no purchases, no row.
INSERT INTO crm.orders (contact_id, ordered_at, status, total) VALUES
    (2001, '2026-02-28', 'cancelled', 1000), (2001, '2026-03-01', 'paid', 1000);
SELECT is((SELECT frequency || '/' || monetary || '/' || recency FROM crm.rfm_scores('2026-03-01') WHERE contact_id = 2001),
          '1/10.00/1', 'cancelled orders and orders at as_of are left out');
SELECT is((SELECT count(*)::int FROM crm.rfm_scores('2000-01-01') WHERE contact_id BETWEEN 2001 AND 2020), 0,
          'before any purchase: no rows');
SELECT is((SELECT s.rfm::text FROM crm.rfm_scores('2026-03-01') s WHERE false), NULL, 'no rows, no error');

-- Segments: the seeded map covers the grid, once per cell.
SELECT is((SELECT count(*)::int FROM generate_series(1, 5) r, generate_series(1, 5) f
           WHERE crm.rfm_segment(crm.rfm(r, f, 1)) IS NOT NULL), 25, 'the seeded map names every R x F cell');
SELECT ok(crm.rfm_segment('551') = 'Champions' AND crm.rfm_segment('251') = 'Can''t Lose Them'
          AND crm.rfm_segment('511') = 'New Customers' AND crm.rfm_segment('331') = 'Need Attention', 'named cells');
SELECT is(crm.rfm_segment(NULL), NULL, 'NULL in, NULL out');
-- The map is data: redraw Champions to R 5, F 5 only and R 5 F 4 joins Loyal Customers.
UPDATE crm.rfm_segment_map SET frequency_min = 5 WHERE segment = 'Champions';
UPDATE crm.rfm_segment_map SET recency_max = 5 WHERE segment = 'Loyal Customers' AND recency_min = 3;
UPDATE crm.rfm_segment_map SET recency_max = 4 WHERE segment = 'Loyal Customers';
INSERT INTO crm.rfm_segment_map (segment, recency_min, recency_max, frequency_min, frequency_max)
VALUES ('Almost Champions', 5, 5, 4, 4);
SET CONSTRAINTS ALL IMMEDIATE;
SELECT ok(crm.rfm_segment('541') = 'Almost Champions' AND crm.rfm_segment('551') = 'Champions', 'a redrawn map is used at once');
SELECT throws_ok($$INSERT INTO crm.rfm_segment_map (segment, recency_min, recency_max, frequency_min, frequency_max)
                   VALUES ('Overlap', 4, 5, 4, 5); SET CONSTRAINTS ALL IMMEDIATE$$,
                 '23P01', NULL, 'overlapping active segments are refused (exclusion_violation)');
SELECT throws_ok($$DELETE FROM crm.rfm_segment_map WHERE segment = 'Champions'$$, '23514', NULL,
                 'seeded segments cannot be deleted, only deactivated');
SELECT throws_ok($$INSERT INTO crm.rfm_segment_map (segment, recency_min, recency_max, frequency_min, frequency_max)
                   VALUES ('Bad', 0, 5, 1, 1)$$, '23514', NULL, 'score ranges stay within 1-5');
UPDATE crm.rfm_segment_map SET active = false WHERE segment = 'Almost Champions';
SELECT is(crm.rfm_segment('541'), NULL, 'a cell no active segment covers has no name');

-- History and transitions.
-- On 2026-02-15 six of the twenty have bought: customer 15 once, a day before (R: 5 of 6 worse,
-- 1 + floor(25 / 6) = 5; F 1), a New Customer. By 2026-03-01 all twenty have: 5 are worse on
-- recency, R = 1 + floor(25 / 20) = 2, F still 1: Hibernating.
SELECT is(crm.refresh_rfm('2026-02-15'), (SELECT count(*) FROM crm.rfm_scores('2026-02-15')), 'a snapshot stores every customer');
SELECT is((SELECT count(*)::int FROM crm.rfm_history WHERE as_of = '2026-02-15' AND contact_id BETWEEN 2001 AND 2020), 6,
          'six of the twenty had bought by 2026-02-15');
SELECT crm.refresh_rfm('2026-03-01');
SELECT crm.refresh_rfm('2026-03-01');
SELECT is((SELECT count(*)::int FROM crm.rfm_history WHERE as_of = '2026-03-01' AND contact_id BETWEEN 2001 AND 2020), 20,
          'refreshing the same date again replaces its snapshot');
SELECT results_eq($$SELECT from_segment, to_segment, from_rfm::text, to_rfm::text FROM crm.rfm_transitions
                    WHERE contact_id = 2015 AND from_date = '2026-02-15' AND to_date = '2026-03-01'$$,
                  $$VALUES ('New Customers', 'Hibernating', '511', '211')$$,
                  'customer 15 moved from New Customers (511) to Hibernating (211)');
SELECT throws_ok($$SELECT crm.refresh_rfm(NULL)$$, '22004', NULL, 'as_of NULL');

-- Security: a sales rep sees the history of their own contacts only, and cannot refresh.
CREATE ROLE rfm_rep; GRANT crm_sales TO rfm_rep;
INSERT INTO crm.users (user_id, login_role, full_name, email, role) VALUES (2901, 'rfm_rep', 'Rep', 'rep@rfm.example', 'sales');
UPDATE crm.contacts SET owner_id = 2901 WHERE contact_id IN (2001, 2002);
SET ROLE rfm_rep;
SELECT is((SELECT count(DISTINCT contact_id)::int FROM crm.rfm_history), 2, 'a rep sees the RFM history of their 2 contacts');
SELECT throws_ok($$SELECT crm.refresh_rfm('2026-03-02')$$, '42501', NULL, 'a rep cannot refresh the snapshots');
SELECT throws_ok($$UPDATE crm.rfm_segment_map SET active = false$$, '42501', NULL, 'nor edit the segment map');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
