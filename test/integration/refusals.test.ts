import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { SnapshotProgress } from '../../common/result.js';
import { domainState, guestWrite, leftoversOf, makeDomain, startSnapshot, withClient, workflowId } from './lab.js';

/** Runs a snapshot that must fail; returns the failure's type and message and how long it took. */
async function failure(request: Record<string, unknown>, id = workflowId('refused')) {
  return withClient(async (client) => {
    const started = Date.now();
    const handle = await startSnapshot(client, request, id);
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    return { type: (cause as ApplicationFailure).type, message: cause?.message ?? '', ms: Date.now() - started, workflowId: handle.workflowId };
  });
}

describe('refused before anything changes', () => {
  it('an unknown domain, naming it and the host', async () => {
    const f = await failure({ domain: 'no-such-domain' });
    expect(f.type).toBe('DomainNotFound');
    expect(f.message).toMatch(/no-such-domain.*does not exist on host itest-/);
    expect(leftoversOf(f.workflowId, 'no-such-domain')).toEqual([]);
  });

  it('a host with no live worker, within a minute, naming the host', async () => {
    const f = await failure({ host: 'no-such-hv', domain: 'vm1' });
    expect(f.type).toBe('HostUnavailable');
    expect(f.message).toMatch(/host no-such-hv has no live vmsnap worker/);
    expect(f.ms).toBeLessThan(60_000);
  });

  it.each([
    [{ domain: '../etc/passwd' }, /domain: .*letters, digits/],
    [{ domain: 'vm1', host: 'hv 1; rm -rf /' }, /host: .*letters, digits/],
    [{ domain: 'vm1', name: 'a/../../b' }, /name: /],
    [{ domain: 'vm1', format: 'vmdk' }, /format/],
    [{ domain: 'vm1', mode: 'hot' }, /mode/],
    [{ domain: 'vm1', password: 'hunter2' }, /Unrecognized key|password/],
    [{ domain: '' }, /domain: .*empty/],
    [{ domain: 'vm1', store: '../../etc' }, /store: /],
    [{ domain: 'vm1', name: '-rf' }, /name: /],
    [{ domain: 'vm1', name: '.hidden' }, /name: /],
    [{ domain: 'vm1', properties: { '../k': 'v' } }, /properties/],
    [{ domain: 'vm1$(reboot)' }, /domain: /],
    [{ domain: 'vm1`id`' }, /domain: /],
    [{ domain: 'vm1 && halt' }, /domain: /],
    [{ domain: 'vm1\nhalt' }, /domain: /],
    [{ domain: 'a'.repeat(100_000) }, /domain: .*longer than 200/],
    [{ domain: 'vm1', properties: { k: 'v'.repeat(2000) } }, /longer than 1024/],
    [{ domain: 'vm1', properties: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }, /at most 64 properties/],
    [{ domain: 42 }, /domain/],
    [{ domain: 'vm1', host: ['hv1'] }, /host/],
    [{ domain: 'vm1', properties: 'x' }, /properties/],
    [{ domain: 'vm1', bandwidthMiBps: 'fast' }, /bandwidthMiBps/],
    [{ domain: 'vm1', format: null }, /format/],
    [{ domain: 'vm1', strategy: 'yolo' }, /strategy/],
  ].map(([request, message]) => [JSON.stringify(request).slice(0, 70), request as Record<string, unknown>, message as RegExp] as const))('invalid input %s', async (_label, request, message) => {
    const f = await failure(request);
    expect(f.type).toBe('InvalidRequest');
    expect(f.message).toMatch(message);
  });

  it('an unknown store, listing the configured ones', async () => {
    const dom = await makeDomain('nostore', { sizeMiB: 32 });
    const f = await failure({ domain: dom.name, store: 'nfs9' });
    expect(f.type).toBe('StoreNotFound');
    expect(f.message).toMatch(/store nfs9 is not configured on host .*configured: default/);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
  });

  it('an image name already taken in the store', async () => {
    const dom = await makeDomain('taken', { sizeMiB: 32 });
    await withClient(async (c) => {
      await (await startSnapshot(c, { domain: dom.name, name: `${dom.name}-x` })).result();
    });
    const f = await failure({ domain: dom.name, name: `${dom.name}-x` });
    expect(f.type).toBe('ImageExists');
  });

  it('a second snapshot of a domain while one is in flight', async () => {
    const dom = await makeDomain('busy', { sizeMiB: 128 });
    await guestWrite(dom.name, 0, 24, 0x22);
    await withClient(async (client) => {
      const first = await startSnapshot(client, { domain: dom.name, bandwidthMiBps: 4 });
      for (let p: SnapshotProgress | undefined; p?.step !== 'blockcopy'; ) {
        p = await first.query<SnapshotProgress>('progress');
        await new Promise((r) => setTimeout(r, 100));
      }
      const second = await failure({ domain: dom.name });
      expect(second.type).toBe('SnapshotInProgress');
      expect(second.message).toContain(first.workflowId);
      await first.result();
    });
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
  });
});
