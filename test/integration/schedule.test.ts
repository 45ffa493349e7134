import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import type { StoreListing } from '../../activities/images.js';
import type { BackupResult } from '../../workflows/backup-instance.js';
import { host, makeDomain, vmsnap, withClient } from './lab.js';
import { TEMPORAL_ADDRESS } from './stack.js';

/** Completed runs a schedule started, newest first, with their results. */
async function completedRuns(scheduleId: string): Promise<BackupResult[]> {
  return withClient(async (client) => {
    const results: BackupResult[] = [];
    for await (const w of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}' AND ExecutionStatus = 'Completed'` })) {
      results.push((await client.workflow.getHandle(w.workflowId, w.runId).result()) as BackupResult);
    }
    return results;
  });
}

async function waitForRuns(scheduleId: string, n: number, timeoutMs: number): Promise<BackupResult[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await completedRuns(scheduleId);
    if (runs.length >= n) return runs;
    if (Date.now() > deadline) throw new Error(`schedule ${scheduleId} completed ${runs.length} of ${n} runs in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('scheduled backups on Temporal Schedules (vmsnap schedule …)', () => {
  it('fires on its interval for real, rotates, and is listed, described, paused, unpaused, triggered and deleted', async () => {
    const dom = await makeDomain('sched', { sizeMiB: 32, layout: 'flat', start: false });
    const id = `backup-${dom.name}-often`;
    const created = await vmsnap(['schedule', 'create', '--host', host(), '--domain', dom.name, '--type', 'often', '--rotation', '2', '--every', '10s', '--id', id, '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.json<{ scheduleId: string; nextRun: string }>().scheduleId).toBe(id);
    try {
      const runs = await waitForRuns(id, 3, 120_000);
      expect(runs.every((r) => r.backupType === 'often' && r.rotation === 2)).toBe(true);

      const listed = await vmsnap(['images', 'list', '--host', host(), '--domain', dom.name, '--type', 'often', '--json']);
      const images = listed.json<StoreListing[]>().find((l) => l.store === 'default')?.images ?? [];
      expect(images.length).toBeLessThanOrEqual(2); // rotation held while the schedule kept firing
      expect(images.length).toBeGreaterThanOrEqual(1);

      const list = await vmsnap(['schedule', 'list', '--json']);
      expect(list.json<{ scheduleId: string }[]>().map((s) => s.scheduleId)).toContain(id);

      const described = await vmsnap(['schedule', 'describe', id, '--json']);
      const d = described.json<{ policies: { overlap: string; catchupWindow: number }; info: { numActionsTaken: number }; action: { workflowType: string } }>();
      expect(d.policies.overlap).toBe('SKIP');
      expect(d.policies.catchupWindow).toBe(5 * 60_000);
      expect(d.action.workflowType).toBe('backupInstance');
      expect(d.info.numActionsTaken).toBeGreaterThanOrEqual(3);

      expect((await vmsnap(['schedule', 'pause', id, '--note', 'maintenance'])).code).toBe(0);
      const paused = (await vmsnap(['schedule', 'describe', id, '--json'])).json<{ state: { paused: boolean; note: string } }>();
      expect(paused.state).toMatchObject({ paused: true, note: 'maintenance' });
      expect((await vmsnap(['schedule', 'unpause', id])).code).toBe(0);
      expect((await vmsnap(['schedule', 'describe', id, '--json'])).json<{ state: { paused: boolean } }>().state.paused).toBe(false);
    } finally {
      const deleted = await vmsnap(['schedule', 'delete', id]);
      expect(deleted.code, deleted.stderr).toBe(0);
    }
    const gone = await vmsnap(['schedule', 'describe', id, '--json']);
    expect(gone.code).toBe(1);
  });

  it("the README's plain `temporal schedule create` makes the same backup, run with `trigger`", async () => {
    const dom = await makeDomain('tsched', { sizeMiB: 32, layout: 'flat', start: false });
    const id = `backup-${host()}-${dom.name}-daily`;
    const temporal = (...args: string[]) => execa(inject('temporalBin'), [...args, '--address', TEMPORAL_ADDRESS], { reject: false });
    const input = JSON.stringify({ host: host(), domain: dom.name, backupType: 'daily', rotation: 7 });
    // The command the README documents, word for word but for the names.
    const created = await temporal(
      'schedule', 'create', '--schedule-id', id,
      '--cron', '0 3 * * *', '--time-zone', 'Europe/Paris', '--jitter', '15m',
      '--overlap-policy', 'Skip', '--catchup-window', '5m',
      '--workflow-id', id, '--task-queue', 'vmsnap', '--type', 'backupInstance',
      '--input', input,
      '--search-attribute', `VmsnapHost="${host()}"`, '--search-attribute', `VmsnapDomain="${dom.name}"`,
    );
    expect(created.exitCode, created.stderr).toBe(0);
    try {
      const trig = await vmsnap(['schedule', 'trigger', id]);
      expect(trig.code, trig.stderr).toBe(0);
      const [run] = await waitForRuns(id, 1, 90_000);
      expect(run).toMatchObject({ domain: dom.name, backupType: 'daily', rotation: 7 });
      const listed = await vmsnap(['schedule', 'list', '--json']);
      expect(listed.json<{ scheduleId: string }[]>().map((s) => s.scheduleId)).toContain(id);
    } finally {
      await temporal('schedule', 'delete', '--schedule-id', id);
    }
  });

  it('refuses a schedule with neither cron nor interval (exit 2), naming the field', async () => {
    const r = await vmsnap(['schedule', 'create', '--host', host(), '--domain', 'x', '--type', 'daily', '--rotation', '7', '--json']);
    expect(r.code).toBe(2);
    expect(r.json<{ error: string }>().error).toMatch(/cron: give exactly one of cron and every/);
  });
});
