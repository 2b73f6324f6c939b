#!/usr/bin/env bash
# Benchmark: item-to-item recommendations (docs/recommendations.md). Synthetic customers with a
# latent taste: $groups groups of $products / $groups products each; every customer belongs to one
# group and makes 2-7 orders of 1-3 products, each product from their group with probability 0.75
# (popular ones more often), else from the whole catalogue (popular ones more often). Each
# customer's last order is held out (stored as pending: not a purchase); the products in it they
# had not bought before are what a recommender should find. Offline evaluation: hit rate at n = 5
# and 10 (share of evaluated customers with a held-out product among their top n) for
# crm.recommend_products under each metric, against a popularity baseline (the most-bought
# products the customer has not bought). Timings: crm.refresh_product_pairs (median of $runs),
# the triggers' incremental update when every held-out order becomes paid (one statement), and
# recommend_products per customer. The incremental counts are checked equal to a rebuild.
#
# Issue 19's target, "recommendations for 1M order lines in under 30 s", read as: (a) the model
# (crm.refresh_product_pairs, a full rebuild of the baskets, buyer and pair counts) built from
# 1M order lines in under 30 s, and (b) a customer's recommendations served from it at a
# per-customer latency (printed: the median over the evaluated customers), with the total for
# every customer one at a time (latency x customers) printed beside it; and (c) every customer's
# list at once: crm.recommend_products_all(10) (one pass in C) timed against the best hand-written
# set-wise SQL giving the same lists, interleaved (ratio), its lists checked equal to that SQL's
# for every customer and to recommend_products' one by one for the evaluated customers, and the
# model build plus serving everyone judged against the 30 s. About 1M order lines:
# REC_CUSTOMERS=112000 (8.9 lines per customer). The hit rates and the latency are measured on
# the first $REC_EVAL customers (by contact id, a random sample of the synthetic customers) that
# have a new product in their held-out order (default 2000; REC_EVAL=0: all of them).
# Run with: scripts/bench test/bench/recommendations.sh (REC_CUSTOMERS=5000 by default)
set -euo pipefail

runs=${RUNS:-3}
customers=${REC_CUSTOMERS:-5000}
products=${REC_PRODUCTS:-200}
groups=${REC_GROUPS:-10}
evaluate_at_most=${REC_EVAL:-2000}
source "$(dirname "$0")/lib.bash"
bench_record recommendations REC_CUSTOMERS REC_PRODUCTS REC_GROUPS REC_EVAL REC_INCREMENTAL REC_SQL_RUNS RUNS
trap 'bench_finish $?' EXIT

echo "== setup: $customers customers in $groups taste groups, $products products, 2-7 orders of 1-3 products each"
psql_bench <<SQL
SELECT setseed(0.19) \g /dev/null
SET session_replication_role = replica;  -- load without triggers; the counts are built below
INSERT INTO crm.products (product_id, sku, name, unit_price)
SELECT i, 'BR-' || i, 'product ' || i, 10 FROM generate_series(1, $products) i;
INSERT INTO crm.contacts (contact_id, first_name, lifecycle_stage)
SELECT i, 'c' || i, 'customer' FROM generate_series(1, $customers) i;
CREATE TABLE bench_rec_customer AS
SELECT i AS contact_id, floor(random() * $groups)::int AS taste, 2 + floor(random() * 6)::int AS orders
FROM generate_series(1, $customers) i;
CREATE TABLE bench_rec_order AS
SELECT row_number() OVER (ORDER BY c.contact_id, k) AS order_id, c.contact_id, c.taste, k,
       k = c.orders AS held_out
FROM bench_rec_customer c, generate_series(1, c.orders) k;
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status)
SELECT order_id, contact_id, '2025-01-01'::timestamptz + k * interval '30 days',
       CASE WHEN held_out THEN 'pending' ELSE 'paid' END
FROM bench_rec_order;
-- product of group g: g + 1 + groups * j, j skewed toward 0 (the group's popular products)
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price)
SELECT o.order_id,
       CASE WHEN random() < 0.75
            THEN o.taste + 1 + $groups * floor(($products / $groups) * random() ^ 2)::int
            ELSE 1 + floor($products * random() ^ 2)::int END,
       1, 10
FROM bench_rec_order o, generate_series(1, 1 + floor(random() * 3)::int + 0 * o.order_id) j;
RESET session_replication_role;
-- what each customer should be recommended: held-out products not bought before
CREATE TABLE bench_rec_holdout AS
SELECT DISTINCT o.contact_id, l.product_id
FROM bench_rec_order o JOIN crm.order_lines l ON l.order_id = o.order_id
WHERE o.held_out AND NOT EXISTS (
    SELECT FROM bench_rec_order p JOIN crm.order_lines m ON m.order_id = p.order_id
    WHERE p.contact_id = o.contact_id AND NOT p.held_out AND m.product_id = l.product_id);
