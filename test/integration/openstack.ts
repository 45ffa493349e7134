/** The lab OpenStack the suite uses: Keystone credentials and the Glance instances it starts. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { LAB, ROOT } from './stack.js';

export const KEYSTONE_URL = 'http://127.0.0.1:5000/v3';
export const GLANCE = { open: 9292, keystone: 9293, crash: 9294, small: 9295, rbd: 9296, rehash: 9297 } as const;

export function adminPassword(): string {
  const m = /^OS_ADMIN_PASSWORD=(.*)$/m.exec(readFileSync(path.join(LAB, 'openstack', 'passwords'), 'utf8'));
  if (!m?.[1]) throw new Error('no admin password in the lab passwords file');
  return m[1];
}

/** Starts (or finds running) one lab Glance instance. */
export async function startGlance(port: number, opts: { auth?: 'none' | 'keystone'; sizeCap?: number; rbdConf?: string; hashing?: string } = {}): Promise<void> {
  const args = [String(port), opts.auth ?? 'none', String(opts.sizeCap ?? 4 * 1024 ** 3), opts.rbdConf ? 'rbd' : 'file', opts.hashing ?? 'sha512'];
  await execa('bash', [path.join(ROOT, 'deploy/glance-instance.sh'), ...args], { stderr: 'inherit', env: opts.rbdConf ? { CEPH_CONF: opts.rbdConf } : {} });
}

/** SIGKILLs a lab Glance instance, as a crash would. */
export async function killGlance(port: number): Promise<void> {
  const pid = readFileSync(path.join(LAB, 'openstack', `glance-${port}`, 'pid'), 'utf8').trim();
  await execa('kill', ['-9', pid], { reject: false });
}

/** An admin token from the lab Keystone. */
export async function adminToken(): Promise<{ token: string; userId: string }> {
  const res = await fetch(`${KEYSTONE_URL}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: adminPassword() } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  if (res.status !== 201) throw new Error(`Keystone refused the admin password: HTTP ${res.status}`);
  const body = (await res.json()) as { token: { user: { id: string } } };
  return { token: res.headers.get('x-subject-token') ?? '', userId: body.token.user.id };
}

/** A fresh application credential of the admin user: its id and secret. */
export async function createApplicationCredential(name: string): Promise<{ id: string; secret: string }> {
  const { token, userId } = await adminToken();
  const res = await fetch(`${KEYSTONE_URL}/users/${userId}/application_credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: JSON.stringify({ application_credential: { name } }),
  });
  if (res.status !== 201) throw new Error(`Keystone refused to create an application credential: HTTP ${res.status}`);
  return ((await res.json()) as { application_credential: { id: string; secret: string } }).application_credential;
}

/** Glance records, as the admin sees them, filtered by one property. */
export async function glanceImages(port: number, filter: Record<string, string>): Promise<Record<string, unknown>[]> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (port === GLANCE.keystone) headers['x-auth-token'] = (await adminToken()).token;
  const q = new URLSearchParams(filter).toString();
  const res = await fetch(`http://127.0.0.1:${port}/v2/images?${q}`, { headers });
  return ((await res.json()) as { images: Record<string, unknown>[] }).images;
}

/** Downloads an image's data from Glance into a file. */
export async function downloadGlanceImage(port: number, id: string, dest: string): Promise<void> {
  const headers: Record<string, string> = {};
  if (port === GLANCE.keystone) headers['x-auth-token'] = (await adminToken()).token;
  const res = await fetch(`http://127.0.0.1:${port}/v2/images/${id}/file`, { headers });
  if (res.status !== 200) throw new Error(`download of ${id} from Glance :${port}: HTTP ${res.status}`);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(dest, Buffer.from(await res.arrayBuffer()));
}
