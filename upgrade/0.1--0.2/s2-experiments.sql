-- src/experiments.sql: A/B(/n) test statistics (src/experiments.c, docs/experiments.md). Over
-- counts: crm.two_proportion_test, crm.welch_test, crm.sample_ratio_mismatch, crm.holm_adjust,
-- crm.sample_size_two_proportions and the distributions behind them; over raw outcomes: the
-- aggregate crm.experiment_stats into a crm.experiment_state, read by crm.experiment_arms,
-- crm.experiment_comparison and crm.experiment_srm. Everything computes from its arguments only.

CREATE FUNCTION @extschema@.normal_quantile(p double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_normal_quantile_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normal_quantile(double precision) IS
    'The standard normal quantile (R''s qnorm) for p in (0, 1), to full double precision; 22023 outside.';

CREATE FUNCTION @extschema@.student_t_p_value(t double precision, df double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_student_t_p_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.student_t_p_value(double precision, double precision) IS
    'P(|T| >= |t|) for Student''s t with df > 0 degrees of freedom (2 * pt(-|t|, df) in R), from the regularized incomplete beta function.';

CREATE FUNCTION @extschema@.chi_square_p_value(chi_square double precision, df double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_chi_square_p_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.chi_square_p_value(double precision, double precision) IS
    'P(X >= chi_square) for the chi-square distribution with df > 0 degrees of freedom (pchisq(x, df, lower.tail = FALSE) in R), from the regularized incomplete gamma function.';

CREATE FUNCTION @extschema@.two_proportion_test(
    control_n bigint, control_conversions bigint, variant_n bigint, variant_conversions bigint,
    alpha double precision DEFAULT 0.05,
    OUT control_rate double precision, OUT variant_rate double precision,
    OUT absolute_lift double precision, OUT relative_lift double precision,
    OUT ci_lower double precision, OUT ci_upper double precision,
    OUT relative_ci_lower double precision, OUT relative_ci_upper double precision,
    OUT z double precision, OUT p_value double precision)
AS 'MODULE_PATHNAME', 'crm_two_proportion_test' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.two_proportion_test(bigint, bigint, bigint, bigint, double precision) IS
    'Variant against control conversion rates: absolute and relative lift, the 1 - alpha Wald (unpooled) interval of the difference, the Katz (log ratio) interval of the relative lift, and the pooled two-sided z test.';

CREATE FUNCTION @extschema@.welch_test(
    control_n bigint, control_mean double precision, control_variance double precision,
    variant_n bigint, variant_mean double precision, variant_variance double precision,
    alpha double precision DEFAULT 0.05,
    OUT control_mean double precision, OUT variant_mean double precision,
    OUT absolute_lift double precision, OUT relative_lift double precision,
    OUT ci_lower double precision, OUT ci_upper double precision,
    OUT t double precision, OUT df double precision, OUT p_value double precision)
AS 'MODULE_PATHNAME', 'crm_welch_test' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.welch_test(bigint, double precision, double precision, bigint, double precision, double precision, double precision) IS
    'Welch''s two-sided t test of variant against control means (e.g. revenue per user) from n, mean and sample variance (n - 1 denominator): lift, the 1 - alpha interval of the difference, t, the Welch-Satterthwaite df and the p-value.';

CREATE FUNCTION @extschema@.sample_ratio_mismatch(
    observed bigint[], expected_split double precision[] DEFAULT NULL,
    OUT chi_square double precision, OUT df double precision, OUT p_value double precision)
AS 'MODULE_PATHNAME', 'crm_sample_ratio_mismatch' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sample_ratio_mismatch(bigint[], double precision[]) IS
    'Sample ratio mismatch: the chi-square goodness-of-fit test of the users per group against the expected split (positive weights, any scale; NULL: equal), with k - 1 degrees of freedom.';

CREATE FUNCTION @extschema@.holm_adjust(p_values double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'crm_holm_adjust' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.holm_adjust(double precision[]) IS
    'Holm''s step-down adjusted p-values (R''s p.adjust(p, "holm")), in the order given; NULL elements stay NULL and are not counted.';

CREATE FUNCTION @extschema@.sample_size_two_proportions(
    baseline_rate double precision, minimum_detectable_effect double precision,
    alpha double precision DEFAULT 0.05, power double precision DEFAULT 0.8, relative boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'crm_sample_size_two_proportions' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sample_size_two_proportions(double precision, double precision, double precision, double precision, boolean) IS
    'Users per arm for a two-sided two-proportion z test to detect baseline_rate -> baseline_rate + minimum_detectable_effect (relative: baseline_rate * (1 + minimum_detectable_effect)) with the given alpha and power (normal approximation, rounded up).';

-- ---------------------------------------------------------------------------------------------
-- crm.experiment_state: per variant, users, conversions, revenue sum, mean and M2
CREATE TYPE @extschema@.experiment_state;

CREATE FUNCTION @extschema@.experiment_state_in(cstring) RETURNS @extschema@.experiment_state
    AS 'MODULE_PATHNAME', 'crm_experiment_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.experiment_state_in(cstring) IS
    'Text input of crm.experiment_state: 1;(users,conversions,revenue,mean,m2),...;{variant,...} (variants distinct, sorted by name in byte order).';
CREATE FUNCTION @extschema@.experiment_state_out(@extschema@.experiment_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_experiment_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.experiment_state_out(@extschema@.experiment_state) IS
    'Text output of crm.experiment_state: 1;(users,conversions,revenue,mean,m2),...;{variant,...}, numbers written exactly (%.17g).';
CREATE FUNCTION @extschema@.experiment_state_recv(internal) RETURNS @extschema@.experiment_state
    AS 'MODULE_PATHNAME', 'crm_experiment_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.experiment_state_recv(internal) IS
    'Binary input of crm.experiment_state: the form experiment_state_send writes, validated like the text form.';
CREATE FUNCTION @extschema@.experiment_state_send(@extschema@.experiment_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_experiment_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.experiment_state_send(@extschema@.experiment_state) IS
    'Binary output of crm.experiment_state: int32 version (1), int32 variants, then per variant int32 name length, the name, int64 users, int64 conversions, float8 revenue, mean, m2.';

CREATE TYPE @extschema@.experiment_state (
    INPUT = @extschema@.experiment_state_in,
    OUTPUT = @extschema@.experiment_state_out,
    RECEIVE = @extschema@.experiment_state_recv,
    SEND = @extschema@.experiment_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.experiment_state IS
    'The outcomes of an A/B(/n) test per variant (up to 1000 variants, names up to 1000 bytes): users, conversions, total revenue and the mean and sum of squared deviations of revenue per user. Built by crm.experiment_stats; read with crm.experiment_arms, crm.experiment_comparison, crm.experiment_srm.';

CREATE FUNCTION @extschema@.experiment_stats_trans(@extschema@.experiment_state, text, boolean, double precision)
RETURNS @extschema@.experiment_state
AS 'MODULE_PATHNAME', 'crm_experiment_stats_trans' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.experiment_stats_trans(@extschema@.experiment_state, text, boolean, double precision) IS
    'Support function of experiment_stats: adds one user''s outcome to its variant (Welford''s update).';
CREATE FUNCTION @extschema@.experiment_stats_combine(@extschema@.experiment_state, @extschema@.experiment_state)
RETURNS @extschema@.experiment_state
AS 'MODULE_PATHNAME', 'crm_experiment_stats_combine' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.experiment_stats_combine(@extschema@.experiment_state, @extschema@.experiment_state) IS
    'Support function of experiment_stats: merges two states by variant name (Chan et al.''s pairwise mean and M2).';

CREATE AGGREGATE @extschema@.experiment_stats(variant text, converted boolean, revenue double precision) (
    SFUNC = @extschema@.experiment_stats_trans,
    STYPE = @extschema@.experiment_state,
    COMBINEFUNC = @extschema@.experiment_stats_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.experiment_stats(text, boolean, double precision) IS
    'One row per user of an experiment: its variant, whether it converted and its revenue (NULL counts as 0). Rows with a NULL variant or converted are skipped; 22023 for non-finite revenue; NULL without rows.';

CREATE FUNCTION @extschema@.experiment_arms(state @extschema@.experiment_state)
RETURNS TABLE (variant text, users bigint, conversions bigint, conversion_rate double precision,
               revenue double precision, revenue_per_user double precision, revenue_variance double precision)
AS 'MODULE_PATHNAME', 'crm_experiment_arms' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.experiment_arms(@extschema@.experiment_state) IS
    'The variants of a state by name: users, conversions, conversion rate, total revenue, revenue per user and its sample variance (NULL for one user).';

CREATE FUNCTION @extschema@.experiment_comparison(
    state @extschema@.experiment_state, control text, alpha double precision DEFAULT 0.05)
RETURNS TABLE (variant text, users bigint, conversions bigint,
               control_rate double precision, variant_rate double precision,
               absolute_lift double precision, relative_lift double precision,
               ci_lower double precision, ci_upper double precision,
               relative_ci_lower double precision, relative_ci_upper double precision,
               z double precision, p_value double precision, p_value_holm double precision,
               control_revenue_per_user double precision, revenue_per_user double precision,
               revenue_absolute_lift double precision, revenue_relative_lift double precision,
               revenue_ci_lower double precision, revenue_ci_upper double precision,
               t double precision, df double precision,
               revenue_p_value double precision, revenue_p_value_holm double precision)
AS 'MODULE_PATHNAME', 'crm_experiment_comparison' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.experiment_comparison(@extschema@.experiment_state, text, double precision) IS
    'Each variant against the named control: crm.two_proportion_test on conversions and crm.welch_test on revenue per user, with Holm-adjusted p-values over the variants (each family separately).';

CREATE FUNCTION @extschema@.experiment_srm(
    state @extschema@.experiment_state, expected_split double precision[] DEFAULT NULL,
    OUT chi_square double precision, OUT df double precision, OUT p_value double precision)
AS 'MODULE_PATHNAME', 'crm_experiment_srm' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.experiment_srm(@extschema@.experiment_state, double precision[]) IS
    'crm.sample_ratio_mismatch on the users per variant of a state (weights in variant-name order; NULL: equal split).';
-- src/campaign_performance.sql: campaign touches and performance (docs/campaigns.md). Activities,
-- leads and orders record the campaign (and variant) that brought them; campaign members record
-- the variant they were assigned; campaigns record their actual cost. crm.campaign_performance
-- reports reach, responses, leads, customers, conversions, revenue, cost, cost per lead and per
-- customer and ROI per campaign and period, optionally within a segment, under the caller's
-- row-level security (the rows follow the contacts, as everywhere).

ALTER TABLE @extschema@.activities
    ADD COLUMN campaign_id bigint CONSTRAINT activities_campaign_fkey REFERENCES @extschema@.campaigns ON DELETE SET NULL,
    ADD COLUMN campaign_variant text;
CREATE INDEX activities_campaign_id_idx ON @extschema@.activities (campaign_id) WHERE campaign_id IS NOT NULL;
COMMENT ON COLUMN @extschema@.activities.campaign_id IS 'The campaign this touch belongs to (a send, an open, a click, a reply...), when known.';
COMMENT ON COLUMN @extschema@.activities.campaign_variant IS 'The campaign variant (A/B arm) of this touch, when the campaign tests several.';

ALTER TABLE @extschema@.leads
    ADD COLUMN campaign_id bigint CONSTRAINT leads_campaign_fkey REFERENCES @extschema@.campaigns ON DELETE SET NULL,
    ADD COLUMN campaign_variant text;
CREATE INDEX leads_campaign_id_idx ON @extschema@.leads (campaign_id) WHERE campaign_id IS NOT NULL;
COMMENT ON COLUMN @extschema@.leads.campaign_id IS 'The campaign that brought this lead, when known.';
COMMENT ON COLUMN @extschema@.leads.campaign_variant IS 'The campaign variant that brought this lead, when known.';

ALTER TABLE @extschema@.orders
    ADD COLUMN campaign_id bigint CONSTRAINT orders_campaign_fkey REFERENCES @extschema@.campaigns ON DELETE SET NULL,
    ADD COLUMN campaign_variant text;
CREATE INDEX orders_campaign_id_idx ON @extschema@.orders (campaign_id) WHERE campaign_id IS NOT NULL;
COMMENT ON COLUMN @extschema@.orders.campaign_id IS 'The campaign this order is attributed to (e.g. the coupon or the last campaign touch), when known.';
COMMENT ON COLUMN @extschema@.orders.campaign_variant IS 'The campaign variant this order is attributed to, when known.';

ALTER TABLE @extschema@.campaign_members ADD COLUMN variant text;
COMMENT ON COLUMN @extschema@.campaign_members.variant IS 'The variant (A/B arm) this member was assigned, when the campaign tests several.';

ALTER TABLE @extschema@.campaigns
    ADD COLUMN cost numeric(16, 2) CONSTRAINT campaigns_cost_nonnegative CHECK (cost >= 0);
COMMENT ON COLUMN @extschema@.campaigns.cost IS 'What the campaign actually cost; NULL: not known yet, and its budget stands in.';

CREATE FUNCTION @extschema@.campaign_performance(period text DEFAULT 'month', segment_id bigint DEFAULT NULL)
RETURNS TABLE (campaign_id bigint, campaign text, period_start timestamptz,
               reach bigint, responses bigint, leads bigint, customers bigint, conversions bigint,
               revenue numeric, cost numeric, cost_per_lead numeric, cost_per_customer numeric, roi numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
    IF period IS NULL OR period NOT IN ('day', 'week', 'month', 'quarter', 'year', 'all') THEN
        RAISE EXCEPTION 'period must be day, week, month, quarter, year or all'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The period given was %s.', coalesce(pg_catalog.quote_literal(period), 'NULL'));
    END IF;
    RETURN QUERY
    WITH seg AS (
        SELECT m.contact_id FROM @extschema@.segment_members m WHERE m.segment_id = campaign_performance.segment_id
    ), bucket AS (
        -- 'all' is one period (period_start NULL; unit and step are then unused, but valid);
        -- step: the length of one period
        SELECT campaign_performance.period = 'all' AS whole,
               CASE campaign_performance.period WHEN 'all' THEN 'year' ELSE campaign_performance.period END AS unit,
               CASE campaign_performance.period WHEN 'quarter' THEN interval '3 months' WHEN 'all' THEN interval '1 year'
                    ELSE ('1 ' || campaign_performance.period)::interval END AS step
    ), members AS (
        SELECT m.campaign_id AS cid,
               CASE WHEN b.whole THEN NULL ELSE pg_catalog.date_trunc(b.unit, m.added_at) END AS p,
               pg_catalog.count(*) FILTER (WHERE m.status <> 'targeted') AS reach
        FROM @extschema@.campaign_members m, bucket b
        WHERE campaign_performance.segment_id IS NULL OR m.contact_id IN (SELECT contact_id FROM seg)
        GROUP BY 1, 2
    ), touches AS (
        SELECT a.campaign_id AS cid,
               CASE WHEN b.whole THEN NULL ELSE pg_catalog.date_trunc(b.unit, a.occurred_at) END AS p,
               pg_catalog.count(DISTINCT a.contact_id) AS responses
        FROM @extschema@.activities a, bucket b
        WHERE a.campaign_id IS NOT NULL
          AND (campaign_performance.segment_id IS NULL OR a.contact_id IN (SELECT contact_id FROM seg))
        GROUP BY 1, 2
    ), new_leads AS (
        SELECT l.campaign_id AS cid,
               CASE WHEN b.whole THEN NULL ELSE pg_catalog.date_trunc(b.unit, l.created_at) END AS p,
               pg_catalog.count(*) AS leads
        FROM @extschema@.leads l, bucket b
        WHERE l.campaign_id IS NOT NULL
          AND (campaign_performance.segment_id IS NULL OR l.contact_id IN (SELECT contact_id FROM seg))
        GROUP BY 1, 2
    ), sales AS (
        SELECT o.campaign_id AS cid,
               CASE WHEN b.whole THEN NULL ELSE pg_catalog.date_trunc(b.unit, o.ordered_at) END AS p,
               pg_catalog.count(DISTINCT o.contact_id) AS customers, pg_catalog.count(*) AS conversions,
               pg_catalog.sum(o.total) AS revenue
        FROM @extschema@.purchases pu JOIN @extschema@.orders o ON o.order_id = pu.order_id, bucket b
        WHERE o.campaign_id IS NOT NULL
          AND (campaign_performance.segment_id IS NULL OR o.contact_id IN (SELECT contact_id FROM seg))
        GROUP BY 1, 2
    ), spend AS (
        -- the cost (or, until it is known, the budget) spread evenly over the campaign's days,
        -- each period taking the days it shares with the campaign; without both dates, all of it
        -- falls in the period of starts_on (or of the campaign's creation)
        SELECT c.campaign_id AS cid, s.p, pg_catalog.round(s.share, 2) AS cost
        FROM @extschema@.campaigns c, bucket b,
        LATERAL (
            SELECT NULL::timestamptz AS p, coalesce(c.cost, c.budget) AS share WHERE b.whole
            UNION ALL
            SELECT pg_catalog.date_trunc(b.unit, coalesce(c.starts_on::timestamptz, c.created_at)),
                   coalesce(c.cost, c.budget)
            WHERE NOT b.whole AND (c.starts_on IS NULL OR c.ends_on IS NULL)
            UNION ALL
            SELECT g.p, coalesce(c.cost, c.budget)
                   * (LEAST(c.ends_on, ((g.p + b.step)::date - 1))
                      - GREATEST(c.starts_on, g.p::date) + 1)
                   / (c.ends_on - c.starts_on + 1)
            FROM pg_catalog.generate_series(pg_catalog.date_trunc(b.unit, c.starts_on::timestamptz),
                                            c.ends_on::timestamptz, b.step) AS g(p)
            WHERE NOT b.whole AND c.starts_on IS NOT NULL AND c.ends_on IS NOT NULL
        ) s
    ), keys AS (
        SELECT cid, p FROM members UNION SELECT cid, p FROM touches UNION SELECT cid, p FROM new_leads
        UNION SELECT cid, p FROM sales UNION SELECT cid, p FROM spend
    )
    SELECT k.cid, c.name, k.p,
           coalesce(m.reach, 0), coalesce(t.responses, 0), coalesce(l.leads, 0),
           coalesce(s.customers, 0), coalesce(s.conversions, 0),
           coalesce(s.revenue, 0), sp.cost,
           pg_catalog.round(sp.cost / NULLIF(l.leads, 0), 2),
           pg_catalog.round(sp.cost / NULLIF(s.customers, 0), 2),
           pg_catalog.round((coalesce(s.revenue, 0) - sp.cost) / NULLIF(sp.cost, 0), 4)
    FROM keys k
    JOIN @extschema@.campaigns c ON c.campaign_id = k.cid
    LEFT JOIN members m ON m.cid = k.cid AND m.p IS NOT DISTINCT FROM k.p
    LEFT JOIN touches t ON t.cid = k.cid AND t.p IS NOT DISTINCT FROM k.p
    LEFT JOIN new_leads l ON l.cid = k.cid AND l.p IS NOT DISTINCT FROM k.p
    LEFT JOIN sales s ON s.cid = k.cid AND s.p IS NOT DISTINCT FROM k.p
    LEFT JOIN spend sp ON sp.cid = k.cid AND sp.p IS NOT DISTINCT FROM k.p
    ORDER BY k.cid, k.p;
END
$f$;
COMMENT ON FUNCTION @extschema@.campaign_performance(text, bigint) IS
    'Per campaign and period (day, week, month, quarter, year in the session time zone, or all): reach (members past ''targeted''), responses (contacts with a campaign touch), leads, customers and conversions (purchases recording the campaign), revenue, cost (actual, else budget, spread over the campaign''s days), cost per lead and per customer, ROI = (revenue - cost) / cost. Within a segment when segment_id is given; only the rows the caller may see are counted.';
REVOKE EXECUTE ON FUNCTION @extschema@.campaign_performance(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.campaign_performance(text, bigint) TO crm_admin, crm_manager, crm_sales, crm_analyst;
