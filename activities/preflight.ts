import { permanentFailure } from '../common/failures.js';
import { artifactTag, diskImageName, diskTag } from '../common/names.js';
import type { DomainDisk } from './domain-xml.js';
import { parseDomainDisks, rootDisk } from './domain-xml.js';
import { handled } from './handled-promise.js';
import type { HostContext } from './host-context.js';
import { qemuImg } from './qemu-img.js';
import { hostCeph } from './rbd.js';
import { storeOf } from './store.js';
import { virsh } from './virsh.js';
import { virshCapabilities } from './virsh-capabilities.js';
import { parseBlockJobRaw, parseDomInfo, parsePersistent } from './virsh-output.js';

/** What the workflow needs to know about a domain before it changes anything. */
export interface DomainFacts {
  host: string;
  domain: string;
  /** libvirt's state word: running, paused, shut off, … */
  state: string;
  persistent: boolean;
  disk: {
    target: string;
    kind: 'file' | 'rbd';
    format: string;
      sourceFile?: string;
    rbd?: { pool: string; image: string };
    virtualSize: number;
    backingFile?: string;
    backingFormat?: string;
  };
  transientJobSupported: boolean;
  /** libvirt (and its QEMU) can run push-mode backups: the `backup` live strategy. */
  backupSupported: boolean;
  /** libvirt can merge an overlay back under a running guest: the `overlay` live strategy. */
  overlaySupported?: boolean;
  /** A block job runs on the disk, or on one of the other disks asked for (left by a crashed tool, say): it must be ended before a live copy. */
  blockJobActive?: boolean;
  /** libvirt's UUID of the domain (Glance records it as instance_uuid). */
  uuid: string;
  /** Every disk of the domain, by target: a disk-only snapshot names the others to leave them out. */
  diskTargets?: string[];
  /** The disk is on RBD and the store is a pool of the same cluster: clone + flatten, no copy out. */
  rbdDirect: boolean;
  /** The kind of the target store: the live strategy that is fastest depends on it. */
  storeKind: 'file' | 'glance' | 'rbd';
  /** Where this run writes its image (the store's staging file): told here to save a round trip. */
  stagingPath?: string;
  /** The other disks the request named (file disks), each with its own staging file. */
  moreDisks?: (DiskFacts & { stagingPath: string })[];
}

export type DiskFacts = DomainFacts['disk'];

export interface PreflightInput {
  domain: string;
  store: string;
  imageName: string;
  workflowId: string;
  /** The disks to snapshot, by target; the first is the run's main image. @default the root disk */
  disks?: string[];
}

