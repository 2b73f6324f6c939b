-- pgTAP: the states of crm.auc (crm.auc_state: per distinct score, positives and negatives) and
-- crm.km_fit (crm.km_state: per distinct time, events and censorings), real types so that Citus
-- ships them between nodes and parallel workers ship counts, not rows. Here: text and binary forms
-- and garbage input (22P02, 22P03); the catalog entries; the bytes a state takes against the
-- documented formula; the answers against brute force computed here in SQL (pairs for AUC, risk
-- sets for Kaplan–Meier), serially, in a forced parallel plan, hash-grouped and as running window
-- aggregates; NULLs, errors, overflow; support functions called directly.
BEGIN;
SELECT plan(130);

-- ---- text forms ---------------------------------------------------------------------------------
SELECT is(s::crm.auc_state::text, s, 'crm.auc_state text round trip of ' || s)
FROM unnest(ARRAY['1;0', '1;1;0.5,1,0', '1;3;-2.5,0,3;0,1,1;1e+300,9223372036854775800,1',
                  '1;2;-1e-300,1,0;5e-324,0,1']) s;
SELECT is(s::crm.km_state::text, s, 'crm.km_state text round trip of ' || s)
FROM unnest(ARRAY['1;0', '1;1;0,1,0', '1;3;0,0,3;0.25,2,1;1e+300,9223372036854775790,7']) s;
SELECT is(' 1 ; 2 ; -0 , 1 , 0 ; 0.5 , 2 , 3 '::crm.auc_state::text, '1;2;0,1,0;0.5,2,3',
          'spaces around the fields are accepted; -0 reads as 0');
SELECT throws_ok(pg_catalog.format('SELECT %L::crm.auc_state', garbage), '22P02', NULL,
                 'auc_state text input rejects ' || pg_catalog.quote_literal(garbage))
FROM unnest(ARRAY['', ' ', 'x', '1', '1;', '0;0', '2;0', '-1;0', '1;-1', '1;0;', '1;0 x', '1;1', '1;1;0.5',
                  '1;1;0.5,1', '1;1;0.5,1,', '1;1;0.5,1,0;', '1;1;0.5,1,0x', '1;1;0.5,1.5,0', '1;1;0.5,+1,0',
                  '1;1;,1,0', '1;1;NaN,1,0', '1;1;Infinity,1,0', '1;1;-Infinity,0,1', '1;1;0.5,0,0',
                  '1;1;0.5,-1,2', '1;2;0.5,1,0', '1;1;0.5,1,0;0.7,1,0', '1;2;0.5,1,0;0.5,1,0',
                  '1;2;0.5,1,0;0.4,0,1', '1;1;0.5,9223372036854775807,1', '1;2;0,9223372036854775807,0;1,0,1',
                  '1;1;0.5,99999999999999999999,0', '1;99999999999999999999', '1:0', '1;1;0.5;1;0']) garbage;
SELECT throws_ok(pg_catalog.format('SELECT %L::crm.km_state', garbage), '22P02', NULL,
                 'km_state text input rejects ' || pg_catalog.quote_literal(garbage))
FROM unnest(ARRAY['1;1;-1,1,0', '1;1;-1e-300,0,1', '1;2;1,1,0;0.5,1,0', '1;1;2,0,0', '1;1;Infinity,1,0']) garbage;
SELECT throws_ok($$SELECT '1;1;1e400,1,0'::crm.auc_state$$, '22003', NULL, 'a score out of double range: 22003');
SELECT throws_ok($$SELECT '1;100000000000;0,1,0'::crm.auc_state$$, '54000', NULL,
                 'more rows announced than a state can hold: 54000');

-- ---- binary forms -------------------------------------------------------------------------------
SELECT is(crm.auc_state_send('1;2;-0.5,1,0;2,3,4'),
          '\x00000001'::bytea || int8send(2) || float8send(-0.5) || int8send(1) || int8send(0)
                      || float8send(2) || int8send(3) || int8send(4),
          'send writes the version word, the count, then (float8, int64, int64) per distinct score');
