#!/usr/bin/env bash
# Benchmark: crm.export_person and crm.erase_person (docs/privacy.md) on a demo CRM of
# $PRIVACY_CUSTOMERS customers (crm.generate_demo_data, seed 42), medians of $RUNS interleaved runs:
#   - export_person of the contact with the most activities (the largest document) and of a
#     median one, beside a baseline in the same run: one hand-written query reading the same
#     contact's rows by key from the seven tables that hold most of them (contact, activities,
#     orders, tickets, survey answers, leads, consent events) into one jsonb — what any export
#     must at least do; export_person also searches every other table by key, one level further,
#     and by normalised e-mail and phone;
#   - erase_person of a contact not yet erased (each run the next one: the first erasure, with
#     its log row), and erasing the same contact again (the idempotent path), beside a baseline:
#     rewriting the contact row and its activities' details by plain UPDATEs (values unchanged,
#     triggers firing).
# Target (issue 18): export_person under 50 ms.
# Run with: scripts/bench test/bench/privacy.sh (PRIVACY_CUSTOMERS=20000 by default)
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"

runs=${RUNS:-5}
customers=${PRIVACY_CUSTOMERS:-20000}
source "$(dirname "$0")/lib.bash"
bench_record privacy PRIVACY_CUSTOMERS RUNS
db=crm_bench_privacy
trap 'dropdb --if-exists "$db"; bench_finish $?' EXIT

echo "== setup: crm.generate_demo_data($customers, 42, '2026-06-30')"
dropdb --if-exists "$db"
createdb "$db"
export PGDATABASE=$db
psql_bench -c 'CREATE EXTENSION crm; CREATE EXTENSION crm_demo;'
psql_bench -At -c "SELECT crm.generate_demo_data($customers, 42, '2026-06-30')" >/dev/null
psql_bench -c 'VACUUM ANALYZE'
read -r big big_n <<<"$(psql_bench -At -F ' ' -c "SELECT contact_id, count(*) FROM crm.activities GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")"
read -r mid mid_n <<<"$(psql_bench -At -F ' ' -c "SELECT contact_id, n FROM (SELECT contact_id, count(*) AS n FROM crm.activities GROUP BY 1) s
                                               ORDER BY n, contact_id OFFSET (SELECT count(DISTINCT contact_id) / 2 FROM crm.activities) LIMIT 1")"
echo "contacts: $(psql_bench -At -c 'SELECT count(*) FROM crm.contacts'), activities: $(psql_bench -At -c 'SELECT count(*) FROM crm.activities'), tables in schema crm: $(psql_bench -At -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'crm'::regnamespace AND relkind = 'r'")"
echo "largest contact: $big ($big_n activities); median contact: $mid ($mid_n activities)"

baseline() {
	echo "SELECT pg_catalog.jsonb_build_object(
	    'contact', (SELECT to_jsonb(c) FROM crm.contacts c WHERE c.contact_id = $1),
	    'activities', (SELECT jsonb_agg(to_jsonb(a)) FROM crm.activities a WHERE a.contact_id = $1),
	    'orders', (SELECT jsonb_agg(to_jsonb(o)) FROM crm.orders o WHERE o.contact_id = $1),
	    'tickets', (SELECT jsonb_agg(to_jsonb(t)) FROM crm.tickets t WHERE t.contact_id = $1),
	    'surveys', (SELECT jsonb_agg(to_jsonb(s)) FROM crm.survey_responses s WHERE s.contact_id = $1),
	    'leads', (SELECT jsonb_agg(to_jsonb(l)) FROM crm.leads l WHERE l.contact_id = $1),
	    'consent', (SELECT jsonb_agg(to_jsonb(h)) FROM crm.consent_history h WHERE h.contact_id = $1))"
}

echo
echo "== export_person (median ms of $runs runs)"
read -r t_base_big t_exp_big t_base_mid t_exp_mid <<<"$(time_queries '' \
	"$(baseline "$big")" "SELECT crm.export_person($big)" "$(baseline "$mid")" "SELECT crm.export_person($mid)")"
printf 'largest contact: export_person %s ms, baseline %s ms, ratio %.1fx\n' "$t_exp_big" "$t_base_big" "$(echo "$t_exp_big / $t_base_big" | bc -l)"
printf 'median contact:  export_person %s ms, baseline %s ms, ratio %.1fx\n' "$t_exp_mid" "$t_base_mid" "$(echo "$t_exp_mid / $t_base_mid" | bc -l)"

echo
echo "== erase_person (median ms of $runs runs)"
next="(SELECT min(c.contact_id) FROM crm.contacts c WHERE c.contact_id % 97 = 0
        AND NOT EXISTS (SELECT FROM crm.erasure_log l WHERE l.contact_id = c.contact_id))"
read -r t_base_erase t_erase t_again <<<"$(time_queries '' \
	"WITH c AS (UPDATE crm.contacts SET first_name = first_name, email = email WHERE contact_id = $mid RETURNING 1),
	      a AS (UPDATE crm.activities SET details = details WHERE contact_id = $mid RETURNING 1)
	 SELECT (SELECT count(*) FROM c) + (SELECT count(*) FROM a)" \
	"SELECT crm.erase_person($next, 'bench')" \
	"SELECT crm.erase_person($big, 'bench')")"
printf 'first erasure: %s ms; again (idempotent): %s ms; baseline (plain UPDATEs of a contact and its activities): %s ms; ratio %.1fx\n' \
	"$t_erase" "$t_again" "$t_base_erase" "$(echo "$t_erase / $t_base_erase" | bc -l)"
echo "erased: $(psql_bench -At -c 'SELECT count(*) FROM crm.erasure_log') contacts"
