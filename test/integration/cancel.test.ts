import { execa } from 'execa';
import { expect, inject, it } from 'vitest';
import type { SnapshotProgress } from '../../common/result.js';
import { domainState, guestWrite, leftoversOf, makeDomain, startSnapshot, withClient } from './lab.js';
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
