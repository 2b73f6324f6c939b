-- src/attribution.sql: multi-touch attribution (src/attribution.c). crm.attribute splits one
-- conversion's value over its touches by a heuristic model, exactly to the value's last decimal;
-- the aggregate crm.markov_attribution fits a first-order Markov chain over journeys into a
-- crm.markov_model, read with crm.markov_transition_matrix, crm.markov_conversion_probability and
-- crm.markov_removal_effects (exact removal effects from the absorbing chain).

CREATE FUNCTION @extschema@.attribute(
    channels text[], touched_at timestamptz[], value numeric, model text,
    converted_at timestamptz DEFAULT NULL, lookback interval DEFAULT NULL,
    half_life interval DEFAULT '7 days', milestones integer[] DEFAULT NULL)
RETURNS TABLE ("position" integer, channel text, credit numeric)
AS 'MODULE_PATHNAME', 'crm_attribute' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 5;
COMMENT ON FUNCTION @extschema@.attribute(text[], timestamptz[], numeric, text, timestamptz, interval, interval, integer[]) IS
    'Splits a conversion''s value over its touches by a heuristic model (first_touch, last_touch, linear, time_decay, position_based, w_shaped): one row per touch, credits at the value''s scale summing to it exactly (largest remainder). Touches outside [converted_at - lookback, converted_at] get 0.';

-- ---------------------------------------------------------------------------------------------
-- crm.touch_path: a conversion's touches gathered by the aggregate crm.touch_path (in place, no
-- arrays), split by crm.attribute(path, ...); crm.first_touch and crm.last_touch keep only the
-- touch that takes all the credit in those models. Path order: time, then channel (byte order,
-- NULL last), then milestone.
CREATE TYPE @extschema@.touch_path;

CREATE FUNCTION @extschema@.touch_path_in(cstring) RETURNS @extschema@.touch_path
    AS 'MODULE_PATHNAME', 'crm_touch_path_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.touch_path_in(cstring) IS
    'Text input of crm.touch_path: 1;count then ;at,milestone,length:channel per touch (at in microseconds since 2000-01-01 00:00 UTC, milestone 0 to 3, length -1 for a NULL channel).';
CREATE FUNCTION @extschema@.touch_path_out(@extschema@.touch_path) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_touch_path_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.touch_path_out(@extschema@.touch_path) IS
    'Text output of crm.touch_path: 1;count then ;at,milestone,length:channel per touch, in path order.';
CREATE FUNCTION @extschema@.touch_path_recv(internal) RETURNS @extschema@.touch_path
    AS 'MODULE_PATHNAME', 'crm_touch_path_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.touch_path_recv(internal) IS
    'Binary input of crm.touch_path: the form touch_path_send writes, validated like the text form.';
CREATE FUNCTION @extschema@.touch_path_send(@extschema@.touch_path) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_touch_path_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.touch_path_send(@extschema@.touch_path) IS
    'Binary output of crm.touch_path: int32 version (1), int32 count, then per touch in path order int64 at, int32 milestone, int32 length (-1 for NULL) and the channel''s bytes.';

