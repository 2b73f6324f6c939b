-- pgTAP: the NPS, CSAT and CES aggregates: values against independent SQL formulas, errors by
-- SQLSTATE, NULLs, empty input, and parallel plans giving the serial answers.
BEGIN;
SELECT plan(42);

-- Five promoters, three passives, two detractors: NPS 30, in both input types.
CREATE TEMP TABLE hand (score smallint);
INSERT INTO hand VALUES (10), (10), (10), (9), (9), (8), (7), (7), (6), (3);
SELECT is(crm.nps(score), 30::float8, 'nps(smallint): 5 promoters, 3 passives, 2 detractors -> 30') FROM hand;
SELECT is(crm.nps(score::integer), 30::float8, 'nps(integer) agrees') FROM hand;
SELECT is(crm.nps_agg(score)::text, '(0,0,0,1,0,0,1,2,1,2,3)', 'nps_agg(smallint): the histogram') FROM hand;
SELECT is(crm.nps_agg(score::integer)::text, '(0,0,0,1,0,0,1,2,1,2,3)', 'nps_agg(integer): the histogram') FROM hand;
SELECT is(crm.nps(score), 100::float8, 'all promoters -> 100') FROM (VALUES (9), (10)) v(score);
SELECT is(crm.nps(score), -100::float8, 'all detractors -> -100') FROM (VALUES (0), (6)) v(score);
SELECT is(crm.nps(score), 0::float8, 'all passives -> 0') FROM (VALUES (7), (8)) v(score);

-- NULLs and empty input
SELECT is(crm.nps(score), 50::float8, 'NULL scores are skipped') FROM (VALUES (10), (NULL), (7)) v(score);
SELECT is(crm.nps(score), NULL, 'nps over no rows is NULL') FROM hand WHERE false;
SELECT is(crm.nps_agg(score)::text, NULL, 'nps_agg over no rows is NULL') FROM hand WHERE false;
SELECT is(crm.nps(score), NULL, 'nps over only NULLs is NULL') FROM (VALUES (NULL::integer)) v(score);
SELECT is(crm.nps_agg(score)::text, NULL, 'nps_agg over only NULLs is NULL') FROM (VALUES (NULL::smallint)) v(score);
SELECT is(crm.csat(score), NULL, 'csat over no rows is NULL') FROM hand WHERE false;
SELECT is(crm.ces(score), NULL, 'ces over no rows is NULL') FROM hand WHERE false;
SELECT is(crm.csat(score, t), 50::float8, 'csat skips rows with a NULL score or threshold')
FROM (VALUES (5, 4), (NULL, 4), (1, NULL), (2, 4)) v(score, t);

-- CSAT and CES by hand: 5, 5, 4, 3, 1 -> 3 of 5 at 4 or more = 60; 4 of 5 at 3 or more = 80;
-- CES of 1, 2, 6, 7 = 16 / 4 = 4.
SELECT is(crm.csat(score), 60::float8, 'csat(integer): 4 and 5 are positive') FROM (VALUES (5), (5), (4), (3), (1)) v(score);
SELECT is(crm.csat(score::smallint), 60::float8, 'csat(smallint) agrees') FROM (VALUES (5), (5), (4), (3), (1)) v(score);
SELECT is(crm.csat(score, 3), 80::float8, 'csat(integer, 3)') FROM (VALUES (5), (5), (4), (3), (1)) v(score);
SELECT is(crm.csat(score::smallint, 5), 40::float8, 'csat(smallint, 5)') FROM (VALUES (5), (5), (4), (3), (1)) v(score);
SELECT is(crm.ces(score), 4::float8, 'ces(integer)') FROM (VALUES (1), (2), (6), (7)) v(score);
SELECT is(crm.ces(score::smallint), 4::float8, 'ces(smallint)') FROM (VALUES (1), (2), (6), (7)) v(score);

-- Errors: every entry point checks its scale.
SELECT throws_ok('SELECT crm.nps(11)', '22003', 'NPS score must be between 0 and 10', 'nps(integer) rejects 11');
SELECT throws_ok('SELECT crm.nps((-1)::smallint)', '22003', 'NPS score must be between 0 and 10', 'nps(smallint) rejects -1');
SELECT throws_ok('SELECT crm.nps_agg(2147483647)', '22003', 'NPS score must be between 0 and 10', 'nps_agg(integer) rejects a huge score');
SELECT throws_ok('SELECT crm.nps_agg(11::smallint)', '22003', 'NPS score must be between 0 and 10', 'nps_agg(smallint) rejects 11');
SELECT throws_ok('SELECT crm.csat(0)', '22003', 'CSAT score must be between 1 and 5', 'csat rejects 0');
SELECT throws_ok('SELECT crm.csat(6::smallint)', '22003', 'CSAT score must be between 1 and 5', 'csat(smallint) rejects 6');
SELECT throws_ok('SELECT crm.csat(6, 4)', '22003', 'CSAT score must be between 1 and 5', 'csat with a threshold rejects 6');
SELECT throws_ok('SELECT crm.csat(3, 0)', '22023', 'CSAT positive threshold must be between 1 and 5', 'threshold 0 is refused');
SELECT throws_ok('SELECT crm.csat(3::smallint, 6)', '22023', 'CSAT positive threshold must be between 1 and 5', 'threshold 6 is refused');
SELECT throws_ok('SELECT crm.ces(0)', '22003', 'CES score must be between 1 and 7', 'ces rejects 0');
SELECT throws_ok('SELECT crm.ces(8::smallint)', '22003', 'CES score must be between 1 and 7', 'ces(smallint) rejects 8');
SELECT throws_ok('SELECT crm.nps(score) FROM (VALUES (5), (12)) v(score)', '22003', NULL,
                 'a bad score after good ones still raises');

