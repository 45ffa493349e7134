/**
 * Scale: 5 host workers (5 host names on this machine, each with its own domains and store), 50
 * snapshots started at once (10 per host: 2 running domains, live; 8 shut off, cold). All must
 * succeed; on every host no more heavy steps may overlap than its limit; prints snapshots/minute.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execa, type ResultPromise } from 'execa';
import { hostHeavyTaskQueue, WORKFLOW_TASK_QUEUE } from '../common/constants.js';
import type { SnapshotResult } from '../common/result.js';
import { temporalTarget } from '../common/temporal-config.js';
import { dropDomain, lab } from './lab.js';

const HOSTS = Number(process.env.VMSNAP_SCALE_HOSTS ?? 5);
const PER_HOST = Number(process.env.VMSNAP_SCALE_PER_HOST ?? 10);
const RUNNING_PER_HOST = Number(process.env.VMSNAP_SCALE_RUNNING_PER_HOST ?? 2);
const MAX_HEAVY = 2;
const root = path.join(lab, 'bench', 'scale');
const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';

async function startWorker(host: string): Promise<{ proc: ResultPromise }> {
  const state = path.join(root, host, 'state');
  await mkdir(state, { recursive: true });
  const log = path.join(root, host, 'worker.log');
  const proc = execa('node', [path.join(import.meta.dirname, '../cli/main.js'), 'worker', '--host', host, '--state-dir', state, '--no-workflows', '--max-heavy-steps', String(MAX_HEAVY)], {
    env: { TEMPORAL_ADDRESS: address },
    stdout: { file: log },
    stderr: { file: log },
    reject: false,
  });
  for (let i = 0; i < 300; i++) {
    const { stdout } = await execa('cat', [log], { reject: false });
    if (stdout.includes('polling')) return { proc };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`worker ${host} did not start: see ${log}`);
}

/** Largest number of heavy activities of one host that ran at the same time, from the histories. */
function maxOverlap(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d));
  return max;
}

async function main() {
  await rm(root, { recursive: true, force: true });
  const hosts = Array.from({ length: HOSTS }, (_, i) => `scale${i + 1}`);
  const domains: { host: string; domain: string }[] = [];
  for (const host of hosts) {
    for (let d = 0; d < PER_HOST; d++) {
      const domain = `${host}-vm${d}`;
      const running = d < RUNNING_PER_HOST;
      await execa('bash', [path.join(import.meta.dirname, '../../deploy/make-domain.sh'), domain, path.join(root, host, 'domains'), '64', 'flat', '32', running ? 'start' : 'nostart']);
      domains.push({ host, domain });
    }
  }
  const workers = await Promise.all(hosts.map(startWorker));
  const connection = await Connection.connect(temporalTarget(process.env).connection);
  const client = new Client({ connection });
  try {
    const t0 = Date.now();
    const handles = await Promise.all(
      domains.map(({ host, domain }) => client.workflow.start('snapshotInstance', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: `scale-${domain}-${t0}`, args: [{ host, domain }] })),
    );
    const outcomes = await Promise.allSettled(handles.map((h) => h.result() as Promise<SnapshotResult>));
    const wall = (Date.now() - t0) / 1000;
    const failed = outcomes.filter((o) => o.status === 'rejected');
    const done = outcomes.filter((o): o is PromiseFulfilledResult<SnapshotResult> => o.status === 'fulfilled').map((o) => o.value);

    const heavy: Record<string, [number, number][]> = {};
    for (const h of handles) {
      const history = await client.workflow.getHandle(h.workflowId).fetchHistory();
      const scheduled = new Map<string, string>();
      const started = new Map<string, number>();
      for (const e of history.events ?? []) {
        const id = String(e.eventId);
        const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
        if (e.activityTaskScheduledEventAttributes) scheduled.set(id, e.activityTaskScheduledEventAttributes.taskQueue?.name ?? '');
        if (e.activityTaskStartedEventAttributes) started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
        const end = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
        if (end) {
          const sid = String(end.scheduledEventId);
          const q = scheduled.get(sid) ?? '';
          const s = started.get(sid);
          if (s !== undefined && q.startsWith('vmsnap-heavy-')) (heavy[q] ??= []).push([s, at]);
        }
      }
    }
    console.log(`\nscale: ${HOSTS} host workers, ${domains.length} snapshots started at once (${RUNNING_PER_HOST} live + ${PER_HOST - RUNNING_PER_HOST} cold per host)`);
    console.log(`  succeeded ${done.length}, failed ${failed.length}, wall ${wall.toFixed(1)} s, ${((60 * done.length) / wall).toFixed(1)} snapshots/minute`);
    for (const host of hosts) console.log(`  ${host}: at most ${maxOverlap(heavy[hostHeavyTaskQueue(host)] ?? [])} heavy steps at once (limit ${MAX_HEAVY})`);
    for (const f of failed) console.log(`  FAILED: ${String(f.reason)}`);
    const modes = done.reduce<Record<string, number>>((acc, r) => ({ ...acc, [`${r.mode}${r.strategy ? `/${r.strategy}` : ''}`]: (acc[`${r.mode}${r.strategy ? `/${r.strategy}` : ''}`] ?? 0) + 1 }), {});
    console.log(`  paths: ${JSON.stringify(modes)}`);
    await writeFile(path.join(root, 'result.json'), JSON.stringify({ succeeded: done.length, failed: failed.length, wall, modes }, null, 2));
  } finally {
    await connection.close();
    for (const w of workers) w.proc.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.proc));
    for (const d of domains) await dropDomain(d.domain);
  }
}

await main();
