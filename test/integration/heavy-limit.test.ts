import path from 'node:path';
import { expect, inject, it } from 'vitest';
import { hostHeavyTaskQueue } from '../../common/constants.js';
import { guestWrite, makeDomain, spawnWorker, startSnapshot, withClient } from './lab.js';

type Ts = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;
const ms = (t: Ts) => (typeof t?.seconds === 'number' ? t.seconds : (t?.seconds?.toNumber() ?? 0)) * 1000 + (t?.nanos ?? 0) / 1e6;

it('a host runs at most maxHeavySteps heavy steps at once, whatever the number of snapshots', async () => {
  const hostName = `${inject('host')}-limit`;
  const dir = path.join(path.dirname(inject('stateDir')), hostName);
  const worker = await spawnWorker(hostName, path.join(dir, 'state'), path.join(dir, 'images'), {}, 1);
  try {
    const doms = await Promise.all([1, 2, 3].map((i) => makeDomain(`limit${i}`, { sizeMiB: 64 })));
    for (const d of doms) await guestWrite(d.name, 0, 16, 0x61);
    const intervals: { wf: string; type: string; start: number; end: number }[] = [];
    await withClient(async (client) => {
      const handles = await Promise.all(doms.map((d) => startSnapshot(client, { host: hostName, domain: d.name, bandwidthMiBps: 16 })));
      await Promise.all(handles.map((h) => h.result()));
      for (const h of handles) {
        const events = (await h.fetchHistory()).events ?? [];
        const scheduled = new Map<string, string>();
        const started = new Map<string, number>();
        for (const e of events) {
          const id = String(e.eventId);
          const s = e.activityTaskScheduledEventAttributes;
          if (s?.taskQueue?.name === hostHeavyTaskQueue(hostName)) scheduled.set(id, s.activityType?.name ?? '');
          const st = e.activityTaskStartedEventAttributes;
          if (st && scheduled.has(String(st.scheduledEventId))) started.set(String(st.scheduledEventId), ms(e.eventTime));
          const done = e.activityTaskCompletedEventAttributes;
          if (done && scheduled.has(String(done.scheduledEventId))) {
            const key = String(done.scheduledEventId);
            intervals.push({ wf: h.workflowId, type: scheduled.get(key) ?? '', start: started.get(key) ?? 0, end: ms(e.eventTime) });
          }
        }
      }
    });
    expect(intervals.length).toBeGreaterThanOrEqual(9); // blockCopy, convertDelta, commitImage × 3
    intervals.sort((a, b) => a.start - b.start);
    // The next step may be picked up while the previous one's completion is still on its way to
    // the server (the slot frees when the step returns): allow that much, far below any step's length.
    const inFlight = 150;
    for (let i = 1; i < intervals.length; i++) {
      const [prev, cur] = [intervals[i - 1], intervals[i]];
      expect(cur?.start ?? 0, `${cur?.type} of ${cur?.wf} started while ${prev?.type} of ${prev?.wf} ran`).toBeGreaterThanOrEqual((prev?.end ?? 0) - inFlight);
    }
  } finally {
    worker.proc.kill('SIGTERM');
    await worker.proc;
  }
});
