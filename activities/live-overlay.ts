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
 * The `--diskspec` arguments of a disk-only external snapshot that puts `overlay` on top of `disk`
 * and leaves every other disk of the domain alone (pure).
 */
export function overlayDiskspecs(disks: string[], disk: string, overlay: string): string[] {
  return disks.flatMap((name) => ['--diskspec', name === disk ? `${diskspecValue(name)},snapshot=external,file=${diskspecValue(overlay)}` : `${diskspecValue(name)},snapshot=no`]);
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
     */
    async createLiveOverlay({ domain, disk, source, tag, disks }: { domain: string; disk: string; source: string; tag: string; disks?: string[] }): Promise<{ overlay: string }> {
      const step = 'create overlay';
      const where = { domain, disk, step };
      const overlay = overlayPath(source, tag);
      let targets = disks;
      // Only a file of this run's name can be what the domain runs on: then libvirt is asked.
      if (!targets || (await exists(overlay))) {
        const now = parseDomainDisks((await v(['dumpxml', domain], where)).stdout);
        if (now.find((d) => d.target === disk)?.sourceFile === overlay) return { overlay };
        targets = now.map((d) => d.target);
      }
      // A file of an attempt that died before libvirt switched to it: the guest never wrote there.
      await rm(overlay, { force: true });
      const specs = overlayDiskspecs(targets, disk, overlay);
      await v(['snapshot-create-as', domain, '--disk-only', '--no-metadata', '--atomic', ...specs], where);
      return { overlay };
    },
  };
}
