/** Helpers that drive the real lab: domains, guest writes, Temporal clients, disk checks. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import { inject } from 'vitest';
import { WORKFLOW_TASK_QUEUE } from '../../common/constants.js';
import { artifactTag } from '../../common/names.js';
import type { SnapshotRequestInput } from '../../common/request.js';
import type { SnapshotResult } from '../../common/result.js';
import { ROOT, TEMPORAL_ADDRESS, TEMPORAL_UI_PORT, testClientDataConverter, testConnection, workerEnv } from './stack.js';

export const host = () => inject('host');
const URI = 'qemu:///system';

export async function virsh(...args: string[]): Promise<string> {
  return (await execa('virsh', ['-q', '-c', URI, ...args])).stdout.trim();
}

export interface LabDomain {
  name: string;
  dir: string;
  disk: string;
  base: string;
}

/** A fresh running domain of this run (name prefixed with the run's host, so teardown finds it). */
export async function makeDomain(suffix: string, opts: { sizeMiB?: number; layout?: 'overlay' | 'flat' | 'rbd' | 'rbd-clone'; dataMiB?: number; start?: boolean } = {}): Promise<LabDomain> {
  const name = `${host()}-${suffix}`;
  const dir = path.join(inject('domainsDir'), name);
  const size = opts.sizeMiB ?? 128;
  await execa('bash', [path.join(ROOT, 'deploy/make-domain.sh'), name, dir, String(size), opts.layout ?? 'overlay', String(opts.dataMiB ?? size / 2), opts.start === false ? 'nostart' : 'start'], { env: { CEPH_CONF: inject('cephConf') } });
  return { name, dir, disk: path.join(dir, `${name}.qcow2`), base: path.join(dir, `${name}-base.qcow2`) };
}

/** Writes a byte pattern into the running guest's disk through QEMU (no guest OS needed). */
/** `device` is libvirt's alias of the disk: virtio-disk0 is vda, virtio-disk1 the data disk vdb. */
export async function guestWrite(domain: string, offsetMiB: number, lengthMiB: number, pattern: number, device = 'virtio-disk0'): Promise<void> {
  const cmd = `qemu-io -d /machine/peripheral/${device}/virtio-backend "write -P 0x${pattern.toString(16)} ${offsetMiB}M ${lengthMiB}M"`;
  const out = await virsh('qemu-monitor-command', domain, '--hmp', cmd);
  if (/error|fail/i.test(out)) throw new Error(`guest write failed: ${out}`);
  // As a guest's fsync: QEMU writes its qcow2 metadata cache back, so a reader of the image file
  // (qemu-img -U, the test's "expected" copy) sees the write too.
  const flushed = await virsh('qemu-monitor-command', domain, '--hmp', `qemu-io -d /machine/peripheral/${device}/virtio-backend "flush"`);
  if (/error|fail/i.test(flushed)) throw new Error(`guest flush failed: ${flushed}`);
}

/** Copies the disk as it is now (the whole chain) into a standalone file, for comparisons. */
export async function copyDisk(disk: string, dest: string): Promise<void> {
  await execa('qemu-img', ['convert', '-U', '-O', 'qcow2', disk, dest]);
}

/** `qemu-img compare`: true when the two images hold the same guest-visible content. */
/** Attaches a second disk (vdb, qcow2, a few MiB written at 1 MiB) to a domain that is off; starts it after, when asked. */
export async function attachDataDisk(dom: LabDomain, opts: { sizeMiB: number; fill: number; start: boolean }): Promise<string> {
  const data = path.join(dom.dir, 'data.qcow2');
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', data, `${opts.sizeMiB}M`]);
  await execa('qemu-io', ['-f', 'qcow2', '-c', `write -P ${opts.fill} 1M 2M`, data]);
  await virsh('attach-disk', dom.name, data, 'vdb', '--subdriver', 'qcow2', '--config');
  if (opts.start) await virsh('start', dom.name);
  return data;
}

/**
 * Attaches an RBD data disk vdb to a domain that is off (the image vms/<domain>-vdb, made afresh,
 * `fill` written at 1 MiB for 2 MiB), and starts the domain when asked. Returns the image's spec.
 */
export async function attachRbdDataDisk(dom: LabDomain, opts: { sizeMiB: number; fill: number; start: boolean }): Promise<string> {
  const spec = `vms/${dom.name}-vdb`;
  for (const snap of await rbdSnaps(spec).catch(() => [])) {
    if (snap.protected === 'true') await rbd('snap', 'unprotect', `${spec}@${snap.name}`);
    await rbd('snap', 'rm', '--no-progress', `${spec}@${snap.name}`);
  }
  await execa('rbd', ['--conf', inject('cephConf'), 'rm', '--no-progress', spec], { reject: false });
  await rbd('create', '--size', `${opts.sizeMiB}M`, spec);
  await execa('qemu-io', ['-f', 'raw', '-c', `write -P ${opts.fill} 1M 2M`, `rbd:${spec}:conf=${inject('cephConf')}`]);
  const xml = path.join(dom.dir, 'vdb.xml');
  await writeFile(
    xml,
    `<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='${spec}'><host name='127.0.0.1' port='6789'/></source><target dev='vdb' bus='virtio'/></disk>`,
  );
  await virsh('attach-device', dom.name, xml, '--config');
  if (opts.start) await virsh('start', dom.name);
  return spec;
}

