#!/usr/bin/env bash
# The demo report runs: a generated CRM (400 customers) and every section of demo/*.sql, as
# scripts/demo runs them, with ON_ERROR_STOP. Each section prints its heading and at least one row,
# and running the whole report twice prints the same text (no section changes the data).
set -euo pipefail
cd "$(dirname "$0")/../.."

db=crm_demo_report_$$
trap 'dropdb --if-exists "$db"' EXIT
createdb "$db"
psql -qX -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION crm; CREATE EXTENSION crm_demo;' >/dev/null
psql -qX -v ON_ERROR_STOP=1 -d "$db" -c "SELECT crm.generate_demo_data(400, 7, '2026-06-30')" >/dev/null

sections=(demo/*.sql)
echo "1..$(( ${#sections[@]} + 1 ))"
n=0
report=
for section in "${sections[@]}"; do
	n=$((n + 1))
	if out=$(psql -X -v ON_ERROR_STOP=1 -P pager=off -d "$db" -f "$section" 2>&1) \
	   && grep -q '^== ' <<<"$out" && [ "$(grep -c '|' <<<"$out")" -gt 0 ]; then
		echo "ok $n - $section runs and prints a heading and rows"
	else
		echo "not ok $n - $section runs and prints a heading and rows"
		sed 's/^/# /' <<<"$out" | tail -20
	fi
	report+=$out
done
n=$((n + 1))
again=
for section in "${sections[@]}"; do
	again+=$(psql -X -v ON_ERROR_STOP=1 -P pager=off -d "$db" -f "$section" 2>&1) || true
done
if [ "$report" = "$again" ]; then echo "ok $n - the report reads the same twice"; else
	echo "not ok $n - the report reads the same twice"; diff <(echo "$report") <(echo "$again") | head -20 | sed 's/^/# /'; fi
