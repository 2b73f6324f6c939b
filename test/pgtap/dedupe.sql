-- pgTAP: duplicate detection (src/dedupe.sql, src/dedupe.c). The string functions on edge cases
-- and limits, and against contrib's pg_trgm and fuzzystrmatch (the independent computation: the
-- originals, installed into a scratch schema when the machine has them, over a few thousand
-- random and edited strings); the comparison levels and match weights by hand; the trigger keeping
-- crm.duplicate_candidates current (and agreeing with a full refresh); the rule on insert and what
-- its message reveals under row-level security; who sees which pair; EM on a generated labelled
-- data set; account duplicates; the settings' validation.

-- A contact committed before the test's transaction: dedupe_match_written must refuse it.
INSERT INTO crm.contacts (contact_id, first_name, last_name) VALUES (870000001, 'Committed', 'Before');

BEGIN;
SELECT plan(100);

-- ---------------------------------------------------------------------------------------------
-- Catalog
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'crm'::regnamespace
        AND p.proname IN ('trigrams', 'trigram_similarity', 'levenshtein', 'soundex', 'contact_match_name',
                          'contact_phonetic_key', 'compare_contacts', 'compare_name_level')
        AND NOT (p.provolatile = 'i' AND p.proparallel = 's' AND NOT p.prosecdef
                 AND has_function_privilege('public', p.oid, 'EXECUTE'))$$,
    'the comparison functions are IMMUTABLE, PARALLEL SAFE, not SECURITY DEFINER, executable by everyone');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'crm'::regnamespace
        AND p.proname IN ('xid_is_current', 'dedupe_blocks', 'dedupe_pairs', 'dedupe_store', 'dedupe_contacts_changed', 'duplicate_settings_guard',
                          'dedupe_count_trigrams')
        AND (has_function_privilege('public', p.oid, 'EXECUTE')
             OR has_function_privilege('crm_admin', p.oid, 'EXECUTE'))$$,
    'the internal functions and triggers are executable by nobody but the owner');

-- ---------------------------------------------------------------------------------------------
-- Trigrams, Levenshtein, Soundex: edge cases (expected values by hand)
SELECT is(crm.trigrams(NULL), NULL, 'trigrams(NULL) is NULL');
SELECT is(crm.trigrams(''), '{}'::text[], 'no word, no trigram');
SELECT is(crm.trigrams(' ,;- '), '{}'::text[], 'punctuation only: no trigram');
SELECT is(crm.trigrams('a'), ARRAY['  a', ' a '], 'a one-letter word: "  a" and " a "');
SELECT is(crm.trigrams('Ab ab'), ARRAY['  a', ' ab', 'ab '], 'lower-cased; the same word twice counts once');
SELECT is(crm.trigrams('x-y'), ARRAY['  x', '  y', ' x ', ' y '], 'a hyphen separates words');
SELECT is(crm.trigram_similarity('', ''), 0::float8, 'two texts without trigrams: similarity 0 (as pg_trgm)');
SELECT is(crm.trigram_similarity('word', 'word'), 1::float8, 'equal words: 1');
-- "ab": {"  a"," ab","ab "}; "abc": {"  a"," ab","abc","bc "}: 2 shared of 3 + 4 - 2 = 5
SELECT is(crm.trigram_similarity('ab', 'abc'), 0.4::float8, 'ab / abc: 2 shared of 5 distinct trigrams');
SELECT is(crm.levenshtein('kitten', 'sitting'), 3, 'kitten -> sitting: 3 edits');
SELECT is(crm.levenshtein('', 'abc'), 3, 'from the empty string: the length');
SELECT is(crm.levenshtein('Müller', 'Muller'), 1, 'counted in characters, not bytes');
SELECT is(crm.soundex('Robert'), 'R163', 'Soundex of Robert: R163');
SELECT is(crm.soundex('Tymczak'), 'T522', 'Soundex of Tymczak: T522 (c and z coded once)');
SELECT is(crm.soundex('Pfister'), 'P236', 'Soundex of Pfister: P236 (f codes like P after it)');
SELECT is(crm.soundex('  42 Lee'), 'L000', 'leading non-letters skipped, padded with zeros');
SELECT is(crm.soundex('123'), '', 'no letter: the empty string');
SELECT throws_ok($$SELECT crm.levenshtein(repeat('a', 10001), 'a')$$, '54000', NULL,
                 'levenshtein: more than 10000 characters is a documented limit (54000)');
SELECT throws_ok($$SELECT crm.trigrams(repeat('a', 100001))$$, '54000', NULL,
                 'trigrams: more than 100000 characters is a documented limit (54000)');

-- ---------------------------------------------------------------------------------------------
-- Against contrib's pg_trgm and fuzzystrmatch, when the machine has them
SELECT setseed(0.5);
CREATE TEMP TABLE dd_strings AS
WITH base AS (
    SELECT g, (SELECT string_agg(substr('abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789  ,.-''', 1 + floor(random() * 52)::int, 1), '')
                 FROM generate_series(1, 1 + (g % 23) + floor(random() * 3)::int) c) AS a
      FROM generate_series(1, 3000) g)
SELECT g, a, CASE g % 4 WHEN 0 THEN a
                        WHEN 1 THEN overlay(a PLACING 'x' FROM 1 + (g % length(a)) FOR 1)
                        WHEN 2 THEN overlay(a PLACING '' FROM 1 + (g % length(a)) FOR 1)
                        ELSE a || ' ' || reverse(a) END AS b
  FROM base;
