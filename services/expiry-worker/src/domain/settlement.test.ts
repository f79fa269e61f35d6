import { settle, type ClaimedHold, type ExpireResult } from './settlement';

const eventId = '5b0c1a52-8d7e-4f43-9c55-0a0a4c1f3e11';
const ref = (seatNumber: number, holdVersion = seatNumber) => ({ eventId, seatNumber, holdVersion });
const dueAtMs = Date.parse('2030-01-01T00:00:00.000Z');

test('maps each outcome to an index update and measures lag for expired holds', () => {
  const claimed: ClaimedHold[] = [
    { ...ref(1), dueAtMs },
    { ...ref(2), dueAtMs },
    { ...ref(3), dueAtMs },
    { ...ref(4) }, // taken over from a crashed replica whose record of the due time was lost
    { ...ref(5), dueAtMs },
  ];
  const results: ExpireResult[] = [
    { ...ref(1), outcome: 'expired' },
    { ...ref(2), outcome: 'gone' },
    { ...ref(3), outcome: 'not-due', expiresAt: '2030-01-01T00:01:00.000Z' },
    { ...ref(4), outcome: 'expired' },
    // seat 5 missing from the answer
  ];
  const s = settle(claimed, results, dueAtMs + 350);
  expect(s.done).toEqual([ref(1), ref(2), ref(4)]);
  expect(s.rescheduled).toEqual([{ hold: ref(3), dueAtMs: dueAtMs + 60_000 }]);
  expect(s.expired).toEqual([
    { hold: ref(1), lagSeconds: 0.35 },
    { hold: ref(4), lagSeconds: undefined },
  ]);
  expect(s.unanswered).toEqual([ref(5)]);
});

test('matches answers by hold version, not by seat', () => {
  const s = settle([{ ...ref(1, 10), dueAtMs }], [{ ...ref(1, 9), outcome: 'expired' }], dueAtMs);
  expect(s.done).toEqual([]);
  expect(s.unanswered).toEqual([ref(1, 10)]);
});

test('a not-due answer without a usable expiresAt stays claimed for the lease to retry', () => {
  const s = settle([{ ...ref(1), dueAtMs }], [{ ...ref(1), outcome: 'not-due' }], dueAtMs);
  expect(s.rescheduled).toEqual([]);
  expect(s.unanswered).toEqual([ref(1)]);
});

test('the expiresAt the seat-service reports wins over the index for lag', () => {
  const s = settle(
    [{ ...ref(1), dueAtMs }],
    [{ ...ref(1), outcome: 'expired', expiresAt: '2030-01-01T00:00:01.000Z' }],
    dueAtMs + 1500,
  );
  expect(s.expired[0]!.lagSeconds).toBe(0.5);
});
