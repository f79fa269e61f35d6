import path from 'node:path';
import express, { type Router } from 'express';
import { ClientMessageTypes, ErrorCodes, LIMITS, PublicPaths, ServerMessageTypes } from '@zephyr/contracts';

/** dist/ of the gateway: the page's compiled scripts are in dist/page, its HTML and CSS in page/static. */
const DIST = path.resolve(__dirname, '../..');
const COMPILED = path.join(DIST, 'page');
const STATIC = path.resolve(DIST, '../page/static');

/**
 * The page gets the contract's names from the gateway that serves it, so they cannot drift; page/src/
 * contracts.d.ts types exactly these exports.
 */
const PAGE_CONTRACTS = { ClientMessageTypes, ErrorCodes, LIMITS, PublicPaths, ServerMessageTypes };
const CONTRACTS_MODULE = Object.entries(PAGE_CONTRACTS)
  .map(([name, value]) => `export const ${name} = Object.freeze(${JSON.stringify(value)});`)
  .join('\n');

/** Everything from this host only; no inline script, no upgrade-insecure-requests (the page is served over http locally). */
const PAGE_CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * SPEC.md §8: the live seat-map page at `/` and `/events/:id`, public static files served before the API
 * guard (so they need no token and are not API 404s).
 */
export function pageRouter(): Router {
  const router = express.Router();
  const sendIndex: express.RequestHandler = (_req, res) => {
    res.locals.routeLabel = 'GET page';
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.sendFile(path.join(STATIC, 'index.html'));
  };
  router.get('/', sendIndex);
  router.get('/events/:eventId', sendIndex);
  router.get('/assets/contracts.js', (_req, res) => {
    res.locals.routeLabel = 'GET page asset';
    res.type('text/javascript').setHeader('Cache-Control', 'no-cache');
    res.send(CONTRACTS_MODULE);
  });
  const assets = { index: false, fallthrough: true, cacheControl: true, maxAge: 0 } as const;
  router.use('/assets', (_req, res, next) => {
    res.locals.routeLabel = 'GET page asset';
    next();
  });
  router.use('/assets', express.static(COMPILED, assets), express.static(STATIC, assets));
  return router;
}
