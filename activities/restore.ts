import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { XMLBuilder } from 'fast-xml-parser';
import { permanentFailure, transientFailure } from '../common/failures.js';
import { parseDomainDisks, rootDisk } from './domain-xml.js';
import type { HostContext } from './host-context.js';
import { pathExists as exists } from './path-exists.js';
import { convertWithProgress, qemuImg } from './qemu-img.js';
import { virsh } from './virsh.js';
import { isNoSuchDomain, parseDomState } from './virsh-output.js';

/** The domain a restore replaces the disk of. */
export interface RestoreTarget {
  state: string;
  disk: string;
  diskPath: string;
  format: 'qcow2' | 'raw';
  /** Beside the disk (same filesystem, so the swap is two renames): the new disk, and the old one kept. */
  restored: string;
  kept: string;
}

/** What a new domain made from an image looks like, where a template domain does not say. */
export interface NewDomainShape {
  memoryMiB: number;
  vcpus: number;
}

export function createRestoreActivities(ctx: HostContext) {
  const v = virsh(ctx);
  const img = qemuImg(ctx);
  const state = async (domain: string, step: string) => parseDomState((await v(['domstate', domain], { domain, step })).stdout);

  return {
    /** The domain's root disk, which must be a file vmsnap can replace. Changes nothing. */
    async inspectRestoreTarget({ domain, tag }: { domain: string; tag: string }): Promise<RestoreTarget> {
      const step = 'inspect';
      const xml = (await v(['dumpxml', '--inactive', domain], { domain, step })).stdout;
      const disk = rootDisk(parseDomainDisks(xml));
      if (!disk) throw permanentFailure('UnsupportedDisk', `domain ${domain} on host ${ctx.host} has no disk to restore onto`);
      if (disk.type !== 'file' || !disk.sourceFile) {
        throw permanentFailure('UnsupportedDisk', `disk ${disk.target} of domain ${domain} on host ${ctx.host} is of type '${disk.type}': a restore in place replaces file disks only; restore as a new domain instead (--as-new)`);
      }
      const info = await img.info(disk.sourceFile, step, { domain, disk: disk.target });
      const format = info.format === 'raw' ? 'raw' : 'qcow2';
      const p = disk.sourceFile;
      return { state: await state(domain, step), disk: disk.target, diskPath: p, format, restored: `${p}.vmsnap-restore-${tag}`, kept: `${p}.vmsnap-old-${tag}` };
    },

    /** Refuses a new domain name already taken on this host; says where its disk goes. */
    async prepareNewDomain({ domain, format }: { domain: string; format: string }): Promise<{ diskPath: string }> {
      const r = await ctx.run('virsh', ['-q', '-c', ctx.libvirtUri, 'dominfo', domain], { context: { host: ctx.host, domain, step: 'inspect' }, allowFailure: true });
      if (r.exitCode === 0) throw permanentFailure('DomainExists', `domain ${domain} already exists on host ${ctx.host}: choose another name for the new domain, or restore onto it in place`);
      if (!isNoSuchDomain(r.stderr)) throw transientFailure('CommandFailed', `virsh dominfo ${domain} on host ${ctx.host} failed: ${r.stderr.trim()}`);
      return { diskPath: path.join(ctx.stateDir, 'disks', `${domain}.${format}`) };
    },

    /** Writes the verified image as a standalone disk file. Idempotent: it rewrites `dest` from the start. */
    async writeRestoredDisk({ domain, disk, src, dest, format }: { domain: string; disk: string; src: string; dest: string; format: 'qcow2' | 'raw' }): Promise<{ sizeBytes: number }> {
      const { virtualSize, format: srcFormat } = await img.info(src, 'convert', { domain, disk });
      return convertWithProgress(ctx, { src, srcFormat, virtualSize, dest, format, where: { domain, disk } });
    },

    /** Shuts the domain down (ACPI, then power off after the grace period). Idempotent. */
    async stopDomain({ domain, graceSeconds }: { domain: string; graceSeconds: number }): Promise<{ stopped: boolean }> {
      const step = 'stop domain';
      if ((await state(domain, step)) === 'shut off') return { stopped: false };
      if (graceSeconds > 0) {
        await v(['shutdown', domain], { domain, step }, { allowFailure: true });
        for (let waited = 0; waited < graceSeconds * 1000; waited += 500) {
          if ((await state(domain, step)) === 'shut off') return { stopped: true };
          await sleep(500);
        }
      }
      await v(['destroy', domain], { domain, step }, { allowFailure: true });
      const after = await state(domain, step);
      if (after !== 'shut off') throw transientFailure('CommandFailed', `domain ${domain} on host ${ctx.host} is still ${after} after virsh destroy`);
      return { stopped: true };
    },

    /**
     * Puts the restored file in place of the disk, keeping the old disk beside it. Idempotent: a
     * swap already made (restored file gone, old disk kept) is left as it is.
     */
    async swapInRestoredDisk({ diskPath, restored, kept }: { diskPath: string; restored: string; kept: string }): Promise<void> {
      if (!(await exists(restored))) {
        if (await exists(kept)) return;
        throw permanentFailure('RestoreFailed', `restored disk ${restored} on host ${ctx.host} is missing, and no kept disk ${kept}: nothing was swapped`);
      }
      if ((await exists(diskPath)) && !(await exists(kept))) await rename(diskPath, kept);
      await rename(restored, diskPath);
    },

    /**
     * Compensation: the kept old disk goes back in place. A domain already running on the restored
     * disk is powered off first (renaming under a running QEMU would leave it on a deleted file).
     * Idempotent: with no kept disk, there is nothing to put back.
     */
    async swapBackOldDisk({ domain, diskPath, kept }: { domain: string; diskPath: string; kept: string }): Promise<void> {
      if (!(await exists(kept))) return;
      if ((await state(domain, 'put the old disk back')) !== 'shut off') await v(['destroy', domain], { domain, step: 'put the old disk back' }, { allowFailure: true });
      await rename(kept, diskPath);
    },

    /** Starts the domain and waits until QEMU runs it: a disk QEMU cannot open fails here. */
    async bootDomain({ domain }: { domain: string }): Promise<void> {
      const step = 'boot';
      if ((await state(domain, step)) !== 'running') await v(['start', domain], { domain, step });
      await sleep(1000);
      const now = await state(domain, step);
      if (now !== 'running') throw permanentFailure('RestoreFailed', `domain ${domain} on host ${ctx.host} did not stay running after start with the restored disk (state: ${now})`);
    },

    /**
     * Defines a new domain on a restored disk: memory and CPUs of the template domain when it is on
     * this host, else the given shape; no network (attach one as the fleet does). Idempotent.
     */
    async defineNewDomain({ domain, diskPath, format, template, shape, workflowId }: { domain: string; diskPath: string; format: 'qcow2' | 'raw'; template?: string; shape: NewDomainShape; workflowId: string }): Promise<void> {
      const step = 'define';
      const file = path.join(path.dirname(diskPath), `${domain}.xml`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, newDomainXml({ domain, diskPath, format, shape: template ? await templateShape(template, shape) : shape, kvm: await exists('/dev/kvm'), workflowId }));
      await v(['define', file], { domain, step });
    },

    /** Compensation: removes a domain this run defined (never another one). Idempotent. */
    async removeNewDomain({ domain, workflowId }: { domain: string; workflowId: string }): Promise<void> {
      const r = await ctx.run('virsh', ['-q', '-c', ctx.libvirtUri, 'dumpxml', '--inactive', domain], { context: { host: ctx.host, domain, step: 'remove new domain' }, allowFailure: true });
      if (r.exitCode !== 0 || !r.stdout.includes(restoreMark(workflowId))) return;
      await v(['destroy', domain], { domain, step: 'remove new domain' }, { allowFailure: true });
      await v(['undefine', domain], { domain, step: 'remove new domain' });
    },

    /** Removes a file this run made or kept (restored disk, old disk, fetched image). Idempotent. */
    async removeRestoreFile({ file }: { file: string }): Promise<void> {
      await rm(file, { force: true });
    },
  };

  async function templateShape(template: string, fallback: NewDomainShape): Promise<NewDomainShape> {
    const r = await ctx.run('virsh', ['-q', '-c', ctx.libvirtUri, 'dominfo', template], { context: { host: ctx.host, domain: template, step: 'define' }, allowFailure: true });
    if (r.exitCode !== 0) return fallback;
    const memKiB = Number(/Max memory:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
    const cpus = Number(/CPU\(s\):\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
    return { memoryMiB: memKiB ? Math.ceil(memKiB / 1024) : fallback.memoryMiB, vcpus: cpus || fallback.vcpus };
  }
}

/** The mark a new domain carries in its description: only the run that made it removes it. */
function restoreMark(workflowId: string): string {
  return `vmsnap restore ${workflowId}`;
}

export function newDomainXml(o: { domain: string; diskPath: string; format: string; shape: NewDomainShape; kvm: boolean; workflowId: string }): string {
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true });
  return builder.build({
    domain: {
      '@type': o.kvm ? 'kvm' : 'qemu',
      name: o.domain,
      description: restoreMark(o.workflowId),
      memory: { '@unit': 'MiB', '#text': String(o.shape.memoryMiB) },
      vcpu: String(o.shape.vcpus),
      os: { type: { '@arch': 'x86_64', '#text': 'hvm' }, boot: { '@dev': 'hd' } },
      devices: {
        disk: { '@type': 'file', '@device': 'disk', driver: { '@name': 'qemu', '@type': o.format }, source: { '@file': o.diskPath }, target: { '@dev': 'vda', '@bus': 'virtio' } },
        memballoon: { '@model': 'none' },
      },
    },
  });
}
