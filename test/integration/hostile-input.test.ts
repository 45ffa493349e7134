import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { SnapshotResult } from '../../common/result.js';
import { domainState, host, makeDomain, startSnapshot, storePath, withClient, workflowId } from './lab.js';
import { ROOT } from './stack.js';

async function outcome(request: Record<string, unknown>, id = workflowId('hostile')) {
  return withClient(async (client) => {
    const handle = await startSnapshot(client, request, id);
    return handle.result().then(
      (r) => ({ ok: true as const, result: r as SnapshotResult, type: '', message: '' }),
      (e: unknown) => {
        const cause = e instanceof WorkflowFailedError ? (e.cause as { type?: string; message: string } | undefined) : undefined;
        return { ok: false as const, result: undefined, type: cause?.type ?? '', message: cause?.message ?? String(e) };
      },
    );
  });
}

async function oddDomain(suffix: string, kind: 'nodisk' | 'blockdisk' | 'cdromonly'): Promise<string> {
  const name = `${host()}-${suffix}`;
  await execa('bash', [path.join(ROOT, 'deploy/make-odd-domain.sh'), name, kind]);
  return name;
}

describe('domains and stores vmsnap cannot use are refused before anything changes', () => {
  it.each([
    ['blockdisk', /disk vda of domain .* is of type 'block'/],
    ['nodisk', /has no disk to snapshot/],
    ['cdromonly', /has no disk to snapshot/],
  ] as const)('a domain with %s', async (kind, message) => {
    const name = await oddDomain(`odd-${kind}`, kind);
    const before = await domainState(name);
    const o = await outcome({ domain: name });
    expect(o).toMatchObject({ ok: false, type: 'UnsupportedDisk' });
    expect(o.message).toMatch(message);
    expect((await domainState(name)).state).toBe(before.state);
  });

  it.each([
    ['notadir', /store notadir \(file\) .* cannot take an image: directory .* is not writable/],
    ['glance-garbage', /does not answer like a Glance image API v2/],
    ['glance-down', /Glance at http:\/\/127.0.0.1:9 cannot be reached/],
  ])('a store that cannot take an image: %s', async (store, message) => {
    const dom = await makeDomain(`bad-${store}`, { sizeMiB: 32 });
    const o = await outcome({ domain: dom.name, store });
    expect(o).toMatchObject({ ok: false, type: 'StoreUnavailable' });
    expect(o.message).toMatch(message);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk, blockJob: '' });
  });
});

describe('shell metacharacters are inert', () => {
  it('in free-form properties and in the workflow ID: no command runs, the strings are kept as they are', async () => {
    const dom = await makeDomain('inert', { sizeMiB: 32 });
    const canary = `/tmp/vmsnap-pwned-${process.pid}`;
    const evil = { a: `$(touch ${canary}-a)`, b: `\`touch ${canary}-b\``, c: `x; touch ${canary}-c`, d: `| touch ${canary}-d` };
    const id = `evil;touch ${canary}-wf $(touch ${canary}-wf2) ../../x`;
    const o = await outcome({ domain: dom.name, properties: evil }, id);
    expect(o.ok, o.message).toBe(true);
    const manifest = JSON.parse(await readFile(storePath(`${o.result?.imageName ?? ''}.manifest.json`), 'utf8')) as { properties: Record<string, string>; workflowId: string };
    expect(manifest.properties).toMatchObject(evil);
    expect(manifest.workflowId).toBe(id);
    for (const suffix of ['-a', '-b', '-c', '-d', '-wf', '-wf2']) expect(existsSync(`${canary}${suffix}`)).toBe(false);
  });
});
