-- pgTAP: the partial states of the NPS, CSAT and CES aggregates are real types (Citus ships them
-- between nodes in their text form): crm.nps_summary for crm.nps, crm.nps_agg and crm.nps_union,
-- crm.counter_pair for crm.csat and crm.ces. Here: crm.counter_pair's text and binary forms and
-- garbage input; the aggregates' catalog entries; the transition and combine functions called
-- directly (they must not change their arguments); every aggregate's answer, grouped and ungrouped,
-- against SQL computed here, serially and in a forced parallel plan; a running window aggregate.
BEGIN;
SELECT plan(71);

-- ---- crm.counter_pair: text ------------------------------------------------------------------
SELECT is(s::crm.counter_pair::text, s, 'text round trip of ' || s)
FROM unnest(ARRAY['(0,0)', '(3,5)', '(35,5)', '(9223372036854775807,9223372036854775807)', '(0,9223372036854775807)']) s;
SELECT is(' ( 1 , 2 ) '::crm.counter_pair::text, '(1,2)', 'spaces around the counters are accepted and dropped');
SELECT throws_ok(pg_catalog.format('SELECT %L::crm.counter_pair', garbage), '22P02', NULL,
                 'text input rejects ' || pg_catalog.quote_literal(garbage))
FROM unnest(ARRAY['', ' ', '(', ')', '()', '(1)', '(1,2,3)', '(1,2', '1,2)', '(1,2)x', '(-1,2)', '(1,-2)',
                  '(+1,2)', '(1.5,2)', '(1e3,2)', '(1;2)', '(1 2,3)', '(,2)', '(1,)', '{1,2}',
                  '(9223372036854775808,1)', '(1,99999999999999999999)', '(1,0)']) garbage;

-- ---- crm.counter_pair: binary (send, and COPY BINARY files, crafted ones included) -----------
SELECT is(crm.counter_pair_send('(3,5)'), '\x0000000100000000000000030000000000000005'::bytea,
          'send writes the version word and the two big-endian counters');
CREATE TEMP TABLE pairs (id integer, pair crm.counter_pair);
INSERT INTO pairs VALUES (1, '(0,0)'), (2, '(3,5)'), (3, NULL), (4, '(9223372036854775807,9223372036854775807)');
CREATE TEMP TABLE pairs_loaded (LIKE pairs);
CREATE FUNCTION pg_temp.copy_file() RETURNS text LANGUAGE sql AS
    $$ SELECT '/tmp/crm_nps_states_test_' || pg_backend_pid() || '.copy' $$;
