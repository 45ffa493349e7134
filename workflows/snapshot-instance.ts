import { CancellationScope, patched, upsertMemo, upsertSearchAttributes, uuid4, workflowInfo } from '@temporalio/workflow';
import type { DomainFacts } from '../activities/index.js';
import { permanentFailure } from '../common/failures.js';
import { artifactTag, diskImageName, diskTag } from '../common/names.js';
import type { SnapshotRequest } from '../common/request.js';
import { parseSnapshotRequest } from '../common/request.js';
import type { SnapshotResult, StoredDisk } from '../common/result.js';
import { VMSNAP_DOMAIN, VMSNAP_HOST, VMSNAP_MODE } from '../common/search-attributes.js';
import { hostActivities } from './host-activities.js';
import { explain, whenHostAnswers } from './run-failures.js';
import { coldSnapshot } from './cold-snapshot.js';
import type { MoreDisk } from './disk-converts.js';
import { liveSnapshot } from './live-snapshot.js';
import { sideBySide } from './side-by-side.js';
import type { PathOutcome } from './overlay-merge.js';
import { type DirectCopy, rbdSnapshot } from './rbd-snapshot.js';
import { defaultImageName, planSnapshot } from './plan.js';
import { Saga } from './saga.js';
import { StepTracker } from './step-tracker.js';

/** The patch that brought the overlay strategy, the skipped idle stale-job step and the merge beside the store step. */
const OVERLAY_RELEASE = 'overlay-strategy';
/** The patch that folded the lock's release into the cleanup step. */
const FINISH_IN_ONE = 'finish-in-one-step';
/** RBD runs recorded before the stream copy replay with clone + flatten. */
const RBD_STREAM = 'rbd-stream-copy';
/** Runs recorded before several disks went the backup strategy and the rbd path replay their refusal. */
const MANY_DISKS_EVERYWHERE = 'several-disks-backup-and-rbd';

/**
 * Waits for a step and the work running beside it; the first failure is thrown only once neither
 * runs any more, so the unwind never races a step still under way.
 */
async function alongside<T>(main: Promise<T>, beside: Promise<void> | undefined): Promise<T> {
  const [a, b] = await Promise.allSettled([main, beside]);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return a.value;
}

/** What a result tells of one stored image. */
function pickStored(s: { imageId: string; location: string; sizeBytes: number; virtualSizeBytes: number; sha256: string }) {
  return { imageId: s.imageId, location: s.location, sizeBytes: s.sizeBytes, virtualSizeBytes: s.virtualSizeBytes, sha256: s.sha256 };
}

/**
 * Snapshots one domain into a store: validate, lock the domain, inspect it, run the chosen path,
 * publish the image. Any failure unwinds the compensations of the steps taken so far.
 */
export async function snapshotInstance(input: unknown): Promise<SnapshotResult> {
  const parsed = parseSnapshotRequest(input);
  if (!parsed.ok) throw permanentFailure('InvalidRequest', `invalid snapshot request: ${parsed.problems.join('; ')}`);
  const track = new StepTracker();
  const result = await runSnapshot(parsed.request, track);
  track.finish();
  return result;
}

