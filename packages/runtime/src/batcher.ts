/**
 * Collects items and flushes them together (one upstream request, SQL statement or Redis pipeline for
 * many). Each add() resolves with its own item's result once the flush that contained it succeeded, and
 * rejects if that flush failed, so a caller answers or acks only what actually happened.
 *
 * `maxDelayMs: 0` flushes at the end of the current turn of the event loop (setImmediate): what arrived
 * together goes together, and nothing waits for a timer.
 */
export function createBatcher<T, R = void>(
  flush: (items: T[]) => Promise<R[] | void>,
  options: { maxItems: number; maxDelayMs: number },
) {
  let pending: { item: T; resolve: (result: R) => void; reject: (err: unknown) => void }[] = [];
  let scheduled: { cancel(): void } | undefined;

  const run = async () => {
    scheduled = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      const results = await flush(batch.map((p) => p.item));
      if (results && results.length !== batch.length) {
        throw new Error(`a flush of ${batch.length} items gave ${results.length} results`);
      }
      batch.forEach((p, i) => p.resolve(results ? results[i]! : (undefined as R)));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  };

  const schedule = () => {
    if (options.maxDelayMs <= 0) {
      const immediate = setImmediate(() => void run());
      return { cancel: () => clearImmediate(immediate) };
    }
    const timer = setTimeout(() => void run(), options.maxDelayMs);
    return { cancel: () => clearTimeout(timer) };
  };

  return {
    add(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        if (pending.length >= options.maxItems) {
          scheduled?.cancel();
          void run();
        } else if (!scheduled) {
          scheduled = schedule();
        }
      });
    },
    async drain(): Promise<void> {
      scheduled?.cancel();
      await run();
    },
  };
}
