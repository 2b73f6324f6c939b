-- src/demo/generator.sql: crm.generate_demo_data(customers, seed, as_of) fills the schema with a
-- realistic, reproducible CRM dataset for demos and benchmarks.
--
-- Randomness is counter-based: every draw is a hash of (seed, table, row, stream), made uniform.
-- So a row's values depend only on the seed and the row's identity, never on the order in which
-- the executor happens to visit rows: the same arguments give the same rows (ids included) under
-- any plan, parallel or serial, any work_mem, any PostgreSQL version (the hash is the one hash
-- partitioning relies on, stable across versions and platforms). Ids are assigned explicitly
-- (row_number over a total order, chronological where it matters) and the sequences set after.

-- A 64-bit key naming one row of the generated data: the seed, a tag per kind of row (1 users,
-- 2 accounts, 3 contacts, 4 orders, 5 order lines, 6 activities, 7 opportunities, 8 stage
-- changes, 9 tickets, 10 NPS answers, 11 ticket surveys, 12 campaign members, 13 tasks,
-- 14 campaigns; hooks of other capabilities take 100 and up), the row's id and an optional
-- sub-index (the j-th order of a contact). Draws for that row are demo_uniform(key, stream),
-- one stream per attribute.
CREATE FUNCTION @extschema@.demo_key(seed integer, tag integer, id bigint, sub integer DEFAULT 0)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pg_catalog.hashint8extended(sub, pg_catalog.hashint8extended(id, seed::bigint * 256 + tag))
$$;
COMMENT ON FUNCTION @extschema@.demo_key(integer, integer, bigint, integer) IS
    'Demo data: the random key of one generated row (seed, kind of row, id, sub-index); draws are crm.demo_uniform(key, stream).';

-- Uniform on the open interval (0, 1): the hash's top 52 bits plus one half, so never 0 or 1
-- (logarithms of draws are always finite).
CREATE FUNCTION @extschema@.demo_uniform(key bigint, stream integer)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (((pg_catalog.hashint8extended(stream, key) >> 12) + 2251799813685248)::double precision + 0.5)
           / 4503599627370496.0
$$;
COMMENT ON FUNCTION @extschema@.demo_uniform(bigint, integer) IS
    'Demo data: a uniform draw in (0, 1), a pure function of the row key and the stream number.';

-- Standard normal by Box-Muller; uses streams stream and stream + 1.
CREATE FUNCTION @extschema@.demo_normal(key bigint, stream integer)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pg_catalog.sqrt(-2 * pg_catalog.ln(@extschema@.demo_uniform(key, stream)))
           * pg_catalog.cos(2 * pg_catalog.pi() * @extschema@.demo_uniform(key, stream + 1))
$$;
COMMENT ON FUNCTION @extschema@.demo_normal(bigint, integer) IS
    'Demo data: a standard normal draw (Box-Muller over streams stream and stream + 1).';

-- Gamma(shape, scale 1); uses streams stream .. stream + 2. The Wilson-Hilferty cube of a normal
-- (accurate to a few percent in the quantiles for shape >= 1) and, for shape < 1, the boost
-- Gamma(a) = Gamma(a + 1) * U^(1/a). No rejection loop: one expression, set-based, fast; the
-- demo needs the shape of the distribution (a long right tail, mass near 0), not exactness.
CREATE FUNCTION @extschema@.demo_gamma(shape double precision, key bigint, stream integer)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (shape + (shape < 1)::integer)
           * pg_catalog.power(GREATEST(1 - 1 / (9 * (shape + (shape < 1)::integer))
                                       + @extschema@.demo_normal(key, stream)
                                         / (3 * pg_catalog.sqrt(shape + (shape < 1)::integer)),
                                       0.05), 3)
           * CASE WHEN shape < 1 THEN pg_catalog.power(@extschema@.demo_uniform(key, stream + 2), 1 / shape)
                  ELSE 1 END
$$;
COMMENT ON FUNCTION @extschema@.demo_gamma(double precision, bigint, integer) IS
    'Demo data: an approximate Gamma(shape, 1) draw (Wilson-Hilferty, boosted for shape < 1) over streams stream .. stream + 2.';

CREATE FUNCTION @extschema@.generate_demo_data(customers integer, seed integer, as_of date DEFAULT CURRENT_DATE)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- no trigger fires (foreign keys included): every row below is written complete and consistent,
-- derived columns included; needs superuser (or SET on this parameter); restored on return
SET session_replication_role = replica
-- calendar arithmetic (days, months) on timestamptz depends on the time zone: fix it, so the
-- rows do not depend on the session's setting
SET TimeZone = 'UTC'
SET work_mem = '256MB'
-- the row estimates of set-returning functions are far off, which would make every statement
-- pay a JIT compilation of about a second
SET jit = off
AS $generate$
DECLARE
    -- the data ends at the start of as_of (UTC, so the rows do not depend on the session's time
    -- zone) and begins three years earlier
    t_end       timestamptz;
    t_start     timestamptz;
    span_s      double precision;
    n_users     integer;
    n_teams     integer;
    has_support_manager boolean;
    n_support   integer;
    n_reps      integer;
    analyst_id  integer;
    support_base integer;
    rep_base    integer;
    n_accounts  integer;
    prices      numeric[];
    teams       text[];
    seq         record;
    hook        name;
    summary     jsonb := '{}';
    row_count   bigint;
