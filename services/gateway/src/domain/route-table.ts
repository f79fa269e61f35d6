/** Which upstream owns a public route, and who may call it (SPEC.md §2-§3). */
export type Upstream = 'event' | 'seat';
export type Access = 'public' | 'user' | 'admin';

export interface RouteRule {
  method: string;
  pattern: RegExp;
  upstream: Upstream;
  access: Access;
  /** Mutations count against the per-user rate limit. */
  mutation: boolean;
}

const SEG = '[^/]+';
const rule = (method: string, path: string, upstream: Upstream, access: Access): RouteRule => ({
  method,
  pattern: new RegExp(`^${path.replace(/:[a-zA-Z]+/g, SEG)}/?$`),
  upstream,
  access,
  mutation: method !== 'GET',
});

export const ROUTES: readonly RouteRule[] = [
  rule('GET', '/api/events', 'event', 'public'),
  rule('POST', '/api/events', 'event', 'admin'),
  rule('GET', '/api/events/:id/seats/available', 'seat', 'public'),
  rule('GET', '/api/events/:id/seats', 'seat', 'public'),
  rule('GET', '/api/events/:id/history', 'seat', 'admin'),
  rule('GET', '/api/events/:id', 'event', 'public'),
  rule('PATCH', '/api/events/:id', 'event', 'admin'),
  rule('POST', '/api/seats/:eventId/hold', 'seat', 'user'),
  rule('POST', '/api/seats/:eventId/reserve', 'seat', 'user'),
  rule('POST', '/api/seats/:eventId/best-available', 'seat', 'user'),
  rule('POST', '/api/seats/:eventId/:seat/hold', 'seat', 'user'),
  rule('DELETE', '/api/seats/:eventId/:seat/hold', 'seat', 'user'),
  rule('POST', '/api/seats/:eventId/:seat/reserve', 'seat', 'user'),
  rule('POST', '/api/seats/:eventId/:seat/refresh', 'seat', 'user'),
  rule('GET', '/api/seats/:eventId/:seat/status', 'seat', 'public'),
  rule('GET', '/api/seats/:eventId/user/:userId/holds', 'seat', 'user'),
];

/** Matches the raw path (query stripped); HEAD is served like GET. */
export function matchRoute(method: string, rawUrl: string): RouteRule | undefined {
  const path = rawUrl.split('?', 1)[0]!;
  const effective = method === 'HEAD' ? 'GET' : method;
  return ROUTES.find((r) => r.method === effective && r.pattern.test(path));
}
