import { OUTBOX_TABLE, appendToOutbox, type Knex } from '@zephyr/runtime';
import type { AuditAction, AuditEntry, SeatEnvelope } from '@zephyr/contracts';
import { SCHEMA } from '../migrations';
import type { OpenHold } from '../domain/lost-holds';
import type { RestoredReservation } from './seat-store';
import type {
  FoundReservation,
  CommitOutcome,
  HoldVerdict,
  NewReservations,
  ReservationsPort,
  SeatClaim,
  SeatCommit,
  SeatRefusal,
} from '../domain/ports';

/** Thrown inside the transaction to roll back an all-or-nothing commit that found a refused seat. */
class Refused extends Error {
  constructor(readonly refusals: SeatRefusal[]) {
    super('reserve refused');
  }
}

const VERDICTS = `${SCHEMA}.hold_verdicts`;

/** An audit entry as written, with its event, the seat version it recorded and the message it came from. */
export interface AuditRow extends AuditEntry<Date> {
  eventId: string;
  version: number;
  messageId: string;
}

export class ReservationRepository implements ReservationsPort {
  constructor(private readonly db: Knex) {}

  /**
   * Commits the seats' reservations, audit rows and seat.reserved events in ONE transaction, all or
   * nothing. Each seat is fenced twice: its hold version's verdict (an expiry that gave the hold up wrote
   * 'abandoned' first → 'lost'), and the reservation primary key (someone else's row → 'taken'; the
   * holder's own row → 'already', keeping the first reservedAt).
   */
  async commit(
    input: NewReservations,
    buildEnvelope: (seat: SeatClaim, reservedAt: Date) => SeatEnvelope,
    requestId?: string,
  ): Promise<CommitOutcome> {
    try {
      const seats = await this.db.transaction(async (trx) => {
        const claims = input.seats;
        const decided = (await trx.raw(
          `INSERT INTO ${VERDICTS} (event_id, seat_number, hold_version, verdict)
           SELECT ?::uuid, s, v, 'reserved' FROM unnest(?::int[], ?::bigint[]) AS c(s, v)
           ON CONFLICT DO NOTHING RETURNING seat_number`,
          [input.eventId, claims.map((c) => c.seatNumber), claims.map((c) => c.holdVersion)],
        )) as { rows: { seat_number: number }[] };
        if (decided.rows.length < claims.length) {
          // A verdict existed: 'reserved' by a concurrent reserve of the same hold (it joins), or 'abandoned'.
          const fresh = new Set(decided.rows.map((r) => r.seat_number));
          const lost: SeatRefusal[] = [];
          for (const claim of claims.filter((c) => !fresh.has(c.seatNumber))) {
            const verdict = await verdictOf(trx, input.eventId, claim.seatNumber, claim.holdVersion);
            if (verdict !== 'reserved') lost.push({ seatNumber: claim.seatNumber, reason: 'lost' });
          }
          if (lost.length > 0) throw new Refused(lost);
        }
        const inserted = (await trx.raw(
          `INSERT INTO ${SCHEMA}.reservations (event_id, seat_number, user_id, hold_version, version, reserved_at)
           SELECT ?::uuid, s, ?::uuid, hv, v, now() FROM unnest(?::int[], ?::bigint[], ?::bigint[]) AS c(s, hv, v)
           ON CONFLICT (event_id, seat_number) DO NOTHING RETURNING seat_number, reserved_at`,
          [
            input.eventId,
            input.userId,
            claims.map((c) => c.seatNumber),
            claims.map((c) => c.holdVersion),
            claims.map((c) => c.version),
          ],
        )) as { rows: { seat_number: number; reserved_at: Date }[] };
        const reservedAtBySeat = new Map(inserted.rows.map((r) => [r.seat_number, r.reserved_at]));
        const existing = claims.filter((c) => !reservedAtBySeat.has(c.seatNumber));
        const already = new Map<number, Date>();
        if (existing.length > 0) {
          const rows = (await trx
            .withSchema(SCHEMA)
            .select('seat_number', 'user_id', 'reserved_at')
            .from('reservations')
            .where({ event_id: input.eventId })
            .whereIn(
              'seat_number',
              existing.map((c) => c.seatNumber),
            )) as { seat_number: number; user_id: string; reserved_at: Date }[];
          const taken: SeatRefusal[] = [];
          for (const row of rows) {
            if (row.user_id === input.userId) already.set(row.seat_number, row.reserved_at);
            else taken.push({ seatNumber: row.seat_number, reason: 'taken' });
          }
          if (taken.length > 0) throw new Refused(taken);
        }
        const results: SeatCommit[] = [];
        const envelopes: SeatEnvelope[] = [];
        for (const claim of claims) {
          const reservedAt = reservedAtBySeat.get(claim.seatNumber);
          if (!reservedAt) {
            results.push({
              seatNumber: claim.seatNumber,
              outcome: 'already',
              reservedAt: already.get(claim.seatNumber)!,
            });
            continue;
          }
          const envelope = buildEnvelope(claim, reservedAt);
          envelopes.push(envelope);
          results.push({ seatNumber: claim.seatNumber, outcome: 'reserved', reservedAt, messageId: envelope.id });
        }
        if (envelopes.length > 0) {
          await trx
            .withSchema(SCHEMA)
            .insert(
              claims
                .filter((c) => reservedAtBySeat.has(c.seatNumber))
                .map((c, i) => ({
                  event_id: input.eventId,
                  seq: c.auditSeq,
                  action: 'reserved',
                  seat_number: c.seatNumber,
                  user_id: input.userId,
                  version: c.version,
                  at: reservedAtBySeat.get(c.seatNumber)!,
                  message_id: envelopes[i]!.id,
                })),
            )
            .into('seat_audit');
          await appendToOutbox(trx, SCHEMA, envelopes, requestId);
        }
        return results;
      });
      return { outcome: 'committed', seats };
    } catch (err) {
      if (err instanceof Refused) return { outcome: 'refused', refusals: err.refusals };
      throw err;
    }
  }

