import type { HostContext } from './host-context.js';
import { hostCeph, type SourceSnap } from './rbd.js';
import { parseDomState } from './virsh-output.js';
import { virsh } from './virsh.js';

/**
 * Several RBD disks of one domain, snapshot at one instant. An RBD snapshot is taken per image, so
 * two `rbd snap create` in a row would let the guest write between them. Pausing the domain stops
 * its vCPUs and drains and flushes QEMU's block I/O (the QMP `stop`), so every snapshot taken
 * while it is paused holds the same instant: a crash-consistent set. The pause lasts as long as
 * the snapshots (taken side by side); protecting them, where a clone needs it, waits until after.
 */
export function createRbdSetSnapActivities(ctx: HostContext) {
  const v = virsh(ctx);
  const state = async (domain: string, step: string) => parseDomState((await v(['domstate', domain], { domain, step })).stdout);

  return {
    /**
     * Snapshots every source while the domain is paused (`pause`: it was running when inspected;
     * one that is already paused, or off, writes nothing meanwhile). Idempotent: a retry after the
     * worker died mid-pause finds the domain paused by this run, takes what snapshots are missing
     * and resumes it. Returns how long the guest stood still.
     */
    async rbdSnapSources({ domain, sources, pause }: { domain: string; sources: SourceSnap[]; pause: boolean }): Promise<{ pausedMs: number }> {
      const step = 'snap source';
      const ceph = hostCeph(ctx);
      let pausedAt: number | undefined;
      if (pause && (await state(domain, step)) === 'running') {
        pausedAt = Date.now();
        await v(['suspend', domain], { domain, step });
      }
      try {
        await Promise.all(sources.map((s) => ceph.snapCreate({ pool: s.pool, image: s.image }, s.snap, step, { protect: false })));
      } finally {
        if (pause && (pausedAt !== undefined || (await state(domain, step)) === 'paused')) await v(['resume', domain], { domain, step });
      }
      const pausedMs = pausedAt === undefined ? 0 : Date.now() - pausedAt;
      await Promise.all(sources.filter((s) => s.protect !== false).map((s) => ceph.snapCreate({ pool: s.pool, image: s.image }, s.snap, step, { protect: true })));
      return { pausedMs };
    },

    /** Compensation: resumes the domain if this run's snapshot step left it paused. Idempotent. */
    async resumeIfPaused({ domain }: { domain: string }): Promise<{ resumed: boolean }> {
      const step = 'resume';
      if ((await state(domain, step).catch(() => undefined)) !== 'paused') return { resumed: false };
      await v(['resume', domain], { domain, step });
      return { resumed: true };
    },
  };
}
