/** Error codes from SPEC.md. Domain code raises these; each HTTP layer maps them with HTTP_STATUS_BY_CODE. */
export const ErrorCodes = {
  ValidationFailed: 'VALIDATION_FAILED',
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  EventNotFound: 'EVENT_NOT_FOUND',
  SeatNotFound: 'SEAT_NOT_FOUND',
  NotFound: 'NOT_FOUND',
  SeatUnavailable: 'SEAT_UNAVAILABLE',
  HoldNotFound: 'HOLD_NOT_FOUND',
  UserLimitReached: 'USER_LIMIT_REACHED',
  EventNotActive: 'EVENT_NOT_ACTIVE',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  RateLimited: 'RATE_LIMITED',
  DependencyUnavailable: 'DEPENDENCY_UNAVAILABLE',
  IdempotencyKeyReused: 'IDEMPOTENCY_KEY_REUSED',
  IdempotencyInFlight: 'IDEMPOTENCY_IN_FLIGHT',
  /** Request line and headers over the edge's limit (answered by the gateway before any route). */
  HeadersTooLarge: 'HEADERS_TOO_LARGE',
  /** Headers or body not received in time (the gateway's slow-client bounds). */
  RequestTimeout: 'REQUEST_TIMEOUT',
  Internal: 'INTERNAL_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  EVENT_NOT_FOUND: 404,
  SEAT_NOT_FOUND: 404,
  NOT_FOUND: 404,
  SEAT_UNAVAILABLE: 409,
  HOLD_NOT_FOUND: 409,
  USER_LIMIT_REACHED: 409,
  EVENT_NOT_ACTIVE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  DEPENDENCY_UNAVAILABLE: 503,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_IN_FLIGHT: 409,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  INTERNAL_ERROR: 500,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown[] };
}

export function errorBody(code: ErrorCode, message: string, details?: unknown[]): ErrorBody {
  return details && details.length > 0 ? { error: { code, message, details } } : { error: { code, message } };
}

/** Largest request body any endpoint accepts (SPEC.md: 413 above 16 KiB). */
export const MAX_BODY_BYTES = 16 * 1024;
