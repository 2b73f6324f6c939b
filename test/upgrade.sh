#!/usr/bin/env bash
# Upgrading from the previous release: a database made with the recorded 0.1 install script
# (test/upgrade/crm--0.1.sql, installed into the test installation by scripts/lib.sh) and filled
# with demo data is upgraded with ALTER EXTENSION crm UPDATE. The upgrade keeps every row of every
# table as it was, and leaves the catalog exactly as a fresh CREATE EXTENSION crm of the current
# version in another database (test/upgrade/catalog.sql describes both; differing lines are shown).
set -euo pipefail

from=0.1
to=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$CRM_ROOT/crm.control")
upgraded=crm_upgrade_from_$$
fresh=crm_upgrade_fresh_$$
work=$(mktemp -d "${TMPDIR:-/tmp}/crm-upgrade.XXXXXX")
trap 'rm -rf "$work"; dropdb --if-exists "$upgraded"; dropdb --if-exists "$fresh"' EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; [ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/# /' >&2; }
sql() { psql -qtAX -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# The tables of the extension's schema before the upgrade (tables it adds start empty anyway).
tables() {
	sql "$1" "SELECT c.oid::regclass FROM pg_class c
	          WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'p')
	          ORDER BY c.oid::regclass::text"
}
# Each table's row count and an md5 of its rows in order.
snapshot() {
	local db=$1 table
	while read -r table; do
		echo "$table $(sql "$db" "SELECT count(*) || ' rows ' ||
		                          coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '-') FROM $table r" 2>&1)"
	done <"$work/tables"
}

echo "1..6"
createdb "$upgraded"
createdb "$fresh"

if output=$(sql "$upgraded" "CREATE EXTENSION crm VERSION '$from'; SELECT crm.generate_demo_data(200, 11, '2026-06-30')" 2>&1); then
	ok "CREATE EXTENSION crm VERSION '$from' from the recorded install script, with demo data"
else
	not_ok "CREATE EXTENSION crm VERSION '$from' from the recorded install script, with demo data" "$output"
	exit 0
fi
tables "$upgraded" >"$work/tables"
snapshot "$upgraded" >"$work/rows.before"

if output=$(sql "$upgraded" "ALTER EXTENSION crm UPDATE" 2>&1); then
	ok "ALTER EXTENSION crm UPDATE"
else
	not_ok "ALTER EXTENSION crm UPDATE" "$output"
	exit 0
fi

version=$(sql "$upgraded" "SELECT extversion FROM pg_extension WHERE extname = 'crm'")
if [ "$version" = "$to" ]; then ok "the upgraded extension is version $to"; else not_ok "the upgraded extension is version $to" "it is $version"; fi

snapshot "$upgraded" >"$work/rows.after"
if diff -u "$work/rows.before" "$work/rows.after" >"$work/rows.diff"; then
	ok "the upgrade changed no row ($(wc -l <"$work/rows.before") tables)"
else
	not_ok "the upgrade changed no row" "$(cat "$work/rows.diff")"
fi

if output=$(sql "$fresh" "CREATE EXTENSION crm" 2>&1); then
	ok "CREATE EXTENSION crm ($to) in another database"
else
	not_ok "CREATE EXTENSION crm ($to) in another database" "$output"
	exit 0
fi

psql -qtAX -v ON_ERROR_STOP=1 -d "$upgraded" -f "$CRM_ROOT/test/upgrade/catalog.sql" >"$work/catalog.upgraded"
psql -qtAX -v ON_ERROR_STOP=1 -d "$fresh" -f "$CRM_ROOT/test/upgrade/catalog.sql" >"$work/catalog.fresh"
if diff -U0 --label "fresh $to" --label "$from upgraded" "$work/catalog.fresh" "$work/catalog.upgraded" \
	>"$work/catalog.diff"; then
	ok "the upgraded catalog equals a fresh install's ($(wc -l <"$work/catalog.fresh") lines compared)"
else
	not_ok "the upgraded catalog equals a fresh install's (- fresh install only, + upgraded only)" \
		"$(grep -v '^@@' "$work/catalog.diff")"
fi
