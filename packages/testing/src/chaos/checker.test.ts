import { checkHistory } from './checker';
import type { AuditRow, History, Op, Session, ViolationKind } from './history';

/**
 * The checker can fail: hand-made histories, each with one kind of violation, and the history of the
 * unfenced reserve that issue 10 reproduced (a stalled reserve committing after its hold was expired and
 * the seat re-held by another buyer), as the build without the fence at the commit recorded it.
 */
const E = '00000000-0000-4000-8000-00000000000e';
const A = 'aaaaaaaa-0000-4000-8000-000000000000';
const B = 'bbbbbbbb-0000-4000-8000-000000000000';
const T = 1_000_000;
const iso = (ms: number) => new Date(ms).toISOString();

let nextOp = 1;
function op(
  userId: string,
  kind: Op['kind'],
  seats: number[],
  status: number,
  from: number,
  to: number,
  body?: unknown,
): Op {
  return { id: nextOp++, userId, kind, eventId: E, seats, invokedAt: from, completedAt: to, status, body };
}
const hold = (userId: string, seat: number, from: number, to: number, status = 201) =>
  op(userId, 'hold', [seat], status, from, to, status === 201 ? { expiresAt: iso(from + 10_000) } : undefined);

let nextSeq = 1;
function audit(action: AuditRow['action'], userId: string, seat: number, version: number, at: number): AuditRow {
  return {
    eventId: E,
    seq: nextSeq++,
    action,
    seatNumber: seat,
    userId,
    version,
    at,
    expiresAt: action === 'held' ? at + 10_000 : undefined,
  };
}

function session(updates: [number, string, number][], subscribedAt = T - 1000, endedAt?: number): Session {
  return {
    replica: 'notifier:1',
    eventId: E,
    batch: false,
    subscribedAt,
    endedAt,
    updates: updates.map(([seatNumber, status, version]) => ({ seatNumber, status, version, receivedAt: T })),
  };
}

/** A clean history of one seat: A holds (v1) and reserves (v2); everything agrees. */
function clean(): History {
  return {
    ops: [hold(A, 1, T, T + 10), op(A, 'reserve', [1], 200, T + 100, T + 120)],
    sessions: [
      session([
        [1, 'held', 1],
        [1, 'reserved', 2],
      ]),
    ],
    faults: [],
    final: {
      readAt: T + 60_000,
      reservations: [{ eventId: E, seatNumber: 1, userId: A }],
      audit: [audit('held', A, 1, 1, T + 5), audit('reserved', A, 1, 2, T + 110)],
      events: [
        {
          eventId: E,
          seats: [
            { seatNumber: 1, status: 'reserved', userId: A },
            { seatNumber: 2, status: 'available' },
          ],
          counts: { available: 1, held: 0, reserved: 1 },
        },
      ],
      holds: {},
    },
  };
}

const kinds = (h: History) =>
  Object.entries(checkHistory(h).byKind)
    .filter(([, n]) => n > 0)
    .map(([k]) => k as ViolationKind);

it('a clean history has no violation', () => {
  expect(checkHistory(clean()).violations).toEqual([]);
});

it('an ambiguous answer proves nothing: a timed-out reserve that did commit is fine', () => {
  const h = clean();
  h.ops[1] = op(A, 'reserve', [1], 0, T + 100, T + 20_000);
  expect(checkHistory(h).violations).toEqual([]);
});

it('reports a seat reserved twice', () => {
  const h = clean();
  h.ops.push(hold(B, 1, T + 200, T + 210), op(B, 'reserve', [1], 200, T + 300, T + 310));
  h.final.audit.push(audit('reserved', B, 1, 3, T + 305));
  expect(kinds(h)).toContain('reservedTwice');
});

it('reports a 200 reserve with no hold of that user', () => {
  const h = clean();
  h.ops.push(op(B, 'reserve', [2], 200, T + 300, T + 310));
  h.final.audit.push(audit('reserved', B, 2, 3, T + 305));
  h.final.reservations.push({ eventId: E, seatNumber: 2, userId: B });
  h.final.events[0]!.seats[1] = { seatNumber: 2, status: 'reserved', userId: B };
  h.final.events[0]!.counts = { available: 0, held: 0, reserved: 2 };
  h.sessions[0]!.updates.push(...session([[2, 'reserved', 3]]).updates);
  expect(kinds(h)).toEqual(['reserveWithoutHold']);
});

it('reports a confirmed hold overwritten by another user before its expiry', () => {
  const h = clean();
  h.ops.push(hold(A, 2, T, T + 10), hold(B, 2, T + 500, T + 510));
  h.final.audit.push(audit('held', A, 2, 3, T + 5), audit('held', B, 2, 4, T + 505));
  h.final.audit.push(audit('expired', B, 2, 5, T + 10_600));
  h.sessions[0]!.updates.push(
    ...session([
      [2, 'held', 3],
      [2, 'held', 4],
      [2, 'available', 5],
    ]).updates,
  );
  expect(kinds(h)).toEqual(['holdOverwritten']);
});

/** A holds seat 2; Redis restarts empty; A's lost hold is announced (expired) and B then holds the seat. */
function lostHoldThenRetaken(withRestart: boolean): History {
  const h = clean();
  h.ops.push(hold(A, 2, T, T + 10), hold(B, 2, T + 3000, T + 3010));
  h.final.audit.push(
    audit('held', A, 2, 3, T + 5),
    audit('expired', A, 2, 1003, T + 2500),
    audit('held', B, 2, 1004, T + 3005),
    audit('expired', B, 2, 1005, T + 13_100),
  );
  if (withRestart)
    h.faults.push({ kind: 'restart:redis-empty', target: 'redis', startedAt: T + 1000, endedAt: T + 2000 });
  h.sessions[0]!.updates.push(
    ...session([
      [2, 'held', 3],
      [2, 'available', 1003],
      [2, 'held', 1004],
      [2, 'available', 1005],
    ]).updates,
  );
  return h;
}

