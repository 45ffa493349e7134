/** What every benchmark needs: the lab's paths, a domain of known content, a Temporal client. */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import { WORKFLOW_TASK_QUEUE } from '../common/constants.js';
import type { SnapshotRequestInput } from '../common/request.js';
import type { SnapshotResult } from '../common/result.js';
import { temporalTarget } from '../common/temporal-config.js';

export const host = process.env.VMSNAP_BENCH_HOST ?? 'bench';
export const lab = process.env.VMSNAP_LAB ?? '/var/lib/vmsnap-lab';
export const cephConf = process.env.CEPH_CONF ?? path.join(lab, 'ceph', 'ceph.conf');
export const rounds = Number(process.env.VMSNAP_BENCH_ROUNDS ?? 3);
export const V = ['-q', '-c', 'qemu:///system'];

export async function makeDomain(name: string, sizeMiB: number, layout: 'overlay' | 'flat' | 'rbd'): Promise<{ dir: string; disk: string; base: string }> {
  const dir = path.join(lab, 'bench', 'domains', name);
  await execa('bash', [path.join(import.meta.dirname, '../../deploy/make-domain.sh'), name, dir, String(sizeMiB), layout, String(sizeMiB / 2)], { env: { CEPH_CONF: cephConf } });
  return { dir, disk: path.join(dir, `${name}.qcow2`), base: path.join(dir, `${name}-base.qcow2`) };
}

/** Removes the images the benchmarks stored in the pool `images` (named bench-…), snapshots and all. */
export async function dropBenchImages(): Promise<void> {
  const rbd = (...args: string[]) => execa('rbd', ['--conf', cephConf, ...args], { reject: false });
  const names = (await rbd('ls', 'images')).stdout.split('\n').filter((x) => x.startsWith('bench-'));
  for (const x of names) {
    await rbd('snap', 'unprotect', `images/${x}@snap`);
    await rbd('snap', 'purge', '--no-progress', `images/${x}`);
    await rbd('rm', '--no-progress', `images/${x}`);
  }
}

export async function dropDomain(name: string): Promise<void> {
  await execa('virsh', [...V, 'destroy', name], { reject: false });
  await execa('virsh', [...V, 'undefine', name], { reject: false });
}

/**
 * Orchestration overhead of one finished run, from its history: the workflow's wall time minus
 * the time its activities spent executing (each activity's started → completed), per named step of
 * the result and per durable step (one activity: what Temporal schedules, records and hands over);
 * and the median time an activity waited between being scheduled and a worker starting it.
 */
export async function orchestrationOverhead(client: Client, workflowId: string, steps: number): Promise<{ perStepMs: number; perActivityMs: number; dispatchMs: number }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const ms = (t?: { seconds?: unknown; nanos?: number | null } | null) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
  const events = history.events ?? [];
  const scheduled = new Map<string, number>();
  const started = new Map<string, number>();
  const busy: [number, number][] = [];
  const dispatch: number[] = [];
  for (const e of events) {
    const at = ms(e.eventTime);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(String(e.eventId), at);
    const s = e.activityTaskStartedEventAttributes;
    if (s) {
      started.set(String(s.scheduledEventId), at);
      dispatch.push(at - (scheduled.get(String(s.scheduledEventId)) ?? at));
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c) busy.push([started.get(String(c.scheduledEventId)) ?? at, at]);
  }
  // Activities that run side by side (the merge beside the store step) count once: the union of their times.
  busy.sort((a, b) => a[0] - b[0]);
  let executing = 0;
  let reach = -Infinity;
  for (const [from, to] of busy) {
    if (to > reach) executing += to - Math.max(from, reach);
    reach = Math.max(reach, to);
  }
  const wall = ms(events[events.length - 1]?.eventTime) - ms(events[0]?.eventTime);
  dispatch.sort((a, b) => a - b);
  return {
    perStepMs: (wall - executing) / Math.max(steps, 1),
    perActivityMs: (wall - executing) / Math.max(started.size, 1),
    dispatchMs: dispatch[Math.floor(dispatch.length / 2)] ?? 0,
  };
}

export async function withTemporal<T>(fn: (snapshot: (req: Partial<SnapshotRequestInput>) => Promise<SnapshotResult>, client: Client) => Promise<T>): Promise<T> {
  // The Temporal CLI's settings (TLS too: deploy/bench.sh points them at the cluster with VMSNAP_BENCH_TEMPORAL=cluster).
  const connection = await Connection.connect(temporalTarget(process.env).connection);
  const client = new Client({ connection });
  let n = 0;
  try {
    return await fn(async (req) => {
      const handle = await client.workflow.start('snapshotInstance', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: `bench-${Date.now()}-${++n}`, args: [{ host, ...req }] });
      return (await handle.result()) as SnapshotResult;
    }, client);
  } finally {
    await connection.close();
  }
}

export function report(title: string, times: Record<string, number[]>, median: (xs: number[]) => number, ratios: [string, string][]): void {
  console.log(`\n${title} (medians of ${rounds} alternated runs)`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(24)} ${median(v).toFixed(2)} s   (runs: ${v.map((x) => x.toFixed(2)).join(', ')})`);
  for (const [a, b] of ratios) console.log(`  ${`${a} / ${b}`.padEnd(40)} = ${(median(times[a] ?? []) / median(times[b] ?? [])).toFixed(2)}`);
}

/** Each named step's times over the runs of a variant, printed as medians. */
export class StepTimes {
  private readonly byName: Record<string, number[]> = {};

  add(result: SnapshotResult): SnapshotResult {
    for (const s of result.steps) (this.byName[s.name] ??= []).push(s.ms);
    return result;
  }

  print(label: string, median: (xs: number[]) => number): void {
    console.log(`  ${label} steps, median ms: ` + Object.entries(this.byName).map(([k, v]) => `${k} ${median(v)}`).join(', '));
  }
}
