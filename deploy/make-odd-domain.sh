#!/usr/bin/env bash
# Defines lab domains that vmsnap must refuse, for the hostile-input tests:
#   make-odd-domain.sh NAME nodisk|blockdisk|cdromonly   (diskless ones are started, the others not)
source "$(dirname "$0")/common.sh"
name="$1"; kind="$2"
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { log "bad domain name: $name"; exit 2; }
V="virsh -q -c qemu:///system"
$V destroy "$name" >/dev/null 2>&1 || true
$V undefine "$name" >/dev/null 2>&1 || true
case "$kind" in
  nodisk) disk="" ;;
  blockdisk) disk="<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/null'/><target dev='vda' bus='virtio'/></disk>" ;;
  cdromonly) disk="<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/><readonly/></disk>" ;;
  *) log "unknown kind $kind"; exit 2 ;;
esac
xml="$(mktemp)"
cat >"$xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>$disk<memballoon model='none'/></devices>
</domain>
XML
$V define "$xml" >/dev/null
rm -f "$xml"
[ "$kind" = nodisk ] && $V start "$name" >/dev/null
log "odd domain $name ($kind) defined"
