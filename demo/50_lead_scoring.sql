-- Demo report: lead scoring, BANT, naive Bayes and the models judged by ROC AUC.
\echo
\echo '== Lead scores by grade (rules in crm.lead_scoring_rules; scores kept by triggers) =='
SELECT grade, count(*) AS leads, round(avg(score), 1) AS "avg score", round(min(score), 1) AS min, round(max(score), 1) AS max
FROM crm.leads GROUP BY grade ORDER BY min(score) DESC;

\echo
\echo '== The ten hottest open leads, with their naive Bayes win probability =='
WITH hottest AS MATERIALIZED (
    SELECT l.lead_id, c.first_name || ' ' || coalesce(c.last_name, '') AS contact, l.source, l.status, l.score, l.grade
    FROM crm.leads l JOIN crm.contacts c USING (contact_id)
    WHERE l.status NOT IN ('won', 'lost')
    ORDER BY l.score DESC, l.lead_id LIMIT 10
)
SELECT lead_id, contact, source, status, round(score, 1) AS score,
       grade, round(crm.lead_win_probability(lead_id)::numeric, 3) AS "P(win), naive Bayes"
FROM hottest ORDER BY score DESC, lead_id;

\echo
\echo '== BANT: open leads by status =='
WITH open_leads AS MATERIALIZED (
    SELECT status, budget, authority, need, timeline FROM crm.leads WHERE status NOT IN ('won', 'lost')
)
SELECT status, count(*) AS leads, count(*) FILTER (WHERE crm.lead_meets_bant(budget, authority, need, timeline)) AS "meet BANT now"
FROM open_leads GROUP BY status ORDER BY status;

\echo
\echo '== How well each score ranks closed leads (ROC AUC: 0.5 is chance, 1 perfect) =='
WITH closed_leads AS MATERIALIZED (
    SELECT l.* FROM crm.leads l WHERE l.status IN ('won', 'lost')
), closed AS (
    SELECT l.lead_id, l.status = 'won' AS won, l.score::float8 AS rule_score,
           crm.lead_win_probability(l.lead_id) AS nb_probability,
           ARRAY[coalesce(l.budget, 0)::float8 / 10000, coalesce(l.authority, false)::int::float8,
                 coalesce(l.need IN ('medium', 'high'), false)::int::float8, (l.source IN ('referral', 'partner'))::int::float8] AS features
    FROM closed_leads l
), model AS (
    SELECT crm.logreg_fit(features, won, 1.0) AS coefficients FROM closed
)
SELECT round(crm.auc(rule_score, won)::numeric, 3) AS "rule score",
       round(crm.auc(nb_probability, won)::numeric, 3) AS "naive Bayes (in-sample)",
       round(crm.auc(crm.logreg_predict(m.coefficients, features), won)::numeric, 3) AS "logistic regression (in-sample)",
       count(*) AS "closed leads"
FROM closed, model m GROUP BY m.coefficients;
