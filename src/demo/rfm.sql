-- src/demo/rfm.sql: the demo data hook of src/rfm.sql (extension crm_demo).

-- Demo hook (called by crm.generate_demo_data): monthly RFM snapshots over the last six months of
-- the generated orders, so the transitions view has something to show.
CREATE FUNCTION @extschema@.generate_demo_rfm(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    latest timestamptz;
BEGIN
    SELECT date_trunc('day', max(ordered_at)) + interval '1 day' INTO latest FROM @extschema@.orders;
    IF latest IS NULL THEN
        RETURN;
    END IF;
    FOR months_back IN REVERSE 5..0 LOOP
        PERFORM @extschema@.refresh_rfm(latest - months_back * interval '1 month');
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_rfm(integer) IS
    'Demo data hook: RFM snapshots at the end of the generated orders and monthly for the five months before (the seed is unused: snapshots are deterministic).';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_rfm(integer) FROM PUBLIC;
