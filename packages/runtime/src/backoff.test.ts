import { backoffMs } from './backoff';

test('doubles from the first delay up to the cap, however many attempts failed', () => {
  const policy = { firstMs: 250, maxMs: 1000 };
  expect([0, 1, 2, 3, 50, 10_000].map((attempt) => backoffMs(attempt, policy))).toEqual([
    250, 500, 1000, 1000, 1000, 1000,
  ]);
});

test('with jitter, waits between half the doubled delay and all of it', () => {
  const policy = { firstMs: 100, maxMs: 5000, jitter: true };
  for (const [attempt, ceiling] of [
    [0, 100],
    [3, 800],
    [40, 5000],
  ] as const) {
    for (let i = 0; i < 100; i++) {
      const delay = backoffMs(attempt, policy);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  }
});
