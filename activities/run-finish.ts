import { createDomainLockActivities } from './domain-lock.js';
import type { HostContext } from './host-context.js';
import { createQemuImgActivities } from './qemu-img.js';
import { createStoreActivities } from './store.js';

/**
 * The end of a finished snapshot in one activity: its work folder and staging file go, then the
 * domain's lock. One activity instead of two saves a round trip through Temporal on every run.
 */
export function createRunFinishActivities(ctx: HostContext) {
  const lock = createDomainLockActivities(ctx);
  const files = createQemuImgActivities(ctx);
  const stores = createStoreActivities(ctx);
  return {
    /** Idempotent: each part is. The lock goes last, so the next run never finds this one's leftovers. */
    async finishRun({ domain, workflowId, tag, store }: { domain: string; workflowId: string; tag: string; store: string }): Promise<void> {
      await Promise.all([files.removeWorkDir({ tag }), stores.removeStaging({ store, tag })]);
      await lock.releaseDomainLock({ domain, workflowId });
    },
  };
}
