#!/usr/bin/env bash
# The test command: installs what is missing (npm packages, libvirt + QEMU, the Temporal CLI), then
# lint, type-check, build, and the unit and integration suites against the real stack.
# Ends with one line "N passed, N failed" (lint, type-check and build count as one test each when they fail).
source "$(dirname "$0")/common.sh"
cd "$(dirname "$0")/.."
failed_checks=0
check() { local what="$1"; shift; log "$what"; if ! "$@"; then log "FAILED: $what"; failed_checks=$((failed_checks + 1)); fi; }

log "disk: $(df -h --output=avail,pcent "$VMSNAP_LAB" | tail -1) free/used at $VMSNAP_LAB"
npm_install
# The stack installs in the background while the code is checked (two cores: one each).
( bash deploy/libvirt-up.sh && bash deploy/install-temporal.sh >/dev/null &&
  apt_install ceph-mon ceph-osd ceph-mgr ceph-common qemu-block-extra glance-api keystone sqlite3 curl chromium ) >"$VMSNAP_LAB/stack-install.log" 2>&1 &
stack_pid=$!
check lint npx eslint .
check typecheck npx tsc -p tsconfig.json --noEmit
check build npx tsc -p tsconfig.build.json
if ! wait "$stack_pid"; then cat "$VMSNAP_LAB/stack-install.log" >&2; log "FAILED: stack install"; failed_checks=$((failed_checks + 1)); fi

rm -f test-results.json
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results.json "$@" || true
node deploy/count-results.mjs test-results.json "$failed_checks"
