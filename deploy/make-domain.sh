#!/usr/bin/env bash
# Creates (or re-creates) a small lab domain that idles in firmware, with a disk of known content:
#   make-domain.sh NAME DIR [SIZE_MIB=256] [LAYOUT=overlay|flat|rbd|rbd-clone] [DATA_MIB=SIZE/2] [start|nostart]
# overlay: DIR/NAME-base.qcow2 holds DATA_MIB of random data (the rest are holes) and
#          DIR/NAME.qcow2 is an overlay on it with 8 MiB of its own writes.
# flat:    DIR/NAME.qcow2 holds the data itself.
# rbd:     the RBD image vms/NAME holds the data (CEPH_CONF names the cluster: deploy/ceph-up.sh).
# rbd-clone: Nova's layout: vms/NAME is a clone of the image images/NAME-base@snap, which holds the
#          data, with 8 MiB of its own writes.
source "$(dirname "$0")/common.sh"
name="$1"; dir="$2"; size="${3:-256}"; layout="${4:-overlay}"; data="${5:-$((size / 2))}"; power="${6:-start}"
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { log "bad domain name: $name"; exit 2; }
V="virsh -q -c qemu:///system"
mkdir -p "$dir"
if $V dominfo "$name" >/dev/null 2>&1; then
  $V destroy "$name" >/dev/null 2>&1 || true
  $V undefine "$name" --managed-save --checkpoints-metadata --snapshots-metadata >/dev/null 2>&1 || true
fi
rm -f "$dir/$name.qcow2" "$dir/$name-base.qcow2" "$dir/$name.raw"
qemu-img create -q -f raw "$dir/$name.raw" "${size}M"
dd if=/dev/urandom of="$dir/$name.raw" bs=1M count="$data" conv=notrunc,fsync status=none
# An RBD image and its snapshots (a clone's parent goes after the clone).
drop_rbd() {
  rbd info "$1" >/dev/null 2>&1 || return 0
  for s in $(rbd snap ls --format json "$1" | python3 -c 'import json,sys; print(" ".join(x["name"] for x in json.load(sys.stdin)))'); do
    rbd snap unprotect "$1@$s" 2>/dev/null || true; rbd snap rm --no-progress "$1@$s"
  done
  rbd rm --no-progress "$1"
}
if [ "$layout" = rbd ] || [ "$layout" = rbd-clone ]; then
  : "${CEPH_CONF:?CEPH_CONF must name the ceph.conf of the lab cluster for an rbd domain}"
  drop_rbd "vms/$name"; drop_rbd "images/$name-base"
  if [ "$layout" = rbd-clone ]; then
    rbd import --no-progress "$dir/$name.raw" "images/$name-base"
    rbd snap create --no-progress "images/$name-base@snap"; rbd snap protect "images/$name-base@snap"
    rbd clone "images/$name-base@snap" "vms/$name"
    qemu-io -f raw -c "write -P 0x5a $((size / 4))M 8M" "rbd:vms/$name:conf=$CEPH_CONF" >/dev/null
  else
    rbd import --no-progress "$dir/$name.raw" "vms/$name"
  fi
elif [ "$layout" = overlay ]; then
  qemu-img convert -q -f raw -O qcow2 "$dir/$name.raw" "$dir/$name-base.qcow2"
  qemu-img create -q -f qcow2 -b "$dir/$name-base.qcow2" -F qcow2 "$dir/$name.qcow2"
  qemu-io -f qcow2 -c "write -P 0x5a $((size / 4))M 8M" "$dir/$name.qcow2" >/dev/null
else
  qemu-img convert -q -f raw -O qcow2 "$dir/$name.raw" "$dir/$name.qcow2"
fi
rm -f "$dir/$name.raw"
if [ "$layout" = rbd ] || [ "$layout" = rbd-clone ]; then
  disk_xml="    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='rbd' name='vms/$name'><host name='127.0.0.1' port='6789'/></source>
      <target dev='vda' bus='virtio'/>
    </disk>"
else
  disk_xml="    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$dir/$name.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>"
fi
cat >"$dir/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
$disk_xml
    <serial type='file'><source path='$dir/$name.serial.log'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
$V define "$dir/$name.xml" >/dev/null
[ "$power" = start ] && $V start "$name" >/dev/null
log "domain $name ready ($layout, ${size} MiB, $power)"
