import type { Command } from 'commander';
import type { ConnectionFlags } from '../../common/temporal-config.js';
import { temporalTarget } from '../../common/temporal-config.js';
import { loadWorkerConfig } from '../../workers/config.js';
import { runHostWorker } from '../../workers/host-worker.js';
import { withConnectionOptions } from '../connection.js';

export function registerWorker(program: Command): void {
  withConnectionOptions(
    program
      .command('worker')
      .description('run the host worker of this hypervisor (and, by default, the workflow worker)')
      .option('--host <name>', "this hypervisor's name; its task queue is vmsnap-host-<name> (default: hostname)")
      .option('--config <file>', 'worker config file (JSON): stores, stateDir, libvirtUri')
      .option('--state-dir <dir>', 'where deltas, saved XML and locks live (default /var/lib/vmsnap)')
      .option('--store-dir <dir>', "directory of the 'default' file store (default <state-dir>/images)")
      .option('--max-heavy-steps <n>', 'heavy steps (copy, convert, flatten, upload) run at once on this host (default 2)')
      .option('--no-workflows', 'serve activities only; run the workflow worker elsewhere'),
  )
    .addHelpText('after', '\nExample:\n  vmsnap worker --host hv1 --store-dir /mnt/nfs/images')
    .action(async (opts: ConnectionFlags & { host?: string; config?: string; stateDir?: string; storeDir?: string; workflows: boolean; maxHeavySteps?: string }) => {
      const config = loadWorkerConfig(opts.config, opts);
      await runHostWorker({ config, temporal: temporalTarget(process.env, opts), workflows: opts.workflows });
    });
}