-- the customers evaluated: the first $evaluate_at_most (0: all) with a held-out new product
CREATE TABLE bench_rec_eval AS
SELECT contact_id, array_agg(product_id) AS held FROM bench_rec_holdout
WHERE contact_id IN (SELECT DISTINCT contact_id FROM bench_rec_holdout ORDER BY contact_id
                     LIMIT CASE WHEN $evaluate_at_most > 0 THEN $evaluate_at_most END)
GROUP BY contact_id;
ANALYZE;
SQL
psql_bench -At -c "SELECT '   ' || (SELECT count(*) FROM crm.order_lines) || ' order lines, '
    || (SELECT count(DISTINCT contact_id) FROM bench_rec_holdout) || ' customers with a new product in their held-out last order, '
    || (SELECT count(*) FROM bench_rec_eval) || ' of them evaluated'"

read -r refresh_ms < <(time_queries "" "SELECT crm.refresh_product_pairs()")
echo "== the model: a full rebuild"
printf '  crm.refresh_product_pairs(), full rebuild (median of %d)   %10.1f ms\n' "$runs" "$refresh_ms"
lines=$(psql_bench -At -c "SELECT count(*) FROM crm.order_lines")
printf '   target (issue 19): the model from 1M order lines in under 30 s; here %d lines in %.1f s (%.1f s per 1M lines): %s\n' \
	"$lines" "$(echo "$refresh_ms / 1000" | bc -l)" "$(echo "$refresh_ms * 1000 / $lines" | bc -l)" \
	"$([ "$lines" -ge 900000 ] && { [ "$(echo "$refresh_ms < 30000" | bc -l)" = 1 ] && echo met || echo 'not met'; } || echo 'measured below 1M lines')"
psql_bench -At -c "SELECT '   ' || (SELECT count(*) FROM crm.product_pairs) || ' product pairs over ' || customers || ' customers' FROM crm.product_pair_totals"

echo "== serving every customer: crm.recommend_products_all(10) against hand-written set-wise SQL"
# The best plain SQL found for the same lists (cosine, top 10, what recommend_products gives each
# customer): every directed pair scored once, joined to every customer's purchased products; each
# candidate's best score (hash aggregate), the bought ones removed, the first ten per customer,
# and only for those ten the pair giving the score (ties: smallest product id). The same float8
# expression as the function, so the scores compare exactly. (Taking the best pair with DISTINCT
# ON over every candidate, sorting all of them, took 1.7 times as long at 3,000 customers.)
baseline_sql="WITH bought AS (
    SELECT DISTINCT o.contact_id, l.product_id
    FROM crm.purchases o JOIN crm.order_lines l ON l.order_id = o.order_id
    WHERE EXISTS (SELECT FROM crm.contacts c WHERE c.contact_id = o.contact_id)),
pairs AS (
    SELECT product_a AS src, product_b AS cand, customers FROM crm.product_pairs
    UNION ALL SELECT product_b, product_a, customers FROM crm.product_pairs),
edges AS (
    SELECT p.src, p.cand, p.customers::float8 / sqrt(a.customers::float8 * b.customers) AS s
    FROM pairs p
    JOIN crm.product_buyers a ON a.product_id = p.src
    JOIN crm.product_buyers b ON b.product_id = p.cand
    JOIN crm.products pr ON pr.product_id = p.cand AND pr.active),
best AS (
    SELECT b.contact_id, e.cand, max(e.s) AS s
    FROM bought b JOIN edges e ON e.src = b.product_id
    GROUP BY b.contact_id, e.cand),
top AS (
    SELECT contact_id, cand, s, rk FROM (
      SELECT bs.contact_id, bs.cand, bs.s, row_number() OVER (PARTITION BY bs.contact_id ORDER BY bs.s DESC, bs.cand) AS rk
      FROM best bs
      WHERE NOT EXISTS (SELECT FROM bought x WHERE x.contact_id = bs.contact_id AND x.product_id = bs.cand)) r
    WHERE rk <= 10)
