import { z } from 'zod';
import { DEFAULT_STORE } from './constants.js';
import { domainName, hostName, imageName, storeName } from './names.js';
import { parseWith } from './validation.js';

/** The one JSON argument of `snapshotInstance` (DESIGN.md). Unknown fields are refused. */
export const snapshotRequestSchema = z
  .object({
    host: hostName,
    domain: domainName,
    /** `auto` picks rbd for an RBD disk, live for a running domain, cold otherwise. @default 'auto' */
    mode: z.enum(['auto', 'live', 'cold', 'rbd']).default('auto'),
    /**
     * How the live path copies the disk. `overlay` freezes the disk under a fresh external overlay
     * (the guest writes there meanwhile), has `qemu-img convert` write the image straight into the
     * store, and merges the overlay back: the shortest data path. `backup` (libvirt's backup API,
     * push mode) has QEMU write a point-in-time standalone image into the store.
     * `transient-job` (blockcopy --transient-job into a delta, then convert) never undefines the
     * domain; `undefine` is the seeds' sequence for libvirt that refuses copies of persistent
     * domains. `auto` probes libvirt and picks the fastest it supports (a capped copy: a blockcopy).
     * @default 'auto'
     */
    strategy: z.enum(['auto', 'overlay', 'backup', 'transient-job', 'undefine']).default('auto'),
    /**
     * How the RBD path copies the snapshot into a pool on the same cluster. `stream` pipes its
     * allocated extents through the worker (`rbd export-diff | rbd import-diff`), hashing them on
     * the way: one read and one write, and the image stands alone at once. `clone` is Nova's clone
     * + flatten inside the cluster, with the snapshot read once more for its hash. `auto` is
     * `stream`, the faster on the measured cluster (bench/RESULTS.md); a cluster whose OSDs
     * outrun the worker's network may prefer `clone`. @default 'auto'
     */
    rbdCopy: z.enum(['auto', 'stream', 'clone']).default('auto'),
    /** A store configured on the host worker. @default 'default' */
    store: storeName.default(DEFAULT_STORE),
    /** Image name in the store. @default '<domain>-<UTC time>' */
    name: imageName.optional(),
    /** @default 'qcow2' */
    format: z.enum(['qcow2', 'raw']).default('qcow2'),
    /** Free-form image properties, kept in the manifest. */
    properties: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'property names may hold only letters, digits and _ . : -'),
        z.string().max(1024, 'a property value is longer than 1024 characters'),
      )
      .refine((p) => Object.keys(p).length <= 64, 'at most 64 properties')
      .default({}),
    /**
     * The disks to snapshot, by target (vda, vdb, …), the first one being the image the result
     * names. Several disks are frozen at one instant (one disk-only snapshot over all of them),
     * copied side by side and stored as one image each (`<name>-<target>` for all but the first):
     * on the live path's overlay and backup strategies (the backup API: one job over all of them)
     * and on the cold path; RBD disks on the rbd path (snapshot during one short pause of the
     * domain). @default the root disk only, as Nova
     */
    disks: z
      .array(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a disk target holds only letters, digits, _ and - (e.g. vda)'))
      .min(1)
      .max(16)
      .refine((d) => new Set(d).size === d.length, 'a disk is named twice')
      .optional(),
    /** Caps the copy rate, to spare a busy guest's I/O (auto then picks a blockcopy strategy: only block jobs can be capped). @default unlimited */
    bandwidthMiBps: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();

export type RbdCopy = 'stream' | 'clone';
export type SnapshotRequestInput = z.input<typeof snapshotRequestSchema>;
export type SnapshotRequest = z.output<typeof snapshotRequestSchema>;

/** Validates a request; on failure, one readable line per problem, naming the field. */
export function parseSnapshotRequest(input: unknown): { ok: true; request: SnapshotRequest } | { ok: false; problems: string[] } {
  const r = parseWith(snapshotRequestSchema, input);
  return r.ok ? { ok: true, request: r.value } : r;
}
