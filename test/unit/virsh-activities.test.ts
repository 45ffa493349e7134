import { describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../activities/command.js';
import type { HostContext } from '../../activities/host-context.js';
import { createVirshActivities } from '../../activities/virsh.js';

/** A fake runner answering like virsh on libvirt 9 (recorded in LAB.md); pure-logic tests only. */
function ctxWith(answer: (args: readonly string[]) => { exitCode: number; stdout?: string; stderr?: string }, calls: string[][] = []): HostContext {
  const run: CommandRunner = (_file, args) => {
    calls.push([...args]);
    const a = answer(args);
    return Promise.resolve({ exitCode: a.exitCode, stdout: a.stdout ?? '', stderr: a.stderr ?? '' });
  };
  return { host: 'hv1', libvirtUri: 'qemu:///system', stateDir: '/tmp/none', stores: new Map(), run, reportProgress: () => Promise.resolve(), isWorkflowRunning: () => Promise.resolve(false) };
}

describe('virsh activities', () => {
  it('aborting when there is no block job is success, not an error', async () => {
    const calls: string[][] = [];
    const acts = createVirshActivities(ctxWith(() => ({ exitCode: 1, stderr: 'error: invalid argument: disk vda does not have an active block job' }), calls));
    await expect(acts.abortStaleBlockJobs({ domain: 'vm1', disk: 'vda' })).resolves.toEqual({ aborted: false });
    expect(calls[0]).toEqual(['-q', '-c', 'qemu:///system', 'blockjob', 'vm1', 'vda', '--abort']);
  });

  it('a multi-disk run ends the stale jobs of every disk it snapshots', async () => {
    const calls: string[][] = [];
    const acts = createVirshActivities(ctxWith((args) => (args[5] === 'vdb' ? { exitCode: 0 } : { exitCode: 1, stderr: `error: invalid argument: disk ${args[5]} does not have an active block job` }), calls));
    await expect(acts.abortStaleBlockJobs({ domain: 'vm1', disk: 'vda', also: ['vdb', 'vdc'] })).resolves.toEqual({ aborted: true });
    expect(calls.map((c) => c[5])).toEqual(['vda', 'vdb', 'vdc']);
  });

  it('an unknown domain is a permanent failure naming domain and host', async () => {
    const acts = createVirshActivities(ctxWith(() => ({ exitCode: 1, stderr: "error: failed to get domain 'vm9'" })));
    await expect(acts.abortBlockJob({ domain: 'vm9', disk: 'vda' })).rejects.toMatchObject({ type: 'DomainNotFound', nonRetryable: true, message: expect.stringMatching(/domain vm9 does not exist on host hv1/) as string });
  });

  it('any other failure stays retryable and says where it happened', async () => {
    const acts = createVirshActivities(ctxWith(() => ({ exitCode: 1, stderr: 'error: Timed out during operation: cannot acquire state change lock' })));
    await expect(acts.abortBlockJob({ domain: 'vm1', disk: 'vda' })).rejects.toMatchObject({ type: 'CommandFailed', nonRetryable: false, message: expect.stringMatching(/host hv1, domain vm1, disk vda, step abort block job.*state change lock/) as string });
  });

  it('undefine leaves a transient domain alone', async () => {
    const calls: string[][] = [];
    const acts = createVirshActivities(ctxWith(() => ({ exitCode: 0, stdout: 'Persistent:     no\n' }), calls));
    await acts.undefineDomain({ domain: 'vm1' });
    expect(calls.map((c) => c[3])).toEqual(['dominfo']);
  });
});
