-- pgTAP: crm.customer_summaries (and so crm.fit_clv_models and crm.customer_clv) computes the
-- summaries with the C aggregate crm.clv_summary over crm.purchases. Checked against the SQL
-- definition it replaces (written out below): orders paid or shipped up to as_of, one purchase per
-- day (session time zone) valued at the day's sum, x the repeat days, t_x and T from the first
-- day, m the mean of the repeat days' values.
BEGIN;
SELECT plan(6);

CREATE TEMP TABLE expected_summaries (as_of timestamptz, unit double precision, contact_id bigint, x integer,
                                      t_x double precision, big_t double precision, m double precision);
CREATE FUNCTION pg_temp.sql_summaries(as_of timestamptz, time_unit_days double precision)
RETURNS TABLE (contact_id bigint, x integer, t_x double precision, big_t double precision, m double precision)
LANGUAGE sql STABLE AS $$
    SELECT d.contact_id, (count(*) - 1)::integer,
           (max(d.day) - min(d.day)) / time_unit_days,
           (as_of::date - min(d.day)) / time_unit_days,
           (avg(d.spend) FILTER (WHERE d.day > d.first_day))::double precision
    FROM (SELECT o.contact_id, o.ordered_at::date AS day, sum(o.total) AS spend,
                 min(o.ordered_at::date) OVER (PARTITION BY o.contact_id) AS first_day
          FROM crm.orders o
          WHERE o.status IN ('paid', 'shipped') AND o.ordered_at <= as_of
          GROUP BY o.contact_id, o.ordered_at::date) d
    GROUP BY d.contact_id
$$;

-- Hand-made edge cases: two orders on one day, a cancelled and a pending order, an order later
-- on the day of as_of (after it: not counted), a one-off buyer, cents.
INSERT INTO crm.contacts (contact_id, first_name) VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO crm.orders (contact_id, ordered_at, status, total) VALUES
    (1, '2026-01-01 09:00+00', 'paid', 10.10), (1, '2026-01-01 18:00+00', 'shipped', 0.20),
    (1, '2026-01-15 10:00+00', 'paid', 33.33), (1, '2026-02-01 10:00+00', 'cancelled', 99),
    (1, '2026-03-01 10:00+00', 'shipped', 12.34), (1, '2026-03-31 20:00+00', 'paid', 1000),
    (2, '2026-02-02 10:00+00', 'paid', 5), (2, '2026-02-20 10:00+00', 'pending', 7),
    (3, '2026-03-31 20:00+00', 'paid', 8);
SET LOCAL TimeZone = 'UTC';
SELECT results_eq($$SELECT contact_id, x, t_x, big_t, m FROM crm.customer_summaries('2026-03-31 12:00+00', 7) ORDER BY 1$$,
                  $$VALUES (1::bigint, 2, 59 / 7.0::float8, 89 / 7.0::float8, (33.33 + 12.34) / 2::float8),
                           (2, 0, 0::float8, 57 / 7.0::float8, NULL::float8)$$,
                  'the hand-made cases, computed by hand');
SELECT results_eq($$SELECT contact_id, x, t_x, big_t, m FROM crm.customer_summaries('2026-03-31 12:00+00', 7) ORDER BY 1$$,
                  $$SELECT contact_id, x, t_x, big_t, m FROM pg_temp.sql_summaries('2026-03-31 12:00+00', 7) ORDER BY 1$$,
                  'the hand-made cases, as the SQL definition computes them');
SELECT throws_ok($$SELECT * FROM crm.customer_summaries(NULL, 7)$$, '22023', NULL, 'as_of NULL is refused');
SELECT throws_ok($$SELECT * FROM crm.customer_summaries(now(), 0)$$, '22023', NULL, 'a time unit of 0 is refused');

-- Generated data, in weeks and in days (m compared to 1e-12 relative: the C aggregate sums in
-- double precision, the SQL in numeric).
DELETE FROM crm.orders; DELETE FROM crm.contacts;
SELECT crm.generate_demo_data(400, 17, '2026-06-30') IS NOT NULL AS generated \gset
SELECT is_empty($$
    SELECT u, contact_id
    FROM (SELECT u, c.* FROM unnest(ARRAY[7, 1]::float8[]) u, crm.customer_summaries('2026-05-15', u) c) c
    FULL JOIN (SELECT u, s.* FROM unnest(ARRAY[7, 1]::float8[]) u, pg_temp.sql_summaries('2026-05-15', u) s) s
         USING (u, contact_id)
    WHERE c.x IS DISTINCT FROM s.x OR c.t_x IS DISTINCT FROM s.t_x OR c.big_t IS DISTINCT FROM s.big_t
       OR (c.m IS NULL) <> (s.m IS NULL) OR abs(c.m - s.m) > 1e-12 * abs(s.m)$$,
    'generated data: every buyer''s summary equals the SQL definition''s');
SELECT ok((SELECT count(*) FROM crm.customer_summaries('2026-05-15', 7)) > 100, 'generated data: over a hundred buyers compared');

SELECT * FROM finish();
ROLLBACK;
