import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { expect, inject, it } from 'vitest';
import { artifactTag } from '../../common/names.js';
import type { SnapshotProgress } from '../../common/result.js';
import { copyDisk, domainState, guestWrite, host, leftoversOf, makeDomain, rbd, rbdSnaps, sameContent, spawnWorker, startSnapshot, virsh, withClient } from './lab.js';
import { TEMPORAL_ADDRESS } from './stack.js';

it.each(['undefine', 'transient-job'] as const)('an operator cancels a snapshot mid-copy (strategy %s): it unwinds cleanly', async (strategy) => {
  const dom = await makeDomain(`cancel-${strategy}`, { sizeMiB: 128 });
  await guestWrite(dom.name, 0, 32, 0x77);
  await withClient(async (client) => {
    const handle = await startSnapshot(client, { domain: dom.name, strategy, bandwidthMiBps: 2 });
    for (let p: SnapshotProgress | undefined; !(p?.step === 'blockcopy' && p.bytesDone > 0); ) {
      p = await handle.query<SnapshotProgress>('progress');
      await new Promise((r) => setTimeout(r, 100));
    }
    // As from a terminal; the Web UI's "Request Cancellation" sends the same request.
    await execa(inject('temporalBin'), ['workflow', 'cancel', '--address', TEMPORAL_ADDRESS, '-w', handle.workflowId]);
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(leftoversOf(handle.workflowId, dom.name)).toEqual([]);
  });
  expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
});

it('a snapshot cancelled while the guest writes to its overlay merges the overlay back (strategy overlay)', async () => {
  const hostName = `${host()}-ovlcancel`;
  const dir = path.join(path.dirname(inject('stateDir')), hostName);
  const marker = path.join(dir, 'fault.json');
  const dom = await makeDomain('cancel-overlay', { sizeMiB: 64 });
  // This host's worker hangs when the convert starts: the domain runs on the overlay by then.
  const worker = await spawnWorker(hostName, path.join(dir, 'state'), path.join(dir, 'images'), { VMSNAP_FAULT: 'before:convertDisk', VMSNAP_FAULT_MARKER: marker });
  try {
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { host: hostName, domain: dom.name, strategy: 'overlay' });
      for (let i = 0; !existsSync(marker); i++) {
        if (i > 600) throw new Error('the snapshot never reached its convert step');
        await new Promise((r) => setTimeout(r, 100));
      }
      const overlay = `${dom.disk}.vmsnap-overlay-${artifactTag(handle.workflowId)}.qcow2`;
      expect((await domainState(dom.name)).source).toBe(overlay);
      await guestWrite(dom.name, 8, 1, 0x5a); // lands in the overlay: must reach the disk
      const expected = path.join(dom.dir, 'expected.qcow2');
      await copyDisk(overlay, expected);

      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
      expect(existsSync(overlay)).toBe(false);
      expect(await sameContent(dom.disk, expected)).toBe(true);
      expect(leftoversOf(handle.workflowId, dom.name, path.join(dir, 'state'), path.join(dir, 'images'))).toEqual([]);
    });
  } finally {
    worker.proc.kill('SIGKILL');
    await worker.proc;
  }
});

it('a snapshot of two disks cancelled on their overlays merges both back, and leaves no staging file', async () => {
  const hostName = `${host()}-ovlcancel2`;
  const dir = path.join(path.dirname(inject('stateDir')), hostName);
  const marker = path.join(dir, 'fault.json');
  const dom = await makeDomain('cancel-two-disks', { sizeMiB: 64, start: false });
  const data = path.join(dom.dir, 'data.qcow2');
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', data, '16M']);
  await virsh('attach-disk', dom.name, data, 'vdb', '--subdriver', 'qcow2', '--config');
  await virsh('start', dom.name);
  const worker = await spawnWorker(hostName, path.join(dir, 'state'), path.join(dir, 'images'), { VMSNAP_FAULT: 'before:convertDisk', VMSNAP_FAULT_MARKER: marker });
  try {
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { host: hostName, domain: dom.name, disks: ['vda', 'vdb'] });
      for (let i = 0; !existsSync(marker); i++) {
        if (i > 600) throw new Error('the snapshot never reached its convert step');
        await new Promise((r) => setTimeout(r, 100));
      }
      const tag = artifactTag(handle.workflowId);
      const overlays = [`${dom.disk}.vmsnap-overlay-${tag}.qcow2`, `${data}.vmsnap-overlay-${tag}.qcow2`];
      const blk = await virsh('domblklist', dom.name);
      for (const o of overlays) expect(blk).toContain(o);

      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      const after = await virsh('domblklist', dom.name);
      expect(after).toMatch(new RegExp(`vda\\s+${dom.disk}`));
      expect(after).toMatch(new RegExp(`vdb\\s+${data}`));
      for (const o of overlays) expect(existsSync(o)).toBe(false);
      expect(await domainState(dom.name)).toMatchObject({ state: 'running', blockJob: '' });
      expect(leftoversOf(handle.workflowId, dom.name, path.join(dir, 'state'), path.join(dir, 'images'))).toEqual([]);
      expect([...readdirSync(path.join(dir, 'images')), ...readdirSync(path.join(dir, 'state'))].filter((f) => f.includes(tag))).toEqual([]);
    });
  } finally {
    worker.proc.kill('SIGKILL');
    await worker.proc;
  }
});

it('an RBD snapshot cancelled while its clone stands on the source snapshot removes the clone first, then the snapshot', async () => {
  const hostName = `${host()}-rbdcancel`;
  const dir = path.join(path.dirname(inject('stateDir')), hostName);
  const marker = path.join(dir, 'fault.json');
  const dom = await makeDomain('cancel-rbd-clone', { sizeMiB: 32, layout: 'rbd' });
  const name = `${dom.name}-img`;
  // This host's worker hangs when the flatten starts: the clone exists, its parent protected.
  const worker = await spawnWorker(hostName, path.join(dir, 'state'), path.join(dir, 'images'), { VMSNAP_FAULT: 'before:rbdFlatten', VMSNAP_FAULT_MARKER: marker });
  try {
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { host: hostName, domain: dom.name, store: 'pool', name, rbdCopy: 'clone' });
      for (let i = 0; !existsSync(marker); i++) {
        if (i > 600) throw new Error('the snapshot never reached its flatten step');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await rbdSnaps(`vms/${dom.name}`)).toMatchObject([{ name: artifactTag(handle.workflowId), protected: 'true' }]);
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(await rbdSnaps(`vms/${dom.name}`)).toEqual([]);
      expect((await rbd('ls', 'images')).split('\n')).not.toContain(name);
      expect(leftoversOf(handle.workflowId, dom.name, path.join(dir, 'state'), path.join(dir, 'images'))).toEqual([]);
    });
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true });
  } finally {
    worker.proc.kill('SIGKILL');
    await worker.proc;
  }
});
