import { WorkflowFailedError } from '@temporalio/client';
import { EXIT } from './exit-codes.js';
import { Unreachable } from './connection.js';

/** Input refused at the edge: nothing was started. */
export class UsageError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** What a workflow's failure says: the failing step's own message, not the wrapper's. */
export function failureMessage(e: unknown): string {
  const message = e instanceof WorkflowFailedError ? (e.cause?.message ?? e.message) : ((e as Error).message ?? String(e));
  // The fleet encrypts payloads and this client holds no key: say how to read them.
  if (/Unknown encoding: binary\/encrypted/.test(message)) {
    return `${message}\n  this run's payloads are encrypted: give the key ring (--codec-keys FILE / VMSNAP_CODEC_KEYS) or a codec server (--codec-endpoint URL / TEMPORAL_CODEC_ENDPOINT)`;
  }
  return message;
}

/** Runs one command body and turns what it throws into a message and an exit code. */
export async function runAction(json: boolean | undefined, body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (e) {
    let code: number = EXIT.failed;
    let message = failureMessage(e);
    if (e instanceof UsageError) {
      code = EXIT.usage;
      message = `invalid request:\n  ${e.problems.join('\n  ')}`;
    } else if (e instanceof Unreachable) {
      code = EXIT.unreachable;
    }
    if (json) console.log(JSON.stringify({ error: message, exitCode: code }));
    console.error(`vmsnap: ${message}`);
    process.exitCode = code;
  }
}
