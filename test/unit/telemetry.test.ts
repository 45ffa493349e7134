import type { MetricMeter, MetricTags } from '@temporalio/common';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { LogTimestamp } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import type { HostContext } from '../../activities/host-context.js';
import { progressReporter } from '../../activities/progress.js';
import { domainOf, hypervisorOf, METRICS, runMode, runTags } from '../../common/telemetry.js';
import { loadWorkerConfig } from '../../workers/config.js';
import { createLogger, parseLogFormat, parseLogLevel, prettyLine } from '../../workers/logger.js';
import { RunDomains, stepTelemetry, storeLabel } from '../../workers/step-telemetry.js';
import { coreLogLevel, runtimeOptions } from '../../workers/telemetry.js';

/** A metric meter that remembers every sample, by metric name. */
function recordingMeter() {
  const samples: { name: string; value: number; tags: MetricTags }[] = [];
  const metric = (name: string) => ({
    add: (value: number, tags: MetricTags = {}) => samples.push({ name, value, tags }),
    record: (value: number, tags: MetricTags = {}) => samples.push({ name, value, tags }),
  });
  const meter = { createCounter: metric, createHistogram: metric, createGauge: metric, withTags: () => meter } as unknown as MetricMeter;
  return { meter, samples };
}

function jsonLines() {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line), parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const hostCtx: HostContext = { host: 'hv1', libvirtUri: 'qemu:///system', stateDir: '/tmp/none', stores: new Map(), run: () => Promise.reject(new Error('no commands here')), reportProgress: () => Promise.resolve(), isWorkflowRunning: () => Promise.resolve(false) };

describe('log and metric attributes from inputs', () => {
  it('finds the domain an input is about, wherever the activity keeps it', () => {
    expect(domainOf({ domain: 'vm1', disk: 'vda' })).toBe('vm1');
    expect(domainOf({ source: { domain: 'vm2', pool: 'vms', image: 'x', snap: 's' }, store: 'pool' })).toBe('vm2');
    expect(domainOf({ store: 'default', tag: 't', manifest: { source: { host: 'hv1', domain: 'vm3', disk: 'vda' } } })).toBe('vm3');
    // An image being read names the domain it came from, not the one being restored.
    expect(domainOf({ store: 'default', image: { source: { domain: 'old' } }, tag: 't' })).toBeUndefined();
    expect(domainOf({ tag: 't' })).toBeUndefined();
    expect(domainOf(undefined)).toBeUndefined();
    expect(domainOf('vm1')).toBeUndefined();
    expect(hypervisorOf({ host: 'hv1', domain: 'vm1' })).toBe('hv1');
  });

  it('remembers a run domain for its later steps that name none, and forgets the oldest runs', () => {
    const runs = new RunDomains(2);
    expect(runs.resolve('wf-1', { domain: 'vm1', workflowId: 'wf-1', tag: 't' })).toBe('vm1');
    expect(runs.resolve('wf-1', { store: 'default', tag: 't' })).toBe('vm1');
    expect(runs.resolve('wf-2', { tag: 't2' })).toBeUndefined();
    runs.resolve('wf-2', { domain: 'vm2' });
    runs.resolve('wf-3', { domain: 'vm3' });
    expect(runs.resolve('wf-1', { tag: 't' })).toBeUndefined();
    expect(runs.resolve('wf-3', {})).toBe('vm3');
    expect(runs.resolve(undefined, { domain: 'vm4' })).toBe('vm4');
  });

  it('labels bytes with the kind of store written to, or local', () => {
    const kinds = new Map([['default', 'file'], ['glance', 'glance']]);
    const kind = (n: string) => kinds.get(n);
    expect(storeLabel({ store: 'glance', tag: 't' }, kind)).toBe('glance');
    expect(storeLabel({ store: 'nope' }, kind)).toBe('local');
    expect(storeLabel({ domain: 'vm1', tag: 't' }, kind)).toBe('local');
  });

  it('names a run by what it did, else by what it was asked', () => {
    expect(runMode('snapshotInstance', { mode: 'auto' }, { mode: 'live' }, 'live')).toBe('live');
    expect(runMode('snapshotInstance', { mode: 'auto' }, undefined, 'cold')).toBe('cold');
    expect(runMode('backupInstance', { mode: 'rbd' }, undefined, undefined)).toBe('rbd');
    expect(runMode('snapshotInstance', {}, undefined, undefined)).toBe('auto');
    expect(runMode('restoreInstance', { asNew: 'vm1-clone' }, undefined, undefined)).toBe('restore-new');
    expect(runMode('restoreInstance', { domain: 'vm1' }, {}, 'restore')).toBe('restore');
    expect(runTags('snapshotInstance', 'succeeded', 'live', 'hv1')).toEqual({ outcome: 'succeeded', mode: 'live', workflow_type: 'snapshotInstance', hypervisor: 'hv1' });
  });
});

