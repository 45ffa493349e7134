import type { Command } from 'commander';
import type { StoreListing } from '../../activities/images.js';
import type { StoredImage } from '../../activities/stores/image-store.js';
import { parseDeleteImageRequest, parseListImagesRequest } from '../../common/images-request.js';
import { compactUtc } from '../../common/names.js';
import type { ConnectionFlags } from '../../common/temporal-config.js';
import { WORKFLOW_TASK_QUEUE } from '../../common/constants.js';
import { VMSNAP_HOST } from '../../common/search-attributes.js';
import { failureMessage, runAction, UsageError } from '../command-errors.js';
import { connectClient, withConnectionOptions } from '../connection.js';
import { EXIT } from '../exit-codes.js';

interface ImagesFlags extends ConnectionFlags {
  host: string;
  store?: string;
  domain?: string;
  type?: string;
  json?: boolean;
}

export function registerImages(program: Command): void {
  const images = program.command('images').description("list, show and delete images in a host's stores (the host worker reads its stores)");
  const common = (cmd: Command) => withConnectionOptions(cmd.requiredOption('--host <name>', 'hypervisor whose worker holds the stores').option('--json', 'print JSON only'));

  common(images.command('list').description('images of every store of the host, or of one, newest first'))
    .option('--store <name>', 'only this store')
    .option('--domain <name>', "only this domain's images")
    .option('--type <backup-type>', 'only backups of this type')
    .addHelpText('after', '\nExamples:\n  vmsnap images list --host hv1\n  vmsnap images list --host hv1 --store glance --domain vm1 --type daily --json')
    .action((f: ImagesFlags) => runAction(f.json, () => list(f)));

  common(images.command('show <image>').description('one image (ID or name) and its manifest'))
    .requiredOption('--store <name>', 'store that holds the image')
    .action((image: string, f: ImagesFlags) => runAction(f.json, () => show(image, f)));

  common(images.command('delete <image>').description('delete one image (ID or name) from a store, whoever made it'))
    .requiredOption('--store <name>', 'store that holds the image')
    .addHelpText('after', '\nExample:\n  vmsnap images delete vm1-daily-20261101T000000Z --host hv1 --store default')
    .action((image: string, f: ImagesFlags) => runAction(f.json, () => remove(image, f)));
}

async function runOnHost<T>(f: ImagesFlags, workflowType: string, arg: unknown): Promise<T> {
  const { client, close } = await connectClient(f);
  try {
    return await client.workflow.execute<(arg: unknown) => Promise<T>>(workflowType, {
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId: `${workflowType}-${f.host}-${compactUtc(new Date())}-${process.pid}`,
      args: [arg],
      typedSearchAttributes: [{ key: VMSNAP_HOST, value: f.host }],
    });
  } catch (e) {
    throw new Error(`${workflowType} on host ${f.host} failed: ${failureMessage(e)}`);
  } finally {
    await close();
  }
}

async function listings(f: ImagesFlags, store?: string): Promise<StoreListing[]> {
  const parsed = parseListImagesRequest({ host: f.host, store, domain: f.domain, backupType: f.type });
  if (!parsed.ok) throw new UsageError(parsed.problems);
  return runOnHost<StoreListing[]>(f, 'listImages', parsed.value);
}

async function list(f: ImagesFlags): Promise<number> {
  const all = await listings(f, f.store);
  if (f.json) {
    console.log(JSON.stringify(all, null, 2));
  } else {
    const rows = all.flatMap((l) => l.images.map((i) => [l.store, i.name, i.imageId, i.createdAt, String(i.sizeBytes), i.source.domain, i.properties.backup_type ?? '-']));
    const head = ['STORE', 'NAME', 'ID', 'CREATED', 'BYTES', 'DOMAIN', 'BACKUP'];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
    for (const r of [head, ...rows]) console.log(r.map((v, c) => v.padEnd(widths[c] ?? 0)).join('  ').trimEnd());
    for (const l of all) if (l.error) console.error(`vmsnap: store ${l.store} (${l.kind}) could not be read: ${l.error}`);
  }
  return all.some((l) => l.error) ? EXIT.warnings : EXIT.ok;
}

async function show(image: string, f: ImagesFlags): Promise<number> {
  const [listing] = await listings(f, f.store);
  const found = listing?.images.filter((i) => i.imageId === image || i.name === image) ?? [];
  if (found.length !== 1) {
    const why = found.length ? `${found.length} images are named ${image}: name one by its ID` : `store ${f.store} on host ${f.host} has no image ${image}`;
    throw new Error(why);
  }
  const i = found[0] as StoredImage;
  console.log(f.json ? JSON.stringify(i, null, 2) : humanImage(i));
  return EXIT.ok;
}

async function remove(image: string, f: ImagesFlags): Promise<number> {
  const parsed = parseDeleteImageRequest({ host: f.host, store: f.store, image });
  if (!parsed.ok) throw new UsageError(parsed.problems);
  const deleted = await runOnHost<StoredImage>(f, 'deleteImage', parsed.value);
  console.log(f.json ? JSON.stringify({ deleted }) : `deleted ${deleted.name} (${deleted.imageId}) from store ${f.store} on host ${f.host}`);
  return EXIT.ok;
}

function humanImage(i: StoredImage): string {
  return [
    `${i.name}`,
    `  id        ${i.imageId}`,
    `  location  ${i.location}`,
    `  format    ${i.format}, ${i.sizeBytes} bytes (virtual ${i.virtualSizeBytes})`,
    `  sha256    ${i.sha256}`,
    `  source    ${i.source.domain} (${i.source.disk}) on ${i.source.host}, ${i.mode}`,
    `  created   ${i.createdAt} by workflow ${i.workflowId}`,
    ...Object.entries(i.properties).map(([k, v]) => `  ${k.padEnd(9)} ${v}`),
  ].join('\n');
}
