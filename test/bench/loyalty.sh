#!/usr/bin/env bash
# Benchmark: loyalty earn and redeem (issue 19: under 2 ms each). $members members with $lots
# lots each (a ledger of members x lots earn entries, loaded directly), one program in USD (1
# point per dollar, tiers Silver and Gold). Each figure is the median over $runs interleaved runs
# of one call doing $ops operations (one transaction, as a batch job or a busy session would),
# divided by $ops: ms per operation, each on a random member:
#   plain INSERT     one row into a copy of the ledger without triggers, indexes or keys beyond
#                    its primary key: the baseline
#   ledger earn      one earn entry into crm.loyalty_ledger (member lock, lot, balance, 4 indexes)
#   order, no program  an order with one line in EUR (no program): what an order costs anyway
#   order earning    the same order in USD: the order plus the earn through the statement trigger
#                    (crm.loyalty_sync_orders: points, lot, tier upgrade check)
#   redeem           crm.loyalty_redeem of 1 point (member lock, unexpired lots, draw, balance)
# Run with: scripts/bench test/bench/loyalty.sh
set -euo pipefail

runs=${RUNS:-5}
members=${LOYALTY_MEMBERS:-10000}
lots=${LOYALTY_LOTS:-20}
ops=${LOYALTY_OPS:-500}
source "$(dirname "$0")/lib.bash"
bench_record loyalty LOYALTY_MEMBERS LOYALTY_LOTS LOYALTY_OPS RUNS
trap 'bench_finish $?' EXIT

echo "== setup: $members members x $lots lots ($((members * lots)) earn entries)"
psql_bench <<SQL
SELECT setseed(0.19) \g /dev/null
SET client_min_messages = warning;
TRUNCATE crm.loyalty_programs, crm.contacts, crm.orders, crm.order_lines, crm.products CASCADE;
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (1, 'B', 'Bench', 10);
INSERT INTO crm.loyalty_programs (program_id, name, points_expire_months) VALUES (1, 'bench', 24);
INSERT INTO crm.loyalty_earn_rules (program_id, kind, points) VALUES (1, 'per_currency_unit', 1);
INSERT INTO crm.loyalty_tiers (program_id, tier, min_spend) VALUES (1, 'Base', 0), (1, 'Silver', 500), (1, 'Gold', 2000);
-- the contacts and the ledger loaded directly (as a restore would: no triggers, so no duplicate
-- matching of the contacts), lots of 50-150 points over the last two years, none used yet;
-- balances = their sums
SET session_replication_role = replica;
INSERT INTO crm.contacts (contact_id, first_name) SELECT i, 'M' || i FROM generate_series(1, $members) i;
INSERT INTO crm.loyalty_members (program_id, contact_id, joined_at, tier) SELECT 1, i, '2024-01-01', 'Base' FROM generate_series(1, $members) i;
INSERT INTO crm.loyalty_ledger (program_id, contact_id, kind, points, remaining, expires_at, occurred_at)
SELECT 1, i, 'earn', p, p, t + interval '24 months', t
FROM generate_series(1, $members) i, generate_series(1, $lots) j,
     LATERAL (SELECT (50 + 100 * random() + 0 * i)::bigint AS p, now() - random() * interval '700 days' - 0 * j * interval '1 day' AS t) x;
UPDATE crm.loyalty_members m SET balance = s.s FROM (SELECT contact_id, sum(points) s FROM crm.loyalty_ledger GROUP BY 1) s
WHERE m.contact_id = s.contact_id;
SELECT setval('crm.orders_order_id_seq', 1), setval('crm.order_lines_order_line_id_seq', 1) \g /dev/null
RESET session_replication_role;
DROP TABLE IF EXISTS bench_plain;
CREATE TABLE bench_plain (entry_id bigserial PRIMARY KEY, program_id bigint NOT NULL, contact_id bigint NOT NULL,
    kind text NOT NULL, points bigint NOT NULL, remaining bigint, expires_at timestamptz, occurred_at timestamptz NOT NULL DEFAULT now());
VACUUM ANALYZE crm.loyalty_ledger, crm.loyalty_members, crm.contacts;
CREATE FUNCTION bench_plain_insert(k int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN FOR i IN 1..k LOOP
    INSERT INTO bench_plain (program_id, contact_id, kind, points, remaining, expires_at) VALUES (1, 1 + floor(random() * $members)::bigint, 'earn', 10, 10, now() + interval '24 months');
END LOOP; END \$\$;
CREATE FUNCTION bench_ledger_earn(k int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN FOR i IN 1..k LOOP
    INSERT INTO crm.loyalty_ledger (program_id, contact_id, kind, points) VALUES (1, 1 + floor(random() * $members)::bigint, 'earn', 10);
END LOOP; END \$\$;
CREATE FUNCTION bench_order(k int, cur char(3)) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN FOR i IN 1..k LOOP
    WITH o AS (INSERT INTO crm.orders (contact_id, ordered_at, currency) VALUES (1 + floor(random() * $members)::bigint, now(), cur) RETURNING order_id)
    INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) SELECT order_id, 1, 2, 10 FROM o;
END LOOP; END \$\$;
CREATE FUNCTION bench_redeem(k int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN FOR i IN 1..k LOOP
    PERFORM crm.loyalty_redeem(1, 1 + floor(random() * $members)::bigint, 1, 'bench');
END LOOP; END \$\$;
SQL

read -r plain_ms ledger_ms order_ms earn_ms redeem_ms < <(time_queries "" \
	"SELECT bench_plain_insert($ops)" "SELECT bench_ledger_earn($ops)" "SELECT bench_order($ops, 'EUR')" \
	"SELECT bench_order($ops, 'USD')" "SELECT bench_redeem($ops)")
per() { echo "scale=4; $1 / $ops" | bc -l; }
echo "== $ops operations per call, on random members of $members (median of $runs, ms per operation)"
printf '  plain INSERT of one ledger-like row (baseline)   %7.3f\n' "$(per "$plain_ms")"
printf '  ledger earn entry (crm.loyalty_ledger)           %7.3f   (%.1f x the baseline)\n' "$(per "$ledger_ms")" "$(echo "$ledger_ms / $plain_ms" | bc -l)"
printf '  order + line, no program (EUR)                   %7.3f\n' "$(per "$order_ms")"
printf '  order + line earning (USD)                       %7.3f   (earning adds %.3f)\n' "$(per "$earn_ms")" "$(echo "($earn_ms - $order_ms) / $ops" | bc -l)"
printf '  redeem 1 point (crm.loyalty_redeem)              %7.3f   (%.1f x the baseline)\n' "$(per "$redeem_ms")" "$(echo "$redeem_ms / $plain_ms" | bc -l)"
echo "== check: balances = ledger sums"
psql_bench -At -c "SELECT '   members out of balance: ' || count(*) FROM crm.loyalty_members m
    JOIN (SELECT contact_id, sum(points) s FROM crm.loyalty_ledger GROUP BY 1) l USING (contact_id) WHERE m.balance <> l.s"
psql_bench -c "SET client_min_messages = warning" -c "DROP TABLE bench_plain; DROP FUNCTION bench_plain_insert(int), bench_ledger_earn(int), bench_order(int, char), bench_redeem(int)" -c "TRUNCATE crm.loyalty_programs, crm.contacts, crm.orders, crm.order_lines, crm.products CASCADE"
