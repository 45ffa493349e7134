import { activityInfo, heartbeat } from '@temporalio/activity';
import { bytesTally } from './bytes-tally.js';
import type { HostContext } from './host-context.js';

/**
 * Returns a function that long steps call with their byte counts: it heartbeats a few times a second (so
 * a dead worker is noticed within the heartbeat timeout) and tells the workflow at most once a
 * second, while the step lasts.
 */
export function progressReporter(ctx: HostContext, step: string): (bytesDone: number, bytesTotal: number) => void {
  let workflowId: string | undefined;
  try {
    workflowId = activityInfo().workflowExecution?.workflowId;
  } catch {
    return () => undefined; // not inside an activity (the reconciler at worker start): nobody to tell
  }
  const tally = bytesTally(); // the step's bytes, for the worker's metrics
  // The first report waits a second and the last one is never sent: each report is a workflow task,
  // and one in flight when the step completes holds back the next step until it is done.
  let lastSent = Date.now();
  let lastBeat = 0;
  return (bytesDone, bytesTotal) => {
    tally(bytesDone);
    const now = Date.now();
    // Data streams call this per chunk (thousands of times a second): beat a few times a second.
    if (now - lastBeat < 200 && bytesDone < bytesTotal) return;
    lastBeat = now;
    heartbeat({ bytesDone, bytesTotal });
    if (!workflowId || now - lastSent < 1000 || bytesDone >= bytesTotal) return;
    lastSent = now;
    ctx.reportProgress(workflowId, { step, bytesDone, bytesTotal }).catch(() => {
      // Progress is informative only: a lost report must never fail the step.
    });
  };
}
