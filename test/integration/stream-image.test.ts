import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { execaRunner } from '../../activities/command.js';
import type { HostContext } from '../../activities/host-context.js';
import { createQemuImgActivities } from '../../activities/qemu-img.js';
import type { NewImage } from '../../activities/stores/image-store.js';
import { GlanceClient } from '../../activities/stores/glance-client.js';
import { GlanceStore } from '../../activities/stores/glance-store.js';
import { sameContent } from './lab.js';
import { downloadGlanceImage, GLANCE, glanceImages, startGlance } from './openstack.js';

// The convert step's own writer against real qemu-img: whatever chain it reads, the image it
// writes must pass `qemu-img check`, hold the chain's guest content, and carry the digest of its bytes.

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const img = (...args: string[]) => execa('qemu-img', args);
const io = (file: string, format: string, ...cmds: string[]) => execa('qemu-io', ['-f', format, ...cmds.flatMap((c) => ['-c', c]), file]);

let dir: string;
const glance = () => new GlanceStore('glance', new GlanceClient(`http://127.0.0.1:${GLANCE.open}`), dir);
const ctx = (stores: HostContext['stores'] = new Map([['glance', glance()]])): HostContext => ({
  host: 'stream-test',
  libvirtUri: 'qemu:///system',
  stateDir: dir,
  stores,
  run: execaRunner,
  reportProgress: () => Promise.resolve(),
  isWorkflowRunning: () => Promise.resolve(false),
});

async function convert(source: string, format: 'qcow2' | 'raw', name: string, into?: { store: string; manifest: NewImage }, stores?: HostContext['stores']) {
  const dest = path.join(dir, name);
  const beats: unknown[] = [];
  const env = new MockActivityEnvironment();
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const acts = createQemuImgActivities(ctx(stores));
  const result: Awaited<ReturnType<typeof acts.convertDisk>> = await env.run(() => acts.convertDisk({ domain: 'd1', disk: 'vda', source, dest, format, ...into }));
  return { dest, result, beats };
}

/** The image is sound, equal to the chain in content, and its digest and size are its bytes'. */
async function expectFaithful(source: string, out: { dest: string; result: { sizeBytes: number; digest?: { sha256: string; size: number } } }, format: 'qcow2' | 'raw') {
  expect(out.result.digest).toBeDefined();
  expect(out.result.digest?.sha256).toBe(await sha256(out.dest));
  expect(out.result.digest?.size).toBe((await stat(out.dest)).size);
  expect(out.result.sizeBytes).toBe((await stat(out.dest)).size);
  expect(await sameContent(source, out.dest)).toBe(true);
  if (format === 'qcow2') {
    const check = await execa('qemu-img', ['check', '--output=json', out.dest], { reject: false });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    const report = JSON.parse(check.stdout) as { 'check-errors': number; leaks?: number; corruptions?: number };
    expect(report['check-errors']).toBe(0);
    expect(report.leaks ?? 0).toBe(0);
    expect(report.corruptions ?? 0).toBe(0);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'stream-image-'));
});

