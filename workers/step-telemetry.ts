import type { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import { CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { Runtime } from '@temporalio/worker';
import { bytesMovedBy } from '../activities/bytes-tally.js';
import type { Outcome } from '../common/telemetry.js';
import { domainOf, METRICS } from '../common/telemetry.js';

/**
 * The domain of each recent run on this host, so the steps whose input names none (staging path,
 * cleanup, compensations) still log it: every run's first step (the domain lock) names it.
 */
export class RunDomains {
  private readonly byWorkflow = new Map<string, string>();
  constructor(private readonly max = 1000) {}

  /** The step's domain: its input's own, else the one an earlier step of the same run named. */
  resolve(workflowId: string | undefined, input: unknown): string | undefined {
    const named = domainOf(input);
    if (!workflowId) return named;
    if (!named) return this.byWorkflow.get(workflowId);
    this.byWorkflow.delete(workflowId); // re-inserted last: the map drops the oldest runs first
    this.byWorkflow.set(workflowId, named);
    if (this.byWorkflow.size > this.max) this.byWorkflow.delete(this.byWorkflow.keys().next().value as string);
    return named;
  }
}

/** The `store` label of a data-moving step: the kind of store it writes to, or `local` (the host's own disk). */
export function storeLabel(input: unknown, storeKind: (name: string) => string | undefined): string {
  const name = typeof input === 'object' && input !== null ? (input as { store?: unknown }).store : undefined;
  return (typeof name === 'string' && storeKind(name)) || 'local';
}

function outcomeOf(err: unknown, ctx: Context): Outcome {
  return err instanceof CancelledFailure || ctx.cancellationSignal.aborted ? 'cancelled' : 'failed';
}

export interface StepTelemetryDeps {
  /** The kind (file, glance, rbd) of a store configured on this worker. */
  storeKind: (name: string) => string | undefined;
  /** @default the Temporal Runtime's meter (the worker's Prometheus endpoint, or nothing) */
  meter?: MetricMeter;
}

/**
 * Activity interceptors of the host worker: each step (activity attempt) records its duration and
 * the bytes its progress reports reached, logs one `step finished` line, and every log line of
 * the step carries its `domain` and `runId` (the SDK adds the workflow ID, type and activity;
 * its task token is left out).
 */
export function stepTelemetry(deps: StepTelemetryDeps): ActivityInterceptorsFactory {
  const meter = deps.meter ?? Runtime.instance().metricMeter;
  const duration = meter.createHistogram(METRICS.stepDuration, 'float', 'seconds', 'How long each vmsnap step (activity attempt) took');
  const bytes = meter.createCounter(METRICS.bytesMoved, 'bytes', 'Bytes moved by vmsnap data-moving steps');
  const domains = new RunDomains();
  return (ctx) => {
    let attrs: Record<string, unknown> = {};
    return {
      inbound: {
        async execute(input, next) {
          const arg = input.args[0];
          const domain = domains.resolve(ctx.info.workflowExecution?.workflowId, arg);
          if (domain) attrs = { domain };
          const start = performance.now();
          let outcome: Outcome = 'succeeded';
          try {
            return await next(input);
          } catch (err) {
            outcome = outcomeOf(err, ctx);
            throw err;
          } finally {
            const seconds = (performance.now() - start) / 1000;
            const step = ctx.info.activityType;
            duration.record(seconds, { step, outcome });
            const moved = Math.round(bytesMovedBy(ctx));
            if (moved > 0) bytes.add(moved, { step, store: storeLabel(arg, deps.storeKind) });
            ctx.log.info('step finished', { outcome, durationMs: Math.round(seconds * 1000), ...(moved > 0 ? { bytesMoved: moved } : {}) });
          }
        },
      },
      outbound: {
        // The task token (a long base64 blob on every line) says nothing an operator can use.
        getLogAttributes: (input, next) => {
          const rest = { ...input };
          delete rest.taskToken;
          return next({ ...rest, runId: ctx.info.workflowExecution?.runId, ...attrs });
        },
      },
    };
  };
}
