/**
 * Cold snapshot downtime of a running domain, 1 GiB and 4 GiB flat disks (half random data):
 * vmsnap's cold path (save, switch to an overlay, restart, then copy) against the plain cold
 * sequence that Nova runs (managedsave, convert, start), both timed from libvirt's lifecycle
 * events: from the guest's pause at the start of the save to its resume after the restart.
 * vmsnap's own figure (`downtimeMs`, workflow time from asking for the save to the restart done)
 * is printed beside. Variants alternate; medians.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { alternate, median, prime } from './measure.js';
import { dropDomain, lab, makeDomain, rounds, StepTimes, V, withTemporal } from './lab.js';

/**
 * Runs `fn` while `virsh event` watches the domain and returns how long the guest was not running
 * (seconds): from the first Suspended or Stopped event to the last Resumed or Started one.
 */
async function eventDowntime(domain: string, fn: () => Promise<unknown>): Promise<number> {
  const watch = execa('virsh', [...V, 'event', '--domain', domain, '--event', 'lifecycle', '--loop', '--timestamp'], { reject: false });
  let out = '';
  watch.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await sleep(500); // virsh has registered for events (it prints nothing until the first one)
  try {
    await fn();
    for (let i = 0; i < 50 && !/\b(Resumed|Started)\b[^\n]*\n?$/.test(out.trim()); i++) await sleep(100);
  } finally {
    watch.kill();
    await watch;
  }
  const events = [...out.matchAll(/^(\S+ \S+?)\+0000: event 'lifecycle' for domain '[^']*': (\w+)/gm)].map((m) => ({ at: Date.parse(`${m[1]!.replace(' ', 'T')}Z`), kind: m[2]! }));
  const down = events.find((e) => e.kind === 'Suspended' || e.kind === 'Stopped');
  const up = events.filter((e) => e.kind === 'Resumed' || e.kind === 'Started').at(-1);
  if (!down || !up || up.at < down.at) throw new Error(`no downtime in the lifecycle events of ${domain}: ${out}`);
  return (up.at - down.at) / 1000;
}

const sizes = (process.env.VMSNAP_BENCH_COLD_SIZES ?? '1024 4096').split(/\s+/).map(Number);

const results = await withTemporal(async (snapshot) => {
  const out: Record<number, { vmsnap: number; plain: number }> = {};
  for (const sizeMiB of sizes) {
    const domain = `bench-cold-${sizeMiB}`;
    const { disk } = await makeDomain(domain, sizeMiB, 'flat');
    const down = { vmsnap: [] as number[], plain: [] as number[], reported: [] as number[] };
    const steps = new StepTimes();
    const tmp = path.join(lab, 'bench', `${domain}-plain.qcow2`);
    await alternate(
      {
        vmsnap: async () => {
          down.vmsnap.push(
            await eventDowntime(domain, async () => {
              const r = steps.add(await snapshot({ domain, mode: 'cold', name: `${domain}-${Date.now()}` }));
              down.reported.push(r.downtimeMs / 1000);
            }),
          );
        },
        plain: async () => {
          down.plain.push(
            await eventDowntime(domain, async () => {
              await execa('virsh', [...V, 'managedsave', domain]);
              await execa('qemu-img', ['convert', '-O', 'qcow2', disk, tmp]);
              await execa('virsh', [...V, 'start', domain]);
            }),
          );
          await rm(tmp, { force: true });
        },
      },
      rounds,
      () => prime([disk], path.dirname(disk)),
    );
    await dropDomain(domain);
    out[sizeMiB] = { vmsnap: median(down.vmsnap), plain: median(down.plain) };
    const runs = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    console.log(`\ncold downtime from lifecycle events, ${sizeMiB} MiB flat disk, medians of ${rounds}: vmsnap ${out[sizeMiB].vmsnap.toFixed(2)} s (${runs(down.vmsnap)}), plain ${out[sizeMiB].plain.toFixed(2)} s (${runs(down.plain)})`);
    console.log(`  vmsnap's own downtimeMs: ${median(down.reported).toFixed(2)} s (${runs(down.reported)})`);
    steps.print('vmsnap', median);
  }
  return out;
});
const [small, big] = sizes.map((s) => results[s]);
if (small && big) {
  console.log(`  vmsnap downtime ${sizes[1]} MiB / ${sizes[0]} MiB = ${(big.vmsnap / small.vmsnap).toFixed(2)}; plain = ${(big.plain / small.plain).toFixed(2)}`);
  console.log(`  vmsnap / plain downtime at ${sizes[1]} MiB = ${(big.vmsnap / big.plain).toFixed(2)}`);
}
