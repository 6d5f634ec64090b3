#!/usr/bin/env bash
# redis-test-server.sh start|stop|url|status
#
# Runs a throwaway Redis server for tests: listening on 127.0.0.1 only at a
# free port, no persistence (no RDB snapshots, no AOF), its files in a temp
# directory. The machine's own Redis service, if any, is neither used nor
# changed.
#
#   start   start a server (or reuse the running one) and print its URL,
#           e.g. redis://127.0.0.1:23456/0
#   url     print the URL of the running server; fail if none runs
#   status  exit 0 if the server runs, 1 if not
#   stop    stop the server and remove its directory (no-op if none runs)
#
# Only the URL goes to stdout, so that
#   export AMP_TEST_REDIS_URL="$(scripts/redis-test-server.sh start)"
# works; progress and errors go to stderr.
#
# Environment:
#   REDIS_SERVER       the server binary (default: redis-server on PATH)
#   AMP_REDIS_STATE    file recording the running server (default
#                      ${TMPDIR:-/tmp}/amp-redis-test-server.state); set it
#                      to run several servers side by side
set -euo pipefail

REDIS_SERVER="${REDIS_SERVER:-$(command -v redis-server || true)}"
STATE="${AMP_REDIS_STATE:-${TMPDIR:-/tmp}/amp-redis-test-server.state}"

log() { echo "redis-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

# ping reports whether a Redis server answers PING on the port. It speaks
# the protocol through bash's /dev/tcp, so that redis-cli is not needed.
ping() {
	local reply
	reply="$(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'PING\r\n' >&3
		IFS= read -r -t 2 line <&3 || exit 1
		printf '%s' "$line"
	)" 2>/dev/null || return 1
	[ "${reply%$'\r'}" = "+PONG" ]
}

# load_state sets DIR, PORT, PID and URL from the state file; it fails if
# there is none or the server it records is not running.
load_state() {
	[ -f "$STATE" ] || return 1
	DIR="$(sed -n 's/^dir=//p' "$STATE")"
	PORT="$(sed -n 's/^port=//p' "$STATE")"
	PID="$(sed -n 's/^pid=//p' "$STATE")"
	URL="$(sed -n 's/^url=//p' "$STATE")"
	[ -n "$DIR" ] && [ -d "$DIR" ] && [ -n "$PID" ] && [ -n "$PORT" ] || return 1
	kill -0 "$PID" 2>/dev/null && ping "$PORT"
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
	if load_state; then
		log "already running in $DIR"
		echo "$URL"
		return
	fi
	[ -n "$REDIS_SERVER" ] && [ -x "$REDIS_SERVER" ] || die "no redis-server found (apt-get install redis-server, or set REDIS_SERVER)"
	stop

	DIR="$(mktemp -d "${TMPDIR:-/tmp}/amp-redis.XXXXXX")"
	chmod 700 "$DIR"
	local _ ok=""
	for _ in $(seq 1 20); do
		PORT=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		port_in_use "$PORT" && continue
		rm -f "$DIR/server.log" "$DIR/redis.pid"
		# No persistence: save "" turns RDB snapshots off and AOF stays off.
		# protected-mode is moot on 127.0.0.1 only, but kept on.
		"$REDIS_SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$DIR" \
			--save "" --appendonly no --daemonize yes \
			--pidfile "$DIR/redis.pid" --logfile "$DIR/server.log" >/dev/null 2>&1 || true
		local i
		for i in $(seq 1 50); do
			if ping "$PORT"; then
				ok=1
				break
			fi
			grep -q "Address already in use\|Could not create server TCP" "$DIR/server.log" 2>/dev/null && break
			sleep 0.1
		done
		[ -n "$ok" ] && break
		if grep -q "Address already in use\|Could not create server TCP" "$DIR/server.log" 2>/dev/null; then
			log "port $PORT taken, trying another"
			continue
		fi
		cat "$DIR/server.log" >&2 2>/dev/null || true
		rm -rf "$DIR"
		die "the server did not start"
	done
	[ -n "$ok" ] || { rm -rf "$DIR"; die "no free port found"; }
	for _ in $(seq 1 50); do
		[ -s "$DIR/redis.pid" ] && break
		sleep 0.1
	done
	PID="$(cat "$DIR/redis.pid")"
	URL="redis://127.0.0.1:$PORT/0"
	printf 'dir=%s\nport=%s\npid=%s\nurl=%s\n' "$DIR" "$PORT" "$PID" "$URL" >"$STATE"
	log "$("$REDIS_SERVER" --version | cut -d' ' -f1-3) running in $DIR on port $PORT (pid $PID)"
	echo "$URL"
}

stop() {
	if [ -f "$STATE" ]; then
		DIR="$(sed -n 's/^dir=//p' "$STATE")"
		PID="$(sed -n 's/^pid=//p' "$STATE")"
		if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
			kill "$PID"
			local _
			for _ in $(seq 1 50); do
				kill -0 "$PID" 2>/dev/null || break
				sleep 0.1
			done
		fi
		if [ -n "$DIR" ] && [ -d "$DIR" ]; then
			rm -rf "$DIR"
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
