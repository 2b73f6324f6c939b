-- ---------------------------------------------------------------------------------------------
-- Analytics and triggers that also run on a distributed CRM (docs/citus.md, "Distributing the CRM
-- schema"): the same answers, written so that Citus can plan them. As in src/rfm.sql,
-- src/lead_scoring.sql, src/nps.sql, src/customer_360.sql and src/segments.sql.
CREATE OR REPLACE FUNCTION @extschema@.rfm_scores(as_of timestamptz DEFAULT now())
RETURNS TABLE (contact_id bigint, recency integer, frequency integer, monetary numeric, rfm @extschema@.rfm)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- PL/pgSQL, not SQL: Citus cannot plan an SQL function's parameterised queries over
    -- distributed tables (docs/citus.md, "Distributing the CRM schema").
    RETURN QUERY
    -- Purchases (crm.purchases: orders paid or shipped) before as_of.
    -- Recency and frequency take few distinct values: their "worse" counts come from a histogram
    -- of the values, joined back, rather than from sorting every customer; monetary is ranked.
    WITH purchases AS MATERIALIZED (
        SELECT o.contact_id,
               floor(extract(epoch FROM rfm_scores.as_of - max(o.ordered_at)) / 86400)::integer AS recency,
               count(*)::integer AS frequency,
               sum(o.total) AS monetary
        FROM @extschema@.purchases o
        WHERE o.ordered_at < rfm_scores.as_of
        GROUP BY o.contact_id
    ), customers AS (
        SELECT count(*) AS n FROM purchases
    ), recency_worse AS (
        SELECT h.recency, coalesce(sum(h.customers) OVER (ORDER BY h.recency DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS worse
        FROM (SELECT p.recency, count(*) AS customers FROM purchases p GROUP BY p.recency) h
    ), frequency_worse AS (
        SELECT h.frequency, coalesce(sum(h.customers) OVER (ORDER BY h.frequency ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS worse
        FROM (SELECT p.frequency, count(*) AS customers FROM purchases p GROUP BY p.frequency) h
    )
    -- bigint division: 5 * worse / n is floor(5 * worse / n)
    SELECT p.contact_id, p.recency, p.frequency, p.monetary,
           @extschema@.rfm((1 + 5 * r.worse / c.n)::integer,
                           (1 + 5 * f.worse / c.n)::integer,
                           (1 + 5 * (rank() OVER (ORDER BY p.monetary) - 1) / c.n)::integer)
    FROM purchases p
    CROSS JOIN customers c
    JOIN recency_worse r ON r.recency = p.recency
    JOIN frequency_worse f ON f.frequency = p.frequency;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_settings_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- on a distributed CRM (crm.distribute_schema) it fires on the table's Citus shards too,
    -- crm.lead_scoring_settings_<shard id> in the same schema
    IF TG_RELID <> '@extschema@.lead_scoring_settings'::pg_catalog.regclass
       AND (TG_TABLE_SCHEMA <> '@extschema@' OR TG_TABLE_NAME !~ '^lead_scoring_settings_[0-9]+$') THEN
        RAISE EXCEPTION 'trigger function lead_scoring_settings_guard() fires only on @extschema@.lead_scoring_settings, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF NEW.hot_threshold <= NEW.warm_threshold THEN
        RAISE EXCEPTION 'hot_threshold (%) must be greater than warm_threshold (%)',
            NEW.hot_threshold, NEW.warm_threshold USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.hot_threshold IN ('NaN', 'Infinity', '-Infinity') OR NEW.warm_threshold IN ('NaN', 'Infinity', '-Infinity')
       OR coalesce(NEW.total_cap, 0) IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'thresholds and total_cap must be finite numbers' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT NEW.nb_fields <@ ARRAY['source', 'need', 'industry', 'country', 'employee_band'] THEN
        RAISE EXCEPTION 'unknown naive Bayes field in %', NEW.nb_fields
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Choose among source, need, industry, country, employee_band.';
    END IF;
    IF NOT NEW.bant_needs <@ ARRAY['none', 'low', 'medium', 'high'] THEN
        RAISE EXCEPTION 'unknown need in bant_needs %', NEW.bant_needs USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF TG_OP = 'INSERT' AND EXISTS (SELECT FROM @extschema@.lead_scoring_settings) THEN
        UPDATE @extschema@.lead_scoring_settings
           SET total_cap = NEW.total_cap, hot_threshold = NEW.hot_threshold,
               warm_threshold = NEW.warm_threshold, assignment_team = NEW.assignment_team,
               bant_min_budget = NEW.bant_min_budget, bant_require_authority = NEW.bant_require_authority,
               bant_needs = NEW.bant_needs, bant_max_timeline = NEW.bant_max_timeline,
               nb_fields = NEW.nb_fields, updated_at = NEW.updated_at;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_scores(as_of timestamptz, lead_ids bigint[])
RETURNS TABLE (lead_id bigint, score numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
-- PL/pgSQL, with every join and grouping also by contact_id, so that it runs on a distributed CRM
-- (docs/citus.md): Citus plans no SQL function's parameterised queries over distributed tables,
-- and pushes joins of its tables down to the shards only on the distribution column. A lead
-- belongs to one contact, so the groups are the same. The settings row is joined (ON true: no row,
-- no cap), not read by a subquery in the select list, which Citus cannot run after an aggregate.
RETURN QUERY
SELECT l.lead_id,
       pg_catalog.round(LEAST(coalesce(sum(g.points), 0), max(t.total_cap)), 6)
FROM @extschema@.leads l
LEFT JOIN @extschema@.lead_scoring_settings t ON true
LEFT JOIN (
    SELECT p.contact_id, p.lead_id, LEAST(sum(p.points), grp.cap) AS points
    FROM (
        -- each lead's rows are read and turned into jsonb once, then every fit rule is tested on
        -- them: left to itself the planner joins the other way round and rescans the leads, and
        -- converts them again, once per rule (OFFSET 0 keeps both subqueries as written)
        SELECT subject.contact_id, subject.lead_id, r.group_id, r.points
        FROM (SELECT fl.contact_id, fl.lead_id, pg_catalog.to_jsonb(fl) AS lead_row, pg_catalog.to_jsonb(c) AS contact_row,
                     pg_catalog.to_jsonb(a) AS account_row
              FROM @extschema@.leads fl
              JOIN @extschema@.contacts c ON c.contact_id = fl.contact_id
              LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
              WHERE fl.lead_id = ANY (lead_scores.lead_ids) OFFSET 0) subject
        CROSS JOIN LATERAL (
            SELECT r.group_id, r.points
            FROM @extschema@.lead_scoring_rules r
            WHERE r.kind = 'fit' AND r.active
              AND @extschema@.lead_scoring_test(
                      CASE r.entity WHEN 'lead' THEN subject.lead_row
                                    WHEN 'contact' THEN subject.contact_row
                                    ELSE subject.account_row END ->> r.field,
                      r.operator, r.value, r.value_type)
            OFFSET 0) r
        UNION ALL
        SELECT e.contact_id, e.lead_id, r.group_id,
               r.points * @extschema@.lead_scoring_decay(lead_scores.as_of - e.occurred_at, coalesce(r.half_life, rg.half_life))
        FROM @extschema@.activities e
        JOIN @extschema@.lead_scoring_rules r
          ON r.kind = 'engagement' AND r.active AND r.activity_kind = e.kind
         AND (r.channel IS NULL OR r.channel = e.channel)
        JOIN @extschema@.lead_scoring_groups rg ON rg.group_id = r.group_id
        WHERE e.lead_id IS NOT NULL AND e.occurred_at <= lead_scores.as_of
          AND e.lead_id = ANY (lead_scores.lead_ids)
          AND (r.detail_key IS NULL
               OR @extschema@.lead_scoring_test(e.details ->> r.detail_key, r.detail_operator, r.detail_value, 'text'))
    ) p
    JOIN @extschema@.lead_scoring_groups grp ON grp.group_id = p.group_id
    GROUP BY p.contact_id, p.lead_id, grp.group_id
) g ON g.contact_id = l.contact_id AND g.lead_id = l.lead_id
WHERE l.lead_id = ANY (lead_scores.lead_ids)
GROUP BY l.contact_id, l.lead_id;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_rules_validate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    label text := pg_catalog.format('lead scoring rule %s (%s)', NEW.rule_id, pg_catalog.quote_literal(NEW.name));
    element text;
BEGIN
    -- on a distributed CRM (crm.distribute_schema) it fires on the table's Citus shards too,
    -- crm.lead_scoring_rules_<shard id> in the same schema
    IF TG_RELID <> '@extschema@.lead_scoring_rules'::pg_catalog.regclass
       AND (TG_TABLE_SCHEMA <> '@extschema@' OR TG_TABLE_NAME !~ '^lead_scoring_rules_[0-9]+$') THEN
        RAISE EXCEPTION 'trigger function lead_scoring_rules_validate() fires only on @extschema@.lead_scoring_rules, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF NEW.points IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION '%: points must be a finite number', label USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.half_life <= interval '0' THEN
        RAISE EXCEPTION '%: half_life must be positive', label USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.kind = 'fit' THEN
        IF num_nonnulls(NEW.activity_kind, NEW.channel, NEW.detail_key, NEW.detail_operator, NEW.detail_value, NEW.half_life) > 0 THEN
            RAISE EXCEPTION '%: a fit rule has no activity_kind, channel, details condition or half_life', label
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        BEGIN
            NEW.value_type := @extschema@.lead_scoring_field_type(NEW.entity, NEW.field);
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE EXCEPTION '%: %', label, SQLERRM USING ERRCODE = 'invalid_parameter_value';
        END;
        IF NEW.operator IS NULL OR NEW.operator NOT IN ('=', '<>', '<', '<=', '>', '>=', 'in', 'is null', 'is not null', 'ends_with', 'matches', 'like') THEN
            RAISE EXCEPTION '%: unknown operator %', label, coalesce(pg_catalog.quote_literal(NEW.operator), 'NULL')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Operators: = <> < <= > >= in, is null, is not null, ends_with, matches, like.';
        END IF;
        IF NEW.operator IN ('ends_with', 'matches', 'like') AND NEW.value_type <> 'text' THEN
            RAISE EXCEPTION '%: operator % applies to text fields only', label, NEW.operator USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF NEW.operator IN ('<', '<=', '>', '>=') AND NEW.value_type = 'boolean' THEN
            RAISE EXCEPTION '%: operator % does not apply to boolean fields', label, NEW.operator USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF NEW.operator IN ('is null', 'is not null') THEN
            IF NEW.value IS NOT NULL THEN
                RAISE EXCEPTION '%: operator % takes no value', label, NEW.operator USING ERRCODE = 'invalid_parameter_value';
            END IF;
        ELSIF NEW.value IS NULL THEN
            RAISE EXCEPTION '%: operator % needs a value', label, NEW.operator USING ERRCODE = 'invalid_parameter_value';
        ELSE
            BEGIN
                IF NEW.operator = 'matches' THEN
                    PERFORM '' ~* NEW.value;
                ELSIF NEW.operator = 'in' THEN
                    FOREACH element IN ARRAY NEW.value::text[] LOOP
                        PERFORM @extschema@.lead_scoring_compare(element, element, NEW.value_type);
                    END LOOP;
                ELSIF NEW.operator NOT IN ('ends_with', 'like') THEN
                    PERFORM @extschema@.lead_scoring_compare(NEW.value, NEW.value, NEW.value_type);
                END IF;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION '%: value % is not a valid % for %.% %', label, pg_catalog.quote_literal(NEW.value),
                    CASE WHEN NEW.operator = 'matches' THEN 'regular expression'
                         WHEN NEW.operator = 'in' THEN NEW.value_type || ' array (e.g. {a,b})'
                         ELSE NEW.value_type END,
                    NEW.entity, NEW.field, NEW.operator
                    USING ERRCODE = 'invalid_text_representation', DETAIL = SQLERRM;
            END;
        END IF;
    ELSE
        IF num_nonnulls(NEW.entity, NEW.field, NEW.operator, NEW.value) > 0 THEN
            RAISE EXCEPTION '%: an engagement rule has no entity, field, operator or value', label
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Test activity details with detail_key, detail_operator and detail_value.';
        END IF;
        IF NEW.activity_kind IS NULL THEN
            RAISE EXCEPTION '%: an engagement rule needs an activity_kind', label USING ERRCODE = 'invalid_parameter_value';
        END IF;
        NEW.value_type := NULL;
        IF NEW.detail_key IS NULL THEN
            IF NEW.detail_operator IS NOT NULL OR NEW.detail_value IS NOT NULL THEN
                RAISE EXCEPTION '%: detail_operator and detail_value need a detail_key', label USING ERRCODE = 'invalid_parameter_value';
            END IF;
        ELSIF NEW.detail_operator IS NULL OR NEW.detail_operator NOT IN ('=', '<>', 'like', 'ends_with', 'matches', 'is null', 'is not null') THEN
            RAISE EXCEPTION '%: unknown detail_operator %', label, coalesce(pg_catalog.quote_literal(NEW.detail_operator), 'NULL')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Detail operators: = <> like ends_with matches, is null, is not null.';
        ELSIF (NEW.detail_operator IN ('is null', 'is not null')) <> (NEW.detail_value IS NULL) THEN
            RAISE EXCEPTION '%: detail_operator % %', label, NEW.detail_operator,
                CASE WHEN NEW.detail_value IS NULL THEN 'needs a detail_value' ELSE 'takes no detail_value' END
                USING ERRCODE = 'invalid_parameter_value';
        ELSIF NEW.detail_operator = 'matches' THEN
            BEGIN
                PERFORM '' ~* NEW.detail_value;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION '%: detail_value % is not a valid regular expression', label, pg_catalog.quote_literal(NEW.detail_value)
                    USING ERRCODE = 'invalid_text_representation', DETAIL = SQLERRM;
            END;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_scoring_groups_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- on a distributed CRM (crm.distribute_schema) it fires on the table's Citus shards too,
    -- crm.lead_scoring_groups_<shard id> in the same schema
    IF TG_RELID <> '@extschema@.lead_scoring_groups'::pg_catalog.regclass
       AND (TG_TABLE_SCHEMA <> '@extschema@' OR TG_TABLE_NAME !~ '^lead_scoring_groups_[0-9]+$') THEN
        RAISE EXCEPTION 'trigger function lead_scoring_groups_validate() fires only on @extschema@.lead_scoring_groups, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF coalesce(NEW.cap, 0) IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'lead scoring group % (%): cap must be a finite number', NEW.group_id, pg_catalog.quote_literal(NEW.name)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.half_life <= interval '0' THEN
        RAISE EXCEPTION 'lead scoring group % (%): half_life must be positive', NEW.group_id, pg_catalog.quote_literal(NEW.name)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.lead_bant_qualify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- on a distributed CRM (crm.distribute_schema) it fires on the table's Citus shards too,
    -- crm.leads_<shard id> in the same schema
    IF TG_RELID <> '@extschema@.leads'::pg_catalog.regclass
       AND (TG_TABLE_SCHEMA <> '@extschema@' OR TG_TABLE_NAME !~ '^leads_[0-9]+$') THEN
        RAISE EXCEPTION 'trigger function lead_bant_qualify() fires only on @extschema@.leads, not on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'Only the triggers the extension creates may use it.';
    END IF;
    IF NEW.status IN ('new', 'contacted')
       AND @extschema@.lead_meets_bant(NEW.budget, NEW.authority, NEW.need, NEW.timeline) THEN
        NEW.status := 'qualified';
    END IF;
    IF NEW.status = 'qualified' AND NEW.qualified_at IS NULL THEN
        NEW.qualified_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
CREATE FUNCTION @extschema@.lead_nb_feature_values(source text, need text, industry text, country text,
                                                   employee_count integer, nb_fields text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT pg_catalog.jsonb_object_agg(f.field, f.value)
FROM (VALUES
    ('source', $1),
    ('need', $2),
    ('industry', $3),
    ('country', $4),
    ('employee_band', CASE WHEN $5 IS NULL THEN NULL
                           WHEN $5 <= 10 THEN '1-10'
                           WHEN $5 <= 50 THEN '11-50'
                           WHEN $5 <= 200 THEN '51-200'
                           WHEN $5 <= 1000 THEN '201-1000'
                           ELSE '1001+' END)) AS f(field, value)
WHERE f.field = ANY ($6)
$$;
COMMENT ON FUNCTION @extschema@.lead_nb_feature_values(text, text, text, text, integer, text[]) IS
    'The naive Bayes features named in nb_fields (source, need, industry, country, employee_band: 1-10, 11-50, 51-200, 201-1000, 1001+ from employee_count) as a jsonb object; NULL when none is named.';
CREATE OR REPLACE FUNCTION @extschema@.lead_nb_features(lead_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT @extschema@.lead_nb_feature_values(l.source, l.need, a.industry, coalesce(c.country, a.country),
                                          a.employee_count, s.nb_fields)
FROM @extschema@.leads l
JOIN @extschema@.contacts c ON c.contact_id = l.contact_id
LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
CROSS JOIN @extschema@.lead_scoring_settings s
WHERE l.lead_id = lead_nb_features.lead_id
$$;
CREATE OR REPLACE FUNCTION @extschema@.rebuild_lead_nb_counts() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    observed bigint;
BEGIN
    LOCK TABLE @extschema@.lead_nb_observations, @extschema@.lead_nb_counts IN EXCLUSIVE MODE;
    DELETE FROM @extschema@.lead_nb_observations;
    DELETE FROM @extschema@.lead_nb_counts;
    -- one query, not crm.lead_nb_features per lead: it also runs on a distributed CRM
    INSERT INTO @extschema@.lead_nb_observations (lead_id, won, features)
    SELECT l.lead_id, l.status = 'won',
           coalesce(@extschema@.lead_nb_feature_values(l.source, l.need, a.industry, coalesce(c.country, a.country),
                                                       a.employee_count, s.nb_fields), '{}')
    FROM @extschema@.leads l
    JOIN @extschema@.contacts c ON c.contact_id = l.contact_id
    LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
    LEFT JOIN @extschema@.lead_scoring_settings s ON true
    WHERE l.status IN ('won', 'lost');
    GET DIAGNOSTICS observed = ROW_COUNT;
    INSERT INTO @extschema@.lead_nb_counts (field, value, won, lost)
    SELECT f.key, f.value, count(*) FILTER (WHERE o.won), count(*) FILTER (WHERE NOT o.won)
    FROM @extschema@.lead_nb_observations o,
         LATERAL (SELECT '*' AS key, NULL::text AS value
                  UNION ALL SELECT key, value FROM jsonb_each_text(o.features)) f
    GROUP BY f.key, f.value;
    RETURN observed;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.open_detractor_tasks(response_ids bigint[]) RETURNS SETOF bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- the answers already followed up, read first: on a distributed CRM (docs/citus.md) crm.tasks
    -- stays on the coordinator, and Citus joins no such table with distributed ones
    followed bigint[] := ARRAY(SELECT t.response_id FROM @extschema@.tasks t
                               WHERE t.response_id = ANY (open_detractor_tasks.response_ids));
BEGIN
    RETURN QUERY
    INSERT INTO @extschema@.tasks (title, description, due_at, assignee_id, priority, contact_id, response_id)
    SELECT pg_catalog.format('Follow up NPS detractor (score %s)', r.score),
           COALESCE('Their comment: ' || r.comment, 'No comment given.'),
           r.responded_at + interval '2 days',
           COALESCE(c.owner_id, a.owner_id),
           CASE WHEN r.score <= 3 THEN 'high' ELSE 'normal' END,
           r.contact_id, r.response_id
    FROM @extschema@.survey_responses r
    JOIN @extschema@.contacts c ON c.contact_id = r.contact_id
    LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
    WHERE r.response_id = ANY (open_detractor_tasks.response_ids)
      AND r.kind = 'nps' AND r.score <= 6
      AND NOT (r.response_id = ANY (followed))
    ORDER BY r.response_id
    RETURNING task_id;
END
$$;
CREATE OR REPLACE FUNCTION @extschema@.refresh_segment(segment_id bigint)
RETURNS TABLE (members bigint, joined bigint, departed bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    condition text;
    matching bigint[];
    departing bigint[];
    joining bigint[];
    refresh_time timestamptz := now();
BEGIN
    -- one refresh of a segment at a time: two would both insert the same new members
    PERFORM FROM @extschema@.segments s WHERE s.segment_id = refresh_segment.segment_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment % does not exist', refresh_segment.segment_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    condition := @extschema@.segment_condition(refresh_segment.segment_id);
    -- first: on a distributed CRM, Citus allows no change to a reference table (segments) after
    -- a parallel one to a distributed table in the same transaction
    UPDATE @extschema@.segments s SET refreshed_at = refresh_time WHERE s.segment_id = refresh_segment.segment_id;

    -- One statement per step, each reading or writing one table (with the contacts' ids passed
    -- as arrays): Citus runs these on a distributed CRM, not one statement of data-modifying
    -- CTEs joined with crm.customer_360 (docs/citus.md). Every operator and function in the
    -- statement is named with its schema (the condition's too).
    EXECUTE format($query$
        SELECT coalesce(pg_catalog.array_agg(c.contact_id), '{}') FROM @extschema@.customer_360 c WHERE %s
        $query$, condition)
    INTO matching;
    departing := ARRAY(
        SELECT m.contact_id FROM @extschema@.segment_members m
        WHERE m.segment_id OPERATOR(pg_catalog.=) refresh_segment.segment_id
          AND NOT (m.contact_id OPERATOR(pg_catalog.=) ANY (matching)));
    DELETE FROM @extschema@.segment_members m
    WHERE m.segment_id OPERATOR(pg_catalog.=) refresh_segment.segment_id
      AND m.contact_id OPERATOR(pg_catalog.=) ANY (departing);
    UPDATE @extschema@.segment_membership_history h SET left_at = refresh_time
    WHERE h.segment_id OPERATOR(pg_catalog.=) refresh_segment.segment_id
      AND h.contact_id OPERATOR(pg_catalog.=) ANY (departing)
      AND h.left_at IS NULL;
    GET DIAGNOSTICS departed = ROW_COUNT;
    -- in contact order, so the history's ids do not depend on the plan (a set operation's order)
    joining := ARRAY(
        SELECT j.contact_id FROM (
            SELECT x.contact_id FROM pg_catalog.unnest(matching) AS x(contact_id)
            EXCEPT
            SELECT m.contact_id FROM @extschema@.segment_members m
            WHERE m.segment_id OPERATOR(pg_catalog.=) refresh_segment.segment_id) j
        ORDER BY j.contact_id);
    INSERT INTO @extschema@.segment_members (segment_id, contact_id, entered_at)
    SELECT refresh_segment.segment_id, x.contact_id, refresh_time FROM pg_catalog.unnest(joining) AS x(contact_id);
    INSERT INTO @extschema@.segment_membership_history (segment_id, contact_id, entered_at)
    SELECT refresh_segment.segment_id, x.contact_id, refresh_time FROM pg_catalog.unnest(joining) AS x(contact_id);

    members := pg_catalog.cardinality(matching);
    joined := pg_catalog.cardinality(joining);
    RETURN NEXT;
END
$$;
CREATE OR REPLACE VIEW @extschema@.survey_scores_monthly WITH (security_invoker = true) AS
SELECT answer.month,
       answer.account_id,
       answer.all_accounts,
       COALESCE(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps'),
                '(0,0,0,0,0,0,0,0,0,0,0)'::@extschema@.nps_summary) AS nps_summary,
       @extschema@.nps(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps')) AS nps,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'nps') AS nps_responses,
       @extschema@.nps_moe(@extschema@.nps_agg(answer.score) FILTER (WHERE answer.kind = 'nps')) AS nps_moe,
       @extschema@.csat(answer.score) FILTER (WHERE answer.kind = 'csat') AS csat,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'csat') AS csat_responses,
       @extschema@.ces(answer.score) FILTER (WHERE answer.kind = 'ces') AS ces,
       pg_catalog.count(*) FILTER (WHERE answer.kind = 'ces') AS ces_responses
FROM (SELECT pg_catalog.date_trunc('month', r.responded_at)::date AS month, g.account_id, g.all_accounts, r.kind, r.score
      FROM @extschema@.survey_responses r
      JOIN @extschema@.contacts c ON c.contact_id = r.contact_id
      -- each answer counts for its account and for the month's total: the grouping sets
      -- (month, account) and (month), written without GROUPING SETS, which Citus cannot run
      -- on distributed tables (docs/citus.md)
      CROSS JOIN LATERAL (VALUES (c.account_id, false), (NULL, true)) AS g(account_id, all_accounts)) answer
GROUP BY answer.month, answer.account_id, answer.all_accounts;
CREATE OR REPLACE VIEW @extschema@.customer_360 WITH (security_invoker = true) AS
SELECT c.contact_id,
       c.first_name,
       c.last_name,
       c.email,
       c.country,
       c.title,
       c.created_at,
       c.account_id,
       a.name AS account_name,
       c.owner_id,
       u.full_name AS owner_name,
       c.lifecycle_stage,
       c.marketing_consent,
       coalesce(o.orders, 0) AS orders,
       coalesce(o.total_spent, 0) AS total_spent,
       o.first_order_at,
       o.last_order_at,
       r.as_of AS rfm_as_of,
       r.rfm,
       @extschema@.recency_score(r.rfm) AS recency_score,
       @extschema@.frequency_score(r.rfm) AS frequency_score,
       @extschema@.monetary_score(r.rfm) AS monetary_score,
       r.segment AS rfm_segment,
       coalesce(t.open_tickets, 0) AS open_tickets,
       n.score AS nps_score,
       n.responded_at AS nps_responded_at,
       act.last_activity_at,
       act.last_email_at,
       act.last_phone_at,
       act.last_meeting_at,
       act.last_chat_at,
       act.last_social_at,
       act.last_web_at,
       act.last_sms_at,
       l.lead_score,
       l.lead_grade,
       v.p_alive,
       v.expected_purchases_90d,
       v.clv_12m
FROM @extschema@.contacts c
LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
LEFT JOIN @extschema@.users u ON u.user_id = c.owner_id
LEFT JOIN @extschema@.customer_order_stats o ON o.contact_id = c.contact_id
LEFT JOIN (
    SELECT h.contact_id, h.as_of, h.rfm, h.segment
    FROM @extschema@.rfm_history h
    WHERE h.as_of = (SELECT max(latest.as_of) FROM @extschema@.rfm_history latest)
) r ON r.contact_id = c.contact_id
LEFT JOIN (
    SELECT tk.contact_id, count(*) AS open_tickets
    FROM @extschema@.tickets tk
    WHERE tk.status NOT IN ('resolved', 'closed')
    GROUP BY tk.contact_id
) t ON t.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (s.contact_id) s.contact_id, s.score, s.responded_at
    FROM @extschema@.survey_responses s
    WHERE s.kind = 'nps'
    ORDER BY s.contact_id, s.responded_at DESC, s.response_id DESC
) n ON n.contact_id = c.contact_id
LEFT JOIN (
    SELECT ac.contact_id,
           max(ac.occurred_at) AS last_activity_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'email') AS last_email_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'phone') AS last_phone_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'meeting') AS last_meeting_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'chat') AS last_chat_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'social') AS last_social_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'web') AS last_web_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'sms') AS last_sms_at
    FROM @extschema@.activities ac
    GROUP BY ac.contact_id
) act ON act.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (ld.contact_id) ld.contact_id, ld.score AS lead_score, ld.grade AS lead_grade
    FROM @extschema@.leads ld
    ORDER BY ld.contact_id, ld.score DESC, ld.lead_id DESC
) l ON l.contact_id = c.contact_id
-- CLV from the latest stored model (crm.fit_clv_models), from each contact's own purchases: one
-- summary per contact, grouped by contact, so a query for a few contacts still reads only theirs
-- (the contact condition reaches the grouped purchases) and Citus runs it on the shards (it
-- cannot run an aggregate in a lateral subquery correlated with the contact, docs/citus.md).
LEFT JOIN (
    SELECT s.contact_id,
           @extschema@.bgnbd_p_alive(s.bgnbd, (s.summary).x, (s.summary).t_x, (s.summary).big_t) AS p_alive,
           @extschema@.bgnbd_expected_purchases(s.bgnbd, 90 / s.time_unit_days, (s.summary).x, (s.summary).t_x, (s.summary).big_t) AS expected_purchases_90d,
           CASE WHEN s.gammagamma IS NOT NULL
                THEN @extschema@.clv(s.bgnbd, s.gammagamma, (s.summary).x, (s.summary).t_x, (s.summary).big_t, (s.summary).m, 12, 0.01, 30.4375 / s.time_unit_days)
           END AS clv_12m
    FROM (SELECT o.contact_id, m.bgnbd, m.gammagamma, m.time_unit_days,
                 @extschema@.clv_summary(o.ordered_at, o.total::double precision, now(), m.time_unit_days) AS summary
          FROM @extschema@.purchases o
          CROSS JOIN (SELECT cm.bgnbd, cm.gammagamma, cm.time_unit_days FROM @extschema@.clv_models cm
                      ORDER BY cm.fitted_at DESC, cm.model_id DESC LIMIT 1) m
          WHERE o.ordered_at <= now()
          GROUP BY o.contact_id, m.bgnbd, m.gammagamma, m.time_unit_days) s
    WHERE (s.summary).x IS NOT NULL
) v ON v.contact_id = c.contact_id;