  /**
   * The other side of the fence, for a reserve that stalled past its deadline: gives the hold version up
   * unless its reserve committed first. A reserve still inside its transaction holds the verdict row; we
   * wait for it only briefly (the caller retries later) rather than pile up behind a stopped process.
   */
  async abandonHold(eventId: string, seatNumber: number, holdVersion: number): Promise<HoldVerdict> {
    return this.db.transaction(async (trx) => {
      await trx.raw(`SET LOCAL lock_timeout = '2s'`);
      await trx.raw(
        `INSERT INTO ${VERDICTS} (event_id, seat_number, hold_version, verdict) VALUES (?, ?, ?, 'abandoned')
         ON CONFLICT DO NOTHING`,
        [eventId, seatNumber, holdVersion],
      );
      const verdict = (await verdictOf(trx, eventId, seatNumber, holdVersion))!;
      if (verdict === 'reserved') return verdict;
      // Reserves committed before verdicts existed left only their reservation row.
      const legacy = await trx
        .withSchema(SCHEMA)
        .select('user_id')
        .from('reservations')
        .where({ event_id: eventId, seat_number: seatNumber, hold_version: holdVersion })
        .first();
      return legacy ? 'reserved' : verdict;
    });
  }

  /**
   * Holds the audit shows open (their seat's last action is held or refreshed), with the hold version and
   * heldAt of their last 'held' entry. Bounded to recent actions: an open hold acted on longer ago than
   * the longest hold has expired (and was announced) or was already lost before.
   */
  async openHolds(withinSeconds: number, eventId?: string): Promise<OpenHold[]> {
    const result = (await this.db.raw(
      `WITH last AS (
         SELECT DISTINCT ON (event_id, seat_number) event_id, seat_number, action, user_id, expires_at
         FROM ${SCHEMA}.seat_audit WHERE at > now() - make_interval(secs => ?)
           AND (?::uuid IS NULL OR event_id = ?::uuid)
         ORDER BY event_id, seat_number, seq DESC)
       SELECT l.event_id, l.seat_number, l.user_id, l.expires_at, h.version AS hold_version, h.at AS held_at
       FROM last l
       JOIN LATERAL (
         SELECT version, at FROM ${SCHEMA}.seat_audit a
         WHERE a.event_id = l.event_id AND a.seat_number = l.seat_number AND a.action = 'held'
         ORDER BY seq DESC LIMIT 1) h ON true
       WHERE l.action IN ('held', 'refreshed')`,
      [withinSeconds, eventId ?? null, eventId ?? null],
    )) as {
      rows: {
        event_id: string;
        seat_number: number;
        user_id: string;
        expires_at: Date;
        hold_version: number;
        held_at: Date;
      }[];
    };
    return result.rows.map((r) => ({
      eventId: r.event_id,
      seatNumber: r.seat_number,
      userId: r.user_id,
      holdVersion: Number(r.hold_version),
      heldAtMs: r.held_at.getTime(),
      expiresAtMs: r.expires_at.getTime(),
    }));
  }

