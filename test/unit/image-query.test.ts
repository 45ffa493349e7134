import { describe, expect, it } from 'vitest';
import { matchesFilter, newestFirst, pickImage } from '../../activities/stores/image-query.js';
import type { StoredImage } from '../../activities/stores/image-store.js';
import { newDomainXml } from '../../activities/restore.js';
import { parseDomainDisks } from '../../activities/domain-xml.js';

const image = (name: string, createdAt: string, props: Record<string, string> = {}, id = name): StoredImage => ({
  imageId: id,
  name,
  format: 'qcow2',
  sizeBytes: 1,
  virtualSizeBytes: 1,
  sha256: 'x',
  source: { host: 'hv1', domain: 'vm1', disk: 'vda' },
  mode: 'live',
  workflowId: 'w',
  createdAt,
  properties: props,
  location: 'file:///x',
});

describe('image queries', () => {
  it('filters on source and properties, newest first', () => {
    const a = image('a', '2026-11-01T00:00:00.000Z', { backup_type: 'daily' });
    const b = image('b', '2026-11-03T00:00:00.000Z', { backup_type: 'daily' });
    const c = image('c', '2026-11-02T00:00:00.000Z', { backup_type: 'weekly' });
    expect(newestFirst([a, b, c]).map((i) => i.name)).toEqual(['b', 'c', 'a']);
    expect([a, b, c].filter((i) => matchesFilter(i, { domain: 'vm1', properties: { backup_type: 'daily' } })).map((i) => i.name)).toEqual(['a', 'b']);
    expect(matchesFilter(a, { host: 'hv2' })).toBe(false);
  });

  it('picks by ID, then by a name only if it is unique', () => {
    const imgs = [image('same', 't', {}, 'id-1'), image('same', 't', {}, 'id-2'), image('one', 't', {}, 'id-3')];
    expect(pickImage(imgs, 'id-2', 'store s').imageId).toBe('id-2');
    expect(pickImage(imgs, 'one', 'store s').imageId).toBe('id-3');
    expect(() => pickImage(imgs, 'same', 'store s')).toThrow(/2 images named same \(id-1, id-2\)/);
    expect(() => pickImage(imgs, 'nope', 'store s')).toThrow(/store s has no finished image with ID or name nope/);
  });

  it('a new domain from an image is a libvirt domain with that disk and the restore mark', () => {
    const xml = newDomainXml({ domain: 'vm1-clone', diskPath: '/var/lib/vmsnap/disks/vm1-clone.qcow2', format: 'qcow2', shape: { memoryMiB: 64, vcpus: 2 }, kvm: false, workflowId: 'restore-1' });
    expect(parseDomainDisks(xml)).toEqual([{ target: 'vda', type: 'file', device: 'disk', driverType: 'qcow2', sourceFile: '/var/lib/vmsnap/disks/vm1-clone.qcow2' }]);
    expect(xml).toMatch(/<domain type="qemu">/);
    expect(xml).toMatch(/<memory unit="MiB">64<\/memory>/);
    expect(xml).toContain('<description>vmsnap restore restore-1</description>');
  });
});
