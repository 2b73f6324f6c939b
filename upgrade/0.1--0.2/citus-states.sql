-- citus-states: the NPS, CSAT and CES aggregates get real state types instead of internal, so that
-- Citus can aggregate on every shard and combine the shipped states: crm.nps, crm.nps_agg and
-- crm.nps_union keep a crm.nps_summary, crm.csat and crm.ces a new crm.counter_pair. A state type
-- cannot be altered: the aggregates (and the view that uses them) are dropped and created again,
-- with their support functions.
DROP VIEW @extschema@.survey_scores_monthly;
DROP AGGREGATE @extschema@.nps(smallint);
DROP AGGREGATE @extschema@.nps(integer);
DROP AGGREGATE @extschema@.nps_agg(smallint);
DROP AGGREGATE @extschema@.nps_agg(integer);
DROP AGGREGATE @extschema@.nps_union(@extschema@.nps_summary);
DROP AGGREGATE @extschema@.csat(smallint);
DROP AGGREGATE @extschema@.csat(integer);
DROP AGGREGATE @extschema@.csat(smallint, integer);
DROP AGGREGATE @extschema@.csat(integer, integer);
DROP AGGREGATE @extschema@.ces(smallint);
DROP AGGREGATE @extschema@.ces(integer);
DROP FUNCTION @extschema@.nps_trans(internal, smallint);
DROP FUNCTION @extschema@.nps_trans(internal, integer);
DROP FUNCTION @extschema@.nps_union_trans(internal, @extschema@.nps_summary);
DROP FUNCTION @extschema@.nps_combine(internal, internal);
DROP FUNCTION @extschema@.nps_serialize(internal);
DROP FUNCTION @extschema@.nps_deserialize(bytea, internal);
DROP FUNCTION @extschema@.nps_final(internal);
DROP FUNCTION @extschema@.nps_agg_final(internal);
DROP FUNCTION @extschema@.csat_trans(internal, smallint);
DROP FUNCTION @extschema@.csat_trans(internal, integer);
DROP FUNCTION @extschema@.csat_trans(internal, smallint, integer);
DROP FUNCTION @extschema@.csat_trans(internal, integer, integer);
DROP FUNCTION @extschema@.ces_trans(internal, smallint);
DROP FUNCTION @extschema@.ces_trans(internal, integer);
DROP FUNCTION @extschema@.counter_pair_combine(internal, internal);
DROP FUNCTION @extschema@.counter_pair_serialize(internal);
DROP FUNCTION @extschema@.counter_pair_deserialize(bytea, internal);
DROP FUNCTION @extschema@.csat_final(internal);
DROP FUNCTION @extschema@.ces_final(internal);

-- ---------------------------------------------------------------------------------------------
-- NPS aggregates: one histogram state shared by crm.nps, crm.nps_agg and crm.nps_union, the
-- crm.nps_summary itself (updated in place); only the final functions differ. A real type as the
-- state, with a combine function, lets Citus aggregate on every shard and combine the states.
CREATE FUNCTION @extschema@.nps_trans(@extschema@.nps_summary, smallint) RETURNS @extschema@.nps_summary
    AS 'MODULE_PATHNAME', 'crm_nps_trans_int2' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_trans(@extschema@.nps_summary, smallint) IS
    'Transition function of crm.nps(smallint) and crm.nps_agg(smallint): the summary with one more answer.';
CREATE FUNCTION @extschema@.nps_trans(@extschema@.nps_summary, integer) RETURNS @extschema@.nps_summary
    AS 'MODULE_PATHNAME', 'crm_nps_trans_int4' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_trans(@extschema@.nps_summary, integer) IS
    'Transition function of crm.nps(integer) and crm.nps_agg(integer): the summary with one more answer.';
CREATE FUNCTION @extschema@.nps_union_trans(@extschema@.nps_summary, @extschema@.nps_summary) RETURNS @extschema@.nps_summary
    AS 'MODULE_PATHNAME', 'crm_nps_union_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_union_trans(@extschema@.nps_summary, @extschema@.nps_summary) IS
    'Transition function of crm.nps_union.';
