import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_STORE } from '../common/constants.js';
import { hostName, storeName } from '../common/names.js';
import { workflowTaskQueue, workflowTaskQueueName } from '../common/workflow-queue.js';

/** Where the Prometheus endpoint listens: an IPv4 or [IPv6] address and a port (no host names). */
export const metricsAddress = z
  .string()
  .regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, 'an address to listen on is ip:port, e.g. 0.0.0.0:9464 or [::]:9464')
  .refine((a) => Number(a.slice(a.lastIndexOf(':') + 1)) <= 65535, 'a port is at most 65535');

const cephTarget = z.object({ conf: z.string().min(1), id: z.string().regex(/^[A-Za-z0-9._-]+$/).optional() }).strict();

const fileStore = z.object({ type: z.literal('file'), path: z.string().min(1) }).strict();
/** A pool of an RBD cluster; without `conf` it is on the host's own cluster (`ceph`). */
const rbdStore = z.object({ type: z.literal('rbd'), pool: z.string().regex(/^[A-Za-z0-9._-]+$/), conf: z.string().min(1).optional(), id: z.string().optional() }).strict();
/** Keystone v3 credentials; secrets inline or (better) in a file only the worker can read. */
const keystoneAuth = z.discriminatedUnion('method', [
  z.object({ method: z.literal('password'), authUrl: z.url(), username: z.string().min(1), password: z.string().optional(), passwordFile: z.string().optional(), userDomain: z.string().optional(), projectName: z.string().min(1), projectDomain: z.string().optional() }).strict(),
  z.object({ method: z.literal('application_credential'), authUrl: z.url(), applicationCredentialId: z.string().min(1), applicationCredentialSecret: z.string().optional(), secretFile: z.string().optional() }).strict(),
]);
export type KeystoneAuthConfig = z.output<typeof keystoneAuth>;
/** Glance image API v2; without `auth` it is called unauthenticated (a lab or a trusted proxy). */
/** With `rbd`, Glance keeps images in that pool (its rbd backend): RBD disks are cloned in, as Nova does. */
const glanceStore = z
  .object({
    type: z.literal('glance'),
    url: z.url(),
    auth: keystoneAuth.optional(),
    tokenRefreshMarginSeconds: z.number().int().min(0).max(3600).optional(),
    rbd: z.object({ pool: z.string().regex(/^[A-Za-z0-9._-]+$/), conf: z.string().min(1).optional(), id: z.string().optional() }).strict().optional(),
  })
  .strict();
export const storeConfig = z.discriminatedUnion('type', [fileStore, rbdStore, glanceStore]);
export type StoreConfig = z.output<typeof storeConfig>;

/** The host worker's configuration file (JSON). Credentials for stores live here, never in workflows. */
export const workerConfigSchema = z
  .object({
    /** This hypervisor's name. @default the machine's hostname */
    host: hostName.optional(),
    /** @default 'qemu:///system' */
    libvirtUri: z.string().min(1).default('qemu:///system'),
    /** Deltas, saved XML and locks. @default '/var/lib/vmsnap' */
    stateDir: z.string().min(1).default('/var/lib/vmsnap'),
    /** How many heavy steps (block copy, convert, flatten, upload) this host runs at once. @default 2 */
    maxHeavySteps: z.number().int().min(1).max(64).default(2),
    /** The Ceph cluster of this host's RBD disks. @default none */
    ceph: cephTarget.optional(),
    /** Stores by name. @default { default: { type: 'file', path: '<stateDir>/images' } } */
    stores: z.record(storeName, storeConfig).optional(),
    /** Key ring file: encrypt every payload this worker writes to history (README: Payload encryption). @default none (plain JSON) */
    codecKeysFile: z.string().min(1).optional(),
    /** The workflow task queue this worker serves. @default 'vmsnap' */
    workflowTaskQueue: workflowTaskQueueName.optional(),
    /** Serve Prometheus metrics on this `ip:port`, path /metrics (README: Metrics and logs). @default off */
    metricsAddress: metricsAddress.optional(),
  })
  .strict();

export type WorkerConfig = Omit<z.output<typeof workerConfigSchema>, 'host' | 'stores' | 'workflowTaskQueue'> & {
  host: string;
  stores: Record<string, StoreConfig>;
  workflowTaskQueue: string;
};

/** Flags of `vmsnap worker` that override the file. */
export interface WorkerFlags {
  host?: string;
  stateDir?: string;
  storeDir?: string;
  maxHeavySteps?: string;
  codecKeys?: string;
  codecEndpoint?: string;
  workflowTaskQueue?: string;
  metricsAddress?: string;
}

/** Reads the config file (if any), applies flags over it, and fills in defaults. */
export function loadWorkerConfig(file: string | undefined, flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  let raw: unknown = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`cannot read worker config ${file}: ${(e as Error).message}`);
    }
  }
  const parsed = workerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`worker config ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ')}`);
  }
  const host = flags.host ?? parsed.data.host ?? os.hostname().split('.')[0] ?? 'localhost';
  const checked = hostName.safeParse(host);
  if (!checked.success) throw new Error(`host name '${host}': ${checked.error.issues[0]?.message ?? 'invalid'}`);
  const stateDir = path.resolve(flags.stateDir ?? parsed.data.stateDir);
  const stores: Record<string, StoreConfig> = { ...(parsed.data.stores ?? {}) };
  if (flags.storeDir || !stores[DEFAULT_STORE]) {
    stores[DEFAULT_STORE] = { type: 'file', path: path.resolve(flags.storeDir ?? path.join(stateDir, 'images')) };
  }
  for (const [name, s] of Object.entries(stores)) {
    const needsHostCeph = (s.type === 'rbd' && !s.conf) || (s.type === 'glance' && s.rbd !== undefined && !s.rbd.conf);
    if (needsHostCeph && !parsed.data.ceph) throw new Error(`worker config: store ${name} uses an RBD pool with no "conf", and there is no "ceph" section to take it from`);
  }
  const maxHeavySteps = flags.maxHeavySteps === undefined ? parsed.data.maxHeavySteps : Number(flags.maxHeavySteps);
  if (!Number.isInteger(maxHeavySteps) || maxHeavySteps < 1 || maxHeavySteps > 64) throw new Error(`--max-heavy-steps must be a whole number from 1 to 64, not ${flags.maxHeavySteps}`);
  // A worker encrypts with keys of its own: a codec server is for clients and the Web UI.
  if (flags.codecEndpoint) throw new Error('a worker does not use a codec server: give it the key ring itself (--codec-keys or VMSNAP_CODEC_KEYS)');
  const codecKeysFile = flags.codecKeys || env.VMSNAP_CODEC_KEYS || parsed.data.codecKeysFile;
  const workflowTaskQueueSetting = workflowTaskQueue(env, flags.workflowTaskQueue, parsed.data.workflowTaskQueue);
  const metrics = flags.metricsAddress === undefined ? undefined : metricsAddress.safeParse(flags.metricsAddress);
  if (metrics && !metrics.success) throw new Error(`--metrics-address ${flags.metricsAddress}: ${metrics.error.issues[0]?.message ?? 'invalid'}`);
  return { ...parsed.data, host, stateDir, stores, maxHeavySteps, codecKeysFile: codecKeysFile ? path.resolve(codecKeysFile) : undefined, workflowTaskQueue: workflowTaskQueueSetting, metricsAddress: metrics?.data ?? parsed.data.metricsAddress };
}
