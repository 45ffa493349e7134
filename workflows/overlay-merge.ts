import type { ImageDigest } from '../activities/stores/image-store.js';
import { overlayPath } from '../common/names.js';
import type { HostActivityProfiles } from './host-activities.js';
import type { Saga } from './saga.js';
import { sideBySide } from './side-by-side.js';
import type { StepTracker } from './step-tracker.js';

/** What is left of a path once the image is written, run beside the store step. */
export type PathTail = () => Promise<void>;

/** What a path hands the store step: its tail, and the image's digest when the convert took it. */
export interface PathOutcome {
  tail?: PathTail;
  digest?: ImageDigest;
  /** The other disks' digests, in the order of the run's other disks (a multi-disk run). */
  moreDigests?: (ImageDigest | undefined)[];
}

/** A disk under one of the run's overlays. */
export interface MergeTarget {
  domain: string;
  disk: string;
  source: string;
  tag: string;
}

/**
 * The merge-back of a run's overlay on a disk (the live overlay strategy and the cold path), and
 * on each of `more` (the other disks of a multi-disk run): registers the compensations now, before
 * the step that creates the overlays, and returns the `merge overlay` step (the disks side by
 * side), which settles them once it has run.
 */
export function overlayMergeBack(acts: HostActivityProfiles, saga: Saga, track: StepTracker, target: MergeTarget, more: MergeTarget[] = [], order: MergeOrder = 'side by side'): PathTail {
  const withOverlay = (t: MergeTarget) => ({ ...t, overlay: overlayPath(t.source, t.tag) });
  const head = withOverlay(target);
  const others = more.map(withOverlay);
  const all = [head, ...others];
  const compensations = all.map((args, i) => saga.register(i === 0 ? 'merge the overlay back' : `merge the overlay of ${args.disk} back`, () => acts.undo.mergeOverlay(args)));
  const mergeAll = async () => {
    if (order === 'side by side') return sideBySide(() => acts.long.mergeOverlay(head), ...others.map((args) => () => acts.long.mergeOverlay(args)));
    const merged = [];
    for (const args of all) merged.push(await acts.long.mergeOverlay(args));
    return merged;
  };
  return async () => {
    await track.run('merge overlay', mergeAll);
    for (const c of compensations) saga.settle(c);
  };
}

/**
 * How the disks' merges run. A merge may point the domain's definition back at the disk, read and
 * rewritten whole: where the definition names the overlays (the cold path), two merges at once
 * would each write back the other's disk still on its overlay, so they run one after another.
 */
export type MergeOrder = 'side by side' | 'one after another';
