import { CancellationScope } from '@temporalio/workflow';

/**
 * Runs the disks' work of one step side by side and returns every result, like `Promise.all`, but
 * a failure does not leave the others running: they are cancelled and waited for, and only then
 * is the first failure thrown. (With `Promise.all` the run would unwind at once, deleting a disk's
 * staging file or image while that disk's copy is still writing it.)
 */
export async function sideBySide<T>(first: () => Promise<T>, ...others: (() => Promise<T>)[]): Promise<[T, ...T[]]> {
  if (!others.length) return [await first()];
  const work = [first, ...others];
  const scope = new CancellationScope();
  let failed: { error: unknown } | undefined;
  const settled = await scope.run(() =>
    Promise.all(
      work.map((w) =>
        w().then(
          (value) => ({ value }),
          (error: unknown) => {
            if (!failed) {
              failed = { error };
              scope.cancel();
            }
            return undefined;
          },
        ),
      ),
    ),
  );
  if (failed) throw failed.error;
  const [head, ...rest] = settled.map((s) => s!.value);
  return [head!, ...rest];
}
