import { createBackupJobActivities } from './backup-job.js';
import { createColdOverlayActivities } from './cold-overlay.js';
import { createDomainLockActivities } from './domain-lock.js';
import { createImageActivities } from './images.js';
import { createLiveOverlayActivities } from './live-overlay.js';
import { createRestoreActivities } from './restore.js';
import type { HostContext } from './host-context.js';
import { createPreflightActivities } from './preflight.js';
import { createQemuImgActivities } from './qemu-img.js';
import { createRbdActivities } from './rbd.js';
import { createRbdSetSnapActivities } from './rbd-set-snap.js';
import { createRunFinishActivities } from './run-finish.js';
import { createStoreActivities } from './store.js';
import { createVirshActivities } from './virsh.js';

/** All activities a host worker serves, built over its dependencies. */
export function createHostActivities(ctx: HostContext) {
  return {
    ...createPreflightActivities(ctx),
    ...createDomainLockActivities(ctx),
    ...createVirshActivities(ctx),
    ...createBackupJobActivities(ctx),
    ...createColdOverlayActivities(ctx),
    ...createLiveOverlayActivities(ctx),
    ...createQemuImgActivities(ctx),
    ...createStoreActivities(ctx),
    ...createRbdActivities(ctx),
    ...createRbdSetSnapActivities(ctx),
    ...createImageActivities(ctx),
    ...createRestoreActivities(ctx),
    ...createRunFinishActivities(ctx),
  };
}

/** The activity interface workflows import (type only: no activity code enters the sandbox). */
export type HostActivities = ReturnType<typeof createHostActivities>;
export type { DiskFacts, DomainFacts } from './preflight.js';
