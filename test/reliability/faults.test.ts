import { execFileSync } from 'node:child_process';
import { connectWs, http, inParallel, newUserId, useStack, userToken, waitFor, type WsClient } from '@zephyr/testing';

/**
 * Faults in the middle of an on-sale: RabbitMQ restarted, a seat-service replica SIGKILLed. Every change
 * the API confirmed must reach a WebSocket subscriber exactly once in effect (no duplicate versions) and
 * appear exactly once in the audit trail. These tests restart the machine's RabbitMQ, so they run alone
 * (jest --runInBand) and take a minute or two.
 */
const stack = useStack('faults', {
  replicas: { 'seat-service': 2 },
  env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' },
  timeoutMs: 90_000,
});

interface SeatUpdate {
  type: 'SEAT_UPDATE';
  seatNumber: number;
  status: string;
  version: number;
}

const REDIS_START =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log';

/** Restarts the machine's Redis the way CI starts it: without persistence, so every key is gone. */
async function restartRedis(): Promise<void> {
  execFileSync('redis-cli', ['shutdown', 'nosave'], { stdio: 'ignore', timeout: 10_000 });
  execFileSync('sh', ['-c', `mkdir -p /var/lib/redis /var/log/redis && ${REDIS_START}`], {
    stdio: 'ignore',
    timeout: 10_000,
  });
  await waitFor(
    () => {
      execFileSync('redis-cli', ['ping'], { stdio: 'ignore', timeout: 5000 });
      return true;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'Redis' },
  );
}

function rabbitmq(command: 'stop_app' | 'start_app'): void {
  execFileSync('rabbitmqctl', [command], { stdio: 'ignore', timeout: 60_000 });
}

async function brokerUp(): Promise<void> {
  await waitFor(
    () => {
      execFileSync('rabbitmq-diagnostics', ['-q', 'check_port_connectivity'], { stdio: 'ignore', timeout: 10_000 });
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'RabbitMQ' },
  );
}

async function subscribe(eventId: string): Promise<WsClient> {
  const ws = await connectWs(`${stack.gatewayUrl.replace('http', 'ws')}/ws`);
  ws.send({ type: 'SUBSCRIBE_EVENT', eventId });
  await ws.next((m) => m.type === 'SUBSCRIBED');
  return ws;
}

/** Holds seats 1..n with rotating users, reserving every third; returns what the API confirmed. */
async function onSale(eventId: string, n: number, midway: () => Promise<void>) {
  const users = await Promise.all(Array.from({ length: 25 }, async () => userToken(newUserId())));
  const confirmed: { seat: number; status: 'held' | 'reserved' }[] = [];
  let done = 0;
  let fired = false;
  await inParallel(
    16,
    Array.from({ length: n }, (_, i) => async () => {
      const seat = i + 1;
      const token = users[i % users.length]!;
      if (!fired && ++done >= n / 3) {
        fired = true;
        void midway();
      }
      const hold = await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token }).catch(
        () => undefined,
      );
      if (hold?.status !== 201) return;
      confirmed.push({ seat, status: 'held' });
      if (seat % 3 === 0) {
        const reserve = await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token }).catch(
          () => undefined,
        );
        if (reserve?.status === 200) confirmed.push({ seat, status: 'reserved' });
      }
    }),
  );
  return confirmed;
}

