#!/usr/bin/env bash
# Citus: crm on a throwaway Citus cluster (a coordinator and two workers on this machine, Unix
# sockets in a temporary folder, ports 5433-5435 there). Every aggregate in schema crm, run on a
# table distributed by customer_id, grouped by another column and ungrouped, gives the answer it
# gives on an identical local table: exactly for counts, histograms, AUC, survival curves and
# k-means; to 1e-9 relative for the CLV fits and summaries and the bookings distribution's count,
# mean and variance, whose sums may be taken in another order; to 1e-8 (1 + |value|) for logistic regression (see tolerance below). How Citus plans each
# aggregate (per-shard partial states, or every row gathered to the coordinator) is printed as
# diagnostics and tested: the aggregates whose state is a real type (listed in pushed_down below)
# must be aggregated per shard, grouped by a column other than the distribution column and
# ungrouped; for the others, whose state is still `internal` (which Citus cannot ship between
# nodes, so it gathers the rows), the test is a TODO.
#
# Citus comes from the system PostgreSQL installation; when it is missing, it is built from the
# vendored source ../shared/vendor/citus (build.sh, as root, ~3 minutes, once). Without either,
# the suite is skipped with the reason; under CI (CI=true) that is a failure instead.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/../../scripts/lib.sh"
: "${PG_CONFIG:=/usr/lib/postgresql/$CRM_PG_MAJOR/bin/pg_config}"
started=$SECONDS

# ---- Citus, installed or built ----------------------------------------------------------------
unavailable() { # reason [diagnostics file]
	[ -n "${2:-}" ] && [ -s "$2" ] && tail -n 20 "$2" | sed 's/^/# /'
	if [ "${CI:-}" = true ]; then
		echo "1..1"
		echo "not ok 1 - Citus is available (CI must run the distributed suite)"
		echo "# $1"
		exit 1
	fi
	echo "1..0 # SKIP $1"
	exit 0
}

pg_major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
case $pg_major in
15 | 16 | 17) ;;
*) # Not a missing build: no Citus release runs there, so even CI skips.
	echo "1..0 # SKIP Citus 13.2 supports PostgreSQL 15 to 17, not $pg_major"
	exit 0
	;;
esac

libdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)
citus_installed() { [ -f "$libdir/citus.so" ] && [ -f "$sharedir/extension/citus.control" ]; }
citus_source=${CRM_CITUS_SOURCE:-$(cd "$CRM_ROOT/.." && pwd)/shared/vendor/citus}
build_seconds=0
if ! citus_installed; then
	[ -f "$citus_source/build.sh" ] ||
		unavailable "Citus is not installed in $libdir and its source ($citus_source/build.sh) is absent"
	if [ "$(id -u)" -eq 0 ]; then
		as_root=()
	elif sudo -n true 2>/dev/null; then
		as_root=(sudo -n)
	else
		unavailable "Citus is not installed in $libdir and building it from $citus_source needs root"
	fi
	build_log=$(mktemp "${TMPDIR:-/tmp}/crm-citus-build.XXXXXX")
	build_started=$SECONDS
	# One build at a time on this machine (build.sh does nothing once Citus is installed).
	if ! "${as_root[@]}" flock "${TMPDIR:-/tmp}/crm-citus-build.lock" \
		env PG_CONFIG="$PG_CONFIG" bash "$citus_source/build.sh" >"$build_log" 2>&1 || ! citus_installed; then
		unavailable "building Citus from $citus_source failed" "$build_log"
	fi
	build_seconds=$((SECONDS - build_started))
	rm -f "$build_log"
fi
citus_version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$sharedir/extension/citus.control")

