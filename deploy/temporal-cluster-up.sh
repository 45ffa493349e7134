#!/usr/bin/env bash
# Starts Temporal in its production shape, unless it already answers: the Temporal server built
# from Go modules with PostgreSQL persistence and visibility (schemas made and upgraded with
# Temporal's own SQL tool), its frontend behind mTLS (client certificates from deploy/make-certs.sh
# required), and the Web UI server talking to it over mTLS. Idempotent. Registers the namespace and
# vmsnap's search attributes, then writes the connection settings, in the Temporal CLI's own
# environment variables, to $VMSNAP_LAB/temporal-cluster.env (source it to talk to this cluster).
#
# Settings (environment): TEMPORAL_CLUSTER_PORT (frontend gRPC, 7933), TEMPORAL_CLUSTER_UI_PORT
# (8933), TEMPORAL_CLUSTER_NAMESPACES (namespaces to create and give vmsnap's search attributes,
# "default"), TEMPORAL_CLUSTER_DB (database name prefix, vmsnap_temporal), PGHOST/PGPORT/PGUSER
# (127.0.0.1/5432/postgres), TEMPORAL_CODEC_ENDPOINT (the UI decodes payloads through it).
source "$(dirname "$0")/common.sh"
here="$(cd "$(dirname "$0")" && pwd)"
port="${TEMPORAL_CLUSTER_PORT:-7933}"
ui_port="${TEMPORAL_CLUSTER_UI_PORT:-8933}"
db="${TEMPORAL_CLUSTER_DB:-vmsnap_temporal}"
pg_host="${PGHOST:-127.0.0.1}" pg_port="${PGPORT:-5432}" pg_admin="${PGUSER:-postgres}"
dir="$VMSNAP_LAB/temporal-cluster-$port"
addr="127.0.0.1:$port"
mkdir -p "$dir/config" "$dir/ui/config"

bin="$(bash "$here/install-temporal-server.sh")"
server="$bin/temporal-server-$TEMPORAL_SERVER_VERSION"
sqltool="$bin/temporal-sql-tool-$TEMPORAL_SERVER_VERSION"
uiserver="$bin/temporal-ui-server-$TEMPORAL_UI_VERSION"
cli="$(bash "$here/install-temporal.sh")"
pki="$(bash "$here/make-certs.sh")"

# The operator's side of mTLS, exactly as the Temporal CLI and vmsnap read it.
export TEMPORAL_ADDRESS="$addr" TEMPORAL_NAMESPACE=default
export TEMPORAL_TLS_CLIENT_CERT_PATH="$pki/operator.pem" TEMPORAL_TLS_CLIENT_KEY_PATH="$pki/operator.key"
export TEMPORAL_TLS_SERVER_CA_CERT_PATH="$pki/ca.pem" TEMPORAL_TLS_SERVER_NAME=localhost

# PostgreSQL runs on this machine kind; start it if it stopped.
if ! pg_isready -q -h "$pg_host" -p "$pg_port"; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  wait_for 30 "PostgreSQL on $pg_host:$pg_port" pg_isready -h "$pg_host" -p "$pg_port"
fi
psql_admin() { psql -v ON_ERROR_STOP=1 -qtA -h "$pg_host" -p "$pg_port" -U "$pg_admin" -d postgres "$@"; }
if [ "$(psql_admin -c "select 1 from pg_roles where rolname = 'vmsnap_temporal'")" != 1 ]; then
  log "creating PostgreSQL role vmsnap_temporal"
  psql_admin -c "create role vmsnap_temporal login password 'vmsnap_temporal' createdb"
fi
sql() { # the tool's debug lines go to a log, read it when a schema step fails
  "$sqltool" --plugin postgres12 --endpoint "$pg_host" --port "$pg_port" --user vmsnap_temporal --password vmsnap_temporal "$@" \
    >>"$dir/schema.log" 2>&1 || { log "FAILED: temporal-sql-tool $*: see $dir/schema.log"; tail -n 5 "$dir/schema.log" >&2; return 1; }
}
for d in "$db" "${db}_visibility"; do
  if [ "$(psql_admin -c "select 1 from pg_database where datname = '$d'")" != 1 ]; then
    log "creating database $d and its base schema"
    sql --database "$d" create-database
    sql --database "$d" setup-schema -v 0.0
  fi
done
# Upgrades are forward-only and idempotent: an existing database is brought to this server's schema.
sql --database "$db" update-schema --schema-name postgresql/v12/temporal
sql --database "${db}_visibility" update-schema --schema-name postgresql/v12/visibility

