import type { Command } from 'commander';
import type { BackupResult } from '../../workflows/backup-instance.js';
import { parseBackupRequest } from '../../common/backup-request.js';
import { compactUtc } from '../../common/names.js';
import { runAction, UsageError } from '../command-errors.js';
import { connectClient } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { followWorkflow, startVmsnapWorkflow } from '../follow.js';
import type { SnapshotFlags } from './snapshot.js';
import { humanSnapshot, snapshotFields, withSnapshotOptions } from './snapshot.js';

interface BackupFlags extends SnapshotFlags {
  type: string;
  rotation: string;
}

export function registerBackup(program: Command): void {
  withSnapshotOptions(
    program
      .command('backup <domain>')
      .description("snapshot a domain as a backup of a type (daily, weekly, …) and keep only the newest N of that type (Nova's createBackup)")
      .requiredOption('--type <backup-type>', 'backup type, e.g. daily or weekly')
      .requiredOption('--rotation <n>', 'how many backups of this type to keep, the new one included'),
  )
    .addHelpText('after', '\nExit code 4: the backup is made but rotation could not delete every older backup.\n\nExamples:\n  vmsnap backup vm1 --host hv1 --type daily --rotation 7\n  vmsnap backup vm1 --host hv1 --type weekly --rotation 4 --store glance --json')
    .action((domain: string, f: BackupFlags) => runAction(f.json, () => backup(domain, f)));
}

async function backup(domain: string, f: BackupFlags): Promise<number> {
  const parsed = parseBackupRequest({ ...snapshotFields(domain, f), backupType: f.type, rotation: Number(f.rotation) });
  if (!parsed.ok) throw new UsageError(parsed.problems);
  const request = parsed.value;
  const { client, target, close } = await connectClient(f);
  try {
    const workflowId = `backup-${request.host}-${request.domain}-${request.backupType}-${compactUtc(new Date())}`;
    const summary = `${request.backupType} backup of ${request.domain} on ${request.host} into ${request.store}, keep ${request.rotation}`;
    const { handle, link } = await startVmsnapWorkflow(client, target, { workflowType: 'backupInstance', workflowId, arg: request, host: request.host, domain: request.domain, summary }, Boolean(f.json));
    if (!f.wait) {
      console.log(f.json ? JSON.stringify({ workflowId, link }) : workflowId);
      return EXIT.ok;
    }
    const r = await followWorkflow<BackupResult>(handle, { showBar: !f.json, what: 'backup', link });
    if (f.json) console.log(JSON.stringify(r, null, 2));
    else {
      console.log(humanSnapshot(r, link));
      console.log(`  rotation  ${r.backupType}: kept ${r.rotated.kept.length} of at most ${r.rotation}, deleted ${r.rotated.deleted.length}${r.rotated.deleted.length ? ` (${r.rotated.deleted.join(', ')})` : ''}`);
      for (const x of r.rotated.failed) console.log(`  NOT deleted ${x.name} (${x.imageId}): ${x.error}`);
    }
    return r.rotated.failed.length ? EXIT.warnings : EXIT.ok;
  } finally {
    await close();
  }
}
