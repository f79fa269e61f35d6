import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from '@zephyr/runtime';
import { BACKING, deleteRedisKeys } from '@zephyr/testing';
import { SeatStore, seatKeys } from '../src/data-access/seat-store';

/**
 * The best-available choice (SPEC.md §7) of the Lua script, checked against a plain TypeScript model of
 * the rule on random seat maps in real Redis: rows of any length, free seats, live and stale holds,
 * reserves in flight and reservations. Also checks that only the chosen seats changed.
 */
const prefix = `zt:bestchoice_${randomBytes(4).toString('hex')}:`;
let redis: Redis;
let store: SeatStore;

beforeAll(() => {
  redis = new Redis(BACKING.redisUrl, { keyPrefix: prefix });
  store = new SeatStore(redis);
});

afterAll(async () => {
  await deleteRedisKeys(prefix);
  redis.disconnect();
});

type Kind = 'free' | 'live' | 'stale' | 'reserving' | 'reserved';

/** The rule as SPEC.md §7 words it; `free[n]` for n in 1..total. */
function model(free: boolean[], total: number, row: number, count: number, adjacent: boolean): number[] | undefined {
  if (!adjacent) {
    const seats = [];
    for (let n = 1; n <= total && seats.length < count; n++) if (free[n]) seats.push(n);
    return seats.length === count ? seats : undefined;
  }
  const rowOf = (n: number) => Math.floor((n - 1) / row);
  const isFree = (n: number, after: Set<number>) => n >= 1 && n <= total && free[n] && !after.has(n);
  const orphans = (taken: Set<number>) => {
    const out = new Set<number>();
    for (let n = 1; n <= total; n++) {
      if (!isFree(n, taken)) continue;
      const left = n - 1 >= 1 && rowOf(n - 1) === rowOf(n) && isFree(n - 1, taken);
      const right = n + 1 <= total && rowOf(n + 1) === rowOf(n) && isFree(n + 1, taken);
      if (!left && !right) out.add(n);
    }
    return out;
  };
  const before = orphans(new Set());
  let first: number[] | undefined;
  for (let start = 1; start + count - 1 <= total; start++) {
    const run = Array.from({ length: count }, (_, i) => start + i);
    if (!run.every((n) => free[n] && rowOf(n) === rowOf(start))) continue;
    first ??= run;
    const after = orphans(new Set(run));
    if ([...after].every((n) => before.has(n))) return run;
  }
  return first;
}

function encode(kind: Kind, user: string): string | undefined {
  switch (kind) {
    case 'free':
      return undefined;
    case 'live':
      return `H|${user}|1000|9000000000000|60|1`;
    case 'stale':
      return `H|${user}|1000|2000|60|1`;
    case 'reserving':
      return `P|${user}|1000|2000|60|1|3000|2|2`;
    case 'reserved':
      return `R|${user}|1000|1`;
  }
}

const scenario = fc
  .record({
    total: fc.integer({ min: 10, max: 60 }),
    rowPick: fc.integer({ min: 1, max: 60 }),
    count: fc.integer({ min: 1, max: 6 }),
    adjacent: fc.boolean(),
    kinds: fc.array(fc.constantFrom<Kind>('free', 'free', 'free', 'live', 'stale', 'reserving', 'reserved'), {
      minLength: 60,
      maxLength: 60,
    }),
  })
  .map(({ total, rowPick, count, adjacent, kinds }) => ({
    total,
    row: ((rowPick - 1) % total) + 1,
    count,
    adjacent,
    kinds: kinds.slice(0, total),
  }));

it('chooses exactly the seats the SPEC rule names, on random seat maps', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ total, row, count, adjacent, kinds }) => {
      const eventId = randomUUID();
      const other = randomUUID();
      await store.installEvent(
        eventId,
        { revision: 1, status: 'active', totalSeats: total, maxSeatsPerUser: total, seatsPerRow: row },
        0,
        [],
      );
      const states: Record<string, string> = {};
      kinds.forEach((kind, i) => {
        const encoded = encode(kind, other);
        if (encoded) states[String(i + 1)] = encoded;
      });
      if (Object.keys(states).length > 0) await redis.hset(seatKeys.seats(eventId), states);
      const free = [false, ...kinds.map((k) => k === 'free' || k === 'stale')];

      const expected = model(free, total, row, count, adjacent);
      const user = randomUUID();
      const reply = await store.bestAvailable(eventId, count, adjacent, user, 60);
      const after = await redis.hgetall(seatKeys.seats(eventId));
      if (!expected) {
        expect(reply).toEqual({ kind: 'failed', code: 'SEAT_UNAVAILABLE', failures: [] });
        expect(after).toEqual(states);
        return;
      }
      if (reply.kind !== 'held') throw new Error(`expected seats held, got ${JSON.stringify(reply)}`);
      const chosen = reply.seats.map((seat) => seat.seatNumber);
      expect(reply.seats.every((seat) => seat.created)).toBe(true);
      expect(chosen).toEqual(expected);
      for (let n = 1; n <= total; n++) {
        if (chosen.includes(n)) expect(after[String(n)]).toMatch(new RegExp(`^H\\|${user}\\|`));
        else expect(after[String(n)]).toBe(states[String(n)]);
      }
    }),
    { numRuns: 150 },
  );
});
