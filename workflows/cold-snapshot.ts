import type { DomainFacts } from '../activities/index.js';
import type { NewImage } from '../activities/stores/image-store.js';
import type { SnapshotRequest } from '../common/request.js';
import type { HostActivityProfiles } from './host-activities.js';
import { overlayMergeBack, type PathOutcome } from './overlay-merge.js';
import type { Saga } from './saga.js';
import type { StepTracker } from './step-tracker.js';

export interface ColdSnapshotInput {
  request: SnapshotRequest;
  facts: DomainFacts;
  /** Where the standalone image is written (the store's staging file). */
  stagingPath: string;
  /** The run's artifact tag: the overlay is named by it. */
  tag: string;
  /** Return the merge as a tail that runs beside the store step (false only when replaying older runs). */
  mergeBesideStore: boolean;
  /** The image's manifest: a store that takes uploads gets the image while the convert makes it. */
  manifest?: NewImage;
}

/**
 * The cold path, with Nova's guarantee and less downtime. A domain that runs is saved
 * (managedsave: stopped, memory kept), its disk gets a fresh overlay that the saved state and the
 * definition are switched to, and it starts again at once, on the overlay. The disk, read-only
 * under the overlay, is then converted while the domain runs, and the overlay is merged back
 * (live block commit, pivot). Downtime no longer grows with the disk. A domain that was off is
 * simply converted. On any failure the overlay is merged back and the domain started again.
 * Returns the downtime in milliseconds (0 for a domain that was already off) and the merge, when
 * the caller runs it beside the store step.
 */
export async function coldSnapshot(acts: HostActivityProfiles, saga: Saga, track: StepTracker, input: ColdSnapshotInput): Promise<PathOutcome & { downtimeMs: number }> {
  const { request, facts, stagingPath, tag } = input;
  const { domain } = request;
  const disk = facts.disk.target;
  const source = facts.disk.sourceFile ?? '';
  const wasRunning = facts.state === 'running' || facts.state === 'paused';
  const convert = () => track.run('convert', () => acts.long.convertDisk({ domain, disk, source, dest: stagingPath, format: request.format, store: request.store, manifest: input.manifest }));
  if (!wasRunning) {
    const { digest } = await convert();
    return { downtimeMs: 0, digest };
  }

  const restart = saga.register('start the domain again', () => acts.undo.startDomain({ domain }));
  const down = Date.now();
  await track.run('managedsave', () => acts.quick.managedSave({ domain }));
  const merge = overlayMergeBack(acts, saga, track, { domain, disk, source, tag });
  await track.run('switch to overlay', () => acts.quick.switchToOverlay({ domain, disk, source, format: facts.disk.format, tag }));
  await track.run('start', () => acts.quick.startDomain({ domain }));
  saga.settle(restart);
  const downtimeMs = Date.now() - down;

  const { digest } = await convert();
  if (input.mergeBesideStore) return { downtimeMs, tail: merge, digest };
  await merge();
  return { downtimeMs, digest };
}
