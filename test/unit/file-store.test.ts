import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStore } from '../../activities/stores/file-store.js';

const manifest = (workflowId: string) => ({
  imageId: 'id-1',
  name: 'vm1-img',
  format: 'qcow2' as const,
  virtualSizeBytes: 10,
  source: { host: 'hv1', domain: 'vm1', disk: 'vda' },
  mode: 'live',
  workflowId,
  createdAt: '2026-11-22T00:00:00Z',
  properties: {},
});

describe('FileStore', () => {
  it('publishes a staged image atomically with its sha256 and manifest, idempotently', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'store-'));
    const store = new FileStore('default', dir);
    await writeFile(store.stagingPath('tag1'), 'hello');
    const m = await store.commit('tag1', manifest('wf-1'));
    expect(m.sha256).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(m.sizeBytes).toBe(5);
    expect((await readdir(dir)).sort()).toEqual(['vm1-img.manifest.json', 'vm1-img.qcow2', 'vm1-img.sha256']);
    expect(await readFile(path.join(dir, 'vm1-img.sha256'), 'utf8')).toBe(`${m.sha256}  vm1-img.qcow2\n`);
    // A retry of the same run finds its image committed and changes nothing.
    expect(await store.commit('tag1', manifest('wf-1'))).toEqual(m);
  });

  it('takes the digest the convert step took while writing, but only for a file of that size', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'store-'));
    const store = new FileStore('default', dir);
    await writeFile(store.stagingPath('t1'), 'hello');
    // A digest that is not the file's shows it was taken as given, not read again.
    const given = { sha256: 'a'.repeat(64), size: 5 };
    expect(await store.commit('t1', manifest('wf-1'), undefined, given)).toMatchObject({ sha256: given.sha256, sizeBytes: 5 });
    await writeFile(store.stagingPath('t2'), 'hello');
    const other = { ...manifest('wf-2'), name: 'vm1-other' };
    expect(await store.commit('t2', other, undefined, { sha256: given.sha256, size: 4 })).toMatchObject({ sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', sizeBytes: 5 });
  });

  it('removes only images its own workflow made', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'store-'));
    const store = new FileStore('default', dir);
    await writeFile(store.stagingPath('t'), 'x');
    await store.commit('t', manifest('wf-1'));
    expect(await store.remove('vm1-img', 'qcow2', 'wf-other')).toBe(false);
    expect(await store.remove('vm1-img', 'qcow2', 'wf-1')).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    expect(await store.remove('vm1-img', 'qcow2', 'wf-1')).toBe(false);
  });

  it('refuses an image name that would escape the store', () => {
    expect(() => new FileStore('s', '/tmp/s').imagePath('../etc/x', 'qcow2')).toThrow(/escapes store/);
  });
});
