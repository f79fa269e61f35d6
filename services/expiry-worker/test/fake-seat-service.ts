import {
  holdVersionKey,
  InternalPaths,
  type ClaimedHold,
  type ExpiryClaim,
  type ExpirySettlement,
  type HoldVersionRef,
} from '@zephyr/contracts';
import { sendJson, startFakeHttp, type FakeHttpServer } from '@zephyr/testing';
import type { ExpireResult, HoldRef } from '../src/domain/settlement';

/** One hold as the fake received it, with the receive time (ms). */
export interface ReceivedHold extends HoldRef {
  at: number;
  server: string;
}

export type Verdict = Pick<ExpireResult, 'outcome' | 'expiresAt'>;

interface Entry {
  hold: HoldRef;
  dueAtMs: number;
  /** Set while claimed: when the lease ends. */
  leaseEndMs?: number;
}

/**
 * An expiry schedule in memory, with the contract's semantics (docs/interfaces.md): a claim leases due
 * entries, earliest first, takes over entries whose lease ran out, and reports when the next one falls due;
 * a settlement removes or reschedules. The seat-service's real one is tested on Redis in its own suite.
 */
export class FakeSchedule {
  private readonly entries = new Map<string, Entry>();

  schedule(hold: HoldRef, dueAtMs: number): void {
    const key = holdVersionKey(hold);
    const current = this.entries.get(key);
    if (current?.leaseEndMs !== undefined) current.dueAtMs = dueAtMs;
    else this.entries.set(key, { hold, dueAtMs });
  }

  unschedule(hold: HoldRef): void {
    this.entries.delete(holdVersionKey(hold));
  }

  claim(limit: number, leaseMs: number): ExpiryClaim {
    const now = Date.now();
    const claimable = [...this.entries.values()]
      .filter((e) => (e.leaseEndMs === undefined ? e.dueAtMs <= now : e.leaseEndMs <= now))
      .sort((a, b) => a.dueAtMs - b.dueAtMs)
      .slice(0, limit);
    const holds: ClaimedHold[] = claimable.map((e) => {
      e.leaseEndMs = now + leaseMs;
      return { ...e.hold, dueAtMs: e.dueAtMs };
    });
    const upcoming = [...this.entries.values()].map((e) => e.leaseEndMs ?? e.dueAtMs);
    return { holds, nowMs: now, ...(upcoming.length > 0 ? { nextAtMs: Math.min(...upcoming) } : {}) };
  }

  settle({ done, rescheduled }: ExpirySettlement): void {
    for (const hold of done) this.unschedule(hold);
    for (const { hold, dueAtMs } of rescheduled) this.entries.set(holdVersionKey(hold), { hold, dueAtMs });
  }

  /** Which of these holds are scheduled: waiting, or leased to a worker. */
  indexed(holds: readonly HoldVersionRef[]): { due: number; inflight: number } {
    let due = 0;
    let inflight = 0;
    for (const hold of holds) {
      const entry = this.entries.get(holdVersionKey(hold));
      if (entry?.leaseEndMs !== undefined) inflight += 1;
      else if (entry) due += 1;
    }
    return { due, inflight };
  }

  counts(): { backlog: number; scheduled: number } {
    const now = Date.now();
    const all = [...this.entries.values()];
    return { backlog: all.filter((e) => e.dueAtMs <= now).length, scheduled: all.length };
  }
}

let holdVersions = 0;
/** A hold that exists nowhere but in the schedule a test fills. */
export const newHold = (eventId: string, seatNumber: number): HoldRef => ({
  eventId,
  seatNumber,
  holdVersion: ++holdVersions,
});

/**
 * Plays the seat-service's internal expiry routes for the worker: the schedule (claim, settle, counts) over
 * a `FakeSchedule` that replicas may share, and POST /internal/holds/expire, recording every hold it is
 * sent and answering what the test scripts.
 */
export class FakeSeatService {
  readonly received: ReceivedHold[] = [];
  /** Decides each hold's outcome; `expired` unless a test says otherwise. */
  verdict: (hold: HoldRef) => Verdict = () => ({ outcome: 'expired' });
  /** Delay before answering an expire call, or 'hang' to never answer (a stuck seat-service). */
  delayMs: number | 'hang' = 0;
  calls = 0;
  private server: FakeHttpServer | undefined;

  constructor(
    readonly name = 'seat-service',
    readonly schedule: FakeSchedule = new FakeSchedule(),
    private readonly shared?: ReceivedHold[],
  ) {}

  get url(): string {
    return this.server?.url ?? 'http://127.0.0.1:0';
  }

  async start(): Promise<this> {
    if (this.server) {
      await this.server.start();
      return this;
    }
    this.server = await startFakeHttp((req, res) => {
      const route = `${req.method} ${req.url}`;
      if (route === `POST ${InternalPaths.claimExpiries}`) {
        const { limit, leaseMs } = JSON.parse(req.body) as { limit: number; leaseMs: number };
        sendJson(res, 200, this.schedule.claim(limit, leaseMs));
        return;
      }
      if (route === `POST ${InternalPaths.settleExpiries}`) {
        this.schedule.settle(JSON.parse(req.body) as ExpirySettlement);
        res.writeHead(204).end();
        return;
      }
      if (route === `GET ${InternalPaths.expiryCounts}`) {
        sendJson(res, 200, this.schedule.counts());
        return;
      }
      if (route !== `POST ${InternalPaths.expireHolds}`) {
        res.writeHead(404).end();
        return;
      }
      this.calls += 1;
      const { holds } = JSON.parse(req.body) as { holds: HoldRef[] };
      const results = holds.map((hold) => {
        const record = { ...hold, at: req.at, server: this.name };
        this.received.push(record);
        this.shared?.push(record);
        return { ...hold, ...this.verdict(hold) };
      });
      if (this.delayMs === 'hang') return;
      setTimeout(() => sendJson(res, 200, { results }), this.delayMs);
    });
    return this;
  }

  /** Goes down hard (connections refused) until start() is called again on the same port. */
  async stop(): Promise<void> {
    await this.server?.stop();
  }

  /** Every time this hold was sent to us. */
  sendsOf(hold: HoldRef): ReceivedHold[] {
    return this.received.filter(
      (r) => r.eventId === hold.eventId && r.seatNumber === hold.seatNumber && r.holdVersion === hold.holdVersion,
    );
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export { metricValue } from '@zephyr/testing';
