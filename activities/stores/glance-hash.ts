import type { Hash } from 'node:crypto';
import { createHash, getHashes } from 'node:crypto';
import type { GlanceImage } from './glance-client.js';
import type { ImageDigest, SentDigests } from './image-store.js';

/** Glance's own default `hashing_algorithm`. */
const GLANCE_DEFAULT = 'sha512';

/**
 * The digest Glance takes of every upload (its `hashing_algorithm`), as last seen on a record it
 * hashed. An upload is trusted only when that digest matches ours: with `sha256` it is the one the
 * image writer takes anyway; any other has to be taken beside the upload, a second hash of every
 * byte on a machine whose cores Glance's own hashing also wants (sha512 of 2 GiB: 2.75 s of CPU).
 */
export class GlanceHashing {
  private algo = GLANCE_DEFAULT;

  /** What Glance hashed `rec` with is what it hashes with now (its config changes rarely; a change costs one retried upload). */
  learn(rec: Pick<GlanceImage, 'os_hash_algo'> | undefined): void {
    if (rec?.os_hash_algo) this.algo = rec.os_hash_algo;
  }

  /** The hash to take beside the upload, or none when Glance's is the writer's sha256. */
  beside(): { algo: string; hash: Hash } | undefined {
    if (this.algo === 'sha256') return undefined;
    const node = nodeName(this.algo);
    return node ? { algo: this.algo, hash: createHash(node) } : undefined;
  }

  /**
   * Why Glance's record of the upload is not the bytes we sent, or undefined when it is. Learns
   * from the record either way, so a retry takes what Glance took.
   */
  mismatch(after: GlanceImage | null, digest: ImageDigest, sent: SentDigests): { why: string; retry: boolean } | undefined {
    if (!after || after.status !== 'active' || after.size !== digest.size) {
      return { retry: true, why: `it holds ${after ? `a record ${after.status}, of ${after.size ?? '?'} bytes` : 'no record'}, not an active one of ${digest.size} bytes` };
    }
    this.learn(after);
    const algo = after.os_hash_algo;
    const ours = algo === 'sha256' ? digest.sha256 : algo ? sent[algo] : undefined;
    if (ours === undefined) {
      const took = Object.keys(sent).concat('sha256').join(' and ');
      if (!algo) return { retry: false, why: `it gave no os_hash_algo to check the upload against (a Glance older than Rocky): vmsnap needs Glance's multihash` };
      if (!nodeName(algo)) return { retry: false, why: `it hashes images with ${algo}, which this worker's Node cannot compute: set hashing_algorithm in glance-api.conf to sha256 or sha512` };
      return { retry: true, why: `it hashes images with ${algo} (hashing_algorithm in glance-api.conf) and this upload took ${took}: the retry takes ${algo}` };
    }
    if (after.os_hash_value !== ours) return { retry: true, why: `its ${algo} of the upload is ${after.os_hash_value ?? '?'}, ours ${ours}` };
    return undefined;
  }
}

/** Node's name for a hashlib algorithm Glance may be set to (sha3_256 is sha3-256, blake2b is blake2b512). */
function nodeName(algo: string): string | undefined {
  const name = { blake2b: 'blake2b512', blake2s: 'blake2s256' }[algo] ?? algo.replace(/_/g, '-');
  return getHashes().includes(name) ? name : undefined;
}
