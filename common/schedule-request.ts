import { z } from 'zod';
import { backupRequestSchema } from './backup-request.js';
import { parseWith } from './validation.js';

/** A Temporal duration as operators type it: 30s, 10m, 24h, 7d. */
const duration = (what: string) =>
  z.string({ error: `${what} must be a string` }).regex(/^\d+(ms|s|m|h|d)$/, `${what} must be a number with a unit: ms, s, m, h or d (e.g. 10m)`);

/**
 * A scheduled backup: the backup request the schedule starts, plus when. Exactly one of `cron`
 * (one or more cron lines) and `every` is given.
 */
export const scheduleRequestSchema = z
  .object({
    /** @default 'backup-<host>-<domain>-<backupType>' */
    scheduleId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'schedule ID may hold letters, digits and . _ -').optional(),
    backup: backupRequestSchema,
    cron: z.array(z.string().min(1).max(200)).optional(),
    every: duration('every').optional(),
    /** Shifts interval runs, e.g. every 24h at offset 3h = 03:00 UTC. */
    offset: duration('offset').optional(),
    /** IANA time zone for cron lines. @default 'UTC' */
    timezone: z.string().regex(/^[A-Za-z0-9_+/-]{1,64}$/, 'timezone must be an IANA name such as Europe/Paris').default('UTC'),
    /** Random delay added to each run, so a fleet's backups do not all start on the same second. */
    jitter: duration('jitter').optional(),
    /** How late a missed run may still start after an outage (later ones are dropped, not stormed). @default '5m' */
    catchupWindow: duration('catchupWindow').default('5m'),
    paused: z.boolean().default(false),
    note: z.string().max(500).optional(),
  })
  .strict()
  .refine((r) => (r.cron?.length ? 1 : 0) + (r.every ? 1 : 0) === 1, { message: 'give exactly one of cron and every', path: ['cron'] });

export type ScheduleRequest = z.output<typeof scheduleRequestSchema>;

export const parseScheduleRequest = (input: unknown) => parseWith(scheduleRequestSchema, input);

export function defaultScheduleId(r: { host: string; domain: string; backupType: string }): string {
  return `backup-${r.host}-${r.domain}-${r.backupType}`;
}
