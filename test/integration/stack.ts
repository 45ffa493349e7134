/** Where the integration suite's stack lives; shared by the global setup and the tests. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter, LoadedDataConverter } from '@temporalio/common';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { clientCodec, clientDataConverter, workerDataConverter } from '../../common/codec/data-converter.js';
import { EncryptionCodec } from '../../common/codec/encryption-codec.js';
import { loadKeyRing } from '../../common/codec/key-ring.js';
import { temporalTarget } from '../../common/temporal-config.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const LAB = process.env.VMSNAP_LAB ?? '/var/lib/vmsnap-lab';
/**
 * The one switch between Temporal's two shapes: `dev` (the CLI's dev server, SQLite: the embedded
 * default) or `cluster` (the Temporal server on PostgreSQL behind mTLS, deploy/temporal-cluster-up.sh).
 */
export const TEMPORAL_SHAPE: 'dev' | 'cluster' = process.env.VMSNAP_TEST_TEMPORAL === 'cluster' ? 'cluster' : 'dev';
const cluster = TEMPORAL_SHAPE === 'cluster';
// The suite runs its own server (ports apart from the demo's 7233/8233), so a demo worker left
// running with older code never picks up a test's workflow task.
export const TEMPORAL_PORT = process.env.VMSNAP_TEST_TEMPORAL_PORT ?? (cluster ? '7933' : '7433');
export const TEMPORAL_UI_PORT = process.env.VMSNAP_TEST_TEMPORAL_UI_PORT ?? (cluster ? '8933' : '8433');
export const TEMPORAL_ADDRESS = `127.0.0.1:${TEMPORAL_PORT}`;
/** The lab PKI of deploy/make-certs.sh: CA, server, worker, operator and a rogue CA's intruder. */
export const PKI = path.join(LAB, 'pki');
const CLUSTER_ENV = path.join(LAB, 'temporal-cluster.env');
/**
 * In the cluster shape payloads are encrypted too, as a fleet in production would run: workers hold
 * this key ring; every other client (vmsnap CLI, Temporal CLI, the tests' SDK clients, the Web UI)
 * goes through the codec server on CODEC_ENDPOINT, as an operator without the keys would.
 */
export const CODEC_RING = path.join(LAB, 'codec', 'ring.json');
export const CODEC_ENDPOINT = `http://127.0.0.1:${Number(TEMPORAL_UI_PORT) + 1}`;

/**
 * In the cluster shape every process of the run speaks mTLS, as an operator's would: the settings
 * the cluster script wrote (the Temporal CLI's own TEMPORAL_* variables) go into this process's
 * environment, where SDK clients, the vmsnap CLI and the Temporal CLI all read them.
 */
export function useClusterSettings(): void {
  if (!cluster || !existsSync(CLUSTER_ENV)) return;
  for (const line of readFileSync(CLUSTER_ENV, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) process.env[m[1]] = m[2];
  }
  // The run's codec server lives only as long as the run: it is the suite's setting, not the cluster's.
  process.env.TEMPORAL_CODEC_ENDPOINT = CODEC_ENDPOINT;
}
useClusterSettings();

/** Connection options for the suite's Temporal, TLS included in the cluster shape. */
export function testConnection(): NativeConnectionOptions & { address: string } {
  return temporalTarget({ ...process.env, TEMPORAL_ADDRESS }).connection;
}

/** A host worker's connection settings: in the cluster shape it shows the worker's certificate and holds the keys. */
export function workerEnv(): Record<string, string> {
  return cluster
    ? { TEMPORAL_ADDRESS, TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(PKI, 'worker.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(PKI, 'worker.key'), ...workerCodecEnv() }
    : { TEMPORAL_ADDRESS };
}

/** The key ring setting a worker of the run needs (none in the dev shape). */
export function workerCodecEnv(): Record<string, string> {
  return cluster ? { VMSNAP_CODEC_KEYS: CODEC_RING } : {};
}

/** The data converter an SDK worker of a test needs to read the run's payloads (none in the dev shape). */
export function testWorkerDataConverter(): DataConverter | undefined {
  return cluster ? workerDataConverter(new EncryptionCodec(loadKeyRing(CODEC_RING))) : undefined;
}

/** The data converter an SDK client of a test uses: through the codec server in the cluster shape. */
export function testClientDataConverter(namespace = 'default'): LoadedDataConverter | undefined {
  const codec = clientCodec(process.env, {}, namespace);
  return codec ? clientDataConverter(codec) : undefined;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Host name of the worker this run started (unique per run, so runs never share a queue). */
    host: string;
    /** That worker's state folder and its default store folder. */
    stateDir: string;
    storeDir: string;
    /** A 16 MiB tmpfs store named 'tiny', for running out of space for real. */
    tinyStoreDir: string;
    /** Where this run's lab domains live. */
    domainsDir: string;
    /** The lab Ceph cluster's config (pools vms and images; frozen cannot hold RBD images). */
    cephConf: string;
    /** The cached Temporal CLI binary. */
    temporalBin: string;
  }
}
