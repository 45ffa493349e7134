import type { DomainFacts } from '../activities/index.js';
import type { RbdRef } from '../activities/rbd-client.js';
import type { ImageDigest, NewImage } from '../activities/stores/image-store.js';
import type { SnapshotRequest } from '../common/request.js';
import type { HostActivityProfiles } from './host-activities.js';
import type { SnapshotPlan } from './plan.js';
import type { PathTail } from './overlay-merge.js';
import type { Saga } from './saga.js';
import type { StepTracker } from './step-tracker.js';

export interface RbdSnapshotInput {
  request: SnapshotRequest;
  facts: DomainFacts;
  plan: SnapshotPlan;
  tag: string;
  /** What the stored image's record says: a Glance-backed pool creates the record before the clone. */
  manifest: NewImage;
  stagingPath: string;
}

/**
 * The RBD path (seed 001, Nova's direct snapshot since Mitaka): snap + protect the domain's image →
 * copy into the store's pool → snap + protect the copy → unprotect + remove the source snap. The
 * copy is either a stream through the worker (`rbd export-diff | rbd import-diff`, hashed on the
 * way) or Nova's clone + flatten inside the cluster, beside a read of the snapshot for its hash. When the store cannot clone (another cluster, a file or Glance store),
 * the snapshot is converted into the staging file instead, as Nova falls back to. The domain runs
 * throughout: RBD snapshots are taken live.
 */
export async function rbdSnapshot(
  acts: HostActivityProfiles,
  saga: Saga,
  track: StepTracker,
  input: RbdSnapshotInput,
): Promise<{ direct?: { clone: RbdRef; digest: ImageDigest }; tail?: PathTail }> {
  const { request, facts, plan, tag, manifest, stagingPath } = input;
  const rbd = facts.disk.rbd;
  if (!rbd) throw new Error('the RBD path needs an RBD disk'); // planSnapshot guarantees it
  // Only a clone needs its parent protected: the stream copy and the convert spare the two commands.
  const protect = plan.rbdDirect && plan.rbdCopy === 'clone';
  const source = { domain: request.domain, pool: rbd.pool, image: rbd.image, snap: tag, ...(protect ? {} : { protect }) };

  const dropSnap = saga.register('remove the source snapshot', () => acts.undo.rbdRemoveSourceSnap(source));
  await track.run('snap source', () => acts.quick.rbdSnapSource(source));

  let clone: RbdRef | undefined;
  let digest: ImageDigest | undefined;
  if (plan.rbdDirect && plan.rbdCopy === 'stream') {
    // The compensation that deletes the stored image (registered by the caller) also removes the copy.
    // The copy ends with the image's protected snapshot; the source snapshot goes while the store
    // step records the image.
    const copy = await track.run('copy', () => acts.long.rbdStreamCopy({ source, store: request.store, manifest }));
    const tail = async () => {
      await track.run('remove source snap', () => acts.quick.rbdRemoveSourceSnap(source));
      saga.settle(dropSnap);
    };
    return { direct: { clone: copy.ref, digest: copy.digest }, tail };
  }
  if (plan.rbdDirect) {
    // The compensation that deletes the stored image (registered by the caller) also removes the clone.
    const ref = await track.run('clone', () => acts.quick.rbdClone({ source, store: request.store, manifest }));
    clone = ref;
    // The two cores split the work: Ceph copies the data into the clone while the source snapshot,
    // the same bytes, is hashed.
    [, digest] = await track.run('flatten', () =>
      Promise.all([acts.long.rbdFlatten({ store: request.store, ref, domain: request.domain }), acts.long.rbdHashSnapshot(source)]),
    );
    await track.run('snap clone', () => acts.quick.rbdSnapClone({ store: request.store, ref }));
  } else {
    await track.run('convert', () =>
      acts.long.convertRbdSnapshot({ source, disk: facts.disk.target, dest: stagingPath, format: plan.format, virtualSize: facts.disk.virtualSize }),
    );
  }

  await track.run('remove source snap', () => acts.quick.rbdRemoveSourceSnap(source));
  saga.settle(dropSnap);
  return clone && digest ? { direct: { clone, digest } } : {};
}
