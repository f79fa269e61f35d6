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
});
