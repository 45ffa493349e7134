import type { ScheduleOptions } from '@temporalio/client';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { WORKFLOW_TASK_QUEUE } from '../common/constants.js';
import type { ScheduleRequest } from '../common/schedule-request.js';
import { defaultScheduleId } from '../common/schedule-request.js';
import { VMSNAP_DOMAIN, VMSNAP_HOST } from '../common/search-attributes.js';

/**
 * The Temporal schedule of a scheduled backup. Overlap SKIP: a run due while the previous one of
 * this schedule still runs is skipped (the domain lock also keeps other schedules of the domain
 * from interleaving). A short catch-up window: after an outage, at most the runs due within it
 * start, not one per missed slot.
 */
export function backupScheduleOptions(r: ScheduleRequest): ScheduleOptions {
  const b = r.backup;
  const scheduleId = r.scheduleId ?? defaultScheduleId(b);
  return {
    scheduleId,
    spec: {
      ...(r.cron?.length ? { cronExpressions: r.cron } : { intervals: [{ every: r.every ?? '1d', offset: r.offset }] }),
      timezone: r.timezone,
      jitter: r.jitter,
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'backupInstance',
      // Temporal appends each run's scheduled time to this ID.
      workflowId: defaultScheduleId(b),
      taskQueue: WORKFLOW_TASK_QUEUE,
      args: [b],
      typedSearchAttributes: [
        { key: VMSNAP_HOST, value: b.host },
        { key: VMSNAP_DOMAIN, value: b.domain },
      ],
      memo: { request: `${b.backupType} backup of ${b.domain} on ${b.host} into ${b.store}, keep ${b.rotation}` },
      staticSummary: `scheduled ${b.backupType} backup of ${b.domain} on ${b.host}`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: r.catchupWindow, pauseOnFailure: false },
    state: { paused: r.paused, note: r.note },
    memo: { vmsnap: `${b.backupType} backup of ${b.domain} on ${b.host}, keep ${b.rotation}` },
  };
}
