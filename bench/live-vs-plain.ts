/**
 * Live snapshot of a running domain, per disk case (size × overlay/flat, half random data): vmsnap
 * end to end through Temporal with `auto` (the overlay strategy here), with the backup API and with
 * the blockcopy strategy,
 * against the seeds' plain command sequence on the same disk (undefine, blockcopy --wait, abort,
 * define, convert to a temp file, copy into the store) and the floor (one qemu-img convert of the
 * chain into the store). Variants alternate A B C D E; medians; the page cache is primed first.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Client } from '@temporalio/client';
import { dropDomain, lab, makeDomain, orchestrationOverhead, rounds, StepTimes, V, withTemporal } from './lab.js';
import { fsyncPath } from '../activities/fsync-path.js';
import { hashFile } from '../activities/stores/hash-file.js';
import { alternate, median, prime } from './measure.js';

const cases = (process.env.VMSNAP_BENCH_CASES ?? '1024:overlay 1024:flat 4096:overlay 4096:flat').split(/\s+/).filter(Boolean);
const plainStore = path.join(lab, 'bench', 'plain-store');
const images = path.join(lab, 'bench', 'state', 'images');

async function runCase(spec: string, snapshot: Parameters<Parameters<typeof withTemporal>[0]>[0], client: Client) {
  const [size, layout] = spec.split(':') as [string, 'overlay' | 'flat'];
  const sizeMiB = Number(size);
  const domain = `bench-live-${sizeMiB}-${layout}`;
  const { dir, disk, base } = await makeDomain(domain, sizeMiB, layout);
  const chain = layout === 'overlay' ? [disk, base] : [disk];
  const steps = new StepTimes();
  const overhead: number[] = [];
  const dispatch: number[] = [];
  const perActivity: number[] = [];
  const autoRuns: { workflowId: string; steps: number }[] = [];
  let n = 0;
  const vmsnap = (strategy: string) => async () => {
    const r = await snapshot({ domain, name: `${domain}-${++n}`, strategy: strategy as 'auto' });
    if (strategy !== 'auto') return;
    steps.add(r);
    autoRuns.push({ workflowId: r.workflowId, steps: r.steps.length });
  };
  const plainSequence = async () => {
    const delta = path.join(dir, 'plain.delta.qcow2');
    const temp = path.join(dir, 'plain.snapshot.qcow2');
    const xmlFile = path.join(dir, 'plain.xml');
    await writeFile(xmlFile, (await execa('virsh', [...V, 'dumpxml', '--inactive', domain])).stdout);
    await execa('virsh', [...V, 'blockjob', domain, 'vda', '--abort'], { reject: false });
    const backing = layout === 'overlay' ? ['-b', base, '-F', 'qcow2'] : [];
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', ...backing, delta, `${sizeMiB}M`]);
    await execa('virsh', [...V, 'undefine', domain]);
    await execa('virsh', [...V, 'blockcopy', domain, 'vda', delta, ...(layout === 'overlay' ? ['--shallow'] : []), '--reuse-external', '--format', 'qcow2', '--wait']);
    await execa('virsh', [...V, 'blockjob', domain, 'vda', '--abort']);
    await execa('virsh', [...V, 'define', xmlFile]);
    await execa('qemu-img', ['convert', '-f', 'qcow2', '-O', 'qcow2', delta, temp]);
    await execa('cp', ['--sparse=always', temp, path.join(plainStore, 'plain.qcow2')]);
    await rm(delta);
    await rm(temp);
  };
  const floor = async () => {
    await execa('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'qcow2', disk, path.join(plainStore, 'floor.qcow2')]);
  };
  // What the store promises on top of the floor, done with plain commands: the image on disk
  // (fsync) and its sha256 (read back beside the flush), as vmsnap's store step did before.
  const durableFloor = async () => {
    const out = path.join(plainStore, 'durable.qcow2');
    await execa('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'qcow2', disk, out]);
    await Promise.all([fsyncPath(out), hashFile(out)]);
  };
  const reset = async () => {
    await rm(plainStore, { recursive: true, force: true });
    await mkdir(plainStore, { recursive: true });
    for (const f of await readdir(images).catch(() => [] as string[])) if (f.startsWith(`${domain}-`)) await rm(path.join(images, f));
    await prime(chain, images);
  };
  const times = await alternate({ vmsnap: vmsnap('auto'), 'vmsnap-backup': vmsnap('backup'), 'vmsnap-blockcopy': vmsnap('transient-job'), plain: plainSequence, floor, 'durable-floor': durableFloor }, rounds, reset);
  await dropDomain(domain);
  // Read after the timed runs, so fetching histories costs none of the measured time.
  for (const run of autoRuns) {
    const o = await orchestrationOverhead(client, run.workflowId, run.steps);
    overhead.push(o.perStepMs);
    perActivity.push(o.perActivityMs);
    dispatch.push(o.dispatchMs);
  }
  const m = (k: string) => median(times[k] ?? []);
  console.log(`\nlive snapshot, ${sizeMiB} MiB ${layout} disk (half random data), medians of ${rounds} alternated runs`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(17)} ${m(k).toFixed(2)} s   (runs: ${v.map((x) => x.toFixed(2)).join(', ')})`);
  console.log(`  vmsnap / floor = ${(m('vmsnap') / m('floor')).toFixed(2)}, vmsnap / durable floor = ${(m('vmsnap') / m('durable-floor')).toFixed(2)}, vmsnap / plain = ${(m('vmsnap') / m('plain')).toFixed(2)}, backup / floor = ${(m('vmsnap-backup') / m('floor')).toFixed(2)}, blockcopy / floor = ${(m('vmsnap-blockcopy') / m('floor')).toFixed(2)}, plain / floor = ${(m('plain') / m('floor')).toFixed(2)}`);
  steps.print('vmsnap (auto)', median);
  console.log(
    `  orchestration overhead (workflow wall − activity execution): median ${median(overhead).toFixed(1)} ms per named step, ${median(perActivity).toFixed(1)} ms per durable step (activity); activity dispatch (scheduled → started): median ${median(dispatch).toFixed(1)} ms`,
  );
  return `| ${sizeMiB} MiB ${layout} | ${m('vmsnap').toFixed(2)} | ${m('vmsnap-backup').toFixed(2)} | ${m('vmsnap-blockcopy').toFixed(2)} | ${m('plain').toFixed(2)} | ${m('floor').toFixed(2)} | ${m('durable-floor').toFixed(2)} | **${(m('vmsnap') / m('floor')).toFixed(2)}** | **${(m('vmsnap') / m('durable-floor')).toFixed(2)}** | **${(m('vmsnap') / m('plain')).toFixed(2)}** | ${median(overhead).toFixed(1)} / ${median(perActivity).toFixed(1)} |`;
}

const rows = await withTemporal(async (snapshot, client) => {
  const out: string[] = [];
  for (const c of cases) out.push(await runCase(c, snapshot, client));
  return out;
});
console.log('\n| disk | vmsnap auto (overlay) s | vmsnap backup API s | vmsnap blockcopy s | plain sequence s | floor s | durable floor s | vmsnap ÷ floor | vmsnap ÷ durable floor | vmsnap ÷ plain | overhead ms per named / durable step |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
