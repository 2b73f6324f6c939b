-- Analytics the demo report uses, as PL/pgSQL so that Citus can plan them on a distributed CRM
-- (the same definitions as src/retention.sql, src/lead_scoring.sql and src/segments.sql).
CREATE OR REPLACE FUNCTION @extschema@.repeat_purchase_rate(as_of timestamptz DEFAULT now()) RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- distributed tables (docs/citus.md).
    RETURN (SELECT 100.0 * count(*) FILTER (WHERE purchases >= 2) / NULLIF(count(*), 0)
            FROM (SELECT p.contact_id, count(*) AS purchases
                  FROM @extschema@.purchases p
                  WHERE p.ordered_at <= repeat_purchase_rate.as_of
                  GROUP BY p.contact_id) per_customer);
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.purchase_gaps(as_of timestamptz DEFAULT now())
RETURNS TABLE (contact_id bigint, purchase_days bigint, last_order_at timestamptz,
               usual_gap_days double precision, mean_gap_days double precision)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- distributed tables (docs/citus.md). Every column is qualified: the output columns are
    -- variables here.
    RETURN QUERY
    SELECT g.contact_id, count(*) + 1, max(g.last_at),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY g.gap), avg(g.gap)::double precision
    FROM (SELECT d.contact_id, d.last_at, (d.day - lag(d.day) OVER w)::double precision AS gap
          FROM (SELECT o.contact_id, o.ordered_at::date AS day, max(o.ordered_at) AS last_at
                FROM @extschema@.purchases o
                WHERE o.ordered_at <= purchase_gaps.as_of
                GROUP BY 1, 2) d
          WINDOW w AS (PARTITION BY d.contact_id ORDER BY d.day)) g
    WHERE g.gap IS NOT NULL
    GROUP BY g.contact_id;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.lead_nb_features(lead_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL rather than SQL: Citus cannot plan a SQL function's parameterised query over
    -- distributed tables (docs/citus.md).
    RETURN (SELECT @extschema@.lead_nb_feature_values(l.source, l.need, a.industry, coalesce(c.country, a.country),
                                                      a.employee_count, s.nb_fields)
            FROM @extschema@.leads l
            JOIN @extschema@.contacts c ON c.contact_id = l.contact_id
            LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
            CROSS JOIN @extschema@.lead_scoring_settings s
            WHERE l.lead_id = lead_nb_features.lead_id);
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.lead_win_probability(lead_id bigint) RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
DECLARE
    lead_features jsonb;
BEGIN
    -- PL/pgSQL rather than SQL, and the lead's features read in a statement of their own: Citus
    -- plans neither a SQL function's parameterised query over distributed tables nor a query
    -- mixing them with the reference table of counts (docs/citus.md).
    IF NOT EXISTS (SELECT 1 FROM @extschema@.leads l WHERE l.lead_id = lead_win_probability.lead_id) THEN
        RETURN NULL;
    END IF;
    lead_features := @extschema@.lead_nb_features(lead_win_probability.lead_id);
    RETURN (
        WITH totals AS (
            SELECT won::float8 AS won, lost::float8 AS lost FROM @extschema@.lead_nb_counts WHERE field = '*'
        ), features AS (
            SELECT f.key AS field, f.value FROM pg_catalog.jsonb_each_text(lead_features) f
        ), likelihoods AS (
            SELECT sum(pg_catalog.ln((coalesce(n.won, 0) + 1) / (t.won + v.distinct_values))) AS log_won,
                   sum(pg_catalog.ln((coalesce(n.lost, 0) + 1) / (t.lost + v.distinct_values))) AS log_lost
            FROM features f
            CROSS JOIN totals t
            LEFT JOIN @extschema@.lead_nb_counts n ON n.field = f.field AND n.value IS NOT DISTINCT FROM f.value
            CROSS JOIN LATERAL (
                SELECT count(*) + CASE WHEN n.field IS NULL THEN 1 ELSE 0 END AS distinct_values
                FROM @extschema@.lead_nb_counts k WHERE k.field = f.field AND (k.won + k.lost) > 0) v
        )
        SELECT 1 / (1 + pg_catalog.exp(
                   (pg_catalog.ln((coalesce(t.lost, 0) + 1) / (coalesce(t.won + t.lost, 0) + 2)) + coalesce(x.log_lost, 0))
                 - (pg_catalog.ln((coalesce(t.won, 0) + 1) / (coalesce(t.won + t.lost, 0) + 2)) + coalesce(x.log_won, 0))))
        FROM (SELECT 1) one
        LEFT JOIN totals t ON true
        LEFT JOIN likelihoods x ON true);
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.add_segment_to_campaign(segment_id bigint, campaign_id bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    added integer;
    members bigint[];
    campaign_owner bigint;
    -- Who called: inside a SECURITY DEFINER function current_user is the owner, but SET ROLE (the
    -- setting "role") and the session user are still the caller's.
    caller name := CASE current_setting('role') WHEN 'none' THEN session_user ELSE current_setting('role')::name END;
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.segments s WHERE s.segment_id = add_segment_to_campaign.segment_id) THEN
        RAISE EXCEPTION 'segment % does not exist', add_segment_to_campaign.segment_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT c.owner_id INTO campaign_owner FROM @extschema@.campaigns c
    WHERE c.campaign_id = add_segment_to_campaign.campaign_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign % does not exist', add_segment_to_campaign.campaign_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The caller's right to the campaign, as the campaigns policies give it: admins any, managers
    -- their team's and the unowned ones.
    IF NOT pg_has_role(caller, 'crm_admin', 'USAGE') AND campaign_owner IS NOT NULL
       AND campaign_owner <> ALL (@extschema@.managed_user_ids(caller)) THEN
        RAISE EXCEPTION 'permission denied to add members to campaign %', add_segment_to_campaign.campaign_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The campaign belongs to a staff member outside your team.',
                  HINT = 'A manager adds members to the campaigns of their team and to unowned ones.';
    END IF;
    -- The members first, then consent over that list: on a distributed CRM (docs/citus.md) the
    -- consent history stays on the coordinator, and a consent check inside a statement Citus
    -- sends to the shards would read the workers' own, empty, history.
    SELECT coalesce(pg_catalog.array_agg(m.contact_id ORDER BY m.contact_id), '{}') INTO members
    FROM @extschema@.segment_members m
    WHERE m.segment_id = add_segment_to_campaign.segment_id;
    INSERT INTO @extschema@.campaign_members (campaign_id, contact_id)
    SELECT add_segment_to_campaign.campaign_id, c.contact_id
    FROM pg_catalog.unnest(members) AS c(contact_id)
    WHERE @extschema@.has_consent(c.contact_id, 'marketing_email'::@extschema@.consent_purpose, pg_catalog.now())
    ORDER BY c.contact_id
    ON CONFLICT ON CONSTRAINT campaign_members_pkey DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
END
$$;

