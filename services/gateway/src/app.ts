import { Router, type Express, type RequestHandler } from 'express';
import { documentsRouter } from './entry-points/http/documents';
import { securityHeaders } from './entry-points/http/security-headers';
import {
  createServiceApp,
  errorHandler,
  runChecks,
  type Logger,
  type ReadinessCheck,
  type ServiceMetrics,
  type TokenVerifier,
} from '@zephyr/runtime';
import type { Counter } from '@zephyr/runtime';
import { isSingleSeatHold, matchRoute, type RouteRule, type Upstream } from './domain/route-table';
import type { RateLimit } from './data-access/rate-limits';
import { gatewayGuard } from './entry-points/http/guard';
import { bufferBody } from './entry-points/http/body';
import { idempotency, type IdempotencyDeps } from './entry-points/http/idempotency';
import { pageRouter } from './entry-points/http/page';

export interface GatewayAppDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  verifier: TokenVerifier;
  ipLimit?: RateLimit;
  userLimit?: RateLimit;
  rateLimited: Counter<'limiter'>;
  /** SPEC.md §7's Idempotency-Key (the logger is the app's). */
  idempotency: Omit<IdempotencyDeps, 'logger'>;
  proxies: Record<Upstream, RequestHandler>;
  /** When set, single-seat holds go here (batched) instead of the seat proxy. */
  batchedHolds?: RequestHandler;
  /** Each backing service by name: database, redis, rabbitmq. */
  dependencyChecks: Record<'database' | 'redis' | 'rabbitmq', ReadinessCheck>;
  readiness: Record<string, ReadinessCheck>;
  trustProxy: number;
  isAcceptingTraffic?: () => boolean;
}

export function createApp(deps: GatewayAppDeps): Express {
  // One express app (a wrapping app ran express's request setup twice per request); helmet's headers come
  // first, so the shared health and metrics routes get them too.
  const app = createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness,
    isAcceptingTraffic: deps.isAcceptingTraffic,
    first: [securityHeaders()],
    trustProxy: deps.trustProxy,
  });
  // Two rooms, chosen by the route table: an API request goes straight to the guard and the proxy; anything
  // else tries the site (documents, the seat-map page, dependency health) and then the guard, which answers
  // the contract's 404. An API request used to walk past every site route first (about 12 µs per request when
  // they were skipped in a layer-by-layer experiment).
  const site = Router();
  // SPEC.md §8 documents: public, served here, never proxied (other methods fall through to the 404).
  site.use(documentsRouter({ ipLimit: deps.ipLimit, onRateLimited: (limiter) => deps.rateLimited.inc({ limiter }) }));
  for (const name of ['database', 'redis', 'rabbitmq'] as const) {
    site.get(`/health/${name}`, async (_req, res) => {
      const result = await runChecks({ [name]: deps.dependencyChecks[name] });
      res.status(result.ok ? 200 : 503).json({ status: result.ok ? 'ok' : 'unavailable', checks: result.checks });
    });
  }
  site.use(pageRouter());

  const api = Router();
  api.use(
    gatewayGuard({
      verifier: deps.verifier,
      ipLimit: deps.ipLimit,
      userLimit: deps.userLimit,
      onRateLimited: (limiter) => deps.rateLimited.inc({ limiter }),
    }),
  );
  // Bodies are bounded here but not parsed: the owning service reads the same bytes the client sent.
  api.use(bufferBody());
  api.use(idempotency({ ...deps.idempotency, logger: deps.logger }));
  api.use((req, res, next) => {
    const rule = res.locals.route as RouteRule;
    if (deps.batchedHolds && isSingleSeatHold(rule)) return deps.batchedHolds(req, res, next);
    deps.proxies[rule.upstream](req, res, next);
  });

  app.use((req, res, next) => {
    const rule = matchRoute(req.method, req.originalUrl);
    if (rule) {
      res.locals.route = rule;
      return api(req, res, next);
    }
    site(req, res, (err?: unknown) => (err ? next(err) : api(req, res, next)));
  });
  app.use(errorHandler(deps.logger));
  return app;
}
