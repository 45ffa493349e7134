import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline, Transform } from 'node:stream';
import { permanentFailure, transientFailure } from '../../common/failures.js';
import type { GlanceClient, GlanceImage } from './glance-client.js';
import { GlanceHashing } from './glance-hash.js';
import { hashInSlices } from '../hash-slices.js';
import type { RbdClient, RbdRef } from '../rbd-client.js';
import type { ImageFilter } from './image-query.js';
import { matchesFilter } from './image-query.js';
import type { ClonePool, ImageDigest, ImageStore, NewImage, SentDigests, StoredImage, StreamUpload } from './image-store.js';
import { madeBy, META_WORKFLOW, rbdLocation, STORE_SNAP } from './rbd-store.js';

const WORKFLOW_PROP = 'vmsnap_workflow_id';
/** Glance's own fields of a record: everything else on it is a property. */
const GLANCE_FIELDS = new Set(['id', 'name', 'status', 'size', 'virtual_size', 'checksum', 'os_hash_algo', 'os_hash_value', 'container_format', 'disk_format', 'visibility', 'protected', 'owner', 'min_ram', 'min_disk', 'created_at', 'updated_at', 'tags', 'self', 'file', 'schema', 'locations', 'direct_url', 'os_hidden', 'stores']);
/** Statuses of a record that an upload can still go into. */
const REUSABLE = new Set(['queued']);

/**
 * Glance (OpenStack image API v2). A record is created as Nova creates snapshot records
 * (image_type snapshot, instance_uuid), the image is streamed up while it is hashed, and Glance's
 * own digest (sha512 unless its config says otherwise) must match ours. A record this run left in
 * `saving` (Glance died mid-upload) is deleted and replaced; a failed run's records are deleted.
 */
export class GlanceStore implements ImageStore {
  readonly kind = 'glance' as const;
  readonly publishesStagedFile = false;

  readonly clonePool?: ClonePool;
  private readonly hashing = new GlanceHashing();

  constructor(
    readonly name: string,
    readonly client: GlanceClient,
    private readonly stagingDir: string,
    /** The RBD pool Glance's own rbd backend keeps images in, on the host's cluster. */
    rbd?: { client: RbdClient; pool: string },
  ) {
    if (rbd) this.clonePool = new GlanceRbdPool(this, rbd.client, rbd.pool);
  }

  /** Glance must answer, and answer like Glance (a proxy's error page or another service does not). */
  async check(): Promise<void> {
    // The newest active record also tells which digest Glance takes of uploads now.
    const { body } = await this.client.call('GET', '/v2/images?limit=1&status=active&sort=created_at:desc');
    const images = (body as { images?: unknown } | undefined)?.images;
    if (!body || typeof body !== 'object' || !Array.isArray(images)) {
      throw new Error(`${this.client.url} does not answer like a Glance image API v2 (GET /v2/images gave no image list)`);
    }
    this.hashing.learn(images[0] as GlanceImage | undefined);
  }

  /** Glance allows many images of one name: a name is never "taken". */
  ownerOf(): Promise<string | null> {
    return Promise.resolve(null);
  }

  stagingPath(tag: string): string {
    return path.join(this.stagingDir, `${tag}.staging`);
  }

  /**
   * This run's record: the finished one, or one still waiting for data, or a new one. Records this
   * run left in any other state (saving after a Glance crash, killed) are deleted: replaced.
   */
  async recordFor(image: NewImage): Promise<GlanceImage> {
    let target: GlanceImage | undefined;
    // A run of several disks has a record per disk, each under its own name.
    for (const rec of (await this.client.findBy(WORKFLOW_PROP, image.workflowId)).filter((r) => r.name === image.name)) {
      if (!target && (rec.status === 'active' || REUSABLE.has(rec.status))) target = rec;
      else await this.client.remove(rec.id);
    }
    return (
      target ??
      this.client.create({
        name: image.name,
        disk_format: image.format,
        container_format: 'bare',
        visibility: 'private',
        image_type: 'snapshot',
        [WORKFLOW_PROP]: image.workflowId,
        vmsnap_source_host: image.source.host,
        vmsnap_source_domain: image.source.domain,
        vmsnap_source_disk: image.source.disk,
        vmsnap_mode: image.mode,
        vmsnap_created_at: image.createdAt,
        vmsnap_virtual_size: String(image.virtualSizeBytes),
        ...image.properties,
      })
    );
  }

