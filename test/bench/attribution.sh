#!/usr/bin/env bash
# Benchmark: multi-touch attribution (docs/attribution.md), issue 19's speed targets.
#
# (1) Rule-based models over a touches table: $ATTRIBUTION_TOUCHES touches (default 10,000,000)
# of $ATTRIBUTION_CONVERSIONS converting contacts (default 1,000,000; one conversion each, 1 to
# 2T/C - 1 touches, 5 days apart, 8 channels, values with cents). Every touch at most 30 days
# before its conversion is in the window (about 6 of the 10). For each model crm has
# (first_touch, last_touch, linear, time_decay with a 7-day half-life, position_based 40/20/40,
# w_shaped 30/30/30/10 with lead and opportunity touches marked in the table), two queries give
# the credit per channel from the same tables and the same window join:
#   crm        first and last touch: the aggregates crm.first_touch / crm.last_touch per
#              conversion (GROUP BY the conversion); the other models: the touches of each
#              conversion gathered by the aggregate crm.touch_path, and the credit per channel
#              summed by the aggregate crm.channel_credits over the paths (the check also runs
#              crm.attribute over each path for the credit of every (conversion, channel));
#   SQL        the best hand-written SQL we know: window functions over the joined touches that
#              give the SAME credits as crm (whole cents summing to the value exactly, the
#              largest-remainder method, ties to the earlier touch): closed forms for first,
#              last, linear and position-based touch, a second window pass ranking the
#              remainders for time decay and W-shaped; for first and last touch also a LATERAL
#              subquery taking one touch per conversion from the index on (contact_id,
#              touched_at) (ORDER BY ... LIMIT 1), and the ratio is taken to the faster of the two.
# The floor of any function over a conversion's touches: the window join grouped by the
# conversion (count(*) per group), beside it; first and last touch by an index probe read one
# touch per conversion, so for those two the probe can be faster than every such function.
# Checked before timing: the per-channel totals are equal, and the credit of every (conversion,
# channel) is equal (the number of conversions that differ is printed). Timed interleaved in one
# process, median of $RUNS; the ratio crm / SQL (target: <= 1).
#
# (2) The Markov model: crm.markov_removal_effects alone on a 20-channel model already fitted
# (the transition counts aggregated, stored in a table), against the target of 1 s; also the fit
# crm.markov_attribution over $ATTRIBUTION_JOURNEYS journeys (default 1,000,000) beside count(*).
#
# Run with: scripts/bench test/bench/attribution.sh
#   (smaller: ATTRIBUTION_TOUCHES=1000000 ATTRIBUTION_CONVERSIONS=100000 ...)
set -euo pipefail

runs=${RUNS:-3}
touches=${ATTRIBUTION_TOUCHES:-10000000}
conversions=${ATTRIBUTION_CONVERSIONS:-1000000}
journeys=${ATTRIBUTION_JOURNEYS:-1000000}
source "$(dirname "$0")/lib.bash"
bench_record attribution ATTRIBUTION_TOUCHES ATTRIBUTION_CONVERSIONS ATTRIBUTION_JOURNEYS RUNS
start_s=$SECONDS

# touches per conversion: uniform on 1 .. 2T/C - 1 (mean T/C)
spread=$(((2 * touches + conversions / 2) / conversions - 1))
[ "$spread" -ge 1 ] || spread=1

echo "== setup: $conversions conversions, about $touches touches (1 to $spread per conversion, 5 days apart)"
psql_bench <<SQL
SELECT setseed(0.23) \g /dev/null
DROP TABLE IF EXISTS bench_touches, bench_conversions;
CREATE TABLE bench_conversions WITH (parallel_workers = 0) AS
SELECT i AS contact_id, timestamptz '2026-03-01' + random() * interval '90 days' AS converted_at,
       round((10 + random() * 490)::numeric, 2) AS value, 1 + floor(random() * $spread)::int AS n
