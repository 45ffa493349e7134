import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { EncryptionCodec } from '../../common/codec/encryption-codec.js';
import type { KeyRing } from '../../common/codec/key-ring.js';
import { KeyRingError, loadKeyRing, secretFileModeProblem } from '../../common/codec/key-ring.js';
import { createCodecServer, listenOn } from '../../workers/codec-server.js';
import { runAction, UsageError } from '../command-errors.js';
import { EXIT } from '../exit-codes.js';

interface CodecServerFlags {
  listen: string;
  codecKeys?: string;
  corsOrigin: string[];
  authTokenFile?: string;
}

export function registerCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description("decrypt (and encrypt) payloads for the Web UI and the Temporal CLI: Temporal's remote codec protocol")
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8081')
    .option('--codec-keys <file>', 'key ring file (env VMSNAP_CODEC_KEYS)')
    .option('--cors-origin <url>', 'Web UI origin allowed to call it (repeatable), e.g. http://127.0.0.1:8233', (v: string, acc: string[]) => [...acc, v], [])
    .option('--auth-token-file <file>', 'require "Authorization: Bearer <token in this file>"')
    .addHelpText(
      'after',
      '\nExamples:\n  vmsnap codec-server --codec-keys /etc/vmsnap/codec-keys.json --cors-origin http://127.0.0.1:8233\n  temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8081\n  temporal workflow show -w ID --codec-endpoint http://127.0.0.1:8081',
    )
    .action((f: CodecServerFlags) => runAction(false, () => serve(f)));
}

async function serve(f: CodecServerFlags): Promise<number> {
  const file = f.codecKeys || process.env.VMSNAP_CODEC_KEYS;
  if (!file) throw new UsageError(['no key ring: give --codec-keys <file> or set VMSNAP_CODEC_KEYS (make one with vmsnap codec-key new --file <file>)']);
  let ring: KeyRing;
  try {
    ring = loadKeyRing(file);
  } catch (e) {
    throw new UsageError([(e as Error).message]);
  }
  for (const origin of f.corsOrigin) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) throw new UsageError([`--cors-origin '${origin}' is not an origin (scheme://host[:port], no path), e.g. http://127.0.0.1:8233`]);
  }
  const authToken = f.authTokenFile ? readToken(f.authTokenFile) : undefined;
  const server = createCodecServer({ codec: new EncryptionCodec(ring), corsOrigins: f.corsOrigin, authToken });
  const url = await listenOn(server, f.listen);
  const loopback = /^http:\/\/(127\.|\[::1\]|localhost)/.test(url);
  console.error(
    `codec-server: listening on ${url} (key ring ${ring.source}, current key ${ring.current}, keys ${[...ring.keys.keys()].join(', ')}; ` +
      `CORS ${f.corsOrigin.length ? f.corsOrigin.join(' ') : 'none'}; auth ${authToken ? 'bearer token' : 'none'})`,
  );
  if (!loopback && !authToken) console.error('codec-server: warning: anyone who reaches this address can decrypt payloads: add --auth-token-file, or listen on 127.0.0.1');
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return EXIT.ok;
}

function readToken(file: string): string {
  let token: string;
  try {
    const problem = secretFileModeProblem(statSync(file).mode, file, 'auth token file');
    if (problem) throw new KeyRingError(problem);
    token = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new UsageError([e instanceof KeyRingError ? e.message : `cannot read auth token file ${file}: ${(e as Error).message}`]);
  }
  if (token.length < 16) throw new UsageError([`auth token file ${file} holds ${token.length} characters: use at least 16 (e.g. openssl rand -hex 32 > ${file})`]);
  return token;
}
