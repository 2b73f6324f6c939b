-- pgTAP: business calendars against brute force. Random calendars (seeded) in five zones with and
-- without daylight saving (Europe/Berlin, America/New_York, Australia/Sydney, Asia/Kolkata,
-- America/Santiago), opening hours at whole minutes with a bias towards the small hours where the
-- clocks change, dated and yearly holidays, 24/7 calendars. The reference: every opening interval
-- of every local date as a range of instants, converted by SQL's own timezone(zone, date + time)
-- (the documented definition), and business time counted by stepping minute by minute over
-- [from, to) and asking whether some range holds the minute. All inputs are whole minutes, so the
-- count of open minutes is the business time exactly.
BEGIN;
SELECT plan(25);
SET LOCAL TimeZone = 'UTC';
SELECT setseed(0.2026);

CREATE TEMP TABLE bf_zone (zone text PRIMARY KEY);
INSERT INTO bf_zone VALUES ('Europe/Berlin'), ('America/New_York'), ('Australia/Sydney'), ('Asia/Kolkata'), ('America/Santiago');

-- Four random calendars and one 24/7 calendar per zone.
INSERT INTO crm.business_calendars (calendar_id, name, time_zone, always_open)
SELECT 100 + 10 * z.n + k, format('bf %s %s', z.zone, k), z.zone, k = 5
FROM (SELECT zone, row_number() OVER (ORDER BY zone) AS n FROM bf_zone) z, generate_series(1, 5) k;

CREATE FUNCTION pg_temp.minutes_time(m int) RETURNS time LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN m >= 1440 THEN '24:00'::time ELSE make_time(m / 60, m % 60, 0) END $$;

-- Each weekday: 0 to 3 intervals from distinct random cut points, a third of them at the hours
-- where clocks change (00:00-03:30, 23:00, 24:00).
CREATE TEMP TABLE bf_points AS
SELECT c.calendar_id, d AS weekday, p.m
FROM crm.business_calendars c CROSS JOIN generate_series(1, 7) d,
     LATERAL (SELECT DISTINCT CASE WHEN random() < 0.35
                                   THEN (ARRAY[0, 30, 60, 90, 120, 150, 180, 210, 1380, 1440])[1 + floor(random() * 10)::int]
                                   ELSE floor(random() * 1441)::int END AS m
              FROM generate_series(1, 2 * floor(random() * 4)::int + 0 * d + 0 * c.calendar_id::int)) p
WHERE NOT c.always_open AND c.calendar_id >= 100;
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes)
SELECT calendar_id, weekday, pg_temp.minutes_time(m), pg_temp.minutes_time(next_m)
FROM (SELECT calendar_id, weekday, m, lead(m) OVER w AS next_m, row_number() OVER w AS r
      FROM bf_points WINDOW w AS (PARTITION BY calendar_id, weekday ORDER BY m)) s
WHERE r % 2 = 1 AND next_m IS NOT NULL;
-- never a calendar without hours: Mondays 10:00-11:00 for one that drew none
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes)
SELECT calendar_id, 1, '10:00', '11:00' FROM crm.business_calendars c
WHERE calendar_id >= 100 AND NOT always_open AND NOT EXISTS (SELECT FROM crm.business_hours h WHERE h.calendar_id = c.calendar_id);
-- touching intervals (merged: 09:00-13:00 without a break) on one calendar's Wednesdays
DELETE FROM crm.business_hours WHERE calendar_id = 111 AND weekday = 3;
INSERT INTO crm.business_hours (calendar_id, weekday, opens, closes) VALUES (111, 3, '09:00', '12:00'), (111, 3, '12:00', '13:00');

-- Holidays: eight random dates in 2026-2027 each; New Year's Eve and Day yearly for calendars
-- 1 and 2 of each zone; 29 February yearly on one.
INSERT INTO crm.business_holidays (calendar_id, day, recurring_yearly, name)
SELECT calendar_id, '2026-01-01'::date + floor(random() * 730)::int + 0 * i, false, 'random'
FROM crm.business_calendars, generate_series(1, 8) i WHERE calendar_id >= 100 AND NOT always_open
ON CONFLICT DO NOTHING;
INSERT INTO crm.business_holidays (calendar_id, day, recurring_yearly, name)
SELECT calendar_id, d, true, 'yearly' FROM crm.business_calendars, (VALUES ('2001-12-31'::date), ('2001-01-01')) v(d)
WHERE calendar_id >= 100 AND calendar_id % 10 IN (1, 2)
ON CONFLICT DO NOTHING;
INSERT INTO crm.business_holidays (calendar_id, day, recurring_yearly, name) VALUES (112, '2024-02-29', true, 'leap day');

