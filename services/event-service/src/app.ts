import { createRoutedServiceApp, type ServiceAppOptions, type TokenVerifier } from '@zephyr/runtime';
import type { Express } from 'express';
import type { EventsService } from './domain/events';
import { eventsRoutes } from './entry-points/http/events-routes';
import { internalRoutes } from './entry-points/http/internal-routes';
import type { EventServiceMetrics } from './metrics';

export interface AppDeps extends ServiceAppOptions {
  domainMetrics: EventServiceMetrics;
  events: EventsService;
  verifier: TokenVerifier;
}

/** The HTTP app, without listening or opening connections (tests use it in-process). */
export function createApp(deps: AppDeps): Express {
  return createRoutedServiceApp(deps, [
    internalRoutes(deps.events),
    eventsRoutes({ events: deps.events, verifier: deps.verifier, eventsCreated: deps.domainMetrics.eventsCreated }),
  ]);
}
