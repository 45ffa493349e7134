import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CommandRunner } from '../activities/command.js';
import { RbdClient } from '../activities/rbd-client.js';
import { FileStore } from '../activities/stores/file-store.js';
import type { ImageStore } from '../activities/stores/image-store.js';
import { RbdStore } from '../activities/stores/rbd-store.js';
import { GlanceClient } from '../activities/stores/glance-client.js';
import { GlanceStore } from '../activities/stores/glance-store.js';
import type { KeystoneCredentials } from '../activities/stores/keystone.js';
import { KeystoneSession } from '../activities/stores/keystone.js';
import type { KeystoneAuthConfig, WorkerConfig } from './config.js';

/** Builds the stores a worker's config names. */
export function buildStores(config: WorkerConfig, run: CommandRunner): Map<string, ImageStore> {
  const staging = path.join(config.stateDir, 'staging');
  return new Map(
    Object.entries(config.stores).map(([name, s]): [string, ImageStore] => {
      if (s.type === 'file') return [name, new FileStore(name, s.path)];
      if (s.type === 'glance') {
        const session = s.auth ? new KeystoneSession(keystoneCredentials(name, s.auth), (s.tokenRefreshMarginSeconds ?? 60) * 1000) : undefined;
        const rbdTarget = s.rbd ? (s.rbd.conf ? { conf: s.rbd.conf, id: s.rbd.id } : config.ceph) : undefined;
        const rbd = s.rbd && rbdTarget ? { client: new RbdClient(run, rbdTarget, config.host), pool: s.rbd.pool } : undefined;
        return [name, new GlanceStore(name, new GlanceClient(s.url.replace(/\/+$/, ''), session), staging, rbd)];
      }
      const target = s.conf ? { conf: s.conf, id: s.id } : config.ceph;
      if (!target) throw new Error(`store ${name}: no Ceph config`); // loadWorkerConfig refuses this earlier
      return [name, new RbdStore(name, s.pool, new RbdClient(run, target, config.host), staging)];
    }),
  );
}

/** Resolves secrets given as files; a store with no secret at all is a config error. */
function keystoneCredentials(store: string, a: KeystoneAuthConfig): KeystoneCredentials {
  const secret = (inline: string | undefined, file: string | undefined, what: string) => {
    const v = inline ?? (file ? readFileSync(file, 'utf8').trim() : undefined);
    if (!v) throw new Error(`store ${store}: Keystone ${what} missing (give it inline or as a file)`);
    return v;
  };
  if (a.method === 'password') {
    return { method: 'password', authUrl: a.authUrl, username: a.username, password: secret(a.password, a.passwordFile, 'password'), userDomain: a.userDomain, projectName: a.projectName, projectDomain: a.projectDomain };
  }
  return { method: 'application_credential', authUrl: a.authUrl, applicationCredentialId: a.applicationCredentialId, applicationCredentialSecret: secret(a.applicationCredentialSecret, a.secretFile, 'application credential secret') };
}
