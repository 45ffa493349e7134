import { PassThrough } from 'node:stream';
import { handled } from './handled-promise.js';
import type { StreamSource } from './stream-source.js';
import type { StreamOptions } from './stream-image.js';
import { imageSize, StreamClosedError, streamImageTo } from './stream-image.js';
import type { ImageDigest, NewImage, StreamUpload } from './stores/image-store.js';

/** Bytes the upload may lag behind the writer: two pieces, so reading never waits on a socket turn. */
const IN_FLIGHT = 16 << 20;

/**
 * The convert step for a store that takes uploads: the chain's image is made and sent in one pass,
 * hashed on the way, with no staged file (against a convert, then an upload that reads it back).
 * Idempotent: an image an earlier attempt stored and sealed is taken as it is; a half-sent one is
 * replaced by `prepare`. `ready` is what `upload.prepare` gave (asked beside mapping the chain).
 */
export async function convertIntoUpload(
  upload: StreamUpload,
  ready: Awaited<ReturnType<StreamUpload['prepare']>>,
  source: StreamSource,
  job: { format: 'qcow2' | 'raw'; manifest: NewImage },
  opts: StreamOptions,
): Promise<ImageDigest> {
  if ('stored' in ready) return { sha256: ready.stored.sha256, size: ready.stored.sizeBytes };
  const body = new PassThrough({ highWaterMark: IN_FLIGHT });
  const sending = handled(upload.send(ready.target, imageSize(source, job.format), body));
  let digest: ImageDigest;
  try {
    digest = await streamImageTo(source, job.format, body, opts);
  } catch (e) {
    // The store closed the stream: its own failure (what Glance answered) says more than ours.
    if (e instanceof StreamClosedError) await sending;
    body.destroy(e as Error);
    await sending.catch(() => undefined);
    throw e;
  }
  await upload.seal(ready.target, job.manifest, digest, await sending);
  return digest;
}
