-- NPS, CSAT and CES worked by hand. Net Promoter Score: on a 0-10 scale, promoters answer 9-10,
-- passives 7-8, detractors 0-6; NPS = % promoters - % detractors.
SET client_min_messages = warning;

-- Ten answers over three days: five promoters (10, 10, 10, 9, 9), three passives (8, 7, 7) and
-- two detractors (6, 3). NPS = 100 * (5 - 2) / 10 = 30.
CREATE TEMP TABLE answers (day date, score smallint);
INSERT INTO answers VALUES
    ('2026-03-01', 10), ('2026-03-01', 9), ('2026-03-01', 7), ('2026-03-01', 3),
    ('2026-03-02', 10), ('2026-03-02', 9), ('2026-03-02', 8), ('2026-03-02', 6),
    ('2026-03-03', 10), ('2026-03-03', 7);
SELECT crm.nps(score) FROM answers;

-- The same answers as an exact histogram, counts for scores 0 to 10: one 3, one 6, two 7s,
-- one 8, two 9s, three 10s. Promoters 2 + 3 = 5, passives 2 + 1 = 3, detractors 1 + 1 = 2.
SELECT s AS summary, crm.nps(s), crm.promoters(s), crm.passives(s), crm.detractors(s), crm.responses(s)
FROM (SELECT crm.nps_agg(score) AS s FROM answers) t;

-- Margin of error at 95%: per-answer variance = pP + pD - NPS^2 = 0.5 + 0.2 - 0.3^2 = 0.61,
-- SE = sqrt(0.61 / 10) = 0.24698, margin = 1.95996 * 0.24698 * 100 = 48.41 points, so the
-- interval is 30 -/+ 48.41 = [-18.41, 78.41]: ten answers say little. At 90% (z = 1.64485):
-- 1.64485 * 0.24698 * 100 = 40.62.
SELECT round(crm.nps_moe(s)::numeric, 2) AS moe_95,
       round(crm.nps_moe(s, 0.90)::numeric, 2) AS moe_90,
       round((crm.nps_ci(s)).lower::numeric, 2) AS lower_95,
       round((crm.nps_ci(s)).upper::numeric, 2) AS upper_95
FROM (SELECT crm.nps_agg(score) AS s FROM answers) t;

-- A reporting table of daily summaries. Day 1: 10, 9, 7, 3 -> 100 * (2 - 1) / 4 = 25;
-- day 2: 10, 9, 8, 6 -> 25; day 3: 10, 7 -> 100 * (1 - 0) / 2 = 50.
CREATE TEMP TABLE daily AS SELECT day, crm.nps_agg(score) AS summary FROM answers GROUP BY day;
SELECT day, summary, crm.nps(summary), crm.responses(summary) FROM daily ORDER BY day;

-- Rolling the days up gives back the histogram of all ten answers exactly, so NPS 30 again.
SELECT crm.nps_union(summary) AS all_days, crm.nps(crm.nps_union(summary)) FROM daily;
SELECT crm.nps_union(summary) OPERATOR(crm.=) (SELECT crm.nps_agg(score) FROM answers) AS union_equals_all
FROM daily;

-- Two days merged with +: days 1 and 2 hold four promoters and two detractors of eight: 25.
SELECT d1.summary OPERATOR(crm.+) d2.summary AS days_1_and_2,
       crm.nps(d1.summary OPERATOR(crm.+) d2.summary)
FROM daily d1, daily d2 WHERE d1.day = '2026-03-01' AND d2.day = '2026-03-02';

-- NULL scores are skipped; no answers at all give NULL, as do summaries without answers.
SELECT crm.nps(score) AS nps_with_null, crm.nps_agg(score) AS summary_with_null
FROM (VALUES (10), (NULL), (0)) v(score);
SELECT crm.nps(score) AS nps_of_nothing, crm.nps_agg(score) AS summary_of_nothing
FROM answers WHERE false;
SELECT crm.nps(s), crm.responses(s), crm.nps_moe(s), (crm.nps_ci(s)).*
FROM (VALUES ('(0,0,0,0,0,0,0,0,0,0,0)'::crm.nps_summary)) v(s);

