#!/usr/bin/env bash
# Starts one Glance API (SQLite, file backend) on PORT unless it answers:
#   glance-instance.sh PORT none|keystone [SIZE_CAP_BYTES] [file|rbd] [HASHING_ALGORITHM]
# keystone mode validates tokens against the lab Keystone (deploy/openstack-up.sh starts it first);
# the rbd backend keeps images in pool `images` of the cluster CEPH_CONF names (deploy/ceph-up.sh).
source "$(dirname "$0")/common.sh"
port="$1"; auth="$2"; cap="${3:-4294967296}"; backend="${4:-file}"; hash="${5:-sha512}"
KEYSTONE_PORT="${KEYSTONE_PORT:-5000}"
DIR="$VMSNAP_LAB/openstack"; G="$DIR/glance-$port"
answers() { curl -fs -o /dev/null --max-time 3 "$1"; }
fsid=""
[ "$backend" = rbd ] && fsid="$(timeout 20 ceph --conf "${CEPH_CONF:-/etc/ceph/ceph.conf}" fsid)"
# One that answers is kept, unless its RBD backend was set up against a cluster that is gone
# (ceph-up.sh re-creates the lab cluster with a new fsid; Glance would refuse its locations) or it
# hashes uploads with another algorithm than asked for.
setup="$fsid $hash"
if answers "http://127.0.0.1:$port/healthcheck" && [ "$(cat "$G/setup" 2>/dev/null)" = "$setup" ]; then exit 0; fi
log "starting Glance on :$port (auth: $auth)"
# A Glance that died (crashed, or killed by a crash test) comes back with its database and images,
# as a real one does; one that answers is stopped and set up afresh.
if [ -f "$G/pid" ] && kill "$(cat "$G/pid")" 2>/dev/null; then
  old="$(cat "$G/pid")"; for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.2; done
  rm -rf "$G"
elif [ "$(cat "$G/setup" 2>/dev/null)" != "$setup" ]; then
  rm -rf "$G"
fi
mkdir -p "$G"/{images,staging,tasks}
flavor=""; [ "$auth" = keystone ] && flavor=keystone
cat >"$G/glance-api.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $port
workers = 0
enabled_backends = $([ "$backend" = rbd ] && echo ceph:rbd || echo fs:file)
show_multiple_locations = True
show_image_direct_url = True
log_file = $G/glance-api.log
image_size_cap = $cap
hashing_algorithm = $hash
[database]
connection = sqlite:///$G/glance.db
[paste_deploy]
flavor = $flavor
[glance_store]
default_backend = $([ "$backend" = rbd ] && echo ceph || echo fs)
[ceph]
rbd_store_pool = images
rbd_store_user = admin
rbd_store_ceph_conf = ${CEPH_CONF:-/etc/ceph/ceph.conf}
[fs]
filesystem_store_datadir = $G/images/
[os_glance_staging_store]
filesystem_store_datadir = $G/staging/
[os_glance_tasks_store]
filesystem_store_datadir = $G/tasks/
CONF
if [ "$auth" = keystone ]; then
  source "$DIR/passwords"
  cat >>"$G/glance-api.conf" <<CONF
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:$KEYSTONE_PORT
auth_url = http://127.0.0.1:$KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = glance
password = $GLANCE_SERVICE_PASSWORD
CONF
fi
/usr/bin/python3 /usr/bin/glance-manage --config-file "$G/glance-api.conf" db_sync >"$G/manage.log" 2>&1
nohup /usr/bin/python3 /usr/bin/glance-api --config-file "$G/glance-api.conf" >"$G/server.log" 2>&1 &
echo $! >"$G/pid"
echo "$setup" >"$G/setup"
wait_for 60 "Glance on :$port" answers "http://127.0.0.1:$port/healthcheck"
