import type { DomainFacts } from '../activities/index.js';
import { permanentFailure } from '../common/failures.js';
import { compactUtc } from '../common/names.js';
import type { RbdCopy, SnapshotRequest } from '../common/request.js';
import type { LiveStrategy, SnapshotMode } from '../common/result.js';

export interface SnapshotPlan {
  mode: SnapshotMode;
  /** Live path only: how the disk is copied. */
  strategy?: LiveStrategy;
  /** Live path with the undefine strategy on a persistent domain: undefine before, define after. */
  undefine: boolean;
  /** The disk is an overlay: copy only its top layer and keep sharing the backing file. */
  shallow: boolean;
  /** RBD path: copy inside the cluster, into the store's pool (else: convert the snapshot into the store). */
  rbdDirect: boolean;
  /** RBD path into the pool: how (present only when `rbdDirect`). */
  rbdCopy?: RbdCopy;
  /** The stored image's format: a clone in a pool is raw whatever was asked. */
  format: 'qcow2' | 'raw';
}

const RUNNING = new Set(['running', 'paused']);

/**
 * Decides the path of one snapshot from the request and what the host reported (pure, so it is
 * unit-tested directly). `auto` follows DESIGN.md: rbd for an RBD disk, live for a running domain,
 * cold otherwise; the live strategy defaults to the one that cannot lose the domain.
 */
export interface PlanOptions {
  /**
   * `auto` may pick the `overlay` strategy. Workflows pass `patched(...)`: runs recorded before
   * the strategy existed replay with their own choice.
   */
  overlayFirst: boolean;
  /** `auto` may pick the `stream` RBD copy (patched likewise); without it, clone + flatten. @default true */
  streamFirst?: boolean;
  /**
   * Several disks may go the backup strategy and the rbd path (patched likewise: runs recorded
   * before were refused, and replay their refusal). @default true
   */
  manyDisksEverywhere?: boolean;
}

/** The blockcopy strategy this libvirt allows: transient-job where it can, else undefine/define. */
function blockcopyStrategy(facts: DomainFacts): LiveStrategy {
  return facts.transientJobSupported ? 'transient-job' : 'undefine';
}

/**
 * Fastest first (bench/RESULTS.md): `overlay` freezes the disk under an overlay and lets
 * `qemu-img convert` write the image once, straight into the store, as fast as the physical floor,
 * whatever the store. The backup API also writes once, but QEMU's job runs beside the guest's
 * emulation and its target bypasses the page cache, so an upload store reads it back from disk:
 * only into a file store. The blockcopy strategies write the image twice.
 */
function fastestStrategy(facts: DomainFacts, options: PlanOptions): LiveStrategy {
  if (options.overlayFirst && facts.overlaySupported) return 'overlay';
  if (facts.backupSupported && facts.storeKind === 'file') return 'backup';
  return blockcopyStrategy(facts);
}

