-- src/demo/lead_scoring.sql: the demo data hook of src/lead_scoring.sql (extension crm_demo).

-- Demo data hook (called by crm.generate_demo_data with triggers off)
CREATE FUNCTION @extschema@.generate_demo_lead_scoring(seed integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    fit_group integer;
    engagement_group integer;
    negative_group integer;
BEGIN
    INSERT INTO @extschema@.lead_scoring_groups (name, cap, half_life)
    VALUES ('Fit', 60, NULL) RETURNING group_id INTO fit_group;
    INSERT INTO @extschema@.lead_scoring_groups (name, cap, half_life)
    VALUES ('Engagement', 80, interval '30 days') RETURNING group_id INTO engagement_group;
    INSERT INTO @extschema@.lead_scoring_groups (name, cap, half_life)
    VALUES ('Disqualifiers', NULL, NULL) RETURNING group_id INTO negative_group;

    INSERT INTO @extschema@.lead_scoring_rules
        (group_id, name, kind, entity, field, operator, value, value_type, points)
    VALUES
        (fit_group, 'Software industry', 'fit', 'account', 'industry', 'in', '{Software,Technology,SaaS}', 'text', 20),
        (fit_group, 'Company of 200+', 'fit', 'account', 'employee_count', '>=', '200', 'numeric', 15),
        (fit_group, 'Budget of 10k+', 'fit', 'lead', 'budget', '>=', '10000', 'numeric', 10),
        (fit_group, 'Decision maker', 'fit', 'lead', 'authority', '=', 'true', 'boolean', 10),
        (fit_group, 'Referral or partner', 'fit', 'lead', 'source', 'in', '{referral,partner}', 'text', 10),
        (negative_group, 'Free-mail address', 'fit', 'contact', 'email', 'matches', '@(gmail|yahoo|hotmail|outlook)\.', 'text', -5);
    INSERT INTO @extschema@.lead_scoring_rules
        (group_id, name, kind, activity_kind, channel, detail_key, detail_operator, detail_value, half_life, points)
    VALUES
        (engagement_group, 'Email open', 'engagement', 'email_open', NULL, NULL, NULL, NULL, NULL, 2),
        (engagement_group, 'Email click', 'engagement', 'email_click', NULL, NULL, NULL, NULL, NULL, 4),
        (engagement_group, 'Form submitted', 'engagement', 'form_submit', NULL, NULL, NULL, NULL, NULL, 10),
        (engagement_group, 'Pricing page', 'engagement', 'page_view', NULL, 'url', 'like', '%/pricing%', NULL, 15),
        (engagement_group, 'Meeting', 'engagement', 'meeting', NULL, NULL, NULL, NULL, interval '90 days', 12),
        (engagement_group, 'Webinar', 'engagement', 'webinar_attended', NULL, NULL, NULL, NULL, NULL, 8);
    -- as of the transaction's start, not the clock: the same seed must give the same rows
    PERFORM @extschema@.lead_scoring_store(ARRAY(SELECT lead_id FROM @extschema@.leads), now());
    PERFORM @extschema@.rebuild_lead_nb_counts();
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_lead_scoring(integer) IS
    'Demo data hook: inserts example scoring groups and rules, rescores every lead and recounts the naive Bayes counts (the demo generator runs with triggers off).';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_lead_scoring(integer) FROM PUBLIC;
