-- pgTAP: the single-server side of the distributed CRM (src/citus.sql; the cluster itself is
-- tested by test/scripts/citus_schema.sh). crm.distribute_schema() refuses without Citus and is
-- for superusers only; the trigger guards that now accept their table's Citus shards
-- (crm.<table>_<shard id>) still refuse any other table; crm.lead_nb_feature_values, which
-- crm.rebuild_lead_nb_counts uses, gives the naive Bayes fields by hand; the colocated trigger
-- functions are for nobody to call.
BEGIN;
SELECT plan(15);

-- crm.distribute_schema()
SELECT throws_ok($$SELECT * FROM crm.distribute_schema()$$, '55000', 'Citus is not installed in this database',
                 'without Citus in the database it refuses (55000)');
SELECT ok(NOT has_function_privilege('public', 'crm.distribute_schema()', 'EXECUTE'), 'PUBLIC cannot execute crm.distribute_schema()');
SELECT ok(NOT has_function_privilege('crm_admin', 'crm.distribute_schema()', 'EXECUTE'), 'crm_admin cannot either (superuser only)');
SET LOCAL ROLE crm_admin;
SELECT throws_ok($$SELECT * FROM crm.distribute_schema()$$, '42501', NULL, 'as crm_admin: permission denied (42501)');
RESET ROLE;
SELECT ok(NOT has_function_privilege('public', 'crm.rescore_leads_distributed(timestamptz)', 'EXECUTE')
          AND has_function_privilege('crm_manager', 'crm.rescore_leads_distributed(timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('crm_sales', 'crm.rescore_leads_distributed(timestamptz)', 'EXECUTE'),
          'crm.rescore_leads_distributed: admins and managers, as crm.rescore_leads');
SELECT ok(NOT has_function_privilege('public', f, 'EXECUTE'), f || ': nobody may call it')
FROM unnest(ARRAY['crm.maintain_order_total_colocated()', 'crm.lead_status_record_colocated()']) f;

-- The guards: a table of another schema named like a shard is still refused (42501). A
-- superuser attaches the function here (nobody else has EXECUTE on it); the guard is the
-- second line of defence.
CREATE TABLE public.leads_12345 (LIKE crm.leads INCLUDING DEFAULTS);
CREATE TRIGGER t BEFORE INSERT ON public.leads_12345 FOR EACH ROW EXECUTE FUNCTION crm.lead_bant_qualify();
SELECT throws_ok($$INSERT INTO public.leads_12345 (lead_id, contact_id, source) VALUES (1, 1, 'web')$$,
                 '42501', 'trigger function lead_bant_qualify() fires only on crm.leads, not on public.leads_12345',
                 'lead_bant_qualify refuses a table named like a shard outside crm');
CREATE TABLE public.lead_scoring_groups_7 (LIKE crm.lead_scoring_groups INCLUDING DEFAULTS);
CREATE TRIGGER t BEFORE INSERT ON public.lead_scoring_groups_7 FOR EACH ROW EXECUTE FUNCTION crm.lead_scoring_groups_validate();
SELECT throws_ok($$INSERT INTO public.lead_scoring_groups_7 (group_id, name) VALUES (1, 'x')$$,
                 '42501', NULL, 'lead_scoring_groups_validate refuses it too');
CREATE TABLE public.leads (LIKE crm.leads INCLUDING DEFAULTS);
CREATE TRIGGER t AFTER INSERT ON public.leads FOR EACH ROW EXECUTE FUNCTION crm.lead_status_record_colocated();
SELECT throws_ok($$INSERT INTO public.leads (lead_id, contact_id, source) VALUES (1, 1, 'web')$$,
                 '42501', NULL, 'lead_status_record_colocated refuses a table leads of another schema');

-- crm.lead_nb_feature_values: by hand. Employee bands at their edges: 10 is 1-10, 11 is 11-50,
-- 200 is 51-200, 201 is 201-1000, 1001 is 1001+; NULL count: NULL band (a value of its own).
SELECT is(crm.lead_nb_feature_values('web', 'high', 'Retail', 'DE', 10, '{source,need,industry,country,employee_band}'),
          '{"source": "web", "need": "high", "industry": "Retail", "country": "DE", "employee_band": "1-10"}'::jsonb,
          'every field, 10 employees: 1-10');
SELECT is(ARRAY[crm.lead_nb_feature_values(NULL, NULL, NULL, NULL, 11, '{employee_band}') ->> 'employee_band',
                crm.lead_nb_feature_values(NULL, NULL, NULL, NULL, 200, '{employee_band}') ->> 'employee_band',
                crm.lead_nb_feature_values(NULL, NULL, NULL, NULL, 201, '{employee_band}') ->> 'employee_band',
                crm.lead_nb_feature_values(NULL, NULL, NULL, NULL, 1001, '{employee_band}') ->> 'employee_band'],
          ARRAY['11-50', '51-200', '201-1000', '1001+'], 'the bands'' edges: 11, 200, 201, 1001');
SELECT is(crm.lead_nb_feature_values('web', NULL, NULL, NULL, NULL, '{source,employee_band}'),
          '{"source": "web", "employee_band": null}'::jsonb, 'only the fields named; a NULL value is kept as null');
SELECT is(crm.lead_nb_feature_values('web', 'low', 'Retail', 'DE', 5, '{}'), NULL, 'no field named: NULL');
SELECT is(crm.lead_nb_feature_values('web', 'low', 'Retail', 'DE', 5, NULL), NULL, 'NULL fields: NULL');

SELECT * FROM finish();
ROLLBACK;