  /** The recorded verdict of one hold version, if any (a reserve that failed asks whether it was fenced off). */
  verdict(eventId: string, seatNumber: number, holdVersion: number): Promise<HoldVerdict | undefined> {
    return verdictOf(this.db, eventId, seatNumber, holdVersion);
  }

  /**
   * The seat's seat.reserved still waiting in the PostgreSQL outbox (its reserve committed but never
   * reached the ordered stream), with the counters it was committed with; undefined once delivered.
   */
  async undeliveredReservedEvent(
    eventId: string,
    seatNumber: number,
  ): Promise<{ messageId: string; version: number; auditSeq: number } | undefined> {
    const result = (await this.db.raw(
      `SELECT o.message_id, (o.envelope->'data'->>'version')::bigint AS version, a.seq
       FROM ${SCHEMA}.${OUTBOX_TABLE} o JOIN ${SCHEMA}.seat_audit a ON a.message_id = o.message_id
       WHERE o.envelope->>'type' = 'seat.reserved' AND o.envelope->'data'->>'eventId' = ?
         AND (o.envelope->'data'->>'seatNumber')::int = ?
       LIMIT 1`,
      [eventId, seatNumber],
    )) as { rows: { message_id: string; version: number; seq: number }[] };
    const row = result.rows[0];
    return row && { messageId: row.message_id, version: Number(row.version), auditSeq: Number(row.seq) };
  }

  /** The ordered path delivered these; their fallback copies in the outbox are no longer needed. */
  async forgetOutboxCopies(messageIds: string[]): Promise<void> {
    if (messageIds.length === 0) return;
    await this.db.withSchema(SCHEMA).from(OUTBOX_TABLE).whereIn('message_id', messageIds).delete();
  }

  async find(eventId: string, seatNumber: number): Promise<FoundReservation | undefined> {
    const row = (await this.db
      .withSchema(SCHEMA)
      .select('user_id', 'reserved_at', 'hold_version')
      .from('reservations')
      .where({ event_id: eventId, seat_number: seatNumber })
      .first()) as { user_id: string; reserved_at: Date; hold_version: string } | undefined;
    return row && { userId: row.user_id, reservedAt: row.reserved_at, holdVersion: Number(row.hold_version) };
  }

  async unfinishedReserves(olderThanMs: number, limit: number): Promise<{ eventId: string; seatNumber: number }[]> {
    const result = (await this.db.raw(
      `SELECT o.envelope->'data'->>'eventId' AS event_id, (o.envelope->'data'->>'seatNumber')::int AS seat_number
       FROM ${SCHEMA}.${OUTBOX_TABLE} o
       WHERE o.envelope->>'type' = 'seat.reserved' AND o.created_at < now() - make_interval(secs => ?)
       ORDER BY o.seq LIMIT ?`,
      [olderThanMs / 1000, limit],
    )) as { rows: { event_id: string; seat_number: number }[] };
    return result.rows.map((r) => ({ eventId: r.event_id, seatNumber: r.seat_number }));
  }

  /** Reservations and the highest counter ever used, to rebuild Redis after it lost its data. */
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

async function verdictOf(
  db: Knex | Knex.Transaction,
  eventId: string,
  seatNumber: number,
  holdVersion: number,
): Promise<HoldVerdict | undefined> {
  const row = (await db
    .withSchema(SCHEMA)
    .select('verdict')
    .from('hold_verdicts')
    .where({ event_id: eventId, seat_number: seatNumber, hold_version: holdVersion })
    .first()) as { verdict: HoldVerdict } | undefined;
  return row?.verdict;
}