# ---- the cluster: a coordinator and two workers -----------------------------------------------
# Tests of this project run one at a time; the ports only name sockets in our own folder.
names=(coordinator worker1 worker2)
ports=(5433 5434 5435)
db=crm_citus
dir=$(mktemp -d "${TMPDIR:-/tmp}/crm-citus.XXXXXX")
chmod 755 "$dir"
cleanup() {
	local name
	if [ -n "${CRM_KEEP_CLUSTER:-}" ]; then
		echo "# the Citus cluster is still running: psql -h $dir -p ${ports[0]} -U postgres -d $db" >&2
		return 0
	fi
	for name in "${names[@]}"; do
		[ -f "$dir/$name/postmaster.pid" ] &&
			crm_as_server_user "$bindir/pg_ctl" -D "$dir/$name" -m immediate -w -s stop >/dev/null 2>&1
	done
	rm -rf "$dir"
}
bindir=
trap cleanup EXIT
# A private installation as scripts/test makes, but made now that the system one has Citus.
if ! crm_install_private "$dir/install" >"$dir/install.log" 2>&1; then
	echo "1..1"
	echo "not ok 1 - a private installation of this tree's build, with Citus"
	sed 's/^/# /' "$dir/install.log"
	exit 1
fi
bindir=$CRM_SERVER_BINDIR
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"

cluster_started=$SECONDS
for i in 0 1 2; do
	(
		crm_as_server_user "$bindir/initdb" -D "$dir/${names[i]}" -U postgres -A trust -E UTF8 \
			--locale=C.UTF-8 --no-sync >"$dir/${names[i]}.initdb.log" 2>&1
		cat >>"$dir/${names[i]}/postgresql.conf" <<-EOF
			listen_addresses = ''
			unix_socket_directories = '$dir'
			port = ${ports[i]}
			shared_preload_libraries = 'citus'
			max_connections = 60
			shared_buffers = '32MB'
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			timezone = 'UTC'
			citus.shard_count = 4
		EOF
		crm_as_server_user "$bindir/pg_ctl" -D "$dir/${names[i]}" -l "$dir/${names[i]}.log" -w -s start
	) &
done
wait
unset PGHOST PGPORT PGDATABASE PGSERVICE PGHOSTADDR PGPASSWORD PGOPTIONS
export PGUSER=postgres PGTZ=UTC
sql() { # port sql...: one psql session, unaligned tuples only, stops at the first error
	local port=$1
	shift
	psql -h "$dir" -p "$port" -d "$db" -qtAX -v ON_ERROR_STOP=1 "$@"
}
coordinator=${ports[0]}

tests=()
n=0
result() { # ok|not ok, description[, directive]
	n=$((n + 1))
	tests+=("$1 $n - $2${3:+ # $3}")
}
check() { # description, command...: ok when the command succeeds, else its output as diagnostics
	local description=$1 output
	shift
	if output=$("$@" 2>&1); then
		result ok "$description"
	else
		result "not ok" "$description"
		[ -n "$output" ] && tests+=("$(sed 's/^/# /' <<<"$output")")
	fi
}
equals() { [ "$1" = "$2" ] || { echo "got '$1', expected '$2'"; return 1; }; }
finish() {
	echo "1..$n"
	printf '%s\n' "${tests[@]}"
}

setup_cluster() {
	local port
	for port in "${ports[@]}"; do
		createdb -h "$dir" -p "$port" "$db" || return
		sql "$port" -c 'CREATE EXTENSION citus' || return
	done
	sql "$coordinator" >/dev/null <<-SQL
		SELECT citus_set_coordinator_host('$dir', $coordinator);
		SELECT citus_add_node('$dir', ${ports[1]});
	SQL
}
check "Citus $citus_version: a coordinator and a worker start and join" setup_cluster
if [ "${tests[0]:0:2}" != ok ]; then
	for name in "${names[@]}"; do
		cat "$dir/$name.initdb.log" "$dir/$name.log" 2>/dev/null | tail -n 5 | sed "s/^/# $name: /"
	done
	finish
	exit 1
fi

# CREATE EXTENSION on the coordinator: Citus 13 runs it on the workers it has (IF NOT EXISTS, same
# schema), and creates it on a worker added later, with the other distributed objects.
check "CREATE EXTENSION crm on the coordinator" sql "$coordinator" -c 'CREATE EXTENSION crm'
check "a second worker joins after it" sql "$coordinator" -c "SELECT citus_add_node('$dir', ${ports[2]})"
cluster_seconds=$((SECONDS - cluster_started))
check "the coordinator sees two active workers" \
	equals "$(sql "$coordinator" -c "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND isactive AND groupid > 0")" 2
