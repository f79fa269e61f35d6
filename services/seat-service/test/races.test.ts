import { Client } from 'pg';
import {
  http,
  inParallel,
  isolate,
  newUserId,
  raceRounds,
  startStack,
  userToken,
  type Isolation,
  type Stack,
} from '@zephyr/testing';

/**
 * Races through the gateway against TWO seat-service replicas (the gateway balances between them), on real
 * Redis and PostgreSQL. Each race runs several times; invariants are checked against PostgreSQL, the seat
 * map and every user's holds list.
 */
let iso: Isolation;
let stack: Stack;
let gw: string;
let admin: string;
let db: Client;

beforeAll(async () => {
  iso = await isolate('races');
  stack = await startStack(iso, {
    services: ['event-service', 'seat-service', 'gateway'],
    replicas: { 'seat-service': 2 },
    env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' },
  });
  gw = stack.gatewayUrl;
  admin = await userToken(newUserId(), { admin: true });
  db = new Client({ connectionString: iso.databaseUrl });
  await db.connect();
}, 60_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
  await iso?.cleanup();
});

async function createEvent(totalSeats: number, maxSeatsPerUser: number): Promise<string> {
  const res = await http<{ id: string }>(gw, 'POST', '/api/events', {
    token: admin,
    body: { name: 'On-sale', totalSeats, maxSeatsPerUser },
  });
  if (res.status !== 201) {
    const logs = stack.of('event-service').map((p) => p.output().slice(-3000));
    throw new Error(`event create answered ${res.status} ${JSON.stringify(res.body)}\n${logs.join('\n')}`);
  }
  return res.body.id;
}

async function users(n: number) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const id = newUserId();
      return { id, token: await userToken(id) };
    }),
  );
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

it('200 users racing for one seat: exactly one hold, everyone else SEAT_UNAVAILABLE (5 rounds)', async () => {
  const eventId = await createEvent(10, 10);
  const racers = await users(200);
  for (let round = 1; round <= 5; round++) {
    const results = await Promise.all(
      racers.map((u) => http(gw, 'POST', `/api/seats/${eventId}/${round}/hold`, { token: u.token })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(199);
    const winner = racers[statuses.indexOf(201)]!;
    const seat = await http(gw, 'GET', `/api/seats/${eventId}/${round}/status`, { token: winner.token });
    expect(seat.body).toMatchObject({ status: 'held', userId: winner.id });
  }
});

// The longest race here (about a minute a round on a busy machine): the cluster run plays one round of the
// three that the single-node run plays (raceRounds says why).
const WALK_ROUNDS = raceRounds({ singleNode: 3, cluster: 1 });

it(`50 users × 100 seats in random order, then reserve: every seat held and reserved exactly once (${WALK_ROUNDS} rounds)`, async () => {
  for (let round = 1; round <= WALK_ROUNDS; round++) {
    const eventId = await createEvent(100, 100);
    const racers = await users(50);
    // Every user walks all 100 seats in its own random order; 250 requests in flight at any time.
    const attempts = shuffled(
      racers.flatMap((u) => shuffled(Array.from({ length: 100 }, (_, i) => i + 1)).map((seat) => ({ user: u, seat }))),
    );
    const holds = await inParallel(
      250,
      attempts.map(({ user: u, seat }) => async () => {
        // Holds must outlive the round: on a busy machine a round can take longer than the default 60 s,
        // and an expired hold is rightly won again by someone else.
        const res = await http(gw, 'POST', `/api/seats/${eventId}/${seat}/hold`, {
          token: u.token,
          body: { holdDuration: 3600 },
        });
        return { user: u, seat, status: res.status, answer: res.body as unknown };
      }),
    );
    const won = holds.filter((h) => h.status === 201);
    // Every answer is a win or a refusal; anything else is listed with its body.
    expect(holds.filter((h) => h.status !== 201 && h.status !== 409).map((h) => [h.status, h.answer])).toEqual([]);
    expect(won).toHaveLength(100);
    expect(new Set(won.map((h) => h.seat)).size).toBe(100);

    // Everyone who won a seat reserves it, while the losers also try to reserve it.
    const reserves = await inParallel(
      250,
      shuffled(holds.filter((h) => h.seat % 10 === 0 || h.status === 201)).map((h) => async () => {
        const res = await http(gw, 'POST', `/api/seats/${eventId}/${h.seat}/reserve`, { token: h.user.token });
        return { ...h, reserveStatus: res.status };
      }),
    );
    for (const r of reserves) expect(r.reserveStatus).toBe(r.status === 201 ? 200 : 409);

    const rows = await db.query<{ seat_number: number; user_id: string }>(
      'select seat_number, user_id from seat_service.reservations where event_id = $1 order by seat_number',
      [eventId],
    );
    expect(rows.rows).toHaveLength(100);
    const ownerBySeat = new Map(won.map((h) => [h.seat, h.user.id]));
    for (const row of rows.rows) expect(row.user_id).toBe(ownerBySeat.get(row.seat_number));

    const map = await http<{ seats: { seatNumber: number; status: string; userId?: string }[] }>(
      gw,
      'GET',
      `/api/events/${eventId}/seats`,
      { token: admin },
    );
    expect(map.body.seats.every((s) => s.status === 'reserved' && s.userId === ownerBySeat.get(s.seatNumber))).toBe(
      true,
    );
    for (const u of racers) {
      const list = await http<{ items: unknown[] }>(gw, 'GET', `/api/seats/${eventId}/user/${u.id}/holds`, {
        token: u.token,
      });
      expect(list.body.items).toEqual([]); // every hold became a reservation
    }
  }
  // 45,000 holds and their reserves through two replicas: minutes, not seconds, on a busy 2-core machine.
}, 300_000);

it('the holder sending 10 concurrent reserves gets 200 ten times with one reservedAt (10 seats)', async () => {
  const eventId = await createEvent(10, 10);
  const [holder] = await users(1);
  for (let seat = 1; seat <= 10; seat++) {
    expect((await http(gw, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token: holder!.token })).status).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        http<{ reservedAt: string }>(gw, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token: holder!.token }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(results.map((r) => r.body.reservedAt)).size).toBe(1);
  }
  const rows = await db.query('select count(*)::int as n from seat_service.reservations where event_id = $1', [
    eventId,
  ]);
  expect(rows.rows[0].n).toBe(10);
  const audit = await db.query(
    "select count(*)::int as n from seat_service.seat_audit where event_id = $1 and action = 'reserved'",
    [eventId],
  );
  expect(audit.rows[0].n).toBe(10);
});

