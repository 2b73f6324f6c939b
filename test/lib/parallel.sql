-- Included by the pgTAP suites that compare an aggregate's parallel and serial answers
-- (\i test/lib/parallel.sql): parallel plans for any table size, and pg_temp.plan_of(query), the
-- lines of its EXPLAIN, to check the plan really has a Partial Aggregate.
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN ' || query LOOP RETURN NEXT line; END LOOP;
END
$f$;
