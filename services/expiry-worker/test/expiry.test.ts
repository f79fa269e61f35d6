import { randomUUID } from 'node:crypto';
import { http, useService, waitFor, type ServiceProcess } from '@zephyr/testing';
import type { HoldRef } from '../src/domain/settlement';
import { FakeSeatService, metricValue, newHold, percentile, sleep } from './fake-seat-service';

const LEASE_MS = 2000;

let seatService: FakeSeatService;
let worker: ServiceProcess;

/** Sends are recorded before the worker hears the answer; the schedule is settled a moment later. */
const waitUntilSettled = (holds: readonly HoldRef[]) =>
  waitFor(() => Object.values(seatService.schedule.indexed(holds)).every((n) => n === 0), {
    timeoutMs: 3000,
    what: 'index settled',
  });

const holdsFor = (count: number): HoldRef[] => {
  const eventId = randomUUID();
  return Array.from({ length: count }, (_, i) => newHold(eventId, i + 1));
};

beforeAll(async () => {
  seatService = await new FakeSeatService().start();
});

// A short lease keeps the outage test quick; the worker's call timeout is half of it.
const fixture = useService('expiry-worker', 'expiryworker', {
  env: () => ({ SEAT_SERVICE_URL: seatService.url, EXPIRY_LEASE_MS: String(LEASE_MS) }),
});

beforeAll(() => {
  worker = fixture.process;
  fixture.onTeardown(() => seatService.stop());
});

/** As the seat-service's relay does when a hold starts or is refreshed. */
const schedule = (holds: readonly HoldRef[], dueAt: (hold: HoldRef) => number) => {
  for (const hold of holds) seatService.schedule.schedule(hold, dueAt(hold));
};

test('expires holds shortly after their expiresAt, never before', async () => {
  const holds = holdsFor(40);
  const start = Date.now();
  const due = new Map(holds.map((h, i) => [h.holdVersion, start + 1200 + i * 25]));
  schedule(holds, (h) => due.get(h.holdVersion)!);

  await waitFor(() => holds.every((h) => seatService.sendsOf(h).length > 0), {
    timeoutMs: 5000,
    what: 'all holds sent',
  });
  const lags = holds.map((h) => seatService.sendsOf(h)[0]!.at - due.get(h.holdVersion)!);
  expect(Math.min(...lags)).toBeGreaterThanOrEqual(-5); // clock granularity only
  expect(percentile(lags, 99)).toBeLessThan(1000);
  expect(holds.every((h) => seatService.sendsOf(h).length === 1)).toBe(true);

  await waitFor(async () => (await metricValue(worker.baseUrl, 'zephyr_seat_expiries_total')) >= holds.length, {
    what: 'expiries counted',
  });
  expect(await metricValue(worker.baseUrl, 'zephyr_expiry_lag_seconds_count')).toBeGreaterThanOrEqual(holds.length);
  await waitUntilSettled(holds);
});

test('never sends a hold that was released or reserved before it was due', async () => {
  const [released, reserved, control] = holdsFor(3) as [HoldRef, HoldRef, HoldRef];
  const dueAt = Date.now() + 1000;
  schedule([released, reserved, control], () => dueAt);
  // Released and reserved before they fell due: the relay takes them out of the schedule.
  seatService.schedule.unschedule(released);
  seatService.schedule.unschedule(reserved);

  await waitFor(() => seatService.sendsOf(control).length > 0, { timeoutMs: 4000, what: 'control hold sent' });
  // Once the schedule holds none of the three, nothing can send them any more.
  await waitUntilSettled([released, reserved, control]);
  expect(seatService.sendsOf(released)).toHaveLength(0);
  expect(seatService.sendsOf(reserved)).toHaveLength(0);
});

test('a refresh before the hold falls due moves the expiry later', async () => {
  const [hold] = holdsFor(1) as [HoldRef];
  const start = Date.now();
  const refreshedDueAt = start + 2200;
  schedule([hold], () => start + 800);
  schedule([hold], () => refreshedDueAt);

  await waitFor(() => seatService.sendsOf(hold).length > 0, { timeoutMs: 5000, what: 'refreshed hold sent' });
  const sends = seatService.sendsOf(hold);
  expect(sends).toHaveLength(1);
  expect(sends[0]!.at).toBeGreaterThanOrEqual(refreshedDueAt - 5);
  expect(sends[0]!.at - refreshedDueAt).toBeLessThan(1000);
});