DO $$
BEGIN
    EXECUTE pg_catalog.format('COPY pairs TO %L (FORMAT binary)', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY pairs_loaded FROM %L (FORMAT binary)', pg_temp.copy_file());
END
$$;
SELECT results_eq('SELECT id, pair::text FROM pairs_loaded ORDER BY id', 'SELECT id, pair::text FROM pairs ORDER BY id',
                  'COPY BINARY round trip');
CREATE FUNCTION pg_temp.copy_binary_field(field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    file_oid oid;
    loaded crm.counter_pair;
BEGIN
    file_oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                                 || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea);
    PERFORM lo_export(file_oid, pg_temp.copy_file());
    PERFORM lo_unlink(file_oid);
    DELETE FROM pairs_loaded;
    EXECUTE pg_catalog.format('COPY pairs_loaded (pair) FROM %L (FORMAT binary)', pg_temp.copy_file());
    SELECT pair INTO loaded FROM pairs_loaded;
    RETURN loaded::text;
END
$$;
SELECT is(pg_temp.copy_binary_field('\x00000001'::bytea || int8send(4) || int8send(6)), '(4,6)',
          'a crafted binary file loads');
SELECT throws_ok(pg_catalog.format('SELECT pg_temp.copy_binary_field(%L)', bad), '22P03', NULL, what)
FROM (VALUES
    ('\x00000002'::bytea || int8send(1) || int8send(1), 'binary input rejects version 2'),
    ('\x00000101'::bytea || int8send(1) || int8send(1), 'binary input rejects unknown flags'),
    ('\x00000000'::bytea || int8send(1) || int8send(1), 'binary input rejects version 0'),
    ('\x00000001'::bytea || int8send(1), 'binary input rejects one counter'),
    ('\x00000001'::bytea || int8send(1) || int8send(1) || int8send(1), 'binary input rejects three counters'),
    ('\x00000001'::bytea || int8send(1) || int8send(1) || '\x00'::bytea, 'binary input rejects a trailing byte'),
    ('\x00000001'::bytea || int8send(1) || '\x000000000000'::bytea, 'binary input rejects a truncated counter'),
    ('\x00000001'::bytea || int8send(-1) || int8send(1), 'binary input rejects a negative first counter'),
    ('\x00000001'::bytea || int8send(0) || int8send(-1), 'binary input rejects a negative second counter'),
    ('\x00000001'::bytea || int8send(1) || int8send(0), 'binary input rejects a count without answers'),
    ('\x00000001'::bytea, 'binary input rejects a version word alone'),
    (''::bytea, 'binary input rejects an empty field')) v(bad, what);
DO $$ BEGIN EXECUTE pg_catalog.format('COPY (SELECT WHERE false) TO PROGRAM %L', 'rm -f ' || pg_temp.copy_file()); END $$;

-- ---- the catalog: real state types, a combine function, no (de)serialize function -----------
SELECT is(array_agg(DISTINCT format_type(a.aggtranstype, NULL) || ' ' || p.proname ORDER BY format_type(a.aggtranstype, NULL) || ' ' || p.proname),
          ARRAY['crm.counter_pair ces', 'crm.counter_pair csat', 'crm.nps_summary nps', 'crm.nps_summary nps_agg',
                'crm.nps_summary nps_union'],
          'the NPS, CSAT and CES aggregates keep a crm.nps_summary or a crm.counter_pair')
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE p.pronamespace = 'crm'::regnamespace AND p.proname IN ('nps', 'nps_agg', 'nps_union', 'csat', 'ces');
SELECT is(count(*) FILTER (WHERE a.aggcombinefn <> 0 AND a.aggserialfn = 0 AND a.aggdeserialfn = 0), 11::bigint,
          'all 11 have a combine function and need no serialize or deserialize function')
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE p.pronamespace = 'crm'::regnamespace AND p.proname IN ('nps', 'nps_agg', 'nps_union', 'csat', 'ces');

-- ---- support functions called directly: results, and their arguments left alone ------------
CREATE TEMP TABLE given AS SELECT '(1,0,0,0,0,0,0,0,0,0,2)'::crm.nps_summary AS s, '(3,5)'::crm.counter_pair AS p;
SELECT is(crm.nps_trans(s, 10::smallint)::text || ' ' || s::text, '(1,0,0,0,0,0,0,0,0,0,3) (1,0,0,0,0,0,0,0,0,0,2)',
          'crm.nps_trans(summary, 10) counts one answer, the summary given unchanged') FROM given;
SELECT is(crm.nps_trans(NULL::crm.nps_summary, 0)::text, '(1,0,0,0,0,0,0,0,0,0,0)', 'crm.nps_trans(NULL, 0) starts a summary');
SELECT is(crm.nps_trans(s, NULL::integer)::text, s::text, 'crm.nps_trans(summary, NULL) is the summary') FROM given;
SELECT is(crm.nps_union_trans(s, s)::text || ' ' || s::text, '(2,0,0,0,0,0,0,0,0,0,4) (1,0,0,0,0,0,0,0,0,0,2)',
          'crm.nps_union_trans adds, the state given unchanged') FROM given;
SELECT is(crm.nps_combine(s, '(0,1,0,0,0,0,0,0,0,0,0)')::text || ' ' || s::text, '(1,1,0,0,0,0,0,0,0,0,2) (1,0,0,0,0,0,0,0,0,0,2)',
          'crm.nps_combine adds, the state given unchanged') FROM given;
SELECT is(crm.ces_trans(p, 7)::text || ' ' || crm.csat_trans(p, 4::smallint)::text || ' ' || crm.csat_trans(p, 2, 3)::text
          || ' ' || p::text, '(10,6) (4,6) (3,6) (3,5)', 'crm.ces_trans and crm.csat_trans count one answer, the pair given unchanged') FROM given;
SELECT is(crm.counter_pair_combine(p, '(1,1)')::text || ' ' || p::text, '(4,6) (3,5)',
          'crm.counter_pair_combine adds, the pair given unchanged') FROM given;
SELECT is(crm.csat_final('(0,0)') IS NULL AND crm.ces_final('(0,0)') IS NULL, true, 'the final functions give NULL for no answers');
SELECT throws_ok('SELECT crm.nps_trans(''(0,0,0,0,0,0,0,0,0,0,9223372036854775807)''::crm.nps_summary, 10)', '22003', NULL,
                 'a count beyond 2^63 - 1 in a state given by hand raises 22003');
SELECT throws_ok('SELECT crm.ces_trans(''(9223372036854775807,1)''::crm.counter_pair, 7)', '22003', NULL,
                 'a CES sum beyond 2^63 - 1 in a state given by hand raises 22003');
SELECT throws_ok('SELECT crm.csat_trans(''(0,9223372036854775807)''::crm.counter_pair, 5)', '22003', NULL,
                 'a CSAT count beyond 2^63 - 1 in a state given by hand raises 22003');
SELECT throws_ok('SELECT crm.counter_pair_combine(''(9223372036854775807,9223372036854775807)'', ''(1,1)'')', '22003', NULL,
                 'crm.counter_pair_combine beyond 2^63 - 1 raises 22003');
SELECT throws_ok('SELECT crm.nps_trans(''(0,0,0,0,0,0,0,0,0,0,0)''::crm.nps_summary, 11)', '22003', NULL,
                 'crm.nps_trans rejects a score of 11');

-- ---- every aggregate against SQL, grouped and ungrouped, serial and parallel -----------------
-- 30,000 answers in 3 groups, from hashint4 of the row number; about 1 in 20 scores NULL.
CREATE TABLE crm_test_answers AS
SELECT i AS id, i % 3 AS grp,
       CASE WHEN abs(hashint4(i)) % 20 = 0 THEN NULL ELSE (abs(hashint4(i * 7)) % 11)::smallint END AS score,
       CASE WHEN abs(hashint4(i)) % 20 = 1 THEN NULL ELSE (1 + abs(hashint4(i * 11)) % 5)::smallint END AS score5,
       CASE WHEN abs(hashint4(i)) % 20 = 2 THEN NULL ELSE (1 + abs(hashint4(i * 13)) % 7)::smallint END AS score7,
       CASE WHEN i % 7 = 0 THEN NULL
            ELSE ('(' || array_to_string(ARRAY(SELECT abs(hashint4(i * 17 + j)) % 5 FROM generate_series(0, 10) j), ',') || ')')::crm.nps_summary
       END AS summary
FROM generate_series(1, 30000) i;
ANALYZE crm_test_answers;

-- The answers computed in SQL, per group and for all rows (grp NULL): exact float8 arithmetic in
-- the order the C code uses.
CREATE TEMP TABLE expected AS
WITH per AS (
    SELECT grp,
           count(score) FILTER (WHERE score >= 9) AS promoters, count(score) FILTER (WHERE score <= 6) AS detractors,
           count(score) AS n,
           count(score5) FILTER (WHERE score5 >= 4) AS csat_positive, count(score5) FILTER (WHERE score5 >= 2) AS csat2_positive,
           count(score5) AS csat_n, sum(score7) AS ces_sum, count(score7) AS ces_n
    FROM crm_test_answers GROUP BY GROUPING SETS ((grp), ())
), per_score AS (
    SELECT grp, j, count(*) FILTER (WHERE score = j) AS answers,
           sum(split_part(trim(both '()' FROM summary::text), ',', j + 1)::bigint) AS summed
    FROM crm_test_answers, generate_series(0, 10) j
    GROUP BY GROUPING SETS ((grp, j), (j))
), texts AS (
    SELECT grp, '(' || string_agg(answers::text, ',' ORDER BY j) || ')' AS histogram,
           '(' || string_agg(summed::text, ',' ORDER BY j) || ')' AS union_text
    FROM per_score GROUP BY grp
)
SELECT per.grp,
       100.0::float8 * ((promoters - detractors)::float8) / n::float8 AS nps,
       histogram,
       union_text,
       100.0::float8 * csat_positive::float8 / csat_n::float8 AS csat,
       100.0::float8 * csat2_positive::float8 / csat_n::float8 AS csat2,
       ces_sum::float8 / ces_n::float8 AS ces
FROM per JOIN texts ON texts.grp IS NOT DISTINCT FROM per.grp;

CREATE FUNCTION pg_temp.answers(grouped boolean) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN grouped
        THEN 'SELECT grp, crm.nps(score) a1, crm.nps(score::integer) a2, crm.nps_agg(score)::text a3, crm.nps_agg(score::integer)::text a4,
                     crm.nps_union(summary)::text a5, crm.csat(score5) a6, crm.csat(score5::integer) a7, crm.csat(score5, 2) a8,
                     crm.csat(score5::integer, 2) a9, crm.ces(score7) a10, crm.ces(score7::integer) a11
              FROM crm_test_answers GROUP BY grp'
        ELSE 'SELECT NULL::integer, crm.nps(score) a1, crm.nps(score::integer) a2, crm.nps_agg(score)::text a3, crm.nps_agg(score::integer)::text a4,
                     crm.nps_union(summary)::text a5, crm.csat(score5) a6, crm.csat(score5::integer) a7, crm.csat(score5, 2) a8,
                     crm.csat(score5::integer, 2) a9, crm.ces(score7) a10, crm.ces(score7::integer) a11
              FROM crm_test_answers' END
$$;
CREATE FUNCTION pg_temp.expected(grouped boolean) RETURNS text LANGUAGE sql AS $$
    SELECT 'SELECT grp, nps a1, nps a2, histogram a3, histogram a4, union_text a5, csat a6, csat a7, csat2 a8, csat2 a9, ces a10, ces a11 FROM expected WHERE '
           || CASE WHEN grouped THEN 'grp IS NOT NULL' ELSE 'grp IS NULL' END
$$;

\i test/lib/parallel.sql
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT set_eq(pg_temp.answers(true), pg_temp.expected(true), 'serial, grouped: every aggregate gives the SQL answer');
SELECT set_eq(pg_temp.answers(false), pg_temp.expected(false), 'serial, ungrouped: every aggregate gives the SQL answer');
SELECT ok(NOT EXISTS (SELECT FROM pg_temp.plan_of(pg_temp.answers(true)) l WHERE l LIKE '%Partial%'), 'the serial plan is not parallel');
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of(pg_temp.answers(true)) l WHERE l LIKE '%Partial%Aggregate%'),
          'the grouped plan is parallel (a partial aggregate)');
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of(pg_temp.answers(false)) l WHERE l LIKE '%Partial Aggregate%'),
          'the ungrouped plan is parallel (Partial Aggregate)');
