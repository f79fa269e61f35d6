import type { Express } from 'express';
import { createRoutedServiceApp, type Logger, type ReadinessCheck, type ServiceMetrics } from '@zephyr/runtime';

export interface AppDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Record<string, ReadinessCheck>;
  isAcceptingTraffic: () => boolean;
}

/** The worker's HTTP face is operational only: /health, /health/ready and /metrics. */
export function createApp(deps: AppDeps): Express {
  return createRoutedServiceApp(deps);
}