SELECT t.contact_id, t.rk::int AS rank, t.cand AS product_id, t.s AS score, min(e.src) AS because_of
FROM top t JOIN bought b ON b.contact_id = t.contact_id JOIN edges e ON e.src = b.product_id AND e.cand = t.cand AND e.s = t.s
GROUP BY t.contact_id, t.rk, t.cand, t.s"
# the lists themselves, each built once into a table: the timing of both (one run each, the bulk
# function first), then the same lists: all of them against the SQL, the evaluated customers
# against recommend_products one by one
equal=$(psql_bench -At <<-SQL | awk '/^Time: / { t[n++] = $2; next } { line = $0 } END { print t[0], t[1], line }'
	\\timing on
	CREATE TEMP TABLE bulk AS SELECT * FROM crm.recommend_products_all(10);
	CREATE TEMP TABLE base AS $baseline_sql;
	\\timing off
	CREATE TEMP TABLE one AS
	SELECT e.contact_id, r.rank::int AS rank, r.product_id, r.score, r.because_of
	FROM bench_rec_eval e, LATERAL crm.recommend_products(e.contact_id, 10) WITH ORDINALITY r(product_id, score, because_of, rank);
	SELECT (SELECT count(*) FROM bulk) || ' ' || (SELECT count(DISTINCT contact_id) FROM bulk) || ' '
	    || (NOT EXISTS (SELECT * FROM bulk EXCEPT SELECT * FROM base) AND NOT EXISTS (SELECT * FROM base EXCEPT SELECT * FROM bulk)) || ' '
	    || (SELECT count(*) FROM one) || ' '
	    || (NOT EXISTS (SELECT * FROM one EXCEPT SELECT * FROM bulk)
	        AND NOT EXISTS (SELECT * FROM bulk WHERE contact_id IN (SELECT contact_id FROM bench_rec_eval) EXCEPT SELECT * FROM one));
SQL
)
read -r bulk_create_ms base_create_ms bulk_rows bulk_customers equal_sql sample_rows equal_one <<<"$equal"
printf '  into a table, once each: crm.recommend_products_all(10) %10.1f ms, the SQL %10.1f ms   ratio %.1fx\n' \
	"$bulk_create_ms" "$base_create_ms" "$(echo "$base_create_ms / $bulk_create_ms" | bc -l)"
printf '   %d rows for %d customers; equal to the SQL'"'"'s lists: %s; equal to recommend_products one by one on the %d evaluated customers (%d rows): %s\n' \
	"$bulk_rows" "$bulk_customers" "$equal_sql" "$(psql_bench -At -c "SELECT count(*) FROM bench_rec_eval")" "$sample_rows" "$equal_one"
[ "$equal_sql" = true ] && [ "$equal_one" = true ] || { echo "   the lists differ: not recorded" >&2; exit 1; }
# then timed as queries (count(*)), interleaved, median of $sql_runs (REC_SQL_RUNS, default $runs;
# 0 skips it: at 1M order lines the SQL takes minutes a run, and the single runs above say enough)
sql_runs=${REC_SQL_RUNS:-$runs}
if [ "$sql_runs" -gt 0 ]; then
	read -r bulk_ms baseline_ms < <(runs=$sql_runs time_queries "" \
		"SELECT count(*) FROM crm.recommend_products_all(10)" \
		"SELECT count(*) FROM ($baseline_sql) s")
	printf '  crm.recommend_products_all(10), every customer (median of %d) %10.1f ms\n' "$sql_runs" "$bulk_ms"
	printf '  hand-written set-wise SQL, same lists (median of %d)          %10.1f ms   ratio %.1fx\n' \
		"$sql_runs" "$baseline_ms" "$(echo "$baseline_ms / $bulk_ms" | bc -l)"
else
	read -r bulk_ms < <(time_queries "" "SELECT count(*) FROM crm.recommend_products_all(10)")
	printf '  crm.recommend_products_all(10), every customer (median of %d) %10.1f ms (the SQL not repeated: REC_SQL_RUNS=0)\n' "$runs" "$bulk_ms"
fi
total_ms=$(echo "$refresh_ms + $bulk_ms" | bc -l)
printf '   target (issue 19): model + every customer'"'"'s recommendations from 1M order lines in under 30 s; here %d lines in %.1f s (model %.1f s + serving %.1f s): %s\n' \
	"$lines" "$(echo "$total_ms / 1000" | bc -l)" "$(echo "$refresh_ms / 1000" | bc -l)" "$(echo "$bulk_ms / 1000" | bc -l)" \
	"$([ "$lines" -ge 900000 ] && { [ "$(echo "$total_ms < 30000" | bc -l)" = 1 ] && echo met || echo 'not met'; } || echo 'measured below 1M lines')"

