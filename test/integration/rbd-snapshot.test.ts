import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import { GLANCE, glanceImages } from './openstack.js';
import { attachDataDisk, attachRbdDataDisk, domainState, guestWrite, leftoversOf, makeDomain, rbd, rbdSha256, rbdSnaps, runSnapshot, sameContent, startSnapshot, virsh, withClient } from './lab.js';

describe('RBD snapshot', () => {
  it.each([
    // The stream copy ends with the image's snapshot, and drops the source's beside the store step.
    // The two run at once, so they finish in either order.
    { copy: 'stream', steps: ['copy'], thenAtOnce: ['remove source snap', 'store'] },
    { copy: 'clone', steps: ['clone', 'flatten', 'snap clone', 'remove source snap'], thenAtOnce: ['store'] },
  ] as const)('direct ($copy): snap, copy into the image pool, snap the copy, drop the source snap', async ({ copy, steps, thenAtOnce }) => {
    const dom = await makeDomain(`rbd-direct-${copy}`, { sizeMiB: 128, layout: 'rbd' });
    await guestWrite(dom.name, 5, 3, 0x3c); // written by the guest just before: the snapshot must hold it
    const before = await rbdSha256(`vms/${dom.name}`);
    const result = await runSnapshot({ domain: dom.name, store: 'pool', name: `${dom.name}-img`, ...(copy === 'clone' ? { rbdCopy: copy } : {}) });

    expect(result).toMatchObject({ mode: 'rbd', format: 'raw', downtimeMs: 0, sizeBytes: 128 << 20 });
    expect(result.location).toMatch(new RegExp(`^rbd://[0-9a-f-]{36}/images/${dom.name}-img/snap$`));
    const names = result.steps.map((s) => s.name);
    const sequential = ['lock domain', 'inspect', 'snap source', ...steps];
    expect(names.slice(0, sequential.length)).toEqual(sequential);
    expect(names.slice(sequential.length, -1).sort()).toEqual([...thenAtOnce].sort());
    expect(names.at(-1)).toBe('cleanup');
    expect(await rbdSha256(`images/${dom.name}-img@snap`)).toBe(before);
    expect(result.sha256).toBe(before);
    expect(await rbdSnaps(`vms/${dom.name}`)).toEqual([]);
    expect(await rbdSnaps(`images/${dom.name}-img`)).toMatchObject([{ name: 'snap', protected: 'true' }]);
    const info = JSON.parse(await rbd('info', '--format', 'json', `images/${dom.name}-img`)) as { parent?: unknown };
    expect(info.parent).toBeUndefined(); // stands alone
    const manifest = JSON.parse(await rbd('image-meta', 'get', `images/${dom.name}-img`, 'vmsnap.manifest')) as { sha256: string; source: { domain: string } };
    expect(manifest).toMatchObject({ sha256: before, source: { domain: dom.name } });
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true });
  });

  it.each(['stream', 'clone'] as const)(
    'direct (%s) from a Nova instance disk (a clone of its Glance image): the copy holds the parent’s bytes and stands alone',
    async (copy) => {
      const dom = await makeDomain(`rbd-nova-${copy}`, { sizeMiB: 128, layout: 'rbd-clone' });
      const before = await rbdSha256(`vms/${dom.name}`);
      expect(before).not.toBe(await rbdSha256(`images/${dom.name}-base@snap`)); // the clone's own writes
      const result = await runSnapshot({ domain: dom.name, store: 'pool', name: `${dom.name}-img`, rbdCopy: copy });
      expect(result.sha256).toBe(before);
      expect(await rbdSha256(`images/${dom.name}-img@snap`)).toBe(before);
      const info = JSON.parse(await rbd('info', '--format', 'json', `images/${dom.name}-img`)) as { parent?: unknown };
      expect(info.parent).toBeUndefined();
      expect(await rbdSnaps(`vms/${dom.name}`)).toEqual([]);
      // The instance's own parent is untouched: still its Glance image's protected snapshot.
      const disk = JSON.parse(await rbd('info', '--format', 'json', `vms/${dom.name}`)) as { parent?: { pool: string; image: string; snapshot: string } };
      expect(disk.parent).toMatchObject({ pool: 'images', image: `${dom.name}-base`, snapshot: 'snap' });
    },
  );

  it('direct into Glance on RBD: the clone becomes the record’s rbd:// location, as Nova does', async () => {
    const dom = await makeDomain('rbd-glance', { sizeMiB: 64, layout: 'rbd' });
    const before = await rbdSha256(`vms/${dom.name}`);
    const result = await runSnapshot({ domain: dom.name, store: 'glance-rbd' });
    expect(result).toMatchObject({ mode: 'rbd', format: 'raw', sha256: before });
    expect(result.location).toMatch(new RegExp(`^rbd://[0-9a-f-]{36}/images/${result.imageId}/snap$`));
    expect(result.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['copy', 'remove source snap', 'store']));
    const [rec] = await glanceImages(GLANCE.rbd, { vmsnap_workflow_id: (await workflowOf(result.imageId)) ?? '' });
    expect(rec).toMatchObject({ id: result.imageId, status: 'active', disk_format: 'raw', image_type: 'snapshot', vmsnap_sha256: before, size: 64 << 20 });
    expect((rec?.locations as { url: string }[])[0]?.url).toBe(result.location);
    expect(await rbdSha256(`images/${result.imageId}@snap`)).toBe(before);
    expect(await rbdSnaps(`vms/${dom.name}`)).toEqual([]);
  });

  it('fallback: into a store outside the cluster, the snapshot is converted instead of cloned', async () => {
    const dom = await makeDomain('rbd-conv', { sizeMiB: 64, layout: 'rbd' });
    const result = await runSnapshot({ domain: dom.name, format: 'qcow2' });
    expect(result).toMatchObject({ mode: 'rbd', format: 'qcow2' });
    expect(result.steps.map((s) => s.name)).toEqual(['lock domain', 'inspect', 'snap source', 'convert', 'remove source snap', 'store', 'cleanup']);
    expect(await sameContent(new URL(result.location).pathname, `rbd:vms/${dom.name}:conf=${inject('cephConf')}`)).toBe(true);
    expect(await rbdSnaps(`vms/${dom.name}`)).toEqual([]);
  });

  it.each([
    { copy: 'stream', cause: /step copy, rbd create frozen\/.*refused by Ceph/ },
    { copy: 'clone', cause: /step clone, rbd clone .*refused by Ceph/ },
  ] as const)('a $copy the pool refuses unwinds: no source snapshot, no image, domain untouched', async ({ copy, cause }) => {
    const dom = await makeDomain(`rbd-fail-${copy}`, { sizeMiB: 32, layout: 'rbd' });
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, store: 'frozen', name: `${dom.name}-img`, rbdCopy: copy });
      const err = (await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      )) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause?.message).toMatch(cause);
      expect(leftoversOf(handle.workflowId, dom.name)).toEqual([]);
    });
    expect(await rbdSnaps(`vms/${dom.name}`)).toEqual([]);
    expect(await rbd('ls', 'frozen')).not.toContain(`${dom.name}-img`);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true });
  });
});

