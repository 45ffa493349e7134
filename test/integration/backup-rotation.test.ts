import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { StoreListing } from '../../activities/images.js';
import type { BackupResult } from '../../workflows/backup-instance.js';
import { host, makeDomain, virsh, vmsnap } from './lab.js';
import { GLANCE } from './openstack.js';

async function backup(domain: string, type: string, rotation: number, store = 'default') {
  return vmsnap(['backup', domain, '--host', host(), '--type', type, '--rotation', String(rotation), '--store', store, '--json']);
}

async function backupsOf(domain: string, store: string, type?: string) {
  const r = await vmsnap(['images', 'list', '--host', host(), '--store', store, '--domain', domain, ...(type ? ['--type', type] : []), '--json']);
  expect(r.code, r.stderr).toBe(0);
  return r.json<StoreListing[]>()[0]?.images ?? [];
}

describe('backupInstance (vmsnap backup): a snapshot plus rotation, as Nova createBackup', () => {
  it('keeps the newest N backups of the instance and type, deletes exactly the older ones, and leaves other types alone', async () => {
    const dom = await makeDomain('rot', { sizeMiB: 32, layout: 'flat', start: false });
    const made: BackupResult[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await backup(dom.name, 'daily', 2);
      expect(r.code, r.stderr).toBe(0);
      made.push(r.json<BackupResult>());
    }
    const weekly = await backup(dom.name, 'weekly', 1);
    expect(weekly.code, weekly.stderr).toBe(0);
    const plain = await vmsnap(['snapshot', dom.name, '--host', host(), '--json']);
    expect(plain.code, plain.stderr).toBe(0);

    const [first, second, third] = made as [BackupResult, BackupResult, BackupResult];
    expect(first.rotated.deleted).toEqual([]);
    expect(second.rotated.deleted).toEqual([]);
    expect(third.rotated.deleted).toEqual([first.imageId]);
    expect(third.rotated.kept).toEqual([third.imageId, second.imageId]);
    expect(third.steps.map((s) => s.name)).toContain('rotate backups');

    const daily = await backupsOf(dom.name, 'default', 'daily');
    expect(daily.map((i) => i.imageId)).toEqual([third.imageId, second.imageId]);
    expect(daily.every((i) => i.properties.image_type === 'backup' && i.properties.backup_type === 'daily')).toBe(true);
    const all = await backupsOf(dom.name, 'default');
    // daily ×2, weekly ×1, and the plain snapshot, which rotation never counts
    expect(all).toHaveLength(4);
  });

  it('a backup of two disks rotates each disk on its own: the newest N of each stay', async () => {
    const dom = await makeDomain('rot2', { sizeMiB: 32, start: false });
    const data = path.join(dom.dir, 'data.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', data, '8M']);
    await virsh('attach-disk', dom.name, data, 'vdb', '--subdriver', 'qcow2', '--config');
    await virsh('start', dom.name);
    const made: BackupResult[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await vmsnap(['backup', dom.name, '--host', host(), '--type', 'hourly', '--rotation', '1', '--disk', 'vda', '--disk', 'vdb', '--json']);
      expect(r.code, r.stderr).toBe(0);
      made.push(r.json<BackupResult>());
    }
    const [first, second] = made as [BackupResult, BackupResult];
    const vdbOf = (b: BackupResult) => b.moreDisks?.[0]?.imageId;
    expect(vdbOf(first)).toBeDefined();
    expect(second.rotated.kept.sort()).toEqual([second.imageId, vdbOf(second)].sort());
    expect(second.rotated.deleted.sort()).toEqual([first.imageId, vdbOf(first)].sort());
    const left = await backupsOf(dom.name, 'default', 'hourly');
    expect(left.map((i) => `${i.source.disk} ${i.imageId}`).sort()).toEqual([`vda ${second.imageId}`, `vdb ${vdbOf(second)}`].sort());
  });

  it('in Glance: a backup whose rotation cannot delete an old one still stands, and says so (exit 4)', async () => {
    const dom = await makeDomain('rotg', { sizeMiB: 32, layout: 'flat', start: false });
    const first = await backup(dom.name, 'nightly', 1, 'glance');
    expect(first.code, first.stderr).toBe(0);
    const old = first.json<BackupResult>();
    // A protected Glance image refuses deletion (HTTP 403): rotation must report it and go on.
    const url = `http://127.0.0.1:${GLANCE.open}/v2/images/${old.imageId}`;
    const patch = (value: boolean) =>
      fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' }, body: JSON.stringify([{ op: 'replace', path: '/protected', value }]) });
    expect((await patch(true)).status).toBe(200);
    try {
      const second = await backup(dom.name, 'nightly', 1, 'glance');
      expect(second.code, second.stderr).toBe(4);
      const r = second.json<BackupResult>();
      expect(r.rotated.deleted).toEqual([]);
      expect(r.rotated.failed.map((f) => f.imageId)).toEqual([old.imageId]);
      expect(r.rotated.failed[0]?.error).toMatch(/403/);
      const left = await backupsOf(dom.name, 'glance', 'nightly');
      expect(left.map((i) => i.imageId).sort()).toEqual([old.imageId, r.imageId].sort());

      // Once the old one can go, the next backup's rotation takes it (and the second one).
      expect((await patch(false)).status).toBe(200);
      const third = await backup(dom.name, 'nightly', 1, 'glance');
      expect(third.code, third.stderr).toBe(0);
      expect(third.json<BackupResult>().rotated.deleted.sort()).toEqual([old.imageId, r.imageId].sort());
      expect((await backupsOf(dom.name, 'glance', 'nightly')).map((i) => i.imageId)).toEqual([third.json<BackupResult>().imageId]);
    } finally {
      await patch(false);
    }
  });

  it('refuses a rotation below 1 before starting anything (exit 2)', async () => {
    const r = await backup('anything', 'daily', 0);
    expect(r.code).toBe(2);
    expect(r.json<{ error: string }>().error).toMatch(/rotation must be at least 1/);
  });
});
