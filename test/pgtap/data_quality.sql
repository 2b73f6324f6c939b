-- pgTAP: the data-quality functions' edge cases (NULL, empty, non-ASCII, very long, invalid
-- input, phone extensions, countries without a trunk prefix), their catalog properties, and
-- crm.jaro / crm.jaro_winkler against a plain PL/pgSQL implementation of the definition on
-- seeded random strings.
BEGIN;
SELECT plan(85);

-- Catalog: IMMUTABLE, PARALLEL SAFE, STRICT except normalize_phone, executable by everyone.
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'crm'::regnamespace
        AND p.proname IN ('normalize_name', 'normalize_company', 'normalize_email', 'email_domain',
                          'website_domain', 'normalize_phone', 'jaro', 'jaro_winkler')
        AND NOT (p.provolatile = 'i' AND p.proparallel = 's' AND p.proisstrict = (p.proname <> 'normalize_phone')
                 AND NOT p.prosecdef AND has_function_privilege('public', p.oid, 'EXECUTE'))$$,
    'the data-quality functions are IMMUTABLE, PARALLEL SAFE, STRICT (but normalize_phone), not SECURITY DEFINER, public');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'crm'::regnamespace
           AND proname IN ('normalize_name', 'normalize_company', 'normalize_email', 'email_domain',
                           'website_domain', 'normalize_phone', 'jaro', 'jaro_winkler')), 8,
          'eight data-quality functions');

-- NULL and empty input
SELECT is(crm.normalize_name(NULL), NULL, 'normalize_name(NULL) is NULL');
SELECT is(crm.normalize_name(''), '', 'normalize_name of the empty string is empty');
SELECT is(crm.normalize_name(E' \t\n-\'.,;'), '', 'only whitespace and punctuation gives the empty string');
SELECT is(crm.normalize_company(NULL), NULL, 'normalize_company(NULL) is NULL');
SELECT is(crm.normalize_company(''), '', 'normalize_company of the empty string is empty');
SELECT is(crm.normalize_email(NULL), NULL, 'normalize_email(NULL) is NULL');
SELECT is(crm.normalize_email('x@example.com', NULL), NULL, 'normalize_email with NULL gmail_rules is NULL (STRICT)');
SELECT is(crm.normalize_email(''), NULL, 'normalize_email of the empty string is NULL');
SELECT is(crm.email_domain(''), NULL, 'email_domain of the empty string is NULL');
SELECT is(crm.website_domain(''), NULL, 'website_domain of the empty string is NULL');
SELECT is(crm.normalize_phone(NULL, 'US'), NULL, 'normalize_phone(NULL, country) is NULL');
SELECT is(crm.normalize_phone('', 'US'), NULL, 'normalize_phone of the empty string is NULL');
SELECT is(crm.normalize_phone('+44 20 7946 0958', NULL), '+442079460958', 'a NULL country still reads an international number');
SELECT is(crm.normalize_phone('020 7946 0958', NULL), NULL, 'a NULL country cannot read a national number');
SELECT is(crm.jaro_winkler(NULL, 'a'), NULL, 'jaro_winkler with a NULL is NULL');
SELECT is(crm.jaro_winkler('', ''), 1::float8, 'two empty strings are equal: 1');
SELECT is(crm.jaro_winkler('abc', ''), 0::float8, 'an empty and a non-empty string: 0');
SELECT is(crm.jaro('', 'abc'), 0::float8, 'jaro: an empty and a non-empty string: 0');

-- Non-ASCII
SELECT is(crm.normalize_name('ÀÁÂÃÄÅ àáâãäå ÇçÈÉÊËèéêë ÌÍÎÏìíîï ÑñÒÓÔÕÖØòóôõöø ÙÚÛÜùúûü Ýýÿ'),
          'aaaaaa aaaaaa cceeeeeeee iiiiiiii nnoooooooooooo uuuuuuuu yyy', 'Latin-1 letters fold to ASCII');
SELECT is(crm.normalize_name('Æ æ Œ œ ß ẞ Þ þ Ð ð Ĳ ĳ'), 'ae ae oe oe ss ss th th d d ij ij', 'ligatures and special letters');
SELECT is(crm.normalize_name('Ąą Ćć Čč Ďď Đđ Ęę Ěě Ğğ İı Łł Ńń Ňň Őő Řř Śś Şş Šš Ťť Űű Ůů Źź Żż Žž Ș ș Ț ț'),
          'aa cc cc dd dd ee ee gg ii ll nn nn oo rr ss ss ss tt uu uu zz zz zz s s t t', 'Latin Extended-A and Romanian letters');
