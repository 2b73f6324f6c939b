-- test/lib/dedupe_data.sql: a labelled duplicate-detection data set, shared by the benchmark
-- (test/bench/dedupe.sh) and the pgTAP suite (test/pgtap/dedupe.sql). Set the psql variables
-- dd_people (distinct people), dd_dup_rate (share of them given one duplicate) and dd_seed first.
-- Creates pg_temp tables dd_truth (contact_id, person) and dd_true_pairs (a, b): the pairs of
-- contacts of the same person. Contacts get ids from 800000000 on, owner NULL.
--
-- A person: a first name (of 40, with nicknames), a last name (two syllables of 40 and one of 8
-- endings: 12800 names, so many people share names), an e-mail (one of four patterns at one of
-- 12 domains), a phone (DE, GB or US, written in national or international form) and an account
-- (one of 400) or none. A duplicate is a copy with one or two of these edits: a typo in a name
-- (a letter substituted, dropped or two transposed), first and last name swapped, a nickname, the
-- e-mail or the phone missing, a changed e-mail (another domain or another pattern), the phone
-- written the other way, the account missing. crm.contacts holds an e-mail address once, so a
-- duplicate never has its person's address unchanged: without an e-mail edit it has a typo in the
-- address's local part, or no address.
SELECT setseed(:dd_seed) \g /dev/null

CREATE TEMP TABLE dd_first (i int PRIMARY KEY, name text, nick text);
INSERT INTO dd_first
SELECT row_number() OVER (), f[1], f[2] FROM (VALUES
    (ARRAY['Robert', 'Bob']), (ARRAY['William', 'Bill']), (ARRAY['Richard', 'Dick']), (ARRAY['Elizabeth', 'Liz']),
    (ARRAY['Katherine', 'Kate']), (ARRAY['Margaret', 'Peggy']), (ARRAY['James', 'Jim']), (ARRAY['Michael', 'Mike']),
    (ARRAY['Jennifer', 'Jen']), (ARRAY['Thomas', 'Tom']), (ARRAY['Christopher', 'Chris']), (ARRAY['Daniel', 'Dan']),
    (ARRAY['Matthew', 'Matt']), (ARRAY['Anthony', 'Tony']), (ARRAY['Joseph', 'Joe']), (ARRAY['Patricia', 'Pat']),
    (ARRAY['Susan', 'Sue']), (ARRAY['Jessica', 'Jess']), (ARRAY['Alexander', 'Alex']), (ARRAY['Benjamin', 'Ben']),
    (ARRAY['Nicholas', 'Nick']), (ARRAY['Samuel', 'Sam']), (ARRAY['Victoria', 'Vicky']), (ARRAY['Rebecca', 'Becky']),
    (ARRAY['Andrew', 'Andy']), (ARRAY['Edward', 'Ted']), (ARRAY['Frederick', 'Fred']), (ARRAY['Jonathan', 'Jon']),
    (ARRAY['Stephanie', 'Steph']), (ARRAY['Zachary', 'Zach']), (ARRAY['Anna', 'Annie']), (ARRAY['Maria', 'Mia']),
    (ARRAY['Lukas', 'Luke']), (ARRAY['Sophie', 'Sophie']), (ARRAY['Emma', 'Em']), (ARRAY['Noah', 'Noah']),
    (ARRAY['Olivia', 'Liv']), (ARRAY['Johann', 'Hans']), (ARRAY['Francesca', 'Fran']), (ARRAY['Giuseppe', 'Beppe'])) v(f);

CREATE TEMP TABLE dd_person AS
WITH draw AS (
    SELECT p AS person,
           1 + floor(random() * 40)::int AS fi, 1 + floor(random() * 40)::int AS s1,
           1 + floor(random() * 40)::int AS s2, 1 + floor(random() * 8)::int AS e,
           1 + floor(random() * 4)::int AS email_pattern, 1 + floor(random() * 12)::int AS d,
           1 + floor(random() * 3)::int AS c, lpad(floor(random() * 1e9)::bigint::text, 9, '0') AS digits,
           random() < 0.5 AS international,
           CASE WHEN random() < 0.7 THEN 1 + floor(random() * 400)::int END AS account
    FROM generate_series(1, :dd_people) p)
SELECT person, f.name AS first_name, f.nick,
       initcap((ARRAY['mul','sch','ber','kow','gar','nak','row','lam','fis','wag','bau','kel','ric','hof',
                      'kra','wol','neu','zim','bra','har','sta','pet','han','lan','mor','dav','ev','tho',
                      'rob','wil','mar','sal','ort','lop','rus','fer','gom','mol','dia','kim'])[s1]
               || (ARRAY['a','e','i','o','u','an','en','er','in','on','ar','or','el','il','al','ul','as','es',
                         'is','os','ab','ed','ig','ok','um','ay','ey','oy','au','ei','ie','oa','ue','ia',
                         'io','ea','ou','ai','ur','ir'])[s2]
               || (ARRAY['', 'son', 'man', 'ski', 'ez', 'er', 'ton', 'berg'])[e]) AS last_name,
       email_pattern,
       (ARRAY['gmail.com', 'yahoo.com', 'outlook.com', 'web.de', 'gmx.de', 'example.com', 'acme.io',
              'firma.de', 'corp.co.uk', 'mail.com', 'proton.me', 'shop.example'])[d] AS domain,
       (ARRAY['DE', 'GB', 'US'])[c] AS country, digits, international, account
FROM draw JOIN dd_first f ON f.i = draw.fi;

