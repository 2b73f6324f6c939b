# test/lib/citus_calls.bash: a call of every aggregate of schema crm on the columns of the Citus
# suite's table (test/scripts/citus.sh: answer_id, customer_id (the distribution column), region,
# score, score5, score7, summary, features, label, pscore, duration, observed, x, t_x, big_t, m,
# occurred_at, amount), keyed by signature; sourced by test/scripts/citus.sh and the benchmark
# test/bench/citus.sh. The test fails for an aggregate of schema crm that has no call here.
#
# Argument types as in src/*.sql. Counts,
# histograms, AUC, survival curves and k-means (which sorts its points) do not depend on the order
# rows arrive in, and must be identical. The CLV fits and summaries may differ in the last bits
# (sums in another order): 1e-9 relative. Logistic regression stops when no coefficient moves by
# more than 1e-9 (1 + |coefficient|), so row order alone moves its answer by up to ~1e-9 (7.5e-10
# relative measured here, rows shuffled on one table): 1e-8 (1 + |value|).
declare -A calls=(
	["crm.auc(double precision, boolean)"]="crm.auc(pscore, label)"
	["crm.bookings_distribution(double precision, double precision)"]="ARRAY[crm.bookings_count(crm.bookings_distribution(amount, pscore / 2)), crm.bookings_mean(crm.bookings_distribution(amount, pscore / 2)), crm.bookings_variance(crm.bookings_distribution(amount, pscore / 2))]"
	["crm.bgnbd_fit(integer, double precision, double precision)"]="crm.bgnbd_fit(x, t_x, big_t)"
	["crm.bgnbd_fit(integer, double precision, double precision, double precision)"]="crm.bgnbd_fit(x, t_x, big_t, 0.01)"
	["crm.ces(integer)"]="crm.ces(score7::integer)"
	["crm.ces(smallint)"]="crm.ces(score7)"
	["crm.clv_summary(timestamp with time zone, double precision, timestamp with time zone, double precision)"]="crm.clv_summary(occurred_at, amount, timestamptz '2026-12-31 00:00+00', 7)"
	["crm.csat(integer)"]="crm.csat(score5::integer)"
	["crm.csat(integer, integer)"]="crm.csat(score5::integer, 5)"
	["crm.csat(smallint)"]="crm.csat(score5)"
	["crm.csat(smallint, integer)"]="crm.csat(score5, 5)"
	["crm.ets_fit(date, double precision, integer)"]="crm.ets_aicc(crm.ets_fit((date '2000-01-01' + answer_id)::date, 1000 + amount, 1))"
	["crm.ets_fit(date, double precision, integer, text)"]="crm.ets_method(crm.ets_fit((date '2000-01-01' + make_interval(months => answer_id))::date, amount, 12, 'AAN')) || crm.ets_aicc(crm.ets_fit((date '2000-01-01' + make_interval(months => answer_id))::date, amount, 12, 'AAN'))"
	["crm.ets_fit(date, double precision, integer, text, jsonb)"]="crm.ets_sigma2(crm.ets_fit((date '2000-01-01' + answer_id)::date, amount, 1, 'ANN', '{\"alpha\": 0.2}'))"
	["crm.experiment_stats(text, boolean, double precision)"]="crm.experiment_stats('score ' || score5, label, amount)"
	["crm.gammagamma_fit(integer, double precision)"]="crm.gammagamma_fit(x, m)"
	["crm.gammagamma_fit(integer, double precision, double precision)"]="crm.gammagamma_fit(x, m, 0.01)"
	["crm.kmeans(double precision[], integer)"]="crm.kmeans(features, 3)"
	["crm.kmeans(double precision[], integer, integer)"]="crm.kmeans(features, 3, 7)"
	["crm.kmeans(double precision[], integer, integer, boolean)"]="crm.kmeans(features, 3, 7, true)"
	["crm.kmeans_step(double precision[], crm.kmeans_model)"]="crm.kmeans_step(features, 'v1 mean {0,0} scale {1,1} centroids {{2,2},{5,5},{8,8}}')"
	["crm.km_fit(double precision, boolean)"]="crm.km_fit(duration, observed)"
	["crm.logreg_fit(double precision[], boolean)"]="crm.logreg_fit(features, label)"
	["crm.logreg_fit(double precision[], boolean, double precision)"]="crm.logreg_fit(features, label, 0.5)"
	["crm.logreg_step(double precision[], boolean, double precision[])"]="crm.logreg_step(features, label, ARRAY[-0.4, 0.3, -0.2])"
	["crm.markov_attribution(text[], boolean)"]="crm.markov_attribution(ARRAY[region, 'score ' || score5, 'score ' || score7], label)"
	["crm.markov_attribution(text[], boolean, numeric)"]="crm.markov_attribution(ARRAY[region, 'score ' || score5], label, amount::numeric)"
	# touch paths: every hundredth row a touch (a NULL touched_at is no touch), so a path stays small
	["crm.touch_path(text, timestamp with time zone)"]="md5(crm.touch_path('score ' || score5, CASE WHEN answer_id % 100 = 0 THEN occurred_at END)::text)"
	["crm.touch_path(text, timestamp with time zone, integer)"]="md5(crm.touch_path(region, CASE WHEN answer_id % 100 = 0 THEN occurred_at END, score5 % 4)::text)"
	["crm.first_touch(text, timestamp with time zone)"]="crm.first_touch('score ' || score7, occurred_at)"
	["crm.last_touch(text, timestamp with time zone)"]="crm.last_touch('score ' || score7, occurred_at)"
	# the credit per channel: each row a conversion whose path is one touch on its region
	["crm.channel_credits(crm.touch_path, numeric, text)"]="crm.channel_credits(('1;1;0,0,' || length(region) || ':' || region)::crm.touch_path, amount::numeric, 'linear')"
	["crm.channel_credits(crm.touch_path, numeric, text, timestamp with time zone, interval, interval)"]="crm.channel_credits(('1;1;0,0,' || length(region) || ':' || region)::crm.touch_path, amount::numeric, 'time_decay', timestamptz '2000-01-02 00:00+00', interval '2 days', interval '7 days')"
	["crm.nps(integer)"]="crm.nps(score::integer)"
	["crm.nps(smallint)"]="crm.nps(score)"
	["crm.nps_agg(integer)"]="crm.nps_agg(score::integer)"
	["crm.nps_agg(smallint)"]="crm.nps_agg(score)"
	["crm.nps_union(crm.nps_summary)"]="crm.nps_union(summary)"
)

# The fits on distributed data that run a query per pass (the drivers), with @TABLE@ for the
# table: the whole fit, and one pass (its pushed-down aggregate at a typical model).
declare -A driver_calls=(
	["crm.logreg_fit_table"]="crm.logreg_fit_table('@TABLE@', 'features', 'label')"
	["crm.kmeans_table (k = 3)"]="crm.kmeans_table('@TABLE@', 'features', 3, 7)"
)
declare -A driver_pass=(
	["crm.logreg_fit_table"]="SELECT crm.logreg_step(features, label, ARRAY[-0.4, 0.3, -0.2]) FROM @TABLE@"
	["crm.kmeans_table (k = 3)"]="SELECT crm.kmeans_step(features, 'v1 mean {0,0} scale {1,1} centroids {{2,2},{5,5},{8,8}}') FROM @TABLE@"
)
