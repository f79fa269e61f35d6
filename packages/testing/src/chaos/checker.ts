import type { AuditRow, Fault, History, Op, Violation, ViolationKind } from './history';
import { VIOLATION_KINDS } from './history';

/**
 * The checker of a chaos run (issue 10): reads the client-observed history, the subscribers' streams and
 * the final state, and reports every breach of "one seat, one owner; every change seen; nothing lost".
 * An answer that did not come (timeout, reset) or a 5xx is ambiguous: the operation may or may not have
 * happened, so it never proves a violation and never excuses one it cannot explain.
 */

/** The SPEC's 2 s from `expiresAt` to the `available` push. */
const EXPIRY_BOUND_MS = 2000;
/** Clock slack between the services' (Redis/PostgreSQL) time and the recorder's, same machine. */
const SLACK_MS = 1000;
/** After a fault ends, time to reconnect and catch up before timing rules apply again. */
const FAULT_GRACE_MS = 5000;

export const isAmbiguous = (op: Op): boolean => op.status === 0 || op.status >= 500;
const isOk = (op: Op): boolean => op.status >= 200 && op.status < 300;

type Item = { seatNumber: number; expiresAt?: string };

/** The seats a successful op acted on, with each hold's `expiresAt` where the answer carries it. */
function seatsOf(op: Op): { seat: number; expiresAt?: number }[] {
  const body = op.body as { items?: Item[]; expiresAt?: string } | undefined;
  if (op.kind === 'hold' || op.kind === 'refresh') {
    return op.seats.map((seat) => ({ seat, expiresAt: body?.expiresAt ? Date.parse(body.expiresAt) : undefined }));
  }
  if ((op.kind === 'holdMany' || op.kind === 'best') && Array.isArray(body?.items)) {
    return body.items.map((i) => ({
      seat: i.seatNumber,
      expiresAt: i.expiresAt ? Date.parse(i.expiresAt) : undefined,
    }));
  }
  return op.seats.map((seat) => ({ seat }));
}

const HOLDS = new Set(['hold', 'holdMany', 'best']);
const RESERVES = new Set(['reserve', 'reserveMany']);

/** Faults after which Redis may have lost holds (restarted empty, or from an AOF missing its last second). */
const DATA_LOSS_FAULTS = new Set(['restart:redis-empty', 'restart:redis-aof']);

function inFaultWindow(faults: Fault[], from: number, to: number): boolean {
  return faults.some((f) => from <= f.endedAt + FAULT_GRACE_MS && to >= f.startedAt - SLACK_MS);
}

export interface CheckResult {
  violations: Violation[];
  byKind: Record<ViolationKind, number>;
}

export function checkHistory(history: History): CheckResult {
  const violations: Violation[] = [];
  const add = (kind: ViolationKind, eventId: string, seatNumber: number | undefined, detail: string) =>
    violations.push({ kind, eventId, seatNumber, detail });
  checkClientOps(history, add);
  const { byEvent: auditByEvent, states } = checkAudit(history, add);
  checkFinalState(history, auditByEvent, states, add);
  checkStreams(history, auditByEvent, add);
  const byKind = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as Record<ViolationKind, number>;
  for (const v of violations) byKind[v.kind]++;
  return { violations, byKind };
}

type Add = (kind: ViolationKind, eventId: string, seatNumber: number | undefined, detail: string) => void;

const describe = (op: Op) =>
  `op#${op.id} ${op.kind} user ${op.userId.slice(0, 8)} seats [${op.seats}] → ${op.status || 'no answer'} (${op.invokedAt}..${op.completedAt})`;

