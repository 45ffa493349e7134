import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { TestProject } from 'vitest/node';
import type { Background } from './codec-lab.js';
import { startBackground } from './codec-lab.js';
import { adminPassword, createApplicationCredential, GLANCE, glanceImages, KEYSTONE_URL, startGlance } from './openstack.js';
import { CODEC_ENDPOINT, CODEC_RING, LAB, ROOT, TEMPORAL_ADDRESS, TEMPORAL_PORT, TEMPORAL_SHAPE, TEMPORAL_UI_PORT, useClusterSettings, workerEnv } from './stack.js';

let worker: ReturnType<typeof startWorker> | undefined;
let codecServer: Background | undefined;

function startWorker(args: string[], log: string) {
  return execa('node', args, { env: workerEnv(), stdin: 'ignore', stdout: { file: log, append: true }, stderr: { file: log, append: true }, reject: false });
}

/**
 * Brings the real stack up once per run with the project's own scripts (they install what is
 * missing) and starts one host worker from the build. Anything that cannot start fails the run.
 */
export default async function setup(project: TestProject) {
  await pruneOldRuns();
  await execa('bash', [path.join(ROOT, 'deploy/libvirt-up.sh')], { stdio: 'inherit' });
  if (TEMPORAL_SHAPE === 'cluster') {
    codecServer = await startCodecServer();
    await execa('bash', [path.join(ROOT, 'deploy/temporal-cluster-up.sh')], {
      stdio: 'inherit',
      env: { TEMPORAL_CLUSTER_PORT: TEMPORAL_PORT, TEMPORAL_CLUSTER_UI_PORT: TEMPORAL_UI_PORT, TEMPORAL_CODEC_ENDPOINT: CODEC_ENDPOINT },
    });
    useClusterSettings();
  } else {
    await execa('bash', [path.join(ROOT, 'deploy/temporal-up.sh')], { stdio: 'inherit', env: { TEMPORAL_PORT, TEMPORAL_UI_PORT } });
  }
  const cephConf = (await execa('bash', [path.join(ROOT, 'deploy/ceph-up.sh')], { stderr: 'inherit' })).stdout.trim().split('\n').pop() ?? '';
  // A pool that looks fine (it lists) but cannot hold RBD images: clones into it fail for real.
  const ceph = (...args: string[]) => execa('ceph', ['--conf', cephConf, ...args], { reject: false });
  await ceph('osd', 'pool', 'create', 'frozen', '8', '8');
  await ceph('osd', 'pool', 'mksnap', 'frozen', 'keep');
  await ceph('osd', 'pool', 'application', 'enable', 'frozen', 'rbd');
  await execa('bash', [path.join(ROOT, 'deploy/openstack-up.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Two Glance instances of the run's own: one the tests crash, one that refuses images over 1 MiB.
  // And one backed by the lab cluster's pool `images`, as an OpenStack cloud on Ceph runs it.
  await Promise.all([startGlance(GLANCE.crash), startGlance(GLANCE.small, { sizeCap: 1 << 20 }), startGlance(GLANCE.rbd, { rbdConf: cephConf })]);
  const temporalBin = (await execa('bash', [path.join(ROOT, 'deploy/install-temporal.sh')])).stdout.trim();

  const host = `itest-${Date.now().toString(36)}`;
  const runDir = path.join(LAB, 'runs', host);
  const stateDir = path.join(runDir, 'state');
  const storeDir = path.join(runDir, 'images');
  const domainsDir = path.join(runDir, 'domains');
  const tinyStoreDir = path.join(runDir, 'tiny-store');
  for (const d of [stateDir, storeDir, domainsDir, tinyStoreDir]) mkdirSync(d, { recursive: true });
  // A store that fills up for real: failure tests run out of space in it mid-convert.
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', tinyStoreDir]);
  const appCred = await createApplicationCredential(`vmsnap-${host}`);
  const appCredSecretFile = path.join(runDir, 'appcred.secret');
  writeFileSync(appCredSecretFile, appCred.secret, { mode: 0o600 });
  const adminPasswordFile = path.join(runDir, 'admin.password');
  writeFileSync(adminPasswordFile, adminPassword(), { mode: 0o600 });
  const glance = (port: number) => `http://127.0.0.1:${port}`;
  const notADir = path.join(runDir, 'not-a-dir');
  writeFileSync(notADir, 'a file where a store directory should be');
  const configFile = path.join(runDir, 'worker.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      ceph: { conf: cephConf },
      stores: {
        default: { type: 'file', path: storeDir },
        tiny: { type: 'file', path: tinyStoreDir },
        pool: { type: 'rbd', pool: 'images' },
        frozen: { type: 'rbd', pool: 'frozen' },
        glance: { type: 'glance', url: glance(GLANCE.open) },
        'glance-ks': {
          type: 'glance',
          url: glance(GLANCE.keystone),
          auth: { method: 'password', authUrl: KEYSTONE_URL, username: 'admin', passwordFile: adminPasswordFile, projectName: 'admin' },
        },
        'glance-appcred': {
          type: 'glance',
          url: glance(GLANCE.keystone),
          auth: { method: 'application_credential', authUrl: KEYSTONE_URL, applicationCredentialId: appCred.id, secretFile: appCredSecretFile },
        },
        'glance-crash': { type: 'glance', url: glance(GLANCE.crash) },
        'glance-small': { type: 'glance', url: glance(GLANCE.small) },
        'glance-rbd': { type: 'glance', url: glance(GLANCE.rbd), rbd: { pool: 'images' } },
        // Stores that cannot take an image: a path that is a file, a web server that is not
        // Glance (the test Temporal's UI), a port where nothing listens.
        notadir: { type: 'file', path: notADir },
        'glance-garbage': { type: 'glance', url: `http://127.0.0.1:${TEMPORAL_UI_PORT}` },
        'glance-down': { type: 'glance', url: 'http://127.0.0.1:9' },
      },
    }),
  );

  worker = startWorker([path.join(ROOT, 'dist/cli/main.js'), 'worker', '--host', host, '--state-dir', stateDir, '--config', configFile], path.join(runDir, 'worker.log'));
  await waitForPoller(temporalBin, `vmsnap-host-${host}`);

  project.provide('host', host);
  project.provide('stateDir', stateDir);
  project.provide('storeDir', storeDir);
  project.provide('tinyStoreDir', tinyStoreDir);
  project.provide('domainsDir', domainsDir);
  project.provide('temporalBin', temporalBin);
  project.provide('cephConf', cephConf);

  return async () => {
    worker?.kill('SIGTERM');
    await worker;
    await codecServer?.stop();
    await execa('umount', [tinyStoreDir], { reject: false });
    // Lab domains of this run go; their files stay under LAB/runs for a post-mortem.
    const list = await execa('virsh', ['-q', '-c', 'qemu:///system', 'list', '--all', '--name']);
    await Promise.all(
      list.stdout
        .split('\n')
        .filter((n) => n.startsWith(`${host}-`))
        .map(async (name) => {
          await execa('virsh', ['-c', 'qemu:///system', 'destroy', name], { reject: false });
          await execa('virsh', ['-c', 'qemu:///system', 'undefine', name, '--managed-save'], { reject: false });
        }),
    );
    // Glance-on-RBD records of this run: deleting them frees their clones (memstore holds them in RAM).
    for (const rec of await glanceImages(GLANCE.rbd, { vmsnap_source_host: host }).catch(() => [])) {
      await fetch(`http://127.0.0.1:${GLANCE.rbd}/v2/images/${String(rec.id)}`, { method: 'DELETE' }).catch(() => undefined);
    }
    // RBD images of this run (domain disks and stored snapshots), with their snapshots.
    for (const pool of ['vms', 'images']) {
      const names = (await execa('rbd', ['--conf', cephConf, 'ls', pool], { reject: false })).stdout.split('\n').filter((n) => n.startsWith(`${host}-`));
      for (const n of names) {
        await execa('rbd', ['--conf', cephConf, 'snap', 'unprotect', `${pool}/${n}@snap`], { reject: false });
        await execa('rbd', ['--conf', cephConf, 'snap', 'purge', '--no-progress', `${pool}/${n}`], { reject: false });
        await execa('rbd', ['--conf', cephConf, 'rm', '--no-progress', `${pool}/${n}`], { reject: false });
      }
    }
  };
}

/**
 * The cluster shape's payload encryption: the run's key ring (made once, kept, mode 600) and the
 * codec server every client and the Web UI decode through. One left by a run that crashed is reused.
 */
async function startCodecServer(): Promise<Background | undefined> {
  const cli = path.join(ROOT, 'dist/cli/main.js');
  mkdirSync(path.dirname(CODEC_RING), { recursive: true, mode: 0o700 });
  if (!existsSync(CODEC_RING)) await execa('node', [cli, 'codec-key', 'new', '--file', CODEC_RING]);
  const answers = () =>
    fetch(`${CODEC_ENDPOINT}/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"payloads":[]}' }).then(
      (r) => r.ok,
      () => false,
    );
  if (await answers()) return undefined;
  const args = [cli, 'codec-server', '--listen', new URL(CODEC_ENDPOINT).host, '--codec-keys', CODEC_RING, '--cors-origin', `http://127.0.0.1:${TEMPORAL_UI_PORT}`];
  return startBackground('node', args, { env: {}, log: path.join(LAB, 'codec', 'codec-server.log'), ready: answers, timeoutMs: 30_000 });
}

async function waitForPoller(temporalBin: string, taskQueue: string) {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (worker?.exitCode !== undefined && worker.exitCode !== null) throw new Error(`the host worker exited (${worker.exitCode}): see its worker.log`);
    const r = await execa(temporalBin, ['task-queue', 'describe', '--address', TEMPORAL_ADDRESS, '--task-queue', taskQueue, '--task-queue-type', 'activity', '-o', 'json'], { reject: false });
    if (r.exitCode === 0 && /"identity"/.test(r.stdout)) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`no host worker polled ${taskQueue} within 90 s`);
}

/**
 * Earlier runs keep their folders for a post-mortem (a few GiB each): those older than 30 minutes go,
 * with any domain or tmpfs a crashed run left behind, so runs never fill the lab's disk.
 */
async function pruneOldRuns() {
  const runs = path.join(LAB, 'runs');
  let names: string[] = [];
  try {
    names = readdirSync(runs);
  } catch {
    return;
  }
  const domains = (await execa('virsh', ['-q', '-c', 'qemu:///system', 'list', '--all', '--name'], { reject: false })).stdout.split('\n');
  for (const name of names) {
    const dir = path.join(runs, name);
    if (Date.now() - statSync(dir).mtimeMs < 30 * 60_000) continue;
    for (const d of domains.filter((n) => n.startsWith(`${name}-`))) {
      await execa('virsh', ['-c', 'qemu:///system', 'destroy', d], { reject: false });
      await execa('virsh', ['-c', 'qemu:///system', 'undefine', d, '--managed-save'], { reject: false });
    }
    await execa('umount', [path.join(dir, 'tiny-store')], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
}
