#!/usr/bin/env bash
# Benchmark: crm.generate_demo_data(100000, 42, '2026-06-30') in a fresh database, RUNS times
# (default 3). Each run is paired with a baseline measured right after it, in the same database:
# writing the same total number of rows, narrow and unindexed, into one plain table (what the
# machine does with no generator logic, indexes or jsonb). Prints each run, the medians, the
# median of the per-run ratios (robust to the load of a shared machine) and the rows per table.
#
#   scripts/bench test/bench/demo_data.sh         CUSTOMERS=20000 RUNS=1 to try it smaller
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
source "$(dirname "$0")/lib.bash"
bench_record demo_data CUSTOMERS RUNS

customers=${CUSTOMERS:-100000}
runs=${RUNS:-3}
as_of=2026-06-30
db=crm_bench_demo_data

seconds() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

times=() baselines=() ratios=()
for run in $(seq "$runs"); do
	dropdb --if-exists "$db"
	createdb "$db"
	psql -q -X -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION crm; CREATE EXTENSION crm_demo;'
	start=$(seconds)
	summary=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$db" -c "SELECT crm.generate_demo_data($customers, 42, '$as_of')")
	end=$(seconds)
	times+=("$(echo "$end - $start" | bc)")
	total_rows=$(psql -X -A -t -d "$db" -c "SELECT sum(value::bigint) FROM jsonb_each_text('$summary'::jsonb)")
	start=$(seconds)
	psql -q -X -v ON_ERROR_STOP=1 -d "$db" -c "CREATE TABLE bench_baseline AS
		SELECT g AS id, timestamptz '2026-01-01' + g * interval '1 second' AS at, 'row ' || g AS note
		FROM generate_series(1, $total_rows) AS g;"
	end=$(seconds)
	baselines+=("$(echo "$end - $start" | bc)")
	ratios+=("$(echo "${times[-1]} / ${baselines[-1]}" | bc -l)")
	printf 'run %d: generate_demo_data(%d, 42, %s): %.2f s; baseline (%d rows): %.2f s; ratio %.1fx\n' \
		"$run" "$customers" "$as_of" "${times[-1]}" "$total_rows" "${baselines[-1]}" "${ratios[-1]}"
done
dropdb "$db"

generate_median=$(printf '%s\n' "${times[@]}" | median)
echo
echo "rows per table ($total_rows in all):"
echo "$summary" | tr -d '{}"' | tr ',' '\n' | sed 's/^ */  /' | sort
echo
printf 'generate_demo_data(%d customers): median of %d: %.2f s (%.0f rows/s)\n' \
	"$customers" "$runs" "$generate_median" "$(echo "$total_rows / $generate_median" | bc -l)"
printf 'baseline, %d narrow rows into one unindexed table: median %.2f s\n' \
	"$total_rows" "$(printf '%s\n' "${baselines[@]}" | median)"
printf 'ratio generate / baseline: median %.1fx\n' "$(printf '%s\n' "${ratios[@]}" | median)"
