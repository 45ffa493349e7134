import { z } from 'zod';
import { WORKFLOW_TASK_QUEUE } from './constants.js';

/** A workflow task queue name other than `vmsnap` (a fleet of its own, e.g. one that encrypts payloads). */
export const workflowTaskQueueName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,200}$/, 'a workflow task queue name is 1 to 200 letters, digits and . _ -');

/**
 * The workflow task queue: `--workflow-task-queue`, else VMSNAP_WORKFLOW_TASK_QUEUE, else the
 * fallback (a worker's config file), else `vmsnap`. Workers and clients of one fleet must agree on
 * it (a worker decodes what it picks up, so a fleet that encrypts payloads needs workflow workers
 * that all hold its keys).
 */
export function workflowTaskQueue(env: NodeJS.ProcessEnv, flag?: string, fallback: string = WORKFLOW_TASK_QUEUE): string {
  const name = flag || env.VMSNAP_WORKFLOW_TASK_QUEUE || fallback;
  const checked = workflowTaskQueueName.safeParse(name);
  if (!checked.success) throw new Error(`workflow task queue '${name}': ${checked.error.issues[0]?.message ?? 'invalid'}`);
  return name;
}