CREATE FUNCTION pg_temp.contrib_available() RETURNS boolean LANGUAGE sql AS $$
    SELECT count(*) = 2 FROM pg_available_extensions WHERE name IN ('pg_trgm', 'fuzzystrmatch')
$$;
CREATE FUNCTION pg_temp.contrib_checks() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    trgm text;
    fuzzy text;
BEGIN
    IF NOT pg_temp.contrib_available() THEN
        RETURN QUERY SELECT skip('contrib pg_trgm and fuzzystrmatch are not installed on this machine', 4);
        RETURN;
    END IF;
    -- into a scratch schema (rolled back with the test), unless a database already has them
    CREATE SCHEMA dd_contrib;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE EXTENSION pg_trgm SCHEMA dd_contrib;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'fuzzystrmatch') THEN
        CREATE EXTENSION fuzzystrmatch SCHEMA dd_contrib;
    END IF;
    SELECT quote_ident(extnamespace::regnamespace::text) INTO trgm FROM pg_extension WHERE extname = 'pg_trgm';
    SELECT quote_ident(extnamespace::regnamespace::text) INTO fuzzy FROM pg_extension WHERE extname = 'fuzzystrmatch';
    RETURN QUERY SELECT is_empty(format(
        $q$SELECT a FROM dd_strings
            WHERE crm.trigrams(a) IS DISTINCT FROM (SELECT coalesce(array_agg(t ORDER BY t COLLATE "C"), '{}')
                                                     FROM unnest(%s.show_trgm(a)) t)$q$, trgm),
        'crm.trigrams = pg_trgm''s show_trgm on 3000 random strings');
    RETURN QUERY SELECT is_empty(format(
        $q$SELECT a, b FROM dd_strings WHERE abs(crm.trigram_similarity(a, b) - %s.similarity(a, b)) > 1e-6$q$, trgm),
        'crm.trigram_similarity = pg_trgm''s similarity (to float4 precision) on 3000 edited pairs');
    RETURN QUERY SELECT is_empty(format(
        $q$SELECT a, b FROM dd_strings WHERE crm.levenshtein(a, b) <> %s.levenshtein(a, b)$q$, fuzzy),
        'crm.levenshtein = fuzzystrmatch''s levenshtein on 3000 edited pairs');
    RETURN QUERY SELECT is_empty(format(
        $q$SELECT a FROM dd_strings WHERE crm.soundex(a) <> %1$s.soundex(a)
            UNION ALL SELECT b FROM dd_strings WHERE crm.soundex(b) <> %1$s.soundex(b)$q$, fuzzy),
        'crm.soundex = fuzzystrmatch''s soundex on 6000 strings');
END
$$;
SELECT * FROM pg_temp.contrib_checks();

-- ---------------------------------------------------------------------------------------------
-- Comparison levels (by hand: Jaro-Winkler of john / jon is 0.9333, so jw92)
SELECT is(crm.compare_contacts('John', 'Smith', NULL, NULL, NULL, NULL, 'Jon', 'Smith', NULL, NULL, NULL, NULL)
          -> 'first_name' ->> 'level', 'jw92', 'John / Jon: Jaro-Winkler 0.933, level jw92');
SELECT is(crm.compare_contacts('Anna', 'Meyer', NULL, NULL, NULL, NULL, 'Meyer', 'Anna', NULL, NULL, NULL, NULL) -> 'first_name' ->> 'level',
          'swapped', 'a swapped name has the level swapped');
SELECT is(crm.compare_contacts(NULL, 'X', 'a.b@x.com', '+49 30 1234567', 'DE', 1, NULL, 'X', 'A.B@y.org', '030 1234567', 'DE', 2)
          - 'first_name' - 'last_name' - 'swapped',
          '{"email": {"level": "close", "distance": 4}, "phone": {"level": "exact"}, "account": {"level": "other"}}'::jsonb,
          'same local part at another domain: close (4 edits apart); national and international phone: exact; other account');
SELECT is(crm.compare_contacts('A', NULL, NULL, NULL, NULL, NULL, 'A', 'B', NULL, NULL, NULL, 1)
          -> 'last_name' ->> 'level', 'missing', 'a name on one side only: missing');
SELECT is(crm.contact_phonetic_key('Meyer', 'Anna'), crm.contact_phonetic_key('Anna', 'Meyer'),
          'the phonetic key does not depend on the order of the names');

-- Match weight and probability under the installed model, by the formula written out:
-- exact first (0.78 / 0.05), exact last (0.83 / 0.10), exact phone (0.75 / 0.001), e-mail and
-- account missing (weight 0); prior 0.1.
SELECT is((SELECT round(weight::numeric, 9) FROM crm.duplicate_probability(
               '{"first_name": {"level": "exact"}, "last_name": {"level": "exact"}, "email": {"level": "missing"}, "phone": {"level": "exact"}, "account": {"level": "missing"}}')),
          round(((ln(0.78 / 0.05) + ln(0.83 / 0.10) + ln(0.75 / 0.001)) / ln(2))::numeric, 9),
          'the match weight is the sum of log2(m / u) over the fields');
