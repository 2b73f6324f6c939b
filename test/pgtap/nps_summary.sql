-- pgTAP: crm.nps_summary: text and binary forms (COPY included), garbage input, merging, the
-- accessors, the margin of error against its formula computed here in SQL.
BEGIN;
SELECT plan(85);

-- Text round trips, including the largest count and spaces (normalised away).
SELECT is(s::crm.nps_summary::text, s, 'text round trip of ' || s)
FROM unnest(ARRAY['(0,0,0,0,0,0,0,0,0,0,0)', '(0,0,0,1,0,0,1,2,1,2,3)',
                  '(9223372036854775807,1,2,3,4,5,6,7,8,9,9223372036854775807)']) s;
SELECT is(' ( 1 , 2,3,4,5,6,7,8,9,10, 11 ) '::crm.nps_summary::text, '(1,2,3,4,5,6,7,8,9,10,11)',
          'spaces around counts are accepted and dropped');

-- Garbage text: invalid_text_representation, never a crash.
SELECT throws_ok(pg_catalog.format('SELECT %L::crm.nps_summary', garbage), '22P02', NULL,
                 'text input rejects ' || pg_catalog.quote_literal(garbage))
FROM unnest(ARRAY['', ' ', '(', ')', '()', '(1,2)', '(0,0,0,0,0,0,0,0,0,0)',
                  '(0,0,0,0,0,0,0,0,0,0,0,0)', '(0,0,0,0,0,0,0,0,0,0,-1)', '(-0,0,0,0,0,0,0,0,0,0,0)',
                  '(+1,0,0,0,0,0,0,0,0,0,0)', '(0,0,0,0,0,0,0,0,0,0,99999999999999999999)',
                  '(0,0,0,0,0,0,0,0,0,0,9223372036854775808)', '(a,b,c,d,e,f,g,h,i,j,k)',
                  '(0,0,0,0,0,0,0,0,0,0,0)x', '(0,0,0,0,0,0,0,0,0,0,0', '0,0,0,0,0,0,0,0,0,0,0)',
                  '(0,0,0,0,0,0,0,0,0,0,1.5)', '(0,0,0,0,0,0,0,0,0,0,1e3)', '(0 0,0,0,0,0,0,0,0,0,0,0)',
                  '(0,,0,0,0,0,0,0,0,0,0)', '{0,0,0,0,0,0,0,0,0,0,0}', '(0;0;0;0;0;0;0;0;0;0;0)',
                  '(0,0,0,0,0,0,0,0,0,0,0) (0)']) garbage;

-- Binary output: the version word 1, then the 11 counts, big-endian.
SELECT is(crm.nps_summary_send('(1,2,3,4,5,6,7,8,9,10,11)'),
          ('\x00000001' || (SELECT string_agg(lpad(to_hex(i), 16, '0'), '' ORDER BY i) FROM generate_series(1, 11) i))::bytea,
          'send writes the version word and 11 big-endian counts');

-- COPY round trips through files, text and binary.
CREATE TEMP TABLE summaries (id integer, summary crm.nps_summary);
INSERT INTO summaries VALUES
    (1, '(0,0,0,0,0,0,0,0,0,0,0)'), (2, '(0,0,0,1,0,0,1,2,1,2,3)'), (3, NULL),
    (4, '(9223372036854775807,0,0,0,0,0,0,0,0,0,9223372036854775807)'), (5, '(1,1,1,1,1,1,1,1,1,1,1)');
CREATE TEMP TABLE summaries_from_binary (LIKE summaries);
CREATE TEMP TABLE summaries_from_text (LIKE summaries);
CREATE FUNCTION pg_temp.copy_file() RETURNS text LANGUAGE sql AS
    $$ SELECT '/tmp/crm_nps_test_' || pg_backend_pid() || '.copy' $$;
DO $$
BEGIN
    EXECUTE pg_catalog.format('COPY summaries TO %L (FORMAT binary)', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY summaries_from_binary FROM %L (FORMAT binary)', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY summaries TO %L', pg_temp.copy_file());
    EXECUTE pg_catalog.format('COPY summaries_from_text FROM %L', pg_temp.copy_file());
