-- pgTAP: the security rules, checked against the catalog, so that whatever a later capability
-- adds to schema crm is held to them too. Each list below is the one reviewed list of its kind
-- (docs/security.md prints them): adding a function or table to crm that breaks a rule fails this
-- suite, naming it, until it is fixed or added here with its reason.
BEGIN;
SELECT plan(11);

-- 1. SECURITY DEFINER functions: each one named here with why it needs its owner's rights.
CREATE TEMP TABLE definer_reviewed (name text PRIMARY KEY, reason text NOT NULL) ON COMMIT DROP;
INSERT INTO definer_reviewed VALUES
    ('add_segment_to_campaign', 'adds a segment''s consenting members to a campaign the caller may run (checked: admins any, managers their team''s and unowned): members the manager may not see individually are still counted in, without being shown'),
    ('fit_clv_models', 'fits the shared CLV models over every customer and stores them in crm.clv_models, which no staff role may write'),
    ('lead_nb_closed', 'trigger: counts a closed lead into the naive-Bayes tables, which no staff role may write'),
    ('lead_scoring_accounts_updated', 'trigger: rescores the leads of a changed account, whoever owns them'),
    ('lead_scoring_activities_changed', 'trigger: rescores the leads of changed activities, whoever owns them'),
    ('lead_scoring_became_hot', 'trigger: notifies and assigns a lead that became hot (tasks and round-robin pointers no staff role writes)'),
    ('lead_scoring_contacts_updated', 'trigger: rescores the leads of a changed contact, whoever owns them'),
    ('lead_scoring_leads_inserted', 'trigger: scores new leads from activities their inserter may not see'),
    ('lead_scoring_next_assignee', 'advances the round-robin pointer of a team, which no staff role writes'),
    ('lead_scoring_rules_changed', 'trigger: rescores every lead when the rules change'),
    ('lead_scoring_store', 'stores scores on leads of every owner (the scoring triggers'' set-based path)'),
    ('lead_status_record', 'trigger: writes the lead status history, which no staff role writes'),
    ('rebuild_lead_nb_counts', 'rebuilds the naive-Bayes counts from every closed lead'),
    ('refresh_rfm', 'recomputes every customer''s RFM history, which no staff role writes'),
    ('refresh_segment', 'recomputes a segment''s members over every contact (membership tables no staff role writes)'),
    ('refresh_segments', 'recomputes every segment''s members (as refresh_segment)'),
    ('rescore_leads', 'rescores every lead, whoever owns it'),
    ('survey_responses_open_detractor_task', 'trigger: opens a follow-up task for a detractor answer given by a role that may not write tasks'),
    -- the distributed CRM (src/citus.sql)
    ('lead_status_record_colocated', 'trigger on a distributed crm.leads: writes the lead status history, which no staff role writes (as lead_status_record)'),
    ('rescore_leads_distributed', 'rescores every lead of a distributed CRM, whoever owns it (as rescore_leads)'),
    ('run_escalations', 'applies the escalation rules to every ticket (raising priorities, reassigning) and writes the escalation log, which no staff role writes; granted to admins and managers'),
    ('tickets_sla_track', 'trigger: writes a ticket''s SLA state and status history, which no staff role writes, and picks its policy from segment memberships the writer may not see'),
    -- duplicate detection (src/dedupe.sql)
    ('refresh_duplicate_candidates', 'compares contacts of every owner and stores the pairs in crm.duplicate_candidates, which only admins write'),
    ('train_duplicate_model', 'learns the duplicate model from the pairs of every contact and stores it in crm.duplicate_settings'),
    ('dedupe_match_written', 'called by the trigger on crm.contacts (running as the writer): matches contacts the current transaction wrote (checked by xmin) against every contact and stores the pairs; returns only probabilities'),
    ('dedupe_trigrams_lost', 'called by the trigger on crm.contacts (running as the writer) on deletes, renames and truncation: adds rows lowering the trigram counts of crm.duplicate_trigram_counts, which no staff role writes; a row it adds can only make the matching on insert ask the index (slower, never other pairs)'),
    -- merges (src/merge.sql)
    ('merge_apply', 'merges contacts: re-points rows of every table referencing them, including tables the caller may not read; acts only on a merge the current transaction requested (its crm.merges row, checked by xmin), which the row-level security of crm.merges let the caller insert only for contacts they may update'),
    ('unmerge_apply', 'undoes a merge from its before-images, in tables the caller may not read; acts only on an unmerge the current transaction requested (crm.merges row set to unmerge_requested, checked by xmin), which crm.merges'' policies allow only to whoever may update the survivor'),
    -- consent (src/consent.sql)
    ('consent_history_sync', 'trigger: keeps contacts.marketing_consent equal to the consent history of the row just inserted, for a writer (support on a call) who may record consent but not update the contact; touches only that contact''s consent columns'),
    -- stage analytics (src/forecast.sql)
    ('record_expected_close_change', 'trigger: writes the expected-close history, which no staff role writes, for whoever changed a deal''s date'),
    -- recommendations (src/recommendations.sql)
    ('product_pairs_track', 'trigger: recounts the customers whose purchases a statement changed into the product co-occurrence counts (which no staff role writes), from all their orders, including those the writer may not see'),
    ('refresh_product_pairs', 'rebuilds the product co-occurrence counts from every customer''s purchases (tables no staff role writes); granted to admins, managers and analysts'),
    -- ticket routing (src/routing.sql)
    ('route_queued_tickets', 'assigns queued tickets from every agent''s load and writes the round-robin pointer, which no staff role writes; granted to the roles that update every ticket anyway (admins, managers, support)'),
    ('tickets_route_new', 'trigger: routes a new ticket from every agent''s load, which the writer''s view must not bias, and writes the round-robin pointer; sets only the new row''s assignee'),
    ('tickets_route_freed', 'trigger: when an update or delete freed an agent''s load, routes the queue (as route_queued_tickets)'),
    -- erasure (src/erasure.sql)
    ('erase_person_core', 'anonymises a contact''s rows in the extension''s tables as replica (session_replication_role, superuser only), so no trigger rewrites derived state (scores, duplicate pairs, SLA state), clears consent evidence, which no role updates, and writes the erasure log, which no role writes; granted to crm_admin only, who sees every crm row anyway'),
    ('contacts_refuse_erased', 'trigger: compares a new contact''s e-mail with the erasure log under the admin-only keys, for any writer; only refuses, changes nothing'),
    ('allow_reimport', 'records an admin''s override in the erasure log, which no role writes, matching the address under the admin-only keys; granted to crm_admin only'),
    -- triggered journeys (src/journeys.sql)
    ('journey_capture_event', 'trigger: records the journey event (signup, detractor) of the row just written, whoever writes it, in crm.journey_events, which staff roles do not write'),
    ('journey_capture_purchases', 'statement trigger on orders: records the purchase and first-purchase events of the orders the statement wrote, whoever writes them, in crm.journey_events; the first-purchase check reads the contact''s other orders, which the writer may not see'),
    ('run_journeys', 'enrolls contacts and advances every journey (enrollments, step log, outbox: tables no staff role writes), checking consent and segment membership of every contact; granted to admins and managers'),
    -- loyalty programs (src/loyalty.sql)
    ('loyalty_ledger_prepare', 'trigger: locks the member row and creates it for a first earn entry (crm.loyalty_members, which no staff role writes); runs after loyalty_ledger_check_visible, which refuses entries for contacts the writer does not see'),
    ('loyalty_ledger_apply', 'trigger: draws an entry on the member''s lots (the earn entries'' remaining points) and moves the member''s balance, which no staff role writes'),
    ('loyalty_orders_track', 'trigger: earns or reverses the points of the orders a statement changed, writing ledger entries (earn, reverse) no staff role may insert, for members whose other orders the writer may not see');

