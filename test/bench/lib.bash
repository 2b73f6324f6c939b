# test/bench/lib.bash: what the benchmarks share. Sourced.

psql_bench() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# time_queries SETTINGS QUERY...: prints the median milliseconds of each query (over $runs runs),
# in order. The runs are interleaved, so that noise from other work hits every query alike.
time_queries() {
	local settings=$1
	shift
	local script
	script=$(
		echo "$settings"
		# one untimed warm-up run of each, then the timed runs, interleaved
		for query in "$@"; do echo "$query;"; done
		echo '\timing on'
		for ((run = 0; run < runs; run++)); do
			for query in "$@"; do echo "$query;"; done
		done
	)
	psql_bench -At <<<"$script" | awk -v n=$# -v runs=$runs '
		/^Time: / { t[count % n, int(count / n)] = $2; count++ }
		END {
			for (q = 0; q < n; q++) {
				# insertion sort of the runs of query q, then the middle one
				for (r = 0; r < runs; r++) {
					x = t[q, r] + 0
					for (i = r; i > 0 && v[i - 1] > x; i--) v[i] = v[i - 1]
					v[i] = x
				}
				printf "%s%s", (q ? " " : ""), v[int(runs / 2)]
			}
			print ""
		}'
}

