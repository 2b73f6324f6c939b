-- Demo report: a 12-month revenue forecast by exponential smoothing (crm.ets_fit, crm.ets_forecast;
-- docs/ets.md). The series is the monthly revenue of paid and shipped orders in the currency with
-- the most revenue, every full month from the first order's to the last complete one (a month
-- without orders counts 0). The model is chosen by AICc among the ETS models forecast::ets tries;
-- seasonal ones (12 months a season) once two full years are there.
\set QUIET on
\pset footer off
SELECT currency AS forecast_currency FROM crm.orders WHERE status IN ('paid', 'shipped')
GROUP BY currency ORDER BY sum(total) DESC, currency LIMIT 1 \gset
\echo
\echo '== Revenue forecast: the next 12 months (ETS, 80% and 95% prediction intervals) ==' (:forecast_currency)
CREATE TEMP TABLE revenue_months AS
WITH bounds AS (
    SELECT date_trunc('month', min(ordered_at))::date AS first_month,
           (date_trunc('month', max(ordered_at)) - interval '1 month')::date AS last_month
    FROM crm.orders WHERE status IN ('paid', 'shipped') AND currency = :'forecast_currency'
)
SELECT m::date AS month, coalesce(r.revenue, 0)::float8 AS revenue
FROM bounds, generate_series(bounds.first_month, bounds.last_month, interval '1 month') m
LEFT JOIN (SELECT date_trunc('month', ordered_at)::date AS month, sum(total) AS revenue
           FROM crm.orders WHERE status IN ('paid', 'shipped') AND currency = :'forecast_currency'
           GROUP BY 1) r ON r.month = m::date;
SELECT CASE WHEN count(*) >= 24 THEN 12 ELSE 1 END AS season_length FROM revenue_months \gset
CREATE TEMP TABLE revenue_model AS
SELECT crm.ets_fit(month, revenue, :season_length) AS m FROM revenue_months;
SELECT crm.ets_method(m) AS model, crm.ets_points(m) AS months_fitted,
       to_char(first_value, 'YYYY-MM') || ' .. ' || to_char(last_value, 'YYYY-MM') AS history,
       round(crm.ets_aicc(m)::numeric, 1) AS aicc, round((p).alpha::numeric, 4) AS alpha,
       round((p).beta::numeric, 4) AS beta, round((p).gamma::numeric, 4) AS gamma, round((p).phi::numeric, 4) AS phi,
       crm.ets_converged(m) AS converged
FROM revenue_model, crm.ets_parameters(m) p,
     (SELECT min(month) AS first_value, max(month) AS last_value FROM revenue_months) h;
SELECT to_char(f.period, 'YYYY-MM') AS month, round(f.point::numeric) AS forecast,
       round(f.lower[1]::numeric) AS "80% low", round(f.upper[1]::numeric) AS "80% high",
       round(f.lower[2]::numeric) AS "95% low", round(f.upper[2]::numeric) AS "95% high"
FROM revenue_model, crm.ets_forecast(m, 12, '{80,95}') f
ORDER BY f.step;
DROP TABLE revenue_months, revenue_model;
