import { describe, expect, it } from 'vitest';
import { artifactTag } from '../../common/names.js';
import { parseSnapshotRequest } from '../../common/request.js';

describe('parseSnapshotRequest', () => {
  it('fills in the defaults of DESIGN.md', () => {
    const r = parseSnapshotRequest({ host: 'hv1', domain: 'vm1' });
    expect(r).toEqual({ ok: true, request: { host: 'hv1', domain: 'vm1', mode: 'auto', strategy: 'auto', rbdCopy: 'auto', store: 'default', format: 'qcow2', properties: {} } });
  });

  it.each([
    [{ domain: 'vm1' }, 'host'],
    [{ host: 'hv1' }, 'domain'],
    [{ host: 'hv/1', domain: 'vm1' }, 'host'],
    [{ host: 'hv1', domain: 'vm1; touch /tmp/x' }, 'domain'],
    [{ host: 'hv1', domain: '-rf' }, 'domain'],
    [{ host: 'hv1', domain: 'vm1', name: '../../etc/shadow' }, 'name'],
    [{ host: 'hv1', domain: 'vm1', name: '.hidden' }, 'name'],
    [{ host: 'hv1', domain: 'vm1', store: '$(reboot)' }, 'store'],
    [{ host: 'hv1', domain: 'x'.repeat(201) }, 'domain'],
    [{ host: 'hv1', domain: 42 }, 'domain'],
    [{ host: 'hv1', domain: 'vm1', bandwidthMiBps: -1 }, 'bandwidthMiBps'],
    [{ host: 'hv1', domain: 'vm1', properties: { 'a b': 'x' } }, 'properties'],
    [{ host: 'hv1', domain: 'vm1', storePassword: 'secret' }, 'request'],
    [{ host: 'hv1', domain: 'vm1', disks: [] }, 'disks'],
    [{ host: 'hv1', domain: 'vm1', disks: ['vda', 'vda'] }, 'disks'],
    [{ host: 'hv1', domain: 'vm1', disks: ['vda,snapshot=no'] }, 'disks'],
  ])('refuses %j, naming %s', (input, field) => {
    const r = parseSnapshotRequest(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toMatch(new RegExp(`^${field}`, 'm'));
  });

  it('takes the disks to snapshot by target', () => {
    const r = parseSnapshotRequest({ host: 'hv1', domain: 'vm1', disks: ['vdb', 'vda'] });
    expect(r.ok && r.request.disks).toEqual(['vdb', 'vda']);
  });

  it('refuses what is not an object at all', () => {
    expect(parseSnapshotRequest('vm1').ok).toBe(false);
    expect(parseSnapshotRequest(null).ok).toBe(false);
  });
});

describe('artifactTag', () => {
  it('is stable, path-safe and tells apart IDs that sanitize alike', () => {
    const a = artifactTag('snapshot/hv1/vm1');
    expect(artifactTag('snapshot/hv1/vm1')).toBe(a);
    expect(a).toMatch(/^vmsnap-[A-Za-z0-9._-]+$/);
    expect(artifactTag('snapshot_hv1_vm1')).not.toBe(a);
    expect(artifactTag('../../x')).not.toContain('/');
    expect(artifactTag('x'.repeat(1000)).length).toBeLessThan(90);
  });
});
