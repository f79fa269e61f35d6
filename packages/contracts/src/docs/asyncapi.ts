import { ErrorCodes } from '../http/errors';
import {
  BatchRoutingKeys,
  DEFAULT_EXCHANGE,
  EVENT_ROUTING_KEYS,
  SEAT_ROUTING_KEYS,
  isMandatoryRoutingKey,
  type BatchRoutingKey,
  type RoutingKey,
} from '../messaging/names';
import {
  envelopeSchema,
  eventChangedDataSchema,
  seatChangeBatchSchema,
  seatChangedDataSchema,
} from '../messaging/envelope';
import { ClientMessageTypes, ServerMessageTypes, clientMessageSchemas, type ClientMessage } from '../ws/protocol';
import { describedToJsonSchema, joiToJsonSchema, type JoiDescription, type JsonSchema } from './json-schema';
import { RESPONSE_SCHEMAS } from './response-schemas';
import type { DocumentInfo } from './openapi';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const closed = (type: string, properties: Record<string, JsonSchema>, required: string[]): JsonSchema => ({
  type: 'object',
  properties: { type: { type: 'string', const: type }, ...properties },
  required: ['type', ...required],
  additionalProperties: false,
});
const timestamp: JsonSchema = { type: 'string', format: 'date-time' };
const channel: JsonSchema = { type: 'string', enum: ['event', 'user'] };
const seatStatus: JsonSchema = { type: 'string', enum: ['available', 'held', 'reserved'] };
const userIdNote = 'Only on the user channel; never on an event channel.';

const CLIENT_SUMMARIES: Record<ClientMessage['type'], string> = {
  AUTH: 'Authenticate the connection (or pass ?token= on connect); answered by AUTHENTICATED or ERROR.',
  SUBSCRIBE_EVENT:
    'Follow an event. `snapshot: true` sends a SEAT_MAP right after SUBSCRIBED; `batch: true` delivers ' +
    'SEAT_UPDATES (at most one per 100 ms) instead of one SEAT_UPDATE per change.',
  UNSUBSCRIBE_EVENT: 'Stop following an event.',
  SUBSCRIBE_USER: "Follow a user's own changes (authenticated; own id only, or admin).",
  UNSUBSCRIBE_USER: "Stop following a user's changes.",
  PING: 'Application-level ping; answered by PONG.',
};

/** Client messages: the notifier's own Joi schemas, with `type` pinned to the message's name. */
function clientPayload(type: ClientMessage['type']): JsonSchema {
  const schema = joiToJsonSchema(clientMessageSchemas[type]);
  const properties = schema.properties as Record<string, JsonSchema>;
  return {
    ...schema,
    properties: { ...properties, type: { type: 'string', const: type } },
    required: [...new Set(['type', ...((schema.required as string[] | undefined) ?? [])])],
  };
}

