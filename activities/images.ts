import { mkdir } from 'node:fs/promises';
import { permanentFailure } from '../common/failures.js';
import type { HostContext } from './host-context.js';
import { workDir } from './host-context.js';
import { progressReporter } from './progress.js';
import { storeOf } from './store.js';
import type { ImageFilter } from './stores/image-query.js';
import { newestFirst, pickImage } from './stores/image-query.js';
import type { StoredImage } from './stores/image-store.js';

/** One store's answer to a listing: its images, or why it could not be read. */
export interface StoreListing {
  store: string;
  kind: string;
  images: StoredImage[];
  error?: string;
}

export function createImageActivities(ctx: HostContext) {
  return {
    /** Finished images in one store or in every store of this host, newest first. */
    async listStoreImages({ store, filter }: { store?: string; filter?: ImageFilter }): Promise<StoreListing[]> {
      const names = store ? [storeOf(ctx, store).name] : [...ctx.stores.keys()];
      const listings: StoreListing[] = [];
      for (const name of names) {
        const s = storeOf(ctx, name);
        try {
          listings.push({ store: name, kind: s.kind, images: newestFirst(await s.list(filter)) });
        } catch (e) {
          // One store down must not hide the others: say which one, and go on.
          if (store) throw e;
          listings.push({ store: name, kind: s.kind, images: [], error: (e as Error).message });
        }
      }
      return listings;
    },

    /** The image a reference (ID or name) names in a store. */
    async findStoreImage({ store, image }: { store: string; image: string }): Promise<StoredImage> {
      return pickImage(await storeOf(ctx, store).list(), image, `store ${store} on host ${ctx.host}`);
    },

    /** Deletes a finished image by ID. Idempotent: an image already gone is done. */
    async deleteStoreImage({ store, imageId }: { store: string; imageId: string }): Promise<{ deleted: boolean }> {
      const s = storeOf(ctx, store);
      const image = (await s.list()).find((i) => i.imageId === imageId);
      if (!image) return { deleted: false };
      await s.delete(image);
      return { deleted: true };
    },

    /**
     * Brings an image's bytes to this host (in the run's work folder unless the store is local) and
     * checks them against the sha256 recorded when the image was made. A damaged image is never used.
     */
    async fetchVerifiedImage({ store, image, tag }: { store: string; image: StoredImage; tag: string }): Promise<{ path: string; sha256: string; size: number }> {
      await mkdir(workDir(ctx, tag), { recursive: true, mode: 0o700 });
      const report = progressReporter(ctx, 'fetch image');
      const got = await storeOf(ctx, store).fetch(image, `${workDir(ctx, tag)}/image.${image.format}`, (n) => report(n, Math.max(n, image.sizeBytes)));
      if (got.sha256 !== image.sha256 || (image.sizeBytes > 0 && got.size !== image.sizeBytes)) {
        throw permanentFailure(
          'ChecksumMismatch',
          `image ${image.name} (${image.imageId}) in store ${store} on host ${ctx.host} is damaged: its ${got.size} bytes hash to sha256 ${got.sha256}, its manifest says ${image.sizeBytes} bytes with sha256 ${image.sha256}; it was not used: restore from another image`,
        );
      }
      return got;
    },
  };
}