/** Rules over the answers alone: two owners at once, a hold taken from under its holder, a reserve without a hold. */
function checkClientOps(history: History, add: Add): void {
  const bySeat = new Map<string, { op: Op; expiresAt?: number }[]>();
  for (const op of history.ops) {
    if (!isOk(op) && !isAmbiguous(op)) continue;
    for (const { seat, expiresAt } of seatsOf(op)) {
      const key = `${op.eventId}/${seat}`;
      if (!bySeat.has(key)) bySeat.set(key, []);
      bySeat.get(key)!.push({ op, expiresAt });
    }
  }
  for (const [key, entries] of bySeat) {
    const [eventId, seatText] = key.split('/') as [string, string];
    const seat = Number(seatText);
    const ok = entries.filter((e) => isOk(e.op));
    // Two users told "reserved" for one seat.
    const reservers = new Set(ok.filter((e) => RESERVES.has(e.op.kind)).map((e) => e.op.userId));
    if (reservers.size > 1) add('reservedTwice', eventId, seat, `200 reserve answered to ${reservers.size} users`);
    // A confirmed hold H and another user's success O on the seat: one of them came first. O after H is
    // fine only if H had ended (released, or expired before O completed); O before H only if O was a hold
    // that ended before H completed. If neither order is possible, a live hold was taken.
    const releasedBy = (userId: string, before: number) =>
      entries.some((e) => e.op.userId === userId && e.op.kind === 'release' && e.op.invokedAt < before);
    // A hold Redis lost in a restart ends early, visibly: its `expired` announcement in the audit, made
    // during or soon after a restart that lost data (issue 10 item 5). Any other early end is still a violation.
    const lostBy = (userId: string, after: number, before: number) =>
      history.final.audit.some(
        (a) =>
          a.eventId === eventId &&
          a.seatNumber === seat &&
          a.userId === userId &&
          a.action === 'expired' &&
          a.at > after &&
          a.at < before &&
          history.faults.some(
            (f) => DATA_LOSS_FAULTS.has(f.kind) && a.at >= f.startedAt && a.at <= f.endedAt + FAULT_GRACE_MS,
          ),
      );
    for (const held of ok.filter((e) => HOLDS.has(e.op.kind) && e.op.status === 201)) {
      const h = held.op;
      const expiresAt = held.expiresAt ?? Infinity;
      for (const other of ok) {
        const o = other.op;
        if (o.userId === h.userId || !(HOLDS.has(o.kind) || RESERVES.has(o.kind))) continue;
        if (o.completedAt <= h.invokedAt || o.invokedAt >= expiresAt - SLACK_MS) continue;
        const afterOk =
          releasedBy(h.userId, o.completedAt) ||
          o.completedAt > expiresAt - SLACK_MS ||
          lostBy(h.userId, h.invokedAt, o.completedAt);
        const beforeOk =
          o.invokedAt < h.completedAt &&
          HOLDS.has(o.kind) &&
          ((other.expiresAt ?? Infinity) < h.completedAt + SLACK_MS || releasedBy(o.userId, h.completedAt));
        if (!afterOk && !beforeOk)
          add('holdOverwritten', eventId, seat, `${describe(h)} and ${describe(o)} while it was live`);
      }
    }
    // A 200 reserve needs an earlier hold (confirmed or maybe) by that user.
    for (const r of ok.filter((e) => RESERVES.has(e.op.kind))) {
      const mine = history.ops.filter(
        (o) => o.userId === r.op.userId && o.eventId === eventId && o.invokedAt < r.op.invokedAt,
      );
      const heldBefore = mine.some(
        (o) =>
          (HOLDS.has(o.kind) &&
            (isOk(o) || isAmbiguous(o)) &&
            (o.kind === 'best' ? true : seatsOf(o).some((s) => s.seat === seat))) ||
          (RESERVES.has(o.kind) && isOk(o) && o.seats.includes(seat)),
      );
      if (!heldBefore) add('reserveWithoutHold', eventId, seat, `${describe(r.op)} with no hold of that user before`);
    }
  }
}

type SeatState =
  | { kind: 'available' }
  | { kind: 'held'; userId: string; expiresAt?: number; since: AuditRow }
  | { kind: 'reserved'; userId: string };

