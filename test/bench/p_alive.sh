#!/usr/bin/env bash
# Benchmark: crm.bgnbd_p_alive for 1,000,000 customers, in one process, beside (1) the same scan
# summing the three columns in SQL and count(*), the executor's floor, and (2) the same formula
# over the same customers in a standalone C program (compiled here with -O2, libm), evaluated the
# way lifetimes' NumPy code does it (BetaGeoFitter.conditional_probability_alive: one log of the
# ratio of ages, one log of a / (b + x - 1), one exp; published at 73 ms per million customers).
# The C loop is the floor for any implementation of the formula on this machine; the SQL figures
# add PostgreSQL's per-row cost. Medians of $runs interleaved runs.
# Run with: scripts/bench test/bench/p_alive.sh
set -euo pipefail

runs=${RUNS:-5}
customers=${ALIVE_CUSTOMERS:-1000000}
source "$(dirname "$0")/lib.bash"
bench_record p_alive ALIVE_CUSTOMERS RUNS

work=$(mktemp -d)
bench_cleanup_files+=("$work/alive.c" "$work/alive" "$work/customers.csv")
trap 'rm -rf "$work"; bench_finish $?' EXIT
model="ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true)::crm.bgnbd_model"

echo "== setup: $customers customer summaries (x 0-20 repeat purchases, T 1-104 weeks, t_x in (0, T])"
psql_bench <<SQL
SELECT setseed(0.11) \g /dev/null
DROP TABLE IF EXISTS bench_alive;
CREATE TABLE bench_alive WITH (parallel_workers = 0) AS
SELECT x, CASE WHEN x = 0 THEN 0 ELSE big_t * (0.01 + 0.99 * random()) END AS t_x, big_t
FROM (SELECT floor(21 * random() ^ 3)::int AS x, 1 + 103 * random() AS big_t FROM generate_series(1, $customers)) s;
VACUUM (FREEZE, ANALYZE) bench_alive;
SQL
psql_bench -c "\\copy (SELECT x, t_x, big_t FROM bench_alive) TO '$work/customers.csv' WITH (FORMAT csv)"

cat >"$work/alive.c" <<'C'
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
/* P(alive) as lifetimes computes it: 1 for x = 0, else 1 / (1 + exp(log_div)). */
int main(int argc, char **argv)
{
	const double r = 0.243, alpha = 4.414, a = 0.793, b = 2.426;
	int n = 0, cap = 1 << 20, runs = atoi(argv[2]);
	int *x = malloc(sizeof(int) * cap);
	double *tx = malloc(sizeof(double) * cap), *T = malloc(sizeof(double) * cap), *p, ms[64], sum = 0;
	FILE *f = fopen(argv[1], "r");
	while (fscanf(f, "%d,%lf,%lf", &x[n], &tx[n], &T[n]) == 3)
		if (++n == cap) { cap *= 2; x = realloc(x, sizeof(int) * cap); tx = realloc(tx, sizeof(double) * cap); T = realloc(T, sizeof(double) * cap); }
	p = malloc(sizeof(double) * n);
	for (int run = 0; run < runs; run++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < n; i++) {
			double log_div = (r + x[i]) * log((alpha + T[i]) / (alpha + tx[i])) + log(a / (b + (x[i] > 1 ? x[i] : 1) - 1));
			p[i] = x[i] == 0 ? 1.0 : 1.0 / (1.0 + exp(log_div));
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms[run] = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	}
	for (int i = 0; i < n; i++) sum += p[i];
	for (int i = 1; i < runs; i++) for (int j = i; j > 0 && ms[j - 1] > ms[j]; j--) { double t = ms[j]; ms[j] = ms[j - 1]; ms[j - 1] = t; }
	printf("%.1f %.9f\n", ms[runs / 2], sum);
	return 0;
}
C
cc -O2 -o "$work/alive" "$work/alive.c" -lm
read -r c_ms c_sum < <("$work/alive" "$work/customers.csv" "$runs")

echo "== check: the sums of P(alive) agree"
psql_bench -At -c "SELECT '   crm ' || round(sum(crm.bgnbd_p_alive($model, x, t_x, big_t))::numeric, 6) || ', C (lifetimes formula) ' || round($c_sum, 6) FROM bench_alive"

read -r count_ms scan_ms alive_ms < <(time_queries "SET max_parallel_workers_per_gather = 0;" \
	"SELECT count(*) FROM bench_alive" \
	"SELECT sum(x + t_x + big_t) FROM bench_alive" \
	"SELECT sum(crm.bgnbd_p_alive($model, x, t_x, big_t)) FROM bench_alive")
echo "== $customers customers, one process (median of $runs, ms)"
printf '  count(*)                                     %8.1f\n' "$count_ms"
printf '  sum(x + t_x + T): the same scan, in SQL      %8.1f\n' "$scan_ms"
printf '  sum(crm.bgnbd_p_alive(...))                  %8.1f   (%.1f ms above the scan)\n' "$alive_ms" "$(echo "$alive_ms - $scan_ms" | bc -l)"
printf '  C loop, lifetimes formula, no SQL            %8.1f\n' "$c_ms"
psql_bench -c "DROP TABLE bench_alive"
