-- pgTAP: crm.bgnbd_p_alive against an independent computation in numeric arithmetic (about 30
-- significant digits): P(alive) = 1 / (1 + a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))
-- for x > 0, 1 for x = 0. The grid covers t_x equal to T and a hair below it (where the odds'
-- base is 1 + 1e-12), a heavy buyer long silent (x = 300: odds near 1e260, P(alive) 3e-261), and
-- both sides of odds 1, where the C code switches between its two logistic forms. The tolerance:
-- a relative 1e-13, since rounding in the log odds L (about 600 here) moves P by |L|·1e-16.
BEGIN;
SELECT plan(3);

CREATE TEMP TABLE alive_grid AS
SELECT x, t_x, big_t,
       CASE WHEN x = 0 THEN 1::numeric
            ELSE 1 / (1 + 0.793::numeric / (2.426::numeric + x - 1)
                          * power((4.414::numeric + big_t::numeric) / (4.414::numeric + t_x::numeric), 0.243::numeric + x)) END AS exact
FROM (VALUES (0, 0::float8, 10::float8), (1, 5, 5), (1, 5 - 1e-12, 5), (3, 20, 30), (3, 29.999999, 30),
             (10, 1, 104), (20, 52, 104), (300, 10, 104), (2, 0.5, 0.75), (5, 100, 101), (1, 1e-9, 1),
             (7, 3, 9), (1, 0.001, 104)) v(x, t_x, big_t);
SELECT is((SELECT count(*)::int FROM alive_grid WHERE exact > 0.5), 8, 'the grid has 8 customers more likely alive than not, 5 less');
SELECT ok(bool_and(abs(p::numeric - exact) / exact < 1e-13),
          'crm.bgnbd_p_alive matches the numeric computation to 1e-13 relative everywhere on the grid')
FROM (SELECT exact, crm.bgnbd_p_alive(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true)::crm.bgnbd_model, x, t_x, big_t) p
      FROM alive_grid) s;
SELECT ok((SELECT crm.bgnbd_p_alive(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true)::crm.bgnbd_model, 2000, 10, 104)) = 0,
          'past double range (x = 2000: P(alive) near 1e-1700) the answer underflows to 0, not NaN');

SELECT * FROM finish();
ROLLBACK;
