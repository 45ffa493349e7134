import { createHash } from 'node:crypto';
import { createReadStream, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { ImageManifest } from '../../common/manifest.js';
import { artifactTag } from '../../common/names.js';
import type { SnapshotProgress, SnapshotResult } from '../../common/result.js';
import { attachDataDisk, copyDisk, domainState, guestWrite, leftoversOf, makeDomain, runSnapshot, sameContent, startSnapshot, storePath, virsh, withClient } from './lab.js';

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function waitForStep(query: () => Promise<SnapshotProgress>, step: string): Promise<SnapshotProgress> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const p = await query().catch(() => undefined);
    if (p?.step === step && p.bytesDone > 0) return p;
    if (Date.now() > deadline) throw new Error(`step ${step} never showed progress (last: ${JSON.stringify(p)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A domain with 48 MiB written on its disk, and a copy of that disk: the guest is idle, so the copy is the disk at any snapshot point. */
async function idleDomain(name: string) {
  const dom = await makeDomain(name, { sizeMiB: 256 });
  await guestWrite(dom.name, 0, 48, 0x11);
  const expected = path.join(dom.dir, 'expected.qcow2');
  await copyDisk(dom.disk, expected);
  return { dom, expected };
}

/** Waits until the snapshot is past its snapshot point: `started` holds, or a later step shows. */
async function pastSnapshotPoint(handle: WorkflowHandle, started: (p: SnapshotProgress) => boolean, later: string[]): Promise<void> {
  for (const deadline = Date.now() + 60_000; ; ) {
    const p = await handle.query<SnapshotProgress>('progress').catch(() => undefined);
    if (p && (started(p) || later.includes(p.step))) return;
    if (Date.now() > deadline) throw new Error(`the snapshot never passed its snapshot point (last: ${JSON.stringify(p)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A live run of `strategy` stored an image equal to `expected`, with the sha256 it reports. */
async function expectLiveImage(result: SnapshotResult, strategy: string, expected: string): Promise<void> {
  expect(result).toMatchObject({ mode: 'live', strategy, downtimeMs: 0 });
  const image = new URL(result.location).pathname;
  expect(await sameContent(image, expected)).toBe(true);
  expect(await sha256(image)).toBe(result.sha256);
}

describe.each(['transient-job', 'undefine'] as const)('live snapshot, strategy %s', (strategy) => {
  it('captures the disk as of the snapshot point while the guest writes during the copy', async () => {
    const dom = await makeDomain(`live-${strategy}`, { sizeMiB: 256 });
    // A big top layer and a bandwidth cap keep the copy running for seconds, long enough to write into.
    await guestWrite(dom.name, 0, 48, 0x11);
    const expected = path.join(dom.dir, 'expected.qcow2');

    await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, strategy, bandwidthMiBps: 8, properties: { purpose: 'test' } });
      const during = await waitForStep(() => handle.query<SnapshotProgress>('progress'), 'blockcopy');
      expect(during.bytesTotal).toBeGreaterThan(0);
      await guestWrite(dom.name, 100, 2, 0xcd); // into the overlay, while the mirror runs
      await guestWrite(dom.name, 200, 1, 0xef); // over a hole of the base image
      await copyDisk(dom.disk, expected); // the disk as of now = as of the snapshot point
      const result = (await handle.result()) as SnapshotResult;
      await guestWrite(dom.name, 0, 1, 0x99); // after the snapshot: must not show in the image

      expect(result.mode).toBe('live');
      expect(result.strategy).toBe(strategy);
      expect(result.downtimeMs).toBe(0);
      const image = new URL(result.location).pathname;
      expect(await sameContent(image, expected)).toBe(true);
      expect(await sha256(image)).toBe(result.sha256);
      const manifest = JSON.parse(await readFile(storePath(`${result.imageName}.manifest.json`), 'utf8')) as ImageManifest;
      expect(manifest).toMatchObject({ sha256: result.sha256, workflowId: handle.workflowId, source: { domain: dom.name, disk: 'vda' }, properties: { purpose: 'test' } });

      const names = result.steps.map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(['create delta', 'blockcopy', 'abort block job', 'convert', 'store']));
      expect(names).not.toContain('abort stale block jobs'); // inspect saw none
      if (strategy === 'undefine') expect(names).toEqual(expect.arrayContaining(['save inactive XML', 'undefine', 'define']));
      else expect(names).not.toContain('undefine');

      const after = await domainState(dom.name);
      expect(after).toMatchObject({ state: 'running', persistent: true, source: dom.disk });
      expect(after.blockJob).toBe(''); // no block job left
      expect(leftoversOf(handle.workflowId, dom.name)).toEqual([]);
    });
  });
});

