/**
 * Glance: vmsnap's live snapshot of a 1 GiB overlay disk into Glance end to end (stream hashed on
 * the way, Glance's sha512 verified), against the plain way on the same disk: convert the chain to
 * a temp qcow2, then a plain HTTP create + upload of the file (curl).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { alternate, median, prime } from './measure.js';
import { dropDomain, lab, makeDomain, report, rounds, StepTimes, withTemporal } from './lab.js';

const sizeMiB = Number(process.env.VMSNAP_BENCH_SIZE_MIB ?? 1024);
const domain = `bench-glance-${sizeMiB}`;
const glance = process.env.VMSNAP_BENCH_GLANCE ?? 'http://127.0.0.1:9292';
const created: string[] = [];
const steps = new StepTimes();

async function plainUpload(disk: string): Promise<void> {
  const tmp = path.join(lab, 'bench', 'glance-plain.qcow2');
  await execa('qemu-img', ['convert', '-U', '-O', 'qcow2', disk, tmp]);
  const rec = JSON.parse(
    (await execa('curl', ['-sf', '-X', 'POST', '-H', 'content-type: application/json', '-d', JSON.stringify({ name: 'plain', disk_format: 'qcow2', container_format: 'bare', vmsnap_bench: 'yes' }), `${glance}/v2/images`])).stdout,
  ) as { id: string };
  created.push(rec.id);
  await execa('curl', ['-sf', '-X', 'PUT', '-H', 'content-type: application/octet-stream', '-T', tmp, `${glance}/v2/images/${rec.id}/file`]);
  await rm(tmp);
}

async function cleanup(): Promise<void> {
  const list = JSON.parse((await execa('curl', ['-sf', `${glance}/v2/images?limit=100&vmsnap_source_domain=${domain}`])).stdout) as { images: { id: string }[] };
  for (const id of [...created.splice(0), ...list.images.map((i) => i.id)]) await execa('curl', ['-sf', '-X', 'DELETE', `${glance}/v2/images/${id}`], { reject: false });
}

const dom = await makeDomain(domain, sizeMiB, 'overlay');
await withTemporal(async (snapshot) => {
  const times = await alternate(
    {
      'vmsnap into glance': async () => steps.add(await snapshot({ domain, store: 'glance' })),
      'convert + plain upload': () => plainUpload(dom.disk),
    },
    rounds,
    async () => {
      await cleanup();
      await prime([dom.disk, dom.base], path.join(lab, 'bench'));
    },
  );
  report(`Glance snapshot of a ${sizeMiB} MiB overlay disk`, times, median, [['vmsnap into glance', 'convert + plain upload']]);
  steps.print('vmsnap', median);
});
await cleanup();
await dropDomain(domain);
