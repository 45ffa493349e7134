import type { ImageDigest } from '../activities/stores/image-store.js';
import { overlayPath } from '../common/names.js';
import type { HostActivityProfiles } from './host-activities.js';
import type { Saga } from './saga.js';
import type { StepTracker } from './step-tracker.js';

/** What is left of a path once the image is written, run beside the store step. */
export type PathTail = () => Promise<void>;

/** What a path hands the store step: its tail, and the image's digest when the convert took it. */
export interface PathOutcome {
  tail?: PathTail;
  digest?: ImageDigest;
}

/**
 * The merge-back of a run's overlay on a disk (the live overlay strategy and the cold path):
 * registers its compensation now, before the step that creates the overlay, and returns the
 * `merge overlay` step, which settles that compensation once it has run.
 */
export function overlayMergeBack(
  acts: HostActivityProfiles,
  saga: Saga,
  track: StepTracker,
  target: { domain: string; disk: string; source: string; tag: string },
): PathTail {
  const args = { ...target, overlay: overlayPath(target.source, target.tag) };
  const compensation = saga.register('merge the overlay back', () => acts.undo.mergeOverlay(args));
  return async () => {
    await track.run('merge overlay', () => acts.long.mergeOverlay(args));
    saga.settle(compensation);
  };
}
