import { createBatcher } from './batcher';

/** A batcher whose flushes are recorded. */
function recording<T>(options: { maxItems: number; maxDelayMs: number }) {
  const flushed: T[][] = [];
  const batcher = createBatcher<T>(async (items) => {
    flushed.push(items);
  }, options);
  return { flushed, batcher };
}

describe('createBatcher', () => {
  it('flushes at maxItems and resolves each add() only after its flush succeeded', async () => {
    const { flushed, batcher } = recording<number>({ maxItems: 3, maxDelayMs: 60_000 });
    await Promise.all([batcher.add(1), batcher.add(2), batcher.add(3)]);
    expect(flushed).toEqual([[1, 2, 3]]);
  });

  it('flushes a partial batch after maxDelayMs without being asked', async () => {
    const { flushed, batcher } = recording<string>({ maxItems: 100, maxDelayMs: 5 });
    await Promise.all([batcher.add('a'), batcher.add('b')]);
    expect(flushed).toEqual([['a', 'b']]);
  });

  it('rejects every add() of a failed flush, so no message is acked for an effect that did not happen', async () => {
    const batcher = createBatcher<number>(
      async () => {
        throw new Error('database down');
      },
      { maxItems: 2, maxDelayMs: 60_000 },
    );
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('drain() flushes what is pending at once', async () => {
    const { flushed, batcher } = recording<number>({ maxItems: 100, maxDelayMs: 60_000 });
    const pending = batcher.add(7);
    await batcher.drain();
    await pending;
    expect(flushed).toEqual([[7]]);
  });

  it('hands each add() its own result, in the order the items were added', async () => {
    const batcher = createBatcher<number, string>(async (items) => items.map((n) => `#${n}`), {
      maxItems: 10,
      maxDelayMs: 60_000,
    });
    const results = Promise.all([batcher.add(1), batcher.add(2)]);
    await batcher.drain();
    expect(await results).toEqual(['#1', '#2']);
  });

  it('rejects every add() when a flush gives a result count that does not match its items', async () => {
    const batcher = createBatcher<number, number>(async () => [1], { maxItems: 2, maxDelayMs: 60_000 });
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('with maxDelayMs 0, flushes what was added in one turn of the event loop together, without a timer', async () => {
    const { flushed, batcher } = recording<number>({ maxItems: 100, maxDelayMs: 0 });
    const first = [batcher.add(1), batcher.add(2), batcher.add(3)];
    await Promise.all(first);
    await batcher.add(4);
    expect(flushed).toEqual([[1, 2, 3], [4]]);
  });
});
