import type { ClientInterceptors } from '@temporalio/client';
import { WORKFLOW_TASK_QUEUE } from '../common/constants.js';

/**
 * Client interceptors that send what the commands start on `vmsnap` (workflows, schedules' actions)
 * to another workflow task queue instead, so every command follows `--workflow-task-queue`.
 */
export function retargetWorkflowQueue(queue: string): ClientInterceptors {
  const retarget = (taskQueue: string) => (taskQueue === WORKFLOW_TASK_QUEUE ? queue : taskQueue);
  return {
    workflow: [
      {
        startWithDetails: (input, next) => next({ ...input, options: { ...input.options, taskQueue: retarget(input.options.taskQueue) } }),
        signalWithStart: (input, next) => next({ ...input, options: { ...input.options, taskQueue: retarget(input.options.taskQueue) } }),
      },
    ],
    schedule: [
      {
        create: (input, next) => next({ ...input, options: { ...input.options, action: { ...input.options.action, taskQueue: retarget(input.options.action.taskQueue) } } }),
      },
    ],
  };
}
