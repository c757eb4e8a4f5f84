/**
 * Runs `fn` over `items` with at most `limit` at once, results in input
 * order. The first failure aborts the signal the others were given (so
 * their downloads or uploads stop), waits for them to settle, and is
 * thrown; an abort of `outer` does the same with its reason.
 */
export async function runLimited<T, R>(
  items: readonly T[],
  limit: number,
  outer: AbortSignal | undefined,
  fn: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const ac = new AbortController();
  const onAbort = () => ac.abort(outer!.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  if (outer?.aborted) ac.abort(outer.reason);
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && !ac.signal.aborted && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, ac.signal);
      } catch (err) {
        failure ??= { err };
        ac.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    outer?.removeEventListener("abort", onAbort);
  }
  if (failure) throw failure.err;
  if (ac.signal.aborted) throw ac.signal.reason;
  return results;
}
