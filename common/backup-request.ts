import { z } from 'zod';
import { backupType } from './names.js';
import { snapshotRequestSchema } from './request.js';
import { parseWith } from './validation.js';

/**
 * The argument of `backupInstance`: a snapshot request plus Nova's createBackup fields. The new
 * image gets the properties `backup_type` and `image_type: backup`; afterwards only the newest
 * `rotation` backups of that instance and type stay in the store.
 */
export const backupRequestSchema = snapshotRequestSchema
  .extend({
    /** daily, weekly, … : rotation counts backups of one type only. */
    backupType,
    /** How many backups of this type to keep, the new one included. */
    rotation: z.number({ error: 'rotation must be a number' }).int('rotation must be a whole number').min(1, 'rotation must be at least 1 (the new backup is kept)').max(1000, 'rotation is at most 1000'),
  })
  .strict();

export type BackupRequestInput = z.input<typeof backupRequestSchema>;
export type BackupRequest = z.output<typeof backupRequestSchema>;

export const parseBackupRequest = (input: unknown) => parseWith(backupRequestSchema, input);