END
$$;
SELECT results_eq('SELECT id, summary::text FROM summaries_from_binary ORDER BY id',
                  'SELECT id, summary::text FROM summaries ORDER BY id', 'COPY BINARY round trip');
SELECT results_eq('SELECT id, summary::text FROM summaries_from_text ORDER BY id',
                  'SELECT id, summary::text FROM summaries ORDER BY id', 'COPY text round trip');

-- Crafted binary COPY files holding one summary field: bad ones give invalid_binary_representation.
CREATE FUNCTION pg_temp.copy_binary_field(field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    file_oid oid;
    loaded crm.nps_summary;
BEGIN
    file_oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                                 || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea);
    PERFORM lo_export(file_oid, pg_temp.copy_file());
    PERFORM lo_unlink(file_oid);
    DELETE FROM summaries_from_binary;
    EXECUTE pg_catalog.format('COPY summaries_from_binary (summary) FROM %L (FORMAT binary)', pg_temp.copy_file());
    SELECT summary INTO loaded FROM summaries_from_binary;
    RETURN loaded::text;
END
$$;
CREATE FUNCTION pg_temp.counts_bytes(VARIADIC counts bigint[]) RETURNS bytea LANGUAGE sql AS
    $$ SELECT string_agg(int8send(c), '' ORDER BY n) FROM unnest(counts) WITH ORDINALITY u(c, n) $$;
SELECT is(pg_temp.copy_binary_field('\x00000001'::bytea || pg_temp.counts_bytes(0, 0, 0, 1, 0, 0, 1, 2, 1, 2, 3)),
          '(0,0,0,1,0,0,1,2,1,2,3)', 'a crafted binary file loads');
SELECT throws_ok(pg_catalog.format('SELECT pg_temp.copy_binary_field(%L)', bad), '22P03', NULL, what)
FROM (VALUES
    ('\x00000002'::bytea || pg_temp.counts_bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 'binary input rejects version 2'),
    ('\x00000101'::bytea || pg_temp.counts_bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 'binary input rejects unknown flags'),
    ('\x00000001'::bytea || pg_temp.counts_bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 'binary input rejects 10 counts'),
    ('\x00000001'::bytea || pg_temp.counts_bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 'binary input rejects 12 counts'),
    ('\x00000001'::bytea || pg_temp.counts_bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) || '\x00'::bytea, 'binary input rejects a trailing byte'),
    ('\x00000001'::bytea || pg_temp.counts_bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1), 'binary input rejects a negative count'),
    ('\x00000001'::bytea, 'binary input rejects a version word alone'),
    (''::bytea, 'binary input rejects an empty field')) v(bad, what);
DO $$ BEGIN EXECUTE pg_catalog.format('COPY (SELECT WHERE false) TO PROGRAM %L', 'rm -f ' || pg_temp.copy_file()); END $$;

-- Merging with + and nps_union: commutative, associative, exact, and checked for overflow.
CREATE TEMP TABLE abc AS SELECT '(1,0,2,0,3,0,4,0,5,0,6)'::crm.nps_summary AS a,
                                '(0,7,0,8,0,9,0,10,0,11,0)'::crm.nps_summary AS b,
                                '(12,13,14,15,16,17,18,19,20,21,22)'::crm.nps_summary AS c;
SELECT is((a OPERATOR(crm.+) b)::text, '(1,7,2,8,3,9,4,10,5,11,6)', '+ adds score by score') FROM abc;
SELECT ok((a OPERATOR(crm.+) b) OPERATOR(crm.=) (b OPERATOR(crm.+) a), 'a + b = b + a') FROM abc;
SELECT ok(((a OPERATOR(crm.+) b) OPERATOR(crm.+) c) OPERATOR(crm.=) (a OPERATOR(crm.+) (b OPERATOR(crm.+) c)),
          '(a + b) + c = a + (b + c)') FROM abc;
