import { proxyActivities } from '@temporalio/workflow';
import type { HostActivities } from '../activities/index.js';
import { hostHeavyTaskQueue, hostTaskQueue } from '../common/constants.js';

/** How long the first step waits for a worker on the host before the host counts as dead. */
export const HOST_PICKUP_TIMEOUT = '20s';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 };

/**
 * The activities of one hypervisor, in named timeout profiles. Every call goes to that host's own
 * task queue, so it runs on the worker pinned to the hypervisor that holds the domain.
 */
export function hostActivities(host: string) {
  const taskQueue = hostTaskQueue(host);
  return {
    /** First contact: a host without a live worker fails here, fast and by name. */
    firstContact: proxyActivities<HostActivities>({ taskQueue, scheduleToStartTimeout: HOST_PICKUP_TIMEOUT, startToCloseTimeout: '2m', retry }),
    /** Control-plane steps: a few libvirt calls each (commands heartbeat while they run). */
    quick: proxyActivities<HostActivities>({ taskQueue, startToCloseTimeout: '10m', heartbeatTimeout: '10s', retry }),
    /**
     * Data-moving steps, on the host's heavy queue (its worker caps how many run at once). They
     * heartbeat, so a dead worker is noticed in seconds; waiting for a slot costs no timeout.
     */
    long: proxyActivities<HostActivities>({ taskQueue: hostHeavyTaskQueue(host), startToCloseTimeout: '12h', heartbeatTimeout: '10s', retry }),
    /** Compensations: they must get through, so they retry for longer. */
    undo: proxyActivities<HostActivities>({ taskQueue, startToCloseTimeout: '10m', heartbeatTimeout: '10s', retry: { ...retry, maximumInterval: '1m', maximumAttempts: 30 } }),
  };
}

export type HostActivityProfiles = ReturnType<typeof hostActivities>;
