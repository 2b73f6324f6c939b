#!/usr/bin/env bash
# Finding 1: a crm_manager must not become superuser through a segment rule. The manager plants an
# operator = for crm.rfm in their temporary schema whose function, run by anyone but the session's
# own role, makes that role a superuser; a rule rfm = '555' and crm.refresh_segment (SECURITY
# DEFINER) must never call it. The 0.1 code took the rule's operator from any schema, ties broken
# by namespace OID: it picked the planted one when the temporary schema predates the crm schema, so
# this script makes a fresh database whose temporary schema is created before CREATE EXTENSION crm,
# and does everything in that one session (SET SESSION AUTHORIZATION to a manager login role).
set -euo pipefail

db=crm_segment_escalation_$$
manager=crm_segment_escalation_manager_$$
trap 'dropdb --if-exists "$db"; psql -qX -d postgres -c "DROP ROLE IF EXISTS $manager" >/dev/null' EXIT
createdb "$db"
psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE $manager LOGIN IN ROLE crm_manager"

output=$(psql -qtAX -v ON_ERROR_STOP=1 -v manager="$manager" -d "$db" 2>&1 <<'SQL'
CREATE TEMP TABLE made_before_the_extension ();
CREATE EXTENSION crm;
SELECT 'temp schema first: ' || (pg_my_temp_schema() < 'crm'::regnamespace);
INSERT INTO crm.contacts (contact_id, first_name, last_name) VALUES (1, 'Ann', 'A'), (2, 'Ben', 'B');
INSERT INTO crm.orders (contact_id, ordered_at, status, total) VALUES (1, now() - interval '3 days', 'paid', 10);
SELECT crm.refresh_rfm(now()) IS NOT NULL;
SELECT 'expected members: ' || count(*) FROM crm.customer_360 WHERE rfm OPERATOR(crm.=) '555'::crm.rfm;

SET SESSION AUTHORIZATION :"manager";
CREATE TEMP TABLE evil_calls (called_as name, session_role name);
CREATE FUNCTION pg_temp.evil_eq(crm.rfm, crm.rfm) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO pg_temp.evil_calls VALUES (current_user, session_user);
    IF current_user <> session_user THEN
        EXECUTE format('ALTER ROLE %I SUPERUSER', session_user);
    END IF;
    RETURN true;
END
$f$;
CREATE OPERATOR pg_temp.= (LEFTARG = crm.rfm, RIGHTARG = crm.rfm, FUNCTION = pg_temp.evil_eq);
INSERT INTO crm.segments (segment_id, name) VALUES (1, 'escalation');
INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (1, 'rfm', '=', '555');
SELECT 'condition: ' || crm.segment_condition(1);
SELECT 'members: ' || members FROM crm.refresh_segment(1);
SELECT 'evil calls: ' || count(*) FROM pg_temp.evil_calls;
RESET SESSION AUTHORIZATION;
SELECT 'superuser: ' || rolsuper FROM pg_roles WHERE rolname = :'manager';
SQL
) || { echo "1..1"; echo "not ok 1 - the session ran"; sed 's/^/# /' <<<"$output"; exit 0; }

n=0
shown=
expect() { # description, line the session printed
	n=$((n + 1))
	if grep -qxF -- "$2" <<<"$output"; then echo "ok $n - $1"; return; fi
	echo "not ok $n - $1"
	echo "# wanted: $2"
	[ -n "$shown" ] || sed 's/^/# /' <<<"$output"
	shown=yes
}
expected=$(sed -n 's/^expected members: //p' <<<"$output")
echo "1..5"
expect "the temporary schema predates the crm schema (the setting of the 0.1 exploit)" "temp schema first: true"
expect "the rule compiles to crm's own operator and type" "condition: (rfm OPERATOR(crm.=) '555'::crm.rfm)"
expect "refresh_segment finds the members crm.= finds" "members: $expected"
expect "the planted operator's function is never called" "evil calls: 0"
expect "the manager is still no superuser" "superuser: false"
