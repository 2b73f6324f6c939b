-- src/rfm.sql: RFM scoring. The crm.rfm type (src/rfm.c), crm.rfm_scores (fair quintile scores),
-- the editable R x F segment map, and the stored history of every customer's score and segment.

-- ---------------------------------------------------------------------------------------------
-- The crm.rfm type
CREATE TYPE @extschema@.rfm;

CREATE FUNCTION @extschema@.rfm_in(cstring) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'crm_rfm_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_in(cstring) IS
    'Text input of crm.rfm: exactly three digits 1-5, recency first (''543'').';
CREATE FUNCTION @extschema@.rfm_out(@extschema@.rfm) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_rfm_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_out(@extschema@.rfm) IS 'Text output of crm.rfm: ''543''.';
CREATE FUNCTION @extschema@.rfm_recv(internal) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'crm_rfm_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_recv(internal) IS
    'Binary input of crm.rfm: a format version byte (1), then the recency, frequency and monetary bytes.';
CREATE FUNCTION @extschema@.rfm_send(@extschema@.rfm) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_rfm_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_send(@extschema@.rfm) IS
    'Binary output of crm.rfm: a format version byte (1), then the recency, frequency and monetary bytes.';

CREATE TYPE @extschema@.rfm (
    INPUT = @extschema@.rfm_in,
    OUTPUT = @extschema@.rfm_out,
    RECEIVE = @extschema@.rfm_recv,
    SEND = @extschema@.rfm_send,
    INTERNALLENGTH = 2,
    PASSEDBYVALUE,
    ALIGNMENT = int2,
    STORAGE = plain
);
COMMENT ON TYPE @extschema@.rfm IS
    'An RFM score: recency, frequency and monetary scores 1-5 (5 the best), written ''543''. Two bytes, passed by value; ordered by recency, then frequency, then monetary.';

CREATE FUNCTION @extschema@.rfm(recency integer, frequency integer, monetary integer) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'crm_rfm_make' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm(integer, integer, integer) IS
    'The RFM score of three scores 1-5: crm.rfm(5, 4, 3) = ''543''. A score outside 1-5 raises 22023.';
CREATE FUNCTION @extschema@.recency_score(@extschema@.rfm) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_rfm_recency_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.recency_score(@extschema@.rfm) IS 'The recency score (1-5) of an RFM score.';
CREATE FUNCTION @extschema@.frequency_score(@extschema@.rfm) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_rfm_frequency_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.frequency_score(@extschema@.rfm) IS 'The frequency score (1-5) of an RFM score.';
CREATE FUNCTION @extschema@.monetary_score(@extschema@.rfm) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_rfm_monetary_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.monetary_score(@extschema@.rfm) IS 'The monetary score (1-5) of an RFM score.';

CREATE FUNCTION @extschema@.rfm_cmp(@extschema@.rfm, @extschema@.rfm) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_rfm_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_cmp(@extschema@.rfm, @extschema@.rfm) IS
    'Btree support: -1, 0 or 1, comparing recency, then frequency, then monetary.';