SELECT is(crm.km_state_send('1;0'), '\x00000001'::bytea || int8send(0), 'send of an empty state: 12 bytes');
CREATE TEMP TABLE states (id integer, a crm.auc_state, k crm.km_state);
INSERT INTO states VALUES (1, '1;0', '1;0'), (2, '1;2;-0.5,1,0;2,3,4', '1;2;0,1,0;7.25,3,4'), (3, NULL, NULL),
    (4, '1;1;1e+300,9223372036854775806,1', '1;1;1e-300,0,9223372036854775807');
CREATE TEMP TABLE states_loaded (LIKE states);
CREATE FUNCTION pg_temp.copy_file() RETURNS text LANGUAGE sql AS
    $$ SELECT '/tmp/crm_auc_km_states_test_' || pg_backend_pid() || '.copy' $$;
DO $$
BEGIN
    EXECUTE pg_catalog.format('COPY states TO %L (FORMAT binary)', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY states_loaded FROM %L (FORMAT binary)', pg_temp.copy_file());
END
$$;
SELECT results_eq('SELECT id, a::text, k::text FROM states_loaded ORDER BY id',
                  'SELECT id, a::text, k::text FROM states ORDER BY id', 'COPY BINARY round trip of both types');
-- one field of type typ in a COPY BINARY file, loaded, as text
CREATE TEMP TABLE loaded_auc_state (v crm.auc_state);
CREATE TEMP TABLE loaded_km_state (v crm.km_state);
CREATE FUNCTION pg_temp.copy_binary_field(typ text, field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    file_oid oid;
    loaded text;
BEGIN
    file_oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                                 || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea);
    PERFORM lo_export(file_oid, pg_temp.copy_file());
    PERFORM lo_unlink(file_oid);
    EXECUTE pg_catalog.format('TRUNCATE loaded_%s', typ);
    EXECUTE pg_catalog.format('COPY loaded_%s (v) FROM %L (FORMAT binary)', typ, pg_temp.copy_file());
    EXECUTE pg_catalog.format('SELECT v::text FROM loaded_%s', typ) INTO loaded;
    RETURN loaded;
END
$$;
SELECT is(pg_temp.copy_binary_field('auc_state', '\x00000001'::bytea || int8send(2)
              || float8send(-0.0) || int8send(1) || int8send(2) || float8send(3) || int8send(0) || int8send(5)),
          '1;2;0,1,2;3,0,5', 'a crafted binary auc_state loads (-0 read as 0)');
SELECT throws_ok(pg_catalog.format('SELECT pg_temp.copy_binary_field(%L, %L)', typ, bad), '22P03', NULL, what)
FROM (VALUES
    ('auc_state', '\x00000002'::bytea || int8send(0), 'auc_state binary input rejects version 2'),
    ('auc_state', '\x00000000'::bytea || int8send(0), 'auc_state binary input rejects version 0'),
    ('auc_state', ''::bytea, 'auc_state binary input rejects an empty field'),
    ('auc_state', '\x00000001'::bytea, 'auc_state binary input rejects a version word alone'),
    ('auc_state', '\x00000001'::bytea || int8send(-1), 'auc_state binary input rejects a negative count'),
    ('auc_state', '\x00000001'::bytea || int8send(1), 'auc_state binary input rejects a missing row'),
    ('auc_state', '\x00000001'::bytea || int8send(0) || '\x00'::bytea, 'auc_state binary input rejects a trailing byte'),
    ('auc_state', '\x00000001'::bytea || int8send(1) || float8send(1) || int8send(1),
     'auc_state binary input rejects a truncated row'),
    ('auc_state', '\x00000001'::bytea || int8send(1) || float8send('NaN') || int8send(1) || int8send(0),
     'auc_state binary input rejects a NaN score'),
    ('auc_state', '\x00000001'::bytea || int8send(1) || float8send('-Infinity') || int8send(1) || int8send(0),
     'auc_state binary input rejects an infinite score'),
    ('auc_state', '\x00000001'::bytea || int8send(2) || float8send(1) || int8send(1) || int8send(0)
                  || float8send(1) || int8send(0) || int8send(1), 'auc_state binary input rejects a repeated score'),
    ('auc_state', '\x00000001'::bytea || int8send(1) || float8send(1) || int8send(0) || int8send(0),
     'auc_state binary input rejects a score without rows'),
    ('auc_state', '\x00000001'::bytea || int8send(1) || float8send(1) || int8send(-1) || int8send(2),
     'auc_state binary input rejects a negative count of positives'),
    ('auc_state', '\x00000001'::bytea || int8send(2) || float8send(1) || int8send(9223372036854775807) || int8send(0)
                  || float8send(2) || int8send(0) || int8send(1), 'auc_state binary input rejects counts adding up past int64'),
    ('km_state', '\x00000001'::bytea || int8send(1) || float8send(-1) || int8send(1) || int8send(0),
     'km_state binary input rejects a negative time'),
    ('km_state', '\x00000001'::bytea || int8send(2) || float8send(2) || int8send(1) || int8send(0)
                 || float8send(1) || int8send(1) || int8send(0), 'km_state binary input rejects decreasing times')) v(typ, bad, what);
DO $$ BEGIN EXECUTE pg_catalog.format('COPY (SELECT WHERE false) TO PROGRAM %L', 'rm -f ' || pg_temp.copy_file()); END $$;

-- ---- the catalog --------------------------------------------------------------------------------
SELECT is(array_agg(format_type(a.aggtranstype, NULL) || ' ' || p.proname || ' ' || (a.aggcombinefn <> 0)
                    || ' ' || (a.aggserialfn = 0 AND a.aggdeserialfn = 0) ORDER BY p.proname),
          ARRAY['crm.auc_state auc true true', 'crm.km_state km_fit true true'],
          'auc and km_fit keep a real state type, with a combine function and no (de)serialize function')
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE p.pronamespace = 'crm'::regnamespace AND p.proname IN ('auc', 'km_fit');

-- ---- the data: scores with ties, negative scores, 0 and -0; durations with ties --------------------
CREATE TEMP TABLE rows_ (i integer, g integer, s float8, l boolean, d float8, o boolean);
INSERT INTO rows_
SELECT i, i % 4,
       CASE WHEN i % 11 = 0 THEN '-0'::float8 ELSE ((i * 7919) % 61 - 30) / 8.0 + (i % 3 = 0)::int END,
       i % 3 = 0 OR i % 17 = 0,
       ((i * 104729) % 83) / 4.0, i % 5 <> 0
FROM generate_series(1, 1200) i;
INSERT INTO rows_ VALUES (1201, 1, NULL, true, NULL, true), (1202, 2, 1, NULL, 3, NULL);

-- AUC by brute force over all (positive, negative) pairs: twice the wins (2 a win, 1 a tie) are an
-- integer; the AUC is that over 2 over P N, the same floating-point operations as the aggregate's.
CREATE FUNCTION pg_temp.auc_brute(where_ text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE result float8;
BEGIN
    EXECUTE 'WITH r AS (SELECT s, l FROM rows_ WHERE s IS NOT NULL AND l IS NOT NULL AND ' || where_ || ')
             SELECT (sum(CASE WHEN p.s > n.s THEN 2 WHEN p.s = n.s THEN 1 ELSE 0 END)::float8 / 2.0)
                    / ((SELECT count(*) FROM r WHERE l)::float8 * (SELECT count(*) FROM r WHERE NOT l)::float8)
             FROM r p, r n WHERE p.l AND NOT n.l' INTO result;
    RETURN result;
END
$$;
-- Kaplan–Meier table by brute force: per distinct time, the rows at or after it, events, censorings.
CREATE FUNCTION pg_temp.km_brute(where_ text) RETURNS TABLE (t float8, at_risk bigint, events bigint, censored bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'WITH r AS (SELECT d, o FROM rows_ WHERE d IS NOT NULL AND o IS NOT NULL AND ' || where_ || ')
        SELECT x.d, (SELECT count(*) FROM r WHERE r.d >= x.d), count(*) FILTER (WHERE x.o), count(*) FILTER (WHERE NOT x.o)
        FROM r x GROUP BY x.d ORDER BY x.d';
END
$$;

SELECT is(crm.auc(s, l), pg_temp.auc_brute('true'), 'auc = brute force over all pairs, exactly') FROM rows_;
SELECT is(crm.auc(s, l), pg_temp.auc_brute('g = ' || g), 'auc of group ' || g || ' = brute force, exactly')
FROM rows_ GROUP BY g ORDER BY g;
SELECT results_eq($$SELECT "time", at_risk, events, censored FROM crm.km_table((SELECT crm.km_fit(d, o) FROM rows_))$$,
                  $$SELECT * FROM pg_temp.km_brute('true')$$, 'km_fit = brute-force risk sets, events and censorings');
SELECT results_eq($$SELECT "time", at_risk, events, censored FROM crm.km_table((SELECT crm.km_fit(d, o) FROM rows_ WHERE g = 3))$$,
                  $$SELECT * FROM pg_temp.km_brute('g = 3')$$, 'km_fit of one group = brute force');

-- the states themselves, by hand
CREATE AGGREGATE pg_temp.auc_state(double precision, boolean) (
    SFUNC = crm.auc_transition, STYPE = crm.auc_state, COMBINEFUNC = crm.auc_combine, PARALLEL = SAFE);
CREATE AGGREGATE pg_temp.km_state(double precision, boolean) (
    SFUNC = crm.km_trans, STYPE = crm.km_state, COMBINEFUNC = crm.km_combine, PARALLEL = SAFE);
-- scores 0.4 (neg), 0.1 (neg), 0.4 (pos), -0 (pos), 0.8 (pos), 0 (neg), 0.1 (neg):
-- 0: 1 pos 1 neg; 0.1: 2 neg; 0.4: 1 pos 1 neg; 0.8: 1 pos
SELECT is(pg_temp.auc_state(s, l)::text, '1;4;0,1,1;0.1,0,2;0.4,1,1;0.8,1,0', 'an auc state: sorted distinct scores with their counts')
FROM (VALUES (0.4, false), (0.1, false), (0.4, true), ('-0', true), (0.8, true), (0, false), (0.1, false), (NULL, true)) v(s, l);
-- the AUC of those 3 positives and 4 negatives: 0 ties 0 (1/2), 0.4 beats 0, 0.1, 0.1 and ties 0.4
-- (3 1/2), 0.8 beats all 4: 8 / 12
SELECT is(crm.auc(s, l), 8.0::float8 / 12, 'that AUC by hand: 8/12')
FROM (VALUES (0.4, false), (0.1, false), (0.4, true), ('-0', true), (0.8, true), (0, false), (0.1, false)) v(s, l);
SELECT is(pg_temp.km_state(d, o)::text, '1;3;1,2,0;2.5,0,1;4,1,2', 'a km state: sorted distinct times with events and censorings')
FROM (VALUES (4, false), (1, true), (2.5, false), (4, true), (1, true), (4, false)) v(d, o);

-- ---- the bytes a state takes: 16 + 24 D stored, 12 + 24 D sent, for N rows with D distinct values --
SELECT is(ARRAY[pg_column_size(pg_temp.auc_state(i % 37 - 18.5, i % 2 = 0)),
                octet_length(crm.auc_state_send(pg_temp.auc_state(i % 37 - 18.5, i % 2 = 0)))],
          ARRAY[16 + 24 * 37, 12 + 24 * 37], '10,000 rows, 37 distinct scores: 16 + 24 D bytes stored, 12 + 24 D sent')
FROM generate_series(1, 10000) i;
SELECT is(ARRAY[pg_column_size(pg_temp.auc_state(i, i % 2 = 0)), octet_length(crm.auc_state_send(pg_temp.auc_state(i, i % 2 = 0)))],
          ARRAY[16 + 24 * 1000, 12 + 24 * 1000], '1,000 rows, all distinct: 16 + 24 D and 12 + 24 D')
FROM generate_series(1, 1000) i;
SELECT is(ARRAY[pg_column_size(pg_temp.km_state(i % 100, i % 3 = 0)), octet_length(crm.km_state_send(pg_temp.km_state(i % 100, i % 3 = 0)))],
          ARRAY[16 + 24 * 100, 12 + 24 * 100], '50,000 durations, 100 distinct: 16 + 24 D and 12 + 24 D')
FROM generate_series(1, 50000) i;
SELECT is(ARRAY[pg_column_size(x), octet_length(crm.km_state_send(x))], ARRAY[16, 12], 'an empty state: 16 and 12 bytes')
FROM (SELECT '1;0'::crm.km_state) v(x);
SELECT cmp_ok(length(pg_temp.auc_state(-1e-300 * i, i % 2 = 0)::text), '<=', 21 + 65 * 1000,
              'the text form (what Citus ships) is at most 21 + 65 D bytes, worst-case scores')
FROM generate_series(1, 1000) i;
SELECT cmp_ok(length(pg_temp.km_state(i, true)::text), '<=', 21 + 65 * 1000, 'so is the km state''s')
FROM generate_series(1, 1000) i;

-- ---- serial = forced parallel, grouped and ungrouped; hash-grouped = sorted ---------------------
CREATE TEMP TABLE big AS SELECT * FROM rows_;
INSERT INTO big SELECT i + 2000 * k, g, s + k / 16.0, l, d + k, o FROM rows_, generate_series(1, 24) k;
CREATE TABLE pg_temp.big_heap AS SELECT * FROM big;
-- (a temporary table is never scanned in parallel: a plain table in schema public)
CREATE TABLE public.crm_auc_km_states_big AS SELECT * FROM big;
ANALYZE public.crm_auc_km_states_big;
CREATE TEMP TABLE serial_answers AS
SELECT g, crm.auc(s, l) AS a, crm.km_fit(d, o)::text AS k FROM public.crm_auc_km_states_big GROUP BY GROUPING SETS ((g), ());
SAVEPOINT parallel;
\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.auc(s, l), crm.km_fit(d, o) FROM public.crm_auc_km_states_big') l
                  WHERE l ~ 'Partial Aggregate'), 'the forced plan aggregates in parallel workers');
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT g, crm.auc(s, l), crm.km_fit(d, o) FROM public.crm_auc_km_states_big GROUP BY g') l
                  WHERE l ~ 'Partial .*Aggregate'), 'so does the grouped one');
