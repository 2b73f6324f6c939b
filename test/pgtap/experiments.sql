-- pgTAP: experiments (src/experiments.c). The distributions against values computed independently
-- (closed forms where they exist, else mpmath at 40 digits: betainc, gammainc, erfinv), the
-- two-proportion and Welch tests against the same, Holm, the sample size of the classic example,
-- the sample ratio mismatch check, errors by SQLSTATE and NULLs, the state's text and binary forms,
-- the aggregate against PostgreSQL's own count / avg / var_samp, and a forced parallel plan.
BEGIN;
SELECT plan(88);

CREATE FUNCTION pg_temp.close(got double precision, want double precision, tolerance double precision)
RETURNS boolean LANGUAGE sql AS $$ SELECT abs(got - want) <= tolerance * greatest(abs(want), 1e-300) $$;

-- 1. The normal quantile: qnorm(0.975) = 1.959963984540054 (R), qnorm(1e-10) = -6.361340902404056,
-- qnorm(0.8) = 0.8416212335729143, qnorm(0.3) = -0.5244005127080407 (mpmath: sqrt(2) erfinv(2p - 1)).
SELECT ok(pg_temp.close(crm.normal_quantile(0.975), 1.9599639845400542, 1e-15), 'qnorm(0.975) = 1.959963984540054');
SELECT ok(pg_temp.close(crm.normal_quantile(0.025), -1.9599639845400542, 1e-15), 'qnorm(0.025) = -1.959963984540054');
SELECT ok(pg_temp.close(crm.normal_quantile(1e-10), -6.3613409024040562, 1e-15), 'qnorm(1e-10) = -6.361340902404056');
SELECT ok(pg_temp.close(crm.normal_quantile(0.8), 0.84162123357291421, 1e-15), 'qnorm(0.8) = 0.8416212335729142');
SELECT ok(pg_temp.close(crm.normal_quantile(0.3), -0.52440051270804078, 1e-15), 'qnorm(0.3) = -0.5244005127080408');
SELECT is(crm.normal_quantile(0.5), 0::double precision, 'qnorm(0.5) = 0');
SELECT throws_ok('SELECT crm.normal_quantile(1)', '22023', NULL, 'qnorm(1): 22023');

-- 2. Student's t, two-sided: df = 1 is Cauchy, P(|T| >= t) = 1 - 2 atan(t) / pi; df = 2:
-- P(|T| >= t) = 1 - t / sqrt(t^2 + 2).
-- Written without cancellation for t > 0: 2 atan(1/t) / pi, and 2 / (s (s + t)) with s = sqrt(t^2 + 2).
SELECT ok(bool_and(pg_temp.close(crm.student_t_p_value(t, 1), 2 * atan(1 / t) / pi(), 2e-15)), 'df = 1: 1 - 2 atan(t) / pi')
FROM unnest(ARRAY[0.01, 0.5, 1, 2, 12.706204736174707, 100, 1e4]) t;
SELECT ok(bool_and(pg_temp.close(crm.student_t_p_value(t, 2), 2 / (sqrt(t * t + 2) * (sqrt(t * t + 2) + t)), 2e-15)), 'df = 2: 1 - t / sqrt(t^2 + 2)')
FROM unnest(ARRAY[0.01, 0.5, 1, 2, 4.302652729749464, 30, 1e4]) t;
SELECT ok(pg_temp.close(crm.student_t_p_value(-2, 2), 1 - 2 / sqrt(6), 1e-14), 'the sign of t does not matter');
SELECT is(crm.student_t_p_value(0, 5), 1::double precision, 't = 0: p = 1');
-- mpmath: betainc(df/2, 1/2, 0, df / (df + t^2), regularized=True)
SELECT ok(pg_temp.close(crm.student_t_p_value(2.5, 2.5), 0.10456996307815539, 1e-13), 't 2.5, df 2.5');
SELECT ok(pg_temp.close(crm.student_t_p_value(1.96, 10), 0.078436240247699713, 1e-13), 't 1.96, df 10');
SELECT ok(pg_temp.close(crm.student_t_p_value(3, 1234.5), 0.0027539316073403695, 1e-13), 't 3, df 1234.5');
SELECT ok(pg_temp.close(crm.student_t_p_value(0.5, 30), 0.62072300488512729, 1e-13), 't 0.5, df 30');
SELECT ok(pg_temp.close(crm.student_t_p_value(5, 7), 0.0015652779531728246, 1e-13), 't 5, df 7');
SELECT ok(pg_temp.close(crm.student_t_p_value(2, 100000), 0.045502963457506463, 1e-11), 't 2, df 100000');
SELECT throws_ok('SELECT crm.student_t_p_value(1, 0)', '22023', NULL, 'df 0: 22023');

