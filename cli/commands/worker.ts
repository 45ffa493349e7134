import type { Command } from 'commander';
import type { ConnectionFlags } from '../../common/temporal-config.js';
import { TemporalUnreachable, temporalTarget } from '../../common/temporal-config.js';
import { loadWorkerConfig } from '../../workers/config.js';
import { runHostWorker } from '../../workers/host-worker.js';
import { parseLogFormat, parseLogLevel } from '../../workers/logger.js';
import { installTelemetry } from '../../workers/telemetry.js';
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
      .option('--no-workflows', 'serve activities only; run the workflow worker elsewhere')
      .option('--metrics-address <ip:port>', 'serve Prometheus metrics on http://<ip:port>/metrics, e.g. 0.0.0.0:9464 (default off)')
      .option('--log-format <f>', 'json | pretty (default: pretty on a terminal, json otherwise)')
      .option('--log-level <l>', 'trace | debug | info | warn | error (default info)'),
  )
    .addHelpText('after', '\nExamples:\n  vmsnap worker --host hv1 --store-dir /mnt/nfs/images\n  vmsnap worker --host hv1 --metrics-address 0.0.0.0:9464 --log-format json')
    .action(async (opts: ConnectionFlags & { host?: string; config?: string; stateDir?: string; storeDir?: string; workflows: boolean; maxHeavySteps?: string; metricsAddress?: string; logFormat?: string; logLevel?: string }) => {
      try {
        const config = loadWorkerConfig(opts.config, opts);
        // Before any connection: the Temporal Runtime takes its logger and metrics exporter once.
        installTelemetry({ host: config.host, metricsAddress: config.metricsAddress, logFormat: parseLogFormat(opts.logFormat, process.stderr.isTTY), logLevel: parseLogLevel(opts.logLevel) });
        await runHostWorker({ config, temporal: temporalTarget(process.env, opts), workflows: opts.workflows });
      } catch (e) {
        // One line that says what to fix, not a stack: a service manager shows it as the reason.
        process.stderr.write(`vmsnap worker: ${(e as Error).message}\n`);
        process.exit(e instanceof TemporalUnreachable ? 3 : 1);
      }
    });
}
