/**
 * A running domain with two RBD disks of the same size (half random data): one vmsnap snapshot of
 * both (`disks: [vda, vdb]`: one short pause for the two snapshots, then the two stream copies
 * side by side) against two single-disk snapshots one after the other, into the image pool. The
 * pause is the workflow's own `downtimeMs`. Variants alternate; medians.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { alternate, median } from './measure.js';
import { cephConf, dropBenchImages, dropDomain, makeDomain, report, rounds, StepTimes, V, withTemporal } from './lab.js';

const sizeMiB = Number(process.env.VMSNAP_BENCH_SIZE_MIB ?? 1024);
const domain = `bench-rbd-two-${sizeMiB}`;
const rbd = (...args: string[]) => execa('rbd', ['--conf', cephConf, ...args]);

const { dir } = await makeDomain(domain, sizeMiB, 'rbd');
// The second disk: the same shape, data of its own.
const vdb = `vms/${domain}-vdb`;
const raw = path.join(dir, 'vdb.raw');
await execa('rbd', ['--conf', cephConf, 'rm', '--no-progress', vdb], { reject: false });
await execa('truncate', ['-s', `${sizeMiB}M`, raw]);
await execa('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', `count=${sizeMiB / 2}`, 'conv=notrunc', 'status=none']);
await rbd('import', '--no-progress', raw, vdb);
await rm(raw);
const xml = path.join(dir, 'vdb.xml');
await writeFile(
  xml,
  `<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='${vdb}'><host name='127.0.0.1' port='6789'/></source><target dev='vdb' bus='virtio'/></disk>`,
);
await execa('virsh', [...V, 'destroy', domain]);
await execa('virsh', [...V, 'attach-device', domain, xml, '--config']);
await execa('virsh', [...V, 'start', domain]);

let n = 0;
const both = new StepTimes();
const pauses: number[] = [];
await withTemporal(async (snapshot) => {
  const times = await alternate(
    {
      'vmsnap two disks at once': async () => {
        const r = both.add(await snapshot({ domain, store: 'pool', name: `bench-two-${++n}`, disks: ['vda', 'vdb'] }));
        pauses.push(r.downtimeMs);
      },
      'vmsnap one disk, then the other': async () => {
        await snapshot({ domain, store: 'pool', name: `bench-one-${++n}`, disks: ['vda'] });
        await snapshot({ domain, store: 'pool', name: `bench-one-${++n}`, disks: ['vdb'] });
      },
    },
    rounds,
    dropBenchImages,
  );
  report(`Two ${sizeMiB} MiB RBD disks of one running domain, into the image pool (stream copy)`, times, median, [['vmsnap two disks at once', 'vmsnap one disk, then the other']]);
  both.print('vmsnap two disks at once', median);
  console.log(`  pause for the two snapshots (downtimeMs), median ${median(pauses)} ms (runs: ${pauses.join(', ')})`);
});
await dropBenchImages();
await dropDomain(domain);
await execa('rbd', ['--conf', cephConf, 'rm', '--no-progress', vdb], { reject: false });
