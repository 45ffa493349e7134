import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import type { SnapshotResult } from '../../common/result.js';
import { makeDomain, vmsnap } from './lab.js';
import { ROOT, workerEnv } from './stack.js';

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one metric in Prometheus' text format. */
function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type LogLine = Record<string, unknown> & { msg: string; time: string };

describe('metrics and logs', () => {
  // A worker of the test's own, on its own host and its own workflow task queue: the only one to run
  // this snapshot's workflow and activities, so its endpoint and its log hold the whole run.
  it('a worker with --metrics-address serves SDK and vmsnap metrics over HTTP, and logs JSON lines about the run', async () => {
    const hostName = `${inject('host')}-metrics`;
    const dir = path.join(path.dirname(inject('stateDir')), hostName);
    const stderrFile = path.join(dir, 'worker.stderr.log');
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const queue = `vmsnap-metrics-${hostName}`;
    const env = { ...workerEnv(), VMSNAP_WORKFLOW_TASK_QUEUE: queue };
    const worker = execa(
      'node',
      [path.join(ROOT, 'dist/cli/main.js'), 'worker', '--host', hostName, '--state-dir', path.join(dir, 'state'), '--store-dir', path.join(dir, 'images'), '--metrics-address', `127.0.0.1:${port}`],
      { env, stdin: 'ignore', stdout: { file: path.join(dir, 'worker.stdout.log') }, stderr: { file: stderrFile }, reject: false },
    );
    const logLines = async () => (await readFile(stderrFile, 'utf8')).split('\n').filter((l) => l !== '');
    const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    try {
      await until('the metrics worker to poll', async () => ((await logLines()).some((l) => l.includes('polling')) ? true : undefined), 120_000);
      const dom = await makeDomain('metrics', { sizeMiB: 64 });
      const started = new Date().toISOString();
      const run = await vmsnap(['snapshot', dom.name, '--host', hostName, '--json'], { VMSNAP_WORKFLOW_TASK_QUEUE: queue });
      expect(run.code, run.stderr).toBe(0);
      const result = run.json<SnapshotResult>();

      // vmsnap's run counter is emitted when the workflow completes: wait for it, then read everything.
      const text = await until('vmsnap_snapshots_total', async () => {
        const t = await metrics();
        return samples(t, 'vmsnap_snapshots_total').length > 0 ? t : undefined;
      });
      const mine = (s: Sample) => s.labels.host === hostName;
      // The Temporal SDK's own metrics, on the same endpoint, tagged with the worker's host.
      expect(samples(text, 'temporal_workflow_completed_total').filter(mine).length).toBeGreaterThan(0);
      expect(samples(text, 'temporal_activity_execution_latency_seconds_count').filter(mine).length).toBeGreaterThan(0);
      expect(samples(text, 'vmsnap_snapshots_total').filter(mine)).toEqual([
        { labels: expect.objectContaining({ outcome: 'succeeded', mode: result.mode, workflow_type: 'snapshotInstance', hypervisor: hostName }) as unknown, value: 1 },
      ]);
      const durations = samples(text, 'vmsnap_step_duration_seconds_count').filter(mine);
      for (const step of ['acquireDomainLock', 'inspectDomain', 'commitImage', 'finishRun']) {
        expect(durations.find((s) => s.labels.step === step && s.labels.outcome === 'succeeded')?.value, step).toBeGreaterThanOrEqual(1);
      }
      const moved = samples(text, 'vmsnap_bytes_moved_total').filter(mine);
      // The convert step writes (and hashes) the image: the file store then only renames it.
      expect(moved.find((s) => ['convertDisk', 'convertDelta'].includes(s.labels.step ?? '') && s.labels.store === 'file')?.value).toBeGreaterThan(0);
      expect(moved.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThanOrEqual(result.sizeBytes);

      // Every stderr line is one JSON object with the host; every line written during the run is
      // about the run: its workflow ID and run ID, the host, the domain.
      await until('the run finished line', async () => ((await logLines()).some((l) => l.includes('run finished')) ? true : undefined), 10_000);
      const lines = (await logLines()).map((l) => JSON.parse(l) as LogLine);
      for (const l of lines) expect(l).toMatchObject({ host: hostName, level: expect.any(String) as unknown, time: expect.any(String) as unknown });
      const during = lines.filter((l) => l.time >= started);
      expect(during.filter((l) => l.msg === 'step finished').length).toBeGreaterThanOrEqual(durations.length);
      expect(during.find((l) => l.msg === 'run finished')).toMatchObject({ outcome: 'succeeded', sdkComponent: 'workflow' });
      for (const l of during) expect(l, JSON.stringify(l)).toMatchObject({ workflowId: result.workflowId, runId: expect.any(String) as unknown, host: hostName, domain: dom.name });
    } finally {
      worker.kill('SIGTERM');
      await worker;
    }
  });
});
