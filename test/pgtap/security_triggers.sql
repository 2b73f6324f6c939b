-- pgTAP: the extension's trigger functions, the history tables and lead scoring against staff who
-- try to use them for what they are not meant for. West team: manager Mia, rep Ana. East: rep Bob.
-- Support: Sam. Analyst: Al. Roles switched with SET ROLE, as in test/pgtap/security.sql.
BEGIN;
SELECT plan(60);

CREATE ROLE st_mia; CREATE ROLE st_ana; CREATE ROLE st_bob; CREATE ROLE st_sam; CREATE ROLE st_al;
GRANT crm_manager TO st_mia; GRANT crm_sales TO st_ana, st_bob; GRANT crm_support TO st_sam; GRANT crm_analyst TO st_al;
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team, manager_id) VALUES
    (921, 'st_mia', 'Mia', 'mia@st.example', 'manager', 'west', NULL),
    (922, 'st_ana', 'Ana', 'ana@st.example', 'sales', 'west', 921),
    (924, 'st_bob', 'Bob', 'bob@st.example', 'sales', 'east', NULL),
    (925, 'st_sam', 'Sam', 'sam@st.example', 'support', 'care', NULL),
    (926, 'st_al', 'Al', 'al@st.example', 'analyst', NULL, NULL);
INSERT INTO crm.accounts (account_id, name, owner_id) VALUES (921, 'Acme', 922);
INSERT INTO crm.contacts (contact_id, account_id, first_name, owner_id) VALUES
    (921, 921, 'Ana-1', 922), (924, NULL, 'Bob-1', 924), (925, NULL, 'Nobody', NULL);
INSERT INTO crm.leads (lead_id, contact_id, source, owner_id) VALUES
    (921, 921, 'web', 922), (923, 924, 'referral', 924), (925, 925, 'web', NULL);
INSERT INTO crm.opportunities (opportunity_id, name, contact_id, amount, stage_id, owner_id) VALUES
    (921, 'Ana deal', 921, 1000, 2, 922), (922, 'Bob deal', 924, 2000, 3, 924);
-- Scoring: a form submitted is worth 10 points for good; an email opened 5, halving every 30 days.
DELETE FROM crm.lead_scoring_rules;
DELETE FROM crm.lead_scoring_groups;
INSERT INTO crm.lead_scoring_groups (group_id, name, cap, half_life) VALUES
    (921, 'Forms', NULL, NULL), (922, 'Emails', NULL, interval '30 days');
INSERT INTO crm.lead_scoring_rules (group_id, name, kind, activity_kind, points) VALUES
    (921, 'Form', 'engagement', 'form_submit', 10), (922, 'Open', 'engagement', 'email_open', 5);
UPDATE crm.lead_scoring_settings SET assignment_team = 'west';
INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind) VALUES (924, NULL, 924, 'phone', 'call');

-- ---------------------------------------------------------------------------------------------
-- Finding 2: trigger functions are not for everyone.
CREATE TEMP TABLE own_trigger_functions (name text PRIMARY KEY, own_table text NOT NULL);
INSERT INTO own_trigger_functions VALUES
    ('lead_scoring_settings_guard', 'lead_scoring_settings'), ('lead_scoring_rules_validate', 'lead_scoring_rules'),
    ('lead_scoring_groups_validate', 'lead_scoring_groups'), ('lead_scoring_activities_inserted', 'activities'),
    ('lead_scoring_activities_changed', 'activities'), ('lead_scoring_leads_inserted', 'leads'),
    ('lead_scoring_lead_updated', 'leads'), ('lead_scoring_contacts_updated', 'contacts'),
    ('lead_scoring_accounts_updated', 'accounts'), ('lead_scoring_rules_changed', 'lead_scoring_rules'),
    ('lead_scoring_model_changed', 'lead_scoring_groups'), ('lead_scoring_became_hot', 'leads'),
    ('lead_bant_qualify', 'leads'), ('lead_status_record', 'leads'), ('lead_nb_closed', 'leads'),
    ('record_stage_change', 'opportunities');
GRANT SELECT ON own_trigger_functions TO PUBLIC;

SELECT is((SELECT count(*)::int FROM pg_proc p JOIN own_trigger_functions f ON p.proname = f.name
           WHERE p.pronamespace = 'crm'::regnamespace AND p.prorettype = 'trigger'::regtype),
          16, 'the list below names 16 trigger functions of crm');
