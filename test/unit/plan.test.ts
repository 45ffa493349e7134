import { describe, expect, it } from 'vitest';
import type { DomainFacts } from '../../activities/index.js';
import { parseSnapshotRequest, type SnapshotRequestInput } from '../../common/request.js';
import { defaultImageName, planSnapshot } from '../../workflows/plan.js';

const facts = (over: Partial<DomainFacts> = {}, disk: Partial<DomainFacts['disk']> = {}): DomainFacts => ({
  host: 'hv1',
  domain: 'vm1',
  state: 'running',
  persistent: true,
  transientJobSupported: true,
  backupSupported: false,
  storeKind: 'file',
  uuid: '00000000-0000-0000-0000-000000000001',
  rbdDirect: false,
  ...over,
  disk: { target: 'vda', kind: 'file', format: 'qcow2', sourceFile: '/d/vm1.qcow2', virtualSize: 1 << 30, backingFile: '/d/base.qcow2', backingFormat: 'qcow2', ...disk },
});
const req = (r: Partial<SnapshotRequestInput> = {}) => {
  const p = parseSnapshotRequest({ host: 'hv1', domain: 'vm1', ...r });
  if (!p.ok) throw new Error(p.problems.join());
  return p.request;
};

describe('planSnapshot', () => {
  it('auto on a running domain: live, transient-job where libvirt has it', () => {
    expect(planSnapshot(req(), facts())).toEqual({ mode: 'live', strategy: 'transient-job', undefine: false, shallow: true, rbdDirect: false, format: 'qcow2' });
  });

  it('auto picks the backup API where libvirt has it: no delta, no shallow copy', () => {
    expect(planSnapshot(req(), facts({ backupSupported: true }))).toEqual({ mode: 'live', strategy: 'backup', undefine: false, shallow: false, rbdDirect: false, format: 'qcow2' });
    expect(planSnapshot(req({ strategy: 'transient-job' }), facts({ backupSupported: true }))).toMatchObject({ strategy: 'transient-job', shallow: true });
    expect(() => planSnapshot(req({ strategy: 'backup' }), facts())).toThrow(/has no backup API/);
    // Into an upload store, auto keeps the convert path (its output is read back from the cache).
    expect(planSnapshot(req(), facts({ backupSupported: true, storeKind: 'glance' }))).toMatchObject({ strategy: 'transient-job' });
    expect(planSnapshot(req({ strategy: 'backup' }), facts({ backupSupported: true, storeKind: 'glance' }))).toMatchObject({ strategy: 'backup' });
    // A rate cap needs a blockcopy: auto honours it, an explicit backup is refused.
    expect(planSnapshot(req({ bandwidthMiBps: 8 }), facts({ backupSupported: true }))).toMatchObject({ strategy: 'transient-job' });
    expect(() => planSnapshot(req({ strategy: 'backup', bandwidthMiBps: 8 }), facts({ backupSupported: true }))).toThrow(/cannot cap the copy rate/);
  });

  it('auto picks the overlay strategy first, for every store kind: the whole chain, no delta', () => {
    const all = { overlaySupported: true, backupSupported: true };
    expect(planSnapshot(req(), facts(all))).toEqual({ mode: 'live', strategy: 'overlay', undefine: false, shallow: false, rbdDirect: false, format: 'qcow2' });
    expect(planSnapshot(req(), facts({ ...all, storeKind: 'glance' }))).toMatchObject({ strategy: 'overlay' });
    expect(planSnapshot(req({ strategy: 'backup' }), facts(all))).toMatchObject({ strategy: 'backup' });
    // A capped copy needs a block job; an explicit overlay with a cap is refused.
    expect(planSnapshot(req({ bandwidthMiBps: 8 }), facts(all))).toMatchObject({ strategy: 'transient-job' });
    expect(() => planSnapshot(req({ strategy: 'overlay', bandwidthMiBps: 8 }), facts(all))).toThrow(/strategy overlay cannot cap the copy rate/);
  });

  it('runs recorded before the overlay strategy keep their choice; libvirt without active commit cannot have it', () => {
    const all = { overlaySupported: true, backupSupported: true };
    expect(planSnapshot(req(), facts(all), { overlayFirst: false })).toMatchObject({ strategy: 'backup' });
    expect(planSnapshot(req(), facts({ backupSupported: true }))).toMatchObject({ strategy: 'backup' });
    expect(() => planSnapshot(req({ strategy: 'overlay' }), facts({ overlaySupported: false }))).toThrow(/blockcommit --active/);
  });

  it('auto falls back to the undefine strategy on an older libvirt', () => {
    expect(planSnapshot(req(), facts({ transientJobSupported: false }))).toMatchObject({ strategy: 'undefine', undefine: true });
  });

  it('the undefine strategy can be forced, and is a no-op on a transient domain', () => {
    expect(planSnapshot(req({ strategy: 'undefine' }), facts())).toMatchObject({ strategy: 'undefine', undefine: true });
    expect(planSnapshot(req({ strategy: 'undefine' }), facts({ persistent: false }))).toMatchObject({ undefine: false });
  });

  it('a flat disk is copied whole', () => {
    expect(planSnapshot(req(), facts({}, { backingFile: undefined }))).toMatchObject({ shallow: false });
  });

  it('refuses transient-job where libvirt lacks it', () => {
    expect(() => planSnapshot(req({ strategy: 'transient-job' }), facts({ transientJobSupported: false }))).toThrow(/does not support blockcopy --transient-job/);
  });

  it('refuses live on a stopped domain, naming it', () => {
    expect(() => planSnapshot(req({ mode: 'live' }), facts({ state: 'shut off' }))).toThrow(/domain vm1 on host hv1 is shut off/);
  });

  it('auto picks cold for a stopped domain; cold may be forced on a running one', () => {
    expect(planSnapshot(req(), facts({ state: 'shut off' }))).toEqual({ mode: 'cold', undefine: false, shallow: false, rbdDirect: false, format: 'qcow2' });
    expect(planSnapshot(req({ mode: 'cold' }), facts())).toMatchObject({ mode: 'cold' });
  });

  it('auto picks rbd for an RBD disk: direct (a stream copy) when the store is a pool of the same cluster', () => {
    const rbd = { kind: 'rbd' as const, sourceFile: undefined, rbd: { pool: 'vms', image: 'vm1' }, backingFile: undefined };
    expect(planSnapshot(req(), facts({ rbdDirect: true }, rbd))).toEqual({ mode: 'rbd', undefine: false, shallow: false, rbdDirect: true, rbdCopy: 'stream', format: 'raw' });
    expect(planSnapshot(req({ rbdCopy: 'clone' }), facts({ rbdDirect: true }, rbd))).toMatchObject({ rbdDirect: true, rbdCopy: 'clone' });
    // Runs recorded before the stream copy replay with clone + flatten.
    expect(planSnapshot(req(), facts({ rbdDirect: true }, rbd), { overlayFirst: true, streamFirst: false })).toMatchObject({ rbdCopy: 'clone' });
    expect(planSnapshot(req({ format: 'qcow2' }), facts({ rbdDirect: false }, rbd))).toMatchObject({ mode: 'rbd', rbdDirect: false, format: 'qcow2' });
  });

  it('refuses the rbd mode for a file disk, and the file paths for an RBD disk', () => {
    expect(() => planSnapshot(req({ mode: 'rbd' }), facts())).toThrow(/not on RBD/);
    expect(() => planSnapshot(req({ mode: 'live' }), facts({}, { kind: 'rbd' }))).toThrow(/use mode rbd or auto/);
  });
});

