/**
 * Collects items and flushes them together (one SQL statement or Redis pipeline for many messages).
 * Each add() resolves when the flush that contained its item succeeded, and rejects if it failed, so a
 * consumer can ack only after the effect is durable.
 */
export function createBatcher<T>(
  flush: (items: T[]) => Promise<void>,
  options: { maxItems: number; maxDelayMs: number },
) {
  let pending: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;

  const run = async () => {
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      await flush(batch.map((p) => p.item));
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  };

  return {
    add(item: T): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        if (pending.length >= options.maxItems) {
          if (timer) clearTimeout(timer);
          void run();
        } else if (!timer) {
          timer = setTimeout(() => void run(), options.maxDelayMs);
        }
      });
    },
    async drain(): Promise<void> {
      if (timer) clearTimeout(timer);
      await run();
    },
  };
}
