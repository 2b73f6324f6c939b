-- Data quality worked by hand: normalisation of names, companies, e-mails, phones and domains,
-- and the Jaro and Jaro–Winkler similarities with the values published by Winkler (1990) and
-- repeated in the Wikipedia article, each derived in the comments.
SET client_min_messages = warning;

-- Names: lower case, accents folded by the table (é -> e, í -> i, ß -> ss, æ -> ae, ø -> o,
-- ł -> l), the apostrophe inside O'Brien dropped, the hyphen inside Brien-Smith kept, other
-- punctuation a word break, whitespace collapsed and trimmed.
SELECT crm.normalize_name('  José  María  O''Brien-Smith ') = 'jose maria obrien-smith' AS name_1,
       crm.normalize_name('Ærøskøbing Straße') = 'aeroskobing strasse' AS name_2,
       crm.normalize_name('Łódź, KRAKÓW') = 'lodz krakow' AS name_3,
       crm.normalize_name('Dr.Jekyll & Mr.Hyde') = 'dr jekyll mr hyde' AS name_4;

-- Company names: periods inside a word dropped (S.A. -> sa), then legal-form suffixes removed
-- from the end while one matches: "muller gmbh co kg" -> kg, co, gmbh go -> "muller".
SELECT crm.normalize_company('ACME Inc.') = 'acme' AS company_1,
       crm.normalize_company('Müller GmbH & Co. KG') = 'muller' AS company_2,
       crm.normalize_company('Société Générale S.A.') = 'societe generale' AS company_3,
       crm.normalize_company('Smith and Co.') = 'smith' AS company_4,
       crm.normalize_company('Grupo Bimbo, S.A. de C.V.') = 'grupo bimbo' AS company_5,
       crm.normalize_company('Company') = 'company' AS company_6;

-- E-mail: trimmed and lower-cased; the +tag and dots stay unless gmail rules are asked for.
SELECT crm.normalize_email(' John.Doe+news@GMail.com ') = 'john.doe+news@gmail.com' AS email_1,
       crm.normalize_email(' John.Doe+news@GMail.com ', true) = 'johndoe@gmail.com' AS email_2,
       crm.normalize_email('Ann <Ann@Example.ORG>') = 'ann@example.org' AS email_3,
       crm.normalize_email('not an address') IS NULL AS email_4,
       crm.email_domain('Bob@Mail.Example.co.uk') = 'mail.example.co.uk' AS email_5;

-- Websites: scheme, user, port, path and www. removed; no public-suffix list.
SELECT crm.website_domain('https://www.Example.com/path?q=1') = 'example.com' AS web_1,
       crm.website_domain('http://user:pw@shop.example.co.uk:8080/') = 'shop.example.co.uk' AS web_2,
       crm.website_domain('example.org') = 'example.org' AS web_3;

-- Phones to E.164. London 020 7946 0958 in GB: trunk 0 dropped, +44 -> +442079460958.
-- San Francisco (415) 555-0100 ext. 12 in US: the extension dropped, +1 -> +14155550100.
-- Budapest 06 1 234 5678 in HU: trunk 06 dropped, +36 -> +3612345678. Rome 06 1234 5678 in IT:
-- Italy has no trunk prefix, the 0 stays: +390612345678. Moscow 8 (495) 123-45-67 in RU: trunk 8
-- dropped: +74951234567. From the US, 011 44 ... is international: +442079460958.
SELECT crm.normalize_phone('020 7946 0958', 'GB') = '+442079460958' AS phone_1,
       crm.normalize_phone('(415) 555-0100 ext. 12', 'US') = '+14155550100' AS phone_2,
       crm.normalize_phone('06 1 234 5678', 'HU') = '+3612345678' AS phone_3,
       crm.normalize_phone('06 1234 5678', 'IT') = '+390612345678' AS phone_4,
       crm.normalize_phone('8 (495) 123-45-67', 'RU') = '+74951234567' AS phone_5,
       crm.normalize_phone('011 44 20 7946 0958', 'US') = '+442079460958' AS phone_6,
       crm.normalize_phone('+44 (0)20 7946 0958') = '+442079460958' AS phone_7,
       crm.normalize_phone('020 7946 0958') IS NULL AS phone_8;

-- Jaro–Winkler, by hand. Match window = floor(max(|a|, |b|) / 2) - 1.
-- MARTHA / MARHTA: window 2; all 6 letters match (T at 3 <-> 4, H at 4 <-> 3); in order the
-- matched letters read MARTHA and MARHTA: 2 positions differ, t = 1.
-- Jaro = (6/6 + 6/6 + (6 - 1)/6) / 3 = 0.944444; common prefix MAR, l = 3:
-- JW = 0.944444 + 3 * 0.1 * (1 - 0.944444) = 0.961111.
-- DWAYNE / DUANE: window 2; D, A, N, E match (W, Y, U do not), in order: t = 0.
-- Jaro = (4/6 + 4/5 + 4/4) / 3 = 0.822222; l = 1: JW = 0.822222 + 0.1 * 0.177778 = 0.840000.
-- DIXON / DICKSONX: window 3; D, I, O (3 <-> 5), N (4 <-> 6) match; X (2) is 5 from X (7): no.
-- Jaro = (4/5 + 4/8 + 4/4) / 3 = 0.766667; l = 2: JW = 0.766667 + 0.2 * 0.233333 = 0.813333.
SELECT round(crm.jaro('MARTHA', 'MARHTA')::numeric, 6) AS jaro_martha,
       round(crm.jaro_winkler('MARTHA', 'MARHTA')::numeric, 6) AS jw_martha,
       round(crm.jaro('DWAYNE', 'DUANE')::numeric, 6) AS jaro_dwayne,
       round(crm.jaro_winkler('DWAYNE', 'DUANE')::numeric, 6) AS jw_dwayne,
       round(crm.jaro('DIXON', 'DICKSONX')::numeric, 6) AS jaro_dixon,
       round(crm.jaro_winkler('DIXON', 'DICKSONX')::numeric, 6) AS jw_dixon;

-- Characters, not bytes: "Müller" / "Muller" (6 characters each, window 2): 5 letters match in
-- order, t = 0. Jaro = (5/6 + 5/6 + 1) / 3 = 0.888889; l = 1 (M):
-- JW = 0.888889 + 0.1 * 0.111111 = 0.900000.
-- Below the 0.7 threshold there is no boost: "ab" / "ba" (window 0): no match, 0.
-- "CRATE" / "TRACE" (window 1): R, A, E match (C and T are 4 apart), in order: t = 0.
-- Jaro = (3/5 + 3/5 + 1) / 3 = 0.733333; no common prefix: JW = Jaro = 0.733333.
SELECT round(crm.jaro_winkler('Müller', 'Muller')::numeric, 6) AS jw_muller,
       crm.jaro_winkler('ab', 'ba') AS jw_ab,
       round(crm.jaro_winkler('CRATE', 'TRACE')::numeric, 6) AS jw_crate;

-- Normalising first, then comparing: the two spellings agree exactly.
SELECT crm.jaro_winkler(crm.normalize_name('ZOË  O’Neil'), crm.normalize_name('Zoe ONeil')) AS jw_normalized;