CREATE FUNCTION @extschema@.rfm_eq(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_rfm_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rfm_eq(@extschema@.rfm, @extschema@.rfm) IS 'Implements = on crm.rfm.';
CREATE FUNCTION @extschema@.rfm_ne(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_rfm_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rfm_ne(@extschema@.rfm, @extschema@.rfm) IS 'Implements <> on crm.rfm.';
CREATE FUNCTION @extschema@.rfm_lt(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_rfm_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rfm_lt(@extschema@.rfm, @extschema@.rfm) IS 'Implements < on crm.rfm.';
CREATE FUNCTION @extschema@.rfm_le(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_rfm_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rfm_le(@extschema@.rfm, @extschema@.rfm) IS 'Implements <= on crm.rfm.';
CREATE FUNCTION @extschema@.rfm_gt(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_rfm_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rfm_gt(@extschema@.rfm, @extschema@.rfm) IS 'Implements > on crm.rfm.';
CREATE FUNCTION @extschema@.rfm_ge(@extschema@.rfm, @extschema@.rfm) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_rfm_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rfm_ge(@extschema@.rfm, @extschema@.rfm) IS 'Implements >= on crm.rfm.';
CREATE FUNCTION @extschema@.rfm_hash(@extschema@.rfm) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_rfm_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_hash(@extschema@.rfm) IS 'Hash support for crm.rfm (hash joins, hashed GROUP BY).';
CREATE FUNCTION @extschema@.rfm_hash_extended(@extschema@.rfm, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_rfm_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_hash_extended(@extschema@.rfm, bigint) IS
    'Seeded 64-bit hash support for crm.rfm (hash partitioning).';

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_eq,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
COMMENT ON OPERATOR @extschema@.= (@extschema@.rfm, @extschema@.rfm) IS 'Equal RFM scores.';
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_ne,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel);
COMMENT ON OPERATOR @extschema@.<> (@extschema@.rfm, @extschema@.rfm) IS 'Different RFM scores.';
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_lt,
    COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR @extschema@.< (@extschema@.rfm, @extschema@.rfm) IS 'Lower RFM score (recency, then frequency, then monetary).';
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_le,
    COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
COMMENT ON OPERATOR @extschema@.<= (@extschema@.rfm, @extschema@.rfm) IS 'Lower or equal RFM score.';
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_gt,
    COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR @extschema@.> (@extschema@.rfm, @extschema@.rfm) IS 'Higher RFM score (recency, then frequency, then monetary).';
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.rfm, RIGHTARG = @extschema@.rfm, FUNCTION = @extschema@.rfm_ge,
    COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR @extschema@.>= (@extschema@.rfm, @extschema@.rfm) IS 'Higher or equal RFM score.';

CREATE OPERATOR CLASS @extschema@.rfm_ops DEFAULT FOR TYPE @extschema@.rfm USING btree AS
    OPERATOR 1 @extschema@.<,
    OPERATOR 2 @extschema@.<=,
    OPERATOR 3 @extschema@.=,
    OPERATOR 4 @extschema@.>=,
    OPERATOR 5 @extschema@.>,
    FUNCTION 1 @extschema@.rfm_cmp(@extschema@.rfm, @extschema@.rfm);
COMMENT ON OPERATOR CLASS @extschema@.rfm_ops USING btree IS
    'Btree ordering of crm.rfm: recency, then frequency, then monetary.';
CREATE OPERATOR CLASS @extschema@.rfm_hash_ops DEFAULT FOR TYPE @extschema@.rfm USING hash AS
    OPERATOR 1 @extschema@.=,
    FUNCTION 1 @extschema@.rfm_hash(@extschema@.rfm),
    FUNCTION 2 @extschema@.rfm_hash_extended(@extschema@.rfm, bigint);
COMMENT ON OPERATOR CLASS @extschema@.rfm_hash_ops USING hash IS 'Hashing of crm.rfm (hash joins and hashed GROUP BY).';

-- ---------------------------------------------------------------------------------------------
-- Scores
--
-- Fair quintiles: score = 1 + floor(5 * worse / n), where worse is the number of customers with a
-- strictly worse value and n the number of customers. Customers with equal values have equal
-- "worse" counts, hence equal scores; every customer with the worst value gets 1, and a score of 5
-- needs at least 80% of customers strictly worse. (rank() - 1 over the "worse first" order is
-- that count; ntile() is not used because it splits equal values between tiles.)
CREATE FUNCTION @extschema@.rfm_scores(as_of timestamptz DEFAULT now())
RETURNS TABLE (contact_id bigint, recency integer, frequency integer, monetary numeric, rfm @extschema@.rfm)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- PL/pgSQL, not SQL: Citus cannot plan an SQL function's parameterised queries over
    -- distributed tables (docs/citus.md, "Distributing the CRM schema").
    RETURN QUERY
    -- Purchases (crm.purchases: orders paid or shipped) before as_of.
    -- Recency and frequency take few distinct values: their "worse" counts come from a histogram
    -- of the values, joined back, rather than from sorting every customer; monetary is ranked.
    WITH purchases AS MATERIALIZED (
        SELECT o.contact_id,
               floor(extract(epoch FROM rfm_scores.as_of - max(o.ordered_at)) / 86400)::integer AS recency,
               count(*)::integer AS frequency,
               sum(o.total) AS monetary
        FROM @extschema@.purchases o
        WHERE o.ordered_at < rfm_scores.as_of
        GROUP BY o.contact_id
    ), customers AS (
        SELECT count(*) AS n FROM purchases
    ), recency_worse AS (
        SELECT h.recency, coalesce(sum(h.customers) OVER (ORDER BY h.recency DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS worse
        FROM (SELECT p.recency, count(*) AS customers FROM purchases p GROUP BY p.recency) h
    ), frequency_worse AS (
        SELECT h.frequency, coalesce(sum(h.customers) OVER (ORDER BY h.frequency ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS worse
        FROM (SELECT p.frequency, count(*) AS customers FROM purchases p GROUP BY p.frequency) h
    )
    -- bigint division: 5 * worse / n is floor(5 * worse / n)
    SELECT p.contact_id, p.recency, p.frequency, p.monetary,
           @extschema@.rfm((1 + 5 * r.worse / c.n)::integer,
                           (1 + 5 * f.worse / c.n)::integer,
                           (1 + 5 * (rank() OVER (ORDER BY p.monetary) - 1) / c.n)::integer)
    FROM purchases p
    CROSS JOIN customers c
    JOIN recency_worse r ON r.recency = p.recency
    JOIN frequency_worse f ON f.frequency = p.frequency;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_scores(timestamptz) IS
    'Per customer with a purchase (order paid or shipped) before as_of: recency (whole days since the last purchase), frequency (purchases), monetary (total spent) and the crm.rfm score: 1 + floor(5 * customers strictly worse / customers), so ties share a score and 5 is the best.';

-- ---------------------------------------------------------------------------------------------
-- Segment map: R x F rectangles naming segments. Editable; active rows must not overlap.
CREATE TABLE @extschema@.rfm_segment_map (
    segment_map_id  serial PRIMARY KEY,
    segment         text NOT NULL CONSTRAINT rfm_segment_map_segment_not_blank CHECK (btrim(segment) <> ''),
    recency_min     smallint NOT NULL,
    recency_max     smallint NOT NULL,
    frequency_min   smallint NOT NULL,
    frequency_max   smallint NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    is_seeded       boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rfm_segment_map_recency_range CHECK (1 <= recency_min AND recency_min <= recency_max AND recency_max <= 5),
    CONSTRAINT rfm_segment_map_frequency_range CHECK (1 <= frequency_min AND frequency_min <= frequency_max AND frequency_max <= 5)
);
COMMENT ON TABLE @extschema@.rfm_segment_map IS
    'RFM segments as rectangles of the recency x frequency grid (inclusive score ranges). Active rows must not overlap; seeded rows can be edited or deactivated, not deleted.';

INSERT INTO @extschema@.rfm_segment_map
    (segment_map_id, segment, recency_min, recency_max, frequency_min, frequency_max, is_seeded)
VALUES
    (1,  'Champions',           5, 5, 4, 5, true),
    (2,  'Loyal Customers',     3, 4, 4, 5, true),
    (3,  'Potential Loyalists', 4, 5, 2, 3, true),
    (4,  'New Customers',       5, 5, 1, 1, true),
    (5,  'Promising',           4, 4, 1, 1, true),
    (6,  'Need Attention',      3, 3, 3, 3, true),
    (7,  'About To Sleep',      3, 3, 1, 2, true),
    (8,  'At Risk',             1, 2, 3, 4, true),
    (9,  'Can''t Lose Them',    1, 2, 5, 5, true),
    (10, 'Hibernating',         1, 2, 1, 2, true);
SELECT pg_catalog.setval('@extschema@.rfm_segment_map_segment_map_id_seq', 10);

-- pg_dump keeps every row; a dumped seeded row replaces its fresh copy on restore, so edits
-- survive: the guard of seeded rows in src/schema.sql, as for crm.pipeline_stages.
CREATE TRIGGER rfm_segment_map_guard_seeded
    BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.rfm_segment_map
    FOR EACH ROW EXECUTE FUNCTION @extschema@.guard_seeded_rows('RFM segment', 'RFM segments', 'segment');
CREATE TRIGGER rfm_segment_map_touch_updated_at
    BEFORE UPDATE ON @extschema@.rfm_segment_map
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();

-- Overlaps are checked at commit, so a map can be redrawn in several statements (and a restore,
-- which reloads the seeded rows over their fresh copies, passes through no false overlap).
CREATE FUNCTION @extschema@.rfm_segment_map_check_overlap() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    other record;
BEGIN
    SELECT m.segment INTO other
    FROM @extschema@.rfm_segment_map m, @extschema@.rfm_segment_map n
    WHERE n.segment_map_id = NEW.segment_map_id AND n.active AND m.active
      AND m.segment_map_id <> n.segment_map_id
      AND m.recency_min <= n.recency_max AND n.recency_min <= m.recency_max
      AND m.frequency_min <= n.frequency_max AND n.frequency_min <= m.frequency_max
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'RFM segment "%" overlaps segment "%"', NEW.segment, other.segment
            USING ERRCODE = 'exclusion_violation',
                  DETAIL = 'Each recency x frequency cell belongs to at most one active segment.',
                  HINT = 'Shrink or deactivate one of them.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_segment_map_check_overlap() IS
    'Constraint trigger: active RFM segments must not overlap (checked at commit).';
CREATE CONSTRAINT TRIGGER rfm_segment_map_no_overlap
    AFTER INSERT OR UPDATE ON @extschema@.rfm_segment_map
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_segment_map_check_overlap();

CREATE FUNCTION @extschema@.rfm_segment(@extschema@.rfm) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT m.segment
    FROM @extschema@.rfm_segment_map m
    WHERE m.active
      AND @extschema@.recency_score($1) BETWEEN m.recency_min AND m.recency_max
      AND @extschema@.frequency_score($1) BETWEEN m.frequency_min AND m.frequency_max
    ORDER BY m.segment_map_id
    LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.rfm_segment(@extschema@.rfm) IS
    'The segment of an RFM score from crm.rfm_segment_map (recency x frequency), or NULL for a cell no active segment covers.';

-- ---------------------------------------------------------------------------------------------
-- History: every customer's RFM and segment as of each refresh.
CREATE TABLE @extschema@.rfm_history (
    as_of       timestamptz NOT NULL,
    contact_id  bigint NOT NULL CONSTRAINT rfm_history_contact_fkey
                REFERENCES @extschema@.contacts ON DELETE CASCADE,
    recency     integer NOT NULL,
    frequency   integer NOT NULL,
    monetary    numeric NOT NULL,
    rfm         @extschema@.rfm NOT NULL,
    segment     text,
    CONSTRAINT rfm_history_pkey PRIMARY KEY (as_of, contact_id)
);
CREATE INDEX rfm_history_contact_idx ON @extschema@.rfm_history (contact_id, as_of);
COMMENT ON TABLE @extschema@.rfm_history IS
    'Each customer''s RFM values, score and segment as of each crm.refresh_rfm run; written only by crm.refresh_rfm.';

CREATE FUNCTION @extschema@.refresh_rfm(as_of timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    stored bigint;
BEGIN
    IF refresh_rfm.as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM @extschema@.rfm_history h WHERE h.as_of = refresh_rfm.as_of;
    INSERT INTO @extschema@.rfm_history (as_of, contact_id, recency, frequency, monetary, rfm, segment)
    SELECT refresh_rfm.as_of, s.contact_id, s.recency, s.frequency, s.monetary, s.rfm, m.segment
    FROM @extschema@.rfm_scores(refresh_rfm.as_of) s
    LEFT JOIN @extschema@.rfm_segment_map m
           ON m.active
          AND @extschema@.recency_score(s.rfm) BETWEEN m.recency_min AND m.recency_max
          AND @extschema@.frequency_score(s.rfm) BETWEEN m.frequency_min AND m.frequency_max;
    GET DIAGNOSTICS stored = ROW_COUNT;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_rfm(timestamptz) IS
    'Stores every customer''s RFM values, score and segment as of as_of in crm.rfm_history (replacing an earlier run for the same as_of); returns the number of customers stored.';
REVOKE EXECUTE ON FUNCTION @extschema@.refresh_rfm(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.refresh_rfm(timestamptz) TO crm_admin, crm_manager;

CREATE VIEW @extschema@.rfm_transitions WITH (security_invoker = true) AS
SELECT t.contact_id, t.from_date, t.to_date, t.from_segment, t.to_segment, t.from_rfm, t.to_rfm
FROM (
    SELECT h.contact_id,
           lag(h.as_of) OVER w AS from_date,
           h.as_of AS to_date,
           lag(h.segment) OVER w AS from_segment,
           h.segment AS to_segment,
           lag(h.rfm) OVER w AS from_rfm,
           h.rfm AS to_rfm
    FROM @extschema@.rfm_history h
    WINDOW w AS (PARTITION BY h.contact_id ORDER BY h.as_of)
) t
WHERE t.from_date IS NOT NULL AND t.from_segment IS DISTINCT FROM t.to_segment;
COMMENT ON VIEW @extschema@.rfm_transitions IS
    'Segment changes between consecutive RFM snapshots of a customer: who moved from which segment to which, between from_date and to_date.';

-- Staff see the history of the contacts they may see (contacts' own policies decide).
ALTER TABLE @extschema@.rfm_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.rfm_history TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY read_visible_contacts ON @extschema@.rfm_history FOR SELECT
    TO crm_analyst, crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = rfm_history.contact_id));

GRANT SELECT ON @extschema@.rfm_segment_map, @extschema@.rfm_history, @extschema@.rfm_transitions
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.rfm_segment_map TO crm_admin, crm_manager;
GRANT USAGE ON SEQUENCE @extschema@.rfm_segment_map_segment_map_id_seq TO crm_admin, crm_manager;
GRANT ALL ON @extschema@.rfm_history TO crm_admin;

-- Configuration shared by everyone: admins and managers write it, every staff role reads it.
ALTER TABLE @extschema@.rfm_segment_map ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.rfm_segment_map TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.rfm_segment_map TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.rfm_segment_map FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_segment_map', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_segment_map_segment_map_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_history', '');

-- Privileges: the functions reading the CRM's tables are for its staff roles (row-level
-- security still decides which rows they see); trigger functions are for nobody to call.
REVOKE EXECUTE ON FUNCTION @extschema@.rfm_scores(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rfm_scores(timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.rfm_segment(@extschema@.rfm) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rfm_segment(@extschema@.rfm) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.rfm_segment_map_check_overlap() FROM PUBLIC;
