#!/usr/bin/env bash
# Records the event histories of finished vmsnap workflows for the replay test
# (test/unit/replay.test.ts replays every file in test/replay/histories/ against the current code):
#   record-histories.sh LABEL=WORKFLOW_ID [LABEL=WORKFLOW_ID…]
# Each history lands in test/replay/histories/<workflowType>-<LABEL>.json, e.g.
#   record-histories.sh live-backup=snapshot-hv1-vm1-20261122T030000Z  ->  snapshotInstance-live-backup.json
# The cluster is the Temporal CLI's own settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*,
# TEMPORAL_API_KEY, or a profile); `temporal` on the PATH is used, else the lab's cached CLI.
# A run still open is refused (its history would grow), and so is one whose payloads look like they
# carry a secret (vmsnap never puts one there: if this trips, look before you commit anything). With
# payload encryption on, set TEMPORAL_CODEC_ENDPOINT: the CLI then records the payloads decoded,
# which the replay test needs (it has no keys); encrypted ones are refused.
source "$(dirname "$0")/common.sh"
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { log "usage: $0 LABEL=WORKFLOW_ID [LABEL=WORKFLOW_ID…]"; exit 2; }
bin="${TEMPORAL_CLI:-$(command -v temporal || bash deploy/install-temporal.sh)}"
out="${VMSNAP_HISTORIES:-test/replay/histories}"
mkdir -p "$out"
tmp="$(mktemp)"; trap 'rm -f "$tmp"' EXIT
for arg in "$@"; do
  label="${arg%%=*}"; id="${arg#*=}"
  [[ "$arg" == *=* && "$label" =~ ^[A-Za-z0-9._-]+$ && -n "$id" ]] || { log "bad argument '$arg': give LABEL=WORKFLOW_ID (label: letters, digits, . _ -)"; exit 2; }
  "$bin" workflow show --workflow-id "$id" --output json >"$tmp"
  # Checks the history and prints the file name it goes to; refuses open runs and secret-looking payloads.
  file="$(node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    const [src, label, out, id] = process.argv.slice(1);
    const h = JSON.parse(readFileSync(src, "utf8"));
    const events = h.events ?? [];
    const type = events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
    if (!type) { console.error(`${id}: no start event in its history`); process.exit(1); }
    const last = events.at(-1)?.eventType ?? "";
    if (!/^EVENT_TYPE_WORKFLOW_EXECUTION_(COMPLETED|FAILED|CANCELED|TERMINATED|TIMED_OUT|CONTINUED_AS_NEW)$/.test(last)) {
      console.error(`${id} is still running (last event ${last}): record it once it has finished`); process.exit(1);
    }
    const decoded = [];
    const encodings = new Set();
    JSON.stringify(h, (k, v) => {
      if (k === "data" && typeof v === "string") decoded.push(Buffer.from(v, "base64").toString("utf8"));
      if (k === "encoding" && typeof v === "string") encodings.add(Buffer.from(v, "base64").toString("utf8"));
      return v;
    });
    const coded = [...encodings].filter((e) => !/^(json\/plain|json\/protobuf|binary\/null|binary\/plain|binary\/protobuf)$/.test(e));
    if (coded.length) {
      console.error(`${id}: payloads encoded by a codec (${coded.join(", ")}): set TEMPORAL_CODEC_ENDPOINT (and TEMPORAL_CODEC_AUTH) to the codec server, so the CLI records them decoded`);
      process.exit(1);
    }
    const secret = /password|secret|token|api[_-]?key|private key/i;
    const hit = decoded.find((d) => secret.test(d));
    if (hit) { console.error(`${id}: a payload looks like it holds a secret, not recorded: ${hit.slice(0, 200)}`); process.exit(1); }
    const file = `${out}/${type}-${label}.json`;
    writeFileSync(file, JSON.stringify(h, null, 1) + "\n");
    console.log(file);
  ' "$tmp" "$label" "$out" "$id")"
  log "recorded $id -> $file ($(wc -c <"$file") bytes)"
done
