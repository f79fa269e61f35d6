import { http, inParallel, newUsers, useStack, waitFor } from '@zephyr/testing';

/**
 * The stream relay reads, acknowledges and sweeps many events' streams in one turn. On a Redis Cluster
 * those streams live on different shards (one hash tag per event), and one pipeline may only talk to one
 * shard: a turn that mixed them failed every time, so once two busy events on different shards were dirty
 * together nothing of either was ever relayed again. `npm run test:cluster` runs this file on a cluster.
 */
const stack = useStack('relaymany', { services: ['event-service', 'seat-service'] });

const EVENTS = 12;

it('relays the changes of many events that change at once, every one, in every round', async () => {
  const seatUrl = stack.urlOf('seat-service');
  const eventIds = await Promise.all(
    Array.from({ length: EVENTS }, (_, i) => stack.createEvent({ name: `Relay ${i}`, totalSeats: 10 })),
  );
  const users = await newUsers(3);
  for (const [round, user] of users.entries()) {
    const seat = round + 1;
    const answers = await inParallel(
      EVENTS,
      eventIds.map(
        (eventId) => () => http(seatUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token: user.token }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(eventIds.map(() => 201));
    // Every event's hold reaches the audit, which the relay writes once it has published the fact.
    await waitFor(
      async () => {
        const rows = await stack.db.query<{ event_id: string }>(
          "SELECT event_id FROM seat_service.seat_audit WHERE event_id = ANY($1) AND action = 'held' AND seat_number = $2",
          [eventIds, seat],
        );
        return rows.rowCount === EVENTS;
      },
      { timeoutMs: 10_000, what: `round ${round + 1}: the holds of all ${EVENTS} events relayed` },
    );
  }
}, 60_000);
