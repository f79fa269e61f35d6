import { ErrorCodes } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime';

// Canonical hyphenated form only: Joi's guid() also accepts braces and ':' separators, which PostgreSQL rejects.
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An event id from the path, lower-cased; anything else is a 400 before any query runs. */
export function eventIdParam(value: unknown): string {
  if (typeof value !== 'string' || !UUID_PATTERN.test(value)) {
    throw new AppError(ErrorCodes.ValidationFailed, 'Invalid event id', [{ path: 'id', message: 'must be a UUID' }]);
  }
  return value.toLowerCase();
}
