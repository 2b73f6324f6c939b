-- test/lib/fuzz.sql: the fuzz test's generator and helpers (loaded by test/scripts/fuzz.sh into a scratch
-- database holding the extension and demo data). Everything lives in schema fuzz.
--
--   fuzz.check_rt(value)           out -> in -> out must give the same text and the same binary form
--   fuzz.bin_case(type, bytes)     feeds bytes to the type's receive function through COPY BINARY
--   fuzz.generate(seed, scale)     fills fuzz.cases (grp, sql): one statement per case
--
-- The cases are found from the catalog: every base type of schema crm with its own input function
-- and every C function and aggregate of schema crm, so later capabilities are covered unchanged.
-- The PRNG is random() after setseed(): the same seed gives the same cases.
CREATE SCHEMA fuzz;

CREATE TABLE fuzz.cases (id serial PRIMARY KEY, grp text NOT NULL, sql text NOT NULL);
-- Valid values of the types under test (text forms) and edge values for function arguments (SQL
-- expressions). normal: ordinary values the random combinations mostly draw from.
CREATE TABLE fuzz.seeds (typ regtype, value text, UNIQUE (typ, value));
CREATE TABLE fuzz.edges (typ regtype, expr text, normal boolean DEFAULT false, UNIQUE (typ, expr));

-- out -> in -> out: the text must not change, nor the binary form of the value read back.
CREATE FUNCTION fuzz.check_rt(v anyelement) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    out1 text := v::text;
    out2 text;
    v2 v%TYPE;
    send regproc;
    same boolean;
BEGIN
    IF v IS NULL THEN RETURN NULL; END IF;
    BEGIN
        EXECUTE format('SELECT $1::%s', pg_typeof(v)) INTO v2 USING out1;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION USING ERRCODE = 'FZ001',
            MESSAGE = format('%s output does not read back: %s is refused (%s: %s)', pg_typeof(v), out1, SQLSTATE, SQLERRM);
    END;
    out2 := v2::text;
    IF out1 IS DISTINCT FROM out2 THEN
        RAISE EXCEPTION USING ERRCODE = 'FZ001',
            MESSAGE = format('%s output does not read back: %s reads back as %s', pg_typeof(v), out1, out2);
    END IF;
    SELECT typsend INTO send FROM pg_type WHERE oid = pg_typeof(v);
    IF send <> 0 THEN
        EXECUTE format('SELECT %s($1) = %s($2)', send, send) INTO same USING v, v2;
        IF NOT same THEN
            RAISE EXCEPTION USING ERRCODE = 'FZ002',
                MESSAGE = format('%s value changes through its text form %s (binary form differs)', pg_typeof(v), out1);
        END IF;
    END IF;
    RETURN out1;
END
$f$;

-- The bytes as one field of a COPY BINARY file, read into a column of the type (its receive
-- function), then the value read is checked by check_rt. The file goes through a large object.
CREATE FUNCTION fuzz.bin_case(typ regtype, payload bytea) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    file text := current_setting('data_directory') || '/crm_fuzz_' || pg_backend_pid() || '.copy';
    tab text := 'fuzz_bin_' || typ::oid;
    lo oid;
    result text;
BEGIN
    lo := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                           || '\x0001'::bytea || int4send(length(payload)) || payload || '\xffff'::bytea);
    PERFORM lo_export(lo, file);
    PERFORM lo_unlink(lo);
    EXECUTE format('CREATE TEMP TABLE IF NOT EXISTS %I (v %s)', tab, typ);
    EXECUTE format('TRUNCATE pg_temp.%I', tab);
    EXECUTE format('COPY pg_temp.%I FROM %L (FORMAT binary)', tab, file);
    EXECUTE format('SELECT fuzz.check_rt(v) FROM pg_temp.%I', tab) INTO result;
    RETURN result;
END
$f$;

-- An aggregate over rows stored in table fuzz.<tab>, with a parallel plan forced (two workers, the
-- leader not scanning): partial states are combined, serialized and deserialized. The result's
-- text form must read back unchanged.
CREATE FUNCTION fuzz.parallel_agg(tab text, call text, rows text, ret regtype) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    result text;
BEGIN
    EXECUTE format('TRUNCATE fuzz.%I', tab);
    EXECUTE format('INSERT INTO fuzz.%I VALUES %s', tab, rows);
    PERFORM set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0', true),
            set_config('min_parallel_table_scan_size', '0', true), set_config('max_parallel_workers_per_gather', '2', true),
            set_config('parallel_leader_participation', 'off', true);
    EXECUTE format('SELECT (%s)::text FROM fuzz.%I', call, tab) INTO result;
    IF result IS NOT NULL AND ret IN (SELECT typ FROM fuzz.types) THEN
        EXECUTE format('SELECT fuzz.check_rt(%L::%s)', result, ret);
    END IF;
    RETURN result;
END
$f$;

CREATE FUNCTION fuzz.rint(n integer) RETURNS integer LANGUAGE sql AS $$ SELECT floor(random() * n)::integer $$;
CREATE FUNCTION fuzz.pick(a text[]) RETURNS text LANGUAGE sql AS $$ SELECT a[1 + fuzz.rint(cardinality(a))] $$;

