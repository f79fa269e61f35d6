import type { Express } from 'express';
import {
  createServiceApp,
  errorHandler,
  notFoundHandler,
  type Logger,
  type ReadinessCheck,
  type ServiceMetrics,
  type TokenVerifier,
} from '@zephyr/runtime';
import type { SeatRules } from './domain/seat-rules';
import type { EventDirectory } from './data-access/event-directory';
import { seatRoutes } from './entry-points/http/seat-routes';
import { internalRoutes } from './entry-points/http/internal-routes';

export interface SeatAppDeps {
  rules: SeatRules;
  directory: EventDirectory;
  verifier: TokenVerifier;
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Record<string, ReadinessCheck>;
  isAcceptingTraffic?: () => boolean;
}

export function createApp(deps: SeatAppDeps): Express {
  const app = createServiceApp(deps);
  app.use(seatRoutes(deps.rules, deps.verifier));
  app.use(internalRoutes(deps.rules, deps.directory));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