-- The detail names the value.
CREATE FUNCTION pg_temp.error_detail(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE query;
    RETURN NULL;
EXCEPTION WHEN numeric_value_out_of_range THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN detail;
END
$$;
SELECT is(pg_temp.error_detail('SELECT crm.nps(11)'), 'The score given was 11.', 'the detail names the score');

-- Against the hand-written SQL formula on 20,000 generated answers (with NULLs).
CREATE TABLE nps_parallel_answers AS
SELECT i,
       CASE WHEN i % 13 = 0 THEN NULL ELSE ((i * 7919) % 11)::smallint END AS nps_score,
       ((i * 31) % 5 + 1)::smallint AS csat_score,
       ((i * 17) % 7 + 1) AS ces_score,
       DATE '2026-01-01' + i % 30 AS day
FROM generate_series(1, 20000) i;
ANALYZE nps_parallel_answers;
SELECT is(crm.nps(nps_score),
          (SELECT (100.0 * (count(*) FILTER (WHERE nps_score >= 9) - count(*) FILTER (WHERE nps_score <= 6))
                  / count(nps_score))::float8 FROM nps_parallel_answers),
          'nps equals the SQL formula') FROM nps_parallel_answers;
SELECT is(crm.csat(csat_score), (SELECT (100.0 * count(*) FILTER (WHERE csat_score >= 4) / count(*))::float8
                                 FROM nps_parallel_answers), 'csat equals the SQL formula') FROM nps_parallel_answers;
SELECT is(crm.ces(ces_score), (SELECT avg(ces_score)::float8 FROM nps_parallel_answers),
          'ces equals avg()') FROM nps_parallel_answers;

-- Parallel plans: partial aggregates in the workers, combined (serialize, deserialize, combine).
CREATE TABLE nps_parallel_daily AS
SELECT day, crm.nps_agg(nps_score) AS summary FROM nps_parallel_answers GROUP BY day;
INSERT INTO nps_parallel_daily SELECT day + 30, summary FROM nps_parallel_daily, generate_series(1, 400);
ANALYZE nps_parallel_daily;

SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_answers AS
SELECT crm.nps(nps_score) AS nps, crm.nps_agg(nps_score)::text AS summary,
       crm.nps(nps_score::integer) AS nps_int, crm.csat(csat_score) AS csat,
       crm.csat(csat_score, 5) AS csat_5, crm.ces(ces_score) AS ces
FROM nps_parallel_answers;
CREATE TEMP TABLE serial_union AS
SELECT crm.nps_union(summary)::text AS summary FROM nps_parallel_daily;

\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of(
              'SELECT crm.nps(nps_score), crm.nps_agg(nps_score), crm.csat(csat_score), crm.ces(ces_score) FROM nps_parallel_answers') p
          WHERE p LIKE '%Partial Aggregate%'), 'nps, nps_agg, csat and ces run as partial aggregates');
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.nps_union(summary) FROM nps_parallel_daily') p
          WHERE p LIKE '%Partial Aggregate%'), 'nps_union runs as a partial aggregate');
-- CREATE TABLE AS runs its query in parallel (a cursor, as in results_eq, would not).
CREATE TEMP TABLE parallel_answers AS
SELECT crm.nps(nps_score) AS nps, crm.nps_agg(nps_score)::text AS summary,
       crm.nps(nps_score::integer) AS nps_int, crm.csat(csat_score) AS csat,
       crm.csat(csat_score, 5) AS csat_5, crm.ces(ces_score) AS ces
FROM nps_parallel_answers;
CREATE TEMP TABLE parallel_union AS
SELECT crm.nps_union(summary)::text AS summary FROM nps_parallel_daily;
SELECT results_eq('SELECT * FROM parallel_answers', 'SELECT * FROM serial_answers',
                  'parallel nps, nps_agg, csat and ces equal the serial answers');
SELECT results_eq('SELECT * FROM parallel_union', 'SELECT * FROM serial_union',
                  'parallel nps_union equals the serial answer');
-- Each day's summary appears 401 times: the union is every count of the answers times 401.
SELECT is((SELECT summary FROM parallel_union),
          (SELECT '(' || string_agg((count::bigint * 401)::text, ',' ORDER BY position) || ')'
           FROM serial_answers,
                unnest(string_to_array(btrim(summary, '()'), ',')) WITH ORDINALITY u(count, position)),
          'nps_union of 401 copies of each day = 401 times the histogram of the answers');

SELECT * FROM finish();
ROLLBACK;
