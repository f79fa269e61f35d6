import { OUTBOX_TABLE, appendToOutbox, type Knex } from '@zephyr/runtime';
import type { AuditAction, AuditEntry, SeatEnvelope } from '@zephyr/contracts';
import { SCHEMA } from '../migrations';
import type { RestoredReservation } from './seat-store';

export interface NewReservation {
  eventId: string;
  seatNumber: number;
  userId: string;
  holdVersion: number;
  version: number;
  auditSeq: number;
}

export type CommitOutcome =
  | { outcome: 'reserved'; reservedAt: Date; messageId: string }
  | { outcome: 'already'; reservedAt: Date }
  | { outcome: 'taken' };

export interface AuditRow {
  eventId: string;
  seq: number;
  action: AuditAction;
  seatNumber: number;
  userId: string;
  version: number;
  at: Date;
  expiresAt?: Date;
  messageId: string;
}

export class ReservationRepository {
  constructor(private readonly db: Knex) {}

  /**
   * Inserts the reservation, its audit row and its seat.reserved event in one transaction. The primary
   * key makes a second reservation of a seat impossible; the holder's repeat gets the first reservedAt.
   */
  async commit(
    input: NewReservation,
    buildEnvelope: (reservedAt: Date) => SeatEnvelope,
    requestId?: string,
  ): Promise<CommitOutcome> {
    return this.db.transaction(async (trx) => {
      const inserted = (await trx
        .withSchema(SCHEMA)
        .insert({
          event_id: input.eventId,
          seat_number: input.seatNumber,
          user_id: input.userId,
          hold_version: input.holdVersion,
          version: input.version,
          reserved_at: trx.fn.now(),
        })
        .into('reservations')
        .onConflict(['event_id', 'seat_number'])
        .ignore()
        .returning(['reserved_at'])) as { reserved_at: Date }[];
      if (inserted.length === 0) {
        const existing = (await trx
          .withSchema(SCHEMA)
          .select('user_id', 'reserved_at')
          .from('reservations')
          .where({ event_id: input.eventId, seat_number: input.seatNumber })
          .first()) as { user_id: string; reserved_at: Date } | undefined;
        if (existing && existing.user_id === input.userId)
          return { outcome: 'already', reservedAt: existing.reserved_at };
        return { outcome: 'taken' };
      }
      const reservedAt = inserted[0]!.reserved_at;
      const envelope = buildEnvelope(reservedAt);
      await trx
        .withSchema(SCHEMA)
        .insert({
          event_id: input.eventId,
          seq: input.auditSeq,
          action: 'reserved',
          seat_number: input.seatNumber,
          user_id: input.userId,
          version: input.version,
          at: reservedAt,
          message_id: envelope.id,
        })
        .into('seat_audit');
      await appendToOutbox(trx, SCHEMA, [envelope], requestId);
      return { outcome: 'reserved', reservedAt, messageId: envelope.id };
    });
  }

  /** The ordered path delivered these; their fallback copies in the outbox are no longer needed. */
  async forgetOutboxCopies(messageIds: string[]): Promise<void> {
    if (messageIds.length === 0) return;
    await this.db.withSchema(SCHEMA).from(OUTBOX_TABLE).whereIn('message_id', messageIds).delete();
  }

  async find(eventId: string, seatNumber: number): Promise<{ userId: string; reservedAt: Date } | undefined> {
    const row = (await this.db
      .withSchema(SCHEMA)
      .select('user_id', 'reserved_at')
      .from('reservations')
      .where({ event_id: eventId, seat_number: seatNumber })
      .first()) as { user_id: string; reserved_at: Date } | undefined;
    return row && { userId: row.user_id, reservedAt: row.reserved_at };
  }

  /** Reservations and the highest counter ever used, to rebuild Redis after it lost its data. */
  async restoreState(eventId: string): Promise<{ reservations: RestoredReservation[]; counterCeiling: number }> {
    const rows = (await this.db
      .withSchema(SCHEMA)
      .select('seat_number', 'user_id', 'reserved_at', 'hold_version', 'version')
      .from('reservations')
      .where({ event_id: eventId })) as {
      seat_number: number;
      user_id: string;
      reserved_at: Date;
      hold_version: number;
      version: number;
    }[];
    const audit = (await this.db
      .withSchema(SCHEMA)
      .from('seat_audit')
      .where({ event_id: eventId })
      .max({ seq: 'seq', version: 'version' })
      .first()) as { seq: number | null; version: number | null } | undefined;
    const counterCeiling = Math.max(
      0,
      Number(audit?.seq ?? 0),
      Number(audit?.version ?? 0),
      ...rows.map((r) => Number(r.version)),
    );
    return {
      reservations: rows.map((r) => ({
        seatNumber: r.seat_number,
        userId: r.user_id,
        reservedAtMs: r.reserved_at.getTime(),
        holdVersion: Number(r.hold_version),
      })),
      counterCeiling,
    };
  }

  /**
   * Written by the Redis outbox relay; a redelivered row is ignored (exactly once per message id). One
   * statement with array parameters: its text is the same for every batch size, so it is cheap to build.
   */
  async appendAudit(rows: AuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.raw(
      `INSERT INTO ${SCHEMA}.seat_audit (event_id, seq, action, seat_number, user_id, version, at, expires_at, message_id)
       SELECT * FROM unnest(?::uuid[], ?::bigint[], ?::text[], ?::int[], ?::uuid[], ?::bigint[], ?::timestamptz[], ?::timestamptz[], ?::text[])
       ON CONFLICT DO NOTHING`,
      [
        rows.map((r) => r.eventId),
        rows.map((r) => r.seq),
        rows.map((r) => r.action),
        rows.map((r) => r.seatNumber),
        rows.map((r) => r.userId),
        rows.map((r) => r.version),
        rows.map((r) => r.at),
        rows.map((r) => r.expiresAt ?? null),
        rows.map((r) => r.messageId),
      ],
    );
  }

  async history(eventId: string, afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const rows = (await this.db
      .withSchema(SCHEMA)
      .select('seq', 'at', 'action', 'seat_number', 'user_id', 'expires_at')
      .from('seat_audit')
      .where({ event_id: eventId })
      .andWhere('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)) as {
      seq: number;
      at: Date;
      action: AuditAction;
      seat_number: number;
      user_id: string;
      expires_at: Date | null;
    }[];
    return rows.map((r) => {
      const entry: AuditEntry = {
        seq: Number(r.seq),
        at: r.at.toISOString(),
        action: r.action,
        seatNumber: r.seat_number,
        userId: r.user_id,
      };
      if (r.expires_at) entry.expiresAt = r.expires_at.toISOString();
      return entry;
    });
  }
}
