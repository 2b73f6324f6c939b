-- src/survival.sql: Kaplan–Meier survival curves (src/survival.c).

CREATE TYPE @extschema@.survival_curve;
CREATE FUNCTION @extschema@.survival_curve_in(cstring) RETURNS @extschema@.survival_curve
    AS 'MODULE_PATHNAME', 'crm_survival_curve_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.survival_curve_out(@extschema@.survival_curve) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_survival_curve_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.survival_curve_recv(internal) RETURNS @extschema@.survival_curve
    AS 'MODULE_PATHNAME', 'crm_survival_curve_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.survival_curve_send(@extschema@.survival_curve) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_survival_curve_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.survival_curve (
    INPUT = @extschema@.survival_curve_in,
    OUTPUT = @extschema@.survival_curve_out,
    RECEIVE = @extschema@.survival_curve_recv,
    SEND = @extschema@.survival_curve_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.survival_curve IS
    'A Kaplan-Meier survival curve: per distinct time, the number at risk, events and censorings. Text form {(time,at_risk,events,censored),...}.';

CREATE FUNCTION @extschema@.survival_curve_eq(@extschema@.survival_curve, @extschema@.survival_curve) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_survival_curve_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.survival_curve, RIGHTARG = @extschema@.survival_curve,
    FUNCTION = @extschema@.survival_curve_eq, COMMUTATOR = OPERATOR(@extschema@.=)
);

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

CREATE FUNCTION @extschema@.km_table(curve @extschema@.survival_curve,
    OUT "time" double precision, OUT at_risk bigint, OUT events bigint, OUT censored bigint,
    OUT survival double precision, OUT std_err double precision,
    OUT lower double precision, OUT upper double precision)
RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'crm_km_table' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION @extschema@.km_table(@extschema@.survival_curve) IS
    'The Kaplan-Meier table: per distinct time, at risk, events, censored, S(t), Greenwood''s standard error, and the 95% log-log confidence interval (NULL where undefined: while S = 1, and once S = 0).';

CREATE FUNCTION @extschema@.km_survival_at(curve @extschema@.survival_curve, t double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_km_survival_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_survival_at(@extschema@.survival_curve, double precision) IS
    'S(t), the estimated probability of surviving beyond t: 1 before the first event, a step function after.';

CREATE FUNCTION @extschema@.km_median(curve @extschema@.survival_curve) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_km_median' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_median(@extschema@.survival_curve) IS
    'Median survival time: the first time at which S(t) < 0.5, or the midpoint of the interval where S(t) = 0.5 (as R''s survfit); NULL when the curve never drops to 0.5.';
