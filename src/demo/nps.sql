-- src/demo/nps.sql: the demo data hook of src/nps.sql (extension crm_demo).

-- The demo generator loads answers with triggers off: open the tasks the trigger would have, then
-- play history forward: tasks due more than a week before the last answer are done, each
-- completed within 36 hours of the answer (a deterministic function of the seed).
CREATE FUNCTION @extschema@.generate_demo_detractor_tasks(seed integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    opened bigint[];
    last_answer timestamptz;
BEGIN
    opened := ARRAY(SELECT @extschema@.open_detractor_tasks(ARRAY(
        SELECT r.response_id FROM @extschema@.survey_responses r WHERE r.kind = 'nps' AND r.score <= 6)));
    SELECT pg_catalog.max(r.responded_at) INTO last_answer FROM @extschema@.survey_responses r;
    UPDATE @extschema@.tasks t
       SET created_at = r.responded_at,
           updated_at = r.responded_at,
           status = CASE WHEN t.due_at < last_answer - interval '7 days' THEN 'done' ELSE 'open' END,
           completed_at = CASE WHEN t.due_at < last_answer - interval '7 days'
                               THEN r.responded_at + interval '1 second'
                                    * (1 + (pg_catalog.hashtextextended(r.response_id::text, seed) & 131071))
                          END
      FROM @extschema@.survey_responses r
     WHERE t.task_id = ANY (opened) AND r.response_id = t.response_id;
    RETURN pg_catalog.cardinality(opened);
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_detractor_tasks(integer) IS
    'Demo data hook: opens the detractor follow-up tasks the trigger would have opened (the generator loads with triggers off) and completes those long past due. Returns how many it opened.';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_detractor_tasks(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.generate_demo_detractor_tasks(integer) TO crm_admin;
