/**
 * What a chaos run records: every client operation with its invocation and completion times and its
 * answer, every WebSocket session's stream, the faults injected, and the final state read after settling.
 * Plain data, so a recorded history can be saved as JSON and fed to the checker again.
 */
import type { AuditEntry } from '@zephyr/contracts';

export type OpKind = 'hold' | 'holdMany' | 'best' | 'reserve' | 'reserveMany' | 'release' | 'refresh';

export interface Op {
  id: number;
  userId: string;
  kind: OpKind;
  eventId: string;
  /** The seats asked for (for best-available: the seats answered, empty when refused). */
  seats: number[];
  invokedAt: number;
  completedAt: number;
  /** HTTP status, or 0 when no answer came (timeout, connection reset). */
  status: number;
  body: unknown;
}

export interface StreamUpdate {
  seatNumber: number;
  status: string;
  version: number;
  receivedAt: number;
}

/** One subscription of one socket to one event, from SUBSCRIBED to the socket's close (or the check). */
export interface Session {
  replica: string;
  eventId: string;
  batch: boolean;
  subscribedAt: number;
  /** When the socket closed; undefined if it was open when the final state was read. */
  endedAt?: number;
  updates: StreamUpdate[];
}

export interface Fault {
  kind: string;
  target: string;
  startedAt: number;
  endedAt: number;
}

export type { AuditAction } from '@zephyr/contracts';

/** An audit row as read back after a run, its times in epoch ms. */
export interface AuditRow extends AuditEntry<number> {
  eventId: string;
  version: number;
}

export interface SeatRow {
  seatNumber: number;
  status: string;
  userId?: string;
}

export interface FinalEvent {
  eventId: string;
  seats: SeatRow[];
  counts: { available: number; held: number; reserved: number };
}

export interface FinalState {
  /** When the final state was read. */
  readAt: number;
  reservations: { eventId: string; seatNumber: number; userId: string }[];
  audit: AuditRow[];
  events: FinalEvent[];
  /** Every user's live holds per event: `${eventId}/${userId}` → seat numbers. */
  holds: Record<string, number[]>;
}

export interface History {
  ops: Op[];
  sessions: Session[];
  faults: Fault[];
  final: FinalState;
}

export const VIOLATION_KINDS = [
  'reservedTwice',
  'reserveWithoutHold',
  'holdOverwritten',
  'missingFromAudit',
  'missingFromSubscriber',
  'seenTwice',
  'versionBackwards',
  'holdOutlivedExpiry',
  'countsMismatch',
  'finalStateMismatch',
] as const;

export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface Violation {
  kind: ViolationKind;
  eventId: string;
  seatNumber?: number;
  detail: string;
}
