import type { DomainFacts } from '../activities/index.js';
import { permanentFailure } from '../common/failures.js';
import { compactUtc } from '../common/names.js';
import type { SnapshotRequest } from '../common/request.js';
import type { LiveStrategy, SnapshotMode } from '../common/result.js';

export interface SnapshotPlan {
  mode: SnapshotMode;
  /** Live path only: how the disk is copied. */
  strategy?: LiveStrategy;
  /** Live path with the undefine strategy on a persistent domain: undefine before, define after. */
  undefine: boolean;
  /** The disk is an overlay: copy only its top layer and keep sharing the backing file. */
  shallow: boolean;
  /** RBD path: clone + flatten inside the cluster (else: convert the snapshot into the store). */
  rbdDirect: boolean;
  /** The stored image's format: a clone in a pool is raw whatever was asked. */
  format: 'qcow2' | 'raw';
}

const RUNNING = new Set(['running', 'paused']);

/**
 * Decides the path of one snapshot from the request and what the host reported (pure, so it is
 * unit-tested directly). `auto` follows DESIGN.md: rbd for an RBD disk, live for a running domain,
 * cold otherwise; the live strategy defaults to the one that cannot lose the domain.
 */
export function planSnapshot(req: SnapshotRequest, facts: DomainFacts): SnapshotPlan {
  const where = `domain ${facts.domain} on host ${facts.host}`;
  const running = RUNNING.has(facts.state);
  const mode: SnapshotMode = req.mode !== 'auto' ? req.mode : facts.disk.kind === 'rbd' ? 'rbd' : running ? 'live' : 'cold';

  const base = { undefine: false, shallow: false, rbdDirect: false, format: req.format };
  if (mode === 'rbd') {
    if (facts.disk.kind !== 'rbd') throw permanentFailure('UnsupportedDisk', `${where}: disk ${facts.disk.target} is not on RBD (use mode live, cold or auto)`);
    // An RBD snapshot is taken while the guest runs (QEMU flushes first): no downtime on this path.
    return facts.rbdDirect ? { ...base, mode, rbdDirect: true, format: 'raw' } : { ...base, mode };
  }
  if (facts.disk.kind !== 'file') {
    throw permanentFailure('UnsupportedDisk', `${where}: disk ${facts.disk.target} is on ${facts.disk.kind}, which the ${mode} path cannot copy (use mode rbd or auto)`);
  }
  if (mode === 'cold') return { ...base, mode };
  if (!running) {
    throw permanentFailure('DomainNotRunning', `${where} is ${facts.state || 'not running'}: a live snapshot needs it running (use mode cold or auto)`);
  }
  let strategy: LiveStrategy;
  // Fastest first: into a file store the backup API writes the image once, where the blockcopy
  // strategies write it twice. Its target bypasses the page cache, though, so an upload store
  // (Glance, an RBD import) reads it back from disk: measured slower there (bench/RESULTS.md).
  // And it cannot cap its rate: a request that caps the copy (a busy guest) gets a blockcopy.
  const capped = req.bandwidthMiBps !== undefined;
  const backupFirst = facts.backupSupported && !capped && facts.storeKind === 'file';
  if (req.strategy === 'auto') strategy = backupFirst ? 'backup' : facts.transientJobSupported ? 'transient-job' : 'undefine';
  else strategy = req.strategy;
  if (strategy === 'backup' && capped) {
    throw permanentFailure('InvalidRequest', `strategy backup cannot cap the copy rate (bandwidthMiBps ${req.bandwidthMiBps}): use strategy transient-job or auto, or drop the cap`);
  }
  if (strategy === 'backup' && !facts.backupSupported) {
    throw permanentFailure('UnsupportedMode', `libvirt on host ${facts.host} has no backup API (virsh backup-begin): use strategy transient-job, undefine or auto`);
  }
  if (strategy === 'transient-job' && !facts.transientJobSupported) {
    throw permanentFailure('UnsupportedMode', `libvirt on host ${facts.host} does not support blockcopy --transient-job: use strategy undefine or auto`);
  }

  return {
    ...base,
    mode,
    strategy,
    // A transient domain needs no undefine: libvirt copies its disks as they are.
    undefine: strategy === 'undefine' && facts.persistent,
    shallow: strategy !== 'backup' && facts.disk.backingFile !== undefined,
  };
}

/** Default image name: `<domain>-<UTC time>`, e.g. vm1-20261122T101500Z. */
export function defaultImageName(domain: string, now: Date): string {
  return `${domain}-${compactUtc(now)}`;
}