describe('convert writes the image front to back and hashes it on the way', () => {
  let top: string;
  beforeAll(async () => {
    // A base with data across an L2 table's boundary (512 MiB) and unaligned bits, a top that
    // overwrites some of it, zeroes a cluster of it, and adds its own; the size is no cluster multiple.
    const base = path.join(dir, 'base.qcow2');
    top = path.join(dir, 'top.qcow2');
    await img('create', '-q', '-f', 'qcow2', base, String(1536 * 1024 * 1024 + 512));
    await io(base, 'qcow2', 'write -P 0x11 0 3M', 'write -P 0x22 10000000 100k', 'write -P 0x33 511M 2M', 'write -P 0x44 1536M 512');
    await img('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', top);
    await io(top, 'qcow2', 'write -P 0x55 1M 64k', 'write -z 2M 64k', 'write -P 0x66 1000000 4k', 'write -P 0x77 1G 1M');
  });

  it('into qcow2: sound, equal, unallocated where the chain reads zeros', async () => {
    const out = await convert(top, 'qcow2', 'top-out.qcow2');
    await expectFaithful(top, out, 'qcow2');
    // Only clusters with data are in the file: a few MiB, not the 1.5 GiB of the disk.
    expect(out.result.sizeBytes).toBeLessThan(16 << 20);
    // Progress was told by bytes of the disk, ending at its size.
    expect(out.beats.at(-1)).toEqual({ bytesDone: 1536 * 1024 * 1024 + 512, bytesTotal: 1536 * 1024 * 1024 + 512 });
  });

  it('into raw: equal, holes kept as holes, hashed as the zeros they read as', async () => {
    // A smaller chain of the same kind: every byte of a raw image is hashed, holes too.
    const base = path.join(dir, 'raw-base.qcow2');
    const small = path.join(dir, 'raw-top.qcow2');
    await img('create', '-q', '-f', 'qcow2', base, String(96 * 1024 * 1024 + 512));
    await io(base, 'qcow2', 'write -P 0x11 0 3M', 'write -P 0x22 10000000 100k', 'write -P 0x44 96M 512');
    await img('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', small);
    await io(small, 'qcow2', 'write -P 0x55 1M 64k', 'write -z 2M 64k', 'write -P 0x66 1000000 4k');
    const out = await convert(small, 'raw', 'top-out.raw');
    await expectFaithful(small, out, 'raw');
    const { blocks, size } = await stat(out.dest);
    expect(size).toBe(96 * 1024 * 1024 + 512);
    expect(blocks * 512).toBeLessThan(8 << 20);
  });

  it('a raw disk, and a qcow2 over a raw base', async () => {
    const raw = path.join(dir, 'flat.raw');
    await img('create', '-q', '-f', 'raw', raw, '64M');
    await io(raw, 'raw', 'write -P 0x99 5M 2M', 'write -P 0x98 40000000 1234');
    await expectFaithful(raw, await convert(raw, 'qcow2', 'flat-out.qcow2'), 'qcow2');
    const over = path.join(dir, 'over-raw.qcow2');
    await img('create', '-q', '-f', 'qcow2', '-b', raw, '-F', 'raw', over);
    await io(over, 'qcow2', 'write -P 0x97 6M 64k');
    await expectFaithful(over, await convert(over, 'qcow2', 'over-raw-out.qcow2'), 'qcow2');
  });

  it('rewrites a leftover of an earlier attempt from the start', async () => {
    const first = await convert(top, 'qcow2', 'again.qcow2');
    await io(first.dest, 'qcow2', 'write -P 0xee 0 1M'); // what a crash halfway could have left changed
    const second = await convert(top, 'qcow2', 'again.qcow2');
    expect(second.result.digest).toEqual(first.result.digest);
    await expectFaithful(top, second, 'qcow2');
  });

  it('a compressed image goes through qemu-img convert, and the store hashes it', async () => {
    const compressed = path.join(dir, 'compressed.qcow2');
    await img('convert', '-c', '-f', 'qcow2', '-O', 'qcow2', top, compressed);
    const out = await convert(compressed, 'qcow2', 'compressed-out.qcow2');
    expect(out.result.digest).toBeUndefined();
    expect(await sameContent(top, out.dest)).toBe(true);
  });
});

