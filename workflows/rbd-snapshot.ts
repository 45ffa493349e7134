import { patched } from '@temporalio/workflow';
import type { DiskFacts, DomainFacts } from '../activities/index.js';
import type { SourceSnap } from '../activities/rbd.js';
import type { RbdRef } from '../activities/rbd-client.js';
import type { ImageDigest, NewImage } from '../activities/stores/image-store.js';
import type { SnapshotRequest } from '../common/request.js';
import type { MoreDisk } from './disk-converts.js';
import type { HostActivityProfiles } from './host-activities.js';
import type { SnapshotPlan } from './plan.js';
import type { PathTail } from './overlay-merge.js';
import type { Compensation, Saga } from './saga.js';
import { sideBySide } from './side-by-side.js';
import type { StepTracker } from './step-tracker.js';

const RBD_DROPS_AFTER_CLONES = 'rbd-source-snap-drops-after-clones';

export interface RbdSnapshotInput {
  request: SnapshotRequest;
  facts: DomainFacts;
  plan: SnapshotPlan;
  tag: string;
  /** What the stored image's record says: a Glance-backed pool creates the record before the clone. */
  manifest: NewImage;
  stagingPath: string;
  /** The other disks of a multi-disk run, all on RBD: snapshot at the same instant, copied beside the first. */
  more?: MoreDisk[];
  /** The compensation that deletes the stored images (a clone among them): source snapshots are removed after it. */
  storedImages?: Compensation;
}

/** A copy made inside the store's pool, and its digest: what the store step records. */
export interface DirectCopy {
  clone: RbdRef;
  digest: ImageDigest;
}

export interface RbdOutcome {
  direct?: DirectCopy;
  /** The other disks' copies, in the order of the run's other disks. */
  moreDirect?: DirectCopy[];
  tail?: PathTail;
  /** How long the guest stood still: the pause that snapshots several disks at one instant. */
  downtimeMs?: number;
}

/** One disk of the run on this path: its source snapshot, and where its copy goes. */
interface RbdDisk {
  facts: DiskFacts;
  source: SourceSnap;
  manifest: NewImage;
  stagingPath: string;
}

/**
 * The RBD path (seed 001, Nova's direct snapshot since Mitaka): snap + protect the domain's image →
 * copy into the store's pool → snap + protect the copy → unprotect + remove the source snap. The
 * copy is either a stream through the worker (`rbd export-diff | rbd import-diff`, hashed on the
 * way) or Nova's clone + flatten inside the cluster, beside a read of the snapshot for its hash.
 * When the store cannot clone (another cluster, a file or Glance store), the snapshot is
 * converted into the staging file instead, as Nova falls back to. The domain runs throughout: RBD
 * snapshots are taken live. Several disks are snapshot during one short pause of the domain (one
 * instant for all), then each step runs for every disk side by side.
 */
