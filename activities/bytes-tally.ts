import { Context } from '@temporalio/activity';

/** Per activity execution: the highest byte count each of its progress reporters reached. */
const tallies = new WeakMap<Context, number[]>();

/**
 * A counter for one progress reporter of the running activity: it keeps the highest `bytesDone`
 * reported, which the host worker's step metrics read when the activity ends (`bytesMovedBy`).
 * Outside an activity (the reconciler at worker start) it counts nothing.
 */
export function bytesTally(): (bytesDone: number) => void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return () => undefined;
  }
  const slots = tallies.get(context) ?? [];
  tallies.set(context, slots);
  const slot = slots.push(0) - 1;
  return (bytesDone) => {
    if (bytesDone > (slots[slot] ?? 0)) slots[slot] = bytesDone;
  };
}

/** The bytes an activity execution moved, as its progress reporters last saw them (0 if it reports none). */
export function bytesMovedBy(context: Context): number {
  return (tallies.get(context) ?? []).reduce((sum, n) => sum + n, 0);
}
