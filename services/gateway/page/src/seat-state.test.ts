import { SeatBook } from './seat-state';

const me = '00000000-0000-4000-8000-000000000001';
const seats = (n: number, eventId = 'e') =>
  Array.from({ length: n }, (_v, i) => ({ eventId, seatNumber: i + 1, status: 'available' as const }));

describe('SeatBook', () => {
  it('keeps changes that arrive before the snapshot and applies only those newer than it', () => {
    const book = new SeatBook(me);
    expect(book.apply({ seatNumber: 1, status: 'held', version: 4 })).toEqual([]);
    expect(book.apply({ seatNumber: 2, status: 'held', version: 6 })).toEqual([]);
    const snapshot = seats(3);
    snapshot[0] = { ...snapshot[0]!, status: 'held' };
    // The snapshot is complete up to version 5: the change at 4 is in it, the one at 6 is not.
    const changed = book.applySnapshot(5, snapshot);
    expect(changed.sort()).toEqual([1, 2, 3]);
    expect(book.seats.get(1)).toEqual({ status: 'held', version: 5, mine: false });
    expect(book.seats.get(2)).toEqual({ status: 'held', version: 6, mine: false });
    expect(book.counts()).toEqual({ available: 1, held: 2, reserved: 0 });
  });

  it('ignores older and equal versions, except that the user channel marks a seat as mine', () => {
    const book = new SeatBook(me);
    book.applySnapshot(10, seats(2));
    expect(book.apply({ seatNumber: 1, status: 'held', version: 11 })).toEqual([1]);
    expect(book.apply({ seatNumber: 1, status: 'available', version: 9 })).toEqual([]);
    expect(book.apply({ seatNumber: 1, status: 'available', version: 11 })).toEqual([]);
    expect(book.apply({ seatNumber: 1, status: 'held', version: 11, userId: me })).toEqual([1]);
    expect(book.seats.get(1)).toEqual({ status: 'held', version: 11, mine: true });
    expect(book.apply({ seatNumber: 1, status: 'reserved', version: 12 })).toEqual([1]);
    expect(book.seats.get(1)?.mine).toBe(true);
    expect(book.apply({ seatNumber: 2, status: 'held', version: 13, userId: 'someone-else' })).toEqual([2]);
    expect(book.seats.get(2)?.mine).toBe(false);
  });

  it('keeps showing the old map while a reconnect waits for its snapshot, then catches up', () => {
    const book = new SeatBook(me);
    book.applySnapshot(1, seats(2));
    book.apply({ seatNumber: 1, status: 'held', version: 2, userId: me });
    book.awaitSnapshot();
    expect(book.apply({ seatNumber: 2, status: 'held', version: 8 })).toEqual([]);
    expect(book.seats.get(1)?.status).toBe('held');
    const snapshot = seats(2);
    snapshot[0] = { ...snapshot[0]!, status: 'held' };
    expect(book.applySnapshot(7, snapshot)).toEqual([2]);
    expect(book.seats.get(1)).toEqual({ status: 'held', version: 7, mine: true });
    expect(book.seats.get(2)).toEqual({ status: 'held', version: 8, mine: false });
  });
});
