#!/usr/bin/env bash
# Builds the Temporal CLI (dev server + Web UI) from Go modules once and caches the binary.
# No npm or Debian package ships a Temporal server, and the SDK's own download needs the internet.
source "$(dirname "$0")/common.sh"
if [ ! -x "$TEMPORAL_BIN" ]; then
  command -v go >/dev/null || { log "FAILED: Go is needed to build the Temporal CLI (expected in /usr/local/go/bin)"; exit 1; }
  log "building the Temporal CLI $TEMPORAL_VERSION from Go modules (about 5 minutes, once per machine)"
  tmp="$(mktemp -d)"
  GOBIN="$tmp" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION"
  mv "$tmp/temporal" "$TEMPORAL_BIN"
  rmdir "$tmp"
fi
echo "$TEMPORAL_BIN"
