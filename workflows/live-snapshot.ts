import type { DomainFacts } from '../activities/index.js';
import type { NewImage } from '../activities/stores/image-store.js';
import type { SnapshotRequest } from '../common/request.js';
import { convertDisks, type MoreDisk } from './disk-converts.js';
import type { HostActivityProfiles } from './host-activities.js';
import { overlayMergeBack, type PathOutcome } from './overlay-merge.js';
import type { SnapshotPlan } from './plan.js';
import type { Saga } from './saga.js';
import type { StepTracker } from './step-tracker.js';

export interface LiveSnapshotInput {
  request: SnapshotRequest;
  facts: DomainFacts;
  plan: SnapshotPlan;
  tag: string;
  /** Where the standalone image is written (the store's staging file). */
  stagingPath: string;
  /** Skip the stale-job step when inspect saw no job (false only when replaying older runs). */
  skipIdleAbort: boolean;
  /** The image's manifest: a store that takes uploads gets the image while the convert makes it. */
  manifest?: NewImage;
  /** The other disks of a multi-disk run (overlay and backup strategies): frozen with the first, copied beside it. */
  more?: MoreDisk[];
}

/**
 * The live path. The domain keeps running throughout; every step that changes something has its
 * compensation registered first. After ending any stale block job, one of:
 * - overlay: create an external overlay (the snapshot point: the disk stops changing) → convert
 *   the disk into the store's staging file (or straight into an upload) → merge the overlay back (returned as the tail, so it
 *   runs while the store step hashes and publishes);
 * - backup: QEMU's backup job writes the image (one per disk, one job) into the staging file;
 * - transient-job / undefine, as the seeds run it: create the delta → save the inactive XML and
 *   undefine (undefine strategy) → blockcopy → abort the job → define → convert the delta.
 */
export async function liveSnapshot(acts: HostActivityProfiles, saga: Saga, track: StepTracker, input: LiveSnapshotInput): Promise<PathOutcome> {
  const { request, facts, plan, tag, stagingPath, manifest } = input;
  const { domain } = request;
  const disk = facts.disk.target;

  if (!(input.skipIdleAbort && facts.blockJobActive === false)) {
    const also = (input.more ?? []).map((m) => m.disk.target);
    await track.run('abort stale block jobs', () => acts.quick.abortStaleBlockJobs({ domain, disk, ...(also.length ? { also } : {}) }));
  }

  if (plan.strategy === 'overlay') {
    const source = facts.disk.sourceFile ?? '';
    const more = input.more ?? [];
    const also = more.map((m) => ({ disk: m.disk.target, source: m.disk.sourceFile ?? '' }));
    const merge = overlayMergeBack(acts, saga, track, { domain, disk, source, tag }, also.map((a) => ({ domain, tag, ...a })));
    // Several disks: one snapshot over all of them, the instant every image shows.
    await track.run('create overlay', () => acts.quick.createLiveOverlay({ domain, disk, source, tag, disks: facts.diskTargets, ...(also.length ? { also } : {}) }));
    // The disks under the overlays no longer change: they are read in place, as the floor would.
    const copied = await convertDisks(acts, track, request, { disk: facts.disk, stagingPath, manifest }, more);
    return { tail: merge, ...copied };
  }

  if (plan.strategy === 'backup') {
    // QEMU writes the point-in-time image straight into the store's staging file: no delta, no convert.
    // Several disks: one job over all of them, started at one instant, each into its own staging file.
    const also = (input.more ?? []).map((m) => ({ disk: m.disk.target, dest: m.stagingPath }));
    saga.register('abort the backup', () => acts.undo.abortBackup({ domain, dest: stagingPath }));
    await track.run('backup', () => acts.long.backupDisk({ domain, disk, tag, dest: stagingPath, format: request.format, ...(also.length ? { also } : {}) }));
    return {};
  }

  saga.register('delete the delta', () => acts.undo.removeWorkDir({ tag }));
  await track.run('create delta', () =>
    acts.quick.createDelta({
      domain,
      disk,
      tag,
      virtualSize: facts.disk.virtualSize,
      backingFile: plan.shallow ? facts.disk.backingFile : undefined,
      backingFormat: facts.disk.backingFormat,
    }),
  );

  let savedXml: string | undefined;
  let redefine: ReturnType<Saga['register']> | undefined;
  if (plan.undefine) {
    const xml = await track.run('save inactive XML', () => acts.quick.saveInactiveXml({ domain, tag }));
    savedXml = xml;
    redefine = saga.register('define the saved XML', () => acts.undo.defineDomain({ domain, tag, xml, startIfStopped: true }));
    await track.run('undefine', () => acts.quick.undefineDomain({ domain }));
  }

  const abortCopy = saga.register('abort the block job', () => acts.undo.abortBlockJob({ domain, disk }));
  await track.run('blockcopy', () =>
    acts.long.blockCopy({
      domain,
      disk,
      tag,
      shallow: plan.shallow,
      transientJob: plan.strategy === 'transient-job',
      bandwidthMiBps: request.bandwidthMiBps,
    }),
  );
  // Ending the mirror without a pivot freezes the delta at this instant: the snapshot point.
  await track.run('abort block job', () => acts.quick.abortBlockJob({ domain, disk }));
  saga.settle(abortCopy);

  if (savedXml !== undefined && redefine) {
    const xml = savedXml;
    await track.run('define', () => acts.quick.defineDomain({ domain, tag, xml, startIfStopped: false }));
    saga.settle(redefine);
  }

  const { digest } = await track.run('convert', () => acts.long.convertDelta({ domain, disk, tag, dest: stagingPath, format: request.format, store: request.store, manifest }));
  return { digest };
}
