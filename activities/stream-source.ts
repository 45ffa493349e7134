import path from 'node:path';
import type { ChainImage, MapExtent } from './qemu-img-output.js';

/** A guest range whose bytes are read as they lie in one file of the chain. */
export interface CopyExtent {
  start: number;
  length: number;
  /** Index into `StreamSource.files`. */
  file: number;
  offset: number;
}

/** A disk chain whose guest data can be read straight from its files, range by range. */
export interface StreamSource {
  files: string[];
  virtualSize: number;
  /** Data ranges in guest order; everything else reads as zeros. */
  extents: CopyExtent[];
}

const READABLE_FORMATS = new Set(['raw', 'qcow2']);

/**
 * What a chain's map says must be copied, or why its bytes cannot be read in place (then
 * `qemu-img convert` does the work): only raw and qcow2 images on local files, without
 * encryption, compression or an external data file, keep their guest data at plain offsets.
 */
export function streamSource(chain: ChainImage[], map: MapExtent[]): StreamSource | { unsupported: string } {
  const top = chain[0];
  if (!top) return { unsupported: 'qemu-img info gave no image' };
  for (const image of chain) {
    if (!READABLE_FORMATS.has(image.format)) return { unsupported: `${image.filename} is ${image.format}` };
    if (image.encrypted) return { unsupported: `${image.filename} is encrypted` };
    if (image.dataFile !== undefined) return { unsupported: `${image.filename} keeps its data in ${image.dataFile}` };
    if (!path.isAbsolute(image.filename)) return { unsupported: `${image.filename || 'an image of the chain'} is not a local file` };
  }
  const extents: CopyExtent[] = [];
  for (const e of map) {
    if (e.zero || !e.data) continue;
    if (e.offset === undefined || e.compressed) return { unsupported: `guest bytes ${e.start}+${e.length} are compressed or encrypted` };
    if (e.depth >= chain.length) return { unsupported: `qemu-img map names depth ${e.depth} of a chain of ${chain.length}` };
    const last = extents[extents.length - 1];
    // qemu-img map splits at cluster and layer boundaries; contiguous bytes of one file read as one.
    if (last && last.file === e.depth && last.start + last.length === e.start && last.offset + last.length === e.offset) last.length += e.length;
    else extents.push({ start: e.start, length: e.length, file: e.depth, offset: e.offset });
  }
  return { files: chain.map((i) => i.filename), virtualSize: top.virtualSize, extents };
}