const SERVER_PAYLOADS: Record<string, { summary: string; payload: JsonSchema }> = {
  [ServerMessageTypes.Authenticated]: {
    summary: 'The token was accepted.',
    payload: closed(ServerMessageTypes.Authenticated, { userId: { type: 'string', format: 'uuid' } }, ['userId']),
  },
  [ServerMessageTypes.Subscribed]: {
    summary: 'After each subscribe.',
    payload: closed(ServerMessageTypes.Subscribed, { channel, id: { type: 'string', format: 'uuid' } }, [
      'channel',
      'id',
    ]),
  },
  [ServerMessageTypes.Unsubscribed]: {
    summary: 'After each unsubscribe.',
    payload: closed(ServerMessageTypes.Unsubscribed, { channel, id: { type: 'string', format: 'uuid' } }, [
      'channel',
      'id',
    ]),
  },
  [ServerMessageTypes.SeatUpdate]: {
    summary: 'One seat changed state (held, reserved, released, expired), within 1 s of the change.',
    payload: closed(
      ServerMessageTypes.SeatUpdate,
      {
        channel,
        eventId: { type: 'string', format: 'uuid' },
        seatNumber: { type: 'integer', minimum: 1 },
        status: seatStatus,
        timestamp,
        version: { type: 'integer', description: "The event's seat-change counter after this change." },
        userId: { type: 'string', format: 'uuid', description: userIdNote },
      },
      ['channel', 'eventId', 'seatNumber', 'status', 'timestamp', 'version'],
    ),
  },
  [ServerMessageTypes.SeatUpdates]: {
    summary: 'A batch (subscriptions with `batch: true`): every change once, per seat in version order.',
    payload: closed(
      ServerMessageTypes.SeatUpdates,
      {
        channel,
        eventId: { type: 'string', format: 'uuid' },
        updates: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              seatNumber: { type: 'integer', minimum: 1 },
              status: seatStatus,
              timestamp,
              version: { type: 'integer' },
              userId: { type: 'string', format: 'uuid', description: userIdNote },
            },
            required: ['seatNumber', 'status', 'timestamp', 'version'],
            additionalProperties: false,
          },
        },
      },
      ['channel', 'eventId', 'updates'],
    ),
  },
  [ServerMessageTypes.SeatMap]: {
    summary:
      'The snapshot asked for with `snapshot: true`, sent right after SUBSCRIBED: the whole seat map, ' +
      'complete up to `version` (drop updates at or below it). No user identities.',
    payload: closed(
      ServerMessageTypes.SeatMap,
      {
        eventId: { type: 'string', format: 'uuid' },
        version: { type: 'integer' },
        seats: { type: 'array', items: ref('Seat') },
      },
      ['eventId', 'version', 'seats'],
    ),
  },
  [ServerMessageTypes.Resync]: {
    summary:
      'Only on subscriptions made with `snapshot: true`: changes of this event may have been missed (the ' +
      "server's feed was lost and rebuilt). A fresh SEAT_MAP follows on this socket, then updates above its " +
      'version, as after a subscribe; keep the subscription (the server staggers these over a few seconds).',
    payload: closed(ServerMessageTypes.Resync, { eventId: { type: 'string', format: 'uuid' } }, ['eventId']),
  },
  [ServerMessageTypes.Error]: {
    summary: 'A bad message (the connection stays open), or a refused subscription.',
    payload: closed(
      ServerMessageTypes.Error,
      { code: { type: 'string', enum: Object.values(ErrorCodes) }, message: { type: 'string' } },
      ['code', 'message'],
    ),
  },
  [ServerMessageTypes.Pong]: { summary: 'Answer to PING.', payload: closed(ServerMessageTypes.Pong, {}, []) },
};

/** A domain event's envelope: the contracts' envelope schema with `type` and `data` fixed for one key. */
function envelopePayload(key: RoutingKey): JsonSchema {
  const described = envelopeSchema.describe() as JoiDescription;
  const isEvent = (EVENT_ROUTING_KEYS as readonly string[]).includes(key);
  const data = (isEvent ? eventChangedDataSchema : seatChangedDataSchema).describe() as JoiDescription;
  const keys = { ...described.keys! };
  keys.type = { type: 'string', flags: { only: true, presence: 'required' }, allow: [key] };
  keys.data = { ...data, flags: { ...data.flags, presence: 'required' } };
  return describedToJsonSchema({ ...described, keys });
}

/** seat-changes.batch: the batch schema, each change one of the seat.* envelopes above. */
function seatChangeBatchPayload(): JsonSchema {
  const payload = describedToJsonSchema(seatChangeBatchSchema.describe() as JoiDescription);
  const data = (payload.properties as Record<string, JsonSchema>).data!;
  const changes = (data.properties as Record<string, JsonSchema>).changes!;
  changes.items = { oneOf: SEAT_ROUTING_KEYS.map(envelopePayload) };
  return payload;
}

const MESSAGE_SUMMARIES: Record<RoutingKey | BatchRoutingKey, string> = Object.fromEntries([
  ...[...EVENT_ROUTING_KEYS, ...SEAT_ROUTING_KEYS].map((key) => [
    key,
    `Domain event \`${key}\`: a versioned envelope, persistent, published with confirms.`,
  ]),
  [
    BatchRoutingKeys.SeatChanges,
    'Internal bulk feed, not a domain event: the seat.* envelopes one relay turn published (each also ' +
      'published on its own key), at most 500 per message, in order. What the consumers inside Zephyr ' +
      '(the notifier, seat counts, the expiry schedule) read: one delivery per turn instead of one per ' +
      'change. Each change keeps its envelope `id`; dedupe on it.',
  ],
]) as Record<RoutingKey | BatchRoutingKey, string>;

