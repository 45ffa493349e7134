# Shared settings for the lab scripts. Sourced, never run.
# The cache lives outside the work tree so a fresh clone (CI) reuses what an earlier run built.
set -euo pipefail
export PATH="/usr/local/go/bin:$PATH"
VMSNAP_CACHE="${VMSNAP_CACHE:-$HOME/.cache/vmsnap}"
VMSNAP_LAB="${VMSNAP_LAB:-/var/lib/vmsnap-lab}"
TEMPORAL_VERSION="${TEMPORAL_VERSION:-v1.5.1}"
TEMPORAL_BIN="$VMSNAP_CACHE/bin/temporal-$TEMPORAL_VERSION"
# The server and UI versions the CLI above embeds (its go.mod): the cluster shape runs the same code.
TEMPORAL_SERVER_VERSION="${TEMPORAL_SERVER_VERSION:-v1.29.1}"
TEMPORAL_UI_VERSION="${TEMPORAL_UI_VERSION:-v2.42.1}"
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
mkdir -p "$VMSNAP_CACHE/bin" "$VMSNAP_LAB"

log() { printf '[vmsnap-lab] %s\n' "$*" >&2; }

# Installs the Debian packages that are missing; runs apt-get update once per machine boot.
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ ! -f /tmp/.vmsnap-apt-updated ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && touch /tmp/.vmsnap-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Waits until a command succeeds, or fails loudly after N seconds.
wait_for() {
  local secs="$1" what="$2"; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then log "FAILED: $what did not come up within ${secs}s"; return 1; fi
    sleep 0.3
  done
}

# Installs the npm packages when node_modules is missing or older than the lock file. `npm install`,
# not `npm ci`: npm 11's ci refuses this lock file for lacking other platforms' optional @swc
# packages, while install honours the lock as it is.
npm_install() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm install"; npm install --no-audit --no-fund --loglevel=error
  fi
}
