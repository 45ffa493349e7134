import type { Readable, Writable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { execa } from 'execa';
import { permanentFailure, transientFailure } from '../common/failures.js';

/** Where a command runs, for error messages: host, domain, disk and step as far as known. */
export interface CommandContext {
  host: string;
  step: string;
  domain?: string;
  disk?: string;
}

export interface CommandOptions {
  context: CommandContext;
  /** Return a failed result instead of throwing, for callers that recognise "already done" cases. */
  allowFailure?: boolean;
  /** Called with each chunk of stdout (for progress parsing). */
  onStdout?: (chunk: string) => void;
  /** Called with each chunk of stderr (rbd prints its progress there). */
  onStderr?: (chunk: string) => void;
  /** Streams stdout's bytes here instead of keeping them (e.g. image data to hash). */
  stdoutBytes?: (chunk: Buffer) => void;
  /** Pipes stdout into this stream instead of keeping it, with backpressure (one command feeding another). */
  stdoutTo?: Writable;
  /** Pipes this stream into the command's stdin (the command otherwise gets none). */
  stdin?: Readable;
  cancelSignal?: AbortSignal;
  timeoutMs?: number;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs one command with an argument array (never a shell). Fakes implement this in unit tests. */
export type CommandRunner = (file: string, args: readonly string[], options: CommandOptions) => Promise<CommandResult>;

export function describeContext(c: CommandContext): string {
  const parts = [`host ${c.host}`];
  if (c.domain) parts.push(`domain ${c.domain}`);
  if (c.disk) parts.push(`disk ${c.disk}`);
  parts.push(`step ${c.step}`);
  return parts.join(', ');
}

/** The last meaningful line of a command's error output: what virsh, qemu-img and rbd say last is the cause. */
export function lastErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/**
 * The one place where a failed command becomes a Temporal failure. Failures stay retryable:
 * callers that know a failure is permanent say so with `permanentFailure` themselves.
 */
export function commandFailure(file: string, args: readonly string[], result: CommandResult, c: CommandContext) {
  const cause = lastErrorLine(result.stderr) || lastErrorLine(result.stdout) || 'no error output';
  if (/No space left on device/i.test(result.stderr)) {
    // Retrying cannot make room, and on the cold path every retry is downtime: fail now.
    return permanentFailure('NoSpace', `${file} ${args.slice(0, 3).join(' ')} failed (${describeContext(c)}): ${cause}: free space there or use another store`);
  }
  return transientFailure(
    'CommandFailed',
    `${file} ${args.slice(0, 3).join(' ')} failed (${describeContext(c)}): exit ${result.exitCode}: ${cause}`,
  );
}

/** Heartbeats the current activity (if any) every 2 s while a command runs: a worker that dies
 * mid-command is then noticed within the heartbeat timeout, whatever the step. */
function heartbeatWhileRunning(): () => void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return () => undefined; // not inside an activity (reconcile at worker start, tools)
  }
  const timer = setInterval(() => ctx.heartbeat(), 2000);
  return () => clearInterval(timer);
}

export const execaRunner: CommandRunner = async (file, args, options) => {
  const stopBeating = heartbeatWhileRunning();
  try {
    return await runCommand(file, args, options);
  } finally {
    stopBeating();
  }
};

const runCommand: CommandRunner = async (file, args, options) => {
  const child = execa(file, args, {
    reject: false,
    stdin: options.stdin ? 'pipe' : 'ignore',
    cancelSignal: options.cancelSignal,
    timeout: options.timeoutMs,
    env: { LC_ALL: 'C' },
    buffer: { stdout: !options.stdoutBytes && !options.stdoutTo, stderr: true },
    // Image data streamed to a hash or to another command: no text decoding on the way (a third faster here).
    ...(options.stdoutBytes || options.stdoutTo ? { encoding: 'buffer' as const } : {}),
  });
  const { onStdout, onStderr, stdoutBytes, stdoutTo, stdin } = options;
  if (stdoutTo) child.stdout?.pipe(stdoutTo);
  if (stdin && child.stdin) stdin.pipe(child.stdin);
  if (onStdout) child.stdout?.on('data', (d: Buffer) => onStdout(d.toString()));
  if (stdoutBytes) child.stdout?.on('data', (d: Buffer) => stdoutBytes(d));
  if (onStderr) child.stderr?.on('data', (d: Buffer) => onStderr(d.toString()));
  const r = await child;
  if (r.isCanceled) throw permanentFailure('CommandFailed', `${file} was cancelled (${describeContext(options.context)})`);
  if (r.failed && r.exitCode === undefined) {
    // Not started at all (missing binary) or killed by a signal or timeout.
    const why = r.timedOut ? `timed out after ${options.timeoutMs} ms` : (r.signal ?? r.originalMessage ?? 'did not run');
    throw transientFailure('CommandFailed', `${file} ${args.slice(0, 2).join(' ')}: ${why} (${describeContext(options.context)})`);
  }
  const result: CommandResult = { exitCode: r.exitCode ?? 0, stdout: typeof r.stdout === 'string' ? r.stdout : '', stderr: String(r.stderr) };
  if (result.exitCode !== 0 && !options.allowFailure) throw commandFailure(file, args, result, options.context);
  return result;
};