  async commit(tag: string, image: NewImage, onBytes?: (n: number) => void, digest?: ImageDigest): Promise<StoredImage> {
    const ready = await this.prepare(image);
    if ('stored' in ready) return ready.stored;

    const file = this.stagingPath(tag);
    const { size } = await stat(file);
    // On two cores every digest Node takes competes with Glance's own: the sha256 is taken only
    // when the convert step did not take it while writing the file.
    const sha256 = digest?.size === size ? undefined : createHash('sha256');
    let done = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        onBytes?.(done);
        if (!sha256) return cb(null, chunk);
        // In slices, as the upload's own digest: a 4 MiB piece hashed at once lets the socket run dry.
        hashInSlices(sha256, chunk).then(() => cb(null, chunk), cb);
      },
    });
    pipeline(createReadStream(file, { highWaterMark: 4 << 20 }), tap, () => undefined);
    const sent = await this.send(ready.target, size, tap);
    return this.seal(ready.target, image, { sha256: sha256?.digest('hex') ?? digest?.sha256 ?? '', size }, sent);
  }

  /** The convert step streams into Glance as it makes the image: no staged file, no second read. */
  readonly upload: StreamUpload = this;

  async prepare(image: NewImage): Promise<{ stored: StoredImage } | { target: string }> {
    let rec = await this.recordFor(image);
    if (rec.status === 'active') {
      if (typeof rec.vmsnap_sha256 === 'string') return { stored: this.stored(rec, image) };
      // Glance holds bytes this run never checked (the step ended before it sealed them): start over.
      await this.client.remove(rec.id);
      rec = await this.recordFor(image);
    }
    return { target: rec.id };
  }

  /** Uploads while taking the digest Glance takes, unless it is the writer's sha256. */
  async send(target: string, size: number, body: Readable): Promise<SentDigests> {
    const beside = this.hashing.beside();
    let upload: Readable = body;
    if (beside) {
      const hashed = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hashInSlices(beside.hash, chunk).then(() => cb(null, chunk), cb);
        },
      });
      // Either end failing ends both: the image's writer stops, and Glance sees the upload cut short.
      pipeline(body, hashed, () => undefined);
      upload = hashed;
    }
    try {
      await this.client.upload(target, upload, size);
    } catch (e) {
      upload.destroy(e as Error);
      throw e;
    }
    return beside ? { [beside.algo]: beside.hash.digest('hex') } : {};
  }

  /** Checks Glance's digest and size of the upload against ours, then records our sha256: from now on it is a finished image. */
  async seal(target: string, image: NewImage, digest: ImageDigest, sent: SentDigests): Promise<StoredImage> {
    const after = await this.client.get(target);
    const bad = this.hashing.mismatch(after, digest, sent);
    if (bad) {
      await this.client.remove(target);
      const what = `Glance at ${this.client.url} did not store the bytes sent as image ${target}: ${bad.why}; record deleted`;
      throw bad.retry ? transientFailure('ChecksumMismatch', `${what}, upload will be retried`) : permanentFailure('StoreUnavailable', what);
    }
    await this.client.setProperties(target, { vmsnap_sha256: digest.sha256, vmsnap_image_id: image.imageId });
    return this.stored({ id: target, size: digest.size, vmsnap_sha256: digest.sha256 }, image);
  }

  async remove(imageName: string, _format: string, workflowId: string): Promise<boolean> {
    // Of a run of several disks, only the named image's record (an empty name: all of the run's).
    const records = (await this.client.findBy(WORKFLOW_PROP, workflowId)).filter((r) => !imageName || r.name === imageName);
    for (const rec of records) {
      await this.client.remove(rec.id);
      // A clone whose location was never added is not Glance's to delete: it is this run's.
      const pool = this.clonePool;
      if (pool && (await madeBy(pool.client, { pool: pool.pool, image: rec.id }, workflowId, 'delete stored image'))) {
        await pool.client.removeImage({ pool: pool.pool, image: rec.id }, 'delete stored image');
      }
    }
    return records.length > 0;
  }

  /** Records of this host's finished runs that never became active (queued, saving, killed). */
  async reconcile(host: string, isRunning: (workflowId: string) => Promise<boolean>): Promise<string[]> {
    const removed: string[] = [];
    for (const rec of await this.client.findBy('vmsnap_source_host', host)) {
      const owner = typeof rec[WORKFLOW_PROP] === 'string' ? rec[WORKFLOW_PROP] : '';
      if (!owner || rec.status === 'active' || (await isRunning(owner))) continue;
      await this.remove(rec.name, '', owner);
      removed.push(`${owner}: deleted the ${rec.status} Glance record ${rec.id} from store ${this.name}`);
    }
    return removed;
  }

  async removeStaging(tag: string): Promise<void> {
    await rm(this.stagingPath(tag), { force: true });
  }

  /** Active records vmsnap finished (they carry its sha256); the filter goes to Glance as far as it can. */
  async list(filter: ImageFilter = {}): Promise<StoredImage[]> {
    const query: Record<string, string> = { status: 'active', ...filter.properties };
    if (filter.host) query.vmsnap_source_host = filter.host;
    if (filter.domain) query.vmsnap_source_domain = filter.domain;
    return (await this.client.list(query))
      .filter((rec) => typeof rec.vmsnap_sha256 === 'string' && typeof rec[WORKFLOW_PROP] === 'string')
      .map((rec) => this.fromRecord(rec))
      .filter((image) => matchesFilter(image, filter));
  }

  async delete(image: StoredImage): Promise<void> {
    await this.remove(image.name, image.format, image.workflowId);
    await this.client.remove(image.imageId);
  }

  /** Downloads the data through Glance (whatever its backend), hashing it on the way. */
  async fetch(image: StoredImage, dest: string, onBytes?: (n: number) => void): Promise<ImageDigest & { path: string }> {
    const hash = createHash('sha256');
    let size = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        onBytes?.(size);
        cb(null, chunk);
      },
    });
    await pipelineAsync(await this.client.download(image.imageId), hashing, createWriteStream(dest));
    return { path: dest, sha256: hash.digest('hex'), size };
  }

  /** A Glance record as a stored image: the manifest is spread over its properties. */
  fromRecord(rec: GlanceImage): StoredImage {
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(rec)) if (!GLANCE_FIELDS.has(k) && !k.startsWith('vmsnap_') && typeof v === 'string') properties[k] = v;
    const prop = (k: string) => (typeof rec[k] === 'string' ? rec[k] : '');
    return {
      imageId: rec.id,
      name: rec.name,
      format: rec.disk_format === 'raw' ? 'raw' : 'qcow2',
      sizeBytes: rec.size ?? 0,
      virtualSizeBytes: Number(prop('vmsnap_virtual_size') || rec.virtual_size || 0),
      sha256: prop('vmsnap_sha256'),
      source: { host: prop('vmsnap_source_host'), domain: prop('vmsnap_source_domain'), disk: prop('vmsnap_source_disk') },
      mode: prop('vmsnap_mode'),
      workflowId: prop(WORKFLOW_PROP),
      createdAt: prop('vmsnap_created_at') || prop('created_at'),
      properties,
      location: `${this.client.url}/v2/images/${rec.id}`,
    };
  }

  stored(rec: { id: string; size: number | null; vmsnap_sha256?: unknown }, image: NewImage): StoredImage {
    return {
      ...image,
      imageId: rec.id,
      sha256: String(rec.vmsnap_sha256),
      sizeBytes: rec.size ?? 0,
      location: `${this.client.url}/v2/images/${rec.id}`,
    };
  }
}