SELECT is(crm.normalize_name('e' || chr(769) || 'cole  n' || chr(771) || 'o'), 'ecole no', 'decomposed accents (combining marks) are dropped');
SELECT is(crm.normalize_name('ΑΘΉΝΑ Σοφία'), 'αθηνα σοφια', 'Greek: lower case, tonos dropped');
SELECT is(crm.normalize_name('МОСКВА Ёлка'), 'москва елка', 'Cyrillic: lower case, ё as е');
SELECT is(crm.normalize_name('東京  タワー'), '東京 タワー', 'other scripts are kept, whitespace collapsed');
SELECT is(crm.normalize_name('Anne' || chr(8203) || 'Marie' || chr(160) || 'Dupont'), 'annemarie dupont', 'zero width space dropped, no-break space a space');
SELECT is(crm.normalize_name('Jean–Luc  O’Neil'), 'jean-luc oneil', 'an en dash inside a word is a hyphen; a typographic apostrophe joins');
SELECT is(crm.normalize_name('-Smith- - Jones- O'' Neil'), 'smith jones o neil', 'hyphens and apostrophes not inside a word separate');
SELECT is(crm.normalize_name('J.R.R. Tolkien'), 'j r r tolkien', 'periods separate in names');
SELECT is(crm.normalize_company('J.R.R. Tolkien Ltd.'), 'jrr tolkien', 'periods inside a word join in company names');

-- Very long input
SELECT is(length(crm.normalize_name(repeat('É', 1000000))), 1000000, 'a million-character name');
SELECT is(crm.normalize_name(repeat('a ', 100000)), rtrim(repeat('a ', 100000)), 'a long name keeps its words');
SELECT is(crm.jaro_winkler(repeat('ab', 5000), repeat('ab', 5000)), 1::float8, '10000 characters compare');
SELECT is(crm.jaro_winkler(repeat('é', 10000), repeat('é', 10000)), 1::float8, '10000 two-byte characters compare');
SELECT throws_ok($$SELECT crm.jaro_winkler(repeat('a', 10001), 'a')$$, '54000', NULL, 'jaro_winkler: 10001 characters exceed the limit');
SELECT throws_ok($$SELECT crm.jaro('a', repeat('a', 50000))$$, '54000', NULL, 'jaro: a long second argument exceeds the limit');

-- Companies
SELECT is(crm.normalize_company('Müller GmbH & Co. KG'), 'muller', 'GmbH & Co. KG');
SELECT is(crm.normalize_company('Fiat S.p.A.'), 'fiat', 'S.p.A.');
SELECT is(crm.normalize_company('Acme Sp. z o.o.'), 'acme', 'sp. z o.o.');
SELECT is(crm.normalize_company('Ikea AB (publ)'), 'ikea', 'AB (publ)');
SELECT is(crm.normalize_company('Sony K.K.'), 'sony', 'K.K.');
SELECT is(crm.normalize_company('Inc'), 'inc', 'a suffix alone stays');
SELECT is(crm.normalize_company('Johnson and Johnson'), 'johnson and johnson', 'no suffix: nothing stripped, "and" stays');
SELECT is(crm.normalize_company('Incorporated Widgets Company Limited'), 'incorporated widgets', 'only trailing suffixes go');

-- E-mails
SELECT is(crm.normalize_email('Ann.Lee+crm@GoogleMail.com', true), 'annlee@gmail.com', 'gmail rules: googlemail.com, dots and +tag');
SELECT is(crm.normalize_email('Ann.Lee+crm@example.com', true), 'ann.lee+crm@example.com', 'gmail rules leave other providers alone');
SELECT is(crm.normalize_email('+crm@gmail.com', true), NULL, 'gmail rules leaving an empty local part: NULL');
SELECT is(crm.normalize_email('mailto:Bob@Example.com'), 'bob@example.com', 'mailto: prefix');
SELECT is(crm.normalize_email('user@example.com.'), 'user@example.com', 'a trailing dot of the domain goes');
SELECT is(crm.normalize_email('jürgen@bücher.de'), 'jürgen@bücher.de', 'internationalised addresses are kept');
SELECT is_empty($$SELECT e FROM unnest(ARRAY['plain', 'a@b', 'a@@b.com', 'a@b@c.com', '.a@b.com', 'a.@b.com', 'a..b@c.com',
        'a@1.2.3.4', 'a@-x.com', 'a@x-.com', 'a@x..com', '"q"@x.com', 'a b@c.com', '@x.com', 'a@', 'a@.com',
        'a(b)@c.com', 'Ann <ann@x.com', repeat('a', 65) || '@x.com', 'a@' || repeat('b', 64) || '.com',
        'a@' || repeat('bbbbbbbbb.', 26) || 'com']) e
      WHERE crm.normalize_email(e) IS NOT NULL OR crm.email_domain(e) IS NOT NULL$$,
    'invalid e-mail addresses give NULL');
