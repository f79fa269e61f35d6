import type { Express } from 'express';
import { createRoutedServiceApp, type ServiceAppOptions } from '@zephyr/runtime';

/** The worker's HTTP face is operational only: /health, /health/ready and /metrics. */
export function createApp(deps: ServiceAppOptions): Express {
  return createRoutedServiceApp(deps);
}