evaluate() { # metric or 'popularity': prints hit rate at 5 and 10, and the milliseconds taken
	local top
	if [ "$1" = popularity ]; then
		top="SELECT b.product_id, row_number() OVER (ORDER BY b.customers DESC, b.product_id) AS rk
		     FROM crm.product_buyers b
		     WHERE NOT b.product_id = ANY (coalesce((SELECT product_ids FROM crm.customer_baskets k WHERE k.contact_id = e.contact_id), '{}'))
		     ORDER BY rk LIMIT 10"
	else
		top="SELECT r.product_id, row_number() OVER () AS rk FROM crm.recommend_products(e.contact_id, 10, '$1') r"
	fi
	psql_bench -At <<-SQL | awk '/^Time: / { ms = $2; next } { line = $0 } END { print line, ms }'
		\\timing on
		WITH e AS (SELECT contact_id, held FROM bench_rec_eval),
		hits AS (
		    SELECT e.contact_id,
		           bool_or(t.rk <= 5 AND t.product_id = ANY (e.held)) AS at5,
		           bool_or(t.rk <= 10 AND t.product_id = ANY (e.held)) AS at10
		    FROM e LEFT JOIN LATERAL ($top) t ON true
		    GROUP BY e.contact_id)
		SELECT round(avg(coalesce(at5, false)::int), 4) || ' ' || round(avg(coalesce(at10, false)::int), 4) FROM hits;
	SQL
}

echo "== hit rate on the held-out last purchase (customers with a new product in it)"
printf '  %-22s %8s %8s %14s\n' recommender 'hit@5' 'hit@10' 'ms/customer'
evaluated=$(psql_bench -At -c "SELECT count(*) FROM bench_rec_eval")
for m in cosine lift confidence support popularity; do
	read -r h5 h10 ms < <(evaluate "$m")
	printf '  %-22s %8s %8s %14.3f\n' "$([ "$m" = popularity ] && echo 'popularity baseline' || echo "$m")" "$h5" "$h10" "$(echo "$ms / $evaluated" | bc -l)"
done
# latency of one call as an application makes it (top 10, cosine), one statement per customer
latency=$(
	{
		echo '\timing on'
		psql_bench -At -c "SELECT 'SELECT count(*) FROM crm.recommend_products(' || contact_id || ', 10);' FROM bench_rec_eval ORDER BY contact_id"
	} | psql_bench -At | awk '/^Time: / { print $2 }' | sort -n |
		awk '{ t[NR] = $1 } END { printf "%.3f %.3f", t[int((NR + 1) / 2)], t[int(NR * 0.95 + 0.999)] }'
)
read -r latency_median latency_p95 <<<"$latency"
printf '  crm.recommend_products(contact, 10), one statement per customer: median %.3f ms, 95th percentile %.3f ms\n' "$latency_median" "$latency_p95"
printf '   every one of the %d customers one at a time (median x customers): %.1f s\n' "$customers" "$(echo "$latency_median * $customers / 1000" | bc -l)"

echo "== maintenance"
if [ "${REC_INCREMENTAL:-1}" = 0 ]; then
	# (REC_INCREMENTAL=0: at 100,000 customers one statement recounting them all ran over 20 min)
	echo "   the triggers' bulk update: skipped (REC_INCREMENTAL=0)"
else
incremental_ms=$(psql_bench -At <<-SQL | awk '/^Time: / { print $2 }'
	\\timing on
	UPDATE crm.orders SET status = 'paid' WHERE status = 'pending';
SQL
)
psql_bench -At <<-SQL
	CREATE TABLE bench_rec_pairs AS SELECT * FROM crm.product_pairs;
	CREATE TABLE bench_rec_buyers AS SELECT * FROM crm.product_buyers;
	CREATE TABLE bench_rec_total AS SELECT customers FROM crm.product_pair_totals;
	SELECT crm.refresh_product_pairs() \\g /dev/null
	SELECT '   incremental counts equal a rebuild: ' || (
	    NOT EXISTS (SELECT * FROM bench_rec_pairs EXCEPT SELECT * FROM crm.product_pairs)
	    AND NOT EXISTS (SELECT * FROM crm.product_pairs EXCEPT SELECT * FROM bench_rec_pairs)
	    AND NOT EXISTS (SELECT * FROM bench_rec_buyers EXCEPT SELECT * FROM crm.product_buyers)
	    AND NOT EXISTS (SELECT * FROM crm.product_buyers EXCEPT SELECT * FROM bench_rec_buyers)
	    AND (SELECT customers FROM bench_rec_total) = (SELECT customers FROM crm.product_pair_totals));
SQL
printf '  every held-out order paid in one UPDATE (triggers)           %10.1f ms\n' "$incremental_ms"
fi

psql_bench <<SQL
DROP TABLE IF EXISTS bench_rec_customer, bench_rec_order, bench_rec_holdout, bench_rec_eval, bench_rec_pairs, bench_rec_buyers, bench_rec_total;
SET session_replication_role = replica;
TRUNCATE crm.order_lines, crm.orders, crm.customer_baskets, crm.product_buyers, crm.product_pairs CASCADE;
DELETE FROM crm.contacts WHERE contact_id <= $customers;
DELETE FROM crm.products WHERE product_id <= $products;
RESET session_replication_role;
UPDATE crm.product_pair_totals SET customers = 0, refreshed_at = NULL;
SQL
