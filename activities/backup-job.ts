import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cancellationSignal } from '@temporalio/activity';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { permanentFailure, transientFailure } from '../common/failures.js';
import { parseDomainDisks } from './domain-xml.js';
import type { HostContext } from './host-context.js';
import { workDir } from './host-context.js';
import { progressReporter } from './progress.js';
import { virsh } from './virsh.js';

/** A domain job as `virsh domjobinfo --rawstats` reports it. */
export interface DomainJob {
  /** libvirt's virDomainJobType: 0 none, 2 unbounded (running), 3 completed, 4 failed, 5 cancelled. */
  type: number;
  /** virDomainJobOperation: 9 is a backup. */
  operation?: number;
  processed: number;
  total: number;
  error?: string;
}

export const JOB = { none: 0, running: 2, completed: 3, failed: 4, cancelled: 5 } as const;
const BACKUP_OPERATION = 9;

/** Reads `virsh domjobinfo --rawstats` (pure). */
export function parseDomJobRaw(text: string): DomainJob {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_ ]+?):\s*(.*?)\s*$/.exec(line);
    if (m?.[1]) fields.set(m[1].toLowerCase().replace(/ /g, '_'), m[2] ?? '');
  }
  const num = (k: string) => Number(fields.get(k) ?? 0) || 0;
  return {
    type: num('job_type'),
    operation: fields.has('operation') ? num('operation') : undefined,
    processed: num('disk_processed'),
    total: num('disk_total'),
    error: fields.get('errmsg') || undefined,
  };
}

/** One disk a backup job writes, and the file it writes it into. */
export interface BackupTarget {
  disk: string;
  dest: string;
}

/**
 * The push-mode backup XML: each of `targets` into its file, every other disk of the domain left
 * out. One job over several disks starts them all at the same instant (one snapshot point).
 */
export function backupXml(disks: string[], targets: BackupTarget[], format: 'qcow2' | 'raw'): string {
  const dests = new Map(targets.map((t) => [t.disk, t.dest]));
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@' });
  return builder.build({
    domainbackup: {
      '@mode': 'push',
      disks: {
        disk: disks.map((name) => {
          const dest = dests.get(name);
          return dest !== undefined ? { '@name': name, '@type': 'file', target: { '@file': dest }, driver: { '@type': format } } : { '@name': name, '@backup': 'no' };
        }),
      },
    },
  });
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => name === 'disk' });

/** The files a running backup job writes, from `virsh backup-dumpxml` (pure). */
export function backupTargetFiles(xml: string): string[] {
  const doc = parser.parse(xml) as { domainbackup?: { disks?: { disk?: { target?: { '@file'?: unknown } }[] } } };
  return (doc.domainbackup?.disks?.disk ?? []).map((d) => d.target?.['@file']).filter((f): f is string => typeof f === 'string');
}

/**
 * libvirt's backup API in push mode: QEMU writes a point-in-time, standalone image of the disk
 * (its whole chain, holes kept) straight to the store's staging file while the domain runs. The
 * snapshot point is the job's start; guest writes after it are kept out by copy-before-write.
 */
export function createBackupJobActivities(ctx: HostContext) {
  const v = virsh(ctx);
  const job = async (domain: string, step: string, completed = false) =>
    parseDomJobRaw((await v(['domjobinfo', domain, '--rawstats', ...(completed ? ['--completed', '--anystats', '--keep-completed'] : [])], { domain, step })).stdout);
  const backupTargets = async (domain: string, step: string): Promise<string[]> => {
    const r = await v(['backup-dumpxml', domain], { domain, step }, { allowFailure: true });
    return r.exitCode === 0 ? backupTargetFiles(r.stdout) : [];
  };

  return {
    /**
     * Backs the disk (and `also`, the other disks of a multi-disk run, in the same job) up into
     * `dest` and waits for the job, heartbeating its progress. Idempotent: a retry finds its own
     * job still running and waits on it, or starts over from empty files.
     */
    async backupDisk({ domain, disk, tag, dest, format, also = [] }: { domain: string; disk: string; tag: string; dest: string; format: 'qcow2' | 'raw'; also?: BackupTarget[] }): Promise<{ bytes: number }> {
      const step = 'backup';
      const report = progressReporter(ctx, step);
      const targets = [{ disk, dest }, ...also];
      const current = await job(domain, step);
      if (current.type === JOB.running) {
        const running = current.operation === BACKUP_OPERATION ? await backupTargets(domain, step) : [];
        if (!running.includes(dest)) {
          throw transientFailure('CommandFailed', `domain ${domain} on host ${ctx.host} is busy with another job (operation ${current.operation ?? '?'}${running.length ? `, backup to ${running.join(', ')}` : ''}); the backup will be tried again`);
        }
      } else {
        const xml = (await v(['dumpxml', domain], { domain, disk, step })).stdout;
        const disks = parseDomainDisks(xml).map((d) => d.target);
        const file = path.join(workDir(ctx, tag), 'backup.xml');
        await mkdir(workDir(ctx, tag), { recursive: true, mode: 0o700 });
        await writeFile(file, backupXml(disks, targets, format));
        for (const t of targets) {
          await rm(t.dest, { force: true });
          await mkdir(path.dirname(t.dest), { recursive: true }); // the host's staging folder, for Glance and RBD stores
        }
        await v(['backup-begin', domain, '--backupxml', file], { domain, disk, step });
      }
      const what = targets.map((t) => t.disk).join(', ');
      const signal = cancellationSignal();
      for (;;) {
        const now = await job(domain, step);
        if (now.type === JOB.running) {
          report(now.processed, Math.max(now.total, 1));
        } else {
          const done = await job(domain, step, true);
          if (done.type === JOB.completed && done.operation === BACKUP_OPERATION) {
            report(done.total, Math.max(done.total, 1));
            return { bytes: done.total };
          }
          const state = (await v(['domstate', domain], { domain, step })).stdout.trim();
          if (state !== 'running' && state !== 'paused') {
            throw permanentFailure('DomainNotRunning', `domain ${domain} on host ${ctx.host} stopped during the backup of ${what} (state: ${state || 'gone'})`);
          }
          throw transientFailure('CommandFailed', `the backup job of ${what} on domain ${domain} (host ${ctx.host}) ended without success${done.error ? `: ${done.error}` : ''}; it will be started again`);
        }
        await sleep(100, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw permanentFailure('CommandFailed', `backup of ${what} on domain ${domain} cancelled`);
      }
    },

    /** Compensation: aborts this run's backup job (the one writing `dest`) if it still runs, never someone else's. Idempotent. */
    async abortBackup({ domain, dest }: { domain: string; dest: string }): Promise<{ aborted: boolean }> {
      const step = 'abort backup';
      const current = await job(domain, step).catch(() => undefined); // a domain gone has no job
      if (current?.type !== JOB.running || current.operation !== BACKUP_OPERATION) return { aborted: false };
      if (!(await backupTargets(domain, step)).includes(dest)) return { aborted: false };
      await v(['domjobabort', domain], { domain, step }, { allowFailure: true });
      return { aborted: true };
    },
  };
}
