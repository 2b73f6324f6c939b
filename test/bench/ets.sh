#!/usr/bin/env bash
# Benchmark: crm.ets_fit on ETS_SEGMENTS monthly series of ETS_POINTS points each (the issue: 10,000
# segments x 120 months, target under 10 s), one fit per segment (GROUP BY), beside the floor of
# reading the same rows in the same run: count(*) and array_agg(value ORDER BY period) per segment.
# Per model: ETS(A,N,N), ETS(A,A,N), ETS(A,A,A), ETS(M,A,M) over all segments; the automatic
# selection ('ZZZ', 15 candidate models as forecast::ets) over the first ETS_ZZZ_SEGMENTS segments
# only (it costs about the sum of its candidates), scaled to all segments in the printout.
# Single process (max_parallel_workers_per_gather = 0); wall-clock medians of $runs interleaved runs,
# then the backend's CPU time of one more run of each (the wall clock on a shared machine counts
# the time other processes hold the cores). RUNS defaults to 1. Then ETS(A,A,A) and ETS(M,A,M) over
# the same segments split over ETS_SESSIONS concurrent sessions (default: one per core).
# Run with: scripts/bench test/bench/ets.sh   (ETS_SEGMENTS=N ETS_ZZZ_SEGMENTS=M for other sizes)
set -euo pipefail

runs=${RUNS:-1}
segments=${ETS_SEGMENTS:-10000}
points=${ETS_POINTS:-120}
zzz_segments=${ETS_ZZZ_SEGMENTS:-200}
source "$(dirname "$0")/lib.bash"
bench_record ets ETS_SEGMENTS ETS_POINTS ETS_ZZZ_SEGMENTS RUNS

echo "== setup: $segments segments x $points months: trend, a yearly season of +-20% and 5% noise, positive"
psql_bench <<SQL
SELECT setseed(0.62) \g /dev/null
DROP TABLE IF EXISTS bench_ets;
CREATE TABLE bench_ets AS
SELECT s AS segment, (date '2016-01-01' + make_interval(months => i - 1))::date AS period,
       (1000 + (s * 37) % 500 + (2 + s % 5) * i) * (1 + 0.2 * sin(pi() * i / 6 + s))
       * (1 + 0.05 * (random() - 0.5)) AS value
FROM generate_series(1, $segments) s, generate_series(1, $points) i;
VACUUM (FREEZE, ANALYZE) bench_ets;
SQL

serial="SET max_parallel_workers_per_gather = 0;"
fit() { echo "SELECT count(crm.ets_aicc(m)) FROM (SELECT segment, crm.ets_fit(period, value, 12, '$1') AS m FROM bench_ets ${2:-} GROUP BY segment) s"; }
read -r count_ms array_ms ann_ms aan_ms aaa_ms mam_ms zzz_ms < <(time_queries "$serial" \
	"SELECT count(n) FROM (SELECT segment, count(*) AS n FROM bench_ets GROUP BY segment) s" \
	"SELECT count(a) FROM (SELECT segment, array_agg(value ORDER BY period) AS a FROM bench_ets GROUP BY segment) s" \
	"$(fit ANN)" "$(fit AAN)" "$(fit AAA)" "$(fit MAM)" "$(fit ZZZ "WHERE segment <= $zzz_segments")")

