import { ErrorCodes, UUID_PATTERN } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';

/** An event id from the path, lower-cased; anything else is a 400 before any query runs. */
export function eventIdParam(value: unknown): string {
  if (typeof value !== 'string' || !UUID_PATTERN.test(value)) {
    throw new AppError(ErrorCodes.ValidationFailed, 'Invalid event id', [{ path: 'id', message: 'must be a UUID' }]);
  }
  return value.toLowerCase();
}
