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

