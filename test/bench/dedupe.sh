#!/usr/bin/env bash
# Benchmark: duplicate detection on a labelled set (test/lib/dedupe_data.sql): $people people, a
# share $dup_rate of them entered twice with one or two edits (typos, swapped first and last
# name, nicknames, missing e-mail, phone or account, changed e-mail, the phone written the other
# way). Loads them with incremental matching off, then: a full refresh under the installed model,
# EM training (no labels), a refresh under the learned model; prints the blocked pair count, the
# blocking recall (true pairs that share a block), and precision, recall and F1 at the review and
# the auto-merge threshold, for the installed and the learned model; then the time of matching one
# new contact incrementally (median of $runs inserts, each rolled back), and a check that the
# trigger's path finds for those contacts the pairs the refresh's blocking gives them.
# Run with: scripts/bench test/bench/dedupe.sh (DEDUPE_PEOPLE=5000 by default)
set -euo pipefail

runs=${RUNS:-5}
people=${DEDUPE_PEOPLE:-5000}
dup_rate=${DEDUPE_DUP_RATE:-0.1}
# DEDUPE_PEOPLE may list sizes ("50000 200000 1000000"): each is generated and measured in turn
# (the last stays for the incremental measurement). The refresh under the installed model (before
# EM) runs by default only up to 100,000 people (DEDUPE_INSTALLED=1 or 0 decides).
source "$(dirname "$0")/lib.bash"
# DEDUPE_ONLY=incremental: the data, then only the incremental measurement, into its own block
# (dedupe_incremental): the full refresh at 1M takes most of an hour, one insert's matching not.
only=${DEDUPE_ONLY:-}
case $only in
	'') bench_record dedupe DEDUPE_PEOPLE DEDUPE_DUP_RATE DEDUPE_INSTALLED RUNS ;;
	incremental)
		bench_script=dedupe bench_record dedupe_incremental DEDUPE_PEOPLE DEDUPE_DUP_RATE RUNS DEDUPE_ONLY ;;
	*) echo "DEDUPE_ONLY: 'incremental' or unset, not '$only'" >&2; exit 2 ;;
