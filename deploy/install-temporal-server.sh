#!/usr/bin/env bash
# Builds the Temporal server, its SQL schema tool and the Web UI server from Go modules once and
# caches the binaries: the production shape of Temporal (PostgreSQL persistence, mTLS), which no
# Debian or npm package ships. The versions are those the cached Temporal CLI embeds, so the two
# shapes run the same server code and the Go build cache is shared.
source "$(dirname "$0")/common.sh"
build() { # <binary name> <module path@version>
  local out="$VMSNAP_CACHE/bin/$1"
  [ -x "$out" ] && return 0
  command -v go >/dev/null || { log "FAILED: Go is needed to build $2 (expected in /usr/local/go/bin)"; exit 1; }
  log "building $2 from Go modules (a few minutes, once per machine)"
  local tmp; tmp="$(mktemp -d)"
  GOBIN="$tmp" go install "$2"
  mv "$tmp"/* "$out"
  rm -rf "$tmp"
}
build "temporal-server-$TEMPORAL_SERVER_VERSION" "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION"
build "temporal-sql-tool-$TEMPORAL_SERVER_VERSION" "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
build "temporal-ui-server-$TEMPORAL_UI_VERSION" "github.com/temporalio/ui-server/v2/cmd/server@$TEMPORAL_UI_VERSION"
echo "$VMSNAP_CACHE/bin"
