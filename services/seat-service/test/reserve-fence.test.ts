import { Client } from 'pg';
import { http, newUser, startService, startTcpProxy, useStack, waitFor, type ServiceProcess } from '@zephyr/testing';
import { auditRowsReach } from './audit';

/**
 * The fence at the commit (issue 10, item 1). A reserve on replica A stalls inside its PostgreSQL
 * transaction (a row lock, then its process is stopped) past the reserve deadline; the expiry path on
 * replica B gives the hold up and user B holds the seat. When A's process resumes, its reserve must not
 * commit: A gets 409 HOLD_NOT_FOUND, no reservation row exists and B's hold stands.
 */
const stack = useStack('fence', { services: ['event-service', 'seat-service'], replicas: { 'seat-service': 2 } });
let stalled: ServiceProcess;
let healthy: ServiceProcess;

beforeAll(async () => {
  [stalled, healthy] = stack.of('seat-service') as [ServiceProcess, ServiceProcess];
  // The worker talks to the replica that stays up (a stopped replica answers nobody).
  await stack.startService('expiry-worker', { SEAT_SERVICE_URL: healthy.baseUrl });
  stack.onTeardown(() => stalled.child.pid && process.kill(stalled.child.pid, 'SIGCONT'));
});

/** `user` holds `seat` through the replica that stays up. */
async function holdSeat(eventId: string, seat: number, user: { token: string }, body: object = {}): Promise<void> {
  const res = await http(healthy.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token: user.token, body });
  expect(res.status).toBe(201);
}

/** A new event of 10 seats whose `seat` a new user `a` holds. */
async function eventWithHeldSeat(name: string, seat: number, body: object = {}) {
  const eventId = await stack.createEvent({ name, totalSeats: 10 });
  const a = await newUser();
  await holdSeat(eventId, seat, a, body);
  return { eventId, a };
}

/** A session holding the reservations table locked, so every reserve blocks at its commit until `release` (once). */
async function lockReservations(): Promise<{ release(): Promise<void> }> {
  const locker = new Client({ connectionString: stack.isolation.databaseUrl });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE seat_service.reservations IN EXCLUSIVE MODE');
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        await locker.query('COMMIT');
      } finally {
        await locker.end();
      }
    },
  };
}

/** Waits until some reserve's commit waits on that lock. */
const reserveWaitsOnLock = (what: string) =>
  waitFor(
    async () =>
      (
        await stack.db.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
             AND query ILIKE '%reservations%'`,
        )
      ).rowCount! > 0,
    { what },
  );

it('a reserve stalled past its deadline cannot commit after its hold was given up and re-held', async () => {
  const seat = 5;
  const { eventId, a } = await eventWithHeldSeat('Fence', seat, { holdDuration: 10 });
  const b = await newUser();

  // The expiry worker schedules holds from seat.held; wait until it was relayed (its audit row is written).
  await auditRowsReach(stack, eventId, 1, 'seat.held relayed', { actions: ['held'] });

  // A's commit blocks on a row lock held by this session...
  const lock = await lockReservations();
  const reserveA = http(stalled.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token: a.token });
  await reserveWaitsOnLock("A's commit waiting on the lock");
  // ...then A's process stops while its transaction is open.
  process.kill(stalled.child.pid!, 'SIGSTOP');
  await lock.release();

  try {
    // The deadline passes; the expiry path on the healthy replica settles the stalled reserve.
    await waitFor(
      async () => {
        const res = await http<{ status: string }>(healthy.baseUrl, 'GET', `/api/seats/${eventId}/${seat}/status`);
        return res.body.status === 'available';
      },
      { timeoutMs: 40_000, intervalMs: 200, what: 'the stalled hold released' },
    );
    await holdSeat(eventId, seat, b, { holdDuration: 600 });
  } finally {
    process.kill(stalled.child.pid!, 'SIGCONT');
  }

  const answerA = await reserveA;
  expect(answerA.status).toBe(409);
  expect(answerA.body).toMatchObject({ error: { code: 'HOLD_NOT_FOUND' } });

  const rows = await stack.db.query('SELECT * FROM seat_service.reservations WHERE event_id = $1', [eventId]);
  expect(rows.rowCount).toBe(0);
  const status = await http(healthy.baseUrl, 'GET', `/api/seats/${eventId}/${seat}/status`, { token: b.token });
  expect(status.body).toMatchObject({ status: 'held', userId: b.id });
  const holdsOfB = await http<{ items: { seatNumber: number }[] }>(
    healthy.baseUrl,
    'GET',
    `/api/seats/${eventId}/user/${b.id}/holds`,
    { token: b.token },
  );
  expect(holdsOfB.body.items.map((h) => h.seatNumber)).toEqual([seat]);
  // A retried reserve by A is refused too; B can reserve.
  const retryA = await http(healthy.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token: a.token });
  expect(retryA.body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });
  const reserveB = await http(healthy.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token: b.token });
  expect(reserveB.status).toBe(200);
}, 90_000);

/**
 * A refresh while the holder's reserve is committing is not a seat change: its seat.refreshed must keep
 * the hold's version. It used to carry the event's counter, which the reserve in flight had already taken,
 * so seat.refreshed and seat.reserved shared one version and the event-service, keeping the first, could
 * count the reserved seat as held (then available) for good; the chaos run found it as countsMismatch.
 */
it('a refresh during a reserve leaves the event counts at reserved', async () => {
  const seat = 3;
  const { eventId, a } = await eventWithHeldSeat('Refresh mid-reserve', seat);
  // Another seat's hold moves the event's counter past this hold's version.
  await holdSeat(eventId, 7, a);

  const lock = await lockReservations();
  const reserve = http(healthy.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token: a.token });
  try {
    await reserveWaitsOnLock('the reserve waiting on the lock');
    const refreshed = await http(healthy.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/refresh`, {
      token: a.token,
      body: { holdDuration: 120 },
    });
    expect(refreshed.status).toBe(200);
  } finally {
    await lock.release();
  }
  expect((await reserve).status).toBe(200);

  // Both facts are relayed (their audit rows exist); the counts then show the seat reserved, not held.
  await auditRowsReach(stack, eventId, 2, 'seat.refreshed and seat.reserved relayed', {
    seatNumber: seat,
    actions: ['refreshed', 'reserved'],
  });
  await waitFor(
    async () => {
      const event = await http<{ seats: { held: number; reserved: number } }>(
        stack.urls['event-service'][0]!,
        'GET',
        `/api/events/${eventId}`,
      );
      return event.body.seats.reserved === 1 && event.body.seats.held === 1;
    },
    { timeoutMs: 5_000, intervalMs: 100, what: 'counts: seat 3 reserved, seat 7 held' },
  );
}, 60_000);

