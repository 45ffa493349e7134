import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { KeyRing } from './key-ring.js';

/** `encoding` of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key that encrypted a payload (in clear: decoders pick the key by it). */
export const KEY_ID_METADATA = 'encryption-key-id';

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = proto.temporal.api.common.v1.Payload;
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A payload that cannot be decrypted: says which key, and what to do about it. */
export class PayloadDecryptError extends Error {
  constructor(
    readonly keyId: string,
    message: string,
  ) {
    super(message);
    this.name = 'PayloadDecryptError';
  }
}

/**
 * AES-256-GCM over the whole serialized payload (metadata and data), so history holds neither the
 * value nor its original encoding. Data = iv (12 bytes) | ciphertext | auth tag (16 bytes); the key
 * ID is authenticated too (as associated data). Encodes with the ring's current key, decodes with
 * whichever key the payload names, and passes payloads it did not encrypt through unchanged.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {}

  // (A failure rejects the promise: the executor's throw does.)
  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((p) => this.encrypt(p))));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((p) => this.decrypt(p))));
  }

  encrypt(payload: Payload): Payload {
    const keyId = this.ring.current;
    const key = this.ring.keys.get(keyId);
    if (!key) throw new Error(`key ring ${this.ring.source} has no current key '${keyId}'`); // parseKeyRing refuses this
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(utf8.encode(keyId));
    const plain = ProtoPayload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(keyId) }, data };
  }

  decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    if (!encoding || text.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const rawId = payload.metadata?.[KEY_ID_METADATA];
    const keyId = rawId ? text.decode(rawId) : '';
    const key = this.ring.keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptError(
        keyId,
        `payload encrypted with key '${keyId}', which key ring ${this.ring.source} does not hold (it holds ${[...this.ring.keys.keys()].join(', ')}): ` +
          `put key '${keyId}' back in the ring (keep retired keys for as long as history encrypted with them is kept)`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptError(keyId, `payload encrypted with key '${keyId}' is truncated (${data.length} bytes)`);
    const decipher = createDecipheriv(CIPHER, key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(utf8.encode(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptError(
        keyId,
        `payload encrypted with key '${keyId}' fails authentication: key '${keyId}' in ${this.ring.source} is not the key that encrypted it, or the payload was altered`,
      );
    }
    const decoded = ProtoPayload.decode(plain);
    return { metadata: decoded.metadata, data: decoded.data };
  }
}
