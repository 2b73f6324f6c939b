#!/usr/bin/env bash
# Erasure keeps every report's totals (issue 18 item 6): a generated CRM (400 customers), every
# section of demo/*.sql, then crm.erase_person for 100 people (the 100 biggest spenders, so that
# they are among the customers the sections list by name), then every section again. The two
# reports must be the same text, once names are masked.
#
# How lines that print names are compared: both reports go through the same mask, which replaces
# every string that names an erased person — before the erasure their name as the sections print
# it ("first last", concat_ws) and their e-mail; after it, their placeholder "Erased person <id>" —
# by one token, longest string first. The same mask on both sides makes the comparison symmetric:
# a line of someone else who shares an erased person's name is masked in both reports alike, so
# name collisions cannot make the test fail or pass wrongly; and every other character of every
# line (counts, sums, averages, scores, ids, order) must be identical. Mapping each former name to
# its placeholder instead would need the contact id on every line, which the sections do not print.
# Output is unaligned (psql -A), so a placeholder of another length does not move the columns.
# The one part meant to change is the erasure table of demo/72_privacy.sql: it is compared apart
# (0 erasures before, 100 after).
set -euo pipefail
cd "$(dirname "$0")/../.."

db=crm_erasure_report_$$
work=$(mktemp -d)
trap 'dropdb --if-exists "$db"; rm -rf "$work"' EXIT
createdb "$db"
q() { psql -qXAt -v ON_ERROR_STOP=1 -d "$db" "$@"; }
q -c 'CREATE EXTENSION crm; CREATE EXTENSION crm_demo;' >/dev/null
q -c "SELECT crm.generate_demo_data(400, 7, '2026-06-30')" >/dev/null

report() {
	local section
	for section in demo/*.sql; do
		psql -X -A -v ON_ERROR_STOP=1 -P pager=off -d "$db" -f "$section" 2>&1
	done
}

echo "1..5"
report >"$work/before.txt"

# The 100 people, and every string naming them before (their names as printed, their e-mail).
q -c "CREATE TABLE erased_people AS SELECT contact_id FROM crm.customer_order_stats ORDER BY total_spent DESC, contact_id LIMIT 100"
q -c "SELECT DISTINCT s FROM crm.contacts c JOIN erased_people USING (contact_id)
      CROSS JOIN LATERAL (VALUES (c.first_name || ' ' || coalesce(c.last_name, '')), (concat_ws(' ', c.first_name, c.last_name)),
                                 (c.email)) AS v(s)
      WHERE s IS NOT NULL AND s <> ''" >"$work/names.txt"
erased=$(q -c "SELECT count(crm.erase_person(contact_id, 'report test')) FROM erased_people")
# ... and after: their placeholders.
q -c "SELECT c.first_name || ' ' || c.last_name FROM crm.contacts c JOIN erased_people USING (contact_id)" >>"$work/names.txt"
q -c "DROP TABLE erased_people"

report >"$work/after.txt"

if [ "$erased" = 100 ] && [ "$(q -c 'SELECT count(*) FROM crm.erasure_log')" = 100 ]; then
	echo "ok 1 - 100 people erased and logged"
else
	echo "not ok 1 - 100 people erased and logged (erased: $erased)"
fi

# The mask: each string, longest first, replaced by <erased person>.
mask() {
	perl -e '
		open my $f, "<", $ARGV[0] or die; my @n = grep { length } map { chomp; $_ } <$f>;
		@n = sort { length($b) <=> length($a) or $a cmp $b } @n;
		my $re = join "|", map { quotemeta } @n;
		open my $t, "<", $ARGV[1] or die;
		while (<$t>) { s/(?:$re)/<erased person>/g; print }' "$work/names.txt" "$1"
}
mask "$work/before.txt" >"$work/before.masked"
mask "$work/after.txt" >"$work/after.masked"

# Everything but the erasure table of the privacy section (from its heading to the end of that
# section: the last section, so to the end of the report).
split_at='^== Privacy: erasures'
sed "/$split_at/,\$d" "$work/before.masked" >"$work/before.main"
sed "/$split_at/,\$d" "$work/after.masked" >"$work/after.main"

if cmp -s <(sed "/$split_at/,\$d" "$work/before.txt") <(sed "/$split_at/,\$d" "$work/after.txt"); then
	echo "not ok 2 - the erased people's names appear in the report (else the mask proves nothing)"
else
	echo "ok 2 - the erased people's names appear in the report (the reports differ before masking)"
fi
if grep -q '<erased person>' "$work/before.main" && grep -q '<erased person>' "$work/after.main"; then
	echo "ok 3 - the mask found names to replace"
else
	echo "not ok 3 - the mask found names to replace"
fi
if cmp -s "$work/before.main" "$work/after.main"; then
	echo "ok 4 - every section reads the same after erasing 100 people, names masked ($(wc -l <"$work/before.main") lines)"
else
	echo "not ok 4 - every section reads the same after erasing 100 people, names masked"
	diff "$work/before.main" "$work/after.main" | head -30 | sed 's/^/# /'
fi
before_erasures=$(sed -n "/$split_at/,\$p" "$work/before.txt" | grep '^all|' || true)
after_erasures=$(sed -n "/$split_at/,\$p" "$work/after.txt" | grep '^all|' || true)
if [ "$before_erasures" = "all|0|0|0" ] && [ "$after_erasures" = "all|100|100|0" ]; then
	echo "ok 5 - the privacy section counts 0 erasures before and 100 after"
else
	echo "not ok 5 - the privacy section counts 0 erasures before and 100 after ($before_erasures / $after_erasures)"
fi
