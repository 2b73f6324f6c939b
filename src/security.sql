-- src/security.sql: least-privilege grants and row-level security on the CRM schema.
--
-- Who sees what (docs/security.md states the model and prints the role-by-role matrix):
--   crm_admin    everything, read and write
--   crm_manager  reads and writes the records owned by their team (their own, their reports',
--                their team's) and the unowned ones, to assign them
--   crm_sales    reads and writes only the contacts, accounts, leads, opportunities and
--                activities they own; reads the orders, subscriptions, tickets and survey answers
--                of the contacts they own and the accounts of those contacts
--   crm_support  the whole ticket queue, and the contacts (and their accounts and orders) that
--                have tickets
--   crm_analyst  reads everything, changes nothing
-- Tasks follow the record they point at (every record they name must be visible) or their
-- assignee. Shared reference tables (staff, pipeline stages, products) are written by admins only.
-- A staff member is a login role that is a member of one of these roles and is named in
-- crm.users.login_role; crm.current_user_id() maps one to the other.

GRANT USAGE ON SCHEMA @extschema@ TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- Every table and sequence so far; later parts grant their own objects.
GRANT ALL ON ALL TABLES IN SCHEMA @extschema@ TO crm_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA @extschema@ TO crm_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO crm_analyst, crm_manager;

GRANT INSERT, UPDATE, DELETE ON
    @extschema@.accounts, @extschema@.contacts, @extschema@.leads, @extschema@.opportunities,
    @extschema@.activities, @extschema@.orders, @extschema@.order_lines,
    @extschema@.tickets, @extschema@.survey_responses, @extschema@.campaigns,
    @extschema@.campaign_members, @extschema@.tasks
TO crm_manager;

GRANT SELECT ON
    @extschema@.users, @extschema@.accounts, @extschema@.contacts, @extschema@.leads,
    @extschema@.pipeline_stages, @extschema@.opportunities, @extschema@.opportunity_stage_history,
    @extschema@.activities, @extschema@.products, @extschema@.orders, @extschema@.order_lines,
    @extschema@.tickets, @extschema@.campaigns, @extschema@.campaign_members, @extschema@.tasks,
    @extschema@.purchases, @extschema@.customer_order_stats
TO crm_sales;
GRANT INSERT, UPDATE ON
    @extschema@.accounts, @extschema@.contacts, @extschema@.leads, @extschema@.opportunities,
    @extschema@.activities, @extschema@.tasks
TO crm_sales;
GRANT DELETE ON @extschema@.tasks TO crm_sales;

GRANT SELECT ON
    @extschema@.users, @extschema@.accounts, @extschema@.contacts, @extschema@.products,
    @extschema@.orders, @extschema@.order_lines, @extschema@.tickets, @extschema@.survey_responses,
    @extschema@.tasks, @extschema@.purchases, @extschema@.customer_order_stats
TO crm_support;
GRANT INSERT, UPDATE ON @extschema@.tickets, @extschema@.survey_responses, @extschema@.tasks TO crm_support;

GRANT USAGE ON ALL SEQUENCES IN SCHEMA @extschema@ TO crm_manager, crm_sales, crm_support;

-- The staff ids whose records the current user may see as a manager: their own, those of everyone
-- below them in the reporting chain (direct reports, theirs, and so on, as a role hierarchy does),
-- and everyone's on their team. An array, so a policy compares against one value
-- computed once per query (an InitPlan), not a subquery per row of a large table. Not SECURITY
-- DEFINER, for current_user's sake; managers may read crm.users.
CREATE FUNCTION @extschema@.managed_user_ids(login_role name) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE me AS (
        SELECT u.user_id, u.team FROM @extschema@.users u WHERE u.login_role = managed_user_ids.login_role
    ), chain (user_id) AS (
        -- UNION, not UNION ALL: a cycle in manager_id ends the recursion instead of looping.
        SELECT user_id FROM me
        UNION
        SELECT u.user_id FROM @extschema@.users u JOIN chain c ON u.manager_id = c.user_id
    )
    SELECT coalesce(pg_catalog.array_agg(x.user_id ORDER BY x.user_id), '{}')
    FROM (SELECT user_id FROM chain
          UNION
          SELECT u.user_id FROM @extschema@.users u JOIN me ON me.team IS NOT NULL AND u.team = me.team) x
$$;
COMMENT ON FUNCTION @extschema@.managed_user_ids(name) IS
    'Staff ids whose records the staff member logging in as login_role sees as a manager: themselves, everyone below them in the reporting chain (direct reports, theirs, and so on) and their team.';
CREATE FUNCTION @extschema@.managed_user_ids() RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT @extschema@.managed_user_ids(current_user)
$$;
COMMENT ON FUNCTION @extschema@.managed_user_ids() IS
    'Staff ids whose records the current user sees as a manager: themselves, everyone below them in the reporting chain and their team.';
REVOKE EXECUTE ON FUNCTION @extschema@.managed_user_ids(name), @extschema@.managed_user_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.managed_user_ids(name), @extschema@.managed_user_ids()
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- Owned records: contacts, leads, opportunities (activities below).
DO $policies$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['contacts', 'leads', 'opportunities']
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY admin_all ON @extschema@.%I TO crm_admin USING (true) WITH CHECK (true)',
            table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY analyst_read ON @extschema@.%I FOR SELECT TO crm_analyst USING (true)',
            table_name);
        -- USING decides which rows a rep sees and may update or delete; WITH CHECK that every row
        -- they write stays theirs, so an UPDATE cannot hand a row to someone else.
        EXECUTE pg_catalog.format(
            'CREATE POLICY sales_own ON @extschema@.%I TO crm_sales
                 USING (owner_id = (SELECT @extschema@.current_user_id()))
                 WITH CHECK (owner_id = (SELECT @extschema@.current_user_id()))',
            table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY manager_team ON @extschema@.%I TO crm_manager
                 USING (owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]))
                 WITH CHECK (owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]))',
            table_name);
    END LOOP;
