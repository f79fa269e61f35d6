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
]);

const DEPENDENCY_ERROR_NAMES = new Set([
  'MaxRetriesPerRequestError',
  'KnexTimeoutError',
  'ExecutionError', // redlock: quorum not reached
  'DependencyUnavailableError',
]);

const DEPENDENCY_MESSAGE_HINTS = [
  'Connection is closed',
  "Stream isn't writeable",
  'Connection terminated',
  'Command timed out',
  'broker not connected',
  'Client has encountered a connection error',
  'timeout exceeded when trying to connect',
];

/** True when an error means a backing service (PostgreSQL, Redis, RabbitMQ, another service) is unreachable. */
export function isDependencyFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && DEPENDENCY_ERROR_CODES.has(code)) return true;
  if (DEPENDENCY_ERROR_NAMES.has(err.name)) return true;
  return DEPENDENCY_MESSAGE_HINTS.some((hint) => err.message.includes(hint));
}

export class DependencyUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DependencyUnavailableError';
  }
}
