import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { BatchRoutingKeys, RoutingKeys, type DomainEnvelope, type SeatEnvelope } from '@zephyr/contracts';
import { isolate, quietLogger, seatChangeBatchesFor, seatEnvelope, waitFor, type Isolation } from '@zephyr/testing';
import { createDb } from './db';
import { createLogger } from './logger';
import { connectBroker, type Broker } from './messaging';
import { appendToOutbox, createOutboxTable, OUTBOX_TABLE, startOutboxRelay } from './outbox';

const SCHEMA = 'outbox_test';
let isolation: Isolation;
let db: ReturnType<typeof createDb>;
let broker: Broker;

beforeAll(async () => {
  isolation = await isolate('outbox');
  db = createDb(isolation.databaseUrl);
  await db.raw('CREATE SCHEMA ??', [SCHEMA]);
  await createOutboxTable(db, SCHEMA);
  broker = connectBroker({ url: isolation.env.AMQP_URL!, exchange: isolation.exchange, logger: quietLogger });
  await waitFor(() => broker.isConnected(), { what: 'broker connection' });
});

afterAll(async () => {
  await broker.close();
  await db.destroy();
  await isolation.cleanup();
});

/** Everything published on the isolated exchange from now on, parsed. */
async function listen(): Promise<{ received: DomainEnvelope[]; close(): Promise<void> }> {
  const received: DomainEnvelope[] = [];
  const channel = broker.connection.createChannel({
    setup: async (ch: ConfirmChannel) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, isolation.exchange, '#');
      await ch.consume(queue, (m: ConsumeMessage | null) => m && received.push(JSON.parse(m.content.toString())), {
        noAck: true,
      });
    },
  });
  await channel.waitForConnect();
  return { received, close: () => channel.close() };
}

it('publishes each row and the companions derived from them, confirmed together, then deletes the rows', async () => {
  const changes: SeatEnvelope[] = [1, 2, 3].map((seatNumber) =>
    seatEnvelope(RoutingKeys.SeatReserved, { eventId: randomUUID(), seatNumber, reservedAt: new Date().toISOString() }),
  );
  await db.transaction((trx) => appendToOutbox(trx, SCHEMA, changes));
  const listener = await listen();
  const relay = startOutboxRelay({
    db,
    schema: SCHEMA,
    broker,
    logger: createLogger('outbox-test', 'silent'),
    registry: new Registry(),
    idlePollMs: 50,
    companions: (envelopes) => seatChangeBatchesFor(envelopes as SeatEnvelope[]),
  });
  try {
    await waitFor(() => listener.received.length >= 4, { what: 'rows and their batch published' });
    const singles = listener.received.filter((e) => e.type !== BatchRoutingKeys.SeatChanges);
    const batches = listener.received.filter((e) => e.type === BatchRoutingKeys.SeatChanges);
    expect(singles.map((e) => e.id).sort()).toEqual(changes.map((e) => e.id).sort());
    expect(batches).toHaveLength(1);
    expect(batches[0]!.type === BatchRoutingKeys.SeatChanges && batches[0]!.data.changes).toEqual(changes);
    await waitFor(async () => Number((await db.withSchema(SCHEMA).from(OUTBOX_TABLE).count({ n: '*' }))[0]!.n) === 0, {
      what: 'rows deleted after the confirms',
    });
  } finally {
    await relay.stop();
    await listener.close();
  }
});
