import { ActivityFailure, ApplicationFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { hostTaskQueue } from '../common/constants.js';
import { permanentFailure } from '../common/failures.js';
import { HOST_PICKUP_TIMEOUT } from './host-activities.js';

/** Turns "no worker picked the task up" into an error that names the host and what to do. */
export async function whenHostAnswers<T>(host: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START) {
      throw permanentFailure(
        'HostUnavailable',
        `host ${host} has no live vmsnap worker: nothing picked up task queue ${hostTaskQueue(host)} within ${HOST_PICKUP_TIMEOUT}; start 'vmsnap worker --host ${host}' on that hypervisor`,
      );
    }
    throw err;
  }
}

/** The failure the workflow ends with: the step's own message, plus any compensation that failed. */
export function explain(err: unknown, failedCompensations: string[]): unknown {
  const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
  if (failedCompensations.length === 0) return cause;
  const message = `${(cause as Error).message}; and cleanup failed: ${failedCompensations.join('; ')}`;
  const type = cause instanceof ApplicationFailure ? (cause.type ?? 'CommandFailed') : 'CommandFailed';
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** The words of a failed step: an activity failure's own cause, not "Activity task failed". */
export function failureText(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
