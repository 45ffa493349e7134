import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { type Case, runCase } from './harness.js';
import { GLANCE, killGlance, startGlance } from '../integration/openstack.js';
import { LAB, ROOT, TEMPORAL_PORT, TEMPORAL_UI_PORT } from '../integration/stack.js';

const after = (activity: string) => ({ when: 'after' as const, activity });
let n = 0;
// Prefixed with the run's host: the suite's teardown removes the run's RBD images by that prefix.
const name = () => `${inject('host')}-img-${++n}`;

// The host worker is SIGKILLed right after each step did its work and before Temporal heard of
// it (the worst moment: the retry on the restarted worker must find the step done and converge).
const workerKills: Case[] = [
  ...['createDelta', 'saveInactiveXml', 'undefineDomain', 'blockCopy', 'abortBlockJob', 'defineDomain', 'convertDelta', 'commitImage', 'finishRun'].map(
    (a): Case => ({ name: `live/undefine: worker SIGKILL after ${a}`, layout: 'overlay', request: { strategy: 'undefine' }, fault: after(a), expect: 'completed' }),
  ),
  ...['createDelta', 'blockCopy', 'abortBlockJob', 'convertDelta'].map(
    (a): Case => ({ name: `live/transient-job: worker SIGKILL after ${a}`, layout: 'overlay', request: { strategy: 'transient-job' }, fault: after(a), expect: 'completed' }),
  ),
  ...['createLiveOverlay', 'convertDisk', 'mergeOverlay', 'commitImage'].map(
    (a): Case => ({ name: `live/overlay: worker SIGKILL after ${a}`, layout: 'overlay', request: { strategy: 'overlay' }, fault: after(a), expect: 'completed' }),
  ),
  ...['backupDisk', 'commitImage'].map(
    (a): Case => ({ name: `live/backup: worker SIGKILL after ${a}`, layout: 'overlay', request: { strategy: 'backup' }, fault: after(a), expect: 'completed' }),
  ),
  // Two file disks: one overlay snapshot or one backup job over both.
  ...(
    [
      ['overlay', 'createLiveOverlay'],
      ['overlay', 'convertDisk'],
      ['backup', 'backupDisk'],
    ] as const
  ).map(([strategy, a]): Case => ({ name: `live/${strategy} two disks: worker SIGKILL after ${a}`, layout: 'overlay', dataDisk: 'file', request: { strategy }, fault: after(a), expect: 'completed' })),
  ...['managedSave', 'switchToOverlay', 'startDomain', 'convertDisk', 'mergeOverlay', 'commitImage'].map(
    (a): Case => ({ name: `cold: worker SIGKILL after ${a}`, layout: 'overlay', request: { mode: 'cold' }, fault: after(a), expect: 'completed' }),
  ),
  ...['rbdSnapSource', 'rbdStreamCopy', 'rbdRemoveSourceSnap', 'rbdPublish'].map(
    (a): Case => ({ name: `rbd direct/stream: worker SIGKILL after ${a}`, layout: 'rbd', request: { store: 'pool', name: name() }, fault: after(a), expect: 'completed' }),
  ),
  ...['rbdSnapSource', 'rbdClone', 'rbdFlatten', 'rbdSnapClone', 'rbdRemoveSourceSnap', 'rbdPublish'].map(
    (a): Case => ({ name: `rbd direct/clone: worker SIGKILL after ${a}`, layout: 'rbd', request: { store: 'pool', name: name(), rbdCopy: 'clone' }, fault: after(a), expect: 'completed' }),
  ),
  // Two RBD disks: the worker dies while the run has the domain paused for their snapshots (before
  // they are taken, and after): the retry takes what is missing and resumes the domain.
  ...(['rbd-set-paused', 'rbd-set-taken'] as const).map(
    (point): Case => ({
      name: `rbd two disks: worker SIGKILL while the domain is paused, ${point === 'rbd-set-paused' ? 'before' : 'after'} the snapshots`,
      layout: 'rbd',
      dataDisk: 'rbd',
      request: { store: 'pool', name: name() },
      fault: { when: 'at', activity: point },
      expect: 'completed',
    }),
  ),
  { name: 'rbd fallback: worker SIGKILL after convertRbdSnapshot', layout: 'rbd', request: {}, fault: after('convertRbdSnapshot'), expect: 'completed' },
  { name: 'glance: worker SIGKILL after commitImage (uploaded, not reported)', layout: 'overlay', request: { store: 'glance-crash' }, fault: after('commitImage'), expect: 'completed' },
];

describe.concurrent('worker SIGKILL at every step', () => {
  it.each(workerKills.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const row = await runCase(c);
    expect(row, row.detail).toMatchObject({ outcome: c.expect, domainLost: false, orphans: [] });
  });
});