-- CSAT: answers 5, 5, 4, 3, 1 on the 1-5 scale. Positive means 4 or 5: 3 of 5 = 60%;
-- with threshold 3, 4 of 5 = 80%. CES: effort scores 2, 3, 4, 7 average 16 / 4 = 4.
SELECT crm.csat(score) AS csat, crm.csat(score, 3) AS csat_3_or_more
FROM (VALUES (5), (5), (4), (3), (1)) v(score);
SELECT crm.ces(score) FROM (VALUES (2::smallint), (3::smallint), (4::smallint), (7::smallint)) v(score);

-- Scores outside their scale, a bad threshold, a bad confidence level.
SELECT crm.nps(score) FROM (VALUES (11)) v(score);
SELECT crm.nps_agg(score) FROM (VALUES (-1::smallint)) v(score);
SELECT crm.csat(score) FROM (VALUES (0)) v(score);
SELECT crm.csat(score, 6) FROM (VALUES (5)) v(score);
SELECT crm.ces(score) FROM (VALUES (8)) v(score);
SELECT crm.nps_moe('(0,0,0,0,0,0,0,0,0,0,1)', 1.5);

-- The text form is strict: exactly 11 non-negative counts.
SELECT '(1,2,3)'::crm.nps_summary;
SELECT '(0,0,0,0,0,0,0,0,0,0,-1)'::crm.nps_summary;
SELECT '(0,0,0,0,0,0,0,0,0,0,99999999999999999999)'::crm.nps_summary;

-- Closing the loop. Ana owns Peter; Initech is owned by Bill, who thus gets Joanna's detractor
-- answer (she has no owner of her own); Milton has neither an account nor an owner.
BEGIN;
INSERT INTO crm.users (user_id, login_role, full_name, email, role) VALUES
    (101, 'nps_ana', 'Ana Reyes', 'ana.nps@example.com', 'sales'),
    (102, 'nps_bill', 'Bill Lumbergh', 'bill.nps@example.com', 'manager');
INSERT INTO crm.accounts (account_id, name, owner_id) VALUES (101, 'Initech', 102);
INSERT INTO crm.contacts (contact_id, account_id, first_name, owner_id) VALUES
    (101, 101, 'Peter', 101), (102, 101, 'Joanna', NULL), (103, NULL, 'Milton', NULL);
-- Detractors 2 (high priority: 0-3), 6 and 5 (normal) get tasks due two days after the answer;
-- the promoter and the CSAT answer of 1 do not.
INSERT INTO crm.survey_responses (response_id, contact_id, kind, score, comment, responded_at) VALUES
    (101, 101, 'nps', 2, 'Too slow', '2026-01-10 09:00+00'),
    (102, 102, 'nps', 6, NULL, '2026-01-20 09:00+00'),
    (103, 103, 'nps', 5, NULL, '2026-02-05 09:00+00'),
    (104, 101, 'nps', 10, NULL, '2026-02-10 09:00+00'),
    (105, 102, 'csat', 1, NULL, '2026-02-11 09:00+00'),
    (106, 101, 'ces', 3, NULL, '2026-02-12 09:00+00');
SELECT response_id, contact_id, title, description, priority, assignee_id, status,
       due_at = responded_at + interval '2 days' AS due_in_two_days
FROM crm.tasks JOIN crm.survey_responses USING (response_id, contact_id) ORDER BY response_id;

-- The monthly view: January has two detractors at Initech (NPS -100); February one B2C detractor
-- (Milton: -100) and one Initech promoter (+100), 0 over all accounts; one CSAT answer of 1 (0%)
-- and one CES answer of 3.
SELECT month, account_id, all_accounts, nps_summary, nps, nps_responses, csat, csat_responses,
       ces, ces_responses
FROM crm.survey_scores_monthly ORDER BY month, all_accounts, account_id;
ROLLBACK;
