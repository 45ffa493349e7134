import { access, constants, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageManifest } from '../../common/manifest.js';
import { fsyncPath } from '../fsync-path.js';
import { pathExists as exists } from '../path-exists.js';
import { hashFile } from './hash-file.js';
import type { ImageFilter } from './image-query.js';
import { matchesFilter } from './image-query.js';
import type { ImageDigest, ImageStore, NewImage, StoredImage } from './image-store.js';

/**
 * A directory of images (local or an NFS mount): the embedded default store. An image appears
 * under its final name only when complete (staged under a hidden name, then renamed), with its
 * sha256 and a manifest beside it.
 */
export class FileStore implements ImageStore {
  readonly kind = 'file' as const;
  readonly publishesStagedFile = true;

  constructor(
    readonly name: string,
    readonly dir: string,
  ) {}

  /** Hidden staging file of one run: never mistaken for an image, found again on retry. */
  stagingPath(tag: string): string {
    return path.join(this.dir, `.${tag}.partial`);
  }

  imagePath(imageName: string, format: string): string {
    const p = path.join(this.dir, `${imageName}.${format}`);
    // Names are validated at the edge; this keeps a bug elsewhere from writing outside the store.
    if (path.dirname(p) !== path.resolve(this.dir)) throw new Error(`image name ${imageName} escapes store ${this.name}`);
    return p;
  }

  manifestPath(imageName: string): string {
    return path.join(this.dir, `${imageName}.manifest.json`);
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      await access(this.dir, constants.W_OK);
    } catch (e) {
      throw new Error(`directory ${this.dir} is not writable: ${(e as Error).message}`);
    }
  }

  async ownerOf(imageName: string): Promise<string | null> {
    return (await this.readManifest(imageName))?.workflowId ?? null;
  }

  async readManifest(imageName: string): Promise<ImageManifest | null> {
    try {
      return JSON.parse(await readFile(this.manifestPath(imageName), 'utf8')) as ImageManifest;
    } catch {
      return null;
    }
  }

  /**
   * Moves a staged image to its final name with its manifest. The manifest goes first and the
   * image last, so a visible image always has its manifest. Idempotent: an image this same run
   * already committed is returned as it is.
   */
  async commit(tag: string, manifest: NewImage, onBytes?: (n: number) => void, digest?: ImageDigest): Promise<StoredImage> {
    const final = this.imagePath(manifest.name, manifest.format);
    const location = `file://${final}`;
    const existing = await this.readManifest(manifest.name);
    if (existing?.workflowId === manifest.workflowId && (await exists(final))) return { ...existing, location };
    const staged = this.stagingPath(tag);
    // A digest taken while the file was written is only trusted for a file of the size it hashed.
    const known = digest && (await stat(staged)).size === digest.size ? digest : undefined;
    // Else the hash reads what the writer left in the page cache while the flush writes it to disk.
    const [, { sha256, size: sizeBytes }] = await Promise.all([fsyncPath(staged), known ?? hashFile(staged, onBytes)]);
    const full: ImageManifest = { ...manifest, sha256, sizeBytes };
    const tmpManifest = `${this.stagingPath(tag)}.manifest`;
    await writeFile(tmpManifest, JSON.stringify(full, null, 2) + '\n');
    await fsyncPath(tmpManifest);
    await rename(tmpManifest, this.manifestPath(manifest.name));
    await writeFile(path.join(this.dir, `${manifest.name}.sha256`), `${sha256}  ${path.basename(final)}\n`);
    await rename(staged, final);
    await fsyncPath(this.dir);
    return { ...full, location };
  }

  /** Deletes an image and its side files, but only one this workflow made. Idempotent. */
  async remove(imageName: string, format: string, workflowId: string): Promise<boolean> {
    const manifest = await this.readManifest(imageName);
    if (!manifest || manifest.workflowId !== workflowId) return false;
    await rm(this.imagePath(imageName, format), { force: true });
    await rm(path.join(this.dir, `${imageName}.sha256`), { force: true });
    await rm(this.manifestPath(imageName), { force: true });
    return true;
  }

  async removeStaging(tag: string): Promise<void> {
    await rm(this.stagingPath(tag), { force: true });
    await rm(`${this.stagingPath(tag)}.manifest`, { force: true });
  }

  async list(filter?: ImageFilter): Promise<StoredImage[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []; // a store directory not made yet holds nothing
      throw new Error(`directory ${this.dir} cannot be read: ${(e as Error).message}`);
    }
    const images: StoredImage[] = [];
    for (const f of names) {
      // Hidden files are staging leftovers of runs in flight, never images.
      if (f.startsWith('.') || !f.endsWith('.manifest.json')) continue;
      const m = await this.readManifest(f.slice(0, -'.manifest.json'.length));
      if (!m) continue;
      const file = this.imagePath(m.name, m.format);
      if (!(await exists(file))) continue;
      const image = { ...m, location: `file://${file}` };
      if (matchesFilter(image, filter)) images.push(image);
    }
    return images;
  }

  /** The image goes first, its manifest last: a crash in between leaves a manifest, not an orphan image. */
  async delete(image: StoredImage): Promise<void> {
    await rm(this.imagePath(image.name, image.format), { force: true });
    await rm(path.join(this.dir, `${image.name}.sha256`), { force: true });
    await rm(this.manifestPath(image.name), { force: true });
  }

  /** The file itself, hashed in place: no copy. */
  async fetch(image: StoredImage, _dest: string, onBytes?: (n: number) => void): Promise<ImageDigest & { path: string }> {
    const file = this.imagePath(image.name, image.format);
    return { path: file, ...(await hashFile(file, onBytes)) };
  }
}
