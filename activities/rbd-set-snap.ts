import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { faultPoint } from './fault-point.js';
import { type HostContext, workDir } from './host-context.js';
import { hostCeph, type SourceSnap } from './rbd.js';
import { parseDomState } from './virsh-output.js';
import { virsh } from './virsh.js';

/**
 * What the run's work folder remembers of its pause (`paused.json`): that this run paused the
 * domain, and since when; once the set is complete and the domain resumed, how long it stood.
 * A retry (the worker died mid-pause) and the compensation resume only a pause the run made,
 * never one of the operator's or one QEMU made on an I/O error.
 */
interface PauseRecord {
  pausedAt?: number;
  /** Written once every snapshot exists and the domain runs again: the set is complete. */
  pausedMs?: number;
}

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
  const recordFile = (tag: string) => path.join(workDir(ctx, tag), 'paused.json');
  const readRecord = async (tag: string): Promise<PauseRecord | undefined> =>
    readFile(recordFile(tag), 'utf8').then(
      (s) => JSON.parse(s) as PauseRecord,
      () => undefined,
    );
  const writeRecord = (tag: string, r: PauseRecord) => writeFile(recordFile(tag), JSON.stringify(r));

  return {
    /**
     * Snapshots every source while the domain is paused (`pause`: it was running when inspected;
     * one that is paused already, or off, writes nothing meanwhile) and returns how long the guest
     * stood still. Idempotent: a retry after the worker died mid-pause finds the domain still
     * paused by this run, takes the snapshots that are missing and resumes it (the pause it reports
     * includes the time the run was away). A set that is not known to hold one instant (an
     * attempt failed, or someone resumed the domain meanwhile) is removed and taken again.
     */
    async rbdSnapSources({ domain, tag, sources, pause }: { domain: string; tag: string; sources: SourceSnap[]; pause: boolean }): Promise<{ pausedMs: number }> {
      const step = 'snap source';
      const ceph = hostCeph(ctx);
      const where = { domain, step };
      const context = { domain };
      const protectAll = () => Promise.all(sources.filter((s) => s.protect !== false).map((s) => ceph.snapCreate(s, s.snap, step, { protect: true, context })));
      const removeAll = () => Promise.all(sources.map((s) => ceph.snapRemove(s, s.snap, step, { unprotect: false, context })));

      const before = await readRecord(tag);
      if (before?.pausedMs !== undefined) {
        await protectAll();
        return { pausedMs: before.pausedMs };
      }
      let pausedAt = before?.pausedAt;
      if (pausedAt === undefined || (await state(domain, step)) !== 'paused') {
        await removeAll();
        pausedAt = undefined;
        if (pause && (await state(domain, step)) === 'running') {
          pausedAt = Date.now();
          await writeRecord(tag, { pausedAt });
          await v(['suspend', domain], where);
        }
      }
      await faultPoint('rbd-set-paused');
      const taken = await Promise.allSettled(sources.map((s) => ceph.snapCreate(s, s.snap, step, { protect: false, context })));
      const failed = taken.find((t): t is PromiseRejectedResult => t.status === 'rejected');
      // Every command has ended before the guest runs again: no snapshot lands after the resume.
      if (failed) await removeAll().catch(() => undefined);
      else await faultPoint('rbd-set-taken');
      if (pausedAt !== undefined && (await state(domain, step)) === 'paused') await v(['resume', domain], where);
      if (failed) {
        await rm(recordFile(tag), { force: true });
        throw failed.reason;
      }
      const pausedMs = pausedAt === undefined ? 0 : Date.now() - pausedAt;
      await writeRecord(tag, { pausedMs });
      await protectAll();
      return { pausedMs };
    },

    /** Compensation: resumes the domain if this run paused it and did not resume it. Idempotent. */
    async resumeIfPaused({ domain, tag }: { domain: string; tag: string }): Promise<{ resumed: boolean }> {
      const step = 'resume';
      const record = await readRecord(tag);
      if (record?.pausedAt === undefined || (await state(domain, step).catch(() => undefined)) !== 'paused') return { resumed: false };
      await v(['resume', domain], { domain, step });
      await writeRecord(tag, { pausedMs: Date.now() - record.pausedAt });
      return { resumed: true };
    },
  };
}
