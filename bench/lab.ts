/** What every benchmark needs: the lab's paths, a domain of known content, a Temporal client. */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import { WORKFLOW_TASK_QUEUE } from '../common/constants.js';
import type { SnapshotRequestInput } from '../common/request.js';
import type { SnapshotResult } from '../common/result.js';

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

export async function dropDomain(name: string): Promise<void> {
  await execa('virsh', [...V, 'destroy', name], { reject: false });
  await execa('virsh', [...V, 'undefine', name], { reject: false });
}

export async function withTemporal<T>(fn: (snapshot: (req: Partial<SnapshotRequestInput>) => Promise<SnapshotResult>) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const client = new Client({ connection });
  let n = 0;
  try {
    return await fn(async (req) => {
      const handle = await client.workflow.start('snapshotInstance', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: `bench-${Date.now()}-${++n}`, args: [{ host, ...req }] });
      return (await handle.result()) as SnapshotResult;
    });
  } finally {
    await connection.close();
  }
}

export function report(title: string, times: Record<string, number[]>, median: (xs: number[]) => number, ratios: [string, string][]): void {
  console.log(`\n${title} (medians of ${rounds} alternated runs)`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(24)} ${median(v).toFixed(2)} s   (runs: ${v.map((x) => x.toFixed(2)).join(', ')})`);
  for (const [a, b] of ratios) console.log(`  ${`${a} / ${b}`.padEnd(40)} = ${(median(times[a] ?? []) / median(times[b] ?? [])).toFixed(2)}`);
}