SELECT is((SELECT round(probability::numeric, 12) FROM crm.duplicate_probability(
               '{"first_name": {"level": "other"}, "last_name": {"level": "exact"}, "email": {"level": "missing"}, "phone": {"level": "missing"}, "account": {"level": "missing"}}')),
          round((0.1 * 0.06 * 0.83 / (0.1 * 0.06 * 0.83 + 0.9 * 0.819 * 0.10))::numeric, 12),
          'the probability is Bayes'' rule with the prior: p m / (p m + (1 - p) u)');

-- ---------------------------------------------------------------------------------------------
-- The trigger: pairs of changed contacts, kept current
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (8801, 'dd_ana', 'Ana', 'ana@dd.example', 'sales', 'west'), (8802, 'dd_bob', 'Bob', 'bob@dd.example', 'sales', 'east');
CREATE ROLE dd_ana; CREATE ROLE dd_bob;
GRANT crm_sales TO dd_ana, dd_bob;
INSERT INTO crm.contacts (contact_id, first_name, last_name, email, phone, country, owner_id) VALUES
    (880001, 'Margaret', 'Staosberg', 'margaret.staosberg@example.com', '030 4158 7644', 'DE', 8801);
INSERT INTO crm.contacts (contact_id, first_name, last_name, email, phone, country, owner_id) VALUES
    (880002, 'Margret', 'Staosberg', 'm.staosberg@example.org', '+49 30 4158 7644', 'DE', 8801);
SELECT is((SELECT blocks FROM crm.duplicate_candidates WHERE contact_a = 880001 AND contact_b = 880002),
          '{phone,phonetic,trigram}'::text[],
          'an inserted duplicate is paired at once, with the blocks that found it (same phone, Soundex, similar name)');
SELECT ok((SELECT probability >= 0.95 FROM crm.duplicate_candidates WHERE contact_a = 880001 AND contact_b = 880002),
          'its probability reaches the auto-merge threshold');
UPDATE crm.contacts SET phone = '+49 89 999 111', first_name = 'Peter', last_name = 'Brown' WHERE contact_id = 880002;
SELECT is_empty($$SELECT FROM crm.duplicate_candidates WHERE contact_b = 880002$$,
                'when the duplicate no longer matches, its new pair is removed');
UPDATE crm.contacts SET phone = '+49 30 4158 7644', first_name = 'Margret', last_name = 'Staosberg' WHERE contact_id = 880002;
UPDATE crm.duplicate_candidates SET status = 'dismissed' WHERE contact_a = 880001 AND contact_b = 880002;
UPDATE crm.contacts SET title = 'CEO' WHERE contact_id = 880002;
UPDATE crm.contacts SET phone = '+49 30 4158 7645' WHERE contact_id = 880002;
SELECT results_eq($$SELECT status, (evidence -> 'phone' ->> 'level') FROM crm.duplicate_candidates WHERE contact_b = 880002$$,
                  $$VALUES ('dismissed', 'close')$$,
                  'a dismissed pair keeps its status when its evidence is recomputed');
DELETE FROM crm.contacts WHERE contact_id = 880002;
SELECT is_empty($$SELECT FROM crm.duplicate_candidates WHERE contact_b = 880002$$, 'deleting a contact deletes its pairs');

-- Incremental = full: the pairs the trigger stored for a generated set are those a full refresh finds.
\set dd_people 300
\set dd_dup_rate 0.15
\set dd_seed 0.25
\i test/lib/dedupe_data.sql
CREATE TEMP TABLE dd_incremental AS
SELECT contact_a, contact_b, probability, blocks FROM crm.duplicate_candidates WHERE contact_a >= 800000000;
SELECT ok((SELECT count(*) FROM dd_incremental) > 0, 'the trigger stored pairs for the generated contacts');
SELECT lives_ok($$SELECT crm.refresh_duplicate_candidates()$$, 'a full refresh runs');
SELECT set_eq($$SELECT contact_a, contact_b, round(probability::numeric, 12), blocks FROM crm.duplicate_candidates WHERE contact_a >= 800000000$$,
              $$SELECT contact_a, contact_b, round(probability::numeric, 12), blocks FROM dd_incremental$$,
              'the full refresh finds exactly the pairs, probabilities and blocks the trigger stored');

-- crm.compare_contacts is C; its definition in PL/pgSQL (as release 0.2 first shipped it, word
-- for word) is the independent computation: the same jsonb, to the text of every number, on the
-- true pairs of the generated set, on 3,000 random pairs of its contacts (typos, swapped names,
-- nicknames, missing and changed fields) and on edge cases (NULLs, empty and unreadable fields,
-- the same name swapped, phones without a country).
CREATE FUNCTION pg_temp.compare_contacts_plpgsql(
    a_first_name text, a_last_name text, a_email text, a_phone text, a_country text, a_account_id bigint,
    b_first_name text, b_last_name text, b_email text, b_phone text, b_country text, b_account_id bigint)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    af text := nullif(crm.normalize_name(a_first_name), '');
    al text := nullif(crm.normalize_name(a_last_name), '');
    bf text := nullif(crm.normalize_name(b_first_name), '');
    bl text := nullif(crm.normalize_name(b_last_name), '');
    ae text := crm.normalize_email(a_email);
    be text := crm.normalize_email(b_email);
    ap text := crm.normalize_phone(a_phone, a_country);
    bp text := crm.normalize_phone(b_phone, b_country);
    swapped boolean := false;
    distance integer;
    result jsonb;
