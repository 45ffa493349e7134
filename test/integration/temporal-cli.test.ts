import { execa } from 'execa';
import { expect, inject, it } from 'vitest';
import type { SnapshotResult } from '../../common/result.js';
import { domainState, makeDomain, sameContent, workflowId } from './lab.js';
import { TEMPORAL_ADDRESS } from './stack.js';

it('an operator starts a snapshot with the plain Temporal CLI', async () => {
  const dom = await makeDomain('tcli', { sizeMiB: 64 });
  const id = workflowId('tcli');
  const temporal = inject('temporalBin');
  const input = JSON.stringify({ host: inject('host'), domain: dom.name });
  await execa(temporal, ['workflow', 'start', '--address', TEMPORAL_ADDRESS, '--type', 'snapshotInstance', '--task-queue', 'vmsnap', '--workflow-id', id, '--input', input]);
  const out = await execa(temporal, ['workflow', 'result', '--address', TEMPORAL_ADDRESS, '--workflow-id', id, '-o', 'json']);
  const parsed = JSON.parse(out.stdout) as { status: string; result: SnapshotResult };
  expect(parsed.status).toMatch(/COMPLETED/);
  expect(await sameContent(new URL(parsed.result.location).pathname, dom.disk)).toBe(true);
  expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true });

  // The Web UI filters on vmsnap's search attributes: the run is found by them.
  const list = await execa(temporal, ['workflow', 'list', '--address', TEMPORAL_ADDRESS, '--query', `VmsnapDomain = '${dom.name}' AND VmsnapMode = 'live'`, '-o', 'json']);
  expect(list.stdout).toContain(id);
});
