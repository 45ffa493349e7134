/** Side-by-side timing helpers: prime the cache, alternate variants, report medians and ratios. */
import { createReadStream } from 'node:fs';

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

/** Reads files once so the first variant does not pay for the host's cache (LAB.md). */
export async function prime(files: string[]): Promise<void> {
  for (const f of files) for await (const _ of createReadStream(f, { highWaterMark: 8 << 20 })) void _;
}

/** Runs the variants A B A B … `rounds` times each, with `reset` before every run. */
export async function alternate(variants: Record<string, () => Promise<unknown>>, rounds: number, reset: () => Promise<void>): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of Object.entries(variants)) {
      await reset();
      times[name]?.push(await timed(run));
    }
  }
  return times;
}
