/**
 * Live snapshot of a running domain's 1 GiB disk (overlay on a base half full of random data):
 * vmsnap end to end through Temporal, against the seeds' plain command sequence on the same disk
 * (undefine, blockcopy --wait, abort, define, convert to a temp file, copy into the store), and
 * against the floor (one qemu-img convert of the chain into the store). Medians of alternated runs.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import { WORKFLOW_TASK_QUEUE } from '../common/constants.js';
import { alternate, median, prime } from './measure.js';

const host = process.env.VMSNAP_BENCH_HOST ?? 'bench';
const lab = process.env.VMSNAP_LAB ?? '/var/lib/vmsnap-lab';
const sizeMiB = Number(process.env.VMSNAP_BENCH_SIZE_MIB ?? 1024);
const rounds = Number(process.env.VMSNAP_BENCH_ROUNDS ?? 3);
const domain = `bench-live-${sizeMiB}`;
const dir = path.join(lab, 'bench', 'domains', domain);
const disk = path.join(dir, `${domain}.qcow2`);
const base = path.join(dir, `${domain}-base.qcow2`);
const plainStore = path.join(lab, 'bench', 'plain-store');
const V = ['-q', '-c', 'qemu:///system'];

async function plainSequence(): Promise<void> {
  const delta = path.join(dir, 'plain.delta.qcow2');
  const temp = path.join(dir, 'plain.snapshot.qcow2');
  const xml = (await execa('virsh', [...V, 'dumpxml', '--inactive', domain])).stdout;
  const xmlFile = path.join(dir, 'plain.xml');
  await writeFile(xmlFile, xml);
  await execa('virsh', [...V, 'blockjob', domain, 'vda', '--abort'], { reject: false });
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', delta, `${sizeMiB}M`]);
  await execa('virsh', [...V, 'undefine', domain]);
  await execa('virsh', [...V, 'blockcopy', domain, 'vda', delta, '--shallow', '--reuse-external', '--format', 'qcow2', '--wait']);
  await execa('virsh', [...V, 'blockjob', domain, 'vda', '--abort']);
  await execa('virsh', [...V, 'define', xmlFile]);
  await execa('qemu-img', ['convert', '-f', 'qcow2', '-O', 'qcow2', delta, temp]);
  await execa('cp', ['--sparse=always', temp, path.join(plainStore, 'plain.qcow2')]);
  await rm(delta);
  await rm(temp);
}

async function floor(): Promise<void> {
  await execa('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'qcow2', disk, path.join(plainStore, 'floor.qcow2')]);
}

async function main() {
  await execa('bash', [path.join(import.meta.dirname, '../../deploy/make-domain.sh'), domain, dir, String(sizeMiB), 'overlay', String(sizeMiB / 2)]);
  await mkdir(plainStore, { recursive: true });
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const client = new Client({ connection });
  let n = 0;
  const steps: Record<string, number[]> = {};
  const vmsnap = async () => {
    const handle = await client.workflow.start('snapshotInstance', {
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId: `bench-${domain}-${Date.now()}-${++n}`,
      args: [{ host, domain, name: `${domain}-${n}` }],
    });
    const r = (await handle.result()) as { steps: { name: string; ms: number }[] };
    for (const s of r.steps) (steps[s.name] ??= []).push(s.ms);
  };
  const reset = async () => {
    const images = path.join(lab, 'bench', 'state', 'images');
    await rm(plainStore, { recursive: true, force: true });
    await mkdir(plainStore, { recursive: true });
    for (const f of await readdir(images).catch(() => [] as string[])) if (f.startsWith(`${domain}-`)) await rm(path.join(images, f));
    await prime([disk, base]);
  };
  const times = await alternate({ vmsnap, plain: plainSequence, floor }, rounds, reset);
  await connection.close();

  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<'vmsnap' | 'plain' | 'floor', number>;
  console.log(`live snapshot, ${sizeMiB} MiB overlay disk (half random data), medians of ${rounds} alternated runs`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(8)} ${m[k as keyof typeof m].toFixed(2)} s   (runs: ${v.map((x) => x.toFixed(2)).join(', ')})`);
  console.log(`  vmsnap / plain sequence = ${(m.vmsnap / m.plain).toFixed(2)}`);
  console.log(`  vmsnap / floor          = ${(m.vmsnap / m.floor).toFixed(2)}`);
  console.log(`  plain  / floor          = ${(m.plain / m.floor).toFixed(2)}`);
  console.log('  vmsnap steps (median ms): ' + Object.entries(steps).map(([k, v]) => `${k} ${median(v)}`).join(', '));
  await execa('virsh', [...V, 'destroy', domain], { reject: false });
  await execa('virsh', [...V, 'undefine', domain], { reject: false });
}

await main();
