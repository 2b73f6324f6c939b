#!/usr/bin/env bash
# Fuzz test: malformed text and binary input to every base type of schema crm, edge values to every
# C function and aggregate of schema crm (all found in the catalog, so later capabilities are covered
# unchanged). Each case is one statement under a 2 s statement_timeout. It passes when the server
# never crashes, every error's SQLSTATE is a documented one (data exceptions 22xxx, 54000, 57014,
# the type mismatches 42883/42804/42725, 0A000), never XX000, and every value accepted reads back
# unchanged (text out -> in -> out, and the same binary form). Each failure is printed with the SQL
# that reproduces it (in the scratch database, after \i test/lib/fuzz.sql for the fuzz.* helpers).
#
#   CRM_FUZZ_SEED=n   another seed (default 1); the same seed gives the same cases
#   CRM_FUZZ_SCALE=x  x times the random cases (default 1: about 45 s on a loaded 2-core machine)
#   CRM_FUZZ_KEEP=1   keep the scratch database and the case files
set -uo pipefail

seed=${CRM_FUZZ_SEED:-1}
scale=${CRM_FUZZ_SCALE:-1}
root=${CRM_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
db=crm_fuzz_$$
work=$(mktemp -d "${TMPDIR:-/tmp}/crm-fuzz.XXXXXX")
cleanup() {
	# the COPY files fuzz.bin_case wrote in the data directory
	psql -qX -d "$db" >/dev/null 2>&1 <<-'SQL' || true
		DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
		    'rm -f "' || current_setting('data_directory') || '"/crm_fuzz_*.copy'); END $$;
	SQL
	if [ -z "${CRM_FUZZ_KEEP:-}" ]; then
		dropdb --if-exists "$db" >/dev/null 2>&1
		rm -rf "$work"
	else
		echo "# kept: database $db, files in $work" >&2
	fi
}
trap cleanup EXIT
started=$SECONDS

# Known failures another branch is fixing: "group regex|SQLSTATE|message regex" (extended regexes).
# They are reported as TODO, not failures. Empty this list once those fixes are merged.
known_failures=(
)

# Cases known to ignore statement_timeout (loops without CHECK_FOR_INTERRUPTS), fixed on another
# branch: SQL regular expressions; matching cases are not run (each would cost minutes) and are
# reported as TODO. Empty this list once those fixes are merged.
known_hangs=(
)

server_log=
[ -n "${PGHOST:-}" ] && [ -r "$PGHOST/server.log" ] && server_log=$PGHOST/server.log
log_offset=0
[ -n "$server_log" ] && log_offset=$(stat -c %s "$server_log")

createdb "$db"
if ! psql -qX -v ON_ERROR_STOP=1 -d "$db" >/dev/null 2>"$work/setup.log" <<SQL; then
CREATE EXTENSION crm;
CREATE EXTENSION crm_demo;
SELECT crm.generate_demo_data(60, 7, '2026-06-30');
SELECT crm.fit_clv_models('2026-06-30');
\i $root/test/lib/fuzz.sql
SELECT fuzz.generate($seed, $scale);
SQL
	echo "1..1"
	echo "not ok 1 - the fuzz cases are generated"
	sed 's/^/# /' "$work/setup.log"
	exit 0
fi

sql() { psql -qtAX -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
# Cases known to ignore statement_timeout are not run (each would cost minutes): see known_hangs.
skipped=0
for pattern in "${known_hangs[@]}"; do
	skipped=$((skipped + $(sql "WITH d AS (DELETE FROM fuzz.cases WHERE sql ~ \$p\$$pattern\$p\$ RETURNING 1) SELECT count(*) FROM d")))
done
sql "SELECT id, grp FROM fuzz.cases ORDER BY id" | tr '|' '\t' >"$work/groups.tsv"
# one statement per case, each after a marker on stderr with the time it starts
sql "SELECT format(E'-- @@BLOCK %s\nSELECT extract(epoch FROM clock_timestamp()) AS fuzz_t \\\\gset\n\\\\warn @@CASE %s :fuzz_t\n%s;',
            id, id, sql) FROM fuzz.cases ORDER BY id" >"$work/cases.sql"
printf -- '-- @@BLOCK END\nSELECT extract(epoch FROM clock_timestamp()) AS fuzz_t \\gset\n\\warn @@END :fuzz_t\n' >>"$work/cases.sql"
case_count=$(wc -l <"$work/groups.tsv")

# Runs the cases from number $1 on; a lost connection (a crash) is recorded and the run resumes
# after the crashing case once the server accepts connections again.
crashes=0
from=1
: >"$work/stderr.log"
while :; do
	{
		printf '\\set VERBOSITY verbose\nSET statement_timeout = %s;\nSET lock_timeout = %s;\n' "'2s'" "'2s'"
		awk -v from="$from" '/^-- @@BLOCK / { on = ($3 == "END" || $3 >= from) } on' "$work/cases.sql"
	} >"$work/run.sql"
	psql -X -q -d "$db" -f "$work/run.sql" >/dev/null 2>>"$work/stderr.log"
	rc=$?
	[ $rc -eq 0 ] && break
	last=$(grep -o '^@@CASE [0-9]*' "$work/stderr.log" | tail -1 | cut -d' ' -f2)
	echo "@@CRASH ${last:-0}" >>"$work/stderr.log"
	crashes=$((crashes + 1))
	[ "$crashes" -ge 5 ] || [ -z "$last" ] && break
	for _ in $(seq 60); do pg_isready -q -d "$db" && psql -qX -d "$db" -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
	from=$((last + 1))
done

