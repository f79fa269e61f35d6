import type { ErrorCode } from './errors';
export type EventStatus = 'active' | 'inactive' | 'cancelled';
export type SeatStatus = 'available' | 'held' | 'reserved';

export interface Event {
  id: string;
  name: string;
  description: string;
  totalSeats: number;
  maxSeatsPerUser: number;
  /** SPEC.md §7: rows are seats 1..seatsPerRow, seatsPerRow+1..2*seatsPerRow, ... */
  seatsPerRow: number;
  status: EventStatus;
  createdAt: string;
  updatedAt: string;
}

export interface SeatCounts {
  available: number;
  held: number;
  reserved: number;
}

export interface EventWithCounts extends Event {
  seats: SeatCounts;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Seat {
  eventId: string;
  seatNumber: number;
  status: SeatStatus;
  userId?: string;
  heldAt?: string;
  expiresAt?: string;
  reservedAt?: string;
}

export interface Hold {
  eventId: string;
  seatNumber: number;
  userId: string;
  heldAt: string;
  expiresAt: string;
}

/** SPEC.md §7 multi-seat answers, in ascending seat order. */
export interface HoldList {
  items: Hold[];
}
export interface SeatList {
  items: Seat[];
}

/** One failing seat of an all-or-nothing multi-seat request (the 409's `details`). */
export interface SeatFailure {
  seatNumber: number;
  code: ErrorCode;
}

export interface SeatMap {
  eventId: string;
  version: number;
  seats: Seat[];
}

export interface AvailableSeats {
  eventId: string;
  count: number;
  seats: number[];
}

export type AuditAction = 'held' | 'refreshed' | 'released' | 'expired' | 'reserved';

/**
 * One entry of an event's audit trail. `Time` is how its times are written: ISO strings on the wire (the
 * default); the seat-service's rows and a chaos run's history hold the same entry with Dates or epoch ms.
 */
export interface AuditEntry<Time = string> {
  seq: number;
  at: Time;
  action: AuditAction;
  seatNumber: number;
  userId: string;
  expiresAt?: Time;
}

/** Who is calling, as established from a verified token. */
export interface Identity {
  userId: string;
  isAdmin: boolean;
  /** When the token it came from expires (epoch ms): a long-lived connection must not outlive it. */
  expiresAtMs?: number;
}
