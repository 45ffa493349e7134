/**
 * Names and pure helpers of vmsnap's own metrics and log attributes, shared by the workflow
 * interceptors (sandboxed: no Node builtins here) and the host worker's activity interceptors.
 */

/** vmsnap's metrics, on the worker's Prometheus endpoint beside the Temporal SDK's (`temporal_*`). */
export const METRICS = {
  /** Counter: finished snapshot, backup and restore runs, by `outcome`, `mode`, `workflow_type`, `hypervisor`. */
  runs: 'vmsnap_snapshots',
  /** Counter: bytes the data-moving steps copied (their final progress), by `step` and `store`. */
  bytesMoved: 'vmsnap_bytes_moved',
  /** Histogram, in seconds: how long each step (activity attempt) took, by `step` and `outcome`. */
  stepDuration: 'vmsnap_step_duration',
} as const;

/** Bucket bounds of {@link METRICS.stepDuration}, in seconds: steps last from milliseconds to hours. */
export const STEP_DURATION_BUCKETS = [0.05, 0.25, 1, 5, 15, 60, 300, 900, 1800, 3600, 10800, 43200];

export type Outcome = 'succeeded' | 'failed' | 'cancelled';

/** The workflows counted in {@link METRICS.runs} (listing and deleting images are not runs). */
export const COUNTED_WORKFLOWS: ReadonlySet<string> = new Set(['snapshotInstance', 'backupInstance', 'restoreInstance']);

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The domain an activity's or a workflow's input is about: `domain`, else `source.domain` (an RBD
 * source snapshot), else `manifest.source.domain` (an image being stored). An image being read
 * (`image.source`) is not it: that names where the image came from, not what the run works on.
 */
export function domainOf(input: unknown): string | undefined {
  return text(field(input, 'domain')) ?? text(field(field(input, 'source'), 'domain')) ?? text(field(field(field(input, 'manifest'), 'source'), 'domain'));
}

/** The hypervisor a workflow's request names (`host`). */
export function hypervisorOf(input: unknown): string | undefined {
  return text(field(input, 'host'));
}

/** The `mode` label of a finished run: what the run did, else what it was asked to do. */
export function runMode(workflowType: string, request: unknown, result: unknown, modeAttribute: string | undefined): string {
  if (workflowType === 'restoreInstance') return field(request, 'asNew') ? 'restore-new' : 'restore';
  return text(field(result, 'mode')) ?? modeAttribute ?? text(field(request, 'mode')) ?? 'auto';
}

/** The tags of one {@link METRICS.runs} sample. */
export function runTags(workflowType: string, outcome: Outcome, mode: string, hypervisor: string | undefined): Record<string, string> {
  return { outcome, mode, workflow_type: workflowType, hypervisor: hypervisor ?? 'unknown' };
}