BEGIN
    -- First and last name swapped: both names agree across (Jaro–Winkler >= 0.92 each), and better
    -- than they do in place. Both fields then have the level swapped (its own m and u).
    IF af IS NOT NULL AND al IS NOT NULL AND bf IS NOT NULL AND bl IS NOT NULL
       AND crm.jaro_winkler(af, bl) >= 0.92 AND crm.jaro_winkler(al, bf) >= 0.92
       AND crm.jaro_winkler(af, bl) + crm.jaro_winkler(al, bf)
           > crm.jaro_winkler(af, bf) + crm.jaro_winkler(al, bl) + 1e-9 THEN
        swapped := true;
    END IF;
    IF swapped THEN
        result := jsonb_build_object(
            'first_name', jsonb_build_object('level', 'swapped') || (crm.compare_name_level(af, bl) - 'level'),
            'last_name', jsonb_build_object('level', 'swapped') || (crm.compare_name_level(al, bf) - 'level'),
            'swapped', true);
    ELSE
        result := jsonb_build_object(
            'first_name', crm.compare_name_level(af, bf),
            'last_name', crm.compare_name_level(al, bl),
            'swapped', false);
    END IF;
    -- E-mail: exact; close (at most two edits apart, or the same local part at another domain).
    IF ae IS NULL OR be IS NULL THEN
        result := result || '{"email": {"level": "missing"}}';
    ELSIF ae = be THEN
        result := result || '{"email": {"level": "exact"}}';
    ELSE
        distance := crm.levenshtein(ae, be);
        result := result || jsonb_build_object('email', jsonb_build_object(
            'level', CASE WHEN distance <= 2 OR split_part(ae, '@', 1) = split_part(be, '@', 1)
                          THEN 'close' ELSE 'other' END,
            'distance', distance));
    END IF;
    -- Phone (E.164): exact; close (one edit apart).
    IF ap IS NULL OR bp IS NULL THEN
        result := result || '{"phone": {"level": "missing"}}';
    ELSIF ap = bp THEN
        result := result || '{"phone": {"level": "exact"}}';
    ELSE
        distance := crm.levenshtein(ap, bp);
        result := result || jsonb_build_object('phone', jsonb_build_object(
            'level', CASE WHEN distance <= 1 THEN 'close' ELSE 'other' END, 'distance', distance));
    END IF;
    result := result || jsonb_build_object('account', jsonb_build_object('level',
        CASE WHEN a_account_id IS NULL OR b_account_id IS NULL THEN 'missing'
             WHEN a_account_id = b_account_id THEN 'same' ELSE 'other' END));
    RETURN result;
END
$$;
CREATE TEMP TABLE dd_compare_pairs AS
SELECT x.first_name AS af, x.last_name AS al, x.email AS ae, x.phone AS ap, x.country AS ac, x.account_id AS aa,
       y.first_name AS bf, y.last_name AS bl, y.email AS be, y.phone AS bp, y.country AS bc, y.account_id AS ba
  FROM dd_true_pairs t JOIN crm.contacts x ON x.contact_id = t.a JOIN crm.contacts y ON y.contact_id = t.b
UNION ALL
SELECT * FROM (
SELECT x.first_name, x.last_name, x.email, x.phone, x.country, x.account_id,
       y.first_name, y.last_name, y.email, y.phone, y.country, y.account_id
  FROM crm.contacts x, crm.contacts y
 WHERE x.contact_id >= 800000000 AND y.contact_id >= 800000000
 ORDER BY random() LIMIT 3000) r
UNION ALL
VALUES (NULL, NULL, NULL, NULL, NULL, NULL::bigint, NULL, NULL, NULL, NULL, NULL, NULL::bigint),
       ('Ann', 'Lee', 'a@x.io', '+1 202 555 0100', 'US', 1, 'Lee', 'Ann', 'A@X.io', '202 555 0100', 'US', 1),
       ('Ann', 'Lee', 'a@x.io', '+1 202 555 0100', NULL, 1, 'Lee', 'Anne', 'a@y.io', '202 555 0101', NULL, 2),
       ('', '  ', 'not an address', 'x', 'ZZ', NULL, '!', 'Lee', 'ann@x', '', 'DE', 3),
       ('Jean-Luc', 'Picard', 'jl@x.io', '030 1234567', 'DE', 5, 'Jean Luc', 'Pichard', 'jlp@x.io', '+49 30 1234568', 'GB', 5),
       ('Müller', 'Jürgen', 'j.mueller@web.de', '+49 30 1234567', NULL, NULL, 'Jurgen', 'Muller', 'j.mueller@gmx.de', '+49 30 1234567', 'DE', 7),
       ('Robert', 'Smith', 'bob@x.io', NULL, 'US', 1, 'Bob', 'Smith', 'bob@x.io', '+1 202 555 0100', NULL, NULL);
SELECT is((SELECT count(*)::int FROM dd_compare_pairs
            WHERE crm.compare_contacts(af, al, ae, ap, ac, aa, bf, bl, be, bp, bc, ba)::text
                  IS DISTINCT FROM pg_temp.compare_contacts_plpgsql(af, al, ae, ap, ac, aa, bf, bl, be, bp, bc, ba)::text),
          0, 'crm.compare_contacts (C) gives the PL/pgSQL definition''s jsonb on every pair');