describe('live snapshot, strategy backup (libvirt backup API, push mode)', () => {
  it('QEMU writes the image as of the job start straight into the store, while the guest writes', async () => {
    const { dom, expected } = await idleDomain('live-backup');

    await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, strategy: 'backup', properties: { purpose: 'test' } });
      // The job has begun once the activity reports its size (or the step is already over).
      await pastSnapshotPoint(handle, (p) => p.step === 'backup' && p.bytesTotal > 0, ['store', 'cleanup', 'done']);
      await guestWrite(dom.name, 100, 2, 0xcd); // after the snapshot point: copy-before-write keeps it out
      await guestWrite(dom.name, 200, 1, 0xef);
      const result = (await handle.result()) as SnapshotResult;
      await expectLiveImage(result, 'backup', expected);
      expect(result.steps.map((s) => s.name)).toEqual(['lock domain', 'inspect', 'backup', 'store', 'cleanup']);
      const after = await domainState(dom.name);
      expect(after).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
      expect(leftoversOf(handle.workflowId, dom.name)).toEqual([]);
    });
  });
});

describe('live snapshot of several disks, strategy backup', () => {
  it('one job starts every disk at one instant and writes each into its own image, while the guest writes to both', async () => {
    const dom = await makeDomain('live-backup-two', { sizeMiB: 64, start: false });
    const data = await attachDataDisk(dom, { sizeMiB: 24, fill: 0x6b, start: true });
    await guestWrite(dom.name, 8, 4, 0x11);
    const expectedVda = path.join(dom.dir, 'expected-vda.qcow2');
    const expectedVdb = path.join(dom.dir, 'expected-vdb.qcow2');
    await copyDisk(dom.disk, expectedVda);
    await copyDisk(data, expectedVdb);
    const inactiveBefore = await virsh('dumpxml', '--inactive', dom.name);

    await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, strategy: 'backup', disks: ['vda', 'vdb'] });
      await pastSnapshotPoint(handle, (p) => p.step === 'backup' && p.bytesTotal > 0, ['store', 'cleanup', 'done']);
      // After the snapshot point, on both disks: copy-before-write keeps both out.
      await guestWrite(dom.name, 20, 2, 0xcd);
      await guestWrite(dom.name, 1, 1, 0xef, 'virtio-disk1');
      const result = (await handle.result()) as SnapshotResult;
      await expectLiveImage(result, 'backup', expectedVda);
      expect(result).toMatchObject({ disk: 'vda', moreDisks: [{ disk: 'vdb', imageName: `${result.imageName}-vdb`, virtualSizeBytes: 24 << 20 }] });
      const vdb = result.moreDisks![0]!;
      expect(await sameContent(new URL(vdb.location).pathname, expectedVdb)).toBe(true);
      expect(await sha256(new URL(vdb.location).pathname)).toBe(vdb.sha256);
      // One job: one backup step, then both disks stored side by side in one store step.
      expect(result.steps.map((s) => s.name)).toEqual(['lock domain', 'inspect', 'backup', 'store', 'cleanup']);
      expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
      expect(await domainState(dom.name, 'vdb')).toMatchObject({ state: 'running', source: data, blockJob: '' });
      expect(await virsh('dumpxml', '--inactive', dom.name)).toBe(inactiveBefore);
      expect(leftoversOf(handle.workflowId, dom.name)).toEqual([]);
      const tag = artifactTag(handle.workflowId);
      expect(readdirSync(path.dirname(storePath('x'))).filter((f) => f.includes(tag))).toEqual([]);
    });
  });
});