describe('RBD snapshot of several disks', () => {
  it.each([
    { copy: 'stream', store: 'pool', steps: ['copy'], thenAtOnce: ['remove source snap', 'store'] },
    { copy: 'clone', store: 'pool', steps: ['clone', 'flatten', 'snap clone', 'remove source snap'], thenAtOnce: ['store'] },
    { copy: 'convert', store: 'default', steps: ['convert', 'remove source snap'], thenAtOnce: ['store'] },
  ] as const)('$copy: one short pause snapshots both disks, each is copied and stored as an image of its own', async ({ copy, store, steps, thenAtOnce }) => {
    const dom = await makeDomain(`rbd-two-${copy}`, { sizeMiB: 64, layout: 'rbd', start: false });
    const vdb = await attachRbdDataDisk(dom, { sizeMiB: 24, fill: 0x6b, start: true });
    await guestWrite(dom.name, 5, 3, 0x3c);
    const [vdaBefore, vdbBefore] = [await rbdSha256(`vms/${dom.name}`), await rbdSha256(vdb)];
    const name = `${dom.name}-img`;
    const result = await runSnapshot({ domain: dom.name, store, name, disks: ['vda', 'vdb'], ...(copy === 'clone' ? { rbdCopy: copy } : {}) });

    expect(result).toMatchObject({ mode: 'rbd', disk: 'vda', moreDisks: [{ disk: 'vdb', imageName: `${name}-vdb`, virtualSizeBytes: 24 << 20 }] });
    // The domain stood still only while the two snapshots were taken.
    expect(result.downtimeMs).toBeGreaterThan(0);
    const names = result.steps.map((s) => s.name);
    const sequential = ['lock domain', 'inspect', 'snap source', ...steps];
    expect(names.slice(0, sequential.length)).toEqual(sequential);
    expect(names.slice(sequential.length, -1).sort()).toEqual([...thenAtOnce].sort());
    const second = result.moreDisks![0]!;
    if (store === 'pool') {
      expect(second.location).toMatch(new RegExp(`^rbd://[0-9a-f-]{36}/images/${name}-vdb/snap$`));
      expect(await rbdSha256(`images/${name}@snap`)).toBe(vdaBefore);
      expect(await rbdSha256(`images/${name}-vdb@snap`)).toBe(vdbBefore);
      const info = JSON.parse(await rbd('info', '--format', 'json', `images/${name}-vdb`)) as { parent?: unknown };
      expect(info.parent).toBeUndefined();
      expect([result.sha256, second.sha256]).toEqual([vdaBefore, vdbBefore]);
    } else {
      expect(await sameContent(new URL(result.location).pathname, `rbd:vms/${dom.name}:conf=${inject('cephConf')}`)).toBe(true);
      expect(await sameContent(new URL(second.location).pathname, `rbd:${vdb}:conf=${inject('cephConf')}`)).toBe(true);
    }
    expect(await rbdSnaps(`vms/${dom.name}`)).toEqual([]);
    expect(await rbdSnaps(vdb)).toEqual([]);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true });
    expect(leftoversOf(result.workflowId, dom.name)).toEqual([]);
  });

  it('a copy the pool refuses unwinds both disks: no source snapshots, no images, the domain running again', async () => {
    const dom = await makeDomain('rbd-two-fail', { sizeMiB: 32, layout: 'rbd', start: false });
    const vdb = await attachRbdDataDisk(dom, { sizeMiB: 16, fill: 0x6b, start: true });
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, store: 'frozen', name: `${dom.name}-img`, disks: ['vda', 'vdb'] });
      const err = (await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      )) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause?.message).toMatch(/step copy, rbd create frozen\/.*refused by Ceph/);
      expect(leftoversOf(handle.workflowId, dom.name)).toEqual([]);
    });
    expect(await rbdSnaps(`vms/${dom.name}`)).toEqual([]);
    expect(await rbdSnaps(vdb)).toEqual([]);
    expect(await rbd('ls', 'frozen')).not.toContain(`${dom.name}-img`);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true });
  });

  it('a domain its operator paused stays paused: the snapshots need no pause of their own', async () => {
    const dom = await makeDomain('rbd-two-paused', { sizeMiB: 32, layout: 'rbd', start: false });
    const vdb = await attachRbdDataDisk(dom, { sizeMiB: 16, fill: 0x6b, start: true });
    await virsh('suspend', dom.name);
    const vdbBefore = await rbdSha256(vdb);
    const result = await runSnapshot({ domain: dom.name, store: 'pool', name: `${dom.name}-img`, disks: ['vda', 'vdb'] });
    expect(result).toMatchObject({ mode: 'rbd', downtimeMs: 0, moreDisks: [{ disk: 'vdb', sha256: vdbBefore }] });
    expect(await domainState(dom.name)).toMatchObject({ state: 'paused' });
    await virsh('resume', dom.name);
  });

  it('a file disk beside an RBD disk is refused before anything changes, saying what to do', async () => {
    const dom = await makeDomain('rbd-mixed', { sizeMiB: 32, layout: 'rbd', start: false });
    await attachDataDisk(dom, { sizeMiB: 16, fill: 0x6b, start: true });
    const err = await runSnapshot({ domain: dom.name, disks: ['vda', 'vdb'] }).then(
      () => undefined,
      (e: unknown) => e as WorkflowFailedError,
    );
    expect(err?.cause?.message).toMatch(/disk vdb is on file and disk vda on RBD: several disks are snapshot together when all are on RBD or all are files; snapshot them in separate runs/);
    expect(await rbdSnaps(`vms/${dom.name}`)).toEqual([]);
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true });
  });
});

/** The workflow that made a Glance image (its vmsnap_workflow_id property). */
async function workflowOf(imageId: string): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${GLANCE.rbd}/v2/images/${imageId}`);
  return ((await res.json()) as { vmsnap_workflow_id?: string }).vmsnap_workflow_id;
}
