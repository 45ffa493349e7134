import type { DomainFacts } from '../activities/index.js';
import type { SnapshotRequest } from '../common/request.js';
import type { HostActivityProfiles } from './host-activities.js';
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
}

/**
 * The live path, as the seeds run it: abort stale block jobs → create the delta → save the inactive
 * XML and undefine (undefine strategy) → blockcopy → abort the job → define → convert the delta
 * into a standalone image. The domain keeps running throughout; every step that changes something
 * has its compensation registered first.
 */
export async function liveSnapshot(acts: HostActivityProfiles, saga: Saga, track: StepTracker, input: LiveSnapshotInput): Promise<void> {
  const { request, facts, plan, tag, stagingPath } = input;
  const { domain } = request;
  const disk = facts.disk.target;

  await track.run('abort stale block jobs', () => acts.quick.abortStaleBlockJobs({ domain, disk }));

  if (plan.strategy === 'backup') {
    // QEMU writes the point-in-time image straight into the store's staging file: no delta, no convert.
    saga.register('abort the backup', () => acts.undo.abortBackup({ domain, dest: stagingPath }));
    await track.run('backup', () => acts.long.backupDisk({ domain, disk, tag, dest: stagingPath, format: request.format }));
    return;
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

  await track.run('convert', () => acts.long.convertDelta({ domain, disk, tag, dest: stagingPath, format: request.format }));
}