describe('the worker logger', () => {
  it('writes one JSON object per line with host, level, time, message and the fields', () => {
    const out = jsonLines();
    const log = createLogger({ host: 'hv1', write: out.write });
    log.info('step finished', { workflowId: 'wf-1', domain: 'vm1', durationMs: 12, [LogTimestamp]: 1_700_000_000_123_000_000n });
    log.debug('not at INFO');
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]?.endsWith('\n')).toBe(true);
    expect(out.parsed()[0]).toEqual({ level: 'info', host: 'hv1', time: '2023-11-14T22:13:20.123Z', workflowId: 'wf-1', domain: 'vm1', durationMs: 12, msg: 'step finished' });
  });

  it('serializes errors and drops empty fields; honours the level', () => {
    const out = jsonLines();
    const log = createLogger({ host: 'hv1', level: 'WARN', write: out.write });
    log.info('quiet');
    log.warn('Activity failed', { error: ApplicationFailure.create({ type: 'DomainNotFound', message: 'domain vm9 does not exist' }), spanContexts: [], nothing: undefined });
    const [line] = out.parsed();
    expect(line).toMatchObject({ level: 'warn', host: 'hv1', msg: 'Activity failed', error: { type: 'ApplicationFailure', message: 'domain vm9 does not exist' } });
    expect(line).not.toHaveProperty('spanContexts');
    expect(line).not.toHaveProperty('nothing');
    expect(typeof line?.time).toBe('string');
  });

  it('has a readable format for terminals', () => {
    expect(prettyLine('INFO', 'reconcile', 'hv1', '2026-01-02T03:04:05.000Z', { actions: [], domain: 'vm 1', n: 3 })).toBe('2026-01-02T03:04:05.000Z INFO  hv1 reconcile actions=[] domain="vm 1" n=3\n');
    const lines: string[] = [];
    const log = createLogger({ host: 'hv1', format: 'pretty', level: 'DEBUG', write: (l) => void lines.push(l) });
    log.trace('hidden');
    log.debug('shown', { error: new Error('boom') });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+Z DEBUG hv1 shown error="boom"\n$/);
  });

  it('reads --log-level and --log-format, json unless stderr is a terminal', () => {
    expect(parseLogLevel(undefined)).toBe('INFO');
    expect(parseLogLevel('debug')).toBe('DEBUG');
    expect(() => parseLogLevel('loud')).toThrow(/--log-level must be one of trace, debug/);
    expect(parseLogFormat(undefined, false)).toBe('json');
    expect(parseLogFormat(undefined, true)).toBe('pretty');
    expect(parseLogFormat('json', true)).toBe('json');
    expect(() => parseLogFormat('xml', false)).toThrow(/json or pretty/);
  });
});

