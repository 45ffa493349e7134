/** Side-by-side timing helpers: prime the cache, alternate variants, report medians and ratios. */
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/**
 * Reads files once so the first variant does not pay for the host's cache (LAB.md); with
 * `warmIn`, then warms the page cache for writes there too (`warmWrites`).
 */
export async function prime(files: string[], warmIn?: string): Promise<void> {
  for (const f of files) for await (const _ of createReadStream(f, { highWaterMark: 8 << 20 })) void _;
  if (warmIn) await warmWrites(warmIn, files);
}

/**
 * Runs the variants A B A B … `rounds` times each, with `reset` before every run, then `sync`: a
 * variant that leaves dirty pages (the plain sequence and the floor never flush) would otherwise
 * have the next variant pay for their writeback.
 */
export async function alternate(variants: Record<string, () => Promise<unknown>>, rounds: number, reset: () => Promise<void>): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of Object.entries(variants)) {
      await reset();
      await execa('sync');
      times[name]?.push(await timed(run));
    }
  }
  return times;
}

/**
 * Writes a scratch file as large as the files given (their allocated bytes) and deletes it, so the
 * variant that runs next writes into memory the guest just used, as every other variant does. On
 * this lab's microVM, memory left free for a few seconds goes back to the host, and the next
 * process to fill the page cache with it pays for it: measured 4.7-8.6 s instead of 0.2-0.5 s for
 * 512 MiB of buffered writes (Node, dd and qemu-img alike) after 3 s of rest (bench/RESULTS.md,
 * session 6). Without this, whichever variant writes first after the reset pays, not the slowest.
 */
export async function warmWrites(dir: string, like: string[]): Promise<void> {
  let bytes = 0;
  for (const f of like) bytes += (await stat(f)).blocks * 512;
  await mkdir(dir, { recursive: true });
  const scratch = path.join(dir, '.bench-warm');
  const fh = await open(scratch, 'w');
  try {
    const zeros = Buffer.alloc(8 << 20);
    for (let at = 0; at < bytes; at += zeros.length) await fh.write(zeros, 0, zeros.length, at);
  } finally {
    await fh.close();
    await rm(scratch, { force: true });
  }
}
