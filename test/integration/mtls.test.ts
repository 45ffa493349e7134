import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { SnapshotResult } from '../../common/result.js';
import { startBackground } from './codec-lab.js';
import { host, makeDomain, vmsnap } from './lab.js';
import { PKI, ROOT, TEMPORAL_SHAPE, workerCodecEnv } from './stack.js';

// Temporal's production shape (PostgreSQL, frontend behind mTLS). In the cluster-shape run it is
// the suite's own server; in the dev-shape run this file brings it up beside the dev server (the
// script is idempotent), so the refusals below are checked in both runs.
const PORT = TEMPORAL_SHAPE === 'cluster' ? (process.env.VMSNAP_TEST_TEMPORAL_PORT ?? '7933') : '7933';
const UI_PORT = TEMPORAL_SHAPE === 'cluster' ? (process.env.VMSNAP_TEST_TEMPORAL_UI_PORT ?? '8933') : '8933';
const ADDRESS = `127.0.0.1:${PORT}`;
const TENANT = 'vmsnap-tenant';
const pem = (name: string) => path.join(PKI, `${name}.pem`);
const key = (name: string) => path.join(PKI, `${name}.key`);

/** Connection settings as an operator sets them: the Temporal CLI's variables. Empty = unset. */
function tls(cert: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: ADDRESS,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('ca'),
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_TLS_CLIENT_CERT_PATH: cert ? pem(cert) : '',
    TEMPORAL_TLS_CLIENT_KEY_PATH: cert ? key(cert) : '',
    ...extra,
  };
}

describe('Temporal behind mTLS', () => {
  beforeAll(async () => {
    await execa('bash', [path.join(ROOT, 'deploy/temporal-cluster-up.sh')], { env: { TEMPORAL_CLUSTER_PORT: PORT, TEMPORAL_CLUSTER_UI_PORT: UI_PORT, TEMPORAL_CLUSTER_NAMESPACES: `default ${TENANT}` } });
  }, 240_000);

  it('lets in a client whose certificate the lab CA signed', async () => {
    // In this test's own namespace: in `default`, other tests' schedules come and go.
    const r = await vmsnap(['schedule', 'list', '--json', '--namespace', TENANT], tls('operator'));
    expect(r.code, r.stderr).toBe(0);
    expect(Array.isArray(r.json())).toBe(true);
  });

  it('turns away a client with no certificate, one from another CA, and one without TLS, saying where it failed', async () => {
    for (const [what, env] of [
      ['no client certificate', tls(undefined)],
      ['a certificate from another CA', tls('intruder')],
      ['no TLS at all', { TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_SERVER_CA_CERT_PATH: '', TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '', TEMPORAL_TLS_SERVER_NAME: '', TEMPORAL_TLS: '' }],
    ] as const) {
      const r = await vmsnap(['schedule', 'list', '--json'], env);
      expect(r.code, `${what}: ${r.stderr}`).toBe(3);
      expect(r.stderr, what).toContain(`cannot reach Temporal at ${ADDRESS}`);
    }
  });

  it('refuses a server whose certificate the client does not trust', async () => {
    // The client trusts only the rogue CA: the lab server's certificate does not verify.
    const r = await vmsnap(['schedule', 'list', '--json'], tls('operator', { TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('rogue-ca') }));
    expect(r.code, r.stderr).toBe(3);
  });

  it('a host worker with a foreign certificate stops at once with the reason, instead of retrying forever', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'vmsnap-mtls-'));
    const r = await execa('node', [path.join(ROOT, 'dist/cli/main.js'), 'worker', '--host', 'mtls-intruder', '--state-dir', stateDir], {
      env: tls('intruder', { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' }),
      reject: false,
      timeout: 60_000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain(`cannot reach Temporal at ${ADDRESS} over TLS`);
  });

  it('serves namespaces: a fleet in another namespace snapshots there, unseen from default; an unknown one is named', async () => {
    // A host worker of this namespace (workflows and activities), with the worker's certificate.
    const tenantHost = `${host()}-tenant`;
    const stateDir = path.join(path.dirname(inject('stateDir')), 'tenant');
    const worker = await startBackground('node', [path.join(ROOT, 'dist/cli/main.js'), 'worker', '--host', tenantHost, '--state-dir', stateDir], {
      env: { ...tls('worker'), ...workerCodecEnv(), TEMPORAL_NAMESPACE: TENANT, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' },
      log: path.join(stateDir, 'worker.log'),
      ready: (log) => log.includes('polling'),
    });
    try {
      const dom = await makeDomain('tenant', { sizeMiB: 32 });
      const run = await vmsnap(['snapshot', dom.name, '--host', tenantHost, '--namespace', TENANT, '--json'], tls('operator'));
      expect(run.code, run.stderr).toBe(0);
      const { workflowId } = run.json<SnapshotResult>();
      const temporalBin = (await execa('bash', [path.join(ROOT, 'deploy/install-temporal.sh')])).stdout.trim();
      const list = (ns: string) =>
        execa(temporalBin, ['workflow', 'list', '-n', ns, '--query', `VmsnapDomain = '${dom.name}'`, '-o', 'json'], { env: { ...process.env, ...tls('operator') } }).then((r) => r.stdout);
      // Visibility is written a moment after the run closes.
      for (let i = 0; i < 50 && !(await list(TENANT)).includes(workflowId); i++) await new Promise((r) => setTimeout(r, 200));
      expect(await list(TENANT)).toContain(workflowId);
      expect(await list('default')).not.toContain(workflowId);
    } finally {
      await worker.stop();
    }
    const unknown = await vmsnap(['schedule', 'list', '--json'], tls('operator', { TEMPORAL_NAMESPACE: 'no-such-namespace' }));
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no-such-namespace');
  });
});
