/**
 * RBD: vmsnap's direct snapshot (snap, copy into the pool by stream or by clone + flatten, snap the copy, through Temporal) against
 * the pre-Mitaka path on the same cluster (snap, convert to a raw file, rbd import, snap), for a
 * 1 GiB image half full of random data. Seed 001 claims the direct path is about twice as fast.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { alternate, median } from './measure.js';
import { cephConf, dropBenchImages, dropDomain, lab, makeDomain, report, rounds, StepTimes, withTemporal } from './lab.js';

const sizeMiB = Number(process.env.VMSNAP_BENCH_SIZE_MIB ?? 1024);
const domain = `bench-rbd-${sizeMiB}`;
const rbd = (...args: string[]) => execa('rbd', ['--conf', cephConf, ...args]);
let n = 0;
const streamSteps = new StepTimes();
const cloneSteps = new StepTimes();

async function exportConvertImport(): Promise<void> {
  const tmp = path.join(lab, 'bench', 'rbd-export.raw');
  const name = `bench-import-${++n}`;
  await rbd('snap', 'create', '--no-progress', `vms/${domain}@b`);
  await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', `rbd:vms/${domain}@b:conf=${cephConf}`, tmp]);
  await rbd('import', '--no-progress', tmp, `images/${name}`);
  await rbd('snap', 'create', '--no-progress', `images/${name}@snap`);
  await rbd('snap', 'protect', `images/${name}@snap`);
  await rbd('snap', 'rm', '--no-progress', `vms/${domain}@b`);
  await rm(tmp);
}

await makeDomain(domain, sizeMiB, 'rbd');
await withTemporal(async (snapshot) => {
  const times = await alternate(
    {
      'vmsnap rbd stream': async () => streamSteps.add(await snapshot({ domain, store: 'pool', name: `bench-direct-${++n}`, rbdCopy: 'stream' })),
      'vmsnap rbd clone': async () => cloneSteps.add(await snapshot({ domain, store: 'pool', name: `bench-direct-${++n}`, rbdCopy: 'clone' })),
      'export-convert-import': exportConvertImport,
    },
    rounds,
    dropBenchImages,
  );
  report(`RBD snapshot of a ${sizeMiB} MiB image`, times, median, [
    ['vmsnap rbd stream', 'export-convert-import'],
    ['vmsnap rbd clone', 'export-convert-import'],
  ]);
  streamSteps.print('vmsnap stream', median);
  cloneSteps.print('vmsnap clone', median);
});
await dropBenchImages();
await dropDomain(domain);
