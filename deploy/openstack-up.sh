#!/usr/bin/env bash
# Starts the lab's OpenStack pieces from Debian's packages, no Apache, no systemd, SQLite:
#   Keystone (identity v3)        http://127.0.0.1:$KEYSTONE_PORT/v3   admin / $OS_ADMIN_PASSWORD
#   Glance, no auth               http://127.0.0.1:$GLANCE_PORT
#   Glance, Keystone auth         http://127.0.0.1:$GLANCE_KS_PORT     (service user glance)
# Idempotent: what answers is left running. Prints the folder holding the lab's credentials file.
source "$(dirname "$0")/common.sh"
apt_install glance-api keystone sqlite3 curl
KEYSTONE_PORT="${KEYSTONE_PORT:-5000}"; GLANCE_PORT="${GLANCE_PORT:-9292}"; GLANCE_KS_PORT="${GLANCE_KS_PORT:-9293}"
DIR="$VMSNAP_LAB/openstack"
PW_FILE="$DIR/passwords"
mkdir -p "$DIR"
[ -f "$PW_FILE" ] || printf 'OS_ADMIN_PASSWORD=%s\nGLANCE_SERVICE_PASSWORD=%s\n' "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" >"$PW_FILE"
chmod 600 "$PW_FILE"; source "$PW_FILE"
PY=/usr/bin/python3 # Debian's, whatever python is first on PATH
answers() { curl -fs -o /dev/null --max-time 3 "$1"; }
export OS_KEYSTONE_CONFIG_FILES="$DIR/keystone/keystone.conf"

# --- Keystone
if ! answers "http://127.0.0.1:$KEYSTONE_PORT/v3"; then
  log "starting Keystone on :$KEYSTONE_PORT"
  K="$DIR/keystone"; rm -rf "$K"; mkdir -p "$K/fernet-keys" "$K/credential-keys"; chmod 700 "$K"/*-keys
  cat >"$K/keystone.conf" <<CONF
[DEFAULT]
log_file = $K/keystone.log
[database]
connection = sqlite:///$K/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = $K/fernet-keys
[credential]
key_repository = $K/credential-keys
[identity]
password_hash_rounds = 4
CONF
  km() { $PY /usr/bin/keystone-manage --config-file "$K/keystone.conf" "$@" >>"$K/manage.log" 2>&1; }
  km fernet_setup --keystone-user root --keystone-group root & p1=$!
  km credential_setup --keystone-user root --keystone-group root & p2=$!
  km db_sync & p3=$!
  wait "$p1" "$p2" "$p3"
  # A lazily evaluated query holds a second SQLite connection: without WAL, writes fail "database is locked".
  sqlite3 "$K/keystone.db" 'PRAGMA journal_mode=WAL;' >/dev/null
  km bootstrap --bootstrap-password "$OS_ADMIN_PASSWORD" --bootstrap-admin-url "http://127.0.0.1:$KEYSTONE_PORT/v3/" \
    --bootstrap-public-url "http://127.0.0.1:$KEYSTONE_PORT/v3/" --bootstrap-internal-url "http://127.0.0.1:$KEYSTONE_PORT/v3/" --bootstrap-region-id RegionOne
  nohup $PY /usr/bin/keystone-wsgi-public --host 127.0.0.1 --port "$KEYSTONE_PORT" >"$K/server.log" 2>&1 &
  echo $! >"$K/pid"
  wait_for 60 "Keystone" answers "http://127.0.0.1:$KEYSTONE_PORT/v3"
  # The glance service user (admin on project service) that Glance validates tokens with.
  $PY - "$KEYSTONE_PORT" "$OS_ADMIN_PASSWORD" "$GLANCE_SERVICE_PASSWORD" <<'PY'
import json, sys, urllib.request
port, admin_pw, glance_pw = sys.argv[1:]
base = f"http://127.0.0.1:{port}/v3"
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json", **({"X-Auth-Token": token} if token else {})})
    with urllib.request.urlopen(req) as r:
        return r.headers.get("X-Subject-Token"), (json.loads(r.read() or b"{}"))
tok, _ = call("POST", "/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": admin_pw}}},
              "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
_, p = call("POST", "/projects", {"project": {"name": "service", "domain_id": "default"}}, tok)
_, u = call("POST", "/users", {"user": {"name": "glance", "domain_id": "default", "password": glance_pw}}, tok)
_, roles = call("GET", "/roles?name=admin", None, tok)
call("PUT", f"/projects/{p['project']['id']}/users/{u['user']['id']}/roles/{roles['roles'][0]['id']}", None, tok)
PY
fi

# --- Glance, twice: without auth, and with Keystone auth
bash "$(dirname "$0")/glance-instance.sh" "$GLANCE_PORT" none & g1=$!
bash "$(dirname "$0")/glance-instance.sh" "$GLANCE_KS_PORT" keystone & g2=$!
wait "$g1" "$g2" # not a bare wait: Keystone, started above, is a child of this shell too
answers "http://127.0.0.1:$GLANCE_PORT/healthcheck" && answers "http://127.0.0.1:$GLANCE_KS_PORT/healthcheck" || { log "FAILED: Glance did not come up (logs in $DIR)"; exit 1; }
log "openstack up: keystone :$KEYSTONE_PORT, glance :$GLANCE_PORT (no auth), :$GLANCE_KS_PORT (keystone)"
echo "$DIR"
