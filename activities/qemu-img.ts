import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { cancellationSignal, log } from '@temporalio/activity';
import { describeContext } from './command.js';
import type { HostContext } from './host-context.js';
import { deltaPath, workDir } from './host-context.js';
import { progressReporter } from './progress.js';
import type { ImageInfo } from './qemu-img-output.js';
import { parseBackingChain, parseConvertProgress, parseImageInfo, parseImageMap } from './qemu-img-output.js';
import { streamImage } from './stream-image.js';
import type { StreamSource } from './stream-source.js';
import { streamSource } from './stream-source.js';
import type { ImageDigest, NewImage } from './stores/image-store.js';
import { convertIntoUpload } from './stream-upload.js';

export interface DeltaSpec {
  domain: string;
  disk: string;
  tag: string;
  virtualSize: number;
  /** The disk's backing file: the delta shares it, so the copy can be shallow. Absent for a flat disk. */
  backingFile?: string;
  backingFormat?: string;
}

export function qemuImg(ctx: HostContext) {
  return {
    async info(file: string, step: string, extra: { domain?: string; disk?: string } = {}): Promise<ImageInfo> {
      // -U: the domain's active image is write-locked by QEMU; reading its header is safe.
      const r = await ctx.run('qemu-img', ['info', '--output', 'json', '-U', file], { context: { host: ctx.host, step, ...extra } });
      return parseImageInfo(r.stdout);
    },
  };
}

export interface ConvertJob {
  /** The store the image is for (its staging file is `dest`); absent in runs recorded before it was passed. */
  store?: string;
  src: string;
  srcFormat: string;
  virtualSize: number;
  dest: string;
  format: 'qcow2' | 'raw';
  where: { domain: string; disk: string };
  /** The image's manifest, for a store that takes an upload while the image is made; absent in older runs. */
  manifest?: NewImage;
}

/**
 * `qemu-img convert` of a source (a file chain or an `rbd:` spec) into a standalone image at
 * `dest`, heartbeating its progress. Idempotent: it always rewrites `dest` from the start.
 */
export async function convertWithProgress(ctx: HostContext, job: ConvertJob): Promise<{ sizeBytes: number }> {
  const { src, srcFormat, virtualSize, dest, format, where } = job;
  const report = progressReporter(ctx, 'convert');
  await rm(dest, { force: true });
  await mkdir(path.dirname(dest), { recursive: true });
  report(0, virtualSize);
  // -W (out-of-order writes): the target is a file of our own that nobody reads until it is done;
  // measured 0.7-1.5 s against 1.0-1.9 s without for 2 GiB of data into qcow2 on this lab's disk.
  await ctx.run('qemu-img', ['convert', '-p', '-W', '-f', srcFormat, '-O', format, src, dest], {
    context: { host: ctx.host, step: 'convert', ...where },
    cancelSignal: cancellationSignal(),
    onStdout: (chunk) => {
      const f = parseConvertProgress(chunk);
      if (f !== null) report(Math.round(f * virtualSize), virtualSize);
    },
  });
  report(virtualSize, virtualSize);
  return { sizeBytes: (await stat(dest)).size };
}

/** Where each guest byte of a local raw/qcow2 chain lies, or why it cannot be read in place. */
async function mapChain(ctx: HostContext, job: ConvertJob): Promise<StreamSource | { unsupported: string }> {
  if (!path.isAbsolute(job.src)) return { unsupported: `${job.src} is not a local file` };
  const context = { host: ctx.host, step: 'convert', ...job.where };
  // -U: the chain is read-only under an overlay (or the domain is off), but QEMU may still hold it open.
  const [info, map] = await Promise.all([
    ctx.run('qemu-img', ['info', '--backing-chain', '--output', 'json', '-U', '-f', job.srcFormat, job.src], { context }),
    ctx.run('qemu-img', ['map', '--output', 'json', '-U', '-f', job.srcFormat, job.src], { context }),
  ]);
  return streamSource(parseBackingChain(info.stdout), parseImageMap(map.stdout));
}

/**
 * The convert of a snapshot, which also yields the image's digest: a local raw/qcow2 chain is
 * streamed into the image front to back and hashed on the way (one pass, no second read); any other
 * source is converted by qemu-img and hashed later by the store. Idempotent like the convert.
 */
