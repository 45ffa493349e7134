/** Parsers for qemu-img output. Pure, so they are unit-tested against recorded output. */

export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
  backingFile?: string;
  backingFormat?: string;
}

/** Parses `qemu-img info --output json`. */
export function parseImageInfo(json: string): ImageInfo {
  const raw = JSON.parse(json) as Record<string, unknown>;
  const num = (k: string) => (typeof raw[k] === 'number' ? (raw[k]) : 0);
  const str = (k: string) => (typeof raw[k] === 'string' ? (raw[k]) : undefined);
  return {
    format: str('format') ?? 'raw',
    virtualSize: num('virtual-size'),
    actualSize: num('actual-size'),
    backingFile: str('full-backing-filename') ?? str('backing-filename'),
    backingFormat: str('backing-filename-format'),
  };
}

/** Parses the last "(12.34/100%)" of `qemu-img convert -p` output into a fraction, or null. */
export function parseConvertProgress(chunk: string): number | null {
  const all = [...chunk.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
  const last = all[all.length - 1];
  return last?.[1] ? Number(last[1]) / 100 : null;
}

/** One extent of `qemu-img map --output=json`: a guest range, and where its bytes are when they are data. */
export interface MapExtent {
  start: number;
  length: number;
  /** Which image of the backing chain holds the range (0: the top). */
  depth: number;
  /** True when the range reads as zeros (a hole, a zero cluster): nothing needs to be copied. */
  zero: boolean;
  data: boolean;
  /** Byte offset of the data in the file of the image at `depth`; absent for compressed or encrypted data. */
  offset?: number;
  compressed?: boolean;
}

/** Parses `qemu-img map --output=json`. */
export function parseImageMap(json: string): MapExtent[] {
  const raw = JSON.parse(json) as unknown;
  if (!Array.isArray(raw)) throw new Error('qemu-img map gave no list of extents');
  return raw.map((e: Record<string, unknown>) => {
    if (typeof e.start !== 'number' || typeof e.length !== 'number') throw new Error(`qemu-img map gave an extent without start/length: ${JSON.stringify(e)}`);
    const extent: MapExtent = { start: e.start, length: e.length, depth: typeof e.depth === 'number' ? e.depth : 0, zero: e.zero === true, data: e.data === true };
    if (typeof e.offset === 'number') extent.offset = e.offset;
    if (e.compressed === true) extent.compressed = true;
    return extent;
  });
}

/** One image of `qemu-img info --backing-chain --output=json`, top first. */
export interface ChainImage {
  filename: string;
  format: string;
  virtualSize: number;
  encrypted: boolean;
  /** A qcow2 image whose guest data lives in a separate file. */
  dataFile?: string;
}

/** Parses `qemu-img info --backing-chain --output=json` (a list, top image first). */
export function parseBackingChain(json: string): ChainImage[] {
  const raw = JSON.parse(json) as unknown;
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((i: Record<string, unknown>) => {
    const specific = (i['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data;
    const image: ChainImage = {
      filename: typeof i.filename === 'string' ? i.filename : '',
      format: typeof i.format === 'string' ? i.format : 'raw',
      virtualSize: typeof i['virtual-size'] === 'number' ? i['virtual-size'] : 0,
      encrypted: i.encrypted === true || specific?.encrypt !== undefined,
    };
    if (typeof specific?.['data-file'] === 'string') image.dataFile = specific['data-file'];
    return image;
  });
}
