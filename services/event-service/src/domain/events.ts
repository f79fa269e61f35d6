import {
  ENVELOPE_VERSION,
  ErrorCodes,
  LIMITS,
  RoutingKeys,
  type CreateEventBody,
  type Event,
  type EventChangedData,
  type EventEnvelope,
  type EventRoutingKey,
  type EventWithCounts,
  type Page,
  type SeatCounts,
  type ServiceName,
  type UpdateEventBody,
} from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';
import { decodeCursor, encodeCursor, type PageKey } from './cursor';

/** An event as stored: the public Event plus `revision`, which orders its changes for consumers. */
export type EventRecord = EventChangedData;

export type NewEvent = Omit<EventRecord, 'revision' | 'createdAt' | 'updatedAt'>;
export type EventChanges = UpdateEventBody;

/** Writes that must commit together: the event row and its domain event in the outbox. */
export interface EventWriter {
  insert(event: NewEvent): Promise<EventRecord>;
  /** Bumps revision and updatedAt; undefined when there is no such event. */
  update(id: string, changes: EventChanges): Promise<EventRecord | undefined>;
  appendToOutbox(envelope: EventEnvelope, requestId?: string): Promise<void>;
}

export interface EventStore {
  transaction<T>(work: (writer: EventWriter) => Promise<T>): Promise<T>;
  findById(id: string): Promise<EventRecord | undefined>;
  /** Newest first by (createdAt, id), strictly after `after` when given. */
  listNewestFirst(limit: number, after?: PageKey): Promise<EventRecord[]>;
}

/** The live seat counts of an event; the seat-service keeps the seats (DEPENDENCY_UNAVAILABLE without it). */
export interface SeatCountsReader {
  countsOf(eventId: string, requestId?: string): Promise<SeatCounts>;
}

export interface EventsDeps {
  /** The envelope `producer` of the events this service writes: its name from the manifest. */
  producer: ServiceName;
  store: EventStore;
  seatCounts: SeatCountsReader;
  /** Runs after a create/update committed (wake the outbox relay, tell seat-service). Must not throw. */
  afterCommit(event: EventRecord, requestId?: string): Promise<void>;
}

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export interface EventsService {
  create(input: CreateEventBody, requestId?: string): Promise<Event>;
  update(id: string, changes: EventChanges, requestId?: string): Promise<Event>;
  get(id: string, requestId?: string): Promise<EventWithCounts>;
  list(request: PageRequest): Promise<Page<Event>>;
  /** The stored record with its revision (internal callers). */
  record(id: string): Promise<EventRecord>;
}

export function toEvent(record: EventRecord): Event {
  const { id, name, description, totalSeats, maxSeatsPerUser, seatsPerRow, status, createdAt, updatedAt } = record;
  return { id, name, description, totalSeats, maxSeatsPerUser, seatsPerRow, status, createdAt, updatedAt };
}

function changedEnvelope(producer: ServiceName, type: EventRoutingKey, data: EventRecord): EventEnvelope {
  return {
    id: crypto.randomUUID(),
    type,
    version: ENVELOPE_VERSION,
    occurredAt: data.updatedAt,
    producer,
    data,
  };
}

function notFound(id: string): AppError {
  return new AppError(ErrorCodes.EventNotFound, `Event ${id} not found`);
}

export function createEventsService(deps: EventsDeps): EventsService {
  const { store, seatCounts } = deps;

  const record = async (id: string): Promise<EventRecord> => {
    const found = await store.findById(id);
    if (!found) throw notFound(id);
    return found;
  };

  return {
    record,

    async create(input, requestId) {
      const created = await store.transaction(async (writer) => {
        const event = await writer.insert({
          id: crypto.randomUUID(),
          name: input.name,
          description: input.description ?? '',
          totalSeats: input.totalSeats,
          maxSeatsPerUser: input.maxSeatsPerUser ?? LIMITS.maxSeatsPerUserDefault,
          seatsPerRow: input.seatsPerRow ?? input.totalSeats,
          status: 'active',
        });
        await writer.appendToOutbox(changedEnvelope(deps.producer, RoutingKeys.EventCreated, event), requestId);
        return event;
      });
      await deps.afterCommit(created, requestId);
      return toEvent(created);
    },

    async update(id, changes, requestId) {
      // Nothing to change: no new revision, no message.
      if (Object.keys(changes).length === 0) return toEvent(await record(id));
      const updated = await store.transaction(async (writer) => {
        const event = await writer.update(id, changes);
        if (!event) throw notFound(id);
        await writer.appendToOutbox(changedEnvelope(deps.producer, RoutingKeys.EventUpdated, event), requestId);
        return event;
      });
      await deps.afterCommit(updated, requestId);
      return toEvent(updated);
    },

    async get(id, requestId) {
      const event = await record(id);
      return { ...toEvent(event), seats: await seatCounts.countsOf(id, requestId) };
    },

    async list({ limit = LIMITS.pageLimitDefault, cursor }) {
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      // One extra row tells whether another page exists without a count query.
      const rows = await store.listNewestFirst(limit + 1, after);
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      const nextCursor =
        rows.length > limit && last ? encodeCursor({ createdAt: new Date(last.createdAt), id: last.id }) : null;
      return { items: items.map(toEvent), nextCursor };
    },
  };
}
