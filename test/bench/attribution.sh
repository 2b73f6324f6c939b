#!/usr/bin/env bash
# Benchmark: multi-touch attribution over 1,000,000 journeys (1 to 6 touches over 8 channels, a
# quarter converting, values with cents), in one process, beside count(*) on the same table: (1)
# crm.attribute with the linear and the time_decay model for every journey (the credits summed),
# (2) the Markov fit crm.markov_attribution(path, converted, value) over all journeys, and (3)
# reading its removal effects (the exact solve). Medians of $runs interleaved runs.
# Run with: scripts/bench test/bench/attribution.sh
set -euo pipefail

runs=${RUNS:-5}
journeys=${ATTRIBUTION_JOURNEYS:-1000000}
source "$(dirname "$0")/lib.bash"
bench_record attribution ATTRIBUTION_JOURNEYS RUNS

echo "== setup: $journeys journeys"
psql_bench <<SQL
SELECT setseed(0.23) \g /dev/null
DROP TABLE IF EXISTS bench_journeys;
CREATE TABLE bench_journeys WITH (parallel_workers = 0) AS
SELECT i, ARRAY(SELECT (ARRAY['search', 'email', 'social', 'display', 'direct', 'referral', 'affiliate', 'video'])[1 + floor(random() * 8)::int]
                FROM generate_series(1, n)) AS path,
       ARRAY(SELECT timestamptz '2026-01-01' + (k * 2 + random()) * interval '1 day' FROM generate_series(1, n) k) AS touched_at,
       random() < 0.25 AS converted, round((10 + random() * 490)::numeric, 2) AS value
FROM (SELECT i, 1 + floor(6 * random() ^ 2)::int AS n FROM generate_series(1, $journeys) i) s;
VACUUM (FREEZE, ANALYZE) bench_journeys;
SQL

echo "== check: the credits sum to the values"
psql_bench -At -c "SELECT '   linear ' || sum(c) || ' = ' || (SELECT sum(value) FROM bench_journeys)
                   FROM bench_journeys, LATERAL (SELECT sum(credit) AS c FROM crm.attribute(path, touched_at, value, 'linear')) a"

read -r count_ms linear_ms decay_ms fit_ms effects_ms < <(time_queries "SET max_parallel_workers_per_gather = 0;" \
	"SELECT count(*) FROM bench_journeys" \
	"SELECT sum(a.credit) FROM bench_journeys, crm.attribute(path, touched_at, value, 'linear') a" \
	"SELECT sum(a.credit) FROM bench_journeys, crm.attribute(path, touched_at, value, 'time_decay', half_life => '7 days') a" \
	"SELECT crm.markov_attribution(path, converted, value) IS NOT NULL FROM bench_journeys" \
	"SELECT sum(credit) FROM crm.markov_removal_effects((SELECT crm.markov_attribution(path, converted, value) FROM bench_journeys))")
echo "== $journeys journeys, one process (median of $runs, ms)"
printf '  count(*)                                         %9.1f\n' "$count_ms"
printf '  crm.attribute, linear, every journey             %9.1f   (%.2f us per journey)\n' "$linear_ms" "$(echo "($linear_ms - $count_ms) * 1000 / $journeys" | bc -l)"
printf '  crm.attribute, time_decay, every journey         %9.1f   (%.2f us per journey)\n' "$decay_ms" "$(echo "($decay_ms - $count_ms) * 1000 / $journeys" | bc -l)"
printf '  crm.markov_attribution (the fit)                 %9.1f   (%.2f us per journey)\n' "$fit_ms" "$(echo "($fit_ms - $count_ms) * 1000 / $journeys" | bc -l)"
printf '  the fit + crm.markov_removal_effects             %9.1f\n' "$effects_ms"
psql_bench -c "DROP TABLE bench_journeys"
