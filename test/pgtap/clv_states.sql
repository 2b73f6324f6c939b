-- pgTAP: crm.clv_fit_state, the partial state of crm.bgnbd_fit and crm.gammagamma_fit (a real type,
-- so Citus ships it between nodes as text): text and binary forms, garbage input, the support
-- functions called directly (arguments unchanged), the fits on a state rebuilt from its text equal
-- the aggregates, and split/merged states (the combine function) give the fit of the whole.
BEGIN;
SELECT plan(131);

-- ---- text ------------------------------------------------------------------------------------
SELECT is(s::crm.clv_fit_state::text, s, 'text round trip of ' || s)
FROM unnest(ARRAY['1;bgnbd;0;0', '1;bgnbd;0.01;2;0,0,38,3;2,30.5,38,1', '1;gammagamma;0;2;1,12.5,0,4;3,1e+300,0,9.007199254740992e+15',
                  '1;bgnbd;0;1;1,5e-324,1.7976931348623157e+308,1', '1;bgnbd;0;2;0,0,0.1,1;0,0,0.30000000000000004,1']) s;
-- Made by the transition function: compacted (sorted, equal summaries merged) on output.
SELECT is(crm.bgnbd_trans(crm.bgnbd_trans(crm.bgnbd_trans(NULL, 2, 30.5, 38), 0, 0, 38), 2, 30.5, 38)::text,
          '1;bgnbd;0;2;0,0,38,1;2,30.5,38,2', 'a state made by crm.bgnbd_trans, compacted in (x, t_x, T) order');
SELECT is(crm.gammagamma_trans(crm.gammagamma_trans(NULL, 3, 20.25, 0.5), 0, 99, 0.5)::text,
          '1;gammagamma;0.5;1;3,20.25,0,1', 'a state made by crm.gammagamma_trans (x = 0 skipped, the penalizer kept)');
SELECT throws_ok(pg_catalog.format('SELECT %L::crm.clv_fit_state', garbage), '22P02', NULL,
                 'text input rejects ' || pg_catalog.quote_literal(garbage))
FROM unnest(ARRAY['', '1', '1;', '1;bgnbd', '1;bgnbd;0', '1;bgnbd;0;', '2;bgnbd;0;0', '0;bgnbd;0;0', '1;BGNBD;0;0',
                  '1;other;0;0', '1;bgnbd;-1;0', '1;bgnbd;NaN;0', '1;bgnbd;Infinity;0', '1;bgnbd;1e999;0', '1;bgnbd;0x10;0',
                  '1;bgnbd;0;-1', '1;bgnbd;0;1', '1;bgnbd;0;0;', '1;bgnbd;0;0 ', ' 1;bgnbd;0;0', '1;bgnbd;0;1;0,0,38',
                  '1;bgnbd;0;1;0,0,38,1,5', '1;bgnbd;0;1;0,0,38,0', '1;bgnbd;0;1;0,0,38,1.5', '1;bgnbd;0;1;0,0,38,-1',
                  '1;bgnbd;0;1;-1,0,38,1', '1;bgnbd;0;1;1,0,38,1', '1;bgnbd;0;1;1,39,38,1', '1;bgnbd;0;1;0,-1,38,1',
                  '1;bgnbd;0;1;0,0,nan,1', '1;bgnbd;0;2;2,30.5,38,1;0,0,38,1', '1;bgnbd;0;2;0,0,38,1;0,0,38,1',
                  '1;gammagamma;0;1;0,12.5,0,1', '1;gammagamma;0;1;1,0,0,1', '1;gammagamma;0;1;1,12.5,1,1',
                  '1;bgnbd;0;99999999999999999999', '1;bgnbd;0;9223372036854775807;0,0,38,1',
                  '1;bgnbd;0;1;2147483648,1,38,1', '1;bgnbd;0;1;0,0,38,1e999']) garbage;

-- ---- binary ----------------------------------------------------------------------------------
SELECT is(crm.clv_fit_state_send('1;gammagamma;0.5;1;3,20.25,0,2'),
          '\x00000201'::bytea || float8send(0.5) || int8send(1) || int4send(3) || float8send(20.25) || float8send(0)
          || float8send(2), 'send writes the header word, the penalizer, the count and each summary, big-endian');
