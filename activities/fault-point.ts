import { writeFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';

/**
 * The chaos suite's hang: writes VMSNAP_FAULT_MARKER (what hit, in which run) and never returns,
 * so the test can SIGKILL the worker at that moment. Never reached unless VMSNAP_FAULT is set.
 */
export function hangForChaos(marker: string, what: { when: string; activity: string; workflowId: string }): Promise<never> {
  writeFileSync(marker, JSON.stringify(what));
  return new Promise<never>(() => undefined);
}

/**
 * A named point inside an activity where the chaos suite can stop the worker
 * (`VMSNAP_FAULT=at:<point>`, first attempt only): for the moments between an activity's start
 * and its end that matter, such as a domain paused by the run. A no-op otherwise.
 */
export async function faultPoint(point: string): Promise<void> {
  const marker = process.env.VMSNAP_FAULT_MARKER;
  if (process.env.VMSNAP_FAULT !== `at:${point}` || !marker) return;
  const info = Context.current().info;
  if (info.attempt === 1) await hangForChaos(marker, { when: 'at', activity: point, workflowId: info.workflowExecution?.workflowId ?? '' });
}