export function createPreflightActivities(ctx: HostContext) {
  const v = virsh(ctx);
  const img = qemuImg(ctx);
  const step = 'preflight';

  return {
    /**
     * Reads the domain, its root disk and the store, and refuses with a clear, permanent error
     * anything a snapshot cannot start with. Changes nothing.
     */
    async inspectDomain({ domain, store, imageName, workflowId, disks: wanted }: PreflightInput): Promise<DomainFacts> {
      // The store's questions (can it take an image, is the name free) do not depend on the domain's.
      const storeReady = handled(
        (async () => {
          const s = storeOf(ctx, store);
          try {
            await s.check();
          } catch (e) {
            throw permanentFailure('StoreUnavailable', `store ${store} (${s.kind}) on host ${ctx.host} cannot take an image: ${(e as Error).message}`);
          }
          // A multi-disk run names an image per disk: each name must be free.
          const names = [imageName, ...(wanted ?? []).slice(1).map((d) => diskImageName(imageName, d))];
          const owners = await Promise.all(names.map((name) => s.ownerOf(name)));
          names.forEach((name, i) => {
            const owner = owners[i];
            if (owner && owner !== workflowId) {
              throw permanentFailure('ImageExists', `store ${store} on host ${ctx.host} already has an image named ${name} (made by workflow ${owner}): choose another name`);
            }
          });
          return s;
        })(),
      );
      // Independent questions to libvirt, asked at once: each virsh start costs tens of milliseconds.
      const [infoOut, xmlOut, can] = await Promise.all([v(['dominfo', domain], { domain, step }), v(['dumpxml', domain], { domain, step }), virshCapabilities(ctx, step)]);
      const { state, uuid } = parseDomInfo(infoOut.stdout);
      const persistent = parsePersistent(infoOut.stdout);
      const xml = xmlOut.stdout;
      const disks = parseDomainDisks(xml);
      const chosen = wanted ? wanted.map((target) => disks.find((d) => d.target === target) ?? noSuchDisk(target)) : [rootDisk(disks)];
      function noSuchDisk(target: string): never {
        throw permanentFailure('UnsupportedDisk', `domain ${domain} on host ${ctx.host} has no disk ${target} (its disks: ${disks.map((d) => d.target).join(', ') || 'none'})`);
      }
      const disk = chosen[0];
      if (!disk) throw permanentFailure('UnsupportedDisk', `domain ${domain} on host ${ctx.host} has no disk to snapshot`);
      // Asked beside the disk's own facts: a stale job is ended only where there is one (a domain
      // that does not run has none).
      const running = state === 'running' || state === 'paused';
      const jobOf = (target: string) => v(['blockjob', domain, target, '--info', '--raw'], { domain, disk: target, step }, { allowFailure: true }).catch(() => undefined);
      const jobsOut = running ? Promise.all(chosen.map((d) => jobOf(d!.target))) : undefined;
      const factsOf = async (disk: DomainDisk): Promise<DiskFacts> => {
        let facts: DiskFacts;
        if (disk.type === 'file' && disk.sourceFile) {
          const info = await img.info(disk.sourceFile, step, { domain, disk: disk.target });
          facts = { target: disk.target, kind: 'file', format: info.format, sourceFile: disk.sourceFile, virtualSize: info.virtualSize, backingFile: info.backingFile, backingFormat: info.backingFormat };
        } else if (disk.rbd) {
          const { size } = await hostCeph(ctx).info(disk.rbd, step);
          facts = { target: disk.target, kind: 'rbd', format: disk.driverType ?? 'raw', rbd: disk.rbd, virtualSize: size };
        } else {
          throw permanentFailure('UnsupportedDisk', `disk ${disk.target} of domain ${domain} on host ${ctx.host} is of type '${disk.type}': vmsnap snapshots file (qcow2/raw) and RBD disks only`);
        }
        if (facts.kind === 'file' && facts.format !== 'qcow2' && facts.format !== 'raw') {
          throw permanentFailure('UnsupportedDisk', `disk ${disk.target} of domain ${domain} on host ${ctx.host} is in format ${facts.format}: vmsnap handles qcow2 and raw`);
        }
        return facts;
      };
      const [facts, ...more] = await Promise.all(chosen.map((d) => factsOf(d!)));
      if (!facts) throw permanentFailure('UnsupportedDisk', `domain ${domain} on host ${ctx.host} has no disk to snapshot`);

      // The domain's problems are told first, as before the store was asked beside them.
      const s = await storeReady;

      // Anything unclear counts as a job; a job on any of the disks counts, since one snapshot covers them all.
      const jobs = (await jobsOut) ?? [];
      const blockJobActive = running && jobs.some((job) => !job || job.exitCode !== 0 || parseBlockJobRaw(job.stdout) !== null);
      // Clone works only inside one cluster; a pool elsewhere gets the convert + import fallback.
      const rbdDirect = facts.kind === 'rbd' && s.clonePool !== undefined && (await s.clonePool.client.fsid()) === (await hostCeph(ctx).fsid());
      const tag = artifactTag(workflowId);
      const moreDisks = more.length ? { moreDisks: more.map((d) => ({ ...d, stagingPath: s.stagingPath(diskTag(tag, d.target)) })) } : {};
      return { host: ctx.host, domain, state, persistent, disk: facts, transientJobSupported: can.transientJob, backupSupported: can.backup, overlaySupported: can.activeCommit, blockJobActive, diskTargets: disks.map((d) => d.target), uuid, rbdDirect, storeKind: s.kind, stagingPath: s.stagingPath(tag), ...moreDisks };
    },
  };
}
