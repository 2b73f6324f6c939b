# test/lib/citus_cluster.bash: a throwaway Citus cluster for the scripted tests (sourced by
# test/scripts/citus.sh and test/scripts/citus_schema.sh after scripts/lib.sh, with PG_CONFIG
# set). Finds Citus in the PostgreSQL installation or builds it from the vendored source, makes a
# private installation of this tree's build, starts a coordinator and two workers on Unix sockets
# in a temporary folder (removed at exit), creates database $db (default crm_citus) with citus on
# each node, sets the coordinator's host and adds the first worker (the caller adds the second).
# Defines the TAP helpers result, check, equals, finish and the psql helper sql PORT ... .
# Skips (1..0 # SKIP) when Citus is unavailable; under CI=true that is a failure.
: "${db:=crm_citus}"

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
		# A caller's own settings (the benchmark's larger buffers and shard count), which win.
		[ -z "${citus_conf:-}" ] || printf '%s\n' "$citus_conf" >>"$dir/${names[i]}/postgresql.conf"
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