const overlaysIn = (dir: string) => readdirSync(dir).filter((f) => f.includes('.vmsnap-overlay-'));

describe('live snapshot, strategy overlay (what auto picks here)', () => {
  it('freezes the disk under an overlay, converts it into the store while the guest writes, merges the guest\'s writes back', async () => {
    const { dom, expected } = await idleDomain('live-overlay');
    const inactiveBefore = await virsh('dumpxml', '--inactive', dom.name);

    await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, properties: { purpose: 'test' } });
      // Past the snapshot point once the convert step runs (or is over).
      await pastSnapshotPoint(handle, (p) => p.step === 'convert', ['merge overlay', 'store', 'cleanup', 'done']);
      await guestWrite(dom.name, 100, 2, 0xcd); // after the snapshot point: into the overlay
      await guestWrite(dom.name, 200, 1, 0xef);
      const result = (await handle.result()) as SnapshotResult;
      await expectLiveImage(result, 'overlay', expected);
      // The merge runs beside the store step: either may end first.
      const names = result.steps.map((s) => s.name);
      expect(names.slice(0, 4)).toEqual(['lock domain', 'inspect', 'create overlay', 'convert']);
      expect([...names.slice(4, 6)].sort()).toEqual(['merge overlay', 'store']);
      expect(names.slice(6)).toEqual(['cleanup']);

      // The guest's writes during the copy reached the disk itself; the domain and its definition are as before.
      const after = await domainState(dom.name);
      expect(after).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
      expect(await virsh('dumpxml', '--inactive', dom.name)).toBe(inactiveBefore);
      const withWrites = path.join(dom.dir, 'expected-with-writes.qcow2');
      await copyDisk(expected, withWrites);
      await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xcd 100M 2M', '-c', 'write -P 0xef 200M 1M', withWrites]);
      expect(await sameContent(dom.disk, withWrites)).toBe(true);
      expect(overlaysIn(dom.dir)).toEqual([]);
      expect(leftoversOf(handle.workflowId, dom.name)).toEqual([]);
    });
  });

  it('a second disk of the domain is left out of the overlay and untouched', async () => {
    const dom = await makeDomain('live-two-disks', { sizeMiB: 64, start: false });
    const data = path.join(dom.dir, 'data.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', data, '16M']);
    await virsh('attach-disk', dom.name, data, 'vdb', '--subdriver', 'qcow2', '--config');
    await virsh('start', dom.name);
    const inactiveBefore = await virsh('dumpxml', '--inactive', dom.name);
    const result = await runSnapshot({ domain: dom.name });
    expect(result).toMatchObject({ strategy: 'overlay', disk: 'vda' });
    expect(await sameContent(new URL(result.location).pathname, dom.disk)).toBe(true);
    expect(await virsh('domblklist', dom.name)).toMatch(new RegExp(`vdb\\s+${data}`));
    expect(await virsh('dumpxml', '--inactive', dom.name)).toBe(inactiveBefore);
    expect(overlaysIn(dom.dir)).toEqual([]);
  });

  it('several disks are frozen at one instant, copied side by side and stored as one image each', async () => {
    const dom = await makeDomain('live-both-disks', { sizeMiB: 64, start: false });
    const data = await attachDataDisk(dom, { sizeMiB: 24, fill: 0x6b, start: true });
    const inactiveBefore = await virsh('dumpxml', '--inactive', dom.name);
    const result = await runSnapshot({ domain: dom.name, disks: ['vda', 'vdb'] });
    expect(result).toMatchObject({ strategy: 'overlay', disk: 'vda', moreDisks: [{ disk: 'vdb', imageName: `${result.imageName}-vdb`, virtualSizeBytes: 24 << 20 }] });
    const vdb = result.moreDisks![0]!;
    expect(await sameContent(new URL(result.location).pathname, dom.disk)).toBe(true);
    expect(await sameContent(new URL(vdb.location).pathname, data)).toBe(true);
    expect(await sha256(new URL(vdb.location).pathname)).toBe(vdb.sha256);
    const vdbManifest = JSON.parse(await readFile(storePath(`${vdb.imageName}.manifest.json`), 'utf8')) as ImageManifest;
    expect(vdbManifest).toMatchObject({ name: vdb.imageName, source: { domain: dom.name, disk: 'vdb' }, sha256: vdb.sha256 });
    // One step each, the disks side by side inside it.
    // The merge runs beside the store step: either may end first.
    const names = result.steps.map((st) => st.name);
    expect([...names.slice(0, 4), ...names.slice(4, 6).sort(), ...names.slice(6)]).toEqual(['lock domain', 'inspect', 'create overlay', 'convert', 'merge overlay', 'store', 'cleanup']);
    const blk = await virsh('domblklist', dom.name);
    expect(blk).toMatch(new RegExp(`vda\\s+${dom.disk}`));
    expect(blk).toMatch(new RegExp(`vdb\\s+${data}`));
    expect(await virsh('dumpxml', '--inactive', dom.name)).toBe(inactiveBefore);
    expect(overlaysIn(dom.dir)).toEqual([]);
    expect(leftoversOf(result.workflowId, dom.name)).toEqual([]);
    // No disk's staging file is left either.
    const tag = artifactTag(result.workflowId);
    expect(readdirSync(path.dirname(storePath('x'))).filter((f) => f.includes(tag))).toEqual([]);
  });

  it('a disk the domain does not have is refused before anything changes, listing its disks', async () => {
    const dom = await makeDomain('live-no-vdz', { sizeMiB: 32 });
    const err = await runSnapshot({ domain: dom.name, disks: ['vda', 'vdz'] }).then(
      () => undefined,
      (e: unknown) => e as Error & { cause?: Error },
    );
    expect(err?.cause?.message).toMatch(new RegExp(`domain ${dom.name} on host .* has no disk vdz \\(its disks: vda\\)`));
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', source: dom.disk, blockJob: '' });
  });

  it('a block job left on another disk of a multi-disk run is ended first too', async () => {
    const dom = await makeDomain('live-stale-vdb', { sizeMiB: 32, start: false });
    const data = await attachDataDisk(dom, { sizeMiB: 16, fill: 0x3c, start: true });
    await virsh('blockcopy', dom.name, 'vdb', path.join(dom.dir, 'someone-elses-copy.qcow2'), '--transient-job', '--bandwidth', '1');
    expect((await domainState(dom.name, 'vdb')).blockJob).not.toBe('');
    const result = await runSnapshot({ domain: dom.name, disks: ['vda', 'vdb'] });
    expect(result.steps.map((s) => s.name)).toContain('abort stale block jobs');
    expect(await sameContent(new URL(result.moreDisks![0]!.location).pathname, data)).toBe(true);
    expect(await domainState(dom.name, 'vdb')).toMatchObject({ state: 'running', source: data, blockJob: '' });
  });

  it('a block job left on the disk by someone else is ended first', async () => {
    const dom = await makeDomain('live-stale-job', { sizeMiB: 64 });
    const mirror = path.join(dom.dir, 'someone-elses-copy.qcow2');
    await virsh('blockcopy', dom.name, 'vda', mirror, '--transient-job', '--bandwidth', '1');
    expect((await domainState(dom.name)).blockJob).not.toBe('');
    const result = await runSnapshot({ domain: dom.name });
    expect(result.strategy).toBe('overlay');
    expect(result.steps.map((s) => s.name)).toContain('abort stale block jobs');
    expect(await sameContent(new URL(result.location).pathname, dom.disk)).toBe(true);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', source: dom.disk, blockJob: '' });
  });
});

describe('live snapshot of a flat disk', () => {
  it('copies the whole disk into a raw image', async () => {
    const dom = await makeDomain('flat', { sizeMiB: 64, layout: 'flat' });
    const result = await runSnapshot({ domain: dom.name, format: 'raw', name: `${dom.name}-img` });
    expect(result.format).toBe('raw');
    expect(result.location.endsWith(`${dom.name}-img.raw`)).toBe(true);
    expect(await sameContent(new URL(result.location).pathname, dom.disk)).toBe(true);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk });
  });
});