SELECT ok((SELECT count(DISTINCT crm.compare_contacts(af, al, ae, ap, ac, aa, bf, bl, be, bp, bc, ba)
                                    - 'first_name' - 'last_name' - 'swapped') FROM dd_compare_pairs) >= 10
          AND (SELECT count(*) FROM dd_compare_pairs WHERE (crm.compare_contacts(af, al, ae, ap, ac, aa, bf, bl, be, bp, bc, ba) ->> 'swapped')::boolean) >= 2
          AND (SELECT count(DISTINCT crm.compare_contacts(af, al, ae, ap, ac, aa, bf, bl, be, bp, bc, ba) -> 'first_name' ->> 'level') FROM dd_compare_pairs) >= 5,
          'the compared pairs cover the levels (swapped names, every first-name level, many e-mail, phone and account combinations)');

-- EM on the labelled set: no labels used; the labels only measure the result.
SELECT ok((crm.train_duplicate_model() ->> 'converged')::boolean, 'EM converges on the generated set');
SELECT ok((SELECT bool_and(m > u) FROM crm.duplicate_model() WHERE (field, level) IN (('phone', 'exact'), ('last_name', 'exact'), ('account', 'same'))),
          'the learned model finds agreement on phone, last name and account evidence for a match');
SELECT is((SELECT (m, u) FROM crm.duplicate_model() WHERE field = 'email' AND level = 'missing'), (1::float8, 1::float8),
          'a missing field weighs nothing (m = u = 1, not learned)');
SELECT lives_ok($$SELECT crm.refresh_duplicate_candidates()$$, 'a refresh with the learned model runs');
CREATE TEMP VIEW dd_quality AS
SELECT count(*) FILTER (WHERE t.a IS NOT NULL)::float8 / nullif(count(*), 0) AS precision,
       count(*) FILTER (WHERE t.a IS NOT NULL)::float8 / (SELECT count(*) FROM dd_true_pairs) AS recall
FROM crm.duplicate_candidates c LEFT JOIN dd_true_pairs t ON (t.a, t.b) = (c.contact_a, c.contact_b)
WHERE c.contact_a >= 800000000 AND c.probability >= 0.5;
SELECT ok((SELECT precision >= 0.9 AND recall >= 0.9 FROM dd_quality),
          'precision and recall at the review threshold are at least 0.9 on the generated set');
SELECT throws_ok($$SELECT crm.train_duplicate_model(0)$$, '22023', NULL, 'max_iterations below 1: 22023');
SELECT throws_ok($$SELECT crm.train_duplicate_model(10, 0)$$, '22023', NULL, 'a tolerance of 0: 22023');
SAVEPOINT no_settings;
DELETE FROM crm.duplicate_settings;
SELECT lives_ok($$INSERT INTO crm.contacts (first_name, last_name) VALUES ('Without', 'Settings')$$,
                'without the settings row, contacts are inserted unmatched');
SELECT throws_ok($$SELECT crm.refresh_duplicate_candidates()$$, '55000', NULL,
                 'without the settings row, a refresh says so (55000)');
ROLLBACK TO SAVEPOINT no_settings;

-- ---------------------------------------------------------------------------------------------
-- The rule on insert, and what its message reveals
UPDATE crm.duplicate_settings SET insert_rule = 'block';
INSERT INTO crm.contacts (contact_id, first_name, last_name, phone, country, owner_id) VALUES
    (880010, 'Bartholomew', 'Quenneville', '+1 212 555 0199', 'US', 8802);
