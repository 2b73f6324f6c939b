-- src/nps.sql: Net Promoter Score, CSAT and CES. Parallel aggregates in C (src/nps.c), the exact
-- and mergeable crm.nps_summary type, a monthly per-account view and the detractor follow-up
-- trigger that closes the loop.

-- ---------------------------------------------------------------------------------------------
-- crm.nps_summary: the exact 0-10 answer histogram
CREATE TYPE @extschema@.nps_summary;

CREATE FUNCTION @extschema@.nps_summary_in(cstring) RETURNS @extschema@.nps_summary
    AS 'MODULE_PATHNAME', 'crm_nps_summary_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_summary_in(cstring) IS
    'Text input of crm.nps_summary: (c0,c1,...,c10), the answer counts for scores 0 to 10.';
CREATE FUNCTION @extschema@.nps_summary_out(@extschema@.nps_summary) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_nps_summary_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_summary_out(@extschema@.nps_summary) IS
    'Text output of crm.nps_summary: (c0,c1,...,c10).';
CREATE FUNCTION @extschema@.nps_summary_recv(internal) RETURNS @extschema@.nps_summary
    AS 'MODULE_PATHNAME', 'crm_nps_summary_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_summary_recv(internal) IS
    'Binary input of crm.nps_summary: a 4-byte version word (1), then 11 8-byte counts, network byte order.';
CREATE FUNCTION @extschema@.nps_summary_send(@extschema@.nps_summary) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_nps_summary_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_summary_send(@extschema@.nps_summary) IS
    'Binary output of crm.nps_summary: a 4-byte version word (1), then 11 8-byte counts, network byte order.';

-- Every value is 96 bytes: never worth compressing or moving out of line, hence plain storage
-- (which also keeps the counts 8-byte aligned in the tuple, so they are read in place).
CREATE TYPE @extschema@.nps_summary (
    INPUT = @extschema@.nps_summary_in,
    OUTPUT = @extschema@.nps_summary_out,
    RECEIVE = @extschema@.nps_summary_recv,
    SEND = @extschema@.nps_summary_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE @extschema@.nps_summary IS
    'The exact histogram of NPS answers (64-bit counts for scores 0 to 10): merge with + or crm.nps_union, read with crm.nps, crm.promoters, crm.passives, crm.detractors, crm.responses, crm.nps_moe, crm.nps_ci.';

CREATE FUNCTION @extschema@.nps_summary_eq(@extschema@.nps_summary, @extschema@.nps_summary) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_nps_summary_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_summary_eq(@extschema@.nps_summary, @extschema@.nps_summary) IS
    'True when both summaries hold the same count for every score.';
CREATE FUNCTION @extschema@.nps_summary_ne(@extschema@.nps_summary, @extschema@.nps_summary) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_nps_summary_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_summary_ne(@extschema@.nps_summary, @extschema@.nps_summary) IS
    'True when the summaries differ in the count of some score.';
CREATE FUNCTION @extschema@.nps_summary_hash(@extschema@.nps_summary) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_nps_summary_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_summary_hash(@extschema@.nps_summary) IS
    'Hash of a summary''s counts: equal summaries hash alike (GROUP BY, DISTINCT, hash joins).';
CREATE FUNCTION @extschema@.nps_summary_add(@extschema@.nps_summary, @extschema@.nps_summary) RETURNS @extschema@.nps_summary
    AS 'MODULE_PATHNAME', 'crm_nps_summary_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_summary_add(@extschema@.nps_summary, @extschema@.nps_summary) IS
    'The summary of both sets of answers (counts added score by score); a count beyond 2^63 - 1 raises 22003.';

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.nps_summary, RIGHTARG = @extschema@.nps_summary,
    FUNCTION = @extschema@.nps_summary_eq,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES
);
COMMENT ON OPERATOR @extschema@.= (@extschema@.nps_summary, @extschema@.nps_summary) IS
    'Equal summaries: the same count for every score.';
