import { WorkflowFailedError } from '@temporalio/client';
import { readdirSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import type { SnapshotResult } from '../../common/result.js';
import { domainState, leftoversOf, makeDomain, runSnapshot, sameContent, startSnapshot, virsh, withClient } from './lab.js';

const managedSave = async (name: string) => /^Managed save:\s*yes/m.test(await virsh('dominfo', name));

describe('cold snapshot', () => {
  it('of a running domain: stops it, copies the disk, starts it again before storing', async () => {
    const dom = await makeDomain('cold-run', { sizeMiB: 128 });
    const result = await runSnapshot({ domain: dom.name, mode: 'cold' });
    expect(result.mode).toBe('cold');
    expect(result.downtimeMs).toBeGreaterThan(0);
    const names = result.steps.map((s) => s.name);
    expect(names.indexOf('start')).toBeLessThan(names.indexOf('store'));
    expect(names).toEqual(expect.arrayContaining(['managedsave', 'convert', 'start', 'store']));
    expect(await sameContent(new URL(result.location).pathname, dom.disk)).toBe(true);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk });
    expect(await managedSave(dom.name)).toBe(false);
  });

  it('of a stopped domain (auto): copies the disk and leaves the domain off', async () => {
    const dom = await makeDomain('cold-off', { sizeMiB: 64, start: false });
    const result = await runSnapshot({ domain: dom.name });
    expect(result).toMatchObject({ mode: 'cold', downtimeMs: 0 });
    expect(result.steps.map((s) => s.name)).not.toContain('managedsave');
    expect(await sameContent(new URL(result.location).pathname, dom.disk)).toBe(true);
    expect((await domainState(dom.name)).state).toBe('shut off');
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
