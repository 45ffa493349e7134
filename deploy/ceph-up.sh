#!/usr/bin/env bash
# Starts a single-node Ceph cluster for the lab (one mon, one OSD, one mgr), no systemd,
# auth off, config and data in a private folder, with pools `vms` (domain disks) and `images`
# (snapshots). Idempotent: a cluster that answers is left as it is. Prints the ceph.conf path.
source "$(dirname "$0")/common.sh"
apt_install ceph-mon ceph-osd ceph-mgr ceph-common qemu-block-extra
DIR="$VMSNAP_LAB/ceph"
CONF="$DIR/ceph.conf"
export CEPH_CONF="$CONF"
up() { timeout 5 ceph --connect-timeout 3 -s >/dev/null 2>&1 && timeout 10 rados -p images ls >/dev/null 2>&1; }
if [ -f "$CONF" ] && up; then echo "$CONF"; exit 0; fi

log "starting a single-node Ceph cluster in $DIR"
pkill -f "ceph-(mon|osd|mgr) .*-c $CONF" 2>/dev/null && sleep 1 || true
rm -rf "$DIR"; mkdir -p "$DIR"/{run,log,mon,osd,mgr}
fsid="$(cat /proc/sys/kernel/random/uuid)"
# memstore: fastest, but loses every object when the OSD restarts. bluestore on a sparse file in
# the lab folder survives a restart (the chaos suite's OSD stop/start needs that).
OBJECTSTORE="${VMSNAP_CEPH_OBJECTSTORE:-bluestore}"
objectstore_conf() {
  if [ "$OBJECTSTORE" = memstore ]; then
    printf 'osd objectstore = memstore\nmemstore device bytes = 6442450944\n'
  else
    printf 'osd objectstore = bluestore\nbluestore block create = true\nbluestore block size = 21474836480\nbluestore fsck on mount = false\nbluestore cache size = 268435456\nosd memory target = 1073741824\n'
  fi
}
cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon initial members = a
mon host = v2:127.0.0.1:3300,v1:127.0.0.1:6789
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
# A lab disk can be nearly full (CI once had 5% free): the mon must still start; the OSD
# lives in a sparse file with its own capacity accounting.
mon data avail crit = 0
mon data avail warn = 0
$(objectstore_conf)
osd crush chooseleaf type = 0
paxos propose interval = 0.05
paxos min wait = 0.01
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
mgr data = $DIR/mgr/\$cluster-\$id
keyring = $DIR/keyring
[client]
admin socket =
log file = $DIR/log/client.log
CONF
# The mon needs a keyring for --mkfs even with auth off.
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
monmaptool --create --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' --fsid "$fsid" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring"
ceph-mon -c "$CONF" -i a
wait_for 30 "ceph mon" timeout 5 ceph --connect-timeout 3 -s
osd_id="$(ceph osd create)"
mkdir -p "$DIR/osd/ceph-$osd_id"
ceph-osd -c "$CONF" -i "$osd_id" --mkfs >/dev/null 2>&1
ceph-osd -c "$CONF" -i "$osd_id"
mkdir -p "$DIR/mgr/ceph-x"
ceph-mgr -c "$CONF" -i x
for pool in vms images; do
  ceph osd pool create "$pool" 8 8 >/dev/null 2>&1
  timeout 30 rbd pool init "$pool"
done
wait_for 60 "ceph OSD serving pool images" up
log "ceph up: fsid $fsid, conf $CONF"
echo "$CONF"