-- 3. Chi-square upper tail: df = 2 is exp(-x/2); df = 4 is exp(-x/2) (1 + x/2). exp(-300) itself moves
-- by 300 ulp when its argument moves by one: 1e-13 relative.
SELECT ok(bool_and(pg_temp.close(crm.chi_square_p_value(x, 2), exp(-x / 2), 1e-13)), 'df = 2: exp(-x/2)')
FROM unnest(ARRAY[0.001, 0.5, 1, 5.991464547107979, 30, 600]) x;
SELECT ok(bool_and(pg_temp.close(crm.chi_square_p_value(x, 4), exp(-x / 2) * (1 + x / 2), 1e-13)), 'df = 4: exp(-x/2) (1 + x/2)')
FROM unnest(ARRAY[0.001, 0.5, 1, 9.487729036781154, 40]) x;
-- mpmath: gammainc(df/2, x/2, inf, regularized=True)
SELECT ok(pg_temp.close(crm.chi_square_p_value(3.84, 1), 0.050043521248705103, 1e-14), 'chi-square 3.84, df 1');
SELECT ok(pg_temp.close(crm.chi_square_p_value(10, 3), 0.018566135463043233, 1e-14), 'chi-square 10, df 3');
SELECT ok(pg_temp.close(crm.chi_square_p_value(100, 50), 3.4549313829848639e-5, 1e-13), 'chi-square 100, df 50');
SELECT ok(pg_temp.close(crm.chi_square_p_value(1, 7), 0.99482853651651548, 1e-14), 'chi-square 1, df 7');
SELECT is(crm.chi_square_p_value(0, 3), 1::double precision, 'chi-square 0: p = 1');
SELECT throws_ok('SELECT crm.chi_square_p_value(-1, 3)', '22023', NULL, 'a negative chi-square: 22023');

-- 4. Two proportions: control 100 / 1000, variant 120 / 1000.
-- p1 = 0.10, p2 = 0.12, lift 0.02 (relative 0.2). Wald: se = sqrt(0.1*0.9/1000 + 0.12*0.88/1000)
-- = sqrt(0.0001956) = 0.0139857; 0.02 -+ 1.959964 * 0.0139857 = [-0.0074115, 0.0474115].
-- Pooled: p = 220/2000 = 0.11, se = sqrt(0.11*0.89*2/1000) = 0.0139929, z = 1.42930, p = erfc(z/sqrt 2)
-- = 0.152918 (R: prop.test(c(120, 100), c(1000, 1000), correct = FALSE) gives X-squared = z^2 =
-- 2.0429, p-value = 0.1529). Katz: log(1.2) -+ 1.959964 sqrt(0.9/100 + 0.88/120) -> [-0.0659, 0.5416].
-- Full digits from mpmath.
SELECT ok(pg_temp.close(r.ci_lower, -0.0074114819980199363, 1e-12) AND pg_temp.close(r.ci_upper, 0.047411481998019936, 1e-13),
          'Wald interval of the difference') FROM crm.two_proportion_test(1000, 100, 1000, 120) r;
SELECT ok(pg_temp.close(r.z, 1.4293008498232322, 1e-14) AND pg_temp.close(r.p_value, 0.15291778186394597, 1e-14),
          'pooled z and its two-sided p-value') FROM crm.two_proportion_test(1000, 100, 1000, 120) r;
SELECT ok(pg_temp.close(r.relative_ci_lower, -0.065894248937006208, 1e-13) AND pg_temp.close(r.relative_ci_upper, 0.54158134489730804, 1e-14),
          'Katz interval of the relative lift') FROM crm.two_proportion_test(1000, 100, 1000, 120) r;