SELECT is(crm.normalize_email(repeat('a', 64) || '@' || repeat('b', 63) || '.com'), repeat('a', 64) || '@' || repeat('b', 63) || '.com',
          'the longest local part and label are accepted');

-- Domains
SELECT is(crm.website_domain('HTTPS://WWW.Example.COM.:443/x'), 'example.com', 'upper case, trailing dot, port');
SELECT is(crm.website_domain('www.com'), 'www.com', 'www. stays when only one label would be left');
SELECT is(crm.website_domain('ftp://files.example.org#top'), 'files.example.org', 'another scheme, a fragment');
SELECT is(crm.website_domain('http://192.168.0.1/admin'), NULL, 'an IPv4 address is no domain');
SELECT is(crm.website_domain('http://[2001:db8::1]/'), NULL, 'an IPv6 address is no domain');
SELECT is(crm.website_domain('localhost'), NULL, 'a single label is no domain');
SELECT is(crm.website_domain('not a url'), NULL, 'spaces are not part of a host');

-- Phones: extensions, countries without a trunk prefix, international prefixes, limits
SELECT is(crm.normalize_phone('+1 415 555 0100 x123'), '+14155550100', 'extension after x');
SELECT is(crm.normalize_phone('+1 415 555 0100;ext=123'), '+14155550100', 'extension after ;ext=');
SELECT is(crm.normalize_phone('030 1234567 #12', 'de'), '+49301234567', 'extension after #, lower-case country');
SELECT is(crm.normalize_phone('91 123 45 67', 'ES'), '+34911234567', 'Spain has no trunk prefix');
SELECT is(crm.normalize_phone('32 12 34 56', 'DK'), '+4532123456', 'Denmark has no trunk prefix');
SELECT is(crm.normalize_phone('0 12 34 56 78', 'DK'), '+45012345678', 'a leading 0 in Denmark stays: no trunk prefix there');
SELECT is(crm.normalize_phone('0412 345 678', 'AU'), '+61412345678', 'Australia: trunk 0');
SELECT is(crm.normalize_phone('0011 1 415 555 0100', 'AU'), '+14155550100', 'Australia: international prefix 0011');
SELECT is(crm.normalize_phone('00 1 415 555 0100', 'ZZ'), '+14155550100', 'an unknown country: 00 is international');
SELECT is(crm.normalize_phone('415 555 0100', 'ZZ'), NULL, 'an unknown country: a national number is NULL');
SELECT is(crm.normalize_phone('+1234567890123456'), NULL, 'more than 15 digits: NULL');
SELECT is(crm.normalize_phone('+123456789012345'), '+123456789012345', '15 digits are accepted');
SELECT is(crm.normalize_phone('+12345'), NULL, 'fewer than 7 digits: NULL');
SELECT is(crm.normalize_phone('555 +1234567'), NULL, 'a + after digits: NULL');
SELECT is(crm.normalize_phone('call 555 1234', 'US'), NULL, 'letters before the number: NULL');
SELECT is(crm.normalize_phone('+0 123 456 789'), NULL, 'no calling code starts with 0');

-- jaro_winkler: symmetric, in [0, 1], at least jaro, 1 on equal strings, and equal to a plain
-- PL/pgSQL implementation of the definition (written from it, not from the C code) on random
-- strings over a small alphabet with multi-byte letters.
CREATE FUNCTION pg_temp.jaro_reference(a text, b text, winkler boolean) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    la int := length(a);
    lb int := length(b);
    win int := greatest(greatest(la, lb) / 2 - 1, 0);
    am boolean[] := array_fill(false, ARRAY[greatest(la, 1)]);
    bm boolean[] := array_fill(false, ARRAY[greatest(lb, 1)]);
    m int := 0;
    half_t int := 0;
    k int := 1;
    j float8;
    l int := 0;
