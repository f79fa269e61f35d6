import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { ErrorCodes } from '@zephyr/contracts';
import { AppError, createConnectionCap, writeRawError, type Logger, type TokenVerifier } from '@zephyr/runtime';
import type { RateLimit } from '../../data-access/rate-limits';
import { roundRobin, upstreamAgent } from '../http/proxy';

const WS_PATHS = new Set(['/', '/ws']);
const MAX_URL_LENGTH = 2048;

/**
 * WebSocket upgrades: express middleware does not run on them, so the path, the per-IP limit and a
 * `?token=` are checked here before the upgrade is proxied to a notifier.
 */
export function createUpgradeHandler(deps: {
  notifierUrl: string;
  verifier: TokenVerifier;
  ipLimit?: RateLimit;
  logger: Logger;
  trustProxy: number;
  /** Proxied WebSockets this replica carries (each costs two descriptors); more get 503 at the upgrade. */
  maxConnections: number;
}) {
  const cap = createConnectionCap(deps.maxConnections);
  const pick = roundRobin(deps.notifierUrl);
  const proxy = createProxyMiddleware({
    target: deps.notifierUrl.split(',')[0],
    router: deps.notifierUrl.includes(',') ? () => pick() : undefined,
    ws: true,
    agent: upstreamAgent,
    xfwd: true,
    on: {
      error: (err, _req, target) => {
        deps.logger.warn({ err: err.message }, 'notifier unavailable for websocket');
        if ('destroy' in target) (target as Duplex).destroy();
      },
    },
  });

  const clientIp = (req: IncomingMessage): string => {
    if (deps.trustProxy > 0) {
      const hops = String(req.headers['x-forwarded-for'] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const ip = hops[hops.length - deps.trustProxy];
      if (ip) return ip;
    }
    return req.socket.remoteAddress ?? 'unknown';
  };

  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const run = async () => {
      const raw = req.url ?? '/';
      if (raw.length > MAX_URL_LENGTH) return writeRawError(socket, ErrorCodes.ValidationFailed, 'URL too long');
      // Origin-form only: '//host/...' or an absolute URL would otherwise parse to a path of '/'.
      const url = raw.startsWith('/') && !raw.startsWith('//') ? new URL(raw, 'http://gateway.local') : undefined;
      if (!url || !WS_PATHS.has(url.pathname)) return writeRawError(socket, ErrorCodes.NotFound, 'No such route');
      // Buyers before watchers: past the cap the REST side keeps its descriptors and CPU.
      const release = cap.claim();
      if (!release) {
        return writeRawError(
          socket,
          ErrorCodes.DependencyUnavailable,
          'Too many WebSocket connections; retry shortly',
          {
            'Retry-After': 1,
          },
        );
      }
      // Every way out (refused below, proxied and later closed, or reset) ends with this socket's close.
      socket.once('close', release);
      if (deps.ipLimit) {
        const decision = await deps.ipLimit.consume(clientIp(req));
        if (!decision.allowed) {
          return writeRawError(socket, ErrorCodes.RateLimited, 'Too many requests', {
            'Retry-After': decision.resetSeconds,
          });
        }
      }
      const token = url.searchParams.get('token');
      if (token !== null) {
        try {
          await deps.verifier.verify(token);
        } catch (err) {
          // A bad token is 401; a key set that cannot be fetched is the outage below (503).
          if (err instanceof AppError)
            return writeRawError(socket, ErrorCodes.Unauthenticated, 'Invalid or expired token');
          throw err;
        }
      }
      proxy.upgrade(req, socket as never, head);
    };
    run().catch((err: Error) => {
      deps.logger.warn({ err: err.message }, 'websocket upgrade failed');
      writeRawError(socket, ErrorCodes.DependencyUnavailable, 'Try again shortly');
    });
  };
}