SELECT is((SELECT crm.auc(s, l) FROM public.crm_auc_km_states_big), (SELECT a FROM serial_answers WHERE g IS NULL),
          'auc: forced parallel = serial, exactly');
SELECT is((SELECT crm.km_fit(d, o)::text FROM public.crm_auc_km_states_big), (SELECT k FROM serial_answers WHERE g IS NULL),
          'km_fit: forced parallel = serial, exactly');
SELECT results_eq($$SELECT g, crm.auc(s, l), crm.km_fit(d, o)::text FROM public.crm_auc_km_states_big GROUP BY g ORDER BY g$$,
                  $$SELECT g, a, k FROM serial_answers WHERE g IS NOT NULL ORDER BY g$$,
                  'grouped: forced parallel = serial, exactly');
ROLLBACK TO SAVEPOINT parallel;
SELECT is((SELECT a FROM serial_answers WHERE g IS NULL), (SELECT crm.auc(s, l) FROM pg_temp.big_heap),
          'a plain and a temporary table give the same auc');
SET LOCAL enable_hashagg = off;
CREATE TEMP TABLE sorted_answers AS SELECT i % 97 AS h, crm.auc(s, l) AS a, crm.km_fit(d, o)::text AS k FROM big GROUP BY 1;
SET LOCAL enable_hashagg = on;
SET LOCAL enable_sort = off;
SELECT results_eq($$SELECT i % 97, crm.auc(s, l), crm.km_fit(d, o)::text FROM big GROUP BY 1 ORDER BY 1$$,
                  $$SELECT h, a, k FROM sorted_answers ORDER BY h$$, '97 groups hashed = sorted');
