import type { DiskFacts } from '../activities/index.js';
import type { NewImage } from '../activities/stores/image-store.js';
import type { SnapshotRequest } from '../common/request.js';
import type { HostActivityProfiles } from './host-activities.js';
import type { PathOutcome } from './overlay-merge.js';
import { sideBySide } from './side-by-side.js';
import type { StepTracker } from './step-tracker.js';

/** One more disk of a multi-disk run: its facts, where its image is written, and its manifest. */
export interface MoreDisk {
  disk: DiskFacts;
  stagingPath: string;
  manifest: NewImage;
}

/** The run's first disk: what the convert step writes for it. */
export interface FirstDisk {
  disk: DiskFacts;
  stagingPath: string;
  manifest?: NewImage;
}

/**
 * The `convert` step of the paths that read a disk that no longer changes (under an overlay, or
 * of a domain that is off): each disk's chain is read in place and written into its staging file
 * (or straight into an upload). Independent disks are copied side by side, as many at once as
 * the host's heavy-step limit lets.
 */
export async function convertDisks(acts: HostActivityProfiles, track: StepTracker, request: SnapshotRequest, first: FirstDisk, more: MoreDisk[] = []): Promise<Pick<PathOutcome, 'digest' | 'moreDigests'>> {
  const convert = ({ disk, stagingPath, manifest }: FirstDisk) =>
    acts.long.convertDisk({
      domain: request.domain,
      disk: disk.target,
      source: disk.sourceFile ?? '',
      dest: stagingPath,
      format: request.format,
      store: request.store,
      srcFormat: disk.format,
      virtualSize: disk.virtualSize,
      manifest,
    });
  if (!more.length) {
    const { digest } = await track.run('convert', () => convert(first));
    return { digest };
  }
  const [head, ...rest] = await track.run('convert', () => sideBySide(() => convert(first), ...more.map((d) => () => convert(d))));
  return { digest: head.digest, moreDigests: rest.map((r) => r.digest) };
}