SELECT is_empty($$
    SELECT p.proname FROM pg_proc p JOIN own_trigger_functions f ON p.proname = f.name,
           aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    WHERE p.pronamespace = 'crm'::regnamespace AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'$$,
    'no lead scoring or stage history trigger function is executable by PUBLIC');
SELECT is_empty($$
    SELECT r.rolname, f.name FROM own_trigger_functions f,
           unnest(ARRAY['crm_admin', 'crm_manager', 'crm_sales', 'crm_support', 'crm_analyst']) r(rolname)
    WHERE has_function_privilege(r.rolname, ('crm.' || f.name || '()')::regprocedure, 'EXECUTE')$$,
    'no crm_ role may execute them either');

-- The exact attack: a rep attaches lead_scoring_became_hot to her own temporary table and feeds it
-- another rep's lead with no owner, so that round-robin assignment hands the lead to her team.
SET ROLE st_ana;
CREATE TEMP TABLE t_hot (lead_id bigint, owner_id bigint, score numeric);
SELECT throws_ok($$CREATE TRIGGER steal AFTER INSERT ON t_hot FOR EACH ROW EXECUTE FUNCTION crm.lead_scoring_became_hot()$$,
                 '42501', 'permission denied for function crm.lead_scoring_became_hot',
                 'a rep cannot attach lead_scoring_became_hot to her own table');
INSERT INTO t_hot VALUES (923, NULL, 0);
RESET ROLE;
SELECT is((SELECT owner_id FROM crm.leads WHERE lead_id = 923), 924::bigint, 'Bob keeps his lead');

-- Every other trigger function: no rep, no analyst attaches one to a table of their own.
CREATE FUNCTION pg_temp.attach_all() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT name FROM own_trigger_functions ORDER BY name LOOP
        BEGIN
            EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON t_mine FOR EACH ROW EXECUTE FUNCTION crm.%I()',
                           'try_' || f.name, f.name);
            RETURN NEXT f.name || ': attached';
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.attach_all() TO PUBLIC;
SET ROLE st_ana;
CREATE TEMP TABLE t_mine (lead_id bigint, owner_id bigint, score numeric, status text);
SELECT is_empty('SELECT * FROM pg_temp.attach_all()', 'a rep attaches none of the 16 trigger functions (42501 for each)');
DROP TABLE t_mine;
RESET ROLE;
SET ROLE st_al;
CREATE TEMP TABLE t_mine (lead_id bigint, owner_id bigint, score numeric, status text);
SELECT is_empty('SELECT * FROM pg_temp.attach_all()', 'the analyst attaches none of them (no status history, rescoring or naive Bayes counts)');
SELECT throws_ok($$CREATE TRIGGER rescore AFTER INSERT ON t_mine FOR EACH STATEMENT EXECUTE FUNCTION crm.lead_scoring_rules_changed()$$,
                 '42501', NULL, 'the analyst cannot attach lead_scoring_rules_changed (a full rescoring under LOCK crm.leads)');
SELECT throws_ok($$CREATE TRIGGER status AFTER INSERT ON t_mine FOR EACH ROW EXECUTE FUNCTION crm.lead_status_record()$$,
                 '42501', NULL, 'the analyst cannot attach lead_status_record');
SELECT throws_ok($$CREATE TRIGGER nb AFTER INSERT ON t_mine FOR EACH ROW EXECUTE FUNCTION crm.lead_nb_closed()$$,
                 '42501', NULL, 'the analyst cannot attach lead_nb_closed');
DROP TABLE t_mine;
RESET ROLE;