SELECT set_eq(pg_temp.answers(true), pg_temp.expected(true), 'parallel, grouped: every aggregate gives the SQL answer');
SELECT set_eq(pg_temp.answers(false), pg_temp.expected(false), 'parallel, ungrouped: every aggregate gives the SQL answer');
SET LOCAL max_parallel_workers_per_gather = 0;

-- No rows, and NULLs only: NULL, as before.
SELECT is(ROW(crm.nps(score), crm.nps_agg(score), crm.nps_union(summary), crm.csat(score5), crm.ces(score7))::text, '(,,,,)',
          'no rows give NULL') FROM crm_test_answers WHERE false;
SELECT is(ROW(crm.nps(NULL::smallint), crm.nps_agg(NULL::integer), crm.nps_union(NULL::crm.nps_summary),
              crm.csat(NULL::smallint), crm.ces(NULL::integer))::text, '(,,,,)', 'NULL answers only give NULL')
FROM generate_series(1, 3);

-- A running window aggregate: each row's summary is its own, not the state that goes on changing.
SELECT is(array_agg(running::text ORDER BY id),
          ARRAY['(0,0,0,0,0,0,0,0,0,0,1)', '(0,0,0,0,0,0,0,0,0,0,2)', '(1,0,0,0,0,0,0,0,0,0,2)', '(1,0,0,0,0,0,0,0,0,0,2)',
                '(1,0,0,0,0,0,0,1,0,0,2)'],
          'crm.nps_agg over a running window gives each row the answers so far')
FROM (SELECT id, crm.nps_agg(s) OVER (ORDER BY id) AS running
      FROM (VALUES (1, 10), (2, 10), (3, 0), (4, NULL), (5, 7)) v(id, s)) w;
SELECT is(array_agg(round(running::numeric, 6) ORDER BY id), ARRAY[5, 4.5, 4, 4, 4.25]::numeric[],
          'crm.ces over a running window')
FROM (SELECT id, crm.ces(s) OVER (ORDER BY id) AS running
      FROM (VALUES (1, 5), (2, 4), (3, 3), (4, NULL), (5, 5)) v(id, s)) w;

-- Two aggregates sharing one state (same transition function and input) in one query.
SELECT is(crm.nps(score)::text || ' ' || crm.nps_agg(score)::text || ' ' || crm.nps(crm.nps_agg(score))::text,
          '0 (1,0,0,0,0,0,0,0,0,1,0) 0', 'crm.nps and crm.nps_agg in one query (a shared state)')
FROM (VALUES (0::smallint), (9::smallint)) v(score);

SELECT * FROM finish();
ROLLBACK;