esac
trap 'bench_finish $?' EXIT
# The figures go into docs/benchmarks.md and, as the measurement the docs state, into the
# bench:dedupe section of docs/data_quality.md (unless CRM_BENCH_RESULTS names another file).
eval "$(declare -f bench_write_results | sed '1s/bench_write_results/bench_write_results_one/')"
bench_write_results() {
	bench_write_results_one
	if [ -z "${CRM_BENCH_RESULTS:-}" ]; then
		CRM_BENCH_RESULTS=${CRM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/docs/data_quality.md \
			bench_write_results_one
	fi
}
cd "${CRM_ROOT:-$(dirname "$0")/../..}"

# precision, recall and F1 of the stored pairs at a threshold, against the labels
quality() { # label
	psql_bench -At <<SQL
WITH truth AS (SELECT x.contact_id AS a, y.contact_id AS b FROM bench_dedupe_truth x
               JOIN bench_dedupe_truth y ON y.person = x.person AND y.contact_id > x.contact_id),
s AS (SELECT review_threshold, auto_merge_threshold FROM crm.duplicate_settings),
t AS (SELECT 'review' AS name, review_threshold AS threshold FROM s
      UNION ALL SELECT 'auto-merge', auto_merge_threshold FROM s),
r AS (SELECT t.name, t.threshold,
             count(c.*) FILTER (WHERE tr.a IS NOT NULL) AS tp, count(c.*) AS predicted,
             (SELECT count(*) FROM truth) AS actual
      FROM t LEFT JOIN crm.duplicate_candidates c ON c.probability >= t.threshold AND c.contact_a >= 800000000
      LEFT JOIN truth tr ON (tr.a, tr.b) = (c.contact_a, c.contact_b)
      GROUP BY t.name, t.threshold)
SELECT format('   %-10s %-11s (p >= %s): %5s pairs flagged, %5s true: precision %s, recall %s, F1 %s',
              '$1', name, threshold, predicted, tp,
              round(tp::numeric / nullif(predicted, 0), 4), round(tp::numeric / nullif(actual, 0), 4),
              round(2 * tp::numeric / nullif(predicted + actual, 0), 4))
FROM r ORDER BY threshold;
SQL
}

# ms SQL: runs one statement with \timing, prints its milliseconds
ms() { psql_bench -At -c '\timing on' -c "$1" | awk '/^Time: / { print $2 }'; }

# run_size PEOPLE: generates the set, then blocking, features, EM, refresh and their quality
run_size() {
	local people=$1
load_start=$(date +%s)
psql_bench -At <<SQL
\\set dd_people $people
\\set dd_dup_rate $dup_rate
\\set dd_seed 0.31
DELETE FROM crm.contacts WHERE contact_id >= 800000000;
UPDATE crm.duplicate_settings SET incremental = false, insert_rule = 'allow';
\\i test/lib/dedupe_data.sql
UPDATE crm.duplicate_settings SET incremental = true;
CREATE TABLE IF NOT EXISTS bench_dedupe_truth (contact_id bigint PRIMARY KEY, person int NOT NULL);
TRUNCATE bench_dedupe_truth;
INSERT INTO bench_dedupe_truth SELECT * FROM dd_truth;
SQL
# as autovacuum would: statistics, and the GIN index's pending list merged
psql_bench -q -c 'VACUUM ANALYZE crm.contacts'
contacts=$(psql_bench -At -c 'SELECT count(*) FROM bench_dedupe_truth')
psql_bench -At <<SQL
SELECT '== data: ' || count(*) || ' contacts of ' || count(DISTINCT person) || ' people, '
       || (SELECT count(*) FROM bench_dedupe_truth x JOIN bench_dedupe_truth y ON y.person = x.person AND y.contact_id > x.contact_id)
       || ' true duplicate pairs (generated and loaded in $(( $(date +%s) - load_start )) s)' FROM bench_dedupe_truth;
SQL

[ "$only" = incremental ] && return 0
echo "== blocking (e-mail, phone, phonetic key: in full up to block_max contacts, else sorted neighbourhood; trigram similarity >= trigram_threshold)"
psql_bench -q -c 'DROP TABLE IF EXISTS bench_dedupe_blocks'
t_block=$(ms 'CREATE TABLE bench_dedupe_blocks AS SELECT contact_a, contact_b, blocks FROM crm.dedupe_blocks(NULL) WHERE contact_a >= 800000000')
psql_bench -At <<SQL
WITH truth AS (SELECT x.contact_id AS a, y.contact_id AS b FROM bench_dedupe_truth x
               JOIN bench_dedupe_truth y ON y.person = x.person AND y.contact_id > x.contact_id)
SELECT format('   %s candidate pairs (%s per contact); blocking recall %s (%s of %s true pairs share a block); %s ms',
              (SELECT count(*) FROM bench_dedupe_blocks), round((SELECT count(*) FROM bench_dedupe_blocks)::numeric / (SELECT count(*) FROM bench_dedupe_truth), 2),
              round(count(p.*)::numeric / count(*), 4), count(p.*), count(*), round($t_block))
FROM truth LEFT JOIN bench_dedupe_blocks p ON (p.contact_a, p.contact_b) = (truth.a, truth.b);
SELECT '   pairs per block: ' || string_agg(format('%s %s', b, n), ', ' ORDER BY b)
FROM (SELECT b, count(*) AS n FROM bench_dedupe_blocks, unnest(blocks) b GROUP BY b) z;
SELECT format('   block sizes (e-mail, phone, phonetic key): largest %s, %s contacts in blocks of more than block_max (%s)',
              max(n), coalesce(sum(n) FILTER (WHERE n > s.block_max), 0), s.block_max)
FROM (SELECT count(*) AS n FROM crm.contacts c, LATERAL (VALUES (crm.normalize_email(c.email)), (crm.normalize_phone(c.phone, c.country)),
                                                          (nullif(crm.contact_phonetic_key(c.first_name, c.last_name), ''))) v(key)
      WHERE v.key IS NOT NULL GROUP BY v.key) z, crm.duplicate_settings s GROUP BY s.block_max;
SQL
pairs=$(psql_bench -At -c 'SELECT count(*) FROM bench_dedupe_blocks')
psql_bench -q -c 'DROP TABLE bench_dedupe_blocks'

if [ "${DEDUPE_INSTALLED:-$([ "$people" -le 100000 ] && echo 1 || echo 0)}" = 1 ]; then
	echo "== installed model (defaults): full refresh"
	psql_bench -At -c '\timing on' -c 'SELECT crm.refresh_duplicate_candidates()' | sed 's/^/   /'
	quality installed
fi

echo "== EM (no labels): learned model"
em=$(psql_bench -At -c '\timing on' -c "SELECT crm.train_duplicate_model() - 'model'")
t_em=$(awk '/^Time: / { print $2 }' <<<"$em")
grep -v '^Time: ' <<<"$em" | sed 's/^/   /'
echo "   $t_em ms"
psql_bench -At -c "SELECT format('   %-10s %-8s m %s  u %s  weight %s', field, level, round(m::numeric, 4), round(u::numeric, 6), round(weight::numeric, 2)) FROM crm.duplicate_model()"
echo "== learned model: full refresh (blocking, features, probabilities, stored)"
t_refresh=$(ms 'SELECT crm.refresh_duplicate_candidates()')
echo "   $t_refresh ms"
quality learned

# EM itself iterates over the distinct comparison patterns (a few hundred), not the pairs: training
# is blocking, then features (compare_contacts of every pair), then EM; the refresh is blocking,
# then features, then probabilities and the store.
awk -v b="$t_block" -v e="$t_em" -v r="$t_refresh" -v n="$contacts" 'BEGIN {
	printf "== time per phase (%d contacts): blocking %.1f s; training = blocking + %.1f s (features and EM); refresh = blocking + %.1f s (features, probabilities, store)\n", n, b / 1000, (e - b) / 1000, (r - b) / 1000
	printf "   train + refresh: %.1f s = %.3f ms per contact\n", (e + r) / 1000, (e + r) / n }'
	scaling+=$(awk -v b="$t_block" -v e="$t_em" -v r="$t_refresh" -v n="$contacts" -v p="$pairs" 'BEGIN {
		printf "   %9d %10d %8.2f %9.1f %9.1f %9.1f %9.1f %8.3f\n", n, p, p / n, b / 1000, e / 1000, r / 1000, (e + r) / 1000, (e + r) / n }')
	scaling+=$'\n'

}

