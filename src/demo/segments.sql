-- src/demo/segments.sql: the demo data hook of src/segments.sql (extension crm_demo).

-- Demo hook (called by crm.generate_demo_data, after crm.generate_demo_rfm): three segments, refreshed.
CREATE FUNCTION @extschema@.generate_demo_segments(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_segment bigint;
BEGIN
    INSERT INTO @extschema@.segments (name, combine, description)
    VALUES ('Reachable champions', 'and', 'Champions who accept marketing.')
    ON CONFLICT (name) DO NOTHING RETURNING segment_id INTO new_segment;
    IF new_segment IS NOT NULL THEN
        INSERT INTO @extschema@.segment_rules (segment_id, column_name, operator, value)
        VALUES (new_segment, 'rfm_segment', '=', 'Champions'),
               (new_segment, 'marketing_consent', '=', 'true');
    END IF;
    new_segment := NULL;
    INSERT INTO @extschema@.segments (name, combine, description)
    VALUES ('Slipping big spenders', 'and', 'Spent 1000 or more, now At Risk or Can''t Lose Them.')
    ON CONFLICT (name) DO NOTHING RETURNING segment_id INTO new_segment;
    IF new_segment IS NOT NULL THEN
        INSERT INTO @extschema@.segment_rules (segment_id, column_name, operator, value)
        VALUES (new_segment, 'total_spent', '>=', '1000'),
               (new_segment, 'rfm_segment', 'in', '{"At Risk","Can''t Lose Them"}');
    END IF;
    new_segment := NULL;
    INSERT INTO @extschema@.segments (name, combine, description)
    VALUES ('Unhappy or waiting', 'or', 'An NPS detractor (0-6) or someone with an open ticket.')
    ON CONFLICT (name) DO NOTHING RETURNING segment_id INTO new_segment;
    IF new_segment IS NOT NULL THEN
        INSERT INTO @extschema@.segment_rules (segment_id, column_name, operator, value)
        VALUES (new_segment, 'nps_score', '<=', '6'),
               (new_segment, 'open_tickets', '>', '0');
    END IF;
    PERFORM @extschema@.refresh_segments();
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_segments(integer) IS
    'Demo data hook: three example segments (reachable champions, slipping big spenders, unhappy or waiting), refreshed. The seed is unused.';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_segments(integer) FROM PUBLIC;
