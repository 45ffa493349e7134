import { permanentFailure } from '../../common/failures.js';
import type { StoredImage } from './image-store.js';

/** Which images a listing keeps: all given fields must match (properties by exact value). */
export interface ImageFilter {
  host?: string;
  domain?: string;
  properties?: Record<string, string>;
}

export function matchesFilter(image: StoredImage, filter: ImageFilter = {}): boolean {
  if (filter.host && image.source.host !== filter.host) return false;
  if (filter.domain && image.source.domain !== filter.domain) return false;
  return Object.entries(filter.properties ?? {}).every(([k, v]) => image.properties[k] === v);
}

/** Newest first, by creation time, then name (stable for images made in the same millisecond). */
export function newestFirst(images: StoredImage[]): StoredImage[] {
  return [...images].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.name.localeCompare(a.name));
}

/** The one image a reference (image ID or name) names in a store, or a clear permanent error. */
export function pickImage(images: StoredImage[], ref: string, where: string): StoredImage {
  const byId = images.find((i) => i.imageId === ref);
  if (byId) return byId;
  const byName = images.filter((i) => i.name === ref);
  if (byName.length === 1 && byName[0]) return byName[0];
  if (byName.length > 1) {
    throw permanentFailure('ImageAmbiguous', `${where} has ${byName.length} images named ${ref} (${byName.map((i) => i.imageId).join(', ')}): name one by its image ID`);
  }
  throw permanentFailure('ImageNotFound', `${where} has no finished image with ID or name ${ref}: 'vmsnap images list' shows what it holds`);
}
