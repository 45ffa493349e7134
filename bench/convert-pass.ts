/**
 * The convert step alone, without Temporal or libvirt: vmsnap's one-pass writer (map, lay out,
 * write front to back while hashing; flushing while writing when the image goes to disk) against
 * `qemu-img convert -W` followed by the store's old sha256 read, on a flat qcow2 disk of
 * VMSNAP_BENCH_SIZE_MIB (default 4096, half data), into tmpfs (CPU only) and onto the lab's disk
 * (with the fsync the file store does before it names an image). Variants alternate; medians.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parseBackingChain, parseImageMap } from '../activities/qemu-img-output.js';
import { streamImage } from '../activities/stream-image.js';
import { streamSource } from '../activities/stream-source.js';
import { fsyncPath } from '../activities/fsync-path.js';
import { hashFile } from '../activities/stores/hash-file.js';
import { lab, report } from './lab.js';
import { alternate, median, prime } from './measure.js';

const sizeMiB = Number(process.env.VMSNAP_BENCH_SIZE_MIB ?? 4096);
const dir = path.join(lab, 'bench', 'convert-pass');
const disk = path.join(dir, 'bench-convert-pass.qcow2');
const targets = { tmpfs: '/dev/shm/vmsnap-bench-convert.qcow2', disk: path.join(dir, 'out.qcow2') };

async function onePass(dest: string, durable: boolean): Promise<void> {
  const [info, map] = await Promise.all([
    execa('qemu-img', ['info', '--backing-chain', '--output', 'json', '-U', disk]),
    execa('qemu-img', ['map', '--output', 'json', '-U', disk]),
  ]);
  const source = streamSource(parseBackingChain(info.stdout), parseImageMap(map.stdout));
  if ('unsupported' in source) throw new Error(`the bench disk cannot be read in place: ${source.unsupported}`);
  await rm(dest, { force: true });
  await streamImage(source, dest, 'qcow2', { where: 'bench', flush: durable });
  if (durable) await fsyncPath(dest);
}

async function convertThenHash(dest: string, durable: boolean): Promise<void> {
  await rm(dest, { force: true });
  await execa('qemu-img', ['convert', '-W', '-U', '-f', 'qcow2', '-O', 'qcow2', disk, dest]);
  await Promise.all([durable ? fsyncPath(dest) : Promise.resolve(), hashFile(dest)]);
}

await mkdir(dir, { recursive: true });
await execa('bash', ['deploy/make-domain.sh', 'bench-convert-pass', dir, String(sizeMiB), 'flat', String(sizeMiB / 2), 'nostart']);
try {
  const times = await alternate(
    {
      'one pass, tmpfs': () => onePass(targets.tmpfs, false),
      'convert + hash, tmpfs': () => convertThenHash(targets.tmpfs, false),
      'one pass, disk + fsync': () => onePass(targets.disk, true),
      'convert + hash, disk + fsync': () => convertThenHash(targets.disk, true),
    },
    Number(process.env.VMSNAP_BENCH_ROUNDS ?? 3),
    async () => {
      await Promise.all(Object.values(targets).map((t) => rm(t, { force: true })));
      await execa('sync');
      await prime([disk], dir);
    },
  );
  report(`The convert step alone, ${sizeMiB} MiB flat qcow2 (half data)`, times, median, [
    ['one pass, tmpfs', 'convert + hash, tmpfs'],
    ['one pass, disk + fsync', 'convert + hash, disk + fsync'],
  ]);
} finally {
  await execa('virsh', ['-q', '-c', 'qemu:///system', 'undefine', 'bench-convert-pass'], { reject: false });
  await rm(dir, { recursive: true, force: true });
  await Promise.all(Object.values(targets).map((t) => rm(t, { force: true })));
}
