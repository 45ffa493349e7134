import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { artifactTag } from '../../common/names.js';
import type { SnapshotProgress, SnapshotResult } from '../../common/result.js';
import { copyDisk, domainState, guestWrite, makeDomain, sameContent, spawnWorker, startSnapshot, withClient } from './lab.js';
import { TEMPORAL_ADDRESS } from './stack.js';

async function waitForCopy(query: () => Promise<SnapshotProgress>) {
  for (let p: SnapshotProgress | undefined; !(p?.step === 'blockcopy' && p.bytesDone > 0); ) {
    p = await query().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the host's worker again, lets it reconcile, stops it, and returns the report it printed. */
async function reconcileOnRestart(hostName: string, stateDir: string, storeDir: string): Promise<{ actions: string[]; problems: string[] }> {
  const worker = await spawnWorker(hostName, stateDir, storeDir);
  worker.proc.kill('SIGTERM');
  await worker.proc;
  const line = (await worker.text()).split('\n').find((l) => l.includes('reconcile')) ?? '';
  return JSON.parse(line.slice(line.indexOf('{'))) as { actions: string[]; problems: string[] };
}

describe('crashes', () => {
  it('the host worker is SIGKILLed mid-copy and restarted: the snapshot finishes, correct', async () => {
    const hostName = `${inject('host')}-crash`;
    const dir = path.join(path.dirname(inject('stateDir')), hostName);
    const dom = await makeDomain('crash-copy', { sizeMiB: 128 });
    await guestWrite(dom.name, 0, 24, 0x31);
    const first = await spawnWorker(hostName, path.join(dir, 'state'), path.join(dir, 'images'));
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { host: hostName, domain: dom.name, strategy: 'undefine', bandwidthMiBps: 4 });
      await waitForCopy(() => handle.query<SnapshotProgress>('progress'));
      first.proc.kill('SIGKILL');
      await first.proc;
      const expected = path.join(dom.dir, 'expected.qcow2');
      await copyDisk(dom.disk, expected);
      const second = await spawnWorker(hostName, path.join(dir, 'state'), path.join(dir, 'images'));
      try {
        const result = (await handle.result()) as SnapshotResult;
        expect(await sameContent(new URL(result.location).pathname, expected)).toBe(true);
      } finally {
        second.proc.kill('SIGTERM');
        await second.proc;
      }
    });
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
  });

  it('a terminated run (no compensation ran) is reconciled when the host worker starts', async () => {
    const hostName = `${inject('host')}-recon`;
    const dir = path.join(path.dirname(inject('stateDir')), hostName);
    const stateDir = path.join(dir, 'state');
    const dom = await makeDomain('recon', { sizeMiB: 128 });
    await guestWrite(dom.name, 0, 32, 0x52);
    const first = await spawnWorker(hostName, stateDir, path.join(dir, 'images'));
    let workflowId = '';
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { host: hostName, domain: dom.name, strategy: 'undefine', bandwidthMiBps: 2 });
      workflowId = handle.workflowId;
      await waitForCopy(() => handle.query<SnapshotProgress>('progress'));
    });
    first.proc.kill('SIGKILL');
    await first.proc;
    await execa(inject('temporalBin'), ['workflow', 'terminate', '--address', TEMPORAL_ADDRESS, '-w', workflowId, '--reason', 'test: leave the mess behind']);
    // The mess a hard stop leaves: a transient domain mid-copy, a delta, a held lock.
    expect(await domainState(dom.name)).toMatchObject({ persistent: false });
    expect((await domainState(dom.name)).blockJob).toMatch(/Block Copy/);
    const work = path.join(stateDir, 'work', artifactTag(workflowId));
    expect(existsSync(work)).toBe(true);

    const report = await reconcileOnRestart(hostName, stateDir, path.join(dir, 'images'));
    expect(report.problems).toEqual([]);
    const mine = report.actions.filter((a) => a.startsWith(workflowId));
    expect(mine).toEqual(expect.arrayContaining([expect.stringMatching(/aborted the block copy of vda/), expect.stringMatching(/defined the transient domain again/), expect.stringMatching(/released its domain lock/), expect.stringMatching(/removed its delta/)]));
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
    expect(existsSync(work)).toBe(false);
    expect(existsSync(path.join(stateDir, 'locks', `${dom.name}.lock.json`))).toBe(false);
  });

  it('a terminated cold snapshot left its domain running on an overlay: the worker merges it back at start', async () => {
    const hostName = `${inject('host')}-recold`;
    const dir = path.join(path.dirname(inject('stateDir')), hostName);
    const stateDir = path.join(dir, 'state');
    const marker = path.join(dir, 'fault.json');
    const dom = await makeDomain('recold', { sizeMiB: 64 });
    // Hangs once the domain has restarted on its overlay; then the run is killed and terminated.
    const first = await spawnWorker(hostName, stateDir, path.join(dir, 'images'), { VMSNAP_FAULT: 'after:startDomain', VMSNAP_FAULT_MARKER: marker });
    let workflowId = '';
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { host: hostName, domain: dom.name, mode: 'cold' });
      workflowId = handle.workflowId;
      for (let i = 0; !existsSync(marker); i++) {
        if (i > 600) throw new Error('the cold snapshot never restarted its domain');
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    first.proc.kill('SIGKILL');
    await first.proc;
    await execa(inject('temporalBin'), ['workflow', 'terminate', '--address', TEMPORAL_ADDRESS, '-w', workflowId, '--reason', 'test: leave the overlay behind']);
    const overlay = `${dom.disk}.vmsnap-overlay-${artifactTag(workflowId)}.qcow2`;
    expect((await domainState(dom.name)).source).toBe(overlay);
    await guestWrite(dom.name, 8, 1, 0x71); // lands in the overlay: must reach the disk
    const expected = path.join(dom.dir, 'expected.qcow2');
    await copyDisk(overlay, expected);

    const report = await reconcileOnRestart(hostName, stateDir, path.join(dir, 'images'));
    expect(report.problems).toEqual([]);
    expect(report.actions.filter((a) => a.startsWith(workflowId))).toEqual(expect.arrayContaining([expect.stringMatching(/merged its overlay back into/)]));
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
    expect(existsSync(overlay)).toBe(false);
    expect(await sameContent(dom.disk, expected)).toBe(true);
  });
});
