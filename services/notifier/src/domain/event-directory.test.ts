import { ErrorCodes, type SeatMap } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';
import { createEventDirectory } from './event-directory';

/**
 * A seat-service that counts its calls and answers each on the next turn of the loop: a map whose version is
 * the call's number, or 'down' for the calls `fails` names.
 */
function slowSeatService(fails: (call: number) => boolean = () => false) {
  const seatService = {
    calls: 0,
    getSeatMap: async (id: string): Promise<SeatMap> => {
      const call = ++seatService.calls;
      await new Promise((resolve) => setImmediate(resolve));
      if (fails(call)) throw new Error('down');
      return { eventId: id, version: call, seats: [] };
    },
  };
  return seatService;
}

describe('EventDirectory', () => {
  it('checks an event once however many subscribes wait on it at the same time, then never again', async () => {
    const eventId = crypto.randomUUID();
    const seatService = slowSeatService();
    const directory = createEventDirectory(seatService);
    await Promise.all(Array.from({ length: 50 }, () => directory.ensureExists(eventId)));
    expect(seatService.calls).toBe(1);
    await directory.ensureExists(eventId);
    expect(seatService.calls).toBe(1);
  });

  it('lets the next subscribe try again after a failed check', async () => {
    let fail = true;
    const directory = createEventDirectory({
      getSeatMap: async (id): Promise<SeatMap> => {
        if (fail) throw new Error('down');
        return { eventId: id, version: 0, seats: [] };
      },
    });
    const eventId = crypto.randomUUID();
    await expect(Promise.all([directory.ensureExists(eventId), directory.ensureExists(eventId)])).rejects.toThrow(
      'down',
    );
    fail = false;
    await expect(directory.ensureExists(eventId)).resolves.toBeUndefined();
  });
});

describe('EventDirectory snapshots', () => {
  it('shares reads: callers during a read get the one read started after it, never the one in flight', async () => {
    const eventId = crypto.randomUUID();
    const answers: ((map: SeatMap) => void)[] = [];
    const directory = createEventDirectory({
      getSeatMap: (id) => new Promise<SeatMap>((resolve) => answers.push((map) => resolve({ ...map, eventId: id }))),
    });
    const first = directory.snapshot(eventId);
    // Asked while the first read runs: its map may predate them, so they wait for a second read.
    const late = Array.from({ length: 100 }, () => directory.snapshot(eventId));
    expect(answers).toHaveLength(1);
    answers[0]!({ eventId, version: 1, seats: [] });
    expect((await first).version).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(answers).toHaveLength(2);
    answers[1]!({ eventId, version: 2, seats: [] });
    for (const map of await Promise.all(late)) expect(map.version).toBe(2);
    // Nothing in flight any more: the next caller starts a read of its own.
    const next = directory.snapshot(eventId);
    expect(answers).toHaveLength(3);
    answers[2]!({ eventId, version: 3, seats: [] });
    expect((await next).version).toBe(3);
  });

  it('lets the queued callers read again after the read in flight failed', async () => {
    const eventId = crypto.randomUUID();
    const directory = createEventDirectory(slowSeatService((call) => call === 1));
    const first = directory.snapshot(eventId);
    const queued = directory.snapshot(eventId);
    await expect(first).rejects.toThrow('down');
    expect((await queued).version).toBe(2);
  });
});

describe('EventDirectory negative cache', () => {
  it('answers an unknown event from memory for a while instead of asking the seat-service each time', async () => {
    let calls = 0;
    let now = 1_000_000;
    const directory = createEventDirectory(
      {
        getSeatMap: async (): Promise<SeatMap> => {
          calls++;
          throw new AppError(ErrorCodes.EventNotFound, 'No such event');
        },
      },
      { unknownTtlMs: 10_000, now: () => now },
    );
    const eventId = crypto.randomUUID();
    for (let i = 0; i < 20; i++) {
      await expect(directory.ensureExists(eventId)).rejects.toMatchObject({ code: ErrorCodes.EventNotFound });
      await expect(directory.snapshot(eventId)).rejects.toMatchObject({ code: ErrorCodes.EventNotFound });
    }
    expect(calls).toBe(1);
    expect(directory.isKnown(eventId)).toBe(false);
    now += 10_001;
    await expect(directory.ensureExists(eventId)).rejects.toMatchObject({ code: ErrorCodes.EventNotFound });
    expect(calls).toBe(2);
  });

  it('does not remember an outage as an unknown event', async () => {
    let calls = 0;
    const directory = createEventDirectory({
      getSeatMap: async (): Promise<SeatMap> => {
        calls++;
        throw new Error('Connection terminated');
      },
    });
    const eventId = crypto.randomUUID();
    await expect(directory.ensureExists(eventId)).rejects.toThrow('Connection terminated');
    await expect(directory.ensureExists(eventId)).rejects.toThrow('Connection terminated');
    expect(calls).toBe(2);
  });
});
