import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { DomainFacts, HostActivities } from '../../activities/index.js';
import { hostHeavyTaskQueue, hostTaskQueue } from '../../common/constants.js';
import { withClient, workflowId } from './lab.js';
import { testConnection, testWorkerDataConverter } from './stack.js';

/**
 * The workflow's compensation logic against the real Temporal server, with fake host activities
 * that record their calls (the workflow itself is the real one, served by the run's worker). Real
 * side effects are covered by the other integration tests.
 */
function fakeHost(failAt: keyof HostActivities, calls: string[]): Record<keyof HostActivities, (...a: unknown[]) => Promise<unknown>> {
  const facts: DomainFacts = {
    host: 'h',
    domain: 'vm1',
    state: 'running',
    persistent: true,
    backupSupported: false,
    storeKind: 'file',
    transientJobSupported: false,
    uuid: '00000000-0000-0000-0000-000000000001',
    rbdDirect: false,
    disk: { target: 'vda', kind: 'file', format: 'qcow2', sourceFile: '/d/vm1.qcow2', virtualSize: 1 << 20, backingFile: '/d/base.qcow2', backingFormat: 'qcow2' },
  };
  const results: Partial<Record<keyof HostActivities, unknown>> = {
    inspectDomain: facts,
    saveInactiveXml: '<domain/>',
    stagingPath: '/store/.partial',
    convertDelta: { sizeBytes: 1 },
    commitImage: { imageId: 'i', sha256: 'x', sizeBytes: 1, virtualSizeBytes: 1, location: 'file:///store/x' },
  };
  const names: (keyof HostActivities)[] = [
    'inspectDomain', 'acquireDomainLock', 'releaseDomainLock', 'abortStaleBlockJobs', 'saveInactiveXml', 'undefineDomain', 'defineDomain',
    'blockCopy', 'abortBlockJob', 'createDelta', 'convertDelta', 'removeWorkDir', 'stagingPath', 'commitImage', 'deleteStoredImage', 'removeStaging',
  ];
  return Object.fromEntries(
    names.map((name) => [
      name,
      (...args: unknown[]) => {
        const a = args[0] as { startIfStopped?: boolean } | undefined;
        calls.push(name === 'defineDomain' ? `${name}(start=${String(a?.startIfStopped)})` : name);
        if (name === failAt) return Promise.reject(ApplicationFailure.create({ type: 'CommandFailed', message: `injected failure in ${name}`, nonRetryable: true }));
        return Promise.resolve(results[name]);
      },
    ]),
  ) as Record<keyof HostActivities, (...a: unknown[]) => Promise<unknown>>;
}

async function runWithFakeHost(failAt: keyof HostActivities): Promise<{ calls: string[]; error: string }> {
  const host = `fake-${failAt}-${process.pid}-${Date.now().toString(36)}`;
  const calls: string[] = [];
  const connection = await NativeConnection.connect(testConnection());
  const activities = fakeHost(failAt, calls);
  const dataConverter = testWorkerDataConverter();
  const worker = await Worker.create({ connection, taskQueue: hostTaskQueue(host), activities, dataConverter });
  const heavy = await Worker.create({ connection, taskQueue: hostHeavyTaskQueue(host), activities, dataConverter });
  try {
    return await heavy.runUntil(() =>
      worker.runUntil(
      withClient(async (client) => {
        const handle = await client.workflow.start('snapshotInstance', { taskQueue: 'vmsnap', workflowId: workflowId(`saga-${failAt}`), args: [{ host, domain: 'vm1', strategy: 'undefine' }] });
        const err = await handle.result().then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(WorkflowFailedError);
        return { calls, error: (err as WorkflowFailedError).cause?.message ?? '' };
      }),
      ),
    );
  } finally {
    await connection.close();
  }
}

// Only warnings: these in-process workers start and stop once per test.
Runtime.install({ logger: new DefaultLogger('WARN') });

const forward = ['acquireDomainLock', 'inspectDomain', 'stagingPath', 'abortStaleBlockJobs', 'createDelta', 'saveInactiveXml', 'undefineDomain', 'blockCopy', 'abortBlockJob', 'defineDomain(start=false)', 'convertDelta', 'commitImage', 'removeWorkDir'];
const upTo = (step: string) => forward.slice(0, forward.indexOf(step) + 1);

describe('compensations unwind in reverse, only for steps taken', () => {
  it('a failure in the block copy aborts the job, defines the saved XML (starting the domain if it stopped) and deletes the delta', async () => {
    const { calls, error } = await runWithFakeHost('blockCopy');
    expect(error).toMatch(/injected failure in blockCopy/);
    expect(calls).toEqual([...upTo('blockCopy'), 'abortBlockJob', 'defineDomain(start=true)', 'removeWorkDir', 'deleteStoredImage', 'removeStaging', 'removeWorkDir', 'releaseDomainLock']);
  });

  it('a failure while storing deletes the stored image, the temp image and the delta, and leaves the defined domain alone', async () => {
    const { calls } = await runWithFakeHost('commitImage');
    expect(calls).toEqual([...upTo('commitImage'), 'removeWorkDir', 'deleteStoredImage', 'removeStaging', 'removeWorkDir', 'releaseDomainLock']);
  });

  it('a failure creating the delta deletes the half-made delta only', async () => {
    const { calls } = await runWithFakeHost('createDelta');
    expect(calls).toEqual([...upTo('createDelta'), 'removeWorkDir', 'deleteStoredImage', 'removeStaging', 'removeWorkDir', 'releaseDomainLock']);
  });

  it('a failure in the undefine itself still defines the saved XML again', async () => {
    const { calls } = await runWithFakeHost('undefineDomain');
    expect(calls).toEqual([...upTo('undefineDomain'), 'defineDomain(start=true)', 'removeWorkDir', 'deleteStoredImage', 'removeStaging', 'removeWorkDir', 'releaseDomainLock']);
  });
});