# case id -> its outcome: "ok", an SQLSTATE with its message, or CRASH
awk '
	/^@@(CASE [0-9]+|END) [0-9.]+$/ {
		t = (NF == 3) ? $3 : $2
		if (timed != "" && t - started > 5)
			printf "%s\tSLOW\ttook %.1f s, past the 2 s statement_timeout\n", timed, t - started
		timed = (NF == 3) ? $2 : ""; started = t; id = timed; next
	}
	/^@@CRASH / { print $2 "\tCRASH\tthe server closed the connection"; id = ""; timed = ""; next }
	id != "" && match($0, /(ERROR|FATAL|PANIC):  [0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]: /) {
		state = substr($0, RSTART, RLENGTH); sub(/^[A-Z]+:  /, "", state); sub(/: $/, "", state)
		message = substr($0, RSTART + RLENGTH)
		if ($0 ~ /FATAL|PANIC/) state = "CRASH"
		print id "\t" state "\t" message; id = ""
	}
	/server closed the connection unexpectedly|connection to server was lost/ && id != "" {
		print id "\tCRASH\tthe server closed the connection"; id = ""
	}
' "$work/stderr.log" | sort -t$'\t' -k1,1n -k2,2 -u >"$work/errors.tsv"

allowed='^(22[0-9A-Z]{3}|54000|54001|57014|42883|42804|42725|0A000)$'
is_known() { # group, state, message
	local entry g s m
	for entry in "${known_failures[@]}"; do
		IFS='|' read -r g s m <<<"$entry"
		[[ $1 =~ $g ]] && [[ $2 =~ ^$s$ ]] && [[ $3 =~ $m ]] && return 0
	done
	return 1
}

declare -A bad known total
declare -A detail
while IFS=$'\t' read -r id group; do total[$group]=$(( ${total[$group]:-0} + 1 )); done <"$work/groups.tsv"
declare -A group_of
while IFS=$'\t' read -r id group; do group_of[$id]=$group; done <"$work/groups.tsv"
while IFS=$'\t' read -r id state message; do
	group=${group_of[$id]:-?}
	[[ $state =~ $allowed ]] && continue
	if is_known "$group" "$state" "$message"; then
		known[$group]=$(( ${known[$group]:-0} + 1 ))
		[ "${known[$group]}" -le 3 ] || continue
	else
		bad[$group]=$(( ${bad[$group]:-0} + 1 ))
		[ "${bad[$group]}" -le 5 ] || continue
	fi
	reproducer=$(sql "SELECT sql FROM fuzz.cases WHERE id = $id" 2>/dev/null | tr '\n' ' ' | head -c 800)
	detail[$group]+="# case $id: $state: $message"$'\n'"#   reproduce: $reproducer;"$'\n'
done <"$work/errors.tsv"

tests=()
type_count=$(sql "SELECT count(*) FROM fuzz.types")
function_count=$(cut -f2 "$work/groups.tsv" | sort -u | grep -c '^function ')
aggregate_count=$(cut -f2 "$work/groups.tsv" | sort -u | grep -c '^aggregate ')
if [ "$type_count" -ge 3 ] && [ "$function_count" -ge 10 ]; then
	tests+=("ok - the catalog gives $type_count base types, $function_count C functions, $aggregate_count aggregates ($case_count cases, seed $seed)")
else
	tests+=("not ok - the catalog gives $type_count base types, $function_count C functions, $aggregate_count aggregates")
fi
unseeded=$(sql "SELECT string_agg(typ::text, ', ') FROM fuzz.types WHERE typ NOT IN (SELECT typ FROM fuzz.seeds)")
if [ -z "$unseeded" ]; then
	tests+=("ok - every base type has valid values to mutate")
else
	tests+=("not ok - every base type has valid values to mutate (none for $unseeded: add seeds in test/lib/fuzz.sql)")
fi
while read -r group; do
	n=${total[$group]}
	if [ "${bad[$group]:-0}" -gt 0 ]; then
		tests+=("not ok - $group: ${bad[$group]} of $n cases fail")
	elif [ "${known[$group]:-0}" -gt 0 ]; then
		tests+=("not ok - $group: ${known[$group]} of $n cases fail # TODO known failures, fixed on another branch")
	else
		tests+=("ok - $group: $n cases")
	fi
	[ -n "${detail[$group]:-}" ] && tests+=("${detail[$group]%$'\n'}")
done < <(cut -f2 "$work/groups.tsv" | awk '!seen[$0]++')

if [ "$skipped" -gt 0 ]; then
	tests+=("not ok - $skipped cases skipped: known to ignore statement_timeout (known_hangs) # TODO fixed on another branch")
fi
if [ "$crashes" -eq 0 ]; then
	tests+=("ok - the server never crashed")
else
	tests+=("not ok - the server crashed during $crashes cases (marked CRASH above)")
fi
if [ -n "$server_log" ]; then
	signals=$(tail -c +$((log_offset + 1)) "$server_log" | grep -E 'terminated by signal|PANIC|TRAP:' | head -5)
	if [ -z "$signals" ]; then
		tests+=("ok - the server log shows no process terminated by a signal")
	else
		tests+=("not ok - the server log shows processes terminated by a signal")
		tests+=("$(sed 's/^/# /' <<<"$signals")")
	fi
fi
tests+=("# $case_count cases in $((SECONDS - started)) s")

echo "1..$(printf '%s\n' "${tests[@]}" | grep -c '^ok\|^not ok')"
n=0
for line in "${tests[@]}"; do
	if [[ $line =~ ^(not\ )?ok\ - ]]; then
		n=$((n + 1))
		echo "${line/ok - /ok $n - }"
	else
		echo "$line"
	fi
done
