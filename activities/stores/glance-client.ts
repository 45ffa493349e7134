import type { Readable } from 'node:stream';
import { request } from 'undici';
import { permanentFailure, transientFailure } from '../../common/failures.js';
import type { KeystoneSession } from './keystone.js';

/** One Glance image record, as the v2 API shows it (core fields plus free-form properties). */
export interface GlanceImage {
  id: string;
  name: string;
  status: string;
  size: number | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  [property: string]: unknown;
}

/**
 * The few Glance image API v2 calls vmsnap makes, with a Keystone token when the store has one.
 * 5xx and connection errors are transient; 4xx are permanent, and say what Glance said.
 */
export class GlanceClient {
  constructor(
    readonly url: string,
    private readonly session?: KeystoneSession,
  ) {}

  async call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: { json?: unknown; patch?: unknown; stream?: Readable; length?: number; ok?: number[] } = {}): Promise<{ status: number; body: unknown }> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.session) headers['x-auth-token'] = await this.session.get();
      let body: string | Readable | undefined;
      if (opts.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.json);
      } else if (opts.patch !== undefined) {
        headers['content-type'] = 'application/openstack-images-v2.1-json-patch';
        body = JSON.stringify(opts.patch);
      } else if (opts.stream) {
        headers['content-type'] = 'application/octet-stream';
        if (opts.length !== undefined) headers['content-length'] = String(opts.length);
        body = opts.stream;
      }
      let res;
      try {
        res = await request(`${this.url}${path}`, { method, headers, body });
      } catch (e) {
        throw transientFailure('StoreUnavailable', `Glance at ${this.url} cannot be reached (${method} ${path}): ${(e as Error).message}`);
      }
      const text = await res.body.text();
      // A token Keystone revoked or that expired early: get a fresh one, once (a stream cannot be replayed).
      if (res.statusCode === 401 && this.session && attempt === 0 && !opts.stream) {
        this.session.invalidate();
        continue;
      }
      if (res.statusCode < 300 || opts.ok?.includes(res.statusCode)) {
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // Glance answers some calls with no or non-JSON bodies; the status says enough.
        }
        return { status: res.statusCode, body: parsed };
      }
      const what = `Glance at ${this.url} answered HTTP ${res.statusCode} to ${method} ${path}: ${glanceMessage(text)}`;
      if (res.statusCode === 401 && this.session) this.session.invalidate();
      if (res.statusCode >= 500 || res.statusCode === 401 || res.statusCode === 409) throw transientFailure('StoreUnavailable', what);
      if (res.statusCode === 413) throw permanentFailure('NoSpace', `${what}: the image is larger than Glance accepts (image_size_cap or quota)`);
      throw permanentFailure('StoreUnavailable', what);
    }
  }

  async create(fields: Record<string, unknown>): Promise<GlanceImage> {
    return (await this.call('POST', '/v2/images', { json: fields })).body as GlanceImage;
  }

  async get(id: string): Promise<GlanceImage | null> {
    const r = await this.call('GET', `/v2/images/${encodeURIComponent(id)}`, { ok: [404] });
    return r.status === 404 ? null : (r.body as GlanceImage);
  }

  /** Images whose property `key` equals `value` (Glance filters on free-form properties). */
  async findBy(key: string, value: string): Promise<GlanceImage[]> {
    const r = await this.call('GET', `/v2/images?${encodeURIComponent(key)}=${encodeURIComponent(value)}&limit=100`);
    return (r.body as { images?: GlanceImage[] }).images ?? [];
  }

  /** Every image matching the filters (Glance filters on free-form properties), page after page. */
  async list(filters: Record<string, string> = {}): Promise<GlanceImage[]> {
    const query = new URLSearchParams({ ...filters, limit: '100' });
    let next: string | undefined = `/v2/images?${query.toString()}`;
    const all: GlanceImage[] = [];
    while (next) {
      const body = (await this.call('GET', next)).body as { images?: GlanceImage[]; next?: string };
      all.push(...(body.images ?? []));
      next = body.next;
    }
    return all;
  }

  /** The image's data, as a stream to be consumed by the caller. */
  async download(id: string): Promise<Readable> {
    const headers: Record<string, string> = {};
    if (this.session) headers['x-auth-token'] = await this.session.get();
    let res;
    try {
      res = await request(`${this.url}/v2/images/${encodeURIComponent(id)}/file`, { method: 'GET', headers });
    } catch (e) {
      throw transientFailure('StoreUnavailable', `Glance at ${this.url} cannot be reached (GET image ${id} data): ${(e as Error).message}`);
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      const what = `Glance at ${this.url} answered HTTP ${res.statusCode} to GET image ${id} data: ${glanceMessage(text)}`;
      throw res.statusCode >= 500 ? transientFailure('StoreUnavailable', what) : permanentFailure('ImageNotFound', what);
    }
    return res.body;
  }

  async upload(id: string, stream: Readable, length: number): Promise<void> {
    await this.call('PUT', `/v2/images/${encodeURIComponent(id)}/file`, { stream, length });
  }

  async setProperties(id: string, props: Record<string, string>): Promise<void> {
    await this.call('PATCH', `/v2/images/${encodeURIComponent(id)}`, { patch: Object.entries(props).map(([k, v]) => ({ op: 'add', path: `/${k}`, value: v })) });
  }

  async remove(id: string): Promise<void> {
    await this.call('DELETE', `/v2/images/${encodeURIComponent(id)}`, { ok: [404] });
  }
}

/** Glance's own words from an error body (JSON or its HTML error page), short. */
function glanceMessage(text: string): string {
  let message = text;
  try {
    const j = JSON.parse(text) as { message?: string; title?: string };
    message = String(j.message ?? j.title ?? text);
  } catch {
    // not JSON: an HTML error page
  }
  return message.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300) || 'no message';
}
