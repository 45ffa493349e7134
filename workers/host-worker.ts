import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { execaRunner } from '../activities/command.js';
import type { HostContext } from '../activities/host-context.js';
import { createHostActivities } from '../activities/index.js';
import { reconcileHost } from '../activities/reconcile.js';
import { hostHeavyTaskQueue, hostTaskQueue, PROGRESS_SIGNAL, WORKFLOW_TASK_QUEUE } from '../common/constants.js';
import type { TemporalTarget } from '../common/temporal-config.js';
import type { WorkerConfig } from './config.js';
import { faultInjection } from './fault-injection.js';
import { buildStores } from './stores.js';

export interface HostWorkerOptions {
  config: WorkerConfig;
  temporal: TemporalTarget;
  /** Also serve the `vmsnap` workflow queue from this process. @default true */
  workflows?: boolean;
}

/** The workflow code: compiled JavaScript in a build, TypeScript when run from source. */
function workflowsPath(): string {
  const js = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
}

/**
 * Runs the host worker (activities on `vmsnap-host-<host>`) and, unless told otherwise, a workflow
 * worker on `vmsnap`, until the process is asked to stop.
 */
export async function runHostWorker({ config, temporal, workflows = true }: HostWorkerOptions): Promise<void> {
  const connection = await NativeConnection.connect(temporal.connection);
  const clientConnection = await Connection.connect(temporal.connection);
  const client = new Client({ connection: clientConnection, namespace: temporal.namespace });

  const ctx: HostContext = {
    host: config.host,
    libvirtUri: config.libvirtUri,
    stateDir: config.stateDir,
    stores: buildStores(config, execaRunner),
    ceph: config.ceph,
    run: execaRunner,
    reportProgress: async (workflowId, report) => {
      await client.workflow.getHandle(workflowId).signal(PROGRESS_SIGNAL, report);
    },
    isWorkflowRunning: async (workflowId) => {
      try {
        const d = await client.workflow.getHandle(workflowId).describe();
        return d.status.name === 'RUNNING';
      } catch {
        return false; // unknown to Temporal: nothing is running under that ID
      }
    },
  };

  // Before taking work: unwind what snapshots that will never resume left on this host.
  const report = await reconcileHost(ctx);
  console.error(`vmsnap worker: reconcile ${JSON.stringify(report)}`);

  const activities = createHostActivities(ctx);
  // The same activities on two queues: control steps (many at once) and heavy steps (at most
  // maxHeavySteps at once: the host's disks and network are shared by all its VMs).
  const activityQueues: [string, number][] = [
    [hostTaskQueue(config.host), 20],
    [hostHeavyTaskQueue(config.host), config.maxHeavySteps],
  ];
  const workers = await Promise.all(
    activityQueues.map(([taskQueue, slots]) =>
      Worker.create({ connection, namespace: temporal.namespace, taskQueue, activities, interceptors: { activity: faultInjection() }, maxConcurrentActivityTaskExecutions: slots }),
    ),
  );
  if (workflows) {
    workers.push(await Worker.create({ connection, namespace: temporal.namespace, taskQueue: WORKFLOW_TASK_QUEUE, workflowsPath: workflowsPath() }));
  }
  console.error(
    `vmsnap worker: host ${config.host} polling ${hostTaskQueue(config.host)}, ${hostHeavyTaskQueue(config.host)} (${config.maxHeavySteps} at once)${workflows ? ` and ${WORKFLOW_TASK_QUEUE}` : ''} at ${temporal.address}`,
  );
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}
