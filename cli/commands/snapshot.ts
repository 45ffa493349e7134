import type { Command } from 'commander';
import { compactUtc } from '../../common/names.js';
import { parseSnapshotRequest } from '../../common/request.js';
import type { SnapshotResult } from '../../common/result.js';
import type { ConnectionFlags } from '../../common/temporal-config.js';
import { runAction, UsageError } from '../command-errors.js';
import { connectClient, withConnectionOptions } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { followWorkflow, startVmsnapWorkflow, stepsTable } from '../follow.js';

export interface SnapshotFlags extends ConnectionFlags {
  host: string;
  mode?: string;
  strategy?: string;
  store?: string;
  name?: string;
  format?: string;
  property: string[];
  bandwidth?: string;
  disk: string[];
  json?: boolean;
  wait: boolean;
}

/** The options `snapshot` and `backup` share: what to snapshot, where to, and how to watch it. */
export function withSnapshotOptions(cmd: Command): Command {
  return withConnectionOptions(
    cmd
      .requiredOption('--host <name>', 'hypervisor that runs the domain')
      .option('--mode <mode>', 'auto | live | cold | rbd', 'auto')
      .option('--strategy <s>', 'live copy strategy: auto | overlay | backup | transient-job | undefine', 'auto')
      .option('--store <name>', 'store configured on the host worker', 'default')
      .option('--name <image>', 'image name (default <domain>-<UTC time>)')
      .option('--format <f>', 'qcow2 | raw', 'qcow2')
      .option('--property <k=v>', 'image property (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
      .option('--bandwidth <MiB/s>', 'cap the block copy rate')
      .option('--disk <target>', 'a disk to snapshot (repeatable; the first is the main image; default the root disk)', (v: string, acc: string[]) => [...acc, v], [])
      .option('--json', 'print the result as JSON only')
      .option('--no-wait', 'start the workflow, print its ID and return'),
  );
}

/** The snapshot request the flags describe (validated by the workflow's own schema, here first). */
export function snapshotFields(domain: string, f: SnapshotFlags): Record<string, unknown> {
  const properties = Object.fromEntries(f.property.map((p) => [p.split('=')[0] ?? '', p.split('=').slice(1).join('=')]));
  return {
    host: f.host,
    domain,
    mode: f.mode,
    strategy: f.strategy,
    store: f.store,
    name: f.name,
    format: f.format,
    properties,
    bandwidthMiBps: f.bandwidth === undefined ? undefined : Number(f.bandwidth),
    disks: f.disk.length ? f.disk : undefined,
  };
}

export function registerSnapshot(program: Command): void {
  withSnapshotOptions(program.command('snapshot <domain>').description('snapshot a domain into a store, showing progress, and print the result'))
    .addHelpText('after', '\nExamples:\n  vmsnap snapshot vm1 --host hv1\n  vmsnap snapshot vm1 --host hv1 --strategy undefine --name vm1-gold --json\n  vmsnap snapshot vm1 --host hv1 --store glance --property os_distro=debian --no-wait\n  vmsnap snapshot vm1 --host hv1 --disk vda --disk vdb')
    .action((domain: string, f: SnapshotFlags) => runAction(f.json, () => snapshot(domain, f)));
}

async function snapshot(domain: string, f: SnapshotFlags): Promise<number> {
  const parsed = parseSnapshotRequest(snapshotFields(domain, f));
  if (!parsed.ok) throw new UsageError(parsed.problems);
  const request = parsed.request;
  const { client, target, close } = await connectClient(f);
  try {
    const workflowId = `snapshot-${request.host}-${request.domain}-${compactUtc(new Date())}`;
    const { handle, link } = await startVmsnapWorkflow(
      client,
      target,
      { workflowType: 'snapshotInstance', workflowId, arg: request, host: request.host, domain: request.domain, summary: `${request.mode} snapshot of ${request.domain} on ${request.host} into ${request.store}` },
      Boolean(f.json),
    );
    if (!f.wait) {
      console.log(f.json ? JSON.stringify({ workflowId, link }) : workflowId);
      return EXIT.ok;
    }
    const result = await followWorkflow<SnapshotResult>(handle, { showBar: !f.json, what: 'snapshot', link });
    console.log(f.json ? JSON.stringify(result, null, 2) : humanSnapshot(result, link));
    return EXIT.ok;
  } finally {
    await close();
  }
}

export function humanSnapshot(r: SnapshotResult, link: string): string {
  return [
    `snapshot of ${r.domain} on ${r.host} (${r.mode}${r.strategy ? `, ${r.strategy}` : ''}): ${r.imageName}`,
    `  image     ${r.imageId}`,
    `  location  ${r.location}`,
    `  format    ${r.format}, ${r.sizeBytes} bytes (virtual ${r.virtualSizeBytes})`,
    `  sha256    ${r.sha256}`,
    ...(r.moreDisks ?? []).map((d) => `  ${d.disk.padEnd(9)} ${d.imageName}: ${d.location}, ${d.sizeBytes} bytes, sha256 ${d.sha256}`),
    `  downtime  ${r.downtimeMs} ms`,
    `  steps`,
    stepsTable(r.steps),
    `  Web UI    ${link}`,
  ].join('\n');
}