crm_version=$(sql "$coordinator" -c "SELECT extversion FROM pg_extension WHERE extname = 'crm'") || true
roles="SELECT count(*) FROM pg_roles WHERE rolname IN ('crm_admin', 'crm_manager', 'crm_sales', 'crm_support', 'crm_analyst')"
check "the worker present at CREATE EXTENSION has crm $crm_version" \
	equals "$(sql "${ports[1]}" -c "SELECT extversion FROM pg_extension WHERE extname = 'crm'")" "$crm_version"
check "the worker added later has crm $crm_version" \
	equals "$(sql "${ports[2]}" -c "SELECT extversion FROM pg_extension WHERE extname = 'crm'")" "$crm_version"
check "both workers have crm's five group roles" \
	equals "$(sql "${ports[1]}" -c "$roles")/$(sql "${ports[2]}" -c "$roles")" 5/5

# ---- the data: 20,000 rows, one table distributed by customer_id, one local copy -------------
# Deterministic: every value derives from the row number through hashint4, uniform in [0, 1).
# The CLV fits' columns repeat the CDNOW customers (test/data), on which the fits converge quickly.
load_data() {
	sql "$coordinator" -c 'SET client_min_messages = warning' -c 'CREATE SCHEMA citus_test' \
		-c 'CREATE TABLE citus_test.cdnow (id integer, x integer, t_x double precision, big_t double precision, m double precision)' \
		-c "\\copy citus_test.cdnow FROM '$CRM_ROOT/test/data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)" ||
		return
	sql "$coordinator" >/dev/null <<-'SQL'
		SET client_min_messages = warning;
		CREATE TABLE citus_test.answers_local AS
		WITH u AS (
		    SELECT i, array_agg((hashint4(i * 64 + j)::bigint + 2147483648) / 4294967296.0::double precision
		                        ORDER BY j) AS u
		    FROM generate_series(1, 20000) AS i, generate_series(1, 16) AS j
		    GROUP BY i
		), base AS (
		    SELECT i, u, c.x, c.t_x, c.big_t, c.m,
		           ARRAY[round(u[6] * 100) / 10, round(u[7] * 100) / 10]::double precision[] AS features
		    FROM u JOIN citus_test.cdnow c ON c.id = 1 + (u.i - 1) % 2357
		)
		SELECT i AS answer_id,
		       1 + (i * 7919) % 1000 AS customer_id,
		       (ARRAY['north', 'east', 'south', 'west', 'centre'])[1 + floor(u[1] * 5)::integer] AS region,
		       floor(u[2] * 11)::smallint AS score,
		       (1 + floor(u[3] * 5))::smallint AS score5,
		       (1 + floor(u[4] * 7))::smallint AS score7,
		       ('(' || array_to_string(ARRAY(SELECT (j = floor(u[2] * 11))::integer FROM generate_series(0, 10) AS j), ',')
		        || ')')::crm.nps_summary AS summary,
		       features,
		       u[5] < 1 / (1 + exp(-(0.3 * features[1] - 0.2 * features[2] - 0.4))) AS label,
		       round((1 / (1 + exp(-(0.3 * features[1] - 0.2 * features[2] - 0.4))) + u[8] * 0.3)::numeric, 3)::double precision AS pscore,
		       (1 + floor(u[9] * 365))::double precision AS duration,
		       u[12] < 0.7 AS observed,
		       x, t_x, big_t, m,
		       timestamptz '2026-01-01 00:00+00' + round(u[15] * 365 * 86400) * interval '1 second' AS occurred_at,
		       round(u[16] * 20000) / 100 AS amount
		FROM base;
		CREATE TABLE citus_test.answers AS TABLE citus_test.answers_local;
		SELECT create_distributed_table('citus_test.answers', 'customer_id');
		SELECT truncate_local_data_after_distributing_table('citus_test.answers');
		ANALYZE citus_test.answers_local;
	SQL
}
check "20,000 rows in a table distributed by customer_id and in a local copy" load_data
check "the distributed table has the local table's rows" \
	equals "$(sql "$coordinator" -c "SELECT count(*) || '/' || sum(hashtext(a::text)) FROM citus_test.answers a")" \
	"$(sql "$coordinator" -c "SELECT count(*) || '/' || sum(hashtext(a::text)) FROM citus_test.answers_local a")"