async function expectDelivered(ws: WsClient, eventId: string, confirmed: { seat: number; status: string }[]) {
  const updates = () => ws.messages.filter((m): m is SeatUpdate => m.type === 'SEAT_UPDATE');
  const missing = () =>
    confirmed.filter((c) => !updates().some((u) => u.seatNumber === c.seat && u.status === c.status));
  await waitFor(() => confirmed.every((c) => updates().some((u) => u.seatNumber === c.seat && u.status === c.status)), {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: `all ${confirmed.length} confirmed changes pushed`,
  }).catch((err: Error) => {
    const gone = missing();
    throw new Error(
      `${err.message}; ${gone.length} missing, e.g. ${JSON.stringify(gone.slice(0, 5))}; ${updates().length} updates received`,
    );
  });
  const versions = updates().map((u) => u.version);
  expect(new Set(versions).size).toBe(versions.length); // exactly once in effect: no version pushed twice
  // The audit trail has each confirmed change exactly once.
  const history = await waitFor(
    async () => {
      const items: { action: string; seatNumber: number }[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: typeof items; nextCursor: string | null } } = await http(
          stack.gatewayUrl,
          'GET',
          `/api/events/${eventId}/history?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
          { token: stack.admin },
        );
        items.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
      return items.length >= confirmed.length ? items : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'audit trail complete' },
  );
  for (const c of confirmed) {
    const action = c.status === 'held' ? 'held' : 'reserved';
    expect(history.filter((h) => h.seatNumber === c.seat && h.action === action)).toHaveLength(1);
  }
}

it('a RabbitMQ restart in the middle of 500 holds/reserves loses no committed change', async () => {
  const eventId = await stack.createEvent({ name: 'Broker restart', totalSeats: 500, maxSeatsPerUser: 500 });
  const ws = await subscribe(eventId);
  try {
    let restarted: Promise<void> = Promise.resolve();
    const confirmed = await onSale(eventId, 500, async () => {
      restarted = (async () => {
        rabbitmq('stop_app');
        await new Promise((r) => setTimeout(r, 2000));
        rabbitmq('start_app');
        await brokerUp();
      })();
    });
    await restarted;
    expect(confirmed.length).toBeGreaterThan(400);
    await expectDelivered(ws, eventId, confirmed);
  } finally {
    ws.close();
  }
}, 240_000);

it('SIGKILL of a seat-service replica in the middle of 500 holds/reserves loses no committed change', async () => {
  const eventId = await stack.createEvent({ name: 'Replica killed', totalSeats: 500, maxSeatsPerUser: 500 });
  const ws = await subscribe(eventId);
  const victim = stack.of('seat-service')[1]!;
  try {
    const confirmed = await onSale(eventId, 500, async () => {
      victim.child.kill('SIGKILL');
      // Bring it back on the same port, as an orchestrator would.
      await new Promise((r) => setTimeout(r, 1000));
      await stack.startService('seat-service', {}, { port: victim.port });
    });
    expect(confirmed.length).toBeGreaterThan(300);
    await expectDelivered(ws, eventId, confirmed);
  } finally {
    ws.close();
  }
}, 240_000);

it('a Redis restart that loses every key loses no reservation, and versions keep growing', async () => {
  const gw = stack.gatewayUrl;
  const eventId = await stack.createEvent({ name: 'Redis restart', totalSeats: 100, maxSeatsPerUser: 100 });
  const buyerId = newUserId();
  const buyer = await userToken(buyerId);
  for (let seat = 1; seat <= 30; seat++) {
    expect((await http(gw, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token: buyer })).status).toBe(201);
    expect((await http(gw, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token: buyer })).status).toBe(200);
  }
  const before = await http<{ version: number }>(gw, 'GET', `/api/events/${eventId}/seats`);

  await restartRedis();

  const after = await waitFor(
    async () => {
      const res = await http<{ version: number; seats: { seatNumber: number; status: string }[] }>(
        gw,
        'GET',
        `/api/events/${eventId}/seats`,
        { token: stack.admin },
      );
      return res.status === 200 ? res.body : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 250, what: 'seat map after the Redis restart' },
  );
  expect(after.seats.filter((s) => s.status === 'reserved').map((s) => s.seatNumber)).toEqual(
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  expect(after.version).toBeGreaterThanOrEqual(before.body.version);
  const other = await userToken(newUserId());
  expect((await http(gw, 'POST', `/api/seats/${eventId}/5/hold`, { token: other })).body).toMatchObject({
    error: { code: 'SEAT_UNAVAILABLE' },
  });
  expect((await http(gw, 'POST', `/api/seats/${eventId}/5/reserve`, { token: buyer })).status).toBe(200);
  const ws = await subscribe(eventId);
  try {
    expect((await http(gw, 'POST', `/api/seats/${eventId}/40/hold`, { token: other })).status).toBe(201);
    const update = await ws.next((m) => m.type === 'SEAT_UPDATE' && m.seatNumber === 40, 5000);
    expect(update.version).toBeGreaterThan(before.body.version);
  } finally {
    ws.close();
  }
}, 120_000);
