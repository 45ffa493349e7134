import type { Client, WorkflowHandle } from '@temporalio/client';
import { SingleBar } from 'cli-progress';
import { PROGRESS_QUERY, WORKFLOW_TASK_QUEUE } from '../common/constants.js';
import type { SnapshotProgress } from '../common/result.js';
import { VMSNAP_DOMAIN, VMSNAP_HOST } from '../common/search-attributes.js';
import type { TemporalTarget } from '../common/temporal-config.js';
import { failureMessage } from './command-errors.js';
import { workflowUiLink } from '../common/temporal-config.js';

export interface StartSpec {
  workflowType: string;
  workflowId: string;
  arg: unknown;
  host: string;
  domain?: string;
  /** One line for the Web UI's memo column. */
  summary: string;
}

/** Starts a vmsnap workflow with its search attributes and memo; prints where to watch it. */
export async function startVmsnapWorkflow(client: Client, target: TemporalTarget, spec: StartSpec, quiet: boolean): Promise<{ handle: WorkflowHandle; link: string }> {
  const handle = await client.workflow.start(spec.workflowType, {
    taskQueue: WORKFLOW_TASK_QUEUE,
    workflowId: spec.workflowId,
    args: [spec.arg],
    typedSearchAttributes: [{ key: VMSNAP_HOST, value: spec.host }, ...(spec.domain ? [{ key: VMSNAP_DOMAIN, value: spec.domain }] : [])],
    memo: { request: spec.summary },
    staticSummary: spec.summary,
  });
  const link = workflowUiLink(target, spec.workflowId);
  if (!quiet) console.error(`started ${spec.workflowId}\n  Web UI: ${link}`);
  return { handle, link };
}

/**
 * Waits for the result, drawing a progress bar from the `progress` query on a terminal. A failed
 * run throws an error naming the workflow, the failing step's message and the Web UI page.
 */
export async function followWorkflow<T>(handle: WorkflowHandle, o: { showBar: boolean; what: string; link: string }): Promise<T> {
  const showBar = o.showBar;
  const bar = showBar && process.stderr.isTTY ? new SingleBar({ format: ' {step} [{bar}] {percentage}%', stream: process.stderr }) : undefined;
  bar?.start(100, 0, { step: 'queued'.padEnd(22) });
  // One query at a time, and none left in flight when the caller closes the connection.
  let inFlight: Promise<void> | undefined;
  const poll = bar
    ? setInterval(() => {
        inFlight ??= handle
          .query<SnapshotProgress>(PROGRESS_QUERY)
          .then((p) => bar.update(p.percent, { step: p.step.padEnd(22) }))
          .catch(() => undefined) // not started yet, or between tasks: the next poll will tell
          .finally(() => (inFlight = undefined));
      }, 500)
    : undefined;
  try {
    const result = (await handle.result()) as T;
    bar?.update(100, { step: 'done'.padEnd(22) });
    return result;
  } catch (e) {
    throw new Error(`${o.what} ${handle.workflowId} failed: ${failureMessage(e)}\n  details: ${o.link}`);
  } finally {
    clearInterval(poll);
    await inFlight;
    bar?.stop();
  }
}

export function stepsTable(steps: { name: string; ms: number }[]): string {
  return steps.map((s) => `    ${s.name.padEnd(24)} ${String(s.ms).padStart(7)} ms`).join('\n');
}
