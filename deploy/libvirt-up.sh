#!/usr/bin/env bash
# Installs and starts libvirt + QEMU (software emulation, no systemd needed). Idempotent.
source "$(dirname "$0")/common.sh"
apt_install qemu-utils qemu-system-x86 libvirt-daemon-system libvirt-clients tini

# QEMU must run as root: lab images live in 0700 temp dirs (LAB.md: Permission denied otherwise).
conf=/etc/libvirt/qemu.conf
if ! grep -q '^user = "root"' "$conf"; then
  printf '\nuser = "root"\ngroup = "root"\n' >>"$conf"
  pkill -x libvirtd 2>/dev/null && sleep 1 || true
fi
pgrep -x virtlogd >/dev/null || virtlogd -d
# This machine's PID 1 reaps orphaned processes late (1.4-1.6 s), and libvirt waits for a QEMU it
# stopped to be reaped: every save, destroy and shutdown took that much longer than on a host with
# systemd (measured with libvirt's debug log: SIGTERM to QEMU's SHUTDOWN event at once, then 1.6 s
# in virProcessKillPainfully). libvirtd runs under tini as a subreaper, which reaps at once.
lv="$(pgrep -x libvirtd | head -1 || true)"
if [ -n "$lv" ] && [ "$(ps -o comm= -p "$(ps -o ppid= -p "$lv" | tr -d ' ')")" != tini ]; then
  log "restarting libvirtd under a subreaper (running domains keep running)"
  kill "$lv"; for _ in $(seq 50); do kill -0 "$lv" 2>/dev/null || break; sleep 0.2; done
fi
pgrep -x libvirtd >/dev/null || (setsid nohup tini -s -- libvirtd >/dev/null 2>&1 &)
# The first call may block while libvirtd probes QEMU's capabilities.
wait_for 90 libvirtd virsh -c qemu:///system version
log "libvirt up: $(virsh -c qemu:///system version | sed -n 's/^Running hypervisor: *//p')"
