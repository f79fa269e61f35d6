import { http, inParallel, newUsers, raceRounds, useStack, waitFor } from '@zephyr/testing';

/**
 * SPEC.md §7 under concurrency, through the gateway against TWO seat-service replicas: multi-seat holds,
 * single holds and best-available calls race on one small event. No seat goes to two users, every 201
 * got all its seats, every 409 left nothing behind, and afterwards the seat map, every user's holds list
 * and the audit trail agree; then every user reserves their seats in one multi-seat reserve while others
 * keep grabbing seats, and PostgreSQL agrees with the map.
 */
const stack = useStack('multiraces', {
  services: ['event-service', 'seat-service', 'gateway'],
  replicas: { 'seat-service': 2 },
  env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' },
});

const TOTAL = 40;
const ROW = 8;
const MAX_PER_USER = 6;
const USERS = 30;
// The cluster run plays 3 of the single-node run's 10 rounds (raceRounds says why).
const ROUNDS = raceRounds({ singleNode: 10, cluster: 3 });

type Attempt =
  | { kind: 'multi'; seats: number[] }
  | { kind: 'single'; seat: number }
  | { kind: 'best'; count: number; adjacent: boolean };

const pick = (n: number) => 1 + Math.floor(Math.random() * n);

function randomAttempt(): Attempt {
  const roll = Math.random();
  if (roll < 0.4) {
    const seats = new Set<number>();
    const size = 2 + Math.floor(Math.random() * 3);
    // Neighbouring seats collide more often than random ones.
    const start = pick(TOTAL);
    for (let tries = 0; seats.size < size && tries < 20; tries++) {
      seats.add(Math.min(TOTAL, start + Math.floor(Math.random() * 5)));
    }
    while (seats.size < size) seats.add(pick(TOTAL));
    return { kind: 'multi', seats: [...seats] };
  }
  if (roll < 0.7) return { kind: 'single', seat: pick(TOTAL) };
  return { kind: 'best', count: pick(4), adjacent: Math.random() < 0.7 };
}

interface Outcome {
  userId: string;
  attempt: Attempt;
  status: number;
  seats: number[];
  code?: string;
}