-- Defence in depth: even attached by a superuser (who may execute anything), each function refuses
-- to run on any table but its own.
CREATE FUNCTION pg_temp.fire_elsewhere(function_name text, like_table text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
BEGIN
    EXECUTE format('CREATE TEMP TABLE %I (LIKE crm.%I)', 'elsewhere_' || function_name, like_table);
    EXECUTE format('CREATE TRIGGER t AFTER INSERT ON %I FOR EACH ROW EXECUTE FUNCTION crm.%I()',
                   'elsewhere_' || function_name, function_name);
    BEGIN
        EXECUTE format('INSERT INTO %I SELECT * FROM crm.%I LIMIT 1', 'elsewhere_' || function_name, like_table);
        state := 'ran';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
        IF state = '42501' AND message NOT LIKE '%fires only on%' THEN
            state := 'other 42501: ' || message;
        END IF;
    END;
    EXECUTE format('DROP TABLE %I', 'elsewhere_' || function_name);
    RETURN state;
END
$$;
SELECT is((SELECT string_agg(name || ': ' || pg_temp.fire_elsewhere(name, own_table), ', ' ORDER BY name) FROM own_trigger_functions),
          (SELECT string_agg(name || ': 42501', ', ' ORDER BY name) FROM own_trigger_functions),
          'every one of the 16 raises 42501 ("fires only on ...") on a table not its own');

-- Revoking EXECUTE does not stop the extension's triggers: CREATE TRIGGER checks the privilege,
-- firing does not.
SELECT ok(NOT has_function_privilege('st_ana', 'crm.lead_scoring_activities_inserted()', 'EXECUTE')
          AND NOT has_function_privilege('st_ana', 'crm.record_stage_change()', 'EXECUTE'),
          'Ana may not execute the scoring or stage history trigger functions');
SET ROLE st_ana;
SELECT lives_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind) VALUES (921, 921, 922, 'web', 'form_submit')$$,
                'Ana logs a form on her lead');
SELECT is((SELECT score FROM crm.leads WHERE lead_id = 921), 10::numeric, 'the scoring trigger fired for her: 10 points');
SELECT lives_ok($$UPDATE crm.opportunities SET stage_id = 3 WHERE opportunity_id = 921$$, 'Ana moves her deal from 2 to 3');
RESET ROLE;
SELECT is((SELECT concat_ws(' ', from_stage_id, to_stage_id, changed_by, changed_by_role) FROM crm.opportunity_stage_history
            WHERE opportunity_id = 921 ORDER BY history_id DESC LIMIT 1),
          '2 3 922 st_ana',
                  'the stage trigger fired for her and names her (current_user and her crm.users row)');

-- ---------------------------------------------------------------------------------------------
-- Finding 3: only the extension's trigger writes history.
CREATE FUNCTION pg_temp.forge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crm.opportunity_stage_history (opportunity_id, from_stage_id, to_stage_id, changed_at, changed_by, changed_by_role)
    VALUES (NEW.opportunity_id, 5, 6, '2020-01-01', crm.current_user_id(), current_user);
    RETURN NULL;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.forge() TO PUBLIC;
SET ROLE st_ana;
CREATE TEMP TABLE t_forge (opportunity_id bigint);
CREATE TRIGGER forge AFTER INSERT ON t_forge FOR EACH ROW EXECUTE FUNCTION pg_temp.forge();
SELECT throws_ok($$INSERT INTO t_forge VALUES (922)$$, '42501', NULL,
                 'a rep''s own trigger cannot write a backdated "closed won" on another rep''s deal');
SELECT throws_ok($$INSERT INTO t_forge VALUES (921)$$, '42501', NULL, 'nor on her own deal');
SELECT throws_ok($$INSERT INTO crm.opportunity_stage_history (opportunity_id, from_stage_id, to_stage_id, changed_by)
                   VALUES (921, 3, 6, 922)$$, '42501', NULL, 'nor by hand');
DROP TABLE t_forge;
RESET ROLE;
SELECT is((SELECT count(*)::int FROM crm.opportunity_stage_history WHERE opportunity_id IN (921, 922) AND to_stage_id = 6), 0,
          'no closed won was recorded');
SET ROLE st_mia;
SELECT throws_ok($$INSERT INTO crm.opportunity_stage_history (opportunity_id, from_stage_id, to_stage_id, changed_by)
                   VALUES (921, 3, 6, 921)$$, '42501', NULL, 'a manager cannot write stage history either');
SELECT throws_ok($$INSERT INTO crm.lead_status_history (lead_id, to_status) VALUES (921, 'won')$$, '42501', NULL,
                 'a manager cannot write lead status history');
SELECT throws_ok($$DELETE FROM crm.lead_status_history$$, '42501', NULL, 'nor delete it');
SELECT throws_ok($$INSERT INTO crm.lead_nb_counts (field, value, won) VALUES ('source', 'web', 100)$$, '42501', NULL,
                 'a manager cannot write naive Bayes counts');