SELECT ok((a OPERATOR(crm.<>) b) AND NOT (a OPERATOR(crm.<>) a) AND NOT (a OPERATOR(crm.=) b), '<> is the negation of =') FROM abc;
SELECT is((SELECT crm.nps_union(s)::text FROM abc, LATERAL (VALUES (a), (b), (c)) v(s)),
          (SELECT (a OPERATOR(crm.+) b OPERATOR(crm.+) c)::text FROM abc), 'nps_union(a, b, c) = a + b + c');
SELECT is((SELECT crm.nps_union(s)::text FROM abc, LATERAL (VALUES (c), (a), (NULL), (b)) v(s)),
          (SELECT (a OPERATOR(crm.+) b OPERATOR(crm.+) c)::text FROM abc), 'nps_union skips NULLs, in any order');
SELECT is(crm.nps_union(s)::text, NULL, 'nps_union over no rows is NULL') FROM abc, LATERAL (VALUES (a)) v(s) WHERE false;
SELECT is((SELECT count(*) FROM (SELECT s FROM abc, LATERAL (VALUES (a), (b), (a), (' (1,0,2,0,3,0,4,0,5,0,6)')) v(s) GROUP BY s) g),
          2::bigint, 'GROUP BY a summary: equal summaries hash alike');
SELECT throws_ok($$SELECT '(0,0,0,0,0,0,0,0,0,0,9223372036854775807)'::crm.nps_summary OPERATOR(crm.+) '(0,0,0,0,0,0,0,0,0,0,1)'$$,
                 '22003', NULL, '+ beyond 2^63 - 1 raises 22003');
SELECT throws_ok($$SELECT crm.nps_union(s) FROM (VALUES ('(9223372036854775807,0,0,0,0,0,0,0,0,0,0)'::crm.nps_summary),
                                                        ('(1,0,0,0,0,0,0,0,0,0,0)'::crm.nps_summary)) v(s)$$,
                 '22003', NULL, 'nps_union beyond 2^63 - 1 raises 22003');
SELECT throws_ok($$SELECT crm.responses('(9223372036854775807,1,0,0,0,0,0,0,0,0,0)')$$,
                 '22003', NULL, 'responses beyond 2^63 - 1 raises 22003');

-- Per-day summaries roll up to the summary of all answers.
CREATE TEMP TABLE answers AS
SELECT DATE '2026-01-01' + i % 17 AS day, ((i * 37 + i / 5) % 11)::smallint AS score FROM generate_series(1, 5000) i;
SELECT is((SELECT crm.nps_union(summary)::text FROM (SELECT crm.nps_agg(score) AS summary FROM answers GROUP BY day) d),
          (SELECT crm.nps_agg(score)::text FROM answers), 'nps_union of per-day summaries = nps_agg over all answers');
SELECT is((SELECT crm.nps(crm.nps_union(summary)) FROM (SELECT crm.nps_agg(score) AS summary FROM answers GROUP BY day) d),
          (SELECT crm.nps(score) FROM answers), 'and so the NPS is the same');

-- Accessors, counted here from the answers.
SELECT is(crm.promoters(crm.nps_agg(score)), count(*) FILTER (WHERE score >= 9), 'promoters') FROM answers;
SELECT is(crm.passives(crm.nps_agg(score)), count(*) FILTER (WHERE score IN (7, 8)), 'passives') FROM answers;
SELECT is(crm.detractors(crm.nps_agg(score)), count(*) FILTER (WHERE score <= 6), 'detractors') FROM answers;
SELECT is(crm.responses(crm.nps_agg(score)), count(*), 'responses') FROM answers;
SELECT is(crm.nps('(0,0,0,0,0,0,0,0,0,0,0)'::crm.nps_summary), NULL, 'nps of an empty summary is NULL');
SELECT is(crm.responses('(0,0,0,0,0,0,0,0,0,0,0)'), 0::bigint, 'an empty summary has 0 responses');
SELECT is(crm.nps(NULL::crm.nps_summary), NULL, 'nps(NULL) is NULL');
SELECT is(crm.nps('(9223372036854775807,0,0,0,0,0,0,0,0,0,9223372036854775807)'::crm.nps_summary), 0::float8,
          'nps of a summary whose counts add up beyond 2^63: 0, no overflow');


