import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { execaRunner } from '../activities/command.js';
import type { HostContext } from '../activities/host-context.js';
import { createHostActivities } from '../activities/index.js';
import { reconcileHost } from '../activities/reconcile.js';
import { clientDataConverter, workerDataConverter } from '../common/codec/data-converter.js';
import { EncryptionCodec } from '../common/codec/encryption-codec.js';
import { loadKeyRing } from '../common/codec/key-ring.js';
import { hostHeavyTaskQueue, hostTaskQueue, PROGRESS_SIGNAL } from '../common/constants.js';
import type { TemporalTarget } from '../common/temporal-config.js';
import { TemporalUnreachable, unreachableMessage } from '../common/temporal-config.js';
import type { WorkerConfig } from './config.js';
import { faultInjection } from './fault-injection.js';
import { stepTelemetry } from './step-telemetry.js';
import { buildStores } from './stores.js';

export interface HostWorkerOptions {
  config: WorkerConfig;
  temporal: TemporalTarget;
  /** Also serve the workflow queue (`vmsnap`, or config.workflowTaskQueue) from this process. @default true */
  workflows?: boolean;
}

/** The workflow code: compiled JavaScript in a build, TypeScript when run from source. */
function workflowsPath(): string {
  const js = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
}

/** The workflow interceptors (metrics, log attributes), bundled beside the workflow code. */
function workflowInterceptorsPath(): string {
  const js = fileURLToPath(new URL('../workflows/telemetry-interceptors.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('../workflows/telemetry-interceptors.ts', import.meta.url));
}

/**
 * Runs the host worker (activities on `vmsnap-host-<host>`) and, unless told otherwise, a workflow
 * worker on `vmsnap`, until the process is asked to stop.
 */
export async function runHostWorker({ config, temporal, workflows = true }: HostWorkerOptions): Promise<void> {
  // Payload encryption (opt-in): one codec for every worker here and for the client they signal through.
  const ring = config.codecKeysFile ? loadKeyRing(config.codecKeysFile) : undefined;
  const codec = ring ? new EncryptionCodec(ring) : undefined;
  const unreachable = (e: unknown) => {
    throw new TemporalUnreachable(unreachableMessage(temporal, e));
  };
  const connection = await NativeConnection.connect(temporal.connection).catch(unreachable);
  const clientConnection = await Connection.connect(temporal.connection).catch(unreachable);
  const client = new Client({ connection: clientConnection, namespace: temporal.namespace, dataConverter: codec ? clientDataConverter(codec) : undefined });
  const dataConverter = codec ? workerDataConverter(codec) : undefined;

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
  // The Runtime's logger (workers/telemetry.ts): JSON lines with this host, like the SDK's own.
  const log = Runtime.instance().logger;
  const report = await reconcileHost(ctx);
  log.info('reconcile', { ...report });

  const activities = createHostActivities(ctx);
  const telemetry = stepTelemetry({ storeKind: (name) => ctx.stores.get(name)?.kind });
  // The same activities on two queues: control steps (many at once) and heavy steps (at most
  // maxHeavySteps at once: the host's disks and network are shared by all its VMs).
  const activityQueues: [string, number][] = [
    [hostTaskQueue(config.host), 20],
    [hostHeavyTaskQueue(config.host), config.maxHeavySteps],
  ];
  const workers = await Promise.all(
    activityQueues.map(([taskQueue, slots]) =>
      Worker.create({ connection, namespace: temporal.namespace, taskQueue, activities, dataConverter, interceptors: { activity: [telemetry, ...faultInjection()] }, maxConcurrentActivityTaskExecutions: slots }),
    ),
  );
  if (workflows) {
    workers.push(await Worker.create({ connection, namespace: temporal.namespace, taskQueue: config.workflowTaskQueue, workflowsPath: workflowsPath(), dataConverter, interceptors: { workflowModules: [workflowInterceptorsPath()] } }));
  }
  log.info(
    `host ${config.host} polling ${hostTaskQueue(config.host)}, ${hostHeavyTaskQueue(config.host)} (${config.maxHeavySteps} at once)${workflows ? ` and ${config.workflowTaskQueue}` : ''} at ${temporal.address}${ring ? `, payloads encrypted with key ${ring.current} of ${ring.source}` : ''}`,
    config.metricsAddress ? { metrics: `http://${config.metricsAddress}/metrics` } : {},
  );
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}
