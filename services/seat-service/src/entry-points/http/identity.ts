import { ErrorCodes, type Identity } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime';

/** SPEC.md: a body's userId is optional, but when present it must be the caller's own. */
export function assertOwnUserId(caller: Identity, userId: string | undefined): void {
  if (userId !== undefined && userId.toLowerCase() !== caller.userId) {
    throw new AppError(ErrorCodes.Forbidden, 'userId must be your own');
  }
}
