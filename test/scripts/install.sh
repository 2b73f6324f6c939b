#!/usr/bin/env bash
# Installing: the group roles are cluster-wide, so CREATE EXTENSION works in a second database of
# the same cluster (the roles exist by then), and after DROP EXTENSION in the same database.
set -euo pipefail

first=crm_install_first_$$
second=crm_install_second_$$
trap 'dropdb --if-exists "$first"; dropdb --if-exists "$second"' EXIT
createdb "$first"
createdb "$second"

n=0
check() { # description, command...
	local description=$1; shift
	n=$((n + 1))
	if output=$("$@" 2>&1); then echo "ok $n - $description"; else echo "not ok $n - $description"; sed 's/^/# /' <<<"$output"; fi
}
sql() { psql -qtAX -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
roles() { sql "$1" "SELECT count(*) FROM pg_roles WHERE rolname IN ('crm_admin', 'crm_manager', 'crm_sales', 'crm_support', 'crm_analyst')"; }
equals() { [ "$1" = "$2" ] || { echo "got '$1', expected '$2'"; return 1; }; }

echo "1..7"
check "CREATE EXTENSION crm in a first database" sql "$first" "CREATE EXTENSION crm"
check "the five group roles exist" equals "$(roles "$first")" 5
check "CREATE EXTENSION crm in a second database of the same cluster" sql "$second" "CREATE EXTENSION crm"
check "both databases work" equals "$(sql "$second" "SELECT count(*) FROM crm.pipeline_stages")" 7
check "DROP EXTENSION crm CASCADE" sql "$first" "DROP EXTENSION crm CASCADE"
check "the roles outlive the extension (other databases use them)" equals "$(roles "$first")" 5
check "CREATE EXTENSION crm again after the drop" sql "$first" "CREATE EXTENSION crm; CREATE EXTENSION crm_demo; SELECT crm.generate_demo_data(50, 1, '2026-06-30')"
