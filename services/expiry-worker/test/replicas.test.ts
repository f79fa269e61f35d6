import { randomUUID } from 'node:crypto';
import { useService, waitFor, type ServiceProcess } from '@zephyr/testing';
import { FakeSchedule, FakeSeatService, newHold, percentile, sleep, type ReceivedHold } from './fake-seat-service';

const LEASE_MS = 3000;

const received: ReceivedHold[] = [];
// Each replica talks to its own fake so the test can tell who sent what; both fakes share one schedule (as
// seat-service replicas share Redis) and record into `received`. The schedule's claims are atomic here by
// construction; on Redis, services/seat-service/src/data-access/expiry-index.test.ts races them.
const schedule = new FakeSchedule();
const seatServiceA = new FakeSeatService('A', schedule, received);
const seatServiceB = new FakeSeatService('B', schedule, received);
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
  await seatServiceA.start();
  await seatServiceB.start();
  fixture.onTeardown(() => Promise.all([seatServiceA.stop(), seatServiceB.stop()]));
});

const settled = (holds: ReturnType<typeof newHold>[]) =>
  waitFor(() => Object.values(schedule.indexed(holds)).every((n) => n === 0), { what: 'schedule settled' });

test('two replicas racing on 2,000 holds due at the same moment send each hold exactly once', async () => {
  [workerA, workerB] = await Promise.all([startWorker(seatServiceA), startWorker(seatServiceB)]);
  // A little answer latency lets the replicas' claims interleave instead of one finishing first.
  seatServiceA.delayMs = 30;
  seatServiceB.delayMs = 30;

  const eventId = randomUUID();
  const holds = Array.from({ length: 2000 }, (_, i) => newHold(eventId, i + 1));
  const dueAt = Date.now() + 1000;
  for (const hold of holds) schedule.schedule(hold, dueAt);

  const ours = () => received.filter((r) => r.eventId === eventId);
  await waitFor(() => sendsByHold(ours()).size === holds.length, { timeoutMs: 10_000, what: 'every hold sent' });
  await settled(holds);
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
  for (const hold of holds) schedule.schedule(hold, dueAt);

  const claimedByA = () => seatServiceA.received.filter((r) => r.eventId === eventId);
  await waitFor(() => claimedByA().length === holds.length, { timeoutMs: 5000, what: 'A claimed the batch' });
  const claimedAt = new Map(claimedByA().map((r) => [r.holdVersion, r.at]));
  await workerA.stop('SIGKILL');
  expect(schedule.indexed(holds).inflight).toBe(holds.length);

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
  await settled(holds);
  expect([...sendsByHold(takenOverByB()).values()].every((n) => n === 1)).toBe(true);
});
