import { cancellationSignal } from '@temporalio/activity';
import { permanentFailure } from '../common/failures.js';
import type { HostContext } from './host-context.js';
import { progressReporter } from './progress.js';
import { convertWithProgress } from './qemu-img.js';
import { ERRNO, parseRbdProgress, qemuRbdSpec } from './rbd-cli.js';
import { RbdClient } from './rbd-client.js';
import { streamSnapshotCopy } from './rbd-stream-copy.js';
import type { RbdRef } from './rbd-client.js';
import type { ClonePool, ImageDigest, NewImage, StoredImage } from './stores/image-store.js';
import { madeBy, META_WORKFLOW, STORE_SNAP } from './stores/rbd-store.js';
import { storeOf } from './store.js';

export interface SourceSnap {
  domain: string;
  pool: string;
  image: string;
  snap: string;
  /** Only a clone needs its parent snapshot protected; a copy or a convert reads it as it is. @default true */
  protect?: boolean;
}

const hostClients = new WeakMap<HostContext, RbdClient>();

/** The Ceph cluster this host's domains live on (one client per worker), or a clear error when the worker has none. */
export function hostCeph(ctx: HostContext): RbdClient {
  if (!ctx.ceph) throw permanentFailure('UnsupportedDisk', `host ${ctx.host} has an RBD disk but its worker has no Ceph configured: set "ceph": {"conf": …} in the worker config`);
  let client = hostClients.get(ctx);
  if (!client) hostClients.set(ctx, (client = new RbdClient(ctx.run, ctx.ceph, ctx.host)));
  return client;
}

function clonePoolOf(ctx: HostContext, name: string): ClonePool {
  const s = storeOf(ctx, name);
  if (!s.clonePool) throw permanentFailure('StoreNotFound', `store ${name} on host ${ctx.host} is a ${s.kind} store without an RBD pool: it cannot take a clone`);
  return s.clonePool;
}

/**
 * An image without vmsnap's mark that an earlier attempt of this run created and then died before
 * marking: no parent, no snapshots, no mark, and created no earlier than this run's source snapshot
 * (the two timestamps come from the same rbd CLI, to the second).
 */
async function createdByThisRun(client: RbdClient, ref: RbdRef, sourceCluster: RbdClient, source: SourceSnap): Promise<boolean> {
  const info = await client.info(ref, 'copy');
  if (info.parent || info.snapshots > 0 || info.created === undefined) return false;
  if ((await client.getMeta(ref, META_WORKFLOW, 'copy')) !== null) return false;
  const snap = (await sourceCluster.snapshots(source, 'copy')).find((s) => s.name === source.snap);
  return snap?.taken !== undefined && info.created >= snap.taken;
}

