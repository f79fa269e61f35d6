import type { EventStatus } from '@zephyr/contracts';
import { appendToOutbox, type Knex } from '@zephyr/runtime';
import type { EventChanges, EventRecord, EventStore, EventWriter, NewEvent } from '../domain/events';
import { SCHEMA, Tables } from './schema';

interface EventRow {
  id: string;
  name: string;
  description: string;
  total_seats: number;
  max_seats_per_user: number;
  seats_per_row: number | null;
  status: EventStatus;
  revision: number;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: EventRow): EventRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    totalSeats: row.total_seats,
    maxSeatsPerUser: row.max_seats_per_user,
    seatsPerRow: row.seats_per_row ?? row.total_seats,
    status: row.status,
    revision: row.revision,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Millisecond precision so timestamps round-trip exactly through JSON and pagination cursors. */
const nowMs = (db: Knex | Knex.Transaction) => db.raw("date_trunc('milliseconds', now())");

function writer(trx: Knex.Transaction): EventWriter {
  const events = () => trx.withSchema(SCHEMA).table<EventRow>(Tables.events);
  return {
    async insert(event: NewEvent) {
      const [row] = (await events()
        .insert({
          id: event.id,
          name: event.name,
          description: event.description,
          total_seats: event.totalSeats,
          max_seats_per_user: event.maxSeatsPerUser,
          seats_per_row: event.seatsPerRow,
          status: event.status,
          revision: 1,
          created_at: nowMs(trx),
          updated_at: nowMs(trx),
        })
        .returning('*')) as EventRow[];
      return toRecord(row!);
    },
    async update(id: string, changes: EventChanges) {
      const [row] = (await events()
        .where({ id })
        .update({
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.description !== undefined && { description: changes.description }),
          ...(changes.status !== undefined && { status: changes.status }),
          revision: trx.raw('revision + 1'),
          updated_at: nowMs(trx),
        })
        .returning('*')) as EventRow[];
      return row ? toRecord(row) : undefined;
    },
    async appendToOutbox(envelope, requestId) {
      await appendToOutbox(trx, SCHEMA, [envelope], requestId);
    },
  };
}

export function createEventStore(db: Knex): EventStore {
  const events = () => db.withSchema(SCHEMA).table<EventRow>(Tables.events);
  return {
    transaction: (work) => db.transaction((trx) => work(writer(trx))),

    async findById(id) {
      const row = (await events().where({ id }).first()) as EventRow | undefined;
      return row ? toRecord(row) : undefined;
    },

    async listNewestFirst(limit, after) {
      const query = events().orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]);
      if (after) query.whereRaw('(created_at, id) < (?, ?)', [after.createdAt, after.id]);
      const rows = (await query.limit(limit)) as EventRow[];
      return rows.map(toRecord);
    },
  };
}
