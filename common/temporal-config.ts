import type { NativeConnectionOptions } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';

/**
 * Connection settings, read exactly as the Temporal CLI reads them: a profile of its TOML config
 * file (TEMPORAL_CONFIG_FILE, default ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE), then
 * the TEMPORAL_* environment variables, then command-line flags. Flags are applied as the
 * environment variables of the same meaning, so each setting has one precedence rule.
 */
export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  profile?: string;
  configFile?: string;
  apiKey?: string;
  tls?: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
  uiUrl?: string;
}

export interface TemporalTarget {
  /** @default '127.0.0.1:7233' */
  address: string;
  /** @default 'default' */
  namespace: string;
  /** Base URL of the Web UI, for links printed to operators. @default 'http://127.0.0.1:8233' */
  uiUrl: string;
  /** What Connection.connect / NativeConnection.connect take: address, TLS, API key, gRPC metadata. */
  connection: NativeConnectionOptions & { address: string };
}

const FLAG_ENV: [keyof ConnectionFlags, string][] = [
  ['address', 'TEMPORAL_ADDRESS'],
  ['namespace', 'TEMPORAL_NAMESPACE'],
  ['configFile', 'TEMPORAL_CONFIG_FILE'],
  ['apiKey', 'TEMPORAL_API_KEY'],
  ['tlsCertPath', 'TEMPORAL_TLS_CLIENT_CERT_PATH'],
  ['tlsKeyPath', 'TEMPORAL_TLS_CLIENT_KEY_PATH'],
  ['tlsCaPath', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'],
  ['tlsServerName', 'TEMPORAL_TLS_SERVER_NAME'],
];

export function temporalTarget(env: NodeJS.ProcessEnv = process.env, flags: ConnectionFlags = {}): TemporalTarget {
  const vars: Record<string, string> = {};
  // An empty variable counts as unset, as in a shell's `VAR= command`.
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') vars[k] = v;
  for (const [flag, name] of FLAG_ENV) {
    const v = flags[flag];
    if (typeof v === 'string' && v !== '') vars[name] = v;
  }
  if (flags.tls) vars.TEMPORAL_TLS = 'true';
  const loaded = loadClientConnectConfig({ profile: flags.profile, overrideEnvVars: vars });
  const address = loaded.connectionOptions.address ?? '127.0.0.1:7233';
  return {
    address,
    namespace: loaded.namespace ?? 'default',
    uiUrl: (flags.uiUrl ?? vars.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233').replace(/\/+$/, ''),
    connection: { ...loaded.connectionOptions, address },
  };
}

/** Temporal could not be reached with these settings (address, TLS, API key): exit code 3 in the CLI. */
export class TemporalUnreachable extends Error {}

/** What to say when a connection fails: where, why, and the settings to check. */
export function unreachableMessage(t: TemporalTarget, err: unknown): string {
  const tls = t.connection.tls ? ' over TLS' : '';
  return `cannot reach Temporal at ${t.address}${tls}: ${(err as Error).message}\n  check TEMPORAL_ADDRESS, the TLS settings (TEMPORAL_TLS_*: client certificate and key, server CA, server name) and TEMPORAL_API_KEY, or start it (bash deploy/temporal-up.sh)`;
}

export function workflowUiLink(t: TemporalTarget, workflowId: string): string {
  return `${t.uiUrl}/namespaces/${encodeURIComponent(t.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
