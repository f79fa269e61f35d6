import { createOutboxTable, type Knex, type Migration } from '@zephyr/runtime';

export const SCHEMA = 'seat_service';

export const migrations: readonly Migration[] = [
  {
    name: '001_reservations_audit_outbox',
    async up(db: Knex) {
      // The last guard against double booking: one reservation row per seat, whatever Redis says.
      await db.schema.withSchema(SCHEMA).createTable('reservations', (t) => {
        t.uuid('event_id').notNullable();
        t.integer('seat_number').notNullable();
        t.uuid('user_id').notNullable();
        t.bigInteger('hold_version').notNullable();
        t.bigInteger('version').notNullable();
        t.timestamp('reserved_at', { useTz: true }).notNullable();
        t.primary(['event_id', 'seat_number']);
      });
      // Every seat action, exactly once: (event_id, seq) is assigned by the same Redis script as the action.
      await db.schema.withSchema(SCHEMA).createTable('seat_audit', (t) => {
        t.uuid('event_id').notNullable();
        t.bigInteger('seq').notNullable();
        t.text('action').notNullable();
        t.integer('seat_number').notNullable();
        t.uuid('user_id').notNullable();
        t.bigInteger('version').notNullable();
        t.timestamp('at', { useTz: true }).notNullable();
        t.timestamp('expires_at', { useTz: true });
        t.text('message_id').notNullable().unique();
        t.primary(['event_id', 'seq']);
      });
      await createOutboxTable(db, SCHEMA);
    },
    async down(db: Knex) {
      await db.schema.withSchema(SCHEMA).dropTableIfExists('outbox');
      await db.schema.withSchema(SCHEMA).dropTableIfExists('seat_audit');
      await db.schema.withSchema(SCHEMA).dropTableIfExists('reservations');
    },
  },
  {
    name: '002_hold_verdicts',
    async up(db: Knex) {
      // The fence at the commit: one verdict per hold version. A reserve writes 'reserved' in its own
      // transaction; the expiry of a stalled reserve writes 'abandoned'. Whichever commits first wins, so
      // a reserve that stalled past its deadline can never commit after its hold was given up.
      await db.schema.withSchema(SCHEMA).createTable('hold_verdicts', (t) => {
        t.uuid('event_id').notNullable();
        t.integer('seat_number').notNullable();
        t.bigInteger('hold_version').notNullable();
        t.text('verdict').notNullable();
        t.timestamp('decided_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        t.primary(['event_id', 'seat_number', 'hold_version']);
        t.check("verdict in ('reserved', 'abandoned')", [], 'hold_verdicts_verdict_check');
      });
    },
    async down(db: Knex) {
      await db.schema.withSchema(SCHEMA).dropTableIfExists('hold_verdicts');
    },
  },
];
