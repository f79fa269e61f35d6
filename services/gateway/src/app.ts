import type { Express, RequestHandler } from 'express';
import helmet from 'helmet';
import { documentsRouter } from './entry-points/http/documents';
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
import type { RouteRule, Upstream } from './domain/route-table';
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
  /** Each backing service by name: database, redis, rabbitmq. */
  dependencyChecks: Record<'database' | 'redis' | 'rabbitmq', ReadinessCheck>;
  readiness: Record<string, ReadinessCheck>;
  trustProxy: number;
  isAcceptingTraffic?: () => boolean;
}

export function createApp(deps: GatewayAppDeps): Express {
  // One express app (a wrapping app ran express's request setup twice per request); helmet comes first, so
  // the shared health and metrics routes get its headers too.
  const app = createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness,
    isAcceptingTraffic: deps.isAcceptingTraffic,
    first: [helmet()],
    trustProxy: deps.trustProxy,
  });
  // SPEC.md §8 documents: public, served here, never proxied (other methods fall through to the 404).
  app.use(documentsRouter({ ipLimit: deps.ipLimit, onRateLimited: (limiter) => deps.rateLimited.inc({ limiter }) }));

  for (const name of ['database', 'redis', 'rabbitmq'] as const) {
    app.get(`/health/${name}`, async (_req, res) => {
      const result = await runChecks({ [name]: deps.dependencyChecks[name] });
      res.status(result.ok ? 200 : 503).json({ status: result.ok ? 'ok' : 'unavailable', checks: result.checks });
    });
  }

  app.use(pageRouter());
  app.use(
    gatewayGuard({
      verifier: deps.verifier,
      ipLimit: deps.ipLimit,
      userLimit: deps.userLimit,
      onRateLimited: (limiter) => deps.rateLimited.inc({ limiter }),
    }),
  );
  // Bodies are bounded here but not parsed: the owning service reads the same bytes the client sent.
  app.use(bufferBody());
  app.use(idempotency({ ...deps.idempotency, logger: deps.logger }));
  app.use((req, res, next) => deps.proxies[(res.locals.route as RouteRule).upstream](req, res, next));
  app.use(errorHandler(deps.logger));
  return app;
}
