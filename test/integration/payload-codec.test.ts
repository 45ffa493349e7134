/**
 * Payload encryption on the real stack. The suite's own worker has no codec, so these tests run
 * codec-enabled host workers of their own, each serving a workflow task queue of its own (a
 * workflow worker must decode what it picks up): the fleet of one key ring.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { payloadsFromJson, payloadsToJson } from '../../common/codec/payload-json.js';
import type { SnapshotResult } from '../../common/result.js';
import { launchChromium } from './browser.js';
import type { Background } from './codec-lab.js';
import { freePort, newKey, plainTemporalEnv, startCodecServer, startCodecWorker, startDevServer, writeRing } from './codec-lab.js';
import { host, makeDomain, vmsnap, withClient } from './lab.js';
import { TEMPORAL_ADDRESS, workerEnv } from './stack.js';

const runDir = () => path.join(path.dirname(inject('stateDir')), 'codec');
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

/** The raw history, as the server stores it: fetched by a client without the codec, serialized. */
async function historyBytes(workflowId: string) {
  const history = await withClient((c) => c.workflow.getHandle(workflowId).fetchHistory());
  return { history, bytes: Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish()) };
}

async function decodeThrough(url: string, payloads: Payload[], token?: string): Promise<unknown[]> {
  const res = await fetch(`${url}/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(payloadsToJson(payloads)),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return payloadsFromJson(await res.json()).map((p) => JSON.parse(text(p.data)) as unknown);
}

describe('payload encryption: history holds ciphertext, key holders read it', () => {
  const keyA = newKey();
  const ringA = () => path.join(runDir(), 'ring-a.json');
  const codecHost = () => `${host()}-codec`;
  const queue = () => `vmsnap-codec-${host()}`;
  const token = 'codec-test-token-0123456789abcdef';
  const started: Background[] = [];
  const encrypted = (args: string[]) => vmsnap([...args, '--codec-keys', ringA(), '--workflow-task-queue', queue()]);

  beforeAll(async () => {
    writeRing(ringA(), 'a1', { a1: keyA });
    started.push(await startCodecWorker({ host: codecHost(), stateDir: path.join(runDir(), 'state'), ring: ringA(), workflowQueue: queue(), env: workerEnv() }));
  });
  afterAll(async () => {
    for (const bg of started.reverse()) await bg.stop();
  });

  it('snapshots through an encrypting fleet: the CLI prints the plain result, history bytes hold none of it, the codec server and the Temporal CLI decode it', async () => {
    const dom = await makeDomain('enc', { sizeMiB: 32 });
    const run = await encrypted(['snapshot', dom.name, '--host', codecHost(), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<SnapshotResult>();
    const storeDir = path.join(runDir(), 'state', 'images');
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.location).toContain(storeDir);

    const { history, bytes } = await historyBytes(result.workflowId);
    expect(bytes.includes('binary/encrypted')).toBe(true);
    // Visible by design: search attributes (and the workflow ID) name the domain.
    expect(bytes.includes(dom.name)).toBe(true);
    for (const secret of [dom.disk, dom.base, dom.dir, '<domain', result.sha256, result.location, result.imageId, storeDir]) {
      expect(bytes.includes(secret), `history holds ${secret}`).toBe(false);
    }

    const tokenFile = path.join(runDir(), 'codec.token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const server = await startCodecServer({ ring: ringA(), dir: runDir(), tokenFile });
    started.push(server);
    const events = history.events ?? [];
    const input = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const output = events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes?.result?.payloads ?? [];
    expect(text(output[0]?.metadata?.['encryption-key-id'])).toBe('a1');
    expect(await decodeThrough(server.url, input as Payload[], token)).toMatchObject([{ host: codecHost(), domain: dom.name }]);
    expect(await decodeThrough(server.url, output as Payload[], token)).toMatchObject([{ sha256: result.sha256, location: result.location }]);
    const refused = await fetch(`${server.url}/decode`, { method: 'POST', body: JSON.stringify(payloadsToJson(output)) });
    expect(refused.status).toBe(401);
    expect(await server.text()).not.toContain(result.sha256);

    // The Temporal CLI, as an operator holding no key runs it: through the codec server.
    const show = (extra: string[]) => execa(inject('temporalBin'), ['workflow', 'show', '--address', TEMPORAL_ADDRESS, '-w', result.workflowId, ...extra], { reject: false });
    const decoded = await show(['--codec-endpoint', server.url, '--codec-auth', `Bearer ${token}`]);
    expect(decoded.stdout, decoded.stderr).toContain(result.sha256);
    expect((await show([])).stdout).not.toContain(result.sha256);
  });

  it('a client with the wrong key, or a ring without it, gets an error naming the key', async () => {
    const id = `codec-${host()}-${process.pid}`;
    const created = await encrypted(['schedule', 'create', '--host', codecHost(), '--domain', `${host()}-enc`, '--type', 'daily', '--rotation', '2', '--cron', '0 3 * * *', '--paused', '--id', id, '--json']);
    expect(created.code, created.stderr).toBe(0);
    try {
      const wrongSameId = writeRing(path.join(runDir(), 'ring-wrong.json'), 'a1', { a1: newKey() });
      const other = writeRing(path.join(runDir(), 'ring-other.json'), 'b1', { b1: newKey() });
      const describe = (ring?: string, env: Record<string, string> = {}) => vmsnap(['schedule', 'describe', id, '--json', ...(ring ? ['--codec-keys', ring] : [])], env);
      const right = await describe(ringA());
      expect(right.code, right.stderr).toBe(0);
      expect(right.stdout).toContain(queue());
      const wrong = await describe(wrongSameId);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/payload encrypted with key 'a1' fails authentication: key 'a1' in .*ring-wrong\.json is not the key that encrypted it/);
      const missing = await describe(other);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/payload encrypted with key 'a1', which key ring .*ring-other\.json does not hold \(it holds b1\): put key 'a1' back/);
      // Without any codec (not even the suite's codec server of the cluster shape), the CLI cannot
      // read the encrypted action either, and says how to.
      const none = await describe(undefined, { TEMPORAL_CODEC_ENDPOINT: '', VMSNAP_CODEC_KEYS: '' });
      expect(none.stderr).toMatch(/binary\/encrypted/);
      expect(none.stderr).toContain('--codec-keys FILE');
      // A listing shows it anyway, with the reason, and warns (exit 4) instead of failing whole.
      const listed = await vmsnap(['schedule', 'list', '--json'], { TEMPORAL_CODEC_ENDPOINT: '', VMSNAP_CODEC_KEYS: '' });
      expect(listed.code, listed.stderr).toBe(4);
      expect(listed.json<{ scheduleId: string; error?: string }[]>().find((s) => s.scheduleId === id)?.error).toMatch(/binary\/encrypted/);
    } finally {
      await vmsnap(['schedule', 'delete', id]);
    }
  });

  it('a worker whose ring lacks the key refuses the workflow task, naming the key', async () => {
    const wrongHost = `${host()}-wrongkey`;
    const wrongQueue = `vmsnap-wrongkey-${host()}`;
    const ring = writeRing(path.join(runDir(), 'ring-b.json'), 'b1', { b1: newKey() });
    const worker = await startCodecWorker({ host: wrongHost, stateDir: path.join(runDir(), 'state-wrongkey'), ring, workflowQueue: wrongQueue, env: workerEnv() });
    started.push(worker);
    const run = await vmsnap(['snapshot', `${host()}-enc`, '--host', wrongHost, '--codec-keys', ringA(), '--workflow-task-queue', wrongQueue, '--no-wait', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { workflowId } = run.json<{ workflowId: string }>();
    try {
      const deadline = Date.now() + 60_000;
      while (!(await worker.text()).includes("payload encrypted with key 'a1', which key ring") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      expect(await worker.text()).toMatch(/payload encrypted with key 'a1', which key ring .*ring-b\.json does not hold \(it holds b1\)/);
    } finally {
      await withClient((c) => c.workflow.getHandle(workflowId).terminate('test: undecodable on purpose'));
    }
  });
});


describe('the Web UI shows encrypted payloads decoded, through the codec server', () => {
  it('a dev server started with --ui-codec-endpoint shows the input and the result in clear', { timeout: 300_000 }, async () => {
    const dir = path.join(runDir(), 'ui');
    const ring = writeRing(path.join(dir, 'ring.json'), 'u1', { u1: newKey() });
    const [port, uiPort] = [await freePort(), await freePort()];
    const ui = `http://127.0.0.1:${uiPort}`;
    const stops: Background[] = [];
    try {
      const codec = await startCodecServer({ ring, dir, corsOrigin: ui });
      stops.push(codec);
      stops.push(await startDevServer({ temporalBin: inject('temporalBin'), dir, codecEndpoint: codec.url, port, uiPort }));
      const env = plainTemporalEnv(`127.0.0.1:${port}`);
      // A fleet of its own server: the codec-enabled worker serves the plain `vmsnap` queue.
      const uiHost = `${host()}-uicodec`;
      stops.push(await startCodecWorker({ host: uiHost, stateDir: path.join(dir, 'state'), ring, env }));
      const dom = await makeDomain('uienc', { sizeMiB: 32 });
      const run = await vmsnap(['snapshot', dom.name, '--host', uiHost, '--codec-keys', ring, '--json'], { ...env, TEMPORAL_UI_URL: ui });
      expect(run.code, run.stderr).toBe(0);
      const result = run.json<SnapshotResult>();

      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(result.workflowId)}`);
        await page.getByText('Completed', { exact: true }).first().waitFor({ timeout: 30_000 });
        await page.getByText(result.sha256).first().waitFor({ timeout: 30_000 });
        const body = await page.locator('body').innerText();
        expect(body).toContain(result.location);
        expect(body).toContain(`"domain": "${dom.name}"`);
        await page.screenshot({ path: path.join(dir, 'web-ui-decoded.png') });
      } finally {
        await browser.close();
      }
      // The browser itself called the codec server (CORS from the UI's origin), one line a request.
      expect(await codec.text()).toMatch(new RegExp(`POST /decode payloads=\\d+ namespace=default origin=${ui.replace(/[.]/g, '\\.')} → 200`));
    } finally {
      for (const bg of stops.reverse()) await bg.stop();
    }
  });
});