/** The snapshot itself, for `snapshotInstance` and `backupInstance` (which rotates afterwards). */
export async function runSnapshot(request: SnapshotRequest, track: StepTracker): Promise<SnapshotResult> {
  const { host, domain } = request;
  const { workflowId } = workflowInfo();
  const tag = artifactTag(workflowId);
  const imageName = request.name ?? defaultImageName(domain, new Date());
  const saga = new Saga();
  const acts = hostActivities(host, () => track.current);
  upsertSearchAttributes([
    { key: VMSNAP_HOST, value: host },
    { key: VMSNAP_DOMAIN, value: domain },
  ]);
  const memo = (mode: string) => upsertMemo({ request: `${mode} snapshot of ${domain} on ${host} into store ${request.store} as ${imageName} (${request.format})` });
  memo(request.mode);

  let locked = false;
  try {
    await track.run('lock domain', () => whenHostAnswers(host, acts.firstContact.acquireDomainLock({ domain, workflowId, tag })));
    locked = true;
    // Unwound last: the run's work folder, with its claim, goes once everything else is undone.
    // (Registered only now: before the host answered, there is nothing there, maybe no host at all.)
    saga.register('remove the work folder', () => acts.undo.removeWorkDir({ tag }));
    const facts: DomainFacts = await track.run('inspect', () =>
      acts.quick.inspectDomain({ domain, store: request.store, imageName, workflowId, ...(request.disks ? { disks: request.disks } : {}) }),
    );
    // Runs recorded before the overlay strategy replay as they ran: no overlay from auto, the stale-job
    // step always, the cold merge before the store step.
    const overlayRelease = patched(OVERLAY_RELEASE);
    const plan = planSnapshot(request, facts, {
      overlayFirst: overlayRelease,
      streamFirst: facts.rbdDirect && patched(RBD_STREAM),
      ...(facts.moreDisks?.length ? { manyDisksEverywhere: patched(MANY_DISKS_EVERYWHERE) } : {}),
    });
    upsertSearchAttributes([{ key: VMSNAP_MODE, value: plan.mode }]);
    memo(plan.mode);

    const stagingPath = overlayRelease && facts.stagingPath ? facts.stagingPath : await acts.quick.stagingPath({ store: request.store, tag });
    const format = plan.format;
    saga.register('delete the temp image', () => acts.undo.removeStaging({ store: request.store, tag }));
    // Registered before any path: the RBD path creates the stored image (its clone) early on.
    const storedImages = saga.register('delete the stored image', () => acts.undo.deleteStoredImage({ store: request.store, name: imageName, format, workflowId }));

    const manifest = {
      imageId: uuid4(),
      name: imageName,
      format,
      virtualSizeBytes: facts.disk.virtualSize,
      source: { host, domain, disk: facts.disk.target },
      mode: plan.mode,
      workflowId,
      createdAt: new Date().toISOString(),
      properties: { ...request.properties, instance_uuid: facts.uuid },
    };
    // The other disks of a multi-disk run: an image each, named after the first, undone like it.
    const more: MoreDisk[] = (facts.moreDisks ?? []).map((d) => ({
      disk: d,
      stagingPath: d.stagingPath,
      manifest: { ...manifest, imageId: uuid4(), name: diskImageName(imageName, d.target), virtualSizeBytes: d.virtualSize, source: { host, domain, disk: d.target } },
    }));
    for (const m of more) {
      saga.register(`delete the temp image of ${m.disk.target}`, () => acts.undo.removeStaging({ store: request.store, tag: diskTag(tag, m.disk.target) }));
      saga.register(`delete the stored image of ${m.disk.target}`, () => acts.undo.deleteStoredImage({ store: request.store, name: m.manifest.name, format, workflowId }));
    }
    let downtimeMs = 0;
    let direct: DirectCopy | undefined;
    let moreDirect: DirectCopy[] = [];
    let outcome: PathOutcome = {};
    if (plan.mode === 'live') outcome = await liveSnapshot(acts, saga, track, { request, facts, plan, tag, stagingPath, skipIdleAbort: overlayRelease, manifest, ...(more.length ? { more } : {}) });
    else if (plan.mode === 'cold') ({ downtimeMs, ...outcome } = await coldSnapshot(acts, saga, track, { request, facts, stagingPath, tag, mergeBesideStore: overlayRelease, manifest, ...(more.length ? { more } : {}) }));
    else ({ direct, moreDirect = [], downtimeMs = 0, ...outcome } = await rbdSnapshot(acts, saga, track, { request, facts, plan, tag, manifest, stagingPath, storedImages, ...(more.length ? { more } : {}) }));
    // The digest the convert step took while writing only changes the store step's input, not
    // the commands: runs recorded before it replay unchanged (their convert results have none).
    const { tail, digest, moreDigests = [] } = outcome;

    // The image is complete: what the path still has to do (merging its overlay back) runs while
    // the store step hashes and publishes it.
    const finishing = tail?.();
    const storeMain = () =>
      direct ? acts.long.rbdPublish({ store: request.store, ref: direct.clone, manifest, digest: direct.digest }) : acts.long.commitImage({ store: request.store, tag, manifest, digest });
    const storeMore = more.map((m, i) => {
      const copy = moreDirect[i];
      if (copy) return () => acts.long.rbdPublish({ store: request.store, ref: copy.clone, manifest: m.manifest, digest: copy.digest });
      return () => acts.long.commitImage({ store: request.store, tag: diskTag(tag, m.disk.target), manifest: m.manifest, digest: moreDigests[i] });
    });
    const [stored, ...storedMore] = await alongside(
      track.run('store', () => sideBySide(storeMain, ...storeMore)),
      finishing,
    );
    // The staged file outlives an upload (Glance, an RBD import): only a file store renames it away.
    if (patched(FINISH_IN_ONE)) {
      const finish = () => acts.quick.finishRun({ domain, workflowId, tag, store: request.store });
      // An upload store leaves each disk's staged file behind (a file store renamed it away).
      const removeMore = () => Promise.all(more.map((m) => acts.quick.removeStaging({ store: request.store, tag: diskTag(tag, m.disk.target) })));
      await track.run('cleanup', () => Promise.all([finish(), removeMore()]));
      locked = false;
    } else {
      await track.run('cleanup', () => Promise.all([acts.quick.removeWorkDir({ tag }), acts.quick.removeStaging({ store: request.store, tag })]));
    }
    return {
      workflowId,
      imageId: stored.imageId,
      imageName,
      store: request.store,
      location: stored.location,
      format,
      sizeBytes: stored.sizeBytes,
      virtualSizeBytes: stored.virtualSizeBytes,
      sha256: stored.sha256,
      mode: plan.mode,
      strategy: plan.strategy,
      host,
      domain,
      disk: facts.disk.target,
      instanceUuid: facts.uuid,
      steps: track.steps,
      downtimeMs,
      ...(more.length ? { moreDisks: more.map((m, i): StoredDisk => ({ disk: m.disk.target, imageName: m.manifest.name, ...pickStored(storedMore[i]!) })) } : {}),
    };
  } catch (err) {
    const failures = await saga.unwind();
    throw explain(err, failures);
  } finally {
    if (locked) await CancellationScope.nonCancellable(() => acts.undo.releaseDomainLock({ domain, workflowId }));
  }
}

