import { existsSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { RestoreResult } from '../../common/restore-request.js';
import type { SnapshotResult } from '../../common/result.js';
import { WORKFLOW_TASK_QUEUE } from '../../common/constants.js';
import { copyDisk, domainState, guestWrite, host, leftoversOf, makeDomain, sameContent, spawnWorker, storePath, virsh, vmsnap, withClient } from './lab.js';

async function snapshot(domain: string, store = 'default') {
  const r = await vmsnap(['snapshot', domain, '--host', host(), '--store', store, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return r.json<SnapshotResult>();
}

/** Restore's own files beside a disk: the new disk while it is written, the old one until boot. */
async function restoreLeftovers(disk: string): Promise<string[]> {
  return (await readdir(path.dirname(disk))).filter((f) => f.includes('.vmsnap-'));
}

describe('restoreInstance (vmsnap restore)', () => {
  it('in place: the running domain comes back on a disk whose content equals the snapshot', async () => {
    const dom = await makeDomain('rst', { sizeMiB: 64 });
    await guestWrite(dom.name, 4, 2, 0x21);
    const snap = await snapshot(dom.name);
    await guestWrite(dom.name, 4, 2, 0x99); // what the restore must undo
    await guestWrite(dom.name, 40, 1, 0x98);
    const before = path.join(dom.dir, 'before.qcow2');
    await copyDisk(dom.disk, before);
    expect(await sameContent(before, storePath(`${snap.imageName}.qcow2`))).toBe(false);

    const r = await vmsnap(['restore', snap.imageName, '--host', host(), '--domain', dom.name, '--grace', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = r.json<RestoreResult>();
    expect(result).toMatchObject({ domain: dom.name, asNew: false, imageId: snap.imageId, sha256: snap.sha256, diskPath: dom.disk, started: true });
    expect(result.steps.map((s) => s.name)).toEqual(['lock domain', 'find image', 'fetch and verify', 'inspect', 'write disk', 'stop domain', 'swap disk', 'boot', 'remove old disk', 'cleanup']);

    const state = await domainState(dom.name);
    expect(state).toMatchObject({ state: 'running', persistent: true, source: dom.disk });
    expect(await sameContent(dom.disk, storePath(`${snap.imageName}.qcow2`))).toBe(true);
    expect(await restoreLeftovers(dom.disk)).toEqual([]);
    expect(leftoversOf(result.workflowId, dom.name)).toEqual([]);
  });

  it('as a new domain from a Glance image (gold image): defined, running, same content as the image', async () => {
    const dom = await makeDomain('gold', { sizeMiB: 64 });
    await guestWrite(dom.name, 8, 2, 0x42);
    const inFile = await snapshot(dom.name);
    const inGlance = await snapshot(dom.name, 'glance');
    const clone = `${host()}-gold-clone`;

    const r = await vmsnap(['restore', inGlance.imageId, '--host', host(), '--store', 'glance', '--as-new', clone, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = r.json<RestoreResult>();
    expect(result).toMatchObject({ domain: clone, asNew: true, imageId: inGlance.imageId, started: true });
    const state = await domainState(clone);
    expect(state).toMatchObject({ state: 'running', persistent: true, source: result.diskPath });
    // The template (the image's source domain) gave its memory.
    expect(await virsh('dominfo', clone)).toMatch(/Max memory:\s+65536 KiB/);
    expect(await sameContent(result.diskPath, storePath(`${inFile.imageName}.qcow2`))).toBe(true);

    const again = await vmsnap(['restore', inGlance.imageId, '--host', host(), '--store', 'glance', '--as-new', clone, '--json']);
    expect(again.code).toBe(1);
    expect(again.json<{ error: string }>().error).toMatch(/already exists on host/);
    expect((await domainState(clone)).state).toBe('running'); // the refusal removed nothing of it
  });

  it('the old disk stays until the new one boots: a restore stopped before the boot puts it back and starts the domain', async () => {
    const hostName = `${host()}-rstfault`;
    const dir = path.join(path.dirname(inject('stateDir')), hostName);
    const marker = path.join(dir, 'fault.json');
    const dom = await makeDomain('rstfault', { sizeMiB: 32 });
    // This host's worker hangs when the boot step starts (the new disk is in place, the old one kept).
    const worker = await spawnWorker(hostName, path.join(dir, 'state'), path.join(dir, 'images'), { VMSNAP_FAULT: 'before:bootDomain', VMSNAP_FAULT_MARKER: marker });
    try {
      await guestWrite(dom.name, 2, 1, 0x61);
      const snap = await vmsnap(['snapshot', dom.name, '--host', hostName, '--json']);
      expect(snap.code, snap.stderr).toBe(0);
      await guestWrite(dom.name, 2, 1, 0x62);
      const before = path.join(dom.dir, 'before.qcow2');
      await copyDisk(dom.disk, before);
      await withClient(async (client) => {
        const handle = await client.workflow.start('restoreInstance', {
          taskQueue: WORKFLOW_TASK_QUEUE,
          workflowId: `test-${hostName}-restore-${Date.now()}`,
          args: [{ host: hostName, image: snap.json<SnapshotResult>().imageName, domain: dom.name, shutdownGraceSeconds: 0 }],
        });
        for (let i = 0; !existsSync(marker); i++) {
          if (i > 600) throw new Error('the restore never reached its boot step');
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(JSON.parse(await readFile(marker, 'utf8'))).toMatchObject({ activity: 'bootDomain' });
        expect((await domainState(dom.name)).state).toBe('shut off');
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow();
      });
      // Back as it was: running, on its own disk, with its own content; nothing of the restore left.
      expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk });
      expect(await sameContent(dom.disk, before)).toBe(true);
      expect(await restoreLeftovers(dom.disk)).toEqual([]);
    } finally {
      worker.proc.kill('SIGKILL');
      await worker.proc;
    }
  });

  it('refuses a damaged image before touching the domain', async () => {
    const dom = await makeDomain('rstbad', { sizeMiB: 32 });
    const snap = await snapshot(dom.name);
    const file = storePath(`${snap.imageName}.qcow2`);
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from('bit rot'), 0, 7, 1 << 20);
    await fh.close();
    const before = path.join(dom.dir, 'before.qcow2');
    await copyDisk(dom.disk, before);

    const r = await vmsnap(['restore', snap.imageName, '--host', host(), '--domain', dom.name, '--grace', '0', '--json']);
    expect(r.code).toBe(1);
    expect(r.json<{ error: string }>().error).toMatch(/is damaged: .* hash to sha256 .* it was not used/);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', source: dom.disk });
    expect(await sameContent(dom.disk, before)).toBe(true);
    expect(await restoreLeftovers(dom.disk)).toEqual([]);
    expect(existsSync(path.join(inject('stateDir'), 'locks', `${dom.name}.lock.json`))).toBe(false);
  });

  it('names what is missing: an unknown image (exit 1) and a request with no target (exit 2)', async () => {
    const missing = await vmsnap(['restore', 'no-such-image', '--host', host(), '--domain', 'x', '--json']);
    expect(missing.code).toBe(1);
    expect(missing.json<{ error: string }>().error).toMatch(/store default on host .* has no finished image with ID or name no-such-image/);
    const noTarget = await vmsnap(['restore', 'img', '--host', host(), '--json']);
    expect(noTarget.code).toBe(2);
  });
});
