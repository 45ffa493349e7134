#!/usr/bin/env bash
# The test command: installs what is missing (npm packages, libvirt + QEMU, the Temporal CLI), then
# lint, type-check, build, and the unit and integration suites against the real stack: all of
# them on the Temporal dev server, then the integration suite again on Temporal's production shape
# (PostgreSQL, mTLS: deploy/temporal-cluster-up.sh). VMSNAP_TEST_SHAPES=dev (or cluster) runs one.
# Ends with one line "N passed, N failed" (lint, type-check and build count as one test each when they fail).
source "$(dirname "$0")/common.sh"
cd "$(dirname "$0")/.."
failed_checks=0
check() { local what="$1"; shift; log "$what"; if ! "$@"; then log "FAILED: $what"; failed_checks=$((failed_checks + 1)); fi; }

log "disk: $(df -h --output=avail,pcent "$VMSNAP_LAB" | tail -1) free/used at $VMSNAP_LAB"
npm_install
# The stack installs in the background while the code is checked (two cores: one each).
( bash deploy/libvirt-up.sh && bash deploy/install-temporal.sh >/dev/null && bash deploy/install-temporal-server.sh >/dev/null &&
  apt_install ceph-mon ceph-osd ceph-mgr ceph-common qemu-block-extra glance-api keystone sqlite3 curl chromium ) >"$VMSNAP_LAB/stack-install.log" 2>&1 &
stack_pid=$!
check lint npx eslint .
check typecheck npx tsc -p tsconfig.json --noEmit
check build npx tsc -p tsconfig.build.json
if ! wait "$stack_pid"; then cat "$VMSNAP_LAB/stack-install.log" >&2; log "FAILED: stack install"; failed_checks=$((failed_checks + 1)); fi

shapes="${VMSNAP_TEST_SHAPES:-dev cluster}"
reports=()
for shape in $shapes; do
  rm -f "test-results-$shape.json"
  # The chaos suite restarts the dev server under load: it runs on the dev shape only.
  projects=(); [ "$shape" = cluster ] && projects=(--project integration)
  log "tests on the Temporal $shape shape"
  VMSNAP_TEST_TEMPORAL="$shape" npx vitest run "${projects[@]}" --reporter=default --reporter=json --outputFile.json="test-results-$shape.json" "$@" || true
  reports+=("test-results-$shape.json")
done
node deploy/count-results.mjs "$failed_checks" "${reports[@]}"
