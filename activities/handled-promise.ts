/** Marks a promise that is awaited later as handled, so its failure meanwhile cannot end the process. */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
