import { randomUUID } from 'node:crypto';
import type { SeatMap } from '@zephyr/contracts';
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