CREATE FUNCTION @extschema@.nps_combine(@extschema@.nps_summary, @extschema@.nps_summary) RETURNS @extschema@.nps_summary
    AS 'MODULE_PATHNAME', 'crm_nps_summary_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_combine(@extschema@.nps_summary, @extschema@.nps_summary) IS
    'Combine function of the NPS aggregates: adds two partial histograms (parallel workers, Citus shards).';
CREATE FUNCTION @extschema@.nps_final(@extschema@.nps_summary) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_nps_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_final(@extschema@.nps_summary) IS 'Final function of crm.nps(score).';
CREATE FUNCTION @extschema@.nps_agg_final(@extschema@.nps_summary) RETURNS @extschema@.nps_summary
    AS 'MODULE_PATHNAME', 'crm_nps_agg_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_agg_final(@extschema@.nps_summary) IS
    'Final function of crm.nps_agg and crm.nps_union: a copy of the state.';

CREATE AGGREGATE @extschema@.nps(smallint) (
    SFUNC = @extschema@.nps_trans, STYPE = @extschema@.nps_summary, SSPACE = 96,
    FINALFUNC = @extschema@.nps_final,
    COMBINEFUNC = @extschema@.nps_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.nps(smallint) IS
    'Net Promoter Score of 0-10 answers: % promoters (9-10) - % detractors (0-6). NULLs skipped; NULL without answers; a score outside 0-10 raises 22003.';
CREATE AGGREGATE @extschema@.nps(integer) (
    SFUNC = @extschema@.nps_trans, STYPE = @extschema@.nps_summary, SSPACE = 96,
    FINALFUNC = @extschema@.nps_final,
    COMBINEFUNC = @extschema@.nps_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.nps(integer) IS
    'Net Promoter Score of 0-10 answers: % promoters (9-10) - % detractors (0-6). NULLs skipped; NULL without answers; a score outside 0-10 raises 22003.';

CREATE AGGREGATE @extschema@.nps_agg(smallint) (
    SFUNC = @extschema@.nps_trans, STYPE = @extschema@.nps_summary, SSPACE = 96,
    FINALFUNC = @extschema@.nps_agg_final,
    COMBINEFUNC = @extschema@.nps_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.nps_agg(smallint) IS
    'The crm.nps_summary (exact histogram) of 0-10 answers. NULLs skipped; NULL without answers; a score outside 0-10 raises 22003.';
CREATE AGGREGATE @extschema@.nps_agg(integer) (
    SFUNC = @extschema@.nps_trans, STYPE = @extschema@.nps_summary, SSPACE = 96,
    FINALFUNC = @extschema@.nps_agg_final,
    COMBINEFUNC = @extschema@.nps_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.nps_agg(integer) IS
    'The crm.nps_summary (exact histogram) of 0-10 answers. NULLs skipped; NULL without answers; a score outside 0-10 raises 22003.';

CREATE AGGREGATE @extschema@.nps_union(@extschema@.nps_summary) (
    SFUNC = @extschema@.nps_union_trans, STYPE = @extschema@.nps_summary, SSPACE = 96,
    FINALFUNC = @extschema@.nps_agg_final,
    COMBINEFUNC = @extschema@.nps_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.nps_union(@extschema@.nps_summary) IS
    'Merge of summaries (exact roll-up): the summary of all their answers. NULLs skipped; NULL without summaries.';

-- ---------------------------------------------------------------------------------------------
-- CSAT and CES aggregates: two int64 counters (positive and all answers; sum and number of
-- scores), the state type crm.counter_pair (updated in place).
CREATE TYPE @extschema@.counter_pair;

CREATE FUNCTION @extschema@.counter_pair_in(cstring) RETURNS @extschema@.counter_pair
    AS 'MODULE_PATHNAME', 'crm_counter_pair_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.counter_pair_in(cstring) IS
    'Text input of crm.counter_pair: (part,total), two non-negative integers, part 0 when total is.';
CREATE FUNCTION @extschema@.counter_pair_out(@extschema@.counter_pair) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_counter_pair_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.counter_pair_out(@extschema@.counter_pair) IS
    'Text output of crm.counter_pair: (part,total).';
CREATE FUNCTION @extschema@.counter_pair_recv(internal) RETURNS @extschema@.counter_pair
    AS 'MODULE_PATHNAME', 'crm_counter_pair_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.counter_pair_recv(internal) IS
    'Binary input of crm.counter_pair: a 4-byte version word (1), then part and total as 8-byte integers, network byte order.';
CREATE FUNCTION @extschema@.counter_pair_send(@extschema@.counter_pair) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_counter_pair_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.counter_pair_send(@extschema@.counter_pair) IS
    'Binary output of crm.counter_pair: a 4-byte version word (1), then part and total as 8-byte integers, network byte order.';

-- Every value is 24 bytes: plain storage, as crm.nps_summary.
CREATE TYPE @extschema@.counter_pair (
    INPUT = @extschema@.counter_pair_in,
    OUTPUT = @extschema@.counter_pair_out,
    RECEIVE = @extschema@.counter_pair_recv,
    SEND = @extschema@.counter_pair_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE @extschema@.counter_pair IS
    'The partial state of crm.csat and crm.ces: two counters (CSAT: positive answers and all answers; CES: the sum of the scores and the number of answers).';

CREATE FUNCTION @extschema@.csat_trans(@extschema@.counter_pair, smallint) RETURNS @extschema@.counter_pair
    AS 'MODULE_PATHNAME', 'crm_csat_trans_int2' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.csat_trans(@extschema@.counter_pair, smallint) IS 'Transition function of crm.csat(smallint).';
CREATE FUNCTION @extschema@.csat_trans(@extschema@.counter_pair, integer) RETURNS @extschema@.counter_pair
    AS 'MODULE_PATHNAME', 'crm_csat_trans_int4' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.csat_trans(@extschema@.counter_pair, integer) IS 'Transition function of crm.csat(integer).';
CREATE FUNCTION @extschema@.csat_trans(@extschema@.counter_pair, smallint, integer) RETURNS @extschema@.counter_pair
    AS 'MODULE_PATHNAME', 'crm_csat_threshold_trans_int2' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.csat_trans(@extschema@.counter_pair, smallint, integer) IS
    'Transition function of crm.csat(smallint, integer).';
CREATE FUNCTION @extschema@.csat_trans(@extschema@.counter_pair, integer, integer) RETURNS @extschema@.counter_pair
    AS 'MODULE_PATHNAME', 'crm_csat_threshold_trans_int4' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.csat_trans(@extschema@.counter_pair, integer, integer) IS
    'Transition function of crm.csat(integer, integer).';
CREATE FUNCTION @extschema@.ces_trans(@extschema@.counter_pair, smallint) RETURNS @extschema@.counter_pair
    AS 'MODULE_PATHNAME', 'crm_ces_trans_int2' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ces_trans(@extschema@.counter_pair, smallint) IS 'Transition function of crm.ces(smallint).';
CREATE FUNCTION @extschema@.ces_trans(@extschema@.counter_pair, integer) RETURNS @extschema@.counter_pair
    AS 'MODULE_PATHNAME', 'crm_ces_trans_int4' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ces_trans(@extschema@.counter_pair, integer) IS 'Transition function of crm.ces(integer).';
CREATE FUNCTION @extschema@.counter_pair_combine(@extschema@.counter_pair, @extschema@.counter_pair) RETURNS @extschema@.counter_pair
    AS 'MODULE_PATHNAME', 'crm_counter_pair_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.counter_pair_combine(@extschema@.counter_pair, @extschema@.counter_pair) IS
    'Combine function of crm.csat and crm.ces: adds two partial counter pairs (parallel workers, Citus shards); beyond 2^63 - 1 raises 22003.';
CREATE FUNCTION @extschema@.csat_final(@extschema@.counter_pair) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_csat_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.csat_final(@extschema@.counter_pair) IS 'Final function of crm.csat: 100 * part / total, NULL for no answers.';
CREATE FUNCTION @extschema@.ces_final(@extschema@.counter_pair) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_ces_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ces_final(@extschema@.counter_pair) IS 'Final function of crm.ces: part / total, NULL for no answers.';

CREATE AGGREGATE @extschema@.csat(smallint) (
    SFUNC = @extschema@.csat_trans, STYPE = @extschema@.counter_pair, SSPACE = 24, FINALFUNC = @extschema@.csat_final,
    COMBINEFUNC = @extschema@.counter_pair_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.csat(smallint) IS
    'Customer satisfaction: % of 1-5 answers that are 4 or 5. NULLs skipped; NULL without answers; a score outside 1-5 raises 22003.';
CREATE AGGREGATE @extschema@.csat(integer) (
    SFUNC = @extschema@.csat_trans, STYPE = @extschema@.counter_pair, SSPACE = 24, FINALFUNC = @extschema@.csat_final,
    COMBINEFUNC = @extschema@.counter_pair_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.csat(integer) IS
    'Customer satisfaction: % of 1-5 answers that are 4 or 5. NULLs skipped; NULL without answers; a score outside 1-5 raises 22003.';
CREATE AGGREGATE @extschema@.csat(smallint, positive_threshold integer) (
    SFUNC = @extschema@.csat_trans, STYPE = @extschema@.counter_pair, SSPACE = 24, FINALFUNC = @extschema@.csat_final,
    COMBINEFUNC = @extschema@.counter_pair_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.csat(smallint, integer) IS
    'Customer satisfaction: % of 1-5 answers at or above positive_threshold (1-5, else 22023). Rows with a NULL score or threshold skipped; NULL without answers; a score outside 1-5 raises 22003.';
CREATE AGGREGATE @extschema@.csat(integer, positive_threshold integer) (
    SFUNC = @extschema@.csat_trans, STYPE = @extschema@.counter_pair, SSPACE = 24, FINALFUNC = @extschema@.csat_final,
    COMBINEFUNC = @extschema@.counter_pair_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.csat(integer, integer) IS
    'Customer satisfaction: % of 1-5 answers at or above positive_threshold (1-5, else 22023). Rows with a NULL score or threshold skipped; NULL without answers; a score outside 1-5 raises 22003.';

CREATE AGGREGATE @extschema@.ces(smallint) (
    SFUNC = @extschema@.ces_trans, STYPE = @extschema@.counter_pair, SSPACE = 24, FINALFUNC = @extschema@.ces_final,
    COMBINEFUNC = @extschema@.counter_pair_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ces(smallint) IS
    'Customer effort score: the mean of 1-7 answers. NULLs skipped; NULL without answers; a score outside 1-7 raises 22003.';
CREATE AGGREGATE @extschema@.ces(integer) (
    SFUNC = @extschema@.ces_trans, STYPE = @extschema@.counter_pair, SSPACE = 24, FINALFUNC = @extschema@.ces_final,
    COMBINEFUNC = @extschema@.counter_pair_combine, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ces(integer) IS
    'Customer effort score: the mean of 1-7 answers. NULLs skipped; NULL without answers; a score outside 1-7 raises 22003.';

-- ---------------------------------------------------------------------------------------------
-- Survey scores per month and per account. security_invoker: whoever reads the view sees only
-- the answers and contacts their own rights (and row-level security) let them see.
CREATE VIEW @extschema@.survey_scores_monthly WITH (security_invoker = true) AS
SELECT answer.month,
       answer.account_id,
       GROUPING(answer.account_id) = 1 AS all_accounts,
       COALESCE(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps'),
                '(0,0,0,0,0,0,0,0,0,0,0)'::@extschema@.nps_summary) AS nps_summary,
       @extschema@.nps(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps')) AS nps,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'nps') AS nps_responses,
       @extschema@.nps_moe(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps')) AS nps_moe,
       @extschema@.csat(answer.score) FILTER (WHERE answer.kind = 'csat') AS csat,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'csat') AS csat_responses,
       @extschema@.ces(answer.score) FILTER (WHERE answer.kind = 'ces') AS ces,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'ces') AS ces_responses
FROM (SELECT pg_catalog.date_trunc('month', r.responded_at)::date AS month, c.account_id, r.kind, r.score
      FROM @extschema@.survey_responses r
      JOIN @extschema@.contacts c ON c.contact_id = r.contact_id) answer
GROUP BY GROUPING SETS ((answer.month, answer.account_id), (answer.month));
COMMENT ON VIEW @extschema@.survey_scores_monthly IS
    'NPS (with its summary and 95% margin of error), CSAT and CES with their answer counts per calendar month (session time zone) and account. account_id NULL with all_accounts false: contacts without an account (B2C); all_accounts true: every answer of the month. Roll summaries up with crm.nps_union.';
GRANT SELECT ON @extschema@.survey_scores_monthly TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;


-- The CLV fits (crm.bgnbd_fit, crm.gammagamma_fit) keep their distinct customer summaries in a
-- new type, crm.clv_fit_state, instead of internal: dropped and created again with their support
-- functions (no view depends on them; crm.fit_clv_models calls them from PL/pgSQL).
DROP AGGREGATE @extschema@.bgnbd_fit(integer, double precision, double precision);
DROP AGGREGATE @extschema@.bgnbd_fit(integer, double precision, double precision, double precision);
DROP AGGREGATE @extschema@.gammagamma_fit(integer, double precision);
DROP AGGREGATE @extschema@.gammagamma_fit(integer, double precision, double precision);
DROP FUNCTION @extschema@.bgnbd_trans(internal, integer, double precision, double precision);
DROP FUNCTION @extschema@.bgnbd_trans(internal, integer, double precision, double precision, double precision);
DROP FUNCTION @extschema@.gammagamma_trans(internal, integer, double precision);
DROP FUNCTION @extschema@.gammagamma_trans(internal, integer, double precision, double precision);
DROP FUNCTION @extschema@.customer_summaries_combine(internal, internal);
DROP FUNCTION @extschema@.customer_summaries_serialize(internal);
DROP FUNCTION @extschema@.customer_summaries_deserialize(bytea, internal);
DROP FUNCTION @extschema@.bgnbd_final(internal);
DROP FUNCTION @extschema@.gammagamma_final(internal);

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


-- crm.clv_summary keeps its transactions in a new type, crm.clv_summary_state, instead of
-- internal. The two views that call it are dropped first and created again after, exactly as 0.1
-- made them (with their comments and grants; later fragments bring them up to date). Privileges a
-- database's own administrators granted on them must be granted again.
DROP VIEW @extschema@.customer_360;
DROP VIEW @extschema@.customer_clv_summaries;
DROP AGGREGATE @extschema@.clv_summary(timestamptz, double precision, timestamptz, double precision);
DROP FUNCTION @extschema@.clv_summary_trans(internal, timestamptz, double precision, timestamptz, double precision);
DROP FUNCTION @extschema@.clv_summary_combine(internal, internal);
DROP FUNCTION @extschema@.clv_summary_serialize(internal);
DROP FUNCTION @extschema@.clv_summary_deserialize(bytea, internal);
DROP FUNCTION @extschema@.clv_summary_final(internal);

-- The aggregate's state: the customer's transactions (a real type, so that Citus can summarise
-- on every shard and merge the shipped states when not grouping by the distribution column).
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

-- The views, as 0.1 made them.
CREATE VIEW @extschema@.customer_clv_summaries WITH (security_invoker = true) AS
SELECT o.contact_id, (@extschema@.clv_summary(o.ordered_at, o.total::double precision, now(), 7::double precision)).*
FROM @extschema@.orders o
WHERE o.status IN ('paid', 'shipped') AND o.ordered_at <= now()
GROUP BY o.contact_id;
COMMENT ON VIEW @extschema@.customer_clv_summaries IS
    'Every buyer''s CLV summary as of now, in weeks: x repeat purchase days, t_x and big_t since the first purchase, m the mean value of the repeat purchase days (NULL without any); purchases are orders paid or shipped. crm.customer_summaries(as_of, time_unit_days) gives the same for another date or unit.';
GRANT SELECT ON @extschema@.customer_clv_summaries TO crm_admin, crm_manager, crm_analyst;

CREATE VIEW @extschema@.customer_360 WITH (security_invoker = true) AS
SELECT c.contact_id,
       c.first_name,
       c.last_name,
       c.email,
       c.country,
       c.title,
       c.created_at,
       c.account_id,
       a.name AS account_name,
       c.owner_id,
       u.full_name AS owner_name,
       c.lifecycle_stage,
       c.marketing_consent,
       coalesce(o.orders, 0) AS orders,
       coalesce(o.total_spent, 0) AS total_spent,
       o.first_order_at,
       o.last_order_at,
       r.as_of AS rfm_as_of,
       r.rfm,
       @extschema@.recency_score(r.rfm) AS recency_score,
       @extschema@.frequency_score(r.rfm) AS frequency_score,
       @extschema@.monetary_score(r.rfm) AS monetary_score,
       r.segment AS rfm_segment,
       coalesce(t.open_tickets, 0) AS open_tickets,
       n.score AS nps_score,
       n.responded_at AS nps_responded_at,
       act.last_activity_at,
       act.last_email_at,
       act.last_phone_at,
       act.last_meeting_at,
       act.last_chat_at,
       act.last_social_at,
       act.last_web_at,
       act.last_sms_at,
       l.lead_score,
       l.lead_grade,
       v.p_alive,
       v.expected_purchases_90d,
       v.clv_12m
FROM @extschema@.contacts c
LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
LEFT JOIN @extschema@.users u ON u.user_id = c.owner_id
LEFT JOIN @extschema@.customer_order_stats o ON o.contact_id = c.contact_id
LEFT JOIN (
    SELECT h.contact_id, h.as_of, h.rfm, h.segment
    FROM @extschema@.rfm_history h
    WHERE h.as_of = (SELECT max(latest.as_of) FROM @extschema@.rfm_history latest)
) r ON r.contact_id = c.contact_id
LEFT JOIN (
    SELECT tk.contact_id, count(*) AS open_tickets
    FROM @extschema@.tickets tk
    WHERE tk.status NOT IN ('resolved', 'closed')
    GROUP BY tk.contact_id
) t ON t.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (s.contact_id) s.contact_id, s.score, s.responded_at
    FROM @extschema@.survey_responses s
    WHERE s.kind = 'nps'
    ORDER BY s.contact_id, s.responded_at DESC, s.response_id DESC
) n ON n.contact_id = c.contact_id
LEFT JOIN (
    SELECT ac.contact_id,
           max(ac.occurred_at) AS last_activity_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'email') AS last_email_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'phone') AS last_phone_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'meeting') AS last_meeting_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'chat') AS last_chat_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'social') AS last_social_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'web') AS last_web_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'sms') AS last_sms_at
    FROM @extschema@.activities ac
    GROUP BY ac.contact_id
) act ON act.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (ld.contact_id) ld.contact_id, ld.score AS lead_score, ld.grade AS lead_grade
    FROM @extschema@.leads ld
    ORDER BY ld.contact_id, ld.score DESC, ld.lead_id DESC
) l ON l.contact_id = c.contact_id
-- CLV from the latest stored model (crm.fit_clv_models), from this contact's purchases alone, so
-- a query for a few contacts costs a few index scans, not a pass over every customer.
LEFT JOIN LATERAL (
    SELECT @extschema@.bgnbd_p_alive(m.bgnbd, s.x, s.t_x, s.big_t) AS p_alive,
           @extschema@.bgnbd_expected_purchases(m.bgnbd, 90 / m.time_unit_days, s.x, s.t_x, s.big_t) AS expected_purchases_90d,
           CASE WHEN m.gammagamma IS NOT NULL
                THEN @extschema@.clv(m.bgnbd, m.gammagamma, s.x, s.t_x, s.big_t, s.m, 12, 0.01, 30.4375 / m.time_unit_days)
           END AS clv_12m
    FROM (SELECT cm.bgnbd, cm.gammagamma, cm.time_unit_days FROM @extschema@.clv_models cm
          ORDER BY cm.fitted_at DESC, cm.model_id DESC LIMIT 1) m,
         LATERAL (SELECT (@extschema@.clv_summary(o.ordered_at, o.total::double precision, now(), m.time_unit_days)).*
                  FROM @extschema@.orders o
                  WHERE o.contact_id = c.contact_id AND o.status IN ('paid', 'shipped') AND o.ordered_at <= now()) s
    WHERE s.x IS NOT NULL
) v ON true;
COMMENT ON VIEW @extschema@.customer_360 IS
    'One row per contact: account, owner, lifecycle stage, consent, purchases (orders paid or shipped; 0 when none), the RFM score and segment of the latest crm.refresh_rfm snapshot (NULL if not a customer then), open tickets, the latest NPS answer, the last activity per channel, the best-scored lead''s score and grade, and from the latest stored CLV model P(alive), the purchases expected in the next 90 days and the 12-month CLV (NULL without a model or purchases). Rows the reader may see only (security_invoker).';

-- Support staff, who see contacts through their tickets but not the sales records, use the queue.
GRANT SELECT ON @extschema@.customer_360 TO crm_admin, crm_manager, crm_sales, crm_analyst;
