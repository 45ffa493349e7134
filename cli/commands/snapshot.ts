import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { PROGRESS_QUERY, WORKFLOW_TASK_QUEUE } from '../../common/constants.js';
import { compactUtc } from '../../common/names.js';
import { parseSnapshotRequest } from '../../common/request.js';
import type { SnapshotProgress, SnapshotResult } from '../../common/result.js';
import { VMSNAP_DOMAIN, VMSNAP_HOST } from '../../common/search-attributes.js';
import { temporalTarget, workflowUiLink } from '../../common/temporal-config.js';
import { EXIT } from '../exit-codes.js';

interface SnapshotFlags {
  host: string;
  mode?: string;
  strategy?: string;
  store?: string;
  name?: string;
  format?: string;
  property: string[];
  bandwidth?: string;
  json?: boolean;
  wait: boolean;
  address?: string;
  namespace?: string;
}

export function registerSnapshot(program: Command): void {
  program
    .command('snapshot <domain>')
    .description('snapshot a domain into a store, showing progress, and print the result')
    .requiredOption('--host <name>', 'hypervisor that runs the domain')
    .option('--mode <mode>', 'auto | live | cold | rbd', 'auto')
    .option('--strategy <s>', 'live copy strategy: auto | transient-job | undefine', 'auto')
    .option('--store <name>', 'store configured on the host worker', 'default')
    .option('--name <image>', 'image name (default <domain>-<UTC time>)')
    .option('--format <f>', 'qcow2 | raw', 'qcow2')
    .option('--property <k=v>', 'image property (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--bandwidth <MiB/s>', 'cap the block copy rate')
    .option('--json', 'print the result as JSON only')
    .option('--no-wait', 'start the snapshot and print its workflow ID')
    .option('--address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS)')
    .option('--namespace <ns>', 'Temporal namespace (env TEMPORAL_NAMESPACE)')
    .addHelpText('after', '\nExamples:\n  vmsnap snapshot vm1 --host hv1\n  vmsnap snapshot vm1 --host hv1 --strategy undefine --name vm1-gold --json')
    .action(async (domain: string, f: SnapshotFlags) => {
      process.exitCode = await snapshot(domain, f);
    });
}

async function snapshot(domain: string, f: SnapshotFlags): Promise<number> {
  const properties = Object.fromEntries(f.property.map((p) => [p.split('=')[0] ?? '', p.split('=').slice(1).join('=')]));
  const parsed = parseSnapshotRequest({
    host: f.host,
    domain,
    mode: f.mode,
    strategy: f.strategy,
    store: f.store,
    name: f.name,
    format: f.format,
    properties,
    bandwidthMiBps: f.bandwidth === undefined ? undefined : Number(f.bandwidth),
  });
  if (!parsed.ok) {
    console.error(`vmsnap: invalid request:\n  ${parsed.problems.join('\n  ')}`);
    return EXIT.usage;
  }
  const request = parsed.request;
  const target = temporalTarget(process.env, f);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: target.address, connectTimeout: '5s' });
  } catch (e) {
    console.error(`vmsnap: cannot reach Temporal at ${target.address}: ${(e as Error).message}\n  start it (bash deploy/temporal-up.sh) or set TEMPORAL_ADDRESS`);
    return EXIT.unreachable;
  }
  try {
    const client = new Client({ connection, namespace: target.namespace });
    const workflowId = `snapshot-${request.host}-${request.domain}-${compactUtc(new Date())}`;
    const handle = await client.workflow.start('snapshotInstance', {
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId,
      args: [request],
      typedSearchAttributes: [
        { key: VMSNAP_HOST, value: request.host },
        { key: VMSNAP_DOMAIN, value: request.domain },
      ],
    });
    const link = workflowUiLink(target, workflowId);
    if (!f.json) console.error(`started ${workflowId}\n  Web UI: ${link}`);
    if (!f.wait) {
      console.log(f.json ? JSON.stringify({ workflowId, link }) : workflowId);
      return EXIT.ok;
    }
    const bar = !f.json && process.stderr.isTTY ? new SingleBar({ format: ' {step} [{bar}] {percent}%', stream: process.stderr }) : undefined;
    bar?.start(100, 0, { step: 'queued' });
    const poll = setInterval(() => {
      handle
        .query<SnapshotProgress>(PROGRESS_QUERY)
        .then((p) => bar?.update(p.percent, { step: p.step.padEnd(22) }))
        .catch(() => undefined);
    }, 500);
    try {
      const result = (await handle.result()) as SnapshotResult;
      bar?.update(100, { step: 'done'.padEnd(22) });
      bar?.stop();
      console.log(f.json ? JSON.stringify(result, null, 2) : humanResult(result, link));
      return EXIT.ok;
    } catch (e) {
      bar?.stop();
      const cause = e instanceof WorkflowFailedError ? (e.cause?.message ?? e.message) : (e as Error).message;
      if (f.json) console.log(JSON.stringify({ workflowId, error: cause }));
      console.error(`vmsnap: snapshot ${workflowId} failed: ${cause}\n  details: ${link}`);
      return EXIT.failed;
    } finally {
      clearInterval(poll);
    }
  } finally {
    await connection.close();
  }
}

function humanResult(r: SnapshotResult, link: string): string {
  const steps = r.steps.map((s) => `    ${s.name.padEnd(24)} ${String(s.ms).padStart(7)} ms`).join('\n');
  return [
    `snapshot of ${r.domain} on ${r.host} (${r.mode}${r.strategy ? `, ${r.strategy}` : ''}): ${r.imageName}`,
    `  image     ${r.imageId}`,
    `  location  ${r.location}`,
    `  format    ${r.format}, ${r.sizeBytes} bytes (virtual ${r.virtualSizeBytes})`,
    `  sha256    ${r.sha256}`,
    `  downtime  ${r.downtimeMs} ms`,
    `  steps`,
    steps,
    `  Web UI    ${link}`,
  ].join('\n');
}
