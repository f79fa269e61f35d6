import { QueueNames } from '@zephyr/contracts';
import { connectBroker, retireQueues } from '@zephyr/runtime/messaging';
import {
  authConfigFrom,
  backingChecks,
  closeBacking,
  connectServiceRedis,
  createTokenVerifier,
  openServiceDatabase,
  runService,
  startOutboxRelay,
} from '@zephyr/runtime';
import { createApp } from './app';
import { loadConfig } from './config';
import { createSeatServiceMetrics } from './metrics';
import { SERVICE_NAME } from './service';
import { SCHEMA, migrations } from './migrations';
import { SeatRules, type SeatRulesContext } from './domain/seat-rules';
import { MultiSeatRules } from './domain/multi-seat-rules';
import { SeatStore } from './data-access/seat-store';
import { ReservationRepository } from './data-access/reservation-repository';
import { EventDirectory } from './data-access/event-directory';
import { createSeatLocks } from './data-access/seat-locks';
import { startStreamRelay } from './data-access/outbox-stream-relay';
import { createExpiryIndex } from './data-access/expiry-index';
import { seatChangeBatchesOf } from './data-access/outbox-codec';
import { startLostHoldsWatch } from './entry-points/jobs/lost-holds-watch';
import { startUnfinishedReservesSweep } from './entry-points/jobs/unfinished-reserves';
import { startIdleEventsScan } from './entry-points/jobs/idle-events';
import { startEventConfigConsumer } from './entry-points/messaging/event-config-consumer';

runService({ name: SERVICE_NAME, loadConfig }, async ({ config, logger, metrics, lifecycle, serve }) => {
  const db = await openServiceDatabase(
    config,
    { schema: SCHEMA, migrations, logger },
    { min: 1, max: config.PG_POOL_MAX },
  );
  const [redis, relayRedis] = await Promise.all([
    connectServiceRedis(config, SERVICE_NAME, logger),
    connectServiceRedis(config, 'seat-service-relay', logger),
  ]);

  const broker = connectBroker({
    url: config.AMQP_URL,
    exchange: config.AMQP_EXCHANGE,
    logger,
    registry: metrics.registry,
  });

  // The relay is started below; writes wake it so their events leave at once.
  let wakeRelay = () => {};
  const store = new SeatStore(redis, () => wakeRelay());
  const reservations = new ReservationRepository(db);
  const directory = new EventDirectory(store, reservations, config.EVENT_SERVICE_URL);
  // Reservations reach the broker through the ordered Redis stream; this relay only publishes the
  // PostgreSQL copies that path did not deliver (Redis lost them, or the process died mid-reserve).
  const pgRelay = startOutboxRelay({
    db,
    schema: SCHEMA,
    broker,
    logger,
    registry: metrics.registry,
    minAgeMs: 30_000,
    companions: (envelopes) => seatChangeBatchesOf(envelopes, SERVICE_NAME),
  });
  const context: SeatRulesContext = { producer: SERVICE_NAME, ...createSeatServiceMetrics(metrics.registry) };
  const rules = new SeatRules(store, reservations, directory, createSeatLocks(redis), context);
  const multiSeatRules = new MultiSeatRules(store, directory, context);
  const expirySchedule = createExpiryIndex(redis);
  const streamRelay = startStreamRelay({
    redis: relayRedis,
    broker,
    reservations,
    expirySchedule: createExpiryIndex(relayRedis),
    logger,
    registry: metrics.registry,
    producer: SERVICE_NAME,
  });
  wakeRelay = streamRelay.wake;
  // The expiry worker's schedule queue of earlier builds: the relay above keeps the schedule itself now.
  const retired = retireQueues(broker, [QueueNames.expiryWorkerSchedule(config.AMQP_EXCHANGE)]);
  const consumer = startEventConfigConsumer(broker, directory, logger, metrics.registry);
  const lostHoldsWatch = startLostHoldsWatch(
    {
      claimEpochRecovery: (ttlMs) => store.claimEpochRecovery(ttlMs),
      settleEpoch: () => store.settleEpoch(),
      dropEpochClaim: () => store.dropEpochClaim(),
      openHolds: (withinSeconds) => reservations.openHolds(withinSeconds),
      loadEvent: (eventId) => directory.load(eventId),
    },
    logger,
  );

  const unfinishedReserves = startUnfinishedReservesSweep(rules, reservations, logger);
  const idleEvents = startIdleEventsScan(
    store,
    { evictAfterMs: config.IDLE_EVENT_EVICT_AFTER_S * 1000, scanEveryMs: config.IDLE_EVENT_SCAN_EVERY_S * 1000 },
    logger,
  );

  const verifier = createTokenVerifier(authConfigFrom(config));
  const app = createApp({
    rules,
    multiSeatRules,
    directory,
    expirySchedule,
    verifier,
    logger,
    metrics,
    isAcceptingTraffic: lifecycle.isAcceptingTraffic,
    readiness: backingChecks({ database: db, redis, rabbitmq: broker }),
  });
  await serve({
    server: app,
    closeFirst: [{ name: 'consumer', close: () => consumer.close() }],
    closeAfter: [
      { name: 'lost-holds-watch', close: () => lostHoldsWatch.stop() },
      { name: 'unfinished-reserves', close: () => unfinishedReserves.stop() },
      { name: 'idle-events', close: () => idleEvents.stop() },
      { name: 'stream-relay', close: () => streamRelay.stop() },
      { name: 'outbox-relay', close: () => pgRelay.stop() },
      { name: 'retired-queues', close: () => retired.stop() },
      ...closeBacking({ rabbitmq: broker, redis: [redis, relayRedis], database: db }),
    ],
  });
});
