/** Task queue that the snapshot workflows run on (DESIGN.md: public contract). */
export const WORKFLOW_TASK_QUEUE = 'vmsnap';

/** Task queue that one hypervisor's host worker polls for activities. */
export function hostTaskQueue(host: string): string {
  return `vmsnap-host-${host}`;
}

/**
 * Task queue of one hypervisor's heavy steps (block copy, convert, flatten, upload): its worker
 * runs at most `maxHeavySteps` of them at once. (No host name can make it equal another host's
 * queue: `vmsnap-heavy-` and `vmsnap-host-` part at their ninth character.)
 */
export function hostHeavyTaskQueue(host: string): string {
  return `vmsnap-heavy-${host}`;
}

/** Keyword search attributes every snapshot run carries, so the Web UI can filter on them. */
export const SEARCH_ATTRIBUTE_NAMES = {
  host: 'VmsnapHost',
  domain: 'VmsnapDomain',
  mode: 'VmsnapMode',
} as const;

/** Names of the workflow message handlers (query and signal) that clients and activities use. */
export const PROGRESS_QUERY = 'progress';
export const PROGRESS_SIGNAL = 'stepProgress';

/** The store used when a request names none: the worker's embedded `file` store. */
export const DEFAULT_STORE = 'default';