CREATE FUNCTION pg_temp.insert_error(statement text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    state text;
    detail text;
BEGIN
    EXECUTE statement;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RETURN ARRAY[state, detail];
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.insert_error(text) TO PUBLIC;
SELECT is((pg_temp.insert_error($$INSERT INTO crm.contacts (first_name, last_name, phone, country, owner_id)
                                  VALUES ('Bartholomew', 'Quenneville', '(212) 555-0199', 'US', 8802)$$))[1:2],
          ARRAY['23505', 'It matches contact 880010 with probability ' ||
                (SELECT round(probability::numeric, 4) FROM crm.duplicate_probability(
                    crm.compare_contacts('Bartholomew', 'Quenneville', NULL, '+1 212 555 0199', 'US', NULL,
                                         'Bartholomew', 'Quenneville', NULL, '(212) 555-0199', 'US', NULL))) || '.'],
          'block: a duplicate is refused with 23505, naming the matching contact to whoever sees it');
SET ROLE dd_ana;
SELECT is((pg_temp.insert_error($$INSERT INTO crm.contacts (first_name, last_name, phone, country, owner_id)
                                  VALUES ('Bartholomew', 'Quenneville', '(212) 555-0199', 'US', 8801)$$))[1],
          '23505', 'block: Ana''s duplicate of Bob''s contact is refused too');
SELECT unalike((pg_temp.insert_error($$INSERT INTO crm.contacts (first_name, last_name, phone, country, owner_id)
                                      VALUES ('Bartholomew', 'Quenneville', '(212) 555-0199', 'US', 8801)$$))[2],
              '%880010%', 'but the message does not name Bob''s contact, which Ana may not see');
SELECT lives_ok($$INSERT INTO crm.contacts (contact_id, first_name, last_name, owner_id) VALUES (880011, 'Zebedee', 'Oyelaran', 8801)$$,
                'block: a contact without a match is inserted');
SELECT throws_ok($$SELECT * FROM crm.dedupe_match_written(ARRAY[870000001::bigint], true)$$, '42501', NULL,
                 'Ana cannot match a contact written before this transaction through dedupe_match_written');
RESET ROLE;
SELECT throws_ok($$SELECT * FROM crm.dedupe_match_written(ARRAY[870000001::bigint], true)$$, '42501', NULL,
                 'dedupe_match_written refuses a contact the current transaction did not write');
UPDATE crm.duplicate_settings SET insert_rule = 'flag';
SELECT lives_ok($$INSERT INTO crm.contacts (contact_id, first_name, last_name, phone, country, owner_id)
                  VALUES (880012, 'Bartholomew', 'Quenneville', '(212) 555-0199', 'US', 8802)$$,
                'flag: the duplicate is inserted (with a warning)');
SELECT ok(EXISTS (SELECT FROM crm.duplicate_candidates WHERE contact_a = 880010 AND contact_b = 880012),
          'flag: and its pair is recorded');
UPDATE crm.duplicate_settings SET insert_rule = 'allow', incremental = false;
INSERT INTO crm.contacts (contact_id, first_name, last_name, phone, country, owner_id)
    VALUES (880013, 'Bartholomew', 'Quenneville', '212-555-0199', 'US', 8802);
SELECT is_empty($$SELECT FROM crm.duplicate_candidates WHERE contact_b = 880013$$,
                'allow without incremental matching: nothing is matched on insert');
UPDATE crm.duplicate_settings SET incremental = true;

-- ---------------------------------------------------------------------------------------------
-- Row-level security: a pair is seen only by whoever sees both contacts
INSERT INTO crm.contacts (contact_id, first_name, last_name, phone, country, owner_id) VALUES
    (880020, 'Philippa', 'Wolstenholme', '+44 20 7946 0111', 'GB', 8801),
    (880021, 'Philipa', 'Wolstenholme', '020 7946 0111', 'GB', 8801),
    (880022, 'Philippa', 'Wolstenholme', '+44 20 7946 0111 ', 'GB', 8802);
SELECT is((SELECT count(*)::int FROM crm.duplicate_candidates WHERE contact_a IN (880020, 880021)), 3,
          'the three contacts form three pairs');
SET ROLE dd_ana;
SELECT results_eq($$SELECT contact_a, contact_b FROM crm.duplicate_candidates WHERE contact_a BETWEEN 880000 AND 889999 ORDER BY 1, 2$$,
                  $$VALUES (880020::bigint, 880021::bigint)$$,
                  'Ana sees only the pair of her own two contacts, not the pairs with Bob''s');
SELECT results_eq($$WITH u AS (UPDATE crm.duplicate_candidates SET status = 'dismissed' WHERE contact_a BETWEEN 880000 AND 889999 RETURNING 1)
                    SELECT count(*)::int FROM u$$,
                  ARRAY[1], 'Ana may dismiss the pair she sees, and only that one');
SELECT throws_ok($$UPDATE crm.duplicate_candidates SET probability = 0 WHERE contact_a = 880020$$, '42501', NULL,
                 'Ana may change only the status of a pair');
SELECT throws_ok($$SELECT crm.refresh_duplicate_candidates()$$, '42501', NULL, 'a rep may not run a full refresh');
SELECT throws_ok($$SELECT crm.train_duplicate_model()$$, '42501', NULL, 'a rep may not train the model');
SELECT throws_ok($$UPDATE crm.duplicate_settings SET insert_rule = 'allow'$$, '42501', NULL, 'a rep may not change the settings');
RESET ROLE;
SET ROLE dd_bob;
SELECT is_empty($$SELECT FROM crm.duplicate_candidates WHERE contact_a IN (880020, 880021)$$,
                'Bob sees none of the three pairs (each has a contact of Ana''s)');
RESET ROLE;

-- ---------------------------------------------------------------------------------------------
-- Accounts
INSERT INTO crm.accounts (account_id, name, domain, owner_id) VALUES
    (880101, 'Acme Inc.', 'https://www.acme-widgets.com/about', 8801),
    (880102, 'ACME Ltd', 'acme-widgets.com', 8801),
    (880103, 'Acme Widget Co', NULL, 8802),
    (880104, 'Globex', 'globex.example', 8801);
SELECT results_eq($$SELECT account_a, account_b, same_domain, same_name FROM crm.duplicate_accounts() WHERE account_a BETWEEN 880101 AND 880199$$,
                  $$VALUES (880101::bigint, 880102::bigint, true, true)$$,
                  'accounts: same website domain and the same company name without its legal form');
SET ROLE dd_bob;
SELECT is_empty($$SELECT FROM crm.duplicate_accounts() WHERE account_a BETWEEN 880101 AND 880199$$,
                'accounts: Bob sees no pair of Ana''s accounts');
RESET ROLE;
SELECT throws_ok($$SELECT * FROM crm.duplicate_accounts(0)$$, '22023', NULL, 'min_similarity 0: 22023');

-- ---------------------------------------------------------------------------------------------
-- An oversized block: eight contacts share a phone and nothing else (first names of distinct
-- Soundex codes, names of trigram similarity below 0.5). Their ids run against their name order
-- (880208 is 'Ab Zab', the first); in either name order (smaller name first, larger first) the
-- sequence is the same, so with block_max 3 each is paired with the next 3: pairs whose ids are at
-- most 3 apart, 7 + 6 + 5 = 18 of the 28.
UPDATE crm.duplicate_settings SET incremental = false, insert_rule = 'allow', block_max = 3;
INSERT INTO crm.contacts (contact_id, first_name, last_name, phone, country)
SELECT 880209 - i, f, l, '+1 202 555 0177', 'US'
  FROM unnest(ARRAY['Ab', 'Ac', 'Ad', 'Al', 'Am', 'Ar', 'Eb', 'Ec'],
              ARRAY['Zab', 'Zac', 'Zad', 'Zal', 'Zam', 'Zar', 'Zeb', 'Zec']) WITH ORDINALITY AS n(f, l, i);
SELECT results_eq($$SELECT contact_a, contact_b, blocks FROM crm.dedupe_blocks(NULL)
                    WHERE contact_a BETWEEN 880201 AND 880208 OR contact_b BETWEEN 880201 AND 880208 ORDER BY 1, 2$$,
                  $$SELECT a::bigint, b::bigint, '{phone}'::text[] FROM generate_series(880201, 880208) a, generate_series(880201, 880208) b
                    WHERE b > a AND b - a <= 3 ORDER BY 1, 2$$,
                  'a block of more than block_max contacts: each is compared with its 3 neighbours in name order (18 pairs)');
UPDATE crm.duplicate_settings SET block_max = 8;
SELECT is((SELECT count(*)::int FROM crm.dedupe_blocks(NULL) WHERE contact_a BETWEEN 880201 AND 880208),
          28, 'a block of block_max contacts is compared in full (8 * 7 / 2 pairs)');
SELECT throws_ok($$UPDATE crm.duplicate_settings SET block_max = 0$$, '23514', NULL, 'block_max 0: 23514');

-- The trigger's pairs for one contact are the full refresh's, where the caps bite. Each contact
-- of the oversized phone block above, matched alone (crm.dedupe_blocks(ARRAY[id]): the trigger's
-- path), gets exactly the pairs the refresh's sorted neighbourhood gives it (block_max 3: its
-- neighbours at most 3 ids away, as worked out above).
UPDATE crm.duplicate_settings SET block_max = 3;
SELECT is_empty($$SELECT i, b.contact_a, b.contact_b FROM generate_series(880201, 880208) i, crm.dedupe_blocks(ARRAY[i::bigint]) b
                  WHERE NOT (abs(b.contact_b - b.contact_a) <= 3 AND i IN (b.contact_a, b.contact_b))
                  UNION ALL
                  SELECT i, a, b FROM generate_series(880201, 880208) i, generate_series(880201, 880208) a, generate_series(880201, 880208) b
                  WHERE b > a AND b - a <= 3 AND i IN (a, b)
                    AND NOT EXISTS (SELECT FROM crm.dedupe_blocks(ARRAY[i::bigint]) x WHERE (x.contact_a, x.contact_b) = (a, b))$$,
                'one contact of an oversized block, matched alone, is paired with its 3 neighbours in name order, as by the refresh');

