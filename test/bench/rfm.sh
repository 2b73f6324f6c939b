#!/usr/bin/env bash
# Benchmark: RFM scores of 1 million customers over 10 million orders, beside hand-written SQL
# with window functions in the same run: the usual ntile() query (which scatters ties over
# several scores) and the fair rank() query that gives the same answer as crm.rfm_scores.
# Medians of $runs interleaved runs (psql \timing). Every timed query reads every column.
# Run with: scripts/bench test/bench/rfm.sh
set -euo pipefail

runs=5
source "$(dirname "$0")/lib.bash"
bench_record rfm

echo "== setup: 1,000,000 customers, 10,000,000 orders over 3 years"
psql_bench <<'SQL'
SET session_replication_role = replica;  -- bulk load: no per-row FK checks
INSERT INTO crm.contacts (contact_id, first_name) SELECT i, 'c' || i FROM generate_series(1, 1000000) i;
-- Every customer orders once; the other 9M orders go to a skewed 40% of them, so that, as in most
-- shops, most customers have exactly one order. Random days, totals from 5 to 500.
INSERT INTO crm.orders (contact_id, ordered_at, status, total)
SELECT CASE WHEN i <= 1000000 THEN i
            ELSE 1 + (abs(hashint4(i)::bigint) % 400000) * (abs(hashint4(i)::bigint) % 400000) / 400000 END,
       timestamptz '2023-07-01' + (abs(hashint4(i + 7)::bigint) % 1095) * interval '1 day' + interval '12 hours',
       CASE WHEN i % 50 = 0 THEN 'cancelled' ELSE 'paid' END, 5 + abs(hashint4(i + 11)::bigint) % 49600 / 100.0
FROM generate_series(1, 10000000) i;
VACUUM (FREEZE, ANALYZE) crm.orders;
SQL
psql_bench -At -c "SELECT '   ' || count(DISTINCT contact_id) || ' customers with orders' FROM crm.orders"

as_of="'2026-07-01'"
function_query="SELECT * FROM crm.rfm_scores($as_of)"
# The fair scores by hand: rank() - 1 counts the customers strictly worse.
fair_sql="WITH p AS (
    SELECT contact_id, floor(extract(epoch FROM timestamptz $as_of - max(ordered_at)) / 86400)::int AS recency,
           count(*)::int AS frequency, sum(total) AS monetary
    FROM crm.orders WHERE status IN ('paid', 'shipped') AND ordered_at < $as_of GROUP BY contact_id)
SELECT contact_id, recency, frequency, monetary,
       1 + 5 * (rank() OVER (ORDER BY recency DESC) - 1) / count(*) OVER () AS r,
       1 + 5 * (rank() OVER (ORDER BY frequency) - 1) / count(*) OVER () AS f,
       1 + 5 * (rank() OVER (ORDER BY monetary) - 1) / count(*) OVER () AS m
FROM p"
# The usual query: ntile(5), ties split between scores.
ntile_sql="WITH p AS (
    SELECT contact_id, floor(extract(epoch FROM timestamptz $as_of - max(ordered_at)) / 86400)::int AS recency,
           count(*)::int AS frequency, sum(total) AS monetary
    FROM crm.orders WHERE status IN ('paid', 'shipped') AND ordered_at < $as_of GROUP BY contact_id)
SELECT contact_id, recency, frequency, monetary,
       ntile(5) OVER (ORDER BY recency DESC) AS r, ntile(5) OVER (ORDER BY frequency) AS f,
       ntile(5) OVER (ORDER BY monetary) AS m
FROM p"

echo "== check: crm.rfm_scores equals the fair hand-written SQL for every customer"
psql_bench -At -c "SELECT count(*) || ' customers differ' FROM ($function_query) a FULL JOIN ($fair_sql) b USING (contact_id)
    WHERE a.rfm::text IS DISTINCT FROM crm.rfm(b.r::int, b.f::int, b.m::int)::text OR a.monetary IS DISTINCT FROM b.monetary"
echo "== how ntile() scatters ties: customers with 1 order, by ntile F score"
psql_bench -At -c "SELECT string_agg('F ' || f || ': ' || n, ', ' ORDER BY f) FROM (
    SELECT f, count(*) n FROM ($ntile_sql) s WHERE frequency = 1 GROUP BY f) x"

read -r count_ms function_ms fair_ms ntile_ms < <(time_queries "SET max_parallel_workers_per_gather = 2;" \
	"SELECT count(*) FROM crm.orders" \
	"SELECT count(*), sum(recency), sum(frequency), sum(monetary), sum(crm.recency_score(rfm) + crm.frequency_score(rfm) + crm.monetary_score(rfm)) FROM ($function_query) s" \
	"SELECT count(*), sum(recency), sum(frequency), sum(monetary), sum(r + f + m) FROM ($fair_sql) s" \
	"SELECT count(*), sum(recency), sum(frequency), sum(monetary), sum(r + f + m) FROM ($ntile_sql) s")
echo "== RFM of 1M customers over 10M orders (median of $runs, ms)"
printf '  count(*) of the orders           %9.1f\n' "$count_ms"
printf '  crm.rfm_scores                   %9.1f\n' "$function_ms"
printf '  fair SQL, rank() windows         %9.1f   (%.2f x crm.rfm_scores; target >= 1)\n' "$fair_ms" "$(echo "$fair_ms / $function_ms" | bc -l)"
printf '  usual SQL, ntile() windows       %9.1f   (%.2f x crm.rfm_scores)\n' "$ntile_ms" "$(echo "$ntile_ms / $function_ms" | bc -l)"
