-- src/logreg.sql: logistic regression fitted by Newton's method (IRLS), and its prediction.

CREATE FUNCTION @extschema@.logreg_fit_transition(internal, double precision[], boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_logreg_fit_transition' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_fit_transition(internal, double precision[], boolean) IS
    'Support function of logreg_fit(features, label): keeps the row.';

CREATE FUNCTION @extschema@.logreg_fit_l2_transition(internal, double precision[], boolean, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_logreg_fit_l2_transition' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_fit_l2_transition(internal, double precision[], boolean, double precision) IS
    'Support function of logreg_fit(features, label, l2): keeps the row.';

CREATE FUNCTION @extschema@.logreg_fit_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_logreg_fit_combine' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_fit_combine(internal, internal) IS
    'Support function of logreg_fit: concatenates two partial states.';

CREATE FUNCTION @extschema@.logreg_fit_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_logreg_fit_serialize' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_fit_serialize(internal) IS
    'Support function of logreg_fit: serializes a partial state for parallel aggregation.';

CREATE FUNCTION @extschema@.logreg_fit_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_logreg_fit_deserialize' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_fit_deserialize(bytea, internal) IS
    'Support function of logreg_fit: restores and validates a serialized partial state.';

CREATE FUNCTION @extschema@.logreg_fit_final(internal)
RETURNS double precision[] AS 'MODULE_PATHNAME', 'crm_logreg_fit_final' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_fit_final(internal) IS
    'Support function of logreg_fit: runs Newton''s method and returns the coefficients.';

CREATE AGGREGATE @extschema@.logreg_fit(features double precision[], label boolean) (
    SFUNC = @extschema@.logreg_fit_transition,
    STYPE = internal,
    FINALFUNC = @extschema@.logreg_fit_final,
    COMBINEFUNC = @extschema@.logreg_fit_combine,
    SERIALFUNC = @extschema@.logreg_fit_serialize,
    DESERIALFUNC = @extschema@.logreg_fit_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.logreg_fit(double precision[], boolean) IS
    'Maximum-likelihood logistic regression: coefficients, intercept first. Rows with a NULL label or NULL features are skipped; NULL without rows; 22023 for separable data, a singular design, one class only or feature arrays of different lengths. Keeps 8·(d+1) bytes per row.';

CREATE AGGREGATE @extschema@.logreg_fit(features double precision[], label boolean, l2 double precision) (
    SFUNC = @extschema@.logreg_fit_l2_transition,
    STYPE = internal,
    FINALFUNC = @extschema@.logreg_fit_final,
    COMBINEFUNC = @extschema@.logreg_fit_combine,
    SERIALFUNC = @extschema@.logreg_fit_serialize,
    DESERIALFUNC = @extschema@.logreg_fit_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.logreg_fit(double precision[], boolean, double precision) IS
    'Logistic regression with the penalty l2/2·|beta|² on the coefficients (not the intercept): coefficients, intercept first. l2 must be the same non-negative number on every row.';

CREATE FUNCTION @extschema@.logreg_predict(coefficients double precision[], features double precision[])
RETURNS double precision AS 'MODULE_PATHNAME', 'crm_logreg_predict' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_predict(double precision[], double precision[]) IS
    'The probability sigmoid(coefficients[1] + coefficients[2:] · features) of a true label; 22023 unless coefficients has one more element than features.';
