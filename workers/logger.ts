import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';
import { LogTimestamp } from '@temporalio/worker';
import { pino } from 'pino';

export type LogFormat = 'json' | 'pretty';
export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

export interface LoggerOptions {
  /** This worker's host name: on every line. */
  host: string;
  /** `json`: one JSON object per line (pino); `pretty`: one readable line. @default 'json' */
  format?: LogFormat;
  /** The least severe level written. @default 'INFO' */
  level?: LogLevel;
  /** Where each line goes (tests). @default stderr, written synchronously */
  write?: (line: string) => void;
}

/** `--log-level`: any case of TRACE, DEBUG, INFO, WARN, ERROR. */
export function parseLogLevel(value: string | undefined): LogLevel {
  if (value === undefined) return 'INFO';
  const level = value.toUpperCase() as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ').toLowerCase()}, not ${value}`);
  return level;
}

/** `--log-format`: json or pretty; without it, pretty on a terminal and json anywhere else (files, journald). */
export function parseLogFormat(value: string | undefined, isTty: boolean): LogFormat {
  if (value === undefined) return isTty ? 'pretty' : 'json';
  if (value !== 'json' && value !== 'pretty') throw new Error(`--log-format must be json or pretty, not ${value}`);
  return value;
}

/**
 * A log call's fields: its string-keyed metadata (undefined ones dropped) and its time, the SDK's own
 * when it has one (forwarded lines are buffered a little to be sorted by it).
 */
export function logFields(meta: LogMetadata | undefined, now = Date.now()): { time: string; fields: Record<string, unknown> } {
  const stamp = meta?.[LogTimestamp] as bigint | undefined;
  const time = new Date(typeof stamp === 'bigint' ? Number(stamp / 1_000_000n) : now).toISOString();
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta ?? {})) {
    // Core's lines carry an empty `spanContexts` (vmsnap does no tracing); other empty lists stay.
    if (v === undefined || (k === 'spanContexts' && Array.isArray(v) && v.length === 0)) continue;
    fields[k] = v;
  }
  return { time, fields };
}

function prettyValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
}

/** One readable line: `time LEVEL host message key=value …`. */
export function prettyLine(level: LogLevel, message: string, host: string, time: string, fields: Record<string, unknown>): string {
  const rest = Object.entries(fields).map(([k, v]) => ` ${k}=${prettyValue(v)}`);
  return `${time} ${level.padEnd(5)} ${host} ${message}${rest.join('')}\n`;
}

/** The worker's logger (the SDK's `Logger`): every line carries `host`, JSON by default. */
export function createLogger(options: LoggerOptions): Logger {
  const { host, format = 'json', level = 'INFO' } = options;
  const write = options.write;
  let emit: (level: LogLevel, message: string, meta?: LogMetadata) => void;
  if (format === 'json') {
    const p = pino(
      {
        level: level.toLowerCase(),
        base: { host },
        timestamp: false, // the time goes in with the fields: the SDK's, when it has one
        formatters: { level: (label) => ({ level: label }) },
        serializers: { error: pino.stdSerializers.err, err: pino.stdSerializers.err },
      },
      write ? { write } : pino.destination({ dest: 2, sync: true }),
    );
    emit = (lvl, message, meta) => {
      const { time, fields } = logFields(meta);
      p[lvl.toLowerCase() as Lowercase<LogLevel>]({ time, ...fields }, message);
    };
  } else {
    const min = LOG_LEVELS.indexOf(level);
    const out = write ?? ((line: string) => void process.stderr.write(line));
    emit = (lvl, message, meta) => {
      if (LOG_LEVELS.indexOf(lvl) < min) return;
      const { time, fields } = logFields(meta);
      out(prettyLine(lvl, message, host, time, fields));
    };
  }
  return {
    log: emit,
    trace: (m, meta) => emit('TRACE', m, meta),
    debug: (m, meta) => emit('DEBUG', m, meta),
    info: (m, meta) => emit('INFO', m, meta),
    warn: (m, meta) => emit('WARN', m, meta),
    error: (m, meta) => emit('ERROR', m, meta),
  };
}
