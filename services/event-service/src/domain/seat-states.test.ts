import { newestPerSeat, seatCounts, seatStateFrom, supersedes, type SeatState } from './seat-states';

const eventId = '6f1c5b3e-1111-4222-8333-444455556666';
const state = (
  seatNumber: number,
  version: number,
  status: SeatState['status'] = 'held',
  expiresAt: string | null = null,
): SeatState => ({
  eventId,
  seatNumber,
  status,
  version,
  expiresAt,
});

describe('supersedes', () => {
  it('prefers the higher version whatever the expiry', () => {
    expect(supersedes(state(1, 2, 'available'), state(1, 1, 'held', '2030-01-01T00:00:00.000Z'))).toBe(true);
    expect(supersedes(state(1, 1, 'held', '2030-01-01T00:00:00.000Z'), state(1, 2, 'available'))).toBe(false);
  });

  it('at the same version only a later expiry wins (seat.refreshed)', () => {
    const early = state(1, 5, 'held', '2026-01-01T00:00:00.000Z');
    const late = state(1, 5, 'held', '2026-01-01T00:01:00.000Z');
    expect(supersedes(late, early)).toBe(true);
    expect(supersedes(early, late)).toBe(false);
    expect(supersedes(early, early)).toBe(false);
    expect(supersedes(state(1, 5, 'available'), early)).toBe(false);
  });
});

describe('newestPerSeat', () => {
  it('keeps one state per seat, the newest, whatever the arrival order', () => {
    const result = newestPerSeat([
      state(1, 3, 'available'),
      state(2, 1),
      state(1, 2, 'held'),
      state(2, 4, 'reserved'),
      state(1, 3, 'available'),
      { ...state(1, 9), eventId: '00000000-0000-4000-8000-000000000000' },
    ]);
    expect(result).toHaveLength(3);
    expect(result).toEqual(
      expect.arrayContaining([
        state(1, 3, 'available'),
        state(2, 4, 'reserved'),
        { ...state(1, 9), eventId: '00000000-0000-4000-8000-000000000000' },
      ]),
    );
  });

  it('orders the batch by event and seat, so concurrent upserts lock rows in one order (no deadlock)', () => {
    const other = '00000000-0000-4000-8000-000000000000';
    const result = newestPerSeat([state(10, 1), state(2, 1), { ...state(5, 1), eventId: other }, state(9, 1)]);
    expect(result.map((s) => [s.eventId, s.seatNumber])).toEqual([
      [other, 5],
      [eventId, 2],
      [eventId, 9],
      [eventId, 10],
    ]);
  });
});

describe('seatStateFrom', () => {
  const base = { eventId, seatNumber: 3, userId: eventId, version: 7, holdVersion: 2 };
  it('keeps expiresAt only for holds', () => {
    expect(seatStateFrom({ ...base, status: 'held', expiresAt: '2026-01-01T00:00:00.000Z' }).expiresAt).toBe(
      '2026-01-01T00:00:00.000Z',
    );
    expect(seatStateFrom({ ...base, status: 'reserved', expiresAt: '2026-01-01T00:00:00.000Z' }).expiresAt).toBeNull();
    expect(seatStateFrom({ ...base, status: 'available' })).toEqual({
      eventId,
      seatNumber: 3,
      status: 'available',
      version: 7,
      expiresAt: null,
    });
  });
});

describe('seatCounts', () => {
  it('derives available from the total', () => {
    expect(seatCounts(100, { held: 3, reserved: 4 })).toEqual({ available: 93, held: 3, reserved: 4 });
  });
  it('never goes negative, even if told about seats beyond the total', () => {
    expect(seatCounts(10, { held: 8, reserved: 5 })).toEqual({ available: 0, held: 8, reserved: 2 });
  });
});
