-- Forecast categories, quotas and submissions (issue 16, item 1): the block appended to src/forecast.sql.

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
       coalesce(sum(d.amount * d.probability)
                FILTER (WHERE d.forecast_category IN ('pipeline', 'best_case', 'commit')), 0) AS weighted_pipeline
FROM @extschema@.forecast_deals d
CROSS JOIN (VALUES ('month'::text), ('quarter')) k (period_kind)
WHERE d.owner_id IS NOT NULL AND d.close_date IS NOT NULL AND isfinite(d.close_date)
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
REVOKE EXECUTE ON FUNCTION @extschema@.forecast_as_of(timestamptz, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.forecast_as_of(timestamptz, text, date)
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
-- src/security.sql: crm.task_records_visible checks the grant and looks the record up in separate
-- statements (a generic plan of one expression holding both checked the grant on the looked-up
-- table first: support reading tasks got 42501 on crm.leads; test/pgtap/tasks_generic_plan.sql).
CREATE OR REPLACE FUNCTION @extschema@.task_records_visible(task @extschema@.tasks) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF task.contact_id IS NOT NULL THEN
        IF NOT has_table_privilege('@extschema@.contacts', 'SELECT') THEN
            RETURN false;
        END IF;
        IF NOT EXISTS (SELECT FROM @extschema@.contacts r WHERE r.contact_id = task.contact_id) THEN
            RETURN false;
        END IF;
    END IF;
    IF task.account_id IS NOT NULL THEN
        IF NOT has_table_privilege('@extschema@.accounts', 'SELECT') THEN
            RETURN false;
        END IF;
        IF NOT EXISTS (SELECT FROM @extschema@.accounts r WHERE r.account_id = task.account_id) THEN
            RETURN false;
        END IF;
    END IF;
    IF task.lead_id IS NOT NULL THEN
        IF NOT has_table_privilege('@extschema@.leads', 'SELECT') THEN
            RETURN false;
        END IF;
        IF NOT EXISTS (SELECT FROM @extschema@.leads r WHERE r.lead_id = task.lead_id) THEN
            RETURN false;
        END IF;
    END IF;
    IF task.opportunity_id IS NOT NULL THEN
        IF NOT has_table_privilege('@extschema@.opportunities', 'SELECT') THEN
            RETURN false;
        END IF;
        IF NOT EXISTS (SELECT FROM @extschema@.opportunities r WHERE r.opportunity_id = task.opportunity_id) THEN
            RETURN false;
        END IF;
    END IF;
    IF task.ticket_id IS NOT NULL THEN
        IF NOT has_table_privilege('@extschema@.tickets', 'SELECT') THEN
            RETURN false;
        END IF;
        IF NOT EXISTS (SELECT FROM @extschema@.tickets r WHERE r.ticket_id = task.ticket_id) THEN
            RETURN false;
        END IF;
    END IF;
    IF task.response_id IS NOT NULL THEN
        IF NOT has_table_privilege('@extschema@.survey_responses', 'SELECT') THEN
            RETURN false;
        END IF;
        IF NOT EXISTS (SELECT FROM @extschema@.survey_responses r WHERE r.response_id = task.response_id) THEN
            RETURN false;
        END IF;
    END IF;
    RETURN true;
END
$$;
