/** The route/access table lives in packages/contracts (the API documents are built from it too). */
import type { RouteRule } from '@zephyr/contracts';
export { ROUTES, matchRoute, type Access, type RouteRule, type Upstream } from '@zephyr/contracts';

/** The single-seat hold, the on-sale's hot route: the gateway can batch it (entry-points/http/hold-batches). */
export const isSingleSeatHold = (rule: RouteRule): boolean =>
  rule.method === 'POST' && rule.path === '/api/seats/:eventId/:seatNumber/hold';