-- The reference: open ranges of every local date from late 2025 to mid 2028.
CREATE TEMP TABLE bf_span AS
SELECT calendar_id, tstzrange(lo, hi) AS span
FROM (SELECT h.calendar_id, timezone(c.time_zone, g.d + h.opens) AS lo, timezone(c.time_zone, g.d + h.closes) AS hi
      FROM crm.business_calendars c JOIN crm.business_hours h USING (calendar_id)
      CROSS JOIN LATERAL (SELECT gd::date AS d FROM generate_series('2025-12-20'::date, '2028-06-30'::date, '1 day') gd) g
      WHERE c.calendar_id >= 100 AND NOT c.always_open AND extract(isodow FROM g.d) = h.weekday
        AND NOT EXISTS (SELECT FROM crm.business_holidays o
                        WHERE o.calendar_id = c.calendar_id
                          AND (o.day = g.d OR (o.recurring_yearly AND to_char(o.day, 'MM-DD') = to_char(g.d, 'MM-DD'))))) s
WHERE hi > lo
UNION ALL
SELECT calendar_id, tstzrange('2025-12-20', '2028-06-30') FROM crm.business_calendars WHERE calendar_id >= 100 AND always_open;
CREATE INDEX ON bf_span (calendar_id);
ANALYZE bf_span;

-- Open minutes in [a, b) by stepping, and whether the minute starting at m is open.
CREATE FUNCTION pg_temp.bf_minutes(cal bigint, a timestamptz, b timestamptz) RETURNS bigint LANGUAGE sql STABLE AS $$
    WITH s AS MATERIALIZED (SELECT span FROM bf_span WHERE calendar_id = cal AND span && tstzrange(a, b))
    SELECT count(*) FROM generate_series(a, b - interval '1 minute', interval '1 minute') m
    WHERE EXISTS (SELECT FROM s WHERE s.span @> m)
$$;
CREATE FUNCTION pg_temp.bf_signed(cal bigint, a timestamptz, b timestamptz) RETURNS interval LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN a <= b THEN pg_temp.bf_minutes(cal, a, b) ELSE -pg_temp.bf_minutes(cal, b, a) END * interval '1 minute'
$$;

