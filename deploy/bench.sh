#!/usr/bin/env bash
# Benchmarks: builds, brings the stack up, starts a host worker named "bench", and runs bench/.
source "$(dirname "$0")/common.sh"
cd "$(dirname "$0")/.."
# Its own dev server, so no other worker (e.g. the demo's, built from other code) serves its workflows;
# or, with VMSNAP_BENCH_TEMPORAL=cluster, the production shape (PostgreSQL, mTLS: temporal-cluster-up.sh).
export VMSNAP_BENCH_HOST=bench
npm_install
npx tsc -p tsconfig.build.json
bash deploy/libvirt-up.sh
if [ "${VMSNAP_BENCH_TEMPORAL:-dev}" = cluster ]; then
  set -a; source "$(bash deploy/temporal-cluster-up.sh)"; set +a
else
  export TEMPORAL_PORT="${VMSNAP_BENCH_TEMPORAL_PORT:-7333}" TEMPORAL_UI_PORT="${VMSNAP_BENCH_TEMPORAL_UI_PORT:-8333}"
  export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
  bash deploy/temporal-up.sh
fi
export CEPH_CONF="$(bash deploy/ceph-up.sh | tail -1)"
bash deploy/openstack-up.sh >/dev/null
# A second Glance set to hash uploads with sha256, for the Glance bench's side-by-side.
bash deploy/glance-instance.sh 9298 none 8589934592 file sha256
mkdir -p "$VMSNAP_LAB/bench/state"
cat >"$VMSNAP_LAB/bench/worker.json" <<JSON
{ "ceph": { "conf": "$CEPH_CONF" },
  "stores": { "default": { "type": "file", "path": "$VMSNAP_LAB/bench/state/images" },
              "pool": { "type": "rbd", "pool": "images" },
              "glance": { "type": "glance", "url": "http://127.0.0.1:9292" },
              "glance-sha256": { "type": "glance", "url": "http://127.0.0.1:9298" } } }
JSON
node dist/cli/main.js worker --host bench --state-dir "$VMSNAP_LAB/bench/state" --config "$VMSNAP_LAB/bench/worker.json" >"$VMSNAP_LAB/bench/worker.log" 2>&1 &
worker=$!
# What the benches leave (4 GiB domains, images, the scale hosts) is gigabytes: it goes at the end.
trap 'kill $worker 2>/dev/null; rm -rf "$VMSNAP_LAB/bench/"{domains,plain-store,scale,state/images}' EXIT
wait_for 60 "bench worker" grep -q "polling vmsnap-host-bench" "$VMSNAP_LAB/bench/worker.log"
# Benchmarks by name (live-vs-plain, convert-pass, cold-downtime, rbd-direct-vs-import, glance-vs-plain-upload, multi-disk, rbd-multi-disk, scale), or all.
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(live-vs-plain convert-pass cold-downtime rbd-direct-vs-import glance-vs-plain-upload multi-disk rbd-multi-disk scale)
for b in "${names[@]}"; do node "dist/bench/$b.js"; done
