import { ErrorCodes } from '@zephyr/contracts';
import { AppError, bearerToken, type TokenVerifier } from '@zephyr/runtime';
import type { RequestHandler } from 'express';

/** public: a token is optional but verified when sent; admin: a valid token with the admin role. */
export type Access = 'public' | 'admin';

/**
 * Verifies the caller's JWT here even behind the gateway: a forwarded header is never trusted. Runs before
 * the body is read so 401/403 win over 413/415/400 (SPEC.md precedence).
 */
export function authenticate(verifier: TokenVerifier, access: Access): RequestHandler {
  return async (req, _res, next) => {
    try {
      const token = bearerToken(req);
      if (token === undefined) {
        if (access === 'public') return next();
        throw new AppError(ErrorCodes.Unauthenticated, 'A bearer token is required');
      }
      const identity = await verifier.verify(token);
      if (access === 'admin' && !identity.isAdmin)
        throw new AppError(ErrorCodes.Forbidden, 'The admin role is required');
      next();
    } catch (err) {
      next(err);
    }
  };
}
