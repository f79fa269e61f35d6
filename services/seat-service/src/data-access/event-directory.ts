import { ErrorCodes, InternalPaths, eventChangedDataSchema, type EventChangedData } from '@zephyr/contracts';
import { AppError, DependencyUnavailableError } from '@zephyr/runtime/errors';
import { getUpstreamJson } from '@zephyr/runtime';
import type { EventDirectoryPort } from '../domain/ports';
import type { ReservationRepository } from './reservation-repository';
import type { SeatStore } from './seat-store';
import { OPEN_HOLDS_WINDOW_SECONDS } from '../domain/lost-holds';

/** Counters restart this far above the highest value PostgreSQL saw, covering events still in flight. */
const COUNTER_MARGIN = 1000;
const NEGATIVE_CACHE_MS = 1000;
const floorAbove = (ceiling: number) => ceiling + (ceiling > 0 ? COUNTER_MARGIN : 0);

/**
 * Keeps seat-service's copy of each event's config in Redis. The event-service pushes changes (and they
 * also arrive as event.* messages); on a miss — a hold right after the event's POST, or Redis having lost
 * its data — the config is fetched from the event-service and reservations are restored from PostgreSQL.
 */
export class EventDirectory implements EventDirectoryPort {
  private readonly notFound = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Events reconciled with PostgreSQL since the current Redis connection was made. */
  private readonly reconciled = new Set<string>();
  private reconciledGeneration = -1;
  private readonly reconciling = new Map<string, Promise<void>>();

  constructor(
    private readonly store: SeatStore,
    private readonly reservations: ReservationRepository,
    private readonly eventServiceUrl: string,
  ) {}

  /** Applies a config change (push or message); first sight of an event installs it fully. */
  async apply(event: EventChangedData): Promise<void> {
    this.notFound.delete(event.id);
    const config = {
      revision: event.revision,
      status: event.status,
      totalSeats: event.totalSeats,
      maxSeatsPerUser: event.maxSeatsPerUser,
      // Events announced before rows existed are one row.
      seatsPerRow: event.seatsPerRow ?? event.totalSeats,
    };
    if (await this.store.hasEvent(event.id)) {
      await this.store.installEvent(event.id, config, 0, []);
      return;
    }
    // A fresh install: Redis never had the event, or lost it with the holds the audit shows open.
    const [restored, lostHolds] = await Promise.all([
      this.reservations.restoreState(event.id),
      this.reservations.openHolds(OPEN_HOLDS_WINDOW_SECONDS, event.id),
    ]);
    await this.store.installEvent(
      event.id,
      config,
      floorAbove(restored.counterCeiling),
      restored.reservations,
      lostHolds,
    );
  }

  /**
   * Before this process changes an event in Redis for the first time on a connection (at start, after a
   * reconnect or a cluster failover), the event is reconciled with PostgreSQL: Redis may have come back
   * without its last writes (AOF everysec, an asynchronously replicated master promoted), and then its
   * counters would go backwards and a reservation recorded only in PostgreSQL would look free. Raising the
   * counters above what PostgreSQL has seen and re-recording reservations closes both; it costs one
   * PostgreSQL read per event per connection. With PostgreSQL down the change is refused (503): selling a
   * seat twice is worse than a pause.
   */
  async ensureReconciled(eventId: string): Promise<void> {
    const generation = this.store.connectionGeneration;
    if (generation !== this.reconciledGeneration) {
      this.reconciled.clear();
      this.reconciledGeneration = generation;
    }
    if (this.reconciled.has(eventId)) return;
    let pending = this.reconciling.get(eventId);
    if (!pending) {
      pending = this.reconcile(eventId, generation).finally(() => this.reconciling.delete(eventId));
      this.reconciling.set(eventId, pending);
    }
    await pending;
  }

  private async reconcile(eventId: string, generation: number): Promise<void> {
    const restored = await this.reservations.restoreState(eventId);
    // 'NO_EVENT' is fine too: the change then finds no event and loads it in full, restoring the same.
    await this.store.installEvent(eventId, undefined, floorAbove(restored.counterCeiling), restored.reservations);
    if (this.reconciledGeneration === generation) this.reconciled.add(eventId);
  }

  /** Loads an event that Redis does not know; throws EVENT_NOT_FOUND when the event-service has none. */
  async load(eventId: string): Promise<void> {
    const missUntil = this.notFound.get(eventId);
    if (missUntil !== undefined && missUntil > Date.now())
      throw new AppError(ErrorCodes.EventNotFound, 'Event not found');
    let pending = this.inFlight.get(eventId);
    if (!pending) {
      pending = this.fetchAndApply(eventId).finally(() => this.inFlight.delete(eventId));
      this.inFlight.set(eventId, pending);
    }
    await pending;
  }

  private async fetchAndApply(eventId: string): Promise<void> {
    const body = await getUpstreamJson(
      'event-service',
      `${this.eventServiceUrl}${InternalPaths.eventConfig(eventId)}`,
      {
        timeoutMs: 3000,
        notFound: () => {
          if (this.notFound.size > 10_000) this.notFound.clear();
          this.notFound.set(eventId, Date.now() + NEGATIVE_CACHE_MS);
          throw new AppError(ErrorCodes.EventNotFound, 'Event not found');
        },
      },
    );
    // The answer crosses a process boundary: a config that breaks the contract is never written to Redis.
    const { error, value } = eventChangedDataSchema.validate(body);
    if (error || (value as EventChangedData).id !== eventId) {
      throw new DependencyUnavailableError(
        `event-service answered an invalid event config: ${error?.message ?? 'another event'}`,
      );
    }
    await this.apply(value as EventChangedData);
  }
}
