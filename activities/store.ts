import { permanentFailure } from '../common/failures.js';
import type { HostContext } from './host-context.js';
import { progressReporter } from './progress.js';
import type { ImageDigest, ImageStore, NewImage, StoredImage } from './stores/image-store.js';

/** Looks up a store configured on this worker, or explains which ones exist. */
export function storeOf(ctx: HostContext, name: string): ImageStore {
  const store = ctx.stores.get(name);
  if (!store) {
    const known = [...ctx.stores.keys()].join(', ') || 'none';
    throw permanentFailure('StoreNotFound', `store ${name} is not configured on host ${ctx.host} (configured: ${known}); add it to the worker's config`);
  }
  return store;
}

export function createStoreActivities(ctx: HostContext) {
  return {
    /** Where the convert step writes: a hidden file inside the store, so storing is a rename. */
    stagingPath({ store, tag }: { store: string; tag: string }): Promise<string> {
      return Promise.resolve(storeOf(ctx, store).stagingPath(tag));
    },

    /**
     * Publishes the staged image atomically under its name with its manifest, hashing it first unless
     * the convert step already did (`digest`).
     */
    async commitImage({ store, tag, manifest, digest }: { store: string; tag: string; manifest: NewImage; digest?: ImageDigest }): Promise<StoredImage> {
      const report = progressReporter(ctx, 'store');
      const total = manifest.virtualSizeBytes;
      return storeOf(ctx, store).commit(tag, manifest, (n) => report(n, Math.max(n, total)), digest);
    },

    /** Compensation: removes the image this run stored (never someone else's). */
    async deleteStoredImage({ store, name, format, workflowId }: { store: string; name: string; format: string; workflowId: string }): Promise<{ deleted: boolean }> {
      return { deleted: await storeOf(ctx, store).remove(name, format, workflowId) };
    },

    /** Compensation and cleanup: removes this run's staging file. */
    async removeStaging({ store, tag }: { store: string; tag: string }): Promise<void> {
      await storeOf(ctx, store).removeStaging(tag);
    },
  };
}
