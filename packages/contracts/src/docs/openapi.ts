import { ErrorCodes, HTTP_STATUS_BY_CODE, type ErrorCode } from '../http/errors';
import { HttpHeaders } from '../http/headers';
import { ROUTES, type RouteRule } from '../http/routes';
import { IDEMPOTENCY_KEY_PATTERN, SEAT_NUMBER_PATTERN, UUID_PATTERN } from '../http/schemas';
import { joiToJsonSchema, type JoiDescription, type JsonSchema } from './json-schema';
import { RESPONSE_SCHEMAS } from './response-schemas';

/** Where the gateway serves the API documents (SPEC.md §8). */
export const DocumentPaths = {
  openapi: '/api/openapi.json',
  asyncapi: '/api/asyncapi.json',
  docs: '/api/docs',
} as const;

/** The API's version in the documents: SPEC.md v2 (§7 added to v1). */
export const API_VERSION = '2.0.0';

/** Rate-limit answer headers (SPEC.md §3, IETF RateLimit fields). */
export const RateLimitHeaders = {
  limit: 'RateLimit-Limit',
  remaining: 'RateLimit-Remaining',
  reset: 'RateLimit-Reset',
  retryAfter: 'Retry-After',
} as const;

export interface DocumentInfo {
  version: string;
}

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

const PATH_PARAMS: Record<string, { schema: JsonSchema; description: string }> = {
  id: { schema: { type: 'string', pattern: UUID_PATTERN.source }, description: 'Event id (UUID).' },
  eventId: { schema: { type: 'string', pattern: UUID_PATTERN.source }, description: 'Event id (UUID).' },
  userId: { schema: { type: 'string', pattern: UUID_PATTERN.source }, description: 'User id (UUID).' },
  seatNumber: {
    schema: { type: 'string', pattern: SEAT_NUMBER_PATTERN.source },
    description:
      'Seat number: a canonical positive decimal integer (no sign, leading zero or exponent; else 400); ' +
      'above totalSeats it is a 404.',
  },
};

const RATE_LIMIT_HEADERS = {
  [RateLimitHeaders.limit]: { $ref: '#/components/headers/RateLimitLimit' },
  [RateLimitHeaders.remaining]: { $ref: '#/components/headers/RateLimitRemaining' },
  [RateLimitHeaders.reset]: { $ref: '#/components/headers/RateLimitReset' },
};

/** Every error code a route can answer: its own domain codes plus those of its kind (SPEC.md's order). */
export function routeErrorCodes(route: RouteRule): ErrorCode[] {
  const codes: ErrorCode[] = [ErrorCodes.ValidationFailed, ErrorCodes.Unauthenticated];
  if (route.access === 'admin') codes.push(ErrorCodes.Forbidden);
  if (route.doc.body) {
    codes.push(ErrorCodes.PayloadTooLarge, ErrorCodes.UnsupportedMediaType);
    // Bodies carrying userId refuse someone else's id.
    const properties = joiToJsonSchema(route.doc.body).properties as Record<string, JsonSchema>;
    if ('userId' in properties) codes.push(ErrorCodes.Forbidden);
  }
  codes.push(...route.doc.errors);
  if (route.method === 'POST') codes.push(ErrorCodes.IdempotencyKeyReused, ErrorCodes.IdempotencyInFlight);
  codes.push(ErrorCodes.RateLimited, ErrorCodes.DependencyUnavailable);
  return [...new Set(codes)];
}

function errorResponses(codes: ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = HTTP_STATUS_BY_CODE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers: Record<string, unknown> = { ...RATE_LIMIT_HEADERS };
    if (status === 429) headers[RateLimitHeaders.retryAfter] = { $ref: '#/components/headers/RetryAfter' };
    responses[String(status)] = {
      description: list.map((c) => `\`${c}\``).join(', '),
      headers,
      content: json({
        allOf: [schemaRef('Error'), { properties: { error: { properties: { code: { enum: list } } } } }],
      }),
    };
  }
  return responses;
}

function operation(route: RouteRule): Record<string, unknown> {
  const doc = route.doc;
  const parameters: unknown[] = [];
  for (const name of [...route.path.matchAll(/:([a-zA-Z]+)/g)].map((m) => m[1]!)) {
    const param = PATH_PARAMS[name];
    if (!param) throw new Error(`openapi: no schema for path parameter :${name} in ${route.path}`);
    parameters.push({ name, in: 'path', required: true, ...param });
  }
  if (doc.query) {
    const query = joiToJsonSchema(doc.query);
    const required = (query.required as string[] | undefined) ?? [];
    for (const [name, schema] of Object.entries(query.properties as Record<string, JsonSchema>))
      parameters.push({ name, in: 'query', required: required.includes(name), schema });
  }
  if (route.method === 'POST') parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });

  const responses: Record<string, unknown> = {};
  for (const answer of doc.answers) {
    const headers: Record<string, unknown> = { ...RATE_LIMIT_HEADERS };
    if (route.method === 'POST') headers[HttpHeaders.idempotentReplayed] = { $ref: '#/components/headers/Replayed' };
    responses[String(answer.status)] = {
      description: answer.description,
      headers,
      ...(answer.schema ? { content: json(schemaRef(answer.schema)) } : {}),
    };
  }
  Object.assign(responses, errorResponses(routeErrorCodes(route)));

  const op: Record<string, unknown> = {
    operationId: `${route.method.toLowerCase()}${route.path
      .replace(/^\/api/, '')
      .replace(/[/:-]+([a-zA-Z])/g, (_m, c: string) => c.toUpperCase())}`,
    summary: doc.summary,
    tags: [doc.tag],
    parameters,
    responses,
  };
  if (doc.body) {
    op.requestBody = {
      // An optional body may be left out (or sent empty with a JSON content type).
      required: (doc.body.describe() as JoiDescription).flags?.presence === 'required',
      content: json(joiToJsonSchema(doc.body)),
    };
  }
  // Public routes still verify a token when one is sent; the others need one.
  op.security = route.access === 'public' ? [{}, { bearer: [] }] : [{ bearer: [] }];
  if (route.access === 'admin') op.description = 'Needs a token whose `roles` claim contains `admin`.';
  return op;
}

