-- Experiments: an A/B/C test worked by hand (docs/experiments.md walks through the same numbers).
-- Each query prints what crm computes next to the value derived by hand in the comments, rounded
-- to the digits derived, and "ok" compares them.
--
-- 2000 users per variant; A (the control) converts 200 (10%), B 240 (12%), C 260 (13%); every
-- conversion is worth 50.00, so revenue per user is 5.00, 6.00 and 6.50.
CREATE TEMP TABLE ab_users AS
SELECT v.variant, i <= v.conversions AS converted, CASE WHEN i <= v.conversions THEN 50.0 END::double precision AS revenue
FROM (VALUES ('A', 200), ('B', 240), ('C', 260)) v(variant, conversions), generate_series(1, 2000) i;

-- Per variant. Revenue variance (n - 1 denominator): A (200 * 50^2 - 2000 * 5^2) / 1999
-- = 450000 / 1999 = 225.1126; B (600000 - 72000) / 1999 = 264.1321; C (650000 - 84500) / 1999 = 282.8914.
SELECT a.variant, a.users, a.conversions, a.conversion_rate, a.revenue, round(a.revenue_per_user::numeric, 4) AS revenue_per_user,
       round(a.revenue_variance::numeric, 4) AS revenue_variance, h.by_hand,
       round(a.revenue_variance::numeric, 4) = h.by_hand AS ok
FROM (SELECT crm.experiment_stats(variant, converted, revenue) s FROM ab_users) q
CROSS JOIN LATERAL crm.experiment_arms(q.s) a
JOIN (VALUES ('A', 225.1126), ('B', 264.1321), ('C', 282.8914)) h(variant, by_hand) USING (variant)
ORDER BY a.variant;

-- Conversions, B against A: pooled rate 440 / 4000 = 0.11, se = sqrt(0.11 * 0.89 * (1/2000 + 1/2000))
-- = sqrt(0.0000979) = 0.0098944, z = 0.02 / 0.0098944 = 2.0213, p = 2 (1 - Phi(2.0213)) = 0.0432.
-- Wald interval: se = sqrt(0.1 * 0.9 / 2000 + 0.12 * 0.88 / 2000) = sqrt(0.0000978) = 0.0098894;
-- 0.02 -+ 1.959964 * 0.0098894 = 0.02 -+ 0.0193828 = [0.0006, 0.0394].
-- C against A: pooled 460 / 4000 = 0.115, se = sqrt(0.115 * 0.885 / 1000) = 0.0100884,
-- z = 0.03 / 0.0100884 = 2.9737, p = 0.0029; Wald se = sqrt(0.09 / 2000 + 0.13 * 0.87 / 2000) = 0.0100772,
-- 0.03 -+ 1.959964 * 0.0100772 = 0.03 -+ 0.0197510 = [0.0102, 0.0498].
-- Holm over the two variants: sorted 0.0029 (C) x 2 = 0.0059, then 0.0432 (B) x 1 = 0.0432: both
-- significant at 0.05 after the correction.
-- Revenue per user, Welch: B: se^2 = 225.1126 / 2000 + 264.1321 / 2000 = 0.2446224, t = 1 / 0.494593
-- = 2.0219, df = 0.2446224^2 / ((0.1125563^2 + 0.1320661^2) / 1999) = 3972.7, p = 0.0433;
-- C: se^2 = 0.1125563 + 0.1414457 = 0.2540020, t = 1.5 / 0.503986 = 2.9763, df = 3946.9, p = 0.0029;
-- Holm: 0.0029 x 2 = 0.0059, 0.0433.
SELECT c.variant,
       round(c.z::numeric, 4) AS z, round(c.p_value::numeric, 4) AS p, round(c.p_value_holm::numeric, 4) AS p_holm,
       round(c.ci_lower::numeric, 4) AS ci_lower, round(c.ci_upper::numeric, 4) AS ci_upper,
       round(c.t::numeric, 4) AS t, round(c.df::numeric, 1) AS df, round(c.revenue_p_value::numeric, 4) AS revenue_p,
       round(c.revenue_p_value_holm::numeric, 4) AS revenue_p_holm,
       (round(c.z::numeric, 4), round(c.p_value::numeric, 4), round(c.p_value_holm::numeric, 4),
        round(c.ci_lower::numeric, 4), round(c.ci_upper::numeric, 4), round(c.t::numeric, 4), round(c.df::numeric, 1),
        round(c.revenue_p_value::numeric, 4), round(c.revenue_p_value_holm::numeric, 4))
       = (h.z, h.p, h.p_holm, h.lo, h.hi, h.t, h.df, h.rp, h.rp_holm) AS ok
FROM (SELECT crm.experiment_stats(variant, converted, revenue) s FROM ab_users) q
CROSS JOIN LATERAL crm.experiment_comparison(q.s, 'A') c
JOIN (VALUES ('B', 2.0213, 0.0432, 0.0432, 0.0006, 0.0394, 2.0219, 3972.7, 0.0433, 0.0433),
             ('C', 2.9737, 0.0029, 0.0059, 0.0102, 0.0498, 2.9763, 3946.9, 0.0029, 0.0059))
     h(variant, z, p, p_holm, lo, hi, t, df, rp, rp_holm) USING (variant)
ORDER BY c.variant;

-- The same comparison from the counts alone.
SELECT round(p_value::numeric, 4) AS p, round(p_value::numeric, 4) = 0.0432 AS ok
FROM crm.two_proportion_test(2000, 200, 2000, 240);

-- Sample ratio mismatch: 2000 / 2000 / 2000 against an equal split: chi-square 0, p = 1. Had the
-- split come out 2050 / 2000 / 1950: expected 2000 each, chi-square = (50^2 + 0 + 50^2) / 2000 = 2.5,
-- df 2, p = exp(-2.5 / 2) = 0.2865.
SELECT chi_square, df, p_value, p_value = 1 AS ok
FROM crm.experiment_srm((SELECT crm.experiment_stats(variant, converted, revenue) FROM ab_users));
SELECT chi_square, df, round(p_value::numeric, 4) AS p, round(p_value::numeric, 4) = 0.2865 AS ok
FROM crm.sample_ratio_mismatch(ARRAY[2050, 2000, 1950]);

-- How many users per arm would detect 10% -> 12% with alpha 0.05 and power 0.8?
-- (1.959964 sqrt(2 * 0.11 * 0.89) + 0.841621 sqrt(0.1 * 0.9 + 0.12 * 0.88))^2 / 0.02^2
-- = (0.867270 + 0.372221)^2 / 0.0004 = 3840.85 -> 3841.
SELECT crm.sample_size_two_proportions(0.10, 0.02) AS per_arm,
       crm.sample_size_two_proportions(0.10, 0.02) = 3841 AS ok;
