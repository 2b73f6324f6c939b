-- s2-forecast-quotas: a change to an existing object found with the forecast work (the forecast
-- part itself, src/forecast.sql, is listed in s3-stage-analytics.parts).

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
