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
