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

-- ---------------------------------------------------------------------------------------------
-- Forecast categories, quotas and submissions (collaborative forecasting). The category map is
-- crm.pipeline_stages.forecast_category (pipeline / best_case / commit / closed / omitted, seeded
-- per stage, edited by admins like every stage attribute). A deal belongs to the period of its
-- close date: the day it closed (closed_at, in the session's time zone) or, while open, its
-- expected_close; a deal with neither is in no period. Figures are per currency, never summed
-- across currencies. Everything here runs with the caller's rights: the figures count the deals
-- the caller may see (row-level security as for deals). See docs/forecast.md.

-- The start of the period (month or quarter) holding a day. Pure: executable by everyone.
CREATE FUNCTION @extschema@.forecast_period(period_kind text, day date) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF period_kind IS NULL OR day IS NULL THEN
        RETURN NULL;
    END IF;
    IF period_kind NOT IN ('month', 'quarter') THEN
        RAISE EXCEPTION 'unknown forecast period kind "%"', period_kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The period kind is ''month'' or ''quarter''.';
    END IF;
    IF NOT isfinite(day) THEN
        RAISE EXCEPTION 'a forecast period needs a finite day'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The day given was %s.', to_char(day, 'YYYY-MM-DD'));
    END IF;
    RETURN date_trunc(period_kind, day::timestamp)::date;
END
$$;
COMMENT ON FUNCTION @extschema@.forecast_period(text, date) IS
    'The first day of the month or quarter (period_kind ''month'' or ''quarter'', else 22023) holding day; NULL for a NULL argument.';

-- The reporting chain: every (manager, user) pair where user is manager or reports to manager
-- directly or through any number of levels (depth 0: the user themselves). A cycle in
-- crm.users.manager_id (A manages B manages A) stops at the repeated user.
CREATE VIEW @extschema@.reporting_chain WITH (security_invoker = true) AS
WITH RECURSIVE chain (manager_id, user_id, depth, path) AS (
    SELECT u.user_id, u.user_id, 0, ARRAY[u.user_id] FROM @extschema@.users u
    UNION ALL
    SELECT c.manager_id, u.user_id, c.depth + 1, c.path || u.user_id
    FROM chain c JOIN @extschema@.users u ON u.manager_id = c.user_id
    -- a cycle stops at the repeated user (the path by hand: Citus cannot plan a CYCLE clause)
    WHERE NOT u.user_id = ANY (c.path)
)
SELECT manager_id, user_id, depth FROM chain;
COMMENT ON VIEW @extschema@.reporting_chain IS
    'Every user (manager_id) with each member of their whole reporting chain (user_id): themselves at depth 0, direct reports at 1, theirs at 2, and so on.';

-- Each deal with its forecast category, stage probability and close date (the period's key).
CREATE VIEW @extschema@.forecast_deals WITH (security_invoker = true) AS
SELECT o.opportunity_id, o.owner_id, o.currency, o.amount, o.stage_id, s.forecast_category,
       s.probability / 100 AS probability,
       coalesce(o.closed_at::date, o.expected_close) AS close_date
FROM @extschema@.opportunities o
JOIN @extschema@.pipeline_stages s ON s.stage_id = o.stage_id;
COMMENT ON VIEW @extschema@.forecast_deals IS
    'Deals with their stage''s forecast category and probability (0 to 1) and their close date: closed_at (as a date in the session''s time zone) or, while open, expected_close; NULL when the deal has neither.';

-- Per owner, period and currency: the amount in each category and the weighted open pipeline.
CREATE VIEW @extschema@.forecast_by_owner WITH (security_invoker = true) AS
SELECT d.owner_id, k.period_kind, date_trunc(k.period_kind, d.close_date::timestamp)::date AS period_start,
       d.currency,
       count(*) AS deals,
       coalesce(sum(d.amount) FILTER (WHERE d.forecast_category = 'closed'), 0) AS closed,
       coalesce(sum(d.amount) FILTER (WHERE d.forecast_category = 'commit'), 0) AS commit,
       coalesce(sum(d.amount) FILTER (WHERE d.forecast_category = 'best_case'), 0) AS best_case,
       coalesce(sum(d.amount) FILTER (WHERE d.forecast_category = 'pipeline'), 0) AS pipeline,
       -- the open categories: the rows here are neither omitted nor (by the stages' CHECK) any other
       coalesce(sum(d.amount * d.probability) FILTER (WHERE d.forecast_category <> 'closed'), 0) AS weighted_pipeline
FROM @extschema@.forecast_deals d
CROSS JOIN (VALUES ('month'::text), ('quarter')) k (period_kind)
WHERE d.owner_id IS NOT NULL AND isfinite(d.close_date)  -- NULL for a NULL close date: left out
  AND d.forecast_category <> 'omitted'
GROUP BY d.owner_id, k.period_kind, 3, d.currency;
COMMENT ON VIEW @extschema@.forecast_by_owner IS
    'Per deal owner, period (month and quarter) and currency: the amounts of the owner''s own deals in each forecast category (omitted deals, unowned deals and deals without a close date left out) and the weighted open pipeline, sum of amount * stage probability over pipeline, best case and commit.';

-- Quotas: a target per user, period and currency (a manager's quota is their team's target, set on
-- their own row, not the sum of their reports'). Admins set any; managers those of the staff they
-- manage, not their own; reps read their own.
CREATE TABLE @extschema@.sales_quotas (
    quota_id     bigserial PRIMARY KEY,
    user_id      bigint NOT NULL CONSTRAINT sales_quotas_user_fkey REFERENCES @extschema@.users,
    period_kind  text NOT NULL CONSTRAINT sales_quotas_period_kind_valid CHECK (period_kind IN ('month', 'quarter')),
    period_start date NOT NULL,
    currency     char(3) NOT NULL DEFAULT 'USD' CONSTRAINT sales_quotas_currency_iso CHECK (currency ~ '^[A-Z]{3}$'),
    amount       numeric(16, 2) NOT NULL CONSTRAINT sales_quotas_amount_nonnegative CHECK (amount >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sales_quotas_period_start_aligned CHECK (
        extract(day FROM period_start) = 1
        AND (period_kind = 'month' OR extract(month FROM period_start) IN (1, 4, 7, 10))),
    CONSTRAINT sales_quotas_user_period_key UNIQUE (user_id, period_kind, period_start, currency)
);
COMMENT ON TABLE @extschema@.sales_quotas IS
    'Quota per user, period (the first day of a month or quarter) and currency. Month and quarter quotas are independent rows.';
CREATE TRIGGER sales_quotas_touch_updated_at BEFORE UPDATE ON @extschema@.sales_quotas
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();

-- The roll-up up the manager chain, with the cumulative figures and the quota.
CREATE VIEW @extschema@.forecast_rollup WITH (security_invoker = true) AS
WITH chain_deals AS (
    SELECT c.manager_id AS user_id, b.period_kind, b.period_start, b.currency,
           sum(b.deals) AS deals, sum(b.closed) AS closed, sum(b.commit) AS commit,
           sum(b.best_case) AS best_case, sum(b.pipeline) AS pipeline,
           sum(b.weighted_pipeline) AS weighted_pipeline
    FROM @extschema@.reporting_chain c
    JOIN @extschema@.forecast_by_owner b ON b.owner_id = c.user_id
    GROUP BY c.manager_id, b.period_kind, b.period_start, b.currency
), figures AS (
    SELECT user_id, period_kind, period_start, currency,
           coalesce(d.deals, 0) AS deals, coalesce(d.closed, 0) AS closed, coalesce(d.commit, 0) AS commit,
           coalesce(d.best_case, 0) AS best_case, coalesce(d.pipeline, 0) AS pipeline,
           coalesce(d.weighted_pipeline, 0) AS weighted_pipeline, q.amount AS quota
    FROM chain_deals d
    FULL JOIN (SELECT user_id, period_kind, period_start, currency, amount FROM @extschema@.sales_quotas) q
         USING (user_id, period_kind, period_start, currency)
)
SELECT user_id, period_kind, period_start, currency, deals,
       closed, commit, best_case, pipeline,
       commit + closed AS commit_forecast,
       best_case + commit + closed AS best_case_forecast,
       pipeline + best_case + commit AS open_pipeline,
       weighted_pipeline,
       quota,
       closed / nullif(quota, 0) AS attainment,
       quota - closed AS gap,
       CASE WHEN quota IS NOT NULL THEN greatest(quota - closed, 0) END AS remaining_quota,
       (pipeline + best_case + commit) / nullif(greatest(quota - closed, 0), 0) AS coverage
FROM figures;
COMMENT ON VIEW @extschema@.forecast_rollup IS
    'Per user, period and currency, over the deals of the user''s whole reporting chain (the user and everyone below): the category amounts, commit forecast (commit + closed), best-case forecast (best case + commit + closed), open pipeline (pipeline + best case + commit), weighted pipeline, the user''s quota, attainment (closed / quota; NULL for no or zero quota), gap (quota - closed), remaining quota and coverage (open pipeline / remaining quota; NULL when nothing remains).';

-- The deals of one period by their close date, for crm.forecast_rollup(period_kind, period_start):
-- the closed deals by closed_at, the open ones by expected_close, each index holding what the
-- roll-up sums (owner, currency, stage, amount), so one period reads its own deals' index entries
-- only (an index-only scan where the table is vacuumed) instead of every deal. The close date of a
-- closed deal, closed_at::date, depends on the session's time zone and cannot be indexed itself.
CREATE INDEX opportunities_closed_at_idx ON @extschema@.opportunities (closed_at)
    INCLUDE (owner_id, currency, stage_id, amount) WHERE closed_at IS NOT NULL;
CREATE INDEX opportunities_open_expected_close_idx ON @extschema@.opportunities (expected_close)
    INCLUDE (owner_id, currency, stage_id, amount) WHERE closed_at IS NULL;

-- One period of crm.forecast_rollup: the view's rows for that period_kind and period_start, the
-- deals picked by the range of their close date first. Filtering the view on the period is the
-- same result, but there the planner must compute every deal's period to compare it (it cannot
-- turn period_start = X into a range of close dates), one date_trunc per deal of every period.
-- Here the closed deals come from a range of closed_at three days wider than the period on each
-- side (the session's local dates of those instants include the period's: no time zone moves its
-- clock by two days), then closed_at::date is checked exactly on those few; the open deals from
-- the range of expected_close; both through the indexes above. The deals are summed per owner,
-- currency and stage first, the stage's category and probability applied to the sums (exact:
-- numeric sums and products do not round).
-- PL/pgSQL for Citus, as the stage analytics; with the caller's rights (row-level security).
CREATE FUNCTION @extschema@.forecast_rollup(period_kind text, period_start date)
RETURNS SETOF @extschema@.forecast_rollup
LANGUAGE plpgsql STABLE STRICT AS $$
#variable_conflict use_column
DECLARE
    period_end date;
    closed_from timestamptz;
    closed_to timestamptz;
BEGIN
    IF @extschema@.forecast_period(forecast_rollup.period_kind, forecast_rollup.period_start)
       <> forecast_rollup.period_start THEN
        RAISE EXCEPTION '% is not the first day of a %', pg_catalog.to_char(forecast_rollup.period_start, 'YYYY-MM-DD'),
                        forecast_rollup.period_kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = pg_catalog.format('The %s holding it starts on %s.', forecast_rollup.period_kind,
                                pg_catalog.to_char(@extschema@.forecast_period(forecast_rollup.period_kind,
                                                                    forecast_rollup.period_start), 'YYYY-MM-DD'));
    END IF;
    period_end := (forecast_rollup.period_start
                   + CASE forecast_rollup.period_kind WHEN 'month' THEN interval '1 month' ELSE interval '3 months' END)::date;
    -- in the session's time zone, as closed_at::date below; computed once, not per deal
    closed_from := (forecast_rollup.period_start - 3)::timestamptz;
    closed_to := (period_end + 3)::timestamptz;
    RETURN QUERY
WITH deals AS (
    SELECT o.owner_id, o.currency, o.stage_id, pg_catalog.count(*) AS deals, pg_catalog.sum(o.amount) AS amount
    FROM (SELECT o.owner_id, o.currency, o.stage_id, o.amount
          FROM @extschema@.opportunities o
          WHERE o.closed_at >= closed_from AND o.closed_at < closed_to
            AND o.closed_at::date >= forecast_rollup.period_start AND o.closed_at::date < period_end
          UNION ALL
          SELECT o.owner_id, o.currency, o.stage_id, o.amount
          FROM @extschema@.opportunities o
          WHERE o.closed_at IS NULL
            AND o.expected_close >= forecast_rollup.period_start AND o.expected_close < period_end) o
    WHERE o.owner_id IS NOT NULL
    GROUP BY o.owner_id, o.currency, o.stage_id
), by_owner AS (
    SELECT d.owner_id, d.currency, pg_catalog.sum(d.deals)::bigint AS deals,
           coalesce(pg_catalog.sum(d.amount) FILTER (WHERE s.forecast_category = 'closed'), 0) AS closed,
           coalesce(pg_catalog.sum(d.amount) FILTER (WHERE s.forecast_category = 'commit'), 0) AS commit,
           coalesce(pg_catalog.sum(d.amount) FILTER (WHERE s.forecast_category = 'best_case'), 0) AS best_case,
           coalesce(pg_catalog.sum(d.amount) FILTER (WHERE s.forecast_category = 'pipeline'), 0) AS pipeline,
           -- the open categories, as crm.forecast_by_owner (the probability as crm.forecast_deals)
           coalesce(pg_catalog.sum(d.amount * (s.probability / 100))
                    FILTER (WHERE s.forecast_category <> 'closed'), 0) AS weighted_pipeline
    FROM deals d
    JOIN @extschema@.pipeline_stages s ON s.stage_id = d.stage_id
    WHERE s.forecast_category <> 'omitted'
    GROUP BY d.owner_id, d.currency
), chain_deals AS (
    SELECT c.manager_id AS user_id, b.currency,
           pg_catalog.sum(b.deals) AS deals, pg_catalog.sum(b.closed) AS closed, pg_catalog.sum(b.commit) AS commit,
           pg_catalog.sum(b.best_case) AS best_case, pg_catalog.sum(b.pipeline) AS pipeline,
           pg_catalog.sum(b.weighted_pipeline) AS weighted_pipeline
    FROM @extschema@.reporting_chain c
    JOIN by_owner b ON b.owner_id = c.user_id
    GROUP BY c.manager_id, b.currency
), figures AS (
    SELECT user_id, currency,
           coalesce(d.deals, 0) AS deals, coalesce(d.closed, 0) AS closed, coalesce(d.commit, 0) AS commit,
           coalesce(d.best_case, 0) AS best_case, coalesce(d.pipeline, 0) AS pipeline,
           coalesce(d.weighted_pipeline, 0) AS weighted_pipeline, q.amount AS quota
    FROM chain_deals d
    FULL JOIN (SELECT q.user_id, q.currency, q.amount FROM @extschema@.sales_quotas q
               WHERE q.period_kind = forecast_rollup.period_kind AND q.period_start = forecast_rollup.period_start) q
         USING (user_id, currency)
)
SELECT user_id, forecast_rollup.period_kind, forecast_rollup.period_start, currency, deals,
       closed, commit, best_case, pipeline,
       commit + closed, best_case + commit + closed, pipeline + best_case + commit, weighted_pipeline,
       quota, closed / NULLIF(quota, 0), quota - closed,
       CASE WHEN quota IS NOT NULL THEN greatest(quota - closed, 0) END,
       (pipeline + best_case + commit) / NULLIF(greatest(quota - closed, 0), 0)
FROM figures;
END
$$;
COMMENT ON FUNCTION @extschema@.forecast_rollup(text, date) IS
    'The rows of crm.forecast_rollup for one period (period_kind ''month'' or ''quarter'', period_start its first day, else 22023; NULL: no rows), computed from that period''s deals only: faster than filtering the view.';

-- Submissions: a rep's or manager's own call for a period, kept as history: each submission is a
-- new row (nobody updates one). The trigger stamps who and when and snapshots the system's
-- figures at that moment (the submitter's forecast_rollup row), so a call can be compared with
-- what the system said then and with how the period ended.
CREATE TABLE @extschema@.forecast_submissions (
    submission_id      bigserial PRIMARY KEY,
    user_id            bigint NOT NULL CONSTRAINT forecast_submissions_user_fkey REFERENCES @extschema@.users,
    period_kind        text NOT NULL CONSTRAINT forecast_submissions_period_kind_valid
                       CHECK (period_kind IN ('month', 'quarter')),
    period_start       date NOT NULL,
    currency           char(3) NOT NULL DEFAULT 'USD'
                       CONSTRAINT forecast_submissions_currency_iso CHECK (currency ~ '^[A-Z]{3}$'),
    commit_call        numeric(16, 2) CONSTRAINT forecast_submissions_commit_call_nonnegative CHECK (commit_call >= 0),
    best_case_call     numeric(16, 2) CONSTRAINT forecast_submissions_best_case_call_nonnegative CHECK (best_case_call >= 0),
    pipeline_call      numeric(16, 2) CONSTRAINT forecast_submissions_pipeline_call_nonnegative CHECK (pipeline_call >= 0),
    note               text,
    closed             numeric NOT NULL,
    commit_forecast    numeric NOT NULL,
    best_case_forecast numeric NOT NULL,
    open_pipeline      numeric NOT NULL,
    weighted_pipeline  numeric NOT NULL,
    quota              numeric(16, 2),
    submitted_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    submitted_by       bigint CONSTRAINT forecast_submissions_submitted_by_fkey REFERENCES @extschema@.users,
    CONSTRAINT forecast_submissions_period_start_aligned CHECK (
        extract(day FROM period_start) = 1
        AND (period_kind = 'month' OR extract(month FROM period_start) IN (1, 4, 7, 10)))
);
CREATE INDEX forecast_submissions_period_idx
    ON @extschema@.forecast_submissions (user_id, period_kind, period_start, submitted_at);
COMMENT ON TABLE @extschema@.forecast_submissions IS
    'Forecast calls, one row per submission, never updated: the user''s overrides (commit_call, best_case_call, pipeline_call; NULL: the system''s figure) and the system''s figures when submitted (closed .. quota, from crm.forecast_rollup as the submitter saw it).';

-- Stamps a submission: submitted_at (clock_timestamp()), submitted_by (the caller's staff row) and
-- the snapshot of the figures, read from crm.forecast_rollup under the caller's row-level
-- security. A member of crm_admin (loading history: imports, the demo) may give submitted_at,
-- submitted_by and a complete snapshot themselves; what they leave NULL is filled in.
CREATE FUNCTION @extschema@.forecast_submissions_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    loader boolean := pg_has_role(current_user, 'crm_admin', 'MEMBER');
    figures record;
BEGIN
    IF NOT loader THEN
        NEW.submitted_at := clock_timestamp();
        NEW.submitted_by := @extschema@.current_user_id();
    ELSE
        NEW.submitted_at := coalesce(NEW.submitted_at, clock_timestamp());
        NEW.submitted_by := coalesce(NEW.submitted_by, @extschema@.current_user_id());
    END IF;
    IF NOT loader OR NEW.closed IS NULL OR NEW.commit_forecast IS NULL OR NEW.best_case_forecast IS NULL
       OR NEW.open_pipeline IS NULL OR NEW.weighted_pipeline IS NULL THEN
        SELECT r.closed, r.commit_forecast, r.best_case_forecast, r.open_pipeline, r.weighted_pipeline, r.quota
          INTO figures
          FROM @extschema@.forecast_rollup r
         WHERE r.user_id = NEW.user_id AND r.period_kind = NEW.period_kind
           AND r.period_start = NEW.period_start AND r.currency = NEW.currency;
        NEW.closed := coalesce(figures.closed, 0);
        NEW.commit_forecast := coalesce(figures.commit_forecast, 0);
        NEW.best_case_forecast := coalesce(figures.best_case_forecast, 0);
        NEW.open_pipeline := coalesce(figures.open_pipeline, 0);
        NEW.weighted_pipeline := coalesce(figures.weighted_pipeline, 0);
        NEW.quota := figures.quota;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.forecast_submissions_stamp() IS
    'Trigger: stamps a forecast submission with its time, submitter and the system''s figures at that moment (as the submitter sees them); members of crm_admin may supply them to load history.';
CREATE TRIGGER forecast_submissions_stamp
    BEFORE INSERT ON @extschema@.forecast_submissions
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.forecast_submissions_stamp();

-- "What did we forecast on day X, and how did it end": each user's latest submission at or
-- before as_of for the period, next to the period's figures now.
CREATE FUNCTION @extschema@.forecast_as_of(as_of timestamptz, period_kind text, period_start date)
RETURNS TABLE (user_id bigint, currency char(3), submission_id bigint, submitted_at timestamptz,
               commit_call numeric, best_case_call numeric, pipeline_call numeric,
               quota numeric, closed_then numeric, closed_now numeric, commit_forecast_now numeric,
               commit_error numeric, attainment_now numeric)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF as_of IS NULL OR period_kind IS NULL OR period_start IS NULL THEN
        RAISE EXCEPTION 'forecast_as_of needs a time, a period kind and a period start'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF @extschema@.forecast_period(period_kind, period_start) <> period_start THEN
        RAISE EXCEPTION '% is not the first day of a %', to_char(period_start, 'YYYY-MM-DD'), period_kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('The %s holding it starts on %s.', period_kind,
                                to_char(@extschema@.forecast_period(period_kind, period_start), 'YYYY-MM-DD'));
    END IF;
    RETURN QUERY
    SELECT s.user_id, s.currency, s.submission_id, s.submitted_at,
           coalesce(s.commit_call, s.commit_forecast),
           coalesce(s.best_case_call, s.best_case_forecast),
           coalesce(s.pipeline_call, s.open_pipeline),
           coalesce(r.quota, s.quota)::numeric, s.closed,
           coalesce(r.closed, 0), coalesce(r.commit_forecast, 0),
           coalesce(r.closed, 0) - coalesce(s.commit_call, s.commit_forecast),
           r.attainment
    FROM (SELECT DISTINCT ON (f.user_id, f.currency) f.*
          FROM @extschema@.forecast_submissions f
          WHERE f.period_kind = forecast_as_of.period_kind AND f.period_start = forecast_as_of.period_start
            AND f.submitted_at <= forecast_as_of.as_of
          ORDER BY f.user_id, f.currency, f.submitted_at DESC, f.submission_id DESC) s
    LEFT JOIN @extschema@.forecast_rollup r
           ON r.user_id = s.user_id AND r.period_kind = s.period_kind
          AND r.period_start = s.period_start AND r.currency = s.currency
    ORDER BY s.user_id, s.currency;
END
$$;
COMMENT ON FUNCTION @extschema@.forecast_as_of(timestamptz, text, date) IS
    'Per user and currency, the latest forecast submission for the period made at or before as_of (its calls: the overrides, else the figures then) with the period''s figures now: closed now, commit error (closed now - commit call), attainment now. 22004 for a NULL argument; 22023 for a bad period.';

-- Privileges: the pipeline's readers (not support, which sees no deals).
REVOKE EXECUTE ON FUNCTION @extschema@.forecast_submissions_stamp() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.forecast_as_of(timestamptz, text, date),
    @extschema@.forecast_rollup(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.forecast_as_of(timestamptz, text, date), @extschema@.forecast_rollup(text, date)
    TO crm_admin, crm_manager, crm_sales, crm_analyst;
GRANT SELECT ON @extschema@.reporting_chain TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT SELECT ON @extschema@.forecast_deals, @extschema@.forecast_by_owner, @extschema@.forecast_rollup
    TO crm_admin, crm_manager, crm_sales, crm_analyst;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.sales_quotas TO crm_admin, crm_manager;
GRANT SELECT ON @extschema@.sales_quotas TO crm_sales, crm_analyst;
GRANT USAGE ON SEQUENCE @extschema@.sales_quotas_quota_id_seq TO crm_admin, crm_manager;
-- No UPDATE for anyone: a submission is history. Admins may delete one (a mistaken entry, erasure).
GRANT SELECT, INSERT, DELETE ON @extschema@.forecast_submissions TO crm_admin;
GRANT SELECT, INSERT ON @extschema@.forecast_submissions TO crm_manager, crm_sales;
GRANT SELECT ON @extschema@.forecast_submissions TO crm_analyst;
GRANT USAGE ON SEQUENCE @extschema@.forecast_submissions_submission_id_seq TO crm_admin, crm_manager, crm_sales;

-- Row-level security as for deals: a rep their own rows; a manager those of the staff they manage
-- (crm.managed_user_ids(): themselves, direct reports, team); analysts read all; admins all.
ALTER TABLE @extschema@.sales_quotas ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.sales_quotas TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.sales_quotas FOR SELECT TO crm_analyst USING (true);
CREATE POLICY sales_own ON @extschema@.sales_quotas FOR SELECT TO crm_sales
    USING (user_id = (SELECT @extschema@.current_user_id()));
CREATE POLICY manager_read ON @extschema@.sales_quotas FOR SELECT TO crm_manager
    USING (user_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]));
-- A manager sets the quotas of the staff they manage, never their own.
CREATE POLICY manager_insert ON @extschema@.sales_quotas FOR INSERT TO crm_manager
    WITH CHECK (user_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[])
                AND user_id <> (SELECT @extschema@.current_user_id()));
CREATE POLICY manager_update ON @extschema@.sales_quotas FOR UPDATE TO crm_manager
    USING (user_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[])
           AND user_id <> (SELECT @extschema@.current_user_id()))
    WITH CHECK (user_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[])
                AND user_id <> (SELECT @extschema@.current_user_id()));
CREATE POLICY manager_delete ON @extschema@.sales_quotas FOR DELETE TO crm_manager
    USING (user_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[])
           AND user_id <> (SELECT @extschema@.current_user_id()));

