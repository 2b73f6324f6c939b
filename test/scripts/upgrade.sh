#!/usr/bin/env bash
# Upgrading from earlier releases: for each recorded release install script test/upgrade/crm--X.sql
# (installed into the test installation by scripts/lib.sh), a database made with CREATE EXTENSION
# crm VERSION 'X' and filled with demo data is upgraded with ALTER EXTENSION crm UPDATE. The upgrade
# keeps every row of every table as it was, and leaves the catalog exactly as a fresh CREATE
# EXTENSION crm of the current version in another database (test/upgrade/catalog.sql describes
# both; the differing lines are shown).
set -euo pipefail

to=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$CRM_ROOT/crm.control")
releases=()
for script in "$CRM_ROOT"/test/upgrade/crm--*.sql; do
	release=${script##*/crm--}
	release=${release%.sql}
	[ "$release" = "$to" ] || releases+=("$release") # recorded as it is released: nothing to upgrade
done
fresh=crm_upgrade_fresh_$$
upgraded=
work=$(mktemp -d "${TMPDIR:-/tmp}/crm-upgrade.XXXXXX")
trap 'rm -rf "$work"; dropdb --if-exists "$fresh"; [ -z "$upgraded" ] || dropdb --if-exists "$upgraded"' EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; [ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/# /' >&2; }
sql() { psql -qtAX -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# The tables of the extension's schema before the upgrade, each with its columns: the upgrade may
# add tables and columns, but what was there keeps its values.
tables() {
	sql "$1" "SELECT c.oid::regclass || ' ' || string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
	          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	          WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'p')
	          GROUP BY c.oid ORDER BY c.oid::regclass::text"
}
# Each of those tables' row count and an md5 of those columns of its rows, in order.
snapshot() {
	local db=$1 table columns
	while read -r table columns; do
		echo "$table $(sql "$db" "SELECT count(*) || ' rows ' || coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '-')
		                          FROM (SELECT ROW($columns) AS r FROM $table) s" 2>&1)"
	done <"$work/tables"
}

echo "1..$((1 + 5 * ${#releases[@]}))"
createdb "$fresh"
if output=$(sql "$fresh" "CREATE EXTENSION crm" 2>&1); then
	ok "CREATE EXTENSION crm ($to) in a fresh database"
else
	not_ok "CREATE EXTENSION crm ($to) in a fresh database" "$output"
	exit 0
fi
psql -qtAX -v ON_ERROR_STOP=1 -d "$fresh" -f "$CRM_ROOT/test/upgrade/catalog.sql" >"$work/catalog.fresh"

# upgrade_from X: the five checks of an upgrade from release X.
upgrade_from() {
	local from=$1 output version
	upgraded=crm_upgrade_from_${from//./_}_$$
	createdb "$upgraded"
	if output=$(sql "$upgraded" "CREATE EXTENSION crm VERSION '$from'; SELECT crm.generate_demo_data(200, 11, '2026-06-30')" 2>&1); then
		ok "CREATE EXTENSION crm VERSION '$from' from the recorded install script, with demo data"
	else
		not_ok "CREATE EXTENSION crm VERSION '$from' from the recorded install script, with demo data" "$output"
		return 1
	fi
	tables "$upgraded" >"$work/tables"
	snapshot "$upgraded" >"$work/rows.before"

	if output=$(sql "$upgraded" "ALTER EXTENSION crm UPDATE" 2>&1); then
		ok "$from: ALTER EXTENSION crm UPDATE"
	else
		not_ok "$from: ALTER EXTENSION crm UPDATE" "$output"
		return 1
	fi

	version=$(sql "$upgraded" "SELECT extversion FROM pg_extension WHERE extname = 'crm'")
	if [ "$version" = "$to" ]; then ok "$from: the upgraded extension is version $to"
	else not_ok "$from: the upgraded extension is version $to" "it is $version"; fi

	snapshot "$upgraded" >"$work/rows.after"
	if diff -u "$work/rows.before" "$work/rows.after" >"$work/rows.diff"; then
		ok "$from: the upgrade changed no row ($(wc -l <"$work/rows.before") tables)"
	else
		not_ok "$from: the upgrade changed no row" "$(cat "$work/rows.diff")"
	fi

	psql -qtAX -v ON_ERROR_STOP=1 -d "$upgraded" -f "$CRM_ROOT/test/upgrade/catalog.sql" >"$work/catalog.upgraded"
	if diff -U0 --label "fresh $to" --label "$from upgraded" "$work/catalog.fresh" "$work/catalog.upgraded" \
		>"$work/catalog.diff"; then
		ok "$from: the upgraded catalog equals a fresh install's ($(wc -l <"$work/catalog.fresh") lines compared)"
	else
		not_ok "$from: the upgraded catalog equals a fresh install's (- fresh install only, + upgraded only)" \
			"$(grep -v '^@@' "$work/catalog.diff")"
	fi
	dropdb "$upgraded"
	upgraded=
}

for from in "${releases[@]}"; do
	upgrade_from "$from" || true
done
