#!/usr/bin/env bash
# Benchmark: crm.generate_demo_data(100000, 42) in a fresh database, RUNS times (default 3).
# Prints each run's seconds, the median, the rows per table, and the ratio to a baseline
# measured in the same run: writing the same total number of rows, narrow and unindexed,
# into one plain table (what the machine does with no generator logic, indexes or jsonb).
#
#   scripts/bench test/bench/demo_data.sh         CUSTOMERS=20000 RUNS=1 to try it smaller
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"

customers=${CUSTOMERS:-100000}
runs=${RUNS:-3}
as_of=2026-06-30
db=crm_bench_demo_data

seconds() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

times=()
for run in $(seq "$runs"); do
	dropdb --if-exists "$db" 2>/dev/null
	createdb "$db"
	psql -q -X -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION crm;'
	start=$(seconds)
	summary=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$db" -c "SELECT crm.generate_demo_data($customers, 42, '$as_of')")
	end=$(seconds)
	times+=("$(echo "$end - $start" | bc)")
	printf 'run %d: generate_demo_data(%d, 42, %s): %.2f s\n' "$run" "$customers" "$as_of" "${times[-1]}"
done
total_rows=$(psql -X -A -t -d "$db" -c "SELECT sum(value::bigint) FROM jsonb_each_text('$summary'::jsonb)")

baseline=()
for run in $(seq "$runs"); do
	psql -q -X -d "$db" -c 'DROP TABLE IF EXISTS bench_baseline;'
	start=$(seconds)
	psql -q -X -v ON_ERROR_STOP=1 -d "$db" -c "CREATE TABLE bench_baseline AS
		SELECT g AS id, timestamptz '2026-01-01' + g * interval '1 second' AS at, 'row ' || g AS note
		FROM generate_series(1, $total_rows) AS g;"
	end=$(seconds)
	baseline+=("$(echo "$end - $start" | bc)")
done
dropdb "$db"

generate_median=$(printf '%s\n' "${times[@]}" | median)
baseline_median=$(printf '%s\n' "${baseline[@]}" | median)
echo
echo "rows per table ($total_rows in all):"
echo "$summary" | tr -d '{}"' | tr ',' '\n' | sed 's/^ */  /' | sort
echo
printf 'generate_demo_data(%d customers): median of %d: %.2f s (%.0f rows/s)\n' \
	"$customers" "$runs" "$generate_median" "$(echo "$total_rows / $generate_median" | bc -l)"
printf 'baseline, %d narrow rows into one unindexed table: median %.2f s\n' "$total_rows" "$baseline_median"
printf 'ratio generate / baseline: %.1fx\n' "$(echo "$generate_median / $baseline_median" | bc -l)"