SELECT ok(pg_temp.close(r.absolute_lift, 0.02, 1e-14) AND pg_temp.close(r.relative_lift, 0.2, 1e-14)
          AND r.control_rate = 0.1 AND r.variant_rate = 0.12, 'rates and lifts') FROM crm.two_proportion_test(1000, 100, 1000, 120) r;
SELECT ok(pg_temp.close(r.ci_upper - r.ci_lower, 2 * 2.5758293035489004 * sqrt(0.0001956), 1e-13),
          'alpha 0.01 widens the interval to z = 2.5758293035489') FROM crm.two_proportion_test(1000, 100, 1000, 120, 0.01) r;
SELECT ok(r.relative_lift IS NULL AND r.relative_ci_lower IS NULL AND r.z IS NOT NULL, 'no control conversions: no relative lift')
FROM crm.two_proportion_test(100, 0, 100, 5) r;
SELECT ok(r.z IS NULL AND r.p_value IS NULL AND r.ci_lower IS NULL AND r.absolute_lift = 0, 'no conversions at all: no test, no interval')
FROM crm.two_proportion_test(100, 0, 100, 0) r;
SELECT throws_ok('SELECT crm.two_proportion_test(0, 0, 10, 1)', '22023', 'control_n must be positive', 'n = 0: 22023');
SELECT throws_ok('SELECT crm.two_proportion_test(10, 11, 10, 1)', '22023', 'control_conversions must be between 0 and control_n', 'conversions > n: 22023');
SELECT throws_ok('SELECT crm.two_proportion_test(10, 1, 10, -1)', '22023', 'variant_conversions must be between 0 and variant_n', 'negative conversions: 22023');
SELECT throws_ok('SELECT crm.two_proportion_test(10, 1, 10, 1, 1)', '22023', 'alpha must be between 0 and 1, exclusive', 'alpha 1: 22023');
SELECT throws_ok('SELECT crm.two_proportion_test(10, 1, 10, 1, 0)', '22023', 'alpha must be between 0 and 1, exclusive', 'alpha 0: 22023');
SELECT ok(r.p_value IS NULL AND r.control_rate IS NULL, 'a NULL argument: NULL (strict)') FROM crm.two_proportion_test(10, NULL, 10, 1) r;

-- 5. Welch: n 10, mean 5, variance 4 against n 12, mean 6.5, variance 9.
-- se^2 = 4/10 + 9/12 = 1.15, t = 1.5 / sqrt(1.15) = 1.398757; df = 1.15^2 / (0.4^2/9 + 0.75^2/11)
-- = 1.3225 / 0.0689141 = 19.19055; p and t(0.975, df) = 2.091618 from mpmath.
SELECT ok(pg_temp.close(r.t, 1.3987572123604706, 1e-14) AND pg_temp.close(r.df, 19.190545987541224, 1e-14)
          AND pg_temp.close(r.p_value, 0.1778398484323547, 1e-13), 'Welch t, df and p-value') FROM crm.welch_test(10, 5, 4, 12, 6.5, 9) r;
SELECT ok(pg_temp.close(r.ci_lower, -0.74301080516026079, 1e-13) AND pg_temp.close(r.ci_upper, 3.7430108051602608, 1e-13),
          'Welch interval: 1.5 -+ t(0.975, df) sqrt(1.15)') FROM crm.welch_test(10, 5, 4, 12, 6.5, 9) r;
SELECT ok(r.relative_lift = 0.3 AND r.absolute_lift = 1.5, 'Welch lifts') FROM crm.welch_test(10, 5, 4, 12, 6.5, 9) r;
-- equal n and variances 1, 1: df = 2 (n - 1) = 18 exactly; t = 1 / sqrt(2/10) = sqrt 5 ...
-- and with n = 2, variances equal: df = 2, so p = 1 - t / sqrt(t^2 + 2) (closed form above)
SELECT ok(pg_temp.close(r.df, 2, 1e-14) AND pg_temp.close(r.p_value, 1 - 2 / sqrt(6), 1e-14), 'n = 2 each: df = 2, closed form')
FROM crm.welch_test(2, 0, 1, 2, 2, 1) r;
SELECT ok(r.t IS NULL AND r.p_value IS NULL AND r.ci_lower IS NULL, 'no variance at all: no test') FROM crm.welch_test(5, 1, 0, 5, 2, 0) r;
SELECT throws_ok('SELECT crm.welch_test(1, 0, 1, 5, 0, 1)', '22023', 'control_n must be at least 2', 'n = 1: 22023');
SELECT throws_ok('SELECT crm.welch_test(5, 0, -1, 5, 0, 1)', '22023', 'control_variance must not be negative', 'negative variance: 22023');
SELECT throws_ok($$SELECT crm.welch_test(5, 'NaN', 1, 5, 0, 1)$$, '22023', NULL, 'NaN mean: 22023');

