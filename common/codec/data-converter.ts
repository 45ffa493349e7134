import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DataConverter, LoadedDataConverter, PayloadCodec } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec } from './encryption-codec.js';
import { failureConverter } from './failure-converter.js';
import { loadKeyRing } from './key-ring.js';
import { RemoteCodec } from './remote-codec.js';

/** How a client picks its payload codec: flags first, else the environment; off when neither says. */
export interface CodecFlags {
  /** Key ring file: encrypt and decrypt here (env VMSNAP_CODEC_KEYS). @default none */
  codecKeys?: string;
  /** A codec server's URL: let it encrypt and decrypt (env TEMPORAL_CODEC_ENDPOINT). @default none */
  codecEndpoint?: string;
  /** `Authorization` header for the codec server (env TEMPORAL_CODEC_AUTH). @default none */
  codecAuth?: string;
}

const set = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

/** The codec a client's settings ask for, or undefined (payloads stay plain JSON). Throws on bad settings. */
export function clientCodec(env: NodeJS.ProcessEnv, flags: CodecFlags, namespace: string): PayloadCodec | undefined {
  const fromFlags = set(flags.codecKeys) !== undefined || set(flags.codecEndpoint) !== undefined;
  const keys = fromFlags ? set(flags.codecKeys) : set(env.VMSNAP_CODEC_KEYS);
  const endpoint = fromFlags ? set(flags.codecEndpoint) : set(env.TEMPORAL_CODEC_ENDPOINT);
  const where = fromFlags ? '--codec-keys and --codec-endpoint' : 'VMSNAP_CODEC_KEYS and TEMPORAL_CODEC_ENDPOINT';
  if (keys && endpoint) throw new Error(`${where} are both set: use a key ring here or a codec server, not both`);
  if (keys) return new EncryptionCodec(loadKeyRing(keys));
  if (!endpoint) return undefined;
  if (!/^https?:\/\/[^/]/.test(endpoint)) throw new Error(`codec endpoint '${endpoint}' is not an http(s) URL (e.g. http://127.0.0.1:8081)`);
  return new RemoteCodec({ endpoint, namespace, authorization: set(flags.codecAuth) ?? set(env.TEMPORAL_CODEC_AUTH) });
}

/**
 * For a Client: the codec, and failures whose message and stack go through it. (A loaded
 * converter: Client takes one as is, so nothing is required by path.)
 */
export function clientDataConverter(codec: PayloadCodec): LoadedDataConverter {
  return { payloadConverter: defaultPayloadConverter, failureConverter, payloadCodecs: [codec] };
}

/** For a Worker: the same, with the failure converter by path, as the workflow sandbox loads it. */
export function workerDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: failureConverterPath() };
}

/** Compiled JavaScript in a build, TypeScript when run from source (as the workflows' path). */
function failureConverterPath(): string {
  const js = fileURLToPath(new URL('./failure-converter.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('./failure-converter.ts', import.meta.url));
}
