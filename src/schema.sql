-- src/schema.sql: the CRM schema: staff, accounts, contacts, leads, the pipeline, activities,
-- orders, tickets, surveys, campaigns and tasks. Grants and row-level security: src/security.sql.

-- Group roles are cluster-wide and outlive the extension: create each only if it is missing, so
-- installing in a second database of the same cluster works.
DO $roles$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['crm_admin', 'crm_manager', 'crm_sales', 'crm_support', 'crm_analyst']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', role_name);
        END IF;
    END LOOP;
END
$roles$;

-- Every table's updated_at is kept here. An UPDATE that sets updated_at itself keeps its value:
-- loading history (imports, the demo generator, a restore) must not stamp every row with now().
CREATE FUNCTION @extschema@.touch_updated_at() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_touch_updated_at' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.touch_updated_at() IS
    'Trigger: sets updated_at to now() on every UPDATE that does not set updated_at itself.';

-- A dump script restores rows with their derived state (order totals, stage history, the tasks a
-- trigger opened) already in them, and this extension's triggers exist before its tables' rows
-- are loaded. Every trigger that derives state therefore skips its work in a session that looks
-- like a dump being restored: pg_dump's scripts, plain or through pg_restore, always begin with
-- SET row_security = off and an empty search_path, which ordinary sessions never combine; and
-- only a role that could restore the tables (a superuser, a member of the extension's owner)
-- counts, so no staff member switches the triggers off by imitating those settings.
-- In C (src/schema.c): an SQL function in a WHEN clause is parsed again for every statement.
CREATE FUNCTION @extschema@.restoring_dump() RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_restoring_dump' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.restoring_dump() IS
    'True in a session restoring a pg_dump script (row_security off and an empty search_path, set by a superuser or a member of the extension''s owner): triggers that derive state skip their work there, since the dumped rows already hold it.';

CREATE TYPE @extschema@.channel AS ENUM ('email', 'phone', 'meeting', 'chat', 'social', 'web', 'sms');
COMMENT ON TYPE @extschema@.channel IS 'A channel of interaction with a contact.';

CREATE TYPE @extschema@.activity_kind AS ENUM (
    'email_sent', 'email_open', 'email_click', 'email_reply',
    'call', 'meeting', 'chat_message', 'social_engagement',
    'page_view', 'form_submit', 'content_download', 'webinar_attended',
    'sms_sent', 'sms_reply', 'note');
COMMENT ON TYPE @extschema@.activity_kind IS 'What happened in an activity.';

-- ---------------------------------------------------------------------------------------------
-- Staff
CREATE TABLE @extschema@.users (
    user_id     bigserial PRIMARY KEY,
    login_role  name NOT NULL CONSTRAINT users_login_role_key UNIQUE,
    full_name   text NOT NULL CONSTRAINT users_full_name_not_blank CHECK (btrim(full_name) <> ''),
    email       text NOT NULL CONSTRAINT users_email_key UNIQUE
                CONSTRAINT users_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    role        text NOT NULL CONSTRAINT users_role_valid
                CHECK (role IN ('admin', 'manager', 'sales', 'support', 'analyst')),
    team        text,
    manager_id  bigint CONSTRAINT users_manager_fkey REFERENCES @extschema@.users,
    skills      text[] NOT NULL DEFAULT '{}',
    capacity    integer NOT NULL DEFAULT 20 CONSTRAINT users_capacity_nonnegative CHECK (capacity >= 0),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_not_own_manager CHECK (manager_id <> user_id)
);
CREATE INDEX users_manager_id_idx ON @extschema@.users (manager_id);
CREATE INDEX users_team_idx ON @extschema@.users (team);
COMMENT ON TABLE @extschema@.users IS
    'Staff: sales reps, support agents, managers. login_role is the database role a person logs in as; row-level security maps it back to the user.';

-- ---------------------------------------------------------------------------------------------
-- Companies and people
CREATE TABLE @extschema@.accounts (
    account_id      bigserial PRIMARY KEY,
    name            text NOT NULL CONSTRAINT accounts_name_not_blank CHECK (btrim(name) <> ''),
    domain          text,
    industry        text,
    employee_count  integer CONSTRAINT accounts_employee_count_nonnegative CHECK (employee_count >= 0),
    annual_revenue  numeric(16, 2) CONSTRAINT accounts_annual_revenue_nonnegative CHECK (annual_revenue >= 0),
    country         text,
    owner_id        bigint CONSTRAINT accounts_owner_fkey REFERENCES @extschema@.users,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_owner_id_idx ON @extschema@.accounts (owner_id);
CREATE UNIQUE INDEX accounts_domain_key ON @extschema@.accounts (lower(domain));
COMMENT ON TABLE @extschema@.accounts IS 'Companies.';

CREATE TABLE @extschema@.contacts (
    contact_id         bigserial PRIMARY KEY,
    account_id         bigint CONSTRAINT contacts_account_fkey REFERENCES @extschema@.accounts,
    first_name         text,
    last_name          text,
    email              text CONSTRAINT contacts_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    phone              text,
    title              text,
    country            text,
    lifecycle_stage    text NOT NULL DEFAULT 'subscriber' CONSTRAINT contacts_lifecycle_stage_valid
                       CHECK (lifecycle_stage IN ('subscriber', 'lead', 'marketing_qualified',
                              'sales_qualified', 'opportunity', 'customer', 'evangelist', 'churned')),
    owner_id           bigint CONSTRAINT contacts_owner_fkey REFERENCES @extschema@.users,
    marketing_consent  boolean NOT NULL DEFAULT false,
    consent_at         timestamptz,
    consent_source     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contacts_has_name_or_email CHECK (num_nonnulls(first_name, last_name, email) > 0),
    CONSTRAINT contacts_consent_recorded
        CHECK (NOT marketing_consent OR (consent_at IS NOT NULL AND consent_source IS NOT NULL))
);
CREATE INDEX contacts_account_id_idx ON @extschema@.contacts (account_id);
CREATE INDEX contacts_owner_id_idx ON @extschema@.contacts (owner_id);
CREATE UNIQUE INDEX contacts_email_key ON @extschema@.contacts (lower(email));
COMMENT ON TABLE @extschema@.contacts IS
    'People. Marketing consent must record when and where it was given (contacts_consent_recorded).';

-- ---------------------------------------------------------------------------------------------
-- Leads
CREATE TABLE @extschema@.leads (
    lead_id        bigserial PRIMARY KEY,
    contact_id     bigint NOT NULL CONSTRAINT leads_contact_fkey REFERENCES @extschema@.contacts,
    source         text NOT NULL CONSTRAINT leads_source_valid
                   CHECK (source IN ('web', 'referral', 'event', 'paid_search', 'social', 'email',
                          'partner', 'cold_call', 'other')),
    status         text NOT NULL DEFAULT 'new' CONSTRAINT leads_status_valid
                   CHECK (status IN ('new', 'contacted', 'qualified', 'unqualified', 'won', 'lost')),
    owner_id       bigint CONSTRAINT leads_owner_fkey REFERENCES @extschema@.users,
    -- BANT: budget (amount the buyer can spend), authority (talking to the decision maker),
    -- need (how strong), timeline (when they intend to buy)
    budget         numeric(16, 2) CONSTRAINT leads_budget_nonnegative CHECK (budget >= 0),
    authority      boolean,
    need           text CONSTRAINT leads_need_valid CHECK (need IN ('none', 'low', 'medium', 'high')),
    timeline       date,
    -- kept by lead scoring (src/lead_scoring.sql)
    score          numeric NOT NULL DEFAULT 0,
    grade          text CONSTRAINT leads_grade_valid CHECK (grade IN ('hot', 'warm', 'cold')),
    scored_at      timestamptz,
    qualified_at   timestamptz,
    closed_at      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT leads_closed_when_won_or_lost
        CHECK ((status IN ('won', 'lost')) = (closed_at IS NOT NULL))
)
-- Lead scoring rewrites a lead's row for every activity logged against it; room left on each page
-- lets those updates stay on the page (HOT: no index entries), since no index covers the score.
WITH (fillfactor = 90);
CREATE INDEX leads_contact_id_idx ON @extschema@.leads (contact_id);
CREATE INDEX leads_owner_id_idx ON @extschema@.leads (owner_id);
CREATE INDEX leads_status_idx ON @extschema@.leads (status);
COMMENT ON TABLE @extschema@.leads IS
    'Sales leads with BANT qualification fields; score, grade and scored_at are kept by lead scoring.';

-- ---------------------------------------------------------------------------------------------
-- Pipeline
CREATE TABLE @extschema@.pipeline_stages (
    stage_id           serial PRIMARY KEY,
    name               text NOT NULL CONSTRAINT pipeline_stages_name_key UNIQUE DEFERRABLE,
    position           integer NOT NULL CONSTRAINT pipeline_stages_position_key UNIQUE DEFERRABLE,
    probability        numeric(5, 2) NOT NULL CONSTRAINT pipeline_stages_probability_range
                       CHECK (probability BETWEEN 0 AND 100),
    is_won             boolean NOT NULL DEFAULT false,
    is_lost            boolean NOT NULL DEFAULT false,
    forecast_category  text NOT NULL CONSTRAINT pipeline_stages_forecast_category_valid
                       CHECK (forecast_category IN ('pipeline', 'best_case', 'commit', 'closed', 'omitted')),
    active             boolean NOT NULL DEFAULT true,
    is_seeded          boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pipeline_stages_not_won_and_lost CHECK (NOT (is_won AND is_lost)),
    CONSTRAINT pipeline_stages_won_certain CHECK (NOT is_won OR probability = 100),
    CONSTRAINT pipeline_stages_lost_impossible CHECK (NOT is_lost OR probability = 0)
);
COMMENT ON TABLE @extschema@.pipeline_stages IS
    'Ordered opportunity stages. The seeded stages can be edited (or deactivated) but not deleted; pg_dump keeps every row, edits included.';

INSERT INTO @extschema@.pipeline_stages
    (stage_id, name, position, probability, is_won, is_lost, forecast_category, is_seeded)
VALUES
    (1, 'lead',         10,  10, false, false, 'pipeline',  true),
    (2, 'prospect',     20,  20, false, false, 'pipeline',  true),
    (3, 'opportunity',  30,  40, false, false, 'pipeline',  true),
    (4, 'quote',        40,  60, false, false, 'best_case', true),
    (5, 'negotiation',  50,  80, false, false, 'commit',    true),
    (6, 'closed won',   60, 100, true,  false, 'closed',    true),
    (7, 'closed lost',  70,   0, false, true,  'omitted',   true);
SELECT pg_catalog.setval('@extschema@.pipeline_stages_stage_id_seq', 7);

-- Seeded rows (is_seeded: rows this script made; crm.pipeline_stages here, crm.rfm_segment_map in
-- src/rfm.sql) are guarded alike by one trigger function. pg_dump keeps every row. A restore first
-- runs this script, which seeds the rows again, then loads the dumped rows: a dumped seeded row
-- replaces its fresh copy (same primary key), so edits survive. Nobody else inserts a seeded row,
-- deletes one, or changes is_seeded. Arguments: the kind of row, singular and plural, for the
-- messages, and the column naming a row. The replacing UPDATE sets every column but the primary
-- key and is_seeded (read from the catalog, so columns added later are restored too); unique
-- constraints that can be deferred are checked at the end of the restoring transaction, since
-- reordered rows swap names or positions with fresh copies not replaced yet.
CREATE FUNCTION @extschema@.guard_seeded_rows() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    singular text := TG_ARGV[0];
    plural text := TG_ARGV[1];
    name_column text := TG_ARGV[2];
    assignments text;
    key_condition text;
    deferrable_constraints text;
    replaced bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.is_seeded THEN
            SELECT string_agg(format('%I.%I', TG_TABLE_SCHEMA, c.conname), ', ') INTO deferrable_constraints
            FROM pg_constraint c
            WHERE c.conrelid = TG_RELID AND c.contype IN ('p', 'u', 'x') AND c.condeferrable;
            IF deferrable_constraints IS NOT NULL THEN
                EXECUTE format('SET CONSTRAINTS %s DEFERRED', deferrable_constraints);
            END IF;
            SELECT string_agg(format('%I = ($1).%I', a.attname, a.attname), ', ' ORDER BY a.attnum)
                       FILTER (WHERE NOT a.attnum = ANY (i.indkey) AND a.attname <> 'is_seeded'),
                   string_agg(format('%I = ($1).%I', a.attname, a.attname), ' AND ' ORDER BY a.attnum)
                       FILTER (WHERE a.attnum = ANY (i.indkey))
              INTO assignments, key_condition
            FROM pg_attribute a
            JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
            WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
            EXECUTE format('UPDATE %I.%I SET %s WHERE %s AND is_seeded', TG_TABLE_SCHEMA, TG_TABLE_NAME,
                           assignments, key_condition)
              USING NEW;
            GET DIAGNOSTICS replaced = ROW_COUNT;
            IF replaced = 0 THEN
                RAISE EXCEPTION 'only the extension creates seeded %', plural
                    USING ERRCODE = 'check_violation',
                          HINT = format('Insert the %s with is_seeded = false.', singular);
            END IF;
            RETURN NULL;
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.is_seeded THEN
            RAISE EXCEPTION 'seeded % "%" cannot be deleted', singular, to_jsonb(OLD) ->> name_column
                USING ERRCODE = 'check_violation',
                      HINT = 'Set active = false to retire it.';
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.is_seeded IS DISTINCT FROM OLD.is_seeded THEN
        RAISE EXCEPTION 'is_seeded cannot be changed' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.guard_seeded_rows() IS
    'Trigger (arguments: the kind of row, singular and plural, and the column naming a row): seeded rows cannot be deleted, created by anyone but the extension, or unmarked; a restored seeded row replaces its fresh copy.';
CREATE TRIGGER pipeline_stages_guard_seeded
    BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pipeline_stages
    FOR EACH ROW EXECUTE FUNCTION @extschema@.guard_seeded_rows('pipeline stage', 'pipeline stages', 'name');

CREATE TABLE @extschema@.opportunities (
    opportunity_id  bigserial PRIMARY KEY,
    name            text NOT NULL CONSTRAINT opportunities_name_not_blank CHECK (btrim(name) <> ''),
    account_id      bigint CONSTRAINT opportunities_account_fkey REFERENCES @extschema@.accounts,
    contact_id      bigint CONSTRAINT opportunities_contact_fkey REFERENCES @extschema@.contacts,
    lead_id         bigint CONSTRAINT opportunities_lead_fkey REFERENCES @extschema@.leads,
    amount          numeric(16, 2) NOT NULL CONSTRAINT opportunities_amount_nonnegative CHECK (amount >= 0),
    currency        char(3) NOT NULL DEFAULT 'USD' CONSTRAINT opportunities_currency_iso CHECK (currency ~ '^[A-Z]{3}$'),
    stage_id        integer NOT NULL CONSTRAINT opportunities_stage_fkey REFERENCES @extschema@.pipeline_stages,
    expected_close  date,
    closed_at       timestamptz,
    owner_id        bigint CONSTRAINT opportunities_owner_fkey REFERENCES @extschema@.users,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT opportunities_has_account_or_contact CHECK (num_nonnulls(account_id, contact_id) > 0)
);
CREATE INDEX opportunities_account_id_idx ON @extschema@.opportunities (account_id);
CREATE INDEX opportunities_contact_id_idx ON @extschema@.opportunities (contact_id);
CREATE INDEX opportunities_lead_id_idx ON @extschema@.opportunities (lead_id);
CREATE INDEX opportunities_stage_id_idx ON @extschema@.opportunities (stage_id);
CREATE INDEX opportunities_owner_id_idx ON @extschema@.opportunities (owner_id);
COMMENT ON TABLE @extschema@.opportunities IS 'Deals in the pipeline. Every stage change is recorded in opportunity_stage_history.';

CREATE TABLE @extschema@.opportunity_stage_history (
    history_id      bigserial PRIMARY KEY,
    opportunity_id  bigint NOT NULL CONSTRAINT opportunity_stage_history_opportunity_fkey
                    REFERENCES @extschema@.opportunities ON DELETE CASCADE,
    from_stage_id   integer CONSTRAINT opportunity_stage_history_from_stage_fkey REFERENCES @extschema@.pipeline_stages,
    to_stage_id     integer NOT NULL CONSTRAINT opportunity_stage_history_to_stage_fkey REFERENCES @extschema@.pipeline_stages,
    -- the moment of the change, not the transaction's start: concurrent changes chain in order
    changed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by      bigint CONSTRAINT opportunity_stage_history_changed_by_fkey REFERENCES @extschema@.users,
    changed_by_role name NOT NULL DEFAULT current_user
);
CREATE INDEX opportunity_stage_history_opportunity_idx
    ON @extschema@.opportunity_stage_history (opportunity_id, changed_at);
COMMENT ON TABLE @extschema@.opportunity_stage_history IS
    'Stage changes of opportunities, written by trigger: from, to, when, and who (the staff user and the database role).';

-- The staff user the current database role logs in as, or NULL. Not SECURITY DEFINER: inside
-- such a function current_user is the function's owner. Every crm_ role may read crm.users.
CREATE FUNCTION @extschema@.current_user_id() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT user_id FROM @extschema@.users WHERE login_role = current_user
$$;
COMMENT ON FUNCTION @extschema@.current_user_id() IS
    'The crm.users row of the database role now in use (current_user), or NULL if it is not staff.';

-- Only this trigger writes the stage history (no staff role but crm_admin has INSERT on it): in C
-- (src/stage_history.c), it inserts with the rights of the history's owner, naming the user in
-- force for the UPDATE (current_user, which a SECURITY DEFINER function could not see) and its
-- crm.users row, at clock_timestamp(). It fires only on crm.opportunities; nobody else may attach it.
CREATE FUNCTION @extschema@.record_stage_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_record_stage_change' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.record_stage_change() IS
    'Trigger: records an opportunity''s stage at creation and every change of it in opportunity_stage_history (who: current_user and its crm.users row; when: clock_timestamp()).';
REVOKE EXECUTE ON FUNCTION @extschema@.record_stage_change() FROM PUBLIC;
CREATE TRIGGER opportunities_record_stage_change
    AFTER INSERT OR UPDATE OF stage_id ON @extschema@.opportunities
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.record_stage_change();

-- ---------------------------------------------------------------------------------------------
-- Activities: the big table (tens of millions of rows). Append-mostly; per-contact timelines
-- come from (contact_id, occurred_at), time-range scans from the BRIN index, since rows arrive
-- roughly in time order.
CREATE TABLE @extschema@.activities (
    activity_id  bigserial PRIMARY KEY,
    contact_id   bigint NOT NULL CONSTRAINT activities_contact_fkey REFERENCES @extschema@.contacts,
    lead_id      bigint CONSTRAINT activities_lead_fkey REFERENCES @extschema@.leads,
    owner_id     bigint CONSTRAINT activities_owner_fkey REFERENCES @extschema@.users,
    -- a point in time: lead scoring ages every activity, and an infinite age has no decay
    occurred_at  timestamptz NOT NULL DEFAULT now()
                 CONSTRAINT activities_occurred_at_finite CHECK (occurred_at > '-infinity' AND occurred_at < 'infinity'),
    channel      @extschema@.channel NOT NULL,
    kind         @extschema@.activity_kind NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    details      jsonb NOT NULL DEFAULT '{}' CONSTRAINT activities_details_object CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX activities_contact_timeline_idx ON @extschema@.activities (contact_id, occurred_at DESC);
CREATE INDEX activities_lead_id_idx ON @extschema@.activities (lead_id, occurred_at) WHERE lead_id IS NOT NULL;
CREATE INDEX activities_owner_id_idx ON @extschema@.activities (owner_id);
CREATE INDEX activities_occurred_at_brin ON @extschema@.activities USING brin (occurred_at);
COMMENT ON TABLE @extschema@.activities IS
    'Every interaction on every channel: kind, time, and free-form details (jsonb object, e.g. {"url": "/pricing"}).';

-- ---------------------------------------------------------------------------------------------
-- Purchases
CREATE TABLE @extschema@.products (
    product_id  bigserial PRIMARY KEY,
    sku         text NOT NULL CONSTRAINT products_sku_key UNIQUE,
    name        text NOT NULL,
    category    text,
    unit_price  numeric(12, 2) NOT NULL CONSTRAINT products_unit_price_nonnegative CHECK (unit_price >= 0),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE @extschema@.orders (
    order_id    bigserial PRIMARY KEY,
    contact_id  bigint NOT NULL CONSTRAINT orders_contact_fkey REFERENCES @extschema@.contacts,
    account_id  bigint CONSTRAINT orders_account_fkey REFERENCES @extschema@.accounts,
    ordered_at  timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'paid' CONSTRAINT orders_status_valid
                CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled', 'refunded')),
    currency    char(3) NOT NULL DEFAULT 'USD' CONSTRAINT orders_currency_iso CHECK (currency ~ '^[A-Z]{3}$'),
    total       numeric(16, 2) NOT NULL DEFAULT 0 CONSTRAINT orders_total_nonnegative CHECK (total >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_contact_id_idx ON @extschema@.orders (contact_id, ordered_at);
CREATE INDEX orders_account_id_idx ON @extschema@.orders (account_id);
CREATE INDEX orders_ordered_at_idx ON @extschema@.orders (ordered_at);
COMMENT ON TABLE @extschema@.orders IS
    'Purchases. total is the sum of the order''s line totals, kept by trigger on order_lines. Cancelled and refunded orders do not count as purchases in the analytics.';

CREATE TABLE @extschema@.order_lines (
    order_line_id  bigserial PRIMARY KEY,
    order_id       bigint NOT NULL CONSTRAINT order_lines_order_fkey REFERENCES @extschema@.orders ON DELETE CASCADE,
    product_id     bigint NOT NULL CONSTRAINT order_lines_product_fkey REFERENCES @extschema@.products,
    quantity       integer NOT NULL CONSTRAINT order_lines_quantity_positive CHECK (quantity > 0),
    unit_price     numeric(12, 2) NOT NULL CONSTRAINT order_lines_unit_price_nonnegative CHECK (unit_price >= 0),
    discount       numeric(4, 3) NOT NULL DEFAULT 0 CONSTRAINT order_lines_discount_fraction CHECK (discount >= 0 AND discount < 1),
    line_total     numeric(16, 2) GENERATED ALWAYS AS (round(quantity * unit_price * (1 - discount), 2)) STORED
);
CREATE INDEX order_lines_order_id_idx ON @extschema@.order_lines (order_id);
CREATE INDEX order_lines_product_id_idx ON @extschema@.order_lines (product_id);

CREATE FUNCTION @extschema@.maintain_order_total() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE @extschema@.orders SET total = total - OLD.line_total WHERE order_id = OLD.order_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE @extschema@.orders SET total = total + NEW.line_total WHERE order_id = NEW.order_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER order_lines_maintain_order_total
    AFTER INSERT OR UPDATE OR DELETE ON @extschema@.order_lines
    FOR EACH ROW WHEN (NOT @extschema@.restoring_dump()) EXECUTE FUNCTION @extschema@.maintain_order_total();

-- What counts as a purchase everywhere in the analytics: an order that is paid or shipped
-- (not pending, cancelled or refunded). The one definition: everything that means purchases
-- reads this view. A plain view, so the planner inlines it: a query on it is planned as the same
-- query on crm.orders with the status condition added (same indexes); security_invoker, so the
-- orders' row-level security applies to whoever reads it.
CREATE VIEW @extschema@.purchases WITH (security_invoker = true) AS
SELECT o.order_id, o.contact_id, o.account_id, o.ordered_at, o.status, o.currency, o.total,
       o.created_at, o.updated_at
FROM @extschema@.orders o
WHERE o.status IN ('paid', 'shipped');
COMMENT ON VIEW @extschema@.purchases IS
    'The orders that count as purchases in every analysis: those paid or shipped (not pending, cancelled or refunded).';

CREATE VIEW @extschema@.customer_order_stats WITH (security_invoker = true) AS
SELECT contact_id,
       count(*) AS orders,
       sum(total) AS total_spent,
       round(avg(total), 2) AS average_order_value,
       min(ordered_at) AS first_order_at,
       max(ordered_at) AS last_order_at
FROM @extschema@.purchases
GROUP BY contact_id;
COMMENT ON VIEW @extschema@.customer_order_stats IS
    'Per customer with at least one purchase (orders paid or shipped): order count, total spent, average order value, first and last purchase.';

-- ---------------------------------------------------------------------------------------------
-- Support
CREATE TABLE @extschema@.tickets (
    ticket_id          bigserial PRIMARY KEY,
    contact_id         bigint NOT NULL CONSTRAINT tickets_contact_fkey REFERENCES @extschema@.contacts,
    account_id         bigint CONSTRAINT tickets_account_fkey REFERENCES @extschema@.accounts,
    subject            text NOT NULL CONSTRAINT tickets_subject_not_blank CHECK (btrim(subject) <> ''),
    priority           text NOT NULL DEFAULT 'normal' CONSTRAINT tickets_priority_valid
                       CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status             text NOT NULL DEFAULT 'new' CONSTRAINT tickets_status_valid
                       CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed')),
    channel            @extschema@.channel NOT NULL,
    assignee_id        bigint CONSTRAINT tickets_assignee_fkey REFERENCES @extschema@.users,
    opened_at          timestamptz NOT NULL DEFAULT now(),
    first_response_at  timestamptz,
    resolved_at        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tickets_first_response_after_open CHECK (first_response_at >= opened_at),
    CONSTRAINT tickets_resolved_after_open CHECK (resolved_at >= opened_at),
    CONSTRAINT tickets_resolved_when_done CHECK ((status IN ('resolved', 'closed')) = (resolved_at IS NOT NULL))
);
CREATE INDEX tickets_contact_id_idx ON @extschema@.tickets (contact_id);
CREATE INDEX tickets_account_id_idx ON @extschema@.tickets (account_id);
CREATE INDEX tickets_assignee_id_idx ON @extschema@.tickets (assignee_id);
CREATE INDEX tickets_open_idx ON @extschema@.tickets (status) WHERE status NOT IN ('resolved', 'closed');
COMMENT ON TABLE @extschema@.tickets IS 'Support tickets: opened, first response and resolution times.';

CREATE TABLE @extschema@.survey_responses (
    response_id   bigserial PRIMARY KEY,
    contact_id    bigint NOT NULL CONSTRAINT survey_responses_contact_fkey REFERENCES @extschema@.contacts,
    ticket_id     bigint CONSTRAINT survey_responses_ticket_fkey REFERENCES @extschema@.tickets,
    kind          text NOT NULL CONSTRAINT survey_responses_kind_valid CHECK (kind IN ('nps', 'csat', 'ces')),
    score         smallint NOT NULL,
    comment       text,
    responded_at  timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT survey_responses_score_in_scale CHECK (
        CASE kind WHEN 'nps' THEN score BETWEEN 0 AND 10
                  WHEN 'csat' THEN score BETWEEN 1 AND 5
                  WHEN 'ces' THEN score BETWEEN 1 AND 7 END)
);
CREATE INDEX survey_responses_contact_id_idx ON @extschema@.survey_responses (contact_id, responded_at);
CREATE INDEX survey_responses_ticket_id_idx ON @extschema@.survey_responses (ticket_id);
CREATE INDEX survey_responses_kind_time_idx ON @extschema@.survey_responses (kind, responded_at);
COMMENT ON TABLE @extschema@.survey_responses IS
    'Survey answers: NPS 0-10, CSAT 1-5, CES 1-7 (survey_responses_score_in_scale).';

-- ---------------------------------------------------------------------------------------------
-- Marketing and follow-up
CREATE TABLE @extschema@.campaigns (
    campaign_id  bigserial PRIMARY KEY,
    name         text NOT NULL CONSTRAINT campaigns_name_not_blank CHECK (btrim(name) <> ''),
    channel      @extschema@.channel NOT NULL,
    status       text NOT NULL DEFAULT 'planned' CONSTRAINT campaigns_status_valid
                 CHECK (status IN ('planned', 'active', 'completed', 'cancelled')),
    starts_on    date,
    ends_on      date,
    budget       numeric(16, 2) CONSTRAINT campaigns_budget_nonnegative CHECK (budget >= 0),
    owner_id     bigint CONSTRAINT campaigns_owner_fkey REFERENCES @extschema@.users,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaigns_ends_after_start CHECK (ends_on >= starts_on)
);
CREATE INDEX campaigns_owner_id_idx ON @extschema@.campaigns (owner_id);

CREATE TABLE @extschema@.campaign_members (
    campaign_id  bigint NOT NULL CONSTRAINT campaign_members_campaign_fkey REFERENCES @extschema@.campaigns ON DELETE CASCADE,
    contact_id   bigint NOT NULL CONSTRAINT campaign_members_contact_fkey REFERENCES @extschema@.contacts,
    status       text NOT NULL DEFAULT 'targeted' CONSTRAINT campaign_members_status_valid
                 CHECK (status IN ('targeted', 'sent', 'responded', 'converted', 'unsubscribed')),
    added_at     timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaign_members_pkey PRIMARY KEY (campaign_id, contact_id)
);
CREATE INDEX campaign_members_contact_id_idx ON @extschema@.campaign_members (contact_id);

CREATE TABLE @extschema@.tasks (
    task_id         bigserial PRIMARY KEY,
    title           text NOT NULL CONSTRAINT tasks_title_not_blank CHECK (btrim(title) <> ''),
    description     text,
    due_at          timestamptz,
    assignee_id     bigint CONSTRAINT tasks_assignee_fkey REFERENCES @extschema@.users,
    status          text NOT NULL DEFAULT 'open' CONSTRAINT tasks_status_valid
                    CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
    priority        text NOT NULL DEFAULT 'normal' CONSTRAINT tasks_priority_valid
                    CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    -- the record the task follows up: at least one of these
    contact_id      bigint CONSTRAINT tasks_contact_fkey REFERENCES @extschema@.contacts,
    account_id      bigint CONSTRAINT tasks_account_fkey REFERENCES @extschema@.accounts,
    lead_id         bigint CONSTRAINT tasks_lead_fkey REFERENCES @extschema@.leads,
    opportunity_id  bigint CONSTRAINT tasks_opportunity_fkey REFERENCES @extschema@.opportunities,
    ticket_id       bigint CONSTRAINT tasks_ticket_fkey REFERENCES @extschema@.tickets,
    response_id     bigint CONSTRAINT tasks_response_fkey REFERENCES @extschema@.survey_responses,
    completed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_has_related_record
        CHECK (num_nonnulls(contact_id, account_id, lead_id, opportunity_id, ticket_id, response_id) > 0),
    CONSTRAINT tasks_completed_when_done CHECK ((status = 'done') = (completed_at IS NOT NULL))
);
CREATE INDEX tasks_assignee_open_idx ON @extschema@.tasks (assignee_id, due_at) WHERE status IN ('open', 'in_progress');
CREATE INDEX tasks_contact_id_idx ON @extschema@.tasks (contact_id);
CREATE INDEX tasks_account_id_idx ON @extschema@.tasks (account_id);
CREATE INDEX tasks_lead_id_idx ON @extschema@.tasks (lead_id);
CREATE INDEX tasks_opportunity_id_idx ON @extschema@.tasks (opportunity_id);
CREATE INDEX tasks_ticket_id_idx ON @extschema@.tasks (ticket_id);
CREATE INDEX tasks_response_id_idx ON @extschema@.tasks (response_id);
COMMENT ON TABLE @extschema@.tasks IS 'Follow-ups: what, when, who, and the record (contact, lead, deal, ticket, survey answer) they follow.';

-- ---------------------------------------------------------------------------------------------
-- updated_at on every table that has one, and pg_dump keeps every table's rows and sequence.
DO $register$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['users', 'accounts', 'contacts', 'leads', 'pipeline_stages',
        'opportunities', 'activities', 'products', 'orders', 'tickets', 'survey_responses',
        'campaigns', 'campaign_members', 'tasks']
    LOOP
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER %I BEFORE UPDATE ON @extschema@.%I FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at()',
            table_name || '_touch_updated_at', table_name);
    END LOOP;
END
$register$;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.users', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.users_user_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.accounts_account_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contacts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contacts_contact_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.leads', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.leads_lead_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pipeline_stages', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pipeline_stages_stage_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.opportunities', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.opportunities_opportunity_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.opportunity_stage_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.opportunity_stage_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.activities', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.activities_activity_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.products', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.products_product_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.orders', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.orders_order_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.order_lines', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.order_lines_order_line_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tickets', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tickets_ticket_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.survey_responses', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.survey_responses_response_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaigns', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaigns_campaign_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaign_members', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tasks', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tasks_task_id_seq', '');

-- Privileges: the functions reading the CRM's tables are for its staff roles (row-level
-- security still decides which rows they see); trigger functions are for nobody to call.
REVOKE EXECUTE ON FUNCTION @extschema@.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.current_user_id() TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.touch_updated_at() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.guard_seeded_rows() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.maintain_order_total() FROM PUBLIC;
