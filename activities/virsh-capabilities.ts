import type { HostContext } from './host-context.js';
import { supportsActiveCommit, supportsBackupApi, supportsTransientJob } from './virsh-output.js';

/** What this host's virsh can do, for the choice of a live strategy. */
export interface VirshCapabilities {
  transientJob: boolean;
  backup: boolean;
  /** `blockcommit --active`: an overlay on a running disk can be merged back (the `overlay` strategy). */
  activeCommit: boolean;
}

// The answers change only when libvirt is upgraded: asked once per worker and kept a few minutes
// (two virsh starts fewer per snapshot; after an upgrade the new answer arrives within the TTL).
const TTL_MS = 5 * 60_000;
const cache = new WeakMap<HostContext, { at: number; answer: Promise<VirshCapabilities> }>();

export function virshCapabilities(ctx: HostContext, step: string): Promise<VirshCapabilities> {
  const hit = cache.get(ctx);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.answer;
  const answer = Promise.all([
    ctx.run('virsh', ['help', 'blockcopy'], { context: { host: ctx.host, step } }),
    ctx.run('virsh', ['help', 'backup-begin'], { context: { host: ctx.host, step }, allowFailure: true }),
    ctx.run('virsh', ['help', 'blockcommit'], { context: { host: ctx.host, step } }),
  ]).then(([copy, backup, commit]) => ({
    transientJob: supportsTransientJob(copy.stdout),
    backup: backup.exitCode === 0 && supportsBackupApi(backup.stdout),
    activeCommit: supportsActiveCommit(commit.stdout),
  }));
  cache.set(ctx, { at: Date.now(), answer });
  answer.catch(() => cache.delete(ctx)); // a failed question is asked again next time
  return answer;
}
