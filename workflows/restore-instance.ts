import { CancellationScope, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { permanentFailure } from '../common/failures.js';
import { artifactTag } from '../common/names.js';
import type { RestoreRequest, RestoreResult } from '../common/restore-request.js';
import { parseRestoreRequest } from '../common/restore-request.js';
import { VMSNAP_DOMAIN, VMSNAP_HOST, VMSNAP_MODE } from '../common/search-attributes.js';
import type { HostActivityProfiles } from './host-activities.js';
import { hostActivities } from './host-activities.js';
import { explain, whenHostAnswers } from './run-failures.js';
import { Saga } from './saga.js';
import { StepTracker } from './step-tracker.js';

/**
 * Brings a domain back from an image of a store, after checking the image against its sha256:
 * - in place: write the image as a new disk file beside the old one → stop the domain → swap the
 *   files (the old disk is kept) → boot → only then delete the old disk. Any failure puts the old
 *   disk back and starts the domain as it was.
 * - as a new domain (the seeds' gold image use): write the disk → define → boot.
 */
export async function restoreInstance(input: unknown): Promise<RestoreResult> {
  const parsed = parseRestoreRequest(input);
  if (!parsed.ok) throw permanentFailure('InvalidRequest', `invalid restore request: ${parsed.problems.join('; ')}`);
  const request = parsed.value;
  const { host, domain } = request;
  const { workflowId } = workflowInfo();
  const tag = artifactTag(workflowId);
  const track = new StepTracker();
  const saga = new Saga();
  const acts = hostActivities(host, () => track.current);
  upsertSearchAttributes([
    { key: VMSNAP_HOST, value: host },
    { key: VMSNAP_DOMAIN, value: domain },
    { key: VMSNAP_MODE, value: request.asNew ? 'restore-new' : 'restore' },
  ]);
  upsertMemo({ request: `restore of image ${request.image} from store ${request.store} ${request.asNew ? 'as new domain' : 'onto domain'} ${domain} on ${host}` });

  let locked = false;
  try {
    await track.run('lock domain', () => whenHostAnswers(host, acts.firstContact.acquireDomainLock({ domain, workflowId, tag })));
    locked = true;
    saga.register('remove the work folder', () => acts.undo.removeWorkDir({ tag }));
    const image = await track.run('find image', () => acts.quick.findStoreImage({ store: request.store, image: request.image }));
    const fetched = await track.run('fetch and verify', () => acts.long.fetchVerifiedImage({ store: request.store, image, tag }));
    const placed = request.asNew
      ? await restoreAsNew(acts, saga, track, request, { src: fetched.path, format: image.format, template: request.template ?? image.source.domain, workflowId })
      : await restoreInPlace(acts, saga, track, request, { src: fetched.path, tag });
    await track.run('cleanup', () => acts.quick.removeWorkDir({ tag }));
    track.finish();
    return { workflowId, host, domain, asNew: request.asNew, store: request.store, imageId: image.imageId, imageName: image.name, sha256: fetched.sha256, ...placed, steps: track.steps };
  } catch (err) {
    throw explain(err, await saga.unwind());
  } finally {
    if (locked) await CancellationScope.nonCancellable(() => acts.undo.releaseDomainLock({ domain, workflowId }));
  }
}

type Placed = Pick<RestoreResult, 'diskPath' | 'started' | 'downtimeMs'>;

async function restoreInPlace(acts: HostActivityProfiles, saga: Saga, track: StepTracker, request: RestoreRequest, o: { src: string; tag: string }): Promise<Placed> {
  const { domain } = request;
  const target = await track.run('inspect', () => acts.quick.inspectRestoreTarget({ domain, tag: o.tag }));
  const { diskPath, restored, kept } = target;
  saga.register('remove the restored disk', () => acts.undo.removeRestoreFile({ file: restored }));
  await track.run('write disk', () => acts.long.writeRestoredDisk({ domain, disk: target.disk, src: o.src, dest: restored, format: target.format }));

  const wasUp = target.state === 'running' || target.state === 'paused';
  // Registered before the stop, unwound after the disk is back: the domain ends as it was found.
  if (wasUp) saga.register('start the domain again', () => acts.undo.startDomain({ domain }));
  const down = Date.now();
  await track.run('stop domain', () => acts.quick.stopDomain({ domain, graceSeconds: request.shutdownGraceSeconds }));
  saga.register('put the old disk back', () => acts.undo.swapBackOldDisk({ domain, diskPath, kept }));
  await track.run('swap disk', () => acts.quick.swapInRestoredDisk({ diskPath, restored, kept }));
  const start = request.start || wasUp;
  if (start) await track.run('boot', () => acts.quick.bootDomain({ domain }));
  const downtimeMs = wasUp ? Date.now() - down : 0;
  // Booted (or not asked to): the old disk is no longer needed to undo anything.
  await track.run('remove old disk', () => acts.quick.removeRestoreFile({ file: kept }));
  return { diskPath, started: start, downtimeMs };
}

async function restoreAsNew(
  acts: HostActivityProfiles,
  saga: Saga,
  track: StepTracker,
  request: RestoreRequest,
  o: { src: string; format: 'qcow2' | 'raw'; template: string; workflowId: string },
): Promise<Placed> {
  const { domain } = request;
  const { diskPath } = await track.run('inspect', () => acts.quick.prepareNewDomain({ domain, format: o.format }));
  saga.register('remove the new disk', () => acts.undo.removeRestoreFile({ file: diskPath }));
  await track.run('write disk', () => acts.long.writeRestoredDisk({ domain, disk: 'vda', src: o.src, dest: diskPath, format: o.format }));
  saga.register('remove the new domain', () => acts.undo.removeNewDomain({ domain, workflowId: o.workflowId }));
  const shape = { memoryMiB: request.memoryMiB ?? 512, vcpus: request.vcpus ?? 1 };
  const explicit = request.memoryMiB !== undefined || request.vcpus !== undefined;
  await track.run('define', () => acts.quick.defineNewDomain({ domain, diskPath, format: o.format, template: explicit ? undefined : o.template, shape, workflowId: o.workflowId }));
  if (request.start) await track.run('boot', () => acts.quick.bootDomain({ domain }));
  return { diskPath, started: request.start, downtimeMs: 0 };
}
