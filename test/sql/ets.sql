-- Simple exponential smoothing, ETS(A,N,N), worked by hand. Five monthly values
-- y = 10, 12, 11, 13, 12 (January to May 2026), alpha fixed at 0.5, the initial level l0 estimated.
-- With l_t = l_(t-1) + alpha e_t and e_t = y_t - l_(t-1), each error is linear in l0:
--   e1 = 10 - l0, e2 = 7 - l0/2, e3 = 2.5 - l0/4, e4 = 3.25 - l0/8, e5 = 0.625 - l0/16,
-- so the least squares l0 (the likelihood n log(sum e^2) is least where sum e^2 is) is
--   l0 = sum(a c) / sum(c^2) = 14.5703125 / 1.33203125 = 3730/341 = 10.93842,
-- and the last level l5 = l0/32 + 11.6875 = 12.02933 (the point forecast of every step).
-- Sum of squares: 0.93842^2 + 1.53079^2 + 0.23460^2 + 1.88270^2 + 0.05865^2 = 6.82698.
-- One estimated value (l0): k = 2 with the variance; sigma2 = 6.82698 / (5 - 1) = 1.70674;
-- loglik = -5/2 log 6.82698 = -4.80221; AIC = 9.60441 + 4 = 13.60441; AICc = AIC + 2*2*3/(5-2-1)
-- = 19.60441. Prediction variance at step h: sigma2 (1 + (h - 1) alpha^2), so the 80% interval is
-- 12.02933 -/+ 1.281552 sqrt(1.70674 (1 + (h-1)/4)): h = 1: 10.35508 .. 13.70358,
-- h = 2: 10.15746 .. 13.90119, h = 3: 9.97880 .. 14.07985; the 95% one (z = 1.959964):
-- h = 1: 9.46878 .. 14.58987, h = 2: 9.16655 .. 14.89210, h = 3: 8.89331 .. 15.16534.
-- The rows come in any order (the fit sorts them); the NULL value is skipped.
SET client_min_messages = warning;
SET extra_float_digits = 0;
SET DateStyle = ISO;

CREATE TEMP TABLE sales (month date, revenue double precision);
INSERT INTO sales VALUES ('2026-03-01', 11), ('2026-01-01', 10), ('2026-05-01', 12), ('2026-02-01', 12),
    ('2026-04-01', 13), ('2026-06-01', NULL);

CREATE TEMP TABLE fit AS
SELECT crm.ets_fit(month, revenue, 1, 'ANN', '{"alpha": 0.5}') AS m FROM sales;

SELECT crm.ets_method(m) AS method, crm.ets_points(m) AS points,
       round((p).alpha::numeric, 4) AS alpha, round((p).initial_level::numeric, 3) AS l0,
       round((p).level::numeric, 3) AS l5, round(crm.ets_sigma2(m)::numeric, 4) AS sigma2,
       round(crm.ets_loglik(m)::numeric, 4) AS loglik, round(crm.ets_aic(m)::numeric, 4) AS aic,
       round(crm.ets_aicc(m)::numeric, 4) AS aicc
FROM fit, crm.ets_parameters(m) p;

SELECT f.step, f.period, round(f.point::numeric, 3) AS point,
       round(f.lower[1]::numeric, 3) AS lower_80, round(f.upper[1]::numeric, 3) AS upper_80,
       round(f.lower[2]::numeric, 3) AS lower_95, round(f.upper[2]::numeric, 3) AS upper_95
FROM fit, crm.ets_forecast(m, 3) f;

-- The default model 'ZZZ' on the same data: every non-seasonal candidate with k + 1 < 5, that is
-- ETS(A,N,N) and ETS(M,N,N) with alpha and l0 estimated; the output names the one chosen.
SELECT crm.ets_method(crm.ets_fit(month, revenue, 1)) IN ('ETS(A,N,N)', 'ETS(M,N,N)') AS chosen_among_them
FROM sales;

-- Gaps and duplicates are errors: a series has one row per period.
SELECT crm.ets_fit(month, revenue, 1) FROM sales WHERE month <> '2026-03-01';
SELECT crm.ets_fit(month, 1, 1) FROM (SELECT month FROM sales UNION ALL SELECT '2026-02-01') s;