describe('planSnapshot with several disks', () => {
  const vdb = { target: 'vdb', kind: 'file' as const, format: 'qcow2', sourceFile: '/d/data.qcow2', virtualSize: 1 << 20, stagingPath: '/s/x-vdb' };
  const several = (over: Partial<DomainFacts> = {}) => facts({ overlaySupported: true, moreDisks: [vdb], ...over });

  it('takes them together on the live overlay strategy, which auto picks', () => {
    expect(planSnapshot(req({ disks: ['vda', 'vdb'] }), several())).toMatchObject({ mode: 'live', strategy: 'overlay' });
  });

  it('takes them together in one backup job, by request or where auto has no overlay strategy but the backup API', () => {
    expect(planSnapshot(req({ strategy: 'backup' }), several({ backupSupported: true }))).toMatchObject({ mode: 'live', strategy: 'backup' });
    expect(planSnapshot(req(), several({ overlaySupported: false, backupSupported: true }))).toMatchObject({ mode: 'live', strategy: 'backup' });
  });

  it('takes RBD disks together on the rbd path, and refuses a mix of RBD and file disks', () => {
    const rbdDisk = { kind: 'rbd' as const, format: 'raw', sourceFile: undefined, backingFile: undefined, rbd: { pool: 'vms', image: 'vm1' } };
    const vdbRbd = { ...vdb, ...rbdDisk, rbd: { pool: 'vms', image: 'vm1-vdb' } };
    expect(planSnapshot(req(), facts({ rbdDirect: true, moreDisks: [vdbRbd] }, rbdDisk))).toMatchObject({ mode: 'rbd', rbdDirect: true, rbdCopy: 'stream' });
    expect(() => planSnapshot(req(), facts({ moreDisks: [vdb] }, rbdDisk))).toThrow(/disk vdb is on file and disk vda on RBD: several disks are snapshot together when all are on RBD or all are files/);
    expect(() => planSnapshot(req(), facts({ moreDisks: [vdbRbd] }))).toThrow(/disk vdb is on rbd/);
  });

  it('replays the refusals of runs recorded before several disks went the backup strategy and the rbd path', () => {
    const rbdDisk = { kind: 'rbd' as const, format: 'raw', sourceFile: undefined, backingFile: undefined, rbd: { pool: 'vms', image: 'vm1' } };
    const vdbRbd = { ...vdb, ...rbdDisk, rbd: { pool: 'vms', image: 'vm1-vdb' } };
    const before = { overlayFirst: true, manyDisksEverywhere: false };
    expect(() => planSnapshot(req({ strategy: 'backup' }), several({ backupSupported: true }), before)).toThrow(/live by the overlay strategy only, and this run would take strategy backup/);
    expect(() => planSnapshot(req(), facts({ rbdDirect: true, moreDisks: [vdbRbd] }, rbdDisk), before)).toThrow(/not the rbd path/);
    expect(planSnapshot(req(), several(), before)).toMatchObject({ mode: 'live', strategy: 'overlay' });
  });

  it('takes them together on the cold path, of a domain that runs or is off', () => {
    expect(planSnapshot(req(), several({ state: 'shut off' }))).toMatchObject({ mode: 'cold' });
    expect(planSnapshot(req({ mode: 'cold' }), several())).toMatchObject({ mode: 'cold' });
  });

  it('refuses any other strategy or path, and a disk that is not a file, saying what to do', () => {
    expect(() => planSnapshot(req({ strategy: 'transient-job' }), several())).toThrow(/several disks \(vda, vdb\) are snapshot together live by the overlay and backup strategies only.*strategy transient-job: use strategy overlay, backup or auto, mode cold, or name one disk/);
    expect(() => planSnapshot(req(), several({ overlaySupported: false }))).toThrow(/live by the overlay and backup strategies only/);
    expect(() => planSnapshot(req({ bandwidthMiBps: 4 }), several())).toThrow(/live by the overlay and backup strategies only/);
    expect(() => planSnapshot(req({ mode: 'rbd' }), several())).toThrow(/disk vda is not on RBD/);
    expect(() => planSnapshot(req(), several({ moreDisks: [{ ...vdb, kind: 'rbd' }] }))).toThrow(/disk vdb is on rbd/);
    expect(() => planSnapshot(req({ mode: 'cold' }), several({ moreDisks: [{ ...vdb, kind: 'rbd' }] }))).toThrow(/disk vdb is on rbd/);
  });
});

describe('defaultImageName', () => {
  it('is <domain>-<UTC time>', () => {
    expect(defaultImageName('vm1', new Date('2026-11-22T10:15:00.123Z'))).toBe('vm1-20261122T101500Z');
  });
});
