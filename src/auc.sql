-- src/auc.sql: the area under the ROC curve (Mann–Whitney, ties counted half).

CREATE FUNCTION @extschema@.auc_transition(internal, double precision, boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_auc_transition' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_transition(internal, double precision, boolean) IS
    'Support function of auc: keeps the score under its label.';

CREATE FUNCTION @extschema@.auc_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_auc_combine' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_combine(internal, internal) IS
    'Support function of auc: concatenates two partial states.';

CREATE FUNCTION @extschema@.auc_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_auc_serialize' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_serialize(internal) IS
    'Support function of auc: serializes a partial state for parallel aggregation.';

CREATE FUNCTION @extschema@.auc_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_auc_deserialize' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_deserialize(bytea, internal) IS
    'Support function of auc: restores and validates a serialized partial state.';

CREATE FUNCTION @extschema@.auc_final(internal)
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_auc_final' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auc_final(internal) IS
    'Support function of auc: sorts the scores and counts the pairs.';

CREATE AGGREGATE @extschema@.auc(score double precision, label boolean) (
    SFUNC = @extschema@.auc_transition,
    STYPE = internal,
    FINALFUNC = @extschema@.auc_final,
    COMBINEFUNC = @extschema@.auc_combine,
    SERIALFUNC = @extschema@.auc_serialize,
    DESERIALFUNC = @extschema@.auc_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.auc(double precision, boolean) IS
    'ROC AUC: the share of (positive, negative) pairs where the positive scores higher, ties counted half. Rows with a NULL score or label are skipped; NULL unless both labels occur; 22023 for a NaN or infinite score.';
