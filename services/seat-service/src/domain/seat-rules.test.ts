import { AppError } from '@zephyr/runtime/errors';
import type {
  BeginReserveManyResult,
  CommitOutcome,
  EventDirectoryPort,
  ExpireReply,
  HoldResult,
  ReservationsPort,
  SeatLocks,
  SeatStorePort,
} from './ports';
import { SeatRules } from './seat-rules';

/**
 * SeatRules on its own: the ports are in-memory stand-ins that answer what a test scripts, so each rule
 * (load-on-miss, refusals, all-or-nothing, stalled reserves) is checked without Redis or PostgreSQL. The
 * real adapters are covered by the component tests in ../../test.
 */
const EVENT = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const USER = '6f1c1e5e-51a8-4b8a-9d5c-0f5c2b1f6c11';
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function unused(name: string): never {
  throw new Error(`${name} was not expected in this test`);
}

function setup(overrides: Partial<SeatStorePort> = {}, reservations: Partial<ReservationsPort> = {}) {
  const loads: string[] = [];
  const outcomes: string[] = [];
  const store = new Proxy(overrides, {
    get: (target, key: string) => target[key as keyof SeatStorePort] ?? (() => unused(`store.${key}`)),
  }) as SeatStorePort;
  const repo = new Proxy(reservations, {
    get: (target, key: string) => target[key as keyof ReservationsPort] ?? (() => unused(`reservations.${key}`)),
  }) as ReservationsPort;
  const directory: EventDirectoryPort = {
    load: async (eventId) => {
      loads.push(eventId);
    },
    ensureReconciled: async () => undefined,
  };
  const locks: SeatLocks = { acquire: async () => async () => undefined };
  const rules = new SeatRules(store, repo, directory, locks, {
    producer: 'seat-service',
    onOutcome: (action, result) => outcomes.push(`${action}:${result}`),
  });
  return { rules, loads, outcomes };
}

const rejection = async (promise: Promise<unknown>) => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return { code: err.code, details: err.details };
};

describe('SeatRules against its ports', () => {
  it('loads an event Redis does not know once, then answers the retried hold', async () => {
    const answers: HoldResult[] = [{ kind: 'no-event' }, { kind: 'held', heldAt: T0, expiresAt: T0 + 60_000 }];
    const { rules, loads, outcomes } = setup({ hold: async () => answers.shift()! });
    const { created, hold } = await rules.hold(EVENT, 3, USER, 60);
    expect(loads).toEqual([EVENT]);
    expect(created).toBe(true);
    expect(hold).toEqual({
      eventId: EVENT,
      seatNumber: 3,
      userId: USER,
      heldAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T00:01:00.000Z',
    });
    expect(outcomes).toEqual(['hold:held']);
  });

  it('answers EVENT_NOT_FOUND when the event is still unknown after loading it', async () => {
    const { rules, loads } = setup({ release: async () => ({ kind: 'no-event' }) });
    expect(await rejection(rules.release(EVENT, 1, USER))).toMatchObject({ code: 'EVENT_NOT_FOUND' });
    expect(loads).toEqual([EVENT]);
  });

  it.each(['SEAT_NOT_FOUND', 'EVENT_NOT_ACTIVE', 'SEAT_UNAVAILABLE', 'USER_LIMIT_REACHED'] as const)(
    'turns a %s refusal into that error and counts it',
    async (code) => {
      const { rules, outcomes } = setup({ hold: async () => ({ kind: 'refused', code }) });
      expect(await rejection(rules.hold(EVENT, 1, USER))).toMatchObject({ code });
      expect(outcomes).toEqual([`hold:${code}`]);
    },
  );

  it('refuses a multi-seat reserve as a whole, naming every failing seat', async () => {
    const refused: BeginReserveManyResult = {
      kind: 'seats-refused',
      failures: [
        { seatNumber: 2, code: 'HOLD_NOT_FOUND' },
        { seatNumber: 5, code: 'SEAT_UNAVAILABLE' },
      ],
    };
    const { rules } = setup({ beginReserveMany: async () => refused });
    expect(await rejection(rules.reserveMany(EVENT, [5, 2], USER))).toEqual({
      code: 'HOLD_NOT_FOUND',
      details: refused.failures,
    });
  });

  it('commits begun seats and joins seats already reserved by the caller, in seat order', async () => {
    const finished: number[] = [];
    const commit = async (): Promise<CommitOutcome> => ({
      outcome: 'committed',
      seats: [{ seatNumber: 4, outcome: 'reserved', reservedAt: new Date(T0 + 5), messageId: 'm' }],
    });
    const { rules } = setup(
      {
        beginReserveMany: async () => ({
          kind: 'begun',
          seats: [
            { seatNumber: 1, already: true, reservedAt: T0 },
            { seatNumber: 4, already: false, holdVersion: 7, version: 11, auditSeq: 12 },
          ],
        }),
        finishReserve: async (seat) => {
          finished.push(seat.seatNumber);
        },
      },
      { commit },
    );
    const seats = await rules.reserveMany(EVENT, [4, 1], USER);
    expect(seats.map((s) => [s.seatNumber, s.reservedAt])).toEqual([
      [1, '2026-01-01T00:00:00.000Z'],
      [4, '2026-01-01T00:00:00.005Z'],
    ]);
    expect(finished).toEqual([4]);
  });

  it('settles a stalled reserve from the PostgreSQL verdict: abandoned → the hold expires', async () => {
    const answers: ExpireReply[] = [{ kind: 'stalled' }, { kind: 'expired', expiresAt: T0 }];
    const aborted: number[] = [];
    const { rules } = setup(
      {
        expire: async () => answers.shift()!,
        abortReserve: async (_e, _s, holdVersion) => {
          aborted.push(holdVersion);
        },
      },
      { abandonHold: async () => 'abandoned' },
    );
    expect(await rules.expire(EVENT, 3, 9)).toEqual({ outcome: 'expired', expiresAt: '2026-01-01T00:00:00.000Z' });
    expect(aborted).toEqual([9]);
  });
});