CREATE OPERATOR CLASS @extschema@.nps_summary_hash_ops DEFAULT FOR TYPE @extschema@.nps_summary USING hash AS
    OPERATOR 1 @extschema@.= (@extschema@.nps_summary, @extschema@.nps_summary),
    FUNCTION 1 @extschema@.nps_summary_hash(@extschema@.nps_summary);
COMMENT ON OPERATOR CLASS @extschema@.nps_summary_hash_ops USING hash IS
    'Hashing of summaries: GROUP BY, DISTINCT and hash joins on crm.nps_summary.';
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.nps_summary, RIGHTARG = @extschema@.nps_summary,
    FUNCTION = @extschema@.nps_summary_ne,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR @extschema@.<> (@extschema@.nps_summary, @extschema@.nps_summary) IS
    'Different summaries: some score has a different count.';
CREATE OPERATOR @extschema@.+ (
    LEFTARG = @extschema@.nps_summary, RIGHTARG = @extschema@.nps_summary,
    FUNCTION = @extschema@.nps_summary_add,
    COMMUTATOR = OPERATOR(@extschema@.+)
);
COMMENT ON OPERATOR @extschema@.+ (@extschema@.nps_summary, @extschema@.nps_summary) IS
    'Merge two summaries: the summary of both sets of answers.';

-- ---------------------------------------------------------------------------------------------
-- Reading a summary
CREATE FUNCTION @extschema@.nps(summary @extschema@.nps_summary) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_nps_summary_nps' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps(@extschema@.nps_summary) IS
    'Net Promoter Score of a summary: % promoters (9-10) - % detractors (0-6), from -100 to 100; NULL when it holds no answers.';
CREATE FUNCTION @extschema@.promoters(summary @extschema@.nps_summary) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_nps_summary_promoters' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.promoters(@extschema@.nps_summary) IS 'Number of answers scoring 9 or 10.';
CREATE FUNCTION @extschema@.passives(summary @extschema@.nps_summary) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_nps_summary_passives' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.passives(@extschema@.nps_summary) IS 'Number of answers scoring 7 or 8.';
CREATE FUNCTION @extschema@.detractors(summary @extschema@.nps_summary) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_nps_summary_detractors' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.detractors(@extschema@.nps_summary) IS 'Number of answers scoring 0 to 6.';
CREATE FUNCTION @extschema@.responses(summary @extschema@.nps_summary) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_nps_summary_responses' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.responses(@extschema@.nps_summary) IS 'Number of answers summarized.';

CREATE FUNCTION @extschema@.nps_moe(summary @extschema@.nps_summary, confidence double precision DEFAULT 0.95)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_nps_summary_moe' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_moe(@extschema@.nps_summary, double precision) IS
    'Margin of error of the NPS in points at the given two-sided confidence: z * sqrt((pP + pD - NPS^2) / n) * 100, NPS as a fraction. NULL for an empty summary; a confidence outside (0, 1) raises 22023.';

CREATE FUNCTION @extschema@.nps_ci(summary @extschema@.nps_summary, confidence double precision DEFAULT 0.95,
                                   OUT lower double precision, OUT upper double precision)
    RETURNS record
    AS 'MODULE_PATHNAME', 'crm_nps_summary_ci' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.nps_ci(@extschema@.nps_summary, double precision) IS
    'Confidence interval of the NPS: NPS -/+ crm.nps_moe, clamped to [-100, 100]. NULL bounds for an empty summary; a confidence outside (0, 1) raises 22023.';

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
       answer.all_accounts,
       COALESCE(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps'),
                '(0,0,0,0,0,0,0,0,0,0,0)'::@extschema@.nps_summary) AS nps_summary,
       @extschema@.nps(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps')) AS nps,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'nps') AS nps_responses,
       @extschema@.nps_moe(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps')) AS nps_moe,
       @extschema@.csat(answer.score) FILTER (WHERE answer.kind = 'csat') AS csat,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'csat') AS csat_responses,
       @extschema@.ces(answer.score) FILTER (WHERE answer.kind = 'ces') AS ces,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'ces') AS ces_responses