/**
 * Glance backed by an RBD pool, fed as Nova's direct snapshot feeds it: the record is created first,
 * the domain's disk is cloned into the pool under the record's ID, and the clone's protected `snap`
 * is registered as the record's location (rbd://fsid/pool/id/snap). No byte goes through Glance.
 */
class GlanceRbdPool implements ClonePool {
  constructor(
    private readonly store: GlanceStore,
    readonly client: RbdClient,
    readonly pool: string,
  ) {}

  async target(image: NewImage): Promise<RbdRef> {
    const rec = await this.store.recordFor({ ...image, format: 'raw' });
    return { pool: this.pool, image: rec.id };
  }

  async publish(ref: RbdRef, image: NewImage, onBytes?: (n: number) => void, digest?: ImageDigest): Promise<StoredImage> {
    const glance = this.store.client;
    const { sha256, size } = digest ?? (await this.client.exportSha256(ref, STORE_SNAP, 'store', onBytes));
    await this.client.setMeta(ref, META_WORKFLOW, image.workflowId, 'store');
    const rec = await glance.get(ref.image);
    if (!rec) throw transientFailure('StoreUnavailable', `Glance at ${glance.url} lost record ${ref.image} before its location was added`);
    if (rec.status !== 'active') {
      const url = await rbdLocation(this.client, ref);
      await glance.call('PATCH', `/v2/images/${ref.image}`, { patch: [{ op: 'add', path: '/locations/-', value: { url, metadata: {} } }] });
    }
    await glance.setProperties(ref.image, { vmsnap_sha256: sha256, vmsnap_image_id: image.imageId });
    const after = await glance.get(ref.image);
    if (after?.status !== 'active' || after.size !== size) {
      throw transientFailure('ChecksumMismatch', `Glance at ${glance.url} shows record ${ref.image} as ${after?.status ?? 'missing'} with ${after?.size ?? '?'} bytes after adding its RBD location (expected active, ${size} bytes)`);
    }
    return { ...this.store.stored({ ...after, vmsnap_sha256: sha256 }, image), location: await rbdLocation(this.client, ref) };
  }
}