/** The RBD path's steps (seed 001, Nova's direct snapshot). Each is idempotent. */
export function createRbdActivities(ctx: HostContext) {
  return {
    /** Snapshot + protect the domain's image: a point in time that clone or convert can read. */
    async rbdSnapSource({ domain, pool, image, snap, protect = true }: SourceSnap): Promise<void> {
      await hostCeph(ctx).snapCreate({ pool, image }, snap, 'snap source', { protect, context: { domain } });
    },

    /** Unprotect + remove the source snapshot (step and compensation alike). */
    async rbdRemoveSourceSnap({ domain, pool, image, snap, protect = true }: SourceSnap): Promise<void> {
      await hostCeph(ctx).snapRemove({ pool, image }, snap, 'remove source snap', { unprotect: protect, context: { domain } });
    },

    /**
     * Clones the source snapshot into the store's pool (under the name the store gives it: the image
     * name, or Glance's record ID), marked as this run's. Returns the clone.
     */
    async rbdClone({ source, store, manifest }: { source: SourceSnap; store: string; manifest: NewImage }): Promise<RbdRef> {
      const pool = clonePoolOf(ctx, store);
      const ref = await pool.target(manifest);
      const spec = `${source.pool}/${source.image}@${source.snap}`;
      const r = await pool.client.rbd(['clone', spec, `${ref.pool}/${ref.image}`], 'clone', { ok: [ERRNO.EEXIST], context: { domain: source.domain } });
      if (r.exitCode === ERRNO.EEXIST && !(await madeBy(pool.client, ref, manifest.workflowId, 'clone'))) {
        throw permanentFailure('ImageExists', `pool ${ref.pool} already holds an image ${ref.image} that this snapshot did not make: choose another name`);
      }
      await pool.client.setMeta(ref, META_WORKFLOW, manifest.workflowId, 'clone');
      return ref;
    },

    /**
     * The `stream` copy: a new image in the store's pool (under the name the store gives it, marked
     * as this run's), filled from the source snapshot through this worker and hashed on the way,
     * ending with its protected snapshot (the image's readable point, as Glance expects). Returns
     * the image and its digest.
     */
    async rbdStreamCopy({ source, store, manifest }: { source: SourceSnap; store: string; manifest: NewImage }): Promise<{ ref: RbdRef; digest: ImageDigest }> {
      const pool = clonePoolOf(ctx, store);
      const ref = await pool.target(manifest);
      const context = { domain: source.domain };
      const r = await pool.client.rbd(['create', '--size', `${manifest.virtualSizeBytes}B`, `${ref.pool}/${ref.image}`], 'copy', { ok: [ERRNO.EEXIST], context });
      if (r.exitCode === ERRNO.EEXIST && !(await madeBy(pool.client, ref, manifest.workflowId, 'copy')) && !(await createdByThisRun(pool.client, ref, hostCeph(ctx), source))) {
        throw permanentFailure('ImageExists', `pool ${ref.pool} already holds an image ${ref.image} that this snapshot did not make: choose another name`);
      }
      await pool.client.setMeta(ref, META_WORKFLOW, manifest.workflowId, 'copy');
      const report = progressReporter(ctx, 'copy');
      const size = manifest.virtualSizeBytes;
      const onBytes = (n: number) => report(n, Math.max(n, size));
      report(0, size);
      const protect = () => pool.client.rbd(['snap', 'protect', `${ref.pool}/${ref.image}@${STORE_SNAP}`], 'copy', { ok: [ERRNO.EBUSY], context });
      let digest: ImageDigest;
      if (r.exitCode === ERRNO.EEXIST && (await pool.client.snapshots(ref, 'copy')).some((s) => s.name === STORE_SNAP)) {
        // The importer takes that snapshot last: an earlier attempt copied everything and died
        // before it returned the digest, which one read of the source gives again.
        digest = await hostCeph(ctx).exportSha256(source, source.snap, 'copy', onBytes);
        await protect();
      } else {
        digest = await streamSnapshotCopy({
          from: hostCeph(ctx),
          source: { pool: source.pool, image: source.image, snap: source.snap },
          to: pool.client,
          dest: ref,
          snapName: STORE_SNAP,
          afterImport: protect,
          step: 'copy',
          context,
          onBytes,
          cancelSignal: cancellationSignal(),
        });
      }
      report(digest.size, digest.size);
      return { ref, digest };
    },

    /** Copies the parent's data into the clone so it stands alone; heartbeats rbd's progress. */
    async rbdFlatten({ store, ref, domain }: { store: string; ref: RbdRef; domain: string }): Promise<void> {
      const { client } = clonePoolOf(ctx, store);
      const { size } = await client.info(ref, 'flatten');
      const report = progressReporter(ctx, 'flatten');
      report(0, size);
      // EINVAL: the image has no parent any more, i.e. an earlier attempt finished the flatten.
      await client.rbd(['flatten', `${ref.pool}/${ref.image}`], 'flatten', {
        ok: [ERRNO.EINVAL],
        context: { domain },
        cancelSignal: cancellationSignal(),
        onStderr: (chunk) => {
          const f = parseRbdProgress(chunk);
          if (f !== null) report(Math.round(f * size), size);
        },
      });
      report(size, size);
    },

    /** Snapshot + protect the flattened clone: the image's readable point, as Glance expects. */
    async rbdSnapClone({ store, ref }: { store: string; ref: RbdRef }): Promise<void> {
      await clonePoolOf(ctx, store).client.snapCreateProtect(ref, STORE_SNAP, 'snap clone');
    },

    /**
     * Hashes the source snapshot: run beside the flatten, which copies exactly these bytes into the
     * clone, so the stored image's sha256 costs no second read of the clone afterwards.
     */
    async rbdHashSnapshot({ pool, image, snap }: SourceSnap): Promise<ImageDigest> {
      const ceph = hostCeph(ctx);
      const { size } = await ceph.info({ pool, image }, 'hash');
      const report = progressReporter(ctx, 'flatten');
      return ceph.exportSha256({ pool, image }, snap, 'hash', (n) => report(n, size));
    },

    /** Records the clone in the store (hashing it, unless the digest is known): the direct path's store step. */
    async rbdPublish({ store, ref, manifest, digest }: { store: string; ref: RbdRef; manifest: NewImage; digest?: ImageDigest }): Promise<StoredImage> {
      const report = progressReporter(ctx, 'store');
      return clonePoolOf(ctx, store).publish(ref, manifest, (n) => report(n, Math.max(n, manifest.virtualSizeBytes)), digest);
    },

    /** The fallback when the store cannot clone: read the source snapshot into the staging file. */
    async convertRbdSnapshot({ source, disk, dest, format, virtualSize }: { source: SourceSnap; disk: string; dest: string; format: 'qcow2' | 'raw'; virtualSize: number }): Promise<{ sizeBytes: number }> {
      const src = qemuRbdSpec(hostCeph(ctx).target, source.pool, source.image, source.snap);
      return convertWithProgress(ctx, { src, srcFormat: 'raw', virtualSize, dest, format, where: { domain: source.domain, disk } });
    },
  };
}
