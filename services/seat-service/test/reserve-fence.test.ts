import { Client } from 'pg';
import { http, newUser, useStack, waitFor, type ServiceProcess } from '@zephyr/testing';

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

it('a reserve stalled past its deadline cannot commit after its hold was given up and re-held', async () => {
  const eventId = await stack.createEvent({ name: 'Fence', totalSeats: 10 });
  const a = await newUser();
  const b = await newUser();
  const seat = 5;

  const held = await http(healthy.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, {
    token: a.token,
    body: { holdDuration: 10 },
  });
  expect(held.status).toBe(201);
  // The expiry worker schedules holds from seat.held; wait until it was relayed (its audit row is written).
  await waitFor(
    async () =>
      (await stack.db.query(`SELECT 1 FROM seat_service.seat_audit WHERE event_id = $1 AND action = 'held'`, [eventId]))
        .rowCount === 1,
    { timeoutMs: 15_000, what: 'seat.held relayed' },
  );

  // A's commit blocks on a row lock held by this session...
  const locker = new Client({ connectionString: stack.isolation.databaseUrl });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE seat_service.reservations IN EXCLUSIVE MODE');
  const reserveA = http(stalled.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token: a.token });
  await waitFor(
    async () =>
      (
        await stack.db.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
             AND query ILIKE '%reservations%'`,
        )
      ).rowCount! > 0,
    { what: "A's commit waiting on the lock" },
  );
  // ...then A's process stops while its transaction is open.
  process.kill(stalled.child.pid!, 'SIGSTOP');
  await locker.query('COMMIT');
  await locker.end();

  try {
    // The deadline passes; the expiry path on the healthy replica settles the stalled reserve.
    await waitFor(
      async () => {
        const res = await http<{ status: string }>(healthy.baseUrl, 'GET', `/api/seats/${eventId}/${seat}/status`);
        return res.body.status === 'available';
      },
      { timeoutMs: 40_000, intervalMs: 200, what: 'the stalled hold released' },
    );
    const heldByB = await http(healthy.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, {
      token: b.token,
      body: { holdDuration: 600 },
    });
    expect(heldByB.status).toBe(201);
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
