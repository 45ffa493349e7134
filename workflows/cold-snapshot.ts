import type { DomainFacts } from '../activities/index.js';
import type { SnapshotRequest } from '../common/request.js';
import type { HostActivityProfiles } from './host-activities.js';
import type { Saga } from './saga.js';
import type { StepTracker } from './step-tracker.js';

export interface ColdSnapshotInput {
  request: SnapshotRequest;
  facts: DomainFacts;
  /** Where the standalone image is written (the store's staging file). */
  stagingPath: string;
}

/**
 * The cold path, as Nova runs it: managedsave (the domain stops, its memory saved) → convert the
 * disk chain → start the domain again. The start happens before the image is stored, and as a
 * compensation on any failure: a cold snapshot never leaves stopped a domain that was running.
 * Returns the downtime in milliseconds (0 for a domain that was already off).
 */
export async function coldSnapshot(acts: HostActivityProfiles, saga: Saga, track: StepTracker, input: ColdSnapshotInput): Promise<number> {
  const { request, facts, stagingPath } = input;
  const { domain } = request;
  const disk = facts.disk.target;
  const source = facts.disk.sourceFile ?? '';
  const wasRunning = facts.state === 'running' || facts.state === 'paused';

  let downtimeStart = 0;
  let restart: ReturnType<Saga['register']> | undefined;
  if (wasRunning) {
    restart = saga.register('start the domain again', () => acts.undo.startDomain({ domain }));
    downtimeStart = Date.now();
    await track.run('managedsave', () => acts.quick.managedSave({ domain }));
  }

  await track.run('convert', () => acts.long.convertDisk({ domain, disk, source, dest: stagingPath, format: request.format }));

  if (!restart) return 0;
  await track.run('start', () => acts.quick.startDomain({ domain }));
  saga.settle(restart);
  return Date.now() - downtimeStart;
}
