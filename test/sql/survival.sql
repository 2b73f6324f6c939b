-- Kaplan-Meier survival, worked on the classic 6-MP leukaemia remission data (Freireich et al.
-- 1963; Kalbfleisch & Prentice): 21 patients, weeks in remission, "+" = censored (still in
-- remission when last seen): 6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+.
SET client_min_messages = warning;
SET extra_float_digits = 0;
CREATE TEMP TABLE remission (weeks double precision, relapsed boolean);
INSERT INTO remission VALUES
    (6, true), (6, true), (6, true), (6, false), (7, true), (9, false), (10, true), (10, false),
    (11, false), (13, true), (16, true), (17, false), (19, false), (20, false), (22, true),
    (23, true), (25, false), (32, false), (32, false), (34, false), (35, false);

-- The curve: per distinct time, at risk / events / censored. At 6 weeks three relapse and one
-- is censored: ties count events first, so the censored patient is still among the 21 at risk.
SELECT crm.km_fit(weeks, relapsed) FROM remission;

-- The table, by hand: S(6) = 18/21 = 0.8571; S(7) = 0.8571 * 16/17 = 0.8067;
-- S(10) = 0.8067 * 14/15 = 0.7529; S(13) = 11/12 -> 0.6902; S(16) = 10/11 -> 0.6275;
-- S(22) = 6/7 -> 0.5378; S(23) = 5/6 -> 0.4482. Greenwood at 6: 0.8571 * sqrt(3 / (21 * 18))
-- = 0.0764. Log-log 95% interval at 6: S^exp(+-1.96 * sqrt(3/378) / |ln S|) = [0.6197, 0.9516].
-- (The same figures as R's survfit(conf.type = "log-log") on these data.)
SELECT time, at_risk, events, censored, round(survival::numeric, 4) AS survival,
       round(std_err::numeric, 4) AS std_err, round(lower::numeric, 4) AS lower, round(upper::numeric, 4) AS upper
FROM crm.km_table((SELECT crm.km_fit(weeks, relapsed) FROM remission));

-- S(t) is a step function: 1 before the first relapse, S(10) = 0.7529 from week 10 up to 13.
-- The median is the first time S <= 0.5: week 23.
SELECT round(crm.km_survival_at(c, 5)::numeric, 4) AS s_5, round(crm.km_survival_at(c, 12.5)::numeric, 4) AS s_12_5,
       round(crm.km_survival_at(c, 100)::numeric, 4) AS s_100, crm.km_median(c) AS median_weeks
FROM (SELECT crm.km_fit(weeks, relapsed) AS c FROM remission) f;

-- The text form round-trips, so curves can be stored; the input is checked for consistency.
SELECT crm.km_fit(weeks, relapsed)::text::crm.survival_curve OPERATOR(crm.=) crm.km_fit(weeks, relapsed) AS round_trips
FROM remission;
SELECT '{(1,3,1,0),(2,2,1,1)}'::crm.survival_curve AS three_subjects;
SELECT '{(1,3,1,0),(2,3,1,1)}'::crm.survival_curve;  -- 3 at risk at 2, but only 2 were left
SELECT '{(2,2,1,0),(1,1,1,0)}'::crm.survival_curve;  -- times must increase

-- Censoring only: nobody relapsed, S stays 1 and there is no median. NULLs are skipped;
-- no rows at all give no curve; a negative duration is an error.
SELECT crm.km_median(c) AS median, crm.km_survival_at(c, 10) AS s_10
FROM (SELECT crm.km_fit(d, false) AS c FROM generate_series(1, 5) d) f;
SELECT crm.km_fit(d, o) FROM (VALUES (1.0::float8, true), (NULL, true), (2.0, NULL)) v(d, o);
SELECT crm.km_fit(weeks, relapsed) IS NULL AS empty FROM remission WHERE false;
SELECT crm.km_fit(d, true) FROM (VALUES (-1.0::float8)) v(d);