/**
 * Issue 10, item 4: a reserve whose process dies after PostgreSQL committed it but before Redis recorded
 * it. Another replica's sweep finishes it, so the seat shows reserved and seat.reserved reaches consumers
 * (here the event-service's counts) within the SPEC's second, not after the reserve deadline (10 s) or
 * the PostgreSQL fallback relay (30 s).
 */
it('a reserve whose process dies between the commit and Redis is finished by another replica and pushed at once', async () => {
  const seat = 4;
  const { eventId, a } = await eventWithHeldSeat('Dies after commit', seat);

  // The doomed replica reaches Redis through a proxy the test can cut, so its reserve can commit in
  // PostgreSQL and then fail to reach Redis; then it is killed.
  const redisProxy = await startTcpProxy(Number(new URL(stack.isolation.env.REDIS_URL!).port || 6379));
  const redisUrl = new URL(stack.isolation.env.REDIS_URL!);
  redisUrl.port = String(redisProxy.port);
  const doomed = await startService('seat-service', stack.serviceEnv({ REDIS_URL: redisUrl.toString() }));
  let lock: Awaited<ReturnType<typeof lockReservations>> | undefined;
  let committedAt = 0;
  try {
    lock = await lockReservations();
    void http(doomed.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token: a.token }).catch(
      () => undefined,
    );
    await reserveWaitsOnLock('the reserve waiting on the lock');
    await redisProxy.down();
    await lock.release();
    await waitFor(
      async () =>
        (await stack.db.query('SELECT 1 FROM seat_service.reservations WHERE event_id = $1', [eventId])).rowCount === 1,
      { intervalMs: 10, what: 'the reservation committed' },
    );
    committedAt = Date.now();
    doomed.child.kill('SIGKILL');
  } finally {
    await lock?.release().catch(() => undefined);
    await doomed.stop().catch(() => undefined);
    await redisProxy.close();
  }

  await waitFor(
    async () => {
      const status = await http<{ status: string }>(healthy.baseUrl, 'GET', `/api/seats/${eventId}/${seat}/status`);
      const event = await http<{ seats: { reserved: number } }>(
        stack.urls['event-service'][0]!,
        'GET',
        `/api/events/${eventId}`,
      );
      return status.body.status === 'reserved' && event.body.seats.reserved === 1;
    },
    { timeoutMs: 15_000, intervalMs: 50, what: 'the seat reserved and counted' },
  );
  // The sweep acts at most 0.5 s after the commit (300 ms age + 200 ms period), so the push lands well within
  // the SPEC's second on a healthy machine (0.3-1.1 s measured here under a load of 15 on 2 cores). The bound
  // asserts the mechanism, not the machine's speed: without the sweep the seat waits for the reserve
  // deadline (10 s) and the expiry path, or the PostgreSQL fallback relay (30 s).
  expect(Date.now() - committedAt).toBeLessThan(5000);
}, 60_000);