const camel = (name: string) => name.toLowerCase().replace(/[._-]([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The AsyncAPI 3.0 document of the WebSocket protocol (SPEC.md §4) and the domain events (§5). */
export function buildAsyncApiDocument(info: DocumentInfo): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  const clientNames: string[] = [];
  const serverNames: string[] = [];
  for (const type of Object.values(ClientMessageTypes)) {
    const name = camel(type);
    clientNames.push(name);
    messages[name] = { name: type, title: type, summary: CLIENT_SUMMARIES[type], payload: clientPayload(type) };
  }
  for (const [type, { summary, payload }] of Object.entries(SERVER_PAYLOADS)) {
    const name = camel(type);
    serverNames.push(name);
    messages[name] = { name: type, title: type, summary, payload };
  }

  const channels: Record<string, unknown> = {
    websocket: {
      address: '/ws',
      title: 'WebSocket',
      description:
        'Connect to the gateway at `/` or `/ws`; a token may be given as `?token=` (an invalid one refuses the ' +
        'upgrade with 401) or by an AUTH message. Messages from one client are handled in order. Dead ' +
        'connections are closed after missed pings; a slow client is disconnected.',
      servers: [{ $ref: '#/servers/gateway' }],
      messages: Object.fromEntries(
        [...clientNames, ...serverNames].map((n) => [n, { $ref: `#/components/messages/${n}` }]),
      ),
    },
  };
  const operations: Record<string, unknown> = {
    clientMessages: {
      action: 'receive',
      title: 'Client → server',
      channel: { $ref: '#/channels/websocket' },
      messages: clientNames.map((n) => ({ $ref: `#/channels/websocket/messages/${n}` })),
    },
    serverMessages: {
      action: 'send',
      title: 'Server → client',
      channel: { $ref: '#/channels/websocket' },
      messages: serverNames.map((n) => ({ $ref: `#/channels/websocket/messages/${n}` })),
    },
  };

  for (const key of [...EVENT_ROUTING_KEYS, ...SEAT_ROUTING_KEYS, BatchRoutingKeys.SeatChanges]) {
    const name = camel(key);
    messages[name] = {
      name: key,
      title: key,
      summary: MESSAGE_SUMMARIES[key],
      contentType: 'application/json',
      payload: key === BatchRoutingKeys.SeatChanges ? seatChangeBatchPayload() : envelopePayload(key),
      bindings: { amqp: { contentEncoding: 'utf-8', messageType: key, bindingVersion: '0.3.0' } },
    };
    channels[name] = {
      address: key,
      title: key,
      description: `Routing key \`${key}\` on the durable topic exchange.`,
      servers: [{ $ref: '#/servers/broker' }],
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
      bindings: {
        amqp: {
          is: 'routingKey',
          exchange: { name: DEFAULT_EXCHANGE, type: 'topic', durable: true, autoDelete: false, vhost: '/' },
          bindingVersion: '0.3.0',
        },
      },
    };
    operations[`publish${name[0]!.toUpperCase()}${name.slice(1)}`] = {
      action: 'send',
      title: `Publish ${key}`,
      summary: 'Consumers use durable quorum queues with a DLQ, dedupe on envelope `id`, and ack after the effect.',
      channel: { $ref: `#/channels/${name}` },
      messages: [{ $ref: `#/channels/${name}/messages/${name}` }],
      // Persistent, published after commit with confirms; mandatory (returned when no queue is bound) for
      // every key a Zephyr consumer takes, not for the single seat.* facts (outside subscribers only).
      bindings: { amqp: { deliveryMode: 2, mandatory: isMandatoryRoutingKey(key), bindingVersion: '0.3.0' } },
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Zephyr real-time API and domain events',
      version: info.version,
      description:
        'The WebSocket protocol clients speak with the gateway (proxied to the notifier), and the domain ' +
        'events the services exchange over RabbitMQ. REST: `/api/openapi.json`.',
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: { host: 'localhost:3000', protocol: 'ws', description: 'The gateway (WebSocket upgrade at / or /ws).' },
      broker: {
        host: 'localhost:5672',
        protocol: 'amqp',
        description: `RabbitMQ; the exchange is \`${DEFAULT_EXCHANGE}\` unless AMQP_EXCHANGE says otherwise.`,
      },
    },
    channels,
    operations,
    components: { messages, schemas: { Seat: RESPONSE_SCHEMAS.Seat } },
  };
}
