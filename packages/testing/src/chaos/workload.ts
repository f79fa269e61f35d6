import WebSocket from 'ws';
import { ClientMessageTypes, ROUTES, ServerMessageTypes } from '@zephyr/contracts';
import type { Op, OpKind, Session } from './history';

/** A public route's path with its parameters filled in; the template must be one the contract lists. */
export function routePath(method: string, template: string, params: Record<string, string | number>): string {
  if (!ROUTES.some((r) => r.method === method && r.path === template))
    throw new Error(`no route ${method} ${template}`);
  return template.replace(/:([a-zA-Z]+)/g, (_, key: string) => String(params[key]));
}

const OP_ROUTES: Record<OpKind, { method: string; path: string }> = {
  hold: { method: 'POST', path: '/api/seats/:eventId/:seatNumber/hold' },
  holdMany: { method: 'POST', path: '/api/seats/:eventId/hold' },
  best: { method: 'POST', path: '/api/seats/:eventId/best-available' },
  reserve: { method: 'POST', path: '/api/seats/:eventId/:seatNumber/reserve' },
  reserveMany: { method: 'POST', path: '/api/seats/:eventId/reserve' },
  release: { method: 'DELETE', path: '/api/seats/:eventId/:seatNumber/hold' },
  refresh: { method: 'POST', path: '/api/seats/:eventId/:seatNumber/refresh' },
};

/** Appends every operation, with its invocation and completion times, to one list. */
export class Recorder {
  readonly ops: Op[] = [];
  private nextId = 1;

