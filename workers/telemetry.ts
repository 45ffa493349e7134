import type { Logger, LogLevel } from '@temporalio/common';
import type { RuntimeOptions } from '@temporalio/worker';
import { Runtime } from '@temporalio/worker';
import { METRICS, STEP_DURATION_BUCKETS } from '../common/telemetry.js';
import type { LogFormat } from './logger.js';
import { createLogger } from './logger.js';

export interface WorkerTelemetry {
  /** This worker's host name: a label of every metric and a field of every log line. */
  host: string;
  /** Serve Prometheus metrics on this `ip:port` (path `/metrics`). @default off */
  metricsAddress?: string;
  /** @default 'json' */
  logFormat?: LogFormat;
  /** @default 'INFO' */
  logLevel?: LogLevel;
}

/**
 * The SDK Core's own (native) log level for a worker logging at `level`: one step quieter, since
 * Core's INFO and DEBUG speak about every poll; WARN and ERROR pass as they are.
 */
export function coreLogLevel(level: LogLevel): LogLevel {
  return ({ TRACE: 'DEBUG', DEBUG: 'INFO', INFO: 'WARN', WARN: 'WARN', ERROR: 'ERROR' } as const)[level];
}

/** The Temporal Runtime's options: one logger for the SDK, Core (forwarded) and vmsnap; Prometheus if asked. */
export function runtimeOptions(t: WorkerTelemetry, logger: Logger): RuntimeOptions {
  const level = t.logLevel ?? 'INFO';
  return {
    logger,
    telemetryOptions: {
      logging: { filter: { core: coreLogLevel(level), other: 'ERROR' }, forward: {} },
      metrics: t.metricsAddress
        ? {
            globalTags: { host: t.host },
            prometheus: {
              bindAddress: t.metricsAddress,
              // Prometheus' conventions: counters end in _total, durations are in seconds and say so.
              countersTotalSuffix: true,
              unitSuffix: true,
              useSecondsForDurations: true,
              histogramBucketOverrides: { [METRICS.stepDuration]: STEP_DURATION_BUCKETS },
            },
          }
        : undefined,
    },
  };
}

/**
 * Installs the process's Temporal Runtime with vmsnap's logger and, when `metricsAddress` is set,
 * its Prometheus endpoint. Must run before any NativeConnection or Worker is made. Returns the
 * Runtime's logger (the same lines, in the same order, as the SDK's own).
 */
export function installTelemetry(t: WorkerTelemetry): Logger {
  const logger = createLogger({ host: t.host, format: t.logFormat, level: t.logLevel });
  Runtime.install(runtimeOptions(t, logger));
  return Runtime.instance().logger;
}
