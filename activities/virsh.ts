import { mkdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { cancellationSignal } from '@temporalio/activity';
import { permanentFailure, transientFailure } from '../common/failures.js';
import type { CommandContext, CommandOptions } from './command.js';
import { commandFailure } from './command.js';
import { parseDomainDisks } from './domain-xml.js';
import type { HostContext } from './host-context.js';
import { deltaPath, savedXmlPath, workDir } from './host-context.js';
import { progressReporter } from './progress.js';
import { isAlreadyActive, isNoActiveBlockJob, isNoSuchDomain, parseBlockJobRaw, parseDomState, parsePersistent } from './virsh-output.js';

export interface DomainRef {
  domain: string;
}
export interface DiskRef extends DomainRef {
  disk: string;
}

/** Runs virsh against this host's libvirt; a "no such domain" answer is always permanent. */
export function virsh(ctx: HostContext) {
  return async (args: string[], context: Omit<CommandContext, 'host'>, opts: Partial<CommandOptions> = {}) => {
    const full = { ...context, host: ctx.host };
    const result = await ctx.run('virsh', ['-q', '-c', ctx.libvirtUri, ...args], { ...opts, context: full, allowFailure: true });
    if (result.exitCode !== 0 && isNoSuchDomain(result.stderr)) {
      throw permanentFailure('DomainNotFound', `domain ${context.domain ?? '?'} does not exist on host ${ctx.host} (step ${context.step}): check the name with 'virsh list --all' on ${ctx.host}`);
    }
    if (result.exitCode !== 0 && !opts.allowFailure) throw commandFailure('virsh', args, result, full);
    return result;
  };
}

export function createVirshActivities(ctx: HostContext) {
  const v = virsh(ctx);

  async function domainState(domain: string, step: string) {
    return parseDomState((await v(['domstate', domain], { domain, step })).stdout);
  }
  async function isPersistent(domain: string, step: string) {
    return parsePersistent((await v(['dominfo', domain], { domain, step })).stdout);
  }
  async function blockJob(domain: string, disk: string, step: string) {
    return parseBlockJobRaw((await v(['blockjob', domain, disk, '--info', '--raw'], { domain, disk, step })).stdout);
  }
  async function abortJob(domain: string, disk: string, step: string): Promise<boolean> {
    const r = await v(['blockjob', domain, disk, '--abort'], { domain, disk, step }, { allowFailure: true });
    if (r.exitCode === 0) return true;
    if (isNoActiveBlockJob(r.stderr)) return false;
    throw commandFailure('virsh', ['blockjob', domain, disk, '--abort'], r, { host: ctx.host, domain, disk, step });
  }

  return {
    /**
     * Ends any block job left on the disk, and on the other disks of a multi-disk run (Nova does the
     * same before every live snapshot). The disks are independent: they are asked side by side.
     */
    async abortStaleBlockJobs({ domain, disk, also }: DiskRef & { also?: string[] }): Promise<{ aborted: boolean }> {
      const aborted = await Promise.all([disk, ...(also ?? [])].map((d) => abortJob(domain, d, 'abort stale block jobs')));
      return { aborted: aborted.some(Boolean) };
    },

    /** The persistent definition, kept in workflow state so an undefined domain can always come back. */
    async saveInactiveXml({ domain, tag }: DomainRef & { tag: string }): Promise<string> {
      const xml = (await v(['dumpxml', '--inactive', domain], { domain, step: 'save inactive XML' })).stdout;
      parseDomainDisks(xml); // refuse to go on with something that is not a domain definition
      await mkdir(workDir(ctx, tag), { recursive: true });
      await writeFile(savedXmlPath(ctx, tag), xml, { mode: 0o600 });
      return xml;
    },

    /** Undefines the domain (it keeps running, now transient). Idempotent: a transient domain is left alone. */
    async undefineDomain({ domain }: DomainRef): Promise<void> {
      if (!(await isPersistent(domain, 'undefine'))) return;
      await v(['undefine', domain], { domain, step: 'undefine' });
    },

    /**
     * Defines the domain from saved XML and, when asked, starts it if it is not running (QEMU may have
     * died while the domain was transient: then the saved XML is all that is left of it).
     */
    async defineDomain({ domain, tag, xml, startIfStopped }: DomainRef & { tag: string; xml: string; startIfStopped: boolean }): Promise<{ started: boolean }> {
      const file = savedXmlPath(ctx, tag);
      await mkdir(workDir(ctx, tag), { recursive: true });
      await writeFile(file, xml, { mode: 0o600 });
      await v(['define', file], { domain, step: 'define' });
      if (!startIfStopped) return { started: false };
      const state = await domainState(domain, 'define');
      if (state === 'running' || state === 'paused') return { started: false };
      await v(['start', domain], { domain, step: 'start after define' });
      return { started: true };
    },

    /**
     * Mirrors the disk into the run's delta (shallow, into the pre-created file) and waits until the
     * mirror is in sync, heartbeating the bytes copied. Idempotent: a retry after a crash finds the
     * job it started and keeps waiting on it.
     */
    async blockCopy({ domain, disk, tag, shallow, transientJob, bandwidthMiBps }: DiskRef & { tag: string; shallow: boolean; transientJob: boolean; bandwidthMiBps?: number }): Promise<{ bytes: number }> {
      const step = 'blockcopy';
      const dest = deltaPath(ctx, tag, disk);
      const mirror = await currentMirror(domain, disk, step);
      if (mirror && mirror.file !== dest) {
        throw permanentFailure('CommandFailed', `disk ${disk} of domain ${domain} on host ${ctx.host} is already being copied to ${mirror.file ?? 'another target'} by someone else: abort that job first ('virsh blockjob ${domain} ${disk} --abort')`);
      }
      if (!mirror) {
        const args = ['blockcopy', domain, disk, dest, '--reuse-external', '--format', 'qcow2'];
        if (shallow) args.push('--shallow');
        if (transientJob) args.push('--transient-job');
        if (bandwidthMiBps) args.push('--bandwidth', String(bandwidthMiBps));
        await v(args, { domain, disk, step });
      }
      const report = progressReporter(ctx, step);
      const signal = cancellationSignal();
      for (;;) {
        const job = await blockJob(domain, disk, step);
        if (!job) {
          const state = await domainState(domain, step);
          if (state !== 'running' && state !== 'paused') {
            throw permanentFailure('DomainNotRunning', `domain ${domain} on host ${ctx.host} stopped during the block copy of ${disk} (state: ${state || 'gone'})`);
          }
          throw transientFailure('CommandFailed', `the block copy of ${disk} on domain ${domain} (host ${ctx.host}) vanished before it was ready; it will be started again`);
        }
        report(job.cur, job.end);
        if (job.end > 0 && job.cur === job.end && (await currentMirror(domain, disk, step))?.ready) return { bytes: job.end };
        await sleep(250, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw permanentFailure('CommandFailed', `block copy of ${disk} on domain ${domain} cancelled`);
      }
    },

    /**
     * Saves the domain's memory and stops it (cold path). Idempotent: a domain that is already down
     * (saved by an earlier attempt) is left as it is.
     */
    async managedSave({ domain }: DomainRef): Promise<{ saved: boolean }> {
      const state = await domainState(domain, 'managedsave');
      if (state !== 'running' && state !== 'paused') return { saved: false };
      await v(['managedsave', domain], { domain, step: 'managedsave' });
      return { saved: true };
    },

    /** Starts the domain (from its managed-save image if it has one). Idempotent. */
    async startDomain({ domain }: DomainRef): Promise<{ started: boolean }> {
      // Not asked first: on the cold path this runs while the domain is down, and virsh itself refuses a domain that runs.
      const r = await v(['start', domain], { domain, step: 'start' }, { allowFailure: true });
      if (r.exitCode === 0) return { started: true };
      if (isAlreadyActive(r.stderr)) return { started: false };
      throw commandFailure('virsh', ['start', domain], r, { host: ctx.host, domain, step: 'start' });
    },

    /** Ends the block copy without pivoting: the delta now holds the disk as of this moment. Idempotent. */
    async abortBlockJob({ domain, disk }: DiskRef): Promise<{ aborted: boolean }> {
      return { aborted: await abortJob(domain, disk, 'abort block job') };
    },
  };

  async function currentMirror(domain: string, disk: string, step: string) {
    const xml = (await v(['dumpxml', domain], { domain, disk, step })).stdout;
    return parseDomainDisks(xml).find((d) => d.target === disk)?.mirror;
  }
}
