/**
 * A running domain with two disks of the same size (flat, half random data): one vmsnap snapshot
 * of both (`disks: [vda, vdb]`, one overlay snapshot, the converts side by side; and the backup
 * strategy's one job over both) against two
 * single-disk snapshots one after the other, and against the floor: the two `qemu-img convert`s
 * side by side and one after the other, and side by side with each image fsynced and hashed.
 * Cold too: the downtime of one cold snapshot of both disks against that of one disk (the switch to
 * overlays happens while the domain is down, the copies after it runs again, so it should not
 * grow with the disks). Variants alternate; medians; the page cache is primed first.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { dropDomain, lab, makeDomain, report, rounds, StepTimes, V, withTemporal } from './lab.js';
import { alternate, median, prime } from './measure.js';
import { fsyncPath } from '../activities/fsync-path.js';
import { hashFile } from '../activities/stores/hash-file.js';

const sizeMiB = Number(process.env.VMSNAP_BENCH_SIZE_MIB ?? 1024);
const plainStore = path.join(lab, 'bench', 'plain-store');
const images = path.join(lab, 'bench', 'state', 'images');
const domain = `bench-two-disks-${sizeMiB}`;

await withTemporal(async (snapshot) => {
  const { dir, disk } = await makeDomain(domain, sizeMiB, 'flat');
  // The second disk: the same shape, data of its own.
  const data = path.join(dir, 'data.qcow2');
  const raw = path.join(dir, 'data.raw');
  await execa('qemu-img', ['create', '-q', '-f', 'raw', raw, `${sizeMiB}M`]);
  await execa('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', `count=${sizeMiB / 2}`, 'conv=notrunc,fsync', 'status=none']);
  await execa('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, data]);
  await rm(raw);
  await execa('virsh', [...V, 'destroy', domain]);
  await execa('virsh', [...V, 'attach-disk', domain, data, 'vdb', '--subdriver', 'qcow2', '--config']);
  await execa('virsh', [...V, 'start', domain]);

  const both = new StepTimes();
  const downtime: Record<string, number[]> = { 'cold two disks': [], 'cold one disk': [] };
  const cold = async (key: string, disks: string[]) => downtime[key]!.push((await snapshot({ domain, mode: 'cold', name: `${domain}-${++n}`, disks })).downtimeMs / 1000);
  let n = 0;
  const convert = (src: string, out: string) => execa('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'qcow2', src, path.join(plainStore, out)]);
  const variants = {
    'vmsnap two disks at once': async () => both.add(await snapshot({ domain, name: `${domain}-${++n}`, disks: ['vda', 'vdb'] })),
    // The backup API's one job over both disks, into the same store.
    'vmsnap backup two disks at once': async () => void (await snapshot({ domain, name: `${domain}-${++n}`, strategy: 'backup', disks: ['vda', 'vdb'] })),
    'vmsnap one disk, then the other': async () => {
      await snapshot({ domain, name: `${domain}-${++n}`, disks: ['vda'] });
      await snapshot({ domain, name: `${domain}-${++n}`, disks: ['vdb'] });
    },
    'vmsnap cold two disks': () => cold('cold two disks', ['vda', 'vdb']),
    'vmsnap cold one disk': () => cold('cold one disk', ['vda']),
    'floor side by side': () => Promise.all([convert(disk, 'a.qcow2'), convert(data, 'b.qcow2')]),
    // The floor plus what the store promises: each image on disk (fsync) with its sha256.
    'durable floor side by side': () =>
      Promise.all(
        [[disk, 'da.qcow2'] as const, [data, 'db.qcow2'] as const].map(async ([src, out]) => {
          await convert(src, out);
          await Promise.all([fsyncPath(path.join(plainStore, out)), hashFile(path.join(plainStore, out))]);
        }),
      ),
    'floor one after the other': async () => {
      await convert(disk, 'a.qcow2');
      await convert(data, 'b.qcow2');
    },
  };
  const reset = async () => {
    await rm(plainStore, { recursive: true, force: true });
    await mkdir(plainStore, { recursive: true });
    for (const f of await readdir(images).catch(() => [] as string[])) if (f.startsWith(`${domain}-`)) await rm(path.join(images, f));
    await prime([disk, data], images);
  };
  const times = await alternate(variants, rounds, reset);
  await dropDomain(domain);
  report(`Two ${sizeMiB} MiB disks of one running domain`, times, median, [
    ['vmsnap two disks at once', 'vmsnap one disk, then the other'],
    ['vmsnap two disks at once', 'floor side by side'],
    ['vmsnap two disks at once', 'durable floor side by side'],
    ['vmsnap backup two disks at once', 'vmsnap two disks at once'],
    ['vmsnap backup two disks at once', 'durable floor side by side'],
    ['floor side by side', 'floor one after the other'],
  ]);
  both.print('vmsnap two disks at once', median);
  report('Cold downtime (the workflow\'s own measure, save to start)', downtime, median, [['cold two disks', 'cold one disk']]);
});
