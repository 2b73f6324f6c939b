#!/usr/bin/env bash
# Upgrading a 0.1 database with marketing consent flags (docs/privacy.md, "Upgrading from 0.1"):
# each contact whose flag is true gets one consent history row (marketing_email, granted, basis
# consent, source 'migrated from 0.1', evidence its consent_source, effective at its consent_at,
# never later than the upgrade); no row for a false flag; flags unchanged and equal to
# crm.has_consent; afterwards a write of the column is recorded in the history.
set -euo pipefail

db=crm_consent_upgrade_$$
trap 'dropdb --if-exists "$db"' EXIT
n=0
check() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "# have: $2" >&2; echo "# want: $3" >&2; fi; }
sql() { psql -qtAX -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

echo "1..6"
createdb "$db"
sql "CREATE EXTENSION crm VERSION '0.1'" >/dev/null
sql "INSERT INTO crm.contacts (contact_id, first_name, marketing_consent, consent_at, consent_source) VALUES
         (1, 'Ann', true, '2025-03-01 10:00+00', 'signup form'),
         (2, 'Ben', false, NULL, NULL),
         (3, 'Cy', true, '2999-01-01 00:00+00', 'import')" >/dev/null
sql "ALTER EXTENSION crm UPDATE" >/dev/null

check "one history row per true flag, none for a false one" \
	"$(sql "SELECT string_agg(contact_id::text, ',' ORDER BY contact_id) FROM crm.consent_history")" "1,3"
check "purpose, granted, basis, source and evidence of a migrated row" \
	"$(sql "SELECT purpose || '|' || granted || '|' || lawful_basis || '|' || source || '|' || evidence FROM crm.consent_history WHERE contact_id = 1")" \
	"marketing_email|true|consent|migrated from 0.1|signup form"
check "effective at the contact's consent_at; a future consent_at at the upgrade's time at the latest" \
	"$(sql "SELECT string_agg((effective_at = CASE contact_id WHEN 1 THEN '2025-03-01 10:00+00'::timestamptz ELSE recorded_at END)::text, ',' ORDER BY contact_id) FROM crm.consent_history")" "true,true"
check "flags unchanged and equal to has_consent" \
	"$(sql "SELECT string_agg(contact_id || ':' || marketing_consent || ':' || crm.has_consent(contact_id, 'marketing_email'), ',' ORDER BY contact_id) FROM crm.contacts")" \
	"1:true:true,2:false:false,3:true:true"
sql "UPDATE crm.contacts SET marketing_consent = false WHERE contact_id = 1" >/dev/null
check "after the upgrade, clearing the flag records a withdrawal (source legacy column)" \
	"$(sql "SELECT granted || '|' || source FROM crm.consent_history WHERE contact_id = 1 ORDER BY consent_id DESC LIMIT 1")" "false|legacy column"
check "and has_consent follows" "$(sql "SELECT crm.has_consent(1, 'marketing_email')")" "f"
