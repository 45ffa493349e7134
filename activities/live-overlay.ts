import { rm } from 'node:fs/promises';
import { overlayPath } from '../common/names.js';
import { parseDomainDisks } from './domain-xml.js';
import type { HostContext } from './host-context.js';
import { pathExists as exists } from './path-exists.js';
import { virsh } from './virsh.js';

/** virsh's --diskspec separates fields with commas; a comma inside a name or path is written twice. */
export function diskspecValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * The `--diskspec` arguments of a disk-only external snapshot that puts each overlay on top of its
 * disk (`overlays`: target → overlay file) and leaves every other disk of the domain alone (pure).
 */
export function overlayDiskspecs(disks: string[], overlays: ReadonlyMap<string, string>): string[] {
  return disks.flatMap((name) => {
    const overlay = overlays.get(name);
    return ['--diskspec', overlay !== undefined ? `${diskspecValue(name)},snapshot=external,file=${diskspecValue(overlay)}` : `${diskspecValue(name)},snapshot=no`];
  });
}

/** One more disk to put under an overlay in the same snapshot. */
export interface OverlayDisk {
  disk: string;
  source: string;
}

/**
 * The `overlay` live strategy's first step: the running domain's disk gets a fresh external overlay
 * (a disk-only snapshot without libvirt metadata), so the disk itself stops changing at this
 * instant, the snapshot point, and can be copied by `qemu-img convert` straight into the store
 * while the guest writes to the overlay. The overlay is merged back afterwards (`mergeOverlay`,
 * also the compensation).
 */
export function createLiveOverlayActivities(ctx: HostContext) {
  const v = virsh(ctx);

  return {
    /**
     * Idempotent: a domain already on this run's overlay is left as it is. `disks` (every disk's
     * target, from the inspect step) saves asking libvirt when no attempt made the overlay yet.
     * `also` puts more disks under overlays of their own in the same snapshot (`--atomic`: all or
     * none), so all of them stop changing at one instant.
     */
    async createLiveOverlay({ domain, disk, source, tag, disks, also = [] }: { domain: string; disk: string; source: string; tag: string; disks?: string[]; also?: OverlayDisk[] }): Promise<{ overlay: string }> {
      const step = 'create overlay';
      const where = { domain, disk, step };
      const overlay = overlayPath(source, tag);
      const overlays = new Map([[disk, overlay], ...also.map((d): [string, string] => [d.disk, overlayPath(d.source, tag)])]);
      let targets = disks;
      // Only a file of this run's name can be what the domain runs on: then libvirt is asked.
      if (!targets || (await exists(overlay))) {
        const now = parseDomainDisks((await v(['dumpxml', domain], where)).stdout);
        if (now.find((d) => d.target === disk)?.sourceFile === overlay) return { overlay };
        targets = now.map((d) => d.target);
      }
      // Files of an attempt that died before libvirt switched to them: the guest never wrote there.
      await Promise.all([...overlays.values()].map((f) => rm(f, { force: true })));
      const specs = overlayDiskspecs(targets, overlays);
      await v(['snapshot-create-as', domain, '--disk-only', '--no-metadata', '--atomic', ...specs], where);
      return { overlay };
    },
  };
}
