import { randomUUID } from 'node:crypto';
import {
  ENVELOPE_VERSION,
  seatChangeBatches,
  seatChangesOf,
  type AuditAction,
  type DomainEnvelope,
  type SeatEnvelope,
  type SeatRoutingKey,
} from '@zephyr/contracts';
import type { AuditRow } from './reservation-repository';

/**
 * Field names of an entry in an event's outbox stream. The seat scripts write them (seat-scripts.ts
 * interpolates these constants into its Lua) and the relay reads them here: one table for both sides.
 */
export const OutboxFields = {
  type: 't',
  messageId: 'i',
  seat: 's',
  user: 'u',
  status: 'st',
  version: 'v',
  holdVersion: 'hv',
  auditSeq: 'q',
  at: 'a',
  heldAt: 'ha',
  expiresAt: 'ea',
  reservedAt: 'ra',
} as const;

const ACTION_BY_KEY: Record<SeatRoutingKey, AuditAction> = {
  'seat.held': 'held',
  'seat.refreshed': 'refreshed',
  'seat.released': 'released',
  'seat.expired': 'expired',
  'seat.reserved': 'reserved',
};

export interface StreamEntry {
  eventId: string;
  entryId: string;
  envelope: SeatEnvelope;
  audit: AuditRow;
}

const isoOf = (ms: string) => new Date(Number(ms)).toISOString();

/** One stream entry (flat field/value list) as the domain event it stands for and its audit row. */
export function decodeEntry(eventId: string, entryId: string, fields: string[], producer: string): StreamEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  const type = f[OutboxFields.type] as SeatRoutingKey;
  const at = new Date(Number(f[OutboxFields.at]));
  const data: SeatEnvelope['data'] = {
    eventId,
    seatNumber: Number(f[OutboxFields.seat]),
    status: f[OutboxFields.status] as SeatEnvelope['data']['status'],
    userId: f[OutboxFields.user]!,
    version: Number(f[OutboxFields.version]),
    holdVersion: Number(f[OutboxFields.holdVersion]),
  };
  const heldAt = f[OutboxFields.heldAt];
  const expiresAt = f[OutboxFields.expiresAt];
  const reservedAt = f[OutboxFields.reservedAt];
  if (heldAt) data.heldAt = isoOf(heldAt);
  if (expiresAt) data.expiresAt = isoOf(expiresAt);
  if (reservedAt) data.reservedAt = isoOf(reservedAt);
  const envelope: SeatEnvelope = {
    id: f[OutboxFields.messageId]!,
    type,
    version: ENVELOPE_VERSION,
    occurredAt: at.toISOString(),
    producer,
    data,
  };
  const action = ACTION_BY_KEY[type];
  return {
    eventId,
    entryId,
    envelope,
    audit: {
      eventId,
      seq: Number(f[OutboxFields.auditSeq]),
      action,
      seatNumber: data.seatNumber,
      userId: data.userId,
      version: data.version,
      at,
      expiresAt: (action === 'held' || action === 'refreshed') && expiresAt ? new Date(Number(expiresAt)) : undefined,
      messageId: envelope.id,
    },
  };
}

/** The seat-changes.batch envelopes that carry these messages' seat changes (both relays publish them). */
export function seatChangeBatchesOf(envelopes: readonly DomainEnvelope[], producer: string): DomainEnvelope[] {
  return seatChangeBatches(envelopes.flatMap(seatChangesOf), producer, randomUUID, new Date().toISOString());
}
