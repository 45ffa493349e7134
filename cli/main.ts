#!/usr/bin/env node
import { Command } from 'commander';
import { registerBackup } from './commands/backup.js';
import { registerCodecKey } from './commands/codec-key.js';
import { registerCodecServer } from './commands/codec-server.js';
import { registerImages } from './commands/images.js';
import { registerRestore } from './commands/restore.js';
import { registerSchedule } from './commands/schedule.js';
import { registerSnapshot } from './commands/snapshot.js';
import { registerWorker } from './commands/worker.js';

const program = new Command('vmsnap')
  .description('Durable snapshots and backups of KVM/libvirt virtual machines, as Temporal workflows')
  .showHelpAfterError()
  .addHelpText(
    'after',
    '\nExit codes: 0 done, 1 failed (or not found), 2 invalid request, 3 Temporal unreachable, 4 done with warnings.\nConnection: --address/--namespace/--api-key/--tls… or TEMPORAL_* variables or a Temporal CLI profile (--profile).',
  );
program.exitOverride((err) => {
  // Commander's own usage errors (missing option, unknown command) are "invalid request" for scripts.
  process.exit(err.exitCode === 0 ? 0 : 2);
});
registerWorker(program);
registerSnapshot(program);
registerBackup(program);
registerSchedule(program);
registerImages(program);
registerRestore(program);
registerCodecServer(program);
registerCodecKey(program);
await program.parseAsync(process.argv);
