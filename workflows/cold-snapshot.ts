import type { DomainFacts } from '../activities/index.js';
import type { NewImage } from '../activities/stores/image-store.js';
import type { SnapshotRequest } from '../common/request.js';
import { convertDisks, type MoreDisk } from './disk-converts.js';
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
  /** The other disks of a multi-disk run: saved, switched and copied with the first. */
  more?: MoreDisk[];
}

/**
 * The cold path, with Nova's guarantee and less downtime. A domain that runs is saved
 * (managedsave: stopped, memory kept), its disk gets a fresh overlay that the saved state and the
 * definition are switched to, and it starts again at once, on the overlay. The disk, read-only
 * under the overlay, is then converted while the domain runs, and the overlay is merged back
 * (live block commit, pivot). Downtime no longer grows with the disk. A domain that was off is
 * simply converted. On any failure the overlay is merged back and the domain started again.
 * Returns the downtime in milliseconds (0 for a domain that was already off) and the merge, when
 * the caller runs it beside the store step. Several disks are switched to their overlays together,
 * while the domain is down once, and copied side by side.
 */
export async function coldSnapshot(acts: HostActivityProfiles, saga: Saga, track: StepTracker, input: ColdSnapshotInput): Promise<PathOutcome & { downtimeMs: number }> {
  const { request, facts, stagingPath, tag } = input;
  const { domain } = request;
  const disk = facts.disk.target;
  const source = facts.disk.sourceFile ?? '';
  const more = input.more ?? [];
  const wasRunning = facts.state === 'running' || facts.state === 'paused';
  const convert = () => convertDisks(acts, track, request, { disk: facts.disk, stagingPath, manifest: input.manifest }, more);
  if (!wasRunning) return { downtimeMs: 0, ...(await convert()) };

  const restart = saga.register('start the domain again', () => acts.undo.startDomain({ domain }));
  const down = Date.now();
  await track.run('managedsave', () => acts.quick.managedSave({ domain }));
  const also = more.map((m) => ({ disk: m.disk.target, source: m.disk.sourceFile ?? '', format: m.disk.format }));
  const merge = overlayMergeBack(acts, saga, track, { domain, disk, source, tag }, also.map((a) => ({ domain, tag, disk: a.disk, source: a.source })), 'one after another');
  await track.run('switch to overlay', () => acts.quick.switchToOverlay({ domain, disk, source, format: facts.disk.format, tag, ...(also.length ? { also } : {}) }));
  await track.run('start', () => acts.quick.startDomain({ domain }));
  saga.settle(restart);
  const downtimeMs = Date.now() - down;

  const copied = await convert();
  if (input.mergeBesideStore) return { downtimeMs, tail: merge, ...copied };
  await merge();
  return { downtimeMs, ...copied };
}
