import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { PayloadCodec } from '@temporalio/common';
import { PayloadDecryptError } from '../common/codec/encryption-codec.js';
import { payloadsFromJson, payloadsToJson } from '../common/codec/payload-json.js';

export interface CodecServerOptions {
  /** What does the work (an EncryptionCodec over the key ring). */
  codec: PayloadCodec;
  /** Browser origins (the Web UI's) allowed to call, with credentials. @default none: no browser */
  corsOrigins?: string[];
  /** Required as `Authorization: Bearer <token>` on /encode and /decode. @default none */
  authToken?: string;
  /** @default 32 MiB */
  maxBodyBytes?: number;
  /** Where the one line per request goes (never payload content). @default stderr */
  log?: (line: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ALLOW_HEADERS = 'Content-Type, X-Namespace, Authorization';
const digest = (s: string) => createHash('sha256').update(s).digest();
/** Header text fit for a log line: printable, short. */
const loggable = (s: string | undefined) => (s ?? '-').replace(/[^\x21-\x7e]/g, '?').slice(0, 100) || '-';

/**
 * Temporal's remote codec protocol over HTTP, for the Web UI and `temporal --codec-endpoint`:
 * POST /encode and POST /decode take and return `{"payloads": [...]}` (protobuf JSON), and CORS
 * preflights are answered for the configured origins only.
 */
export function createCodecServer(o: CodecServerOptions): Server {
  const origins = new Set(o.corsOrigins ?? []);
  const token = o.authToken === undefined ? undefined : digest(`Bearer ${o.authToken}`);
  const maxBody = o.maxBodyBytes ?? 32 << 20;
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  async function answer(req: IncomingMessage, cors: OutgoingHttpHeaders, op: 'encode' | 'decode' | undefined, counted: (n: number) => void) {
    if (!op) throw new HttpError(404, 'not found: POST /encode or /decode');
    if (req.method !== 'POST') throw new HttpError(405, `${req.method ?? '?'} not allowed: POST /${op}`);
    if (req.headers.origin !== undefined && !cors['access-control-allow-origin']) {
      throw new HttpError(403, `origin ${req.headers.origin} is not allowed: start the codec server with --cors-origin ${req.headers.origin}`);
    }
    if (token && !timingSafeEqual(digest(req.headers.authorization ?? ''), token)) throw new HttpError(401, 'missing or wrong Authorization: send "Bearer <token>"');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBody) throw new HttpError(413, `body over ${maxBody} bytes`);
      chunks.push(chunk);
    }
    let payloads;
    try {
      payloads = payloadsFromJson(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    counted(payloads.length);
    try {
      return payloadsToJson(await (op === 'encode' ? o.codec.encode(payloads) : o.codec.decode(payloads)));
    } catch (e) {
      throw new HttpError(e instanceof PayloadDecryptError ? 400 : 500, (e as Error).message);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const started = Date.now();
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    const op = path.endsWith('/encode') ? 'encode' : path.endsWith('/decode') ? 'decode' : undefined;
    const origin = req.headers.origin;
    const cors: OutgoingHttpHeaders = origin !== undefined && origins.has(origin) ? { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' } : {};
    let count = 0;
    let status = 200;
    let note = '';
    if (req.method === 'OPTIONS') {
      status = cors['access-control-allow-origin'] ? 204 : 403;
      res.writeHead(status, { ...cors, ...(status === 204 && { 'access-control-allow-methods': 'POST, OPTIONS', 'access-control-allow-headers': ALLOW_HEADERS, 'access-control-max-age': '600' }) });
      res.end();
    } else {
      let body: unknown;
      try {
        body = await answer(req, cors, op, (n) => (count = n));
      } catch (e) {
        status = e instanceof HttpError ? e.status : 500;
        note = ` ${(e as Error).message}`;
        body = { message: (e as Error).message };
      }
      res.writeHead(status, { ...cors, 'content-type': 'application/json', ...(status === 401 && { 'www-authenticate': 'Bearer' }) });
      res.end(JSON.stringify(body));
    }
    log(`codec-server: ${loggable(req.method)} ${loggable(path)} payloads=${count} namespace=${loggable(req.headers['x-namespace'] as string | undefined)} origin=${loggable(origin)} → ${status} ${Date.now() - started}ms${note}`);
  }

  return createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`codec-server: ${(e as Error).message}`);
      res.destroy();
    });
  });
}

/** Parses `host:port` (`[::1]:8081` for IPv6). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`--listen '${listen}' is not host:port (e.g. 127.0.0.1:8081)`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** Starts listening; resolves with the base URL. */
export function listenOn(server: Server, listen: string): Promise<string> {
  const { host, port } = parseListen(listen);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${actual}`);
    });
  });
}
