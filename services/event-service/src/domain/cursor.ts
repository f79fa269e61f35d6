import { ErrorCodes, UUID_PATTERN } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';

/** Position in the newest-first listing: the last item a page returned. */
export interface PageKey {
  createdAt: Date;
  id: string;
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Opaque to clients (base64url of a small JSON pair); stored timestamps have millisecond precision. */
export function encodeCursor(key: PageKey): string {
  return Buffer.from(JSON.stringify([key.createdAt.toISOString(), key.id]), 'utf8').toString('base64url');
}

/** Anything that did not come from encodeCursor is a validation failure, never a query. */
export function decodeCursor(cursor: string): PageKey {
  const invalid = () =>
    new AppError(ErrorCodes.ValidationFailed, 'Invalid cursor', [
      { path: 'cursor', message: 'is not a cursor returned by this API' },
    ]);
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw invalid();
  const [at, id] = decoded as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || !ISO_MS.test(at) || !UUID_PATTERN.test(id)) throw invalid();
  const createdAt = new Date(at);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at) throw invalid();
  return { createdAt, id };
}
