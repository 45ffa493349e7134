import type { Client, ScheduleDescription } from '@temporalio/client';
import { decodeMapFromPayloads } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import type { Command } from 'commander';
import { parseScheduleRequest } from '../../common/schedule-request.js';
import type { ConnectionFlags } from '../../common/temporal-config.js';
import { runAction, UsageError } from '../command-errors.js';
import { connectClient, withConnectionOptions } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { backupScheduleOptions } from '../schedule-options.js';
import type { SnapshotFlags } from './snapshot.js';
import { snapshotFields, withSnapshotOptions } from './snapshot.js';

interface CreateFlags extends SnapshotFlags {
  domain: string;
  type: string;
  rotation: string;
  id?: string;
  cron: string[];
  every?: string;
  offset?: string;
  timezone: string;
  jitter?: string;
  catchupWindow: string;
  paused?: boolean;
  note?: string;
}

interface IdFlags extends ConnectionFlags {
  json?: boolean;
  note?: string;
}

export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('periodic backups on Temporal Schedules: create, list, describe, pause, unpause, trigger, delete');

  withSnapshotOptions(
    schedule
      .command('create')
      .description('create a schedule that runs backupInstance (a backup with rotation) on a cron line or an interval')
      .requiredOption('--domain <name>', 'domain to back up')
      .requiredOption('--type <backup-type>', 'backup type, e.g. daily or weekly')
      .requiredOption('--rotation <n>', 'how many backups of this type to keep')
      .option('--id <schedule-id>', 'schedule ID (default backup-<host>-<domain>-<type>)')
      .option('--cron <line>', 'cron line, e.g. "0 3 * * *" (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
      .option('--every <duration>', 'interval instead of cron, e.g. 24h, 30m, 10s')
      .option('--offset <duration>', 'shift of interval runs, e.g. --every 24h --offset 3h')
      .option('--timezone <tz>', 'IANA time zone of cron lines', 'UTC')
      .option('--jitter <duration>', 'random delay added to each run, e.g. 10m')
      .option('--catchup-window <duration>', 'after an outage, start a missed run only if at most this late', '5m')
      .option('--paused', 'create the schedule paused')
      .option('--note <text>', 'note shown with the schedule'),
  )
    .addHelpText(
      'after',
      '\nOverlap policy: Skip (a run due while the previous one still runs is skipped).\n\nExamples:\n  vmsnap schedule create --host hv1 --domain vm1 --type daily --rotation 7 --cron "0 3 * * *" --timezone Europe/Paris --jitter 15m\n  vmsnap schedule create --host hv1 --domain vm1 --type hourly --rotation 24 --every 1h',
    )
    .action((f: CreateFlags) => runAction(f.json, () => create(f)));

  withConnectionOptions(schedule.command('list').description("vmsnap's backup schedules").option('--json', 'print JSON only')).action((f: IdFlags) => runAction(f.json, () => list(f)));

  const byId = (name: string, description: string, body: (client: Client, id: string, f: IdFlags) => Promise<unknown>, note = false) => {
    const cmd = withConnectionOptions(schedule.command(`${name} <schedule-id>`).description(description).option('--json', 'print JSON only'));
    if (note) cmd.option('--note <text>', 'why (shown with the schedule)');
    cmd.action((id: string, f: IdFlags) =>
      runAction(f.json, async () => {
        const { client, close } = await connectClient(f);
        try {
          const out = await body(client, id, f).catch((e: unknown) => {
            throw new Error(`schedule ${id}: ${(e as Error).message}`);
          });
          console.log(f.json ? JSON.stringify(out ?? { scheduleId: id, done: name }, null, 2) : typeof out === 'string' ? out : `${name}: ${id}`);
          return EXIT.ok;
        } finally {
          await close();
        }
      }),
    );
  };
  byId('describe', 'spec, policies, state, recent and next runs of a schedule', async (c, id, f) => {
    const d = await c.schedule.getHandle(id).describe();
    return f.json ? d : humanDescription(d);
  });
  byId('pause', 'stop a schedule from starting runs', (c, id, f) => c.schedule.getHandle(id).pause(f.note ?? 'paused with vmsnap'), true);
  byId('unpause', 'let a paused schedule start runs again', (c, id, f) => c.schedule.getHandle(id).unpause(f.note ?? 'unpaused with vmsnap'), true);
  byId('trigger', 'start a run now (skipped if one is still running)', (c, id) => c.schedule.getHandle(id).trigger());
  byId('delete', 'delete a schedule (runs already started go on; images stay)', (c, id) => c.schedule.getHandle(id).delete());
}

