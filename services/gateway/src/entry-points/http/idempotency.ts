import type { Request, RequestHandler, Response } from 'express';
import { ErrorCodes, HttpHeaders, IDEMPOTENCY_TTL_SECONDS } from '@zephyr/contracts';
import { AppError, isUnsupportedMediaType, type Counter, type Logger } from '@zephyr/runtime';
import { createHash } from 'node:crypto';
import { assertValidKey, decideRepeat, type Completed, type Outcome } from '../../domain/idempotency';
import { scopeKey, type Claim, type ClaimResult, type IdempotencyStore } from '../../data-access/idempotency-store';
import { bufferedBody } from './body';

export interface IdempotencyDeps {
  store: IdempotencyStore;
  /** How long an in-flight marker lives: the upstream timeout plus a margin, so a crashed gateway's claim ends. */
  markerTtlMs: number;
  outcomes: Counter<'outcome'>;
  logger: Logger;
}

/** Answer headers a client needs again on a replay; per-request ones (request id, limits) are the replay's own. */
const KEPT_HEADERS = ['content-type', 'content-encoding', 'content-language', 'location', 'cache-control', 'etag'];
/** No answer of the API comes near this; a bigger one is passed on but not kept. */
const MAX_KEPT_BODY_BYTES = 1024 * 1024;

/** A repeat is the same request when its body bytes are the same (SPEC.md §7: not its JSON meaning). */
const bodyHash = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

/** SPEC.md §7: an answer is kept unless a retry could fare better (a 5xx or a 429). */
const isKeptStatus = (status: number): boolean => status < 500 && status !== 429;

const OUTCOME_BY_CODE: Partial<Record<string, Outcome>> = {
  [ErrorCodes.IdempotencyInFlight]: 'in_flight',
  [ErrorCodes.IdempotencyKeyReused]: 'reused',
};

function replay(res: Response, answer: Completed): void {
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.setHeader(HttpHeaders.idempotentReplayed, 'true');
  res.end(Buffer.from(answer.body, 'base64'));
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return undefined;
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return undefined;
}

/**
 * Tees the answer as it is written to the client (streaming is untouched) and, when it ends, keeps it in
 * place of the marker or releases the marker. Only the final end waits for that Redis call, so a client
 * that has the answer and retries at once always finds it kept.
 */
function captureAnswer(res: Response, claim: Claim, deps: IdempotencyDeps): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const keep = (chunk: unknown, encoding: unknown) => {
    const bytes = toBuffer(chunk, encoding);
    if (!bytes) return;
    size += bytes.length;
    if (size <= MAX_KEPT_BODY_BYTES) chunks.push(bytes);
  };
  const release = (why: string) => {
    deps.outcomes.inc({ outcome: 'not_kept' });
    return deps.store
      .release(claim)
      .catch((err: Error) =>
        deps.logger.warn({ err: err.message, why }, 'idempotency marker not released; it expires'),
      );
  };
  const settle = async (): Promise<void> => {
    const status = res.statusCode;
    if (!isKeptStatus(status)) return release(`status ${status}`);
    if (size > MAX_KEPT_BODY_BYTES) return release('answer too large to keep');
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = res.getHeader(name);
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    const answer: Completed = {
      state: 'completed',
      bodyHash: claim.bodyHash,
      status,
      headers,
      body: Buffer.concat(chunks, size).toString('base64'),
    };
    try {
      if (await deps.store.complete(claim, answer, IDEMPOTENCY_TTL_SECONDS)) deps.outcomes.inc({ outcome: 'stored' });
      else deps.logger.warn({ status }, 'idempotency marker expired before the answer; answer not kept');
    } catch (err) {
      // The client still gets its answer; the marker expires and a retry runs again.
      deps.logger.warn({ err: (err as Error).message }, 'idempotency answer not kept');
    }
  };

  const write = res.write;
  const end = res.end;
  res.write = function (this: Response, ...args: unknown[]) {
    keep(args[0], args[1]);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof res.write;
  res.end = function (this: Response, ...args: unknown[]) {
    const finish = () => (end as (...a: unknown[]) => Response).apply(this, args);
    if (settled) return finish();
    settled = true;
    keep(args[0], args[1]);
    void settle().finally(finish);
    return this;
  } as typeof res.end;
  // Destroyed before its end (the upstream broke off mid-answer, the client went away): nothing to keep.
  res.once('close', () => {
    if (settled) return;
    settled = true;
    void release('answer cut off');
  });
}

function callerOf(req: Request, res: Response): { userId: string } | { ip: string } {
  const userId = res.locals.callerId as string | undefined;
  // The same client address the per-IP limit uses (express's trust proxy follows TRUST_PROXY).
  return userId ? { userId } : { ip: req.ip ?? 'unknown' };
}

/**
 * SPEC.md §7's Idempotency-Key, for every upstream at once: runs after the guard and the body reader (so
 * 401/403/413 come first, then 415, then a bad key's 400) and before the proxy. Requests without the
 * header, and methods other than POST, never touch Redis.
 */
export function idempotency(deps: IdempotencyDeps): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const header = req.headers[HttpHeaders.idempotencyKey];
    if (header === undefined) return next();
    const run = async (): Promise<boolean> => {
      if (isUnsupportedMediaType(req.headers))
        throw new AppError(ErrorCodes.UnsupportedMediaType, 'Bodies must be application/json');
      const key = Array.isArray(header) ? header.join(', ') : header;
      assertValidKey(key);
      const scope = scopeKey({
        caller: callerOf(req, res),
        method: req.method,
        path: req.originalUrl.split('?', 1)[0]!,
        key,
      });
      const hash = bodyHash(bufferedBody(req));
      let result: ClaimResult;
      try {
        result = await deps.store.claim(scope, hash, deps.markerTtlMs);
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, 'idempotency store unavailable');
        throw new AppError(
          ErrorCodes.DependencyUnavailable,
          'Idempotency keys cannot be checked right now; nothing was changed. Retry shortly.',
        );
      }
      if ('claimed' in result) {
        // The client left while the key was claimed: nobody waits for an answer, so nothing is changed.
        if (res.destroyed || req.socket.destroyed) {
          await deps.store.release(result.claimed).catch(() => undefined);
          return false;
        }
        captureAnswer(res, result.claimed, deps);
        return true;
      }
      let answer: Completed;
      try {
        answer = decideRepeat(result.existing, hash);
      } catch (err) {
        const outcome = err instanceof AppError ? OUTCOME_BY_CODE[err.code] : undefined;
        if (outcome) deps.outcomes.inc({ outcome });
        throw err;
      }
      deps.outcomes.inc({ outcome: 'replayed' });
      replay(res, answer);
      return false;
    };
    run().then((proceed) => {
      if (proceed) next();
    }, next);
  };
}
