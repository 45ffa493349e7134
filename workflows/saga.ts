import { CancellationScope, log } from '@temporalio/workflow';

export interface Compensation {
  name: string;
  undo: () => Promise<unknown>;
  settled: boolean;
}

/**
 * The compensations of one run. Each is registered before the step it undoes (a step can half
 * happen), settled once the step's effect no longer needs undoing, and unwound in reverse order in
 * a scope that cancellation cannot interrupt.
 */
export class Saga {
  private readonly compensations: Compensation[] = [];

  register(name: string, undo: () => Promise<unknown>): Compensation {
    const c = { name, undo, settled: false };
    this.compensations.push(c);
    return c;
  }

  /** Registers a compensation that unwinds right after `anchor` (it undoes what `anchor`'s undo needs gone first). */
  registerBefore(anchor: Compensation, name: string, undo: () => Promise<unknown>): Compensation {
    const c = { name, undo, settled: false };
    const at = this.compensations.indexOf(anchor);
    this.compensations.splice(at < 0 ? this.compensations.length : at, 0, c);
    return c;
  }

  settle(c: Compensation): void {
    c.settled = true;
  }

  /** Runs every unsettled compensation, last first; one that fails does not stop the others. */
  async unwind(): Promise<string[]> {
    const failures: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const c of [...this.compensations].reverse()) {
        if (c.settled) continue;
        try {
          await c.undo();
          c.settled = true;
        } catch (err) {
          failures.push(`${c.name}: ${(err as Error).message}`);
          log.error('compensation failed', { compensation: c.name, error: (err as Error).message });
        }
      }
    });
    return failures;
  }
}