BEGIN
    IF la = 0 AND lb = 0 THEN RETURN 1; END IF;
    IF la = 0 OR lb = 0 THEN RETURN 0; END IF;
    FOR i IN 1..la LOOP
        FOR q IN greatest(1, i - win)..least(lb, i + win) LOOP
            IF NOT bm[q] AND substr(a, i, 1) = substr(b, q, 1) THEN
                am[i] := true; bm[q] := true; m := m + 1;
                EXIT;
            END IF;
        END LOOP;
    END LOOP;
    IF m = 0 THEN RETURN 0; END IF;
    FOR i IN 1..la LOOP
        CONTINUE WHEN NOT am[i];
        WHILE NOT bm[k] LOOP k := k + 1; END LOOP;
        IF substr(a, i, 1) <> substr(b, k, 1) THEN half_t := half_t + 1; END IF;
        k := k + 1;
    END LOOP;
    half_t := half_t / 2;  -- integer division: half the transpositions, rounded down
    j := (m::float8 / la + m::float8 / lb + (m - half_t)::float8 / m) / 3;
    IF winkler AND j > 0.7 THEN
        WHILE l < 4 AND l < least(la, lb) AND substr(a, l + 1, 1) = substr(b, l + 1, 1) LOOP l := l + 1; END LOOP;
        j := j + l * 0.1 * (1 - j);
    END IF;
    RETURN j;
END $$;

SELECT setseed(0.42);
CREATE TEMP TABLE pairs AS
SELECT a, b FROM (
    SELECT (SELECT string_agg(substr('aabbcdeéß', 1 + floor(random() * 9)::int, 1), '')
            FROM generate_series(1, floor(random() * 13)::int) WHERE n > 0) AS a,
           (SELECT string_agg(substr('aabbcdeéß', 1 + floor(random() * 9)::int, 1), '')
            FROM generate_series(1, floor(random() * 13)::int) WHERE n > 0) AS b
    FROM generate_series(1, 600) n) s;
UPDATE pairs SET a = coalesce(a, ''), b = coalesce(b, '');
-- Some pairs that share a prefix, so that the Winkler boost is exercised.
INSERT INTO pairs SELECT 'abé' || a, 'abé' || b FROM pairs LIMIT 200;
-- And longer pairs (60 to 100 characters), past the C code's short-string buffers.
INSERT INTO pairs
SELECT (SELECT string_agg(substr('abcdeéßxy', 1 + floor(random() * 9)::int, 1), '') FROM generate_series(1, 60 + floor(random() * 41)::int) WHERE n > 0),
       (SELECT string_agg(substr('abcdeéßxy', 1 + floor(random() * 9)::int, 1), '') FROM generate_series(1, 60 + floor(random() * 41)::int) WHERE n > 0)
FROM generate_series(1, 40) n;
INSERT INTO pairs SELECT a, overlay(a PLACING 'zz' FROM 30 FOR 1) FROM pairs WHERE length(a) >= 60;

SELECT cmp_ok((SELECT count(DISTINCT (a, b))::int FROM pairs), '>', 600, 'hundreds of distinct random pairs');
SELECT is_empty($$SELECT a, b FROM pairs WHERE abs(crm.jaro(a, b) - pg_temp.jaro_reference(a, b, false)) > 1e-12$$,
                'jaro equals the PL/pgSQL reference on random strings');
SELECT is_empty($$SELECT a, b FROM pairs WHERE abs(crm.jaro_winkler(a, b) - pg_temp.jaro_reference(a, b, true)) > 1e-12$$,
                'jaro_winkler equals the PL/pgSQL reference on random strings');
SELECT is_empty($$SELECT a, b FROM pairs WHERE crm.jaro_winkler(a, b) <> crm.jaro_winkler(b, a) OR crm.jaro(a, b) <> crm.jaro(b, a)$$,
                'jaro and jaro_winkler are symmetric');
SELECT is_empty($$SELECT a, b FROM pairs WHERE NOT (crm.jaro_winkler(a, b) BETWEEN crm.jaro(a, b) AND 1 AND crm.jaro(a, b) >= 0)$$,
                '0 <= jaro <= jaro_winkler <= 1');
SELECT is_empty($$SELECT a FROM pairs WHERE crm.jaro_winkler(a, a) <> 1$$, 'a string compared with itself: 1');
SELECT cmp_ok((SELECT count(*)::int FROM pairs WHERE crm.jaro_winkler(a, b) > crm.jaro(a, b)), '>', 50,
              'the Winkler boost applies to many of the pairs');

-- Every staff role and PUBLIC may call them.
SET LOCAL ROLE crm_sales;
SELECT is(crm.normalize_company('Acme Ltd'), 'acme', 'crm_sales may call normalize_company');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
