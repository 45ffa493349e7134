import type { Payload, PayloadCodec } from '@temporalio/common';
import { request } from 'undici';
import { payloadsFromJson, payloadsToJson } from './payload-json.js';

export interface RemoteCodecOptions {
  /** The codec server's base URL: requests go to `<endpoint>/encode` and `<endpoint>/decode`. */
  endpoint: string;
  /** Sent as `X-Namespace`. */
  namespace: string;
  /** The whole `Authorization` header value (as the Temporal CLI's `--codec-auth`). @default none */
  authorization?: string;
  /** @default 30_000 */
  timeoutMs?: number;
}

/**
 * A codec that lets a codec server do the work (Temporal's remote codec protocol), as the Temporal
 * CLI's `--codec-endpoint`: this side never holds a key.
 */
export class RemoteCodec implements PayloadCodec {
  private readonly base: string;

  constructor(private readonly o: RemoteCodecOptions) {
    this.base = o.endpoint.replace(/\/+$/, '');
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return this.call('encode', payloads);
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return this.call('decode', payloads);
  }

  private async call(op: 'encode' | 'decode', payloads: Payload[]): Promise<Payload[]> {
    if (payloads.length === 0) return payloads;
    const url = `${this.base}/${op}`;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-namespace': this.o.namespace };
    if (this.o.authorization) headers.authorization = this.o.authorization;
    const timeout = this.o.timeoutMs ?? 30_000;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, { method: 'POST', headers, body: JSON.stringify(payloadsToJson(payloads)), headersTimeout: timeout, bodyTimeout: timeout });
    } catch (e) {
      throw new Error(`cannot reach the codec server at ${this.base}: ${(e as Error).message}; start it (vmsnap codec-server) or fix TEMPORAL_CODEC_ENDPOINT / --codec-endpoint`);
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new Error(`the codec server at ${this.base} refused to ${op} (${res.statusCode}): set TEMPORAL_CODEC_AUTH / --codec-auth to "Bearer <its token>"`);
    }
    if (res.statusCode !== 200) throw new Error(`the codec server at ${this.base} could not ${op} (${res.statusCode}): ${text.slice(0, 500)}`);
    let out: Payload[];
    try {
      out = payloadsFromJson(JSON.parse(text));
    } catch (e) {
      throw new Error(`the codec server at ${this.base} answered ${op} with ${(e as Error).message}`);
    }
    if (out.length !== payloads.length) throw new Error(`the codec server at ${this.base} answered ${out.length} payloads for ${payloads.length}`);
    return out;
  }
}