describe('convert streams into a store that takes uploads (Glance), with no staged file', () => {
  let top: string;
  beforeAll(async () => {
    const base = path.join(dir, 'up-base.qcow2');
    top = path.join(dir, 'up-top.qcow2');
    await img('create', '-q', '-f', 'qcow2', base, String(600 * 1024 * 1024 + 512));
    await io(base, 'qcow2', 'write -P 0x11 0 9M', 'write -P 0x33 511M 2M', 'write -P 0x44 600M 512');
    await img('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', top);
    await io(top, 'qcow2', 'write -P 0x55 1M 64k', 'write -z 2M 64k', 'write -P 0x66 1000000 4k');
  });

  const manifest = (label: string, format: 'qcow2' | 'raw'): NewImage => ({
    imageId: randomUUID(),
    name: `stream-${label}`,
    format,
    virtualSizeBytes: 600 * 1024 * 1024 + 512,
    source: { host: 'stream-test', domain: 'd1', disk: 'vda' },
    mode: 'live',
    workflowId: `stream-${label}-${randomUUID()}`,
    createdAt: new Date().toISOString(),
    properties: {},
  });

  /** The one record of the run is active, sealed with the digest, and holds the chain's content. */
  async function expectUploaded(m: NewImage, digest: { sha256: string; size: number } | undefined, format: 'qcow2' | 'raw') {
    const records = await glanceImages(GLANCE.open, { vmsnap_workflow_id: m.workflowId });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ status: 'active', vmsnap_sha256: digest?.sha256, size: digest?.size, disk_format: format });
    const file = path.join(dir, `${m.name}.${format}`);
    await downloadGlanceImage(GLANCE.open, String(records[0]?.id), file);
    await expectFaithful(top, { dest: file, result: { sizeBytes: digest?.size ?? -1, digest } }, format);
    return records[0];
  }

  it.each(['qcow2', 'raw'] as const)('into %s: Glance gets the image as it is made; a retry finds it stored', async (format) => {
    const m = manifest(`once-${format}`, format);
    const out = await convert(top, format, `${m.name}.staging`, { store: 'glance', manifest: m });
    await expect(stat(out.dest)).rejects.toThrow(/ENOENT/);
    const rec = await expectUploaded(m, out.result.digest, format);
    // The convert ran again (its worker died before Temporal heard of the result): nothing is sent twice.
    const again = await convert(top, format, `${m.name}.staging`, { store: 'glance', manifest: m });
    expect(again.result.digest).toEqual(out.result.digest);
    expect((await expectUploaded(m, again.result.digest, format))?.id).toBe(rec?.id);
    // The store step then only finds the image: no staged file to read.
    const stored = await glance().commit(`${m.name}`, m, undefined, out.result.digest);
    expect(stored).toMatchObject({ imageId: rec?.id, sha256: out.result.digest?.sha256, sizeBytes: out.result.digest?.size });
  });

  it('a staged file without a digest (the backup strategy writes it) is hashed on its way into Glance', async () => {
    const m = manifest('staged-unhashed', 'qcow2');
    const out = await convert(top, 'qcow2', `${m.name}.staging`);
    const h = createHash('sha256');
    for await (const chunk of createReadStream(out.dest)) h.update(chunk as Buffer);
    const { size } = await stat(out.dest);
    const stored = await glance().commit(m.name, m, undefined, undefined);
    expect(stored).toMatchObject({ sha256: h.digest('hex'), sizeBytes: size });
    await expectUploaded(m, { sha256: stored.sha256, size }, 'qcow2');
  });

  it("a Glance that hashes with sha256 is checked against the writer's digest; one switched back costs one retry", async () => {
    await startGlance(GLANCE.rehash, { hashing: 'sha256' });
    const store = new GlanceStore('rehash', new GlanceClient(`http://127.0.0.1:${GLANCE.rehash}`), dir);
    const into = (m: NewImage) => ({ store: 'rehash', manifest: m });
    const stores = new Map([['rehash', store]]);
    const m1 = manifest('sha256', 'qcow2');
    // Nothing told the store yet: it takes Glance's default sha512 in vain, and learns from the record.
    const first = await convert(top, 'qcow2', `${m1.name}.staging`, into(m1), stores);
    const [rec1] = await glanceImages(GLANCE.rehash, { vmsnap_workflow_id: m1.workflowId });
    expect(rec1).toMatchObject({ os_hash_algo: 'sha256', os_hash_value: first.result.digest?.sha256, vmsnap_sha256: first.result.digest?.sha256 });
    // From then on nothing is hashed beside the upload.
    const m2 = manifest('sha256-again', 'raw');
    const ready = await store.prepare(m2);
    if (!('target' in ready)) throw new Error('a new run found a stored image');
    const raw = path.join(dir, 'sha256-small.raw');
    await img('create', '-q', '-f', 'raw', raw, '1M');
    expect(await store.send(ready.target, (await stat(raw)).size, createReadStream(raw))).toEqual({});
    expect((await store.seal(ready.target, m2, { sha256: await sha256(raw), size: (await stat(raw)).size }, {})).sha256).toBe(await sha256(raw));
    // The operator sets Glance back to sha512: the next upload cannot be checked, is dropped, and its retry takes sha512.
    await startGlance(GLANCE.rehash, { hashing: 'sha512' });
    const m3 = manifest('sha512-back', 'qcow2');
    await expect(convert(top, 'qcow2', `${m3.name}.staging`, into(m3), stores)).rejects.toThrow(/hashes images with sha512 .*the retry takes sha512/);
    expect(await glanceImages(GLANCE.rehash, { vmsnap_workflow_id: m3.workflowId })).toHaveLength(0);
    const retried = await convert(top, 'qcow2', `${m3.name}.staging`, into(m3), stores);
    const [rec3] = await glanceImages(GLANCE.rehash, { vmsnap_workflow_id: m3.workflowId });
    expect(rec3).toMatchObject({ status: 'active', os_hash_algo: 'sha512', vmsnap_sha256: retried.result.digest?.sha256 });
  });

  it('an upload an earlier attempt left unsealed is replaced, not trusted', async () => {
    const m = manifest('unsealed', 'qcow2');
    const store = glance();
    const first = await store.prepare(m);
    if (!('target' in first)) throw new Error('a new run found a stored image');
    // What a step that died between Glance's answer and the seal leaves: an active record without our digest.
    const small = path.join(dir, 'unsealed-small.qcow2');
    await img('create', '-q', '-f', 'qcow2', small, '1M');
    await store.client.upload(first.target, createReadStream(small), (await stat(small)).size);
    const out = await convert(top, 'qcow2', `${m.name}.staging`, { store: 'glance', manifest: m });
    const rec = await expectUploaded(m, out.result.digest, 'qcow2');
    expect(rec?.id).not.toBe(first.target);
  });
});
