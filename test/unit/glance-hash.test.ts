import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { GlanceImage } from '../../activities/stores/glance-client.js';
import { GlanceHashing } from '../../activities/stores/glance-hash.js';

const bytes = Buffer.from('an image');
const digest = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
const sha512 = createHash('sha512').update(bytes).digest('hex');
const record = (algo: string | null, value: string | null, over: Partial<GlanceImage> = {}): GlanceImage => ({ id: 'i1', name: 'n', status: 'active', size: bytes.length, os_hash_algo: algo, os_hash_value: value, ...over });

/** What `send` takes beside the upload, as it would return it. */
function sendWith(h: GlanceHashing): Record<string, string> {
  const beside = h.beside();
  return beside ? { [beside.algo]: beside.hash.update(bytes).digest('hex') } : {};
}

describe("Glance's own digest of an upload", () => {
  it("takes sha512 beside the upload until Glance is seen hashing otherwise (Glance's default)", () => {
    const h = new GlanceHashing();
    const sent = sendWith(h);
    expect(sent).toEqual({ sha512 });
    expect(h.mismatch(record('sha512', sha512), digest, sent)).toBeUndefined();
  });

  it("takes nothing beside when Glance hashes with sha256: the writer's digest is checked", () => {
    const h = new GlanceHashing();
    h.learn(record('sha256', digest.sha256));
    const sent = sendWith(h);
    expect(sent).toEqual({});
    expect(h.mismatch(record('sha256', digest.sha256), digest, sent)).toBeUndefined();
    expect(h.mismatch(record('sha256', 'f'.repeat(64)), digest, sent)).toMatchObject({ retry: true, why: expect.stringMatching(/its sha256 of the upload is f+, ours/) as unknown });
  });

  it('a sha512 taken in vain still checks a sha256 Glance, and learns from it', () => {
    const h = new GlanceHashing();
    expect(h.mismatch(record('sha256', digest.sha256), digest, sendWith(h))).toBeUndefined();
    expect(h.beside()).toBeUndefined();
  });

  it('a Glance switched to another algorithm costs one retried upload, which takes it', () => {
    const h = new GlanceHashing();
    h.learn(record('sha256', digest.sha256));
    const bad = h.mismatch(record('sha384', 'x'), digest, sendWith(h));
    expect(bad).toMatchObject({ retry: true, why: expect.stringMatching(/hashes images with sha384 .*took sha256: the retry takes sha384/) as unknown });
    expect(h.beside()?.algo).toBe('sha384');
    const sha384 = createHash('sha384').update(bytes).digest('hex');
    expect(h.mismatch(record('sha384', sha384), digest, sendWith(h))).toBeUndefined();
  });

  it("Glance's hashlib names map to Node's (sha3_256)", () => {
    const h = new GlanceHashing();
    h.learn(record('sha3_256', null));
    const sent = sendWith(h);
    expect(h.mismatch(record('sha3_256', createHash('sha3-256').update(bytes).digest('hex')), digest, sent)).toBeUndefined();
  });

  it('a record of other bytes, of another size, not active, or gone is not the upload', () => {
    const h = new GlanceHashing();
    const sent = sendWith(h);
    expect(h.mismatch(record('sha512', 'a'.repeat(128)), digest, sent)?.retry).toBe(true);
    expect(h.mismatch(record('sha512', sha512, { size: 3 }), digest, sent)?.why).toMatch(/a record active, of 3 bytes, not an active one of 8 bytes/);
    expect(h.mismatch(record('sha512', sha512, { status: 'saving' }), digest, sent)?.why).toMatch(/a record saving/);
    expect(h.mismatch(null, digest, sent)).toMatchObject({ retry: true, why: expect.stringMatching(/no record/) as unknown });
  });

  it('cannot be checked, and is not retried, without a multihash or with an algorithm Node lacks', () => {
    const h = new GlanceHashing();
    expect(h.mismatch(record(null, null), digest, sendWith(h))).toMatchObject({ retry: false, why: expect.stringMatching(/older than Rocky/) as unknown });
    expect(h.mismatch(record('whirlpool9', 'x'), digest, sendWith(h))).toMatchObject({ retry: false, why: expect.stringMatching(/cannot compute: set hashing_algorithm/) as unknown });
  });
});
