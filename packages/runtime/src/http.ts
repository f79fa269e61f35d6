import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse, createServer, type Server, type ServerOptions } from 'node:http';
import express, {
  type ErrorRequestHandler,
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type Joi from 'joi';
import {
  ErrorCodes,
  HTTP_STATUS_BY_CODE,
  HealthPaths,
  HttpHeaders,
  MAX_BODY_BYTES,
  errorBody,
  fastCheckOf,
  type ErrorCode,
  hasPrototypeKey,
  parseJson,
} from '@zephyr/contracts';
import { AppError, isDependencyFailure } from './errors';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import type { Lifecycle, ShutdownStep } from './shutdown';

export type ReadinessCheck = () => Promise<void>;

export interface ServiceAppOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  /** Named dependency checks for /health/ready; each rejects when its dependency does not answer. */
  readiness: Record<string, ReadinessCheck>;
  /** Flipped to false on shutdown so load balancers stop sending traffic before the drain. */
  isAcceptingTraffic?: () => boolean;
  /** Middleware for every response, the health and metrics routes included (the gateway's security headers). */
  first?: RequestHandler[];
  /** express's `trust proxy` (a hop count), for req.ip behind load balancers. */
  trustProxy?: number;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      requestId: string;
    }
  }
}

const READINESS_TIMEOUT_MS = 1500;

export async function runChecks(
  checks: Record<string, ReadinessCheck>,
): Promise<{ ok: boolean; checks: Record<string, string> }> {
  const results: Record<string, string> = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), READINESS_TIMEOUT_MS).unref()),
        ]);
        results[name] = 'up';
      } catch {
        results[name] = 'down';
      }
    }),
  );
  return { ok: Object.values(results).every((r) => r === 'up'), checks: results };
}

