import { randomUUID } from 'node:crypto';
import { RoutingKeys } from '@zephyr/contracts';
import { useService, waitFor, type ServiceProcess } from '@zephyr/testing';
import { FakeSeatService, type ReceivedHold } from './fake-seat-service';
import { createHarness, newHold, percentile, seatEnvelope, sleep, type Harness } from './harness';

const LEASE_MS = 3000;

let harness: Harness;
const received: ReceivedHold[] = [];
// Each replica talks to its own fake so the test can tell who sent what; both record into `received`.
const seatServiceA = new FakeSeatService('A', received);
const seatServiceB = new FakeSeatService('B', received);
let workerA: ServiceProcess;
let workerB: ServiceProcess;

const fixture = useService('expiry-worker', 'expiryreplicas', {
  startOnSetup: false,
  env: { EXPIRY_LEASE_MS: String(LEASE_MS) },
});
const startWorker = (seatService: FakeSeatService) => fixture.start({ SEAT_SERVICE_URL: seatService.url });

const sendsByHold = (sent: readonly ReceivedHold[]) => {
  const counts = new Map<number, number>();
  for (const r of sent) counts.set(r.holdVersion, (counts.get(r.holdVersion) ?? 0) + 1);
  return counts;
};

beforeAll(async () => {
  harness = await createHarness(fixture.isolation);
  await seatServiceA.start();
  await seatServiceB.start();
  fixture.onTeardown(() => Promise.all([seatServiceA.stop(), seatServiceB.stop(), harness.close()]));
});

test('two replicas racing on 2,000 holds due at the same moment send each hold exactly once', async () => {
  [workerA, workerB] = await Promise.all([startWorker(seatServiceA), startWorker(seatServiceB)]);
  await harness.waitForWorkerQueue();
  // A little answer latency lets the replicas' claims interleave instead of one finishing first.
  seatServiceA.delayMs = 30;
  seatServiceB.delayMs = 30;

  const eventId = randomUUID();
  const holds = Array.from({ length: 2000 }, (_, i) => newHold(eventId, i + 1));
  // Far enough ahead that scheduling 2,000 holds finishes first even on a loaded machine (asserted below).
  const dueAt = Date.now() + 8000;
  await harness.publish(holds.map((h) => seatEnvelope(RoutingKeys.SeatHeld, h, dueAt)));
  await waitFor(async () => (await harness.indexed(holds)).due === holds.length, {
    timeoutMs: 7500,
    what: 'all holds scheduled before they fall due',
  });
  expect(Date.now()).toBeLessThan(dueAt);

  const ours = () => received.filter((r) => r.eventId === eventId);
  await waitFor(() => sendsByHold(ours()).size === holds.length, { timeoutMs: 10_000, what: 'every hold sent' });
  await waitFor(async () => Object.values(await harness.indexed(holds)).every((n) => n === 0), {
    what: 'index settled',
  });
  await sleep(500);

  const sent = ours();
  expect(sent).toHaveLength(holds.length);
  expect([...sendsByHold(sent).values()].every((n) => n === 1)).toBe(true);
  expect(sent.some((r) => r.server === 'A')).toBe(true);
  expect(sent.some((r) => r.server === 'B')).toBe(true);
  const lags = sent.map((r) => r.at - dueAt);
  expect(Math.min(...lags)).toBeGreaterThanOrEqual(-5);
  expect(percentile(lags, 99)).toBeLessThan(1000);
  expect(workerA.child.exitCode).toBeNull();
  expect(workerB.child.exitCode).toBeNull();
});

test('a batch claimed by a replica that crashed is taken over when its lease ends', async () => {
  await workerB.stop();
  seatServiceA.delayMs = 'hang';
  const eventId = randomUUID();
  const holds = Array.from({ length: 50 }, (_, i) => newHold(eventId, i + 1));
  const dueAt = Date.now() + 800;
  await harness.publish(holds.map((h) => seatEnvelope(RoutingKeys.SeatHeld, h, dueAt)));

  const claimedByA = () => seatServiceA.received.filter((r) => r.eventId === eventId);
  await waitFor(() => claimedByA().length === holds.length, { timeoutMs: 5000, what: 'A claimed the batch' });
  const claimedAt = new Map(claimedByA().map((r) => [r.holdVersion, r.at]));
  await workerA.stop('SIGKILL');
  expect((await harness.indexed(holds)).inflight).toBe(holds.length);

  await startWorker(seatServiceB);
  const readyAt = Date.now();
  const takenOverByB = () => seatServiceB.received.filter((r) => r.eventId === eventId);
  await waitFor(() => takenOverByB().length === holds.length, { timeoutMs: LEASE_MS + 5000, what: 'B took over' });
  const waited = takenOverByB().map((r) => r.at - claimedAt.get(r.holdVersion)!);
  // Never before the lease ended (A's receipt is a few ms after its claim), and soon after the later of the
  // lease's end and B being ready: B's boot time is not the takeover's.
  expect(Math.min(...waited)).toBeGreaterThanOrEqual(LEASE_MS - 50);
  const lateBy = takenOverByB().map((r) => r.at - Math.max(claimedAt.get(r.holdVersion)! + LEASE_MS, readyAt));
  expect(Math.max(...lateBy)).toBeLessThan(2000);
  await waitFor(async () => Object.values(await harness.indexed(holds)).every((n) => n === 0), {
    what: 'index settled',
  });
  expect([...sendsByHold(takenOverByB()).values()].every((n) => n === 1)).toBe(true);
});