-- Margin of error: z * sqrt((pP + pD - NPS^2) / n) * 100, with the z values of a normal table.
CREATE TEMP TABLE moe_cases AS
SELECT s, confidence, z,
       z * sqrt((crm.promoters(s)::float8 / crm.responses(s) + crm.detractors(s)::float8 / crm.responses(s)
                 - ((crm.promoters(s) - crm.detractors(s))::float8 / crm.responses(s)) ^ 2)
                / crm.responses(s)) * 100 AS expected
FROM (SELECT crm.nps_agg(score) AS s FROM answers
      UNION ALL SELECT '(0,0,0,1,0,0,1,2,1,2,3)'
      UNION ALL SELECT '(5,0,0,0,0,0,0,40,0,0,55)') summaries,
     (VALUES (0.95::float8, 1.959963984540054::float8), (0.90, 1.6448536269514722), (0.99, 2.5758293035489004)) z(confidence, z);
SELECT ok(abs(crm.nps_moe(s, confidence) - expected) < 1e-9,
          pg_catalog.format('nps_moe(%s, %s) = %s', s, confidence, round(expected::numeric, 6)))
FROM moe_cases;
SELECT is(round(crm.nps_moe('(0,0,0,1,0,0,1,2,1,2,3)')::numeric, 4), 48.4075, 'nps_moe defaults to 95%: 48.4075 for NPS 30 of 10 answers');
SELECT is(crm.nps_moe('(0,0,0,0,0,0,0,0,0,0,0)'), NULL, 'nps_moe of an empty summary is NULL');
SELECT is(crm.nps_moe('(0,0,0,0,0,0,0,0,0,0,7)'), 0::float8, 'nps_moe is 0 when every answer agrees');
SELECT throws_ok($$SELECT crm.nps_moe('(0,0,0,0,0,0,0,0,0,0,1)', c)$$ || pg_catalog.format(' FROM (VALUES (%s::float8)) v(c)', c),
                 '22023', NULL, 'nps_moe rejects confidence ' || c)
FROM unnest(ARRAY['0', '1', '-0.5', '1.5', '''NaN''', '''Infinity''']) c;
SELECT is((crm.nps_ci('(0,0,0,1,0,0,1,2,1,2,3)')).lower, 30 - crm.nps_moe('(0,0,0,1,0,0,1,2,1,2,3)'), 'nps_ci lower = NPS - moe');
SELECT is((crm.nps_ci('(0,0,0,1,0,0,1,2,1,2,3)', 0.9)).upper, 30 + crm.nps_moe('(0,0,0,1,0,0,1,2,1,2,3)', 0.9), 'nps_ci upper = NPS + moe');
-- One promoter and one passive: NPS 50, variance 0.5 - 0.25, moe = 1.96 * sqrt(0.125) * 100 = 69.3.
SELECT is((crm.nps_ci('(0,0,0,0,0,0,0,1,0,0,1)')).upper, 100::float8, 'nps_ci clamps the upper bound to 100');
SELECT is((crm.nps_ci('(1,0,0,0,0,0,0,1,0,0,0)')).lower, -100::float8, 'nps_ci clamps the lower bound to -100');
SELECT ok((crm.nps_ci('(0,0,0,0,0,0,0,0,0,0,0)')).lower IS NULL AND (crm.nps_ci('(0,0,0,0,0,0,0,0,0,0,0)')).upper IS NULL,
          'nps_ci of an empty summary has NULL bounds');
SELECT throws_ok($$SELECT crm.nps_ci('(0,0,0,0,0,0,0,0,0,0,0)', 1)$$, '22023', NULL, 'nps_ci rejects confidence 1');

SELECT * FROM finish();
ROLLBACK;
