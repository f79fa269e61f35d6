export type EventStatus = 'active' | 'inactive' | 'cancelled';
export type SeatStatus = 'available' | 'held' | 'reserved';

export interface Event {
  id: string;
  name: string;
  description: string;
  totalSeats: number;
  maxSeatsPerUser: number;
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

export interface AuditEntry {
  seq: number;
  at: string;
  action: AuditAction;
  seatNumber: number;
  userId: string;
  expiresAt?: string;
}

/** Who is calling, as established from a verified token. */
export interface Identity {
  userId: string;
  isAdmin: boolean;
}