export async function sameContent(a: string, b: string): Promise<boolean> {
  const r = await execa('qemu-img', ['compare', '-U', a, b], { reject: false });
  return r.exitCode === 0;
}

export async function domainState(name: string, disk = 'vda') {
  const info = await virsh('dominfo', name);
  return {
    state: /^State:\s*(.+)$/m.exec(info)?.[1]?.trim(),
    persistent: /^Persistent:\s*yes/m.test(info),
    source: (await virsh('domblklist', name)).split('\n').find((l) => l.trim().startsWith(disk))?.trim().split(/\s+/)[1],
    // A stopped domain has no block jobs (virsh refuses to ask): empty, like a running one without.
    blockJob: (await execa('virsh', ['-q', '-c', URI, 'blockjob', name, disk, '--info', '--raw'], { reject: false })).stdout.trim(),
  };
}

/** Runs rbd against the lab cluster. */
export async function rbd(...args: string[]): Promise<string> {
  return (await execa('rbd', ['--conf', inject('cephConf'), ...args])).stdout.trim();
}

/** sha256 of an RBD image or snapshot's bytes, as `rbd export` serves them. */
export async function rbdSha256(spec: string): Promise<string> {
  const child = execa('rbd', ['--conf', inject('cephConf'), 'export', '--no-progress', spec, '-'], { buffer: { stdout: false } });
  const h = createHash('sha256');
  child.stdout.on('data', (d: Buffer) => h.update(d));
  await child;
  return h.digest('hex');
}

export async function rbdSnaps(spec: string): Promise<{ name: string; protected: string }[]> {
  return JSON.parse(await rbd('snap', 'ls', '--format', 'json', spec)) as { name: string; protected: string }[];
}

export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect(testConnection());
  try {
    return await fn(new Client({ connection, dataConverter: testClientDataConverter() }));
  } finally {
    await connection.close();
  }
}

let seq = 0;
export function workflowId(label: string): string {
  return `test-${host()}-${label}-${process.pid}-${++seq}`;
}

export async function startSnapshot(client: Client, request: Partial<SnapshotRequestInput>, id = workflowId('snap')) {
  return client.workflow.start('snapshotInstance', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: id, args: [{ host: host(), ...request }] });
}

export async function runSnapshot(request: Partial<SnapshotRequestInput>): Promise<SnapshotResult> {
  return withClient(async (c) => (await (await startSnapshot(c, request)).result()) as SnapshotResult);
}

/** What one run left behind: its work folder, its staging files in the store, its domain lock. */
export function leftoversOf(workflowId: string, domain: string, stateDir = inject('stateDir'), storeDir = inject('storeDir')): string[] {
  const tag = artifactTag(workflowId);
  const candidates = [
    path.join(stateDir, 'work', tag),
    path.join(stateDir, 'staging', `${tag}.staging`),
    path.join(storeDir, `.${tag}.partial`),
    path.join(storeDir, `.${tag}.partial.manifest`),
    path.join(stateDir, 'locks', `${domain}.lock.json`),
  ];
  return candidates.filter((p) => existsSync(p));
}

export function storePath(file: string): string {
  return path.join(inject('storeDir'), file);
}

/** A host worker of a test's own (activities only), to crash and restart at will. */
export async function spawnWorker(hostName: string, stateDir: string, storeDir: string, env: Record<string, string> = {}, maxHeavySteps = 2) {
  const log = path.join(stateDir, `worker-${Date.now()}.log`);
  await mkdir(stateDir, { recursive: true });
  await mkdir(storeDir, { recursive: true });
  const config = path.join(stateDir, 'worker.json');
  await writeFile(
    config,
    JSON.stringify({
      maxHeavySteps,
      ceph: { conf: inject('cephConf') },
      stores: {
        default: { type: 'file', path: storeDir },
        pool: { type: 'rbd', pool: 'images' },
        tiny: { type: 'file', path: inject('tinyStoreDir') },
        'glance-crash': { type: 'glance', url: 'http://127.0.0.1:9294' },
      },
    }),
  );
  const proc = execa('node', [path.join(ROOT, 'dist/cli/main.js'), 'worker', '--host', hostName, '--state-dir', stateDir, '--config', config, '--no-workflows'], {
    env: { ...workerEnv(), ...env },
    stdin: 'ignore',
    stdout: { file: log },
    stderr: { file: log },
    reject: false,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = await readFile(log, 'utf8').catch(() => '');
    if (text.includes('polling')) return { proc, log, text: () => readFile(log, 'utf8') };
    if (proc.exitCode !== null && proc.exitCode !== undefined) throw new Error(`worker ${hostName} exited: ${text}`);
    if (Date.now() > deadline) throw new Error(`worker ${hostName} did not start: ${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the built `vmsnap` CLI against the suite's Temporal server, as an operator's script would. */
export async function vmsnap(args: string[], env: Record<string, string> = {}) {
  const r = await execa('node', [path.join(ROOT, 'dist/cli/main.js'), ...args], {
    env: { TEMPORAL_ADDRESS, TEMPORAL_UI_URL: `http://127.0.0.1:${TEMPORAL_UI_PORT}`, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml', ...env },
    reject: false,
    stdin: 'ignore',
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, json: <T = unknown>() => JSON.parse(r.stdout) as T };
}
