import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { permanentFailure } from '../common/failures.js';
import type { HostContext, RunClaim } from './host-context.js';
import { runFile, workDir } from './host-context.js';

interface LockHolder {
  workflowId: string;
  since: string;
}

/**
 * One snapshot per domain at a time, whatever workflow ID the caller chose: a lock file per domain
 * on its host, naming the workflow that holds it. A lock whose workflow is no longer running is
 * stale and taken over.
 */
export function createDomainLockActivities(ctx: HostContext) {
  const lockFile = (domain: string) => path.join(ctx.stateDir, 'locks', `${domain}.lock.json`);
  const holder = async (domain: string): Promise<LockHolder | null> => {
    try {
      return JSON.parse(await readFile(lockFile(domain), 'utf8')) as LockHolder;
    } catch {
      return null;
    }
  };

  return {
    /**
     * Takes the domain's lock and claims the run's tag: `work/<tag>/run.json` names the workflow, so
     * every artifact named by the tag (delta, staging file, RBD snapshot) can be traced back to it.
     */
    async acquireDomainLock({ domain, workflowId, tag }: { domain: string; workflowId: string; tag: string }): Promise<void> {
      const current = await holder(domain);
      if (current && current.workflowId !== workflowId && (await ctx.isWorkflowRunning(current.workflowId))) {
        throw permanentFailure(
          'SnapshotInProgress',
          `domain ${domain} on host ${ctx.host} already has a snapshot in flight (workflow ${current.workflowId}, since ${current.since}): wait for it, or cancel it with 'temporal workflow cancel -w ${current.workflowId}'`,
        );
      }
      // The claim first: if this worker dies now, the reconciler knows whose folder it is.
      await mkdir(workDir(ctx, tag), { recursive: true, mode: 0o700 });
      await writeFile(runFile(ctx, tag), JSON.stringify({ workflowId, domain, since: new Date().toISOString() } satisfies RunClaim));
      if (current?.workflowId === workflowId) return;
      await mkdir(path.dirname(lockFile(domain)), { recursive: true });
      const tmp = `${lockFile(domain)}.${process.pid}.${Date.now()}`;
      await writeFile(tmp, JSON.stringify({ workflowId, since: new Date().toISOString() }));
      await rename(tmp, lockFile(domain));
      // Two runs racing for a stale lock: the last rename wins, the other one learns it here.
      const after = await holder(domain);
      if (after?.workflowId !== workflowId) {
        throw permanentFailure('SnapshotInProgress', `domain ${domain} on host ${ctx.host} was just locked by workflow ${after?.workflowId ?? '?'}`);
      }
    },

    async releaseDomainLock({ domain, workflowId }: { domain: string; workflowId: string }): Promise<void> {
      const current = await holder(domain);
      if (current?.workflowId === workflowId) await rm(lockFile(domain), { force: true });
    },
  };
}