export function planSnapshot(req: SnapshotRequest, facts: DomainFacts, options: PlanOptions = { overlayFirst: true }): SnapshotPlan {
  const where = `domain ${facts.domain} on host ${facts.host}`;
  const running = RUNNING.has(facts.state);
  const mode: SnapshotMode = req.mode !== 'auto' ? req.mode : facts.disk.kind === 'rbd' ? 'rbd' : running ? 'live' : 'cold';

  const base = { undefine: false, shallow: false, rbdDirect: false, format: req.format };
  if (facts.moreDisks?.length && mode === 'rbd' && options.manyDisksEverywhere === false) {
    throw permanentFailure('InvalidRequest', `${where}: several disks are snapshot together on the live (overlay strategy) and cold paths, not the rbd path: use mode live, cold or auto, or name one disk`);
  }
  if (mode === 'rbd') {
    if (facts.disk.kind !== 'rbd') throw permanentFailure('UnsupportedDisk', `${where}: disk ${facts.disk.target} is not on RBD (use mode live, cold or auto)`);
    const notRbd = facts.moreDisks?.find((d) => d.kind !== 'rbd');
    if (notRbd) throw permanentFailure('UnsupportedDisk', `${where}: disk ${notRbd.target} is on ${notRbd.kind} and disk ${facts.disk.target} on RBD: several disks are snapshot together when all are on RBD or all are files; snapshot them in separate runs`);
    // An RBD snapshot is taken while the guest runs (QEMU flushes first): no downtime on this path.
    if (!facts.rbdDirect) return { ...base, mode };
    const rbdCopy: RbdCopy = req.rbdCopy !== 'auto' ? req.rbdCopy : options.streamFirst === false ? 'clone' : 'stream';
    return { ...base, mode, rbdDirect: true, rbdCopy, format: 'raw' };
  }
  if (facts.disk.kind !== 'file') {
    throw permanentFailure('UnsupportedDisk', `${where}: disk ${facts.disk.target} is on ${facts.disk.kind}, which the ${mode} path cannot copy (use mode rbd or auto)`);
  }
  const notFile = facts.moreDisks?.find((d) => d.kind !== 'file');
  if (notFile) throw permanentFailure('UnsupportedDisk', `${where}: disk ${notFile.target} is on ${notFile.kind}: several disks are snapshot together when all are file disks`);
  if (mode === 'cold') return { ...base, mode };
  if (!running) {
    throw permanentFailure('DomainNotRunning', `${where} is ${facts.state || 'not running'}: a live snapshot needs it running (use mode cold or auto)`);
  }
  let strategy: LiveStrategy;
  // A request that caps the copy rate (a busy guest) gets a blockcopy: only it can cap.
  const capped = req.bandwidthMiBps !== undefined;
  if (req.strategy === 'auto') strategy = capped ? blockcopyStrategy(facts) : fastestStrategy(facts, options);
  else strategy = req.strategy;
  if ((strategy === 'backup' || strategy === 'overlay') && capped) {
    throw permanentFailure('InvalidRequest', `strategy ${strategy} cannot cap the copy rate (bandwidthMiBps ${req.bandwidthMiBps}): use strategy transient-job or auto, or drop the cap`);
  }
  if (strategy === 'overlay' && !facts.overlaySupported) {
    throw permanentFailure('UnsupportedMode', `libvirt on host ${facts.host} cannot merge an overlay back under a running guest (virsh blockcommit --active): use strategy transient-job, undefine or auto`);
  }
  if (strategy === 'backup' && !facts.backupSupported) {
    throw permanentFailure('UnsupportedMode', `libvirt on host ${facts.host} has no backup API (virsh backup-begin): use strategy transient-job, undefine or auto`);
  }
  if (strategy === 'transient-job' && !facts.transientJobSupported) {
    throw permanentFailure('UnsupportedMode', `libvirt on host ${facts.host} does not support blockcopy --transient-job: use strategy undefine or auto`);
  }

  if (facts.moreDisks?.length && strategy !== 'overlay' && options.manyDisksEverywhere === false) {
    throw permanentFailure('InvalidRequest', `${where}: several disks (${[facts.disk.target, ...facts.moreDisks.map((d) => d.target)].join(', ')}) are snapshot together live by the overlay strategy only, and this run would take strategy ${strategy}: use strategy overlay or auto, mode cold, or name one disk`);
  }
  // Only one snapshot (overlay) or one job (backup) freezes every disk at the same instant.
  if (facts.moreDisks?.length && strategy !== 'overlay' && strategy !== 'backup') {
    throw permanentFailure('InvalidRequest', `${where}: several disks (${[facts.disk.target, ...facts.moreDisks.map((d) => d.target)].join(', ')}) are snapshot together live by the overlay and backup strategies only, and this run would take strategy ${strategy}: use strategy overlay, backup or auto, mode cold, or name one disk`);
  }

  return {
    ...base,
    mode,
    strategy,
    // A transient domain needs no undefine: libvirt copies its disks as they are.
    undefine: strategy === 'undefine' && facts.persistent,
    // The blockcopy strategies copy the top layer only; backup and overlay write the whole chain.
    shallow: (strategy === 'transient-job' || strategy === 'undefine') && facts.disk.backingFile !== undefined,
  };
}

/** Default image name: `<domain>-<UTC time>`, e.g. vm1-20261122T101500Z. */
export function defaultImageName(domain: string, now: Date): string {
  return `${domain}-${compactUtc(now)}`;
}
