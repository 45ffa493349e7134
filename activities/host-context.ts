import path from 'node:path';
import type { StepProgressReport } from '../common/result.js';
import type { CommandRunner } from './command.js';
import type { CephTarget } from './rbd-cli.js';
import type { ImageStore } from './stores/image-store.js';

/** Everything a host worker's activities depend on: built once per worker process. */
export interface HostContext {
  /** This hypervisor's name, as in `vmsnap-host-<host>`. */
  host: string;
  /** libvirt connection URI. @default 'qemu:///system' */
  libvirtUri: string;
  /** Where this worker keeps deltas, saved XML and locks. @default '/var/lib/vmsnap' */
  stateDir: string;
  stores: ReadonlyMap<string, ImageStore>;
  /** The Ceph cluster this host's RBD disks live on, if any. */
  ceph?: CephTarget;
  run: CommandRunner;
  /** Tells a workflow how far its running step is (a signal); best effort. */
  reportProgress(workflowId: string, report: StepProgressReport): Promise<void>;
  /** Whether a workflow is still running: decides if a domain lock is stale. */
  isWorkflowRunning(workflowId: string): Promise<boolean>;
}

/** The folder of one run's artifacts on this host (named from its workflow ID's tag). */
export function workDir(ctx: HostContext, tag: string): string {
  return path.join(ctx.stateDir, 'work', tag);
}

/** What `work/<tag>/run.json` says: which workflow made the artifacts named by the tag. */
export interface RunClaim {
  workflowId: string;
  domain: string;
  since: string;
}

export function runFile(ctx: HostContext, tag: string): string {
  return path.join(workDir(ctx, tag), 'run.json');
}

/** The delta file a live snapshot copies the disk's top layer into. */
export function deltaPath(ctx: HostContext, tag: string, disk: string): string {
  return path.join(workDir(ctx, tag), `${disk}.delta.qcow2`);
}

/** Where the inactive XML saved before an undefine is kept on the host too. */
export function savedXmlPath(ctx: HostContext, tag: string): string {
  return path.join(workDir(ctx, tag), 'domain.inactive.xml');
}