FROM generate_series(1, $conversions) i;
-- touch j of n: (n - j) * 5 to (n - j) * 5 + 5 days before the conversion (distinct times);
-- the lead touch is one of the last three, the opportunity touch one of the last two (both
-- within 20 days: in the window)
CREATE TABLE bench_touches WITH (parallel_workers = 0) AS
SELECT c.contact_id, (ARRAY['search', 'email', 'social', 'display', 'direct', 'referral', 'affiliate', 'video'])[1 + floor(random() * 8)::int] AS channel,
       c.converted_at - ((c.n - j) * 5 + random() * 5) * interval '1 day' AS touched_at,
       j = greatest(1, c.n - 1 - c.contact_id % 3) AS is_lead,
       j = greatest(1, c.n - c.contact_id % 2) AS is_opp
FROM bench_conversions c, generate_series(1, c.n) j
ORDER BY c.contact_id, j;
ALTER TABLE bench_conversions ADD PRIMARY KEY (contact_id);
CREATE INDEX ON bench_touches (contact_id, touched_at);
VACUUM (FREEZE, ANALYZE) bench_conversions, bench_touches;
SQL
psql_bench -At -c "SELECT '   ' || (SELECT count(*) FROM bench_touches) || ' touches, '
    || (SELECT count(*) FROM bench_touches t JOIN bench_conversions c USING (contact_id)
        WHERE t.touched_at BETWEEN c.converted_at - interval '30 days' AND c.converted_at) || ' in the 30-day window'"

window_join="bench_conversions c JOIN bench_touches t ON t.contact_id = c.contact_id
    AND t.touched_at BETWEEN c.converted_at - interval '30 days' AND c.converted_at"

# crm_sql MODEL KEY: credit per KEY (channel, or contact_id, channel) by crm: the first and last
# touch by the aggregates crm.first_touch / crm.last_touch (the channel that takes the whole
# value), the other models by crm.attribute over each conversion's crm.touch_path
crm_sql() {
	case $1 in
	first_touch | last_touch)
		echo "SELECT $2, sum(value) AS total
FROM (SELECT c.contact_id, c.value, crm.$1(t.channel, t.touched_at) AS channel
      FROM $window_join GROUP BY c.contact_id) j
GROUP BY $2"
		return
		;;
	esac
	local extra='' milestone=''
	case $1 in
	time_decay) extra=", half_life => '7 days'" ;;
	w_shaped) milestone=', t.is_lead::int + 2 * t.is_opp::int' ;;
	esac
	if [ "$2" = channel ]; then
		# per channel: the aggregate crm.channel_credits sums the credits exactly as it splits them
		echo "SELECT c.channel, c.credit AS total
FROM unnest((SELECT crm.channel_credits(j.path, j.value, '$1')
             FROM (SELECT c.contact_id, c.value, crm.touch_path(t.channel, t.touched_at$milestone) AS path
                   FROM $window_join GROUP BY c.contact_id) j)) c"
		return
	fi
	echo "SELECT $2, sum(credit) AS total
FROM (SELECT c.contact_id, c.value, crm.touch_path(t.channel, t.touched_at$milestone) AS path
      FROM $window_join GROUP BY c.contact_id) j,
     crm.attribute(j.path, j.value, '$1'$extra) a
GROUP BY $2"
}

# lateral_sql MODEL KEY: the first or last touch by one index probe per conversion (the index on
# (contact_id, touched_at)), the other hand-written form of those two models
lateral_sql() {
	echo "SELECT $2, sum(value) AS total
FROM (SELECT c.contact_id, c.value, f.channel
      FROM bench_conversions c
      CROSS JOIN LATERAL (SELECT t.channel FROM bench_touches t
                          WHERE t.contact_id = c.contact_id
                            AND t.touched_at BETWEEN c.converted_at - interval '30 days' AND c.converted_at
                          ORDER BY t.touched_at $([ "$1" = last_touch ] && echo DESC) LIMIT 1) f) s
GROUP BY $2"
}

