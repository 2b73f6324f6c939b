#!/usr/bin/env bash
# The demo generator is an extension of its own: CREATE EXTENSION crm installs no demo code;
# crm_demo needs crm, installs into schema crm, generates data (its hooks included), and
# DROP EXTENSION crm_demo leaves crm and its data intact.
set -euo pipefail
cd "$(dirname "$0")/../.."

db=crm_demo_ext_$$
trap 'dropdb --if-exists "$db"' EXIT
createdb "$db"

n=0
check() { # description, command...
	local description=$1; shift
	n=$((n + 1))
	if output=$("$@" 2>&1); then echo "ok $n - $description"; else echo "not ok $n - $description"; sed 's/^/# /' <<<"$output"; fi
}
sql() { psql -qtAX -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
equals() { [ "$1" = "$2" ] || { echo "got '$1', expected '$2'"; return 1; }; }
fails_with() { # expected text, sql
	local out
	if out=$(sql "$2" 2>&1); then echo "succeeded: $out"; return 1; fi
	grep -qF "$1" <<<"$out" || { echo "$out"; return 1; }
}
demo_functions="SELECT count(*) FROM pg_proc WHERE pronamespace = 'crm'::regnamespace
                 AND (proname LIKE 'generate\_demo\_%' OR proname LIKE 'demo\_%')"
crm_functions="SELECT count(*) FROM pg_depend WHERE classid = 'pg_proc'::regclass AND deptype = 'e'
                AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'crm')"
demo_members="SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
               WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e' AND p.pronamespace = 'crm'::regnamespace
                 AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'crm_demo')"

echo "1..11"
check "crm_demo needs crm" fails_with 'required extension "crm" is not installed' "CREATE EXTENSION crm_demo"
check "CREATE EXTENSION crm" sql "CREATE EXTENSION crm"
check "crm alone has no demo function (generate_demo_%, demo_%)" equals "$(sql "$demo_functions")" 0
before=$(sql "$crm_functions")
check "CREATE EXTENSION crm_demo" sql "CREATE EXTENSION crm_demo"
# Every function the demo parts create (src/demo/*.sql, read from the sources), and nothing else.
demo_sources=$(grep -ohE 'CREATE (OR REPLACE )?FUNCTION @extschema@\.[a-z_0-9]+' src/demo/*.sql | sed 's/.*\.//' | LC_ALL=C sort -u | paste -sd,)
check "crm_demo holds the generator, its random helpers and every hook, in schema crm" equals "$(sql "$demo_members")" \
	"$demo_sources"
check "the generator stays for superusers only, the detractor hook for crm_admin too" equals \
	"$(sql "SELECT has_function_privilege('public', 'crm.generate_demo_data(integer,integer,date)', 'EXECUTE'),
	               has_function_privilege('crm_admin', 'crm.generate_demo_data(integer,integer,date)', 'EXECUTE'),
	               has_function_privilege('crm_admin', 'crm.generate_demo_detractor_tasks(integer)', 'EXECUTE'),
	               has_function_privilege('crm_manager', 'crm.generate_demo_detractor_tasks(integer)', 'EXECUTE')")" "f|f|t|f"
check "crm_demo generates data, every hook included" equals \
	"$(sql "SELECT r ->> 'contacts', (r ->> 'subscriptions')::int > 0, (r ->> 'rfm_history')::int > 0, r ->> 'lead_scoring_groups', r ->> 'segments'
	        FROM crm.generate_demo_data(50, 1, '2026-06-30') r")" "50|t|t|3|3"
check "DROP EXTENSION crm_demo (no CASCADE needed)" sql "DROP EXTENSION crm_demo"
check "crm keeps every function of its own" equals "$(sql "$crm_functions")" "$before"
check "the demo functions are gone" equals "$(sql "$demo_functions")" 0
check "the generated data stays" equals "$(sql "SELECT count(*) FROM crm.contacts")" 50
