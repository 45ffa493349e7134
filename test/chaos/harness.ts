/** The chaos suite's runner: inject a real fault at one step, recover, and check what is left. */
import { appendFileSync, existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { inject } from 'vitest';
import { artifactTag } from '../../common/names.js';
import { type ChaosRow, chaosTableFile } from './harness-table.js';
import { downloadGlanceImage } from '../integration/openstack.js';
import type { SnapshotRequestInput } from '../../common/request.js';
import type { SnapshotResult } from '../../common/result.js';
import { attachDataDisk, attachRbdDataDisk, copyDisk, domainState, leftoversOf, type LabDomain, makeDomain, rbd, rbdSha256, rbdSnaps, sameContent, spawnWorker, startSnapshot, withClient } from '../integration/lab.js';

export function tableFile(): string {
  return chaosTableFile(inject('stateDir'));
}

function record(row: ChaosRow): ChaosRow {
  appendFileSync(tableFile(), JSON.stringify(row) + '\n');
  return row;
}

let seq = 0;

export interface Case {
  name: string;
  layout: 'overlay' | 'rbd';
  /** Disk size; half of it random data. @default 64 */
  sizeMiB?: number;
  request: Partial<SnapshotRequestInput>;
  /** A second disk vdb (on RBD beside an RBD vda, or a qcow2 file), snapshot with vda in the same run. */
  dataDisk?: 'rbd' | 'file';
  /** Make the worker hang `after` (or `before`) this activity's first attempt, or `at` a fault point inside one, then SIGKILL it. */
  fault?: { when: 'before' | 'after' | 'at'; activity: string };
  /** Something else to break while the worker hangs (QEMU, libvirtd, Temporal), before it is killed. */
  alsoBreak?: (dom: LabDomain) => Promise<void>;
  /** Break something mid-run without a worker fault (while the progress query shows this step). */
  during?: { step: string; act: (dom: LabDomain) => Promise<void> };
  /** The outcome this fault must end in. */
  expect: 'completed' | 'unwound';
}

/**
 * Runs one case on a worker of its own: start the snapshot, break things at the chosen point,
 * restart the worker, wait for the end, then check the invariants: the domain exists, is persistent
 * and in its pre-snapshot power state, no block job, no artifact of the run left (work folder,
 * staging file, lock, RBD snapshot), and either an image equal to the disk or a clear failure.
 */
export async function runCase(c: Case): Promise<ChaosRow> {
  const started = Date.now();
  const n = ++seq;
  const hostName = `${inject('host')}-chaos${process.pid % 1000}-${n}`;
  const dir = path.join(path.dirname(inject('stateDir')), hostName);
  const stateDir = path.join(dir, 'state');
  const storeDir = path.join(dir, 'images');
  const dom = await makeDomain(`c${process.pid % 1000}-${n}`, { sizeMiB: c.sizeMiB ?? 64, layout: c.layout, ...(c.dataDisk ? { start: false } : {}) });
  const vdb = { sizeMiB: 16, fill: 0x6b, start: true };
  const rbdDisks = [`vms/${dom.name}`, ...(c.dataDisk === 'rbd' ? [await attachRbdDataDisk(dom, vdb)] : [])];
  const fileDataDisk = c.dataDisk === 'file' ? await attachDataDisk(dom, vdb) : undefined;
  const marker = path.join(dir, 'fault.json');
  await rm(marker, { force: true });
  const faultEnv: Record<string, string> = c.fault ? { VMSNAP_FAULT: `${c.fault.when}:${c.fault.activity}`, VMSNAP_FAULT_MARKER: marker } : {};
  let worker = await spawnWorker(hostName, stateDir, storeDir, faultEnv);
  const orphans: string[] = [];
  let outcome = 'FAILED' as ChaosRow['outcome'];
  let detail = '';
  let domainLost = false;
  try {
    await withClient(async (client) => {
      const handle: WorkflowHandle = await startSnapshot(client, { host: hostName, domain: dom.name, ...(c.dataDisk ? { disks: ['vda', 'vdb'] } : {}), ...c.request });
      if (c.fault) {
        await waitFor(() => existsSync(marker), 90_000, `the fault point ${c.fault.when}:${c.fault.activity}`);
        await c.alsoBreak?.(dom);
        worker.proc.kill('SIGKILL');
        await worker.proc;
        worker = await spawnWorker(hostName, stateDir, storeDir);
      } else if (c.during) {
        const during = c.during;
        await waitFor(async () => ((await handle.query<{ step: string }>('progress').catch(() => ({ step: '' }))).step === during.step), 90_000, `step ${during.step}`);
        await during.act(dom);
      }
      const expected = path.join(dom.dir, 'expected.qcow2');
      if (c.layout === 'overlay') await copyDisk(dom.disk, expected);
      const sourceSha = c.layout === 'rbd' ? await rbdSha256(`vms/${dom.name}`) : '';
      const moreShas = await Promise.all(rbdDisks.slice(1).map((spec) => rbdSha256(spec)));
      try {
        const result = (await handle.result()) as SnapshotResult;
        outcome = 'completed';
        // A file image is compared with the disk; an RBD image by the bytes Ceph serves.
        const source = c.layout === 'overlay' ? expected : `rbd:vms/${dom.name}:conf=${inject('cephConf')}`;
        let good: boolean;
        if (result.location.startsWith('file://')) good = await sameContent(new URL(result.location).pathname, source);
        else if (result.location.startsWith('http')) {
          // An image in Glance: fetch it back and compare.
          const fetched = path.join(dom.dir, 'from-glance.img');
          await downloadGlanceImage(Number(new URL(result.location).port), result.imageId, fetched);
          good = await sameContent(fetched, source);
        } else good = result.sha256 === sourceSha;
        if (good && moreShas.some((sha, i) => result.moreDisks?.[i]?.sha256 !== sha)) good = false;
        const vdbImage = result.moreDisks?.[0]?.location;
        if (good && fileDataDisk) good = vdbImage?.startsWith('file://') === true && (await sameContent(new URL(vdbImage).pathname, fileDataDisk));
        if (!good) {
          outcome = 'FAILED';
          detail = `image differs from the disk (${result.location})`;
        } else detail = result.location;
      } catch (e) {
        outcome = e instanceof WorkflowFailedError ? 'unwound' : 'FAILED';
        detail = e instanceof WorkflowFailedError ? (e.cause?.message ?? e.message) : String(e);
      }
      orphans.push(...leftoversOf(handle.workflowId, dom.name, stateDir, storeDir));
      if (c.layout === 'rbd') {
        const tag = artifactTag(handle.workflowId);
        for (const spec of rbdDisks) if ((await rbdSnaps(spec)).some((s) => s.name === tag)) orphans.push(`rbd snap ${spec}@${tag}`);
        const names = c.dataDisk ? [String(c.request.name ?? ''), `${c.request.name}-vdb`] : [String(c.request.name ?? '')];
        const images = (await rbd('ls', 'images')).split('\n');
        if (outcome !== 'completed') orphans.push(...names.filter((i) => images.includes(i)).map((i) => `rbd image images/${i}`));
      }
    });
    const after = await domainState(dom.name).catch(() => undefined);
    domainLost = !after || !after.persistent;
    if (after?.state !== 'running') orphans.push(`domain is ${after?.state ?? 'gone'}, was running`);
    if (after?.blockJob) orphans.push(`block job: ${after.blockJob.split('\n')[0] ?? ''}`);
    // A cold snapshot's overlay must be merged back: the domain on its own disk, no overlay file left.
    if (c.layout === 'overlay' && after && after.source !== dom.disk) orphans.push(`domain runs on ${after.source ?? '?'}, not its disk`);
    if (fileDataDisk && (await domainState(dom.name, 'vdb')).source !== fileDataDisk) orphans.push('vdb runs on an overlay, not its disk');
    orphans.push(...readdirSync(dom.dir).filter((f) => f.includes('.vmsnap-')).map((f) => `file ${f}`));
  } finally {
    worker.proc.kill('SIGTERM');
    await worker.proc;
  }
  if (outcome !== c.expect) detail = `expected ${c.expect}, got ${outcome}: ${detail}`;
  return record({ case: c.name, outcome: outcome === c.expect ? outcome : 'FAILED', domainLost, orphans, seconds: Math.round((Date.now() - started) / 1000), detail });
}

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