-- 6. Holm (R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02): sorted 0.005 x 4 =
-- 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> running max 0.06.
SELECT ok(bool_and(pg_temp.close(a, b, 1e-15)), 'Holm adjusted p-values in the order given, monotone')
FROM unnest(crm.holm_adjust(ARRAY[0.01, 0.04, 0.03, 0.005]), ARRAY[0.03, 0.06, 0.06, 0.02]) x(a, b);
SELECT is(crm.holm_adjust(ARRAY[0.02, NULL, 0.04]), ARRAY[0.04, NULL, 0.04]::double precision[], 'NULLs stay NULL and do not count');
SELECT is(crm.holm_adjust(ARRAY[0.5, 0.6]), ARRAY[1, 1]::double precision[], 'capped at 1');
SELECT is(crm.holm_adjust('{}'), '{}'::double precision[], 'empty in, empty out');
SELECT is(crm.holm_adjust(ARRAY[0.01, 0.01]), ARRAY[0.02, 0.02]::double precision[], 'ties');
SELECT throws_ok('SELECT crm.holm_adjust(ARRAY[0.5, 1.5])', '22023', 'p-values must be between 0 and 1', 'a p-value above 1: 22023');

-- 7. Sample size, p1 = 0.10, p2 = 0.12, alpha 0.05 two-sided, power 0.8:
-- pbar = 0.11: 1.959964 sqrt(2 * 0.11 * 0.89) = 1.959964 * 0.4424929 = 0.867270;
-- 0.841621 sqrt(0.09 + 0.1056) = 0.841621 * 0.4422669 = 0.372221; (1.239491)^2 / 0.0004 = 3840.85 -> 3841.
SELECT is(crm.sample_size_two_proportions(0.10, 0.02), 3841::bigint, 'the classic example: 3841 per arm');
SELECT is(crm.sample_size_two_proportions(0.10, 0.2, relative => true), 3841::bigint, 'the same as a relative effect of 20%');
-- power 0.9: z = 1.2815516; (0.867270 + 1.2815516 * 0.4422669)^2 / 0.0004 = 5141.31 -> 5142 (mpmath 5141.306)
SELECT is(crm.sample_size_two_proportions(0.10, 0.02, 0.05, 0.9), 5142::bigint, 'power 0.9: 5142');
-- a negative effect, alpha 0.01: 0.05 -> 0.04, mpmath 10036.63 -> 10037
SELECT is(crm.sample_size_two_proportions(0.05, -0.01, 0.01, 0.8), 10037::bigint, 'a decrease, alpha 0.01: 10037');
SELECT throws_ok('SELECT crm.sample_size_two_proportions(0.1, 0)', '22023', NULL, 'no effect: 22023');
SELECT throws_ok('SELECT crm.sample_size_two_proportions(0.9, 0.2)', '22023', NULL, 'a variant rate above 1: 22023');
SELECT throws_ok('SELECT crm.sample_size_two_proportions(0.1, 0.01, 0.05, 1)', '22023', 'power must be between 0 and 1, exclusive', 'power 1: 22023');
SELECT throws_ok('SELECT crm.sample_size_two_proportions(0.5, 1e-12)', '54000', NULL, 'an effect too small to detect: 54000');

