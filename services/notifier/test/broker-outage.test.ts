import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import WebSocket from 'ws';
import { QueueNames, RoutingKeys, type SeatMap } from '@zephyr/contracts';
import type { Broker } from '@zephyr/runtime/messaging';
import {
  BACKING,
  connectWs,
  inParallel,
  newUserId,
  publishSeatChanges,
  seatEnvelope,
  waitFor,
  type ServiceProcess,
  type WsClient,
} from '@zephyr/testing';
import type { SeatServiceStub } from './support/seat-service-stub';
import { useNotifierReplicas } from './support/replicas';
import { metric, wsUrl } from './support/helpers';

/**
 * The notifier's broker connection goes through a TCP proxy the test cuts; the machine's RabbitMQ itself is
 * never touched. Sockets must outlive the outage, and what was published meanwhile must reach them.
 */
const REPLICA_ID = 'outage';
const SOCKETS = 40;
const CHANGES_DURING_OUTAGE = 30;
const RESYNC_SPREAD_MS = 2000;

const notifiers = useNotifierReplicas(
  'notifieroutage',
  { [REPLICA_ID]: { WS_RESYNC_SPREAD_MS: String(RESYNC_SPREAD_MS), LOG_LEVEL: 'info' } },
  { throughProxy: 'amqp' },
);
let stub: SeatServiceStub;
let broker: Broker;
let notifier: ServiceProcess;
const clients: WsClient[] = [];

beforeAll(() => {
  [notifier] = notifiers.replicas as [ServiceProcess];
  stub = notifiers.stub;
  broker = notifiers.fixture.broker;
  notifiers.fixture.onTeardown(() => {
    for (const client of clients) client.socket.terminate();
  });
});

function knownEvent(version = 0): string {
  const eventId = randomUUID();
  const map: SeatMap = { eventId, version, seats: [{ eventId, seatNumber: 1, status: 'available' }] };
  stub.maps.set(eventId, map);
  return eventId;
}

async function subscribedClients(eventId: string, count: number, extra: Record<string, unknown> = {}) {
  const opened = await inParallel(
    20,
    Array.from({ length: count }, () => () => connectWs(wsUrl(notifier))),
  );
  clients.push(...opened);
  for (const client of opened) client.send({ type: 'SUBSCRIBE_EVENT', eventId, ...extra });
  await Promise.all(opened.map((c) => c.next((m) => m.type === 'SUBSCRIBED' && m.id === eventId, 15_000)));
  return opened;
}

const versionsOf = (client: WsClient, eventId: string): number[] =>
  client.messages.filter((m) => m.type === 'SEAT_UPDATE' && m.eventId === eventId).map((m) => m.version as number);

/** What happens to a queue that expired, or to a broker that lost its data, while the notifier was away. */
async function deleteReplicaQueue(): Promise<void> {
  const connection = await amqp.connect(BACKING.amqpUrl);
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(QueueNames.notifierReplica(notifiers.fixture.isolation.exchange, REPLICA_ID));
    await channel.close();
  } finally {
    await connection.close();
  }
}

async function cutBrokerConnection(): Promise<void> {
  await notifiers.fixture.proxy.down();
  // The notifier notices the cut socket at once; its readiness says so while it reconnects.
  await waitFor(async () => (await fetch(`${notifier.baseUrl}/health/ready`)).status === 503, {
    what: 'notifier readiness to report the broker down',
  });
}

it('keeps every socket open through a broker outage and delivers what was published meanwhile', async () => {
  const eventId = knownEvent();
  const watchers = await subscribedClients(eventId, SOCKETS);
  let closed = 0;
  for (const client of watchers) client.socket.on('close', () => closed++);

  await cutBrokerConnection();
  const userId = newUserId();
  for (let version = 1; version <= CHANGES_DURING_OUTAGE; version++) {
    await publishSeatChanges(
      broker,
      seatEnvelope(RoutingKeys.SeatHeld, { eventId, seatNumber: version, userId, version }),
    );
  }
  // Long enough for several reconnect attempts to fail (one a second).
  await new Promise((resolve) => setTimeout(resolve, 3000));
  expect(closed).toBe(0);
  await notifiers.fixture.proxy.up();

  const expected = Array.from({ length: CHANGES_DURING_OUTAGE }, (_, i) => i + 1);
  for (const client of watchers) {
    await client.next((m) => m.type === 'SEAT_UPDATE' && m.version === CHANGES_DURING_OUTAGE, 20_000);
    expect(versionsOf(client, eventId)).toEqual(expected);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  }
  expect(closed).toBe(0);
  expect(notifier.output()).toContain('amqp disconnected');
}, 60_000);