export async function rbdSnapshot(acts: HostActivityProfiles, saga: Saga, track: StepTracker, input: RbdSnapshotInput): Promise<RbdOutcome> {
  const { request, facts, plan, tag } = input;
  const { domain } = request;
  // Only a clone needs its parent protected: the stream copy and the convert spare the two commands.
  const protect = plan.rbdDirect && plan.rbdCopy === 'clone';
  const diskOf = (d: DiskFacts, manifest: NewImage, stagingPath: string): RbdDisk => {
    if (!d.rbd) throw new Error(`the RBD path needs RBD disks, and ${d.target} is not`); // planSnapshot guarantees it
    return { facts: d, source: { domain, pool: d.rbd.pool, image: d.rbd.image, snap: tag, ...(protect ? {} : { protect }) }, manifest, stagingPath };
  };
  const first = diskOf(facts.disk, input.manifest, input.stagingPath);
  const others = (input.more ?? []).map((m) => diskOf(m.disk, m.manifest, m.stagingPath));
  const all = [first, ...others];
  /** A step's work for every disk, side by side (one disk: just its call). */
  const each = <T>(fn: (d: RbdDisk, i: number) => Promise<T>) => sideBySide(() => fn(first, 0), ...others.map((d, i) => () => fn(d, i + 1)));

  // A snapshot that a clone still stands on cannot be unprotected: while the clone exists, its drop
  // would fail until its retries ran out. The drops unwind after the stored images (the clones) go.
  // Runs recorded before replay with their own order.
  const dropsLast = protect && input.storedImages !== undefined && patched(RBD_DROPS_AFTER_CLONES);
  const drops = all.map((d, i) => {
    const name = i === 0 ? 'remove the source snapshot' : `remove the source snapshot of ${d.facts.target}`;
    const undo = () => acts.undo.rbdRemoveSourceSnap(d.source);
    return dropsLast && input.storedImages ? saga.registerBefore(input.storedImages, name, undo) : saga.register(name, undo);
  });
  const removeSourceSnaps = async () => {
    await track.run('remove source snap', () => each((d) => acts.quick.rbdRemoveSourceSnap(d.source)));
    for (const c of drops) saga.settle(c);
  };

  let downtimeMs: number | undefined;
  if (!others.length) {
    await track.run('snap source', () => acts.quick.rbdSnapSource(first.source));
  } else {
    // A domain that runs is paused for the snapshots, so they all hold the same instant.
    const pause = facts.state === 'running';
    const resume = pause ? saga.register('resume the domain', () => acts.undo.resumeIfPaused({ domain, tag })) : undefined;
    ({ pausedMs: downtimeMs } = await track.run('snap source', () => acts.quick.rbdSnapSources({ domain, tag, sources: all.map((d) => d.source), pause })));
    if (resume) saga.settle(resume);
  }
  const timed = downtimeMs === undefined ? {} : { downtimeMs };
  const split = (copies: DirectCopy[]): Pick<RbdOutcome, 'direct' | 'moreDirect'> => {
    const [direct, ...rest] = copies;
    return { direct, ...(rest.length ? { moreDirect: rest } : {}) };
  };

  if (plan.rbdDirect && plan.rbdCopy === 'stream') {
    // The compensation that deletes the stored image (registered by the caller) also removes the copy.
    // The copy ends with the image's protected snapshot; the source snapshot goes while the store
    // step records the image.
    const copies = await track.run('copy', () => each((d) => acts.long.rbdStreamCopy({ source: d.source, store: request.store, manifest: d.manifest })));
    return { ...split(copies.map((c) => ({ clone: c.ref, digest: c.digest }))), tail: removeSourceSnaps, ...timed };
  }
  if (plan.rbdDirect) {
    // The compensation that deletes the stored image (registered by the caller) also removes the clone.
    const refs = await track.run('clone', () => each((d) => acts.quick.rbdClone({ source: d.source, store: request.store, manifest: d.manifest })));
    // The two cores split the work: Ceph copies the data into the clone while the source snapshot,
    // the same bytes, is hashed. (Side by side: one that fails stops the other before the unwind.)
    const digests = await track.run('flatten', () =>
      each(async (d, i) => {
        const flatten = async () => void (await acts.long.rbdFlatten({ store: request.store, ref: refs[i]!, domain }));
        const [, digest] = await sideBySide<ImageDigest | undefined>(flatten, () => acts.long.rbdHashSnapshot(d.source));
        return digest!;
      }),
    );
    await track.run('snap clone', () => each((_, i) => acts.quick.rbdSnapClone({ store: request.store, ref: refs[i]! })));
    await removeSourceSnaps();
    return { ...split(refs.map((clone, i) => ({ clone, digest: digests[i]! }))), ...timed };
  }
  await track.run('convert', () =>
    each((d) => acts.long.convertRbdSnapshot({ source: d.source, disk: d.facts.target, dest: d.stagingPath, format: plan.format, virtualSize: d.facts.virtualSize })),
  );
  await removeSourceSnaps();
  return timed;
}