BEGIN
    IF customers IS NULL OR customers < 1 OR customers > 10000000 THEN
        RAISE EXCEPTION 'customers must be between 1 and 10000000'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('customers is %s.', coalesce(customers::text, 'NULL'));
    END IF;
    IF seed IS NULL THEN
        RAISE EXCEPTION 'seed must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF as_of IS NULL OR NOT isfinite(as_of) THEN
        RAISE EXCEPTION 'as_of must be a finite date' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.contacts) OR EXISTS (SELECT FROM @extschema@.users) THEN
        RAISE EXCEPTION 'the CRM already holds data'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'generate_demo_data only fills an empty schema: crm.contacts or crm.users has rows.',
                  HINT = 'Use a fresh database, or truncate the crm tables (TRUNCATE ... RESTART IDENTITY) first.';
    END IF;

    t_end := as_of::timestamp AT TIME ZONE 'UTC';
    t_start := (as_of - interval '3 years') AT TIME ZONE 'UTC';
    span_s := extract(epoch FROM t_end - t_start);

    -- Empty tables of the extension (those of other capabilities too) count from 1 again.
    FOR seq IN
        SELECT s.oid::regclass AS seq_name, t.oid::regclass AS table_name
        FROM pg_depend e
        JOIN pg_class s ON s.oid = e.objid AND s.relkind = 'S'
        JOIN pg_depend o ON o.classid = 'pg_class'::regclass AND o.objid = s.oid AND o.deptype IN ('a', 'i')
                        AND o.refclassid = 'pg_class'::regclass
        JOIN pg_class t ON t.oid = o.refobjid
        WHERE e.classid = 'pg_class'::regclass AND e.deptype = 'e'
          AND e.refclassid = 'pg_extension'::regclass
          AND e.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'crm')
        ORDER BY 1
    LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT FROM %s LIMIT 1) x', seq.table_name) INTO row_count;
        IF row_count = 0 THEN
            PERFORM setval(seq.seq_name, 1, false);
        END IF;
    END LOOP;

    -- -----------------------------------------------------------------------------------------
    -- Staff: sales managers (one per team), a support manager (from 12 staff), an analyst,
    -- support agents (30% of the rest) and sales reps, about one person per 500 customers.
    n_users := greatest(6, ceil(customers / 500.0)::integer);
    n_teams := CASE WHEN n_users >= 30 THEN 3 ELSE 2 END;
    teams := CASE WHEN n_teams = 3 THEN ARRAY['SMB', 'Mid-Market', 'Enterprise'] ELSE ARRAY['SMB', 'Enterprise'] END;
    has_support_manager := n_users >= 12;
    analyst_id := n_teams + has_support_manager::integer + 1;
    support_base := analyst_id;
    n_support := greatest(1, round((n_users - analyst_id) * 0.3)::integer);
    rep_base := support_base + n_support;
    n_reps := n_users - rep_base;

    INSERT INTO @extschema@.users (user_id, login_role, full_name, email, role, team, manager_id,
                                   skills, capacity, active, created_at, updated_at)
    SELECT u.user_id, u.login_role, u.full_name, u.login_role || '@crm.example.com', u.role, u.team,
           u.manager_id, u.skills, u.capacity, u.active, u.created_at, u.created_at
    FROM (
        SELECT g.user_id, r.role, r.team, r.manager_id, r.skills, r.capacity,
               'demo_' || r.role || '_' || lpad(r.nth::text, greatest(2, length(r.nth::text)), '0') AS login_role,
               (ARRAY['Ava', 'Ben', 'Chloe', 'Daniel', 'Emma', 'Felix', 'Grace', 'Hugo', 'Isla', 'Jonas',
                      'Katja', 'Liam', 'Maya', 'Noah', 'Olivia', 'Paul', 'Rosa', 'Samir', 'Tara', 'Victor'])
                   [1 + floor(20 * @extschema@.demo_uniform(k, 1))::integer] || ' ' ||
               (ARRAY['Adler', 'Brooks', 'Costa', 'Dubois', 'Evans', 'Fischer', 'Garcia', 'Hansen', 'Ito',
                      'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Novak', 'Okafor', 'Patel', 'Quinn',
                      'Rossi', 'Schmidt', 'Tanaka'])
                   [1 + floor(20 * @extschema@.demo_uniform(k, 2))::integer] AS full_name,
               -- a few people have left (still owning their history)
               NOT (r.role IN ('sales', 'support') AND @extschema@.demo_uniform(k, 3) < 0.05) AS active,
               t_start - make_interval(days => 30 + floor(700 * @extschema@.demo_uniform(k, 4))::integer) AS created_at
        FROM generate_series(1, n_users) AS g(user_id)
        CROSS JOIN LATERAL @extschema@.demo_key(seed, 1, g.user_id) AS k
        CROSS JOIN LATERAL (
            SELECT CASE WHEN g.user_id <= n_teams THEN 'manager'
                        WHEN g.user_id < analyst_id THEN 'manager'
                        WHEN g.user_id = analyst_id THEN 'analyst'
                        WHEN g.user_id <= rep_base THEN 'support'
                        ELSE 'sales' END AS role,
                   CASE WHEN g.user_id <= n_teams THEN g.user_id
                        WHEN g.user_id < analyst_id THEN n_teams + 1
                        WHEN g.user_id = analyst_id THEN 1
                        WHEN g.user_id <= rep_base THEN g.user_id - support_base
                        ELSE g.user_id - rep_base END AS nth,
                   CASE WHEN g.user_id <= n_teams THEN teams[g.user_id]
                        WHEN g.user_id < analyst_id THEN 'Support'
                        WHEN g.user_id = analyst_id THEN 'Analytics'
                        WHEN g.user_id <= rep_base THEN 'Support'
                        ELSE teams[1 + (g.user_id - rep_base - 1) % n_teams] END AS team,
                   CASE WHEN g.user_id <= rep_base AND g.user_id > support_base AND has_support_manager
                            THEN (n_teams + 1)::bigint
                        WHEN g.user_id > rep_base THEN (1 + (g.user_id - rep_base - 1) % n_teams)::bigint
                   END AS manager_id,
                   CASE WHEN g.user_id < analyst_id THEN ARRAY['coaching', 'forecasting']
                        WHEN g.user_id = analyst_id THEN ARRAY['sql', 'statistics']
                        WHEN g.user_id <= rep_base THEN
                            ARRAY[(ARRAY['billing', 'onboarding'])[1 + floor(2 * @extschema@.demo_uniform(k, 5))::integer],
                                  (ARRAY['technical', 'integrations'])[1 + floor(2 * @extschema@.demo_uniform(k, 8))::integer]]
                        ELSE ARRAY[(ARRAY['english', 'german', 'french', 'spanish'])[1 + floor(4 * @extschema@.demo_uniform(k, 6))::integer],
                                   (ARRAY['software', 'finance', 'healthcare', 'retail', 'manufacturing'])[1 + floor(5 * @extschema@.demo_uniform(k, 7))::integer]]
                   END AS skills,
                   CASE WHEN g.user_id < analyst_id THEN 10 WHEN g.user_id = analyst_id THEN 0
                        WHEN g.user_id <= rep_base THEN 25 ELSE 40 END AS capacity
        ) AS r
    ) AS u;

    -- -----------------------------------------------------------------------------------------
    -- Accounts, about one per ten customers. Company size is log-normal (median ~35 staff, a
    -- few thousand-plus enterprises); the size decides the sales team that owns the account
    -- (SMB under 50 staff, Mid-Market under 500, Enterprise; with two teams the cut is 200).
    n_accounts := greatest(1, round(customers / 10.0)::integer);
    CREATE TEMP TABLE demo_account ON COMMIT DROP AS
    SELECT a.account_id, a.k, a.employee_count, a.industry, a.industry_effect, a.country, a.team,
           rep_base + a.team + n_teams * floor(@extschema@.demo_uniform(a.k, 6)
                                               * ((n_reps - a.team) / n_teams + 1))::integer AS owner_id,
           (ARRAY['Northwind', 'Blue Harbor', 'Summit', 'Crescent', 'Ironwood', 'Silverline', 'Redfern',
                  'Oakridge', 'Brightwater', 'Falcon', 'Granite', 'Evergreen', 'Horizon', 'Lakeside',
                  'Maple', 'Nimbus', 'Orion', 'Pinecrest', 'Quartz', 'Riverbend', 'Sterling', 'Tidewater',
                  'Vantage', 'Westbrook', 'Zenith', 'Alder', 'Beacon', 'Cobalt', 'Driftwood', 'Emberly'])
               [1 + floor(30 * @extschema@.demo_uniform(a.k, 7))::integer] AS name_first,
           (ARRAY['Analytics', 'Systems', 'Logistics', 'Health', 'Capital', 'Foods', 'Media', 'Energy',
                  'Labs', 'Works', 'Partners', 'Retail', 'Software', 'Industries', 'Consulting',
                  'Networks', 'Robotics', 'Supply', 'Learning', 'Holdings'])
               [1 + floor(20 * @extschema@.demo_uniform(a.k, 8))::integer] AS name_second
    FROM (
        SELECT g.account_id, k, s.employee_count,
               (ARRAY['Software', 'Finance', 'Healthcare', 'Manufacturing', 'Retail', 'Education', 'Media',
                      'Logistics', 'Energy', 'Government'])[i.ix] AS industry,
               (ARRAY[0.5, 0.3, 0.2, 0.0, -0.2, -0.4, -0.1, 0.1, 0.2, -0.5])[i.ix] AS industry_effect,
               (ARRAY['US', 'GB', 'DE', 'FR', 'NL', 'CA', 'AU', 'ES', 'IT', 'SE'])
                   [1 + width_bucket(@extschema@.demo_uniform(k, 4), ARRAY[0.40, 0.52, 0.64, 0.72, 0.78, 0.85, 0.90, 0.94, 0.97]::double precision[])] AS country,
               CASE WHEN n_teams = 3 THEN CASE WHEN s.employee_count >= 500 THEN 3 WHEN s.employee_count >= 50 THEN 2 ELSE 1 END
                    ELSE CASE WHEN s.employee_count >= 200 THEN 2 ELSE 1 END END AS team
        FROM generate_series(1, n_accounts) AS g(account_id)
        CROSS JOIN LATERAL @extschema@.demo_key(seed, 2, g.account_id) AS k
        CROSS JOIN LATERAL (SELECT greatest(1, round(exp(3.6 + 1.5 * @extschema@.demo_normal(k, 1))))::integer AS employee_count) AS s
        CROSS JOIN LATERAL (SELECT 1 + width_bucket(@extschema@.demo_uniform(k, 3),
                                ARRAY[0.22, 0.36, 0.48, 0.60, 0.70, 0.77, 0.84, 0.90, 0.95]::double precision[]) AS ix) AS i
    ) AS a;
    ALTER TABLE demo_account ADD PRIMARY KEY (account_id);

    -- -----------------------------------------------------------------------------------------
    -- Contacts and what happens to them: the latent traits every later table draws on.
    -- start_at: when the person enters the CRM (growth: more people recently). About 30% become
    -- leads, whose chance of being won depends on source, industry, size, BANT and engagement;
    -- buyers are won leads and 85% of the people who never were leads (web shop customers).
    CREATE TEMP TABLE demo_contact ON COMMIT DROP AS
    SELECT c.*,
           CASE WHEN c.has_lead THEN c.lead_created_at + make_interval(secs => 86400 * c.lead_days) END AS lead_due_at,
           1 / (1 + exp(-(-2.5 + c.source_effect + coalesce(c.industry_effect, -0.4)
                          + 0.3 * log(c.employee_count::numeric)
                          + CASE WHEN c.budget IS NULL THEN -0.2 WHEN c.budget >= 10000 THEN 0.4 ELSE 0 END
                          + CASE c.authority WHEN true THEN 0.7 WHEN false THEN -0.3 ELSE 0 END
                          + CASE c.need WHEN 'none' THEN -1.2 WHEN 'low' THEN -0.3 WHEN 'medium' THEN 0.3
                                        WHEN 'high' THEN 0.9 ELSE 0 END
                          + CASE WHEN c.timeline IS NULL THEN 0
                                 WHEN c.timeline <= c.lead_created_at::date + 90 THEN 0.5 ELSE 0 END
                          + 1.1 * ln(1 + c.engagement)))) AS win_probability
    FROM (
        SELECT b.contact_id, b.k, b.account_id, a.industry, a.industry_effect,
               coalesce(a.employee_count, 1) AS employee_count,
               coalesce(a.team, 1) AS team, a.owner_id AS account_owner_id, a.country AS account_country,
               b.start_at, b.has_lead,
               CASE WHEN b.has_lead THEN b.start_at + make_interval(secs => 172800 * @extschema@.demo_uniform(b.k, 44)) END AS lead_created_at,
               src.source, src.source_effect,
               -- engagement: how much the person interacts (a long tail of very engaged people)
               @extschema@.demo_gamma(1.5, b.k, 6) * CASE WHEN src.source IN ('web', 'email', 'event', 'paid_search') THEN 1.3 ELSE 1 END AS engagement,
               CASE WHEN @extschema@.demo_uniform(b.k, 9) < 0.7
                    THEN round((exp(8.2 + 0.45 * ln(coalesce(a.employee_count, 1)) + 0.8 * @extschema@.demo_normal(b.k, 10)))::numeric, -2) END AS budget,
               CASE WHEN @extschema@.demo_uniform(b.k, 12) < 0.75 THEN @extschema@.demo_uniform(b.k, 13) < 0.45 END AS authority,
               CASE WHEN @extschema@.demo_uniform(b.k, 14) < 0.8
                    THEN (ARRAY['none', 'low', 'medium', 'high'])[1 + width_bucket(@extschema@.demo_uniform(b.k, 15), ARRAY[0.10, 0.35, 0.70]::double precision[])] END AS need,
               CASE WHEN @extschema@.demo_uniform(b.k, 16) < 0.6
                    THEN (b.start_at + make_interval(days => 15 + floor(165 * @extschema@.demo_uniform(b.k, 17))::integer))::date END AS timeline,
               -- days from lead to decision (median about two months)
               14 + exp(3.7 + 0.7 * @extschema@.demo_normal(b.k, 20)) AS lead_days,
               @extschema@.demo_uniform(b.k, 18) AS win_draw,
               @extschema@.demo_uniform(b.k, 19) AS lose_kind_draw,
               @extschema@.demo_uniform(b.k, 22) < 0.85 AS buys_without_lead,
               -- BG/NBD: purchase rate per week while alive ~ Gamma(r 0.5, alpha 18), dropout after
               -- each repeat purchase ~ Beta(a 0.6, b 3.0); Gamma-Gamma spend: rate nu ~ Gamma(q 3.5,
               -- gamma 60)
               greatest(@extschema@.demo_gamma(0.5, b.k, 23) / 18.0, 1e-6) AS purchase_rate,
               least(greatest(pa.g / (pa.g + pb.g), 1e-6), 0.999999) AS dropout,
               @extschema@.demo_uniform(b.k, 32) AS lifetime_draw,
               @extschema@.demo_gamma(3.5, b.k, 33) / 60.0 AS spend_rate
        FROM (
            SELECT g.contact_id, k,
                   CASE WHEN @extschema@.demo_uniform(k, 1) < 0.65
                        THEN 1 + floor(n_accounts * power(@extschema@.demo_uniform(k, 2), 1.4))::bigint END AS account_id,
                   t_start + make_interval(secs => span_s * power(@extschema@.demo_uniform(k, 3), 1 / 1.5)) AS start_at,
                   @extschema@.demo_uniform(k, 4) < 0.30 AS has_lead
            FROM generate_series(1, customers) AS g(contact_id)
            CROSS JOIN LATERAL @extschema@.demo_key(seed, 3, g.contact_id) AS k
        ) AS b
        LEFT JOIN demo_account a ON a.account_id = b.account_id
        CROSS JOIN LATERAL (
            SELECT (ARRAY['web', 'referral', 'event', 'paid_search', 'social', 'email', 'partner', 'cold_call', 'other'])[ix] AS source,
                   (ARRAY[0.2, 1.2, 0.5, -0.2, -0.6, 0.0, 0.8, -0.9, -0.3])[ix] AS source_effect
            FROM (SELECT 1 + width_bucket(@extschema@.demo_uniform(b.k, 5),
                                          ARRAY[0.25, 0.37, 0.47, 0.62, 0.72, 0.82, 0.88, 0.96]::double precision[]) AS ix) AS s
        ) AS src
        CROSS JOIN LATERAL (SELECT @extschema@.demo_gamma(0.6, b.k, 26) AS g) AS pa
        CROSS JOIN LATERAL (SELECT @extschema@.demo_gamma(3.0, b.k, 29) AS g) AS pb
    ) AS c;

    -- Lead outcome: decided leads (decision date passed) are won or lost (some lost early as
    -- unqualified); the others are still open, further along the longer they have run. Some
    -- leads, weak ones more often, stall: never decided, they stay new or contacted.
    ALTER TABLE demo_contact
        ADD COLUMN lead_status text, ADD COLUMN lead_closed_at timestamptz, ADD COLUMN lead_qualified_at timestamptz,
        ADD COLUMN first_purchase_at timestamptz, ADD COLUMN owner_id bigint;
    UPDATE demo_contact c SET
        lead_status = s.status,
        lead_closed_at = CASE WHEN s.status IN ('won', 'lost') THEN c.lead_due_at END,
        lead_qualified_at = CASE WHEN s.status IN ('won', 'qualified') OR (s.status = 'lost' AND c.lose_kind_draw < 0.6)
                                 THEN c.lead_created_at + (c.lead_due_at - c.lead_created_at) * 0.4 END
    FROM (
        SELECT contact_id,
               CASE WHEN @extschema@.demo_uniform(k, 52) < 0.25 * (1 - win_probability) THEN
                        CASE WHEN @extschema@.demo_uniform(k, 53) < 0.4 THEN 'new' ELSE 'contacted' END
                    WHEN lead_due_at <= t_end THEN
                        CASE WHEN win_draw < win_probability THEN 'won'
                             WHEN lose_kind_draw < 0.65 THEN 'lost' ELSE 'unqualified' END
                    ELSE CASE WHEN t_end - lead_created_at < (lead_due_at - lead_created_at) * 0.2 THEN 'new'
                              WHEN t_end - lead_created_at < (lead_due_at - lead_created_at) * 0.4 THEN 'contacted'
                              WHEN win_draw < win_probability OR lose_kind_draw < 0.6 THEN 'qualified'
                              WHEN lose_kind_draw < 0.65 THEN 'contacted' ELSE 'unqualified' END
               END AS status
        FROM demo_contact WHERE has_lead
    ) AS s
    WHERE s.contact_id = c.contact_id;
    UPDATE demo_contact SET
        first_purchase_at = CASE WHEN lead_status = 'won'
                                 THEN lead_closed_at + least(interval '3 days', t_end - lead_closed_at) * @extschema@.demo_uniform(k, 45)
                                 WHEN NOT has_lead AND buys_without_lead THEN start_at END;
    -- Owners: the account's rep; people without a company belong to the first (SMB) team once
    -- they are leads or customers; plain subscribers have no owner.
    UPDATE demo_contact SET
        owner_id = coalesce(account_owner_id,
                            CASE WHEN has_lead OR first_purchase_at IS NOT NULL
                                 THEN rep_base + 1 + n_teams * floor(@extschema@.demo_uniform(k, 43)
                                                                     * ((n_reps - 1) / n_teams + 1))::integer END);
    ALTER TABLE demo_contact ADD PRIMARY KEY (contact_id);
    ANALYZE demo_contact;

    -- -----------------------------------------------------------------------------------------
    -- Purchases, the BG/NBD process: from the first purchase, gaps ~ Exponential(rate) while
    -- alive; after each repeat purchase the customer drops out with its probability (so the
    -- number of repeat purchases it would ever make is 1 + a geometric count: as in BG/NBD, a
    -- customer with no repeat purchase yet is alive). Only what happens before t_end is kept.
    CREATE TEMP TABLE demo_order ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY o.ordered_at, o.contact_id, o.j) AS order_id, o.*
    FROM (
        SELECT p.contact_id, p.account_id, p.j, p.k,
               date_trunc('second', p.first_purchase_at + make_interval(secs => p.weeks * 604800)) AS ordered_at,
               -- Gamma-Gamma: order value ~ Gamma(p 4, rate nu) for this customer's nu
               @extschema@.demo_gamma(4, p.k, 2) / p.spend_rate AS value,
               least(5, 1 + floor(-0.9 * ln(@extschema@.demo_uniform(p.k, 5))))::integer AS n_lines,
               @extschema@.demo_uniform(p.k, 6) AS status_draw
        FROM (
            SELECT c.contact_id, c.account_id, c.first_purchase_at, c.spend_rate, g.j, ok.k,
                   sum(CASE WHEN g.j = 1 THEN 0 ELSE -ln(@extschema@.demo_uniform(ok.k, 1)) / c.purchase_rate END)
                       OVER (PARTITION BY c.contact_id ORDER BY g.j) AS weeks
            FROM demo_contact c
            CROSS JOIN LATERAL (
                SELECT least(2 + floor(ln(c.lifetime_draw) / ln(1 - c.dropout)), 400,
                             2 + ceil(m + 5 * sqrt(m) + 5))::integer AS n_generated
                FROM (SELECT c.purchase_rate * extract(epoch FROM t_end - c.first_purchase_at) / 604800 AS m) AS e
            ) AS n
            CROSS JOIN LATERAL generate_series(1, n.n_generated) AS g(j)
            CROSS JOIN LATERAL @extschema@.demo_key(seed, 4, c.contact_id, g.j) AS ok(k)
            WHERE c.first_purchase_at IS NOT NULL
        ) AS p
        WHERE p.weeks * 604800 < extract(epoch FROM t_end - p.first_purchase_at)
    ) AS o;
    ALTER TABLE demo_order ADD COLUMN first_line_id bigint, ADD COLUMN status text;
    UPDATE demo_order o SET
        first_line_id = f.first_line_id,
        status = CASE WHEN o.status_draw < 0.012 THEN 'cancelled'
                      WHEN o.status_draw < 0.02 THEN 'refunded'
                      WHEN o.ordered_at > t_end - interval '2 days' AND o.status_draw > 0.5 THEN 'pending'
                      WHEN o.ordered_at > t_end - interval '10 days' THEN 'paid'
                      ELSE 'shipped' END
    FROM (SELECT order_id, 1 + sum(n_lines) OVER (ORDER BY order_id) - n_lines AS first_line_id FROM demo_order) AS f
    WHERE f.order_id = o.order_id;

    -- Products: 10 lines in 5 editions, prices from 4.99 to 899.99 on a log scale.
    INSERT INTO @extschema@.products (product_id, sku, name, category, unit_price, active, created_at, updated_at)
    SELECT i + 1,
           format('SKU-%s-%s', upper(left((ARRAY['Analytics', 'Backup', 'Connect', 'Desk', 'Edge', 'Flow', 'Guard', 'Hub', 'Insight', 'Journey'])[1 + i % 10], 3)),
                  lpad((i + 1)::text, 3, '0')),
           (ARRAY['Analytics', 'Backup', 'Connect', 'Desk', 'Edge', 'Flow', 'Guard', 'Hub', 'Insight', 'Journey'])[1 + i % 10]
               || ' ' || (ARRAY['Starter', 'Standard', 'Plus', 'Pro', 'Enterprise'])[1 + i / 10],
           (ARRAY['Software', 'Services', 'Software', 'Support', 'Hardware', 'Software', 'Security', 'Hardware', 'Software', 'Training'])[1 + i % 10],
           round(5 * power(180, i / 49.0)) - 0.01,
           i % 17 <> 16,
           t_start - interval '1 year', t_start - interval '1 year'
    FROM generate_series(0, 49) AS i;
    SELECT array_agg(unit_price ORDER BY product_id) INTO prices FROM @extschema@.products;

    -- Lines: each line aims at the order's value divided among its lines, through a product a
    -- little cheaper than that and a quantity to match; some lines are discounted.
    INSERT INTO @extschema@.order_lines (order_line_id, order_id, product_id, quantity, unit_price, discount)
    SELECT o.first_line_id + l - 1, o.order_id, pr.ix + 1,
           least(50, greatest(1, round(v.target / pr.price)))::integer, pr.price,
           CASE WHEN @extschema@.demo_uniform(lk, 3) < 0.15
                THEN (ARRAY[0.05, 0.10, 0.15, 0.20])[1 + floor(4 * @extschema@.demo_uniform(lk, 4))::integer] ELSE 0 END
    FROM demo_order o
    CROSS JOIN LATERAL generate_series(1, o.n_lines) AS l
    CROSS JOIN LATERAL @extschema@.demo_key(seed, 5, o.order_id, l) AS lk
    CROSS JOIN LATERAL (SELECT o.value / o.n_lines AS target) AS v
    CROSS JOIN LATERAL (
        SELECT ix, prices[ix + 1] AS price
        FROM (SELECT greatest(0, least(49, floor(ln(greatest(v.target, 5) / 5) / ln(180) * 49))::integer
                                 - floor(8 * @extschema@.demo_uniform(lk, 2))::integer) AS ix) AS x
    ) AS pr;

    INSERT INTO @extschema@.orders (order_id, contact_id, account_id, ordered_at, status, currency, total, created_at, updated_at)
    SELECT o.order_id, o.contact_id, o.account_id, o.ordered_at, o.status, 'USD', t.total, o.ordered_at,
           CASE o.status WHEN 'shipped' THEN o.ordered_at + interval '2 days'
                         WHEN 'cancelled' THEN o.ordered_at + interval '1 hour'
                         WHEN 'refunded' THEN least(o.ordered_at + interval '12 days', t_end)
                         ELSE o.ordered_at END
    FROM demo_order o
    JOIN (SELECT order_id, sum(line_total) AS total FROM @extschema@.order_lines GROUP BY order_id) AS t
      ON t.order_id = o.order_id;

    CREATE TEMP TABLE demo_buyer ON COMMIT DROP AS
    SELECT contact_id, count(*) FILTER (WHERE status IN ('paid', 'shipped')) AS purchases,
           min(ordered_at) AS first_order_at, max(ordered_at) AS last_order_at
    FROM demo_order GROUP BY contact_id;
    ALTER TABLE demo_buyer ADD PRIMARY KEY (contact_id);

    -- -----------------------------------------------------------------------------------------
    -- Accounts (created with their first contact), leads.
    INSERT INTO @extschema@.accounts (account_id, name, domain, industry, employee_count, annual_revenue,
                                      country, owner_id, created_at, updated_at)
    SELECT a.account_id, a.name_first || ' ' || a.name_second,
           lower(replace(a.name_first, ' ', '')) || '-' || lower(a.name_second) || '-' || a.account_id || '.example.com',
           a.industry, a.employee_count,
           round(least(a.employee_count * 120000 * exp(0.5 * @extschema@.demo_normal(a.k, 10)), 1e12)::numeric, -3),
           a.country, a.owner_id,
           coalesce(f.first_start_at, t_start + make_interval(secs => span_s * @extschema@.demo_uniform(a.k, 12))) - interval '1 day',
           coalesce(f.first_start_at, t_start + make_interval(secs => span_s * @extschema@.demo_uniform(a.k, 12))) - interval '1 day'
    FROM demo_account a
    LEFT JOIN (SELECT account_id, min(start_at) AS first_start_at FROM demo_contact
               WHERE account_id IS NOT NULL GROUP BY account_id) AS f ON f.account_id = a.account_id;

    CREATE TEMP TABLE demo_lead ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY lead_created_at, contact_id) AS lead_id, contact_id
    FROM demo_contact WHERE has_lead;
    ALTER TABLE demo_lead ADD PRIMARY KEY (contact_id);

    INSERT INTO @extschema@.leads (lead_id, contact_id, source, status, owner_id, budget, authority, need,
                                   timeline, qualified_at, closed_at, created_at, updated_at)
    SELECT l.lead_id, c.contact_id, c.source, c.lead_status, c.owner_id, c.budget, c.authority, c.need,
           c.timeline, c.lead_qualified_at, c.lead_closed_at, c.lead_created_at,
           coalesce(c.lead_closed_at, c.lead_qualified_at, c.lead_created_at)
    FROM demo_lead l JOIN demo_contact c USING (contact_id);

    -- -----------------------------------------------------------------------------------------
    -- Opportunities: one per lead that got qualified (won, lost after qualification, or open
    -- and qualified), and expansion deals on about a third of the accounts. Each moves through
    -- consecutive stages from its start stage; closed ones end in closed won (6) or lost (7).
    CREATE TEMP TABLE demo_opportunity ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY o.created_at, o.origin, o.origin_id) AS opportunity_id, o.*,
           CASE WHEN o.outcome = 'open'
                THEN least(5, o.start_stage + floor((6 - o.start_stage)
                                                    * extract(epoch FROM t_end - o.created_at)
                                                    / extract(epoch FROM o.due_at - o.created_at))::integer)
                WHEN o.outcome = 'won' THEN 5
                ELSE o.start_stage + floor((6 - o.start_stage) * @extschema@.demo_uniform(o.k, 3))::integer
           END AS last_open_stage
    FROM (
        SELECT 1 AS origin, c.contact_id AS origin_id, ok AS k, l.lead_id, c.contact_id, c.account_id, c.owner_id,
               c.lead_qualified_at AS created_at, c.lead_due_at AS due_at,
               CASE c.lead_status WHEN 'won' THEN 'won' WHEN 'lost' THEN 'lost' ELSE 'open' END AS outcome,
               2 + floor(2 * @extschema@.demo_uniform(ok, 1))::integer AS start_stage,
               round(coalesce(c.budget * (0.5 + 0.7 * @extschema@.demo_uniform(ok, 2)),
                              exp(8.5 + 0.4 * ln(c.employee_count) + 0.7 * @extschema@.demo_normal(ok, 4)))::numeric, -1) AS amount,
               coalesce(a.name_first || ' ' || a.name_second, 'Individual') AS customer_name
        FROM demo_contact c
        JOIN demo_lead l USING (contact_id)
        LEFT JOIN demo_account a ON a.account_id = c.account_id
        CROSS JOIN LATERAL @extschema@.demo_key(seed, 7, c.contact_id, 1) AS ok
        WHERE c.lead_qualified_at IS NOT NULL
        UNION ALL
        SELECT 2, x.account_id * 2 + x.nth, x.k, NULL, NULL, x.account_id, x.owner_id, x.created_at,
               x.created_at + make_interval(secs => 86400 * (30 + exp(4.0 + 0.6 * @extschema@.demo_normal(x.k, 6)))),
               CASE WHEN x.created_at + make_interval(secs => 86400 * (30 + exp(4.0 + 0.6 * @extschema@.demo_normal(x.k, 6)))) > t_end THEN 'open'
                    WHEN @extschema@.demo_uniform(x.k, 8) < 0.25 + 0.05 * ln(x.employee_count) THEN 'won'
                    ELSE 'lost' END,
               1 + floor(2 * @extschema@.demo_uniform(x.k, 1))::integer,
               round(exp(8.8 + 0.4 * ln(x.employee_count) + 0.7 * @extschema@.demo_normal(x.k, 4))::numeric, -1),
               x.name_first || ' ' || x.name_second
        FROM (
            SELECT a.account_id, a.owner_id, a.employee_count, a.name_first, a.name_second, n.nth, ok AS k,
                   t_start + make_interval(secs => span_s * @extschema@.demo_uniform(ok, 5)) AS created_at
            FROM demo_account a
            CROSS JOIN LATERAL generate_series(1, CASE WHEN @extschema@.demo_uniform(a.k, 20) < 0.10 THEN 2
                                                       WHEN @extschema@.demo_uniform(a.k, 20) < 0.35 THEN 1 ELSE 0 END) AS n(nth)
            CROSS JOIN LATERAL @extschema@.demo_key(seed, 7, a.account_id, 1 + n.nth) AS ok
        ) AS x
    ) AS o;
    ALTER TABLE demo_opportunity ADD COLUMN closed_at timestamptz;
    UPDATE demo_opportunity SET closed_at = CASE WHEN outcome <> 'open' THEN least(due_at, t_end) END;

    INSERT INTO @extschema@.opportunities (opportunity_id, name, account_id, contact_id, lead_id, amount, currency,
                                           stage_id, expected_close, closed_at, owner_id, created_at, updated_at)
    SELECT o.opportunity_id,
           o.customer_name || ' - ' || (ARRAY['New business', 'Expansion', 'Renewal', 'Upsell', 'Pilot'])
               [CASE WHEN o.origin = 1 THEN CASE WHEN @extschema@.demo_uniform(o.k, 9) < 0.8 THEN 1 ELSE 5 END
                     ELSE 2 + floor(3 * @extschema@.demo_uniform(o.k, 9))::integer END],
           o.account_id, o.contact_id, o.lead_id, o.amount, 'USD',
           CASE o.outcome WHEN 'won' THEN 6 WHEN 'lost' THEN 7 ELSE o.last_open_stage END,
           coalesce(o.closed_at, o.due_at)::date, o.closed_at, o.owner_id, o.created_at,
           o.created_at
    FROM demo_opportunity o;

    -- History: the first row enters the start stage at creation; each later change falls in its
    -- own slice of the deal's life, so the times increase; a closing change happens at closed_at.
    INSERT INTO @extschema@.opportunity_stage_history (history_id, opportunity_id, from_stage_id, to_stage_id,
                                                       changed_at, changed_by, changed_by_role)
    SELECT row_number() OVER (ORDER BY h.opportunity_id, h.step), h.opportunity_id,
           CASE WHEN h.step > 0 THEN h.start_stage + h.step - 1 END,
           CASE WHEN h.step <= h.last_open_stage - h.start_stage THEN h.start_stage + h.step
                WHEN h.outcome = 'won' THEN 6 ELSE 7 END,
           CASE WHEN h.step = 0 THEN h.created_at
                WHEN h.outcome <> 'open' AND h.step = h.steps - 1 THEN h.closed_at
                ELSE h.created_at + (coalesce(h.closed_at, t_end) - h.created_at)
                                    * ((h.step - 1 + 0.2 + 0.6 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 8, h.opportunity_id, h.step), 1))
                                       / greatest(h.steps - 1, 1)) END,
           h.owner_id, u.login_role
    FROM (
        SELECT o.*, s.step, o.last_open_stage - o.start_stage + 1 + (o.outcome <> 'open')::integer AS steps
        FROM demo_opportunity o
        CROSS JOIN LATERAL generate_series(0, o.last_open_stage - o.start_stage + (o.outcome <> 'open')::integer) AS s(step)
    ) AS h
    LEFT JOIN @extschema@.users u ON u.user_id = h.owner_id;
    UPDATE @extschema@.opportunities o SET updated_at = h.last_change
    FROM (SELECT opportunity_id, max(changed_at) AS last_change FROM @extschema@.opportunity_stage_history
          GROUP BY opportunity_id) AS h
    WHERE h.opportunity_id = o.opportunity_id;

    -- -----------------------------------------------------------------------------------------
    -- Tickets: customers open some (more the more they buy). Response and resolution times are
    -- log-normal, faster for higher priorities, slower for some agents.
    CREATE TEMP TABLE demo_ticket ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY t.opened_at, t.contact_id, t.j) AS ticket_id, t.*,
           CASE WHEN t.opened_at + t.response_delay <= t_end THEN t.opened_at + t.response_delay END AS first_response_at,
           CASE WHEN t.opened_at + t.response_delay + t.resolution_delay <= t_end
                THEN t.opened_at + t.response_delay + t.resolution_delay END AS resolved_at,
           t.response_delay > interval '24 hours' OR t.response_delay + t.resolution_delay > interval '5 days' AS slow
    FROM (
        SELECT x.*,
               make_interval(secs => 3600 * (ARRAY[16, 6, 2, 0.5])[x.priority_ix] * x.agent_pace
                                    * exp(@extschema@.demo_normal(x.tk, 4))) AS response_delay,
               make_interval(secs => 86400 * (ARRAY[4, 2, 1, 0.3])[x.priority_ix] * x.agent_pace
                                     * exp(@extschema@.demo_normal(x.tk, 6))) AS resolution_delay
        FROM (
            SELECT c.contact_id, c.account_id, g.j, tk,
                   date_trunc('second', b.first_order_at + (t_end - b.first_order_at) * @extschema@.demo_uniform(tk, 1)) AS opened_at,
                   1 + width_bucket(@extschema@.demo_uniform(tk, 2), ARRAY[0.25, 0.75, 0.95]::double precision[]) AS priority_ix,
                   (ARRAY['email', 'chat', 'phone', 'web', 'social'])
                       [1 + width_bucket(@extschema@.demo_uniform(tk, 3), ARRAY[0.45, 0.70, 0.90, 0.98]::double precision[])]::@extschema@.channel AS channel,
                   support_base + 1 + floor(n_support * @extschema@.demo_uniform(tk, 8))::integer AS assignee_id,
                   exp(0.5 * @extschema@.demo_normal(@extschema@.demo_key(seed, 1, support_base + 1 + floor(n_support * @extschema@.demo_uniform(tk, 8))::integer), 20)) AS agent_pace,
                   (ARRAY['Cannot log in', 'Invoice question', 'Refund request', 'Delivery delayed',
                          'Export fails with an error', 'How do I add a user?', 'Payment declined',
                          'Integration stopped syncing', 'Feature request', 'Account locked',
                          'Wrong item received', 'Slow dashboard'])
                       [1 + floor(12 * @extschema@.demo_uniform(tk, 9))::integer] AS subject
            FROM demo_contact c
            JOIN demo_buyer b USING (contact_id)
            CROSS JOIN LATERAL (SELECT (0.2 + 0.06 * least(b.purchases, 10)) / (1.2 + 0.06 * least(b.purchases, 10)) AS q) AS q
            CROSS JOIN LATERAL generate_series(1, least(10, floor(ln(@extschema@.demo_uniform(c.k, 47)) / ln(q.q)))::integer) AS g(j)
            CROSS JOIN LATERAL @extschema@.demo_key(seed, 9, c.contact_id, g.j) AS tk
        ) AS x
    ) AS t;

    INSERT INTO @extschema@.tickets (ticket_id, contact_id, account_id, subject, priority, status, channel, assignee_id,
                                     opened_at, first_response_at, resolved_at, created_at, updated_at)
    SELECT t.ticket_id, t.contact_id, t.account_id, t.subject, (ARRAY['low', 'normal', 'high', 'urgent'])[t.priority_ix],
           CASE WHEN t.resolved_at IS NOT NULL THEN CASE WHEN t.resolved_at < t_end - interval '7 days' THEN 'closed' ELSE 'resolved' END
                WHEN t.first_response_at IS NULL THEN 'new'
                WHEN @extschema@.demo_uniform(t.tk, 10) < 0.5 THEN 'open' ELSE 'pending' END,
           t.channel, t.assignee_id, t.opened_at, t.first_response_at, t.resolved_at, t.opened_at,
           coalesce(t.resolved_at, t.first_response_at, t.opened_at)
    FROM demo_ticket t;

    -- -----------------------------------------------------------------------------------------
    -- Surveys. A latent satisfaction z ~ N(0, 1) shifted by what the customer lived (loyal
    -- customers happier, a slow ticket much less happy) is cut into the score scale at fixed
    -- normal quantiles: with no shift NPS answers are 50% promoters and 20% detractors.
    INSERT INTO @extschema@.survey_responses (response_id, contact_id, ticket_id, kind, score, comment,
                                              responded_at, created_at, updated_at)
    SELECT row_number() OVER (ORDER BY s.responded_at, s.contact_id, s.kind, s.ticket_id, s.sk), s.contact_id, s.ticket_id, s.kind,
           s.score,
           CASE WHEN @extschema@.demo_uniform(s.sk, 5) < 0.25 THEN
               CASE WHEN s.band = 1 THEN (ARRAY['Took far too long to get an answer.', 'Support never followed up.',
                                                'Too expensive for what it does.', 'Billing was a mess.'])[1 + floor(4 * @extschema@.demo_uniform(s.sk, 6))::integer]
                    WHEN s.band = 2 THEN (ARRAY['Fine, but the setup was confusing.', 'Does the job.',
                                                'Good product, average service.'])[1 + floor(3 * @extschema@.demo_uniform(s.sk, 6))::integer]
                    ELSE (ARRAY['Great service, thank you!', 'The team was quick and friendly.',
                                'Would recommend to any colleague.', 'Exactly what we needed.'])[1 + floor(4 * @extschema@.demo_uniform(s.sk, 6))::integer] END
           END,
           s.responded_at, s.responded_at, s.responded_at
    FROM (
        SELECT r.*,
               CASE r.kind WHEN 'nps' THEN CASE WHEN r.score <= 6 THEN 1 WHEN r.score <= 8 THEN 2 ELSE 3 END
                           WHEN 'csat' THEN CASE WHEN r.score <= 2 THEN 1 WHEN r.score = 3 THEN 2 ELSE 3 END
                           ELSE CASE WHEN r.score <= 3 THEN 1 WHEN r.score <= 5 THEN 2 ELSE 3 END END AS band
        FROM (
            -- NPS: a third of the customers answer once (some twice), at least two weeks in
            SELECT n.contact_id, NULL::bigint AS ticket_id, 'nps'::text AS kind, sk,
                   width_bucket(@extschema@.demo_normal(sk, 1) + 0.25 * ln(b.purchases + 1) - 0.15
                                - coalesce(tx.penalty, 0),
                                ARRAY[-2.054, -1.881, -1.695, -1.514, -1.341, -1.080, -0.842, -0.496, 0.0, 0.583]::double precision[])::smallint AS score,
                   date_trunc('second', b.first_order_at + interval '14 days'
                                        + (t_end - b.first_order_at - interval '14 days') * @extschema@.demo_uniform(sk, 3)) AS responded_at
            FROM demo_buyer b
            JOIN demo_contact n USING (contact_id)
            LEFT JOIN (SELECT contact_id, max(CASE WHEN slow THEN 1.0 ELSE 0.3 END) AS penalty
                       FROM demo_ticket GROUP BY contact_id) AS tx USING (contact_id)
            CROSS JOIN LATERAL generate_series(1, (@extschema@.demo_uniform(n.k, 48) < 0.33)::integer
                                                  + (@extschema@.demo_uniform(n.k, 48) < 0.08)::integer) AS g(j)
            CROSS JOIN LATERAL @extschema@.demo_key(seed, 10, n.contact_id, g.j) AS sk
            WHERE b.first_order_at < t_end - interval '14 days'
            UNION ALL
            -- CSAT (35%) and CES (15%) after resolved tickets, linked to the ticket
            SELECT t.contact_id, t.ticket_id, q.kind, sk,
                   CASE q.kind WHEN 'csat' THEN 1 + width_bucket(@extschema@.demo_normal(sk, 1) + 0.3 - CASE WHEN t.slow THEN 1.0 ELSE 0 END,
                                                                 ARRAY[-1.555, -1.227, -0.878, -0.100]::double precision[])
                               ELSE 1 + width_bucket(@extschema@.demo_normal(sk, 1) + 0.3 - CASE WHEN t.slow THEN 1.0 ELSE 0 END,
                                                     ARRAY[-1.751, -1.405, -1.036, -0.524, 0.126, 0.842]::double precision[]) END::smallint,
                   date_trunc('second', t.resolved_at + least(interval '2 days', t_end - t.resolved_at) * @extschema@.demo_uniform(sk, 3))
            FROM demo_ticket t
            CROSS JOIN LATERAL (VALUES ('csat', 1), ('ces', 2)) AS q(kind, n)
            CROSS JOIN LATERAL @extschema@.demo_key(seed, 11, t.ticket_id, q.n) AS sk
            WHERE t.resolved_at IS NOT NULL
              AND @extschema@.demo_uniform(sk, 4) < CASE q.kind WHEN 'csat' THEN 0.35 ELSE 0.15 END
        ) AS r
    ) AS s;

    -- -----------------------------------------------------------------------------------------
    -- Contacts, now that their history is known: lifecycle stage follows behaviour.
    INSERT INTO @extschema@.contacts (contact_id, account_id, first_name, last_name, email, phone, title, country,
                                      lifecycle_stage, owner_id, marketing_consent, consent_at, consent_source,
                                      created_at, updated_at)
    SELECT c.contact_id, c.account_id, n.first_name, n.last_name,
           lower(n.first_name || '.' || n.last_name || '.' || c.contact_id) || '@' ||
               CASE WHEN c.account_id IS NOT NULL
                    THEN lower(replace(a.name_first, ' ', '')) || '-' || lower(a.name_second) || '-' || c.account_id || '.example.com'
                    ELSE (ARRAY['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me', 'gmx.de'])
                             [1 + floor(6 * @extschema@.demo_uniform(c.k, 45))::integer] END,
           CASE WHEN @extschema@.demo_uniform(c.k, 46) < 0.7
                THEN '+1-555-' || lpad((c.contact_id % 10000000)::text, 7, '0') END,
           CASE WHEN c.account_id IS NOT NULL THEN
               CASE WHEN c.authority THEN (ARRAY['CEO', 'CFO', 'VP Sales', 'Head of IT', 'Director of Operations'])[1 + floor(5 * @extschema@.demo_uniform(c.k, 38))::integer]
                    ELSE (ARRAY['Account Manager', 'Engineer', 'Analyst', 'Office Manager', 'Marketing Manager', 'Buyer'])[1 + floor(6 * @extschema@.demo_uniform(c.k, 38))::integer] END
           END,
           coalesce(c.account_country, (ARRAY['US', 'GB', 'DE', 'FR', 'NL', 'CA', 'AU', 'ES', 'IT', 'SE'])
                   [1 + width_bucket(@extschema@.demo_uniform(c.k, 39), ARRAY[0.40, 0.52, 0.64, 0.72, 0.78, 0.85, 0.90, 0.94, 0.97]::double precision[])]),
           CASE WHEN b.purchases >= 10 AND b.last_order_at >= t_end - interval '365 days' THEN 'evangelist'
                WHEN b.purchases > 0 AND b.last_order_at < t_end - interval '365 days' THEN 'churned'
                WHEN b.purchases > 0 THEN 'customer'
                WHEN c.lead_status = 'qualified' THEN CASE WHEN o.stage_id >= 3 THEN 'opportunity' ELSE 'sales_qualified' END
                WHEN c.lead_status IN ('new', 'contacted') THEN CASE WHEN c.engagement > 2.5 THEN 'marketing_qualified' ELSE 'lead' END
                WHEN c.lead_status IN ('lost', 'won') THEN 'lead'
                ELSE 'subscriber' END,
           c.owner_id, cs.consent, CASE WHEN cs.consent THEN cs.consent_at END,
           CASE WHEN cs.consent THEN CASE WHEN b.contact_id IS NOT NULL AND @extschema@.demo_uniform(c.k, 41) < 0.5 THEN 'checkout'
                                          ELSE (ARRAY['web_form', 'double_opt_in', 'event', 'import'])[1 + floor(4 * @extschema@.demo_uniform(c.k, 42))::integer] END END,
           cs.created_at, greatest(cs.created_at, b.last_order_at, c.lead_closed_at, c.lead_qualified_at)
    FROM demo_contact c
    LEFT JOIN demo_account a ON a.account_id = c.account_id
    LEFT JOIN demo_buyer b ON b.contact_id = c.contact_id
    LEFT JOIN demo_lead l ON l.contact_id = c.contact_id
    LEFT JOIN @extschema@.opportunities o ON o.lead_id = l.lead_id
    CROSS JOIN LATERAL (
        SELECT (ARRAY['Anna', 'Ben', 'Carla', 'David', 'Elena', 'Finn', 'Greta', 'Henry', 'Ines', 'Jack', 'Karin', 'Leo',
                      'Mila', 'Nils', 'Olga', 'Pablo', 'Rita', 'Sven', 'Tina', 'Umar', 'Vera', 'Will', 'Yara', 'Zoe',
                      'Aisha', 'Bruno', 'Chen', 'Dana', 'Emil', 'Fatima', 'Gabriel', 'Hana', 'Igor', 'Julia', 'Kofi',
                      'Lara', 'Marco', 'Nina', 'Oscar', 'Priya'])[1 + floor(40 * @extschema@.demo_uniform(c.k, 36))::integer] AS first_name,
               (ARRAY['Smith', 'Meyer', 'Garcia', 'Rossi', 'Martin', 'Jones', 'Schmidt', 'Lopez', 'Bernard', 'Brown',
                      'Wagner', 'Fernandez', 'Dubois', 'Taylor', 'Becker', 'Silva', 'Moreau', 'Wilson', 'Hoffmann', 'Santos',
                      'Laurent', 'Clark', 'Koch', 'Costa', 'Lefebvre', 'Walker', 'Richter', 'Pereira', 'Roux', 'Young',
                      'Klein', 'Oliveira', 'Fontaine', 'King', 'Wolf', 'Almeida', 'Chevalier', 'Wright', 'Neumann', 'Nakamura'])
                   [1 + floor(40 * @extschema@.demo_uniform(c.k, 37))::integer] AS last_name
    ) AS n
    CROSS JOIN LATERAL (
        SELECT CASE WHEN c.has_lead THEN c.start_at - make_interval(secs => 86400 * 30 * @extschema@.demo_uniform(c.k, 34))
                    WHEN b.contact_id IS NOT NULL THEN c.start_at + make_interval(secs => 86400 * 10 * ln(@extschema@.demo_uniform(c.k, 34)))
                    ELSE c.start_at END AS created_at,
               @extschema@.demo_uniform(c.k, 40) < CASE WHEN b.contact_id IS NOT NULL THEN 0.62 ELSE 0.56 END AS consent
    ) AS cs0
    CROSS JOIN LATERAL (
        SELECT cs0.created_at, cs0.consent,
               date_trunc('second', cs0.created_at + least(interval '7 days', t_end - cs0.created_at) * @extschema@.demo_uniform(c.k, 35)) AS consent_at
    ) AS cs;

    -- -----------------------------------------------------------------------------------------
    -- Activities: the lead phase (sales touches and buying signals, linked to the lead; more
    -- and warmer for engaged people) and the relationship at large (marketing and service,
    -- more for customers who buy more). Ids follow time, as rows would arrive.
    INSERT INTO @extschema@.activities (activity_id, contact_id, lead_id, owner_id, occurred_at, channel, kind,
                                        created_at, updated_at, details)
    SELECT row_number() OVER (ORDER BY x.occurred_at, x.contact_id, x.j), x.contact_id, x.lead_id, x.owner_id, x.occurred_at,
           CASE WHEN x.kind IN ('email_sent', 'email_open', 'email_click', 'email_reply') THEN 'email'
                WHEN x.kind IN ('call', 'note') THEN 'phone'
                WHEN x.kind = 'meeting' THEN 'meeting'
                WHEN x.kind = 'chat_message' THEN 'chat'
                WHEN x.kind = 'social_engagement' THEN 'social'
                WHEN x.kind IN ('sms_sent', 'sms_reply') THEN 'sms'
                ELSE 'web' END::@extschema@.channel,
           x.kind::@extschema@.activity_kind, x.occurred_at, x.occurred_at,
           CASE x.kind
               WHEN 'page_view' THEN jsonb_build_object('url', x.url, 'seconds', 5 + floor(240 * x.u2)::integer)
               WHEN 'email_click' THEN jsonb_build_object('url', x.url, 'subject', x.subject)
               WHEN 'form_submit' THEN jsonb_build_object('form', CASE WHEN x.warm THEN 'demo_request'
                                                                       ELSE (ARRAY['newsletter', 'contact_us', 'trial_signup'])[1 + floor(3 * x.u2)::integer] END)
               WHEN 'content_download' THEN jsonb_build_object('asset', (ARRAY['buyers-guide.pdf', 'roi-calculator.xlsx', 'case-study-retail.pdf', 'whitepaper-security.pdf'])[1 + floor(4 * x.u2)::integer])
               WHEN 'webinar_attended' THEN jsonb_build_object('webinar', (ARRAY['Product tour', 'Customer success stories', 'What is new this quarter'])[1 + floor(3 * x.u2)::integer],
                                                               'minutes', 10 + floor(50 * x.u3)::integer)
               WHEN 'call' THEN jsonb_build_object('direction', CASE WHEN x.u2 < 0.7 THEN 'outbound' ELSE 'inbound' END,
                                                   'duration_s', CASE WHEN x.u3 < 0.3 THEN 0 ELSE 60 + floor(1500 * x.u3)::integer END,
                                                   'outcome', CASE WHEN x.u3 < 0.3 THEN 'voicemail' ELSE 'connected' END)
               WHEN 'meeting' THEN jsonb_build_object('type', (ARRAY['discovery', 'demo', 'review'])[1 + floor(3 * x.u2)::integer],
                                                      'duration_min', (ARRAY[30, 45, 60])[1 + floor(3 * x.u3)::integer])
               WHEN 'chat_message' THEN jsonb_build_object('topic', (ARRAY['pricing', 'shipping', 'setup', 'billing'])[1 + floor(4 * x.u2)::integer])
               WHEN 'social_engagement' THEN jsonb_build_object('network', (ARRAY['linkedin', 'x', 'facebook', 'instagram'])[1 + floor(4 * x.u2)::integer],
                                                                'action', (ARRAY['like', 'share', 'comment'])[1 + floor(3 * x.u3)::integer])
               WHEN 'note' THEN jsonb_build_object('text', (ARRAY['Asked for references.', 'Budget approval pending.', 'Follow up next week.'])[1 + floor(3 * x.u2)::integer])
               WHEN 'sms_sent' THEN jsonb_build_object('template', (ARRAY['order_update', 'promo', 'appointment_reminder'])[1 + floor(3 * x.u2)::integer])
               WHEN 'sms_reply' THEN jsonb_build_object('text', (ARRAY['Thanks!', 'STOP', 'Call me please'])[1 + floor(3 * x.u2)::integer])
               ELSE jsonb_build_object('subject', x.subject)
           END
    FROM (
        SELECT y.contact_id, y.j, y.owner_id, y.u2, y.u3,
               CASE WHEN y.lead_phase THEN y.lead_id END AS lead_id,
               date_trunc('second', y.window_start + (y.window_end - y.window_start) * y.u1) AS occurred_at,
               CASE WHEN y.lead_phase
                    THEN (ARRAY['email_sent', 'email_open', 'email_click', 'email_reply', 'call', 'meeting', 'page_view',
                                'form_submit', 'content_download', 'webinar_attended', 'chat_message', 'social_engagement',
                                'sms_sent', 'note'])
                         [1 + width_bucket(y.u0, ARRAY[0.14, 0.28, 0.34, 0.39, 0.51, 0.57, 0.69, 0.75, 0.80, 0.83, 0.87, 0.90, 0.92]::double precision[])]
                    ELSE (ARRAY['email_sent', 'email_open', 'email_click', 'page_view', 'chat_message', 'social_engagement',
                                'sms_sent', 'sms_reply', 'form_submit', 'content_download', 'webinar_attended', 'call', 'email_reply'])
                         [1 + width_bucket(y.u0, ARRAY[0.22, 0.44, 0.51, 0.76, 0.82, 0.88, 0.92, 0.93, 0.95, 0.97, 0.98, 0.99]::double precision[])]
               END AS kind,
               CASE WHEN y.u4 < CASE WHEN y.lead_phase THEN least(0.6, 0.1 + 0.12 * y.engagement) ELSE 0.08 END THEN '/pricing'
                    ELSE (ARRAY['/', '/features', '/blog/choosing-a-crm', '/docs/getting-started', '/customers', '/integrations', '/about'])
                         [1 + floor(7 * y.u5)::integer] END AS url,
               y.lead_phase AND y.u4 < least(0.8, 0.15 * y.engagement) AS warm,
               (ARRAY['Welcome aboard', 'Your order has shipped', 'Quarterly product update', 'Invitation: customer webinar',
                      'Following up on our call', 'Your proposal', 'We miss you'])
                   [CASE WHEN y.lead_phase THEN 5 + floor(2 * y.u5)::integer ELSE 1 + floor(5 * y.u5)::integer END] AS subject
        FROM (
            SELECT c.contact_id, g.j, c.owner_id, l.lead_id, c.engagement,
                   g.j <= n.lead_touches AS lead_phase,
                   CASE WHEN g.j <= n.lead_touches THEN c.lead_created_at - interval '2 days' ELSE n.created_at END AS window_start,
                   CASE WHEN g.j <= n.lead_touches THEN coalesce(c.lead_closed_at, least(c.lead_due_at, t_end)) ELSE t_end END AS window_end,
                   @extschema@.demo_uniform(ak, 1) AS u0, @extschema@.demo_uniform(ak, 2) AS u1, @extschema@.demo_uniform(ak, 3) AS u2,
                   @extschema@.demo_uniform(ak, 4) AS u3, @extschema@.demo_uniform(ak, 5) AS u4, @extschema@.demo_uniform(ak, 6) AS u5
            FROM demo_contact c
            JOIN @extschema@.contacts cc ON cc.contact_id = c.contact_id
            LEFT JOIN demo_lead l ON l.contact_id = c.contact_id
            LEFT JOIN demo_buyer b ON b.contact_id = c.contact_id
            CROSS JOIN LATERAL (
                SELECT cc.created_at,
                       CASE WHEN c.has_lead THEN 1 + floor(5 * c.engagement + 3 * @extschema@.demo_uniform(c.k, 50))::integer ELSE 0 END AS lead_touches,
                       floor(1.5 * c.engagement + @extschema@.demo_uniform(c.k, 51))::integer
                       + CASE WHEN b.contact_id IS NOT NULL THEN 1 + floor(1.5 * least(b.purchases, 40))::integer ELSE 0 END AS other_touches
            ) AS n
            CROSS JOIN LATERAL generate_series(1, least(n.lead_touches + n.other_touches, 4000)) AS g(j)
            CROSS JOIN LATERAL @extschema@.demo_key(seed, 6, c.contact_id, g.j) AS ak
        ) AS y
    ) AS x;

    -- -----------------------------------------------------------------------------------------
    -- Campaigns: one a month over the span (38 months from the first, so one or two are still
-- planned); members are drawn from contacts
    -- who had given marketing consent before the campaign started, never others.
    INSERT INTO @extschema@.campaigns (campaign_id, name, channel, status, starts_on, ends_on, budget, owner_id, created_at, updated_at)
    SELECT m + 1, to_char(c.starts_on, 'YYYY-MM') || ' ' ||
                  (ARRAY['Spring launch', 'Customer stories', 'Win-back', 'Webinar series', 'Summer sale', 'Product update',
                         'Referral drive', 'Year-end offer', 'Trial nurture'])[1 + m % 9],
           c.channel, c.status, c.starts_on, c.starts_on + 20,
           round((2000 + 48000 * @extschema@.demo_uniform(c.k, 2))::numeric, -2),
           1 + m % n_teams, c.created_at, greatest(c.created_at, least(t_end, (c.starts_on + 21)::timestamp AT TIME ZONE 'UTC'))
    FROM generate_series(0, 37) AS m
    CROSS JOIN LATERAL @extschema@.demo_key(seed, 14, m) AS k
    CROSS JOIN LATERAL (
        SELECT k, d AS starts_on,
               (ARRAY['email', 'email', 'social', 'web', 'email', 'sms', 'meeting'])[1 + m % 7]::@extschema@.channel AS channel,
               CASE WHEN d + 20 < as_of THEN CASE WHEN @extschema@.demo_uniform(k, 1) < 0.05 THEN 'cancelled' ELSE 'completed' END
                    WHEN d <= as_of THEN 'active' ELSE 'planned' END AS status,
               (d - 30)::timestamp AT TIME ZONE 'UTC' AS created_at
        FROM (SELECT (date_trunc('month', t_start AT TIME ZONE 'UTC') + make_interval(months => m))::date + 2 AS d) AS dd
    ) AS c;

    INSERT INTO @extschema@.campaign_members (campaign_id, contact_id, status, added_at, updated_at, created_at)
    SELECT m.campaign_id, m.contact_id,
           CASE WHEN m.campaign_status = 'planned' OR m.campaign_status = 'cancelled' THEN 'targeted'
                ELSE (ARRAY['unsubscribed', 'converted', 'responded', 'sent'])[1 + width_bucket(m.u, ARRAY[0.015, 0.035, 0.135]::double precision[])] END,
           m.added_at, m.added_at, m.added_at
    FROM (
        SELECT cp.campaign_id, cp.status AS campaign_status, c.contact_id,
               @extschema@.demo_uniform(mk, 2) AS u,
               date_trunc('second', (cp.starts_on::timestamp AT TIME ZONE 'UTC') - interval '3 days' * @extschema@.demo_uniform(mk, 3)) AS added_at,
               mk
        FROM @extschema@.campaigns cp
        JOIN @extschema@.contacts c ON c.marketing_consent AND c.consent_at < (cp.starts_on::timestamp AT TIME ZONE 'UTC') - interval '3 days'
        CROSS JOIN LATERAL @extschema@.demo_key(seed, 12, c.contact_id, cp.campaign_id::integer) AS mk
        WHERE @extschema@.demo_uniform(mk, 1) < 0.06
    ) AS m;

    -- -----------------------------------------------------------------------------------------
    -- Tasks: a follow-up for every lead, every opportunity and every high or urgent ticket.
    -- Done when the record was settled (completed before it closed), open or in progress, some
    -- overdue, when it is still running; a few were cancelled.
    INSERT INTO @extschema@.tasks (task_id, title, description, due_at, assignee_id, status, priority,
                                   contact_id, account_id, lead_id, opportunity_id, ticket_id,
                                   completed_at, created_at, updated_at)
    SELECT row_number() OVER (ORDER BY t.created_at, t.origin, t.origin_id), t.title, NULL, t.due_at, t.assignee_id,
           t.status, t.priority, t.contact_id, t.account_id, t.lead_id, t.opportunity_id, t.ticket_id,
           CASE WHEN t.status = 'done' THEN t.completed_at END, t.created_at,
           CASE WHEN t.status = 'done' THEN t.completed_at ELSE t.created_at END
    FROM (
        SELECT z.*,
               CASE WHEN z.settled_at IS NULL THEN CASE WHEN @extschema@.demo_uniform(z.tk, 1) < 0.7 THEN 'open' ELSE 'in_progress' END
                    WHEN @extschema@.demo_uniform(z.tk, 1) < 0.05 THEN 'cancelled' ELSE 'done' END AS status,
               CASE WHEN z.settled_at IS NULL THEN date_trunc('hour', t_end + make_interval(days => floor(18 * @extschema@.demo_uniform(z.tk, 2))::integer - 4))
                    ELSE date_trunc('hour', z.created_at + (z.settled_at - z.created_at) * 0.5) END AS due_at,
               z.created_at + (coalesce(z.settled_at, t_end) - z.created_at) * (0.3 + 0.6 * @extschema@.demo_uniform(z.tk, 3)) AS completed_at
        FROM (
            SELECT 1 AS origin, l.lead_id AS origin_id, @extschema@.demo_key(seed, 13, l.lead_id, 1) AS tk,
                   'Follow up on lead #' || l.lead_id AS title, c.owner_id AS assignee_id, 'normal' AS priority,
                   c.contact_id, NULL::bigint AS account_id, l.lead_id, NULL::bigint AS opportunity_id, NULL::bigint AS ticket_id,
                   c.lead_created_at AS created_at,
                   CASE WHEN c.lead_status IN ('won', 'lost') THEN c.lead_closed_at
                        WHEN c.lead_status = 'unqualified' THEN least(c.lead_due_at, t_end) END AS settled_at
            FROM demo_lead l JOIN demo_contact c USING (contact_id)
            UNION ALL
            SELECT 2, o.opportunity_id, @extschema@.demo_key(seed, 13, o.opportunity_id, 2),
                   (ARRAY['Send proposal', 'Schedule demo', 'Confirm decision maker'])[1 + floor(3 * @extschema@.demo_uniform(o.k, 12))::integer]
                       || ': opportunity #' || o.opportunity_id,
                   o.owner_id, CASE WHEN o.amount >= 50000 THEN 'high' ELSE 'normal' END,
                   o.contact_id, o.account_id, NULL, o.opportunity_id, NULL,
                   o.created_at, o.closed_at
            FROM demo_opportunity o
            UNION ALL
            SELECT 3, t.ticket_id, @extschema@.demo_key(seed, 13, t.ticket_id, 3),
                   'Review escalated ticket #' || t.ticket_id, t.assignee_id,
                   (ARRAY['low', 'normal', 'high', 'urgent'])[t.priority_ix],
                   t.contact_id, NULL, NULL, NULL, t.ticket_id,
                   t.opened_at, t.resolved_at
            FROM demo_ticket t WHERE t.priority_ix >= 3
        ) AS z
    ) AS t;

    -- -----------------------------------------------------------------------------------------
    -- Sequences continue after the ids written here.
    FOR seq IN
        SELECT * FROM (VALUES ('users', 'user_id'), ('accounts', 'account_id'), ('contacts', 'contact_id'),
                              ('leads', 'lead_id'), ('opportunities', 'opportunity_id'),
                              ('opportunity_stage_history', 'history_id'), ('activities', 'activity_id'),
                              ('products', 'product_id'), ('orders', 'order_id'), ('order_lines', 'order_line_id'),
                              ('tickets', 'ticket_id'), ('survey_responses', 'response_id'),
                              ('campaigns', 'campaign_id'), ('tasks', 'task_id')) AS v(table_name, column_name)
    LOOP
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), coalesce(max(%I), 1), max(%I) IS NOT NULL) FROM %I.%I',
                       '@extschema@.' || seq.table_name, seq.column_name, seq.column_name, seq.column_name,
                       '@extschema@', seq.table_name);
    END LOOP;

    DROP TABLE demo_account, demo_contact, demo_order, demo_buyer, demo_lead, demo_opportunity, demo_ticket;
    ANALYZE @extschema@.users, @extschema@.accounts, @extschema@.contacts, @extschema@.leads,
            @extschema@.opportunities, @extschema@.opportunity_stage_history, @extschema@.activities,
            @extschema@.products, @extschema@.orders, @extschema@.order_lines, @extschema@.tickets,
            @extschema@.survey_responses, @extschema@.campaigns, @extschema@.campaign_members, @extschema@.tasks;

    -- Other capabilities fill their own tables or recompute derived state, still as replica.
    FOR hook IN
        SELECT p.proname
        FROM pg_proc p
        WHERE p.pronamespace = '@extschema@'::regnamespace
          AND p.proname LIKE 'generate\_demo\_%' AND p.proname <> 'generate_demo_data'
          AND p.pronargs = 1 AND p.proargtypes[0] = 'integer'::regtype
        ORDER BY p.proname
    LOOP
        EXECUTE format('SELECT %I.%I(%s::integer)', '@extschema@', hook, seed);
    END LOOP;

    FOR seq IN
        SELECT c.relname FROM pg_class c
        WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('r', 'p')
        ORDER BY c.relname
    LOOP
        EXECUTE format('SELECT count(*) FROM %I.%I', '@extschema@', seq.relname) INTO row_count;
        summary := summary || jsonb_build_object(seq.relname, row_count);
    END LOOP;
    RETURN summary;
END
$generate$;
COMMENT ON FUNCTION @extschema@.generate_demo_data(integer, integer, date) IS
    'Fills an empty CRM with a realistic demo dataset: `customers` contacts (about two thirds of them buyers) with their accounts, staff, leads, deals, orders, activities, tickets and surveys over the three years before as_of; the same arguments give the same rows, ids included. Runs with session_replication_role = replica (no triggers; needs superuser), then calls every crm.generate_demo_<name>(seed integer) in name order, still as replica, so each capability fills or recomputes its own state. Returns the row count of every crm table. For demos and benchmarks only.';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_data(integer, integer, date) FROM PUBLIC;
