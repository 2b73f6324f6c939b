-- src/clv.sql: customer lifetime value. The BG/NBD model of repeat buying (src/bgnbd.c).

CREATE TYPE @extschema@.bgnbd_model AS (
    r double precision,
    alpha double precision,
    a double precision,
    b double precision,
    log_likelihood double precision,
    n bigint,
    iterations integer,
    converged boolean
);
COMMENT ON TYPE @extschema@.bgnbd_model IS
    'A fitted BG/NBD model: purchase rate ~ Gamma(r, alpha), dropout probability ~ Beta(a, b); the log-likelihood of the data, the customers (n), the optimiser''s iterations and whether it converged.';

CREATE FUNCTION @extschema@.bgnbd_trans(internal, integer, double precision, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_bgnbd_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.bgnbd_trans(internal, integer, double precision, double precision, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_bgnbd_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- The state both CLV fits share: distinct customer summaries with weights (src/clv_state.c).
CREATE FUNCTION @extschema@.customer_summaries_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_customer_summaries_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.customer_summaries_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_customer_summaries_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.customer_summaries_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_customer_summaries_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.bgnbd_final(internal) RETURNS @extschema@.bgnbd_model
    AS 'MODULE_PATHNAME', 'crm_bgnbd_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.bgnbd_fit(x integer, t_x double precision, big_t double precision) (
    SFUNC = @extschema@.bgnbd_trans, STYPE = internal,
    COMBINEFUNC = @extschema@.customer_summaries_combine,
    SERIALFUNC = @extschema@.customer_summaries_serialize, DESERIALFUNC = @extschema@.customer_summaries_deserialize,
    FINALFUNC = @extschema@.bgnbd_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bgnbd_fit(integer, double precision, double precision) IS
    'Maximum-likelihood BG/NBD fit over customers'' (x repeat purchases, t_x time of the last, T age). Rows with a NULL are skipped; no rows give NULL; invalid summaries, fewer than 2 customers or no repeat purchase raise 22023.';
CREATE AGGREGATE @extschema@.bgnbd_fit(x integer, t_x double precision, big_t double precision, penalizer double precision) (
    SFUNC = @extschema@.bgnbd_trans, STYPE = internal,
    COMBINEFUNC = @extschema@.customer_summaries_combine,
    SERIALFUNC = @extschema@.customer_summaries_serialize, DESERIALFUNC = @extschema@.customer_summaries_deserialize,
    FINALFUNC = @extschema@.bgnbd_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bgnbd_fit(integer, double precision, double precision, double precision) IS
    'BG/NBD fit with an L2 penalty as in the lifetimes library: minimises -LL/n + penalizer * (r^2 + alpha^2 + a^2 + b^2).';

CREATE FUNCTION @extschema@.bgnbd_p_alive(model @extschema@.bgnbd_model, x integer, t_x double precision, big_t double precision)
RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bgnbd_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_p_alive(@extschema@.bgnbd_model, integer, double precision, double precision) IS
    'P(alive | x, t_x, T): the probability that the customer has not dropped out.';

CREATE FUNCTION @extschema@.bgnbd_expected_purchases(model @extschema@.bgnbd_model, t double precision, x integer,
                                                     t_x double precision, big_t double precision)
RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bgnbd_conditional_expected_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_expected_purchases(@extschema@.bgnbd_model, double precision, integer, double precision, double precision) IS
    'E[Y(t) | x, t_x, T]: the purchases a customer with this history is expected to make in the next t time units.';

CREATE FUNCTION @extschema@.bgnbd_expected_purchases(model @extschema@.bgnbd_model, t double precision)
RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bgnbd_expected_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_expected_purchases(@extschema@.bgnbd_model, double precision) IS
    'E[X(t)]: the purchases a newly acquired customer is expected to make in their first t time units.';
