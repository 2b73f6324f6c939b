# scripts/lib.sh: what scripts/demo and scripts/test share. Sourced, not run.
#
# crm_setup          installs the Debian packages the project needs (once), then builds with make
# crm_cluster_start  starts a throwaway PostgreSQL cluster in a temporary folder and points the
#                    standard PG* variables at it; it is stopped and removed when the script exits
#
# The server never runs as root: when we are root it runs as the postgres user.

set -euo pipefail

CRM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CRM_PG_MAJOR=${CRM_PG_MAJOR:-15}
CRM_PACKAGES=(
	"postgresql-$CRM_PG_MAJOR"
	"postgresql-server-dev-$CRM_PG_MAJOR"
	"postgresql-$CRM_PG_MAJOR-pgtap"
	libtap-parser-sourcehandler-pgtap-perl
	make
	gcc
)

crm_log() { printf '==> %s\n' "$*" >&2; }

# Run a command with root's rights: directly when we are root, else through sudo.
crm_as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Run a command as the user that owns the server processes. As root, from /: the current folder
# may be one postgres cannot enter (a clone in /root), and initdb and pg_ctl would complain
# 'could not change directory to "...": Permission denied'. Callers pass absolute paths.
crm_as_server_user() {
	if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

crm_install_packages() {
	local missing=() package
	for package in "${CRM_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$package")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	crm_log "installing ${missing[*]}"
	crm_as_root apt-get update -qq
	crm_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

crm_setup() {
	crm_install_packages
	export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$CRM_PG_MAJOR/bin/pg_config}
	crm_log "building with $("$PG_CONFIG" --version)${CRM_COPT:+ (COPT=$CRM_COPT)}"
	# CRM_COPT: extra compiler flags; scripts/test sets -Werror, the shipped Makefile does not.
	make -C "$CRM_ROOT" -s PG_CONFIG="$PG_CONFIG" ${CRM_COPT:+COPT="$CRM_COPT"} >/dev/null
}

# crm_install_system: make install into the PostgreSQL installation itself.
crm_install_system() {
	crm_log "installing the extension into $("$PG_CONFIG" --pkglibdir)"
	crm_as_root make -C "$CRM_ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# crm_install_private ROOT: a private copy of the PostgreSQL installation under ROOT (hard links,
# so it costs nothing) with this tree's build installed into it. PostgreSQL finds its share and
# lib folders relative to its binaries, so a server started from ROOT loads this build, whatever
# version of the extension the system has installed, and several work trees can test at once.
crm_install_private() {
	local root=$1 dir
	for dir in "$("$PG_CONFIG" --bindir)" "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)"; do
		mkdir -p "$root$(dirname "$dir")"
		cp -al "$dir" "$root$dir" 2>/dev/null || cp -a "$dir" "$root$dir"
	done
	# install(1) unlinks a target before writing it, so the hard-linked system files stay untouched.
	make -C "$CRM_ROOT" -s PG_CONFIG="$PG_CONFIG" DESTDIR="$root" install >/dev/null
	# The recorded install scripts of past releases (test/upgrade/crm--*.sql), for the upgrade
	# test's CREATE EXTENSION crm VERSION '0.1': tests only, make install never ships them.
	local extdir=$root$("$PG_CONFIG" --sharedir)/extension script
	for script in "$CRM_ROOT"/test/upgrade/crm--*.sql; do
		[ -e "$script" ] || continue
		rm -f "$extdir/${script##*/}" # a hard link to the system's file, if it has one
		cp "$script" "$extdir/"
	done
	CRM_SERVER_BINDIR=$root$("$PG_CONFIG" --bindir)
}

# crm_cluster_start [private]: a throwaway cluster listening only on a Unix socket in its own
# temporary folder (so it cannot clash with any other server). With "private", the server runs
# from a private installation holding this tree's build (crm_install_private).
crm_cluster_start() {
	CRM_CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/crm-cluster.XXXXXX")
	chmod 755 "$CRM_CLUSTER_DIR"
	trap crm_cluster_stop EXIT
	CRM_SERVER_BINDIR=$("$PG_CONFIG" --bindir)
	if [ "${1:-}" = private ]; then
		crm_install_private "$CRM_CLUSTER_DIR/install"
	fi
	mkdir "$CRM_CLUSTER_DIR/data"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$CRM_CLUSTER_DIR" "$CRM_CLUSTER_DIR/data"
	crm_log "starting a throwaway cluster in $CRM_CLUSTER_DIR"
	crm_as_server_user "$CRM_SERVER_BINDIR/initdb" -D "$CRM_CLUSTER_DIR/data" -U postgres -A trust \
		-E UTF8 --locale=C.UTF-8 --no-sync >"$CRM_CLUSTER_DIR/initdb.log"
	cat >>"$CRM_CLUSTER_DIR/data/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '$CRM_CLUSTER_DIR'
		port = 5432
		max_connections = 50
		shared_buffers = '512MB'
		work_mem = '64MB'
		maintenance_work_mem = '512MB'
		max_wal_size = '4GB'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_parallel_workers_per_gather = 2
	EOF
	crm_as_server_user "$CRM_SERVER_BINDIR/pg_ctl" -D "$CRM_CLUSTER_DIR/data" \
		-l "$CRM_CLUSTER_DIR/server.log" -w -s start
	export PGHOST=$CRM_CLUSTER_DIR PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
	unset PGPASSWORD PGSERVICE PGHOSTADDR
}

crm_cluster_stop() {
	[ -n "${CRM_CLUSTER_DIR:-}" ] && [ -d "$CRM_CLUSTER_DIR/data" ] || return 0
	if [ -n "${CRM_KEEP_CLUSTER:-}" ]; then
		crm_log "the cluster is still running: PGHOST=$CRM_CLUSTER_DIR PGPORT=5432 PGUSER=postgres"
		crm_log "stop it with: $( [ "$(id -u)" -eq 0 ] && echo 'runuser -u postgres -- ')$CRM_SERVER_BINDIR/pg_ctl -D $CRM_CLUSTER_DIR/data stop"
		return 0
	fi
	crm_as_server_user "$CRM_SERVER_BINDIR/pg_ctl" -D "$CRM_CLUSTER_DIR/data" -m immediate -w -s stop || true
	rm -rf "$CRM_CLUSTER_DIR"
}

# True when the caller pointed the standard PG* variables at a server of their own.
crm_existing_server_requested() {
	[ -n "${PGHOST:-}${PGPORT:-}${PGDATABASE:-}${PGSERVICE:-}${PGHOSTADDR:-}" ]
}