export async function convertAndHash(ctx: HostContext, job: ConvertJob): Promise<{ sizeBytes: number; digest?: ImageDigest }> {
  const store = job.store === undefined ? undefined : ctx.stores.get(job.store);
  const upload = job.manifest ? store?.upload : undefined;
  // Glance's record calls run while qemu-img maps the chain.
  const [source, ready] = await Promise.all([mapChain(ctx, job), job.manifest ? upload?.prepare(job.manifest) : undefined]);
  if ('unsupported' in source) {
    log.info('converting with qemu-img: the chain cannot be read in place', { reason: source.unsupported, ...job.where });
    return convertWithProgress(ctx, job);
  }
  const report = progressReporter(ctx, 'convert');
  report(0, job.virtualSize);
  const where = describeContext({ host: ctx.host, step: 'convert', ...job.where });
  const opts = { where, signal: cancellationSignal(), onBytes: (n: number) => report(n, job.virtualSize) };
  let digest: ImageDigest;
  if (upload && ready && job.manifest) {
    digest = await convertIntoUpload(upload, ready, source, { format: job.format, manifest: job.manifest }, opts);
  } else {
    await rm(job.dest, { force: true });
    await mkdir(path.dirname(job.dest), { recursive: true });
    // A store that names the staged file itself fsyncs it first: flushing while writing overlaps that.
    digest = await streamImage(source, job.dest, job.format, { ...opts, flush: store?.publishesStagedFile !== false });
  }
  report(job.virtualSize, job.virtualSize);
  return { sizeBytes: digest.size, digest };
}

export function createQemuImgActivities(ctx: HostContext) {
  const img = qemuImg(ctx);

  async function convert(job: Omit<ConvertJob, 'srcFormat' | 'virtualSize'>) {
    const { virtualSize, format: srcFormat } = await img.info(job.src, 'convert', job.where);
    return convertAndHash(ctx, { ...job, srcFormat, virtualSize });
  }

  return {
    /** Creates the empty delta a live copy mirrors into. Idempotent: a retry replaces its own leftover. */
    async createDelta(spec: DeltaSpec): Promise<{ path: string }> {
      const file = deltaPath(ctx, spec.tag, spec.disk);
      await mkdir(workDir(ctx, spec.tag), { recursive: true, mode: 0o700 });
      await rm(file, { force: true });
      const args = ['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=65536'];
      if (spec.backingFile) args.push('-b', spec.backingFile, '-F', spec.backingFormat ?? 'qcow2');
      args.push(file, String(spec.virtualSize));
      await ctx.run('qemu-img', args, { context: { host: ctx.host, step: 'create delta', domain: spec.domain, disk: spec.disk } });
      return { path: file };
    },

    /**
     * Converts the delta and its backing chain into one standalone image at the store's staging
     * path (or, for a store that takes uploads, straight into it), heartbeating progress.
     * Idempotent: it always rewrites the staging file from the start.
     */
    async convertDelta(job: { domain: string; disk: string; tag: string; dest: string; format: 'qcow2' | 'raw'; store?: string; manifest?: NewImage }): Promise<{ sizeBytes: number; digest?: ImageDigest }> {
      const { domain, disk, tag, dest, format, store, manifest } = job;
      return convert({ src: deltaPath(ctx, tag, disk), dest, format, where: { domain, disk }, store, manifest });
    },

    /**
     * Converts a frozen disk (its whole chain) into a standalone image at the staging path, or
     * straight into a store that takes uploads.
     * The source is the disk the host reported in preflight; QEMU must not hold it (cold path).
     */
    async convertDisk(job: { domain: string; disk: string; source: string; dest: string; format: 'qcow2' | 'raw'; store?: string; srcFormat?: string; virtualSize?: number; manifest?: NewImage }): Promise<{ sizeBytes: number; digest?: ImageDigest }> {
      const { domain, disk, source, dest, format, store, srcFormat, virtualSize, manifest } = job;
      const base = { src: source, dest, format, where: { domain, disk }, store, manifest };
      // What inspect already read of the disk spares a qemu-img start.
      if (srcFormat && virtualSize) return convertAndHash(ctx, { ...base, srcFormat, virtualSize });
      return convert(base);
    },

    /** Removes everything a run left in its work folder on this host. Idempotent. */
    async removeWorkDir({ tag }: { tag: string }): Promise<void> {
      await rm(workDir(ctx, tag), { recursive: true, force: true });
    },
  };
}
