-- pgTAP: touch paths gathered by aggregates (crm.touch_path, crm.first_touch, crm.last_touch) and
-- crm.attribute over a path. Expected values: by hand (comments), DISTINCT ON for the first and
-- last touch, and crm.attribute over arrays ordered the same way (time, then channel) for every
-- model; NULLs, errors by SQLSTATE, the text form, and a forced parallel plan.
BEGIN;
SELECT plan(52);
SET LOCAL timezone = 'UTC';

-- 1. By hand -------------------------------------------------------------------------------------
-- Three touches handed to the aggregate out of time order: the path is in time order, so linear
-- 100.01 = 10001 hundredths = 3 x 3333 + 2 gives 33.34 to the search (09:00) and email (10:00)
-- touches and 33.33 to social (11:00).
CREATE TEMP TABLE hand (conversion int, channel text, touched_at timestamptz, milestone int);
INSERT INTO hand VALUES
    (1, 'social', '2026-03-01 11:00', 0), (1, 'search', '2026-03-01 09:00', 1), (1, 'email', '2026-03-01 10:00', 2),
    (2, 'b', '2026-03-02 08:00', 0), (2, 'a', '2026-03-02 08:00', 0), (2, NULL, '2026-03-02 08:00', 0),
    (3, 'video', NULL, 0);
SELECT is((SELECT array_agg(a.channel || ' ' || a.credit ORDER BY a.position)
           FROM (SELECT crm.touch_path(channel, touched_at) AS p FROM hand WHERE conversion = 1) s,
                crm.attribute(s.p, 100.01, 'linear') a),
          ARRAY['search 33.34', 'email 33.34', 'social 33.33'], 'linear over a path: time order, 33.34, 33.34, 33.33');
-- W-shaped with the milestones marked: lead = search (first touch too: 60%), opportunity = email
-- (30%), social the only other touch (10%): 60.01... = 10001 x 0.6 = 6000.6, x 0.3 = 3000.3, x 0.1 =
-- 1000.1 -> 6000 + 3000 + 1000 = 10000, the unit left to the largest remainder (0.6: search).
SELECT is((SELECT array_agg(a.channel || ' ' || a.credit ORDER BY a.position)
           FROM (SELECT crm.touch_path(channel, touched_at, milestone) AS p FROM hand WHERE conversion = 1) s,
                crm.attribute(s.p, 100.01, 'w_shaped') a),
          ARRAY['search 60.01', 'email 30.00', 'social 10.00'], 'w_shaped over a path takes the marked milestones');
-- Three touches at the same instant: path order a, b, then the NULL channel last.
SELECT is((SELECT array_agg(coalesce(a.channel, 'NULL') || ' ' || a.credit ORDER BY a.position)
           FROM (SELECT crm.touch_path(channel, touched_at) AS p FROM hand WHERE conversion = 2) s,
                crm.attribute(s.p, 1.00, 'linear') a),
          ARRAY['a 0.34', 'b 0.33', 'NULL 0.33'], 'ties at one instant: channel byte order, NULL channel last');
SELECT is((SELECT crm.first_touch(channel, touched_at) FROM hand WHERE conversion = 2), 'a', 'first_touch: a tie goes to the first channel in byte order');
SELECT is((SELECT crm.last_touch(channel, touched_at) FROM hand WHERE conversion = 2), NULL, 'last_touch: the NULL channel sorts last, so it is the last touch');
SELECT is((SELECT crm.first_touch(channel, touched_at) FROM hand WHERE conversion = 1), 'search', 'first_touch: the earliest touch');
SELECT is((SELECT crm.last_touch(channel, touched_at) FROM hand WHERE conversion = 1), 'social', 'last_touch: the latest touch');
SELECT ok((SELECT crm.touch_path(channel, touched_at) FROM hand WHERE conversion = 3) IS NULL, 'a row with a NULL touched_at is no touch: NULL path');
SELECT is((SELECT crm.first_touch(channel, touched_at) FROM hand WHERE conversion = 3), NULL, 'first_touch without touches: NULL');
SELECT is((SELECT count(*) FROM crm.attribute(NULL::crm.touch_path, 10, 'linear')), 0::bigint, 'attribute over a NULL path: no rows');
-- The text form, by hand: 2026-03-01 09:00 UTC is 9,556 days and 9 hours after 2000-01-01, in
-- microseconds 9556 x 86400e6 + 9 x 3600e6 = 825,638,400,000,000 + 32,400,000,000.
SELECT is((SELECT crm.touch_path(channel, touched_at, milestone)::text FROM hand WHERE conversion = 1 AND channel = 'search'),
          '1;1;825670800000000,1,6:search', 'text form: version;count;at,milestone,length:channel');