describe('the Temporal Runtime options', () => {
  it('exports Prometheus on the address asked, tags every metric with the host, forwards Core logs', () => {
    const logger = createLogger({ host: 'hv1', write: () => undefined });
    const o = runtimeOptions({ host: 'hv1', metricsAddress: '0.0.0.0:9464', logLevel: 'INFO' }, logger);
    expect(o.logger).toBe(logger);
    expect(o.telemetryOptions?.logging).toEqual({ filter: { core: 'WARN', other: 'ERROR' }, forward: {} });
    expect(o.telemetryOptions?.metrics).toMatchObject({
      globalTags: { host: 'hv1' },
      prometheus: { bindAddress: '0.0.0.0:9464', countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true, histogramBucketOverrides: { [METRICS.stepDuration]: expect.any(Array) as unknown } },
    });
    expect(runtimeOptions({ host: 'hv1' }, logger).telemetryOptions?.metrics).toBeUndefined();
    expect(coreLogLevel('DEBUG')).toBe('INFO');
    expect(coreLogLevel('ERROR')).toBe('ERROR');
  });

  it('takes the metrics address from the flag or the config file, and refuses what Core cannot bind', () => {
    expect(loadWorkerConfig(undefined, { host: 'hv1', stateDir: '/tmp/x', metricsAddress: '127.0.0.1:9464' }, {}).metricsAddress).toBe('127.0.0.1:9464');
    expect(loadWorkerConfig(undefined, { host: 'hv1', stateDir: '/tmp/x', metricsAddress: '[::]:9464' }, {}).metricsAddress).toBe('[::]:9464');
    expect(loadWorkerConfig(undefined, { host: 'hv1', stateDir: '/tmp/x' }, {}).metricsAddress).toBeUndefined();
    expect(() => loadWorkerConfig(undefined, { host: 'hv1', metricsAddress: 'localhost:9464' }, {})).toThrow(/--metrics-address localhost:9464: an address to listen on is ip:port/);
    expect(() => loadWorkerConfig(undefined, { host: 'hv1', metricsAddress: '0.0.0.0:99999' }, {})).toThrow(/at most 65535/);
  });
});

describe('step telemetry (activity interceptors)', () => {
  const info = { activityType: 'convertDelta', workflowExecution: { workflowId: 'wf-1', runId: 'run-1' } };

  it('records the step duration and the bytes its progress reached, and logs one line with domain and run', async () => {
    const { meter, samples } = recordingMeter();
    const out = jsonLines();
    const env = new MockActivityEnvironment(info, { interceptors: [stepTelemetry({ storeKind: () => undefined, meter })], logger: createLogger({ host: 'hv1', write: out.write }) });
    await env.run(async (_input: { domain: string; disk: string; tag: string }) => {
      const report = progressReporter(hostCtx, 'convert');
      report(0, 1000);
      report(600, 1000);
      report(1000, 1000);
      return Promise.resolve({ sizeBytes: 1000 });
    }, { domain: 'vm1', disk: 'vda', tag: 't' });
    expect(samples.find((s) => s.name === METRICS.stepDuration)).toMatchObject({ tags: { step: 'convertDelta', outcome: 'succeeded' } });
    expect(samples.find((s) => s.name === METRICS.bytesMoved)).toEqual({ name: METRICS.bytesMoved, value: 1000, tags: { step: 'convertDelta', store: 'local' } });
    const line = out.parsed().find((l) => l.msg === 'step finished');
    expect(line).toMatchObject({ level: 'info', host: 'hv1', workflowId: 'wf-1', runId: 'run-1', domain: 'vm1', activityType: 'convertDelta', outcome: 'succeeded', bytesMoved: 1000 });
    expect(line).not.toHaveProperty('taskToken');
  });

  it('a failed step is timed as failed and moves no bytes it did not report', async () => {
    const { meter, samples } = recordingMeter();
    const env = new MockActivityEnvironment({ ...info, activityType: 'commitImage' }, { interceptors: [stepTelemetry({ storeKind: () => 'file', meter })], logger: createLogger({ host: 'hv1', write: () => undefined }) });
    await expect(env.run(() => Promise.reject(new Error('disk full')), { store: 'default', tag: 't' })).rejects.toThrow('disk full');
    expect(samples).toEqual([{ name: METRICS.stepDuration, value: expect.any(Number) as unknown, tags: { step: 'commitImage', outcome: 'failed' } }]);
  });
});
