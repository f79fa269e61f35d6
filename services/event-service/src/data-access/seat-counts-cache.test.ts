import type { SeatCounts } from '@zephyr/contracts';
import { cacheSeatCounts } from './seat-counts-cache';

const counts = (held: number): SeatCounts => ({ available: 10 - held, held, reserved: 0 });

/** A reader whose answers the test resolves by hand, on a clock the test moves. */
function setup(options: { freshMs?: number; maxEvents?: number } = {}) {
  let now = 1_000_000;
  const reads: { eventId: string; resolve(c: SeatCounts): void; reject(e: Error): void }[] = [];
  const cache = cacheSeatCounts(
    (eventId) => new Promise<SeatCounts>((resolve, reject) => reads.push({ eventId, resolve, reject })),
    { freshMs: options.freshMs ?? 250, maxEvents: options.maxEvents ?? 100, now: () => now },
  );
  return { cache, reads, advance: (ms: number) => (now += ms) };
}

test('concurrent asks for one event share one read', async () => {
  const { cache, reads } = setup();
  const answers = Promise.all(Array.from({ length: 20 }, () => cache.countsOf('e1')));
  expect(reads).toHaveLength(1);
  reads[0]!.resolve(counts(1));
  expect(await answers).toEqual(Array.from({ length: 20 }, () => counts(1)));
});

test('an answer serves its event for freshMs from when its read began, then a new read starts', async () => {
  const { cache, reads, advance } = setup();
  const first = cache.countsOf('e1');
  reads[0]!.resolve(counts(1));
  await first;
  advance(249);
  expect(await cache.countsOf('e1')).toEqual(counts(1));
  expect(reads).toHaveLength(1);
  advance(1);
  const second = cache.countsOf('e1');
  expect(reads).toHaveLength(2);
  reads[1]!.resolve(counts(2));
  expect(await second).toEqual(counts(2));
});

test('events are read separately', () => {
  const { cache, reads } = setup();
  void cache.countsOf('e1');
  void cache.countsOf('e2');
  expect(reads.map((r) => r.eventId)).toEqual(['e1', 'e2']);
});

test('a failed read is not remembered: the next ask reads again', async () => {
  const { cache, reads } = setup();
  const failed = cache.countsOf('e1');
  reads[0]!.reject(new Error('down'));
  await expect(failed).rejects.toThrow('down');
  const retried = cache.countsOf('e1');
  expect(reads).toHaveLength(2);
  reads[1]!.resolve(counts(0));
  expect(await retried).toEqual(counts(0));
});

test('holds at most maxEvents: stale entries go first, then all', async () => {
  const { cache, reads, advance } = setup({ maxEvents: 2 });
  void cache.countsOf('e1');
  advance(300);
  void cache.countsOf('e2');
  // Full: e1 is stale and makes room, e2 stays (a fresh ask for it does not read again).
  void cache.countsOf('e3');
  void cache.countsOf('e2');
  expect(reads.map((r) => r.eventId)).toEqual(['e1', 'e2', 'e3']);
  // Full of fresh entries: all go.
  void cache.countsOf('e4');
  void cache.countsOf('e2');
  expect(reads.map((r) => r.eventId)).toEqual(['e1', 'e2', 'e3', 'e4', 'e2']);
});