SELECT is((SELECT crm.touch_path(channel, touched_at)::text FROM hand WHERE conversion = 2),
          '1;3;825753600000000,0,1:a;825753600000000,0,1:b;825753600000000,0,-1:', 'text form of ties and a NULL channel, in path order');

-- 2. The same credits as crm.attribute over arrays ordered by (time, channel) ------------------
-- 400 conversions, 1 to 12 touches each on a coarse clock (ties happen), 5 channels.
CREATE TEMP TABLE touches AS
SELECT c AS conversion, (ARRAY['search', 'email', 'social', 'display', 'direct'])[1 + (hashint4(c * 100 + j) & 4)] AS channel,
       timestamptz '2026-03-01' + ((hashint4(c * 31 + j) & 7) * interval '1 day') AS touched_at,
       CASE WHEN j = 1 AND n = 1 THEN 3 WHEN j = 1 THEN 1 WHEN j = 2 THEN 2 ELSE 0 END AS milestone
FROM (SELECT c, 1 + (hashint4(c) & 15) % 12 AS n FROM generate_series(1, 400) c) s, generate_series(1, n) j;
CREATE TEMP TABLE conversions AS
SELECT c AS conversion, round(((hashint4(c * 7) & 1048575) / 7.0)::numeric, (hashint4(c * 11) & 3)) AS value,
       timestamptz '2026-03-09' AS converted_at
FROM generate_series(1, 400) c;
CREATE FUNCTION pg_temp.credit_diff(model text, window_ interval) RETURNS bigint LANGUAGE sql AS $$
    WITH arrays AS (
        SELECT t.conversion, array_agg(t.channel ORDER BY t.touched_at, t.channel NULLS LAST, t.milestone) AS channels,
               array_agg(t.touched_at ORDER BY t.touched_at, t.channel NULLS LAST, t.milestone) AS times,
               ARRAY[array_position(array_agg(t.milestone & 1 ORDER BY t.touched_at, t.channel NULLS LAST, t.milestone), 1),
                     array_position(array_agg(t.milestone & 2 ORDER BY t.touched_at, t.channel NULLS LAST, t.milestone), 2)] AS milestones,
               crm.touch_path(t.channel, t.touched_at, t.milestone) AS path
        FROM touches t GROUP BY t.conversion),
    a AS (SELECT x.conversion, r.position, r.channel, r.credit
          FROM arrays x JOIN conversions c USING (conversion),
               crm.attribute(x.channels, x.times, c.value, model, c.converted_at, window_, '2 days', x.milestones) r),
    b AS (SELECT x.conversion, r.position, r.channel, r.credit
          FROM arrays x JOIN conversions c USING (conversion),
               crm.attribute(x.path, c.value, model, c.converted_at, window_, '2 days') r)
    SELECT count(*) FROM ((TABLE a EXCEPT ALL TABLE b) UNION ALL (TABLE b EXCEPT ALL TABLE a)) d
