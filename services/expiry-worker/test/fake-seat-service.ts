import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
  private server: http.Server | undefined;
  private port = 0;

  constructor(
    readonly name = 'seat-service',
    private readonly shared?: ReceivedHold[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = Date.now();
        if (req.method !== 'POST' || req.url !== '/internal/holds/expire') {
          res.writeHead(404).end();
          return;
        }
        this.calls += 1;
        const { holds } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { holds: HoldRef[] };
        const results = holds.map((hold) => {
          const record = { ...hold, at, server: this.name };
          this.received.push(record);
          this.shared?.push(record);
          return { ...hold, ...this.verdict(hold) };
        });
        if (this.delayMs === 'hang') return;
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }));
        }, this.delayMs);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Goes down hard (connections refused) until start() is called again on the same port. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Every time this hold was sent to us. */
  sendsOf(hold: HoldRef): ReceivedHold[] {
    return this.received.filter(
      (r) => r.eventId === hold.eventId && r.seatNumber === hold.seatNumber && r.holdVersion === hold.holdVersion,
    );
  }
}
