import type { Readable } from 'node:stream';
import type { ImageManifest } from '../../common/manifest.js';
import type { RbdClient, RbdRef } from '../rbd-client.js';
import type { ImageFilter } from './image-query.js';

/** An image as a store holds it: its manifest and where it can be fetched from. */
export type StoredImage = ImageManifest & { location: string };

/** What the manifest of a new image says before the store has measured it. */
export type NewImage = Omit<ImageManifest, 'sha256' | 'sizeBytes'>;

/**
 * A place images go: a directory, Glance, an RBD pool. Every operation is idempotent and keyed by
 * the run's tag or workflow ID, so a retry finds its own work and never touches anyone else's.
 */
export interface ImageStore {
  readonly name: string;
  readonly kind: 'file' | 'glance' | 'rbd';
  /** Throws a readable error when the store cannot take an image now. */
  check(): Promise<void>;
  /** The workflow that made an image of that name, or null when there is none. */
  ownerOf(imageName: string): Promise<string | null>;
  /** The local file the convert step writes for this store. */
  stagingPath(tag: string): string;
  /**
   * The staged file itself becomes the image (it is renamed, after an fsync): the convert step then
   * flushes it to disk as it writes. Stores that upload or import it need it in the page cache only.
   */
  readonly publishesStagedFile: boolean;
  /**
   * Publishes the staged image with its manifest; returns it as stored. `digest` is the staged
   * file's, when the convert step hashed it as it wrote it: the store then need not read it again.
   */
  commit(tag: string, image: NewImage, onBytes?: (n: number) => void, digest?: ImageDigest): Promise<StoredImage>;
  /**
   * Present when the store takes an image as an upload: the convert step then sends the bytes as
   * it makes them, with no staged file, and the store step finds the image stored.
   */
  readonly upload?: StreamUpload;
  /** Deletes the image, only if this workflow made it. */
  remove(imageName: string, format: string, workflowId: string): Promise<boolean>;
  removeStaging(tag: string): Promise<void>;
  /** Finished images (those with a manifest), whoever made them, that match the filter. */
  list(filter?: ImageFilter): Promise<StoredImage[]>;
  /** Deletes a finished image whoever made it (rotation, `vmsnap images delete`). Idempotent. */
  delete(image: StoredImage): Promise<void>;
  /**
   * The image's bytes as a local file, hashed on the way (a store on this host's disk hands out
   * the file itself; others download into `dest`). Restores verify the digest before use.
   */
  fetch(image: StoredImage, dest: string, onBytes?: (n: number) => void): Promise<ImageDigest & { path: string }>;
  /** Present when the store keeps images in an RBD pool that a domain's disk can be cloned into. */
  readonly clonePool?: ClonePool;
  /**
   * For the reconciler: removes what runs of this host left half-made in the store (never a
   * finished image) when `isRunning` says their workflow is over. Returns what it removed.
   */
  reconcile?(host: string, isRunning: (workflowId: string) => Promise<boolean>): Promise<string[]>;
}

/**
 * An upload fed while the image is made. Three calls, so a retried convert step finds its own work:
 * `prepare` (this run's record, or the image an earlier attempt stored), `send` (the bytes, checked
 * against what the store says it received), `seal` (the image's digest recorded: it is finished).
 */
export interface StreamUpload {
  prepare(image: NewImage): Promise<{ stored: StoredImage } | { target: string }>;
  /** Sends exactly `size` bytes from `body`; returns the digests it took of them on the way, by algorithm. */
  send(target: string, size: number, body: Readable): Promise<SentDigests>;
  /** Checks what the store says it received against `digest` and `sent`: throws (and drops the record) when it got other bytes. */
  seal(target: string, image: NewImage, digest: ImageDigest, sent: SentDigests): Promise<StoredImage>;
}

/** Digests an upload took beside the image writer's sha256 (named as the store names them), to check the store's own. */
export type SentDigests = Readonly<Record<string, string>>;

/** An RBD pool behind a store: where the direct RBD path clones, flattens and snapshots. */
export interface ClonePool {
  readonly client: RbdClient;
  readonly pool: string;
  /** The pool image this snapshot's clone becomes (creating any record the store needs first). */
  target(image: NewImage): Promise<RbdRef>;
  /**
   * Records the finished clone (its protected `snap`) in the store and returns it as stored. With
   * `digest` (the source snapshot's, read while the flatten ran) the clone is not read again.
   */
  publish(ref: RbdRef, image: NewImage, onBytes?: (n: number) => void, digest?: ImageDigest): Promise<StoredImage>;
}

/** sha256 and size of an image's bytes. */
export interface ImageDigest {
  sha256: string;
  size: number;
}
