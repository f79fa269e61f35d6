import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { HttpHeaders, InternalPaths, expireHoldsResponse } from '@zephyr/contracts';
import { DependencyUnavailableError } from '@zephyr/runtime';
import type { HoldExpirer } from '../domain/expiry-loop';
import type { HoldRef } from '../domain/holds';
import type { ExpireResult } from '../domain/settlement';

export interface SeatServiceClient extends HoldExpirer {
  close(): void;
}

export interface SeatServiceClientOptions {
  baseUrl: string;
  timeoutMs: number;
}

export function createSeatServiceClient(options: SeatServiceClientOptions): SeatServiceClient {
  const url = new URL(InternalPaths.expireHolds, options.baseUrl);
  const transport = url.protocol === 'https:' ? https : http;
  // Keep-alive: a busy worker calls every few milliseconds; a new TCP connection each time is waste.
  const agent = new transport.Agent({ keepAlive: true, maxSockets: 8 });

  const post = (body: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
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
      req.end(body);
    });

  return {
    async expire(holds: readonly HoldRef[]): Promise<ExpireResult[]> {
      const payload = {
        holds: holds.map(({ eventId, seatNumber, holdVersion }) => ({ eventId, seatNumber, holdVersion })),
      };
      const { status, text } = await post(JSON.stringify(payload));
      if (status !== 200)
        throw new DependencyUnavailableError(`seat-service answered ${status}: ${text.slice(0, 200)}`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error('seat-service answered with malformed JSON');
      }
      const { error, value } = expireHoldsResponse.validate(body);
      if (error) throw new Error(`seat-service answer breaks the contract: ${error.message}`);
      return (value as { results: ExpireResult[] }).results;
    },
    close() {
      agent.destroy();
    },
  };
}
