import type { Request, RequestHandler, Response } from 'express';
import { ErrorCodes, HttpHeaders } from '@zephyr/contracts';
import { AppError, callerFor, type TokenVerifier } from '@zephyr/runtime';
import { matchRoute, type RouteRule } from '../../domain/route-table';
import { stripIdentityHeaders } from './client-headers';
import type { LimitDecision, RateLimit } from '../../data-access/rate-limits';

const MAX_URL_LENGTH = 2048;

export interface GuardDeps {
  verifier: TokenVerifier;
  ipLimit?: RateLimit;
  userLimit?: RateLimit;
  onRateLimited(limiter: 'ip' | 'user'): void;
}

function decodablePath(rawUrl: string): boolean {
  const path = rawUrl.split('?', 1)[0]!;
  if (!path.includes('%')) return true;
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

function setLimitHeaders(res: Response, decision: LimitDecision): void {
  res.setHeader('RateLimit-Limit', String(decision.limit));
  res.setHeader('RateLimit-Remaining', String(decision.remaining));
  res.setHeader('RateLimit-Reset', String(decision.resetSeconds));
}

function tooMany(res: Response, decision: LimitDecision): AppError {
  res.setHeader('Retry-After', String(decision.resetSeconds));
  return new AppError(ErrorCodes.RateLimited, 'Too many requests; retry later');
}

/** The per-IP limit; throws RATE_LIMITED (with its headers set) when the caller is over it. */
async function consumeIpLimit(
  deps: Pick<GuardDeps, 'ipLimit' | 'onRateLimited'>,
  req: Request,
  res: Response,
): Promise<LimitDecision | undefined> {
  if (!deps.ipLimit) return undefined;
  const decision = await deps.ipLimit.consume(req.ip ?? 'unknown');
  if (!decision.allowed) {
    deps.onRateLimited('ip');
    setLimitHeaders(res, decision);
    throw tooMany(res, decision);
  }
  return decision;
}

/** The per-IP limit alone, for the gateway's own public routes (the API documents). */
export function limitByIp(deps: Pick<GuardDeps, 'ipLimit' | 'onRateLimited'>): RequestHandler {
  return (req, res, next) => {
    consumeIpLimit(deps, req, res).then((decision) => {
      if (decision) setLimitHeaders(res, decision);
      next();
    }, next);
  };
}

/**
 * Everything the gateway decides before a request reaches a service, in SPEC.md's precedence:
 * unknown route 404, per-IP limit, 401, 403 (role), per-user limit, then a path that does not decode (400);
 * the body's 413 follows in bufferBody.
 * The route it matched is left in res.locals.route for the proxy.
 */
export function gatewayGuard(deps: GuardDeps): RequestHandler {
  return (req, res, next) => {
    const run = async () => {
      if (req.originalUrl.length > MAX_URL_LENGTH) throw new AppError(ErrorCodes.ValidationFailed, 'URL too long');
      // The app's fork has matched already for API requests; what reaches here unmatched is matched here.
      const rule = (res.locals.route as RouteRule | undefined) ?? matchRoute(req.method, req.originalUrl);
      if (!rule) throw new AppError(ErrorCodes.NotFound, 'No such route');
      res.locals.route = rule;
      stripIdentityHeaders(req.headers);
      // Carry the gateway's request id upstream so logs and messages of one request line up. (Set on the
      // incoming headers: http-proxy's proxyReq hook can fire after headers are sent when sockets queue.)
      req.headers[HttpHeaders.requestId] = req.requestId;
      // The template (`/api/events/:id`), not the regex: metric labels people can read.
      res.locals.routeLabel = `${rule.method} ${rule.path}`;

      let shown = await consumeIpLimit(deps, req, res);

      // The route table's access word, checked by the same rule the services apply again behind us.
      const caller = await callerFor(rule.access, req, deps.verifier);
      // Idempotency keys are scoped by caller.
      res.locals.callerId = caller?.userId;

      if (rule.mutation && caller && deps.userLimit) {
        const decision = await deps.userLimit.consume(caller.userId);
        if (!shown || decision.remaining < shown.remaining) shown = decision;
        if (!decision.allowed) {
          deps.onRateLimited('user');
          setLimitHeaders(res, decision);
          throw tooMany(res, decision);
        }
      }
      if (shown) setLimitHeaders(res, shown);

      // A path that is not valid percent-encoded UTF-8 names nothing (and must not reach a router that
      // decodes it and fails): a 400 at the edge, after identity as SPEC.md's precedence wants.
      if (!decodablePath(req.originalUrl))
        throw new AppError(ErrorCodes.ValidationFailed, 'Malformed percent-encoding in the path');
    };
    run().then(() => next(), next);
  };
}
