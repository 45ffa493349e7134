/** Helpers of the payload encryption tests: key rings, and processes of their own (workers, codec servers, a dev server). */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { ROOT } from './stack.js';

export const newKey = () => randomBytes(32).toString('base64');

/** Writes a key ring file, mode 600 (the loader refuses one other users can read). */
export function writeRing(file: string, current: string, keys: Record<string, string>): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ current, keys }), { mode: 0o600 });
  return file;
}

/** vmsnap's settings for a plain dev server of a test's own, whatever TLS the suite's Temporal uses. */
export function plainTemporalEnv(address: string): Record<string, string> {
  const off = ['TEMPORAL_TLS', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY', 'TEMPORAL_PROFILE'];
  // An empty variable counts as unset (common/temporal-config.ts).
  return { ...Object.fromEntries(off.map((k) => [k, ''])), TEMPORAL_ADDRESS: address, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };
}

/** The Temporal CLI's: none of the suite's variables at all (to it, even an empty TLS variable turns TLS on). */
const bareEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });

export interface Background {
  /** The log so far. */
  text: () => Promise<string>;
  /** SIGTERM, then wait for it to exit. */
  stop: () => Promise<void>;
}

/** Starts a command with its output in a log file; resolves once `ready` (given the log so far) is true. */
export async function startBackground(
  file: string,
  args: string[],
  o: { env: Record<string, string>; extendEnv?: boolean; log: string; ready: (log: string) => boolean | Promise<boolean>; timeoutMs?: number },
): Promise<Background> {
  mkdirSync(path.dirname(o.log), { recursive: true });
  const proc = execa(file, args, { env: o.env, extendEnv: o.extendEnv ?? true, stdin: 'ignore', stdout: { file: o.log }, stderr: { file: o.log }, reject: false });
  const text = () => readFile(o.log, 'utf8').catch(() => '');
  const stop = async () => {
    proc.kill('SIGTERM');
    await proc;
  };
  const deadline = Date.now() + (o.timeoutMs ?? 90_000);
  for (;;) {
    const log = await text();
    if (await o.ready(log)) return { text, stop };
    if (proc.exitCode !== null && proc.exitCode !== undefined) throw new Error(`${path.basename(file)} ${args[0] ?? ''} exited (${proc.exitCode}): ${log.slice(-2000)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${path.basename(file)} ${args[0] ?? ''} not ready in time: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

const vmsnapBin = path.join(ROOT, 'dist/cli/main.js');

/** A host worker that encrypts payloads (and serves its own workflow queue, if given one). */
export function startCodecWorker(o: { host: string; stateDir: string; ring: string; workflowQueue?: string; env: Record<string, string> }): Promise<Background> {
  const queue = o.workflowQueue ? ['--workflow-task-queue', o.workflowQueue] : [];
  return startBackground('node', [vmsnapBin, 'worker', '--host', o.host, '--state-dir', o.stateDir, '--codec-keys', o.ring, ...queue], {
    env: o.env,
    log: path.join(o.stateDir, `worker-${Date.now()}.log`),
    ready: (log) => log.includes('polling'),
  });
}

/** `vmsnap codec-server` on a free port; resolves with its URL. */
export async function startCodecServer(o: { ring: string; dir: string; corsOrigin?: string; tokenFile?: string }): Promise<Background & { url: string }> {
  const extra = [...(o.corsOrigin ? ['--cors-origin', o.corsOrigin] : []), ...(o.tokenFile ? ['--auth-token-file', o.tokenFile] : [])];
  const bg = await startBackground('node', [vmsnapBin, 'codec-server', '--listen', '127.0.0.1:0', '--codec-keys', o.ring, ...extra], {
    env: {},
    log: path.join(o.dir, `codec-server-${Date.now()}.log`),
    ready: (log) => /listening on http:\/\/\S+/.test(log),
  });
  const url = /listening on (http:\/\/[^\s)]+)/.exec(await bg.text())?.[1] ?? '';
  return { ...bg, url };
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A dev server of the test's own whose Web UI decodes payloads through a codec server. */
export async function startDevServer(o: { temporalBin: string; dir: string; codecEndpoint: string; port: number; uiPort: number }): Promise<Background> {
  const address = `127.0.0.1:${o.port}`;
  const sa = ['VmsnapHost', 'VmsnapDomain', 'VmsnapMode'].flatMap((name) => ['--search-attribute', `${name}=Keyword`]);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--ui-port', String(o.uiPort), '--ui-codec-endpoint', o.codecEndpoint, '--db-filename', path.join(o.dir, `temporal-${o.port}.db`), '--log-level', 'warn', ...sa];
  return startBackground(o.temporalBin, args, {
    env: bareEnv(),
    extendEnv: false,
    log: path.join(o.dir, `temporal-${o.port}.log`),
    // Each probe is bounded: one that hangs on a half-started server must not eat the whole wait.
    ready: async () => (await execa(o.temporalBin, ['operator', 'namespace', 'describe', '--address', address, '-n', 'default'], { env: bareEnv(), extendEnv: false, reject: false, timeout: 10_000 })).exitCode === 0,
    timeoutMs: 150_000,
  });
}
