/** The route/access table lives in packages/contracts (the API documents are built from it too). */
export { ROUTES, matchRoute, type Access, type RouteRule, type Upstream } from '@zephyr/contracts';