$$;
SELECT is(pg_temp.credit_diff('first_touch', NULL), 0::bigint, 'first_touch: path credits = array credits');
SELECT is(pg_temp.credit_diff('last_touch', '3 days'), 0::bigint, 'last_touch with a lookback: path credits = array credits');
SELECT is(pg_temp.credit_diff('linear', NULL), 0::bigint, 'linear: path credits = array credits');
SELECT is(pg_temp.credit_diff('time_decay', '10 days'), 0::bigint, 'time_decay: path credits = array credits');
SELECT is(pg_temp.credit_diff('position_based', NULL), 0::bigint, 'position_based: path credits = array credits');
SELECT is(pg_temp.credit_diff('w_shaped', NULL), 0::bigint, 'w_shaped: path credits = array credits (milestones marked = positions)');
SELECT is((SELECT count(*) FROM (SELECT x.conversion, sum(r.credit) AS total, c.value
                                 FROM (SELECT conversion, crm.touch_path(channel, touched_at) AS p FROM touches GROUP BY conversion) x
                                      JOIN conversions c USING (conversion), crm.attribute(x.p, c.value, 'position_based') r
                                 GROUP BY x.conversion, c.value) s WHERE total <> value), 0::bigint,
          'every conversion''s credits sum to its value exactly');

-- 3. first_touch and last_touch = DISTINCT ON -------------------------------------------------
SELECT is((WITH x AS (SELECT conversion, crm.first_touch(channel, touched_at) AS channel FROM touches GROUP BY conversion),
                y AS (SELECT DISTINCT ON (conversion) conversion, channel FROM touches ORDER BY conversion, touched_at, channel)
           SELECT count(*) FROM ((TABLE x EXCEPT TABLE y) UNION ALL (TABLE y EXCEPT TABLE x)) d),
          0::bigint, 'first_touch = DISTINCT ON ordered by time, then channel');
SELECT is((WITH x AS (SELECT conversion, crm.last_touch(channel, touched_at) AS channel FROM touches GROUP BY conversion),
                y AS (SELECT DISTINCT ON (conversion) conversion, channel FROM touches ORDER BY conversion, touched_at DESC, channel DESC)
           SELECT count(*) FROM ((TABLE x EXCEPT TABLE y) UNION ALL (TABLE y EXCEPT TABLE x)) d),
          0::bigint, 'last_touch = DISTINCT ON ordered by time, then channel, descending');
SELECT is((SELECT crm.touch_path_first_channel(crm.touch_path(channel, touched_at)) || '/' || crm.touch_path_last_channel(crm.touch_path(channel, touched_at))
           FROM touches WHERE conversion = 7),
          (SELECT crm.first_touch(channel, touched_at) || '/' || crm.last_touch(channel, touched_at) FROM touches WHERE conversion = 7),
          'touch_path_first_channel and touch_path_last_channel read a whole path alike');

-- 4. Errors -------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT crm.touch_path('a', 'infinity'::timestamptz)$$, '22023', NULL, 'an infinite touched_at: 22023');
SELECT throws_ok($$SELECT crm.first_touch('a', '-infinity'::timestamptz)$$, '22023', NULL, 'first_touch with an infinite touched_at: 22023');
SELECT throws_ok($$SELECT crm.touch_path('a', now(), 4)$$, '22023', NULL, 'a milestone outside 0..3: 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute((SELECT crm.touch_path(channel, touched_at) FROM hand WHERE conversion = 1), 10, 'w_shaped')$$,
                 '22023', NULL, 'w_shaped over a path without marked milestones: 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute((SELECT crm.touch_path(channel, touched_at, 1) FROM hand WHERE conversion = 1), 10, 'w_shaped')$$,
                 '22023', NULL, 'w_shaped over a path with two lead-creation touches: 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute((SELECT crm.touch_path(channel, touched_at) FROM hand WHERE conversion = 1), 10, 'u_shaped')$$,
                 '22023', NULL, 'an unknown model: 22023');
SELECT throws_ok($$SELECT * FROM crm.attribute((SELECT crm.touch_path(channel, touched_at) FROM hand WHERE conversion = 1), 'NaN', 'linear')$$,
                 '22023', NULL, 'a NaN value: 22023');

