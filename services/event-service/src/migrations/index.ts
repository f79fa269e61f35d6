import { createOutboxTable, OUTBOX_TABLE, type Knex, type Migration } from '@zephyr/runtime';
import { SCHEMA, Tables } from '../data-access/schema';

/** In-code migration list (dist needs no file globbing). Append only: never edit a released step. */
export const migrations: readonly Migration[] = [
  {
    name: '001_events_outbox_seat_states',
    async up(db: Knex) {
      await db.schema.withSchema(SCHEMA).createTable(Tables.events, (t) => {
        t.uuid('id').primary();
        t.text('name').notNullable();
        t.text('description').notNullable().defaultTo('');
        t.integer('total_seats').notNullable();
        t.integer('max_seats_per_user').notNullable();
        t.text('status').notNullable();
        t.integer('revision').notNullable().defaultTo(1);
        t.timestamp('created_at', { useTz: true }).notNullable();
        t.timestamp('updated_at', { useTz: true }).notNullable();
        t.check("status in ('active', 'inactive', 'cancelled')", [], 'events_status_check');
        t.check('max_seats_per_user between 1 and total_seats', [], 'events_max_seats_check');
      });
      // Keyset pagination walks (created_at, id) newest first.
      await db.raw('CREATE INDEX events_created_at_id_idx ON ??.?? (created_at DESC, id DESC)', [
        SCHEMA,
        Tables.events,
      ]);

      await createOutboxTable(db, SCHEMA);

      // Last known state of each seat as told by seat.* messages; only used for the counts on GET.
      await db.schema.withSchema(SCHEMA).createTable(Tables.seatStates, (t) => {
        t.uuid('event_id').notNullable();
        t.integer('seat_number').notNullable();
        t.text('status').notNullable();
        t.bigInteger('version').notNullable();
        t.timestamp('expires_at', { useTz: true }).nullable();
        t.primary(['event_id', 'seat_number']);
      });
    },
    async down(db: Knex) {
      await db.schema.withSchema(SCHEMA).dropTableIfExists(Tables.seatStates);
      await db.schema.withSchema(SCHEMA).dropTableIfExists(OUTBOX_TABLE);
      await db.schema.withSchema(SCHEMA).dropTableIfExists(Tables.events);
    },
  },
  {
    name: '002_events_seats_per_row',
    async up(db: Knex) {
      // SPEC.md §7 rows; events created before have one row of totalSeats.
      await db.schema.withSchema(SCHEMA).alterTable(Tables.events, (t) => {
        t.integer('seats_per_row').nullable();
        t.check('seats_per_row between 1 and total_seats', [], 'events_seats_per_row_check');
      });
    },
    async down(db: Knex) {
      await db.schema.withSchema(SCHEMA).alterTable(Tables.events, (t) => {
        t.dropChecks('events_seats_per_row_check');
        t.dropColumn('seats_per_row');
      });
    },
  },
];
