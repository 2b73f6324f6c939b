-- Business calendars worked by hand. The office: Monday to Friday 09:00-12:00 and 13:00-17:00,
-- Europe/Berlin, closed on Tuesday 31 March 2026 and, every year, on 31 December and 1 January.
-- Berlin is UTC+1 (CET) until Sunday 29 March 2026 02:00, then UTC+2 (CEST): local 02:00-03:00
-- does not exist that night. Results are shown in UTC and in Berlin time.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SET IntervalStyle = 'postgres';

INSERT INTO crm.business_calendars (calendar_id, name, time_zone) VALUES (1, 'Berlin office', 'Europe/Berlin');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes)
SELECT 1, d, o, c FROM generate_series(1, 5) d, (VALUES ('09:00'::time, '12:00'::time), ('13:00', '17:00')) h(o, c);
INSERT INTO crm.business_holidays (calendar_id, day, recurring_yearly, name) VALUES
    (1, '2026-03-31', false, 'Company day'),
    (1, '2025-12-31', true, 'New Year''s Eve'),
    (1, '2026-01-01', true, 'New Year');

-- Friday 27 March 16:30 CET (15:30 UTC) + 2 h: 30 min until 17:00 on Friday, the weekend (with
-- the clock change) is closed, the remaining 1 h 30 min from Monday 09:00 CEST: Monday 30 March
-- 10:30 CEST = 08:30 UTC.
SELECT crm.business_add(1, '2026-03-27 15:30+00', '2 hours') AS utc,
       crm.business_add(1, '2026-03-27 15:30+00', '2 hours') AT TIME ZONE 'Europe/Berlin' AS berlin;
-- and back: the same 2 h between them, -2 h the other way; walking back 2 h from Monday 10:30
-- CEST lands on Friday 16:30 CET again.
SELECT crm.business_time(1, '2026-03-27 15:30+00', '2026-03-30 08:30+00') AS forward,
       crm.business_time(1, '2026-03-30 08:30+00', '2026-03-27 15:30+00') AS backward,
       crm.business_add(1, '2026-03-30 08:30+00', '-2 hours') AS back_to_friday;

-- Exactly used up at a closing time: Friday 16:00 CET + 1 h = Friday 17:00 CET (16:00 UTC), not
-- Monday 09:00. From a closed instant (Saturday) + 1 min: Monday 09:01 CEST (07:01 UTC).
SELECT crm.business_add(1, '2026-03-27 15:00+00', '1 hour') AS friday_close,
       crm.business_add(1, '2026-03-28 12:00+00', '1 minute') AS monday_0901;

-- The lunch break: Monday 30 March 11:00 CEST + 1 h 30 min = 12:00, then 13:00-13:30 CEST
-- (11:30 UTC).
SELECT crm.business_add(1, '2026-03-30 09:00+00', '90 minutes') AS after_lunch;

-- The holiday: Monday 30 March 16:00 CEST + 3 h = 1 h on Monday, Tuesday closed, 2 h on
-- Wednesday 1 April from 09:00: 11:00 CEST = 09:00 UTC.
SELECT crm.business_add(1, '2026-03-30 14:00+00', '3 hours') AS over_holiday;

-- Whole weeks: Monday 23 March 00:00 CET (22 March 23:00 UTC) to Monday 30 March 00:00 CEST
-- (29 March 22:00 UTC), a 167-hour week, holds 5 x 7 h = 35 h; the next week, with the
-- holiday, 4 x 7 h = 28 h.
SELECT crm.business_time(1, '2026-03-22 23:00+00', '2026-03-29 22:00+00') AS week_13,
       crm.business_time(1, '2026-03-29 22:00+00', '2026-04-05 22:00+00') AS week_14;

-- Over the year end: Tuesday 30 December 2025 16:00 CET + 2 h = 1 h on Tuesday, 31 December and
-- 1 January closed (recurring), Friday 2 January 2026 09:00-10:00 CET: 09:00 UTC. The same a
-- year later: Wednesday 30 December 2026 16:00 CET + 2 h: 1 h, then Monday 4 January 2027
-- (Thursday and Friday closed, then the weekend) 09:00-10:00 CET: 09:00 UTC.
SELECT crm.business_add(1, '2025-12-30 15:00+00', '2 hours') AS new_year_2026,
       crm.business_add(1, '2026-12-30 15:00+00', '2 hours') AS new_year_2027;

