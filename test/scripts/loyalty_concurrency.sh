#!/usr/bin/env bash
# Loyalty points under random concurrent load: 8 pgbench clients for a few seconds
# (CRM_LOYALTY_SECONDS, default 5) on 4 members (heavy contention), each transaction either an
# earn (a paid order with one line: 1 point per dollar of integer prices, so an order earns its
# total) or a redemption of 1-60 points (refused with 23514 when the member has fewer: the test's
# wrapper records each outcome in the same transaction, and a refusal rolls back only the
# redemption), or a cancellation of a random order (a reversal, with clawback). Checked: no client
# failed (no deadlock: member locks in one order); per member, balance = ledger sum = points left
# in lots; the ledger's earn entries sum to what the orders earned (the totals of the orders ever
# paid, counted independently from the test's log); its redemptions to the redemptions the test
# saw succeed (none lost, none applied twice); every reversal took back what its order earned
# (recovered + unrecovered); and redeeming more than anyone has still fails. The deterministic
# interleaving is the isolation spec test/isolation/specs/loyalty.spec. Emits TAP.
set -euo pipefail

db=crm_loyalty_pgbench_$$
script=$(mktemp "${TMPDIR:-/tmp}/crm-pgbench.XXXXXX")
log=$(mktemp "${TMPDIR:-/tmp}/crm-pgbench-log.XXXXXX")
trap 'rm -f "$script" "$log"; dropdb --if-exists "$db"' EXIT
sql() { psql -qtAX -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

echo "1..7"
createdb "$db"
psql -qX -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION crm;
INSERT INTO crm.contacts (contact_id, first_name) SELECT i, 'Member ' || i FROM generate_series(1, 4) i;
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (1, 'P', 'P', 1);
INSERT INTO crm.loyalty_programs (program_id, name) VALUES (1, 'load');
INSERT INTO crm.loyalty_earn_rules (program_id, kind, points) VALUES (1, 'per_currency_unit', 1);
-- the test's own log: every order's total when placed, every redemption asked and its outcome
CREATE TABLE earned (order_id bigint, contact_id bigint, points bigint);
CREATE TABLE redeemed (contact_id bigint, points bigint, ok boolean);
CREATE FUNCTION earn(c bigint, qty integer, price integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE o bigint;
BEGIN
    INSERT INTO crm.orders (contact_id, ordered_at) VALUES (c, now()) RETURNING order_id INTO o;
    INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price) VALUES (o, 1, qty, price);
    INSERT INTO public.earned VALUES (o, c, qty * price);
END $$;
CREATE FUNCTION try_redeem(c bigint, p bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crm.loyalty_redeem(1, c, p, 'pgbench');
    INSERT INTO public.redeemed VALUES (c, p, true);
EXCEPTION WHEN check_violation THEN
    INSERT INTO public.redeemed VALUES (c, p, false);
END $$;
SQL

cat >"$script" <<'PGBENCH'
\set c random(1, 4)
\set r random(1, 20)
\set q random(1, 5)
\set price random(1, 30)
\set p random(1, 60)
\if :r <= 9
SELECT earn(:c, :q, :price);
\elif :r <= 19
SELECT try_redeem(:c, :p);
\else
UPDATE crm.orders SET status = 'cancelled'
WHERE order_id = (SELECT order_id FROM crm.orders WHERE contact_id = :c AND status = 'paid' ORDER BY random() LIMIT 1);
\endif
PGBENCH
if pgbench -n -c 8 -j 2 -T "${CRM_LOYALTY_SECONDS:-5}" -f "$script" "$db" >"$log" 2>&1; then
	echo "ok 1 - pgbench ran 8 clients without an error (no deadlock)"
else
	echo "not ok 1 - pgbench failed"; sed "s/^/# /" "$log" | tail -20
fi
transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
latency=$(sed -n 's/^latency average = \(.*\)$/\1/p' "$log")
echo "# $transactions transactions, latency average $latency"
echo "# $(sql "SELECT count(*) || ' orders (' || (SELECT count(*) FROM crm.orders WHERE status = 'cancelled') || ' cancelled), '
                  || (SELECT count(*) FILTER (WHERE ok) || ' redemptions, ' || count(*) FILTER (WHERE NOT ok) || ' refused' FROM redeemed)
           FROM earned")"
check() { # n description sql-returning-0-bad-rows
	local bad; bad=$(sql "$3")
	if [ "$bad" = 0 ]; then echo "ok $1 - $2"; else echo "not ok $1 - $2: $bad bad"; fi
}
check 2 "per member: balance = ledger sum = points left in lots" \
	"SELECT count(*) FROM crm.loyalty_members m
	 LEFT JOIN (SELECT contact_id, sum(points) s, sum(remaining) FILTER (WHERE kind = 'earn') r FROM crm.loyalty_ledger GROUP BY 1) l USING (contact_id)
	 WHERE m.balance IS DISTINCT FROM l.s OR m.balance IS DISTINCT FROM l.r"
check 3 "per member: earn entries = the totals of the member's orders (the test's log)" \
	"SELECT count(*) FROM (SELECT contact_id, sum(points) p FROM earned GROUP BY 1) e
	 FULL JOIN (SELECT contact_id, sum(points) p FROM crm.loyalty_ledger WHERE kind = 'earn' GROUP BY 1) l USING (contact_id)
	 WHERE e.p IS DISTINCT FROM l.p"
check 4 "per member: redemption entries = the redemptions that succeeded (none lost, none twice)" \
	"SELECT count(*) FROM (SELECT contact_id, sum(points) p FROM redeemed WHERE ok GROUP BY 1) e
	 FULL JOIN (SELECT contact_id, -sum(points) p FROM crm.loyalty_ledger WHERE kind = 'redeem' GROUP BY 1) l USING (contact_id)
	 WHERE e.p IS DISTINCT FROM l.p"
check 5 "every cancelled order was reversed in full (recovered + unrecovered = earned), no other order" \
	"SELECT count(*) FROM earned e JOIN crm.orders o USING (order_id)
	 LEFT JOIN (SELECT order_id, sum(-points + unrecovered) t FROM crm.loyalty_ledger WHERE kind = 'reverse' GROUP BY 1) r USING (order_id)
	 WHERE coalesce(r.t, 0) <> CASE WHEN o.status = 'cancelled' THEN e.points ELSE 0 END"
expected=$(sql "SELECT (SELECT sum(points) FROM earned) - (SELECT coalesce(sum(points), 0) FROM redeemed WHERE ok)
                - (SELECT coalesce(sum(-points), 0) FROM crm.loyalty_ledger WHERE kind = 'reverse')")
total=$(sql "SELECT sum(balance) || ' ' || (SELECT sum(points) FROM crm.loyalty_ledger) FROM crm.loyalty_members")
if [ "$total" = "$expected $expected" ]; then
	echo "ok 6 - total balance = ledger sum = earned - redeemed - recovered = $expected"
else
	echo "not ok 6 - balance and ledger sum $total, expected $expected"
fi
beyond=$(psql -qtAX -d "$db" -c "SELECT crm.loyalty_redeem(1, 1, (SELECT balance + 1 FROM crm.loyalty_members WHERE contact_id = 1))" 2>&1 || true)
if [[ $beyond == *'insufficient loyalty points'* ]]; then
	echo "ok 7 - redeeming one point more than the balance fails"
else
	echo "not ok 7 - redeeming beyond the balance did not fail"
fi
