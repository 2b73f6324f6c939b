-- src/auc.sql: the area under the ROC curve (Mann–Whitney, ties counted half).

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