# sql_sql MODEL KEY: the same credits by window functions. u: the value in cents; k: the
# touch's rank in time in the window; m: the touches in the window.
sql_sql() {
	local ranked="SELECT c.contact_id, t.channel, t.touched_at, t.is_lead, t.is_opp, (c.value * 100)::bigint AS u,
           row_number() OVER (PARTITION BY c.contact_id ORDER BY t.touched_at) AS k,
           count(*) OVER (PARTITION BY c.contact_id) AS m
    FROM $window_join"
	case $1 in
	first_touch | last_touch)
		echo "SELECT $2, sum(value) AS total
FROM (SELECT DISTINCT ON (c.contact_id) c.contact_id, t.channel, c.value
      FROM $window_join
      ORDER BY c.contact_id, t.touched_at $([ "$1" = last_touch ] && echo DESC)) s
GROUP BY $2"
		;;
	linear)
		# u / m each, the u % m cents left over one each to the earliest touches
		echo "SELECT $2, sum(u / m + (k <= u % m)::int) / 100.0 AS total
FROM ($ranked) s
GROUP BY $2"
		;;
	position_based)
		# m = 1: all; m = 2: halves, the odd cent to the first; m >= 3: in units of 1/(100(m-2)),
		# first and last 40(m-2)u each (floor 2u/5, remainder (m-2)(40u mod 100)), the middle
		# touches 20u each (floor u/(5(m-2)), remainder 20u mod 100(m-2)); the L cents left go to
		# the larger remainders first, ties in time order
		echo "SELECT $2, sum(cents) / 100.0 AS total
FROM (SELECT contact_id, channel,
             CASE WHEN m = 1 THEN u
                  WHEN m = 2 THEN u / 2 + (k = 1 AND u % 2 = 1)::int
                  ELSE CASE WHEN k IN (1, m) THEN fe ELSE fm END
                       + (CASE WHEN re > rm THEN CASE WHEN k = 1 THEN l >= 1 WHEN k = m THEN l >= 2 ELSE k <= l - 1 END
                               WHEN re < rm THEN CASE WHEN k = 1 THEN l >= m - 1 WHEN k = m THEN l >= m ELSE k <= l + 1 END
                               ELSE k <= l END)::int END AS cents
      FROM (SELECT *, u - 2 * fe - (m - 2) * fm AS l
            FROM (SELECT *, 2 * u / 5 AS fe, (m - 2) * (40 * u % 100) AS re,
                         CASE WHEN m > 2 THEN u / (5 * (m - 2)) END AS fm,
                         CASE WHEN m > 2 THEN 20 * u % (100 * (m - 2)) END AS rm
                  FROM ($ranked) r) q) s) s
GROUP BY $2"
		;;
	time_decay | w_shaped)
		# weights w (time decay: 2^(-age / 7 days) relative to the newest touch; W-shaped: in
		# units of 1/(100 others), 30 others per role held, 10 for a touch holding none, or 1 per
		# role when every touch holds one); exact quotas u w / W floored, the cents left one
		# each to the largest remainders (ties: earlier touch)
		local weighted
		if [ "$1" = time_decay ]; then
			weighted="SELECT contact_id, channel, k, u, floor(q)::bigint AS f, q - floor(q) AS rem
      FROM (SELECT *, u * (w / sum(w) OVER (PARTITION BY contact_id)) AS q
            FROM (SELECT *, exp(ln(2::float8) * ((date_part('epoch', max(touched_at) OVER (PARTITION BY contact_id)) - date_part('epoch', touched_at)) / -604800.0)) AS w
                  FROM ($ranked) r) r) q"
		else
			weighted="SELECT contact_id, channel, k, u, u * w / ws AS f, u * w % ws AS rem
      FROM (SELECT *, (sum(w) OVER (PARTITION BY contact_id))::bigint AS ws
      FROM (SELECT *, CASE WHEN roles = 0 THEN 10 WHEN others > 0 THEN roles * 30 * others ELSE roles END AS w
            FROM (SELECT *, count(*) FILTER (WHERE roles = 0) OVER (PARTITION BY contact_id) AS others
                  FROM (SELECT *, (k = 1)::int + is_lead::int + is_opp::int AS roles FROM ($ranked) r) r) r) r) r"
		fi
		echo "SELECT $2, sum(cents) / 100.0 AS total