it('a hold Redis lost in a restart may be retaken once its end was announced, and only then', () => {
  expect(kinds(lostHoldThenRetaken(true))).toEqual([]);
  // The same early end without a restart that lost data is a hold taken from its holder.
  expect(kinds(lostHoldThenRetaken(false))).toEqual(['holdOverwritten']);
});

it('reports a confirmed change missing from the audit', () => {
  const h = clean();
  h.ops.push(op(A, 'release', [2], 204, T + 300, T + 310));
  expect(kinds(h)).toEqual(['missingFromAudit']);
});

it('reports a change a subscriber never got, and one it got twice', () => {
  const missing = clean();
  missing.sessions[0]!.updates.pop();
  expect(kinds(missing)).toEqual(['missingFromSubscriber']);
  const twice = clean();
  twice.sessions[0]!.updates.push(twice.sessions[0]!.updates[1]!);
  expect(kinds(twice)).toEqual(['seenTwice']);
});

it('a session that ended (its replica died) owes only the changes of its lifetime', () => {
  const h = clean();
  h.sessions[0] = session([], T - 1000, T + 5000);
  // v1 and v2 were made while it was open, more than 2 s before it ended: it owed them.
  expect(kinds(h)).toEqual(['missingFromSubscriber']);
  // The next session (after the restart) owes nothing made before it subscribed.
  h.sessions[0] = session(
    [
      [1, 'held', 1],
      [1, 'reserved', 2],
    ],
    T - 1000,
    T + 5000,
  );
  h.sessions.push(session([], T + 6000));
  expect(kinds(h)).toEqual([]);
});

it('reports versions going backwards for a seat in one stream', () => {
  const h = clean();
  h.sessions[0] = session([
    [1, 'reserved', 2],
    [1, 'held', 1],
  ]);
  expect(kinds(h)).toEqual(['versionBackwards']);
});

it('reports a hold that outlived expiresAt + 2 s, unless a fault was under way', () => {
  const h = clean();
  h.ops.push(hold(B, 2, T, T + 10));
  h.final.audit.push(audit('held', B, 2, 3, T + 5), audit('expired', B, 2, 4, T + 15_000));
  h.sessions[0]!.updates.push(
    ...session([
      [2, 'held', 3],
      [2, 'available', 4],
    ]).updates,
  );
  expect(kinds(h)).toEqual(['holdOutlivedExpiry']);
  h.faults.push({ kind: 'cut:redis', target: 'redis', startedAt: T + 9000, endedAt: T + 12_000 });
  expect(kinds(h)).toEqual([]);
});

it('reports a hold never ended at all', () => {
  const h = clean();
  h.final.audit.push(audit('held', B, 2, 3, T + 5));
  h.sessions[0]!.updates.push(...session([[2, 'held', 3]]).updates);
  expect(kinds(h)).toContain('holdOutlivedExpiry');
});

it('reports counts that disagree with the seat rows', () => {
  const h = clean();
  h.final.events[0]!.counts = { available: 2, held: 0, reserved: 0 };
  expect(kinds(h)).toEqual(['countsMismatch']);
});

it('reports a reservation PostgreSQL lost and a seat map that disagrees with the audit', () => {
  const h = clean();
  h.final.reservations = [];
  h.final.events[0]!.seats[0] = { seatNumber: 1, status: 'available' };
  h.final.events[0]!.counts = { available: 2, held: 0, reserved: 0 };
  expect(kinds(h)).toEqual(['finalStateMismatch']);
});

it('the build without the fence at the commit (issue 10, item 1): every symptom is reported', () => {
  // A holds seat 5 (v1) and reserves through a replica that stalls; its reserve took v2 when it began. The
  // other replica expires the stalled hold (v3, pushed), B holds the seat (v4, 201), then A's stalled
  // commit lands: A gets 200, the seat is reserved by A, B's hold is gone, no subscriber shows `reserved`
  // (v2 is older than v3, consumers drop it) and the counts keep B's hold.
  const s = 5;
  const h: History = {
    ops: [hold(A, s, T, T + 10), op(A, 'reserve', [s], 200, T + 1000, T + 14_000), hold(B, s, T + 12_000, T + 12_010)],
    sessions: [
      session([
        [s, 'held', 1],
        [s, 'available', 3],
        [s, 'held', 4],
      ]),
    ],
    faults: [{ kind: 'stop:seat-service', target: 'seat-service:1', startedAt: T + 1000, endedAt: T + 14_000 }],
    final: {
      readAt: T + 60_000,
      reservations: [{ eventId: E, seatNumber: s, userId: A }],
      audit: [
        audit('held', A, s, 1, T + 5),
        audit('expired', A, s, 3, T + 11_000),
        audit('held', B, s, 4, T + 12_005),
        audit('reserved', A, s, 2, T + 14_000),
      ],
      events: [
        {
          eventId: E,
          seats: [{ seatNumber: s, status: 'reserved', userId: A }],
          counts: { available: 0, held: 1, reserved: 0 },
        },
      ],
      holds: {},
    },
  };
  // The audit's seq order is the order of the changes: held A, (A's reserve begins), expired, held B, reserved A.
  h.final.audit[3]!.seq = 1.5;
  const found = kinds(h);
  expect(found).toEqual(
    expect.arrayContaining([
      'reserveWithoutHold',
      'holdOverwritten',
      'holdOutlivedExpiry',
      'missingFromSubscriber',
      'countsMismatch',
      'finalStateMismatch',
    ]),
  );
});
