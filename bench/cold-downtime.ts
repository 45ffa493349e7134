/**
 * Cold snapshot downtime of a running domain, 1 GiB and 4 GiB flat disks (half random data):
 * vmsnap's cold path (save, switch to an overlay, restart, then copy) against the plain cold
 * sequence that Nova runs (managedsave, convert, start), both timed as the domain's down time:
 * from the save starting to the domain running again. Variants alternate; medians.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { alternate, median, prime, timed } from './measure.js';
import { dropDomain, lab, makeDomain, rounds, V, withTemporal } from './lab.js';

const sizes = (process.env.VMSNAP_BENCH_COLD_SIZES ?? '1024 4096').split(/\s+/).map(Number);

const results = await withTemporal(async (snapshot) => {
  const out: Record<number, { vmsnap: number; plain: number }> = {};
  for (const sizeMiB of sizes) {
    const domain = `bench-cold-${sizeMiB}`;
    const { disk } = await makeDomain(domain, sizeMiB, 'flat');
    const down = { vmsnap: [] as number[], plain: [] as number[] };
    const tmp = path.join(lab, 'bench', `${domain}-plain.qcow2`);
    await alternate(
      {
        vmsnap: async () => {
          const r = await snapshot({ domain, mode: 'cold', name: `${domain}-${Date.now()}` });
          down.vmsnap.push(r.downtimeMs / 1000);
        },
        plain: async () => {
          down.plain.push(
            await timed(async () => {
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
    console.log(`\ncold downtime, ${sizeMiB} MiB flat disk, medians of ${rounds}: vmsnap ${out[sizeMiB].vmsnap.toFixed(2)} s (${down.vmsnap.map((x) => x.toFixed(2)).join(', ')}), plain ${out[sizeMiB].plain.toFixed(2)} s (${down.plain.map((x) => x.toFixed(2)).join(', ')})`);
  }
  return out;
});
const [small, big] = sizes.map((s) => results[s]);
if (small && big) {
  console.log(`  vmsnap downtime ${sizes[1]} MiB / ${sizes[0]} MiB = ${(big.vmsnap / small.vmsnap).toFixed(2)}; plain = ${(big.plain / small.plain).toFixed(2)}`);
  console.log(`  vmsnap / plain downtime at ${sizes[1]} MiB = ${(big.vmsnap / big.plain).toFixed(2)}`);
}