ALTER TABLE @extschema@.forecast_submissions ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.forecast_submissions TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.forecast_submissions FOR SELECT TO crm_analyst USING (true);
CREATE POLICY sales_own_read ON @extschema@.forecast_submissions FOR SELECT TO crm_sales
    USING (user_id = (SELECT @extschema@.current_user_id()));
CREATE POLICY manager_read ON @extschema@.forecast_submissions FOR SELECT TO crm_manager
    USING (user_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]));
-- Everyone submits only their own call.
CREATE POLICY submit_own ON @extschema@.forecast_submissions FOR INSERT TO crm_manager, crm_sales
    WITH CHECK (user_id = (SELECT @extschema@.current_user_id()));

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sales_quotas', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sales_quotas_quota_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.forecast_submissions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.forecast_submissions_submission_id_seq', '');

-- ---------------------------------------------------------------------------------------------
-- Stage analytics (issue 16 item 2): time in each stage, stage-to-stage conversion, win rates,
-- sales-cycle length, sales velocity, slipped and aging deals, per owner, team and period, from
-- crm.opportunity_stage_history and crm.opportunity_expected_close_history. Everything runs with
-- the caller's rights: the figures are over the deals the caller may see (a rep their own, a
-- manager their chain's). Durations are in days (double precision). See docs/forecast.md, "Stage
-- analytics".