SELECT throws_ok($$DELETE FROM crm.lead_nb_counts$$, '42501', NULL, 'nor delete them');
SELECT throws_ok($$INSERT INTO crm.lead_nb_observations (lead_id, won, features) VALUES (921, true, '{}')$$, '42501', NULL,
                 'a manager cannot write naive Bayes observations');
SELECT throws_ok($$DELETE FROM crm.lead_nb_observations$$, '42501', NULL, 'nor delete them');
RESET ROLE;
SELECT is_empty($$
    SELECT r.rolname, t.name, p.privilege FROM
        unnest(ARRAY['crm_manager', 'crm_sales', 'crm_support', 'crm_analyst']) r(rolname),
        unnest(ARRAY['opportunity_stage_history', 'lead_status_history', 'lead_nb_counts', 'lead_nb_observations']) t(name),
        unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p(privilege)
    WHERE has_table_privilege(r.rolname, ('crm.' || t.name)::regclass, p.privilege)$$,
    'no staff role but crm_admin may write any history or naive Bayes table');
SELECT policies_are('crm', 'opportunity_stage_history', ARRAY['admin_read', 'read_visible_deals'],
                    'the stage history has no insert policy left');
SET ROLE st_ana;
SELECT is((SELECT count(*)::int FROM crm.opportunity_stage_history WHERE opportunity_id IN (921, 922)), 2,
          'Ana still reads the history of her deal (creation and her move), not Bob''s');
RESET ROLE;

-- ---------------------------------------------------------------------------------------------
-- Finding 6: activities only on what the writer may see.
SET ROLE st_ana;
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind)
                   SELECT 921, 923, 922, 'web', 'form_submit' FROM generate_series(1, 20)$$, '42501', NULL,
                 'Ana cannot log 20 forms on Bob''s lead, even with her own contact');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind) VALUES (924, 923, 922, 'web', 'form_submit')$$,
                 '42501', NULL, 'nor with Bob''s contact');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, owner_id, channel, kind) VALUES (924, 922, 'phone', 'call')$$,
                 '42501', NULL, 'nor log anything on Bob''s contact');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind) VALUES (925, 925, 922, 'web', 'form_submit')$$,
                 '42501', NULL, 'nor on an unowned lead (a rep owns what she logs on)');
SELECT throws_ok($$UPDATE crm.activities SET lead_id = 923 WHERE lead_id = 921$$, '42501', NULL,
                 'nor move her activity onto Bob''s lead');
RESET ROLE;
SELECT is((SELECT concat_ws(' ', score::float8, grade, owner_id) FROM crm.leads WHERE lead_id = 923), '0 cold 924',
                  'Bob''s lead is still cold at 0, and his');
SET ROLE st_mia;
SELECT lives_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind) VALUES (921, 921, 921, 'web', 'form_submit')$$,
                'Mia logs a form on her rep''s lead');
SELECT lives_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind) VALUES (925, 925, NULL, 'web', 'email_open')$$,
                'Mia logs an unowned activity on an unowned lead');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind) VALUES (924, 923, 921, 'web', 'form_submit')$$,
                 '42501', NULL, 'Mia cannot log on the east team''s lead');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind) VALUES (921, 923, 921, 'web', 'form_submit')$$,
                 '42501', NULL, 'even with a contact of her team');
RESET ROLE;
SELECT is((SELECT score FROM crm.leads WHERE lead_id = 921), 20::numeric, 'Ana''s lead: her form and Mia''s, 20 points');

-- ---------------------------------------------------------------------------------------------
-- Finding 13b: lead scores for those who may see the lead.
SET ROLE st_sam;
SELECT throws_ok($$SELECT crm.lead_score_of_visible(923, now())$$, '42501', NULL, 'support, who sees no leads, gets no score');
RESET ROLE;
SET ROLE st_ana;
SELECT is(crm.lead_score_of_visible(923, now()), NULL, 'Ana gets no score for Bob''s lead');
SELECT is(crm.lead_score_of_visible(921, now()), 20::numeric,
          'Ana gets her lead''s score, Mia''s activity (invisible to her) included');