SELECT set_eq(
    $$SELECT DISTINCT proname::text FROM pg_proc WHERE pronamespace = 'crm'::regnamespace AND prosecdef$$,
    $$SELECT name FROM definer_reviewed$$,
    'the SECURITY DEFINER functions in crm are exactly the reviewed list (a new one needs its reason there)');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'crm'::regnamespace AND p.prosecdef
        AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)$$,
    'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'crm'::regnamespace AND p.prosecdef
        AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
    'no SECURITY DEFINER function is executable by PUBLIC');

-- 2. Functions executable by PUBLIC: only those meant for everyone, computing from their
-- arguments alone (no table read, no side effect): the analytics aggregates and their types,
-- operators and pure formulas. Functions taking or returning internal are left out: SQL cannot
-- call them (aggregate support functions; aggregates check their owner's right to them).
CREATE TEMP TABLE public_reviewed (name text PRIMARY KEY) ON COMMIT DROP;
INSERT INTO public_reviewed VALUES
    -- HMAC-SHA-256 of its arguments (src/erasure.sql; no table read)
    ('hmac_sha256'),
    -- the naive Bayes features of one lead from its values (src/lead_scoring.sql; no table read)
    ('lead_nb_feature_values'),
    -- NPS, CSAT, CES
    ('nps'), ('nps_agg'), ('nps_union'), ('csat'), ('ces'), ('promoters'), ('passives'), ('detractors'),
    ('responses'), ('nps_moe'), ('nps_ci'), ('nps_summary_in'), ('nps_summary_out'), ('nps_summary_send'),
    ('nps_summary_eq'), ('nps_summary_ne'), ('nps_summary_hash'), ('nps_summary_add'),
    -- their aggregates' support functions on real state types (pure; Citus checks the caller's
    -- EXECUTE right on each when it aggregates per shard, so they stay executable by everyone)
    ('nps_trans'), ('nps_union_trans'), ('nps_combine'), ('nps_final'), ('nps_agg_final'),
    ('counter_pair_in'), ('counter_pair_out'), ('counter_pair_send'), ('counter_pair_combine'),
    ('csat_trans'), ('ces_trans'), ('csat_final'), ('ces_final'),
    ('clv_fit_state_in'), ('clv_fit_state_out'), ('clv_fit_state_send'), ('bgnbd_trans'), ('gammagamma_trans'),
    ('customer_summaries_combine'), ('bgnbd_final'), ('gammagamma_final'),
    ('clv_summary_state_in'), ('clv_summary_state_out'), ('clv_summary_state_send'), ('clv_summary_trans'),
    ('clv_summary_combine'), ('clv_summary_final'),
    -- AUC and Kaplan-Meier states (crm.auc_state, crm.km_state) and their support functions
    ('auc_state_in'), ('auc_state_out'), ('auc_state_send'), ('auc_transition'), ('auc_combine'), ('auc_final'),
    ('km_state_in'), ('km_state_out'), ('km_state_send'), ('km_trans'), ('km_combine'), ('km_final'),
    -- CLV
    ('bgnbd_fit'), ('gammagamma_fit'), ('clv_summary'), ('bgnbd_p_alive'), ('bgnbd_expected_purchases'),
    ('bgnbd_p_purchases'), ('gammagamma_expected_spend'), ('clv'), ('clv_simple'),
    -- retention and survival
    ('retention_rate'), ('km_fit'), ('km_median'), ('km_quantile'), ('km_survival_at'), ('km_table'),
    ('survival_curve_in'), ('survival_curve_out'), ('survival_curve_send'), ('survival_curve_eq'),
    -- RFM
    ('rfm'), ('recency_score'), ('frequency_score'), ('monetary_score'), ('rfm_in'), ('rfm_out'), ('rfm_send'),
    ('rfm_eq'), ('rfm_ne'), ('rfm_lt'), ('rfm_le'), ('rfm_gt'), ('rfm_ge'), ('rfm_cmp'), ('rfm_hash'), ('rfm_hash_extended'),
    -- k-means, logistic regression, AUC
    ('kmeans'), ('kmeans_assign'), ('kmeans_centroids'), ('kmeans_model_in'), ('kmeans_model_out'), ('kmeans_model_send'), ('logreg_fit'), ('logreg_predict'), ('auc'),
    -- logistic regression states and the distributed fit (branch citus-logreg). logreg_fit_table
    -- reads a relation, but as SECURITY INVOKER with the caller's rights and row-level security:
    -- it reads nothing the caller could not read with crm.logreg_step by hand, so it is for everyone
    ('logreg_rows_in'), ('logreg_rows_out'), ('logreg_rows_send'), ('logreg_rows_trans'), ('logreg_rows_combine'),
    ('logreg_rows_final'), ('logreg_step'), ('logreg_step_state_in'), ('logreg_step_state_out'),
    ('logreg_step_state_send'), ('logreg_step_trans'), ('logreg_step_combine'), ('logreg_step_newton'),
    ('logreg_fit_table'),
    -- k-means partial states and the distributed fit's pure helpers (computed from the arguments only;
    -- Citus checks the caller's EXECUTE right on the support functions when it aggregates per shard)
    ('kmeans_state_in'), ('kmeans_state_out'), ('kmeans_state_send'), ('kmeans_transition'), ('kmeans_combine'),
    ('kmeans_final'), ('kmeans_model_final'), ('kmeans_step'), ('kmeans_step_state_in'), ('kmeans_step_state_out'),
    ('kmeans_step_state_send'), ('kmeans_step_transition'), ('kmeans_step_combine'), ('kmeans_step_inertia'),
    ('kmeans_step_counts'), ('kmeans_step_sums'), ('kmeans_step_model'), ('kmeans_point_hash'), ('kmeans_sample'),
    ('kmeans_candidates'), ('kmeans_reduce'),
    -- multi-touch attribution (computed from the arguments only)
    ('attribute'), ('markov_attribution'), ('markov_attribution_trans'), ('markov_attribution_combine'),
    ('markov_model_in'), ('markov_model_out'), ('markov_model_send'), ('markov_transition_matrix'),
    ('markov_conversion_probability'), ('markov_removal_effects'),
    ('touch_path'), ('touch_path_in'), ('touch_path_out'), ('touch_path_send'), ('touch_path_add'),
    ('touch_path_combine'), ('first_touch'), ('first_touch_add'), ('first_touch_combine'), ('last_touch'),
    ('last_touch_add'), ('last_touch_combine'), ('touch_path_first_channel'), ('touch_path_last_channel'),
    ('channel_credits'), ('channel_credits_add'), ('channel_credits_combine'), ('channel_credits_final'),
    ('credit_totals_in'), ('credit_totals_out'), ('credit_totals_send'),
    -- experiments: tests over counts and the experiment_stats aggregate (computed from the arguments only)
    ('normal_quantile'), ('student_t_p_value'), ('chi_square_p_value'), ('two_proportion_test'), ('welch_test'),
    ('sample_ratio_mismatch'), ('holm_adjust'), ('sample_size_two_proportions'), ('experiment_state_in'),
    ('experiment_state_out'), ('experiment_state_send'), ('experiment_stats'), ('experiment_stats_trans'),
    ('experiment_stats_combine'), ('experiment_arms'), ('experiment_comparison'), ('experiment_srm'),
    -- bookings distribution (forecast)
    ('bookings_distribution'), ('bookings_distribution_in'), ('bookings_distribution_out'),
    ('bookings_distribution_send'), ('bookings_transition'), ('bookings_combine'), ('bookings_final'),
    ('bookings_mean'), ('bookings_variance'), ('bookings_count'), ('bookings_resolution'),
    ('bookings_error_bound'), ('bookings_missing_mass'), ('bookings_quantile'),
    ('bookings_probability_at_least'), ('bookings_simulate'),
    -- ETS exponential smoothing (src/ets.sql; computed from the arguments only)
    ('ets_model_in'), ('ets_model_out'), ('ets_model_send'), ('ets_transition'), ('ets_combine'), ('ets_final'),
    ('ets_fit'), ('ets_method'), ('ets_loglik'), ('ets_aic'), ('ets_aicc'), ('ets_bic'), ('ets_sigma2'),
    ('ets_converged'), ('ets_points'), ('ets_parameters'), ('ets_forecast'),
    -- forecast periods: the month or quarter holding a day
    ('forecast_period'),
    -- lead scoring formulas
    ('lead_grade'), ('lead_meets_bant'), ('lead_scoring_decay'), ('lead_scoring_test'),
    -- data quality: normalisation and string similarity
    ('normalize_name'), ('normalize_company'), ('normalize_email'), ('email_domain'), ('website_domain'),
    ('normalize_phone'), ('jaro'), ('jaro_winkler'),
    -- duplicate detection: string comparisons, matching keys and the comparison of two contacts' fields
    ('trigrams'), ('trigram_similarity'), ('levenshtein'), ('soundex'), ('contact_match_name'),
    ('contact_phonetic_key'), ('compare_contacts'), ('compare_name_level'),
    -- triggers' WHEN clause: evaluated with the rights of whoever writes the table
    ('restoring_dump'),
    -- the demo generator's deterministic random numbers
    ('demo_key'), ('demo_uniform'), ('demo_normal'), ('demo_gamma'),
    -- churn risk: the fallback P(lapsed) from its arguments only (src/churn.sql)
    ('churn_p_lapsed'), ('churn_assess');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'crm'::regnamespace
        AND has_function_privilege('public', p.oid, 'EXECUTE')
        AND p.prorettype <> 'internal'::regtype AND NOT 'internal'::regtype = ANY (p.proargtypes)
        AND p.proname NOT IN (SELECT name FROM public_reviewed)
      ORDER BY 1$$,
    'every function executable by PUBLIC is on the reviewed list of functions meant for everyone');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'crm'::regnamespace AND p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype)
        AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
    'no trigger function is executable by PUBLIC (nobody attaches them to a table of their own)');