datastore() { # <name> <database>
  cat <<YAML
    $1:
      sql:
        pluginName: postgres12
        databaseName: $2
        connectAddr: "$pg_host:$pg_port"
        connectProtocol: tcp
        user: vmsnap_temporal
        password: vmsnap_temporal
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
YAML
}
service() { # <name> <grpc port> <membership port> [HTTP API port]
  cat <<YAML
  $1:
    rpc:
      grpcPort: $2
      membershipPort: $3
      bindOnIP: 127.0.0.1
YAML
  if [ -n "${4:-}" ]; then echo "      httpPort: $4"; fi
}
cat >"$dir/config/production.yaml" <<YAML
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
$(datastore default "$db")
$(datastore visibility "${db}_visibility")
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:$((port + 66))"
  tls:
    # Clients (workers, CLI, UI server) must show a certificate signed by the lab CA.
    frontend:
      server:
        certFile: $pki/server.pem
        keyFile: $pki/server.key
        requireClientAuth: true
        clientCaFiles: [$pki/ca.pem]
      client:
        serverName: localhost
        rootCaFiles: [$pki/ca.pem]
    # The server's own system workers (schedules, archival) are clients of the frontend too.
    systemWorker:
      certFile: $pki/server.pem
      keyFile: $pki/server.key
      client:
        serverName: localhost
        rootCaFiles: [$pki/ca.pem]
services:
$(service frontend "$port" $((port + 10)) $((port + 20)))
$(service history $((port + 1)) $((port + 11)))
$(service matching $((port + 2)) $((port + 12)))
$(service worker $((port + 6)) $((port + 16)))
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "$addr"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $dir/config/dynamic.yaml
  pollInterval: 10s
YAML
cat >"$dir/config/dynamic.yaml" <<YAML
# Search attributes registered by this script are usable at once (tests create them and search).
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
YAML

if ! "$cli" operator cluster health >/dev/null 2>&1; then
  log "starting Temporal server $TEMPORAL_SERVER_VERSION on $addr (PostgreSQL $pg_host:$pg_port/$db, mTLS)"
  nohup "$server" --root "$dir" --config config --env production --allow-no-auth start \
    >"$dir/server.log" 2>&1 &
  echo $! >"$dir/server.pid"
  wait_for 90 "Temporal server on $addr (log: $dir/server.log)" "$cli" operator cluster health
fi
# Every namespace a fleet uses needs vmsnap's search attributes (each namespace has its own).
for ns in ${TEMPORAL_CLUSTER_NAMESPACES:-default}; do
  if ! "$cli" operator namespace describe -n "$ns" >/dev/null 2>&1; then
    "$cli" operator namespace create -n "$ns" --retention 24h >/dev/null
  fi
  # A new namespace reaches the frontend's cache some seconds after it is created.
  wait_for 60 "namespace $ns" "$cli" operator search-attribute list -n "$ns"
  for sa in VmsnapHost VmsnapDomain VmsnapMode; do
    if ! "$cli" operator search-attribute list -n "$ns" | grep -q "\b$sa\b"; then
      "$cli" operator search-attribute create -n "$ns" --name "$sa" --type Keyword >/dev/null
    fi
  done
done

# The Web UI server, connected over mTLS with the operator's certificate. A changed config (a new
# codec endpoint, say) restarts it: it reads its config once.
ui_config="$dir/ui/config/production.yaml"
old_ui_config="$(cat "$ui_config" 2>/dev/null || true)"
cat >"$ui_config" <<YAML
temporalGrpcAddress: "$addr"
host: 127.0.0.1
port: $ui_port
enableUi: true
defaultNamespace: default
refreshInterval: 1m
cors:
  allowOrigins: ["http://127.0.0.1:$ui_port"]
tls:
  caFile: $pki/ca.pem
  certFile: $pki/operator.pem
  keyFile: $pki/operator.key
  serverName: localhost
  enableHostVerification: true
codec:
  endpoint: "${TEMPORAL_CODEC_ENDPOINT:-}"
YAML
if [ "$old_ui_config" != "$(cat "$ui_config")" ] && [ -f "$dir/ui.pid" ] && kill "$(cat "$dir/ui.pid")" 2>/dev/null; then
  log "Web UI config changed: restarting it"
  wait_for 30 "the old Web UI to stop" bash -c "! curl -fs -o /dev/null http://127.0.0.1:$ui_port/"
fi
if ! curl -fs -o /dev/null "http://127.0.0.1:$ui_port/"; then
  log "starting Temporal Web UI server $TEMPORAL_UI_VERSION on 127.0.0.1:$ui_port"
  nohup "$uiserver" --root "$dir/ui" --config config --env production start >"$dir/ui.log" 2>&1 &
  echo $! >"$dir/ui.pid"
  wait_for 60 "Temporal Web UI on 127.0.0.1:$ui_port (log: $dir/ui.log)" curl -fs -o /dev/null "http://127.0.0.1:$ui_port/"
fi

cat >"$VMSNAP_LAB/temporal-cluster.env" <<ENV
TEMPORAL_ADDRESS=$addr
TEMPORAL_NAMESPACE=default
TEMPORAL_TLS_CLIENT_CERT_PATH=$pki/operator.pem
TEMPORAL_TLS_CLIENT_KEY_PATH=$pki/operator.key
TEMPORAL_TLS_SERVER_CA_CERT_PATH=$pki/ca.pem
TEMPORAL_TLS_SERVER_NAME=localhost
TEMPORAL_UI_URL=http://127.0.0.1:$ui_port
ENV
log "Temporal cluster up: $addr (mTLS, PostgreSQL), Web UI http://127.0.0.1:$ui_port; settings in $VMSNAP_LAB/temporal-cluster.env"
echo "$VMSNAP_LAB/temporal-cluster.env"