CREATE TYPE @extschema@.touch_path (
    INPUT = @extschema@.touch_path_in,
    OUTPUT = @extschema@.touch_path_out,
    RECEIVE = @extschema@.touch_path_recv,
    SEND = @extschema@.touch_path_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.touch_path IS
    'The touches of one conversion (instant, channel, milestone), gathered by the aggregates crm.touch_path, crm.first_touch and crm.last_touch; split by crm.attribute(path, value, model, ...).';

CREATE FUNCTION @extschema@.touch_path_add(@extschema@.touch_path, text, timestamptz)
RETURNS @extschema@.touch_path
AS 'MODULE_PATHNAME', 'crm_touch_path_add' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.touch_path_add(@extschema@.touch_path, text, timestamptz) IS
    'Support function of touch_path: appends one touch (none when touched_at is NULL).';
CREATE FUNCTION @extschema@.touch_path_add(@extschema@.touch_path, text, timestamptz, integer)
RETURNS @extschema@.touch_path
AS 'MODULE_PATHNAME', 'crm_touch_path_add' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.touch_path_add(@extschema@.touch_path, text, timestamptz, integer) IS
    'Support function of touch_path: appends one touch with its milestones (none when touched_at is NULL).';
CREATE FUNCTION @extschema@.touch_path_combine(@extschema@.touch_path, @extschema@.touch_path)
RETURNS @extschema@.touch_path
AS 'MODULE_PATHNAME', 'crm_touch_path_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.touch_path_combine(@extschema@.touch_path, @extschema@.touch_path) IS
    'Support function of touch_path: the touches of both paths.';

CREATE AGGREGATE @extschema@.touch_path(channel text, touched_at timestamptz) (
    SFUNC = @extschema@.touch_path_add,
    STYPE = @extschema@.touch_path,
    COMBINEFUNC = @extschema@.touch_path_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.touch_path(text, timestamptz) IS
    'The touches of a conversion as a crm.touch_path for crm.attribute(path, ...). Rows with a NULL touched_at are no touch (a LEFT JOIN''s conversion without touches); a NULL channel is a touch of no known channel; 22023 for an infinite touched_at; NULL without touches.';
CREATE AGGREGATE @extschema@.touch_path(channel text, touched_at timestamptz, milestone integer) (
    SFUNC = @extschema@.touch_path_add,
    STYPE = @extschema@.touch_path,
    COMBINEFUNC = @extschema@.touch_path_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.touch_path(text, timestamptz, integer) IS
    'The touches of a conversion with the W-shaped model''s milestones: 1 marks the lead-creation touch, 2 the opportunity touch, 3 both, 0 or NULL neither (22023 otherwise).';

CREATE FUNCTION @extschema@.first_touch_add(@extschema@.touch_path, text, timestamptz)
RETURNS @extschema@.touch_path
AS 'MODULE_PATHNAME', 'crm_first_touch_add' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.first_touch_add(@extschema@.touch_path, text, timestamptz) IS
    'Support function of first_touch: keeps the earlier of the kept touch and this one (path order).';
CREATE FUNCTION @extschema@.first_touch_combine(@extschema@.touch_path, @extschema@.touch_path)
RETURNS @extschema@.touch_path
AS 'MODULE_PATHNAME', 'crm_first_touch_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.first_touch_combine(@extschema@.touch_path, @extschema@.touch_path) IS
    'Support function of first_touch: the first touch of both paths.';
CREATE FUNCTION @extschema@.last_touch_add(@extschema@.touch_path, text, timestamptz)
RETURNS @extschema@.touch_path
AS 'MODULE_PATHNAME', 'crm_last_touch_add' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.last_touch_add(@extschema@.touch_path, text, timestamptz) IS
    'Support function of last_touch: keeps the later of the kept touch and this one (path order).';
CREATE FUNCTION @extschema@.last_touch_combine(@extschema@.touch_path, @extschema@.touch_path)
RETURNS @extschema@.touch_path
AS 'MODULE_PATHNAME', 'crm_last_touch_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.last_touch_combine(@extschema@.touch_path, @extschema@.touch_path) IS
    'Support function of last_touch: the last touch of both paths.';
CREATE FUNCTION @extschema@.touch_path_first_channel(path @extschema@.touch_path) RETURNS text
AS 'MODULE_PATHNAME', 'crm_touch_path_first_channel' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.touch_path_first_channel(@extschema@.touch_path) IS
    'The channel of the path''s first touch (path order: time, then channel); NULL for a NULL channel or no touches.';
CREATE FUNCTION @extschema@.touch_path_last_channel(path @extschema@.touch_path) RETURNS text
AS 'MODULE_PATHNAME', 'crm_touch_path_last_channel' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.touch_path_last_channel(@extschema@.touch_path) IS
    'The channel of the path''s last touch (path order: time, then channel); NULL for a NULL channel or no touches.';

CREATE AGGREGATE @extschema@.first_touch(channel text, touched_at timestamptz) (
    SFUNC = @extschema@.first_touch_add,
    STYPE = @extschema@.touch_path,
    FINALFUNC = @extschema@.touch_path_first_channel,
    COMBINEFUNC = @extschema@.first_touch_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.first_touch(text, timestamptz) IS
    'The channel of the earliest touch (ties: the first channel in byte order), the one first-touch attribution credits with the whole value; rows with a NULL touched_at are skipped; NULL without touches.';
CREATE AGGREGATE @extschema@.last_touch(channel text, touched_at timestamptz) (
    SFUNC = @extschema@.last_touch_add,
    STYPE = @extschema@.touch_path,
    FINALFUNC = @extschema@.touch_path_last_channel,
    COMBINEFUNC = @extschema@.last_touch_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.last_touch(text, timestamptz) IS
    'The channel of the latest touch (ties: the last channel in byte order), the one last-touch attribution credits with the whole value; rows with a NULL touched_at are skipped; NULL without touches.';

CREATE FUNCTION @extschema@.attribute(
    path @extschema@.touch_path, value numeric, model text,
    converted_at timestamptz DEFAULT NULL, lookback interval DEFAULT NULL,
    half_life interval DEFAULT '7 days')
RETURNS TABLE ("position" integer, channel text, credit numeric)
AS 'MODULE_PATHNAME', 'crm_attribute_path' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 5;
COMMENT ON FUNCTION @extschema@.attribute(@extschema@.touch_path, numeric, text, timestamptz, interval, interval) IS
    'Splits a conversion''s value over the touches of a crm.touch_path by a heuristic model, as crm.attribute over arrays does: one row per touch in path order (time, then channel), credits summing to the value exactly; the w_shaped model takes its milestones from the touches marked in the path.';

-- ---------------------------------------------------------------------------------------------
-- crm.channel_credits: the credit per channel over many conversions' paths in one aggregate (its
-- state crm.credit_totals: exact totals per channel, mergeable), returned as crm.channel_credit[]
CREATE TYPE @extschema@.channel_credit AS (channel text, credit numeric);
COMMENT ON TYPE @extschema@.channel_credit IS
    'A channel and its total attributed credit: the elements of crm.channel_credits'' result.';

CREATE TYPE @extschema@.credit_totals;

CREATE FUNCTION @extschema@.credit_totals_in(cstring) RETURNS @extschema@.credit_totals
    AS 'MODULE_PATHNAME', 'crm_credit_totals_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.credit_totals_in(cstring) IS
    'Text input of crm.credit_totals: 1;model;scale;half_life;conversions;count then ;total,length:channel per channel in byte order (NULL last, length -1), totals in units of 10^-scale.';
CREATE FUNCTION @extschema@.credit_totals_out(@extschema@.credit_totals) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_credit_totals_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.credit_totals_out(@extschema@.credit_totals) IS
    'Text output of crm.credit_totals: 1;model;scale;half_life;conversions;count then ;total,length:channel per channel.';
CREATE FUNCTION @extschema@.credit_totals_recv(internal) RETURNS @extschema@.credit_totals
    AS 'MODULE_PATHNAME', 'crm_credit_totals_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.credit_totals_recv(internal) IS
    'Binary input of crm.credit_totals: the form credit_totals_send writes, validated like the text form.';
CREATE FUNCTION @extschema@.credit_totals_send(@extschema@.credit_totals) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_credit_totals_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.credit_totals_send(@extschema@.credit_totals) IS
    'Binary output of crm.credit_totals: int32 version (1), model, scale, int64 half-life, conversions, int32 channel count, then per channel int64 high and low halves of the total, int32 length (-1 for NULL) and the bytes.';

CREATE TYPE @extschema@.credit_totals (
    INPUT = @extschema@.credit_totals_in,
    OUTPUT = @extschema@.credit_totals_out,
    RECEIVE = @extschema@.credit_totals_recv,
    SEND = @extschema@.credit_totals_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.credit_totals IS
    'The state of crm.channel_credits: the model (0 first_touch .. 5 w_shaped), the half-life of time_decay in microseconds, the conversions counted, and each channel''s exact total credit.';

CREATE FUNCTION @extschema@.channel_credits_add(@extschema@.credit_totals, @extschema@.touch_path, numeric, text)
RETURNS @extschema@.credit_totals
AS 'MODULE_PATHNAME', 'crm_channel_credits_add' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.channel_credits_add(@extschema@.credit_totals, @extschema@.touch_path, numeric, text) IS
    'Support function of channel_credits: adds one conversion''s credits to the channels'' totals.';
CREATE FUNCTION @extschema@.channel_credits_add(@extschema@.credit_totals, @extschema@.touch_path, numeric, text,
                                                timestamptz, interval, interval)
RETURNS @extschema@.credit_totals
AS 'MODULE_PATHNAME', 'crm_channel_credits_add' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.channel_credits_add(@extschema@.credit_totals, @extschema@.touch_path, numeric, text, timestamptz, interval, interval) IS
    'Support function of channel_credits: adds one conversion''s credits (with its window and half-life) to the channels'' totals.';
CREATE FUNCTION @extschema@.channel_credits_combine(@extschema@.credit_totals, @extschema@.credit_totals)
RETURNS @extschema@.credit_totals
AS 'MODULE_PATHNAME', 'crm_channel_credits_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.channel_credits_combine(@extschema@.credit_totals, @extschema@.credit_totals) IS
    'Support function of channel_credits: adds two states'' totals (the same model).';
CREATE FUNCTION @extschema@.channel_credits_final(@extschema@.credit_totals)
RETURNS @extschema@.channel_credit[]
AS 'MODULE_PATHNAME', 'crm_channel_credits_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.channel_credits_final(@extschema@.credit_totals) IS
    'Support function of channel_credits: the totals as (channel, credit) elements by channel (byte order, NULL last).';

CREATE AGGREGATE @extschema@.channel_credits(path @extschema@.touch_path, value numeric, model text) (
    SFUNC = @extschema@.channel_credits_add,
    STYPE = @extschema@.credit_totals,
    FINALFUNC = @extschema@.channel_credits_final,
    COMBINEFUNC = @extschema@.channel_credits_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.channel_credits(@extschema@.touch_path, numeric, text) IS
    'The credit per channel over conversions: each row''s value split over its path as crm.attribute(path, value, model) does (time_decay: a 7-day half-life), summed exactly per channel; (channel, credit) elements by channel. Rows with a NULL path, value or model add nothing; one model for all rows (22023).';
CREATE AGGREGATE @extschema@.channel_credits(path @extschema@.touch_path, value numeric, model text,
                                             converted_at timestamptz, lookback interval, half_life interval) (
    SFUNC = @extschema@.channel_credits_add,
    STYPE = @extschema@.credit_totals,
    FINALFUNC = @extschema@.channel_credits_final,
    COMBINEFUNC = @extschema@.channel_credits_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.channel_credits(@extschema@.touch_path, numeric, text, timestamptz, interval, interval) IS
    'The credit per channel over conversions, each with its window (converted_at, lookback) and the half-life of time_decay, as crm.attribute(path, ...) splits it; one model and half-life for all rows (22023).';

-- ---------------------------------------------------------------------------------------------
-- crm.markov_model: first-order transition counts between (start), the channels, (conversion)
-- and (null), with the journey and conversion counts and the total conversion value
CREATE TYPE @extschema@.markov_model;

CREATE FUNCTION @extschema@.markov_model_in(cstring) RETURNS @extschema@.markov_model
    AS 'MODULE_PATHNAME', 'crm_markov_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_model_in(cstring) IS
    'Text input of crm.markov_model: 1;journeys;conversions;total value;from>to:count,...;{channel,...} (states: 0 (start), 1..C the channels in the order listed, C+1 (conversion), C+2 (null)).';
CREATE FUNCTION @extschema@.markov_model_out(@extschema@.markov_model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_markov_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_model_out(@extschema@.markov_model) IS
    'Text output of crm.markov_model: 1;journeys;conversions;total value;from>to:count,...;{channel,...}, channels sorted by name (byte order), transitions ascending.';
CREATE FUNCTION @extschema@.markov_model_recv(internal) RETURNS @extschema@.markov_model
    AS 'MODULE_PATHNAME', 'crm_markov_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_model_recv(internal) IS
    'Binary input of crm.markov_model: the form markov_model_send writes, validated like the text form.';
CREATE FUNCTION @extschema@.markov_model_send(@extschema@.markov_model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_markov_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_model_send(@extschema@.markov_model) IS
    'Binary output of crm.markov_model: int32 version (1), int64 journeys, int64 conversions, the total value as text, int32 channel count and the names, int32 transition count and (int32 from, int32 to, int64 count) each; texts as int32 length and bytes.';

CREATE TYPE @extschema@.markov_model (
    INPUT = @extschema@.markov_model_in,
    OUTPUT = @extschema@.markov_model_out,
    RECEIVE = @extschema@.markov_model_recv,
    SEND = @extschema@.markov_model_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.markov_model IS
    'First-order Markov attribution model: transition counts between (start), up to 1000 channels, (conversion) and (null), the journey and conversion counts and the total conversion value. Built by crm.markov_attribution; read with crm.markov_transition_matrix, crm.markov_conversion_probability, crm.markov_removal_effects.';

CREATE FUNCTION @extschema@.markov_attribution_trans(@extschema@.markov_model, text[], boolean)
RETURNS @extschema@.markov_model
AS 'MODULE_PATHNAME', 'crm_markov_attribution_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_attribution_trans(@extschema@.markov_model, text[], boolean) IS
    'Support function of markov_attribution: adds one journey''s transitions to the model.';
CREATE FUNCTION @extschema@.markov_attribution_trans(@extschema@.markov_model, text[], boolean, numeric)
RETURNS @extschema@.markov_model
AS 'MODULE_PATHNAME', 'crm_markov_attribution_value_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_attribution_trans(@extschema@.markov_model, text[], boolean, numeric) IS
    'Support function of markov_attribution: adds one journey''s transitions, and its value when it converted, to the model.';
CREATE FUNCTION @extschema@.markov_attribution_combine(@extschema@.markov_model, @extschema@.markov_model)
RETURNS @extschema@.markov_model
AS 'MODULE_PATHNAME', 'crm_markov_attribution_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_attribution_combine(@extschema@.markov_model, @extschema@.markov_model) IS
    'Support function of markov_attribution: adds two models'' counts (channels matched by name).';

CREATE AGGREGATE @extschema@.markov_attribution(path text[], converted boolean) (
    SFUNC = @extschema@.markov_attribution_trans,
    STYPE = @extschema@.markov_model,
    COMBINEFUNC = @extschema@.markov_attribution_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.markov_attribution(text[], boolean) IS
    'First-order Markov model of journeys: (start) -> path[1] -> ... -> path[n] -> (conversion) or (null). Rows with a NULL or empty path or a NULL converted are skipped; 22004 for a NULL channel; NULL without rows.';
CREATE AGGREGATE @extschema@.markov_attribution(path text[], converted boolean, value numeric) (
    SFUNC = @extschema@.markov_attribution_trans,
    STYPE = @extschema@.markov_model,
    COMBINEFUNC = @extschema@.markov_attribution_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.markov_attribution(text[], boolean, numeric) IS
    'First-order Markov model of journeys, also summing the value of converted journeys (NULL values add nothing; 22023 for a negative or non-finite value).';

CREATE FUNCTION @extschema@.markov_transition_matrix(model @extschema@.markov_model)
RETURNS TABLE (from_state text, to_state text, transitions bigint, probability double precision)
AS 'MODULE_PATHNAME', 'crm_markov_transition_matrix' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_transition_matrix(@extschema@.markov_model) IS
    'The observed transitions of a Markov model with their counts and probabilities (count / transitions out of from_state); transitions never observed have probability 0 and no row.';

CREATE FUNCTION @extschema@.markov_conversion_probability(model @extschema@.markov_model)
RETURNS double precision
AS 'MODULE_PATHNAME', 'crm_markov_conversion_probability' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_conversion_probability(@extschema@.markov_model) IS
    'The probability that the absorbing chain goes from (start) to (conversion), solved exactly; NULL for a model without journeys.';

CREATE FUNCTION @extschema@.markov_removal_effects(model @extschema@.markov_model)
RETURNS TABLE (channel text, conversion_probability_without double precision, removal_effect double precision,
               share double precision, credit numeric)
AS 'MODULE_PATHNAME', 'crm_markov_removal_effects' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.markov_removal_effects(@extschema@.markov_model) IS
    'Per channel: the conversion probability with the channel removed (its transitions lead to (null)), the removal effect 1 - P(without) / P, its share of all removal effects, and that share of the total value (summing to it exactly). Effects, shares and credits are NULL without conversions.';
