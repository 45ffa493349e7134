import { Client, Connection } from '@temporalio/client';
import type { Command } from 'commander';
import type { ConnectionFlags, TemporalTarget } from '../common/temporal-config.js';
import { temporalTarget } from '../common/temporal-config.js';

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
    .option('--ui-url <url>', 'Web UI base URL for printed links (env TEMPORAL_UI_URL)');
}

export class Unreachable extends Error {}

/** A client for one command: connected, or an `Unreachable` that says what to do. */
export async function connectClient(flags: ConnectionFlags): Promise<{ client: Client; target: TemporalTarget; close: () => Promise<void> }> {
  let target: TemporalTarget;
  try {
    target = temporalTarget(process.env, flags);
  } catch (e) {
    throw new Unreachable(`Temporal connection settings are invalid: ${(e as Error).message}`);
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...target.connection, connectTimeout: '5s' });
  } catch (e) {
    throw new Unreachable(`cannot reach Temporal at ${target.address}: ${(e as Error).message}\n  start it (bash deploy/temporal-up.sh) or set TEMPORAL_ADDRESS / --address`);
  }
  return { client: new Client({ connection, namespace: target.namespace }), target, close: () => connection.close() };
}