check "its shards lie on both workers" \
	equals "$(sql "$coordinator" -c "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'citus_test.answers'::regclass")" 2

# ---- every aggregate of schema crm ------------------------------------------------------------
# A call for each signature, on the columns above (argument types as in src/*.sql). Counts,
# histograms, AUC, survival curves and k-means (which sorts its points) do not depend on the order
# rows arrive in, and must be identical. The CLV fits and summaries may differ in the last bits
# (sums in another order): 1e-9 relative. Logistic regression stops when no coefficient moves by
# more than 1e-9 (1 + |coefficient|), so row order alone moves its answer by up to ~1e-9 (7.5e-10
# relative measured here, rows shuffled on one table): 1e-8 (1 + |value|).
declare -A calls=(
	["crm.auc(double precision, boolean)"]="crm.auc(pscore, label)"
	["crm.bookings_distribution(double precision, double precision)"]="ARRAY[crm.bookings_count(crm.bookings_distribution(amount, pscore / 2)), crm.bookings_mean(crm.bookings_distribution(amount, pscore / 2)), crm.bookings_variance(crm.bookings_distribution(amount, pscore / 2))]"
	["crm.bgnbd_fit(integer, double precision, double precision)"]="crm.bgnbd_fit(x, t_x, big_t)"
	["crm.bgnbd_fit(integer, double precision, double precision, double precision)"]="crm.bgnbd_fit(x, t_x, big_t, 0.01)"
	["crm.ces(integer)"]="crm.ces(score7::integer)"
	["crm.ces(smallint)"]="crm.ces(score7)"
	["crm.clv_summary(timestamp with time zone, double precision, timestamp with time zone, double precision)"]="crm.clv_summary(occurred_at, amount, timestamptz '2026-12-31 00:00+00', 7)"
	["crm.csat(integer)"]="crm.csat(score5::integer)"
	["crm.csat(integer, integer)"]="crm.csat(score5::integer, 5)"
	["crm.csat(smallint)"]="crm.csat(score5)"
	["crm.csat(smallint, integer)"]="crm.csat(score5, 5)"
	["crm.experiment_stats(text, boolean, double precision)"]="crm.experiment_stats('score ' || score5, label, amount)"
	["crm.gammagamma_fit(integer, double precision)"]="crm.gammagamma_fit(x, m)"
	["crm.gammagamma_fit(integer, double precision, double precision)"]="crm.gammagamma_fit(x, m, 0.01)"
	["crm.kmeans(double precision[], integer)"]="crm.kmeans(features, 3)"
	["crm.kmeans(double precision[], integer, integer)"]="crm.kmeans(features, 3, 7)"
	["crm.kmeans(double precision[], integer, integer, boolean)"]="crm.kmeans(features, 3, 7, true)"
	["crm.km_fit(double precision, boolean)"]="crm.km_fit(duration, observed)"
	["crm.logreg_fit(double precision[], boolean)"]="crm.logreg_fit(features, label)"
	["crm.logreg_fit(double precision[], boolean, double precision)"]="crm.logreg_fit(features, label, 0.5)"
	["crm.markov_attribution(text[], boolean)"]="crm.markov_attribution(ARRAY[region, 'score ' || score5, 'score ' || score7], label)"
	["crm.markov_attribution(text[], boolean, numeric)"]="crm.markov_attribution(ARRAY[region, 'score ' || score5], label, amount::numeric)"
	["crm.nps(integer)"]="crm.nps(score::integer)"
	["crm.nps(smallint)"]="crm.nps(score)"
	["crm.nps_agg(integer)"]="crm.nps_agg(score::integer)"
	["crm.nps_agg(smallint)"]="crm.nps_agg(score)"
	["crm.nps_union(crm.nps_summary)"]="crm.nps_union(summary)"
)
tolerance() { # signature: relative and absolute tolerance, or nothing for identical answers
	case $1 in
	crm.bgnbd_fit\(* | crm.gammagamma_fit\(* | crm.clv_summary\(* | crm.bookings_distribution\(* | crm.experiment_stats\(*) echo "1e-9 0" ;;
	crm.logreg_fit\(*) echo "1e-8 1e-8" ;;
	esac
}

# Same answers: identical text, or the same text around numbers that agree within the tolerance
# |local - distributed| <= relative * max(|local|, |distributed|) + absolute.
same_answers() { # local-file, distributed-file[, relative absolute]
	if [ -z "${3:-}" ]; then
		cmp -s "$1" "$2" && return 0
		echo "local:       $(head -c 600 "$1")"
		echo "distributed: $(head -c 600 "$2")"
		return 1
	fi
	perl -e '
		use strict; use warnings; use List::Util qw(max);
		my ($relative, $absolute) = splice(@ARGV, 2);
		my ($a, $b) = map { local (@ARGV, $/) = ($_); <> } @ARGV;
		my $num = qr/-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/;
		my @x = $a =~ /$num/g; my @y = $b =~ /$num/g;
		(my $sa = $a) =~ s/$num/#/g; (my $sb = $b) =~ s/$num/#/g;
		if ($sa ne $sb or @x != @y) { print "local: $a\ndistributed: $b\n"; exit 1; }
		for my $i (0 .. $#x) {
			my $d = abs($x[$i] - $y[$i]);
			next if $d <= $relative * max(abs($x[$i]), abs($y[$i])) + $absolute;
			printf "number %d: local %s, distributed %s (difference %.3g)\n", $i + 1, $x[$i], $y[$i], $d;
			exit 1;
		}' "$1" "$2" "$3" "$4"
}

compare() { # signature, call, grouped|ungrouped
	local mode=$3 table query local_file=$dir/local.out dist_file=$dir/dist.out
	for table in answers_local answers; do
		if [ "$mode" = grouped ]; then
			query="SELECT region, $2 FROM citus_test.$table GROUP BY region ORDER BY region"
		else
			query="SELECT $2 FROM citus_test.$table"
		fi
		if [ $table = answers ]; then
			sql "$coordinator" -c "$query" >"$dist_file" || return
		else
			sql "$coordinator" -c "$query" >"$local_file" || return
		fi
	done
	[ -s "$local_file" ] || { echo "no answer from the local table"; return 1; }
	# shellcheck disable=SC2046 # two numbers or none
	same_answers "$local_file" "$dist_file" $(tolerance "$1")
}

# How Citus runs a query, from EXPLAIN VERBOSE: partial states per shard (worker_partial_agg),
# the whole aggregate on the workers (its name in the shard query), or the rows to the coordinator.
plan_of() { # aggregate name, query
	local plan
	plan=$(sql "$coordinator" -c "EXPLAIN (VERBOSE, COSTS OFF) $2" 2>&1) || { echo "EXPLAIN failed: $plan"; return; }
	if grep -q 'worker_partial_agg' <<<"$plan"; then
		echo "partial states per shard"
	elif grep -E '^ *Query: ' <<<"$plan" | grep -q "\.$1("; then
		echo "whole aggregate on the workers"
	else
		echo "row gather"
	fi
}

# A control for the classification: an aggregate with a float8 state and a combine function.
check "control: Citus plans an aggregate with a float8 state and a combine function as partial states per shard" \
	equals "$(sql "$coordinator" -c 'CREATE AGGREGATE citus_test.float8_total(double precision) (
	             SFUNC = float8pl, STYPE = double precision, COMBINEFUNC = float8pl)' &&
		plan_of float8_total "SELECT region, citus_test.float8_total(m) FROM citus_test.answers GROUP BY region")" \
	"partial states per shard"

# The aggregates whose partial states are real types, which Citus ships between nodes: they must
# be aggregated per shard (so must any other aggregate whose state is not internal).
declare -A pushed_down=(
	["crm.clv_summary(timestamp with time zone, double precision, timestamp with time zone, double precision)"]=1
	["crm.bgnbd_fit(integer, double precision, double precision)"]=1
	["crm.bgnbd_fit(integer, double precision, double precision, double precision)"]=1
	["crm.gammagamma_fit(integer, double precision)"]=1
	["crm.gammagamma_fit(integer, double precision, double precision)"]=1
	["crm.ces(integer)"]=1
	["crm.ces(smallint)"]=1
	["crm.csat(integer)"]=1
	["crm.csat(integer, integer)"]=1
	["crm.csat(smallint)"]=1
	["crm.csat(smallint, integer)"]=1
	["crm.nps(integer)"]=1
	["crm.nps(smallint)"]=1
	["crm.nps_agg(integer)"]=1
	["crm.nps_agg(smallint)"]=1
	["crm.nps_union(crm.nps_summary)"]=1
	["crm.experiment_stats(text, boolean, double precision)"]=1
)

suite_started=$SECONDS
declare -A seen=()
pushdown=()
while IFS='|' read -r signature name stype combine; do
	seen[$signature]=1
	call=${calls[$signature]:-}
	if [ -z "$call" ]; then
		result "not ok" "$signature: the test knows a call for it (add one to test/scripts/citus.sh)"
		continue
	fi
	check "$signature grouped by region (not the distribution column): distributed = local" \
		compare "$signature" "$call" grouped
	check "$signature ungrouped: distributed = local" compare "$signature" "$call" ungrouped
	by_region=$(plan_of "$name" "SELECT region, $call FROM citus_test.answers GROUP BY region")
	ungrouped=$(plan_of "$name" "SELECT $call FROM citus_test.answers")
	by_customer=$(plan_of "$name" "SELECT customer_id, $call FROM citus_test.answers GROUP BY customer_id")
	tests+=("# $name: $by_region (grouped by region), $ungrouped (ungrouped), $by_customer (grouped by customer_id); stype $stype, combine function $combine")
	pushdown+=("$signature|$stype|$by_region|$ungrouped|$by_customer")
	if [ -n "${pushed_down[$signature]:-}" ] || [ "$stype" != internal ]; then
		todo=
	else
		todo="TODO states of type internal cannot travel between Citus nodes"
	fi
	if [ "$by_region" = "partial states per shard" ] && [ "$ungrouped" = "partial states per shard" ]; then
		result ok "$signature is aggregated per shard, not by gathering rows" "$todo"
	else
		result "not ok" "$signature is aggregated per shard, not by gathering rows" "$todo"
		[ -n "$todo" ] || tests+=("# grouped by region: $by_region; ungrouped: $ungrouped; stype $stype, combine function $combine")
	fi
done < <(sql "$coordinator" -c "
	SELECT format('%s.%s(%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)), p.proname,
	       format_type(a.aggtranstype, NULL), a.aggcombinefn
	FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = 'crm' ORDER BY 1")
suite_seconds=$((SECONDS - suite_started))
missing=()
for signature in "${!calls[@]}"; do [ -n "${seen[$signature]:-}" ] || missing+=("$signature"); done
check "every call in the test names an aggregate of schema crm (${#seen[@]} found)" \
	equals "${missing[*]:-}" ""

# The summary, machine-readable for the docs: signature | stype | by region | ungrouped | by customer_id.
if [ -n "${CRM_CITUS_PUSHDOWN_FILE:-}" ]; then printf '%s\n' "${pushdown[@]}" >"$CRM_CITUS_PUSHDOWN_FILE"; fi
tests+=("# seconds: build $build_seconds, cluster $cluster_seconds, aggregates $suite_seconds, total $((SECONDS - started))")
finish
