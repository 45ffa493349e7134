#!/usr/bin/env bash
# The main job: brings up the embedded default stack (Temporal dev server with Web UI, libvirt +
# QEMU, a host worker named "lab"), creates a running demo VM, snapshots it live into the default
# file store, and prints the result and the Web UI address. Idempotent; reuses what is cached.
source "$(dirname "$0")/common.sh"
cd "$(dirname "$0")/.."
HOST="${VMSNAP_DEMO_HOST:-lab}"
DOMAIN="${VMSNAP_DEMO_DOMAIN:-vmsnap-demo}"
SIZE_MIB="${VMSNAP_DEMO_SIZE_MIB:-512}"
STATE="$VMSNAP_LAB/demo/state"
export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"

npm_install
log "build"; npx tsc -p tsconfig.build.json
bash deploy/libvirt-up.sh
bash deploy/temporal-up.sh

# The demo VM: a qcow2 overlay on a base image of known random data, idling in firmware.
if ! virsh -q -c qemu:///system domstate "$DOMAIN" 2>/dev/null | grep -q running; then
  bash deploy/make-domain.sh "$DOMAIN" "$VMSNAP_LAB/demo/domains" "$SIZE_MIB" overlay
fi

# The host worker, restarted so it serves this build.
pidfile="$VMSNAP_LAB/demo/worker.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then kill "$(cat "$pidfile")"; sleep 1; fi
mkdir -p "$STATE"
nohup node dist/cli/main.js worker --host "$HOST" --state-dir "$STATE" >"$VMSNAP_LAB/demo/worker.log" 2>&1 &
echo $! >"$pidfile"
wait_for 60 "host worker $HOST" grep -q "polling vmsnap-host-$HOST" "$VMSNAP_LAB/demo/worker.log"

node dist/cli/main.js snapshot "$DOMAIN" --host "$HOST"
cat <<TXT

Web UI:        http://127.0.0.1:$TEMPORAL_UI_PORT  (filter: VmsnapDomain = '$DOMAIN')
Images:        $STATE/images
Again:         node dist/cli/main.js snapshot $DOMAIN --host $HOST
Backups:       node dist/cli/main.js backup $DOMAIN --host $HOST --type daily --rotation 7
Schedule them: node dist/cli/main.js schedule create --host $HOST --domain $DOMAIN --type daily --rotation 7 --cron "0 3 * * *"
List images:   node dist/cli/main.js images list --host $HOST
Restore:       node dist/cli/main.js restore IMAGE --host $HOST --domain $DOMAIN   (or --as-new NAME)
From Temporal: $TEMPORAL_BIN workflow start --type snapshotInstance --task-queue vmsnap --input '{"host":"$HOST","domain":"$DOMAIN"}'
The worker keeps running (pid $(cat "$pidfile"), log $VMSNAP_LAB/demo/worker.log).
TXT