-- Number-like replacements for a number in a text form.
CREATE FUNCTION fuzz.special_numbers() RETURNS text[] LANGUAGE sql AS $$
SELECT ARRAY['NaN', 'nan', 'Infinity', '-Infinity', 'inf', '-0', '0', '-1', '1e309', '-1e309', '5e-324',
             '2.5e-324', '1e-400', '2.2250738585072014e-308', '1e308', '9223372036854775807',
             '9223372036854775808', '-9223372036854775808', '18446744073709551616', '2147483648',
             '4294967296', '99999999999999999999999999', '0x10', '1_000', '+1', '1.5', '.5', '5.',
             '1e', 'e5', '--1', ' 1 ', '', '٣', '５', '1' || chr(65279)]
$$;

-- One random change to a text form.
CREATE FUNCTION fuzz.mutate_once(s text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    n integer := length(s);
    p integer := 1 + fuzz.rint(greatest(n, 1));
    numbers text[];
    k integer;
BEGIN
    CASE fuzz.rint(12)
    WHEN 0 THEN RETURN left(s, fuzz.rint(greatest(n, 1)));                       -- truncate
    WHEN 1 THEN RETURN overlay(s PLACING '' FROM p FOR 1);                         -- drop a character
    WHEN 2 THEN RETURN overlay(s PLACING fuzz.pick(ARRAY[',', '(', ')', '{', '}', ' ', E'\t', E'\n', '"', '\', '''', ';', '-', '.', 'e', '0'])
                       FROM p FOR 0);                                              -- insert a delimiter
    WHEN 3 THEN RETURN overlay(s PLACING fuzz.pick(ARRAY[',', '(', ')', '{', '}', '9', '-', 'x', 'é', '€', '𝟘', '٣'])
                       FROM p FOR 1);                                              -- replace a character
    WHEN 4 THEN RETURN s || substr(s, p, 1 + fuzz.rint(16));                       -- duplicate a tail
    WHEN 5 THEN RETURN substr(s, p) || substr(s, 1, p - 1);                        -- rotate
    WHEN 6 THEN RETURN translate(s, '0123456789', fuzz.pick(ARRAY['1234567890', '9999999999', '0000000000', '5555555555']));
    WHEN 7 THEN RETURN regexp_replace(s, '\s', '', 'g');                           -- no spaces
    WHEN 8 THEN RETURN regexp_replace(s, '([,(){}])', fuzz.pick(ARRAY[E' \\1 ', E'\t\\1\n', '\1\1']), 'g');
    ELSE
        -- replace the k-th number by a special one
        numbers := ARRAY(SELECT m[1] FROM regexp_matches(s, '-?[0-9][0-9.eE+-]*', 'g') AS m);
        IF cardinality(numbers) = 0 THEN RETURN s || fuzz.pick(fuzz.special_numbers()); END IF;
        k := 1 + fuzz.rint(cardinality(numbers));
        RETURN regexp_replace(s, '-?[0-9][0-9.eE+-]*', fuzz.pick(fuzz.special_numbers()), k);
    END CASE;
END
$f$;

CREATE FUNCTION fuzz.mutate(s text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    FOR i IN 0..fuzz.rint(3) LOOP
        s := fuzz.mutate_once(s);
    END LOOP;
    RETURN s;
END
$f$;

-- One random change to a binary form.
CREATE FUNCTION fuzz.mutate_bytes(b bytea) RETURNS bytea LANGUAGE plpgsql AS $f$
DECLARE
    n integer := length(b);
    p integer := fuzz.rint(greatest(n, 1));
    word bytea;
BEGIN
    CASE fuzz.rint(8)
    WHEN 0 THEN RETURN substr(b, 1, fuzz.rint(greatest(n, 1)));                  -- truncate
    WHEN 1 THEN RETURN b || decode(repeat(fuzz.pick(ARRAY['00', 'ff', '7f', '01']), 1 + fuzz.rint(16)), 'hex');
    WHEN 2 THEN                                                                    -- flip bytes
        FOR i IN 0..fuzz.rint(3) LOOP
            IF length(b) > 0 THEN b := set_byte(b, fuzz.rint(length(b)), fuzz.rint(256)); END IF;
        END LOOP;
        RETURN b;
    WHEN 3 THEN                                                                    -- a 32-bit word
        word := decode(fuzz.pick(ARRAY['00000000', 'ffffffff', '7fffffff', '80000000', '40000000', '00000002',
                                       '00010000', '0fffffff', '00000100']), 'hex');
        p := 4 * fuzz.rint(greatest(least(n, 16) / 4, 1));
        RETURN overlay(b PLACING word FROM p + 1 FOR 4);
    WHEN 4 THEN                                                                    -- a 64-bit word
        word := decode(fuzz.pick(ARRAY['7ff8000000000000', '7ff0000000000000', 'fff0000000000000',
                                       '8000000000000000', '0000000000000001', '7fefffffffffffff',
                                       '7fffffffffffffff', 'ffffffffffffffff', '0000000000000000']), 'hex');
        p := 8 + 8 * fuzz.rint(greatest((n - 8) / 8, 1));
        RETURN overlay(b PLACING word FROM p + 1 FOR 8);
    WHEN 5 THEN IF n = 0 THEN RETURN '\x01'::bytea; END IF;
                RETURN set_byte(b, least(3, n - 1), fuzz.rint(256));                -- version word
    WHEN 6 THEN RETURN b || substr(b, 9);                                          -- rows repeated
    ELSE RETURN '\x'::bytea;
    END CASE;
END
$f$;

-- Seeds: valid values of the types under test. Generic: every column of such a type in schema crm;
-- named: aggregates over the demo data and limits of each type known today.
CREATE FUNCTION fuzz.collect_seeds() RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    c record;
    v text;
BEGIN
    FOR c IN SELECT a.attrelid::regclass AS rel, a.attname, a.atttypid::regtype AS typ
             FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
             JOIN pg_type t ON t.oid = a.atttypid
             WHERE r.relnamespace = 'crm'::regnamespace AND r.relkind IN ('r', 'v', 'm')
               AND t.typnamespace = 'crm'::regnamespace AND t.typtype IN ('b', 'c') AND t.typcategory <> 'A'
               AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY 1::text, 2 LOOP
        FOR v IN EXECUTE format('SELECT DISTINCT %I::text FROM %s WHERE %I IS NOT NULL ORDER BY 1 LIMIT 4',
                                c.attname, c.rel, c.attname) LOOP
            INSERT INTO fuzz.seeds VALUES (c.typ, v) ON CONFLICT DO NOTHING;
        END LOOP;
    END LOOP;
    IF to_regtype('crm.bookings_distribution') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.bookings_distribution', x::text FROM (
            SELECT crm.bookings_distribution(a, p) FROM (VALUES (3, 0.5), (5, 0.25), (7, 0.1)) v(a, p)
            UNION ALL SELECT crm.bookings_distribution(1000 * d, d / 10.0) FROM generate_series(1, 9) d
            UNION ALL SELECT '1;2;0.5;0.5;0.25;0;0;0;0;0.5 0.5'
            UNION ALL SELECT '1;1;1;0;0;0;0;0;0;1'
        ) s(x) ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.ets_model') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.ets_model', x::text FROM (
            SELECT crm.ets_fit((date '2020-01-01' + make_interval(months => i))::date, 100 + i + 10 * sin(i), 4)
            FROM generate_series(0, 23) i
            UNION ALL SELECT crm.ets_fit((date '2020-01-01' + i)::date, 10 + (i % 3), 1, 'ANN', '{"alpha": 0.5}')
            FROM generate_series(0, 9) i
            UNION ALL SELECT '1;1;ANN;0.5 - - -;2026-01-01:10 2026-02-01:12;-'
        ) s(x) ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.nps_summary') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.nps_summary', x::text FROM (
            SELECT crm.nps_agg(score) FROM crm.survey_responses WHERE kind = 'nps'
            UNION ALL SELECT crm.nps_agg(s) FROM generate_series(0, 10) s
            UNION ALL SELECT '(0,0,0,0,0,0,0,0,0,0,0)'
            UNION ALL SELECT '(9223372036854775807,0,0,0,0,0,0,0,0,0,9223372036854775807)') AS s(x)
        WHERE x IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.counter_pair') IS NOT NULL THEN
        INSERT INTO fuzz.seeds VALUES ('crm.counter_pair', '(0,0)'), ('crm.counter_pair', '(3,5)'),
            ('crm.counter_pair', '(35,5)'), ('crm.counter_pair', '(9223372036854775807,9223372036854775807)')
        ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.clv_fit_state') IS NOT NULL THEN
        INSERT INTO fuzz.seeds VALUES ('crm.clv_fit_state', '1;bgnbd;0;0'),
            ('crm.clv_fit_state', '1;bgnbd;0.01;3;0,0,38,3;2,30.5,38,1;7,36.25,38.5,2'),
            ('crm.clv_fit_state', '1;gammagamma;0;2;1,12.5,0,4;3,1e+300,0,9007199254740992')
        ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.clv_summary_state') IS NOT NULL THEN
        INSERT INTO fuzz.seeds VALUES ('crm.clv_summary_state', '1;9861;7;0'),
            ('crm.clv_summary_state', '1;9861;7;3;9500,19.99;9501,5;9500,-2.5'),
            ('crm.clv_summary_state', '1;9861;1e-300;1;-2451545,1e+300')
        ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.survival_curve') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.survival_curve', x::text FROM (
            SELECT crm.km_fit(extract(epoch FROM coalesce(ended_at, '2026-06-30') - started_at) / 86400, ended_at IS NOT NULL)
            FROM crm.subscriptions
            UNION ALL SELECT crm.km_fit(d, d < 5) FROM generate_series(1, 8) d
            UNION ALL SELECT crm.km_fit(d / 3.0, true) FROM generate_series(0, 4) d
            UNION ALL SELECT '{(1e300,9223372036854775807,9223372036854775807,0)}'
            UNION ALL SELECT '{(0,3,1,1),(0.5,1,0,1)}') AS s(x)
        WHERE x IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.auc_state') IS NOT NULL THEN
        INSERT INTO fuzz.seeds VALUES ('crm.auc_state', '1;0'), ('crm.auc_state', '1;1;0.5,1,0'),
            ('crm.auc_state', '1;3;-2.5,0,3;0,1,1;0.75,2,0'),
            ('crm.auc_state', '1;2;-1e+300,9223372036854775806,0;5e-324,0,1')
        ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.km_state') IS NOT NULL THEN
        INSERT INTO fuzz.seeds VALUES ('crm.km_state', '1;0'), ('crm.km_state', '1;1;0,1,0'),
            ('crm.km_state', '1;3;0,0,3;0.25,2,1;30.5,1,1'),
            ('crm.km_state', '1;2;1e-300,9223372036854775806,0;1e+300,0,1')
        ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.kmeans_model') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.kmeans_model', x::text FROM (
            SELECT crm.kmeans(ARRAY[g::float8, (g % 7) * 1000.0], 2, 1, true) FROM generate_series(1, 40) g
            UNION ALL SELECT crm.kmeans(ARRAY[g::float8], 3, 7, true) FROM generate_series(1, 30) g) AS s(x)
        WHERE x IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.kmeans_state') IS NOT NULL THEN
        INSERT INTO fuzz.seeds VALUES ('crm.kmeans_state', 'v1 k 3 seed 42 standardize false points {}'),
            ('crm.kmeans_state', 'v1 k 2 seed -7 standardize true points {{1,2},{3.5,-4e-300},{1e+300,0}}'),
            ('crm.kmeans_state', 'v1 k 1 seed 2147483647 standardize false points {{0.1}}')
        ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.kmeans_step_state') IS NOT NULL THEN
        INSERT INTO fuzz.seeds VALUES ('crm.kmeans_step_state', 'v1 inertia 0 counts {0} sums {{0}}'),
            ('crm.kmeans_step_state', 'v1 inertia 12.5 counts {3,0,9223372036854775807} sums {{1,2},{0,0},{1e+300,-5e-324}}')
        ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.markov_model') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.markov_model', x::text FROM (
            SELECT crm.markov_attribution(path, converted, value) FROM (VALUES ('{a,b,c}'::text[], true, 10.50),
                ('{a}', false, NULL), ('{b,c}', false, NULL), ('{c,"x y",a,a}', true, 2)) j(path, converted, value)
            UNION ALL SELECT crm.markov_attribution(ARRAY['email'], true)
            UNION ALL SELECT '1;2;1;0;0>1:1,0>2:1,1>2:1,2>3:1,2>4:1;{a,b}'
            UNION ALL SELECT '1;0;0;0;;{}') AS s(x)
        WHERE x IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.touch_path') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.touch_path', x::text FROM (
            SELECT crm.touch_path(channel, touched_at, milestone)::text FROM (VALUES ('search', timestamptz '2026-03-01 09:00+00', 1),
                ('e;mail', '2026-03-01 10:00+00', 2), (NULL, '2026-03-01 10:00+00', 0), ('ünï', '1999-12-31 23:59:59.999999+00', 3)) t(channel, touched_at, milestone)
            UNION ALL SELECT crm.touch_path('a', now())::text
            UNION ALL SELECT '1;0'
            UNION ALL SELECT '1;2;-1,0,0:;0,3,-1:') AS s(x)
        WHERE x IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.credit_totals') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.credit_totals', x::text FROM (
            SELECT crm.channel_credits_add(NULL, crm.touch_path(channel, touched_at, milestone), 100.01, 'w_shaped')::text
            FROM (VALUES ('search', timestamptz '2026-03-01 09:00+00', 1), ('e;mail', '2026-03-01 10:00+00', 2),
                         (NULL, '2026-03-01 10:30+00', 0)) t(channel, touched_at, milestone)
            UNION ALL SELECT '1;3;4;604800000000;2;1;12345,1:a'
            UNION ALL SELECT '1;2;0;0;1;2;-170141183460469231731687303715884105728,1:a;170141183460469231731687303715884105727,-1:') AS s(x)
        WHERE x IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    -- logistic regression states (branch citus-logreg): made by the aggregates, and by hand
    IF to_regtype('crm.logreg_step_state') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.logreg_step_state', x::text FROM (
            SELECT crm.logreg_step(ARRAY[g::float8, g % 3], g % 2 = 0, NULL) FROM generate_series(1, 20) g
            UNION ALL SELECT crm.logreg_step(ARRAY[g::float8], g % 3 = 0, ARRAY[0.5, -1e-3]) FROM generate_series(1, 20) g
            UNION ALL SELECT crm.logreg_step('{}'::float8[], true, NULL)
            UNION ALL SELECT '1;1;6;4;0;0;-4.1588830833596715;1,50.5;1.5,25.75,2500.75') AS s(x)
        WHERE x IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.logreg_rows') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.logreg_rows', x::text FROM (
            SELECT '1;1;0;2;0.5,1;3,0'
            UNION ALL SELECT '1;0;1.5;1;1'
            UNION ALL SELECT '1;2;0;3;1e+300,-2.5,0;5e-324,0,1;-0,7,1') AS s(x)
        WHERE x IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.experiment_state') IS NOT NULL THEN
        INSERT INTO fuzz.seeds SELECT 'crm.experiment_state', x::text FROM (
            SELECT crm.experiment_stats(o.variant, o.conv, o.rev) FROM (VALUES ('control', true, 12.5), ('control', false, NULL),
                ('variant b', true, 1e150), ('variant b', false, -3), ('"q"', true, 0)) o(variant, conv, rev)
            UNION ALL SELECT crm.experiment_stats('A', g % 3 = 0, g / 7.0) FROM generate_series(1, 20) g
            UNION ALL SELECT '1;(9223372036854775807,9223372036854775807,1e+300,1e-300,0),(1,0,-0.5,-0.5,0);{a,b}'
            UNION ALL SELECT '1;;{}') AS s(x)
        WHERE x IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF to_regtype('crm.rfm') IS NOT NULL THEN
        INSERT INTO fuzz.seeds VALUES ('crm.rfm', '111'), ('crm.rfm', '555'), ('crm.rfm', '543')
        ON CONFLICT DO NOTHING;
    END IF;
END
$f$;

-- The base types under test: in schema crm, not arrays, with their own input function.
CREATE VIEW fuzz.types AS
SELECT t.oid::regtype AS typ FROM pg_type t
WHERE t.typnamespace = 'crm'::regnamespace AND t.typtype = 'b' AND t.typcategory <> 'A'
ORDER BY t.oid::regtype::text;

-- Edge values per argument type: SQL expressions.
CREATE FUNCTION fuzz.collect_edges() RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    r record;
    seed text;
    fields text[];
    field_type regtype;
    field_edges text[];
BEGIN
    INSERT INTO fuzz.edges (typ, expr, normal) VALUES
    ('smallint', 'NULL', false), ('smallint', '0', true), ('smallint', '1', true), ('smallint', '5', true),
    ('smallint', '9', true), ('smallint', '10', true), ('smallint', '-1', false), ('smallint', '11', false),
    ('smallint', '32767', false), ('smallint', '-32768', false),
    ('integer', 'NULL', false), ('integer', '0', true), ('integer', '1', true), ('integer', '2', true),
    ('integer', '3', true), ('integer', '10', true), ('integer', '-1', false), ('integer', '1000000', false),
    ('integer', '2147483647', false), ('integer', '-2147483648', false),
    ('bigint', 'NULL', false), ('bigint', '0', true), ('bigint', '1', true), ('bigint', '7', true),
    ('bigint', '-1', false), ('bigint', '9223372036854775807', false), ('bigint', '-9223372036854775808', false),
    ('double precision', 'NULL', false), ('double precision', '0', true), ('double precision', '0.5', true),
    ('double precision', '1', true), ('double precision', '2', true), ('double precision', '0.95', true),
    ('double precision', '10', true), ('double precision', '30.5', true), ('double precision', '100', true),
    ('double precision', '''-0''', false), ('double precision', '-1', false), ('double precision', '''NaN''', false),
    ('double precision', '''Infinity''', false), ('double precision', '''-Infinity''', false),
    ('double precision', '5e-324', false), ('double precision', '2.2250738585072014e-308', false),
    ('double precision', '1e308', false), ('double precision', '-1e308', false), ('double precision', '1e-300', false),
    ('double precision', '0.999999999999', false), ('double precision', '1e15', false),
    ('boolean', 'NULL', false), ('boolean', 'true', true), ('boolean', 'false', true),
    ('text', 'NULL', false), ('text', '''x''', true), ('text', '''5''', true), ('text', '''=''', true),
    ('text', '''<''', true), ('text', '''in''', true), ('text', '''matches''', true), ('text', '''like''', true),
    ('text', '''ends_with''', true), ('text', '''is null''', true), ('text', '''numeric''', true),
    ('text', '''text''', true), ('text', '''timestamptz''', true), ('text', '''boolean''', true),
    ('text', '''2026-06-30''', true), ('text', '''{a,b}''', true), ('text', '''''', false),
    ('text', '''NaN''', false), ('text', '''1e309''', false), ('text', '''-Infinity''', false),
    ('text', '''(''', false), ('text', '''[z-a]''', false), ('text', '''%_\''', false), ('text', '''{"a"''', false),
    ('text', '''é€𝟘''', false), ('text', '''9223372036854775808''', false), ('text', '''infinity''', false),
    ('text', 'repeat(''a'', 100000)', false), ('text', 'repeat(''(a*)*'', 1000) || ''b''', false),
    ('text', 'repeat(''9'', 100000)', false), ('text', 'repeat(''{'', 10000)', false),
    ('timestamp with time zone', 'NULL', false), ('timestamp with time zone', '''2026-06-30 00:00+00''', true),
    ('timestamp with time zone', '''2026-01-01 12:00+00''', true), ('timestamp with time zone', '''2025-03-15 08:30+00''', true),
    ('timestamp with time zone', '''infinity''', false), ('timestamp with time zone', '''-infinity''', false),
    ('timestamp with time zone', '''4713-01-01 00:00+00 BC''', false),
    ('timestamp with time zone', '''294276-12-31 23:59:59+00''', false), ('timestamp with time zone', '''1970-01-01 00:00+00''', false),
    ('double precision[]', 'NULL', false), ('double precision[]', '''{1,2}''', true), ('double precision[]', '''{3,4}''', true),
    ('double precision[]', '''{0,1}''', true), ('double precision[]', '''{10,0.5}''', true),
    ('double precision[]', '''{}''', false), ('double precision[]', '''{NULL}''', false), ('double precision[]', '''{1,NULL}''', false),
    ('double precision[]', '''{{1,2},{3,4}}''', false), ('double precision[]', '''{NaN,1}''', false),
    ('double precision[]', '''{Infinity,-Infinity}''', false), ('double precision[]', '''{1e308,1e308}''', false),
    ('double precision[]', '''{5e-324,-0}''', false), ('double precision[]', '''[0:1]={1,2}''', false),
    ('double precision[]', '''{1,2,3}''', false), ('double precision[]', '''{1}''', false),
    ('double precision[]', 'array_fill(1::float8, ARRAY[100000])', false),
    ('double precision[]', 'array_fill(0::float8, ARRAY[1,1,1,1,1,1])', false),
    ('bigint[]', 'NULL', false), ('bigint[]', '''{1}''', true), ('bigint[]', '''{1,2,3}''', true),
    ('bigint[]', '''{}''', false), ('bigint[]', '''{NULL}''', false), ('bigint[]', '''{1,NULL}''', false),
    ('bigint[]', '''{{1},{2}}''', false), ('bigint[]', '''{-1,0,9223372036854775807}''', false),
    ('bigint[]', '''{-9223372036854775808}''', false), ('bigint[]', 'array_fill(1::bigint, ARRAY[100000])', false),
    ('bigint[]', '''[5:5]={1}''', false);

    -- the types under test and the composite types of schema crm: NULL, the seeds (normal)
    FOR r IN SELECT s.typ, s.value FROM fuzz.seeds s ORDER BY 1::text, 2 LOOP
        INSERT INTO fuzz.edges VALUES (r.typ, quote_literal(r.value), true) ON CONFLICT DO NOTHING;
        INSERT INTO fuzz.edges VALUES (r.typ, 'NULL', false) ON CONFLICT DO NOTHING;
    END LOOP;
    -- composites of scalar fields: each field of the first seed in turn set to its edge values
    FOR r IN SELECT DISTINCT ON (s.typ) s.typ, s.value, t.typrelid FROM fuzz.seeds s JOIN pg_type t ON t.oid = s.typ
             WHERE t.typtype = 'c' AND s.value !~ '["\\]' ORDER BY s.typ, s.value LOOP
        fields := string_to_array(btrim(r.value, '()'), ',');
        FOR i IN 1..cardinality(fields) LOOP
            SELECT a.atttypid INTO field_type FROM pg_attribute a
            WHERE a.attrelid = r.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum OFFSET i - 1 LIMIT 1;
            field_edges := CASE field_type::text
                WHEN 'double precision' THEN ARRAY['NaN', 'Infinity', '-Infinity', '0', '-0', '-1', '5e-324', '1e308', '']
                WHEN 'integer' THEN ARRAY['0', '-1', '2147483647', '-2147483648', '']
                WHEN 'bigint' THEN ARRAY['0', '-1', '9223372036854775807', '']
                WHEN 'boolean' THEN ARRAY['t', 'f', '']
                ELSE ARRAY[''] END;
            FOR j IN 1..cardinality(field_edges) LOOP
                INSERT INTO fuzz.edges VALUES (r.typ, quote_literal('(' || array_to_string(
                    fields[:i - 1] || field_edges[j] || fields[i + 1:], ',') || ')'), false) ON CONFLICT DO NOTHING;
            END LOOP;
        END LOOP;
    END LOOP;
END
$f$;

-- One argument: an edge value of its type, drawn from the normal ones (or from all of them with
-- probability edge_share).
CREATE FUNCTION fuzz.arg(typ regtype, edge_share float8 DEFAULT 0) RETURNS text LANGUAGE sql AS $$
SELECT format('(%s)::%s', coalesce((SELECT expr FROM fuzz.edges e WHERE e.typ = arg.typ AND (normal OR random() < edge_share)
                                    ORDER BY random() LIMIT 1), 'NULL'), typ)
$$;

-- A call's arguments: drawn by fuzz.arg, except argument k which is e.
CREATE FUNCTION fuzz.args(types regtype[], k integer DEFAULT 0, e text DEFAULT NULL, edge_share float8 DEFAULT 0)
RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    parts text[] := '{}';
BEGIN
    FOR i IN 1..coalesce(cardinality(types), 0) LOOP
        parts := parts || CASE WHEN i = k THEN format('(%s)::%s', e, types[i]) ELSE fuzz.arg(types[i], edge_share) END;
    END LOOP;
    RETURN array_to_string(parts, ', ');
END
$f$;

-- fuzz.generate(seed, scale): the cases. scale multiplies the number of random cases.
CREATE FUNCTION fuzz.generate(seed integer, scale float8 DEFAULT 1) RETURNS integer LANGUAGE plpgsql AS $f$
DECLARE
    t record;
    f record;
    s text;
    b bytea;
    types regtype[];
    e record;
    check_fn text;
    rows text[];
    cols text;
    consts text[];
    call text;
    n integer;
BEGIN
    PERFORM setseed(((seed::bigint % 2000000) - 1000000) / 1000000.0);
    PERFORM fuzz.collect_seeds();
    PERFORM fuzz.collect_edges();

    -- Text input of every base type
    FOR t IN SELECT typ FROM fuzz.types LOOP
        -- fixed cases
        FOREACH s IN ARRAY ARRAY['''''', ''' ''', '''()''', '''{}''', '''{()}''', '''(,)''', '''NaN''', '''-0''',
                                 '''é€𝟘''', quote_literal(E'\t\n'), 'repeat(''9'', 100000)', 'repeat(''('', 100000)',
                                 '''('' || repeat(''9999999999,'', 10) || ''99999999999999999999)''',
                                 '''{'' || repeat(''(1,1,1,0),'', 100000) || ''(2,1,1,0)}''',
                                 '''('' || repeat(''1,'', 100000) || ''1)'''] LOOP
            INSERT INTO fuzz.cases (grp, sql) VALUES ('text input ' || t.typ, format('SELECT fuzz.check_rt((%s)::%s)', s, t.typ));
        END LOOP;
        -- every seed as is, each repeated to a long value, then random mutations of random seeds
        INSERT INTO fuzz.cases (grp, sql)
        SELECT 'text input ' || t.typ, format('SELECT fuzz.check_rt(%L::%s)', value, t.typ) FROM fuzz.seeds WHERE typ = t.typ ORDER BY value;
        FOR i IN 1..ceil(300 * scale)::integer LOOP
            SELECT value INTO s FROM fuzz.seeds WHERE typ = t.typ ORDER BY random() LIMIT 1;
            EXIT WHEN s IS NULL;
            INSERT INTO fuzz.cases (grp, sql) VALUES ('text input ' || t.typ, format('SELECT fuzz.check_rt(%L::%s)', fuzz.mutate(s), t.typ));
        END LOOP;
    END LOOP;

    -- Binary input of every base type with a receive function
    FOR t IN SELECT ft.typ, pt.typsend FROM fuzz.types ft JOIN pg_type pt ON pt.oid = ft.typ WHERE pt.typreceive <> 0 LOOP
        FOR s IN SELECT value FROM fuzz.seeds WHERE typ = t.typ ORDER BY value LOOP
            EXECUTE format('SELECT %s(%L::%s)', t.typsend, s, t.typ) INTO b;
            INSERT INTO fuzz.cases (grp, sql) VALUES ('binary input ' || t.typ, format('SELECT fuzz.bin_case(%L, %L)', t.typ, b));
        END LOOP;
        FOR i IN 1..ceil(150 * scale)::integer LOOP
            SELECT value INTO s FROM fuzz.seeds WHERE typ = t.typ ORDER BY random() LIMIT 1;
            EXIT WHEN s IS NULL;
            EXECUTE format('SELECT %s(%L::%s)', t.typsend, s, t.typ) INTO b;
            FOR j IN 0..fuzz.rint(2) LOOP b := fuzz.mutate_bytes(b); END LOOP;
            INSERT INTO fuzz.cases (grp, sql) VALUES ('binary input ' || t.typ, format('SELECT fuzz.bin_case(%L, %L)', t.typ, b));
        END LOOP;
    END LOOP;

    -- Every C function callable from SQL (no internal or cstring arguments, not returning internal)
    FOR f IN SELECT p.oid, p.oid::regprocedure AS sig, ARRAY(SELECT unnest(p.proargtypes::regtype[])) AS types, p.prorettype::regtype AS ret
             FROM pg_proc p
             WHERE p.pronamespace = 'crm'::regnamespace AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
               AND p.prokind = 'f' AND p.prorettype NOT IN ('internal'::regtype, 'cstring'::regtype)
               AND NOT 'internal'::regtype = ANY (p.proargtypes::regtype[])
               AND NOT 'cstring'::regtype = ANY (p.proargtypes::regtype[])
             ORDER BY 2::text LOOP
        types := f.types;
        check_fn := CASE WHEN f.ret IN (SELECT typ FROM fuzz.types) THEN 'fuzz.check_rt(x)' ELSE 'x::text' END;
        call := format('%s.%I(', (SELECT nspname FROM pg_namespace n JOIN pg_proc p ON p.pronamespace = n.oid WHERE p.oid = f.oid),
                       (SELECT proname FROM pg_proc WHERE oid = f.oid));
        INSERT INTO fuzz.cases (grp, sql) VALUES ('function ' || f.sig, format('SELECT %s FROM %s%s) AS x', check_fn, call, fuzz.args(types)));
        FOR i IN 1..coalesce(cardinality(types), 0) LOOP
            FOR e IN SELECT expr FROM fuzz.edges WHERE typ = types[i] ORDER BY normal, expr LOOP
                INSERT INTO fuzz.cases (grp, sql)
                VALUES ('function ' || f.sig, format('SELECT %s FROM %s%s) AS x', check_fn, call, fuzz.args(types, i, e.expr)));
            END LOOP;
        END LOOP;
        IF cardinality(types) > 0 THEN
            INSERT INTO fuzz.cases (grp, sql) VALUES ('function ' || f.sig, format('SELECT %s FROM %s%s) AS x', check_fn, call,
                (SELECT string_agg(format('NULL::%s', ty), ', ') FROM unnest(types) ty)));
            FOR i IN 1..ceil(40 * scale)::integer LOOP
                INSERT INTO fuzz.cases (grp, sql) VALUES ('function ' || f.sig, format('SELECT %s FROM %s%s) AS x', check_fn, call,
                    fuzz.args(types, 0, NULL, 0.3)));
            END LOOP;
        END IF;
    END LOOP;

    -- Every aggregate, through SQL over small datasets of normal rows with edge values mixed in
    FOR f IN SELECT p.oid::regprocedure AS sig, p.proname, ARRAY(SELECT unnest(p.proargtypes::regtype[])) AS types, p.prorettype::regtype AS ret
             FROM pg_proc p
             WHERE p.pronamespace = 'crm'::regnamespace AND p.prokind = 'a'
             ORDER BY 1::text LOOP
        types := f.types;
        check_fn := CASE WHEN f.ret IN (SELECT typ FROM fuzz.types) THEN 'fuzz.check_rt(x)' ELSE 'x::text' END;
        call := format('crm.%I(%s)', f.proname, (SELECT string_agg('c' || i, ', ') FROM generate_series(1, cardinality(types)) i));
        -- no rows at all
        INSERT INTO fuzz.cases (grp, sql) VALUES ('aggregate ' || f.sig,
            format('SELECT %s FROM (SELECT %s FROM (VALUES (%s)) v(%s) WHERE false) s(x)', check_fn, call, fuzz.args(types),
                   (SELECT string_agg('c' || i, ', ') FROM generate_series(1, cardinality(types)) i)));
        cols := (SELECT string_agg('c' || k, ', ') FROM generate_series(1, cardinality(types)) k);
        -- huge arrays in every row (same length, different values): memory and size limits
        IF EXISTS (SELECT FROM unnest(types) ty JOIN pg_type pt ON pt.oid = ty WHERE pt.typcategory = 'A') THEN
            FOREACH n IN ARRAY ARRAY[3000, 100000] LOOP
                consts := ARRAY(SELECT fuzz.arg(ty) FROM unnest(types) ty);
                rows := ARRAY(SELECT format('(%s)', array_to_string(ARRAY(
                    SELECT CASE WHEN pt.typcategory = 'A' THEN format('array_fill(%s, ARRAY[%s])::%s', j, n, types[k])
                                WHEN types[k] = 'boolean'::regtype THEN (j % 2 = 0)::text
                                ELSE consts[k] END
                    FROM generate_subscripts(types, 1) k JOIN pg_type pt ON pt.oid = types[k] ORDER BY k), ', '))
                    FROM generate_series(1, 4) j);
                INSERT INTO fuzz.cases (grp, sql) VALUES ('aggregate ' || f.sig,
                    format('SELECT %s FROM (SELECT %s FROM (VALUES %s) v(%s)) s(x)', check_fn, call, array_to_string(rows, ', '), cols));
            END LOOP;
        END IF;
        EXECUTE format('CREATE TABLE fuzz.%I (%s)', 'agg_' || f.sig::oid,
                       (SELECT string_agg(format('c%s %s', k, types[k]), ', ') FROM generate_subscripts(types, 1) k));
        FOR i IN 1..ceil(50 * scale)::integer LOOP
            rows := '{}';
            n := 1 + fuzz.rint(12);
            -- a few distinct normal values per argument; in two datasets of three the arguments after
            -- the first keep one value for every row, as parameters do
            consts := ARRAY(SELECT fuzz.arg(ty) FROM unnest(types) ty);
            FOR j IN 1..n LOOP
                rows := rows || format('(%s)', array_to_string(ARRAY(
                    SELECT CASE WHEN i % 3 = 0 OR k = 1 THEN
                                    CASE WHEN random() < 0.5 THEN consts[k] ELSE fuzz.arg(types[k], 0.05) END
                                ELSE consts[k] END
                    FROM generate_subscripts(types, 1) k ORDER BY k), ', '));
            END LOOP;
            -- an edge row, its parameters mostly kept
            IF random() < 0.6 THEN
                rows := rows || format('(%s)', array_to_string(ARRAY(
                    SELECT CASE WHEN k > 1 AND random() < 0.6 THEN consts[k] ELSE fuzz.arg(types[k], 0.6) END
                    FROM generate_subscripts(types, 1) k ORDER BY k), ', '));
            END IF;
            IF i % 5 = 1 THEN
                -- in parallel: partial aggregates combined, serialized and deserialized
                INSERT INTO fuzz.cases (grp, sql) VALUES ('aggregate ' || f.sig,
                    format('SELECT fuzz.parallel_agg(%L, %L, %L, %L)', 'agg_' || f.sig::oid, call, array_to_string(rows, ', '), f.ret));
            ELSIF i % 5 = 3 THEN
                -- as a window function: the final function runs once per row on the same state
                INSERT INTO fuzz.cases (grp, sql) VALUES ('aggregate ' || f.sig,
                    format('SELECT %s FROM (SELECT %s OVER (ROWS UNBOUNDED PRECEDING) FROM (VALUES %s) v(%s)) s(x)',
                           check_fn, call, array_to_string(rows, ', '), cols));
            ELSE
                INSERT INTO fuzz.cases (grp, sql) VALUES ('aggregate ' || f.sig,
                    format('SELECT %s FROM (SELECT %s FROM (VALUES %s) v(%s)) s(x)', check_fn, call, array_to_string(rows, ', '), cols));
            END IF;
        END LOOP;
    END LOOP;
    RETURN (SELECT count(*) FROM fuzz.cases);
END
$f$;