SELECT is_empty(
    $$SELECT name FROM public_reviewed r
      WHERE EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = 'crm'::regnamespace AND p.proname = r.name
                    AND (p.prosecdef OR p.prorettype = 'trigger'::regtype))$$,
    'nothing on the list for everyone is SECURITY DEFINER or a trigger');

-- 3. Tables: row-level security everywhere, except the shared reference tables that only admins
-- write (and the extension's own functions, with its owner's rights).
CREATE TEMP TABLE reference_reviewed (name text PRIMARY KEY, reason text NOT NULL) ON COMMIT DROP;
INSERT INTO reference_reviewed VALUES
    ('users', 'the staff directory: every staff role reads it to resolve owners and teams'),
    ('pipeline_stages', 'the sales stages and their probabilities'),
    ('products', 'the product catalogue'),
    ('clv_models', 'fitted CLV model parameters (no customer row), written by crm.fit_clv_models'),
    ('lead_nb_counts', 'naive-Bayes feature counts summed over closed leads (no lead row), written by the extension''s triggers'),
    ('lead_assignment_pointers', 'the round-robin position per team, written by crm.lead_scoring_next_assignee'),
    -- recommendations (src/recommendations.sql): counts of customers, no customer row
    ('product_buyers', 'per product, the number of customers who bought it, written by the extension''s triggers and crm.refresh_product_pairs'),
    ('product_pairs', 'per product pair, the number of customers who bought both, written by the extension''s triggers and crm.refresh_product_pairs'),
    ('product_pair_totals', 'the number of customers with a purchased product, written by the extension''s triggers and crm.refresh_product_pairs'),
    ('ticket_priority_weights', 'routing weights per ticket priority (no customer row), written by admins'),
    ('ticket_routing_pointer', 'the round-robin position of ticket routing (one row), written only by routing'),
    -- loyalty programs (src/loyalty.sql): configuration, no customer row
    ('loyalty_programs', 'loyalty programs (currency, expiry, tier window), written by admins'),
    ('loyalty_earn_rules', 'loyalty earn rules per program, written by admins'),
    ('loyalty_tiers', 'loyalty tiers and their minimum spend per program, written by admins');

