import { Transform } from 'node:stream';
import { transientFailure } from '../common/failures.js';
import type { CommandContext } from './command.js';
import type { RbdClient, RbdRef } from './rbd-client.js';
import { RbdDiffHasher } from './rbd-diff-hash.js';
import type { ImageDigest } from './stores/image-store.js';

export interface StreamCopy {
  from: RbdClient;
  source: RbdRef & { snap: string };
  to: RbdClient;
  dest: RbdRef;
  /** The snapshot `rbd import-diff` takes on `dest` once everything is written. */
  snapName: string;
  /** Started once the import is done, beside the last of the hashing (the holes at the end). */
  afterImport?: () => Promise<unknown>;
  step: string;
  context: Partial<CommandContext>;
  onBytes?: (n: number) => void;
  cancelSignal?: AbortSignal;
}

/**
 * Copies a snapshot into an existing image as `rbd export-diff | rbd import-diff`, through this
 * worker: only the allocated extents cross (one read, one write), the sha256 of the whole image is
 * taken on the way (holes as zeros), and the copy stands alone at once, with no parent to flatten;
 * the importer ends it with the snapshot `snapName`.
 * On this lab's single OSD that is a third of clone + flatten + hash (bench/RESULTS.md). Re-running
 * it rewrites the same extents, so a retry after a crash converges.
 */
export async function streamSnapshotCopy(c: StreamCopy): Promise<ImageDigest> {
  const pieces: Buffer[] = [];
  const hasher = new RbdDiffHasher(c.onBytes, { to: (b) => pieces.push(b), snapName: c.snapName });
  const stop = new AbortController();
  let first: Error | undefined;
  const fail = (e: unknown) => {
    first ??= e instanceof Error ? e : new Error(String(e));
    stop.abort();
  };

  const relay = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        hasher.push(chunk);
      } catch (e) {
        done(e as Error);
        return;
      }
      if (pieces.length) this.push(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces));
      pieces.length = 0;
      done();
    },
  });
  const src = `${c.source.pool}/${c.source.image}@${c.source.snap}`;
  relay.on('error', (e) => fail(transientFailure('CommandFailed', `rbd export-diff of ${src} could not be followed: ${e.message}`)));

  // Either command failing stops the other: the one left would wait on a pipe nobody serves.
  const opts = { context: c.context, cancelSignal: c.cancelSignal ? AbortSignal.any([stop.signal, c.cancelSignal]) : stop.signal };
  const watch = (p: Promise<unknown>) => p.catch(fail);
  await Promise.all([
    watch(c.from.rbd(['export-diff', '--no-progress', src, '-'], c.step, { ...opts, stdoutTo: relay })),
    watch(c.to.rbd(['import-diff', '--no-progress', '-', `${c.dest.pool}/${c.dest.image}`], c.step, { ...opts, stdin: relay })),
  ]);
  if (first !== undefined) throw first;
  const after = c.afterImport?.();
  const digest = hasher.digest();
  await after;
  return digest;
}