it('30 concurrent holds by one user with maxSeatsPerUser 2: exactly 2 succeed (3 rounds)', async () => {
  for (let round = 1; round <= 3; round++) {
    const eventId = await createEvent(30, 2);
    const [greedy] = await users(1);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        http(gw, 'POST', `/api/seats/${eventId}/${i + 1}/hold`, { token: greedy!.token }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(2);
    expect(
      results
        .filter((r) => r.status === 409)
        .every((r) => (r.body as { error: { code: string } }).error.code === 'USER_LIMIT_REACHED'),
    ).toBe(true);
  }
});

it('a release racing a reserve and other users: the seat ends in exactly one consistent state (20 seats)', async () => {
  const eventId = await createEvent(20, 20);
  const [holder, ...others] = await users(11);
  for (let seat = 1; seat <= 20; seat++) {
    await http(gw, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token: holder!.token });
    const [reserve, release, ...grabs] = await Promise.all([
      http(gw, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token: holder!.token }),
      http(gw, 'DELETE', `/api/seats/${eventId}/${seat}/hold`, { token: holder!.token }),
      ...others.map((u) => http(gw, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token: u.token })),
    ]);
    const row = await db.query(
      'select user_id from seat_service.reservations where event_id = $1 and seat_number = $2',
      [eventId, seat],
    );
    const status = await http<{ status: string }>(gw, 'GET', `/api/seats/${eventId}/${seat}/status`);
    const grabbed = grabs.filter((g) => g!.status === 201).length;
    if (reserve!.status === 200) {
      expect(row.rows).toEqual([{ user_id: holder!.id }]);
      expect(release!.status).toBe(409);
      expect(grabbed).toBe(0);
      expect(status.body.status).toBe('reserved');
    } else {
      expect(release!.status).toBe(204);
      expect(row.rows).toHaveLength(0);
      expect(grabbed).toBeLessThanOrEqual(1);
      expect(status.body.status).toBe(grabbed === 1 ? 'held' : 'available');
    }
  }
});