FROM (SELECT pg_catalog.date_trunc('month', r.responded_at)::date AS month, g.account_id, g.all_accounts, r.kind, r.score
      FROM @extschema@.survey_responses r
      JOIN @extschema@.contacts c ON c.contact_id = r.contact_id
      -- each answer counts for its account and for the month's total: the grouping sets
      -- (month, account) and (month), written without GROUPING SETS, which Citus cannot run
      -- on distributed tables (docs/citus.md)
      CROSS JOIN LATERAL (VALUES (c.account_id, false), (NULL, true)) AS g(account_id, all_accounts)) answer
GROUP BY answer.month, answer.account_id, answer.all_accounts;
COMMENT ON VIEW @extschema@.survey_scores_monthly IS
    'NPS (with its summary and 95% margin of error), CSAT and CES with their answer counts per calendar month (session time zone) and account. account_id NULL with all_accounts false: contacts without an account (B2C); all_accounts true: every answer of the month. Roll summaries up with crm.nps_union.';
GRANT SELECT ON @extschema@.survey_scores_monthly TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- ---------------------------------------------------------------------------------------------
-- Closing the loop: every detractor (NPS 0-6) gets a follow-up task for the contact's owner, else
-- the account's owner; high priority for 0-3, due two days after the answer.
CREATE FUNCTION @extschema@.open_detractor_tasks(response_ids bigint[]) RETURNS SETOF bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- the answers already followed up, read first: on a distributed CRM (docs/citus.md) crm.tasks
    -- stays on the coordinator, and Citus joins no such table with distributed ones
    followed bigint[] := ARRAY(SELECT t.response_id FROM @extschema@.tasks t
                               WHERE t.response_id = ANY (open_detractor_tasks.response_ids));
BEGIN
    RETURN QUERY
    INSERT INTO @extschema@.tasks (title, description, due_at, assignee_id, priority, contact_id, response_id)
    SELECT pg_catalog.format('Follow up NPS detractor (score %s)', r.score),
           COALESCE('Their comment: ' || r.comment, 'No comment given.'),
           r.responded_at + interval '2 days',
           COALESCE(c.owner_id, a.owner_id),
           CASE WHEN r.score <= 3 THEN 'high' ELSE 'normal' END,
           r.contact_id, r.response_id
    FROM @extschema@.survey_responses r
    JOIN @extschema@.contacts c ON c.contact_id = r.contact_id
    LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
    WHERE r.response_id = ANY (open_detractor_tasks.response_ids)
      AND r.kind = 'nps' AND r.score <= 6
      AND NOT (r.response_id = ANY (followed))
    ORDER BY r.response_id
    RETURNING task_id;
END
$$;
COMMENT ON FUNCTION @extschema@.open_detractor_tasks(bigint[]) IS
    'Opens a follow-up task for each of these NPS answers that is a detractor (0-6) without one yet; returns the new tasks'' ids.';
REVOKE EXECUTE ON FUNCTION @extschema@.open_detractor_tasks(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_detractor_tasks(bigint[]) TO crm_admin;

-- SECURITY DEFINER: a support agent or a web form's role may insert answers without any right on
-- crm.tasks.
CREATE FUNCTION @extschema@.survey_responses_open_detractor_task() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.open_detractor_tasks(ARRAY[NEW.response_id]);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.survey_responses_open_detractor_task() IS
    'Trigger: opens the follow-up task of a detractor''s NPS answer (crm.open_detractor_tasks).';
REVOKE EXECUTE ON FUNCTION @extschema@.survey_responses_open_detractor_task() FROM PUBLIC;

CREATE TRIGGER survey_responses_open_detractor_task
    AFTER INSERT ON @extschema@.survey_responses
    FOR EACH ROW WHEN (NEW.kind = 'nps' AND NEW.score <= 6 AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.survey_responses_open_detractor_task();
COMMENT ON TRIGGER survey_responses_open_detractor_task ON @extschema@.survey_responses IS
    'Closes the loop: a follow-up task for every detractor.';
