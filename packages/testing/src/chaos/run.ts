import { writeFileSync } from 'node:fs';
import { Client } from 'pg';
import { BACKING, http, isolate, newUserId, userToken } from '../index';
import { startStack, type ServiceName } from '../stack';
import { startTcpProxy } from '../tcp-proxy';
import { startPrivateBacking } from '../private-backing';
import { checkHistory, formatReport, type CheckResult } from './checker';
import type { AuditAction, Fault, FinalState, History, Op } from './history';
import { runNemesis, type Backing } from './nemesis';
import { Recorder, routePath, runClient, Subscriber } from './workload';

export interface ChaosOptions {
  durationMs: number;
  clients?: number;
  /**
   * Run on PostgreSQL, Redis and RabbitMQ of its own (started from the machine's binaries), which the
   * nemesis also restarts; otherwise on the machine's, with no restart faults.
   */
  privateBacking?: boolean;
  /** Where to write the recorded history as JSON, if anywhere. */
  historyFile?: string;
  log?: (line: string) => void;
}

export interface ChaosRun {
  history: History;
  result: CheckResult;
  report: string;
}

const SERVICES: ServiceName[] = ['event-service', 'seat-service', 'notifier', 'expiry-worker', 'gateway'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A backing URL with its host and port replaced by a proxy's. */
function viaProxy(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString().replace(/\/$/, '');
}

const portOf = (url: string, fallback: number) => Number(new URL(url).port || fallback);

/** Runs the workload and the nemesis against two replicas of every service, then checks the history. */
export async function runChaos(options: ChaosOptions): Promise<ChaosRun> {
  const log = options.log ?? ((line: string) => console.log(line));
  const backing = options.privateBacking ? await startPrivateBacking() : undefined;
  if (backing) log(`own backing services: ${backing.postgresAdminUrl} ${backing.redisUrl} ${backing.amqpUrl}`);
  const urls = backing ?? BACKING;
  const iso = await isolate('chaos', urls);
  const proxies = {
    postgres: await startTcpProxy(portOf(iso.databaseUrl, 5432)),
    redis: await startTcpProxy(portOf(urls.redisUrl, 6379)),
    amqp: await startTcpProxy(portOf(urls.amqpUrl, 5672)),
  } satisfies Record<Backing, unknown>;
  const env = {
    ...iso.env,
    DATABASE_URL: viaProxy(iso.databaseUrl, proxies.postgres.port),
    REDIS_URL: viaProxy(iso.env.REDIS_URL!, proxies.redis.port),
    AMQP_URL: viaProxy(iso.env.AMQP_URL!, proxies.amqp.port),
    RATE_LIMIT_PER_IP: '0',
    RATE_LIMIT_PER_USER: '0',
  };
  const subscribers: Subscriber[] = [];
  // Set on the way out, so that a failing run leaves no buyer or loop behind.
  let halted = false;
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  try {
    stack = await startStack(
      { ...iso, env },
      { replicas: Object.fromEntries(SERVICES.map((s) => [s, 2])) as Record<ServiceName, number> },
    );
    const running = stack;
    const admin = await userToken(newUserId(), { admin: true });
    const gateways = () => running.urls.gateway;
    const events: { id: string; totalSeats: number }[] = [];
    for (const url of running.urls.notifier) {
      const port = new URL(url).port;
      for (const batch of [false, true])
        subscribers.push(new Subscriber(`ws://127.0.0.1:${port}/ws`, `notifier:${port}`, batch));
    }
    for (const s of subscribers) s.start();
    const createEvent = async () => {
      const res = await http<{ id: string }>(gateways()[0]!, 'POST', routePath('POST', '/api/events', {}), {
        token: admin,
        body: { name: `Chaos ${events.length + 1}`, totalSeats: 24, seatsPerRow: 6, maxSeatsPerUser: 4 },
      });
      if (res.status !== 201) throw new Error(`creating an event answered ${res.status}`);
      for (const s of subscribers) s.subscribe(res.body.id);
      events.push({ id: res.body.id, totalSeats: 24 });
    };
    for (let i = 0; i < 3; i++) await createEvent();
    // Subscriptions are confirmed before the first operation, so every change of the run is required.
    await sleep(1000);

    const recorder = new Recorder();
    const started = Date.now();
    const stopped = () => halted || Date.now() - started >= options.durationMs;
    const active = () => events.slice(-3);
    const users = await Promise.all(
      Array.from({ length: options.clients ?? 8 }, async () => {
        const userId = newUserId();
        return { userId, token: await userToken(userId) };
      }),
    );
    const clients = users.map((u) => runClient({ ...u, gateways, events: active, recorder, stopped }));
    // A fresh event every 40 s keeps seats on sale once the first ones are sold.
    const rotation = (async () => {
      for (let next = Date.now() + 40_000; !stopped(); await sleep(500)) {
        if (Date.now() < next) continue;
        next += 40_000;
        await createEvent().catch((err: Error) => log(`new event failed: ${err.message}`));
      }
    })();
    const nemesisBuyer = { userId: newUserId(), token: '' };
    nemesisBuyer.token = await userToken(nemesisBuyer.userId);
    const faults: Fault[] = await runNemesis(
      {
        stack: running,
        proxies,
        backing,
        log,
        // The nemesis' own buyer holds a free seat, then reserves it through the replica about to stop.
        holdForReserve: async () => {
          const event = events.at(-1)!;
          const best = await recorder.run(gateways()[0]!, nemesisBuyer.token, {
            userId: nemesisBuyer.userId,
            kind: 'best',
            eventId: event.id,
            seats: [],
            body: { count: 1, holdDuration: 10 },
          });
          if (best.status !== 201) return undefined;
          return (baseUrl: string) =>
            recorder.run(baseUrl, nemesisBuyer.token, {
              userId: nemesisBuyer.userId,
              kind: 'reserve',
              eventId: event.id,
              seats: best.seats,
            });
        },
      },
      stopped,
    );
    await Promise.all([...clients, rotation]);
    log(`workload done after ${((Date.now() - started) / 1000).toFixed(0)} s; settling`);

    // Settle: every hold answered so far has expired and been pushed (holds last at most 12 s).
    const lastExpiry = Math.max(
      0,
      ...recorder.ops.flatMap((op) => {
        const body = op.body as { expiresAt?: string; items?: { expiresAt?: string }[] } | undefined;
        return [body?.expiresAt, ...(body?.items ?? []).map((i) => i.expiresAt)]
          .filter(Boolean)
          .map((t) => Date.parse(t!));
      }),
      Date.now() + 12_000,
    );
    await sleep(Math.max(0, lastExpiry + 4000 - Date.now()));
    const final = await readFinalState(iso.databaseUrl, gateways()[0]!, admin, events, recorder.ops);
    for (const s of subscribers) s.stop();
    const history: History = { ops: recorder.ops, sessions: subscribers.flatMap((s) => s.sessions), faults, final };
    if (options.historyFile) writeFileSync(options.historyFile, JSON.stringify(history));
    const result = checkHistory(history);
    const report = formatReport(history, result);
    return { history, result, report };
  } finally {
    halted = true;
    for (const s of subscribers) s.stop();
    await stack?.stop();
    for (const p of Object.values(proxies)) await p.close();
    await iso.cleanup();
    await backing?.stop();
  }
}

/** PostgreSQL's reservations and audit, the seat maps, counts and every buyer's holds, after settling. */
async function readFinalState(
  databaseUrl: string,
  gateway: string,
  admin: string,
  events: { id: string }[],
  ops: Op[],
): Promise<FinalState> {
  const readAt = Date.now();
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const reservations = await db.query<{ event_id: string; seat_number: number; user_id: string }>(
      'SELECT event_id, seat_number, user_id FROM seat_service.reservations',
    );
    const audit = await db.query<{
      event_id: string;
      seq: string;
      action: AuditAction;
      seat_number: number;
      user_id: string;
      version: string;
      at: Date;
      expires_at: Date | null;
    }>('SELECT event_id, seq, action, seat_number, user_id, version, at, expires_at FROM seat_service.seat_audit');
    const final: FinalState = {
      readAt,
      reservations: reservations.rows.map((r) => ({
        eventId: r.event_id,
        seatNumber: r.seat_number,
        userId: r.user_id,
      })),
      audit: audit.rows.map((r) => ({
        eventId: r.event_id,
        seq: Number(r.seq),
        action: r.action,
        seatNumber: r.seat_number,
        userId: r.user_id,
        version: Number(r.version),
        at: r.at.getTime(),
        expiresAt: r.expires_at ? r.expires_at.getTime() : undefined,
      })),
      events: [],
      holds: {},
    };
    for (const event of events) {
      const map = await http<{ seats: { seatNumber: number; status: string; userId?: string }[] }>(
        gateway,
        'GET',
        routePath('GET', '/api/events/:id/seats', { id: event.id }),
        { token: admin },
      );
      const tally = { available: 0, held: 0, reserved: 0 } as Record<string, number>;
      for (const seat of map.body.seats) tally[seat.status] = (tally[seat.status] ?? 0) + 1;
      // Counts may lag the seats by the SPEC's 1 s.
      const countsAt = Date.now();
      let counts = { available: -1, held: -1, reserved: -1 };
      do {
        const res = await http<{ seats: typeof counts }>(
          gateway,
          'GET',
          routePath('GET', '/api/events/:id', { id: event.id }),
        );
        counts = res.body.seats;
        if (counts.available === tally.available && counts.held === tally.held && counts.reserved === tally.reserved)
          break;
        await sleep(100);
      } while (Date.now() - countsAt < 1100);
      final.events.push({ eventId: event.id, seats: map.body.seats, counts });
      for (const userId of new Set(ops.filter((o) => o.eventId === event.id).map((o) => o.userId))) {
        const holds = await http<{ items: { seatNumber: number }[] }>(
          gateway,
          'GET',
          routePath('GET', '/api/seats/:eventId/user/:userId/holds', { eventId: event.id, userId }),
          { token: admin },
        );
        const seats = holds.body.items.map((h) => h.seatNumber);
        if (seats.length > 0) final.holds[`${event.id}/${userId}`] = seats;
      }
    }
    return final;
  } finally {
    await db.end();
  }
}