function qemuPid(domain: string): string {
  return readFileSync(`/run/libvirt/qemu/${domain}.pid`, 'utf8').trim();
}

// Faults that hit a shared component (QEMU of one domain, libvirtd, the Temporal server) run one
// at a time, after the rest.
describe.sequential('faults in the components', () => {
  it('QEMU SIGKILLed while the domain is undefined: it comes back defined and running, the run unwinds', async () => {
    const row = await runCase({
      name: 'live/undefine: QEMU SIGKILL while undefined (+ worker SIGKILL)',
      layout: 'overlay',
      request: { strategy: 'undefine' },
      fault: after('undefineDomain'),
      alsoBreak: async (dom) => {
        await execa('kill', ['-9', qemuPid(dom.name)]);
      },
      expect: 'unwound',
    });
    expect(row, row.detail).toMatchObject({ outcome: 'unwound', domainLost: false, orphans: [] });
  });

  it('libvirtd restarted during the block job: the copy goes on and completes', async () => {
    const row = await runCase({
      name: 'live/undefine: libvirtd restart during blockcopy',
      layout: 'overlay',
      request: { strategy: 'undefine', bandwidthMiBps: 4 },
      during: {
        step: 'blockcopy',
        act: async () => {
          await execa('pkill', ['-x', 'libvirtd']);
          await new Promise((r) => setTimeout(r, 1000));
          await execa('libvirtd', ['-d']);
        },
      },
      expect: 'completed',
    });
    expect(row, row.detail).toMatchObject({ outcome: 'completed', domainLost: false, orphans: [] });
  });

  it('Glance SIGKILLed mid-upload and restarted: the record stuck in saving is replaced, the snapshot completes', async () => {
    const row = await runCase({
      name: 'glance: Glance SIGKILL + restart mid-upload',
      layout: 'overlay',
      sizeMiB: 512,
      request: { store: 'glance-crash' },
      // The image goes up while the convert step makes it.
      during: {
        step: 'convert',
        act: async () => {
          await killGlance(GLANCE.crash);
          await startGlance(GLANCE.crash);
        },
      },
      expect: 'completed',
    });
    expect(row, row.detail).toMatchObject({ outcome: 'completed', domainLost: false, orphans: [] });
  });

  it('the store runs out of space mid-convert (ENOSPC): the cold snapshot unwinds, the domain runs again', async () => {
    const row = await runCase({ name: 'cold: ENOSPC in the store mid-convert', layout: 'overlay', request: { mode: 'cold', store: 'tiny' }, expect: 'unwound' });
    expect(row, row.detail).toMatchObject({ outcome: 'unwound', domainLost: false, orphans: [] });
    expect(row.detail).toMatch(/No space left on device/);
  });

  it.each([
    { copy: 'stream', step: 'copy' },
    { copy: 'clone', step: 'flatten' },
  ] as const)('the Ceph OSD stopped and started again mid-$step: the $step waits for it and completes', async ({ copy, step }) => {
    const row = await runCase({
      name: `rbd direct/${copy}: OSD stop + start mid-${step}`,
      layout: 'rbd',
      sizeMiB: 2048,
      request: { store: 'pool', name: name(), rbdCopy: copy },
      during: {
        step,
        act: async () => {
          const pid = (await execa('pgrep', ['-x', 'ceph-osd'])).stdout.trim();
          await execa('kill', ['-TERM', pid]);
          while ((await execa('kill', ['-0', pid], { reject: false })).exitCode === 0) await new Promise((r) => setTimeout(r, 200));
          await new Promise((r) => setTimeout(r, 3000));
          await execa('ceph-osd', ['-c', inject('cephConf'), '-i', '0']);
        },
      },
      expect: 'completed',
    });
    expect(row, row.detail).toMatchObject({ outcome: 'completed', domainLost: false, orphans: [] });
  });

  it('the Temporal server killed and restarted on the same database mid-copy: the snapshot completes', async () => {
    const row = await runCase({
      name: 'live/transient-job: Temporal server SIGKILL + restart during blockcopy',
      layout: 'overlay',
      request: { strategy: 'transient-job', bandwidthMiBps: 4 },
      during: {
        step: 'blockcopy',
        act: async () => {
          const pid = readFileSync(path.join(LAB, `temporal-${TEMPORAL_PORT}.pid`), 'utf8').trim();
          await execa('kill', ['-9', pid]);
          await new Promise((r) => setTimeout(r, 1000));
          await execa('bash', [path.join(ROOT, 'deploy/temporal-up.sh')], { env: { TEMPORAL_PORT, TEMPORAL_UI_PORT } });
        },
      },
      expect: 'completed',
    });
    expect(row, row.detail).toMatchObject({ outcome: 'completed', domainLost: false, orphans: [] });
  });
});
