-- Demo report, section 10: customer feedback (NPS, CSAT, CES) and closing the loop on detractors.
\echo
\echo '== Customer feedback: NPS, CSAT and CES over the last 6 months =='
\echo 'NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100; +/- is the 95% margin of error.'
\echo 'CSAT = % of 1-5 answers that are 4 or 5. CES = mean effort, 1-7 (lower is easier).'
\echo 'Months come from crm.survey_scores_monthly; the total merges their NPS summaries exactly.'
WITH months AS (
    SELECT * FROM crm.survey_scores_monthly
    WHERE all_accounts
      AND month >= (SELECT date_trunc('month', max(responded_at)) - interval '5 months' FROM crm.survey_responses)
), last_six AS (
    SELECT crm.nps_union(nps_summary) AS summary, min(month) AS since FROM months
), rows AS (
    SELECT to_char(month, 'YYYY-MM') AS period, 1 AS ordering, month, nps_summary AS summary,
           csat, csat_responses, ces, ces_responses
    FROM months
    UNION ALL
    SELECT 'all 6 months', 2, NULL, l.summary, raw.*
    FROM last_six l,
         (SELECT crm.csat(r.score) FILTER (WHERE r.kind = 'csat'), count(*) FILTER (WHERE r.kind = 'csat'),
                 crm.ces(r.score) FILTER (WHERE r.kind = 'ces'), count(*) FILTER (WHERE r.kind = 'ces')
          FROM crm.survey_responses r WHERE r.responded_at >= (SELECT since FROM last_six)) raw
)
SELECT period AS "month",
       round(crm.nps(summary)::numeric, 1) AS "NPS",
       '+/- ' || round(crm.nps_moe(summary)::numeric, 1) AS "margin",
       crm.responses(summary) AS "NPS answers",
       round(100.0 * crm.promoters(summary) / nullif(crm.responses(summary), 0), 1) AS "promoters %",
       round(100.0 * crm.detractors(summary) / nullif(crm.responses(summary), 0), 1) AS "detractors %",
       round(csat::numeric, 1) AS "CSAT %",
       csat_responses AS "CSAT answers",
       round(ces::numeric, 2) AS "CES",
       ces_responses AS "CES answers"
FROM rows ORDER BY ordering, month;

\echo
\echo '== Accounts with the lowest NPS over the last 6 months (at least 10 answers) =='
\echo 'Each account''s monthly summaries rolled up with crm.nps_union; the 95% interval from crm.nps_ci.'
SELECT a.name AS account,
       round(crm.nps(s.summary)::numeric, 1) AS "NPS",
       crm.responses(s.summary) AS "answers",
       crm.detractors(s.summary) AS "detractors",
       '[' || round((crm.nps_ci(s.summary)).lower::numeric, 1) || ', '
           || round((crm.nps_ci(s.summary)).upper::numeric, 1) || ']' AS "95% interval"
FROM (SELECT account_id, crm.nps_union(nps_summary) AS summary
      FROM crm.survey_scores_monthly
      WHERE NOT all_accounts AND account_id IS NOT NULL
        AND month >= (SELECT date_trunc('month', max(responded_at)) - interval '5 months' FROM crm.survey_responses)
      GROUP BY account_id) s
JOIN crm.accounts a USING (account_id)
WHERE crm.responses(s.summary) >= 10
ORDER BY crm.nps(s.summary), a.name
LIMIT 5;

\echo
\echo '== Closing the loop: follow-up tasks opened for detractors =='
\echo 'Every NPS answer of 0-6 opens a task for the contact''s owner (else the account''s owner), due in 2 days; high priority for 0-3.'
SELECT count(*) AS "detractor answers",
       count(t.task_id) AS "with a task",
       count(*) FILTER (WHERE t.status = 'done') AS "done",
       count(*) FILTER (WHERE t.status IN ('open', 'in_progress')) AS "open",
       count(*) FILTER (WHERE t.status IN ('open', 'in_progress') AND t.due_at < now()) AS "open and overdue",
       count(*) FILTER (WHERE t.priority = 'high') AS "high priority",
       count(*) FILTER (WHERE t.task_id IS NOT NULL AND t.assignee_id IS NULL) AS "unassigned",
       round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY t.completed_at - r.responded_at)) / 3600, 1)
           AS "median hours to done"
FROM crm.survey_responses r
LEFT JOIN crm.tasks t ON t.response_id = r.response_id
WHERE r.kind = 'nps' AND r.score <= 6;

\echo
\echo '-- the most recent open follow-ups'
SELECT to_char(r.responded_at, 'YYYY-MM-DD') AS answered,
       r.score,
       t.priority,
       to_char(t.due_at, 'YYYY-MM-DD') AS due,
       coalesce(u.full_name, '(unassigned)') AS assignee,
       coalesce(nullif(concat_ws(' ', c.first_name, c.last_name), ''), c.email) AS contact,
       t.title
FROM crm.tasks t
JOIN crm.survey_responses r USING (response_id)
JOIN crm.contacts c ON c.contact_id = r.contact_id
LEFT JOIN crm.users u ON u.user_id = t.assignee_id
WHERE t.status IN ('open', 'in_progress')
ORDER BY r.responded_at DESC, t.task_id
LIMIT 8;