-- 5. Text input --------------------------------------------------------------------------------
SELECT is('1;2;1000000,0,1:b;0,3,3:a;b'::crm.touch_path::text, '1;2;0,3,3:a;b;1000000,0,1:b',
          'text input reads back in path order (a channel may hold ";")');
SELECT is('1;0'::crm.touch_path::text, '1;0', 'an empty path reads back');
SELECT throws_ok($$SELECT '2;0'::crm.touch_path$$, '22P02', NULL, 'an unknown version: 22P02');
SELECT throws_ok($$SELECT '1;2;0,0,1:a'::crm.touch_path$$, '22P02', NULL, 'fewer touches than counted: 22P02');
SELECT throws_ok($$SELECT '1;1;0,0,5:ab'::crm.touch_path$$, '22P02', NULL, 'a channel shorter than its length: 22P02');
SELECT throws_ok($$SELECT '1;1;9223372036854775807,0,1:a'::crm.touch_path$$, '22P02', NULL, 'an infinite instant: 22P02');

-- 7. crm.channel_credits: the credit per channel in one aggregate -----------------------------
-- By hand, linear over conversions 1 (100.01 over search, email, social: 33.34, 33.34, 33.33),
-- 2 (5 to email) and 3 (0.001 to a NULL channel): totals at the largest scale, 3 decimals:
-- email 33.34 + 5 = 38.340, search 33.340, social 33.330, NULL 0.001 (NULL last).
CREATE TEMP TABLE hand_values (conversion int, value numeric);
INSERT INTO hand_values VALUES (1, 100.01), (2, 5), (3, 0.001);
CREATE TEMP TABLE hand2 (conversion int, channel text, touched_at timestamptz, milestone int);
INSERT INTO hand2 SELECT * FROM hand WHERE conversion = 1;
INSERT INTO hand2 VALUES (2, 'email', '2026-03-02 08:00', 3), (3, NULL, '2026-03-03 08:00', 3);
SELECT is((SELECT crm.channel_credits(p, value, 'linear')::text
           FROM (SELECT conversion, crm.touch_path(channel, touched_at, milestone) AS p FROM hand2 GROUP BY conversion) x
                JOIN hand_values USING (conversion)),
          '{"(email,38.340)","(search,33.340)","(social,33.330)","(,0.001)"}', 'channel_credits by hand: exact totals at the largest scale, by channel, NULL last');
CREATE FUNCTION pg_temp.totals_diff(model text, window_ interval) RETURNS bigint LANGUAGE sql AS $$
    WITH paths AS (SELECT conversion, crm.touch_path(channel, touched_at, milestone) AS path FROM touches GROUP BY conversion),
    a AS (SELECT r.channel, sum(r.credit) AS credit
          FROM paths x JOIN conversions c USING (conversion), crm.attribute(x.path, c.value, model, c.converted_at, window_, '2 days') r
          GROUP BY r.channel HAVING sum(r.credit) <> 0),
    b AS (SELECT (e).channel, (e).credit
          FROM (SELECT unnest(crm.channel_credits(x.path, c.value, model, c.converted_at, window_, '2 days')) AS e
                FROM paths x JOIN conversions c USING (conversion)) u)
    SELECT count(*) FROM ((TABLE a EXCEPT ALL TABLE b) UNION ALL (TABLE b EXCEPT ALL TABLE a)) d
$$;
SELECT is(pg_temp.totals_diff('linear', NULL), 0::bigint, 'channel_credits linear = crm.attribute summed per channel');
SELECT is(pg_temp.totals_diff('time_decay', '4 days'), 0::bigint, 'channel_credits time_decay with a window = crm.attribute summed per channel');
SELECT is(pg_temp.totals_diff('w_shaped', NULL), 0::bigint, 'channel_credits w_shaped = crm.attribute summed per channel');
SELECT is(pg_temp.totals_diff('first_touch', '2 days'), 0::bigint, 'channel_credits first_touch with a window = crm.attribute summed per channel');
SELECT ok((SELECT crm.channel_credits(NULL::crm.touch_path, 1, 'linear')) IS NULL, 'channel_credits without paths: NULL');
SELECT throws_ok($$SELECT crm.channel_credits(p, 1, m) FROM (VALUES ('linear'), ('first_touch')) v(m),
                   (SELECT crm.touch_path('a', now()) AS p) x$$, '22023', NULL, 'channel_credits with two models: 22023');
