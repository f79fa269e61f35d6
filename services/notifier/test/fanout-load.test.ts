import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { RoutingKeys } from '@zephyr/contracts';
import type { Broker } from '@zephyr/runtime/messaging';
import { inParallel, newUserId, publishSeatChanges, seatEnvelope, waitFor, type ServiceProcess } from '@zephyr/testing';
import type { SeatServiceStub } from './support/seat-service-stub';
import { useNotifierReplicas } from './support/replicas';
import { metric, wsUrl } from './support/helpers';

/**
 * A burst fanned out to thousands of sockets must not starve the rest of the notifier's loop: its HTTP
 * endpoints and its broker connection (heartbeats, consumption) keep being served while frames are still
 * queued. Asserted as behaviour (answers while the backlog is non-zero, no broker disconnect, every frame
 * delivered), never as timings, which a loaded two-core machine would make flaky.
 */
const REPLICA_ID = 'fanout';
const SOCKETS = 2000;
const CHANGES = 100;

const notifiers = useNotifierReplicas('notifierfanout', { [REPLICA_ID]: { LOG_LEVEL: 'info' } });
let stub: SeatServiceStub;
let broker: Broker;
let notifier: ServiceProcess;
const sockets: WebSocket[] = [];

beforeAll(() => {
  [notifier] = notifiers.replicas as [ServiceProcess];
  stub = notifiers.stub;
  broker = notifiers.fixture.broker;
  notifiers.fixture.onTeardown(() => {
    for (const socket of sockets) socket.terminate();
  });
});

/** A bare socket that counts the SEAT_UPDATEs it gets and remembers whether their versions came in order. */
interface Watcher {
  socket: WebSocket;
  received: number;
  inOrder: boolean;
}

async function watch(eventId: string): Promise<Watcher> {
  const socket = new WebSocket(wsUrl(notifier));
  sockets.push(socket);
  const watcher: Watcher = { socket, received: 0, inOrder: true };
  let lastVersion = 0;
  const subscribed = new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; version?: number };
      if (message.type === 'SUBSCRIBED') resolve();
      if (message.type !== 'SEAT_UPDATE') return;
      watcher.received++;
      if (message.version! <= lastVersion) watcher.inOrder = false;
      lastVersion = message.version!;
    });
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId }));
  await subscribed;
  return watcher;
}

it('keeps answering HTTP and the broker while a burst fans out to 2,000 sockets, and delivers every frame', async () => {
  const eventId = randomUUID();
  stub.maps.set(eventId, { eventId, version: 0, seats: [] });
  const watchers = await inParallel(
    50,
    Array.from({ length: SOCKETS }, () => () => watch(eventId)),
  );
  let closed = 0;
  for (const { socket } of watchers) socket.on('close', () => closed++);
  const expectedFrames = SOCKETS * CHANGES;
  const delivered = () => watchers.reduce((sum, w) => sum + w.received, 0);

  const userId = newUserId();
  await publishSeatChanges(
    broker,
    ...Array.from({ length: CHANGES }, (_, i) =>
      seatEnvelope(RoutingKeys.SeatHeld, { eventId, seatNumber: i + 1, userId, version: i + 1 }),
    ),
  );
  // While frames are still queued for sockets, the notifier answers /metrics and /health/ready; readiness
  // itself is a round trip to RabbitMQ on the notifier's broker connection.
  let answeredMidBurst = 0;
  while (delivered() < expectedFrames) {
    const backlog = await metric(notifier, 'zephyr_ws_fanout_backlog');
    if (backlog > 0) {
      const ready = await fetch(`${notifier.baseUrl}/health/ready`);
      expect(ready.status).toBe(200);
      answeredMidBurst++;
    }
    await waitFor(() => true, { intervalMs: 20 });
    if (closed > 0) break;
  }
  expect(answeredMidBurst).toBeGreaterThan(0);
  expect(closed).toBe(0);
  expect(delivered()).toBe(expectedFrames);
  expect(watchers.every((w) => w.inOrder)).toBe(true);
  expect(await metric(notifier, 'zephyr_ws_fanout_backlog')).toBe(0);
  expect(await metric(notifier, 'zephyr_ws_slow_disconnects_total')).toBe(0);
  expect(notifier.output()).not.toContain('amqp disconnected');
}, 180_000);
