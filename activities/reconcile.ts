import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { overlayPath } from '../common/names.js';
import { createColdOverlayActivities } from './cold-overlay.js';
import { parseDomainDisks } from './domain-xml.js';
import type { HostContext, RunClaim } from './host-context.js';
import { runFile, savedXmlPath, workDir } from './host-context.js';
import { hostCeph } from './rbd.js';
import { virsh } from './virsh.js';
import { parseDomState, parsePersistent } from './virsh-output.js';

/** What a worker found and did at start: every line names the workflow the artifact belonged to. */
export interface ReconcileReport {
  /** Runs whose workflows still run: their artifacts were left for them. */
  kept: string[];
  /** Actions taken for runs whose workflows are closed or unknown to Temporal. */
  actions: string[];
  /** What could not be cleaned (and why): an operator should look. */
  problems: string[];
}

/**
 * Cleans what snapshots that will never come back left on this host: a crash of the whole host,
 * or a workflow terminated (no compensation runs then). Every artifact vmsnap makes is named by
 * its run's tag, and `work/<tag>/run.json` names the workflow; a run whose workflow is no longer
 * running is unwound here as its compensations would have: block jobs aborted, a domain left
 * transient by the undefine strategy defined again from the XML the run kept (and started if
 * QEMU is gone), RBD snapshots removed, staging files, deltas and the domain lock deleted.
 */
export async function reconcileHost(ctx: HostContext): Promise<ReconcileReport> {
  const report: ReconcileReport = { kept: [], actions: [], problems: [] };
  const v = virsh(ctx);
  const step = 'reconcile';
  let tags: string[] = [];
  try {
    tags = (await readdir(path.join(ctx.stateDir, 'work'))).filter((t) => t.startsWith('vmsnap-'));
  } catch {
    // no work folder: no run ever started here, but the stores may still hold a half-made image
  }

  for (const tag of tags) {
    const claim = await readClaim(ctx, tag);
    if (claim && (await ctx.isWorkflowRunning(claim.workflowId))) {
      report.kept.push(claim.workflowId);
      continue;
    }
    const who = claim ? `${claim.workflowId} (domain ${claim.domain})` : `unclaimed ${tag}`;
    const did = (what: string) => report.actions.push(`${who}: ${what}`);
    try {
      if (claim) {
        const domain = claim.domain;
        const exists = (await v(['dominfo', domain], { domain, step }, { allowFailure: true })).exitCode === 0;
        // A block copy into this run's delta: abort it (no pivot, the domain stays on its disk).
        if (exists) {
          const xml = (await v(['dumpxml', domain], { domain, step })).stdout;
          for (const d of parseDomainDisks(xml)) {
            if (d.mirror?.file?.startsWith(workDir(ctx, tag))) {
              await v(['blockjob', domain, d.target, '--abort'], { domain, disk: d.target, step }, { allowFailure: true });
              did(`aborted the block copy of ${d.target}`);
            }
          }
        }
        // The undefine strategy's saved XML: the domain must be persistent again.
        const saved = await readFile(savedXmlPath(ctx, tag), 'utf8').catch(() => null);
        if (saved) {
          const persistent = exists && parsePersistent((await v(['dominfo', domain], { domain, step })).stdout);
          if (!persistent) {
            await v(['define', savedXmlPath(ctx, tag)], { domain, step });
            did(exists ? 'defined the transient domain again from its saved XML' : 'defined the lost domain again from its saved XML');
            if (!exists) {
              // It was running when it was undefined (live path): QEMU died with it. Bring it back.
              await v(['start', domain], { domain, step });
              did('started it again');
            }
          }
        }
        // An overlay of a cold snapshot or of the live overlay strategy (the domain saved, off or running on it): merged back first.
        if (exists) {
          const merged = await mergeRunOverlay(ctx, domain, tag);
          if (merged) did(`merged its overlay back into ${merged}`);
        }
        if (exists && parseDomState((await v(['domstate', domain], { domain, step })).stdout) === 'shut off' && /^Managed save:\s*yes/m.test((await v(['dominfo', domain], { domain, step })).stdout)) {
          await v(['start', domain], { domain, step });
          did('started the domain a cold snapshot had saved');
        }
        await removeSourceSnapshots(ctx, domain, tag, did);
        await releaseLock(ctx, domain, claim.workflowId, did);
      }
      for (const store of ctx.stores.values()) await store.removeStaging(tag);
      await rm(workDir(ctx, tag), { recursive: true, force: true });
      did('removed its delta, staging files and work folder');
    } catch (e) {
      report.problems.push(`${who}: ${(e as Error).message}`);
    }
  }
  for (const store of ctx.stores.values()) {
    try {
      report.actions.push(...((await store.reconcile?.(ctx.host, (id) => ctx.isWorkflowRunning(id))) ?? []));
    } catch (e) {
      report.problems.push(`store ${store.name}: ${(e as Error).message}`);
    }
  }
  return report;
}

async function readClaim(ctx: HostContext, tag: string): Promise<RunClaim | null> {
  try {
    return JSON.parse(await readFile(runFile(ctx, tag), 'utf8')) as RunClaim;
  } catch {
    return null;
  }
}

/** RBD snapshots named by the run's tag on the domain's RBD disks. */
async function removeSourceSnapshots(ctx: HostContext, domain: string, tag: string, did: (s: string) => void) {
  if (!ctx.ceph) return;
  const xml = (await virsh(ctx)(['dumpxml', '--inactive', domain], { domain, step: 'reconcile' }, { allowFailure: true })).stdout;
  if (!xml) return;
  const ceph = hostCeph(ctx);
  for (const d of parseDomainDisks(xml)) {
    if (!d.rbd) continue;
    if ((await ceph.snapshots(d.rbd, 'reconcile')).some((s) => s.name === tag)) {
      await ceph.snapUnprotectRemove(d.rbd, tag, 'reconcile');
      did(`removed RBD snapshot ${d.rbd.pool}/${d.rbd.image}@${tag}`);
    }
  }
}

async function releaseLock(ctx: HostContext, domain: string, workflowId: string, did: (s: string) => void) {
  const file = path.join(ctx.stateDir, 'locks', `${domain}.lock.json`);
  const holder = await readFile(file, 'utf8').then((t) => (JSON.parse(t) as { workflowId: string }).workflowId, () => null);
  if (holder === workflowId) {
    await rm(file, { force: true });
    did('released its domain lock');
  }
}

/** Finds a disk of the domain on this run's overlay and merges the overlay back; returns the disk file. */
async function mergeRunOverlay(ctx: HostContext, domain: string, tag: string): Promise<string | null> {
  const suffix = overlayPath('', tag);
  const v = virsh(ctx);
  const xmls = [(await v(['dumpxml', '--inactive', domain], { domain, step: 'reconcile' })).stdout, (await v(['dumpxml', domain], { domain, step: 'reconcile' })).stdout];
  const disk = xmls.flatMap((x) => parseDomainDisks(x)).find((d) => d.sourceFile?.endsWith(suffix));
  if (!disk?.sourceFile) return null;
  const source = disk.sourceFile.slice(0, -suffix.length);
  await createColdOverlayActivities(ctx).mergeOverlay({ domain, disk: disk.target, source, overlay: disk.sourceFile, tag });
  return source;
}
