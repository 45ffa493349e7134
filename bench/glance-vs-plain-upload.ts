/**
 * Glance: vmsnap's live snapshot of a 1 GiB overlay disk into Glance end to end (stream hashed on
 * the way, Glance's own digest verified), against the plain way on the same disk: convert the chain
 * to a temp qcow2, then a plain HTTP create + upload of the file (curl). Twice: into a Glance at its
 * default `hashing_algorithm` (sha512, which vmsnap takes beside the upload) and into one set to
 * sha256 (the image writer's own digest: no second hash on either side of the socket).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { alternate, median, prime } from './measure.js';
import { dropDomain, lab, makeDomain, report, rounds, StepTimes, withTemporal } from './lab.js';

const sizeMiB = Number(process.env.VMSNAP_BENCH_SIZE_MIB ?? 1024);
const domain = `bench-glance-${sizeMiB}`;
/** The bench worker's Glance stores (deploy/bench.sh), by the hashing_algorithm their Glance is set to. */
const glances = {
  sha512: { store: 'glance', url: process.env.VMSNAP_BENCH_GLANCE ?? 'http://127.0.0.1:9292' },
  sha256: { store: 'glance-sha256', url: process.env.VMSNAP_BENCH_GLANCE_SHA256 ?? 'http://127.0.0.1:9298' },
};
const created: { url: string; id: string }[] = [];

async function plainUpload(disk: string, glance: string): Promise<void> {
  const tmp = path.join(lab, 'bench', 'glance-plain.qcow2');
  await execa('qemu-img', ['convert', '-U', '-O', 'qcow2', disk, tmp]);
  const rec = JSON.parse(
    (await execa('curl', ['-sf', '-X', 'POST', '-H', 'content-type: application/json', '-d', JSON.stringify({ name: 'plain', disk_format: 'qcow2', container_format: 'bare', vmsnap_bench: 'yes' }), `${glance}/v2/images`])).stdout,
  ) as { id: string };
  created.push({ url: glance, id: rec.id });
  await execa('curl', ['-sf', '-X', 'PUT', '-H', 'content-type: application/octet-stream', '-T', tmp, `${glance}/v2/images/${rec.id}/file`]);
  await rm(tmp);
}

async function cleanup(): Promise<void> {
  const ours = created.splice(0);
  for (const { url } of Object.values(glances)) {
    const list = JSON.parse((await execa('curl', ['-sf', `${url}/v2/images?limit=100&vmsnap_source_domain=${domain}`])).stdout) as { images: { id: string }[] };
    ours.push(...list.images.map((i) => ({ url, id: i.id })));
  }
  for (const { url, id } of ours) await execa('curl', ['-sf', '-X', 'DELETE', `${url}/v2/images/${id}`], { reject: false });
}

const dom = await makeDomain(domain, sizeMiB, 'overlay');
await withTemporal(async (snapshot) => {
  const steps = { sha512: new StepTimes(), sha256: new StepTimes() };
  const times = await alternate(
    {
      'vmsnap, Glance sha512': async () => steps.sha512.add(await snapshot({ domain, store: glances.sha512.store })),
      'plain, Glance sha512': () => plainUpload(dom.disk, glances.sha512.url),
      'vmsnap, Glance sha256': async () => steps.sha256.add(await snapshot({ domain, store: glances.sha256.store })),
      'plain, Glance sha256': () => plainUpload(dom.disk, glances.sha256.url),
    },
    rounds,
    async () => {
      await cleanup();
      await prime([dom.disk, dom.base], path.join(lab, 'bench'));
    },
  );
  report(`Glance snapshot of a ${sizeMiB} MiB overlay disk`, times, median, [
    ['vmsnap, Glance sha512', 'plain, Glance sha512'],
    ['vmsnap, Glance sha256', 'plain, Glance sha256'],
  ]);
  steps.sha512.print('vmsnap (sha512)', median);
  steps.sha256.print('vmsnap (sha256)', median);
});
await cleanup();
await dropDomain(domain);
