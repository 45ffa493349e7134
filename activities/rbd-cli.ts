/** How vmsnap talks to a Ceph cluster with the rbd and ceph CLIs, and how it reads their answers. */

/** A Ceph cluster as seen from this host: its config file and the client id to use. */
export interface CephTarget {
  /** Path of ceph.conf. */
  conf: string;
  /** Client id (client.<id>); its key comes from the keyring the conf names. @default 'admin' */
  id?: string;
}

export function cephArgs(t: CephTarget, args: readonly string[]): string[] {
  return ['--conf', t.conf, ...(t.id ? ['--id', t.id] : []), ...args];
}

/** The `rbd:` spec qemu-img reads a snapshot through. */
export function qemuRbdSpec(t: CephTarget, pool: string, image: string, snap?: string): string {
  return `rbd:${pool}/${image}${snap ? `@${snap}` : ''}:conf=${t.conf}${t.id ? `:id=${t.id}` : ''}`;
}

/**
 * rbd exits with the errno of what failed (LAB.md): 2 ENOENT, 16 EBUSY, 17 EEXIST, 22 EINVAL,
 * 39 ENOTEMPTY. The cause is its last "rbd: …" line.
 */
export const ERRNO = { ENOENT: 2, EBUSY: 16, EEXIST: 17, EINVAL: 22, ENOTEMPTY: 39 } as const;

export function rbdCause(stderr: string, stdout = ''): string {
  const lines = `${stderr}\n${stdout}`.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('rbd:') || l.includes('error'));
  return lines[lines.length - 1] ?? stderr.trim().split('\n').pop() ?? '';
}

/** Parses the last "Image flatten: 43% complete" of rbd's stderr into a fraction, or null. */
export function parseRbdProgress(chunk: string): number | null {
  const all = [...chunk.matchAll(/(\d+)% complete/g)];
  const last = all[all.length - 1];
  return last?.[1] ? Number(last[1]) / 100 : null;
}

/** Parses `rbd info --format json`: size and parent (a clone's source snapshot). */
export function parseRbdInfo(json: string): { size: number; parent?: { pool: string; image: string; snapshot: string }; snapshots: number; created?: number } {
  const raw = JSON.parse(json) as { size?: number; parent?: { pool?: string; image?: string; snapshot?: string }; snapshot_count?: number; create_timestamp?: string };
  const p = raw.parent;
  const created = raw.create_timestamp ? Date.parse(raw.create_timestamp) : NaN;
  return {
    size: raw.size ?? 0,
    parent: p?.pool && p.image && p.snapshot ? { pool: p.pool, image: p.image, snapshot: p.snapshot } : undefined,
    snapshots: raw.snapshot_count ?? 0,
    ...(Number.isNaN(created) ? {} : { created }),
  };
}

/** Parses `rbd snap ls --format json`: names and whether each is protected ("true" is a string there). */
export function parseSnapList(json: string): { name: string; protected: boolean; taken?: number }[] {
  const raw = JSON.parse(json) as { name: string; protected?: string | boolean; timestamp?: string }[];
  return raw.map((s) => {
    const taken = s.timestamp ? Date.parse(s.timestamp) : NaN;
    return { name: s.name, protected: s.protected === true || s.protected === 'true', ...(Number.isNaN(taken) ? {} : { taken }) };
  });
}
