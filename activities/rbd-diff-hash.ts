import { createHash } from 'node:crypto';

const HEADER = 'rbd diff v1\n';
const ZEROS = Buffer.alloc(8 << 20);
const T_RECORD = 't'.charCodeAt(0);

/** A 't' record: the snapshot the importer takes at the end. */
function snapRecord(name: string): Buffer {
  const bytes = Buffer.from(name);
  const head = Buffer.alloc(5);
  head[0] = T_RECORD;
  head.writeUInt32LE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

/**
 * sha256 of a whole RBD image (snapshot) computed from `rbd export-diff` of it (format v1): the
 * allocated extents arrive as data, everything between them is hashed as the zeros it reads as.
 * `rbd export` sends every byte, zeros too, through the pipe; this sends only the data (half of a
 * half-empty disk) and hashes the rest from memory. Fed chunk by chunk; throws on anything that
 * is not a well-formed, offset-ordered v1 stream (the caller then hashes a plain export).
 *
 * With `forward`, the stream is passed on as it is parsed (for `rbd import-diff`), its 't' record
 * (the snapshot the importer takes once all is written) naming `snapName` instead of the source's
 * snapshot.
 */
export class RbdDiffHasher {
  private readonly hash = createHash('sha256');
  private pending: Buffer = Buffer.alloc(0);
  private headerSeen = false;
  private imageSize: number | undefined;
  /** Bytes of the image hashed so far (its next offset). */
  private position = 0;
  /** Data bytes still to come for the current 'w' record. */
  private dataLeft = 0;
  private ended = false;

  constructor(
    private readonly onBytes?: (n: number) => void,
    private readonly forward?: { to: (bytes: Buffer) => void; snapName: string },
  ) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    for (;;) {
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, buf.length);
        if (n === 0) break;
        this.hash.update(buf.subarray(0, n));
        this.forward?.to(buf.subarray(0, n));
        this.dataLeft -= n;
        this.position += n;
        this.onBytes?.(this.position);
        buf = buf.subarray(n);
        continue;
      }
      const used = this.record(buf);
      if (used === 0) break;
      if (this.forward) this.forward.to(buf[0] === T_RECORD ? snapRecord(this.forward.snapName) : buf.subarray(0, used));
      buf = buf.subarray(used);
    }
    if (buf.length) this.pending = Buffer.from(buf);
  }

  /** The digest and the image size, once the stream has ended with its 'e' record. */
  digest(): { sha256: string; size: number } {
    if (!this.ended || this.imageSize === undefined || this.pending.length || this.dataLeft) throw new Error('rbd export-diff stream ended early');
    this.zeros(this.imageSize - this.position);
    return { sha256: this.hash.digest('hex'), size: this.imageSize };
  }

  /** Parses one record at the start of `buf`; returns the bytes it used, 0 if it is not all there yet. */
  private record(buf: Buffer): number {
    if (!this.headerSeen) {
      if (buf.length < HEADER.length) return 0;
      if (buf.subarray(0, HEADER.length).toString('latin1') !== HEADER) throw new Error('not an rbd export-diff v1 stream');
      this.headerSeen = true;
      return HEADER.length;
    }
    if (buf.length < 1) return 0;
    if (this.ended) throw new Error('data after the end of an rbd export-diff stream');
    const tag = String.fromCharCode(buf[0] ?? 0);
    switch (tag) {
      case 'f':
      case 't': {
        if (buf.length < 5) return 0;
        const len = buf.readUInt32LE(1);
        return buf.length < 5 + len ? 0 : 5 + len;
      }
      case 's':
        if (buf.length < 9) return 0;
        this.imageSize = Number(buf.readBigUInt64LE(1));
        return 9;
      case 'w':
      case 'z': {
        if (buf.length < 17) return 0;
        const offset = Number(buf.readBigUInt64LE(1));
        const length = Number(buf.readBigUInt64LE(9));
        if (offset < this.position) throw new Error(`rbd export-diff extents out of order (${offset} after ${this.position})`);
        this.zeros(offset - this.position);
        if (tag === 'z') this.zeros(length);
        else this.dataLeft = length;
        return 17;
      }
      case 'e':
        this.ended = true;
        return 1;
      default:
        throw new Error(`unknown rbd export-diff record '${tag}'`);
    }
  }

  private zeros(n: number): void {
    for (let left = n; left > 0; ) {
      const k = Math.min(left, ZEROS.length);
      this.hash.update(ZEROS.subarray(0, k));
      left -= k;
    }
    this.position += n;
    if (n > 0) this.onBytes?.(this.position);
  }
}
