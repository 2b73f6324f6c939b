-- src/data_quality.sql: normalisation of names, company names, e-mail addresses, phone numbers
-- and domains, and the Jaro and Jaro–Winkler similarities (src/data_quality.c). Each computes
-- from its arguments alone: IMMUTABLE, PARALLEL SAFE, executable by everyone. See
-- docs/data_quality.md.

CREATE FUNCTION @extschema@.normalize_name(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_normalize_name' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normalize_name(text) IS
    'A name for matching: lower case, Latin accents folded (é -> e, ß -> ss, ł -> l), punctuation a word break except a hyphen inside a word (kept) and an apostrophe inside a word (dropped), whitespace collapsed and trimmed.';

CREATE FUNCTION @extschema@.normalize_company(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_normalize_company' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normalize_company(text) IS
    'A company name for matching: normalize_name (periods inside a word dropped, S.A. -> sa), then trailing legal-form suffixes removed (Inc, Ltd, GmbH, & Co. KG, S.A., ...); the first word always stays.';

CREATE FUNCTION @extschema@.normalize_email(email text, gmail_rules boolean DEFAULT false) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_normalize_email' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normalize_email(text, boolean) IS
    'An e-mail address trimmed and lower-cased (mailto: and a display name removed), or NULL unless it has the shape of one. With gmail_rules, gmail.com and googlemail.com addresses lose the dots and the +tag of their local part.';

CREATE FUNCTION @extschema@.email_domain(email text) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_email_domain' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.email_domain(text) IS
    'The domain of an e-mail address, lower case; NULL unless the address is valid for normalize_email.';

CREATE FUNCTION @extschema@.website_domain(url text) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_website_domain' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.website_domain(text) IS
    'The host of a URL or host name: lower case, without scheme, user, port, path and a leading www.; NULL unless it is a domain name (IP addresses give NULL). No public-suffix list: shop.example.co.uk stays as it is.';

-- Not STRICT: a NULL country means an unknown one (international numbers still normalise).
CREATE FUNCTION @extschema@.normalize_phone(phone text, country text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_normalize_phone' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normalize_phone(text, text) IS
    'A phone number in E.164 form (+<calling code><digits>): separators removed, an extension dropped, 00 or the country''s international prefix read as +, a national number given the calling code of country (ISO 3166 alpha-2) without its trunk prefix. NULL when it cannot be read or the country is needed and unknown.';

CREATE FUNCTION @extschema@.jaro(a text, b text) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_jaro' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.jaro(text, text) IS
    'The Jaro similarity of two strings, in characters, from 0 to 1 (1 for equal strings); strings of up to 10000 characters (54000 beyond).';

CREATE FUNCTION @extschema@.jaro_winkler(a text, b text) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_jaro_winkler' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.jaro_winkler(text, text) IS
    'The Jaro–Winkler similarity: Jaro j, raised to j + l * 0.1 * (1 - j) when j > 0.7, l the common prefix up to 4 characters; from 0 to 1; strings of up to 10000 characters (54000 beyond).';
