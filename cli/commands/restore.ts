import type { Command } from 'commander';
import { compactUtc } from '../../common/names.js';
import type { RestoreResult } from '../../common/restore-request.js';
import { parseRestoreRequest } from '../../common/restore-request.js';
import type { ConnectionFlags } from '../../common/temporal-config.js';
import { runAction, UsageError } from '../command-errors.js';
import { connectClient, withConnectionOptions } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { followWorkflow, startVmsnapWorkflow, stepsTable } from '../follow.js';

interface RestoreFlags extends ConnectionFlags {
  host: string;
  store: string;
  domain?: string;
  asNew?: string;
  template?: string;
  memory?: string;
  vcpus?: string;
  start: boolean;
  grace: string;
  json?: boolean;
  wait: boolean;
}

export function registerRestore(program: Command): void {
  withConnectionOptions(
    program
      .command('restore <image>')
      .description('restore a domain from an image (ID or name) of a store, after checking its sha256: in place onto --domain, or as a new domain (--as-new)')
      .requiredOption('--host <name>', 'hypervisor of the domain (and of the store)')
      .option('--store <name>', 'store that holds the image', 'default')
      .option('--domain <name>', 'domain whose disk is replaced (restore in place)')
      .option('--as-new <name>', 'define a new domain of this name from the image instead')
      .option('--template <domain>', "new domain: copy memory and CPUs of this domain (default: the image's source domain)")
      .option('--memory <MiB>', 'new domain: memory')
      .option('--vcpus <n>', 'new domain: virtual CPUs')
      .option('--no-start', 'leave the domain shut off afterwards (in place: only if it was shut off)')
      .option('--grace <seconds>', 'in place: how long a running domain may take to shut down before it is powered off', '60')
      .option('--json', 'print the result as JSON only')
      .option('--no-wait', 'start the workflow, print its ID and return'),
  )
    .addHelpText('after', '\nExamples:\n  vmsnap restore vm1-20261122T101500Z --host hv1 --domain vm1\n  vmsnap restore 3f0c…-uuid --host hv1 --store glance --as-new vm1-clone')
    .action((image: string, f: RestoreFlags) => runAction(f.json, () => restore(image, f)));
}

async function restore(image: string, f: RestoreFlags): Promise<number> {
  const asNew = f.asNew !== undefined;
  const domain = f.asNew ?? f.domain;
  if (!domain) throw new UsageError(['domain: give --domain (restore in place) or --as-new NAME (a new domain)']);
  const num = (v?: string) => (v === undefined ? undefined : Number(v));
  const parsed = parseRestoreRequest({
    host: f.host,
    store: f.store,
    image,
    domain,
    asNew,
    template: f.template,
    memoryMiB: num(f.memory),
    vcpus: num(f.vcpus),
    start: f.start,
    shutdownGraceSeconds: num(f.grace),
  });
  if (!parsed.ok) throw new UsageError(parsed.problems);
  const request = parsed.value;
  const { client, target, close } = await connectClient(f);
  try {
    const workflowId = `restore-${request.host}-${request.domain}-${compactUtc(new Date())}`;
    const summary = `restore ${request.image} from ${request.store} ${asNew ? 'as new domain' : 'onto'} ${request.domain} on ${request.host}`;
    const { handle, link } = await startVmsnapWorkflow(client, target, { workflowType: 'restoreInstance', workflowId, arg: request, host: request.host, domain: request.domain, summary }, Boolean(f.json));
    if (!f.wait) {
      console.log(f.json ? JSON.stringify({ workflowId, link }) : workflowId);
      return EXIT.ok;
    }
    const r = await followWorkflow<RestoreResult>(handle, { showBar: !f.json, what: 'restore', link });
    console.log(
      f.json
        ? JSON.stringify(r, null, 2)
        : [
            `restored ${r.imageName} (${r.imageId}) ${r.asNew ? 'as new domain' : 'onto'} ${r.domain} on ${r.host}`,
            `  disk      ${r.diskPath}`,
            `  sha256    ${r.sha256} (verified)`,
            `  running   ${r.started ? 'yes' : 'no'}`,
            `  downtime  ${r.downtimeMs} ms`,
            `  steps`,
            stepsTable(r.steps),
            `  Web UI    ${link}`,
          ].join('\n'),
    );
    return EXIT.ok;
  } finally {
    await close();
  }
}