FROM (SELECT contact_id, channel,
             f + (row_number() OVER (PARTITION BY contact_id ORDER BY rem DESC, k) <= u - sum(f) OVER (PARTITION BY contact_id))::int AS cents
      FROM ($weighted) q) s
GROUP BY $2"
		;;
	esac
}

models=(first_touch last_touch linear time_decay position_based w_shaped)

echo "== check: crm and the hand-written SQL give the same credits"
printf '  %-16s %-26s %-34s %s\n' model 'per-channel totals equal' 'crm (per channel) = SQL per channel' 'conversions whose credits differ'
# check LABEL MODEL HAND: crm's credits of MODEL against the hand-written query HAND (sql_sql or
# lateral_sql) per (conversion, channel), and crm's credit per channel against HAND's totals
check() {
	psql_bench -At -F ' ' <<-SQL | { read -r equal per_channel differ; printf '  %-16s %-26s %-34s %s\n' "$1" "$equal" "$per_channel" "$differ"; }
		SET max_parallel_workers_per_gather = 0;
		WITH a AS MATERIALIZED ($(crm_sql "$2" 'contact_id, channel')),
		     b AS MATERIALIZED ($("$3" "$2" 'contact_id, channel')),
		     ab AS MATERIALIZED (SELECT contact_id, channel, coalesce(a.total, 0) AS x, coalesce(b.total, 0) AS y
		                         FROM a FULL JOIN b USING (contact_id, channel)),
		     c AS MATERIALIZED ($(crm_sql "$2" channel))
		SELECT (SELECT bool_and(x = y) FROM (SELECT channel, sum(x) AS x, sum(y) AS y FROM ab GROUP BY channel) t),
		       (SELECT count(*) = (SELECT count(DISTINCT channel) FROM ab) AND bool_and(c.total = t.y)
		        FROM c JOIN (SELECT channel, sum(y) AS y FROM ab GROUP BY channel) t USING (channel)),
		       (SELECT count(DISTINCT contact_id) FROM ab WHERE x <> y);
	SQL
}
for model in "${models[@]}"; do
	check "$model" "$model" sql_sql
done
for model in first_touch last_touch; do
	check "${model/_touch/} LATERAL" "$model" lateral_sql
done

queries=()
for model in "${models[@]}"; do
	queries+=("$(crm_sql "$model" channel)" "$(sql_sql "$model" channel)")
done
queries+=("$(lateral_sql first_touch channel)" "$(lateral_sql last_touch channel)")
floor_query="SELECT count(*) FROM (SELECT count(*) FROM $window_join GROUP BY c.contact_id) s"
read -r -a ms < <(time_queries "SET max_parallel_workers_per_gather = 0;" "SELECT count(*) FROM bench_touches" "$floor_query" "${queries[@]}")
n_models=${#models[@]}
lateral_first=${ms[$((2 + 2 * n_models))]} lateral_last=${ms[$((3 + 2 * n_models))]}
echo "== credit per channel over $conversions conversions, one process (median of $runs, ms)"
printf '  count(*) over the touches %9.1f\n' "${ms[0]}"
printf '  floor: the window join grouped by conversion (count(*) per group) %9.1f\n' "${ms[1]}"
printf '  %-16s %10s %10s %10s %12s %12s %14s\n' model crm SQL LATERAL 'crm / SQL' 'crm / floor' 'crm us/conv'
for i in "${!models[@]}"; do
	c=${ms[$((2 + 2 * i))]} s=${ms[$((3 + 2 * i))]} l=-
	case ${models[$i]} in
	first_touch) l=$(printf '%.1f' "$lateral_first") ;;
	last_touch) l=$(printf '%.1f' "$lateral_last") ;;
	esac
	best=$s
	[ "$l" != - ] && [ "$(echo "$l < $s" | bc -l)" = 1 ] && best=$l
	printf '  %-16s %10.1f %10.1f %10s %12.2f %12.2f %14.2f\n' "${models[$i]}" "$c" "$s" "$l" "$(echo "$c / $best" | bc -l)" \
		"$(echo "$c / ${ms[1]}" | bc -l)" "$(echo "$c * 1000 / $conversions" | bc -l)"
