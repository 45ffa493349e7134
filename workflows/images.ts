import type { StoreListing } from '../activities/images.js';
import type { StoredImage } from '../activities/stores/image-store.js';
import { permanentFailure } from '../common/failures.js';
import { parseDeleteImageRequest, parseListImagesRequest } from '../common/images-request.js';
import { hostActivities } from './host-activities.js';
import { whenHostAnswers } from './run-failures.js';

/**
 * The images in a host's stores. Stores (and their credentials) live on the host worker, so even a
 * listing runs there; it changes nothing.
 */
export async function listImages(input: unknown): Promise<StoreListing[]> {
  const parsed = parseListImagesRequest(input);
  if (!parsed.ok) throw permanentFailure('InvalidRequest', `invalid image listing request: ${parsed.problems.join('; ')}`);
  const { host, store, domain, backupType } = parsed.value;
  const filter = { domain, properties: backupType ? { backup_type: backupType } : undefined };
  return whenHostAnswers(host, hostActivities(host).firstContact.listStoreImages({ store, filter }));
}

/** Deletes one finished image (by ID or name) from a store of the host. */
export async function deleteImage(input: unknown): Promise<StoredImage> {
  const parsed = parseDeleteImageRequest(input);
  if (!parsed.ok) throw permanentFailure('InvalidRequest', `invalid image delete request: ${parsed.problems.join('; ')}`);
  const { host, store, image } = parsed.value;
  const acts = hostActivities(host);
  const found = await whenHostAnswers(host, acts.firstContact.findStoreImage({ store, image }));
  await acts.quick.deleteStoreImage({ store, imageId: found.imageId });
  return found;
}