/** Replays the audit per seat in `seq` order (the order the changes happened in) through the seat's rules. */
function checkAudit(
  history: History,
  add: Add,
): { byEvent: Map<string, Map<number, AuditRow>>; states: Map<string, SeatState> } {
  const { faults } = history;
  const { audit } = history.final;
  const byEvent = new Map<string, Map<number, AuditRow>>();
  const seatStates = new Map<string, SeatState>();
  const sorted = [...audit].sort((a, b) => (a.eventId === b.eventId ? a.seq - b.seq : a.eventId < b.eventId ? -1 : 1));
  for (const row of sorted) {
    if (!byEvent.has(row.eventId)) byEvent.set(row.eventId, new Map());
    const versions = byEvent.get(row.eventId)!;
    if (row.action !== 'refreshed') {
      if (versions.has(row.version))
        add('seenTwice', row.eventId, row.seatNumber, `audit has version ${row.version} twice`);
      versions.set(row.version, row);
    }
    const key = `${row.eventId}/${row.seatNumber}`;
    const state = seatStates.get(key) ?? { kind: 'available' };
    const at = `audit seq ${row.seq} ${row.action} by ${row.userId.slice(0, 8)} v${row.version}`;
    // A finding about this row's seat.
    const fault = (kind: ViolationKind, detail: string) => add(kind, row.eventId, row.seatNumber, detail);
    let next: SeatState = state;
    switch (row.action) {
      case 'held':
        if (state.kind === 'held') fault('holdOverwritten', `${at} over the live hold of ${state.userId.slice(0, 8)}`);
        if (state.kind === 'reserved')
          fault('reserveWithoutHold', `${at} on a seat reserved by ${state.userId.slice(0, 8)}`);
        next = { kind: 'held', userId: row.userId, expiresAt: row.expiresAt, since: row };
        break;
      case 'refreshed':
        if (state.kind === 'held' && state.userId === row.userId)
          next = { ...state, expiresAt: row.expiresAt ?? state.expiresAt };
        break;
      case 'released':
      case 'expired':
        if (state.kind === 'reserved')
          fault('reserveWithoutHold', `${at} after the seat was reserved by ${state.userId.slice(0, 8)}`);
        else if (state.kind === 'available') fault('seenTwice', `${at}: the hold had already ended`);
        else {
          if (state.userId !== row.userId)
            fault('holdOverwritten', `${at} ends the hold of ${state.userId.slice(0, 8)}`);
          checkExpiryTime(state, row, faults, add);
        }
        next = { kind: 'available' };
        break;
      case 'reserved':
        if (state.kind === 'reserved') fault('reservedTwice', `${at}: already reserved by ${state.userId.slice(0, 8)}`);
        else if (state.kind !== 'held' || state.userId !== row.userId)
          fault(
            'reserveWithoutHold',
            `${at} while the seat was ${state.kind === 'held' ? `held by ${state.userId.slice(0, 8)}` : 'available'}`,
          );
        next = { kind: 'reserved', userId: row.userId };
        break;
    }
    seatStates.set(key, next);
  }
  // Holds the audit never ended, long past their expiry when the final state was read.
  for (const [key, state] of seatStates) {
    if (state.kind !== 'held' || state.expiresAt === undefined) continue;
    if (state.expiresAt + EXPIRY_BOUND_MS < history.final.readAt) {
      const [eventId, seat] = key.split('/') as [string, string];
      add(
        'holdOutlivedExpiry',
        eventId,
        Number(seat),
        `hold of ${state.userId.slice(0, 8)} (v${state.since.version}) due ${new Date(state.expiresAt).toISOString()} never ended`,
      );
    }
  }
  return { byEvent, states: seatStates };
}

function checkExpiryTime(state: SeatState & { kind: 'held' }, end: AuditRow, faults: Fault[], add: Add): void {
  if (end.action !== 'expired' || state.expiresAt === undefined) return;
  if (end.at <= state.expiresAt + EXPIRY_BOUND_MS) return;
  if (inFaultWindow(faults, state.expiresAt, end.at)) return;
  add(
    'holdOutlivedExpiry',
    end.eventId,
    end.seatNumber,
    `hold v${state.since.version} due ${new Date(state.expiresAt).toISOString()} expired only at ${new Date(end.at).toISOString()}`,
  );
}