SELECT is(crm.lead_score(921), 20::numeric, 'crm.lead_score agrees');
SELECT is(crm.lead_score(923), NULL, 'and gives nothing for Bob''s lead');
RESET ROLE;
SET ROLE st_al;
SELECT is(crm.lead_score_of_visible(921, now()), 20::numeric, 'the analyst, who sees every lead, gets any score');
RESET ROLE;
SELECT ok(NOT has_function_privilege('crm_support', 'crm.lead_score_of_visible(bigint, timestamptz)', 'EXECUTE')
          AND has_function_privilege('crm_sales', 'crm.lead_score_of_visible(bigint, timestamptz)', 'EXECUTE'),
          'lead_score_of_visible: granted to the roles that see leads, not to support');
SELECT is(crm.lead_score_of_visible(NULL, now()), NULL, 'a NULL lead id gives NULL');

-- ---------------------------------------------------------------------------------------------
-- Finding 11: history is stamped with the time of the change, so changes chain in order.
SET ROLE st_ana;
UPDATE crm.opportunities SET stage_id = 4 WHERE opportunity_id = 921;
UPDATE crm.opportunities SET stage_id = 5 WHERE opportunity_id = 921;
UPDATE crm.leads SET status = 'contacted' WHERE lead_id = 921;
UPDATE crm.leads SET status = 'unqualified' WHERE lead_id = 921;
RESET ROLE;
SELECT ok((SELECT bool_and(changed_at > now()) FROM crm.opportunity_stage_history WHERE opportunity_id = 921 AND to_stage_id IN (4, 5)),
          'stage changes are stamped when they happen, not at the transaction''s start');
SELECT ok((SELECT max(changed_at) FILTER (WHERE to_stage_id = 4) < max(changed_at) FILTER (WHERE to_stage_id = 5)
           FROM crm.opportunity_stage_history WHERE opportunity_id = 921),
          '3 -> 4 is stamped before 4 -> 5 in the same transaction');
SELECT ok((SELECT max(changed_at) FILTER (WHERE to_status = 'contacted') < max(changed_at) FILTER (WHERE to_status = 'unqualified')
                  AND min(changed_at) FILTER (WHERE to_status = 'contacted') > now()
           FROM crm.lead_status_history WHERE lead_id = 921),
          'lead status changes too');
SELECT ok((SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'crm.opportunity_stage_history'::regclass
           AND adnum = (SELECT attnum FROM pg_attribute WHERE attrelid = adrelid AND attname = 'changed_at')) = 'clock_timestamp()'
          AND (SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'crm.lead_status_history'::regclass
           AND adnum = (SELECT attnum FROM pg_attribute WHERE attrelid = adrelid AND attname = 'changed_at')) = 'clock_timestamp()',
          'both histories default changed_at to clock_timestamp()');

-- ---------------------------------------------------------------------------------------------
-- Finding 12b: activities happen at a finite time.
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind, occurred_at)
                   VALUES (921, 921, 922, 'email', 'email_open', '-infinity')$$,
                 '23514', 'new row for relation "activities" violates check constraint "activities_occurred_at_finite"',
                 'an activity at -infinity on a lead: a named check violation, not 22008 from the scoring');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind, occurred_at)
                   VALUES (921, 921, 922, 'email', 'email_open', 'infinity')$$,
                 '23514', NULL, 'nor at infinity');
SELECT throws_ok($$INSERT INTO crm.activities (contact_id, owner_id, channel, kind, occurred_at)
                   VALUES (921, 922, 'email', 'email_open', '-infinity')$$,
                 '23514', NULL, 'nor without a lead');
SELECT throws_ok($$UPDATE crm.activities SET occurred_at = '-infinity' WHERE lead_id = 921$$,
                 '23514', NULL, 'nor moved there');
SELECT lives_ok($$INSERT INTO crm.activities (contact_id, lead_id, owner_id, channel, kind, occurred_at)
                  VALUES (921, 921, 922, 'email', 'email_open', '4713-01-01 00:00:00+00 BC')$$,
                'the oldest finite time scores (a decaying rule: 6,700 years is past 1000 half-lives)');
SELECT is((SELECT score FROM crm.leads WHERE lead_id = 921), 20::numeric, 'and adds nothing: 0.5^(80,000 half-lives) counts as 0');
SELECT is(crm.lead_score(921), 20::numeric, 'the SQL definition agrees');

SELECT * FROM finish();
ROLLBACK;
