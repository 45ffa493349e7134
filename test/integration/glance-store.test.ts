import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { artifactTag } from '../../common/names.js';
import type { SnapshotProgress, SnapshotResult } from '../../common/result.js';
import { domainState, guestWrite, leftoversOf, makeDomain, sameContent, startSnapshot, withClient } from './lab.js';
import { adminPassword, downloadGlanceImage, GLANCE, glanceImages, killGlance, startGlance } from './openstack.js';
import { TEMPORAL_ADDRESS } from './stack.js';

async function snapshotInto(store: string, domain: string) {
  return withClient(async (client) => {
    const handle = await startSnapshot(client, { domain, store });
    return { result: (await handle.result()) as SnapshotResult, workflowId: handle.workflowId };
  });
}

/** Checks a Glance record made by vmsnap: Nova's snapshot fields, Glance's sha512, our sha256, the data. */
async function checkRecord(port: number, workflowId: string, result: SnapshotResult, disk: string, dir: string) {
  const records = await glanceImages(port, { vmsnap_workflow_id: workflowId });
  expect(records).toHaveLength(1);
  const rec = records[0] ?? {};
  const uuid = (await execa('virsh', ['-q', '-c', 'qemu:///system', 'domuuid', result.domain])).stdout.trim();
  expect(rec).toMatchObject({ id: result.imageId, status: 'active', image_type: 'snapshot', instance_uuid: uuid, disk_format: 'qcow2', os_hash_algo: 'sha512', vmsnap_sha256: result.sha256 });
  const file = path.join(dir, 'from-glance.qcow2');
  await downloadGlanceImage(port, result.imageId, file);
  const data = await readFile(file);
  expect(createHash('sha512').update(data).digest('hex')).toBe(rec.os_hash_value);
  expect(createHash('sha256').update(data).digest('hex')).toBe(result.sha256);
  expect(await sameContent(file, disk)).toBe(true);
}

describe('Glance store', () => {
  it('creates a snapshot record as Nova does, streams the image, and checks Glance’s hash', async () => {
    const dom = await makeDomain('glance', { sizeMiB: 64 });
    const { result, workflowId } = await snapshotInto('glance', dom.name);
    expect(result.location).toBe(`http://127.0.0.1:${GLANCE.open}/v2/images/${result.imageId}`);
    await checkRecord(GLANCE.open, workflowId, result, dom.disk, dom.dir);
    expect(leftoversOf(workflowId, dom.name)).toEqual([]);
  });

  it('two disks: one record each, both streamed and checked, no staged file left', async () => {
    const dom = await makeDomain('glance-two', { sizeMiB: 32, start: false });
    const data = path.join(dom.dir, 'data.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', data, '8M']);
    await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x3c 0 2M', data]);
    await execa('virsh', ['-c', 'qemu:///system', 'attach-disk', dom.name, data, 'vdb', '--subdriver', 'qcow2', '--config']);
    await execa('virsh', ['-c', 'qemu:///system', 'start', dom.name]);
    const { result, workflowId } = await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, store: 'glance', disks: ['vda', 'vdb'] });
      return { result: (await handle.result()) as SnapshotResult, workflowId: handle.workflowId };
    });
    const records = await glanceImages(GLANCE.open, { vmsnap_workflow_id: workflowId });
    expect(records.map((r) => r.vmsnap_source_disk).sort()).toEqual(['vda', 'vdb']);
    const vdb = result.moreDisks?.[0];
    const rec = records.find((r) => r.vmsnap_source_disk === 'vdb') ?? {};
    expect(rec).toMatchObject({ id: vdb?.imageId, name: `${result.imageName}-vdb`, status: 'active', vmsnap_sha256: vdb?.sha256 });
    const file = path.join(dom.dir, 'vdb-from-glance.qcow2');
    await downloadGlanceImage(GLANCE.open, String(rec.id), file);
    expect(await sameContent(file, data)).toBe(true);
    expect(leftoversOf(workflowId, dom.name)).toEqual([]);
    // The uploads stream from the converts: no disk's staged file is left (nor was one ever made).
    const staged = await readdir(path.join(inject('stateDir'), 'staging')).catch(() => [] as string[]);
    expect(staged.filter((f) => f.includes(artifactTag(workflowId)))).toEqual([]);
  });

  it.each(['glance-ks', 'glance-appcred'])('authenticates with Keystone (%s) from worker config only; no secret reaches history', async (store) => {
    const dom = await makeDomain(store, { sizeMiB: 32 });
    const { result, workflowId } = await snapshotInto(store, dom.name);
    await checkRecord(GLANCE.keystone, workflowId, result, dom.disk, dom.dir);
    const history = (await execa(inject('temporalBin'), ['workflow', 'show', '--address', TEMPORAL_ADDRESS, '-w', workflowId, '-o', 'json'])).stdout;
    expect(history).not.toContain(adminPassword());
    expect(history).not.toContain((await readFile(path.join(path.dirname(inject('stateDir')), 'appcred.secret'), 'utf8')).trim());
    expect(history).not.toMatch(/x-auth-token|X-Subject-Token/i);
  });

  it('an image over the Glance size cap fails without a record left behind', async () => {
    const dom = await makeDomain('glance-cap', { sizeMiB: 32 });
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, store: 'glance-small' });
      const err = (await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      )) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause?.message).toMatch(/HTTP 413.*larger than Glance accepts/);
      expect(await glanceImages(GLANCE.small, { vmsnap_workflow_id: handle.workflowId })).toEqual([]);
      expect(leftoversOf(handle.workflowId, dom.name)).toEqual([]);
    });
    expect(await domainState(dom.name)).toMatchObject({ state: 'running', persistent: true, source: dom.disk });
  });

  it('Glance killed mid-upload: the record stuck in saving is replaced, and the snapshot completes', async () => {
    const dom = await makeDomain('glance-crash', { sizeMiB: 512, dataMiB: 448 });
    await guestWrite(dom.name, 0, 16, 0x42);
    await withClient(async (client) => {
      const handle = await startSnapshot(client, { domain: dom.name, store: 'glance-crash' });
      // The image goes up while the convert step makes it: kill Glance once a good part is sent.
      for (let p: SnapshotProgress | undefined; !(p?.step === 'convert' && p.bytesDone > 64 << 20); ) {
        p = await handle.query<SnapshotProgress>('progress');
        await new Promise((r) => setTimeout(r, 20));
      }
      await killGlance(GLANCE.crash);
      const stuck = await glanceImages(GLANCE.crash, { vmsnap_workflow_id: handle.workflowId }).catch(() => []);
      expect(stuck).toEqual([]); // Glance is down: nothing answers
      await startGlance(GLANCE.crash);
      const result = (await handle.result()) as SnapshotResult;
      await checkRecord(GLANCE.crash, handle.workflowId, result, dom.disk, dom.dir);
    });
  });
});
