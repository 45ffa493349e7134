import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ImageDigest } from './image-store.js';

/** sha256 and size of a file, read once in 4 MiB chunks, calling back with bytes read so far. */
export async function hashFile(file: string, onBytes?: (n: number) => void): Promise<ImageDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    onBytes?.(size);
  }
  return { sha256: hash.digest('hex'), size };
}
