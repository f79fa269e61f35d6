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

/**
 * Internal bulk feeds, not domain events: SPEC §5's seat.* keys stay one message per change, for the
 * notifier and any outside subscriber. A batch carries the seat.* envelopes the stream relay published in
 * one turn, for consumers that apply changes in bulk (seat counts, the expiry schedule): one broker delivery
 * per turn instead of one per change. Two words, so a `seat.*` binding never matches it.
 */
export const BatchRoutingKeys = {
  SeatChanges: 'seat-changes.batch',
} as const;

export type BatchRoutingKey = (typeof BatchRoutingKeys)[keyof typeof BatchRoutingKeys];

/**
 * Whether a publish of this key is mandatory: returned by the broker (and counted and alerted on as
 * unroutable) when no queue takes it. Every key but the single seat.* facts has a Zephyr consumer, so a
 * drop means a missing queue or binding. The single seat.* facts are SPEC §5's one message per change for
 * outside subscribers: Zephyr's own consumers read the batch feed, so with no subscriber bound the broker
 * drops them by design, and returning each one would cost a broker round trip and a warning per change.
 */
export function isMandatoryRoutingKey(routingKey: string): boolean {
  return !(SEAT_ROUTING_KEYS as readonly string[]).includes(routingKey);
}

/** Binding patterns (topic exchange wildcards). */
export const Bindings = {
  allSeatEvents: 'seat.*',
  allEventEvents: 'event.*',
  seatChangeBatches: BatchRoutingKeys.SeatChanges,
} as const;

/** Queue names derive from the exchange so isolated test runs never share queues. */
export const QueueNames = {
  eventServiceSeatCounts: (exchange: string) => `${exchange}.event-service.seat-counts`,
  seatServiceEventConfig: (exchange: string) => `${exchange}.seat-service.event-config`,
  expiryWorkerSchedule: (exchange: string) => `${exchange}.expiry-worker.schedule`,
  // A redeclaration with other arguments is refused, so a replica queue whose arguments change gets a new
  // name: `<exchange>.notifier.<id>` (before the shared DLQ), then `<exchange>.notifier-replica.<id>` (single
  // seat.* messages, bound in messages), now `notifier-batches` (batch messages, a tighter bound).
  notifierReplica: (exchange: string, replicaId: string) => `${exchange}.notifier-batches.${replicaId}`,
  /** The queue a replica of the same id used before it read batches: deleted when that replica starts. */
  notifierReplicaBeforeBatches: (exchange: string, replicaId: string) => `${exchange}.notifier-replica.${replicaId}`,
  deadLetterExchange: (exchange: string) => `${exchange}.dlx`,
  deadLetter: (queue: string) => `${queue}.dlq`,
  /** The one DLQ every notifier replica queue shares, so replicas that come and go leave no queue behind. */
  notifierReplicasDeadLetter: (exchange: string) => `${exchange}.notifier-replicas.dlq`,
} as const;

export const MessageHeaders = {
  requestId: 'x-request-id',
} as const;