/** The final state against the audit's last word per seat and against the answers. */
function checkFinalState(
  history: History,
  auditByEvent: Map<string, Map<number, AuditRow>>,
  lastStates: Map<string, SeatState>,
  add: Add,
): void {
  const { final } = history;
  const rowOf = new Map(final.reservations.map((r) => [`${r.eventId}/${r.seatNumber}`, r]));
  const reservedInAudit = new Map<string, AuditRow>();
  for (const versions of auditByEvent.values())
    for (const row of versions.values())
      if (row.action === 'reserved') reservedInAudit.set(`${row.eventId}/${row.seatNumber}`, row);
  for (const r of final.reservations) {
    const a = reservedInAudit.get(`${r.eventId}/${r.seatNumber}`);
    if (!a || a.userId !== r.userId)
      add('missingFromAudit', r.eventId, r.seatNumber, `reservation of ${r.userId.slice(0, 8)} has no audit entry`);
  }
  for (const [key, a] of reservedInAudit) {
    if (rowOf.get(key)?.userId !== a.userId)
      add(
        'finalStateMismatch',
        a.eventId,
        a.seatNumber,
        `audit says reserved by ${a.userId.slice(0, 8)}, PostgreSQL has no such reservation`,
      );
  }
  // Every confirmed answer left its mark in the audit (and a confirmed reserve its row).
  for (const op of history.ops) {
    if (!isOk(op)) continue;
    const action = HOLDS.has(op.kind)
      ? 'held'
      : RESERVES.has(op.kind)
        ? 'reserved'
        : op.kind === 'release'
          ? 'released'
          : 'refreshed';
    const versions = auditByEvent.get(op.eventId);
    for (const { seat } of seatsOf(op)) {
      if (HOLDS.has(op.kind) && op.status !== 201) continue;
      const found = [
        ...(versions?.values() ?? []),
        ...history.final.audit.filter((a) => a.action === 'refreshed'),
      ].some(
        (a) =>
          a.eventId === op.eventId &&
          a.seatNumber === seat &&
          a.userId === op.userId &&
          a.action === action &&
          a.at <= op.completedAt + SLACK_MS,
      );
      if (!found) add('missingFromAudit', op.eventId, seat, `${describe(op)} has no '${action}' audit entry`);
      if (action === 'reserved' && rowOf.get(`${op.eventId}/${seat}`)?.userId !== op.userId)
        add('finalStateMismatch', op.eventId, seat, `${describe(op)} but PostgreSQL has no reservation of that user`);
    }
  }
  for (const event of final.events) {
    const tally = { available: 0, held: 0, reserved: 0 } as Record<string, number>;
    for (const seat of event.seats) {
      tally[seat.status] = (tally[seat.status] ?? 0) + 1;
      const expected = lastStates.get(`${event.eventId}/${seat.seatNumber}`) ?? { kind: 'available' };
      const live = expected.kind !== 'held' || (expected.expiresAt ?? Infinity) > final.readAt;
      const want = expected.kind === 'held' && !live ? 'available' : expected.kind;
      const wantUser = expected.kind === 'available' ? undefined : expected.userId;
      if (seat.status !== want || (want !== 'available' && seat.userId !== wantUser))
        add(
          'finalStateMismatch',
          event.eventId,
          seat.seatNumber,
          `seat map says ${seat.status} ${seat.userId?.slice(0, 8) ?? ''}, the audit ends ${want} ${wantUser?.slice(0, 8) ?? ''}`,
        );
    }
    for (const k of ['available', 'held', 'reserved'] as const) {
      if (event.counts[k] !== tally[k])
        add(
          'countsMismatch',
          event.eventId,
          undefined,
          `counts say ${k} ${event.counts[k]}, the seat map has ${tally[k] ?? 0}`,
        );
    }
  }
  // Each user's holds list is exactly their live holds by the audit.
  const expectedHolds = new Map<string, number[]>();
  for (const [key, state] of lastStates) {
    if (state.kind !== 'held' || (state.expiresAt ?? Infinity) <= final.readAt) continue;
    const [eventId, seat] = key.split('/') as [string, string];
    const k = `${eventId}/${state.userId}`;
    expectedHolds.set(k, [...(expectedHolds.get(k) ?? []), Number(seat)]);
  }
  for (const k of new Set([...Object.keys(final.holds), ...expectedHolds.keys()])) {
    const got = [...(final.holds[k] ?? [])].sort((a, b) => a - b).join(',');
    const want = [...(expectedHolds.get(k) ?? [])].sort((a, b) => a - b).join(',');
    if (got !== want)
      add(
        'finalStateMismatch',
        k.split('/')[0]!,
        undefined,
        `holds of user ${k.split('/')[1]!.slice(0, 8)}: [${got}], the audit says [${want}]`,
      );
  }
}

