import { ScheduleOverlapPolicy } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { parseBackupRequest } from '../../common/backup-request.js';
import { parseDeleteImageRequest, parseListImagesRequest } from '../../common/images-request.js';
import { parseRestoreRequest } from '../../common/restore-request.js';
import { parseScheduleRequest } from '../../common/schedule-request.js';
import { backupScheduleOptions } from '../../cli/schedule-options.js';

const problems = (r: { ok: boolean; problems?: string[] }) => (r.ok ? '' : (r.problems ?? []).join('\n'));

describe('backup, restore, image and schedule requests', () => {
  it('a backup is a snapshot request plus type and rotation', () => {
    const r = parseBackupRequest({ host: 'hv1', domain: 'vm1', backupType: 'daily', rotation: 7 });
    expect(r).toMatchObject({ ok: true, value: { host: 'hv1', domain: 'vm1', mode: 'auto', store: 'default', backupType: 'daily', rotation: 7 } });
    expect(problems(parseBackupRequest({ host: 'hv1', domain: 'vm1', backupType: 'daily', rotation: 0 }))).toMatch(/^rotation: rotation must be at least 1/m);
    expect(problems(parseBackupRequest({ host: 'hv1', domain: 'vm1', backupType: 'da ily', rotation: 2 }))).toMatch(/^backupType/m);
    expect(problems(parseBackupRequest({ host: 'hv1', domain: 'vm1', backupType: 'daily', rotation: 2, password: 'x' }))).toMatch(/^request: /m);
  });

  it('a restore names an image and a target, with safe defaults', () => {
    expect(parseRestoreRequest({ host: 'hv1', image: 'vm1-20261122T000000Z', domain: 'vm1' })).toEqual({
      ok: true,
      value: { host: 'hv1', store: 'default', image: 'vm1-20261122T000000Z', domain: 'vm1', asNew: false, start: true, shutdownGraceSeconds: 60 },
    });
    expect(problems(parseRestoreRequest({ host: 'hv1', image: '../etc/passwd', domain: 'vm1' }))).toMatch(/^image: /m);
    expect(problems(parseRestoreRequest({ host: 'hv1', image: 'x', domain: 'vm1', memoryMiB: 1 }))).toMatch(/^memoryMiB/m);
  });

  it('image listing and deletion are validated too', () => {
    expect(parseListImagesRequest({ host: 'hv1' }).ok).toBe(true);
    expect(problems(parseListImagesRequest({ host: 'hv1', store: '../x' }))).toMatch(/^store/m);
    expect(problems(parseDeleteImageRequest({ host: 'hv1', image: 'x' }))).toMatch(/^store/m);
  });

  it('a schedule takes exactly one of cron and every, and durations with units', () => {
    const backup = { host: 'hv1', domain: 'vm1', backupType: 'daily', rotation: 7 };
    expect(problems(parseScheduleRequest({ backup }))).toMatch(/^cron: give exactly one of cron and every/m);
    expect(problems(parseScheduleRequest({ backup, cron: ['0 3 * * *'], every: '1d' }))).toMatch(/^cron: give exactly one/m);
    expect(problems(parseScheduleRequest({ backup, every: '10' }))).toMatch(/^every: every must be a number with a unit/m);
    expect(parseScheduleRequest({ backup, every: '10s' }).ok).toBe(true);
  });

  it('the schedule starts backupInstance on the vmsnap queue, skips overlaps and catches up briefly', () => {
    const r = parseScheduleRequest({ backup: { host: 'hv1', domain: 'vm1', backupType: 'daily', rotation: 7 }, cron: ['0 3 * * *'], timezone: 'Europe/Paris', jitter: '15m' });
    if (!r.ok) throw new Error(r.problems.join('; '));
    const o = backupScheduleOptions(r.value);
    expect(o.scheduleId).toBe('backup-hv1-vm1-daily');
    expect(o.spec).toMatchObject({ cronExpressions: ['0 3 * * *'], timezone: 'Europe/Paris', jitter: '15m' });
    expect(o.action).toMatchObject({ type: 'startWorkflow', workflowType: 'backupInstance', taskQueue: 'vmsnap', workflowId: 'backup-hv1-vm1-daily' });
    expect(o.action.args?.[0]).toMatchObject({ host: 'hv1', domain: 'vm1', backupType: 'daily', rotation: 7 });
    expect(o.policies).toEqual({ overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '5m', pauseOnFailure: false });
  });
});
