-- src/dedupe.sql: duplicate detection for contacts (blocking, comparison features, a
-- Fellegi–Sunter model learned by EM, crm.duplicate_candidates kept current by a trigger, the
-- matching rule on insert) and for accounts (by website domain and company name). The string
-- functions are in src/dedupe.c. See docs/data_quality.md. Self-contained: the upgrade fragment
-- upgrade/0.1--0.2/s2-dedupe.sql is a copy of this file.

-- ---------------------------------------------------------------------------------------------
-- String comparisons and keys (C; computed from the arguments alone). Their COST tells the planner
-- they are dearer than an operator, so that it looks trigram candidates up through the GIN index.
CREATE FUNCTION @extschema@.trigrams(t text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'crm_trigrams' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION @extschema@.trigrams(text) IS
    'The distinct trigrams of a text as pg_trgm defines them (words of letters and digits, ASCII letters lower-cased, each padded with two spaces before and one after), sorted; for a GIN (array_ops, &&) expression index. Texts of up to 100000 characters (54000 beyond).';

CREATE FUNCTION @extschema@.trigram_similarity(a text, b text) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_trigram_similarity' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION @extschema@.trigram_similarity(text, text) IS
    'pg_trgm''s similarity: shared trigrams / (trigrams of a + trigrams of b - shared), 0 when either has none. Texts of up to 100000 characters (54000 beyond).';

CREATE FUNCTION @extschema@.levenshtein(a text, b text) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_levenshtein' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION @extschema@.levenshtein(text, text) IS
    'The Levenshtein distance in characters (insertions, deletions, substitutions, each costing 1). Strings of up to 10000 characters (54000 beyond).';

CREATE FUNCTION @extschema@.soundex(t text) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_soundex' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.soundex(text) IS
    'American Soundex as fuzzystrmatch''s soundex computes it: the first ASCII letter and three digits (''Robert'' -> R163); '''' for a text without ASCII letters.';

CREATE FUNCTION @extschema@.xid_is_current(x xid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_xid_is_current' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.xid_is_current(xid) IS
    'True when x is the current transaction or one of its subtransactions (a row whose xmin is x was written by this transaction). Used by crm.dedupe_match_written.';
REVOKE EXECUTE ON FUNCTION @extschema@.xid_is_current(xid) FROM PUBLIC;

-- The matching keys of a contact, as SQL functions without operators (so that the caller's
-- search_path cannot change them) and inlinable into the expression indexes below.
CREATE FUNCTION @extschema@.contact_match_name(first_name text, last_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.btrim(pg_catalog.textcat(pg_catalog.textcat(
           coalesce(@extschema@.normalize_name(first_name), ''), ' '),
           coalesce(@extschema@.normalize_name(last_name), '')));
COMMENT ON FUNCTION @extschema@.contact_match_name(text, text) IS
    'The full name a contact is matched by: normalize_name of the first and the last name, joined by a space; '''' without either.';

CREATE FUNCTION @extschema@.contact_phonetic_key(first_name text, last_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.textcat(
           LEAST(@extschema@.soundex(coalesce(@extschema@.normalize_name(first_name), '')),
                 @extschema@.soundex(coalesce(@extschema@.normalize_name(last_name), ''))),
           GREATEST(@extschema@.soundex(coalesce(@extschema@.normalize_name(first_name), '')),
                    @extschema@.soundex(coalesce(@extschema@.normalize_name(last_name), ''))));
COMMENT ON FUNCTION @extschema@.contact_phonetic_key(text, text) IS
    'The phonetic blocking key of a name: the Soundex codes of the normalised first and last name, the smaller first (so a swapped name has the same key); '''' without either.';

-- Blocking indexes: contacts sharing a normalised e-mail, phone or phonetic key, or with similar
-- names (trigrams), are compared; no other pair is.
CREATE INDEX contacts_match_email ON @extschema@.contacts (@extschema@.normalize_email(email));
CREATE INDEX contacts_match_phone ON @extschema@.contacts (@extschema@.normalize_phone(phone, country));
CREATE INDEX contacts_match_phonetic ON @extschema@.contacts (@extschema@.contact_phonetic_key(first_name, last_name));
CREATE INDEX contacts_match_trigrams ON @extschema@.contacts
    USING gin (@extschema@.trigrams(@extschema@.contact_match_name(first_name, last_name)));
CREATE INDEX accounts_match_domain ON @extschema@.accounts (@extschema@.website_domain(domain));
CREATE INDEX accounts_match_trigrams ON @extschema@.accounts
    USING gin (@extschema@.trigrams(@extschema@.normalize_company(name)));

-- ---------------------------------------------------------------------------------------------
-- Comparison features: per field a level (the evidence the model weighs)
CREATE FUNCTION @extschema@.compare_contacts(
    a_first_name text, a_last_name text, a_email text, a_phone text, a_country text, a_account_id bigint,
    b_first_name text, b_last_name text, b_email text, b_phone text, b_country text, b_account_id bigint)
RETURNS jsonb
-- In C (src/dedupe.c): the features of every compared pair, the hot path of matching. What it
-- computes, per field: the names normalised (normalize_name, '' as NULL); first and last name
-- swapped when both agree across (Jaro–Winkler >= 0.92 each) and better than in place (by more
-- than 1e-9), both fields then level swapped with the evidence of the crossed comparison; else each
-- name as compare_name_level; e-mail (normalize_email) exact, close (<= 2 edits or the same local
-- part), other (with the distance), missing; phone (normalize_phone with each contact's country)
-- exact, close (1 edit), other (with the distance), missing; account same, other, missing.
-- test/pgtap/dedupe.sql compares it with that definition written in PL/pgSQL.
    AS 'MODULE_PATHNAME', 'crm_compare_contacts' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100;

CREATE FUNCTION @extschema@.compare_name_level(a text, b text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    jw double precision;
BEGIN
    IF a IS NULL OR b IS NULL OR a = '' OR b = '' THEN
        RETURN '{"level": "missing"}';
    ELSIF a = b THEN
        RETURN '{"level": "exact"}';
    END IF;
    jw := @extschema@.jaro_winkler(a, b);
    RETURN jsonb_build_object(
        'level', CASE WHEN jw >= 0.92 THEN 'jw92' WHEN jw >= 0.8 THEN 'jw80' ELSE 'other' END,
        'jaro_winkler', round(jw::numeric, 4),
        'levenshtein', @extschema@.levenshtein(a, b),
        'trigram', round(@extschema@.trigram_similarity(a, b)::numeric, 4));
END
$$;
COMMENT ON FUNCTION @extschema@.compare_name_level(text, text) IS
    'The comparison of two normalised names: level exact, jw92 (Jaro–Winkler >= 0.92), jw80 (>= 0.8), other, or missing (either empty or NULL), with the Jaro–Winkler, Levenshtein and trigram similarities as evidence.';
COMMENT ON FUNCTION @extschema@.compare_contacts(text, text, text, text, text, bigint, text, text, text, text, text, bigint) IS
    'The evidence for one pair of contacts, per field: first_name and last_name (compare_name_level; level swapped for both when each name agrees with the other''s opposite, Jaro–Winkler >= 0.92, better than in place), email (exact, close: <= 2 edits or the same local part, other, missing), phone (exact, close: 1 edit, other, missing, after normalize_phone with each contact''s country), account (same, other, missing).';

-- ---------------------------------------------------------------------------------------------
-- Settings and the model: one row
CREATE TABLE @extschema@.duplicate_settings (
    singleton             boolean PRIMARY KEY DEFAULT true CONSTRAINT duplicate_settings_singleton CHECK (singleton),
    auto_merge_threshold  double precision NOT NULL DEFAULT 0.95,
    review_threshold      double precision NOT NULL DEFAULT 0.5,
    insert_rule           text NOT NULL DEFAULT 'allow'
                          CONSTRAINT duplicate_settings_insert_rule_valid CHECK (insert_rule IN ('allow', 'flag', 'block')),
    incremental           boolean NOT NULL DEFAULT true,
    trigram_threshold     double precision NOT NULL DEFAULT 0.5,
    trigram_block_max     integer NOT NULL DEFAULT 100
                          CONSTRAINT duplicate_settings_trigram_block_max_positive CHECK (trigram_block_max > 0),
    block_max             integer NOT NULL DEFAULT 10
                          CONSTRAINT duplicate_settings_block_max_positive CHECK (block_max > 0),
    match_prior           double precision NOT NULL DEFAULT 0.1,
    model                 jsonb NOT NULL DEFAULT '{
        "first_name": {"exact": [0.78, 0.05], "jw92": [0.09, 0.03], "jw80": [0.05, 0.10], "other": [0.06, 0.819], "swapped": [0.02, 0.001], "missing": [1, 1]},
        "last_name":  {"exact": [0.83, 0.10], "jw92": [0.07, 0.05], "jw80": [0.04, 0.10], "other": [0.04, 0.749], "swapped": [0.02, 0.001], "missing": [1, 1]},
        "email":      {"exact": [0.75, 0.001], "close": [0.12, 0.01], "other": [0.13, 0.989], "missing": [1, 1]},
        "phone":      {"exact": [0.75, 0.001], "close": [0.08, 0.005], "other": [0.17, 0.994], "missing": [1, 1]},
        "account":    {"same": [0.80, 0.10], "other": [0.20, 0.90], "missing": [1, 1]}}',
    trained_at            timestamptz,
    trained_pairs         bigint,
    em_iterations         integer,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT duplicate_settings_thresholds CHECK (
        review_threshold > 0 AND review_threshold <= auto_merge_threshold AND auto_merge_threshold <= 1),
    CONSTRAINT duplicate_settings_trigram_threshold CHECK (trigram_threshold > 0 AND trigram_threshold <= 1),
    CONSTRAINT duplicate_settings_match_prior CHECK (match_prior > 0 AND match_prior < 1)
);
COMMENT ON TABLE @extschema@.duplicate_settings IS
    'The one row of duplicate-detection settings: the two probability thresholds (auto_merge, review), the rule on insert (allow, flag, block), whether a trigger keeps crm.duplicate_candidates current, the trigram blocking threshold and frequency cap, the size above which an e-mail, phone or phonetic block is compared by sorted neighbourhood (block_max), and the Fellegi–Sunter model: the match prior and, per field and level, [m, u] (crm.train_duplicate_model learns them).';

CREATE FUNCTION @extschema@.duplicate_settings_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    field text;
    level text;
    pair jsonb;
BEGIN
    IF TG_RELID <> '@extschema@.duplicate_settings'::regclass THEN
        RAISE EXCEPTION 'trigger function duplicate_settings_guard() fires only on @extschema@.duplicate_settings, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF NEW.auto_merge_threshold IN ('NaN', 'Infinity', '-Infinity') OR NEW.review_threshold IN ('NaN', 'Infinity', '-Infinity')
       OR NEW.trigram_threshold = 'NaN' OR NEW.match_prior = 'NaN' THEN
        RAISE EXCEPTION 'duplicate settings must be finite numbers' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The model: the five fields, each level an [m, u] pair of probabilities in (0, 1].
    IF jsonb_typeof(NEW.model) <> 'object'
       OR NOT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(NEW.model) k)
              = ARRAY['account', 'email', 'first_name', 'last_name', 'phone'] THEN
        RAISE EXCEPTION 'the duplicate model must have the fields first_name, last_name, email, phone and account'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR field, level, pair IN SELECT f.key, l.key, l.value FROM jsonb_each(NEW.model) f, jsonb_each(f.value) l LOOP
        IF jsonb_typeof(pair) <> 'array' OR jsonb_array_length(pair) <> 2
           OR jsonb_typeof(pair -> 0) <> 'number' OR jsonb_typeof(pair -> 1) <> 'number'
           OR NOT ((pair ->> 0)::double precision > 0 AND (pair ->> 0)::double precision <= 1
                   AND (pair ->> 1)::double precision > 0 AND (pair ->> 1)::double precision <= 1) THEN
            RAISE EXCEPTION 'the duplicate model''s %.% must be [m, u], two probabilities in (0, 1]', field, level
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF TG_OP = 'INSERT' AND EXISTS (SELECT FROM @extschema@.duplicate_settings) THEN
        UPDATE @extschema@.duplicate_settings
           SET auto_merge_threshold = NEW.auto_merge_threshold, review_threshold = NEW.review_threshold,
               insert_rule = NEW.insert_rule, incremental = NEW.incremental,
               trigram_threshold = NEW.trigram_threshold, trigram_block_max = NEW.trigram_block_max,
               block_max = NEW.block_max,
               match_prior = NEW.match_prior, model = NEW.model, trained_at = NEW.trained_at,
               trained_pairs = NEW.trained_pairs, em_iterations = NEW.em_iterations,
               updated_at = NEW.updated_at;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.duplicate_settings_guard() IS
    'Trigger: validates the duplicate settings (22023 for a malformed model or a non-finite number); an INSERT updates the one row instead (a restore replaces the installed defaults).';
REVOKE EXECUTE ON FUNCTION @extschema@.duplicate_settings_guard() FROM PUBLIC;
CREATE TRIGGER duplicate_settings_guard BEFORE INSERT OR UPDATE ON @extschema@.duplicate_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.duplicate_settings_guard();
INSERT INTO @extschema@.duplicate_settings DEFAULT VALUES;

-- The model as a table: m, u and the match weight log2(m / u) per field and level.
CREATE FUNCTION @extschema@.duplicate_model()
RETURNS TABLE (field text, level text, m double precision, u double precision, weight double precision)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT f.key, l.key, (l.value ->> 0)::double precision, (l.value ->> 1)::double precision,
           log(2.0, (l.value ->> 0)::numeric) - log(2.0, (l.value ->> 1)::numeric)
      FROM @extschema@.duplicate_settings s, jsonb_each(s.model) f, jsonb_each(f.value) l
     ORDER BY 1, 2;
END;
COMMENT ON FUNCTION @extschema@.duplicate_model() IS
    'The Fellegi–Sunter model in force: per field and level, m = P(level | match), u = P(level | non-match) and the match weight log2(m / u).';

-- The match weight and probability of one pair's evidence under the model in force.
CREATE FUNCTION @extschema@.duplicate_probability(evidence jsonb, OUT weight double precision, OUT probability double precision)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT w.weight,
           1.0 / (1.0 + (1.0 - s.match_prior) / s.match_prior * power(2.0::double precision, -w.weight))
      FROM @extschema@.duplicate_settings s,
           LATERAL (SELECT coalesce(sum(log(2.0, (s.model -> e.key -> (e.value ->> 'level') ->> 0)::numeric)
                                       - log(2.0, (s.model -> e.key -> (e.value ->> 'level') ->> 1)::numeric)), 0)::double precision AS weight
                      FROM jsonb_each(evidence) e
                     WHERE e.key IN ('first_name', 'last_name', 'email', 'phone', 'account')) w;
END;
COMMENT ON FUNCTION @extschema@.duplicate_probability(jsonb) IS
    'The match weight (sum over the fields of log2(m / u) of the pair''s level) and the match probability 1 / (1 + (1 - prior) / prior * 2^-weight) of a pair''s evidence under the model in force.';

-- ---------------------------------------------------------------------------------------------
-- Candidate pairs
CREATE TABLE @extschema@.duplicate_candidates (
    contact_a    bigint NOT NULL CONSTRAINT duplicate_candidates_contact_a_fkey
                 REFERENCES @extschema@.contacts ON DELETE CASCADE,
    contact_b    bigint NOT NULL CONSTRAINT duplicate_candidates_contact_b_fkey
                 REFERENCES @extschema@.contacts ON DELETE CASCADE,
    probability  double precision NOT NULL CONSTRAINT duplicate_candidates_probability_range
                 CHECK (probability >= 0 AND probability <= 1),
    weight       double precision NOT NULL,
    blocks       text[] NOT NULL,
    evidence     jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'new'
                 CONSTRAINT duplicate_candidates_status_valid CHECK (status IN ('new', 'merged', 'dismissed')),
    found_at     timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contact_a, contact_b),
    CONSTRAINT duplicate_candidates_ordered CHECK (contact_a < contact_b)
);
CREATE INDEX duplicate_candidates_contact_b ON @extschema@.duplicate_candidates (contact_b);
COMMENT ON TABLE @extschema@.duplicate_candidates IS
    'Pairs of contacts (contact_a < contact_b) whose match probability reached the review threshold: weight, probability, the blocks that brought them together and the evidence per field; status new, merged or dismissed. Kept current by a trigger on crm.contacts and by crm.refresh_duplicate_candidates(). A user sees a pair only if they see both contacts.';

-- Trigram frequencies, for the trigger's lookup: per trigram, rows whose sum is a lower bound of
-- the contacts whose match name holds it. crm.dedupe_count_trigrams() (and with it every full
-- refresh) replaces the rows it sees by the counts of the trigrams held by more than
-- trigram_block_max contacts; the trigger on crm.contacts adds a row (trigram, -n) when n
-- contacts lose a trigram (deleted, or their name changed), in the same transaction. Contacts
-- added since only raise the true count, so the sum stays a lower bound under every snapshot.
CREATE TABLE @extschema@.duplicate_trigram_counts (
    trigram   text NOT NULL,
    contacts  bigint NOT NULL
);
CREATE INDEX duplicate_trigram_counts_trigram ON @extschema@.duplicate_trigram_counts (trigram) INCLUDE (contacts);
COMMENT ON TABLE @extschema@.duplicate_trigram_counts IS
    'Internal (duplicate matching on insert): per name trigram, rows whose sum is a lower bound of the number of contacts holding it — the count at the last crm.dedupe_count_trigrams() for the trigrams held by more than trigram_block_max contacts, less one per contact that lost it since. Holds no contact.';

-- Recounts the trigrams of every contact's match name into crm.duplicate_trigram_counts (those
-- held by more than trigram_block_max contacts), in one statement: the rows it deletes are those
-- its snapshot sees, so a loss logged by a transaction it does not see stays. One at a time (the
-- lock); under REPEATABLE READ or SERIALIZABLE the snapshot may predate another recount's commit,
-- so the table is left as it is (its bounds stay valid). Returns the number of common trigrams.
-- Reads every contact: run by crm.refresh_duplicate_candidates (the owner's rights).
CREATE FUNCTION @extschema@.dedupe_count_trigrams() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    s @extschema@.duplicate_settings;
    n bigint;
BEGIN
    SELECT * INTO s FROM @extschema@.duplicate_settings;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the row of crm.duplicate_settings is missing' USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'INSERT INTO crm.duplicate_settings DEFAULT VALUES restores the defaults.';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN NULL;
    END IF;
    LOCK TABLE @extschema@.duplicate_trigram_counts IN SHARE UPDATE EXCLUSIVE MODE;
    WITH gone AS (DELETE FROM @extschema@.duplicate_trigram_counts),
    fresh AS (
        INSERT INTO @extschema@.duplicate_trigram_counts (trigram, contacts)
        SELECT g.trigram, count(*)
          FROM @extschema@.contacts c,
               unnest(@extschema@.trigrams(@extschema@.contact_match_name(c.first_name, c.last_name))) g(trigram)
         GROUP BY g.trigram
        HAVING count(*) > s.trigram_block_max
        RETURNING 1)
    SELECT count(*) INTO n FROM fresh;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.dedupe_count_trigrams() IS
    'Internal: recounts crm.duplicate_trigram_counts from every contact (the trigrams held by more than trigram_block_max contacts; a full refresh calls it); returns their number, NULL (nothing done) outside READ COMMITTED.';
REVOKE EXECUTE ON FUNCTION @extschema@.dedupe_count_trigrams() FROM PUBLIC;

-- Called by the trigger on crm.contacts (running as the writer): logs that losses[i] contacts lost
-- trigrams[i] (deleted or renamed); both NULL: the contacts were truncated, every row goes. A row
-- it adds can only lower a bound (a loss is positive: 22023 otherwise), which makes a later lookup
-- ask the index (slower, never other pairs), so the function needs no check of its caller.
CREATE FUNCTION @extschema@.dedupe_trigrams_lost(trigrams text[], losses bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF trigrams IS NULL AND losses IS NULL THEN
        DELETE FROM @extschema@.duplicate_trigram_counts;
        RETURN;
    END IF;
    IF trigrams IS NULL OR losses IS NULL OR cardinality(trigrams) <> cardinality(losses)
       OR array_position(trigrams, NULL) IS NOT NULL
       OR EXISTS (SELECT FROM unnest(losses) l WHERE l IS NULL OR l <= 0) THEN
        RAISE EXCEPTION 'dedupe_trigrams_lost takes as many trigrams as losses, each loss positive'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.duplicate_trigram_counts (trigram, contacts)
    SELECT g.trigram, -g.loss FROM unnest(trigrams, losses) g(trigram, loss);
END
$$;
COMMENT ON FUNCTION @extschema@.dedupe_trigrams_lost(text[], bigint[]) IS
    'Called by the trigger on crm.contacts: lowers the trigram counts of crm.duplicate_trigram_counts by what deleted or renamed contacts lost (losses[i] contacts lost trigrams[i]; each loss positive, 22023 otherwise); both NULL after a TRUNCATE empties the table.';
REVOKE EXECUTE ON FUNCTION @extschema@.dedupe_trigrams_lost(text[], bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.dedupe_trigrams_lost(text[], bigint[])
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- The blocked pairs: every pair of contacts sharing a block, with the names of its blocks (no
-- evidence yet). ids NULL: all contacts, by set-based joins of the keys, near-linear in the number
-- of contacts: an e-mail, phone or phonetic key shared by more than block_max contacts (a common
-- name, a switchboard number) is not compared in full (that would grow with the square of its size)
-- but by sorted neighbourhood: its contacts are sorted by their two normalised names (the smaller
-- first, then the larger first) and each is compared with the next dedupe_window (3) in each order;
-- a trigram shared by more than trigram_block_max contacts is not used to find pairs. Else: the
-- pairs involving these contacts, through the indexes (every contact sharing a key).
-- Reads every contact: run only by the extension's own functions, with the owner's rights.
CREATE FUNCTION @extschema@.dedupe_blocks(ids bigint[])
RETURNS TABLE (contact_a bigint, contact_b bigint, blocks text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
-- JIT compiling this query cost half its time at 5,000 contacts (3.5 of 7 s)
SET jit = off
-- The trigger's path (given ids) runs on every insert: its plan is made once per session (generic:
-- the ids and settings as parameters; the lookups go through the indexes whatever their values),
-- not again on every call (planning it cost more than running it: 0.8 against 0.5 ms). The
-- refresh's set-wise path is planned for its values (plan_cache_mode auto, set below).
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    s @extschema@.duplicate_settings;
    dedupe_window constant int := 3;
BEGIN
    SELECT * INTO s FROM @extschema@.duplicate_settings;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the row of crm.duplicate_settings is missing' USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'INSERT INTO crm.duplicate_settings DEFAULT VALUES restores the defaults.';
    END IF;
    IF ids IS NULL THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'auto', true);
        RETURN QUERY
        -- the keys of every contact: contact_phonetic_key and contact_match_name written out, so
        -- that each name is normalised and given its Soundex code once
        WITH k AS MATERIALIZED (
            SELECT c.contact_id, c.email, c.phone, c.n1, c.n2,
                   pg_catalog.textcat(LEAST(c.s1, c.s2), GREATEST(c.s1, c.s2)) AS phonetic,
                   pg_catalog.btrim(pg_catalog.textcat(pg_catalog.textcat(c.n1, ' '), c.n2)) AS name
              FROM (SELECT n.*, @extschema@.soundex(n.n1) AS s1, @extschema@.soundex(n.n2) AS s2
                      FROM (SELECT c.contact_id,
                                   @extschema@.normalize_email(c.email) AS email,
                                   @extschema@.normalize_phone(c.phone, c.country) AS phone,
                                   coalesce(@extschema@.normalize_name(c.first_name), '') AS n1,
                                   coalesce(@extschema@.normalize_name(c.last_name), '') AS n2
                              FROM @extschema@.contacts c OFFSET 0) n OFFSET 0) c),
        -- the exact keys, one row per contact and block, with the size of the key's block
        keyed AS MATERIALIZED (
            SELECT x.contact_id, x.block, x.key, LEAST(x.n1, x.n2) AS lo, GREATEST(x.n1, x.n2) AS hi,
                   count(*) OVER (PARTITION BY x.block, x.key) AS size
              FROM (SELECT k.contact_id, 'email' AS block, k.email AS key, k.n1, k.n2 FROM k WHERE k.email IS NOT NULL
                    UNION ALL
                    SELECT k.contact_id, 'phone', k.phone, k.n1, k.n2 FROM k WHERE k.phone IS NOT NULL
                    UNION ALL
                    SELECT k.contact_id, 'phonetic', k.phonetic, k.n1, k.n2 FROM k WHERE k.phonetic <> '') x),
        -- blocks of more than block_max contacts: each contact's next dedupe_window neighbours
        -- in two orders
        big AS (
            SELECT keyed.contact_id, keyed.block,
                   array_agg(keyed.contact_id) OVER (PARTITION BY keyed.block, keyed.key
                       ORDER BY keyed.lo, keyed.hi, keyed.contact_id
                       ROWS BETWEEN 1 FOLLOWING AND dedupe_window FOLLOWING) AS next1,
                   array_agg(keyed.contact_id) OVER (PARTITION BY keyed.block, keyed.key
                       ORDER BY keyed.hi, keyed.lo, keyed.contact_id
                       ROWS BETWEEN 1 FOLLOWING AND dedupe_window FOLLOWING) AS next2
              FROM keyed WHERE keyed.size > s.block_max),
        t AS MATERIALIZED (SELECT k.contact_id, g.trigram FROM k, unnest(@extschema@.trigrams(k.name)) g(trigram)),
        rare AS (SELECT t.trigram FROM t GROUP BY t.trigram HAVING count(*) <= s.trigram_block_max),
        tr AS MATERIALIZED (SELECT t.contact_id, t.trigram FROM t WHERE t.trigram IN (SELECT rare.trigram FROM rare)),
        tp AS MATERIALIZED (SELECT DISTINCT x.contact_id AS a, y.contact_id AS b
                 FROM tr x JOIN tr y ON y.trigram = x.trigram AND y.contact_id > x.contact_id),
        p AS (
            SELECT x.contact_id AS a, y.contact_id AS b, x.block
              FROM keyed x JOIN keyed y ON y.block = x.block AND y.key = x.key AND y.contact_id > x.contact_id
             WHERE x.size <= s.block_max
            UNION ALL
            SELECT LEAST(big.contact_id, o.other), GREATEST(big.contact_id, o.other), big.block
              FROM big, unnest(big.next1 || big.next2) o(other)
            UNION ALL
            SELECT tp.a, tp.b, 'trigram'
              FROM tp JOIN k x ON x.contact_id = tp.a JOIN k y ON y.contact_id = tp.b
             WHERE @extschema@.trigram_similarity(x.name, y.name) >= s.trigram_threshold)
        SELECT p.a, p.b, array_agg(DISTINCT p.block ORDER BY p.block) FROM p GROUP BY p.a, p.b;
    ELSE
        -- The given contacts, by the same rules as above, through the indexes (the other contacts
        -- of a block are found by its key; not every contact is read):
        -- * a key's block (the contacts sharing it, the given one included) of at most block_max
        --   contacts: all of them; a larger one: the given contact's dedupe_window neighbours on
        --   each side in each of the two name orders (the pairs the window above gives it);
        -- * a trigram of the name shared by at most trigram_block_max contacts (the given one
        --   included): the contacts holding it whose names reach trigram_threshold. Whether a
        --   trigram is that rare: crm.duplicate_trigram_counts holds, per trigram, a lower bound of
        --   the contacts holding it (the count at the last crm.dedupe_count_trigrams(), less one for
        --   every contact that has lost it since); a bound above trigram_block_max settles it
        --   (common: not used), else the GIN index is asked for trigram_block_max + 1 holders.
        RETURN QUERY
        WITH k AS MATERIALIZED (
            SELECT c.contact_id,
                   @extschema@.normalize_email(c.email) AS email,
                   @extschema@.normalize_phone(c.phone, c.country) AS phone,
                   @extschema@.contact_phonetic_key(c.first_name, c.last_name) AS phonetic,
                   @extschema@.contact_match_name(c.first_name, c.last_name) AS name,
                   @extschema@.trigrams(@extschema@.contact_match_name(c.first_name, c.last_name)) AS trigrams
              FROM @extschema@.contacts c WHERE c.contact_id = ANY (ids)),
        -- each block of a given contact: its members (the given contact among them)
        member AS MATERIALIZED (
            SELECT m.me, m.block, m.other,
                   LEAST(m.n1, m.n2) AS lo, GREATEST(m.n1, m.n2) AS hi
              FROM (SELECT k.contact_id AS me, 'email' AS block, o.contact_id AS other,
                           coalesce(@extschema@.normalize_name(o.first_name), '') AS n1,
                           coalesce(@extschema@.normalize_name(o.last_name), '') AS n2
                      FROM k JOIN @extschema@.contacts o ON @extschema@.normalize_email(o.email) = k.email
                    UNION ALL
                    SELECT k.contact_id, 'phone', o.contact_id,
                           coalesce(@extschema@.normalize_name(o.first_name), ''),
                           coalesce(@extschema@.normalize_name(o.last_name), '')
                      FROM k JOIN @extschema@.contacts o ON @extschema@.normalize_phone(o.phone, o.country) = k.phone
                    UNION ALL
                    SELECT k.contact_id, 'phonetic', o.contact_id,
                           coalesce(@extschema@.normalize_name(o.first_name), ''),
                           coalesce(@extschema@.normalize_name(o.last_name), '')
                      FROM k JOIN @extschema@.contacts o
                        ON @extschema@.contact_phonetic_key(o.first_name, o.last_name) = k.phonetic
                     WHERE k.phonetic <> '') m),
        ranked AS MATERIALIZED (
            SELECT member.me, member.block, member.other,
                   count(*) OVER (PARTITION BY member.me, member.block) AS size,
                   row_number() OVER (PARTITION BY member.me, member.block
                                      ORDER BY member.lo, member.hi, member.other) AS r1,
                   row_number() OVER (PARTITION BY member.me, member.block
                                      ORDER BY member.hi, member.lo, member.other) AS r2
              FROM member),
        -- the trigrams of the given names not known to be common, and up to trigram_block_max + 1
        -- of their holders
        probe AS (
            SELECT k.contact_id AS me, k.name, g.trigram
              FROM k, unnest(k.trigrams) g(trigram)
             WHERE coalesce((SELECT sum(n.contacts) FROM @extschema@.duplicate_trigram_counts n
                              WHERE n.trigram = g.trigram), 0) <= s.trigram_block_max),
        rare AS (
            SELECT probe.me, probe.name, h.holders
              FROM probe CROSS JOIN LATERAL (
                   SELECT array_agg(o.contact_id) AS holders
                     FROM (SELECT o.contact_id FROM @extschema@.contacts o
                            WHERE @extschema@.trigrams(@extschema@.contact_match_name(o.first_name, o.last_name))
                                  OPERATOR(pg_catalog.&&) ARRAY[probe.trigram]
                            LIMIT s.trigram_block_max + 1) o) h
             WHERE cardinality(h.holders) <= s.trigram_block_max),
        p AS (
            SELECT r.me, r.other, r.block
              FROM ranked r JOIN ranked i ON i.me = r.me AND i.block = r.block AND i.other = r.me
             WHERE r.other <> r.me
               AND (r.size <= s.block_max OR abs(r.r1 - i.r1) <= dedupe_window OR abs(r.r2 - i.r2) <= dedupe_window)
            UNION ALL
            SELECT DISTINCT rare.me, o.contact_id, 'trigram'
              FROM rare JOIN @extschema@.contacts o ON o.contact_id = ANY (rare.holders)
             WHERE @extschema@.trigram_similarity(rare.name, @extschema@.contact_match_name(o.first_name, o.last_name))
                   >= s.trigram_threshold)
        SELECT LEAST(p.me, p.other), GREATEST(p.me, p.other), array_agg(DISTINCT p.block ORDER BY p.block)
          FROM p WHERE p.me <> p.other GROUP BY 1, 2;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.dedupe_blocks(bigint[]) IS
    'Internal: the blocked pairs (same normalised e-mail, phone or phonetic key, by sorted neighbourhood in a block of more than block_max contacts; or trigram similarity of the names >= trigram_threshold) with their blocks; of all contacts (ids NULL) or involving the given ones.';
REVOKE EXECUTE ON FUNCTION @extschema@.dedupe_blocks(bigint[]) FROM PUBLIC;

-- The compared pairs: the blocked pairs with their evidence.
CREATE FUNCTION @extschema@.dedupe_pairs(ids bigint[])
RETURNS TABLE (contact_a bigint, contact_b bigint, blocks text[], evidence jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
-- the trigger's path planned once per session, as in dedupe_blocks (a LANGUAGE sql function was
-- planned again on every call)
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF ids IS NULL THEN
        -- all contacts: the pairs joined to the contacts set-wise
        PERFORM pg_catalog.set_config('plan_cache_mode', 'auto', true);
        RETURN QUERY
        SELECT pb.contact_a, pb.contact_b, pb.blocks,
               @extschema@.compare_contacts(x.first_name, x.last_name, x.email, x.phone, x.country, x.account_id,
                                            y.first_name, y.last_name, y.email, y.phone, y.country, y.account_id)
          FROM @extschema@.dedupe_blocks(NULL) pb
          JOIN @extschema@.contacts x ON x.contact_id = pb.contact_a
          JOIN @extschema@.contacts y ON y.contact_id = pb.contact_b;
    ELSE
        -- the given contacts (the trigger: a handful of pairs): each pair's two contacts by key. A
        -- set-wise join, planned for the function's 1,000 estimated rows, read the whole contacts
        -- table twice (hash joins): 200 ms per insert at 50,000 contacts, seconds at 1M
        RETURN QUERY
        SELECT pb.contact_a, pb.contact_b, pb.blocks, e.evidence
          FROM @extschema@.dedupe_blocks(ids) pb
         CROSS JOIN LATERAL (
               SELECT @extschema@.compare_contacts(x.first_name, x.last_name, x.email, x.phone, x.country, x.account_id,
                                                   y.first_name, y.last_name, y.email, y.phone, y.country, y.account_id) AS evidence
                 FROM @extschema@.contacts x, @extschema@.contacts y
                WHERE x.contact_id = pb.contact_a AND y.contact_id = pb.contact_b
               OFFSET 0) e;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.dedupe_pairs(bigint[]) IS
    'Internal: the blocked pairs (crm.dedupe_blocks) with their evidence (crm.compare_contacts); of all contacts (ids NULL) or involving the given ones.';
REVOKE EXECUTE ON FUNCTION @extschema@.dedupe_pairs(bigint[]) FROM PUBLIC;

-- Stores the scored pairs of the given contacts (NULL: all): pairs reaching the review threshold
-- are inserted or updated (a dismissed or merged pair keeps its status), new pairs of these
-- contacts that no longer reach it are removed. Returns per contact the best probability found.
CREATE FUNCTION @extschema@.dedupe_store(ids bigint[])
RETURNS TABLE (contact_id bigint, best_probability double precision)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- the trigger's path planned once per session, as in dedupe_blocks
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    s @extschema@.duplicate_settings;
    wt jsonb;   -- {"field": {"level": log2(m / u), ...}, ...}: the model's weights, computed once
BEGIN
    SELECT * INTO s FROM @extschema@.duplicate_settings;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the row of crm.duplicate_settings is missing' USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'INSERT INTO crm.duplicate_settings DEFAULT VALUES restores the defaults.';
    END IF;
    SELECT jsonb_object_agg(f.field, f.levels) INTO wt
      FROM (SELECT fm.key AS field,
                   jsonb_object_agg(l.key, (log(2.0, (l.value ->> 0)::numeric) - log(2.0, (l.value ->> 1)::numeric))::double precision) AS levels
              FROM jsonb_each(s.model) fm, jsonb_each(fm.value) l
             WHERE fm.key IN ('first_name', 'last_name', 'email', 'phone', 'account')
             GROUP BY fm.key) f;
    -- A pair's weight: the sum over the fields of its level's weight (0 for a field or level the
    -- model lacks), as crm.duplicate_probability computes it; its probability from the weight.
    -- One statement for both paths: the trigger's (given ids) planned once per session (generic),
    -- the refresh's (every pair) for its values.
    IF ids IS NULL THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'auto', true);
    END IF;
    RETURN QUERY
    WITH weighed AS (
        SELECT d.contact_a, d.contact_b, d.blocks, d.evidence,
               coalesce((wt -> 'first_name' ->> (d.evidence -> 'first_name' ->> 'level'))::double precision, 0)
             + coalesce((wt -> 'last_name' ->> (d.evidence -> 'last_name' ->> 'level'))::double precision, 0)
             + coalesce((wt -> 'email' ->> (d.evidence -> 'email' ->> 'level'))::double precision, 0)
             + coalesce((wt -> 'phone' ->> (d.evidence -> 'phone' ->> 'level'))::double precision, 0)
             + coalesce((wt -> 'account' ->> (d.evidence -> 'account' ->> 'level'))::double precision, 0) AS weight
          FROM @extschema@.dedupe_pairs(ids) d),
    scored AS MATERIALIZED (
        SELECT w.contact_a, w.contact_b, w.blocks, w.evidence, w.weight,
               1.0 / (1.0 + (1.0 - s.match_prior) / s.match_prior * power(2.0::double precision, -w.weight)) AS probability
          FROM weighed w),
    -- the stale pairs: every one on a refresh, the given contacts' ones otherwise; two
    -- DELETEs gated by one-time filters, so that the generic plan of the trigger's path finds
    -- the ids' pairs through the two indexes (an OR with ids IS NULL could not)
    removed_all AS (
        DELETE FROM @extschema@.duplicate_candidates c
         WHERE ids IS NULL AND c.status = 'new'
           AND NOT EXISTS (SELECT FROM scored x
                            WHERE x.contact_a = c.contact_a AND x.contact_b = c.contact_b
                              AND x.probability >= s.review_threshold)),
    removed_given AS (
        DELETE FROM @extschema@.duplicate_candidates c
         WHERE ids IS NOT NULL AND c.status = 'new'
           AND (c.contact_a = ANY (ids) OR c.contact_b = ANY (ids))
           AND NOT EXISTS (SELECT FROM scored x
                            WHERE x.contact_a = c.contact_a AND x.contact_b = c.contact_b
                              AND x.probability >= s.review_threshold)),
    stored AS (
        INSERT INTO @extschema@.duplicate_candidates AS c
               (contact_a, contact_b, probability, weight, blocks, evidence)
        SELECT x.contact_a, x.contact_b, x.probability, x.weight, x.blocks, x.evidence
          FROM scored x WHERE x.probability >= s.review_threshold
        ON CONFLICT ON CONSTRAINT duplicate_candidates_pkey DO UPDATE
           SET probability = excluded.probability, weight = excluded.weight, blocks = excluded.blocks,
               evidence = excluded.evidence, updated_at = now()
         WHERE (c.probability, c.weight, c.blocks, c.evidence)
               IS DISTINCT FROM (excluded.probability, excluded.weight, excluded.blocks, excluded.evidence))
    SELECT u.id, max(x.probability)
      FROM unnest(ids) u(id)
      LEFT JOIN scored x ON u.id IN (x.contact_a, x.contact_b)
     GROUP BY u.id;
END
$$;
COMMENT ON FUNCTION @extschema@.dedupe_store(bigint[]) IS
    'Internal: scores the blocked pairs of the given contacts (NULL: all) and brings crm.duplicate_candidates up to date for them; returns the best probability per given contact.';
REVOKE EXECUTE ON FUNCTION @extschema@.dedupe_store(bigint[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.refresh_duplicate_candidates() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.dedupe_count_trigrams();
    PERFORM @extschema@.dedupe_store(NULL);
    RETURN (SELECT count(*) FROM @extschema@.duplicate_candidates WHERE status = 'new');
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_duplicate_candidates() IS
    'Recomputes every candidate pair of contacts under the model in force (and the trigram counts of crm.duplicate_trigram_counts); returns the number of pairs with status new.';

-- Fellegi–Sunter by EM over the blocked pairs' comparison patterns (no labels): the patterns and
-- their counts are read once; each iteration computes, per pattern, the probability g that its
-- pairs match, and re-estimates the prior as the mean of g and each field's m (u) as the share of
-- the matches' (non-matches') weight at each level among the pairs where the field is present,
-- with half a pair added at every level (additive smoothing: no level gets probability 0, so no
-- weight is infinite). The level "missing" is not learned: m = u = 1, weight 0.
CREATE FUNCTION @extschema@.train_duplicate_model(max_iterations integer DEFAULT 200, tolerance double precision DEFAULT 1e-7)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    fields constant text[] := ARRAY['first_name', 'last_name', 'email', 'phone', 'account'];
    s @extschema@.duplicate_settings;
    fitted jsonb;
    levels text[];          -- levels[f][l]: the level names of field f, padded with ''
    nlevels int[];
    missing int[];          -- missing[f]: the index of field f's level "missing" (weight 0)
    m_sum double precision;
    u_sum double precision;
    pat int[];              -- pat[(p - 1) * 5 + f]: the level index of field f in pattern p
    cnt double precision[];
    npat int;
    total double precision;
    m double precision[];
    u double precision[];
    m_new double precision[];
    u_new double precision[];
    prior double precision;
    prior_new double precision;
    g double precision;
    pm double precision;
    pu double precision;
    sum_g double precision;
    change double precision;
    iteration int := 0;
    f int;
    l int;
    p int;
    maxl constant int := 6;
    r record;
BEGIN
    IF max_iterations IS NULL OR max_iterations < 1 OR max_iterations > 100000 THEN
        RAISE EXCEPTION 'max_iterations must be between 1 and 100000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF tolerance IS NULL OR NOT (tolerance > 0 AND tolerance < 1) THEN
        RAISE EXCEPTION 'tolerance must be in (0, 1)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO s FROM @extschema@.duplicate_settings FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the row of crm.duplicate_settings is missing' USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'INSERT INTO crm.duplicate_settings DEFAULT VALUES restores the defaults.';
    END IF;
    fitted := s.model;
    prior := s.match_prior;
    levels := array_fill(''::text, ARRAY[5, maxl]);
    nlevels := array_fill(0, ARRAY[5]);
    missing := array_fill(0, ARRAY[5]);
    m := array_fill(0::double precision, ARRAY[5, maxl]);
    u := array_fill(0::double precision, ARRAY[5, maxl]);
    FOR f IN 1 .. 5 LOOP
        l := 0;
        FOR r IN SELECT key, value FROM jsonb_each(fitted -> fields[f]) ORDER BY key LOOP
            l := l + 1;
            IF l > maxl THEN
                RAISE EXCEPTION 'the duplicate model has more than % levels for %', maxl, fields[f]
                    USING ERRCODE = 'program_limit_exceeded';
            END IF;
            levels[f][l] := r.key;
            IF r.key = 'missing' THEN
                missing[f] := l;
            END IF;
            m[f][l] := (r.value ->> 0)::double precision;
            u[f][l] := (r.value ->> 1)::double precision;
        END LOOP;
        nlevels[f] := l;
    END LOOP;
    -- The patterns: one per distinct combination of levels, with its number of pairs; pat holds
    -- pattern p's level index of field f at (p - 1) * 5 + f.
    pat := '{}';
    cnt := '{}';
    npat := 0;
    total := 0;
    FOR r IN
        SELECT ARRAY[d.evidence -> 'first_name' ->> 'level', d.evidence -> 'last_name' ->> 'level',
                     d.evidence -> 'email' ->> 'level', d.evidence -> 'phone' ->> 'level',
                     d.evidence -> 'account' ->> 'level'] AS v,
               count(*)::double precision AS n
          FROM @extschema@.dedupe_pairs(NULL) d
         GROUP BY 1
    LOOP
        npat := npat + 1;
        FOR f IN 1 .. 5 LOOP
            l := 1;
            WHILE l <= nlevels[f] AND levels[f][l] IS DISTINCT FROM r.v[f] LOOP
                l := l + 1;
            END LOOP;
            IF l > nlevels[f] THEN
                RAISE EXCEPTION 'the duplicate model has no level % for %', r.v[f], fields[f]
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            pat := pat || l;
        END LOOP;
        cnt := cnt || r.n;
        total := total + r.n;
    END LOOP;
    IF npat = 0 THEN
        RAISE EXCEPTION 'no candidate pairs to learn from' USING ERRCODE = 'data_exception',
            DETAIL = 'No two contacts share a block (e-mail, phone, phonetic key or similar name).';
    END IF;
    LOOP
        iteration := iteration + 1;
        m_new := array_fill(0::double precision, ARRAY[5, maxl]);
        u_new := array_fill(0::double precision, ARRAY[5, maxl]);
        sum_g := 0;
        FOR p IN 1 .. npat LOOP
            pm := prior;
            pu := 1 - prior;
            FOR f IN 1 .. 5 LOOP
                CONTINUE WHEN pat[(p - 1) * 5 + f] = missing[f];
                pm := pm * m[f][pat[(p - 1) * 5 + f]];
                pu := pu * u[f][pat[(p - 1) * 5 + f]];
            END LOOP;
            g := CASE WHEN pm + pu > 0 THEN pm / (pm + pu) ELSE 0 END;
            sum_g := sum_g + cnt[p] * g;
            FOR f IN 1 .. 5 LOOP
                m_new[f][pat[(p - 1) * 5 + f]] := m_new[f][pat[(p - 1) * 5 + f]] + cnt[p] * g;
                u_new[f][pat[(p - 1) * 5 + f]] := u_new[f][pat[(p - 1) * 5 + f]] + cnt[p] * (1 - g);
            END LOOP;
        END LOOP;
        prior_new := LEAST(GREATEST(sum_g / total, 1e-6), 1 - 1e-6);
        change := abs(prior_new - prior);
        FOR f IN 1 .. 5 LOOP
            -- m and u over the pairs in which the field is present ("missing" weighs nothing)
            m_sum := 0;
            u_sum := 0;
            FOR l IN 1 .. nlevels[f] LOOP
                CONTINUE WHEN l = missing[f];
                m_sum := m_sum + m_new[f][l];
                u_sum := u_sum + u_new[f][l];
            END LOOP;
            FOR l IN 1 .. nlevels[f] LOOP
                IF l = missing[f] THEN
                    m_new[f][l] := 1;
                    u_new[f][l] := 1;
                ELSE
                    m_new[f][l] := (m_new[f][l] + 0.5) / (m_sum + 0.5 * (nlevels[f] - (missing[f] > 0)::int));
                    u_new[f][l] := (u_new[f][l] + 0.5) / (u_sum + 0.5 * (nlevels[f] - (missing[f] > 0)::int));
                END IF;
                change := GREATEST(change, abs(m_new[f][l] - m[f][l]), abs(u_new[f][l] - u[f][l]));
            END LOOP;
        END LOOP;
        m := m_new;
        u := u_new;
        prior := prior_new;
        EXIT WHEN change < tolerance OR iteration >= max_iterations;
    END LOOP;
    fitted := '{}';
    FOR f IN 1 .. 5 LOOP
        fitted := fitted || jsonb_build_object(fields[f], (
            SELECT jsonb_object_agg(levels[f][i.i], jsonb_build_array(LEAST(m[f][i.i], 1), LEAST(u[f][i.i], 1)))
              FROM generate_series(1, nlevels[f]) i(i)));
    END LOOP;
    -- The class called "match" must be the one in which agreement is the likelier: summed over
    -- the fields, the weights of the agreeing levels (exact, same) are positive.
    IF (SELECT sum(ln((fitted -> x.f -> x.l ->> 0)::double precision) - ln((fitted -> x.f -> x.l ->> 1)::double precision))
          FROM (VALUES ('first_name', 'exact'), ('last_name', 'exact'), ('email', 'exact'), ('phone', 'exact'),
                       ('account', 'same')) x(f, l)
         WHERE fitted -> x.f -> x.l IS NOT NULL) <= 0 THEN
        RAISE EXCEPTION 'EM converged to a model in which agreement speaks against a match'
            USING ERRCODE = 'data_exception',
                  HINT = 'The candidate pairs hold too few duplicates to learn from; keep the model in force or set it by hand.';
    END IF;
    UPDATE @extschema@.duplicate_settings
       SET model = fitted, match_prior = prior, trained_at = now(),
           trained_pairs = total::bigint, em_iterations = iteration;
    RETURN jsonb_build_object('pairs', total::bigint, 'patterns', npat, 'iterations', iteration,
                              'converged', change < tolerance, 'match_prior', prior, 'model', fitted);
END
$$;
COMMENT ON FUNCTION @extschema@.train_duplicate_model(integer, double precision) IS
    'Learns the Fellegi–Sunter model (match prior, m and u per field and level) by EM from the blocked pairs of all contacts, without labels, and stores it in crm.duplicate_settings; returns a summary. 22023 for bad arguments, 22000 without pairs or for a degenerate result.';

-- ---------------------------------------------------------------------------------------------
-- Incremental matching and the rule on insert
CREATE FUNCTION @extschema@.dedupe_match_written(ids bigint[], inserted boolean)
RETURNS TABLE (contact_id bigint, best_probability double precision, insert_rule text,
               auto_merge_threshold double precision, review_threshold double precision)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- runs on every insert: its statements planned once per session (as in dedupe_blocks)
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    s @extschema@.duplicate_settings;
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    -- Only rows the current transaction wrote (which the caller could write, so may see): the
    -- function answers nothing about other contacts.
    IF EXISTS (SELECT FROM unnest(ids) i(id)
                WHERE NOT EXISTS (SELECT FROM @extschema@.contacts c
                                   WHERE c.contact_id = i.id AND @extschema@.xid_is_current(c.xmin))) THEN
        RAISE EXCEPTION 'dedupe_match_written matches only contacts written by the current transaction'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'The trigger on crm.contacts calls it; use crm.refresh_duplicate_candidates() otherwise.';
    END IF;
    SELECT * INTO s FROM @extschema@.duplicate_settings;
    IF NOT FOUND OR (NOT s.incremental AND NOT (inserted AND s.insert_rule <> 'allow')) THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT d.contact_id, d.best_probability, s.insert_rule, s.auto_merge_threshold, s.review_threshold
      FROM @extschema@.dedupe_store(ids) d;
END
$$;
COMMENT ON FUNCTION @extschema@.dedupe_match_written(bigint[], boolean) IS
    'Called by the trigger on crm.contacts: scores the pairs of contacts the current transaction wrote against every contact, stores them, and returns per contact the best probability and the settings the rule on insert needs (42501 for a contact not written by this transaction).';
REVOKE EXECUTE ON FUNCTION @extschema@.dedupe_match_written(bigint[], boolean) FROM PUBLIC;

-- The trigger runs with the rights of whoever writes contacts: the matching itself runs in
-- dedupe_match_written (the owner's rights), and only what the writer may see is named in a
-- message.
CREATE FUNCTION @extschema@.dedupe_contacts_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids bigint[];
    r record;
    visible_match bigint;
BEGIN
    IF TG_RELID <> '@extschema@.contacts'::regclass OR TG_LEVEL <> 'STATEMENT' THEN
        RAISE EXCEPTION 'trigger function dedupe_contacts_changed() fires only on @extschema@.contacts, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    -- Trigrams lost (deleted contacts, changed names): the lower bounds of
    -- crm.duplicate_trigram_counts come down with them.
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM @extschema@.dedupe_trigrams_lost(NULL, NULL);
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM @extschema@.dedupe_trigrams_lost(array_agg(l.trigram), array_agg(l.n))
           FROM (SELECT g.trigram, count(*) AS n
                   FROM old_contacts o,
                        unnest(@extschema@.trigrams(@extschema@.contact_match_name(o.first_name, o.last_name))) g(trigram)
                  GROUP BY g.trigram) l
         HAVING count(*) > 0;
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM @extschema@.dedupe_trigrams_lost(array_agg(l.trigram), array_agg(l.n))
           FROM (SELECT g.trigram, count(*) AS n
                   FROM old_contacts o,
                        unnest(@extschema@.trigrams(@extschema@.contact_match_name(o.first_name, o.last_name))) g(trigram)
                  WHERE NOT EXISTS (SELECT FROM new_contacts n
                                     WHERE n.contact_id = o.contact_id
                                       AND @extschema@.contact_match_name(n.first_name, n.last_name)
                                           = @extschema@.contact_match_name(o.first_name, o.last_name))
                  GROUP BY g.trigram) l
         HAVING count(*) > 0;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.contact_id) INTO ids FROM new_contacts n;
    ELSE
        SELECT array_agg(n.contact_id) INTO ids
          FROM new_contacts n JOIN old_contacts o ON o.contact_id = n.contact_id
         WHERE (n.first_name, n.last_name, n.email, n.phone, n.country, n.account_id)
               IS DISTINCT FROM (o.first_name, o.last_name, o.email, o.phone, o.country, o.account_id);
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    FOR r IN SELECT * FROM @extschema@.dedupe_match_written(ids, TG_OP = 'INSERT') m ORDER BY m.contact_id LOOP
        CONTINUE WHEN TG_OP <> 'INSERT' OR r.insert_rule = 'allow' OR r.best_probability IS NULL
                      OR r.best_probability < r.review_threshold;
        -- A matching contact the writer may see (row-level security decides), the likeliest first.
        SELECT CASE WHEN c.contact_a = r.contact_id THEN c.contact_b ELSE c.contact_a END INTO visible_match
          FROM @extschema@.duplicate_candidates c
         WHERE (c.contact_a = r.contact_id OR c.contact_b = r.contact_id)
           AND EXISTS (SELECT FROM @extschema@.contacts o
                        WHERE o.contact_id = CASE WHEN c.contact_a = r.contact_id THEN c.contact_b ELSE c.contact_a END)
         ORDER BY c.probability DESC, 1 LIMIT 1;
        IF r.insert_rule = 'block' AND r.best_probability >= r.auto_merge_threshold THEN
            IF visible_match IS NOT NULL THEN
                RAISE EXCEPTION 'the new contact duplicates an existing contact'
                    USING ERRCODE = 'unique_violation',
                          DETAIL = format('It matches contact %s with probability %s.', visible_match,
                                          round(r.best_probability::numeric, 4)),
                          HINT = 'Update the existing contact instead, or ask an administrator to set crm.duplicate_settings.insert_rule.';
            ELSE
                RAISE EXCEPTION 'the new contact duplicates an existing contact'
                    USING ERRCODE = 'unique_violation',
                          DETAIL = format('It matches a contact you may not see, with probability %s.',
                                          round(r.best_probability::numeric, 4)),
                          HINT = 'Ask the contact''s owner or an administrator.';
            END IF;
        END IF;
        RAISE WARNING 'the new contact % may duplicate an existing contact', r.contact_id
            USING DETAIL = CASE WHEN visible_match IS NOT NULL
                                THEN format('It matches contact %s with probability %s.', visible_match,
                                            round(r.best_probability::numeric, 4))
                                ELSE format('It matches a contact you may not see, with probability %s.',
                                            round(r.best_probability::numeric, 4)) END;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.dedupe_contacts_changed() IS
    'Trigger (statement level) on crm.contacts: matches inserted contacts and contacts whose name, e-mail, phone, country or account changed, keeping crm.duplicate_candidates current (and lowers the trigram counts of crm.duplicate_trigram_counts for deleted, truncated and renamed contacts), and applies the rule on insert (flag: a warning; block: 23505 when a pair reaches the auto-merge threshold). A matching contact is named only if the writer may see it.';
REVOKE EXECUTE ON FUNCTION @extschema@.dedupe_contacts_changed() FROM PUBLIC;

-- Not while a dump is restored: the dumped pairs come with it (and would collide).
CREATE TRIGGER dedupe_contacts_inserted AFTER INSERT ON @extschema@.contacts
    REFERENCING NEW TABLE AS new_contacts
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.dedupe_contacts_changed();
CREATE TRIGGER dedupe_contacts_updated AFTER UPDATE ON @extschema@.contacts
    REFERENCING OLD TABLE AS old_contacts NEW TABLE AS new_contacts
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.dedupe_contacts_changed();
CREATE TRIGGER dedupe_contacts_deleted AFTER DELETE ON @extschema@.contacts
    REFERENCING OLD TABLE AS old_contacts
    FOR EACH STATEMENT WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.dedupe_contacts_changed();
CREATE TRIGGER dedupe_contacts_truncated AFTER TRUNCATE ON @extschema@.contacts
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.dedupe_contacts_changed();

-- ---------------------------------------------------------------------------------------------
-- Accounts: by website domain and company name (rules, not a model: few fields, few rows)
CREATE FUNCTION @extschema@.duplicate_accounts(min_similarity double precision DEFAULT 0.8)
RETURNS TABLE (account_a bigint, account_b bigint, same_domain boolean, same_name boolean,
               name_similarity double precision)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF min_similarity IS NULL OR NOT (min_similarity > 0 AND min_similarity <= 1) THEN
        RAISE EXCEPTION 'min_similarity must be in (0, 1]' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH p AS (
        SELECT x.account_id AS a, y.account_id AS b
          FROM @extschema@.accounts x JOIN @extschema@.accounts y
            ON @extschema@.website_domain(y.domain) = @extschema@.website_domain(x.domain)
           AND y.account_id > x.account_id
        UNION
        SELECT x.account_id, y.account_id
          FROM @extschema@.accounts x JOIN @extschema@.accounts y
            ON @extschema@.trigrams(@extschema@.normalize_company(y.name))
               OPERATOR(pg_catalog.&&) @extschema@.trigrams(@extschema@.normalize_company(x.name))
           AND y.account_id > x.account_id
         WHERE @extschema@.trigram_similarity(@extschema@.normalize_company(x.name),
                                              @extschema@.normalize_company(y.name)) >= min_similarity)
    SELECT p.a, p.b,
           coalesce(@extschema@.website_domain(x.domain) = @extschema@.website_domain(y.domain), false),
           @extschema@.normalize_company(x.name) = @extschema@.normalize_company(y.name),
           @extschema@.trigram_similarity(@extschema@.normalize_company(x.name), @extschema@.normalize_company(y.name))
      FROM p JOIN @extschema@.accounts x ON x.account_id = p.a JOIN @extschema@.accounts y ON y.account_id = p.b
     ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION @extschema@.duplicate_accounts(double precision) IS
    'Pairs of accounts the caller may see (account_a < account_b) with the same website domain (website_domain) or company names (normalize_company) of trigram similarity >= min_similarity.';
REVOKE EXECUTE ON FUNCTION @extschema@.duplicate_accounts(double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.duplicate_accounts(double precision)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- ---------------------------------------------------------------------------------------------
-- Privileges, row-level security and pg_dump
REVOKE EXECUTE ON FUNCTION @extschema@.refresh_duplicate_candidates(),
    @extschema@.train_duplicate_model(integer, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.refresh_duplicate_candidates(),
    @extschema@.train_duplicate_model(integer, double precision) TO crm_admin, crm_manager;
GRANT EXECUTE ON FUNCTION @extschema@.dedupe_match_written(bigint[], boolean)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.duplicate_model(), @extschema@.duplicate_probability(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.duplicate_model(), @extschema@.duplicate_probability(jsonb)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

GRANT SELECT ON @extschema@.duplicate_settings, @extschema@.duplicate_candidates
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.duplicate_settings TO crm_admin, crm_manager;
GRANT INSERT, UPDATE, DELETE ON @extschema@.duplicate_candidates TO crm_admin;
GRANT UPDATE (status) ON @extschema@.duplicate_candidates TO crm_manager, crm_sales;

-- The trigram counts: no staff role reads or writes them (the extension's functions do, with the
-- owner's rights); row-level security without a policy, as a second lock.
ALTER TABLE @extschema@.duplicate_trigram_counts ENABLE ROW LEVEL SECURITY;
-- Configuration: admins and managers write it, every staff role reads it.
ALTER TABLE @extschema@.duplicate_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.duplicate_settings TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.duplicate_settings TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.duplicate_settings FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);
-- A pair follows both its contacts: seen (and, by managers and reps, marked dismissed or merged)
-- by whoever sees both.
ALTER TABLE @extschema@.duplicate_candidates ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.duplicate_candidates TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY read_visible_contacts ON @extschema@.duplicate_candidates FOR SELECT
    TO crm_analyst, crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = duplicate_candidates.contact_a)
           AND EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = duplicate_candidates.contact_b));
CREATE POLICY review_visible_contacts ON @extschema@.duplicate_candidates FOR UPDATE
    TO crm_manager, crm_sales
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = duplicate_candidates.contact_a)
           AND EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = duplicate_candidates.contact_b))
    WITH CHECK (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = duplicate_candidates.contact_a)
                AND EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = duplicate_candidates.contact_b));

SELECT pg_catalog.pg_extension_config_dump('@extschema@.duplicate_settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.duplicate_candidates', '');
