import { defineQuery, defineSignal, setCurrentDetails, setHandler } from '@temporalio/workflow';
import { PROGRESS_QUERY, PROGRESS_SIGNAL } from '../common/constants.js';
import type { SnapshotProgress, StepProgressReport, StepTiming } from '../common/result.js';

export const progressQuery = defineQuery<SnapshotProgress>(PROGRESS_QUERY);
export const stepProgressSignal = defineSignal<[StepProgressReport]>(PROGRESS_SIGNAL);

/** Times each step and answers the `progress` query; long activities feed it byte counts. */
export class StepTracker {
  readonly steps: StepTiming[] = [];
  private progress: SnapshotProgress = { step: 'queued', percent: 0, bytesDone: 0, bytesTotal: 0 };

  constructor() {
    setHandler(progressQuery, () => this.progress);
    setHandler(stepProgressSignal, (r) => {
      if (r.step !== this.progress.step) return; // a late report from a step already over
      const percent = r.bytesTotal > 0 ? Math.min(100, Math.floor((100 * r.bytesDone) / r.bytesTotal)) : 0;
      this.progress = { step: r.step, percent, bytesDone: r.bytesDone, bytesTotal: r.bytesTotal };
    });
  }

  /** Runs one step under its name: the progress query shows it and the result lists its time. */
  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = Date.now();
    this.progress = { step: name, percent: 0, bytesDone: 0, bytesTotal: 0 };
    setCurrentDetails(`step: ${name}`);
    try {
      return await fn();
    } finally {
      this.steps.push({ name, ms: Date.now() - start });
    }
  }

  /** The step running now: activities scheduled by it carry its name as their summary in the UI. */
  get current(): string {
    return this.progress.step;
  }

  finish(): void {
    this.progress = { ...this.progress, step: 'done', percent: 100 };
  }
}
