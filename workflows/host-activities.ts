import type { ActivityInterfaceFor, ActivityOptions } from '@temporalio/workflow';
import { proxyActivities } from '@temporalio/workflow';
import type { HostActivities } from '../activities/index.js';
import { hostHeavyTaskQueue, hostTaskQueue } from '../common/constants.js';

/** How long the first step waits for a worker on the host before the host counts as dead. */
export const HOST_PICKUP_TIMEOUT = '20s';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 };

type Acts = ActivityInterfaceFor<HostActivities>;

/**
 * Activities under one set of options. With `label`, each call carries the current step's name as
 * its summary, so the Web UI shows "create delta" beside `createDelta` in the event history.
 */
function profile(options: ActivityOptions, label?: () => string): Acts {
  const plain = proxyActivities<HostActivities>(options);
  if (!label) return plain;
  return new Proxy(plain, {
    get(target, name) {
      // Not a thenable, not a symbol-keyed protocol: only activity names become calls.
      if (typeof name !== 'string' || name === 'then') return undefined;
      const fn = target[name as keyof Acts];
      return (...args: unknown[]) => fn.executeWithOptions({ ...options, summary: label() }, args as never);
    },
  });
}

/**
 * The activities of one hypervisor, in named timeout profiles. Every call goes to that host's own
 * task queue, so it runs on the worker pinned to the hypervisor that holds the domain.
 */
export function hostActivities(host: string, label?: () => string) {
  const taskQueue = hostTaskQueue(host);
  return {
    /** First contact: a host without a live worker fails here, fast and by name. */
    firstContact: profile({ taskQueue, scheduleToStartTimeout: HOST_PICKUP_TIMEOUT, startToCloseTimeout: '2m', retry }, label),
    /** Control-plane steps: a few libvirt calls each (commands heartbeat while they run). */
    quick: profile({ taskQueue, startToCloseTimeout: '10m', heartbeatTimeout: '10s', retry }, label),
    /**
     * Data-moving steps, on the host's heavy queue (its worker caps how many run at once). They
     * heartbeat, so a dead worker is noticed in seconds; waiting for a slot costs no timeout.
     */
    long: profile({ taskQueue: hostHeavyTaskQueue(host), startToCloseTimeout: '12h', heartbeatTimeout: '10s', retry }, label),
    /** Compensations: they must get through, so they retry for longer. */
    undo: profile({ taskQueue, startToCloseTimeout: '10m', heartbeatTimeout: '10s', retry: { ...retry, maximumAttempts: 30, maximumInterval: '1m' } }, label),
    /** Housekeeping whose failure is reported, not fatal (rotating old backups): a few tries only. */
    bestEffort: profile({ taskQueue, startToCloseTimeout: '10m', heartbeatTimeout: '10s', retry: { ...retry, maximumAttempts: 3 } }, label),
  };
}

export type HostActivityProfiles = ReturnType<typeof hostActivities>;
