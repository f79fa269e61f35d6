import type { ErrorCode } from '@zephyr/contracts';

/** A domain or request error with a stable code; HTTP layers map the code to a status. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown[],
  ) {
    super(message);
    this.name = 'AppError';
  }
}

const DEPENDENCY_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  // PostgreSQL: admin shutdown, cannot connect now, connection failures, too many connections.
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
  // Transient by nature: statement timeout, deadlock, serialization failure, lock not available. The same
  // statement succeeds when retried later, so a consumer must back off instead of dead-lettering.
  '57014',
  '40P01',
  '40001',
  '55P03',
]);

const DEPENDENCY_ERROR_NAMES = new Set([
  'MaxRetriesPerRequestError',
  'KnexTimeoutError',
  'ExecutionError', // redlock: quorum not reached
  'DependencyUnavailableError',
  'TimeoutError', // AbortSignal.timeout() on an HTTP call
  'ClusterAllFailedError', // ioredis Cluster: no node answered the slots refresh
]);

const DEPENDENCY_MESSAGE_HINTS = [
  'Connection is closed',
  "Stream isn't writeable",
  'Connection terminated',
  'Command timed out',
  'broker not connected',
  'Client has encountered a connection error',
  'timeout exceeded when trying to connect',
  // ioredis Cluster during a failover: the slot's master is gone or moving, the node refused the command
  // (MOVED, CLUSTERDOWN, TRYAGAIN) without running it, and the client's redirection budget ran out.
  'Too many Cluster redirections',
  'CLUSTERDOWN',
  'TRYAGAIN',
  "Cluster isn't ready",
  'Cluster is disconnected',
  'None of startup nodes is available',
];

/** Structural, not instanceof: errors raised in another realm (undici's fetch under jest) are Errors too. */
function isErrorLike(err: unknown): err is Error {
  return (
    err instanceof Error ||
    (typeof err === 'object' &&
      err !== null &&
      typeof (err as Error).name === 'string' &&
      typeof (err as Error).message === 'string')
  );
}

/** True when an error means a backing service (PostgreSQL, Redis, RabbitMQ, another service) is unreachable. */
export function isDependencyFailure(err: unknown, depth = 0): boolean {
  if (!isErrorLike(err)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && DEPENDENCY_ERROR_CODES.has(code)) return true;
  if (DEPENDENCY_ERROR_NAMES.has(err.name)) return true;
  if (DEPENDENCY_MESSAGE_HINTS.some((hint) => err.message.includes(hint))) return true;
  // fetch() reports an unreachable host as TypeError('fetch failed') with the socket error as its cause.
  return depth < 3 && isDependencyFailure(err.cause, depth + 1);
}

export class DependencyUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DependencyUnavailableError';
  }
}