  /** Runs one operation and records it; an answer that never came is status 0 (ambiguous). */
  async run(
    baseUrl: string,
    token: string,
    op: { userId: string; kind: OpKind; eventId: string; seats: number[]; body?: unknown },
    timeoutMs = 20_000,
  ): Promise<Op> {
    const route = OP_ROUTES[op.kind];
    const path = routePath(route.method, route.path, { eventId: op.eventId, seatNumber: op.seats[0] ?? 0 });
    const record: Op = { id: this.nextId++, ...op, invokedAt: Date.now(), completedAt: 0, status: 0, body: undefined };
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method: route.method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(op.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: op.body === undefined ? undefined : JSON.stringify(op.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      record.status = res.status;
      record.body = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      record.status = 0;
    }
    record.completedAt = Date.now();
    if (op.kind === 'best' && record.status === 201) {
      record.seats = ((record.body as { items: { seatNumber: number }[] }).items ?? []).map((i) => i.seatNumber);
    }
    this.ops.push(record);
    return record;
  }
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ClientOptions {
  userId: string;
  token: string;
  gateways: () => string[];
  events: () => { id: string; totalSeats: number }[];
  recorder: Recorder;
  stopped: () => boolean;
}

/**
 * One buyer: holds, multi-seat holds, best-available, reserves (one and several), releases and refreshes
 * on a few small events, acting mostly on the seats it believes it holds so that reserves and releases
 * meet real holds, and sometimes on any seat so that buyers collide.
 */
export async function runClient(options: ClientOptions): Promise<void> {
  const mine = new Map<string, Set<number>>();
  const held = (eventId: string) => mine.get(eventId) ?? mine.set(eventId, new Set()).get(eventId)!;
  while (!options.stopped()) {
    const events = options.events();
    if (events.length === 0) return;
    const event = pick(events);
    const seats = held(event.id);
    const randomSeat = () => 1 + Math.floor(Math.random() * event.totalSeats);
    const aHeld = () => (seats.size > 0 && Math.random() < 0.85 ? pick([...seats]) : randomSeat());
    const holdDuration = 10 + Math.floor(Math.random() * 3);
    const roll = Math.random();
    let op: { kind: OpKind; seats: number[]; body?: unknown };
    if (roll < 0.28) op = { kind: 'hold', seats: [randomSeat()], body: { holdDuration } };
    else if (roll < 0.38) {
      const a = randomSeat();
      const b = a === event.totalSeats ? a - 1 : a + 1;
      op = {
        kind: 'holdMany',
        seats: [a, b].sort((x, y) => x - y),
        body: { seats: [a, b].sort((x, y) => x - y), holdDuration },
      };
    } else if (roll < 0.46)
      op = { kind: 'best', seats: [], body: { count: 2, holdDuration, adjacent: Math.random() < 0.5 } };
    else if (roll < 0.64) op = { kind: 'reserve', seats: [aHeld()] };
    else if (roll < 0.72 && seats.size >= 2) {
      const two = [...seats].slice(0, 2).sort((x, y) => x - y);
      op = { kind: 'reserveMany', seats: two, body: { seats: two } };
    } else if (roll < 0.86) op = { kind: 'release', seats: [aHeld()] };
    else op = { kind: 'refresh', seats: [aHeld()], body: { holdDuration } };
    const done = await options.recorder.run(pick(options.gateways()), options.token, {
      userId: options.userId,
      eventId: event.id,
      ...op,
    });
    if (done.status >= 200 && done.status < 300) {
      if (op.kind === 'hold' || op.kind === 'holdMany' || op.kind === 'best') for (const s of done.seats) seats.add(s);
      if (op.kind === 'reserve' || op.kind === 'reserveMany' || op.kind === 'release')
        for (const s of done.seats) seats.delete(s);
    } else if (done.status === 409) {
      // HOLD_NOT_FOUND and the like: the belief was stale (expired, or never ours).
      if (op.kind !== 'hold' && op.kind !== 'holdMany' && op.kind !== 'best') for (const s of op.seats) seats.delete(s);
    }
    await sleep(20 + Math.random() * 60);
  }
}

/**
 * A WebSocket subscriber connected straight to one notifier replica, subscribed to every event of the
 * run; it reconnects when the replica dies, each subscription of each connection being one session.
 */
export class Subscriber {
  readonly sessions: Session[] = [];
  private socket: WebSocket | undefined;
  private open: Map<string, Session> = new Map();
  private stopped = false;
  private readonly events = new Set<string>();

  constructor(
    private readonly url: string,
    private readonly replica: string,
    private readonly batch: boolean,
  ) {}

  start(): void {
    this.connect();
  }

  subscribe(eventId: string): void {
    this.events.add(eventId);
    if (this.socket?.readyState === WebSocket.OPEN) this.send(eventId);
  }

  /** Sessions still open end at the check (endedAt stays undefined). */
  stop(): void {
    this.stopped = true;
    this.socket?.removeAllListeners('close');
    this.socket?.terminate();
  }

  private send(eventId: string): void {
    this.socket?.send(JSON.stringify({ type: ClientMessageTypes.SubscribeEvent, eventId, batch: this.batch }));
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.on('open', () => {
      for (const eventId of this.events) this.send(eventId);
    });
    socket.on('message', (data) => {
      const m = JSON.parse(String(data)) as {
        type: string;
        id?: string;
        eventId?: string;
        seatNumber?: number;
        status?: string;
        version?: number;
        updates?: { seatNumber: number; status: string; version: number }[];
      };
      const receivedAt = Date.now();
      if (m.type === ServerMessageTypes.Subscribed && m.id) {
        const session: Session = {
          replica: this.replica,
          eventId: m.id,
          batch: this.batch,
          subscribedAt: receivedAt,
          updates: [],
        };
        this.sessions.push(session);
        this.open.set(m.id, session);
      } else if (m.type === ServerMessageTypes.SeatUpdate && m.eventId) {
        this.open
          .get(m.eventId)
          ?.updates.push({ seatNumber: m.seatNumber!, status: m.status!, version: m.version!, receivedAt });
      } else if (m.type === ServerMessageTypes.SeatUpdates && m.eventId) {
        for (const u of m.updates ?? [])
          this.open
            .get(m.eventId)
            ?.updates.push({ seatNumber: u.seatNumber, status: u.status, version: u.version, receivedAt });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const now = Date.now();
      for (const session of this.open.values()) session.endedAt = now;
      this.open = new Map();
      setTimeout(() => this.connect(), 200);
    });
  }
}
