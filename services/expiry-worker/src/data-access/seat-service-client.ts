import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type Joi from 'joi';
import {
  HttpHeaders,
  InternalPaths,
  claimExpiriesResponse,
  expireHoldsResponse,
  expiryCountsResponse,
  type ExpiryClaim,
  type ExpiryCounts,
  type HoldVersionRef,
} from '@zephyr/contracts';
import { DependencyUnavailableError } from '@zephyr/runtime';
import type { ExpiryIndex, HoldExpirer } from '../domain/ports';
import type { ExpireResult } from '../domain/settlement';

/** The seat-service's internal expiry routes: its schedule (claim, settle, counts) and the fenced expire. */
export interface SeatServiceClient extends HoldExpirer, ExpiryIndex {
  counts(): Promise<ExpiryCounts>;
  close(): void;
}

export interface SeatServiceClientOptions {
  baseUrl: string;
  timeoutMs: number;
}

export function createSeatServiceClient(options: SeatServiceClientOptions): SeatServiceClient {
  const base = new URL(options.baseUrl);
  const transport = base.protocol === 'https:' ? https : http;
  // Keep-alive: a busy worker calls every few milliseconds; a new TCP connection each time is waste.
  const agent = new transport.Agent({ keepAlive: true, maxSockets: 8 });

  const call = (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = transport.request(
        new URL(path, base),
        {
          method,
          agent,
          headers: {
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            [HttpHeaders.requestId]: randomUUID(),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () => req.destroy(new DependencyUnavailableError(`seat-service did not answer within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('error', reject);
      req.end(payload);
    });

  /** A call whose answer must be `expected` and, when a schema is given, fit it. */
  async function ask<T>(method: 'GET' | 'POST', path: string, body: unknown, expected: number, schema?: Joi.Schema) {
    const { status, text } = await call(method, path, body);
    if (status !== expected)
      throw new DependencyUnavailableError(`seat-service answered ${status}: ${text.slice(0, 200)}`);
    if (!schema) return undefined as T;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error('seat-service answered with malformed JSON');
    }
    const { error, value } = schema.validate(parsed);
    if (error) throw new Error(`seat-service answer breaks the contract: ${error.message}`);
    return value as T;
  }

  return {
    async expire(holds) {
      const payload = {
        holds: holds.map(({ eventId, seatNumber, holdVersion }) => ({ eventId, seatNumber, holdVersion })),
      };
      const answer = await ask<{ results: ExpireResult[] }>(
        'POST',
        InternalPaths.expireHolds,
        payload,
        200,
        expireHoldsResponse,
      );
      return answer.results;
    },
    claimDue(limit, leaseMs) {
      return ask<ExpiryClaim>('POST', InternalPaths.claimExpiries, { limit, leaseMs }, 200, claimExpiriesResponse);
    },
    async settle({ done, rescheduled }) {
      if (done.length === 0 && rescheduled.length === 0) return;
      const ref = ({ eventId, seatNumber, holdVersion }: HoldVersionRef) => ({ eventId, seatNumber, holdVersion });
      await ask<void>(
        'POST',
        InternalPaths.settleExpiries,
        { done: done.map(ref), rescheduled: rescheduled.map((r) => ({ hold: ref(r.hold), dueAtMs: r.dueAtMs })) },
        204,
      );
    },
    counts() {
      return ask<ExpiryCounts>('GET', InternalPaths.expiryCounts, undefined, 200, expiryCountsResponse);
    },
    close() {
      agent.destroy();
    },
  };
}
