#!/usr/bin/env bash
# The role-by-role matrix printed in docs/security.md is exactly the one test/pgtap/role_matrix.sql
# checks: scripts/role-matrix generates it from that test's expectations and compares.
set -uo pipefail
cd "${CRM_ROOT:-$(dirname "$0")/../..}"
echo 1..1
if diff=$(scripts/role-matrix --check docs/security.md 2>&1); then
	echo 'ok 1 - docs/security.md prints the matrix test/pgtap/role_matrix.sql checks'
else
	echo 'not ok 1 - docs/security.md prints the matrix test/pgtap/role_matrix.sql checks (run scripts/role-matrix --update docs/security.md)'
	printf '%s\n' "$diff" | sed 's/^/# /'
fi
