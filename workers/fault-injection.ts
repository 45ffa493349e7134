import { writeFileSync } from 'node:fs';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * Fault injection for the chaos suite, off unless VMSNAP_FAULT is set (never in production):
 * `VMSNAP_FAULT=after:<activity>` lets that activity do its work on its first attempt, then writes
 * VMSNAP_FAULT_MARKER and hangs before Temporal hears of it, so the test can SIGKILL the worker
 * at exactly the worst moment (the step done, its completion lost); `before:<activity>` hangs
 * before the work instead.
 */
export function faultInjection(env: NodeJS.ProcessEnv = process.env): ActivityInterceptorsFactory[] {
  const m = /^(before|after):([A-Za-z]+)$/.exec(env.VMSNAP_FAULT ?? '');
  const marker = env.VMSNAP_FAULT_MARKER;
  if (!m || !marker) return [];
  const [, when, activity] = m;
  const hang = (workflowId: string) => {
    writeFileSync(marker, JSON.stringify({ when, activity, workflowId }));
    return new Promise<never>(() => undefined);
  };
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
