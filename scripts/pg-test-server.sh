#!/usr/bin/env bash
# pg-test-server.sh start|stop|url|status
#
# Runs a throwaway PostgreSQL server for tests: a fresh cluster in a temp
# directory, trust authentication, listening on 127.0.0.1 only at a free
# port, its unix socket inside the temp directory. Nothing of the machine's
# own PostgreSQL set-up (pg_ctlcluster, /etc/postgresql) is used or changed.
#
#   start   start a server (or reuse the running one) and print its URL,
#           e.g. postgres://postgres@127.0.0.1:54329/postgres?sslmode=disable
#   url     print the URL of the running server; fail if none runs
#   status  exit 0 if the server runs, 1 if not
#   stop    stop the server and remove its directory (no-op if none runs)
#
# Only the URL goes to stdout, so that
#   export AMP_TEST_POSTGRES_URL="$(scripts/pg-test-server.sh start)"
# works; progress and errors go to stderr.
#
# The server runs as the "postgres" OS user when the script runs as root
# (initdb refuses root), and as the caller otherwise.
#
# Environment:
#   PG_BIN           server binaries (default /usr/lib/postgresql/15/bin)
#   AMP_PG_STATE     file recording the running server (default
#                    ${TMPDIR:-/tmp}/amp-pg-test-server.state); set it to run
#                    several servers side by side
#   AMP_PG_BASE      parent of the temp directory (default /tmp, which the
#                    postgres user can reach, unlike e.g. /root)
#   AMP_PG_FSYNC     "on" (default) or "off". Off skips flushing to disk:
#                    the server is faster but would lose data in a crash of
#                    the machine, which a throwaway test server may accept.
#                    Commit semantics seen by clients are the same either
#                    way; keep it on for benchmarks of durable writes.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
STATE="${AMP_PG_STATE:-${TMPDIR:-/tmp}/amp-pg-test-server.state}"
BASE="${AMP_PG_BASE:-/tmp}"
FSYNC="${AMP_PG_FSYNC:-on}"

log() { echo "pg-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

# as_pg runs a command as the user that owns the cluster, from inside the
# cluster directory (the caller's working directory may be unreadable to it).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$DIR" && runuser -u postgres -- "$@")
	else
		(cd "$DIR" && "$@")
	fi
}

# load_state sets DIR, PORT and URL from the state file; it fails if there
# is none or the server it records is not running.
load_state() {
	[ -f "$STATE" ] || return 1
	DIR="$(sed -n 's/^dir=//p' "$STATE")"
	PORT="$(sed -n 's/^port=//p' "$STATE")"
	URL="$(sed -n 's/^url=//p' "$STATE")"
	[ -n "$DIR" ] && [ -d "$DIR/data" ] || return 1
	as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

# port_in_use reports whether something accepts connections on the port.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
	if load_state; then
		log "already running in $DIR"
		echo "$URL"
		return
	fi
	case "$FSYNC" in on | off) ;; *) die "AMP_PG_FSYNC must be on or off, not '$FSYNC'" ;; esac
	[ -x "$PG_BIN/postgres" ] || die "no PostgreSQL server at $PG_BIN (apt-get install postgresql-15, or set PG_BIN)"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' OS user (the postgresql package creates it)"
	fi
	# A state file whose server is gone (killed, or the machine restarted)
	# leaves a directory behind: remove it.
	stop

	DIR="$(mktemp -d "$BASE/amp-pg.XXXXXX")"
	mkdir -p "$DIR/sock"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$DIR"
	fi
	chmod 700 "$DIR"

	# Trust only on loopback and the private socket: the server listens on
	# 127.0.0.1 alone, and the socket lives in a directory only its owner
	# can enter.
	as_pg "$PG_BIN/initdb" -D "$DIR/data" -U postgres -E UTF8 --no-locale \
		--auth-local=trust --auth-host=trust >"$DIR/initdb.log" 2>&1 ||
		{ cat "$DIR/initdb.log" >&2; rm -rf "$DIR"; die "initdb failed"; }
	cat >>"$DIR/data/postgresql.conf" <<-EOF

	# pg-test-server.sh
	listen_addresses = '127.0.0.1'
	unix_socket_directories = '$DIR/sock'
	max_connections = 200
	fsync = $FSYNC
	EOF

	# A free port: probe a random one, then let the server bind it; if
	# another process took it in between, the start fails and we try the
	# next one.
	local _
	for _ in $(seq 1 20); do
		PORT=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		port_in_use "$PORT" && continue
		rm -f "$DIR/server.log"
		if as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
			-o "-p $PORT" start >/dev/null 2>&1; then
			break
		fi
		if grep -q "could not bind\|could not create any TCP/IP sockets" "$DIR/server.log" 2>/dev/null; then
			log "port $PORT taken, trying another"
			continue
		fi
		cat "$DIR/server.log" >&2 || true
		rm -rf "$DIR"
		die "the server did not start"
	done
	as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1 ||
		{ rm -rf "$DIR"; die "no free port found"; }

	# pg_ctl -w waited for the server to accept connections; pg_isready
	# confirms it on the TCP address the tests use.
	local _
	for _ in $(seq 1 100); do
		"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
		sleep 0.1
	done
	"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || { stop_dir; die "the server does not answer on port $PORT"; }

	URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
	printf 'dir=%s\nport=%s\nurl=%s\n' "$DIR" "$PORT" "$URL" >"$STATE"
	log "$("$PG_BIN/postgres" --version) running in $DIR on port $PORT (fsync $FSYNC)"
	echo "$URL"
}

stop_dir() {
	as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
	rm -rf "$DIR"
}

stop() {
	if [ -f "$STATE" ]; then
		DIR="$(sed -n 's/^dir=//p' "$STATE")"
		if [ -n "$DIR" ] && [ -d "$DIR" ]; then
			stop_dir
			log "stopped; removed $DIR"
		fi
		rm -f "$STATE"
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
url) load_state || die "no server running (state file $STATE)"; echo "$URL" ;;
status) load_state ;;
*) die "usage: $0 start|stop|url|status" ;;
esac
