import http from 'node:http';
import type { RequestHandler } from 'express';
import { createProxyMiddleware, debugProxyErrorsPlugin, proxyEventsPlugin } from 'http-proxy-middleware';
import { ErrorCodes, HTTP_STATUS_BY_CODE, errorBody } from '@zephyr/contracts';
import type { Logger } from '@zephyr/runtime';
import { writeBufferedBody } from './body';

/** Keep-alive connections to the upstreams: a new TCP connection per request costs more than the proxying. */
export const upstreamAgent = new http.Agent({
  keepAlive: true,
  maxSockets: 256,
  maxFreeSockets: 64,
  keepAliveMsecs: 10_000,
});

/** Errors raised before the request reached the upstream: it cannot have changed anything. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** An upstream answer that was not the one expected (its status, or 200 with a body that is not readable). */
export class UnexpectedUpstreamAnswer extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }

  /** A 4xx refused the request as a whole before acting on it; a 5xx or an unreadable 200 may have acted. */
  get changedNothing(): boolean {
    return this.status >= 400 && this.status < 500;
  }
}

const changedNothing = (err: Error) =>
  NOT_SENT.has((err as NodeJS.ErrnoException).code ?? '') ||
  (err instanceof UnexpectedUpstreamAnswer && err.changedNothing);

/**
 * The single answer when an upstream is down or too slow: 503 with the contract envelope. It says only
 * what is known: a request that reached the upstream (a timeout, a reset) may have taken effect.
 */
export function upstreamFailed(
  res: http.ServerResponse | import('node:net').Socket,
  logger: Logger,
  err: Error,
  target: string,
) {
  logger.warn({ target, err: err.message }, 'upstream unavailable');
  if (!(res instanceof http.ServerResponse)) {
    res.destroy();
    return;
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const message = changedNothing(err)
    ? 'An upstream service is unavailable; nothing was changed.'
    : 'An upstream service did not answer; the request may or may not have taken effect. Retry it with the same Idempotency-Key, or read the seat to see.';
  const code = ErrorCodes.DependencyUnavailable;
  res.writeHead(HTTP_STATUS_BY_CODE[code], { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(errorBody(code, message)));
}

/** Round-robin over an upstream's replicas (a comma-separated URL list); one URL is the usual case. */
export function roundRobin<T = string>(urls: string, as: (url: string) => T = (url) => url as T): () => T {
  const targets = urls.split(',').map(as);
  let next = 0;
  return () => targets[next++ % targets.length]!;
}

/** The fields of a target that http-proxy reads, parsed once: given a URL string, it parses one per request. */
export interface ProxyTarget {
  protocol: string;
  hostname: string;
  host: string;
  port: string;
  path: string;
}

export function proxyTargetOf(url: string): ProxyTarget {
  const parsed = new URL(url);
  // Node's http client wants an IPv6 address without the URL's brackets.
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return { protocol: parsed.protocol, hostname, host: hostname, port: parsed.port, path: parsed.pathname };
}

export function createUpstreamProxy(urls: string, logger: Logger, timeoutMs: number): RequestHandler {
  const pick = roundRobin(urls, proxyTargetOf);
  const target = urls.split(',')[0]!;
  return createProxyMiddleware({
    target: proxyTargetOf(target),
    router: urls.includes(',') ? () => pick() : undefined,
    agent: upstreamAgent,
    xfwd: true,
    // Only the plugins used: socket-error guards and the `on` handlers below. The default logger plugin
    // parsed a URL per response for a logger we do not use, and errors are answered by upstreamFailed.
    ejectPlugins: true,
    plugins: [debugProxyErrorsPlugin, proxyEventsPlugin],
    proxyTimeout: timeoutMs,
    // The client socket's own idle bound must fire after the upstream's, or a slow upstream would cut the
    // client off without its 503 (and an Idempotency-Key's claim would end without a clear answer).
    timeout: timeoutMs + 1000,
    on: {
      proxyReq: writeBufferedBody,
      error: (err, _req, res) => upstreamFailed(res, logger, err, target),
    },
  }) as unknown as RequestHandler;
}
