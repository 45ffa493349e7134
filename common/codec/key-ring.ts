import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

/** AES-256: every key is 32 bytes, written in the key ring file as base64 (44 characters). */
export const KEY_BYTES = 32;

const MAKE_ONE = 'make one with: vmsnap codec-key new --file <ring>';

/** A key's name: it is written in clear into every payload it encrypts (`encryption-key-id`). */
export const keyIdSchema = z
  .string({ error: 'a key ID must be a string' })
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key ID is 1 to 64 letters, digits and . _ -');

const keyMaterial = z.string({ error: `a key must be a base64 string; ${MAKE_ONE}` }).superRefine((s, ctx) => {
  const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0 ? Buffer.from(s, 'base64').length : -1;
  if (bytes === -1) ctx.addIssue({ code: 'custom', message: `is not base64; ${MAKE_ONE}` });
  else if (bytes !== KEY_BYTES) ctx.addIssue({ code: 'custom', message: `must be ${KEY_BYTES} bytes (AES-256), not ${bytes}; ${MAKE_ONE}` });
});

/**
 * The key ring file (JSON): `{"current": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}`.
 * New payloads are encrypted with `current`; any key still in `keys` decrypts what it encrypted.
 */
export const keyRingFileSchema = z
  .object({
    /** The key ID new payloads are encrypted with. */
    current: keyIdSchema,
    /** Every key that may still be needed to read history, by ID. */
    keys: z.record(keyIdSchema, keyMaterial),
  })
  .strict()
  .superRefine((ring, ctx) => {
    const ids = Object.keys(ring.keys);
    if (ids.length === 0) ctx.addIssue({ code: 'custom', path: ['keys'], message: `holds no key; ${MAKE_ONE}` });
    else if (!ids.includes(ring.current)) ctx.addIssue({ code: 'custom', path: ['current'], message: `names key '${ring.current}', which "keys" does not hold (it holds ${ids.join(', ')})` });
  });
export type KeyRingFile = z.output<typeof keyRingFileSchema>;

/** A loaded key ring: the current key's ID and every key by ID. */
export interface KeyRing {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Buffer>;
  /** Where it came from, for error messages (a file path). */
  readonly source: string;
}

export class KeyRingError extends Error {}

/** Validates a parsed key ring file; throws a `KeyRingError` listing every problem. */
export function parseKeyRing(raw: unknown, source: string): KeyRing {
  const parsed = keyRingFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`);
    throw new KeyRingError(`key ring ${source}: ${problems.join('; ')}`);
  }
  const keys = new Map(Object.entries(parsed.data.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')] as const));
  return { current: parsed.data.current, keys, source };
}

/**
 * What is wrong with a secret file's permissions (a key ring, a token), if anything: other users
 * may not touch it, and its group may read it (a group of the workers and the codec server) but
 * not change it.
 */
export function secretFileModeProblem(mode: number, file: string, what = 'key ring'): string | undefined {
  if ((mode & 0o027) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(3, '0');
  return `${what} ${file} is open to other users (mode ${octal}): run chmod 600 ${file} (or 640, with a group only the workers and the codec server are in)`;
}

/** Reads, checks and validates a key ring file. */
export function loadKeyRing(file: string): KeyRing {
  let text: string;
  try {
    const problem = secretFileModeProblem(statSync(file).mode, file);
    if (problem) throw new KeyRingError(problem);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof KeyRingError) throw e;
    throw new KeyRingError(`cannot read key ring ${file}: ${(e as Error).message}; ${MAKE_ONE}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new KeyRingError(`key ring ${file} is not JSON: ${(e as Error).message}`);
  }
  return parseKeyRing(raw, file);
}

/** A fresh random key, as the key ring file holds it. */
export function newKeyMaterial(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}
