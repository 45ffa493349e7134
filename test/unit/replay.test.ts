import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkflowBundle } from '@temporalio/worker';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';

// Recorded histories (deploy/record-histories.sh) replayed against the workflow code as it is now:
// a change that would break runs in flight (a step added, removed or reordered without patched())
// fails here before it reaches a worker. README, "Upgrading workers safely".
const historiesDir = fileURLToPath(new URL('../replay/histories/', import.meta.url));
const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
// The workflow worker's own interceptor module (workers/host-worker.ts), so the replayed code is the
// code that runs.
const interceptorModules = [fileURLToPath(new URL('../../workflows/telemetry-interceptors.ts', import.meta.url))].filter((p) => existsSync(p));
const fixture = (name: string) => fileURLToPath(new URL(`../replay/fixtures/${name}.ts`, import.meta.url));
const files = readdirSync(historiesDir).filter((f) => f.endsWith('.json')).sort();
const history = (file: string): unknown => JSON.parse(readFileSync(historiesDir + file, 'utf8'));

// ERROR: the self-check's expected nondeterminism is logged by the SDK as a warning.
const logger = new DefaultLogger('ERROR');
Runtime.install({ logger });

describe('replay of recorded histories', () => {
  let current: WorkflowBundle;
  let unpatched: WorkflowBundle;
  let patched: WorkflowBundle;
  beforeAll(async () => {
    current = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: interceptorModules, logger });
    unpatched = await bundleWorkflowCode({ workflowsPath: fixture('unpatched-step'), logger });
    patched = await bundleWorkflowCode({ workflowsPath: fixture('patched-step'), logger });
  }, 180_000);

  it('has a history of every workflow type the worker serves', () => {
    const exported = [...readFileSync(workflowsPath, 'utf8').matchAll(/export \{([^}]+)\}/g)].flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim()));
    expect(exported.length).toBeGreaterThan(0);
    for (const type of exported) expect(files.some((f) => f.startsWith(`${type}-`)), `no recorded history of ${type} in ${historiesDir}`).toBe(true);
  });

  it.each(files)('%s replays on the current workflow code', async (file) => {
    await Worker.runReplayHistory({ workflowBundle: current, replayName: file }, history(file), file);
  }, 60_000);

  // The gate itself: a step added to snapshotInstance breaks every recorded snapshot, unless it is
  // behind patched() (test/replay/fixtures/).
  const snapshots = files.filter((f) => f.startsWith('snapshotInstance-'));
  it('fails when a step is added without patched() (the check is not vacuous)', async () => {
    expect(snapshots.length).toBeGreaterThan(0);
    for (const file of snapshots) {
      await expect(Worker.runReplayHistory({ workflowBundle: unpatched, replayName: 'unpatched' }, history(file), file), file).rejects.toBeInstanceOf(DeterminismViolationError);
    }
  }, 120_000);

  it('passes when the same step is behind patched()', async () => {
    for (const file of snapshots) await Worker.runReplayHistory({ workflowBundle: patched, replayName: 'patched' }, history(file), file);
  }, 120_000);
});
