// Workflow interceptors of the `vmsnap` workflow worker (registered as a workflow module): one
// vmsnap_snapshots sample per finished run, and the request's domain on every workflow log line.
// Deterministic: the SDK drops metrics and logs while a workflow replays.
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { isCancellation, log, metricMeter, workflowInfo } from '@temporalio/workflow';
import { VMSNAP_MODE } from '../common/search-attributes.js';
import type { Outcome } from '../common/telemetry.js';
import { COUNTED_WORKFLOWS, domainOf, hypervisorOf, METRICS, runMode, runTags } from '../common/telemetry.js';

export const interceptors: WorkflowInterceptorsFactory = () => {
  let attrs: Record<string, string> = {};
  return {
    inbound: [
      {
        async execute(input, next) {
          const request = input.args[0];
          const domain = domainOf(request);
          const hypervisor = hypervisorOf(request);
          attrs = { ...(domain ? { domain } : {}), ...(hypervisor ? { hypervisor } : {}) };
          const { workflowType } = workflowInfo();
          if (!COUNTED_WORKFLOWS.has(workflowType)) return next(input);
          const finish = (outcome: Outcome, result?: unknown) => {
            const mode = runMode(workflowType, request, result, workflowInfo().typedSearchAttributes.get(VMSNAP_MODE));
            metricMeter.createCounter(METRICS.runs, undefined, 'Finished vmsnap snapshot, backup and restore runs').add(1, runTags(workflowType, outcome, mode, hypervisor));
            log.info('run finished', { outcome, mode });
          };
          try {
            const result = await next(input);
            finish('succeeded', result);
            return result;
          } catch (err) {
            finish(isCancellation(err) ? 'cancelled' : 'failed');
            throw err;
          }
        },
      },
    ],
    outbound: [
      {
        getLogAttributes: (input, next) => next({ ...input, ...attrs }),
        // The SDK tags workflow metrics `workflowType`; Core's own metrics say `workflow_type`.
        getMetricTags: (input, next) => {
          const { workflowType, ...rest } = input;
          return next(workflowType === undefined ? rest : { ...rest, workflow_type: workflowType });
        },
      },
    ],
  };
};
