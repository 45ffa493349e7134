import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCodec } from '../../common/codec/data-converter.js';
import { EncryptionCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../common/codec/encryption-codec.js';
import { failureConverter } from '../../common/codec/failure-converter.js';
import type { KeyRing } from '../../common/codec/key-ring.js';
import { loadKeyRing, parseKeyRing } from '../../common/codec/key-ring.js';
import { payloadsToJson } from '../../common/codec/payload-json.js';
import { RemoteCodec } from '../../common/codec/remote-codec.js';
import { workflowTaskQueue } from '../../common/workflow-queue.js';
import { createCodecServer } from '../../workers/codec-server.js';

const key = () => randomBytes(32).toString('base64');
const ring = (current: string, keys: Record<string, string>): KeyRing => parseKeyRing({ current, keys }, 'test-ring.json');
const SECRET = { disk: '/var/lib/libvirt/images/vm1-secret-disk.qcow2', xml: "<domain type='kvm'><name>vm1</name></domain>", sha256: 'ab'.repeat(32) };
const plain = (v: unknown = SECRET) => defaultPayloadConverter.toPayload(v);
const wire = (p: Payload) => Buffer.from(proto.temporal.api.common.v1.Payload.encode(p).finish());
const text = (b: Uint8Array | undefined | null) => Buffer.from(b ?? []).toString('utf8');
const value = (p: Payload) => defaultPayloadConverter.fromPayload(p);

describe('the AES-256-GCM payload codec', () => {
  const k1 = key();
  const k2 = key();

  it('round-trips a payload, marking it encrypted with its key ID', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1 }));
    const [enc] = await codec.encode([plain()]);
    expect(text(enc?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(enc?.metadata?.[KEY_ID_METADATA])).toBe('k1');
    const [dec] = await codec.decode([enc!]);
    expect(value(dec!)).toEqual(SECRET);
    expect(text(dec?.metadata?.encoding)).toBe('json/plain');
  });

  it('leaves no plaintext in the encoded bytes, and never repeats a ciphertext', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1 }));
    const [a, b] = await codec.encode([plain(), plain()]);
    for (const p of [a!, b!]) {
      const bytes = wire(p);
      for (const needle of [SECRET.disk, 'vm1-secret-disk', '<domain', SECRET.sha256, 'json/plain', k1]) expect(bytes.includes(needle), needle).toBe(false);
    }
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('rotates: new payloads use the current key, old ones still decode while the ring keeps their key', async () => {
    const [old] = await new EncryptionCodec(ring('k1', { k1 })).encode([plain('before rotation')]);
    const rotated = new EncryptionCodec(ring('k2', { k1, k2 }));
    const [fresh] = await rotated.encode([plain('after rotation')]);
    expect(text(fresh?.metadata?.[KEY_ID_METADATA])).toBe('k2');
    expect((await rotated.decode([old!, fresh!])).map(value)).toEqual(['before rotation', 'after rotation']);
  });

  it('names the missing key and what to do when the ring no longer holds it', async () => {
    const [old] = await new EncryptionCodec(ring('k1', { k1 })).encode([plain()]);
    await expect(new EncryptionCodec(ring('k2', { k2 })).decode([old!])).rejects.toThrow(
      "payload encrypted with key 'k1', which key ring test-ring.json does not hold (it holds k2): put key 'k1' back in the ring",
    );
  });

  it('refuses a tampered payload, a swapped key ID and a wrong key under the same ID', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1, k2 }));
    const [enc] = await codec.encode([plain()]);
    const data = Buffer.from(enc!.data!);
    data[20] = (data[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...enc!, data }])).rejects.toThrow(/key 'k1' fails authentication: .*or the payload was altered/);
    const swapped = { ...enc!, metadata: { ...enc!.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await expect(codec.decode([swapped])).rejects.toThrow(/key 'k2' fails authentication/);
    await expect(new EncryptionCodec(ring('k1', { k1: k2 })).decode([enc!])).rejects.toThrow(/key 'k1' in test-ring.json is not the key that encrypted it/);
    await expect(codec.decode([{ ...enc!, data: data.subarray(0, 10) }])).rejects.toThrow(/truncated/);
  });

  it('passes payloads it did not encrypt through unchanged', async () => {
    const p = plain();
    const [out] = await new EncryptionCodec(ring('k1', { k1 })).decode([p]);
    expect(out).toBe(p);
  });

  it('moves failure messages and stack traces into an encoded payload', () => {
    const failure = failureConverter.errorToFailure(new Error(`cannot read ${SECRET.disk}`), defaultPayloadConverter);
    expect(failure.message).not.toContain(SECRET.disk);
    expect(failure.stackTrace ?? '').not.toContain(SECRET.disk);
    expect(text(failure.encodedAttributes?.data)).toContain(SECRET.disk);
  });
});

