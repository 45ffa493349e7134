import { chmodSync, existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { KeyRing, KeyRingFile } from '../../common/codec/key-ring.js';
import { keyIdSchema, KeyRingError, loadKeyRing, newKeyMaterial } from '../../common/codec/key-ring.js';
import { compactUtc } from '../../common/names.js';
import { runAction, UsageError } from '../command-errors.js';
import { EXIT } from '../exit-codes.js';

export function registerCodecKey(program: Command): void {
  const keys = program.command('codec-key').description('make and rotate the payload encryption keys of a key ring file (README: Payload encryption)');

  keys
    .command('new')
    .description('add a fresh random AES-256 key to a key ring (made, mode 600, if missing) and make it current')
    .requiredOption('--file <ring>', 'key ring file (JSON)')
    .option('--id <id>', 'key ID, written in clear into every payload it encrypts (default k<UTC time>)')
    .option('--no-current', 'add the key but keep encrypting with the current one (stage it everywhere first)')
    .addHelpText(
      'after',
      '\nExamples:\n  vmsnap codec-key new --file /etc/vmsnap/codec-keys.json\n  vmsnap codec-key new --file /etc/vmsnap/codec-keys.json --id k2 --no-current   # then copy it everywhere, then:\n  vmsnap codec-key use k2 --file /etc/vmsnap/codec-keys.json',
    )
    .action((f: { file: string; id?: string; current: boolean }) => runAction(false, () => Promise.resolve(addKey(f))));

  keys
    .command('use <id>')
    .description('make a key the ring already holds the current one (new payloads are encrypted with it)')
    .requiredOption('--file <ring>', 'key ring file (JSON)')
    .action((id: string, f: { file: string }) => runAction(false, () => Promise.resolve(useKey(id, f.file))));
}

function readRing(file: string): KeyRing {
  try {
    return loadKeyRing(file);
  } catch (e) {
    if (e instanceof KeyRingError) throw new UsageError([e.message]);
    throw e;
  }
}

function addKey(f: { file: string; id?: string; current: boolean }): number {
  const id = f.id ?? `k${compactUtc(new Date())}`;
  const checked = keyIdSchema.safeParse(id);
  if (!checked.success) throw new UsageError([`--id '${id}': ${checked.error.issues[0]?.message ?? 'invalid'}`]);
  const ring = existsSync(f.file) ? readRing(f.file) : undefined;
  if (ring?.keys.has(id)) throw new UsageError([`key ring ${f.file} already holds a key '${id}': pick another --id (a key ID is never reused)`]);
  if (!ring && !f.current) throw new UsageError([`key ring ${f.file} does not exist yet: its first key must be the current one (drop --no-current)`]);
  const keys = { ...Object.fromEntries([...(ring?.keys ?? [])].map(([k, v]) => [k, v.toString('base64')])), [id]: newKeyMaterial() };
  const current = f.current || !ring ? id : ring.current;
  writeRing(f.file, { current, keys });
  const ids = Object.keys(keys).join(', ');
  console.log(
    f.current
      ? `added key ${id} to ${f.file}; new payloads are encrypted with it (keys: ${ids})\n  restart the workers, the codec server and CLI hosts on this file; keep the older keys while history they encrypted is kept`
      : `added key ${id} to ${f.file}; ${current} stays current (keys: ${ids})\n  copy the file to every worker, codec server and CLI host and restart them, then: vmsnap codec-key use ${id} --file ${f.file}`,
  );
  return EXIT.ok;
}

function useKey(id: string, file: string): number {
  const ring = readRing(file);
  if (!ring.keys.has(id)) throw new UsageError([`key ring ${file} holds no key '${id}' (it holds ${[...ring.keys.keys()].join(', ')}): add one with vmsnap codec-key new --file ${file} --id ${id}`]);
  writeRing(file, { current: id, keys: Object.fromEntries([...ring.keys].map(([k, v]) => [k, v.toString('base64')])) });
  console.log(`key ${id} of ${file} is current: restart the workers, the codec server and CLI hosts on this file`);
  return EXIT.ok;
}

/** Replaces the file atomically, keeping its mode (600 for a new one). */
function writeRing(file: string, ring: KeyRingFile): void {
  const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o600;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(ring, null, 2)}\n`, { mode, flag: 'wx' });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}
