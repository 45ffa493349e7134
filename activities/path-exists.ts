import { stat } from 'node:fs/promises';

/** Whether something exists at the path (idempotent steps ask before they act). */
export async function pathExists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