scaling=
for size in $people; do
	run_size "$size"
done
if [ "$only" != incremental ]; then
	echo "== scaling: contacts, blocked pairs, pairs per contact; seconds: blocking, training (blocking, features, EM), refresh (blocking, features, probabilities, store), train + refresh; ms per contact"
	printf '%s' "$scaling"
fi

# The trigger's trigram lookup reads crm.duplicate_trigram_counts, which the full refresh takes;
# with DEDUPE_ONLY=incremental there was none: take the counts alone (what a refresh does first).
t_counts=$(ms 'SELECT crm.dedupe_count_trigrams()')
psql_bench -At -c "SELECT format('== trigram counts (crm.dedupe_count_trigrams, part of every refresh): %s trigrams held by more than trigram_block_max (%s) contacts, of %s; %s ms',
                                 count(*), (SELECT trigram_block_max FROM crm.duplicate_settings),
                                 (SELECT count(DISTINCT g) FROM crm.contacts c, unnest(crm.trigrams(crm.contact_match_name(c.first_name, c.last_name))) g),
                                 round($t_counts)) FROM crm.duplicate_trigram_counts"

echo "== incremental: one new contact (a duplicate of an existing one), matched by the trigger, median of $runs (one session, after a warm-up insert); the same inserts with incremental matching off (the floor)"
# insert_ms INCREMENTAL: the median milliseconds of $runs such inserts, each rolled back
insert_ms() {
	{
		echo 'BEGIN;'
		echo "UPDATE crm.duplicate_settings SET incremental = $1;"
		echo "INSERT INTO crm.contacts (first_name, last_name, phone, country) VALUES ('Warm', 'Up', '+1 202 555 0100', 'US');"
		echo '\timing on'
		for ((run = 1; run <= runs; run++)); do
			echo "SAVEPOINT s;"
			echo "INSERT INTO crm.contacts (first_name, last_name, email, phone, country)
			      SELECT first_name, last_name || 'e', 'x$run' || email, phone, country FROM crm.contacts
			       WHERE contact_id >= 800000000 ORDER BY contact_id OFFSET $((run * 7)) LIMIT 1;"
			echo "ROLLBACK TO SAVEPOINT s;"
		done
		echo 'ROLLBACK;'
	} | psql_bench -At | awk '/^Time: / { if (++n % 3 == 2) v[++k] = $2 }
		END { for (i = 1; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		      print v[int((k + 1) / 2)] }'
}
with=$(insert_ms true)
without=$(insert_ms false)
printf '   %s ms per insert (with matching)\n' "$with"
printf '   %s ms per insert (incremental matching off)\n' "$without"

# The same pairs as the refresh: the $runs contacts inserted above, now together in one
# transaction; the pairs the trigger's path finds for them (crm.dedupe_blocks(ids)) against those
# the refresh's set-wise blocking (crm.dedupe_blocks(NULL), every contact) gives them.
echo "== the same pairs as a full refresh: the $runs contacts inserted together, their pairs by the trigger's path and by the refresh's blocking of every contact"
same=$(
	{
		echo 'BEGIN;'
		echo 'CREATE TEMP TABLE bench_new (contact_id bigint) ON COMMIT DROP;'
		for ((run = 1; run <= runs; run++)); do
			echo "WITH n AS (INSERT INTO crm.contacts (first_name, last_name, email, phone, country)
			      SELECT first_name, last_name || 'e', 'x$run' || email, phone, country FROM crm.contacts
			       WHERE contact_id >= 800000000 ORDER BY contact_id OFFSET $((run * 7)) LIMIT 1 RETURNING contact_id)
			      INSERT INTO bench_new SELECT contact_id FROM n;"
		done
		echo "CREATE TEMP TABLE bench_inc ON COMMIT DROP AS SELECT * FROM crm.dedupe_blocks((SELECT array_agg(contact_id) FROM bench_new));"
		echo "CREATE TEMP TABLE bench_full ON COMMIT DROP AS SELECT b.* FROM crm.dedupe_blocks(NULL) b
		      WHERE b.contact_a IN (SELECT contact_id FROM bench_new) OR b.contact_b IN (SELECT contact_id FROM bench_new);"
		echo "SELECT format('%s %s %s %s', (SELECT count(*) FROM bench_inc), (SELECT count(*) FROM bench_full),
		                    (SELECT count(*) FROM (SELECT * FROM bench_inc EXCEPT SELECT * FROM bench_full) x),
		                    (SELECT count(*) FROM (SELECT * FROM bench_full EXCEPT SELECT * FROM bench_inc) y))
		       || ' ' || coalesce((SELECT string_agg(b || ' ' || n, ', ' ORDER BY b) FROM (SELECT array_to_string(blocks, '+') AS b, count(*) AS n FROM bench_full GROUP BY 1) z), 'none');"
		echo 'ROLLBACK;'
	} | psql_bench -At
)
read -r n_inc n_full only_inc only_full per_block <<<"$same"
printf '   trigger: %s pairs; refresh: %s pairs (%s); only the trigger'"'"'s: %s, only the refresh'"'"'s: %s\n' \
	"$n_inc" "$n_full" "$per_block" "$only_inc" "$only_full"
if [ "$only_inc" != 0 ] || [ "$only_full" != 0 ]; then
	echo "the trigger's pairs differ from the refresh's" >&2
	exit 1
fi

psql_bench -q -c 'DROP TABLE bench_dedupe_truth' -c 'DELETE FROM crm.contacts WHERE contact_id >= 800000000' \
	-c 'DELETE FROM crm.accounts WHERE account_id >= 800000000'
