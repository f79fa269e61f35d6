import { ErrorCodes, InternalPaths, eventChangedDataSchema, type EventChangedData } from '@zephyr/contracts';
import { AppError, DependencyUnavailableError } from '@zephyr/runtime/errors';
import type { EventDirectoryPort } from '../domain/ports';
import type { ReservationRepository } from './reservation-repository';
import type { SeatStore } from './seat-store';

/** Counters restart this far above the highest value PostgreSQL saw, covering events still in flight. */
const COUNTER_MARGIN = 1000;
const NEGATIVE_CACHE_MS = 1000;

/**
 * Keeps seat-service's copy of each event's config in Redis. The event-service pushes changes (and they
 * also arrive as event.* messages); on a miss — a hold right after the event's POST, or Redis having lost
 * its data — the config is fetched from the event-service and reservations are restored from PostgreSQL.
 */
export class EventDirectory implements EventDirectoryPort {
  private readonly notFound = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();

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
    const restored = await this.reservations.restoreState(event.id);
    await this.store.installEvent(
      event.id,
      config,
      restored.counterCeiling + (restored.counterCeiling > 0 ? COUNTER_MARGIN : 0),
      restored.reservations,
    );
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
    let response: Response;
    try {
      response = await fetch(`${this.eventServiceUrl}${InternalPaths.eventConfig(eventId)}`, {
        signal: AbortSignal.timeout(3000),
      });
    } catch (err) {
      throw new DependencyUnavailableError(`event-service unreachable: ${(err as Error).message}`);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      if (this.notFound.size > 10_000) this.notFound.clear();
      this.notFound.set(eventId, Date.now() + NEGATIVE_CACHE_MS);
      throw new AppError(ErrorCodes.EventNotFound, 'Event not found');
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new DependencyUnavailableError(`event-service answered ${response.status}`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (err) {
      throw new DependencyUnavailableError(`event-service answered unreadable JSON: ${(err as Error).message}`);
    }
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