it('when the replica queue was lost meanwhile, snapshot subscribers get RESYNC and a fresh map, staggered', async () => {
  const eventId = knownEvent(0);
  const following = await subscribedClients(eventId, SOCKETS, { snapshot: true });
  const plain = await subscribedClients(eventId, 5);
  const resyncedAt = new Map<WsClient, number>();
  let closed = 0;
  for (const client of [...following, ...plain]) {
    client.socket.on('close', () => closed++);
    client.socket.on('message', (data) => {
      if (JSON.parse(data.toString()).type === 'RESYNC') resyncedAt.set(client, Date.now());
    });
  }
  const resyncsBefore = await metric(notifier, 'zephyr_ws_resyncs_total');

  await cutBrokerConnection();
  await deleteReplicaQueue();
  // Published while no replica queue is bound: lost to this replica, but the seat-service's map has them.
  const userId = newUserId();
  for (let version = 1; version <= 10; version++) {
    await publishSeatChanges(
      broker,
      seatEnvelope(RoutingKeys.SeatHeld, { eventId, seatNumber: version, userId, version }),
    );
  }
  stub.maps.set(eventId, {
    eventId,
    version: 10,
    seats: Array.from({ length: 10 }, (_, i) => ({ eventId, seatNumber: i + 1, status: 'held' as const })),
  });
  await notifiers.fixture.proxy.up();

  for (const client of following) {
    const map = await client.next((m) => m.type === 'SEAT_MAP' && m.version === 10, 20_000);
    expect(map.seats).toHaveLength(10);
    const types = client.messages.map((m) => m.type as string);
    expect(types.slice(-2)).toEqual(['RESYNC', 'SEAT_MAP']);
    expect(client.messages.at(-2)).toEqual({ type: 'RESYNC', eventId });
  }
  // Spread over the window rather than in one burst (a loaded machine only spreads them further).
  const times = [...resyncedAt.values()];
  expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(RESYNC_SPREAD_MS / 4);
  expect(await metric(notifier, 'zephyr_ws_resyncs_total')).toBe(resyncsBefore + 1);

  // v1 subscriptions never asked for maps: nothing new reaches them, and they keep their feed.
  await publishSeatChanges(
    broker,
    seatEnvelope(RoutingKeys.SeatReleased, { eventId, seatNumber: 1, userId, version: 11 }),
  );
  for (const client of [...following, ...plain]) {
    await client.next((m) => m.type === 'SEAT_UPDATE' && m.version === 11, 10_000);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  }
  for (const client of plain) {
    expect(client.messages.map((m) => m.type)).toEqual(['SUBSCRIBED', 'SEAT_UPDATE']);
  }
  expect(closed).toBe(0);
}, 60_000);

it('resyncs too when the replica queue is deleted under a live connection, and keeps consuming', async () => {
  const eventId = knownEvent(3);
  const [client] = await subscribedClients(eventId, 1, { snapshot: true });
  await client!.next((m) => m.type === 'SEAT_MAP' && m.version === 3);
  stub.maps.set(eventId, { eventId, version: 7, seats: [] });
  // The broker cancels the consumer; its re-declaration finds the queue gone and creates it again.
  await deleteReplicaQueue();
  await client!.next((m) => m.type === 'SEAT_MAP' && m.version === 7, 20_000);
  expect(client!.messages.map((m) => m.type)).toEqual(['SUBSCRIBED', 'SEAT_MAP', 'RESYNC', 'SEAT_MAP']);
  await waitFor(async () => (await fetch(`${notifier.baseUrl}/health/ready`)).status === 200, {
    what: 'consumer attached again',
  });
  await publishSeatChanges(
    broker,
    seatEnvelope(RoutingKeys.SeatHeld, { eventId, seatNumber: 1, userId: newUserId(), version: 8 }),
  );
  await client!.next((m) => m.type === 'SEAT_UPDATE' && m.version === 8, 10_000);
}, 60_000);