-- Common trigrams: five contacts share the surname Qxzwvy and nothing else (first names of
-- distinct Soundex codes, no e-mail or phone); two such names share 7 of 13 trigrams (similarity
-- 0.54 >= 0.5), but with trigram_block_max 4 the surname's trigrams (held by 5) are too common
-- to pair them: the refresh finds no pair among them, nor may the trigger.
UPDATE crm.duplicate_settings SET block_max = 10, trigram_block_max = 4;
INSERT INTO crm.contacts (contact_id, first_name, last_name)
VALUES (880301, 'Ab', 'Qxzwvy'), (880302, 'Cu', 'Qxzwvy'), (880303, 'Do', 'Qxzwvy'), (880304, 'Fi', 'Qxzwvy'), (880305, 'Gy', 'Qxzwvy');
SELECT is((SELECT count(*)::int FROM crm.dedupe_blocks(NULL) WHERE contact_a BETWEEN 880301 AND 880399), 0,
          'the refresh pairs no two of five contacts whose shared trigrams are held by more than trigram_block_max');
SELECT is((SELECT count(*)::int FROM crm.dedupe_blocks(ARRAY[880305::bigint])), 0,
          'nor does the trigger''s lookup, without trigram counts (the index counts the holders)');
SELECT ok(crm.dedupe_count_trigrams() > 0, 'the trigram counts are taken');
SELECT is((SELECT sum(contacts)::int FROM crm.duplicate_trigram_counts WHERE trigram = 'xzw'), 5, 'xzw: held by 5');
SELECT is((SELECT count(*)::int FROM crm.dedupe_blocks(ARRAY[880305::bigint])), 0,
          'nor with them (the counts say common)');
-- Two of them deleted and one renamed: the surname's trigrams are held by 2, plus a new contact's
-- 3 <= 4: rare again; the counts must come down, or the lookup would still call them common.
DELETE FROM crm.contacts WHERE contact_id IN (880301, 880302);
UPDATE crm.contacts SET last_name = 'Other' WHERE contact_id = 880303;
SELECT is((SELECT sum(contacts)::int FROM crm.duplicate_trigram_counts WHERE trigram = 'xzw'), 2,
          'deleting two holders and renaming one brings the count of xzw down to 2');
