#!/usr/bin/env bash
# Installs and starts libvirt + QEMU (software emulation, no systemd needed). Idempotent.
source "$(dirname "$0")/common.sh"
apt_install qemu-utils qemu-system-x86 libvirt-daemon-system libvirt-clients

# QEMU must run as root: lab images live in 0700 temp dirs (LAB.md: Permission denied otherwise).
conf=/etc/libvirt/qemu.conf
if ! grep -q '^user = "root"' "$conf"; then
  printf '\nuser = "root"\ngroup = "root"\n' >>"$conf"
  pkill -x libvirtd 2>/dev/null && sleep 1 || true
fi
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
# The first call may block while libvirtd probes QEMU's capabilities.
wait_for 90 libvirtd virsh -c qemu:///system version
log "libvirt up: $(virsh -c qemu:///system version | sed -n 's/^Running hypervisor: *//p')"