SELECT is_empty(
    $$SELECT c.relname::text FROM pg_class c
      WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
        AND c.relname NOT IN (SELECT name FROM reference_reviewed)
      ORDER BY 1$$,
    'every table in crm has row-level security, or is on the reviewed list of reference tables');

SELECT is_empty(
    $$SELECT c.relname || ': ' || a.grantee::regrole || ' may ' || a.privilege_type
      FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.relnamespace = 'crm'::regnamespace AND c.relname IN (SELECT name FROM reference_reviewed)
        AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
        AND a.grantee <> c.relowner AND a.grantee <> 'crm_admin'::regrole
      ORDER BY 1$$,
    'only admins (and the extension''s owner) write the reference tables');

SELECT is_empty(
    $$SELECT c.relname || ': ' || a.grantee::regrole || ' has ' || a.privilege_type || ' but no policy applies to it'
      FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'p') AND c.relrowsecurity
        AND a.grantee <> c.relowner
        AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid
                        AND (a.grantee = ANY (p.polroles) OR 0::oid = ANY (p.polroles)))
      ORDER BY 1$$,
    'every role granted a table under row-level security has a policy there (no grant silently dead)');

-- 4. Views run with the rights of whoever queries them, so row-level security applies through them.
SELECT is_empty(
    $$SELECT c.relname::text FROM pg_class c
      WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('v', 'm')
        AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)$$,
    'every view in crm is security_invoker (a view owned by the extension would bypass row-level security)');

-- 5. No function or operator of crm is resolved from a temporary schema: nothing in crm's
-- functions' settings puts pg_temp anywhere but last.
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p, unnest(p.proconfig) setting
      WHERE p.pronamespace = 'crm'::regnamespace AND setting LIKE 'search_path=%'
        AND setting <> 'search_path=pg_catalog, pg_temp'$$,
    'every function that sets search_path sets pg_catalog, pg_temp');

SELECT * FROM finish();
ROLLBACK;
