import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RbdDiffHasher } from '../../activities/rbd-diff-hash.js';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** An export-diff v1 stream of an image of `size` bytes with these extents, and the image's own bytes. */
function diffOf(size: number, extents: { offset: number; data?: Buffer; zeroLength?: number }[]) {
  const image = Buffer.alloc(size);
  const parts: Buffer[] = [Buffer.from('rbd diff v1\n'), Buffer.from('t'), u32(4), Buffer.from('snap'), Buffer.from('s'), u64(size)];
  for (const e of extents) {
    if (e.data) {
      e.data.copy(image, e.offset);
      parts.push(Buffer.from('w'), u64(e.offset), u64(e.data.length), e.data);
    } else parts.push(Buffer.from('z'), u64(e.offset), u64(e.zeroLength ?? 0));
  }
  parts.push(Buffer.from('e'));
  return { stream: Buffer.concat(parts), sha256: createHash('sha256').update(image).digest('hex') };
}

function feed(stream: Buffer, chunk: number): RbdDiffHasher {
  const h = new RbdDiffHasher();
  for (let i = 0; i < stream.length; i += chunk) h.push(stream.subarray(i, i + chunk));
  return h;
}

describe('RbdDiffHasher', () => {
  const size = 3 * 1024 * 1024 + 512;
  const { stream, sha256 } = diffOf(size, [
    { offset: 4096, data: randomBytes(65536) },
    { offset: 1 << 20, zeroLength: 8192 },
    { offset: (2 << 20) + 7, data: randomBytes(100_000) },
  ]);

  it('hashes the whole image, holes as zeros, however the stream is cut into chunks', () => {
    for (const chunk of [1, 7, 17, 4096, 1 << 20, stream.length]) {
      expect(feed(stream, chunk).digest()).toEqual({ sha256, size });
    }
  });

  it('passes the stream on as it parses it, naming its own end snapshot, however it is cut', () => {
    const renamed = Buffer.concat([stream.subarray(0, 12), Buffer.from('t'), u32(6), Buffer.from('stored'), stream.subarray(12 + 9)]); // header, then 't' + u32 + 'snap'
    for (const chunk of [1, 7, 17, 4096, stream.length]) {
      const out: Buffer[] = [];
      const h = new RbdDiffHasher(undefined, { to: (b) => out.push(Buffer.from(b)), snapName: 'stored' });
      for (let i = 0; i < stream.length; i += chunk) h.push(stream.subarray(i, i + chunk));
      expect(h.digest()).toEqual({ sha256, size });
      expect(Buffer.concat(out).equals(renamed)).toBe(true);
    }
  });

  it('an empty image is all zeros', () => {
    const empty = diffOf(1 << 20, []);
    expect(feed(empty.stream, 5).digest()).toEqual({ sha256: empty.sha256, size: 1 << 20 });
  });

  it('refuses streams it cannot follow: another format, extents out of order, a cut-off end', () => {
    expect(() => feed(Buffer.from('rbd diff v2\n...'), 64)).toThrow(/not an rbd export-diff v1/);
    const backwards = diffOf(1 << 20, [
      { offset: 8192, data: randomBytes(16) },
      { offset: 0, data: randomBytes(16) },
    ]);
    expect(() => feed(backwards.stream, 64)).toThrow(/out of order/);
    expect(() => feed(stream.subarray(0, stream.length - 1), 4096).digest()).toThrow(/ended early/);
  });
});
