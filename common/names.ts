import { z } from 'zod';

// Names end up in file paths and command arguments: a small safe alphabet keeps every one of them
// inert (no path separators, no option-looking leading dash, no hidden files).
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._+:-]*$/;

function safeName(what: string, max: number) {
  return z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(max, `${what} is longer than ${max} characters`)
    .regex(SAFE, `${what} may hold only letters, digits and . _ + : - and must start with a letter or digit`);
}

/** A hypervisor name: it becomes the task queue `vmsnap-host-<name>`. */
export const hostName = z
  .string({ error: 'host must be a string' })
  .min(1, 'host must not be empty')
  .max(64, 'host is longer than 64 characters')
  .regex(/^[A-Za-z0-9._-]+$/, 'host may hold only letters, digits and . _ -');
export const domainName = safeName('domain', 200);
export const storeName = safeName('store', 64);
export const imageName = safeName('name', 200);

/**
 * A short, path-safe tag derived from a workflow ID, so that every artifact a run makes on a host
 * carries it and a retry (or the reconciler) finds its own leftovers. Pure and deterministic: it
 * runs inside workflows.
 */
export function artifactTag(workflowId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < workflowId.length; i++) {
    hash ^= workflowId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const readable = workflowId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '').slice(0, 60);
  return `vmsnap-${readable}-${hash.toString(16).padStart(8, '0')}`;
}

/** A compact UTC time for names: 2026-11-22T10:15:00.123Z → 20261122T101500Z. Pure. */
export function compactUtc(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** An image as an operator names it: its image ID (a UUID in Glance) or its name. */
export const imageRef = z
  .string({ error: 'image must be a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+:-]{0,199}$/, 'image must be an image ID or name (letters, digits and . _ + : -)');

/** Nova's backup type (daily, weekly, …): rotation counts backups of one type only. */
export const backupType = z
  .string({ error: 'backupType must be a string' })
  .regex(/^[A-Za-z0-9_-]{1,32}$/, 'backupType may hold 1 to 32 letters, digits, _ and -');

/** Where a cold snapshot's overlay lives: beside the disk (same filesystem), named by the run's tag. Pure. */
export function overlayPath(diskFile: string, tag: string): string {
  return `${diskFile}.vmsnap-overlay-${tag}.qcow2`;
}

/** The tag of one more disk's artifacts (its staging file) in a multi-disk run. Pure. */
export function diskTag(tag: string, disk: string): string {
  return `${tag}-${disk}`;
}

/** The image name of one more disk of a multi-disk run. Pure. */
export function diskImageName(imageName: string, disk: string): string {
  return `${imageName}-${disk}`;
}
