#!/usr/bin/env bash
# vulncheck.sh [govulncheck arguments...]
#
# Runs govulncheck (version pinned by the tool line of go.mod) against a
# vulnerability database built on this machine, so that the scan needs only
# the Go module proxy and not vuln.go.dev, which some networks (this
# project's CI among them) cannot reach.
#
# The Go vulnerability database is published as the module
# golang.org/x/vulndb: its data/osv folder holds every advisory as an OSV
# JSON file, and its cmd/indexdb command writes the folder out as the v1
# database layout that `govulncheck -db file://…` reads. Both come through
# the module proxy like any dependency, checked against go.sum's checksum
# database.
#
# With no arguments it scans ./... and exits non-zero when a vulnerability
# is reachable from the project's code, as govulncheck does.
#
# Environment:
#   AMP_VULNDB_VERSION  the golang.org/x/vulndb version to build from
#                       (default: pinned below; "latest" takes the newest
#                       one the proxy has). The pin keeps CI reproducible:
#                       move it forward like any other dependency.
#   AMP_VULNDB_DIR      where the built database is kept (default:
#                       ${XDG_CACHE_HOME:-$HOME/.cache}/amp-vulndb/<version>);
#                       a database already built there is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${AMP_VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}"

log() { echo "vulncheck: $*" >&2; }

if [ "$VERSION" = latest ]; then
	VERSION="$(cd "$(mktemp -d)" && go list -m -f '{{.Version}}' golang.org/x/vulndb@latest)"
fi
DB="${AMP_VULNDB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-vulndb/$VERSION}"

if [ ! -s "$DB/index/db.json" ]; then
	log "building the vulnerability database from golang.org/x/vulndb@$VERSION"
	src="$(cd "$(mktemp -d)" && go mod download -json "golang.org/x/vulndb@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[ -d "$src/data/osv" ] || { log "no data/osv in golang.org/x/vulndb@$VERSION"; exit 1; }
	tmp="$(mktemp -d)"
	# Outside this module, so that indexdb's own dependencies stay out of
	# go.mod; -mod=mod lets `go run pkg@version` resolve them.
	(cd "$tmp" && GOFLAGS=-mod=mod go run "golang.org/x/vulndb/cmd/indexdb@$VERSION" -vulns "$src/data/osv" -out "$tmp/db")
	mkdir -p "$(dirname "$DB")"
	rm -rf "$DB"
	mv "$tmp/db" "$DB"
fi
log "database $DB ($(ls "$DB/ID" | grep -c '\.json$') advisories, golang.org/x/vulndb@$VERSION)"

if [ $# -eq 0 ]; then
	set -- ./...
fi
exec go tool govulncheck -db "file://$DB" "$@"