SELECT throws_ok($$SELECT crm.channel_credits(p, 1, 'time_decay', NULL, NULL, h) FROM (VALUES (interval '1 day'), ('2 days')) v(h),
                   (SELECT crm.touch_path('a', now()) AS p) x$$, '22023', NULL, 'channel_credits time_decay with two half-lives: 22023');
SELECT is('1;2;3;0;5;2;100,6:search;-5,-1:'::crm.credit_totals::text, '1;2;3;0;5;2;100,6:search;-5,-1:', 'credit_totals text form reads back');
SELECT is(crm.channel_credits_final('1;2;3;0;5;2;100,6:search;-5,-1:')::text, '{"(search,0.100)","(,-0.005)"}',
          'totals are units of 10^-scale: 100 and -5 at scale 3 are 0.100 and -0.005');
SELECT throws_ok($$SELECT '1;2;3;0;5;2;100,6:search;-5,6:search'::crm.credit_totals$$, '22P02', NULL, 'credit_totals: a repeated channel: 22P02');
SELECT throws_ok($$SELECT '1;3;0;0;1;0'::crm.credit_totals$$, '22P02', NULL, 'credit_totals: time_decay without a half-life: 22P02');
SELECT throws_ok($$SELECT '1;2;3;0;5;1;170141183460469231731687303715884105728,1:a'::crm.credit_totals$$, '22P02', NULL, 'credit_totals: a total beyond 2^127 - 1: 22P02');
SELECT is('1;2;0;0;1;1;-170141183460469231731687303715884105728,1:a'::crm.credit_totals::text, '1;2;0;0;1;1;-170141183460469231731687303715884105728,1:a',
          'credit_totals: the smallest 128-bit total reads back');

-- 6. A forced parallel plan gives the serial paths ---------------------------------------------
CREATE TABLE public.path_many AS SELECT * FROM touches, generate_series(1, 20) copy;
ANALYZE public.path_many;
\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT 1 FROM pg_temp.plan_of('SELECT conversion % 10, crm.touch_path(channel, touched_at) FROM public.path_many GROUP BY 1') l
                  WHERE l LIKE '%Partial%Aggregate%'), 'the plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE parallel_paths AS
SELECT conversion % 10 AS g, crm.touch_path(channel, touched_at, milestone)::text AS p, crm.first_touch(channel, touched_at) AS f,
       crm.last_touch(channel, touched_at) AS l
FROM public.path_many GROUP BY 1;
CREATE TEMP TABLE parallel_totals AS
SELECT crm.channel_credits(('1;1;' || conversion || ',0,' || length(channel) || ':' || channel)::crm.touch_path, round(conversion / 7.0, conversion % 4), 'linear')::text AS c
FROM public.path_many WHERE channel IS NOT NULL;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT is((SELECT count(*) FROM (SELECT conversion % 10 AS g, crm.touch_path(channel, touched_at, milestone)::text AS p,
                                        crm.first_touch(channel, touched_at) AS f, crm.last_touch(channel, touched_at) AS l
                                 FROM public.path_many GROUP BY 1
                                 EXCEPT TABLE parallel_paths) d), 0::bigint, 'parallel and serial paths, first and last touches are identical');
SELECT is((SELECT crm.channel_credits(('1;1;' || conversion || ',0,' || length(channel) || ':' || channel)::crm.touch_path, round(conversion / 7.0, conversion % 4), 'linear')::text
           FROM public.path_many WHERE channel IS NOT NULL), (SELECT c FROM parallel_totals), 'parallel and serial channel_credits are identical');

SELECT * FROM finish();
ROLLBACK;
