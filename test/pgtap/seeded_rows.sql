-- pgTAP: one guard for the seeded rows of crm.pipeline_stages and crm.rfm_segment_map
-- (crm.guard_seeded_rows): nobody creates, deletes or unmarks a seeded row; a restored seeded row
-- (same key) replaces its fresh copy, columns and all; the guard is one function, for nobody to call.
BEGIN;
SELECT plan(13);

SELECT is((SELECT array_agg(DISTINCT t.tgfoid::regprocedure::text) FROM pg_trigger t
           WHERE t.tgname IN ('pipeline_stages_guard_seeded', 'rfm_segment_map_guard_seeded')),
          ARRAY['crm.guard_seeded_rows()'], 'both tables are guarded by the one function');
SELECT ok(NOT has_function_privilege('public', 'crm.guard_seeded_rows()', 'EXECUTE'), 'PUBLIC cannot execute the guard');

-- pipeline stages
SELECT throws_ok($$INSERT INTO crm.pipeline_stages (name, position, probability, forecast_category, is_seeded)
                   VALUES ('x', 99, 5, 'pipeline', true)$$,
                 '23514', 'only the extension creates seeded pipeline stages', 'stages: no seeded row by hand');
SELECT throws_ok($$DELETE FROM crm.pipeline_stages WHERE stage_id = 4$$,
                 '23514', 'seeded pipeline stage "quote" cannot be deleted', 'stages: a seeded row cannot be deleted');
SELECT throws_ok($$UPDATE crm.pipeline_stages SET is_seeded = false WHERE stage_id = 1$$,
                 '23514', 'is_seeded cannot be changed', 'stages: a seeded row cannot be unmarked');
-- as a restore loads it: the dumped (edited) seeded row over the fresh copy, swapping positions
-- with another seeded stage (the unique position is checked at the end of the transaction)
INSERT INTO crm.pipeline_stages (stage_id, name, position, probability, is_won, is_lost, forecast_category,
                                 active, is_seeded, created_at, updated_at)
VALUES (4, 'quote (edited)', 50, 65, false, false, 'commit', false, true, '2020-01-01', '2020-01-02'),
       (5, 'negotiation', 40, 80, false, false, 'commit', true, true, '2020-01-01', '2020-01-02');
SELECT results_eq($$SELECT stage_id, name, position, probability, forecast_category, active, created_at FROM crm.pipeline_stages
                    WHERE stage_id IN (4, 5) ORDER BY stage_id$$,
                  $$VALUES (4, 'quote (edited)'::text, 50, 65.00, 'commit'::text, false, '2020-01-01'::timestamptz),
                           (5, 'negotiation', 40, 80, 'commit', true, '2020-01-01')$$,
                  'stages: a restored seeded row replaces its fresh copy (every column)');
SELECT is((SELECT count(*)::int FROM crm.pipeline_stages), 7, 'stages: and adds no row');
SET CONSTRAINTS ALL IMMEDIATE;
SELECT pass('stages: the swapped positions are unique at the end');

-- RFM segments
SELECT throws_ok($$INSERT INTO crm.rfm_segment_map (segment, recency_min, recency_max, frequency_min, frequency_max, is_seeded)
                   VALUES ('x', 1, 1, 1, 1, true)$$,
                 '23514', 'only the extension creates seeded RFM segments', 'segments: no seeded row by hand');
SELECT throws_ok($$DELETE FROM crm.rfm_segment_map WHERE segment_map_id = 1$$,
                 '23514', 'seeded RFM segment "Champions" cannot be deleted', 'segments: a seeded row cannot be deleted');
SELECT throws_ok($$UPDATE crm.rfm_segment_map SET is_seeded = false WHERE segment_map_id = 1$$,
                 '23514', 'is_seeded cannot be changed', 'segments: a seeded row cannot be unmarked');
INSERT INTO crm.rfm_segment_map (segment_map_id, segment, recency_min, recency_max, frequency_min, frequency_max,
                                 active, is_seeded, created_at, updated_at)
VALUES (1, 'Stars', 5, 5, 4, 5, true, true, '2020-01-01', '2020-01-02');
SELECT results_eq($$SELECT segment, created_at FROM crm.rfm_segment_map WHERE segment_map_id = 1$$,
                  $$VALUES ('Stars'::text, '2020-01-01'::timestamptz)$$, 'segments: a restored seeded row replaces its fresh copy');
SELECT is((SELECT count(*)::int FROM crm.rfm_segment_map), 10, 'segments: and adds no row');

SELECT * FROM finish();
ROLLBACK;
