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

-- The state both CLV fits share: distinct customer summaries with weights (src/clv_state.c), a
-- real type so that Citus can fit on every shard's summaries and merge the shipped states.
CREATE TYPE @extschema@.clv_fit_state;
CREATE FUNCTION @extschema@.clv_fit_state_in(cstring) RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'crm_clv_fit_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit_state_in(cstring) IS
    'Text input of crm.clv_fit_state: 1;<bgnbd or gammagamma>;<penalizer>;<count>, then ;x,u,v,weight for each distinct summary in (x, u, v) order.';
CREATE FUNCTION @extschema@.clv_fit_state_out(@extschema@.clv_fit_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_clv_fit_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit_state_out(@extschema@.clv_fit_state) IS
    'Text output of crm.clv_fit_state (exact numbers).';
CREATE FUNCTION @extschema@.clv_fit_state_recv(internal) RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'crm_clv_fit_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit_state_recv(internal) IS
    'Binary input of crm.clv_fit_state: a 4-byte header word (version 1, kind 1 BG/NBD or 2 Gamma-Gamma), the penalizer, the count, then x (4 bytes), u, v, weight (8 bytes each) per summary, network byte order.';
CREATE FUNCTION @extschema@.clv_fit_state_send(@extschema@.clv_fit_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_clv_fit_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit_state_send(@extschema@.clv_fit_state) IS
    'Binary output of crm.clv_fit_state (see crm.clv_fit_state_recv).';
CREATE TYPE @extschema@.clv_fit_state (
    INPUT = @extschema@.clv_fit_state_in,
    OUTPUT = @extschema@.clv_fit_state_out,
    RECEIVE = @extschema@.clv_fit_state_recv,
    SEND = @extschema@.clv_fit_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.clv_fit_state IS
    'The partial state of crm.bgnbd_fit and crm.gammagamma_fit: the distinct customer summaries with their weights (32 bytes each, plus 24).';

CREATE FUNCTION @extschema@.bgnbd_trans(@extschema@.clv_fit_state, integer, double precision, double precision)
RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'crm_bgnbd_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_trans(@extschema@.clv_fit_state, integer, double precision, double precision) IS
    'Transition function of crm.bgnbd_fit.';
CREATE FUNCTION @extschema@.bgnbd_trans(@extschema@.clv_fit_state, integer, double precision, double precision, double precision)
RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'crm_bgnbd_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_trans(@extschema@.clv_fit_state, integer, double precision, double precision, double precision) IS
    'Transition function of crm.bgnbd_fit with a penalizer.';
CREATE FUNCTION @extschema@.customer_summaries_combine(@extschema@.clv_fit_state, @extschema@.clv_fit_state)
RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'crm_customer_summaries_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.customer_summaries_combine(@extschema@.clv_fit_state, @extschema@.clv_fit_state) IS
    'Combine function of the CLV fits: merges two partial states (parallel workers, Citus shards).';
CREATE FUNCTION @extschema@.bgnbd_final(@extschema@.clv_fit_state) RETURNS @extschema@.bgnbd_model
    AS 'MODULE_PATHNAME', 'crm_bgnbd_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_final(@extschema@.clv_fit_state) IS 'Final function of crm.bgnbd_fit: the fit.';

CREATE AGGREGATE @extschema@.bgnbd_fit(x integer, t_x double precision, big_t double precision) (
    SFUNC = @extschema@.bgnbd_trans, STYPE = @extschema@.clv_fit_state, SSPACE = 8192,
    COMBINEFUNC = @extschema@.customer_summaries_combine,
    FINALFUNC = @extschema@.bgnbd_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bgnbd_fit(integer, double precision, double precision) IS
    'Maximum-likelihood BG/NBD fit over customers'' (x repeat purchases, t_x time of the last, T age). Rows with a NULL are skipped; no rows give NULL; invalid summaries, fewer than 2 customers or no repeat purchase raise 22023.';
CREATE AGGREGATE @extschema@.bgnbd_fit(x integer, t_x double precision, big_t double precision, penalizer double precision) (
    SFUNC = @extschema@.bgnbd_trans, STYPE = @extschema@.clv_fit_state, SSPACE = 8192,
    COMBINEFUNC = @extschema@.customer_summaries_combine,
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

-- ---------------------------------------------------------------------------------------------
-- Gamma-Gamma spend per transaction (src/gammagamma.c).
CREATE TYPE @extschema@.gammagamma_model AS (
    p double precision,
    q double precision,
    gamma double precision,
    log_likelihood double precision,
    n bigint,
    iterations integer,
    converged boolean
);
COMMENT ON TYPE @extschema@.gammagamma_model IS
    'A fitted Gamma-Gamma spend model: spend per transaction ~ Gamma(p, nu), nu ~ Gamma(q, gamma); the log-likelihood, the repeat customers (n), iterations and convergence.';

CREATE FUNCTION @extschema@.gammagamma_trans(@extschema@.clv_fit_state, integer, double precision)
RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'crm_gammagamma_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gammagamma_trans(@extschema@.clv_fit_state, integer, double precision) IS
    'Transition function of crm.gammagamma_fit.';
CREATE FUNCTION @extschema@.gammagamma_trans(@extschema@.clv_fit_state, integer, double precision, double precision)
RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'crm_gammagamma_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gammagamma_trans(@extschema@.clv_fit_state, integer, double precision, double precision) IS
    'Transition function of crm.gammagamma_fit with a penalizer.';
CREATE FUNCTION @extschema@.gammagamma_final(@extschema@.clv_fit_state) RETURNS @extschema@.gammagamma_model
    AS 'MODULE_PATHNAME', 'crm_gammagamma_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gammagamma_final(@extschema@.clv_fit_state) IS 'Final function of crm.gammagamma_fit: the fit.';

CREATE AGGREGATE @extschema@.gammagamma_fit(x integer, m double precision) (
    SFUNC = @extschema@.gammagamma_trans, STYPE = @extschema@.clv_fit_state, SSPACE = 8192,
    COMBINEFUNC = @extschema@.customer_summaries_combine,
    FINALFUNC = @extschema@.gammagamma_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gammagamma_fit(integer, double precision) IS
    'Maximum-likelihood Gamma-Gamma fit over repeat customers'' (x repeat purchases, m their mean value). Rows with x = 0 or a NULL are skipped; m <= 0 for x > 0, or fewer than 2 repeat customers, raise 22023.';
CREATE AGGREGATE @extschema@.gammagamma_fit(x integer, m double precision, penalizer double precision) (
    SFUNC = @extschema@.gammagamma_trans, STYPE = @extschema@.clv_fit_state, SSPACE = 8192,
    COMBINEFUNC = @extschema@.customer_summaries_combine,
    FINALFUNC = @extschema@.gammagamma_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.gammagamma_fit(integer, double precision, double precision) IS
    'Gamma-Gamma fit with an L2 penalty as in the lifetimes library: minimises -LL/n + penalizer * (p^2 + q^2 + gamma^2).';

CREATE FUNCTION @extschema@.gammagamma_expected_spend(model @extschema@.gammagamma_model, x integer, m double precision)
RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_gammagamma_expected_spend' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gammagamma_expected_spend(@extschema@.gammagamma_model, integer, double precision) IS
    'E[M | x, m]: expected spend per transaction, a weighted mean of the population mean p*gamma/(q-1) and the customer''s m (weight px/(px+q-1)); the population mean for x = 0 (m may then be NULL).';

-- ---------------------------------------------------------------------------------------------
-- Customer lifetime value.
CREATE FUNCTION @extschema@.clv_simple(average_purchase_value double precision, purchase_frequency double precision,
                                       average_lifespan double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF average_purchase_value < 0 OR purchase_frequency < 0 OR average_lifespan < 0 THEN
        RAISE EXCEPTION 'CLV inputs must not be negative'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('Average purchase value %s, purchase frequency %s, average lifespan %s.',
                                             average_purchase_value, purchase_frequency, average_lifespan);
    END IF;
    IF average_purchase_value = 'Infinity' OR purchase_frequency = 'Infinity' OR average_lifespan = 'Infinity'
       OR average_purchase_value = 'NaN' OR purchase_frequency = 'NaN' OR average_lifespan = 'NaN' THEN
        RAISE EXCEPTION 'CLV inputs must be finite' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN average_purchase_value * purchase_frequency * average_lifespan;
END
$$;
COMMENT ON FUNCTION @extschema@.clv_simple(double precision, double precision, double precision) IS
    'The textbook CLV: average purchase value x purchase frequency x average lifespan (in the frequency''s time unit). Negative or non-finite inputs raise 22023; NULL gives NULL.';

CREATE FUNCTION @extschema@.clv(bgnbd @extschema@.bgnbd_model, gammagamma @extschema@.gammagamma_model,
                                x integer, t_x double precision, big_t double precision, m double precision,
                                months integer, monthly_discount_rate double precision, units_per_month double precision)
RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv(@extschema@.bgnbd_model, @extschema@.gammagamma_model, integer, double precision, double precision, double precision, integer, double precision, double precision) IS
    'Discounted CLV over the next months: sum of E[M] (E[Y(i f)] - E[Y((i-1) f)]) / (1 + d)^i for i = 1..months, f = units_per_month (4.345 for weeks).';

-- ---------------------------------------------------------------------------------------------
-- A customer's summary from transactions in any table (src/clv_summary.c).
CREATE TYPE @extschema@.clv_customer_summary AS (
    x integer,
    t_x double precision,
    big_t double precision,
    m double precision
);
COMMENT ON TYPE @extschema@.clv_customer_summary IS
    'A customer as the CLV models see them: x repeat purchase days, t_x first to last purchase, big_t first purchase to the observation end (in time units), m mean value of the repeat purchase days.';

-- The aggregate's state: the customer's transactions (a real type, so that Citus can summarise
-- on every shard and merge the shipped states when not grouping by the distribution column).
-- SSPACE 8192 on the CLV aggregates is what the planner assumed for 0.1's internal states: it
-- keeps the plans of 0.1 (with many groups, hash aggregation in batches, measured faster here).
CREATE TYPE @extschema@.clv_summary_state;
CREATE FUNCTION @extschema@.clv_summary_state_in(cstring) RETURNS @extschema@.clv_summary_state
    AS 'MODULE_PATHNAME', 'crm_clv_summary_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_summary_state_in(cstring) IS
    'Text input of crm.clv_summary_state: 1;<end day>;<time_unit_days>;<count>, then ;day,amount per transaction (days since 2000-01-01).';
CREATE FUNCTION @extschema@.clv_summary_state_out(@extschema@.clv_summary_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_clv_summary_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_summary_state_out(@extschema@.clv_summary_state) IS
    'Text output of crm.clv_summary_state (exact numbers).';
CREATE FUNCTION @extschema@.clv_summary_state_recv(internal) RETURNS @extschema@.clv_summary_state
    AS 'MODULE_PATHNAME', 'crm_clv_summary_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_summary_state_recv(internal) IS
    'Binary input of crm.clv_summary_state: a 4-byte version word (1), the end day (4 bytes), time_unit_days (8), the count (8), then day (4) and amount (8) per transaction, network byte order.';
CREATE FUNCTION @extschema@.clv_summary_state_send(@extschema@.clv_summary_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_clv_summary_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_summary_state_send(@extschema@.clv_summary_state) IS
    'Binary output of crm.clv_summary_state (see crm.clv_summary_state_recv).';
CREATE TYPE @extschema@.clv_summary_state (
    INPUT = @extschema@.clv_summary_state_in,
    OUTPUT = @extschema@.clv_summary_state_out,
    RECEIVE = @extschema@.clv_summary_state_recv,
    SEND = @extschema@.clv_summary_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.clv_summary_state IS
    'The partial state of crm.clv_summary: one customer''s transactions by the observation end (16 bytes each, plus 32).';

CREATE FUNCTION @extschema@.clv_summary_trans(@extschema@.clv_summary_state, timestamptz, double precision, timestamptz, double precision)
RETURNS @extschema@.clv_summary_state
    AS 'MODULE_PATHNAME', 'crm_clv_summary_trans' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_summary_trans(@extschema@.clv_summary_state, timestamptz, double precision, timestamptz, double precision) IS
    'Transition function of crm.clv_summary.';
CREATE FUNCTION @extschema@.clv_summary_combine(@extschema@.clv_summary_state, @extschema@.clv_summary_state)
RETURNS @extschema@.clv_summary_state
    AS 'MODULE_PATHNAME', 'crm_clv_summary_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_summary_combine(@extschema@.clv_summary_state, @extschema@.clv_summary_state) IS
    'Combine function of crm.clv_summary: both states'' transactions (parallel workers, Citus shards).';
CREATE FUNCTION @extschema@.clv_summary_final(@extschema@.clv_summary_state) RETURNS @extschema@.clv_customer_summary
    AS 'MODULE_PATHNAME', 'crm_clv_summary_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_summary_final(@extschema@.clv_summary_state) IS
    'Final function of crm.clv_summary: x, t_x, big_t and m.';
CREATE AGGREGATE @extschema@.clv_summary(occurred_at timestamptz, amount double precision,
                                         observation_end timestamptz, time_unit_days double precision) (
    SFUNC = @extschema@.clv_summary_trans, STYPE = @extschema@.clv_summary_state, SSPACE = 8192,
    COMBINEFUNC = @extschema@.clv_summary_combine,
    FINALFUNC = @extschema@.clv_summary_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.clv_summary(timestamptz, double precision, timestamptz, double precision) IS
    'One customer''s (x, t_x, big_t, m) from their transactions in any table (GROUP BY the customer): transactions on one day (session time zone) are one purchase; those after observation_end are ignored; NULL times or amounts are skipped; no transaction by the end gives NULL.';

-- ---------------------------------------------------------------------------------------------
-- On the CRM schema: customer summaries from crm.orders, fitted models kept, every customer's CLV.

-- Each buyer's summary up to as_of in units of time_unit_days (7: weeks), by the C aggregate
-- crm.clv_summary over crm.purchases: orders on one day are one purchase; m is the mean value of
-- the repeat purchase days (NULL without repeat purchases).
CREATE FUNCTION @extschema@.customer_summaries(as_of timestamptz DEFAULT now(), time_unit_days double precision DEFAULT 7)
RETURNS TABLE (contact_id bigint, x integer, t_x double precision, big_t double precision, m double precision)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF as_of IS NULL OR NOT (time_unit_days > 0 AND time_unit_days < 'Infinity') THEN
        RAISE EXCEPTION 'time_unit_days must be a positive, finite number and as_of not NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- ordered_at <= as_of here: the aggregate itself keeps the whole day of as_of
    RETURN QUERY
    SELECT o.contact_id, (o.s).x, (o.s).t_x, (o.s).big_t, (o.s).m
    FROM (SELECT p.contact_id,
                 @extschema@.clv_summary(p.ordered_at, p.total::double precision, as_of, time_unit_days) AS s
          FROM @extschema@.purchases p
          WHERE p.ordered_at <= as_of
          GROUP BY p.contact_id) o;
END
$$;
COMMENT ON FUNCTION @extschema@.customer_summaries(timestamptz, double precision) IS
    'Per buyer up to as_of, in units of time_unit_days (7 = weeks): x repeat purchase days, t_x first to last purchase, big_t first purchase to as_of, m mean value of the repeat purchase days.';

CREATE TABLE @extschema@.clv_models (
    model_id        bigserial PRIMARY KEY,
    fitted_at       timestamptz NOT NULL DEFAULT now(),
    as_of           timestamptz NOT NULL,
    time_unit_days  double precision NOT NULL CONSTRAINT clv_models_time_unit_positive CHECK (time_unit_days > 0),
    first_order_at  timestamptz,
    last_order_at   timestamptz,
    customers       bigint NOT NULL,
    bgnbd           @extschema@.bgnbd_model NOT NULL,
    gammagamma      @extschema@.gammagamma_model,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER clv_models_touch_updated_at BEFORE UPDATE ON @extschema@.clv_models
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();
COMMENT ON TABLE @extschema@.clv_models IS
    'BG/NBD and Gamma-Gamma fits on crm.orders: when, as of which date, in which time unit, over which orders and customers. crm.customer_clv uses the latest.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.clv_models', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.clv_models_model_id_seq', '');
GRANT ALL ON @extschema@.clv_models TO crm_admin;
GRANT SELECT ON @extschema@.clv_models TO crm_manager, crm_analyst, crm_sales, crm_support;

-- Fits both models on the purchases up to as_of and stores them. Gamma-Gamma needs at least two
-- repeat buyers with positive spend; without them the stored model has no spend model (NULL).
CREATE FUNCTION @extschema@.fit_clv_models(as_of timestamptz DEFAULT now(), time_unit_days double precision DEFAULT 7)
RETURNS @extschema@.clv_models
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    stored @extschema@.clv_models;
    spend_buyers bigint;
BEGIN
    CREATE TEMP TABLE crm_fit_summaries ON COMMIT DROP AS
    SELECT * FROM @extschema@.customer_summaries(as_of, time_unit_days);
    SELECT count(*) FILTER (WHERE s.x > 0 AND s.m > 0) INTO spend_buyers FROM crm_fit_summaries s;
    IF NOT EXISTS (SELECT FROM crm_fit_summaries) THEN
        RAISE EXCEPTION 'no purchases to fit CLV models on'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('crm.orders holds no paid or shipped order up to %s.', as_of);
    END IF;
    INSERT INTO @extschema@.clv_models (as_of, time_unit_days, first_order_at, last_order_at, customers, bgnbd, gammagamma)
    SELECT as_of, time_unit_days,
           (SELECT min(o.ordered_at) FROM @extschema@.purchases o WHERE o.ordered_at <= as_of),
           (SELECT max(o.ordered_at) FROM @extschema@.purchases o WHERE o.ordered_at <= as_of),
           count(*),
           @extschema@.bgnbd_fit(s.x, s.t_x, s.big_t),
           CASE WHEN spend_buyers >= 2 THEN @extschema@.gammagamma_fit(s.x, s.m) FILTER (WHERE s.x > 0 AND s.m > 0) END
    FROM crm_fit_summaries s
    RETURNING * INTO stored;
    DROP TABLE crm_fit_summaries;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION @extschema@.fit_clv_models(timestamptz, double precision) IS
    'Fits BG/NBD and Gamma-Gamma on the purchases in crm.orders up to as_of (time unit in days: 7 = weeks), stores them in crm.clv_models and returns the row. No purchases, or no repeat purchase, raise 22023.';
REVOKE EXECUTE ON FUNCTION @extschema@.fit_clv_models(timestamptz, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.fit_clv_models(timestamptz, double precision) TO crm_admin, crm_manager;

-- Every buyer's value now, from the latest model: P(alive), purchases in the next 90 days,
-- expected spend per purchase, and 12-month CLV at a 1% monthly discount.
CREATE VIEW @extschema@.customer_clv WITH (security_invoker = true) AS
WITH latest AS (
    SELECT * FROM @extschema@.clv_models ORDER BY fitted_at DESC, model_id DESC LIMIT 1
)
SELECT s.contact_id, s.x AS frequency, s.t_x AS recency, s.big_t AS t, s.m AS monetary,
       @extschema@.bgnbd_p_alive(l.bgnbd, s.x, s.t_x, s.big_t) AS p_alive,
       @extschema@.bgnbd_expected_purchases(l.bgnbd, 90 / l.time_unit_days, s.x, s.t_x, s.big_t) AS expected_purchases_90d,
       CASE WHEN l.gammagamma IS NOT NULL
            THEN @extschema@.gammagamma_expected_spend(l.gammagamma, s.x, s.m) END AS expected_spend,
       CASE WHEN l.gammagamma IS NOT NULL
            THEN @extschema@.clv(l.bgnbd, l.gammagamma, s.x, s.t_x, s.big_t, s.m, 12, 0.01, 30.4375 / l.time_unit_days) END AS clv_12m
FROM latest l
CROSS JOIN LATERAL @extschema@.customer_summaries(now(), l.time_unit_days) s;
COMMENT ON VIEW @extschema@.customer_clv IS
    'Every buyer, from the latest model in crm.clv_models and their purchases up to now: frequency (x), recency (t_x), t (T), monetary (m), P(alive), expected purchases in the next 90 days, expected spend per purchase, and 12-month CLV at a 1% monthly discount. Empty until a model is fitted.';
GRANT SELECT ON @extschema@.customer_clv TO crm_admin, crm_manager, crm_analyst;

CREATE FUNCTION @extschema@.bgnbd_p_purchases(model @extschema@.bgnbd_model, n integer, t double precision)
RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bgnbd_p_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_p_purchases(@extschema@.bgnbd_model, integer, double precision) IS
    'P(X(t) = n): the probability that a newly acquired customer makes exactly n purchases in their first t time units.';

-- Every buyer's summary now, in weeks, by the C aggregate: the view form of crm.customer_summaries.
CREATE VIEW @extschema@.customer_clv_summaries WITH (security_invoker = true) AS
SELECT o.contact_id, (@extschema@.clv_summary(o.ordered_at, o.total::double precision, now(), 7::double precision)).*
FROM @extschema@.purchases o
WHERE o.ordered_at <= now()
GROUP BY o.contact_id;
COMMENT ON VIEW @extschema@.customer_clv_summaries IS
    'Every buyer''s CLV summary as of now, in weeks: x repeat purchase days, t_x and big_t since the first purchase, m the mean value of the repeat purchase days (NULL without any); purchases are orders paid or shipped. crm.customer_summaries(as_of, time_unit_days) gives the same for another date or unit.';
GRANT SELECT ON @extschema@.customer_clv_summaries TO crm_admin, crm_manager, crm_analyst;

-- Privileges: the functions reading the CRM's tables are for its staff roles (row-level
-- security still decides which rows they see); trigger functions are for nobody to call.
REVOKE EXECUTE ON FUNCTION @extschema@.customer_summaries(timestamptz, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.customer_summaries(timestamptz, double precision) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
