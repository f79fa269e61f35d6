import type { Express } from 'express';
import { createRoutedServiceApp, type ServiceAppOptions } from '@zephyr/runtime';

/** HTTP side of the notifier: health and metrics only; WebSocket upgrades are handled on the server. */
export function createApp(deps: ServiceAppOptions): Express {
  return createRoutedServiceApp(deps);
}
