-- Managers reach their whole reporting chain (issue 16: forecasts roll up the whole chain), not only
-- their direct reports: one definition, so every manager policy follows.
CREATE OR REPLACE FUNCTION @extschema@.managed_user_ids(login_role name) RETURNS bigint[]
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
CREATE OR REPLACE FUNCTION @extschema@.managed_user_ids() RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT @extschema@.managed_user_ids(current_user)
$$;
COMMENT ON FUNCTION @extschema@.managed_user_ids() IS
    'Staff ids whose records the current user sees as a manager: themselves, everyone below them in the reporting chain and their team.';
