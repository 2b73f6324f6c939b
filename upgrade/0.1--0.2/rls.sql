-- upgrade/0.1--0.2/rls.sql: row-level security on accounts, orders, order lines, campaigns,
-- campaign members, tasks, subscriptions and the configuration tables; stages and products
-- written by admins only; crm.contact_owner_id replaced by crm.owns_contact; restoring_dump only
-- for roles that could restore (C change; its comment changed).
COMMENT ON FUNCTION @extschema@.restoring_dump() IS
    'True in a session restoring a pg_dump script (row_security off and an empty search_path, set by a superuser or a member of the extension''s owner): triggers that derive state skip their work there, since the dumped rows already hold it.';

REVOKE INSERT, UPDATE, DELETE ON @extschema@.pipeline_stages, @extschema@.products FROM crm_manager;

-- In C (src/schema.c): a SECURITY DEFINER function would see its owner as current_user.
CREATE FUNCTION @extschema@.owns_contact(contact_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_owns_contact' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.owns_contact(bigint) IS
    'True when the current user owns the contact (read past row-level security, for policies of other tables); false otherwise, also for a contact that does not exist.';
DROP POLICY sales_own_contacts ON @extschema@.tickets;
CREATE POLICY sales_own_contacts ON @extschema@.tickets FOR SELECT TO crm_sales
    USING (@extschema@.owns_contact(contact_id));
DROP POLICY sales_own_contacts ON @extschema@.survey_responses;
CREATE POLICY sales_own_contacts ON @extschema@.survey_responses FOR SELECT TO crm_sales
    USING (@extschema@.owns_contact(contact_id));
REVOKE EXECUTE ON FUNCTION @extschema@.owns_contact(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.owns_contact(bigint) TO crm_sales, crm_admin;
DROP FUNCTION @extschema@.contact_owner_id(bigint);

-- Accounts: owned like contacts (a rep writes their own, a manager their team's and the unowned
-- ones); besides, whoever sees a contact reads the account it belongs to.
ALTER TABLE @extschema@.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.accounts TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.accounts FOR SELECT TO crm_analyst USING (true);
CREATE POLICY sales_own ON @extschema@.accounts TO crm_sales
    USING (owner_id = (SELECT @extschema@.current_user_id()))
    WITH CHECK (owner_id = (SELECT @extschema@.current_user_id()));
CREATE POLICY manager_team ON @extschema@.accounts TO crm_manager
    USING (owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]))
    WITH CHECK (owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]));
CREATE POLICY read_of_visible_contacts ON @extschema@.accounts FOR SELECT TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.account_id = accounts.account_id));

-- Orders and their lines: a customer's purchases are seen (and, by managers, written) by whoever
-- sees the customer; the grants keep sales and support to reading.
ALTER TABLE @extschema@.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.orders TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.orders FOR SELECT TO crm_analyst USING (true);
CREATE POLICY of_visible_contacts ON @extschema@.orders TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = orders.contact_id))
    WITH CHECK (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = orders.contact_id));
ALTER TABLE @extschema@.order_lines ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.order_lines TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.order_lines FOR SELECT TO crm_analyst USING (true);
CREATE POLICY of_visible_orders ON @extschema@.order_lines TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.orders o WHERE o.order_id = order_lines.order_id))
    WITH CHECK (EXISTS (SELECT FROM @extschema@.orders o WHERE o.order_id = order_lines.order_id));

-- Campaigns: every staff member with the grant reads them; managers run their team's and the
-- unowned ones. Campaign members are contacts: seen and written by whoever sees the contact.
ALTER TABLE @extschema@.campaigns ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.campaigns TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.campaigns FOR SELECT TO crm_analyst, crm_manager, crm_sales USING (true);
CREATE POLICY manager_team ON @extschema@.campaigns TO crm_manager
    USING (owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]))
    WITH CHECK (owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]));
ALTER TABLE @extschema@.campaign_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.campaign_members TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.campaign_members FOR SELECT TO crm_analyst USING (true);
CREATE POLICY of_visible_contacts ON @extschema@.campaign_members TO crm_manager, crm_sales
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = campaign_members.contact_id))
    WITH CHECK (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = campaign_members.contact_id));