-- The p-quantile of a Kaplan-Meier curve (src/survival.c), by R's quantile.survfit rule that
-- crm.km_median follows for p = 0.5. Pure: executable by everyone.
CREATE FUNCTION @extschema@.km_quantile(curve @extschema@.survival_curve, p double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_km_quantile' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.km_quantile(@extschema@.survival_curve, double precision) IS
    'The p-quantile of the survival time (0 < p < 1): the first time at which S(t) < 1 - p, or the midpoint of the interval where S(t) = 1 - p (as R''s survfit); NULL when the curve never drops to 1 - p; p outside (0, 1) raises 22023.';

-- Expected close dates: every change of crm.opportunities.expected_close, open deal or closed,
-- written by trigger only (an audit trail like the stage history: no staff role writes it, admins
-- included). The deal's first date is the first row's from_expected_close (or, without rows, the
-- deal's expected_close now).
CREATE TABLE @extschema@.opportunity_expected_close_history (
    history_id          bigserial PRIMARY KEY,
    opportunity_id      bigint NOT NULL CONSTRAINT opportunity_expected_close_history_opportunity_fkey
                        REFERENCES @extschema@.opportunities ON DELETE CASCADE,
    from_expected_close date,
    to_expected_close   date,
    changed_at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    changed_by          bigint CONSTRAINT opportunity_expected_close_history_changed_by_fkey REFERENCES @extschema@.users,
    changed_by_role     name NOT NULL DEFAULT session_user
);
CREATE INDEX opportunity_expected_close_history_opportunity_idx
    ON @extschema@.opportunity_expected_close_history (opportunity_id, changed_at);
COMMENT ON TABLE @extschema@.opportunity_expected_close_history IS
    'Changes of opportunities'' expected close dates, written by trigger: from, to, when, and who (the session''s staff user and role).';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.opportunity_expected_close_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.opportunity_expected_close_history_history_id_seq', '');

-- SECURITY DEFINER: it writes the history, which no staff role may write, for whoever changed the
-- date of a deal they may update. It fires only on crm.opportunities and takes nothing but the
-- trigger's OLD and NEW rows.
CREATE FUNCTION @extschema@.record_expected_close_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_RELID <> '@extschema@.opportunities'::pg_catalog.regclass OR TG_OP <> 'UPDATE' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION 'trigger function record_expected_close_change() fires only on updates of @extschema@.opportunities, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF OLD.expected_close IS DISTINCT FROM NEW.expected_close THEN
        INSERT INTO @extschema@.opportunity_expected_close_history
            (opportunity_id, from_expected_close, to_expected_close, changed_at, changed_by, changed_by_role)
        VALUES (NEW.opportunity_id, OLD.expected_close, NEW.expected_close, pg_catalog.clock_timestamp(),
                (SELECT user_id FROM @extschema@.users WHERE login_role = session_user), session_user);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.record_expected_close_change() IS
    'Trigger: records every change of an opportunity''s expected_close in opportunity_expected_close_history (who: session_user and its crm.users row; when: clock_timestamp()).';
REVOKE EXECUTE ON FUNCTION @extschema@.record_expected_close_change() FROM PUBLIC;
CREATE TRIGGER opportunities_record_expected_close_change AFTER UPDATE OF expected_close ON @extschema@.opportunities
    FOR EACH ROW WHEN (OLD.expected_close IS DISTINCT FROM NEW.expected_close AND NOT @extschema@.restoring_dump())
    EXECUTE FUNCTION @extschema@.record_expected_close_change();

GRANT SELECT ON @extschema@.opportunity_expected_close_history TO crm_admin, crm_manager, crm_sales, crm_analyst;
ALTER TABLE @extschema@.opportunity_expected_close_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.opportunity_expected_close_history FOR SELECT TO crm_admin USING (true);
CREATE POLICY read_visible_deals ON @extschema@.opportunity_expected_close_history FOR SELECT
    TO crm_analyst, crm_manager, crm_sales
    USING (EXISTS (SELECT FROM @extschema@.opportunities o
                   WHERE o.opportunity_id = opportunity_expected_close_history.opportunity_id));

-- Stage spells: each stage-history row is a deal entering a stage (entered_at) until the deal's
-- next history row (left_at, next_stage_id), NULL while it is still there. Owner, team, amount and
-- currency are the deal's now.
CREATE VIEW @extschema@.stage_spells WITH (security_invoker = true) AS
SELECT h.history_id, h.opportunity_id, o.owner_id, u.team, o.amount, o.currency,
       h.to_stage_id AS stage_id, s.name AS stage_name, s.position, s.is_won, s.is_lost,
       h.changed_at AS entered_at, h.left_at, h.next_stage_id,
       ns.position AS next_position, ns.is_won AS next_is_won, ns.is_lost AS next_is_lost
FROM (SELECT x.history_id, x.opportunity_id, x.to_stage_id, x.changed_at,
             pg_catalog.lead(x.changed_at) OVER w AS left_at, pg_catalog.lead(x.to_stage_id) OVER w AS next_stage_id
      FROM @extschema@.opportunity_stage_history x
      WINDOW w AS (PARTITION BY x.opportunity_id ORDER BY x.changed_at, x.history_id)) h
JOIN @extschema@.opportunities o ON o.opportunity_id = h.opportunity_id
JOIN @extschema@.pipeline_stages s ON s.stage_id = h.to_stage_id
LEFT JOIN @extschema@.users u ON u.user_id = o.owner_id
LEFT JOIN @extschema@.pipeline_stages ns ON ns.stage_id = h.next_stage_id;
COMMENT ON VIEW @extschema@.stage_spells IS
    'Each time a deal entered a stage (a stage-history row): entered_at, and left_at / next_stage_id from the deal''s next history row (NULL while it is still in the stage), with the deal''s owner, team, amount and currency.';

-- Each deal's cycle: started_at (its first stage-history row, else created_at) and, for a deal in
-- a won or lost stage now, closed_at (the deal's closed_at, else when it entered that stage).
CREATE VIEW @extschema@.deal_cycles WITH (security_invoker = true) AS
SELECT o.opportunity_id, o.owner_id, u.team, o.amount, o.currency, o.stage_id, s.is_won, s.is_lost,
       coalesce(f.first_at, o.created_at) AS started_at,
       CASE WHEN s.is_won OR s.is_lost THEN coalesce(o.closed_at, f.entered_current_at, o.updated_at) END AS closed_at,
       CASE WHEN s.is_won OR s.is_lost THEN
           extract(epoch FROM coalesce(o.closed_at, f.entered_current_at, o.updated_at)
                              - coalesce(f.first_at, o.created_at))::double precision / 86400 END AS cycle_days
FROM @extschema@.opportunities o
JOIN @extschema@.pipeline_stages s ON s.stage_id = o.stage_id
LEFT JOIN @extschema@.users u ON u.user_id = o.owner_id
LEFT JOIN LATERAL (
    SELECT pg_catalog.min(h.changed_at) AS first_at,
           pg_catalog.max(h.changed_at) FILTER (WHERE h.to_stage_id = o.stage_id) AS entered_current_at
    FROM @extschema@.opportunity_stage_history h WHERE h.opportunity_id = o.opportunity_id) f ON true;
COMMENT ON VIEW @extschema@.deal_cycles IS
    'Each deal''s sales cycle: started_at (first stage-history row, else created_at), and for a won or lost deal closed_at (its closed_at, else when it entered its closing stage) and cycle_days.';

-- Time in each open stage: Kaplan-Meier over the spells that entered the stage in [from_time,
-- to_time) (NULL: unbounded) and by as_of (NULL: now()); a spell still running at as_of is censored
-- there. Rows per stage (breakdown 'stage'), per stage and owner ('owner'), per stage and team ('team').
CREATE FUNCTION @extschema@.stage_durations(from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL,
                                            as_of timestamptz DEFAULT NULL)
RETURNS TABLE (breakdown text, stage_id integer, stage_name text, owner_id bigint, team text,
               n bigint, events bigint, censored bigint,
               median_days double precision, p75_days double precision, p90_days double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    -- The spells as in crm.stage_spells, but the window runs only over the history rows in
    -- [from_time, as_of]: a row before from_time is never the next one of a spell counted here
    -- (it comes earlier in the deal's order), and a next row after as_of means "still in the
    -- stage at as_of", as no next row does. Same figures, a fraction of the rows sorted.
    RETURN QUERY
WITH p AS (SELECT coalesce(stage_durations.as_of, pg_catalog.now()) AS as_of),
h AS (
    SELECT x.opportunity_id, x.to_stage_id, x.changed_at,
           pg_catalog.lead(x.changed_at) OVER w AS left_at
    FROM @extschema@.opportunity_stage_history x
    WHERE x.changed_at <= coalesce(stage_durations.as_of, pg_catalog.now())
      AND (stage_durations.from_time IS NULL OR x.changed_at >= stage_durations.from_time)
    WINDOW w AS (PARTITION BY x.opportunity_id ORDER BY x.changed_at, x.history_id)
), spells AS (
    SELECT h.to_stage_id AS stage_id, s.name AS stage_name, s.position, o.owner_id, u.team,
           h.left_at IS NOT NULL AS observed,
           extract(epoch FROM coalesce(h.left_at, p.as_of) - h.changed_at)::double precision / 86400 AS days
    FROM h
    JOIN @extschema@.opportunities o ON o.opportunity_id = h.opportunity_id
    JOIN @extschema@.pipeline_stages s ON s.stage_id = h.to_stage_id
    LEFT JOIN @extschema@.users u ON u.user_id = o.owner_id
    CROSS JOIN p
    WHERE NOT s.is_won AND NOT s.is_lost
      AND (stage_durations.to_time IS NULL OR h.changed_at < stage_durations.to_time)
), fits AS (
    SELECT CASE WHEN GROUPING(owner_id) = 0 THEN 'owner' WHEN GROUPING(team) = 0 THEN 'team' ELSE 'stage' END AS breakdown,
           stage_id, stage_name, position, owner_id, team,
           pg_catalog.count(*) AS n, pg_catalog.count(*) FILTER (WHERE observed) AS events,
           pg_catalog.count(*) FILTER (WHERE NOT observed) AS censored,
           @extschema@.km_fit(days, observed) AS curve
    FROM spells
    GROUP BY GROUPING SETS ((stage_id, stage_name, position), (stage_id, stage_name, position, owner_id),
                            (stage_id, stage_name, position, team))
)
SELECT breakdown, stage_id, stage_name, owner_id, team, n, events, censored,
       @extschema@.km_median(curve), @extschema@.km_quantile(curve, 0.75), @extschema@.km_quantile(curve, 0.9)
FROM fits
ORDER BY position, breakdown DESC, owner_id, team;
END
$$;
COMMENT ON FUNCTION @extschema@.stage_durations(timestamptz, timestamptz, timestamptz) IS
    'Time in each open stage, in days: Kaplan-Meier median, P75 and P90 over the spells entering the stage in [from_time, to_time) (NULL: unbounded), censored at as_of (NULL: now()) while running; per stage, stage and owner, stage and team (column breakdown).';

-- Stage-to-stage conversion: what became of the spells entering each open stage in [from_time,
-- to_time): advanced (next stage won, or a later non-lost stage), lost, moved back, still open at
-- as_of; conversion_rate = advanced / (advanced + lost + moved_back). Grouped as stage_durations.
CREATE FUNCTION @extschema@.stage_conversion(from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL,
                                             as_of timestamptz DEFAULT NULL)
RETURNS TABLE (breakdown text, stage_id integer, stage_name text, owner_id bigint, team text,
               entered bigint, advanced bigint, lost bigint, moved_back bigint, still_open bigint,
               conversion_rate double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    -- The spells as in crm.stage_spells, the window over the history rows in [from_time, as_of]
    -- only (see crm.stage_durations): a spell without a next row by as_of is still open.
    -- The spells are counted per stage, next stage and owner first (numbers only: a hashed
    -- aggregate of a few thousand groups), and the stages' names and positions, the outcome and
    -- the owners' teams joined to those counts, not to each spell: the grouping sets then sum a
    -- few thousand rows where grouping the spells themselves sorted every one by its stage's name.
    RETURN QUERY
WITH h AS (
    SELECT x.opportunity_id, x.to_stage_id, x.changed_at,
           pg_catalog.lead(x.to_stage_id) OVER w AS next_stage_id
    FROM @extschema@.opportunity_stage_history x
    WHERE x.changed_at <= coalesce(stage_conversion.as_of, pg_catalog.now())
      AND (stage_conversion.from_time IS NULL OR x.changed_at >= stage_conversion.from_time)
    WINDOW w AS (PARTITION BY x.opportunity_id ORDER BY x.changed_at, x.history_id)
), moves AS (
    SELECT h.to_stage_id, h.next_stage_id, o.owner_id, pg_catalog.count(*) AS spells
    FROM h
    JOIN @extschema@.opportunities o ON o.opportunity_id = h.opportunity_id
    WHERE (stage_conversion.to_time IS NULL OR h.changed_at < stage_conversion.to_time)
    GROUP BY h.to_stage_id, h.next_stage_id, o.owner_id
), spells AS (
    SELECT m.to_stage_id AS stage_id, s.name AS stage_name, s.position, m.owner_id, u.team, m.spells,
           CASE WHEN m.next_stage_id IS NULL THEN 'open'
                WHEN ns.is_lost THEN 'lost'
                WHEN ns.is_won OR ns.position > s.position THEN 'advanced'
                ELSE 'back' END AS outcome
    FROM moves m
    JOIN @extschema@.pipeline_stages s ON s.stage_id = m.to_stage_id
    LEFT JOIN @extschema@.users u ON u.user_id = m.owner_id
    LEFT JOIN @extschema@.pipeline_stages ns ON ns.stage_id = m.next_stage_id
    WHERE NOT s.is_won AND NOT s.is_lost
), counts AS (
    SELECT CASE WHEN GROUPING(owner_id) = 0 THEN 'owner' WHEN GROUPING(team) = 0 THEN 'team' ELSE 'stage' END AS breakdown,
           stage_id, stage_name, position, owner_id, team, pg_catalog.sum(spells)::bigint AS entered,
           coalesce(pg_catalog.sum(spells) FILTER (WHERE outcome = 'advanced'), 0)::bigint AS advanced,
           coalesce(pg_catalog.sum(spells) FILTER (WHERE outcome = 'lost'), 0)::bigint AS lost,
           coalesce(pg_catalog.sum(spells) FILTER (WHERE outcome = 'back'), 0)::bigint AS moved_back,
           coalesce(pg_catalog.sum(spells) FILTER (WHERE outcome = 'open'), 0)::bigint AS still_open
    FROM spells
    GROUP BY GROUPING SETS ((stage_id, stage_name, position), (stage_id, stage_name, position, owner_id),
                            (stage_id, stage_name, position, team))
)
SELECT breakdown, stage_id, stage_name, owner_id, team, entered, advanced, lost, moved_back, still_open,
       advanced::double precision / NULLIF(advanced + lost + moved_back, 0)
FROM counts
ORDER BY position, breakdown DESC, owner_id, team;
END
$$;
COMMENT ON FUNCTION @extschema@.stage_conversion(timestamptz, timestamptz, timestamptz) IS
    'What became of the spells entering each open stage in [from_time, to_time) by as_of (NULL: now()): advanced (won or a later stage), lost, moved back, still open; conversion_rate = advanced / (advanced + lost + moved_back); per stage, owner, team.';

-- Win rates and cycle length of the deals closed in [from_time, to_time), per currency overall
-- ('all'), per owner and per team.
CREATE FUNCTION @extschema@.win_rates(from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL)
RETURNS TABLE (breakdown text, owner_id bigint, team text, currency char(3), won bigint, lost bigint,
               win_rate double precision, won_amount numeric, avg_won_amount numeric,
               avg_cycle_days double precision, median_cycle_days double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
SELECT CASE WHEN GROUPING(d.owner_id) = 0 THEN 'owner' WHEN GROUPING(d.team) = 0 THEN 'team' ELSE 'all' END,
       d.owner_id, d.team, d.currency,
       pg_catalog.count(*) FILTER (WHERE d.is_won), pg_catalog.count(*) FILTER (WHERE d.is_lost),
       (pg_catalog.count(*) FILTER (WHERE d.is_won))::double precision / pg_catalog.count(*),
       coalesce(pg_catalog.sum(d.amount) FILTER (WHERE d.is_won), 0),
       pg_catalog.avg(d.amount) FILTER (WHERE d.is_won),
       pg_catalog.avg(d.cycle_days) FILTER (WHERE d.is_won),
       pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY d.cycle_days) FILTER (WHERE d.is_won)
FROM @extschema@.deal_cycles d
WHERE d.closed_at IS NOT NULL
  AND (win_rates.from_time IS NULL OR d.closed_at >= win_rates.from_time)
  AND (win_rates.to_time IS NULL OR d.closed_at < win_rates.to_time)
GROUP BY GROUPING SETS ((d.currency), (d.currency, d.owner_id), (d.currency, d.team))
ORDER BY 1, d.owner_id, d.team, d.currency;
END
$$;
COMMENT ON FUNCTION @extschema@.win_rates(timestamptz, timestamptz) IS
    'Deals closed in [from_time, to_time) (NULL: unbounded), per currency overall, per owner, per team: won, lost, win_rate = won / (won + lost), won amount and its average, average and median cycle of the won deals in days.';

-- Sales velocity: open deals at as_of x win rate x average won amount / average cycle of won
-- deals (the last three over the deals closed in [from_time, to_time)), per day, per currency.
CREATE FUNCTION @extschema@.sales_velocity(from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL,
                                           as_of timestamptz DEFAULT NULL)
RETURNS TABLE (breakdown text, owner_id bigint, team text, currency char(3), open_deals bigint,
               win_rate double precision, avg_won_amount numeric, avg_cycle_days double precision,
               velocity_per_day double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
WITH p AS (SELECT coalesce(sales_velocity.as_of, pg_catalog.now()) AS as_of),
deals AS (
    SELECT d.*, d.started_at <= p.as_of AND (d.closed_at IS NULL OR d.closed_at > p.as_of) AS open_at,
           d.closed_at IS NOT NULL
             AND (sales_velocity.from_time IS NULL OR d.closed_at >= sales_velocity.from_time)
             AND (sales_velocity.to_time IS NULL OR d.closed_at < sales_velocity.to_time) AS closed_in
    FROM @extschema@.deal_cycles d, p
), g AS (
    SELECT CASE WHEN GROUPING(owner_id) = 0 THEN 'owner' WHEN GROUPING(team) = 0 THEN 'team' ELSE 'all' END AS breakdown,
           owner_id, team, currency,
           pg_catalog.count(*) FILTER (WHERE open_at) AS open_deals,
           (pg_catalog.count(*) FILTER (WHERE closed_in AND is_won))::double precision
               / NULLIF(pg_catalog.count(*) FILTER (WHERE closed_in), 0) AS win_rate,
           pg_catalog.avg(amount) FILTER (WHERE closed_in AND is_won) AS avg_won_amount,
           pg_catalog.avg(cycle_days) FILTER (WHERE closed_in AND is_won) AS avg_cycle_days
    FROM deals
    WHERE open_at OR closed_in
    GROUP BY GROUPING SETS ((currency), (currency, owner_id), (currency, team))
)
SELECT breakdown, owner_id, team, currency, open_deals, win_rate, avg_won_amount, avg_cycle_days,
       open_deals * win_rate * avg_won_amount::double precision / NULLIF(avg_cycle_days, 0)
FROM g
ORDER BY 1, owner_id, team, currency;
END
$$;
COMMENT ON FUNCTION @extschema@.sales_velocity(timestamptz, timestamptz, timestamptz) IS
    'Sales velocity per day = open deals at as_of (NULL: now()) x win rate x average won amount / average won cycle in days (the last three over the deals closed in [from_time, to_time)); per currency overall, per owner, per team; NULL where a factor is undefined.';

-- Slipped deals: a deal slips each time its expected close date passes while it is open (the
-- date was still its expected close at the end of that day, and the deal still open then);
-- pushes counts the changes to a later date while open. Deals with a slip or a push by as_of.
CREATE FUNCTION @extschema@.slipped_deals(as_of timestamptz DEFAULT NULL)
RETURNS TABLE (opportunity_id bigint, name text, owner_id bigint, team text, stage_id integer, is_open boolean,
               expected_close date, slips bigint, pushes bigint, days_overdue integer)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
WITH p AS (SELECT coalesce(slipped_deals.as_of, pg_catalog.now()) AS as_of),
changes AS (
    SELECT h.opportunity_id, h.from_expected_close, h.to_expected_close, h.changed_at, h.history_id
    FROM @extschema@.opportunity_expected_close_history h, p WHERE h.changed_at <= p.as_of
), deals AS (
    SELECT d.opportunity_id, o.name, d.owner_id, d.team, d.stage_id, d.started_at,
           CASE WHEN d.closed_at IS NOT NULL AND d.closed_at <= p.as_of THEN d.closed_at ELSE p.as_of END AS open_until,
           d.closed_at IS NULL OR d.closed_at > p.as_of AS is_open,
           coalesce((SELECT c.from_expected_close FROM @extschema@.opportunity_expected_close_history c
                     WHERE c.opportunity_id = d.opportunity_id ORDER BY c.changed_at, c.history_id LIMIT 1),
                    o.expected_close) AS first_close
    FROM @extschema@.deal_cycles d JOIN @extschema@.opportunities o USING (opportunity_id), p
    WHERE d.started_at <= p.as_of
), dates AS (
    -- each expected close date a deal had, from when to when
    SELECT v.opportunity_id, v.close_date, v.valid_from,
           pg_catalog.lead(v.valid_from) OVER w AS valid_to
    FROM (SELECT d.opportunity_id, d.first_close AS close_date, d.started_at AS valid_from, 0::bigint AS seq FROM deals d
          UNION ALL
          SELECT c.opportunity_id, c.to_expected_close, c.changed_at, c.history_id FROM changes c
          JOIN deals d USING (opportunity_id)) v
    WINDOW w AS (PARTITION BY v.opportunity_id ORDER BY v.valid_from, v.seq)
), per_deal AS (
    SELECT d.opportunity_id,
           pg_catalog.count(*) FILTER (
               WHERE x.close_date IS NOT NULL
                 AND (x.close_date + 1)::timestamptz >= x.valid_from
                 AND (x.close_date + 1)::timestamptz < d.open_until
                 AND (x.valid_to IS NULL OR (x.close_date + 1)::timestamptz < x.valid_to)) AS slips,
           (SELECT pg_catalog.count(*) FROM changes c
            WHERE c.opportunity_id = d.opportunity_id AND c.changed_at < d.open_until
              AND c.to_expected_close > c.from_expected_close) AS pushes,
           (SELECT x2.close_date FROM dates x2 WHERE x2.opportunity_id = d.opportunity_id AND x2.valid_to IS NULL) AS current_close
    FROM deals d JOIN dates x USING (opportunity_id)
    GROUP BY d.opportunity_id, d.open_until
)
SELECT d.opportunity_id, d.name, d.owner_id, d.team, d.stage_id, d.is_open, pd.current_close, pd.slips, pd.pushes,
       CASE WHEN d.is_open AND pd.current_close < (p.as_of)::date THEN (p.as_of)::date - pd.current_close END
FROM deals d JOIN per_deal pd USING (opportunity_id), p
WHERE pd.slips > 0 OR pd.pushes > 0
ORDER BY pd.slips DESC, pd.pushes DESC, d.opportunity_id;
END
$$;
COMMENT ON FUNCTION @extschema@.slipped_deals(timestamptz) IS
    'Deals whose expected close date passed while they were open (slips: how many of their dates did) or was pushed later while open (pushes), by as_of (NULL: now()); expected_close is the date in force at as_of, days_overdue how far it is behind as_of for an open deal.';

-- Aging deals: open at as_of and longer in their stage than that stage's P90 (crm.stage_durations
-- over every spell the caller sees, by as_of); a stage without a P90 has no aging deals.
CREATE FUNCTION @extschema@.aging_deals(as_of timestamptz DEFAULT NULL)
RETURNS TABLE (opportunity_id bigint, owner_id bigint, team text, stage_id integer, stage_name text,
               entered_at timestamptz, days_in_stage double precision, stage_p90_days double precision)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- its tables (docs/citus.md); use_column resolves names as the SQL function did.
    RETURN QUERY
WITH p AS (SELECT coalesce(aging_deals.as_of, pg_catalog.now()) AS as_of)
SELECT s.opportunity_id, s.owner_id, s.team, s.stage_id, s.stage_name, s.entered_at,
       extract(epoch FROM p.as_of - s.entered_at)::double precision / 86400, q.p90_days
FROM @extschema@.stage_spells s
CROSS JOIN p
JOIN @extschema@.stage_durations(NULL, NULL, (SELECT as_of FROM p)) q ON q.breakdown = 'stage' AND q.stage_id = s.stage_id
WHERE NOT s.is_won AND NOT s.is_lost AND s.entered_at <= p.as_of AND (s.left_at IS NULL OR s.left_at > p.as_of)
  AND extract(epoch FROM p.as_of - s.entered_at)::double precision / 86400 > q.p90_days
ORDER BY 7 DESC, s.opportunity_id;
END
$$;
COMMENT ON FUNCTION @extschema@.aging_deals(timestamptz) IS
    'Deals open at as_of (NULL: now()) that have been in their stage longer than the stage''s Kaplan-Meier P90 (crm.stage_durations over every spell the caller sees, by as_of).';

-- Privileges: the pipeline's readers (not support, which sees no deals).
REVOKE EXECUTE ON FUNCTION @extschema@.stage_durations(timestamptz, timestamptz, timestamptz),
    @extschema@.stage_conversion(timestamptz, timestamptz, timestamptz),
    @extschema@.win_rates(timestamptz, timestamptz),
    @extschema@.sales_velocity(timestamptz, timestamptz, timestamptz),
    @extschema@.slipped_deals(timestamptz), @extschema@.aging_deals(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.stage_durations(timestamptz, timestamptz, timestamptz),
    @extschema@.stage_conversion(timestamptz, timestamptz, timestamptz),
    @extschema@.win_rates(timestamptz, timestamptz),
    @extschema@.sales_velocity(timestamptz, timestamptz, timestamptz),
    @extschema@.slipped_deals(timestamptz), @extschema@.aging_deals(timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_analyst;
GRANT SELECT ON @extschema@.stage_spells, @extschema@.deal_cycles TO crm_admin, crm_manager, crm_sales, crm_analyst;