RESET enable_sort;
DROP TABLE public.crm_auc_km_states_big;

-- ---- running window aggregates (the final function runs, more rows follow) ---------------------
SELECT results_eq($$SELECT i, crm.auc(s, l) OVER (ORDER BY i) FROM rows_ WHERE i BETWEEN 1 AND 40 ORDER BY i$$,
                  $$SELECT i, pg_temp.auc_brute('i BETWEEN 1 AND ' || i) FROM generate_series(1, 40) i$$,
                  'running auc = brute force on each prefix');
SELECT results_eq($$SELECT i, crm.km_fit(d, o) OVER (ORDER BY i)::text FROM rows_ WHERE i BETWEEN 1 AND 30 ORDER BY i$$,
                  $$SELECT i, (SELECT crm.km_fit(d, o) FROM rows_ WHERE i BETWEEN 1 AND n)::text FROM generate_series(1, 30) n(i)$$,
                  'running km_fit = km_fit of each prefix');

-- ---- NULLs, degenerate inputs, errors -------------------------------------------------------------
SELECT is(crm.auc(s, l), NULL, 'auc of no rows: NULL') FROM rows_ WHERE false;
SELECT is(crm.auc(s, l), NULL, 'auc of NULL rows only: NULL') FROM (VALUES (NULL::float8, true), (1, NULL)) v(s, l);
SELECT is(crm.auc(s, true), NULL, 'auc of positives only: NULL') FROM rows_;
SELECT is(crm.auc(s, false), NULL, 'auc of negatives only: NULL') FROM rows_;
SELECT is(crm.auc(1, i > 5), 0.5::float8, 'all scores tied: 0.5') FROM generate_series(1, 10) i;
SELECT is(crm.auc(i, i > 5), 1::float8, 'a perfect ranking: 1') FROM generate_series(1, 10) i;
SELECT is(crm.km_fit(d, o)::text, NULL, 'km_fit of no rows: NULL') FROM rows_ WHERE false;
SELECT is(crm.km_fit(d, o)::text, NULL, 'km_fit of NULL rows only: NULL') FROM (VALUES (NULL::float8, true), (1, NULL)) v(d, o);
SELECT is(crm.km_fit(d, o)::text, '{(0,2,1,1)}', 'km_fit: -0 and 0 are one time') FROM (VALUES ('-0'::float8, true), (0, false)) v(d, o);
SELECT throws_ok($$SELECT crm.auc(s, true) FROM (VALUES (1::float8), ('NaN')) v(s)$$, '22023', NULL, 'auc: a NaN score raises 22023');
SELECT throws_ok($$SELECT crm.auc(s, true) FROM (VALUES ('-Infinity'::float8)) v(s)$$, '22023', NULL, 'auc: an infinite score raises 22023');
SELECT throws_ok($$SELECT crm.km_fit(-1, true)$$, '22023', NULL, 'km_fit: a negative duration raises 22023');
SELECT throws_ok($$SELECT crm.km_fit('Infinity', true)$$, '22023', NULL, 'km_fit: an infinite duration raises 22023');
SELECT throws_ok($$SELECT crm.auc_combine('1;1;0.5,9223372036854775807,0', '1;1;0.5,1,0')$$, '22003', NULL,
                 'combining counts past int64: 22003');