-- Tasks follow the records they point at: a task is seen and written by whoever sees every record
-- it names (its text may quote them: a detractor task quotes the customer's comment), and by its
-- assignee (a manager: by their team's assignees). Handing a task over keeps it visible only if the
-- records are: nobody hands a task on a record they cannot see to someone else.
-- PL/pgSQL, not SQL: each record is looked up only when the task names one, and a record of a
-- table the role may not read at all (support and leads) is simply not visible, instead of
-- failing the whole query on the grant.
CREATE FUNCTION @extschema@.task_records_visible(task @extschema@.tasks) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF task.contact_id IS NOT NULL AND NOT (has_table_privilege('@extschema@.contacts', 'SELECT')
            AND EXISTS (SELECT FROM @extschema@.contacts r WHERE r.contact_id = task.contact_id)) THEN
        RETURN false;
    END IF;
    IF task.account_id IS NOT NULL AND NOT (has_table_privilege('@extschema@.accounts', 'SELECT')
            AND EXISTS (SELECT FROM @extschema@.accounts r WHERE r.account_id = task.account_id)) THEN
        RETURN false;
    END IF;
    IF task.lead_id IS NOT NULL AND NOT (has_table_privilege('@extschema@.leads', 'SELECT')
            AND EXISTS (SELECT FROM @extschema@.leads r WHERE r.lead_id = task.lead_id)) THEN
        RETURN false;
    END IF;
    IF task.opportunity_id IS NOT NULL AND NOT (has_table_privilege('@extschema@.opportunities', 'SELECT')
            AND EXISTS (SELECT FROM @extschema@.opportunities r WHERE r.opportunity_id = task.opportunity_id)) THEN
        RETURN false;
    END IF;
    IF task.ticket_id IS NOT NULL AND NOT (has_table_privilege('@extschema@.tickets', 'SELECT')
            AND EXISTS (SELECT FROM @extschema@.tickets r WHERE r.ticket_id = task.ticket_id)) THEN
        RETURN false;
    END IF;
    IF task.response_id IS NOT NULL AND NOT (has_table_privilege('@extschema@.survey_responses', 'SELECT')
            AND EXISTS (SELECT FROM @extschema@.survey_responses r WHERE r.response_id = task.response_id)) THEN
        RETURN false;
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.task_records_visible(@extschema@.tasks) IS
    'True when the current user sees every record the task names (under their row-level security); for the tasks policies.';
REVOKE EXECUTE ON FUNCTION @extschema@.task_records_visible(@extschema@.tasks) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.task_records_visible(@extschema@.tasks)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
ALTER TABLE @extschema@.tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.tasks TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.tasks FOR SELECT TO crm_analyst USING (true);
CREATE POLICY assignee_or_records ON @extschema@.tasks TO crm_sales, crm_support
    USING (assignee_id = (SELECT @extschema@.current_user_id()) OR @extschema@.task_records_visible(tasks))
    WITH CHECK (assignee_id = (SELECT @extschema@.current_user_id()) OR @extschema@.task_records_visible(tasks));
CREATE POLICY manager_team ON @extschema@.tasks TO crm_manager
    USING (assignee_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]) OR @extschema@.task_records_visible(tasks))
    WITH CHECK (assignee_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]) OR @extschema@.task_records_visible(tasks));

-- A customer's subscriptions are seen (and, by managers, written) by whoever sees the customer.
ALTER TABLE @extschema@.subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.subscriptions TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.subscriptions FOR SELECT TO crm_analyst USING (true);
CREATE POLICY of_visible_contacts ON @extschema@.subscriptions TO crm_manager, crm_sales, crm_support
    USING (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = subscriptions.contact_id))
    WITH CHECK (EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = subscriptions.contact_id));

-- Configuration shared by everyone: admins and managers write it, every staff role reads it.
ALTER TABLE @extschema@.rfm_segment_map ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.rfm_segment_map TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.rfm_segment_map TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.rfm_segment_map FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);

-- Configuration shared by everyone: admins and managers write it, every staff role reads it.
ALTER TABLE @extschema@.segments ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.segments TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.segments TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.segments FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);
ALTER TABLE @extschema@.segment_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.segment_rules TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.segment_rules TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.segment_rules FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);

-- Configuration shared by everyone: admins and managers write it, every staff role reads it.
ALTER TABLE @extschema@.lead_scoring_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.lead_scoring_settings TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.lead_scoring_settings TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.lead_scoring_settings FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);
ALTER TABLE @extschema@.lead_scoring_groups ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.lead_scoring_groups TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.lead_scoring_groups TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.lead_scoring_groups FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);
ALTER TABLE @extschema@.lead_scoring_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.lead_scoring_rules TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY manager_all ON @extschema@.lead_scoring_rules TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY staff_read ON @extschema@.lead_scoring_rules FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true);

