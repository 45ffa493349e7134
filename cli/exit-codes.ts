/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** The snapshot ran and failed (the message says why). */
  failed: 1,
  /** The request was invalid: nothing was started. */
  usage: 2,
  /** Temporal could not be reached. */
  unreachable: 3,
} as const;
