import type { Express } from 'express';
import { createRoutedServiceApp, type ServiceAppOptions, type TokenVerifier } from '@zephyr/runtime';
import type { SeatRules } from './domain/seat-rules';
import type { MultiSeatRules } from './domain/multi-seat-rules';
import type { EventDirectory } from './data-access/event-directory';
import type { ExpiryIndex } from './data-access/expiry-index';
import { seatRoutes } from './entry-points/http/seat-routes';
import { internalRoutes } from './entry-points/http/internal-routes';
import { multiSeatRoutes } from './entry-points/http/multi-seat-routes';
import { holdBatchRoutes } from './entry-points/http/hold-batch-routes';

export interface SeatAppDeps extends ServiceAppOptions {
  rules: SeatRules;
  multiSeatRules: MultiSeatRules;
  directory: EventDirectory;
  expirySchedule: ExpiryIndex;
  verifier: TokenVerifier;
}

export function createApp(deps: SeatAppDeps): Express {
  return createRoutedServiceApp(deps, [
    seatRoutes(deps.rules, deps.verifier),
    multiSeatRoutes(deps.multiSeatRules, deps.verifier),
    internalRoutes(deps.rules, deps.directory, deps.expirySchedule),
    holdBatchRoutes(deps),
  ]);
}
