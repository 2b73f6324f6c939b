#!/usr/bin/env bash
# Benchmark: crm.kmeans on 1 million 3-dimensional points with k = 8, on clustered data (8 blobs
# with overlapping tails) and on structureless data (uniform in a cube, where Lloyd's iterations
# run longest), beside count(*) and the averages of the three coordinates over the same rows
# (which read the same arrays). Medians of $runs interleaved runs (psql \timing).
# Run with: scripts/bench test/bench/kmeans.sh
set -euo pipefail

runs=3
source "$(dirname "$0")/lib.bash"
bench_record kmeans

echo "== setup: 1,000,000 points in 3 dimensions, twice"
psql_bench <<'SQL'
SELECT setseed(0.7) \g /dev/null
-- Eight blobs at the corners of a cube of side 10, each point a normal draw (sd 2) around its corner.
CREATE TABLE bench_blobs AS
SELECT ARRAY[10 * (i % 2) + 2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()),
             10 * (i / 2 % 2) + 2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()),
             10 * (i / 4 % 2) + 2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())]::float8[] AS f
FROM generate_series(1, 1000000) i;
CREATE TABLE bench_uniform AS
SELECT ARRAY[random(), random(), random()]::float8[] AS f FROM generate_series(1, 1000000) i;
-- the same rows, never scanned by parallel workers: the aggregate's time in one process
CREATE TABLE bench_blobs_serial WITH (parallel_workers = 0) AS SELECT * FROM bench_blobs;
CREATE TABLE bench_uniform_serial WITH (parallel_workers = 0) AS SELECT * FROM bench_uniform;
VACUUM (FREEZE, ANALYZE) bench_blobs, bench_uniform, bench_blobs_serial, bench_uniform_serial;
SQL

for table in bench_blobs bench_uniform; do
	read -r count_ms avg_ms serial_ms parallel_ms < <(time_queries "" \
		"SELECT count(*) FROM $table" \
		"SELECT avg(f[1]), avg(f[2]), avg(f[3]) FROM $table" \
		"SELECT crm.kmeans(f, 8) FROM ${table}_serial" \
		"SELECT crm.kmeans(f, 8) FROM $table")
	echo "== $table: crm.kmeans(f, 8) over 1M points (median of $runs, ms; target < 5000)"
	printf '  count(*)                        %9.1f\n' "$count_ms"
	printf '  avg() of the three coordinates  %9.1f\n' "$avg_ms"
	printf '  crm.kmeans, one process         %9.1f   (%.1f x the averages)\n' "$serial_ms" "$(echo "$serial_ms / $avg_ms" | bc -l)"
	printf '  crm.kmeans, parallel plan       %9.1f\n' "$parallel_ms"
done
