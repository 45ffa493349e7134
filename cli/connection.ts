import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Command } from 'commander';
import type { CodecFlags } from '../common/codec/data-converter.js';
import { clientCodec, clientDataConverter } from '../common/codec/data-converter.js';
import { WORKFLOW_TASK_QUEUE } from '../common/constants.js';
import type { ConnectionFlags, TemporalTarget } from '../common/temporal-config.js';
import { temporalTarget, unreachableMessage } from '../common/temporal-config.js';
import { workflowTaskQueue } from '../common/workflow-queue.js';
import { retargetWorkflowQueue } from './workflow-queue.js';

/** The Temporal CLI's own connection flags, on a vmsnap command. */
export function withConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS)')
    .option('--namespace <ns>', 'Temporal namespace (env TEMPORAL_NAMESPACE)')
    .option('--profile <name>', "profile of the Temporal CLI's config file (env TEMPORAL_PROFILE)")
    .option('--config-file <path>', 'Temporal CLI config file (env TEMPORAL_CONFIG_FILE)')
    .option('--api-key <key>', 'API key (env TEMPORAL_API_KEY; turns TLS on)')
    .option('--tls', 'connect with TLS (env TEMPORAL_TLS)')
    .option('--tls-cert-path <file>', 'client certificate for mTLS (env TEMPORAL_TLS_CLIENT_CERT_PATH)')
    .option('--tls-key-path <file>', 'client key for mTLS (env TEMPORAL_TLS_CLIENT_KEY_PATH)')
    .option('--tls-ca-path <file>', 'CA that signed the server certificate (env TEMPORAL_TLS_SERVER_CA_CERT_PATH)')
    .option('--tls-server-name <name>', 'server name to verify (env TEMPORAL_TLS_SERVER_NAME)')
    .option('--ui-url <url>', 'Web UI base URL for printed links (env TEMPORAL_UI_URL)')
    .option('--codec-keys <file>', 'key ring: encrypt payloads in history (env VMSNAP_CODEC_KEYS; README: Payload encryption)')
    .option('--codec-endpoint <url>', 'codec server that encrypts and decrypts payloads (env TEMPORAL_CODEC_ENDPOINT)')
    .option('--codec-auth <value>', 'Authorization header for the codec server, e.g. "Bearer <token>" (env TEMPORAL_CODEC_AUTH)')
    .option('--workflow-task-queue <name>', 'workflow task queue of this fleet (env VMSNAP_WORKFLOW_TASK_QUEUE; default vmsnap)');
}

export class Unreachable extends Error {}

/** A client for one command: connected, or an `Unreachable` that says what to do. */
export async function connectClient(
  flags: ConnectionFlags & CodecFlags & { workflowTaskQueue?: string },
): Promise<{ client: Client; target: TemporalTarget; close: () => Promise<void> }> {
  let target: TemporalTarget;
  let codec: PayloadCodec | undefined;
  let queue: string;
  try {
    target = temporalTarget(process.env, flags);
    codec = clientCodec(process.env, flags, target.namespace);
    queue = workflowTaskQueue(process.env, flags.workflowTaskQueue);
  } catch (e) {
    throw new Unreachable(`Temporal connection settings are invalid: ${(e as Error).message}`);
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...target.connection, connectTimeout: '5s' });
  } catch (e) {
    throw new Unreachable(unreachableMessage(target, e));
  }
  const client = new Client({
    connection,
    namespace: target.namespace,
    dataConverter: codec ? clientDataConverter(codec) : undefined,
    interceptors: queue === WORKFLOW_TASK_QUEUE ? undefined : retargetWorkflowQueue(queue),
  });
  return { client, target, close: () => connection.close() };
}
