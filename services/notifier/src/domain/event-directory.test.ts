import { randomUUID } from 'node:crypto';
import { ErrorCodes, type SeatMap } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';
import { createEventDirectory } from './event-directory';

describe('EventDirectory', () => {
  it('checks an event once however many subscribes wait on it at the same time, then never again', async () => {
    const eventId = randomUUID();
    let calls = 0;
    const directory = createEventDirectory({
      getSeatMap: async (id): Promise<SeatMap> => {
        calls++;
        await new Promise((resolve) => setImmediate(resolve));
        return { eventId: id, version: 0, seats: [] };
      },
    });
    await Promise.all(Array.from({ length: 50 }, () => directory.ensureExists(eventId)));
    expect(calls).toBe(1);
    await directory.ensureExists(eventId);
    expect(calls).toBe(1);
  });

  it('lets the next subscribe try again after a failed check', async () => {
    let fail = true;
    const directory = createEventDirectory({
      getSeatMap: async (id): Promise<SeatMap> => {
        if (fail) throw new Error('down');
        return { eventId: id, version: 0, seats: [] };
      },
    });
    const eventId = randomUUID();
    await expect(Promise.all([directory.ensureExists(eventId), directory.ensureExists(eventId)])).rejects.toThrow(
      'down',
    );
    fail = false;
    await expect(directory.ensureExists(eventId)).resolves.toBeUndefined();
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
    const eventId = randomUUID();
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
    const eventId = randomUUID();
    await expect(directory.ensureExists(eventId)).rejects.toThrow('Connection terminated');
    await expect(directory.ensureExists(eventId)).rejects.toThrow('Connection terminated');
    expect(calls).toBe(2);
  });
});
