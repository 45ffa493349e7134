import { upsertMemo } from '@temporalio/workflow';
import type { BackupRequest } from '../common/backup-request.js';
import { parseBackupRequest } from '../common/backup-request.js';
import { permanentFailure } from '../common/failures.js';
import { compactUtc } from '../common/names.js';
import type { SnapshotResult } from '../common/result.js';
import type { HostActivityProfiles } from './host-activities.js';
import { hostActivities } from './host-activities.js';
import { failureText } from './run-failures.js';
import { runSnapshot } from './snapshot-instance.js';
import { StepTracker } from './step-tracker.js';

/** What rotation did: the backups it deleted, and those it could not (the new backup stands regardless). */
export interface RotationReport {
  kept: string[];
  deleted: string[];
  failed: { imageId: string; name: string; error: string }[];
}

export type BackupResult = SnapshotResult & { backupType: string; rotation: number; rotated: RotationReport };

/**
 * Nova's createBackup: a snapshot tagged `backup_type`, then rotation. Of the backups of this
 * instance and type in the store, the newest `rotation` stay (the new one among them) and older
 * ones are deleted, oldest first. A delete that fails is reported in the result, never undoes the
 * new backup, and is tried again by the next backup's rotation.
 */
export async function backupInstance(input: unknown): Promise<BackupResult> {
  const parsed = parseBackupRequest(input);
  if (!parsed.ok) throw permanentFailure('InvalidRequest', `invalid backup request: ${parsed.problems.join('; ')}`);
  const { backupType, rotation, ...snapshot } = parsed.value;
  upsertMemo({ backup: `${backupType} backup of ${snapshot.domain} on ${snapshot.host}, keep ${rotation}` });
  const track = new StepTracker();
  const result = await runSnapshot(
    {
      ...snapshot,
      name: snapshot.name ?? `${snapshot.domain}-${backupType}-${compactUtc(new Date())}`,
      properties: { ...snapshot.properties, backup_type: backupType, image_type: 'backup' },
    },
    track,
  );
  const rotated = await track.run('rotate backups', () => rotate(hostActivities(snapshot.host, () => track.current), parsed.value, result));
  track.finish();
  return { ...result, steps: track.steps, backupType, rotation, rotated };
}

async function rotate(acts: HostActivityProfiles, request: BackupRequest, made: SnapshotResult): Promise<RotationReport> {
  const report: RotationReport = { kept: [made.imageId], deleted: [], failed: [] };
  let listed;
  try {
    [listed] = await acts.bestEffort.listStoreImages({
      store: request.store,
      filter: { properties: { backup_type: request.backupType, instance_uuid: made.instanceUuid } },
    });
  } catch (e) {
    report.failed.push({ imageId: '*', name: '*', error: `listing the backups in store ${request.store} failed: ${failureText(e)}` });
    return report;
  }
  // Each disk's backups rotate on their own (a multi-disk backup stores one image per disk).
  const ours = [{ disk: made.disk, imageId: made.imageId }, ...(made.moreDisks ?? []).map((d) => ({ disk: d.disk, imageId: d.imageId }))];
  report.kept.push(...ours.slice(1).map((m) => m.imageId));
  const fresh = new Set(ours.map((m) => m.imageId));
  for (const { disk } of ours) {
    const older = (listed?.images ?? []).filter((i) => !fresh.has(i.imageId) && i.source.disk === disk);
    report.kept.push(...older.slice(0, request.rotation - 1).map((i) => i.imageId));
    for (const image of older.slice(request.rotation - 1).reverse()) {
      try {
        await acts.bestEffort.deleteStoreImage({ store: request.store, imageId: image.imageId });
        report.deleted.push(image.imageId);
      } catch (e) {
        report.failed.push({ imageId: image.imageId, name: image.name, error: failureText(e) });
      }
    }
  }
  return report;
}
