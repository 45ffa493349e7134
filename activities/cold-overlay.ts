import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { permanentFailure } from '../common/failures.js';
import { overlayPath } from '../common/names.js';
import { retargetDiskSource } from './disk-source-xml.js';
import { parseDomainDisks } from './domain-xml.js';
import type { HostContext } from './host-context.js';
import { pathExists as exists } from './path-exists.js';
import { workDir } from './host-context.js';
import { progressReporter } from './progress.js';
import { commandFailure } from './command.js';
import { handled } from './handled-promise.js';
import type { OverlayDisk } from './live-overlay.js';
import { virsh } from './virsh.js';
import { parseDomState, parseManagedSave } from './virsh-output.js';

/**
 * The cold path's short downtime: while the domain is saved, its disk gets a fresh overlay that
 * the saved state and the definition point at; the domain restarts on the overlay at once and the
 * disk, now read-only under it, is copied while the domain runs. Then the overlay is merged back.
 */
/** Where `switchToOverlay` makes the overlay before the saved state is switched to it. */
const unswitched = (overlay: string) => `${overlay}.new`;

/** A file disk to switch: its target and file, and that file's format (the overlay's backing format). */
interface SavedDisk extends OverlayDisk {
  format: string;
}

export function createColdOverlayActivities(ctx: HostContext) {
  const v = virsh(ctx);
  const sourceIn = (xml: string, disk: string) => parseDomainDisks(xml).find((d) => d.target === disk)?.sourceFile;
  const defineFrom = async (domain: string, tag: string, kind: 'inactive' | 'managedsave', xml: string, step: string) => {
    const file = path.join(workDir(ctx, tag), `${kind}.xml`);
    await mkdir(workDir(ctx, tag), { recursive: true, mode: 0o700 });
    await writeFile(file, xml, { mode: 0o600 });
    await v(kind === 'inactive' ? ['define', file] : ['managedsave-define', domain, file], { domain, step });
  };

  return {
    /**
     * Saved domain: a fresh overlay on its disk (and on each of `also`, the other disks of a
     * multi-disk run), and both its saved state and its definition on them. Idempotent. It runs
     * while the domain is down, so what does not depend on the other runs at once; the saved state
     * and the definition are each rewritten once, with every disk switched in the one XML.
     */
    async switchToOverlay({ domain, disk, source, format, tag, also = [] }: SavedDisk & { domain: string; tag: string; also?: SavedDisk[] }): Promise<{ overlay: string }> {
      const step = 'switch to overlay';
      const where = { domain, disk, step };
      const all = [{ disk, source, format }, ...also].map((d) => ({ ...d, overlay: overlayPath(d.source, tag) }));
      // Made under another name: until the saved state is on the overlay, a retry makes it again.
      const making = all.map((d) => {
        const fresh = unswitched(d.overlay);
        return handled(rm(fresh, { force: true }).then(() => ctx.run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', d.source, '-F', d.format, fresh], { context: { host: ctx.host, domain, disk: d.disk, step } })));
      });
      const retarget = (xml: string, disks: typeof all) => disks.reduce((x, d) => retargetDiskSource(x, d.disk, d.overlay), xml);
      try {
        const [info, saved, inactive] = await Promise.all([v(['dominfo', domain], where), v(['managedsave-dumpxml', domain], where, { allowFailure: true }), v(['dumpxml', '--inactive', domain], where)]);
        if (!parseManagedSave(info.stdout)) throw permanentFailure('DomainNotRunning', `domain ${domain} on host ${ctx.host} has no managed save to switch to an overlay (was it started meanwhile?)`);
        if (saved.exitCode !== 0) throw commandFailure('virsh', ['managedsave-dumpxml', domain], saved, { host: ctx.host, ...where });
        const defines: Promise<void>[] = [];
        const unsaved = all.filter((d) => sourceIn(saved.stdout, d.disk) !== d.overlay);
        if (unsaved.length) {
          // The domain has never run on these: a half-made overlay of an earlier attempt is replaced.
          await Promise.all(all.flatMap((d, i) => (unsaved.includes(d) ? [making[i]!.then(() => rename(unswitched(d.overlay), d.overlay))] : [])));
          defines.push(defineFrom(domain, tag, 'managedsave', retarget(saved.stdout, unsaved), step));
        }
        const undefinedOn = all.filter((d) => sourceIn(inactive.stdout, d.disk) !== d.overlay);
        if (undefinedOn.length) defines.push(defineFrom(domain, tag, 'inactive', retarget(inactive.stdout, undefinedOn), step));
        await Promise.all(defines);
      } finally {
        await Promise.all(making.map((m) => m.catch(() => undefined)));
        await Promise.all(all.map((d) => rm(unswitched(d.overlay), { force: true })));
      }
      return { overlay: all[0]!.overlay };
    },

    /**
     * Merges the overlay back into the disk and deletes it, whatever state the domain is in: running
     * on it (live commit and pivot), saved or off on it (offline commit, definitions pointed back).
     * The normal last step of a cold snapshot, and its compensation. Idempotent.
     */
    async mergeOverlay({ domain, disk, source, overlay, tag }: { domain: string; disk: string; source: string; overlay: string; tag: string }): Promise<{ merged: boolean }> {
      const step = 'merge overlay';
      // What a switch that died before its rename left: never used by the domain.
      await rm(unswitched(overlay), { force: true });
      if (!(await exists(overlay))) return { merged: false };
      const where = { domain, disk, step };
      // Asked at once (each virsh start costs tens of milliseconds); of a domain that is off, dumpxml tells the definition.
      const [stateOut, liveXml] = await Promise.all([v(['domstate', domain], where), v(['dumpxml', domain], where)]);
      const state = parseDomState(stateOut.stdout);
      if (state === 'running' || state === 'paused') {
        const now = parseDomainDisks(liveXml.stdout).find((d) => d.target === disk);
        if (now?.sourceFile === overlay) {
          // A commit job of an attempt that died is ended first; this one starts from where the data is.
          if (now.mirror) await v(['blockjob', domain, disk, '--abort'], where, { allowFailure: true });
          const report = progressReporter(ctx, step);
          await v(['blockcommit', domain, disk, '--active', '--shallow', '--pivot', '--wait', '--verbose'], where, {
            onStdout: (chunk) => {
              const m = /\[\s*(\d+(?:\.\d+)?) %\]/.exec(chunk);
              if (m) report(Number(m[1]), 100);
            },
          });
        }
      } else {
        const info = (await v(['dominfo', domain], where)).stdout;
        const saved = parseManagedSave(info) ? (await v(['managedsave-dumpxml', domain], where)).stdout : undefined;
        const inactive = (await v(['dumpxml', '--inactive', domain], where)).stdout;
        const savedOn = saved && sourceIn(saved, disk) === overlay;
        const definedOn = sourceIn(inactive, disk) === overlay;
        // What the guest wrote on the overlay (nothing, if it never ran) goes into the disk first.
        if (savedOn || definedOn) await ctx.run('qemu-img', ['commit', '-q', overlay], { context: { host: ctx.host, ...where } });
        if (saved && savedOn) await defineFrom(domain, tag, 'managedsave', retargetDiskSource(saved, disk, source), step);
        if (definedOn) await defineFrom(domain, tag, 'inactive', retargetDiskSource(inactive, disk, source), step);
      }
      const inactiveAfter = (await v(['dumpxml', '--inactive', domain], where)).stdout;
      if (sourceIn(inactiveAfter, disk) === overlay) await defineFrom(domain, tag, 'inactive', retargetDiskSource(inactiveAfter, disk, source), step);
      await rm(overlay, { force: true });
      return { merged: true };
    },
  };
}