it(`multi-holds, single holds and best-available across two replicas: no seat twice, no partial set (${ROUNDS} rounds)`, async () => {
  for (let round = 1; round <= ROUNDS; round++) {
    const eventId = await stack.createEvent({
      name: `Race ${round}`,
      totalSeats: TOTAL,
      seatsPerRow: ROW,
      maxSeatsPerUser: MAX_PER_USER,
    });
    const users = await newUsers(USERS);
    const tasks = users.flatMap((u) =>
      Array.from({ length: 4 }, () => {
        const attempt = randomAttempt();
        return async (): Promise<Outcome> => {
          const res =
            attempt.kind === 'multi'
              ? await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/hold`, {
                  token: u.token,
                  body: { seats: attempt.seats },
                })
              : attempt.kind === 'single'
                ? await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/${attempt.seat}/hold`, { token: u.token })
                : await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/best-available`, {
                    token: u.token,
                    body: { count: attempt.count, adjacent: attempt.adjacent },
                  });
          const body = res.body as {
            items?: { seatNumber: number; userId: string }[];
            seatNumber?: number;
            error?: { code: string };
          };
          const seats =
            attempt.kind === 'single'
              ? body.seatNumber
                ? [body.seatNumber]
                : []
              : (body.items ?? []).map((h) => h.seatNumber);
          return { userId: u.id, attempt, status: res.status, seats, code: body.error?.code };
        };
      }),
    );
    // Interleave users so that every replica sees every kind of request at once.
    tasks.sort(() => Math.random() - 0.5);
    const outcomes = await inParallel(60, tasks);

    const owner = new Map<number, string>();
    for (const o of outcomes) {
      expect([200, 201, 409]).toContain(o.status);
      if (o.status === 409) {
        expect(['SEAT_UNAVAILABLE', 'USER_LIMIT_REACHED']).toContain(o.code);
        continue;
      }
      // Every success got its whole set: the seats asked for, or `count` seats in one row when adjacent.
      if (o.attempt.kind === 'multi') expect(o.seats).toEqual([...o.attempt.seats].sort((a, b) => a - b));
      if (o.attempt.kind === 'best') {
        expect(o.seats).toHaveLength(o.attempt.count);
        if (o.attempt.adjacent) {
          const row = Math.floor((o.seats[0]! - 1) / ROW);
          o.seats.forEach((s, i) => {
            expect(s).toBe(o.seats[0]! + i);
            expect(Math.floor((s - 1) / ROW)).toBe(row);
          });
        }
      }
      for (const seat of o.seats) {
        const previous = owner.get(seat);
        if (previous !== undefined) expect(previous).toBe(o.userId);
        owner.set(seat, o.userId);
      }
    }
    expect(outcomes.some((o) => o.status === 409)).toBe(true);

    // The seat map holds exactly the seats that successful answers gave out, to those users.
    const map = await http<{ seats: { seatNumber: number; status: string; userId?: string }[] }>(
      stack.gatewayUrl,
      'GET',
      `/api/events/${eventId}/seats`,
      { token: stack.admin },
    );
    const held = new Map(map.body.seats.filter((s) => s.status !== 'available').map((s) => [s.seatNumber, s.userId]));
    expect(held).toEqual(owner);

    // Every user's holds list is their share of the map, within the user limit.
    const fromLists = new Map<number, string>();
    for (const u of users) {
      const list = await http<{ items: { seatNumber: number }[] }>(
        stack.gatewayUrl,
        'GET',
        `/api/seats/${eventId}/user/${u.id}/holds`,
        {
          token: u.token,
        },
      );
      expect(list.status).toBe(200);
      expect(list.body.items.length).toBeLessThanOrEqual(MAX_PER_USER);
      for (const h of list.body.items) {
        expect(fromLists.has(h.seatNumber)).toBe(false);
        fromLists.set(h.seatNumber, u.id);
      }
    }
    expect(fromLists).toEqual(owner);

    // One 'held' audit entry per seat handed out, no more (a refused request wrote nothing).
    await waitFor(
      async () => {
        const rows = await stack.db.query<{ seat_number: number; user_id: string }>(
          "select seat_number, user_id from seat_service.seat_audit where event_id = $1 and action = 'held'",
          [eventId],
        );
        return rows.rows.length >= owner.size && rows.rows;
      },
      { timeoutMs: 5000, what: 'the audit trail' },
    ).then((rows) => {
      expect(new Map(rows.map((r) => [r.seat_number, r.user_id]))).toEqual(owner);
      expect(rows).toHaveLength(owner.size);
    });

    // Everyone reserves what they hold in one multi-seat reserve while others still try to grab seats:
    // PostgreSQL, the seat map and the holds lists end up agreeing.
    const bySeatOwner = new Map<string, number[]>();
    for (const [seat, userId] of owner) bySeatOwner.set(userId, [...(bySeatOwner.get(userId) ?? []), seat]);
    const reserveTasks = users
      .filter((u) => bySeatOwner.has(u.id))
      .map((u) => async () => {
        const res = await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/reserve`, {
          token: u.token,
          body: { seats: bySeatOwner.get(u.id) },
        });
        return { kind: 'reserve', status: res.status };
      });
    const grabTasks = users.map((u) => async () => {
      const res = await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/best-available`, {
        token: u.token,
        body: { count: 1, adjacent: false },
      });
      return { kind: 'grab', status: res.status };
    });
    const mixed = await inParallel(
      60,
      [...reserveTasks, ...grabTasks].sort(() => Math.random() - 0.5),
    );
    for (const r of mixed) expect([200, 201, 409]).toContain(r.status);
    const reserveAnswers = mixed.filter((r) => r.kind === 'reserve');
    expect(reserveAnswers.every((r) => r.status === 200)).toBe(true);
    const rows = await stack.db.query<{ seat_number: number; user_id: string }>(
      'select seat_number, user_id from seat_service.reservations where event_id = $1',
      [eventId],
    );
    expect(new Map(rows.rows.map((r) => [r.seat_number, r.user_id]))).toEqual(owner);
    const after = await http<{ seats: { seatNumber: number; status: string; userId?: string }[] }>(
      stack.gatewayUrl,
      'GET',
      `/api/events/${eventId}/seats`,
      { token: stack.admin },
    );
    const reservedNow = new Map(
      after.body.seats.filter((s) => s.status === 'reserved').map((s) => [s.seatNumber, s.userId]),
    );
    expect(reservedNow).toEqual(owner);
  }
}, 300_000);