-- 8. Sample ratio mismatch: 5050 / 4950 against 50/50: expected 5000 each, chi-square = 2 * 50^2 / 5000
-- = 1, df 1, p = erfc(sqrt(1/2)) = 0.3173105078629141 (R: pchisq(1, 1, lower.tail = FALSE)).
SELECT ok(r.chi_square = 1 AND r.df = 1 AND pg_temp.close(r.p_value, 0.3173105078629141, 1e-14), 'SRM 5050 / 4950')
FROM crm.sample_ratio_mismatch(ARRAY[5050, 4950]) r;
-- 100 / 120 / 80: expected 100 each, chi-square = 0 + 4 + 4 = 8, df 2, p = exp(-4)
SELECT ok(r.chi_square = 8 AND r.df = 2 AND pg_temp.close(r.p_value, exp(-4), 1e-14), 'SRM over three groups: p = exp(-4)')
FROM crm.sample_ratio_mismatch(ARRAY[100, 120, 80]) r;
SELECT ok(r.chi_square = 0 AND r.p_value = 1, 'SRM against a 2:1 split') FROM crm.sample_ratio_mismatch(ARRAY[600, 300], ARRAY[2, 1]) r;
SELECT throws_ok('SELECT crm.sample_ratio_mismatch(ARRAY[5])', '22023', NULL, 'one group: 22023');
SELECT throws_ok('SELECT crm.sample_ratio_mismatch(ARRAY[5, 6], ARRAY[1, 0])', '22023', NULL, 'a zero weight: 22023');
SELECT throws_ok('SELECT crm.sample_ratio_mismatch(ARRAY[5, 6], ARRAY[1])', '22023', NULL, 'weights of another length: 22023');
SELECT throws_ok('SELECT crm.sample_ratio_mismatch(ARRAY[0, 0])', '22023', NULL, 'no users: 22023');

-- 9. The state's text and binary forms.
SELECT is('1;(3,1,10,3.3333333333333335,8.6666666666666679),(1,0,0,0,0);{A,"b c"}'::crm.experiment_state::text,
          '1;(3,1,10,3.3333333333333335,8.6666666666666679),(1,0,0,0,0);{A,"b c"}', 'text form reads back unchanged');
SELECT is(crm.experiment_state_send(s::text::crm.experiment_state), crm.experiment_state_send(s), 'binary form unchanged through text')
FROM (SELECT crm.experiment_stats(v, c, r) s FROM (VALUES ('A', true, 2.5), ('B', false, NULL), ('A', false, 1)) x(v, c, r)) q;
SELECT throws_ok($$SELECT '2;;{}'::crm.experiment_state$$, '22P02', NULL, 'unknown version: 22P02');
SELECT throws_ok($$SELECT '1;(1,0,0,0,0),(1,0,0,0,0);{b,a}'::crm.experiment_state$$, '22P02', NULL, 'unsorted names: 22P02');
SELECT throws_ok($$SELECT '1;(1,2,0,0,0);{a}'::crm.experiment_state$$, '22P02', NULL, 'conversions above users: 22P02');
SELECT throws_ok($$SELECT '1;(1,0,0,0,1);{a}'::crm.experiment_state$$, '22P02', NULL, 'M2 for one user: 22P02');
SELECT throws_ok($$SELECT '1;(1,0,0,0,0);{a,b}'::crm.experiment_state$$, '22P02', NULL, 'names and variants differ in number: 22P02');
SELECT throws_ok($$SELECT '1;(1,0,0,0,0) ;{a}'::crm.experiment_state$$, '22P02', NULL, 'stray characters: 22P02');

-- 10. The aggregate against count / avg / var_samp per variant, through the tests over counts.
CREATE TEMP TABLE outcomes AS
SELECT (ARRAY['control', 'blue', 'green'])[1 + i % 3] AS variant, (hashint4(i) & 7) < 1 + i % 3 AS converted,
       CASE WHEN i % 5 = 0 THEN NULL ELSE ((hashint4(i * 7) & 1023) / 10.0)::double precision END AS revenue
FROM generate_series(1, 3000) i;
CREATE TEMP TABLE by_sql AS
SELECT variant, count(*) AS n, count(*) FILTER (WHERE converted) AS x, avg(coalesce(revenue, 0)) AS mean,
       var_samp(coalesce(revenue, 0)) AS var FROM outcomes GROUP BY variant;
CREATE TEMP TABLE compared AS
SELECT c.* FROM (SELECT crm.experiment_stats(variant, converted, revenue) s FROM outcomes) q,
     crm.experiment_comparison(q.s, 'control') c;
SELECT is((SELECT array_agg(variant ORDER BY variant) FROM compared), ARRAY['blue', 'green'], 'one row per variant but the control');
SELECT ok(bool_and(pg_temp.close(c.p_value, t.p_value, 1e-13) AND pg_temp.close(c.ci_lower, t.ci_lower, 1e-12) AND c.z = t.z),
          'conversions: as crm.two_proportion_test on the counts')