-- A day in the interval is 24 hours of business time: 1 day = 24 h = 3 days and 3 h of office
-- time. From Wednesday 1 April 09:00 CEST: Wednesday, Thursday, Friday 7 h each (21 h), Monday
-- 6 April 3 h: 12:00 CEST = 10:00 UTC. Business time comes back in hours.
SELECT crm.business_add(1, '2026-04-01 07:00+00', '1 day') AS one_day,
       crm.business_time(1, '2026-04-01 07:00+00', '2026-04-06 10:00+00') AS as_hours;

-- The night shift: Sundays 01:00-04:00 Berlin time. On 29 March 2026 01:00 CET = 00:00 UTC and
-- 04:00 CEST = 02:00 UTC: 2 h. On 25 October 2026 (back to CET at 03:00 CEST): 01:00 CEST =
-- 23:00 UTC the day before, 04:00 CET = 03:00 UTC: 4 h. An ordinary Sunday: 3 h.
INSERT INTO crm.business_calendars (calendar_id, name, time_zone) VALUES (2, 'Night shift', 'Europe/Berlin');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes) VALUES (2, 7, '01:00', '04:00');
SELECT crm.business_time(2, '2026-03-28 12:00+00', '2026-03-29 12:00+00') AS spring,
       crm.business_time(2, '2026-10-24 12:00+00', '2026-10-25 12:00+00') AS autumn,
       crm.business_time(2, '2026-03-21 12:00+00', '2026-03-22 12:00+00') AS ordinary;
-- 1 h of the spring night starts at 01:00 CET = 00:00 UTC: 01:00 UTC, which is 03:00 CEST.
SELECT crm.business_add(2, '2026-03-28 12:00+00', '1 hour') AS spring_hour;

-- Two intervals around the gap overlap in real time: Sundays 01:00-02:30 and 03:00-04:00. On
-- 29 March 2026, 02:30 does not exist and is read as 02:30 CET = 01:30 UTC (03:30 CEST), so the
-- first runs 00:00-01:30 UTC and the second 03:00-04:00 CEST = 01:00-02:00 UTC: together
-- 00:00-02:00 UTC, 2 h (not 2 h 30 min). An ordinary Sunday: 1 h 30 min + 1 h = 2 h 30 min.
INSERT INTO crm.business_calendars (calendar_id, name, time_zone) VALUES (5, 'Around the gap', 'Europe/Berlin');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes) VALUES (5, 7, '01:00', '02:30'), (5, 7, '03:00', '04:00');
SELECT crm.business_time(5, '2026-03-28 12:00+00', '2026-03-29 12:00+00') AS gap_night,
       crm.business_time(5, '2026-03-21 12:00+00', '2026-03-22 12:00+00') AS ordinary,
       crm.business_add(5, '2026-03-28 12:00+00', '100 minutes') AS gap_night_100_min;
-- (100 min from Saturday noon: 01:40 UTC, inside the merged span.)

-- 24/7: every instant counts. Saturday 28 March 12:00 CET (11:00 UTC) to Sunday 12:00 CEST
-- (10:00 UTC) is 23 h.
INSERT INTO crm.business_calendars (calendar_id, name, time_zone, always_open) VALUES (3, 'Hotline', 'Europe/Berlin', true);
SELECT crm.business_time(3, '2026-03-28 11:00+00', '2026-03-29 10:00+00') AS hotline,
       crm.business_add(3, '2026-03-28 11:00+00', '23 hours') AS hotline_add;

-- NULL in, NULL out.
SELECT crm.business_add(1, NULL, '1 hour') IS NULL AS null_start, crm.business_time(NULL, now(), now()) IS NULL AS null_calendar;

-- Errors.
SELECT crm.business_add(99, '2026-03-27 15:30+00', '1 hour');
SELECT crm.business_add(1, '2026-03-27 15:30+00', '1 month');
SELECT crm.business_time(1, '-infinity', '2026-03-27 15:30+00');
INSERT INTO crm.business_calendars (calendar_id, name) VALUES (4, 'Empty');
SELECT crm.business_add(4, '2026-03-27 15:30+00', '1 hour');
SELECT crm.business_time(4, '2026-03-27 15:30+00', '2026-04-27 15:30+00') AS empty_calendar;
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes) VALUES (1, 1, '11:30', '13:30');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes) VALUES (1, 8, '11:30', '13:30');
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes) VALUES (1, 1, '18:00', '17:00');
INSERT INTO crm.business_calendars (name, time_zone) VALUES ('Nowhere', 'Mars/Olympus_Mons');
