-- pgTAP: the schema's tables, keys and triggers.
BEGIN;
SELECT plan(6);

SELECT has_table('crm', t, 'table crm.' || t || ' exists')
FROM unnest(ARRAY['users', 'contacts']) t;
SELECT col_is_pk('crm', 'activities', 'activity_id', 'activities has a primary key');
SELECT has_index('crm', 'activities', 'activities_contact_timeline_idx', 'per-contact timelines are indexed');
SELECT throws_ok($$INSERT INTO crm.pipeline_stages (name, position, probability, forecast_category, is_seeded)
                   VALUES ('x', 99, 5, 'pipeline', true)$$, '23514', NULL,
                 'nobody but the extension creates seeded stages');
SELECT results_eq('SELECT count(*)::int FROM crm.pipeline_stages', ARRAY[7], 'seven seeded stages');

SELECT * FROM finish();
ROLLBACK;
