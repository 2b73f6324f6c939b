-- src/demo/recommendations.sql: the demo data hook of src/recommendations.sql (extension crm_demo).

-- Demo hook (called by crm.generate_demo_data, which runs without triggers): counts the generated
-- purchases into the product co-occurrence tables, as the triggers would have.
CREATE FUNCTION @extschema@.generate_demo_recommendations(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.refresh_product_pairs();
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_recommendations(integer) IS
    'Demo data hook: counts the generated purchases into the product co-occurrence tables with crm.refresh_product_pairs() (the seed is unused).';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_recommendations(integer) FROM PUBLIC;
