import { request } from 'undici';
import { permanentFailure, transientFailure } from '../../common/failures.js';

/** Keystone v3 credentials, from the worker's config only (never from a workflow). */
export type KeystoneCredentials =
  | { method: 'password'; authUrl: string; username: string; password: string; userDomain?: string; projectName: string; projectDomain?: string }
  | { method: 'application_credential'; authUrl: string; applicationCredentialId: string; applicationCredentialSecret: string };

/**
 * A Keystone token for one set of credentials: fetched on first use, refreshed `marginMs` before it
 * expires (a long upload must not run into an expired token), dropped when a service says 401.
 */
export class KeystoneSession {
  private token?: { value: string; expiresAt: number };

  constructor(
    private readonly creds: KeystoneCredentials,
    private readonly marginMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    if (this.token && this.token.expiresAt - this.marginMs > this.now()) return this.token.value;
    this.token = await this.issue();
    return this.token.value;
  }

  invalidate(): void {
    this.token = undefined;
  }

  private body(): unknown {
    const c = this.creds;
    if (c.method === 'application_credential') {
      return { auth: { identity: { methods: ['application_credential'], application_credential: { id: c.applicationCredentialId, secret: c.applicationCredentialSecret } } } };
    }
    return {
      auth: {
        identity: { methods: ['password'], password: { user: { name: c.username, domain: { name: c.userDomain ?? 'Default' }, password: c.password } } },
        scope: { project: { name: c.projectName, domain: { name: c.projectDomain ?? 'Default' } } },
      },
    };
  }

  private async issue(): Promise<{ value: string; expiresAt: number }> {
    const url = `${this.creds.authUrl.replace(/\/+$/, '')}/auth/tokens`;
    let res;
    try {
      res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(this.body()) });
    } catch (e) {
      throw transientFailure('StoreUnavailable', `Keystone at ${this.creds.authUrl} cannot be reached: ${(e as Error).message}`);
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw permanentFailure('StoreUnavailable', `Keystone at ${this.creds.authUrl} refused the worker's ${this.creds.method} credentials (HTTP ${res.statusCode}): fix them in the worker config`);
    }
    if (res.statusCode !== 201) throw transientFailure('StoreUnavailable', `Keystone at ${this.creds.authUrl} answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    const value = res.headers['x-subject-token'];
    const expiresAt = Date.parse((JSON.parse(text) as { token?: { expires_at?: string } }).token?.expires_at ?? '');
    if (typeof value !== 'string' || Number.isNaN(expiresAt)) throw transientFailure('StoreUnavailable', `Keystone at ${this.creds.authUrl} answered without a token`);
    return { value, expiresAt };
  }
}