# The own CPU time of the backend for each fit (utime + stime of /proc/self/stat, read through
# pg_read_file, 10 ms resolution), one more run of each: on this shared machine the wall clock also
# counts the time other processes hold the cores, the CPU time only the work of the fit.
tick=$(getconf CLK_TCK)
cpu_now="SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint AS t FROM pg_read_file('/proc/self/stat') s"
cpu_queries() {
	local script
	script=$(
		echo "$serial"
		for query in "$@"; do
			echo "$cpu_now \\gset cpu_"
			echo "$query \\g /dev/null"
			echo "SELECT (($cpu_now) - :cpu_t) * 1000 / $tick;"
		done
	)
	psql_bench -At <<<"$script" | tr '\n' ' '
}
array_query="SELECT count(a) FROM (SELECT segment, array_agg(value ORDER BY period) AS a FROM bench_ets GROUP BY segment) s"
if cpu=$(cpu_queries "$array_query" "$(fit ANN)" "$(fit AAN)" "$(fit AAA)" "$(fit MAM)" "$(fit ZZZ "WHERE segment <= $zzz_segments")" 2>/dev/null); then
	read -r array_cpu ann_cpu aan_cpu aaa_cpu mam_cpu zzz_cpu <<<"$cpu"
else
	array_cpu=0 ann_cpu=0 aan_cpu=0 aaa_cpu=0 mam_cpu=0 zzz_cpu=0	# /proc not readable: no CPU figures
fi

echo "== the models ZZZ chose over the first $zzz_segments segments"
psql_bench <<SQL
SELECT crm.ets_method(m) AS method, count(*) AS segments, count(*) FILTER (WHERE crm.ets_converged(m)) AS converged
FROM (SELECT segment, crm.ets_fit(period, value, 12) AS m FROM bench_ets WHERE segment <= $zzz_segments GROUP BY segment) s
GROUP BY 1 ORDER BY 2 DESC, 1;
SQL

per() { echo "$1 / $2" | bc -l; }
echo "== $segments segments x $points months, one process (wall: median of $runs, ms; cpu: the backend's CPU time, one run, ms; target for all segments < 10000 ms)"
printf '  count(*) per segment                        %10.1f\n' "$count_ms"
printf '  array_agg(value ORDER BY period) per segment %9.1f   cpu %8.0f\n' "$array_ms" "$array_cpu"
line() { printf '  %-28s wall %10.1f (%6.3f ms a segment)   cpu %8.0f (%6.3f ms a segment)\n' "$1" "$2" "$(per "$2" "$4")" "$3" "$(per "$3" "$4")"; }
line "ets_fit ETS(A,N,N)" "$ann_ms" "$ann_cpu" "$segments"
line "ets_fit ETS(A,A,N)" "$aan_ms" "$aan_cpu" "$segments"
line "ets_fit ETS(A,A,A)" "$aaa_ms" "$aaa_cpu" "$segments"
line "ets_fit ETS(M,A,M)" "$mam_ms" "$mam_cpu" "$segments"
line "ets_fit ZZZ, $zzz_segments segments" "$zzz_ms" "$zzz_cpu" "$zzz_segments"
printf '  ZZZ scaled to %d segments: wall %.0f ms, cpu %.0f ms\n' "$segments" \
	"$(echo "$zzz_ms * $segments / $zzz_segments" | bc -l)" "$(echo "$zzz_cpu * $segments / $zzz_segments" | bc -l)"

# The fits of different segments are independent: the same segments split over $sessions sessions
# at once (ETS_SESSIONS, default one per core; segment % sessions = k in session k), the wall clock
# from the first connection to the last session's end (connections included), one run each.
sessions=${ETS_SESSIONS:-$(nproc)}
split_wall() {
	local start k
	start=$(date +%s%N)
	for ((k = 0; k < sessions; k++)); do
		psql_bench -At -c "$serial" -c "$(fit "$1" "WHERE segment % $sessions = $k")" >/dev/null &
	done
	wait
	echo $((($(date +%s%N) - start) / 1000000))
}
echo "== the same $segments segments split over $sessions concurrent sessions (wall clock of all, one run, ms; target < 10000 ms)"
for model in AAA MAM; do
	ms=$(split_wall $model)
	printf '  ets_fit ETS(%s)           wall %10.1f (%6.3f ms a segment)\n' "$(echo $model | sed 's/./&,/g; s/,$//')" "$ms" "$(per "$ms" "$segments")"
done
psql_bench -c "DROP TABLE bench_ets"