describe('the key ring file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmsnap-ring-'));
  const file = (name: string, content: string, mode = 0o600) => {
    const f = path.join(dir, name);
    writeFileSync(f, content);
    chmodSync(f, mode); // exactly: the umask would drop group and other bits at creation
    return f;
  };

  it('loads a valid ring', () => {
    const k = key();
    const r = loadKeyRing(file('ok.json', JSON.stringify({ current: 'k1', keys: { k1: k } })));
    expect(r.current).toBe('k1');
    expect(r.keys.get('k1')?.toString('base64')).toBe(k);
  });

  it('says what is wrong, and how to make a key', () => {
    expect(() => parseKeyRing({ current: 'k1', keys: { k1: randomBytes(16).toString('base64') } }, 'r.json')).toThrow(
      'key ring r.json: keys.k1: must be 32 bytes (AES-256), not 16; make one with: vmsnap codec-key new --file <ring>',
    );
    expect(() => parseKeyRing({ current: 'k1', keys: { k1: 'not base64!' } }, 'r.json')).toThrow(/keys\.k1: is not base64/);
    expect(() => parseKeyRing({ current: 'k3', keys: { k1: key(), k2: key() } }, 'r.json')).toThrow(`current: names key 'k3', which "keys" does not hold (it holds k1, k2)`);
    expect(() => parseKeyRing({ current: 'k1', keys: {} }, 'r.json')).toThrow(/keys: holds no key/);
    expect(() => parseKeyRing({ current: 'k 1', keys: { k1: key() }, extra: 1 }, 'r.json')).toThrow(/current: a key ID is 1 to 64 letters.*Unrecognized key/);
    expect(() => loadKeyRing(file('bad.json', '{ not json'))).toThrow(/key ring .*bad\.json is not JSON/);
    expect(() => loadKeyRing(path.join(dir, 'missing.json'))).toThrow(/cannot read key ring .*missing\.json: .*ENOENT.*vmsnap codec-key new/);
  });

  it('refuses a ring other users can read, or its group can change', () => {
    const ok = JSON.stringify({ current: 'k1', keys: { k1: key() } });
    expect(() => loadKeyRing(file('open.json', ok, 0o644))).toThrow(/open\.json is open to other users \(mode 644\): run chmod 600/);
    expect(() => loadKeyRing(file('group-write.json', ok, 0o660))).toThrow(/mode 660/);
    expect(loadKeyRing(file('group-read.json', ok, 0o640)).current).toBe('k1');
  });
});

describe('codec settings', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmsnap-codec-'));
  const ringFile = path.join(dir, 'ring.json');
  writeFileSync(ringFile, JSON.stringify({ current: 'k1', keys: { k1: key() } }), { mode: 0o600 });

  it('is off unless asked; takes flags over the environment; refuses a key ring and a codec server at once', () => {
    expect(clientCodec({}, {}, 'default')).toBeUndefined();
    expect(clientCodec({ VMSNAP_CODEC_KEYS: ringFile }, {}, 'default')).toBeInstanceOf(EncryptionCodec);
    expect(clientCodec({ VMSNAP_CODEC_KEYS: ringFile }, { codecEndpoint: 'http://127.0.0.1:8081' }, 'default')).toBeInstanceOf(RemoteCodec);
    expect(() => clientCodec({}, { codecKeys: ringFile, codecEndpoint: 'http://x:1' }, 'default')).toThrow(/both set/);
    expect(() => clientCodec({ TEMPORAL_CODEC_ENDPOINT: 'ftp://x' }, {}, 'default')).toThrow(/not an http\(s\) URL/);
  });

  it('picks the workflow task queue from the flag, the environment, the config file, or vmsnap', () => {
    expect(workflowTaskQueue({})).toBe('vmsnap');
    expect(workflowTaskQueue({}, undefined, 'from-file')).toBe('from-file');
    expect(workflowTaskQueue({ VMSNAP_WORKFLOW_TASK_QUEUE: 'enc' }, undefined, 'from-file')).toBe('enc');
    expect(workflowTaskQueue({ VMSNAP_WORKFLOW_TASK_QUEUE: 'enc' }, 'flag')).toBe('flag');
    expect(() => workflowTaskQueue({}, 'bad queue')).toThrow(/workflow task queue 'bad queue'/);
  });
});

describe('the codec server, and a client that uses it', () => {
  const k1 = key();
  const lines: string[] = [];
  const token = 'a-test-token-of-enough-length';
  const server = createCodecServer({ codec: new EncryptionCodec(ring('k1', { k1 })), corsOrigins: ['http://127.0.0.1:8233'], authToken: token, log: (l) => lines.push(l) });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const remote = (authorization = `Bearer ${token}`) => new RemoteCodec({ endpoint: url, namespace: 'default', authorization });

  it('encodes and decodes over HTTP, logging one line per request without payload content', async () => {
    const enc = await remote().encode([plain()]);
    expect(text(enc[0]?.metadata?.[KEY_ID_METADATA])).toBe('k1');
    expect(wire(enc[0]!).includes(SECRET.disk)).toBe(false);
    // The server's ciphertext is the key ring's: a local codec over the same ring reads it.
    expect(value((await new EncryptionCodec(ring('k1', { k1 })).decode(enc))[0]!)).toEqual(SECRET);
    expect(value((await remote().decode(enc))[0]!)).toEqual(SECRET);
    expect(lines.at(-1)).toMatch(/^codec-server: POST \/decode payloads=1 namespace=default origin=- → 200 \d+ms$/);
    expect(lines.join('\n')).not.toContain('secret-disk');
  });

  it('requires the bearer token', async () => {
    await expect(remote('Bearer wrong').decode([plain()])).rejects.toThrow(/refused to decode \(401\): set TEMPORAL_CODEC_AUTH/);
  });

  it("answers the Web UI's CORS preflight for its origin only", async () => {
    const pre = (origin: string) => fetch(`${url}/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    const ok = await pre('http://127.0.0.1:8233');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-headers')).toBe('Content-Type, X-Namespace, Authorization');
    expect((await pre('http://evil.example')).status).toBe(403);
  });

  it('says which key it lacks, and refuses a malformed body', async () => {
    const [foreign] = await new EncryptionCodec(ring('k9', { k9: key() })).encode([plain()]);
    const post = (body: string) => fetch(`${url}/decode`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    const res = await post(JSON.stringify(payloadsToJson([foreign!])));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/key 'k9', which key ring test-ring.json does not hold/);
    expect((await post('{"payloads": 3}')).status).toBe(400);
  });
});
