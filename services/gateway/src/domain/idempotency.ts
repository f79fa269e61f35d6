import { ErrorCodes, IDEMPOTENCY_KEY_PATTERN } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';

/** SPEC.md §7: who retries what. The caller is the token's `sub`, or the client IP when anonymous. */
export interface IdempotencyScope {
  caller: { userId: string } | { ip: string };
  method: string;
  /** The request path without its query. */
  path: string;
  key: string;
}

/** A first request still running: who claimed it and for which body. */
export interface InFlight {
  state: 'in-flight';
  bodyHash: string;
  /** Random per claim, so only the claimer can complete or release it. */
  claim: string;
}

/** The kept first answer. */
export interface Completed {
  state: 'completed';
  bodyHash: string;
  status: number;
  headers: Record<string, string>;
  /** Base64 of the exact body bytes. */
  body: string;
}

export type IdempotencyRecord = InFlight | Completed;

export type Outcome = 'replayed' | 'reused' | 'in_flight' | 'stored' | 'not_kept';

export function assertValidKey(key: string): void {
  if (!IDEMPOTENCY_KEY_PATTERN.test(key))
    throw new AppError(ErrorCodes.ValidationFailed, 'Idempotency-Key must be 1-255 printable ASCII characters', [
      { path: 'headers.idempotency-key', message: 'must be 1-255 printable ASCII characters' },
    ]);
}

/**
 * What a repeat gets, given the record its key already holds: the kept answer for the same bytes; a
 * refusal for another body, or while the first is still running (whatever its body).
 */
export function decideRepeat(record: IdempotencyRecord, hash: string): Completed {
  if (record.state === 'in-flight')
    throw new AppError(ErrorCodes.IdempotencyInFlight, 'A request with this Idempotency-Key is still running');
  if (record.bodyHash !== hash)
    throw new AppError(
      ErrorCodes.IdempotencyKeyReused,
      'This Idempotency-Key was used with another request body; use a new key for a new request',
    );
  return record;
}
