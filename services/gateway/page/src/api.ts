import { ErrorCodes, type ErrorCode } from './contracts.js';

/** Every error code in words, for people (SPEC.md §3 table). */
const SENTENCES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'The request was not accepted',
  UNAUTHENTICATED: 'Your token is missing, expired or invalid; sign in again with a fresh one.',
  FORBIDDEN: 'You are not allowed to do that (it needs the admin role, or it is not yours).',
  EVENT_NOT_FOUND: 'This event does not exist.',
  SEAT_NOT_FOUND: 'That seat does not exist.',
  NOT_FOUND: 'This server does not offer that feature.',
  SEAT_UNAVAILABLE: 'That seat is taken: someone else holds it or it is reserved.',
  HOLD_NOT_FOUND: 'You no longer hold that seat (the hold expired or was released).',
  USER_LIMIT_REACHED: 'You have reached the limit of seats one person may take in this event.',
  EVENT_NOT_ACTIVE: 'This event is not open for booking right now.',
  PAYLOAD_TOO_LARGE: 'The request was too large.',
  UNSUPPORTED_MEDIA_TYPE: 'The request was not sent as JSON.',
  RATE_LIMITED: 'Too many requests; wait a moment and try again.',
  DEPENDENCY_UNAVAILABLE: 'The service is briefly unavailable; nothing was changed. Try again shortly.',
  IDEMPOTENCY_KEY_REUSED: 'That retry key was already used for a different request.',
  IDEMPOTENCY_IN_FLIGHT: 'The same request is still being processed.',
  HEADERS_TOO_LARGE: 'The request headers were too large.',
  REQUEST_TIMEOUT: 'The request did not arrive in time; try again.',
  INTERNAL_ERROR: 'Something went wrong on the server; nothing you did caused it.',
};

/** A failed call, with a sentence fit to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK',
    sentence: string,
  ) {
    super(sentence);
  }
}

export function sentenceFor(code: string, serverMessage?: string): string {
  const known = (Object.values(ErrorCodes) as string[]).includes(code) ? SENTENCES[code as ErrorCode] : undefined;
  if (code === ErrorCodes.ValidationFailed && serverMessage) return `${SENTENCES.VALIDATION_FAILED}: ${serverMessage}`;
  return known ?? `The server refused the request (${code}${serverMessage ? `: ${serverMessage}` : ''}).`;
}

/** Fills a PublicPaths template's `:name` segments. */
export function pathOf(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/:([a-zA-Z]+)/g, (_m, name: string) => encodeURIComponent(String(params[name])));
}

interface ErrorEnvelope {
  error?: { code?: string; message?: string };
}

/** JSON over fetch to this host; a refusal becomes an ApiError with a sentence. */
export async function api<T>(method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Could not reach the server; check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const error = (parsed as ErrorEnvelope | undefined)?.error;
    const code = error?.code ?? ErrorCodes.Internal;
    let sentence = sentenceFor(code, error?.message);
    const retry = res.headers.get('retry-after');
    if (code === ErrorCodes.RateLimited && retry) sentence = `Too many requests; try again in ${retry} s.`;
    throw new ApiError(res.status, code as ErrorCode, sentence);
  }
  return parsed as T;
}

/** The token's claims, read for display only (the server verifies the token on every call). */
export function readClaims(token: string): { sub: string; admin: boolean; exp?: number } | undefined {
  try {
    const part = token.split('.')[1];
    if (!part) return undefined;
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as { sub?: unknown; roles?: unknown; exp?: unknown };
    if (typeof claims.sub !== 'string') return undefined;
    const admin = Array.isArray(claims.roles) && claims.roles.includes('admin');
    return { sub: claims.sub, admin, exp: typeof claims.exp === 'number' ? claims.exp : undefined };
  } catch {
    return undefined;
  }
}
