import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { hangForChaos } from '../activities/fault-point.js';

/**
 * Fault injection for the chaos suite, off unless VMSNAP_FAULT is set (never in production):
 * `VMSNAP_FAULT=after:<activity>` lets that activity do its work on its first attempt, then writes
 * VMSNAP_FAULT_MARKER and hangs before Temporal hears of it, so the test can SIGKILL the worker
 * at exactly the worst moment (the step done, its completion lost); `before:<activity>` hangs
 * before the work instead. (`at:<point>` stops inside an activity: activities/fault-point.ts.)
 */
export function faultInjection(env: NodeJS.ProcessEnv = process.env): ActivityInterceptorsFactory[] {
  const m = /^(before|after):([A-Za-z]+)$/.exec(env.VMSNAP_FAULT ?? '');
  const marker = env.VMSNAP_FAULT_MARKER;
  if (!m || !marker) return [];
  const [, when = '', activity = ''] = m;
  const hang = (workflowId: string) => hangForChaos(marker, { when, activity, workflowId });
  return [
    (ctx) => ({
      inbound: {
        async execute(input, next) {
          const hit = ctx.info.activityType === activity && ctx.info.attempt === 1;
          const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
          if (hit && when === 'before') await hang(workflowId);
          const result = await next(input);
          if (hit && when === 'after') await hang(workflowId);
          return result;
        },
      },
    }),
  ];
}
