-- src/ets.sql: exponential smoothing (ETS) forecasts, as R's forecast::ets (src/ets.c).
-- crm.ets_fit(period, value, season_length [, model [, fixed]]) aggregates a regular series into a
-- fitted crm.ets_model (the model chosen by AICc among the candidates the model string allows);
-- crm.ets_forecast(model, horizon, level) gives the point forecasts with prediction intervals.
-- Everything computes from its arguments only: executable by everyone. See docs/ets.md.

CREATE TYPE @extschema@.ets_model;

CREATE FUNCTION @extschema@.ets_model_in(cstring) RETURNS @extschema@.ets_model
    AS 'MODULE_PATHNAME', 'crm_ets_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_model_in(cstring) IS
    'Text input of crm.ets_model: version;season_length;model;fixed alpha beta gamma phi (- when free);points (YYYY-MM-DD:value, space-separated);fit (- or method;converged;alpha;beta;gamma;phi;loglik;aic;aicc;bic;sigma2;mse;initial states;final states).';
CREATE FUNCTION @extschema@.ets_model_out(@extschema@.ets_model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_ets_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_model_out(@extschema@.ets_model) IS
    'Text output of crm.ets_model (version word 1 first; numbers printed to read back exactly).';
CREATE FUNCTION @extschema@.ets_model_recv(internal) RETURNS @extschema@.ets_model
    AS 'MODULE_PATHNAME', 'crm_ets_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_model_recv(internal) IS
    'Binary input of crm.ets_model, the layout ets_model_send writes (docs/ets.md).';
CREATE FUNCTION @extschema@.ets_model_send(@extschema@.ets_model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_ets_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_model_send(@extschema@.ets_model) IS
    'Binary output of crm.ets_model: int32 version, int32 season length, 4 bytes model, int32 fixed mask, 4 float8 fixed, int32 count, (int32 day, float8 value) per point, int32 fitted, then the fit.';

CREATE TYPE @extschema@.ets_model (
    INPUT = @extschema@.ets_model_in,
    OUTPUT = @extschema@.ets_model_out,
    RECEIVE = @extschema@.ets_model_recv,
    SEND = @extschema@.ets_model_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.ets_model IS
    'An exponential smoothing (ETS) model: the series'' points and, once fitted by crm.ets_fit, the chosen model ETS(E,T,S), its parameters, states and information criteria. Also the aggregate''s state (the points only).';

CREATE FUNCTION @extschema@.ets_transition(@extschema@.ets_model, date, double precision, integer)
RETURNS @extschema@.ets_model AS 'MODULE_PATHNAME', 'crm_ets_transition'
    LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_transition(@extschema@.ets_model, date, double precision, integer) IS
    'Support function of ets_fit: appends one point to the state, in place.';
CREATE FUNCTION @extschema@.ets_transition(@extschema@.ets_model, date, double precision, integer, text)
RETURNS @extschema@.ets_model AS 'MODULE_PATHNAME', 'crm_ets_transition'
    LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_transition(@extschema@.ets_model, date, double precision, integer, text) IS
    'Support function of ets_fit: appends one point to the state, in place.';
CREATE FUNCTION @extschema@.ets_transition(@extschema@.ets_model, date, double precision, integer, text, jsonb)
RETURNS @extschema@.ets_model AS 'MODULE_PATHNAME', 'crm_ets_transition'
    LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_transition(@extschema@.ets_model, date, double precision, integer, text, jsonb) IS
    'Support function of ets_fit: appends one point to the state, in place.';
CREATE FUNCTION @extschema@.ets_combine(@extschema@.ets_model, @extschema@.ets_model)
RETURNS @extschema@.ets_model AS 'MODULE_PATHNAME', 'crm_ets_combine'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_combine(@extschema@.ets_model, @extschema@.ets_model) IS
    'Support function of ets_fit: both states'' points together.';
CREATE FUNCTION @extschema@.ets_final(@extschema@.ets_model)
RETURNS @extschema@.ets_model AS 'MODULE_PATHNAME', 'crm_ets_final'
    LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_final(@extschema@.ets_model) IS
    'Support function of ets_fit: sorts the points, checks the periods are regular, fits the candidate models and keeps the one of least AICc.';

CREATE AGGREGATE @extschema@.ets_fit(period date, value double precision, season_length integer) (
    SFUNC = @extschema@.ets_transition,
    STYPE = @extschema@.ets_model,
    FINALFUNC = @extschema@.ets_final,
    COMBINEFUNC = @extschema@.ets_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ets_fit(date, double precision, integer) IS
    'An ETS model of the series (period, value), season_length periods a season (1: none), chosen by AICc among every model forecast::ets tries by default (model ''ZZZ''). NULL periods or values are skipped; NULL for no rows. Errors: docs/ets.md.';
CREATE AGGREGATE @extschema@.ets_fit(period date, value double precision, season_length integer, model text) (
    SFUNC = @extschema@.ets_transition,
    STYPE = @extschema@.ets_model,
    FINALFUNC = @extschema@.ets_final,
    COMBINEFUNC = @extschema@.ets_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ets_fit(date, double precision, integer, text) IS
    'An ETS model of the series: model is error, trend, season (''ZZZ'', ''ANN'', ''AAdA'', ''MNM''; Z chooses by AICc, d damps the trend).';
CREATE AGGREGATE @extschema@.ets_fit(period date, value double precision, season_length integer, model text, fixed jsonb) (
    SFUNC = @extschema@.ets_transition,
    STYPE = @extschema@.ets_model,
    FINALFUNC = @extschema@.ets_final,
    COMBINEFUNC = @extschema@.ets_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ets_fit(date, double precision, integer, text, jsonb) IS
    'An ETS model of the series with some smoothing parameters fixed: fixed is a JSON object with any of alpha, beta, gamma, phi.';

CREATE FUNCTION @extschema@.ets_method(@extschema@.ets_model) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_ets_method' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_method(@extschema@.ets_model) IS
    'The fitted model as forecast::ets names it: ETS(A,Ad,M).';
CREATE FUNCTION @extschema@.ets_loglik(model @extschema@.ets_model) RETURNS double precision
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'crm_ets_loglik';
COMMENT ON FUNCTION @extschema@.ets_loglik(@extschema@.ets_model) IS
    'The log-likelihood as forecast::ets reports it: -n/2 log(sum of squared errors) (- sum log|forecast| for multiplicative errors), without the constant terms.';
CREATE FUNCTION @extschema@.ets_aic(model @extschema@.ets_model) RETURNS double precision
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'crm_ets_aic';
COMMENT ON FUNCTION @extschema@.ets_aic(@extschema@.ets_model) IS
    'AIC = -2 loglik + 2 k, k the estimated parameters and initial states plus one.';
CREATE FUNCTION @extschema@.ets_aicc(model @extschema@.ets_model) RETURNS double precision
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'crm_ets_aicc';
COMMENT ON FUNCTION @extschema@.ets_aicc(@extschema@.ets_model) IS
    'AICc = AIC + 2 k (k + 1) / (n - k - 1), the criterion the model was chosen by.';
CREATE FUNCTION @extschema@.ets_bic(model @extschema@.ets_model) RETURNS double precision
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'crm_ets_bic';
COMMENT ON FUNCTION @extschema@.ets_bic(@extschema@.ets_model) IS
    'BIC = -2 loglik + k log n.';
CREATE FUNCTION @extschema@.ets_sigma2(model @extschema@.ets_model) RETURNS double precision
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'crm_ets_sigma2';
COMMENT ON FUNCTION @extschema@.ets_sigma2(@extschema@.ets_model) IS
    'The residual variance sum e^2 / (n - k) (relative errors for multiplicative-error models), as forecast::ets.';
CREATE FUNCTION @extschema@.ets_converged(model @extschema@.ets_model) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'crm_ets_converged';
COMMENT ON FUNCTION @extschema@.ets_converged(@extschema@.ets_model) IS
    'Whether Nelder-Mead met its tolerance for the chosen model (false: it stopped after 2,000 evaluations at the best point found).';
CREATE FUNCTION @extschema@.ets_points(model @extschema@.ets_model) RETURNS integer
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'crm_ets_points';
COMMENT ON FUNCTION @extschema@.ets_points(@extschema@.ets_model) IS
    'The number of points of the series.';
CREATE FUNCTION @extschema@.ets_parameters(model @extschema@.ets_model,
    OUT alpha double precision, OUT beta double precision, OUT gamma double precision, OUT phi double precision,
    OUT initial_level double precision, OUT initial_slope double precision, OUT initial_seasonal double precision[],
    OUT level double precision, OUT slope double precision, OUT seasonal double precision[])
    AS 'MODULE_PATHNAME', 'crm_ets_parameters' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ets_parameters(@extschema@.ets_model) IS
    'The smoothing parameters (NULL when not in the model), the initial states and the states after the last point; seasonal arrays start with the most recent season.';

CREATE FUNCTION @extschema@.ets_forecast(model @extschema@.ets_model, horizon integer,
    level double precision[] DEFAULT '{80,95}')
RETURNS TABLE (step integer, period date, point double precision, lower double precision[], upper double precision[])
    AS 'MODULE_PATHNAME', 'crm_ets_forecast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 12;
COMMENT ON FUNCTION @extschema@.ets_forecast(@extschema@.ets_model, integer, double precision[]) IS
    'The forecasts of steps 1 .. horizon (at most 1,000, else 54000): the period, the point forecast and, per level (percent), the prediction interval''s bounds. Analytic intervals except for multiplicative seasonality (5,000 simulated paths, fixed seed).';