function healthPaths(): Record<string, unknown> {
  const health = (summary: string) => ({
    get: {
      summary,
      tags: ['operations'],
      security: [],
      responses: {
        '200': { description: 'Up', content: json(schemaRef('Health')) },
        '503': {
          description: 'A dependency does not answer, or the process is shutting down',
          content: json(schemaRef('Health')),
        },
      },
    },
  });
  return {
    '/health': {
      get: {
        summary: 'Liveness',
        tags: ['operations'],
        security: [],
        responses: { '200': { description: 'The process answers', content: json(schemaRef('Health')) } },
      },
    },
    '/health/ready': health('Readiness: the REST upstreams answer'),
    '/health/database': health('PostgreSQL answers'),
    '/health/redis': health('Redis answers'),
    '/health/rabbitmq': health('RabbitMQ answers'),
    '/metrics': {
      get: {
        summary: 'Prometheus metrics of this gateway replica',
        tags: ['operations'],
        security: [],
        responses: {
          '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      },
    },
  };
}

function documentPaths(): Record<string, unknown> {
  const doc = (summary: string, type: string) => ({
    get: {
      summary,
      tags: ['documents'],
      security: [],
      responses: {
        '200': {
          description: summary,
          content: { [type]: { schema: { type: type === 'text/html' ? 'string' : 'object' } } },
        },
      },
    },
  });
  return {
    [DocumentPaths.openapi]: doc('This OpenAPI 3.1 document', 'application/json'),
    [DocumentPaths.asyncapi]: doc(
      'The AsyncAPI 3.0 document of the WebSocket protocol and the domain events',
      'application/json',
    ),
    [DocumentPaths.docs]: doc('The API reference page (rendered from this document)', 'text/html'),
  };
}

/** The OpenAPI 3.1 document of the public REST API, built from the route table and the contracts' schemas. */
export function buildOpenApiDocument(info: DocumentInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const path = route.path.replace(/:([a-zA-Z]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route);
  }
  Object.assign(paths, healthPaths(), documentPaths());

  const errorCodeTable = (Object.keys(HTTP_STATUS_BY_CODE) as ErrorCode[])
    .filter((code) => code !== ErrorCodes.Internal)
    .sort((a, b) => HTTP_STATUS_BY_CODE[a] - HTTP_STATUS_BY_CODE[b])
    .map((code) => `| ${HTTP_STATUS_BY_CODE[code]} | \`${code}\` |`)
    .join('\n');

  return {
    openapi: '3.1.0',
    info: {
      title: 'Zephyr seat reservation API',
      version: info.version,
      description:
        'The public REST API, served through the gateway. Bodies are JSON, errors included; timestamps are ' +
        'ISO-8601 UTC ending in `Z`; unknown body fields and loose types are a 400. When several errors ' +
        'apply the first in this order wins: 404 `NOT_FOUND` (no route), 401, 403 (role), 413, 415, 400, ' +
        '403 (`userId`), 404, then `EVENT_NOT_ACTIVE`, `SEAT_UNAVAILABLE`, `HOLD_NOT_FOUND`, ' +
        '`USER_LIMIT_REACHED`.\n\n| status | code |\n|---|---|\n' +
        errorCodeTable +
        `\n\nWebSocket messages and domain events: \`${DocumentPaths.asyncapi}\`.`,
    },
    servers: [{ url: '/', description: 'This gateway' }],
    tags: [
      { name: 'events', description: 'Events (SPEC §3)' },
      { name: 'seats', description: 'Holds and reservations (SPEC §3, §7)' },
      { name: 'operations', description: 'Health and metrics' },
      { name: 'documents', description: 'These documents' },
    ],
    paths,
    components: {
      schemas: RESPONSE_SCHEMAS,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'HS256 (JWT_SECRET) or RS256/ES256 (JWKS); `sub` is the user id (UUID); `roles: ["admin"]` marks an admin.',
        },
      },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Retry key: the first completed answer (not a 5xx or 429) is kept 24 h for (caller, method, path, key) ' +
            'and replayed for a repeat with the same body; another body is 422 `IDEMPOTENCY_KEY_REUSED`, a repeat ' +
            'while the first runs is 409 `IDEMPOTENCY_IN_FLIGHT`.',
          schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
        },
      },
      headers: {
        RateLimitLimit: {
          description: 'Requests allowed in the window (the tighter of the IP and user limits).',
          schema: { type: 'integer' },
        },
        RateLimitRemaining: { description: 'Requests left in the window.', schema: { type: 'integer' } },
        RateLimitReset: { description: 'Seconds until the window resets.', schema: { type: 'integer' } },
        RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
        Replayed: {
          description: '`true` when this is a kept answer replayed for an Idempotency-Key.',
          schema: { type: 'string', const: 'true' },
        },
      },
    },
  };
}