CREATE TEMP TABLE states (id integer, state crm.clv_fit_state);
INSERT INTO states VALUES (1, '1;bgnbd;0;0'), (2, '1;bgnbd;0.01;2;0,0,38,3;2,30.5,38,1'), (3, NULL),
    (4, '1;gammagamma;0;2;1,12.5,0,4;3,1e+300,0,9007199254740992');
-- a state of 10,000 distinct summaries, stored out of line
INSERT INTO states SELECT 5, ('1;bgnbd;0;10000' || string_agg(';' || i || ',' || i || ',' || (i + 0.5) || ',' || (1 + i % 3), '' ORDER BY i))::crm.clv_fit_state
FROM generate_series(1, 10000) i;
CREATE TEMP TABLE states_loaded (LIKE states);
CREATE FUNCTION pg_temp.copy_file() RETURNS text LANGUAGE sql AS
    $$ SELECT '/tmp/crm_clv_states_test_' || pg_backend_pid() || '.copy' $$;
DO $$
BEGIN
    EXECUTE pg_catalog.format('COPY states TO %L (FORMAT binary)', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY states_loaded FROM %L (FORMAT binary)', pg_temp.copy_file());
END
$$;
SELECT results_eq('SELECT id, state::text FROM states_loaded ORDER BY id', 'SELECT id, state::text FROM states ORDER BY id',
                  'COPY BINARY round trip (a 10,000-summary state included)');
SELECT is(pg_column_size(state), 24 + 32 * 10000, 'a state takes 24 bytes plus 32 per distinct summary (uncompressed)')
FROM (SELECT '1;bgnbd;0;10000' || string_agg(';' || i || ',' || i || ',' || (i + 0.5) || ',1', '' ORDER BY i) AS t
      FROM generate_series(1, 10000) i) s, LATERAL (SELECT t::crm.clv_fit_state AS state) v;
CREATE FUNCTION pg_temp.copy_binary_field(field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    file_oid oid;
    loaded crm.clv_fit_state;
BEGIN
    file_oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                                 || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea);
    PERFORM lo_export(file_oid, pg_temp.copy_file());
    PERFORM lo_unlink(file_oid);
    DELETE FROM states_loaded;
    EXECUTE pg_catalog.format('COPY states_loaded (state) FROM %L (FORMAT binary)', pg_temp.copy_file());
    SELECT state INTO loaded FROM states_loaded;
    RETURN loaded::text;
END
$$;
CREATE FUNCTION pg_temp.row_bytes(x integer, u float8, v float8, w float8) RETURNS bytea LANGUAGE sql AS
    $$ SELECT int4send(x) || float8send(u) || float8send(v) || float8send(w) $$;
SELECT is(pg_temp.copy_binary_field('\x00000101'::bytea || float8send(0) || int8send(1) || pg_temp.row_bytes(2, 30.5, 38, 1)),
          '1;bgnbd;0;1;2,30.5,38,1', 'a crafted binary file loads');
SELECT throws_ok(pg_catalog.format('SELECT pg_temp.copy_binary_field(%L)', bad), '22P03', NULL, what)
FROM (VALUES
    ('\x00000102'::bytea || float8send(0) || int8send(0), 'binary input rejects version 2'),
    ('\x00000301'::bytea || float8send(0) || int8send(0), 'binary input rejects kind 3'),
    ('\x00000001'::bytea || float8send(0) || int8send(0), 'binary input rejects kind 0'),
    ('\x00010101'::bytea || float8send(0) || int8send(0), 'binary input rejects unknown flags'),
    ('\x00000101'::bytea || float8send(0), 'binary input rejects a missing count'),
    ('\x00000101'::bytea || float8send(0) || int8send(1), 'binary input rejects a missing summary'),
    ('\x00000101'::bytea || float8send(0) || int8send(1) || pg_temp.row_bytes(2, 30.5, 38, 1) || '\x00'::bytea, 'binary input rejects a trailing byte'),
    ('\x00000101'::bytea || float8send(0) || int8send(2) || pg_temp.row_bytes(2, 30.5, 38, 1), 'binary input rejects a count above the summaries'),
    ('\x00000101'::bytea || float8send(0) || int8send(-1), 'binary input rejects a negative count'),
    ('\x00000101'::bytea || float8send(0) || int8send(9223372036854775807), 'binary input rejects a huge count'),
    ('\x00000101'::bytea || float8send('NaN') || int8send(0), 'binary input rejects a NaN penalizer'),
    ('\x00000101'::bytea || float8send(-1) || int8send(0), 'binary input rejects a negative penalizer'),
    ('\x00000101'::bytea || float8send(0) || int8send(1) || pg_temp.row_bytes(2, 'Infinity', 38, 1), 'binary input rejects an infinite t_x'),
    ('\x00000101'::bytea || float8send(0) || int8send(1) || pg_temp.row_bytes(2, 39, 38, 1), 'binary input rejects t_x > T'),
    ('\x00000101'::bytea || float8send(0) || int8send(1) || pg_temp.row_bytes(2, 30.5, 38, 0.5), 'binary input rejects a fractional weight'),
    ('\x00000101'::bytea || float8send(0) || int8send(2) || pg_temp.row_bytes(2, 30.5, 38, 1) || pg_temp.row_bytes(0, 0, 38, 1), 'binary input rejects summaries out of order'),
    ('\x00000201'::bytea || float8send(0) || int8send(1) || pg_temp.row_bytes(2, -3, 0, 1), 'binary input rejects a negative Gamma-Gamma m'),
    (''::bytea, 'binary input rejects an empty field')) v(bad, what);
DO $$ BEGIN EXECUTE pg_catalog.format('COPY (SELECT WHERE false) TO PROGRAM %L', 'rm -f ' || pg_temp.copy_file()); END $$;

-- ---- support functions called directly -------------------------------------------------------
CREATE TEMP TABLE given AS SELECT '1;bgnbd;0;1;2,30.5,38,1'::crm.clv_fit_state AS s, '1;gammagamma;0;1;2,10,0,1'::crm.clv_fit_state AS g;
SELECT is(crm.bgnbd_trans(s, 0, 0, 38)::text || ' | ' || s::text, '1;bgnbd;0;2;0,0,38,1;2,30.5,38,1 | 1;bgnbd;0;1;2,30.5,38,1',
          'crm.bgnbd_trans adds a summary, the state given unchanged') FROM given;
SELECT is(crm.customer_summaries_combine(s, crm.bgnbd_trans(s, 0, 0, 38))::text || ' | ' || s::text,
          '1;bgnbd;0;2;0,0,38,1;2,30.5,38,2 | 1;bgnbd;0;1;2,30.5,38,1', 'crm.customer_summaries_combine merges, the state given unchanged') FROM given;
SELECT is(crm.customer_summaries_combine(NULL, s)::text, s::text, 'combine(NULL, s) = s') FROM given;
SELECT is(crm.customer_summaries_combine(s, NULL)::text, s::text, 'combine(s, NULL) = s') FROM given;
SELECT throws_ok('SELECT crm.customer_summaries_combine(s, g) FROM given', '22023', NULL, 'combining a BG/NBD and a Gamma-Gamma state raises 22023');
SELECT throws_ok('SELECT crm.bgnbd_final(g) FROM given', '22023', NULL, 'crm.bgnbd_final of a Gamma-Gamma state raises 22023');
SELECT throws_ok('SELECT crm.gammagamma_final(s) FROM given', '22023', NULL, 'crm.gammagamma_final of a BG/NBD state raises 22023');
SELECT throws_ok('SELECT crm.gammagamma_trans(s, 2, 10) FROM given', '22023', NULL, 'crm.gammagamma_trans on a BG/NBD state raises 22023');
SELECT throws_ok('SELECT crm.bgnbd_final(s) FROM given', '22023', NULL, 'crm.bgnbd_final of one customer: too few (22023)');
SELECT throws_ok($$SELECT crm.customer_summaries_combine('1;bgnbd;0;1;0,0,1,1e308', '1;bgnbd;0;1;0,0,1,1e308')$$, '22003', NULL,
                 'a merged weight beyond double precision raises 22003');

-- ---- the fits from a state, and from split and merged states ---------------------------------
CREATE TABLE crm_test_cdnow (id integer, x integer, t_x double precision, big_t double precision, m double precision);
\copy crm_test_cdnow FROM 'test/data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
-- The state as text, built here in SQL: distinct (x, t_x, T) with their counts, in order.
CREATE TEMP TABLE sql_state AS
SELECT ('1;bgnbd;0;' || count(*) || string_agg(';' || x || ',' || t_x::text || ',' || big_t::text || ',' || n, '' ORDER BY x, t_x, big_t))::crm.clv_fit_state AS state
FROM (SELECT x, t_x, big_t, count(*) AS n FROM crm_test_cdnow GROUP BY x, t_x, big_t) d;
SELECT is(crm.bgnbd_final(state)::text, (SELECT crm.bgnbd_fit(x, t_x, big_t)::text FROM crm_test_cdnow),
          'crm.bgnbd_final of the state written in SQL = crm.bgnbd_fit') FROM sql_state;
CREATE TEMP TABLE sql_gg_state AS
SELECT ('1;gammagamma;0;' || count(*) || string_agg(';' || x || ',' || m::text || ',0,' || n, '' ORDER BY x, m))::crm.clv_fit_state AS state
FROM (SELECT x, m, count(*) AS n FROM crm_test_cdnow WHERE x > 0 GROUP BY x, m) d;
SELECT is(crm.gammagamma_final(state)::text, (SELECT crm.gammagamma_fit(x, m)::text FROM crm_test_cdnow),
          'crm.gammagamma_final of the state written in SQL = crm.gammagamma_fit') FROM sql_gg_state;
-- Three parts' states merged by the combine function (as a Citus coordinator does), through text.
CREATE TEMP TABLE part_states AS
SELECT part, ('1;bgnbd;0;' || count(*) || string_agg(';' || x || ',' || t_x::text || ',' || big_t::text || ',' || n, '' ORDER BY x, t_x, big_t))::crm.clv_fit_state AS state
FROM (SELECT id % 3 AS part, x, t_x, big_t, count(*) AS n FROM crm_test_cdnow GROUP BY 1, 2, 3, 4) d GROUP BY part;
SELECT is(crm.bgnbd_final(crm.customer_summaries_combine(crm.customer_summaries_combine(a.state, b.state), c.state)::text::crm.clv_fit_state)::text,
          (SELECT crm.bgnbd_fit(x, t_x, big_t)::text FROM crm_test_cdnow),
          'three parts'' states merged and shipped as text fit as the whole')
FROM part_states a, part_states b, part_states c WHERE a.part = 0 AND b.part = 1 AND c.part = 2;
SELECT is(crm.customer_summaries_combine(crm.customer_summaries_combine(a.state, b.state), c.state)::text, s.state::text,
          'the merged state equals the whole''s')
FROM part_states a, part_states b, part_states c, sql_state s WHERE a.part = 0 AND b.part = 1 AND c.part = 2;

-- Grouped, serial: per group the fit equals the final of the group's state written in SQL.
SELECT set_eq(
    $$SELECT id % 2, crm.gammagamma_fit(x, m, 0.01)::text FROM crm_test_cdnow GROUP BY 1$$,
    $$SELECT part, crm.gammagamma_final(('1;gammagamma;0.01;' || count(*) || string_agg(';' || x || ',' || m::text || ',0,' || n, '' ORDER BY x, m))::crm.clv_fit_state)::text
      FROM (SELECT id % 2 AS part, x, m, count(*) AS n FROM crm_test_cdnow WHERE x > 0 GROUP BY 1, 2, 3) d GROUP BY part$$,
    'crm.gammagamma_fit grouped = the final of each group''s state');


-- ---- crm.clv_summary_state (crm.clv_summary's state) -----------------------------------------
SELECT is(s::crm.clv_summary_state::text, s, 'text round trip of ' || s)
FROM unnest(ARRAY['1;9861;7;0', '1;9861;7;3;9500,19.99;9501,5;9500,-2.5', '1;9861;1e-300;1;-2451545,1e+300',
                  '1;9861;7;1;9861,5e-324']) s;
SELECT is(crm.clv_summary_trans(crm.clv_summary_trans(NULL, '2026-01-02 10:00+00', 19.99, '2027-01-01 00:00+00', 7),
                                '2027-06-01 00:00+00', 5, '2027-01-01 00:00+00', 7)::text,
          '1;' || (date '2027-01-01' - date '2000-01-01') || ';7;1;' || (date '2026-01-02' - date '2000-01-01') || ',19.99',
          'a state made by crm.clv_summary_trans (days since 2000-01-01; a transaction after the end left out)');
SELECT throws_ok(pg_catalog.format('SELECT %L::crm.clv_summary_state', garbage), '22P02', NULL,
                 'text input rejects ' || pg_catalog.quote_literal(garbage))
FROM unnest(ARRAY['', '1', '1;9861', '1;9861;7', '1;9861;7;', '2;9861;7;0', '1;9861;0;0', '1;9861;-7;0', '1;9861;NaN;0',
                  '1;9861;Infinity;0', '1;2147483647;7;0', '1;-2147483648;7;0', '1;9861;7;1', '1;9861;7;1;9862,1',
                  '1;9861;7;1;9800', '1;9861;7;1;9800,1,2', '1;9861;7;1;9800,nan', '1;9861;7;1;9800,1e999', '1;9861;7;0;',
                  '1;9861;7;-1', '1;9861;7;99999999999999999999', '1;9861.5;7;0', '1;9861;7;1;9800.5,1', ' 1;9861;7;0']) garbage;
SELECT is(crm.clv_summary_state_send('1;9861;7;1;9500,2'),
          '\x00000001'::bytea || int4send(9861) || float8send(7) || int8send(1) || int4send(9500) || float8send(2),
          'send writes the version word, the end day, the time unit, the count and each transaction');
CREATE TEMP TABLE sstates (id integer, state crm.clv_summary_state);
INSERT INTO sstates VALUES (1, '1;9861;7;0'), (2, '1;9861;7;3;9500,19.99;9501,5;9500,-2.5'), (3, NULL);
CREATE TEMP TABLE sstates_loaded (LIKE sstates);
DO $$
BEGIN
    EXECUTE pg_catalog.format('COPY sstates TO %L (FORMAT binary)', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY sstates_loaded FROM %L (FORMAT binary)', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY (SELECT WHERE false) TO PROGRAM %L', 'rm -f ' || pg_temp.copy_file());
END
$$;
SELECT results_eq('SELECT id, state::text FROM sstates_loaded ORDER BY id', 'SELECT id, state::text FROM sstates ORDER BY id',
                  'COPY BINARY round trip of crm.clv_summary_state');
CREATE FUNCTION pg_temp.recv_summary_state(field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    file_oid oid;
    loaded crm.clv_summary_state;
BEGIN
    file_oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                                 || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea);
    PERFORM lo_export(file_oid, pg_temp.copy_file());
    PERFORM lo_unlink(file_oid);
    DELETE FROM sstates_loaded;
    EXECUTE pg_catalog.format('COPY sstates_loaded (state) FROM %L (FORMAT binary)', pg_temp.copy_file());
    SELECT state INTO loaded FROM sstates_loaded;
    RETURN loaded::text;
END
$$;
SELECT throws_ok(pg_catalog.format('SELECT pg_temp.recv_summary_state(%L)', bad), '22P03', NULL, what)
FROM (VALUES
    ('\x00000002'::bytea || int4send(9861) || float8send(7) || int8send(0), 'binary input rejects version 2'),
    ('\x00000001'::bytea || int4send(9861) || float8send(7), 'binary input rejects a missing count'),
    ('\x00000001'::bytea || int4send(9861) || float8send(7) || int8send(1), 'binary input rejects a missing transaction'),
    ('\x00000001'::bytea || int4send(9861) || float8send(7) || int8send(1) || int4send(9500) || float8send(1) || '\x00'::bytea, 'binary input rejects a trailing byte'),
    ('\x00000001'::bytea || int4send(9861) || float8send(7) || int8send(-1), 'binary input rejects a negative count'),
    ('\x00000001'::bytea || int4send(2147483647) || float8send(7) || int8send(0), 'binary input rejects an infinite end day'),
    ('\x00000001'::bytea || int4send(9861) || float8send(0) || int8send(0), 'binary input rejects a zero time unit'),
    ('\x00000001'::bytea || int4send(9861) || float8send(7) || int8send(1) || int4send(9862) || float8send(1), 'binary input rejects a day after the end'),
    ('\x00000001'::bytea || int4send(9861) || float8send(7) || int8send(1) || int4send(9500) || float8send('NaN'), 'binary input rejects a NaN amount'),
    (''::bytea, 'binary input rejects an empty field')) v(bad, what);
DO $$ BEGIN EXECUTE pg_catalog.format('COPY (SELECT WHERE false) TO PROGRAM %L', 'rm -f ' || pg_temp.copy_file()); END $$;

CREATE TEMP TABLE sgiven AS SELECT '1;9861;7;1;9500,2'::crm.clv_summary_state AS s;
SELECT is(crm.clv_summary_combine(s, s)::text || ' | ' || s::text, '1;9861;7;2;9500,2;9500,2 | 1;9861;7;1;9500,2',
          'crm.clv_summary_combine appends, the state given unchanged') FROM sgiven;
SELECT is(crm.clv_summary_trans(s, '2026-12-01 00:00+00', 3, '2026-12-31 00:00+00', 7)::text || ' | ' || s::text,
          '1;9861;7;2;9500,2;' || (date '2026-12-01' - date '2000-01-01') || ',3 | 1;9861;7;1;9500,2',
          'crm.clv_summary_trans adds a transaction, the state given unchanged') FROM sgiven;
SELECT throws_ok($$SELECT crm.clv_summary_combine(s, '1;9861;1;0') FROM sgiven$$, '22023', NULL,
                 'combining states of different time units raises 22023');
-- Each customer's summary from three parts' states merged through text = the aggregate over all.
CREATE TEMP TABLE orders_test AS
SELECT 1 + i % 40 AS customer, timestamptz '2026-01-01 00:00+00' + (hashint4(i) % 300 + 300) * interval '1 day' AS at,
       round((abs(hashint4(i * 3)) % 10000) / 100.0, 2)::float8 AS amount, i % 3 AS part
FROM generate_series(1, 4000) i;
-- the state itself, from an aggregate without a final function
CREATE AGGREGATE pg_temp.summary_state(timestamptz, double precision, timestamptz, double precision) (
    SFUNC = crm.clv_summary_trans, STYPE = crm.clv_summary_state, COMBINEFUNC = crm.clv_summary_combine);
CREATE TEMP TABLE part_summary_states AS
SELECT customer, part, pg_temp.summary_state(at, amount, '2027-06-30 00:00+00', 7)::text AS state
FROM orders_test GROUP BY customer, part;
SELECT set_eq(
    $$SELECT customer, crm.clv_summary_final(crm.clv_summary_combine(crm.clv_summary_combine(a.state::crm.clv_summary_state,
                b.state::crm.clv_summary_state), c.state::crm.clv_summary_state)::text::crm.clv_summary_state)::text
      FROM part_summary_states a JOIN part_summary_states b USING (customer) JOIN part_summary_states c USING (customer)
      WHERE a.part = 0 AND b.part = 1 AND c.part = 2$$,
    $$SELECT customer, crm.clv_summary(at, amount, '2027-06-30 00:00+00', 7)::text FROM orders_test GROUP BY customer$$,
    'each customer''s summary from three parts'' states merged through text = crm.clv_summary over all');


-- Window aggregates: a running frame (the state goes on changing after each row's final) and a
-- moving frame (restarted for every row): each row's answer is its own.
SELECT is(array_agg((s).x ORDER BY id), ARRAY[0, 1, 1, 2, 2],
          'crm.clv_summary over a running window')
FROM (SELECT id, crm.clv_summary(at, 1, '2026-12-31', 7) OVER (ORDER BY id) AS s
      FROM (VALUES (1, timestamptz '2026-01-01 12:00+00'), (2, '2026-01-08 12:00+00'), (3, '2026-01-08 13:00+00'),
                   (4, '2026-02-01 12:00+00'), (5, NULL)) v(id, at)) w;
SELECT is(array_agg((s).x ORDER BY id), ARRAY[0, 1, 0, 1, 0],
          'crm.clv_summary over a moving window of two rows')
FROM (SELECT id, crm.clv_summary(at, 1, '2026-12-31', 7) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s
      FROM (VALUES (1, timestamptz '2026-01-01 12:00+00'), (2, '2026-01-08 12:00+00'), (3, '2026-01-08 13:00+00'),
                   (4, '2026-02-01 12:00+00'), (5, NULL)) v(id, at)) w;
SELECT is(array_agg((f).n ORDER BY id), ARRAY[2, 3, 3, 3, 2]::bigint[],
          'crm.bgnbd_fit over a moving window of three rows (each fit over its own rows)')
FROM (SELECT id, crm.bgnbd_fit(x, t_x, big_t) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS f
      FROM (SELECT id, x, t_x, big_t FROM crm_test_cdnow WHERE x > 0 ORDER BY id LIMIT 5) c) w;

SELECT * FROM finish();
ROLLBACK;
