/** Names shared by every process that touches RabbitMQ. Renaming one is a migration, not a refactor. */

export const DEFAULT_EXCHANGE = 'zephyr.domain';

export const RoutingKeys = {
  EventCreated: 'event.created',
  EventUpdated: 'event.updated',
  SeatHeld: 'seat.held',
  SeatRefreshed: 'seat.refreshed',
  SeatReleased: 'seat.released',
  SeatExpired: 'seat.expired',
  SeatReserved: 'seat.reserved',
} as const;

export type RoutingKey = (typeof RoutingKeys)[keyof typeof RoutingKeys];
export type EventRoutingKey = typeof RoutingKeys.EventCreated | typeof RoutingKeys.EventUpdated;
export type SeatRoutingKey = Exclude<RoutingKey, EventRoutingKey>;

export const SEAT_ROUTING_KEYS: readonly SeatRoutingKey[] = [
  RoutingKeys.SeatHeld,
  RoutingKeys.SeatRefreshed,
  RoutingKeys.SeatReleased,
  RoutingKeys.SeatExpired,
  RoutingKeys.SeatReserved,
];
export const EVENT_ROUTING_KEYS: readonly EventRoutingKey[] = [RoutingKeys.EventCreated, RoutingKeys.EventUpdated];

/** Binding patterns (topic exchange wildcards). */
export const Bindings = {
  allSeatEvents: 'seat.*',
  allEventEvents: 'event.*',
} as const;

/** Queue names derive from the exchange so isolated test runs never share queues. */
export const QueueNames = {
  eventServiceSeatCounts: (exchange: string) => `${exchange}.event-service.seat-counts`,
  seatServiceEventConfig: (exchange: string) => `${exchange}.seat-service.event-config`,
  expiryWorkerSchedule: (exchange: string) => `${exchange}.expiry-worker.schedule`,
  // "notifier-replica": replica queues declared before they shared one DLQ (other arguments, and a
  // redeclaration with different arguments is refused) were named `<exchange>.notifier.<id>`; a new name
  // lets an upgraded replica start at once while the old queues expire on their own after an idle hour.
  notifierReplica: (exchange: string, replicaId: string) => `${exchange}.notifier-replica.${replicaId}`,
  deadLetterExchange: (exchange: string) => `${exchange}.dlx`,
  deadLetter: (queue: string) => `${queue}.dlq`,
  /** The one DLQ every notifier replica queue shares, so replicas that come and go leave no queue behind. */
  notifierReplicasDeadLetter: (exchange: string) => `${exchange}.notifier-replicas.dlq`,
} as const;

export const MessageHeaders = {
  requestId: 'x-request-id',
} as const;