-- How a person's contact writes e-mail and phone.
CREATE FUNCTION pg_temp.dd_email(first_name text, last_name text, pattern int, domain text, person int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(CASE pattern WHEN 1 THEN first_name || '.' || last_name WHEN 2 THEN left(first_name, 1) || last_name
                              WHEN 3 THEN first_name || '_' || left(last_name, 3) ELSE last_name || '.' || first_name END)
           || (person % 100) || '@' || domain
$$;
CREATE FUNCTION pg_temp.dd_phone(country text, digits text, international boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN international
                THEN (CASE country WHEN 'DE' THEN '+49 ' WHEN 'GB' THEN '+44 ' ELSE '+1 ' END)
                     || CASE country WHEN 'US' THEN '2' || substr(digits, 1, 2) || ' ' || substr(digits, 3, 3) || ' ' || substr(digits, 6, 4)
                                     ELSE '30 ' || substr(digits, 1, 4) || ' ' || substr(digits, 5) END
                ELSE CASE country WHEN 'US' THEN '(2' || substr(digits, 1, 2) || ') ' || substr(digits, 3, 3) || '-' || substr(digits, 6, 4)
                                  ELSE '030 ' || substr(digits, 1, 4) || ' ' || substr(digits, 5) END
           END
$$;
-- A typo: a letter substituted, dropped, or two neighbours transposed (not the first letter).
CREATE FUNCTION pg_temp.dd_typo(s text, kind int, r double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(s) < 3 THEN s
                WHEN kind = 0 THEN overlay(s PLACING substr('aeiourstnl', 1 + floor(r * 10)::int, 1)
                                         FROM 2 + floor(r * (length(s) - 1))::int FOR 1)
                WHEN kind = 1 THEN overlay(s PLACING '' FROM 2 + floor(r * (length(s) - 1))::int FOR 1)
                ELSE overlay(s PLACING substr(s, 3 + floor(r * (length(s) - 2))::int, 1)
                                       || substr(s, 2 + floor(r * (length(s) - 2))::int, 1)
                             FROM 2 + floor(r * (length(s) - 2))::int FOR 2)
           END
$$;

CREATE TEMP TABLE dd_contact AS
SELECT person, first_name, last_name,
       pg_temp.dd_email(first_name, last_name, email_pattern, domain, person) AS email,
       pg_temp.dd_phone(country, digits, international) AS phone, country, account
FROM dd_person;

-- The duplicates: one or two edits each.
CREATE TEMP TABLE dd_duplicate AS
SELECT * FROM (
    SELECT p.*, floor(random() * 9)::int AS e1, CASE WHEN random() < 0.4 THEN floor(random() * 9)::int END AS e2,
           random() AS pick
    FROM dd_person p) d
WHERE pick < :dd_dup_rate;

INSERT INTO dd_contact
SELECT d.person,
       CASE WHEN 2 IN (e1, e2) THEN d.last_name WHEN 3 IN (e1, e2) THEN d.nick
            WHEN 0 IN (e1, e2) THEN pg_temp.dd_typo(d.first_name, floor(random() * 3)::int, random())
            ELSE d.first_name END,
       CASE WHEN 2 IN (e1, e2) THEN d.first_name
            WHEN 1 IN (e1, e2) THEN pg_temp.dd_typo(d.last_name, floor(random() * 3)::int, random())
            ELSE d.last_name END,
       CASE WHEN 4 IN (e1, e2) THEN NULL
            WHEN 6 IN (e1, e2) THEN pg_temp.dd_email(d.first_name, d.last_name, 1 + (d.email_pattern % 4),
                                                      CASE WHEN random() < 0.5 THEN 'newjob.example' ELSE d.domain END, d.person)
            -- crm.contacts holds an e-mail address once (lower(email) is unique): an unedited
            -- duplicate has a typo in it or none
            WHEN random() < 0.5 THEN NULL
            ELSE pg_temp.dd_typo(split_part(pg_temp.dd_email(d.first_name, d.last_name, d.email_pattern, d.domain, d.person), '@', 1),
                                 floor(random() * 3)::int, random()) || '@' || d.domain END,
       CASE WHEN 5 IN (e1, e2) THEN NULL
            ELSE pg_temp.dd_phone(d.country, d.digits, d.international <> coalesce(7 IN (e1, e2), false)) END,
       d.country,
       CASE WHEN 8 IN (e1, e2) THEN NULL ELSE d.account END
FROM dd_duplicate d;

INSERT INTO crm.accounts (account_id, name)
SELECT 800000000 + a, 'Bench account ' || a FROM generate_series(1, 400) a
ON CONFLICT DO NOTHING;

-- Addresses that still collide (two people alike, or a typo hitting another address): kept once.
UPDATE dd_contact c SET email = NULL
  FROM (SELECT ctid AS row_ctid, row_number() OVER (PARTITION BY lower(email) ORDER BY ctid) AS n
          FROM dd_contact WHERE email IS NOT NULL) z
 WHERE c.ctid = z.row_ctid AND z.n > 1;

CREATE TEMP TABLE dd_truth (contact_id bigint PRIMARY KEY, person int NOT NULL);
WITH numbered AS (
    SELECT 800000000 + row_number() OVER (ORDER BY random()) AS contact_id, c.* FROM dd_contact c),
inserted AS (
    INSERT INTO crm.contacts (contact_id, first_name, last_name, email, phone, country, account_id)
    SELECT contact_id, first_name, last_name, email, phone, country, 800000000 + account FROM numbered
    RETURNING contact_id)
INSERT INTO dd_truth SELECT n.contact_id, n.person FROM numbered n JOIN inserted USING (contact_id);

CREATE TEMP TABLE dd_true_pairs AS
SELECT x.contact_id AS a, y.contact_id AS b
FROM dd_truth x JOIN dd_truth y ON y.person = x.person AND y.contact_id > x.contact_id;
