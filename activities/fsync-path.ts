import { open } from 'node:fs/promises';

/** Flushes a file (or a directory's entries) to disk: what a store does before it names an image. */
export async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
