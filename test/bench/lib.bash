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


# bench_record NAME [VAR...]: from here on, everything the benchmark prints also goes to a
# capture; when it ends successfully its section of docs/benchmarks.md, between the markers
# <!-- bench:NAME:begin --> and <!-- bench:NAME:end -->, is rewritten with the date, the
# commit, the machine, the exact command (the VARs that are set, such as CUSTOMERS=20000, are
# part of it) and what it printed. A failed run leaves the file as it was. The section is added
# at the end of the file if its markers are missing. CRM_BENCH_RESULTS=FILE writes elsewhere;
# CRM_BENCH_RESULTS=none writes nothing. A script writing a block not named after itself (one of
# several parts it can run) says its own name: bench_script=citus bench_record citus_fits ...
bench_record() {
	bench_name=$1
	shift
	local var
	bench_command=
	for var in "$@"; do
		if printenv "$var" >/dev/null; then
			bench_command+="$var=$(printenv "$var") "
		fi
	done
	bench_command+="scripts/bench test/bench/${bench_script:-$bench_name}.sh"
	bench_output=$(mktemp)
	bench_cleanup_files+=("$bench_output")
	exec {bench_stdout}>&1
	exec > >(tee "$bench_output")
	bench_tee_pid=$!
	trap 'bench_finish $?' EXIT
}
bench_cleanup_files=()

bench_finish() {
	local status=$1
	trap - EXIT
	set +e
	if [ -n "${bench_tee_pid:-}" ]; then
		exec >&"$bench_stdout" {bench_stdout}>&-  # closing tee's input ends it
		wait "$bench_tee_pid"
	fi
	if [ "$status" -eq 0 ] && [ -n "${bench_name:-}" ]; then
		bench_write_results
	fi
	rm -f "${bench_cleanup_files[@]}"
	exit "$status"
}

# bench_machine: one line describing where the benchmark ran.
bench_machine() {
	local cpu memory server
	cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
	memory=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
	# A benchmark whose server is gone by the time it ends (test/bench/citus.sh) sets bench_server.
	server=${bench_server:-}
	[ -n "$server" ] || server=$(psql -X -A -t -c "SELECT 'PostgreSQL ' || current_setting('server_version')
		|| ', shared_buffers ' || current_setting('shared_buffers')
		|| ', work_mem ' || current_setting('work_mem')
		|| ', max_parallel_workers_per_gather ' || current_setting('max_parallel_workers_per_gather')" 2>/dev/null)
	printf '%s CPUs (nproc), %s memory, %s; %s\n' "$(nproc)" "${memory:-unknown}" "${cpu:-unknown CPU}" \
		"${server:-PostgreSQL version unknown}"
}

bench_write_results() {
	local root file block commit
	root=${CRM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
	file=${CRM_BENCH_RESULTS:-$root/docs/benchmarks.md}
	[ "$file" = none ] && return 0
	commit=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
	block=$(mktemp)
	bench_cleanup_files+=("$block" "$block.new")
	{
		echo "<!-- bench:$bench_name:begin -->"
		echo "Written by the benchmark script itself; do not edit by hand."
		echo
		echo "- Run: $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$commit\`"
		echo "- Command: \`$bench_command\`"
		echo "- Machine: $(bench_machine)"
		echo
		echo '```text'
		sed 's/\r$//' "$bench_output"
		echo '```'
		echo "<!-- bench:$bench_name:end -->"
	} >"$block"
	[ -f "$file" ] || printf '# Benchmark results\n' >"$file"
	awk -v name="$bench_name" -v blockfile="$block" '
		function emit(   line) { while ((getline line < blockfile) > 0) print line; close(blockfile); done = 1 }
		$0 == "<!-- bench:" name ":begin -->" { emit(); skipping = 1; next }
		skipping && $0 == "<!-- bench:" name ":end -->" { skipping = 0; next }
		skipping { next }
		{ print }
		END {
			if (skipping) exit 1  # a begin marker without its end: leave the file alone
			if (!done) { print ""; print "## " name; print ""; emit() }
		}' "$file" >"$block.new" && cat "$block.new" >"$file" &&
		echo "bench: results written to $file" >&2 ||
		echo "bench: could not update $file (a begin marker without its end?)" >&2
}