async function create(f: CreateFlags): Promise<number> {
  const parsed = parseScheduleRequest({
    scheduleId: f.id,
    backup: { ...snapshotFields(f.domain, f), name: undefined, backupType: f.type, rotation: Number(f.rotation) },
    cron: f.cron.length ? f.cron : undefined,
    every: f.every,
    offset: f.offset,
    timezone: f.timezone,
    jitter: f.jitter,
    catchupWindow: f.catchupWindow,
    paused: Boolean(f.paused),
    note: f.note,
  });
  if (!parsed.ok) throw new UsageError(parsed.problems);
  if (f.name) throw new UsageError(['name: a schedule makes many images; their names are <domain>-<type>-<time>']);
  const { client, close } = await connectClient(f);
  try {
    const options = backupScheduleOptions(parsed.value);
    await client.schedule.create(options).catch((e: unknown) => {
      throw new Error(`creating schedule ${options.scheduleId} failed: ${(e as Error).message}`);
    });
    const next = (await client.schedule.getHandle(options.scheduleId).describe()).info.nextActionTimes[0];
    console.log(f.json ? JSON.stringify({ scheduleId: options.scheduleId, nextRun: next?.toISOString() ?? null }) : `created schedule ${options.scheduleId}; next run ${next?.toISOString() ?? 'none (paused?)'}`);
    return EXIT.ok;
  } finally {
    await close();
  }
}

/** One backup schedule as `schedule list` shows it; `error` when its memo could not be decoded. */
interface ListedSchedule {
  scheduleId: string;
  paused: boolean;
  note?: string;
  nextRun: string | null;
  /** The schedule's one-line summary (domain, type, rotation, timing), as created by vmsnap. */
  summary?: string;
  error?: string;
}

/**
 * The namespace's backup schedules. Each memo is decoded on its own, so a schedule this client
 * cannot read (encrypted with a key it does not hold, say) is listed with the reason and exit 4,
 * instead of hiding every other schedule.
 */
async function list(f: IdFlags): Promise<number> {
  const { client, target, close } = await connectClient(f);
  try {
    const mine: ListedSchedule[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await client.workflowService.listSchedules({ namespace: target.namespace, maximumPageSize: 100, nextPageToken });
      for (const s of page.schedules ?? []) {
        if (s.info?.workflowType?.name !== 'backupInstance' || !s.scheduleId) continue;
        const next = s.info.futureActionTimes?.[0];
        const entry: ListedSchedule = {
          scheduleId: s.scheduleId,
          paused: s.info.paused ?? false,
          ...(s.info.notes ? { note: s.info.notes } : {}),
          nextRun: next ? new Date(Number(next.seconds ?? 0) * 1000 + Math.floor((next.nanos ?? 0) / 1e6)).toISOString() : null,
        };
        try {
          const memo = await decodeMapFromPayloads(client.options.loadedDataConverter, s.memo?.fields);
          if (typeof memo?.vmsnap === 'string') entry.summary = memo.vmsnap;
        } catch (e) {
          entry.error = `cannot read its memo: ${(e as Error).message}`;
        }
        mine.push(entry);
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    if (f.json) console.log(JSON.stringify(mine, null, 2));
    else for (const s of mine) console.log(`${s.scheduleId}  ${s.paused ? 'paused' : 'active'}  next ${s.nextRun ?? '-'}  ${s.error ?? s.summary ?? ''}`);
    const unreadable = mine.filter((s) => s.error);
    if (unreadable.length) console.error(`vmsnap: ${unreadable.length} schedule(s) could not be read: ${unreadable.map((s) => s.scheduleId).join(', ')} (payload encryption? give --codec-keys or --codec-endpoint)`);
    return unreadable.length ? EXIT.warnings : EXIT.ok;
  } finally {
    await close();
  }
}

function humanDescription(d: ScheduleDescription): string {
  const spec = d.spec.calendars?.length ? `calendar ${JSON.stringify(d.spec.calendars)}` : `every ${JSON.stringify(d.spec.intervals)}`;
  return [
    `${d.scheduleId}  ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
    `  spec      ${spec}, timezone ${d.spec.timezone ?? 'UTC'}, jitter ${d.spec.jitter ?? 0} ms`,
    `  policies  overlap ${d.policies.overlap}, catch-up window ${d.policies.catchupWindow} ms`,
    `  runs      ${d.info.numActionsTaken} taken, ${d.info.numActionsSkippedOverlap} skipped for overlap`,
    ...d.info.recentActions.map((a) => `  ran       ${a.takenAt.toISOString()}: ${'workflow' in a.action ? a.action.workflow.workflowId : ''}`),
    ...d.info.nextActionTimes.slice(0, 3).map((t) => `  next      ${t.toISOString()}`),
  ].join('\n');
}
