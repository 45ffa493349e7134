/** Parsers for virsh's text output. Pure, so they are unit-tested against recorded output. */

export interface BlockJobInfo {
  type: string;
  cur: number;
  end: number;
}

/** Parses `virsh blockjob D DISK --info --raw`; null when there is no job. */
export function parseBlockJobRaw(stdout: string): BlockJobInfo | null {
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*([a-z_]+)=(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) fields.set(m[1], m[2].trim());
  }
  const cur = fields.get('cur');
  const end = fields.get('end');
  if (cur === undefined || end === undefined) return null;
  return { type: fields.get('type') ?? '', cur: Number(cur), end: Number(end) };
}

/** Parses `virsh domstate D` (e.g. "running", "shut off", "paused"). */
export function parseDomState(stdout: string): string {
  return stdout.trim().split('\n')[0]?.trim() ?? '';
}

/** The state word and UUID from `virsh dominfo D` (one virsh start instead of domstate + domuuid). */
export function parseDomInfo(dominfo: string): { state: string; uuid: string } {
  return { state: /^State:\s*(.+?)\s*$/m.exec(dominfo)?.[1] ?? '', uuid: /^UUID:\s*(\S+)/m.exec(dominfo)?.[1] ?? '' };
}

/** Parses the "Persistent:" line of `virsh dominfo D`. */
export function parsePersistent(dominfo: string): boolean {
  const m = /^Persistent:\s*(\S+)/m.exec(dominfo);
  return m?.[1] === 'yes';
}

/** True when virsh said the domain does not exist. */
export function isNoSuchDomain(stderr: string): boolean {
  return /failed to get domain|Domain not found|no domain with matching name/i.test(stderr);
}

/** True when virsh refused to start a domain because it runs (or is paused) already. */
export function isAlreadyActive(stderr: string): boolean {
  return /is already active|already running/i.test(stderr);
}

/** True when virsh said there is no block job on the disk (an abort with nothing to abort). */
export function isNoActiveBlockJob(stderr: string): boolean {
  return /does not have an active block job|No current block job/i.test(stderr);
}

/** True when `virsh blockcopy --help` lists --transient-job (libvirt ≥ 6.3). */
export function supportsTransientJob(blockcopyHelp: string): boolean {
  return blockcopyHelp.includes('--transient-job');
}

/** Whether `virsh help blockcommit` offers `--active`: merging an overlay back under a running guest. */
export function supportsActiveCommit(blockcommitHelp: string): boolean {
  return blockcommitHelp.includes('--active');
}

/** Whether libvirt has the backup API (`virsh help backup-begin` succeeds and names it). */
export function supportsBackupApi(help: string): boolean {
  return help.includes('backup-begin');
}

/** Parses the "Managed save:" line of `virsh dominfo D`: a saved memory image waits for the next start. */
export function parseManagedSave(dominfo: string): boolean {
  return /^Managed save:\s*yes/m.test(dominfo);
}