SELECT throws_ok($$SELECT crm.auc_final(crm.auc_combine('1;1;0.5,9223372036854775807,0', '1;1;0.7,1,1'))$$, '22003', NULL,
                 'auc of positives adding up past int64: 22003');
SELECT throws_ok($$SELECT crm.km_final(crm.km_combine('1;1;0.5,9223372036854775807,0', '1;1;0.7,0,1'))$$, '22003', NULL,
                 'km_fit of subjects adding up past int64: 22003');
SELECT throws_ok($$SELECT crm.auc_transition('1;1;0.5,9223372036854775807,0', 1, false)$$, '22003', NULL,
                 'one more row than an int64 counts: 22003 (every state made reads back)');
SELECT throws_ok($$SELECT crm.km_combine('1;1;0.5,9223372036854775807,0', '1;1;0.7,0,1')$$, '22003', NULL,
                 'combining states whose rows add up past int64: 22003');
SELECT is(crm.auc_final('1;2;0.5,1,0;0.7,0,3'), 0::float8, 'auc_final of a stored state');
SELECT is(crm.auc_final('1;0'), NULL, 'auc_final of the empty state: NULL');
SELECT is(crm.km_final('1;0')::text, NULL, 'km_final of the empty state: NULL');

-- ---- support functions called directly: new values, arguments unchanged ----------------------------
CREATE TEMP TABLE direct (a crm.auc_state, k crm.km_state);
INSERT INTO direct VALUES ('1;2;0.5,1,0;0.7,0,3', '1;1;2,1,1');
SELECT is(crm.auc_transition(a, 0.6, true)::text, '1;3;0.5,1,0;0.6,1,0;0.7,0,3', 'auc_transition called directly') FROM direct;
SELECT is(crm.auc_transition(crm.auc_transition(a, 0.5, false), 0.5, false)::text, '1;2;0.5,1,2;0.7,0,3',
          'auc_transition twice') FROM direct;
