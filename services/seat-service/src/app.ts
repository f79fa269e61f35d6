import type { Express } from 'express';
import {
  createRoutedServiceApp,
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
  return createRoutedServiceApp(deps, [
    seatRoutes(deps.rules, deps.verifier),
    internalRoutes(deps.rules, deps.directory),
  ]);
}
