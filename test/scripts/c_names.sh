#!/usr/bin/env bash
# The names the C code depends on (src/crm_names.h) exist, with the right kind, in a fresh install:
# each table is a table of schema crm, each index an index on its table, each column a column of
# its table, each function a function of crm. And the C code uses the header: no call that looks a
# relation or a column up by name passes a bare string.
set -euo pipefail
cd "${CRM_ROOT:-$(dirname "$0")/../..}"

db=crm_c_names_$$
trap 'dropdb --if-exists "$db"' EXIT
createdb "$db"
psql -qX -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION crm' >/dev/null

# One line per name: macro|name|kind|table
names=$(perl -ne 'print "$1|$2|$3|$4\n" if m{^#define\s+(CRM_\w+)\s+"(\w+)"\s*/\*\s*(table|view|index on|column of|function)\s*(\w*)\s*\*/}' src/crm_names.h)
declared=$(grep -cE '^#define\s+CRM_(TABLE|VIEW|INDEX|COLUMN|FUNCTION)_' src/crm_names.h)
count=$(grep -c . <<<"$names")

echo "1..$((count + 2))"
n=0
if [ "$count" -eq "$declared" ] && [ "$count" -gt 0 ]; then
	echo "ok $((++n)) - every name in src/crm_names.h has a kind the test reads ($count names)"
else
	echo "not ok $((++n)) - every name in src/crm_names.h has a kind the test reads ($count of $declared)"
fi

while IFS='|' read -r macro name kind table; do
	case $kind in
	table) query="SELECT count(*) FROM pg_class WHERE relnamespace = 'crm'::regnamespace AND relname = '$name' AND relkind IN ('r', 'p')" ;;
	view) query="SELECT count(*) FROM pg_class WHERE relnamespace = 'crm'::regnamespace AND relname = '$name' AND relkind = 'v'" ;;
	'index on') query="SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	                   WHERE c.relnamespace = 'crm'::regnamespace AND c.relname = '$name'
	                     AND i.indrelid = to_regclass('crm.$table')" ;;
	'column of') query="SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('crm.$table') AND attname = '$name'
	                    AND attnum > 0 AND NOT attisdropped" ;;
	function) query="SELECT least(count(*), 1) FROM pg_proc WHERE pronamespace = 'crm'::regnamespace AND proname = '$name'" ;;
	esac
	found=$(psql -qtAX -v ON_ERROR_STOP=1 -d "$db" -c "$query")
	if [ "$found" = 1 ]; then
		echo "ok $((++n)) - $macro: crm${table:+.$table}: $kind${table:+ $table} \"$name\" exists"
	else
		echo "not ok $((++n)) - $macro: $kind${table:+ $table} \"$name\" exists (found $found)"
	fi
done <<<"$names"

# Lookups by name take a macro, never a literal: open_extension_relation, get_relname_relid,
# get_attnum, SPI_fnumber, column_number, column_<type>(slot, relation, name), lookup_row.
bare=$(grep -nE '(open_extension_relation|get_relname_relid|get_attnum|SPI_fnumber|column_number|column_[a-z]+\(slot, *[a-z_]+,|lookup_row)\([^;]*"[a-z_]+"' src/*.c || true)
if [ -z "$bare" ]; then
	echo "ok $((++n)) - the C code looks no relation or column up by a bare name"
else
	echo "not ok $((++n)) - the C code looks no relation or column up by a bare name"
	sed 's/^/# /' <<<"$bare"
fi
