import type { Express } from 'express';
import { createRoutedServiceApp, type Logger, type ReadinessCheck } from '@zephyr/runtime';
import type { NotifierMetrics } from './metrics';

export interface AppDeps {
  logger: Logger;
  metrics: NotifierMetrics;
  /** Named checks for /health/ready. */
  readiness: Record<string, ReadinessCheck>;
  isAcceptingTraffic: () => boolean;
}

/** HTTP side of the notifier: health and metrics only; WebSocket upgrades are handled on the server. */
export function createApp(deps: AppDeps): Express {
  return createRoutedServiceApp(deps);
}
