/** Exit codes scripts can rely on (README lists them). */
export const EXIT = {
  ok: 0,
  /** The workflow ran and failed, or the thing asked for does not exist (the message says why). */
  failed: 1,
  /** The request was invalid: nothing was started. */
  usage: 2,
  /** Temporal could not be reached (or the connection settings are wrong). */
  unreachable: 3,
  /** Done, with something to look at: a backup whose rotation could not delete every old backup. */
  warnings: 4,
} as const;