done
echo "   crm / SQL: to the fastest hand-written form (for first and last touch the faster of DISTINCT ON and LATERAL)"
echo "   target (issue 19): crm / SQL <= 1 for every rule-based model"
psql_bench -c "DROP TABLE bench_touches, bench_conversions"

echo "== Markov: $journeys journeys (1 to 6 touches over 8 channels, a quarter converting)"
psql_bench <<SQL
SELECT setseed(0.29) \g /dev/null
DROP TABLE IF EXISTS bench_journeys, bench_markov20;
CREATE TABLE bench_journeys WITH (parallel_workers = 0) AS
SELECT i, ARRAY(SELECT (ARRAY['search', 'email', 'social', 'display', 'direct', 'referral', 'affiliate', 'video'])[1 + floor(random() * 8)::int]
                FROM generate_series(1, n)) AS path,
       random() < 0.25 AS converted, round((10 + random() * 490)::numeric, 2) AS value
FROM (SELECT i, 1 + floor(6 * random() ^ 2)::int AS n FROM generate_series(1, $journeys) i) s;
VACUUM (FREEZE, ANALYZE) bench_journeys;
-- a fitted 20-channel model: 200,000 journeys of 1 to 8 touches, popular channels more often
CREATE TABLE bench_markov20 AS
SELECT crm.markov_attribution(path, converted, value) AS model
FROM (SELECT ARRAY(SELECT 'channel ' || lpad((1 + floor(20 * random() ^ 2))::int::text, 2, '0') FROM generate_series(1, n)) AS path,
             random() < 0.2 + 0.02 * n AS converted, round((10 + random() * 490)::numeric, 2) AS value
      FROM (SELECT i, 1 + floor(8 * random())::int AS n FROM generate_series(1, 200000) i) s) j;
SQL
psql_bench -At -c "SELECT '   20-channel model: ' || count(*) || ' channels, ' || count(*) FILTER (WHERE removal_effect > 0) || ' with a positive removal effect, shares sum to ' || round(sum(share)::numeric, 12)
                   FROM bench_markov20 m, crm.markov_removal_effects(m.model)"
read -r count_ms fit_ms read_ms effects_ms < <(time_queries "SET max_parallel_workers_per_gather = 0;" \
	"SELECT count(*) FROM bench_journeys" \
	"SELECT crm.markov_attribution(path, converted, value) IS NOT NULL FROM bench_journeys" \
	"SELECT model IS NOT NULL FROM bench_markov20" \
	"SELECT sum(credit) FROM bench_markov20 m, crm.markov_removal_effects(m.model)")
echo "== Markov, one process (median of $runs, ms)"
printf '  count(*) over the journeys                       %9.1f\n' "$count_ms"
printf '  crm.markov_attribution (the fit)                 %9.1f   (%.2f us per journey)\n' "$fit_ms" "$(echo "($fit_ms - $count_ms) * 1000 / $journeys" | bc -l)"
printf '  reading the stored 20-channel model              %9.3f\n' "$read_ms"
printf '  crm.markov_removal_effects, 20 channels          %9.3f   (target 1000 ms: %s)\n' "$effects_ms" \
	"$(echo "$effects_ms < 1000" | bc -l | sed 's/1/met/; s/0/not met/')"
psql_bench -c "DROP TABLE bench_journeys, bench_markov20"
echo "== total $((SECONDS - start_s)) s"