const STATUS_OF: Record<string, string> = {
  held: 'held',
  reserved: 'reserved',
  released: 'available',
  expired: 'available',
};

/** Every subscriber saw every change made while it was subscribed, once, in version order per seat. */
function checkStreams(history: History, auditByEvent: Map<string, Map<number, AuditRow>>, add: Add): void {
  for (const session of history.sessions) {
    const versions = auditByEvent.get(session.eventId) ?? new Map<number, AuditRow>();
    const seen = new Set<number>();
    const last = new Map<number, number>();
    const label = `${session.replica}${session.batch ? ' (batch)' : ''}`;
    for (const u of session.updates) {
      if (seen.has(u.version)) add('seenTwice', session.eventId, u.seatNumber, `${label} got v${u.version} twice`);
      else if ((last.get(u.seatNumber) ?? -1) > u.version)
        add(
          'versionBackwards',
          session.eventId,
          u.seatNumber,
          `${label} got v${u.version} after v${last.get(u.seatNumber)}`,
        );
      seen.add(u.version);
      last.set(u.seatNumber, Math.max(u.version, last.get(u.seatNumber) ?? -1));
      const row = versions.get(u.version);
      if (!row || row.seatNumber !== u.seatNumber || STATUS_OF[row.action] !== u.status)
        add(
          'missingFromAudit',
          session.eventId,
          u.seatNumber,
          `${label} pushed v${u.version} ${u.status}, the audit has ${row ? `${row.action} of seat ${row.seatNumber}` : 'nothing'}`,
        );
    }
    for (const row of versions.values()) {
      if (row.at < session.subscribedAt + 50 || seen.has(row.version)) continue;
      if (
        session.endedAt !== undefined &&
        (row.at > session.endedAt - EXPIRY_BOUND_MS || inFaultWindow(history.faults, row.at, row.at))
      )
        continue;
      add(
        'missingFromSubscriber',
        session.eventId,
        row.seatNumber,
        `${label} never got v${row.version} ${row.action} (at ${new Date(row.at).toISOString()})`,
      );
    }
  }
}

/** The report: operations, faults, violations by kind, and the first few of each kind. */
export function formatReport(history: History, result: CheckResult): string {
  const lines: string[] = [];
  const ops = history.ops;
  const count = (f: (o: Op) => boolean) => ops.filter(f).length;
  lines.push(
    `operations: ${ops.length} (ok ${count(isOk)}, refused 4xx ${count((o) => o.status >= 400 && o.status < 500)}, ambiguous ${count(isAmbiguous)}, of which 500 ${count((o) => o.status === 500)})`,
  );
  const kinds = [...new Set(ops.map((o) => o.kind))];
  lines.push(
    `  by kind: ${kinds.map((k) => `${k} ${count((o) => o.kind === k)}/${count((o) => o.kind === k && isOk(o))} ok`).join(', ')}`,
  );
  lines.push(
    `subscriber sessions: ${history.sessions.length}, updates received: ${history.sessions.reduce((n, s) => n + s.updates.length, 0)}`,
  );
  lines.push(`audit entries: ${history.final.audit.length}, reservations: ${history.final.reservations.length}`);
  const faultKinds = [...new Set(history.faults.map((f) => f.kind))];
  lines.push(
    `faults injected: ${history.faults.length} (${faultKinds.map((k) => `${k} ${history.faults.filter((f) => f.kind === k).length}`).join(', ')})`,
  );
  lines.push('violations by kind:');
  for (const kind of VIOLATION_KINDS) lines.push(`  ${kind.padEnd(22)} ${result.byKind[kind]}`);
  for (const kind of VIOLATION_KINDS) {
    for (const v of result.violations.filter((x) => x.kind === kind).slice(0, 5))
      lines.push(`  ! ${kind} event ${v.eventId.slice(0, 8)} seat ${v.seatNumber ?? '-'}: ${v.detail}`);
  }
  return lines.join('\n');
}
