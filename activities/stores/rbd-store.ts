import { rm } from 'node:fs/promises';
import path from 'node:path';
import { artifactTag } from '../../common/names.js';
import type { RbdClient, RbdRef } from '../rbd-client.js';
import type { ImageManifest } from '../../common/manifest.js';
import { hashFile } from './hash-file.js';
import type { ImageFilter } from './image-query.js';
import { matchesFilter } from './image-query.js';
import type { ClonePool, ImageDigest, ImageStore, NewImage, StoredImage } from './image-store.js';

/** Image-meta keys vmsnap keeps on every image it makes in a pool. */
export const META_WORKFLOW = 'vmsnap.workflow_id';
export const META_MANIFEST = 'vmsnap.manifest';
/** The protected snapshot every stored image carries (Nova's direct snapshot names it `snap`). */
export const STORE_SNAP = 'snap';

/** Whether a pool image is this workflow's: by its metadata, or (a clone that crashed before its
 * metadata was written) by its parent being this run's snapshot. */
export async function madeBy(client: RbdClient, ref: RbdRef, workflowId: string, step: string): Promise<boolean> {
  if (!(await client.exists(ref, step))) return false;
  const owner = await client.getMeta(ref, META_WORKFLOW, step);
  if (owner !== null) return owner === workflowId;
  return (await client.info(ref, step)).parent?.snapshot === artifactTag(workflowId);
}

/** The location Nova and Glance give an image in a pool. */
export async function rbdLocation(client: RbdClient, ref: RbdRef): Promise<string> {
  return `rbd://${await client.fsid()}/${ref.pool}/${ref.image}/${STORE_SNAP}`;
}

/**
 * An RBD pool of images. A domain on RBD in the same cluster lands here by clone + flatten, with
 * no byte leaving Ceph; any other source is imported from the staged file. Each image carries a
 * protected snapshot `snap`, and its manifest in image-meta.
 */
export class RbdStore implements ImageStore, ClonePool {
  readonly kind = 'rbd' as const;
  readonly publishesStagedFile = false;
  readonly clonePool: ClonePool = this;

  constructor(
    readonly name: string,
    readonly pool: string,
    readonly client: RbdClient,
    private readonly stagingDir: string,
  ) {}

  ref(imageName: string): RbdRef {
    return { pool: this.pool, image: imageName };
  }

  async check(): Promise<void> {
    await this.client.rbd(['ls', this.pool], 'check store');
  }

  ownerOf(imageName: string): Promise<string | null> {
    return this.client.getMeta(this.ref(imageName), META_WORKFLOW, 'check store');
  }

  stagingPath(tag: string): string {
    return path.join(this.stagingDir, `${tag}.staging`);
  }

  target(image: NewImage): Promise<RbdRef> {
    return Promise.resolve(this.ref(image.name));
  }

  /** Imports a staged file (sources that are not on this cluster), then publishes it. */
  async commit(tag: string, image: NewImage, onBytes?: (n: number) => void): Promise<StoredImage> {
    const ref = this.ref(image.name);
    if ((await this.ownerOf(image.name)) !== image.workflowId) {
      await this.client.removeImage(ref, 'store'); // a half-import of this same run
      await this.client.rbd(['import', '--no-progress', this.stagingPath(tag), `${ref.pool}/${ref.image}`], 'store');
      await this.client.setMeta(ref, META_WORKFLOW, image.workflowId, 'store');
    }
    await this.client.snapCreateProtect(ref, STORE_SNAP, 'store');
    return this.publish(ref, image, onBytes);
  }

  /** Hashes the image's snapshot as Ceph serves it and records the manifest on the image. */
  async publish(ref: RbdRef, image: NewImage, onBytes?: (n: number) => void, digest?: ImageDigest): Promise<StoredImage> {
    const { sha256, size } = digest ?? (await this.client.exportSha256(ref, STORE_SNAP, 'store', onBytes));
    const manifest = { ...image, sha256, sizeBytes: size };
    await this.client.setMeta(ref, META_MANIFEST, JSON.stringify(manifest), 'store');
    return { ...manifest, location: await rbdLocation(this.client, ref) };
  }

  async remove(imageName: string, _format: string, workflowId: string): Promise<boolean> {
    const ref = this.ref(imageName);
    if (!(await madeBy(this.client, ref, workflowId, 'delete stored image'))) return false;
    await this.client.removeImage(ref, 'delete stored image');
    return true;
  }

  /** Clones in the pool marked by a finished run but never published (no manifest). */
  async reconcile(_host: string, isRunning: (workflowId: string) => Promise<boolean>): Promise<string[]> {
    const removed: string[] = [];
    const names = (await this.client.rbd(['ls', this.pool], 'reconcile')).stdout.split('\n').filter(Boolean);
    for (const image of names) {
      const ref = this.ref(image);
      const owner = await this.client.getMeta(ref, META_WORKFLOW, 'reconcile');
      if (!owner || (await this.client.getMeta(ref, META_MANIFEST, 'reconcile')) !== null || (await isRunning(owner))) continue;
      await this.client.removeImage(ref, 'reconcile');
      removed.push(`${owner}: removed the unfinished clone ${ref.pool}/${ref.image} from store ${this.name}`);
    }
    return removed;
  }

  async removeStaging(tag: string): Promise<void> {
    await rm(this.stagingPath(tag), { force: true });
  }

  /** Pool images that carry a vmsnap manifest (published ones). */
  async list(filter?: ImageFilter): Promise<StoredImage[]> {
    const names = (await this.client.rbd(['ls', this.pool], 'list images')).stdout.split('\n').filter(Boolean);
    const images: StoredImage[] = [];
    for (const image of names) {
      const ref = this.ref(image);
      const raw = await this.client.getMeta(ref, META_MANIFEST, 'list images');
      if (raw === null) continue;
      const stored = { ...(JSON.parse(raw) as ImageManifest), location: await rbdLocation(this.client, ref) };
      if (matchesFilter(stored, filter)) images.push(stored);
    }
    return images;
  }

  async delete(image: StoredImage): Promise<void> {
    await this.client.removeImage(this.ref(image.name), 'delete image');
  }

  /** Exports the image's protected snapshot to a local file, then hashes it. */
  async fetch(image: StoredImage, dest: string, onBytes?: (n: number) => void): Promise<ImageDigest & { path: string }> {
    await rm(dest, { force: true });
    await this.client.rbd(['export', '--no-progress', `${this.pool}/${image.name}@${STORE_SNAP}`, dest], 'fetch image');
    return { path: dest, ...(await hashFile(dest, onBytes)) };
  }
}
