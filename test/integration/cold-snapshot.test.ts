import { WorkflowFailedError } from '@temporalio/client';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { SnapshotProgress, SnapshotResult } from '../../common/result.js';
import { attachDataDisk, copyDisk, domainState, guestWrite, type LabDomain, leftoversOf, makeDomain, runSnapshot, sameContent, startSnapshot, virsh, withClient } from './lab.js';

const managedSave = async (name: string) => /^Managed save:\s*yes/m.test(await virsh('dominfo', name));

/** Both disks back on their own files, in the running domain and in its definition, no overlay left. */
async function expectBackOnDisks(dom: LabDomain, data: string) {
  expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
  expect(await domainState(dom.name, 'vdb')).toMatchObject({ source: data, blockJob: '' });
  const inactive = await virsh('dumpxml', '--inactive', dom.name);
  expect(inactive).toContain(`<source file='${dom.disk}'/>`);
  expect(inactive).toContain(`<source file='${data}'/>`);
  expect(await managedSave(dom.name)).toBe(false);
  expect(readdirSync(dom.dir).filter((f) => f.includes('vmsnap-overlay'))).toEqual([]);
}

describe('cold snapshot', () => {
  it('of a running domain: saves it, switches it to an overlay, restarts it at once, then copies and merges back', async () => {
    const dom = await makeDomain('cold-run', { sizeMiB: 128 });
    await guestWrite(dom.name, 0, 8, 0x41);
    const expected = path.join(dom.dir, 'expected.qcow2');
    await copyDisk(dom.disk, expected); // the guest is idle: the disk at the snapshot point
    const result = await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, mode: 'cold' });
      for (const deadline = Date.now() + 60_000; ; ) {
        const p = await handle.query<SnapshotProgress>('progress').catch(() => undefined);
        if (['convert', 'merge overlay', 'store', 'cleanup', 'done'].includes(p?.step ?? '')) break;
        if (Date.now() > deadline) throw new Error(`never reached convert (last: ${JSON.stringify(p)})`);
        await new Promise((r) => setTimeout(r, 20));
      }
      // The domain runs again (on the overlay) while its disk is copied: what it writes now is
      // not in the snapshot, and is in the disk once the overlay is merged back.
      await guestWrite(dom.name, 64, 1, 0x42);
      return (await handle.result()) as SnapshotResult;
    });
    expect(result.mode).toBe('cold');
    expect(result.downtimeMs).toBeGreaterThan(0);
    // The merge runs beside the store step: either may end first.
    const names = result.steps.map((s) => s.name);
    expect(names.slice(0, 6)).toEqual(['lock domain', 'inspect', 'managedsave', 'switch to overlay', 'start', 'convert']);
    expect([...names.slice(6, 8)].sort()).toEqual(['merge overlay', 'store']);
    expect(names.slice(8)).toEqual(['cleanup']);
    expect(await sameContent(new URL(result.location).pathname, expected)).toBe(true);
    expect(await sameContent(dom.disk, expected)).toBe(false); // the write after the restart is in the disk
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk });
    expect(await virsh('dumpxml', '--inactive', dom.name)).toContain(`<source file='${dom.disk}'/>`);
    expect(await managedSave(dom.name)).toBe(false);
    expect(readdirSync(dom.dir).filter((f) => f.includes('vmsnap-overlay'))).toEqual([]);
  });

  it('of a stopped domain (auto): copies the disk and leaves the domain off', async () => {
    const dom = await makeDomain('cold-off', { sizeMiB: 64, start: false });
    const result = await runSnapshot({ domain: dom.name });
    expect(result).toMatchObject({ mode: 'cold', downtimeMs: 0 });
    expect(result.steps.map((s) => s.name)).not.toContain('managedsave');
    expect(await sameContent(new URL(result.location).pathname, dom.disk)).toBe(true);
    expect((await domainState(dom.name)).state).toBe('shut off');
  });

  it('of a running domain with two disks: one save, both switched and copied, both merged back', async () => {
    const dom = await makeDomain('cold-two', { sizeMiB: 64, start: false });
    const data = await attachDataDisk(dom, { sizeMiB: 16, fill: 0x5a, start: true });
    const result = await runSnapshot({ domain: dom.name, mode: 'cold', disks: ['vda', 'vdb'] });
    expect(result).toMatchObject({ mode: 'cold', disk: 'vda', moreDisks: [{ disk: 'vdb', imageName: `${result.imageName}-vdb` }] });
    expect(result.downtimeMs).toBeGreaterThan(0);
    const names = result.steps.map((s) => s.name);
    expect(names.filter((n) => n === 'managedsave' || n === 'switch to overlay' || n === 'convert' || n === 'merge overlay')).toEqual(['managedsave', 'switch to overlay', 'convert', 'merge overlay']);
    // The guest is idle in its firmware: each image is its disk as it is now.
    expect(await sameContent(new URL(result.location).pathname, dom.disk)).toBe(true);
    expect(await sameContent(new URL(result.moreDisks![0]!.location).pathname, data)).toBe(true);
    await expectBackOnDisks(dom, data);
    expect(leftoversOf(result.workflowId, dom.name)).toEqual([]);
  });

  it('of a stopped domain with two disks (auto): copies both and leaves the domain off', async () => {
    const dom = await makeDomain('cold-two-off', { sizeMiB: 32, start: false });
    const data = await attachDataDisk(dom, { sizeMiB: 16, fill: 0x5a, start: false });
    const result = await runSnapshot({ domain: dom.name, disks: ['vda', 'vdb'] });
    expect(result).toMatchObject({ mode: 'cold', downtimeMs: 0 });
    expect(await sameContent(new URL(result.moreDisks![0]!.location).pathname, data)).toBe(true);
    expect((await domainState(dom.name)).state).toBe('shut off');
  });

  it('of two disks that run out of space: both are merged back, the domain runs, nothing is left', async () => {
    const dom = await makeDomain('cold-two-full', { sizeMiB: 128, dataMiB: 64, start: false });
    const data = await attachDataDisk(dom, { sizeMiB: 16, fill: 0x5a, start: true });
    const err = await runSnapshot({ domain: dom.name, mode: 'cold', store: 'tiny', disks: ['vda', 'vdb'] }).then(
      () => undefined,
      (e: unknown) => e as Error & { cause?: Error },
    );
    expect(err?.cause?.message).toMatch(/No space left on device/);
    await expectBackOnDisks(dom, data);
    expect(readdirSync(inject('tinyStoreDir'))).toEqual([]);
  });

  it('that runs out of space mid-convert starts the domain again and leaves no temp file', async () => {
    const dom = await makeDomain('cold-full', { sizeMiB: 128, dataMiB: 64 }); // 64 MiB won't fit in the 16 MiB store
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, mode: 'cold', store: 'tiny' });
      const err = (await handle.result().then(
        (r: SnapshotResult) => r,
        (e: unknown) => e,
      )) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause?.message).toMatch(/No space left on device.*free space there or use another store/);
      expect(err.cause?.message).toContain(`domain ${dom.name}`);
      expect(leftoversOf(handle.workflowId, dom.name)).toEqual([]);
    });
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk });
    expect(await managedSave(dom.name)).toBe(false);
    expect(readdirSync(inject('tinyStoreDir'))).toEqual([]);
  });
});
