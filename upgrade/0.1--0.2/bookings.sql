-- src/forecast.sql: the distribution of a period's bookings (src/forecast.c). Open deals close
-- independently, deal i with probability p_i; crm.bookings_distribution(amount, probability) holds
-- the exact mean and variance of the bookings and their probability mass function on a grid, from
-- which crm.bookings_quantile and crm.bookings_probability_at_least read. crm.bookings_simulate is a
-- Monte Carlo check. See docs/forecast.md.

CREATE TYPE @extschema@.bookings_distribution;

CREATE FUNCTION @extschema@.bookings_distribution_in(cstring) RETURNS @extschema@.bookings_distribution
    AS 'MODULE_PATHNAME', 'crm_bookings_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_distribution_in(cstring) IS
    'Text input of crm.bookings_distribution: version;count;resolution;mean;variance;error_below;error_above;missing;offset;cells (space-separated).';
CREATE FUNCTION @extschema@.bookings_distribution_out(@extschema@.bookings_distribution) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_bookings_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_distribution_out(@extschema@.bookings_distribution) IS
    'Text output of crm.bookings_distribution (version word 1 first; numbers printed to read back exactly).';
CREATE FUNCTION @extschema@.bookings_distribution_recv(internal) RETURNS @extschema@.bookings_distribution
    AS 'MODULE_PATHNAME', 'crm_bookings_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_distribution_recv(internal) IS
    'Binary input of crm.bookings_distribution: int32 version (1), int64 count, 6 float8 (resolution, mean, variance, error below, error above, missing mass), int64 offset, int32 cell count, float8 cells.';
CREATE FUNCTION @extschema@.bookings_distribution_send(@extschema@.bookings_distribution) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_bookings_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_distribution_send(@extschema@.bookings_distribution) IS
    'Binary output of crm.bookings_distribution, in the layout bookings_distribution_recv reads.';

CREATE TYPE @extschema@.bookings_distribution (
    INPUT = @extschema@.bookings_distribution_in,
    OUTPUT = @extschema@.bookings_distribution_out,
    RECEIVE = @extschema@.bookings_distribution_recv,
    SEND = @extschema@.bookings_distribution_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.bookings_distribution IS
    'The distribution of the bookings of independent deals: exact count, mean and variance, and the probability mass function on a grid of at most 8192 cells with its error bounds. Build with crm.bookings_distribution, merge with crm.bookings_combine.';

CREATE FUNCTION @extschema@.bookings_transition(@extschema@.bookings_distribution, double precision, double precision)
RETURNS @extschema@.bookings_distribution AS 'MODULE_PATHNAME', 'crm_bookings_transition'
    LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_transition(@extschema@.bookings_distribution, double precision, double precision) IS
    'Support function of bookings_distribution: convolves the state with one deal, in place.';
CREATE FUNCTION @extschema@.bookings_combine(@extschema@.bookings_distribution, @extschema@.bookings_distribution)
RETURNS @extschema@.bookings_distribution AS 'MODULE_PATHNAME', 'crm_bookings_combine'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_combine(@extschema@.bookings_distribution, @extschema@.bookings_distribution) IS
    'The distribution of the bookings of both sets of deals together (convolution at the coarser resolution); the aggregate''s combine function.';
CREATE FUNCTION @extschema@.bookings_final(@extschema@.bookings_distribution)
RETURNS @extschema@.bookings_distribution AS 'MODULE_PATHNAME', 'crm_bookings_final'
    LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_final(@extschema@.bookings_distribution) IS
    'Support function of bookings_distribution: the state without its spare room.';

CREATE AGGREGATE @extschema@.bookings_distribution(amount double precision, probability double precision) (
    SFUNC = @extschema@.bookings_transition,
    STYPE = @extschema@.bookings_distribution,
    FINALFUNC = @extschema@.bookings_final,
    COMBINEFUNC = @extschema@.bookings_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.bookings_distribution(double precision, double precision) IS
    'The distribution of the sum of independent deals'' bookings (amount with probability, else 0). Rows with a NULL amount or probability are skipped; NULL for no rows; 22023 for a negative or non-finite amount or a probability outside [0, 1].';

CREATE FUNCTION @extschema@.bookings_mean(@extschema@.bookings_distribution) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bookings_mean' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_mean(@extschema@.bookings_distribution) IS
    'The expected bookings, sum of amount * probability (exact, compensated sum).';
CREATE FUNCTION @extschema@.bookings_variance(@extschema@.bookings_distribution) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bookings_variance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_variance(@extschema@.bookings_distribution) IS
    'The variance of the bookings, sum of amount^2 * p * (1 - p) (exact, compensated sum).';
CREATE FUNCTION @extschema@.bookings_count(@extschema@.bookings_distribution) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_bookings_count' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_count(@extschema@.bookings_distribution) IS
    'The number of deals in the distribution.';
CREATE FUNCTION @extschema@.bookings_resolution(@extschema@.bookings_distribution) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bookings_resolution' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_resolution(@extschema@.bookings_distribution) IS
    'The grid step of the probability mass function: the first deal''s amount scaled by a power of two into [1/2, 1) (or that amount, when below 1/2), doubled as often as the cell limit required.';
CREATE FUNCTION @extschema@.bookings_error_bound(@extschema@.bookings_distribution) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bookings_error_bound' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_error_bound(@extschema@.bookings_distribution) IS
    'The largest difference, over all outcomes, between the bookings and their grid value: quantiles are within it of the true ones (0: exact on the grid).';
CREATE FUNCTION @extschema@.bookings_missing_mass(@extschema@.bookings_distribution) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bookings_missing_mass' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_missing_mass(@extschema@.bookings_distribution) IS
    'The probability mass trimmed from the far tails of the grid (at most 1e-15 per deal and side).';
CREATE FUNCTION @extschema@.bookings_quantile(@extschema@.bookings_distribution, q double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bookings_quantile' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_quantile(@extschema@.bookings_distribution, double precision) IS
    'The q-quantile of the bookings: the least grid amount whose cumulative probability reaches q (P10: q = 0.1). 22023 unless 0 <= q <= 1.';
CREATE FUNCTION @extschema@.bookings_probability_at_least(@extschema@.bookings_distribution, x double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_bookings_probability_at_least' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_probability_at_least(@extschema@.bookings_distribution, double precision) IS
    'P(bookings >= x), read from the grid. 22023 for a NaN x.';

CREATE FUNCTION @extschema@.bookings_simulate(
    amounts double precision[], probabilities double precision[], trials integer, seed integer,
    thresholds double precision[] DEFAULT '{}',
    OUT mean double precision, OUT variance double precision,
    OUT p10 double precision, OUT p50 double precision, OUT p90 double precision,
    OUT probability_at_least double precision[])
    AS 'MODULE_PATHNAME', 'crm_bookings_simulate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bookings_simulate(double precision[], double precision[], integer, integer, double precision[]) IS
    'Monte Carlo check of crm.bookings_distribution: trials (1 to 10,000,000, else 54000) draws of the deals'' outcomes from seed; the sample mean, variance, P10, P50, P90 and, per threshold, the share of draws with bookings >= it.';