INSERT INTO crm.contacts (contact_id, first_name, last_name) VALUES (880306, 'Ho', 'Qxzwvy');
SELECT set_eq($$SELECT contact_a, contact_b, blocks FROM crm.dedupe_blocks(ARRAY[880306::bigint])$$,
              $$VALUES (880304::bigint, 880306::bigint, '{trigram}'::text[]), (880305, 880306, '{trigram}')$$,
              'a trigram rare again pairs the new contact with its two holders (similarity 7/13)');
SELECT set_eq($$SELECT contact_a, contact_b, blocks FROM crm.dedupe_blocks(NULL) WHERE 880306 IN (contact_a, contact_b)$$,
              $$SELECT contact_a, contact_b, blocks FROM crm.dedupe_blocks(ARRAY[880306::bigint])$$,
              'the same pairs as the refresh');
SAVEPOINT truncated;
SET LOCAL client_min_messages = warning;
TRUNCATE crm.contacts CASCADE;
SELECT is_empty($$SELECT FROM crm.duplicate_trigram_counts$$, 'truncating the contacts empties the trigram counts');
ROLLBACK TO SAVEPOINT truncated;
RESET client_min_messages;
SET LOCAL ROLE crm_sales;
SELECT lives_ok($$SELECT crm.dedupe_trigrams_lost(ARRAY['xzw'], ARRAY[1::bigint])$$,
                'a rep may lower a trigram count (what the trigger does for their deletes)');
SELECT throws_ok($$SELECT crm.dedupe_trigrams_lost(ARRAY['xzw'], ARRAY[-1000::bigint])$$, '22023', NULL,
                 'nor raise it through the trigger''s function (a negative loss: 22023), which would hide pairs');
SELECT throws_ok($$SELECT crm.dedupe_trigrams_lost(ARRAY['xzw', 'qxz'], ARRAY[1::bigint])$$, '22023', NULL,
                 'trigrams and losses of different lengths: 22023');
SELECT throws_ok($$SELECT * FROM crm.duplicate_trigram_counts$$, '42501', NULL, 'a rep may not read the trigram counts');
SELECT throws_ok($$INSERT INTO crm.duplicate_trigram_counts VALUES ('xzw', 100)$$, '42501', NULL,
                 'nor raise one (only lower it, through the trigger''s function)');
RESET ROLE;
-- The generated set (300 people, above) under tight caps (block_max 2, trigram_block_max 3): for
-- every generated contact, the pairs of the trigger's path are those of the refresh's
-- set-wise query, with the trigram counts taken and without them.
UPDATE crm.duplicate_settings SET block_max = 2, trigram_block_max = 3;
CREATE TEMP TABLE dd_full AS SELECT * FROM crm.dedupe_blocks(NULL) WHERE contact_a >= 800000000 OR contact_b >= 800000000;
SELECT ok((SELECT count(*) FROM dd_full WHERE blocks @> '{trigram}') > 0 AND (SELECT count(*) FROM dd_full WHERE blocks @> '{phonetic}') > 0,
          'under tight caps the generated set still has trigram and phonetic pairs');
SELECT ok(crm.dedupe_count_trigrams() > 0, 'the trigram counts are taken under tight caps');
SELECT set_eq($$SELECT DISTINCT b.* FROM dd_truth t, crm.dedupe_blocks(ARRAY[t.contact_id]) b$$,
              $$SELECT * FROM dd_full$$,
              'each generated contact matched alone gets the refresh''s pairs (trigram counts taken)');
DELETE FROM crm.duplicate_trigram_counts;
SELECT set_eq($$SELECT DISTINCT b.* FROM dd_truth t, crm.dedupe_blocks(ARRAY[t.contact_id]) b$$,
              $$SELECT * FROM dd_full$$,
              'and without the counts (the index counts every trigram''s holders)');
SELECT set_eq($$SELECT * FROM crm.dedupe_blocks((SELECT array_agg(contact_id) FROM dd_truth))$$,
              $$SELECT * FROM dd_full$$,
              'and all of them at once (one statement inserting many)');
UPDATE crm.duplicate_settings SET block_max = 10, trigram_block_max = 100;

-- ---------------------------------------------------------------------------------------------
-- Settings
SELECT throws_ok($$UPDATE crm.duplicate_settings SET insert_rule = 'merge'$$, '23514', NULL, 'an unknown rule: 23514');
SELECT throws_ok($$UPDATE crm.duplicate_settings SET review_threshold = 0.99, auto_merge_threshold = 0.9$$, '23514', NULL,
                 'the review threshold above the auto-merge threshold: 23514');
SELECT throws_ok($$UPDATE crm.duplicate_settings SET model = model - 'phone'$$, '22023', NULL, 'a model without a field: 22023');
SELECT throws_ok($$UPDATE crm.duplicate_settings SET model = jsonb_set(model, '{phone,exact}', '[0.5, 0]')$$, '22023', NULL,
                 'a u of 0: 22023');
SELECT lives_ok($$INSERT INTO crm.duplicate_settings (insert_rule) VALUES ('flag')$$,
                'an INSERT (a restore) updates the one settings row');
SELECT is((SELECT count(*)::int || ' ' || min(insert_rule) FROM crm.duplicate_settings), '1 flag', 'still one row, updated');

SELECT * FROM finish();
ROLLBACK;

DELETE FROM crm.contacts WHERE contact_id = 870000001;