END
$policies$;

-- Activities: owned as the records above, and what an activity refers to must be the writer's
-- too. Logging one rescores its lead (and may make it hot, notify, assign it), so a rep may log
-- activities only on contacts and leads they own, a manager only on their team's or unowned ones.
-- The EXISTS subqueries read contacts and leads under the writer's own row-level security: a row
-- they find is exactly a row the writer may see, and nothing about any other row is revealed.
ALTER TABLE @extschema@.activities ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.activities TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.activities FOR SELECT TO crm_analyst USING (true);
CREATE POLICY sales_own ON @extschema@.activities TO crm_sales
    USING (owner_id = (SELECT @extschema@.current_user_id()))
    WITH CHECK (owner_id = (SELECT @extschema@.current_user_id())
                AND EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = activities.contact_id)
                AND (lead_id IS NULL OR EXISTS (SELECT FROM @extschema@.leads l WHERE l.lead_id = activities.lead_id)));
CREATE POLICY manager_team ON @extschema@.activities TO crm_manager
    USING (owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]))
    WITH CHECK ((owner_id IS NULL OR owner_id = ANY ((SELECT @extschema@.managed_user_ids())::bigint[]))
                AND EXISTS (SELECT FROM @extschema@.contacts c WHERE c.contact_id = activities.contact_id)
                AND (lead_id IS NULL OR EXISTS (SELECT FROM @extschema@.leads l WHERE l.lead_id = activities.lead_id)));

-- Support sees the contacts that have tickets (through the tickets, which it sees whole).
CREATE POLICY support_ticket_contacts ON @extschema@.contacts FOR SELECT TO crm_support
    USING (EXISTS (SELECT FROM @extschema@.tickets t WHERE t.contact_id = contacts.contact_id));

-- Tickets: the whole queue for support; for sales, the tickets of the contacts they own. Whether
-- the current user owns a contact is looked up past row-level security: through contacts' own
-- policies, which look at tickets for support, a role in both sales and support would recurse
-- endlessly. It answers only yes or no, and only for the caller: it tells nobody who owns a
-- contact they cannot see.
-- In C (src/schema.c): a SECURITY DEFINER function would see its owner as current_user.
CREATE FUNCTION @extschema@.owns_contact(contact_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_owns_contact' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.owns_contact(bigint) IS
    'True when the current user owns the contact (read past row-level security, for policies of other tables); false otherwise, also for a contact that does not exist.';
ALTER TABLE @extschema@.tickets ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.tickets TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.tickets FOR SELECT TO crm_analyst USING (true);
CREATE POLICY manager_all ON @extschema@.tickets TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY support_queue ON @extschema@.tickets TO crm_support USING (true) WITH CHECK (true);
CREATE POLICY sales_own_contacts ON @extschema@.tickets FOR SELECT TO crm_sales
    USING (@extschema@.owns_contact(contact_id));
-- Survey answers: support and managers handle them all; a rep reads the answers of the contacts
-- they own (so their customer 360 shows the latest NPS), and writes none. Any role granted INSERT
-- (a web form's, say) may add answers: the grant, not a policy, decides that.
GRANT SELECT ON @extschema@.survey_responses TO crm_sales;
ALTER TABLE @extschema@.survey_responses ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON @extschema@.survey_responses TO crm_admin USING (true) WITH CHECK (true);
CREATE POLICY analyst_read ON @extschema@.survey_responses FOR SELECT TO crm_analyst USING (true);
CREATE POLICY manager_all ON @extschema@.survey_responses TO crm_manager USING (true) WITH CHECK (true);
CREATE POLICY support_all ON @extschema@.survey_responses TO crm_support USING (true) WITH CHECK (true);
CREATE POLICY sales_own_contacts ON @extschema@.survey_responses FOR SELECT TO crm_sales
    USING (@extschema@.owns_contact(contact_id));
CREATE POLICY insert_if_granted ON @extschema@.survey_responses FOR INSERT TO PUBLIC WITH CHECK (true);
REVOKE EXECUTE ON FUNCTION @extschema@.owns_contact(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.owns_contact(bigint) TO crm_sales, crm_admin;

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
-- failing the whole query on the grant. The privilege test and the lookup are separate
-- statements: a generic plan of one expression holding both would check the grant on the looked-up
-- table when it starts, before any short-circuit (test/pgtap/tasks_generic_plan.sql).
CREATE FUNCTION @extschema@.task_records_visible(task @extschema@.tasks) RETURNS boolean
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

-- Stage history is written only by the opportunities trigger (crm.record_stage_change, with the
-- rights of the table's owner, naming whoever moved the deal): it is an audit trail, so no staff
-- role writes, changes or deletes it by hand, admins included (a deal's history goes with the deal,
-- ON DELETE CASCADE), and a rep records history only by moving a deal they may update. Readers see
-- the history of the deals they can see.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON @extschema@.opportunity_stage_history FROM crm_admin;
ALTER TABLE @extschema@.opportunity_stage_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.opportunity_stage_history FOR SELECT TO crm_admin USING (true);
CREATE POLICY read_visible_deals ON @extschema@.opportunity_stage_history FOR SELECT
    TO crm_analyst, crm_manager, crm_sales
    USING (EXISTS (SELECT FROM @extschema@.opportunities o WHERE o.opportunity_id = opportunity_stage_history.opportunity_id));
