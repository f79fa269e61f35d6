import { InternalPaths } from '@zephyr/contracts';
import { sendJson, startFakeHttp, type FakeHttpServer } from '@zephyr/testing';
import type { HoldRef } from '../src/domain/holds';
import type { ExpireResult } from '../src/domain/settlement';

/** One hold as the fake received it, with the receive time (ms). */
export interface ReceivedHold extends HoldRef {
  at: number;
  server: string;
}

export type Verdict = Pick<ExpireResult, 'outcome' | 'expiresAt'>;

/**
 * Plays the seat-service's POST /internal/holds/expire (docs/interfaces.md) so the worker can be tested
 * while the real one is being built: records every hold it is sent and answers what the test scripts.
 */
export class FakeSeatService {
  readonly received: ReceivedHold[] = [];
  /** Decides each hold's outcome; `expired` unless a test says otherwise. */
  verdict: (hold: HoldRef) => Verdict = () => ({ outcome: 'expired' });
  /** Delay before answering, or 'hang' to never answer (a stuck seat-service). */
  delayMs: number | 'hang' = 0;
  calls = 0;
  private server: FakeHttpServer | undefined;

  constructor(
    readonly name = 'seat-service',
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
      if (req.method !== 'POST' || req.url !== InternalPaths.expireHolds) {
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
