-- s2-citus-auc-km: crm.auc and crm.km_fit get real, versioned state types instead of internal
-- (crm.auc_state: per distinct score, the positives and negatives; crm.km_state: per distinct
-- time, the events and censorings), mergeable and O(distinct values), so Citus aggregates them on
-- every shard and parallel workers ship counts, not rows. A state type cannot be altered: the
-- aggregates are dropped with their 0.1 support functions (nothing in the extension depends on
-- them) and created again.
DROP AGGREGATE @extschema@.auc(double precision, boolean);
DROP FUNCTION @extschema@.auc_transition(internal, double precision, boolean);
DROP FUNCTION @extschema@.auc_combine(internal, internal);
DROP FUNCTION @extschema@.auc_serialize(internal);
DROP FUNCTION @extschema@.auc_deserialize(bytea, internal);
DROP FUNCTION @extschema@.auc_final(internal);
DROP AGGREGATE @extschema@.km_fit(double precision, boolean);
DROP FUNCTION @extschema@.km_trans(internal, double precision, boolean);
DROP FUNCTION @extschema@.km_combine(internal, internal);
DROP FUNCTION @extschema@.km_serialize(internal);
DROP FUNCTION @extschema@.km_deserialize(bytea, internal);
DROP FUNCTION @extschema@.km_final(internal);

-- ==== as in src/auc.sql ====
-- The aggregate's state: per distinct score, the positives and negatives (src/value_counts.c).
CREATE TYPE @extschema@.auc_state;
CREATE FUNCTION @extschema@.auc_state_in(cstring) RETURNS @extschema@.auc_state
    AS 'MODULE_PATHNAME', 'crm_auc_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_state_in(cstring) IS
    'Text input of crm.auc_state: 1;count;score,positives,negatives;... with the scores increasing.';
CREATE FUNCTION @extschema@.auc_state_out(@extschema@.auc_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_auc_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_state_out(@extschema@.auc_state) IS
    'Text output of crm.auc_state (version word 1 first; scores printed to read back exactly).';
CREATE FUNCTION @extschema@.auc_state_recv(internal) RETURNS @extschema@.auc_state
    AS 'MODULE_PATHNAME', 'crm_auc_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_state_recv(internal) IS
    'Binary input of crm.auc_state: int32 version (1), int64 count, then per distinct score float8 score, int64 positives, int64 negatives.';
CREATE FUNCTION @extschema@.auc_state_send(@extschema@.auc_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_auc_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_state_send(@extschema@.auc_state) IS
    'Binary output of crm.auc_state, in the layout auc_state_recv reads: 12 + 24 bytes per distinct score.';
CREATE TYPE @extschema@.auc_state (
    INPUT = @extschema@.auc_state_in,
    OUTPUT = @extschema@.auc_state_out,
    RECEIVE = @extschema@.auc_state_recv,
    SEND = @extschema@.auc_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.auc_state IS
    'The state of crm.auc: per distinct score, how many positives and negatives have it (16 + 24 bytes per distinct score). Text form 1;count;score,positives,negatives;...';

CREATE FUNCTION @extschema@.auc_transition(@extschema@.auc_state, double precision, boolean)
RETURNS @extschema@.auc_state AS 'MODULE_PATHNAME', 'crm_auc_transition' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_transition(@extschema@.auc_state, double precision, boolean) IS
    'Support function of auc: counts the score under its label (in place in an aggregate).';

CREATE FUNCTION @extschema@.auc_combine(@extschema@.auc_state, @extschema@.auc_state)
RETURNS @extschema@.auc_state AS 'MODULE_PATHNAME', 'crm_auc_combine' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_combine(@extschema@.auc_state, @extschema@.auc_state) IS
    'Support function of auc: merges two partial states (the counts of both).';

CREATE FUNCTION @extschema@.auc_final(@extschema@.auc_state)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_auc_final' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_final(@extschema@.auc_state) IS
    'Support function of auc: the AUC from the counts, ties counted half; NULL unless both labels occur.';

CREATE AGGREGATE @extschema@.auc(score double precision, label boolean) (
    SFUNC = @extschema@.auc_transition,
    STYPE = @extschema@.auc_state,
    FINALFUNC = @extschema@.auc_final,
    COMBINEFUNC = @extschema@.auc_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.auc(double precision, boolean) IS
    'ROC AUC: the share of (positive, negative) pairs where the positive scores higher, ties counted half. Rows with a NULL score or label are skipped; NULL unless both labels occur; 22023 for a NaN or infinite score.';

-- ==== as in src/survival.sql ====
-- The aggregate's state: per distinct time, the events and censorings (src/value_counts.c).
CREATE TYPE @extschema@.km_state;
CREATE FUNCTION @extschema@.km_state_in(cstring) RETURNS @extschema@.km_state
    AS 'MODULE_PATHNAME', 'crm_km_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_state_in(cstring) IS
    'Text input of crm.km_state: 1;count;time,events,censored;... with the times increasing, none negative.';
CREATE FUNCTION @extschema@.km_state_out(@extschema@.km_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_km_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_state_out(@extschema@.km_state) IS
    'Text output of crm.km_state (version word 1 first; times printed to read back exactly).';
CREATE FUNCTION @extschema@.km_state_recv(internal) RETURNS @extschema@.km_state
    AS 'MODULE_PATHNAME', 'crm_km_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_state_recv(internal) IS
    'Binary input of crm.km_state: int32 version (1), int64 count, then per distinct time float8 time, int64 events, int64 censored.';
CREATE FUNCTION @extschema@.km_state_send(@extschema@.km_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_km_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_state_send(@extschema@.km_state) IS
    'Binary output of crm.km_state, in the layout km_state_recv reads: 12 + 24 bytes per distinct time.';
CREATE TYPE @extschema@.km_state (
    INPUT = @extschema@.km_state_in,
    OUTPUT = @extschema@.km_state_out,
    RECEIVE = @extschema@.km_state_recv,
    SEND = @extschema@.km_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.km_state IS
    'The state of crm.km_fit: per distinct time, how many events and censorings (16 + 24 bytes per distinct time). Text form 1;count;time,events,censored;...';

CREATE FUNCTION @extschema@.km_trans(@extschema@.km_state, double precision, boolean) RETURNS @extschema@.km_state
    AS 'MODULE_PATHNAME', 'crm_km_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_trans(@extschema@.km_state, double precision, boolean) IS
    'Support function of km_fit: counts the duration as an event or a censoring (in place in an aggregate).';
CREATE FUNCTION @extschema@.km_combine(@extschema@.km_state, @extschema@.km_state) RETURNS @extschema@.km_state
    AS 'MODULE_PATHNAME', 'crm_km_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_combine(@extschema@.km_state, @extschema@.km_state) IS
    'Support function of km_fit: merges two partial states (the counts of both).';
CREATE FUNCTION @extschema@.km_final(@extschema@.km_state) RETURNS @extschema@.survival_curve
    AS 'MODULE_PATHNAME', 'crm_km_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_final(@extschema@.km_state) IS
    'Support function of km_fit: the survival curve from the counts; NULL for no rows.';

CREATE AGGREGATE @extschema@.km_fit(duration double precision, observed boolean) (
    SFUNC = @extschema@.km_trans,
    STYPE = @extschema@.km_state,
    COMBINEFUNC = @extschema@.km_combine,
    FINALFUNC = @extschema@.km_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.km_fit(double precision, boolean) IS
    'Kaplan-Meier fit of (duration, observed) pairs: observed = true for an event (e.g. churn), false for a censored subject. Rows with a NULL are skipped; no rows give NULL; a negative or non-finite duration raises 22023.';