test('a not-due answer reschedules the hold at the expiresAt the seat-service returned', async () => {
  const [hold] = holdsFor(1) as [HoldRef];
  const dueAt = Date.now() + 800;
  const refreshedDueAt = dueAt + 1200;
  seatService.verdict = (h) =>
    h.holdVersion === hold.holdVersion && seatService.sendsOf(hold).length === 1
      ? { outcome: 'not-due', expiresAt: new Date(refreshedDueAt).toISOString() }
      : { outcome: 'expired' };
  try {
    schedule([hold], () => dueAt);
    await waitFor(() => seatService.sendsOf(hold).length >= 2, { timeoutMs: 5000, what: 'hold sent again' });
  } finally {
    seatService.verdict = () => ({ outcome: 'expired' });
  }
  const [first, second] = seatService.sendsOf(hold);
  expect(first!.at).toBeGreaterThanOrEqual(dueAt - 5);
  expect(second!.at).toBeGreaterThanOrEqual(refreshedDueAt - 5);
  expect(second!.at - refreshedDueAt).toBeLessThan(1000);
  await waitUntilSettled([hold]);
  expect(seatService.sendsOf(hold)).toHaveLength(2);
});

test('gone answers are dropped from the schedule without retries', async () => {
  const holds = holdsFor(5);
  seatService.verdict = () => ({ outcome: 'gone' });
  try {
    schedule(holds, () => Date.now() + 300);
    await waitFor(() => holds.every((h) => seatService.sendsOf(h).length > 0), { timeoutMs: 4000, what: 'holds sent' });
  } finally {
    seatService.verdict = () => ({ outcome: 'expired' });
  }
  await sleep(LEASE_MS + 500);
  expect(holds.map((h) => seatService.sendsOf(h).length)).toEqual(holds.map(() => 1));
  expect(seatService.schedule.indexed(holds)).toEqual({ due: 0, inflight: 0 });
});

test('keeps running and retrying while the seat-service is down, then drains when it returns', async () => {
  const holds = holdsFor(30);
  await seatService.stop();
  const dueAt = Date.now() + 500;
  schedule(holds, () => dueAt);
  await sleep(3000);

  expect(worker.child.exitCode).toBeNull();
  expect((await http(worker.baseUrl, 'GET', '/health')).status).toBe(200);
  // The seat-service is the worker's one dependency: not ready without it, alive all the same.
  const ready = await http(worker.baseUrl, 'GET', '/health/ready');
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ checks: { 'seat-service': 'down' } });
  expect(holds.every((h) => seatService.sendsOf(h).length === 0)).toBe(true);
  expect(worker.output()).toContain('expiry batch failed');

  const backAt = Date.now();
  await seatService.start();
  await waitFor(() => holds.every((h) => seatService.sendsOf(h).length > 0), {
    timeoutMs: LEASE_MS + 4000,
    what: 'backlog drained after the outage',
  });
  expect(Date.now() - backAt).toBeLessThan(LEASE_MS + 2500);
  await waitUntilSettled(holds);
  expect((await http(worker.baseUrl, 'GET', '/health/ready')).status).toBe(200);
  await waitFor(async () => (await metricValue(worker.baseUrl, 'zephyr_expiry_backlog')) === 0, {
    what: 'backlog gauge 0',
  });
});

test('catches up after being stopped past the due times, sending each hold once', async () => {
  const scheduledBefore = holdsFor(300);
  const arrivedWhileStopped = holdsFor(300);
  const start = Date.now();
  // Due well after the worker has stopped: scheduling and stopping a process take seconds on a loaded machine.
  const dueAt = start + 6000;
  schedule(scheduledBefore, () => dueAt);

  await worker.stop();
  expect(Date.now()).toBeLessThan(dueAt);
  // The schedule is the seat-service's: it goes on filling while no worker runs.
  schedule(arrivedWhileStopped, () => Date.now() + 500);
  // Nothing runs to wait on: the worker is stopped, and this waits for its holds to fall due.
  await sleep(Math.max(0, dueAt + 1000 - Date.now()));
  const sentWhileStopped = [...scheduledBefore, ...arrivedWhileStopped].filter(
    (h) => seatService.sendsOf(h).length > 0,
  );
  expect(sentWhileStopped).toHaveLength(0);

  worker = await fixture.start();
  const all = [...scheduledBefore, ...arrivedWhileStopped];
  // How fast it catches up is a benchmark figure (npm run bench:expiry), not a test bound: on a busy
  // 2-core machine a wall-clock limit here only measured the machine.
  await waitFor(() => all.every((h) => seatService.sendsOf(h).length > 0), { timeoutMs: 60_000, what: 'catch-up' });
  // Settled: none of them is left in the schedule, so none can be sent again.
  await waitUntilSettled(all);
  expect(all.filter((h) => seatService.sendsOf(h).length !== 1)).toEqual([]);
});
