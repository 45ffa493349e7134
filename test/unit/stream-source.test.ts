import { describe, expect, it } from 'vitest';
import { parseBackingChain, parseImageMap } from '../../activities/qemu-img-output.js';
import type { ChainImage } from '../../activities/qemu-img-output.js';
import { streamSource } from '../../activities/stream-source.js';

// Recorded from qemu-img 7.2: a qcow2 top over a qcow2 base, with a zero cluster in the top.
const MAP = `[{ "start": 0, "length": 1048576, "depth": 1, "present": true, "zero": false, "data": true, "offset": 327680},
{ "start": 1048576, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "offset": 327680},
{ "start": 1114112, "length": 983040, "depth": 1, "present": true, "zero": false, "data": true, "offset": 1441792},
{ "start": 2097152, "length": 65536, "depth": 0, "present": true, "zero": true, "data": false},
{ "start": 2162688, "length": 983040, "depth": 1, "present": true, "zero": false, "data": true, "offset": 2490368},
{ "start": 3145728, "length": 7340032, "depth": 1, "present": false, "zero": true, "data": false},
{ "start": 10485760, "length": 131072, "depth": 1, "present": true, "zero": false, "data": true, "offset": 3473408},
{ "start": 10616832, "length": 56492032, "depth": 1, "present": false, "zero": true, "data": false}]`;

const CHAIN = `[
  { "virtual-size": 67108864, "filename": "/v/top.qcow2", "format": "qcow2", "full-backing-filename": "/v/base.qcow2",
    "format-specific": { "type": "qcow2", "data": { "compat": "1.1", "refcount-bits": 16, "extended-l2": false } } },
  { "virtual-size": 67108864, "filename": "/v/base.qcow2", "format": "qcow2",
    "format-specific": { "type": "qcow2", "data": { "compat": "1.1", "refcount-bits": 16, "extended-l2": false } } }
]`;

describe('qemu-img map and backing chain', () => {
  it('parses the extents and the chain, top first', () => {
    const map = parseImageMap(MAP);
    expect(map).toHaveLength(8);
    expect(map[3]).toEqual({ start: 2097152, length: 65536, depth: 0, zero: true, data: false });
    expect(parseBackingChain(CHAIN)).toEqual([
      { filename: '/v/top.qcow2', format: 'qcow2', virtualSize: 67108864, encrypted: false },
      { filename: '/v/base.qcow2', format: 'qcow2', virtualSize: 67108864, encrypted: false },
    ]);
  });

  it('reads a single image (no list) and what makes one unreadable in place', () => {
    const [image] = parseBackingChain(
      '{"virtual-size": 1, "filename": "/v/a.qcow2", "format": "qcow2", "encrypted": true, "format-specific": {"type": "qcow2", "data": {"data-file": "/v/a.data", "encrypt": {"format": "luks"}}}}',
    );
    expect(image).toEqual({ filename: '/v/a.qcow2', format: 'qcow2', virtualSize: 1, encrypted: true, dataFile: '/v/a.data' });
    expect(() => parseImageMap('{}')).toThrow(/no list of extents/);
  });
});

describe('streamSource', () => {
  const chain = parseBackingChain(CHAIN);

  it('keeps only ranges with data, in guest order, joining contiguous bytes of one file', () => {
    const s = streamSource(chain, parseImageMap(MAP));
    expect(s).toEqual({
      files: ['/v/top.qcow2', '/v/base.qcow2'],
      virtualSize: 67108864,
      extents: [
        { start: 0, length: 1048576, file: 1, offset: 327680 },
        { start: 1048576, length: 65536, file: 0, offset: 327680 },
        { start: 1114112, length: 983040, file: 1, offset: 1441792 },
        { start: 2162688, length: 983040, file: 1, offset: 2490368 },
        { start: 10485760, length: 131072, file: 1, offset: 3473408 },
      ],
    });
    // Split by qemu-img at a cluster boundary but contiguous in the file: read as one.
    const joined = streamSource(chain, [
      { start: 0, length: 65536, depth: 1, zero: false, data: true, offset: 196608 },
      { start: 65536, length: 65536, depth: 1, zero: false, data: true, offset: 262144 },
    ]);
    expect(joined).toMatchObject({ extents: [{ start: 0, length: 131072, file: 1, offset: 196608 }] });
  });

  it('says why a chain must go through qemu-img convert instead', () => {
    const data = [{ start: 0, length: 65536, depth: 0, zero: false, data: true }];
    const top = (o: Partial<ChainImage>): ChainImage[] => [{ filename: '/v/a', format: 'qcow2', virtualSize: 65536, encrypted: false, ...o }];
    expect(streamSource(top({}), data)).toEqual({ unsupported: 'guest bytes 0+65536 are compressed or encrypted' });
    expect(streamSource(top({ format: 'vmdk' }), [])).toEqual({ unsupported: '/v/a is vmdk' });
    expect(streamSource(top({ encrypted: true }), [])).toEqual({ unsupported: '/v/a is encrypted' });
    expect(streamSource(top({ dataFile: '/v/d' }), [])).toEqual({ unsupported: '/v/a keeps its data in /v/d' });
    expect(streamSource(top({ filename: 'json:{"driver":"nbd"}' }), [])).toEqual({ unsupported: 'json:{"driver":"nbd"} is not a local file' });
    expect(streamSource(top({}), [{ ...data[0]!, offset: 0, depth: 1 }])).toEqual({ unsupported: 'qemu-img map names depth 1 of a chain of 1' });
    expect(streamSource([], [])).toEqual({ unsupported: 'qemu-img info gave no image' });
  });
});
