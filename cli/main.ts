#!/usr/bin/env node
import { Command } from 'commander';
import { registerSnapshot } from './commands/snapshot.js';
import { registerWorker } from './commands/worker.js';

const program = new Command('vmsnap')
  .description('Durable snapshots of KVM/libvirt virtual machines, as Temporal workflows')
  .showHelpAfterError();
registerWorker(program);
registerSnapshot(program);
await program.parseAsync(process.argv);
