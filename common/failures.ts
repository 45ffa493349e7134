import { ApplicationFailure } from '@temporalio/common';

/**
 * Every failure type vmsnap raises on purpose. Permanent ones are non-retryable: retrying cannot
 * fix them. `CommandFailed` is the transient default for a command that failed for no known reason.
 */
export type FailureType =
  | 'InvalidRequest'
  | 'HostUnavailable'
  | 'DomainNotFound'
  | 'DomainNotRunning'
  | 'UnsupportedDisk'
  | 'UnsupportedMode'
  | 'StoreNotFound'
  | 'StoreUnavailable'
  | 'ImageExists'
  | 'SnapshotInProgress'
  | 'ChecksumMismatch'
  | 'ImageNotFound'
  | 'ImageAmbiguous'
  | 'DomainExists'
  | 'RestoreFailed'
  | 'NoSpace'
  | 'CommandFailed';

/** A failure that retrying cannot fix: the message says what was wrong, where, and what to do. */
export function permanentFailure(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** A failure that may pass: Temporal retries it with backoff. */
export function transientFailure(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: false });
}