-- Functions reading the tables: staff roles only; trigger functions: nobody.
REVOKE EXECUTE ON FUNCTION @extschema@.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.current_user_id() TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.touch_updated_at() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.maintain_order_total() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.managed_user_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.managed_user_ids() TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.active_customers(timestamptz, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.active_customers(timestamptz, text, interval) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.retention(timestamptz, timestamptz, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.retention(timestamptz, timestamptz, text, interval) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.subscription_metrics(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.subscription_metrics(date, date) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.cohort_retention(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.cohort_retention(text, timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.repeat_purchase_rate(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.repeat_purchase_rate(timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.purchase_gaps(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.purchase_gaps(timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.at_risk_customers(timestamptz, double precision, double precision, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.at_risk_customers(timestamptz, double precision, double precision, interval) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.customer_summaries(timestamptz, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.customer_summaries(timestamptz, double precision) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.rfm_scores(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rfm_scores(timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.rfm_segment(@extschema@.rfm) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rfm_segment(@extschema@.rfm) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.rfm_segment_map_check_overlap() FROM PUBLIC;

-- Privileges: the functions reading the CRM's tables are for its staff roles (row-level
-- security still decides which leads they see).
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_field_type(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_scoring_field_type(text, text) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_unsupported_type(text, text, oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_scoring_unsupported_type(text, text, oid) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scoring_compare(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_scoring_compare(text, text, text) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_scores(timestamptz, bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_scores(timestamptz, bigint[]) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_score(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_score(bigint, timestamptz) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_nb_features(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_nb_features(bigint) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.lead_win_probability(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lead_win_probability(bigint) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- Privileges: rule compilation reads the segment tables, for staff roles; the trigger for nobody.
REVOKE EXECUTE ON FUNCTION @extschema@.segment_rule_condition(bigint, bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.segment_rule_condition(bigint, bigint, text, text, text) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.segment_condition(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.segment_condition(bigint) TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.segment_rules_validate() FROM PUBLIC;

-- Lead scoring's helpers resolve names only from pg_catalog (0.1 used the caller's search_path).
ALTER FUNCTION @extschema@.lead_scoring_field_type(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.lead_scoring_unsupported_type(text, text, oid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.lead_scoring_compare(text, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.lead_scoring_rules_validate() SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_decay(age interval, half_life interval) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    WHEN half_life IS NULL THEN 1
    WHEN pg_catalog.date_part('epoch', age) OPERATOR(pg_catalog./) pg_catalog.date_part('epoch', half_life)
         OPERATOR(pg_catalog.>) 1000::pg_catalog.float8 THEN 0
    ELSE pg_catalog.round(pg_catalog.power(0.5::pg_catalog.float8,
             pg_catalog.date_part('epoch', age) OPERATOR(pg_catalog./) pg_catalog.date_part('epoch', half_life))::pg_catalog.numeric, 15)
END
$$;

-- Stage history is an audit trail: admins read it, nobody writes it by hand.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON @extschema@.opportunity_stage_history FROM crm_admin;
DROP POLICY admin_all ON @extschema@.opportunity_stage_history;
CREATE POLICY admin_read ON @extschema@.opportunity_stage_history FOR SELECT TO crm_admin USING (true);

-- managed_user_ids for any login role; add_segment_to_campaign checks the caller's right to the campaign.
CREATE FUNCTION @extschema@.managed_user_ids(login_role name) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(pg_catalog.array_agg(u.user_id), '{}')
    FROM @extschema@.users me
    JOIN @extschema@.users u
      ON u.user_id = me.user_id OR u.manager_id = me.user_id
      OR (me.team IS NOT NULL AND u.team = me.team)
    WHERE me.login_role = managed_user_ids.login_role
$$;
COMMENT ON FUNCTION @extschema@.managed_user_ids(name) IS
    'Staff ids whose records the staff member logging in as login_role sees as a manager: themselves, their direct reports and their team.';
CREATE OR REPLACE FUNCTION @extschema@.managed_user_ids() RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT @extschema@.managed_user_ids(current_user)
$$;
COMMENT ON FUNCTION @extschema@.managed_user_ids() IS
    'Staff ids whose records the current user sees as a manager: themselves, their direct reports and their team.';
REVOKE EXECUTE ON FUNCTION @extschema@.managed_user_ids(name), @extschema@.managed_user_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.managed_user_ids(name), @extschema@.managed_user_ids()
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

CREATE OR REPLACE FUNCTION @extschema@.add_segment_to_campaign(segment_id bigint, campaign_id bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    added integer;
    campaign_owner bigint;
    -- Who called: inside a SECURITY DEFINER function current_user is the owner, but SET ROLE (the
    -- setting "role") and the session user are still the caller's.
    caller name := CASE current_setting('role') WHEN 'none' THEN session_user ELSE current_setting('role')::name END;
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.segments s WHERE s.segment_id = add_segment_to_campaign.segment_id) THEN
        RAISE EXCEPTION 'segment % does not exist', add_segment_to_campaign.segment_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT c.owner_id INTO campaign_owner FROM @extschema@.campaigns c
    WHERE c.campaign_id = add_segment_to_campaign.campaign_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign % does not exist', add_segment_to_campaign.campaign_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The caller's right to the campaign, as the campaigns policies give it: admins any, managers
    -- their team's and the unowned ones.
    IF NOT pg_has_role(caller, 'crm_admin', 'USAGE') AND campaign_owner IS NOT NULL
       AND campaign_owner <> ALL (@extschema@.managed_user_ids(caller)) THEN
        RAISE EXCEPTION 'permission denied to add members to campaign %', add_segment_to_campaign.campaign_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The campaign belongs to a staff member outside your team.',
                  HINT = 'A manager adds members to the campaigns of their team and to unowned ones.';
    END IF;
    INSERT INTO @extschema@.campaign_members (campaign_id, contact_id)
    SELECT add_segment_to_campaign.campaign_id, m.contact_id
    FROM @extschema@.segment_members m
    JOIN @extschema@.contacts c ON c.contact_id = m.contact_id
    WHERE m.segment_id = add_segment_to_campaign.segment_id AND c.marketing_consent
    ORDER BY m.contact_id
    ON CONFLICT ON CONSTRAINT campaign_members_pkey DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
END
$$;