/** Express app with request ids, RED metrics, /health, /health/ready and /metrics; routes go on top. */
export function createServiceApp(options: ServiceAppOptions): Express {
  const { metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  for (const handler of options.first ?? []) app.use(handler);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers[HttpHeaders.requestId];
    req.requestId = typeof incoming === 'string' && /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader(HttpHeaders.requestId, req.requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // Proxies and other non-express routes name their route in res.locals.routeLabel.
      const route =
        (res.locals.routeLabel as string | undefined) ??
        (req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched');
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });

  app.get(HealthPaths.live, (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get(HealthPaths.ready, async (_req, res) => {
    if (options.isAcceptingTraffic && !options.isAcceptingTraffic()) {
      res.status(503).json({ status: 'shutting-down', checks: {} });
      return;
    }
    const result = await runChecks(options.readiness);
    res.status(result.ok ? 200 : 503).json({ status: result.ok ? 'ok' : 'unavailable', checks: result.checks });
  });
  app.get(HealthPaths.metrics, async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return app;
}

/**
 * A service's whole HTTP app: the base app, its routers in order, then the contract's 404 and the single
 * error path. (The gateway, which proxies, assembles its own.)
 */
export function createRoutedServiceApp(options: ServiceAppOptions, routers: RequestHandler[] = []): Express {
  const app = createServiceApp(options);
  for (const router of routers) app.use(router);
  app.use(notFoundHandler());
  app.use(errorHandler(options.logger));
  return app;
}

export function sendError(res: Response, code: ErrorCode, message: string, details?: unknown[]): void {
  res.status(HTTP_STATUS_BY_CODE[code]).json(errorBody(code, message, details));
}

/** An error as the contract answers it: status and body. Dependency outages and unknown errors are logged. */
export function errorAnswerOf(
  err: unknown,
  logger: Logger,
  requestId: string | undefined,
): { status: number; body: ReturnType<typeof errorBody> } {
  const answer = (code: ErrorCode, message: string, details?: unknown[]) => ({
    status: HTTP_STATUS_BY_CODE[code],
    body: errorBody(code, message, details),
  });
  if (err instanceof AppError) return answer(err.code, err.message, err.details);
  // Malformed percent-encoding in a path (express marks it 400) and similar request-level faults.
  const status = (err as { status?: unknown }).status;
  if (err instanceof URIError || status === 400) return answer(ErrorCodes.ValidationFailed, 'Malformed request');
  if (isDependencyFailure(err)) {
    logger.warn({ requestId, err: (err as Error).message }, 'dependency unavailable');
    return answer(
      ErrorCodes.DependencyUnavailable,
      'A backing service is unavailable; nothing was changed. Retry shortly.',
    );
  }
  logger.error({ requestId, err }, 'unhandled request error');
  return answer(ErrorCodes.Internal, 'Internal error');
}

/** The single error path for HTTP: known codes map through the contract table; dependency outages are 503. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const { status, body } = errorAnswerOf(err, logger, req.requestId);
    res.status(status).json(body);
  };
}

export function notFoundHandler(): RequestHandler {
  return (_req, res) => sendError(res, ErrorCodes.NotFound, 'No such route');
}

function isJsonContentType(value: string): boolean {
  const mediaType = value.split(';')[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'));
}

/**
 * SPEC.md's 415: a content type that is not JSON, or a body sent without any content type. The gateway
 * applies the same rule before its own body-level 400s so the precedence matches the services'.
 */
export function isUnsupportedMediaType(headers: import('node:http').IncomingHttpHeaders): boolean {
  const declaredLength = headers['content-length'];
  const hasBody =
    (declaredLength !== undefined && declaredLength !== '0') || headers['transfer-encoding'] !== undefined;
  const contentType = headers['content-type'];
  if (contentType !== undefined) return !isJsonContentType(contentType);
  return hasBody;
}

/** A declared body over `maxBytes` (413), then one that is not JSON (415): checked before any byte is read. */
export function bodyHeadersProblem(
  headers: import('node:http').IncomingHttpHeaders,
  maxBytes: number = MAX_BODY_BYTES,
): AppError | undefined {
  const declaredLength = headers['content-length'];
  if (declaredLength !== undefined && Number(declaredLength) > maxBytes) {
    return new AppError(ErrorCodes.PayloadTooLarge, `Body over ${maxBytes} bytes`);
  }
  if (isUnsupportedMediaType(headers)) {
    return new AppError(ErrorCodes.UnsupportedMediaType, 'Bodies must be application/json');
  }
  return undefined;
}

/** A JSON body's text: undefined when blank (an omitted optional body), else its value, or a 400. */
export function parseBodyText(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return parseJson(text);
  } catch {
    throw new AppError(ErrorCodes.ValidationFailed, 'Malformed JSON body');
  }
}

/**
 * Strict JSON body reader (SPEC.md precedence: 413, then 415, then 400). No body, or an empty body with a
 * JSON type, leaves req.body undefined so optional bodies can be omitted.
 */
export function jsonBody(maxBytes: number = MAX_BODY_BYTES): RequestHandler {
  return (req, _res, next) => {
    const declaredLength = req.headers['content-length'];
    const hasBody =
      (declaredLength !== undefined && declaredLength !== '0') || req.headers['transfer-encoding'] !== undefined;
    req.body = undefined;
    const problem = bodyHeadersProblem(req.headers, maxBytes);
    if (problem) return next(problem);
    if (!hasBody) return next();
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        next(new AppError(ErrorCodes.PayloadTooLarge, `Body over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        next(err);
      }
    });
    req.on('end', () => {
      if (failed) return;
      try {
        req.body = parseBodyText(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        return next(err);
      }
      next();
    });
  };
}

/**
 * Validates with a contract schema; a failure is a 400 listing every problem. A schema with a hand-written
 * check (withFastCheck) takes what that check accepts as it is and asks Joi only about the rest.
 */
export function validate<T>(schema: Joi.Schema, value: unknown, what: string): T {
  if (fastCheckOf(schema)?.(value)) return value as T;
  if (hasPrototypeKey(value))
    throw new AppError(ErrorCodes.ValidationFailed, `Invalid ${what}`, [{ path: '__proto__', message: 'not allowed' }]);
  const { error, value: result } = schema.validate(value);
  if (error) {
    throw new AppError(
      ErrorCodes.ValidationFailed,
      `Invalid ${what}`,
      error.details.map((d) => ({ path: d.path.join('.'), message: d.message })),
    );
  }
  return result as T;
}

/** Wraps async handlers so rejections reach the error handler (express 5 does this too; explicit is clearer). */
export function route(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}

/**
 * The one way to serve an express app: a server whose requests and responses are born with the app's own
 * prototypes. express otherwise swaps the prototype of every request and response it handles
 * (Object.setPrototypeOf in app.handle); each swap gives the object a new hidden class and sends V8's property
 * access, in Node's http code and in express alike, down its slow path. express then sets the same
 * prototypes again, which changes nothing. Measured with `npm run bench:hops`: express answering from a route
 * cost about 3.4 times the CPU per request of Node's own server before, about the same after.
 */
export function createAppServer(app: Express, options: ServerOptions = {}): Server {
  // Node's constructors are plain functions, so a constructor of our own can run them on an object that
  // already has the app's prototype. (Reflect.construct with the app's constructor as new.target would also
  // work if they became classes, but measured slower than the swap it saves.)
  if (!isPlainFunction(IncomingMessage) || !isPlainFunction(ServerResponse)) return createServer(options, app);
  const initRequest = IncomingMessage as unknown as (this: unknown, socket: unknown) => void;
  const initResponse = ServerResponse as unknown as (this: unknown, req: unknown, options: unknown) => void;
  function AppRequest(this: unknown, socket: unknown) {
    initRequest.call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: unknown, req: unknown, responseOptions: unknown) {
    initResponse.call(this, req, responseOptions);
  }
  AppResponse.prototype = app.response;
  return createServer(
    {
      ...options,
      IncomingMessage: AppRequest as unknown as typeof IncomingMessage,
      ServerResponse: AppResponse as unknown as typeof ServerResponse,
    },
    app,
  );
}

const isPlainFunction = (constructor: unknown) =>
  typeof constructor === 'function' && !Function.prototype.toString.call(constructor).startsWith('class');

/**
 * Services sit behind keep-alive proxies (the gateway, other services). Node closes idle connections after
 * 5 s by default, and a proxy that reuses one at that moment gets ECONNRESET (a 503 for the client), so
 * service servers keep idle connections longer than any caller's pool does.
 */
export function keepConnectionsOpen(
  server: Server,
  options: {
    /** A public server's own, shorter bound on a request's headers (slow clients); by default just above the idle time. */
    headersTimeoutMs?: number;
  } = {},
): void {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = options.headersTimeoutMs ?? 66_000;
}

export interface StartServiceOptions {
  /** The process name in logs (the service manifest's name). */
  name: string;
  port: number;
  /**
   * An express app (served by createAppServer, with keepConnectionsOpen), or a server its owner built the
   * same way and tuned (the gateway's client timeouts, the notifier's upgrade handler).
   */
  server: Server | Express;
  logger: Logger;
  lifecycle: Lifecycle;
  /** Closed before the HTTP server drains: intake such as consumers. */
  closeFirst?: ShutdownStep[];
  /** Closed after the HTTP server drained: relays, then connections. */
  closeAfter?: ShutdownStep[];
  /** More fields for the "listening" log line. */
  logFields?: Record<string, unknown>;
}

/**
 * Every service's one way to start serving: listens (a taken port or any listen error fails startup, which
 * runMain reports) and registers the shutdown
 * order — intake, then HTTP (readiness already turned 503 through the lifecycle), then the rest.
 */
export async function startService(options: StartServiceOptions): Promise<Server> {
  const { name, port, logger, lifecycle } = options;
  let server: Server;
  if (typeof options.server === 'function') {
    server = createAppServer(options.server);
    keepConnectionsOpen(server);
  } else {
    server = options.server;
  }
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(err);
    server.once('error', failed);
    server.listen(port, () => {
      server.off('error', failed);
      resolve();
    });
  });
  logger.info({ port, ...options.logFields }, `${name} listening`);
  lifecycle.onShutdown([
    ...(options.closeFirst ?? []),
    {
      name: 'http',
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
    },
    ...(options.closeAfter ?? []),
  ]);
  return server;
}
