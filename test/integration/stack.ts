/** Where the integration suite's stack lives; shared by the global setup and the tests. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const LAB = process.env.VMSNAP_LAB ?? '/var/lib/vmsnap-lab';
// The suite runs its own dev server (ports apart from the demo's 7233/8233), so a demo worker
// left running with older code never picks up a test's workflow task.
export const TEMPORAL_PORT = process.env.VMSNAP_TEST_TEMPORAL_PORT ?? '7433';
export const TEMPORAL_UI_PORT = process.env.VMSNAP_TEST_TEMPORAL_UI_PORT ?? '8433';
export const TEMPORAL_ADDRESS = `127.0.0.1:${TEMPORAL_PORT}`;

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