SELECT is(crm.auc_transition(a, NULL, true)::text, a::text, 'auc_transition skips a NULL score') FROM direct;
SELECT is(crm.auc_transition(NULL, 1, NULL)::text, NULL, 'auc_transition of NULL and a NULL label: NULL');
SELECT is(crm.auc_transition(NULL, 1, false)::text, '1;1;1,0,1', 'auc_transition from NULL');
SELECT is(crm.auc_combine(a, '1;2;0.5,2,7;0.6,0,3')::text, '1;3;0.5,3,7;0.6,0,3;0.7,0,3', 'auc_combine called directly') FROM direct;
SELECT is(crm.auc_combine(NULL, a)::text, a::text, 'auc_combine(NULL, x) = x') FROM direct;
SELECT is(crm.auc_combine(a, NULL)::text, a::text, 'auc_combine(x, NULL) = x') FROM direct;
SELECT is(crm.auc_combine(NULL, NULL)::text, NULL, 'auc_combine(NULL, NULL) = NULL');
SELECT is(crm.km_combine(k, k)::text, '1;1;2,2,2', 'km_combine of a state with itself') FROM direct;
SELECT is(crm.km_trans(k, 0, false)::text, '1;2;0,0,1;2,1,1', 'km_trans called directly') FROM direct;
SELECT is(a::text || ' ' || k::text, '1;2;0.5,1,0;0.7,0,3 1;1;2,1,1', 'the stored arguments are unchanged') FROM direct;
SELECT throws_ok($$SELECT crm.km_trans(NULL, -2, true)$$, '22023', NULL, 'km_trans called directly checks the duration');

SELECT * FROM finish();
ROLLBACK;