-- The cases. Random: any calendar, any whole minute of 2026-2027, up to three days either way.
-- Clock changes: for every transition of 2026-2027 in the zone (a day whose noon is not 24 h
-- after the day before's), each calendar of the zone, from up to 30 h before that local midnight
-- to up to 48 h after. Year ends: around the two New Year's Days.
CREATE TEMP TABLE bf_case (n serial, kind text, calendar_id bigint, a timestamptz, b timestamptz, d interval);
INSERT INTO bf_case (kind, calendar_id, a, b)
SELECT 'random', 100 + 10 * (1 + floor(random() * 5)::int) + 1 + floor(random() * 5)::int + 0 * i, a, a + (floor(random() * 8641)::int - 4320) * interval '1 minute'
FROM generate_series(1, 60) i,
     LATERAL (SELECT '2026-01-01 00:00+00'::timestamptz + floor(random() * 1048000)::int * interval '1 minute' + 0 * i * interval '1 minute' AS a) x;
CREATE TEMP TABLE bf_transition AS
SELECT z.zone, g.d
FROM bf_zone z CROSS JOIN LATERAL (SELECT gd::date AS d FROM generate_series('2026-01-02'::date, '2027-12-31'::date, '1 day') gd) g
WHERE timezone(z.zone, g.d + time '12:00') - timezone(z.zone, (g.d - 1) + time '12:00') <> interval '24 hours';
INSERT INTO bf_case (kind, calendar_id, a, b)
SELECT 'dst ' || t.zone || ' ' || t.d, c.calendar_id, x.a, x.a + floor(random() * 4321)::int * interval '1 minute'
FROM bf_transition t JOIN crm.business_calendars c ON c.time_zone = t.zone AND c.calendar_id >= 100,
     LATERAL (SELECT timezone(t.zone, t.d + time '00:00') - floor(random() * 1801)::int * interval '1 minute' + 0 * c.calendar_id * interval '1 minute' AS a) x;
INSERT INTO bf_case (kind, calendar_id, a, b)
SELECT 'year end ' || y, c.calendar_id, x.a, x.a + floor(random() * 8641)::int * interval '1 minute'
FROM crm.business_calendars c, (VALUES (2026), (2027)) v(y),
     LATERAL (SELECT timezone(c.time_zone, make_date(y, 1, 1) - 3 + time '00:00') + floor(random() * 1440)::int * interval '1 minute' + 0 * c.calendar_id * interval '1 minute' AS a) x
WHERE c.calendar_id >= 100 AND c.calendar_id % 10 IN (1, 2, 5);
-- the amount business_add walks: 1 minute to 40 hours, either way
UPDATE bf_case SET d = (1 + floor(random() * 2400)::int) * interval '1 minute' * CASE WHEN random() < 0.3 THEN -1 ELSE 1 END;

SELECT ok((SELECT count(*) FROM bf_transition WHERE zone = 'Asia/Kolkata') = 0
          AND (SELECT count(*) FROM bf_transition) = 16,
          'the reference finds two clock changes a year in each DST zone and none in Asia/Kolkata');
SELECT ok((SELECT count(*) FROM bf_case WHERE kind LIKE 'dst%') = 80 AND (SELECT count(*) FROM bf_case) > 150,
          'the cases cover every clock change for every calendar of its zone');

-- business_time = the open minutes counted one by one (negative when to < from)
CREATE TEMP TABLE bf_time AS
SELECT n, kind, calendar_id, a, b, crm.business_time(calendar_id, a, b) AS got, pg_temp.bf_signed(calendar_id, a, b) AS expected
FROM bf_case;
SELECT is_empty($$SELECT n, kind, calendar_id, a, b, got, expected FROM bf_time WHERE got <> expected OR got IS NULL$$,
                'business_time equals the brute-force count of open minutes on every case');
SELECT ok((SELECT count(*) FROM bf_time WHERE expected <> '0' AND got <> b - a AND kind LIKE 'dst%') > 20,
          'the clock-change cases are not trivial (open time neither zero nor the whole span)');

-- business_add: the inverse of business_time, checked with both and by the reference; it lands
-- on an instant whose preceding minute is open (forward) or whose following minute is (backward).
CREATE TEMP TABLE bf_add AS
SELECT n, kind, calendar_id, a, d, crm.business_add(calendar_id, a, d) AS r FROM bf_case;
SELECT is_empty($$SELECT n, kind, calendar_id, a, d, r FROM bf_add WHERE r IS NULL OR r >= '2028-06-01' OR r < '2025-12-25'$$,
                'business_add stays within the reference''s range');
SELECT is_empty($$SELECT n, kind, calendar_id, a, d, r FROM bf_add WHERE crm.business_time(calendar_id, a, r) <> d$$,
                'business_time(c, t, business_add(c, t, d)) = d');
SELECT is_empty($$SELECT n, kind, calendar_id, a, d, r, pg_temp.bf_signed(calendar_id, a, r) FROM bf_add
                  WHERE pg_temp.bf_signed(calendar_id, a, r) <> d$$,
                'the brute-force count from t to business_add(c, t, d) is d');
SELECT is_empty($$SELECT n, kind, calendar_id, a, d, r FROM bf_add
                  WHERE (d > '0' AND pg_temp.bf_minutes(calendar_id, r - interval '1 minute', r) <> 1)
                     OR (d < '0' AND pg_temp.bf_minutes(calendar_id, r, r + interval '1 minute') <> 1)$$,
                'business_add lands at the end of an open minute (forward) or the start of one (backward): the earliest such instant');
SELECT is_empty($$SELECT n FROM bf_add WHERE crm.business_add(calendar_id, r, -d) <> a
                    AND pg_temp.bf_signed(calendar_id, crm.business_add(calendar_id, r, -d), a) <> '0'$$,
                'walking back the same amount returns to t, or to an instant with no business time between them');

-- 24/7: the wall time elapsed, whatever the clocks do
SELECT is_empty($$SELECT n FROM bf_case c JOIN crm.business_calendars k USING (calendar_id)
                  WHERE k.always_open AND (crm.business_time(calendar_id, a, b) <> b - a OR crm.business_add(calendar_id, a, d) <> a + d)$$,
                'a 24/7 calendar counts every instant');

-- The same calls from a staff role: the calendar is read with the caller's rights.
CREATE ROLE bf_rep; GRANT crm_sales TO bf_rep;
GRANT SELECT ON bf_time TO bf_rep;
SET LOCAL ROLE bf_rep;
SELECT is((SELECT count(*) FROM bf_time t WHERE crm.business_time(t.calendar_id, t.a, t.b) <> t.expected), 0::bigint,
          'a sales rep gets the same answers');
RESET ROLE;
CREATE ROLE bf_nobody;
SET LOCAL ROLE bf_nobody;
SELECT throws_ok($$SELECT crm.business_time(111, now(), now())$$, '42501', NULL, 'a role that is not staff may not call business_time');
RESET ROLE;

-- One call site, the calendar changed between calls in one transaction: reloaded.
CREATE FUNCTION pg_temp.cache_probe() RETURNS interval[] LANGUAGE plpgsql AS $$
DECLARE
    got interval[] := '{}';
BEGIN
    FOR i IN 1..3 LOOP
        got := got || crm.business_time(141, '2026-06-01 00:00+00', '2026-06-08 00:00+00');
        IF i = 1 THEN
            DELETE FROM crm.business_hours WHERE calendar_id = 141;
            INSERT INTO crm.business_hours VALUES (141, 1, '10:00', '12:00');
        ELSIF i = 2 THEN
            UPDATE crm.business_calendars SET always_open = true WHERE calendar_id = 141;
        END IF;
    END LOOP;
    RETURN got;
END $$;
-- 1 June 2026 is a Monday; 141 is a random Australia/Sydney calendar;
-- after the change Monday 10:00-12:00 only (2 h, unless 1 June is a random
-- holiday), then 24/7 (168 h).
SELECT is((pg_temp.cache_probe())[2:3],
          ARRAY[CASE WHEN EXISTS (SELECT FROM crm.business_holidays WHERE calendar_id = 141 AND day = '2026-06-01')
                     THEN interval '0' ELSE interval '2 hours' END, interval '168 hours'],
          'a call site reloads the calendar after it changed within the transaction');

-- Edges and errors.
SELECT is(crm.business_add(111, '2026-06-01 10:00+00', '0'), '2026-06-01 10:00+00'::timestamptz, 'adding nothing returns the start, open or not');
SELECT is(crm.business_time(111, '2026-06-01 10:00+00', '2026-06-01 10:00+00'), interval '0', 'an empty span has no business time');
SELECT throws_ok($$SELECT crm.business_add(424242, now(), '1 hour')$$, '22023', 'business calendar 424242 does not exist', 'unknown calendar');
SELECT throws_ok($$SELECT crm.business_add(111, now(), '1 year')$$, '22023', NULL, 'months are refused');
SELECT throws_ok($$SELECT crm.business_time(111, '2026-01-01', '2227-01-01')$$, '54000', NULL, 'more than 100 years: 54000');
SELECT throws_ok($$SELECT crm.business_add(115, '2026-01-01', '40000 days')$$, '54000', NULL, 'more than 100 years of 24/7 time: 54000');
SELECT throws_ok($$SELECT crm.business_add(111, 'infinity', '1 hour')$$, '22008', NULL, 'an infinite start is refused');

-- The checks on write.
INSERT INTO crm.business_calendars (calendar_id, name, time_zone) VALUES (90, 'checks', 'Asia/Kolkata');
INSERT INTO crm.business_hours VALUES (90, 2, '09:00', '12:00'), (90, 2, '12:00', '13:00'), (90, 2, '14:00', '18:00');
SELECT lives_ok($$UPDATE crm.business_hours SET closes = '13:30' WHERE calendar_id = 90 AND opens = '12:00'$$,
                'a row may be moved within its own room (touching neighbours are fine)');
SELECT throws_ok($$UPDATE crm.business_hours SET closes = '14:30' WHERE calendar_id = 90 AND opens = '12:00'$$, '23P01', NULL,
                 'an update that makes two intervals overlap is refused');
SELECT throws_ok($$INSERT INTO crm.business_hours VALUES (90, 2, '08:00', '24:00')$$, '23P01', NULL,
                 'an interval covering others is refused');
SELECT throws_ok($$UPDATE crm.business_calendars SET time_zone = 'Europe/Atlantis' WHERE calendar_id = 90$$, '22023', NULL,
                 'an unknown time zone is refused on update too');
-- 12 October 2026 is a Monday: Tuesday 13 October 09:00-13:30 and 14:00-18:00 IST (UTC+05:30).
SELECT is(crm.business_time(90, '2026-10-12 00:00+00', '2026-10-19 00:00+00'), interval '8 hours 30 minutes',
          'touching intervals count once: 4 h 30 min + 4 h');

SELECT * FROM finish();
ROLLBACK;