FROM compared c JOIN by_sql v ON v.variant = c.variant, by_sql k,
     crm.two_proportion_test(k.n, k.x, v.n, v.x) t WHERE k.variant = 'control';
SELECT ok(bool_and(pg_temp.close(c.revenue_p_value, t.p_value, 1e-9) AND pg_temp.close(c.t, t.t, 1e-9) AND pg_temp.close(c.df, t.df, 1e-9)),
          'revenue: as crm.welch_test on avg and var_samp (NULL revenue as 0)')
FROM compared c JOIN by_sql v ON v.variant = c.variant, by_sql k,
     crm.welch_test(k.n, k.mean, k.var, v.n, v.mean, v.var) t WHERE k.variant = 'control';
SELECT ok(bool_and(pg_temp.close(c.p_value_holm, h, 1e-15)), 'p_value_holm is crm.holm_adjust over the variants')
FROM compared c JOIN (SELECT unnest(array_agg(variant ORDER BY variant)) v, unnest(crm.holm_adjust(array_agg(p_value ORDER BY variant))) h
                      FROM compared) a ON a.v = c.variant;
SELECT ok(s.chi_square = 0 AND s.df = 2, 'SRM of 1000 users per variant: chi-square 0')
FROM (SELECT crm.experiment_stats(variant, converted, revenue) s FROM outcomes) q, crm.experiment_srm(q.s) s;
SELECT ok((SELECT crm.experiment_stats(v, c, r) FROM (VALUES (NULL, true, 1.0), ('a', NULL, 1.0)) x(v, c, r)) IS NULL, 'rows with a NULL variant or converted are skipped: NULL');
SELECT throws_ok($$SELECT crm.experiment_stats('a', true, 'Infinity') FROM generate_series(1, 2)$$, '22023', NULL, 'infinite revenue: 22023');
SELECT throws_ok($$SELECT crm.experiment_stats(i::text, true, 1) FROM generate_series(1, 1001) i$$, '54000', NULL, '1001 variants: 54000');
SELECT throws_ok($$SELECT crm.experiment_comparison(crm.experiment_stats('a', true, 1), 'b') FROM generate_series(1, 2)$$, '22023', NULL, 'an unknown control: 22023');

-- 11. Forced parallel plan: the same state, to the last bit for the counts and to 1e-12 for the sums.
CREATE TABLE public.experiment_many AS
SELECT (ARRAY['A', 'B', 'C', 'D'])[1 + (hashint4(i) & 3)] AS variant, (hashint4(i * 3) & 15) < 3 AS converted,
       ((hashint4(i * 5) & 65535) / 100.0)::double precision AS revenue
FROM generate_series(1, 40000) i;
ANALYZE public.experiment_many;
\i test/lib/parallel.sql
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_of('SELECT crm.experiment_stats(variant, converted, revenue) FROM public.experiment_many') l
                  WHERE l LIKE '%Partial Aggregate%'), 'the plan is parallel (Partial Aggregate)');
CREATE TEMP TABLE parallel_arms AS
SELECT a.* FROM (SELECT crm.experiment_stats(variant, converted, revenue) s FROM public.experiment_many) q, crm.experiment_arms(q.s) a;
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_arms AS
SELECT a.* FROM (SELECT crm.experiment_stats(variant, converted, revenue) s FROM public.experiment_many) q, crm.experiment_arms(q.s) a;
SELECT is((SELECT array_agg(ARRAY[users, conversions] ORDER BY variant) FROM parallel_arms),
          (SELECT array_agg(ARRAY[users, conversions] ORDER BY variant) FROM serial_arms), 'parallel and serial counts are identical');
SELECT ok(bool_and(pg_temp.close(p.revenue, s.revenue, 1e-12) AND pg_temp.close(p.revenue_per_user, s.revenue_per_user, 1e-12)
                   AND pg_temp.close(p.revenue_variance, s.revenue_variance, 1e-12)) AND count(*) = 4,
          'parallel and serial revenue, mean and variance agree to 1e-12')
FROM parallel_arms p JOIN serial_arms s USING (variant);

SELECT * FROM finish();
ROLLBACK;
